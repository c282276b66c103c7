//! Servers the remote-storage tests start themselves, on 127.0.0.1 only:
//! a real `redis-server`, a real `nginx` with WebDAV PUT, and tiny fake TCP
//! servers (silent, garbage, truncated) running in a test thread.
//!
//! Every server is stopped when its handle is dropped, also when the test
//! panics. Ports are ephemeral (bind 127.0.0.1:0 and release); a server that
//! loses the race for its port is restarted on another one.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How to get the servers the remote tests drive.
pub const SERVER_INSTALL_HINT: &str =
    "run scripts/install-test-deps.sh (or: apt-get install -y redis-server nginx)";

/// How long a server may take to come up.
const STARTUP: Duration = Duration::from_secs(15);

/// Path of a server binary (`PATH`, then the sbin directories, where nginx
/// lives on Debian), or a failure with the install hint. Never skips.
pub fn server_binary(tool: &str) -> PathBuf {
    if let Some(p) = super::which(tool) {
        return p;
    }
    for dir in ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"] {
        let p = Path::new(dir).join(tool);
        if p.is_file() {
            return p;
        }
    }
    panic!("required server `{tool}` not found; {SERVER_INSTALL_HINT}");
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

pub(super) fn kill_process_group(child: &mut Child) {
    super::kill_group(child.id());
    let _ = child.kill();
    let _ = child.wait();
}

/// Spawns `cmd` in its own process group (so that stopping it also stops
/// nginx's workers) and waits until `ready(port)` holds. `None` when the
/// process exited early (the port was taken, most likely); panics with the
/// log when it does not come up in time.
pub(super) fn spawn_and_wait(
    mut cmd: Command,
    port: u16,
    log: &Path,
    ready: &dyn Fn(u16) -> bool,
) -> Option<Child> {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {desc}: {e}; {SERVER_INSTALL_HINT}"));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            eprintln!("server exited early ({status}), retrying on another port: {desc}\n{text}");
            return None;
        }
        if ready(port) {
            return Some(child);
        }
        if start.elapsed() > STARTUP {
            kill_process_group(&mut child);
            let text = std::fs::read_to_string(log).unwrap_or_default();
            panic!("server did not come up within {STARTUP:?}: {desc}\n{text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------

/// A reply of the Redis protocol (RESP2).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// A minimal, binary-safe Redis client for inspecting and tampering with
/// what objcache stored (independent of the client objcache uses).
pub struct Resp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Resp {
    pub fn connect(port: u16) -> std::io::Result<Resp> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(Resp {
            reader: BufReader::new(s.try_clone()?),
            writer: s,
        })
    }

    pub fn try_cmd(&mut self, args: &[&[u8]]) -> std::io::Result<Reply> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a);
            buf.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&buf)?;
        self.read_reply()
    }

    /// Runs a command; panics on I/O errors and error replies.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        let desc: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(&a[..a.len().min(40)]).into_owned())
            .collect();
        match self.try_cmd(args) {
            Ok(Reply::Error(e)) => panic!("redis {desc:?}: error reply {e}"),
            Ok(r) => r,
            Err(e) => panic!("redis {desc:?}: {e}"),
        }
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut l = String::new();
        self.reader.read_line(&mut l)?;
        if !l.ends_with("\r\n") {
            return Err(std::io::Error::other(format!("bad RESP line {l:?}")));
        }
        l.truncate(l.len() - 2);
        Ok(l)
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let l = self.line()?;
        let (t, rest) = l.split_at(1);
        let num = || -> std::io::Result<i64> {
            rest.parse::<i64>()
                .map_err(|_| std::io::Error::other(format!("bad RESP number {rest:?}")))
        };
        Ok(match t {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(num()?),
            "$" => {
                let n = num()?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut data = vec![0; n as usize + 2];
                    self.reader.read_exact(&mut data)?;
                    data.truncate(n as usize);
                    Reply::Bulk(Some(data))
                }
            }
            "*" => {
                let n = num()?;
                if n < 0 {
                    Reply::Array(None)
                } else {
                    let mut v = Vec::new();
                    for _ in 0..n {
                        v.push(self.read_reply()?);
                    }
                    Reply::Array(Some(v))
                }
            }
            _ => return Err(std::io::Error::other(format!("bad RESP reply {l:?}"))),
        })
    }
}

/// A `redis-server` on 127.0.0.1 with persistence off, killed on drop.
pub struct RedisServer {
    pub port: u16,
    password: Option<String>,
    child: Option<Child>,
    /// Holds the server's working directory and log until the drop.
    _dir: TempDir,
}

