//! Remote storage (`remote_storage`, `remote_only`, `reshare`) against real
//! servers started by the tests on 127.0.0.1: redis-server, nginx with
//! WebDAV, a shared directory, and fake TCP servers that stay silent, send
//! garbage or close mid-transfer.
//!
//! A "runner" is one CI machine: its own cache directory, the same project
//! directory and the same remote backend as the other runners.

mod backends;
mod corruption;
mod http_wire;
mod policy;
mod secrets;
mod server_faults;
mod two_runners;

use crate::common::servers::*;
use crate::common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const REMOTE_COUNTERS: [&str; 7] = [
    "remote_storage_hit",
    "remote_storage_miss",
    "remote_storage_read_hit",
    "remote_storage_read_miss",
    "remote_storage_write",
    "remote_storage_error",
    "remote_storage_timeout",
];

/// One CI runner: a private cache directory and a `CCACHE_*` environment.
struct Runner {
    env: TestEnv,
    vars: Vec<(String, String)>,
}

impl Runner {
    /// A runner whose `CCACHE_REMOTE_STORAGE` is `remote`.
    fn new(remote: &str) -> Runner {
        Runner {
            env: TestEnv::new(),
            vars: vec![("CCACHE_REMOTE_STORAGE".into(), remote.into())],
        }
    }

    fn with(mut self, key: &str, value: &str) -> Runner {
        self.vars.push((key.into(), value.into()));
        self
    }

    fn objcache_in(&self, cwd: &Path, argv: &[String]) -> std::process::Command {
        let mut cmd = self.env.objcache_in(cwd, argv);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// `objcache gcc <a>` in `cwd` with this runner's cache and variables:
    /// must succeed and write `output` byte-identical to `expected`.
    /// Returns the output and the wall time.
    #[track_caller]
    fn compile(&self, cwd: &Path, a: &[String], output: &str, expected: &[u8]) -> (Out, Duration) {
        let got = Compile::new(cwd, "gcc", a, output)
            .envs(&self.vars)
            .check_obj(&self.env, expected);
        (got.out, got.took)
    }

    fn stats(&self) -> Stats {
        self.env.stats()
    }

    /// Cache entry files in the local cache directory.
    fn local_entries(&self) -> Vec<PathBuf> {
        cache_entry_files(&self.env.cache_dir)
    }
}

/// The remote counters of a stats map (absent ones as 0).
fn remote_counters(s: &Stats) -> Vec<(&'static str, u64)> {
    REMOTE_COUNTERS.iter().map(|k| (*k, get(s, k))).collect()
}

/// Arguments compiling `src` to `out.o`, and the plain gcc object.
fn unit(proj: &Path, src: &str) -> (Vec<String>, Vec<u8>) {
    let a = args(&["-c", src, "-o", "out.o", "-I", "include"]);
    let expected = plain_object("gcc", proj, &a, "out.o");
    (a, expected)
}

/// `n` small, different C sources `gen/uN.c` in `proj`, with their
/// arguments and plain objects (`uN.o`).
fn generated_units(proj: &Path, n: usize) -> Vec<(Vec<String>, String, Vec<u8>)> {
    fs::create_dir_all(proj.join("gen")).unwrap();
    (0..n)
        .map(|i| {
            let src = format!("gen/u{i}.c");
            fs::write(
                proj.join(&src),
                format!(
                    "#include \"util.h\"\nint gen_{i}(int x) {{ return x * {} + {i}; }}\n",
                    i + 3
                ),
            )
            .unwrap();
            let obj = format!("u{i}.o");
            let a = args(&["-c", &src, "-o", &obj, "-I", "include"]);
            let expected = plain_object("gcc", proj, &a, &obj);
            (a, obj, expected)
        })
        .collect()
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every file under `dir`, relative, sorted; a file backend's
/// `CACHEDIR.TAG` left out (config_parity tests it).
fn files_under(dir: &Path) -> Vec<String> {
    walk_files(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .filter(|f| f != "CACHEDIR.TAG")
        .collect()
}
