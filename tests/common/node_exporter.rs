//! A real Prometheus node_exporter for the monitoring tests: only its
//! textfile collector, reading the `*.prom` files of a private directory
//! on 127.0.0.1, stopped when its handle is dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::Duration;

use tempfile::TempDir;

use super::servers::{free_port, kill_process_group, server_binary, spawn_and_wait};

/// A real Prometheus node_exporter with only its textfile collector, which
/// reads the `*.prom` files of `dir` on every scrape.
pub struct NodeExporter {
    pub port: u16,
    pub dir: TempDir,
    child: Option<Child>,
}

impl NodeExporter {
    pub fn start() -> NodeExporter {
        let bin = server_binary("prometheus-node-exporter");
        let dir = tempfile::Builder::new()
            .prefix("objcache-textfiles-")
            .tempdir()
            .unwrap();
        let log = dir.path().join("node_exporter.log");
        for _ in 0..8 {
            let port = free_port();
            let mut cmd = Command::new(&bin);
            cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--collector.disable-defaults")
                .arg("--collector.textfile")
                .arg(format!(
                    "--collector.textfile.directory={}",
                    dir.path().display()
                ));
            let ready = |port: u16| TcpStream::connect(("127.0.0.1", port)).is_ok();
            if let Some(child) = spawn_and_wait(cmd, port, &log, &ready) {
                return NodeExporter {
                    port,
                    dir,
                    child: Some(child),
                };
            }
        }
        panic!("could not start prometheus-node-exporter on a free port");
    }

    /// The body of `GET /metrics`.
    pub fn scrape(&self) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to node_exporter");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        match text.split_once("\r\n\r\n") {
            Some((_, body)) => body.to_string(),
            None => panic!("no HTTP response from node_exporter: {text}"),
        }
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_process_group(&mut c);
        }
    }
}