impl RedisServer {
    /// Starts `redis-server` with `extra_args` (e.g. `["--requirepass", "pw"]`).
    pub fn start(extra_args: &[&str]) -> RedisServer {
        let bin = server_binary("redis-server");
        let dir = tempfile::Builder::new()
            .prefix("objcache-redis-")
            .tempdir()
            .unwrap();
        let password = extra_args
            .iter()
            .position(|a| *a == "--requirepass")
            .and_then(|i| extra_args.get(i + 1))
            .map(|s| s.to_string());
        let log = dir.path().join("redis.log");
        for _ in 0..8 {
            let port = free_port();
            let mut cmd = Command::new(&bin);
            cmd.args(["--port", &port.to_string()])
                .args(["--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(["--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .arg("--logfile")
                .arg(&log)
                .args(extra_args);
            let ready = |port: u16| {
                Resp::connect(port)
                    .and_then(|mut r| r.try_cmd(&[b"PING"]))
                    // NOAUTH is an answer too: the server is up.
                    .is_ok_and(|r| {
                        matches!(r, Reply::Simple(ref s) if s == "PONG")
                            || matches!(r, Reply::Error(ref e) if e.starts_with("NOAUTH"))
                    })
            };
            if let Some(child) = spawn_and_wait(cmd, port, &log, &ready) {
                return RedisServer {
                    port,
                    password,
                    child: Some(child),
                    _dir: dir,
                };
            }
        }
        panic!("could not start redis-server on a free port");
    }

    /// `redis://127.0.0.1:PORT` (no credentials).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A client, authenticated when the server has a password.
    pub fn client(&self) -> Resp {
        let mut r = Resp::connect(self.port)
            .unwrap_or_else(|e| panic!("connect to redis on port {}: {e}", self.port));
        if let Some(pw) = &self.password {
            r.cmd(&[b"AUTH", pw.as_bytes()]);
        }
        r
    }

    pub fn dbsize(&self) -> u64 {
        match self.client().cmd(&[b"DBSIZE"]) {
            Reply::Int(n) => n as u64,
            other => panic!("DBSIZE: {other:?}"),
        }
    }

    /// All keys matching `pattern`, sorted.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        match self.client().cmd(&[b"KEYS", pattern.as_bytes()]) {
            Reply::Array(Some(v)) => {
                let mut keys: Vec<String> = v
                    .into_iter()
                    .map(|r| match r {
                        Reply::Bulk(Some(k)) => String::from_utf8(k).expect("UTF-8 key"),
                        other => panic!("KEYS element: {other:?}"),
                    })
                    .collect();
                keys.sort();
                keys
            }
            other => panic!("KEYS: {other:?}"),
        }
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self.client().cmd(&[b"GET", key.as_bytes()]) {
            Reply::Bulk(v) => v,
            other => panic!("GET {key}: {other:?}"),
        }
    }

    pub fn set(&self, key: &str, value: &[u8]) {
        let r = self.client().cmd(&[b"SET", key.as_bytes(), value]);
        assert_eq!(r, Reply::Simple("OK".into()), "SET {key}");
    }

    /// `total_connections_received` of `INFO stats` (this call's own
    /// connection included).
    pub fn connections_received(&self) -> u64 {
        self.info_stat("total_connections_received")
    }

    /// `total_net_output_bytes` of `INFO stats`: what the server has sent.
    pub fn bytes_sent(&self) -> u64 {
        self.info_stat("total_net_output_bytes")
    }

    fn info_stat(&self, name: &str) -> u64 {
        let info = match self.client().cmd(&[b"INFO", b"stats"]) {
            Reply::Bulk(Some(b)) => String::from_utf8(b).unwrap(),
            other => panic!("INFO: {other:?}"),
        };
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in INFO:\n{info}"))
    }

    /// Kills the server now (SIGKILL, as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_process_group(&mut c);
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------

/// An nginx serving `<tmp>/www` with WebDAV PUT on 127.0.0.1 (below
/// `/ro/` read-only: PUT is refused with 403), in the foreground
/// (`daemon off`), killed with its workers on drop.
pub struct Nginx {
    pub port: u16,
    pub www: PathBuf,
    child: Option<Child>,
    dir: TempDir,
}

impl Nginx {
    pub fn start() -> Nginx {
        Self::start_with(&|_| String::new())
    }

    /// `start`, with `more(root)` added to the `server` block (another
    /// `listen`, TLS settings).
    fn start_with(more: &dyn Fn(&Path) -> String) -> Nginx {
        let bin = server_binary("nginx");
        let dir = tempfile::Builder::new()
            .prefix("objcache-nginx-")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        let www = root.join("www");
        std::fs::create_dir_all(&www).unwrap();
        for t in ["body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"] {
            std::fs::create_dir_all(root.join(t)).unwrap();
        }
        let log = root.join("logs/error.log");
        let user = if super::is_root() { "user root;" } else { "" };
        for _ in 0..8 {
            let port = free_port();
            let conf = format!(
                "daemon off;
{user}
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log;
events {{ worker_connections 256; }}
http {{
    access_log {root}/logs/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 100m;
    server {{
        listen 127.0.0.1:{port};
        {more}
        location / {{
            root {www};
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
        # A read-only server: GET works, PUT and DELETE are refused (403).
        location /ro/ {{
            root {www};
            limit_except GET HEAD {{ deny all; }}
        }}
    }}
}}
",
                root = root.display(),
                www = www.display(),
                more = more(&root),
            );
            let conf_path = root.join("nginx.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let mut cmd = Command::new(&bin);
            cmd.arg("-c")
                .arg(&conf_path)
                .arg("-p")
                .arg(&root)
                .arg("-e")
                .arg(&log);
            let ready = |port: u16| TcpStream::connect(("127.0.0.1", port)).is_ok();
            if let Some(child) = spawn_and_wait(cmd, port, &log, &ready) {
                return Nginx {
                    port,
                    www,
                    child: Some(child),
                    dir,
                };
            }
        }
        panic!("could not start nginx on a free port");
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Asks the running master to re-read `nginx.conf` (SIGHUP to the child
    /// itself: nginx writes its pid file after it starts listening, so the
    /// file may still be empty when `start` returns).
    pub fn reload_config(&self) {
        let pid = self.child.as_ref().expect("nginx is running").id();
        let status = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -HUP {pid} failed");
    }

    /// Requests served so far (lines of the access log).
    pub fn requests_served(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("logs/access.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// Kills nginx and its workers now, and waits until the port is closed
    /// (killed workers may hold it a moment longer than the master).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_process_group(&mut c);
            let start = Instant::now();
            while TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && start.elapsed() < Duration::from_secs(5)
            {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// Fake TCP servers
// ---------------------------------------------------------------------------

/// What a [`FakeServer`] does with a connection.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Accept, then never send a byte (the connection stays open).
    Silent,
    /// Read the request head (up to the blank line), send these bytes, close.
    Reply(Vec<u8>),
    /// A minimal HTTP server: reads the whole request (head and
    /// `Content-Length` body), answers a GET with `get` and anything else
    /// with `put`, closes.
    Http { get: Vec<u8>, put: Vec<u8> },
    /// Read the request head, send these bytes, then one more byte every
    /// interval, for a long time (each read is quick, the whole is not).
    Drip(Vec<u8>, Duration),
    /// A slow but steady file server: GET of a path in `files` answers 200
    /// and sends the body in `chunks` pieces, `gap` apart; other GETs 404;
    /// anything else 201.
    SlowFiles {
        files: std::collections::BTreeMap<String, Vec<u8>>,
        chunks: usize,
        gap: Duration,
    },
}

/// A request a [`FakeServer`] received: its head and the length of its body.
#[derive(Clone, Debug)]
pub struct Request {
    pub head: String,
    pub body_len: usize,
}

impl Request {
    /// `METHOD PATH` of the request line.
    pub fn line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    /// The values of header `name` (case-insensitive).
    pub fn headers(&self, name: &str) -> Vec<String> {
        self.head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
}

/// A TCP server on 127.0.0.1 in a test thread; stopped on drop.
pub struct FakeServer {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    pub fn start(behaviour: Behaviour) -> FakeServer {
        Self::start_on(0, behaviour).expect("bind 127.0.0.1:0")
    }

    /// A fake server on a given port of 127.0.0.1 (e.g. where a stopped
    /// server listened, to see whether anyone still connects there).
    pub fn start_on(port: u16, behaviour: Behaviour) -> std::io::Result<FakeServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (acc, st, reqs) = (accepted.clone(), stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            let mut open = Vec::new();
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        acc.fetch_add(1, Ordering::SeqCst);
                        s.set_nonblocking(false).unwrap();
                        match &behaviour {
                            Behaviour::Silent => open.push(s),
                            Behaviour::Reply(bytes) => {
                                let req = read_request(&mut s, false);
                                reqs.lock().unwrap().push(req);
                                let _ = s.write_all(bytes);
                                let _ = s.flush();
                                let _ = s.shutdown(Shutdown::Both);
                            }
                            Behaviour::Drip(head, every) => {
                                let req = read_request(&mut s, false);
                                reqs.lock().unwrap().push(req);
                                let _ = s.write_all(head);
                                // Bounded (60 s) and stopped with the server.
                                for _ in 0..(60_000 / every.as_millis().max(1)) {
                                    if st.load(Ordering::SeqCst) || s.write_all(b"x").is_err() {
                                        break;
                                    }
                                    std::thread::sleep(*every);
                                }
                            }
                            Behaviour::SlowFiles { files, chunks, gap } => {
                                let req = read_request(&mut s, true);
                                let path = req.line().split(' ').nth(1).unwrap_or("").to_string();
                                let is_get = req.line().starts_with("GET ");
                                reqs.lock().unwrap().push(req);
                                match files.get(&path) {
                                    Some(body) if is_get => {
                                        let head = format!(
                                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                            body.len()
                                        );
                                        let _ = s.write_all(head.as_bytes());
                                        let size = body.len().div_ceil((*chunks).max(1)).max(1);
                                        for piece in body.chunks(size) {
                                            std::thread::sleep(*gap);
                                            if s.write_all(piece).is_err() {
                                                break;
                                            }
                                        }
                                    }
                                    _ if is_get => {
                                        let _ = s.write_all(
                                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                                        );
                                    }
                                    _ => {
                                        let _ = s.write_all(
                                            b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
                                        );
                                    }
                                }
                                let _ = s.flush();
                                let _ = s.shutdown(Shutdown::Both);
                            }
                            Behaviour::Http { get, put } => {
                                let req = read_request(&mut s, true);
                                let reply = if req.line().starts_with("GET ") {
                                    get
                                } else {
                                    put
                                };
                                reqs.lock().unwrap().push(req);
                                let _ = s.write_all(reply);
                                let _ = s.flush();
                                let _ = s.shutdown(Shutdown::Both);
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            drop(open);
        });
        Ok(FakeServer {
            port,
            accepted,
            requests,
            stop,
            thread: Some(thread),
        })
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Reads an HTTP request head (until the blank line or 2 s pass) and, with
/// `body`, its `Content-Length` body.
fn read_request(s: &mut TcpStream, body: bool) -> Request {
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break data.len(),
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let mut req = Request {
        head: String::from_utf8_lossy(&data[..head_end]).into_owned(),
        body_len: 0,
    };
    let want: usize = req
        .headers("content-length")
        .first()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut got = data.len() - head_end;
    while body && got < want {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    req.body_len = got;
    req
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// S3-compatible servers
// ---------------------------------------------------------------------------

/// Where scripts/install-test-deps.sh puts the test servers that come from
/// language registries rather than apt: moto in a Python venv, s3s-fs
/// built by cargo (`OBJCACHE_TEST_DEPS`, else `~/.cache/objcache-test-deps`).
pub fn test_deps_dir() -> PathBuf {
    match std::env::var_os("OBJCACHE_TEST_DEPS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".cache/objcache-test-deps"),
    }
}

/// Which S3-compatible server an [`S3Server`] runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum S3Kind {
    /// moto's server mode (Python): the S3 API as AWS's SDKs test against
    /// it, but it checks no signature of a presigned URL.
    Moto,
    /// s3s-fs (Rust), buckets as directories: checks SigV4 signatures,
    /// presigned URLs included, against one key pair.
    S3s,
}

/// An S3-compatible server on 127.0.0.1, killed on drop.
pub struct S3Server {
    pub kind: S3Kind,
    pub port: u16,
    /// s3s-fs's root directory: a bucket per subdirectory.
    pub root: PathBuf,
    child: Option<Child>,
    _dir: TempDir,
}

/// The key pair an s3s-fs server accepts.
pub const S3S_KEY: (&str, &str) = ("OBJCACHETESTKEY", "objcache/test+Secret");

impl S3Server {
    pub fn start(kind: S3Kind) -> S3Server {
        let deps = test_deps_dir();
        let bin = match kind {
            S3Kind::Moto => deps.join("venv/bin/moto_server"),
            S3Kind::S3s => deps.join("s3s/bin/s3s-fs"),
        };
        assert!(
            bin.is_file(),
            "{} not found; run scripts/install-test-deps.sh",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("objcache-s3-")
            .tempdir()
            .unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let log = dir.path().join("server.log");
        for _ in 0..8 {
            let port = free_port();
            let mut cmd = Command::new(&bin);
            match kind {
                S3Kind::Moto => {
                    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
                }
                S3Kind::S3s => {
                    cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                        .args(["--access-key", S3S_KEY.0, "--secret-key", S3S_KEY.1])
                        .arg(&root);
                }
            }
            let ready = |port: u16| TcpStream::connect(("127.0.0.1", port)).is_ok();
            if let Some(child) = spawn_and_wait(cmd, port, &log, &ready) {
                return S3Server {
                    kind,
                    port,
                    root,
                    child: Some(child),
                    _dir: dir,
                };
            }
        }
        panic!("could not start {kind:?} on a free port");
    }

    /// `http://127.0.0.1:PORT`, the `endpoint` to give objcache.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket: a directory for s3s-fs, an (unsigned, which moto
    /// takes) CreateBucket request for moto.
    pub fn create_bucket(&self, name: &str) {
        match self.kind {
            S3Kind::S3s => std::fs::create_dir_all(self.root.join(name)).unwrap(),
            S3Kind::Moto => {
                let (status, body) = self.raw("PUT", &format!("/{name}"));
                assert_eq!(status, 200, "CreateBucket {name}: {body}");
            }
        }
    }

    /// The keys in `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let mut keys: Vec<String> = match self.kind {
            S3Kind::S3s => {
                let base = self.root.join(bucket);
                super::walk_files(&base)
                    .into_iter()
                    .map(|p| p.strip_prefix(&base).unwrap().display().to_string())
                    // s3s-fs's own bookkeeping files.
                    .filter(|k| !k.starts_with(".s3s") && !k.contains("/.s3s"))
                    .collect()
            }
            S3Kind::Moto => {
                let (status, body) = self.raw("GET", &format!("/{bucket}?list-type=2"));
                assert_eq!(status, 200, "ListObjectsV2 {bucket}: {body}");
                body.split("<Key>")
                    .skip(1)
                    .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
                    .collect()
            }
        };
        keys.sort();
        keys
    }

    /// An unsigned request without a body: its status and body.
    fn raw(&self, method: &str, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to S3 server");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read S3 answer");
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad HTTP answer: {text}"));
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, body.to_string())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            kill_process_group(&mut c);
        }
    }
}

// ---------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------

/// An [`Nginx`] that also serves HTTPS on `tls_port`, with `cert` (the
/// server's chain, PEM) and `key`.
pub struct NginxTls {
    pub nginx: Nginx,
    pub tls_port: u16,
}

impl NginxTls {
    pub fn start(cert: &Path, key: &Path) -> NginxTls {
        let tls_port = free_port();
        let nginx = Nginx::start_with(&|_| {
            format!(
                "listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {};
        ssl_certificate_key {};",
                cert.display(),
                key.display()
            )
        });
        NginxTls { nginx, tls_port }
    }

    /// `https://HOST:TLS_PORT<path>`.
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.tls_port)
    }
}

/// A `redis-server` that also speaks TLS on `tls_port` (the plain port
/// stays, for the tests to look at what was stored), with `cert`, `key`
/// and `ca` (PEM; clients are not asked for certificates).
pub struct RedisTls {
    pub redis: RedisServer,
    pub tls_port: u16,
}

impl RedisTls {
    pub fn start(cert: &Path, key: &Path, ca: &Path) -> RedisTls {
        Self::start_with(cert, key, ca, &[])
    }

    /// `start`, with more arguments for redis-server (`--requirepass`).
    pub fn start_with(cert: &Path, key: &Path, ca: &Path, extra: &[&str]) -> RedisTls {
        let tls_port = free_port();
        let tls_port_s = tls_port.to_string();
        let (cert, key, ca) = (cert.to_str(), key.to_str(), ca.to_str());
        let mut args = extra.to_vec();
        args.extend([
            "--tls-port",
            &tls_port_s,
            "--tls-cert-file",
            cert.unwrap(),
            "--tls-key-file",
            key.unwrap(),
            "--tls-ca-cert-file",
            ca.unwrap(),
            "--tls-auth-clients",
            "no",
        ]);
        let redis = RedisServer::start(&args);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
            assert!(
                start.elapsed() < STARTUP,
                "redis-server is not listening on its TLS port {tls_port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisTls { redis, tls_port }
    }

    /// `rediss://HOST:TLS_PORT`.
    pub fn url(&self, host: &str) -> String {
        format!("rediss://{host}:{}", self.tls_port)
    }
}
