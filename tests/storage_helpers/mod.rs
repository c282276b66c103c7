//! ccache 4.13's storage helpers, served by a helper written here
//! (`tests/fixtures/storage-helper/ccache-storage-dirtest`, protocol 1 over
//! a directory): hits through it, one helper for a parallel build, its
//! idle timeout, `--stop-storage-helpers`, `crsh:`, the lookup order
//! (`lookup`) and helpers that misbehave (`faults`).

mod faults;
mod lookup;
mod sockets;

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The helper program of the tests.
pub fn dirtest_program() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/storage-helper/ccache-storage-dirtest")
}

/// A test's cache, sources, helper store and private helper directory
/// (`XDG_RUNTIME_DIR`). Dropping it stops every helper it started.
pub struct HelperEnv {
    pub env: TestEnv,
    pub src: PathBuf,
    pub store: PathBuf,
    pub xdg: PathBuf,
}

impl HelperEnv {
    pub fn new() -> HelperEnv {
        require("gcc");
        require("python3");
        let env = TestEnv::new();
        let src = env.dir("src");
        write_file(&src.join("a.c"), "int answer(void) { return 42; }\n");
        let store = env.root().join("store");
        let xdg = env.dir("xdg");
        HelperEnv {
            env,
            src,
            store,
            xdg,
        }
    }

    /// `dirtest:///STORE helper=PROGRAM` and `extra` properties.
    pub fn remote(&self, extra: &str) -> String {
        format!(
            "dirtest://{} helper={} {extra}",
            self.store.display(),
            dirtest_program().display()
        )
    }

    /// The compile of `name.c`, through `remote`.
    pub fn compile(&self, name: &str, remote: &str) -> Compile {
        Compile::new(
            &self.src,
            "gcc",
            &["-c", &format!("{name}.c"), "-o", &format!("{name}.o")],
            &format!("{name}.o"),
        )
        .envs(&[
            ("CCACHE_REMOTE_STORAGE", remote),
            ("XDG_RUNTIME_DIR", self.xdg.to_str().unwrap()),
        ])
    }

    /// objcache with this environment's helper directory.
    pub fn objcache(&self) -> Command {
        let mut cmd = self.env.objcache();
        cmd.env("XDG_RUNTIME_DIR", &self.xdg);
        cmd
    }

    /// The local cache emptied, so the next compile asks the remote.
    pub fn clear_local(&self) {
        let _ = fs::remove_dir_all(&self.env.cache_dir);
    }

    /// The pids of the helpers started for `store`, in start order.
    pub fn starts_in(store: &Path) -> Vec<i32> {
        fs::read_to_string(store.join("starts"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
            .collect()
    }

    pub fn starts(&self) -> Vec<i32> {
        HelperEnv::starts_in(&self.store)
    }

    /// Every `starts` file below the test's root.
    fn all_starts(&self) -> Vec<i32> {
        walk_files(self.env.root())
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "starts"))
            .flat_map(|p| HelperEnv::starts_in(p.parent().unwrap()))
            .collect()
    }
}

/// Whether process `pid` is still running (a zombie is not).
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit(')').next().map(|r| r.trim().chars().next()))
        .is_some_and(|state| state != Some('Z'))
}

/// Waits up to `limit` for `pid` to end.
pub fn ends_within(pid: i32, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while alive(pid) {
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

impl Drop for HelperEnv {
    fn drop(&mut self) {
        let mut cmd = self.objcache();
        cmd.arg("--stop-storage-helpers");
        let _ = run(&mut cmd);
        for pid in self.all_starts() {
            // SAFETY: kill only signals a process the test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

#[test]
fn a_second_machine_hits_through_a_helper() {
    let h = HelperEnv::new();
    let remote = h.remote("");
    let c = h.compile("a", &remote);
    c.check(&h.env);
    assert_eq!(h.env.stat("remote_storage_write"), 2, "result and manifest");
    h.clear_local();
    let got = c.check(&h.env);
    let stats = h.env.stats();
    assert_eq!(get(&stats, "remote_storage_hit"), 1, "{}", got.out.dump());
    assert_eq!(get(&stats, "remote_storage_error"), 0);
    assert_eq!(h.starts().len(), 1, "one helper served both compiles");
    let pid = h.starts()[0];
    assert!(alive(pid), "the helper outlives the compiles");
}

#[test]
fn a_parallel_build_starts_one_helper() {
    let h = HelperEnv::new();
    let remote = h.remote("");
    let compiles: Vec<Compile> = (0..8)
        .map(|i| {
            let name = format!("u{i}");
            write_file(
                &h.src.join(format!("{name}.c")),
                &format!("int u{i}(void) {{ return {i}; }}\n"),
            );
            h.compile(&name, &remote)
        })
        .collect();
    std::thread::scope(|scope| {
        for c in &compiles {
            let env = &h.env;
            scope.spawn(move || c.cached(env));
        }
    });
    assert_eq!(
        h.starts().len(),
        1,
        "eight compiles started one helper: {:?}",
        h.starts()
    );
    assert_eq!(h.env.stat("remote_storage_write"), 16);
    assert_eq!(h.env.stat("remote_storage_error"), 0);
}

#[test]
fn the_idle_timeout_ends_the_helper() {
    let h = HelperEnv::new();
    h.compile("a", &h.remote("idle-timeout=1s")).check(&h.env);
    let pid = h.starts()[0];
    let text = fs::read_to_string(h.store.join("starts")).unwrap();
    assert!(
        text.contains(&format!("start {pid} 1 ")),
        "CRSH_IDLE_TIMEOUT=1: {text}"
    );
    assert!(
        ends_within(pid, Duration::from_secs(6)),
        "idle helper {pid} still running"
    );
}

#[test]
fn stop_storage_helpers_stops_every_helper_of_the_user() {
    let h = HelperEnv::new();
    // Two helpers: one for the configured remote, one for a remote the
    // configuration no longer names (different attributes).
    h.compile("a", &h.remote("")).check(&h.env);
    h.clear_local();
    h.compile("a", &h.remote("@other=1")).check(&h.env);
    let pids = h.starts();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.iter().all(|&p| alive(p)));
    let mut cmd = h.objcache();
    cmd.env("CCACHE_REMOTE_STORAGE", h.remote(""))
        .arg("--stop-storage-helpers");
    let start = Instant::now();
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    assert!(start.elapsed() < Duration::from_secs(5));
    for pid in pids {
        assert!(
            ends_within(pid, Duration::from_secs(2)),
            "helper {pid} still running"
        );
    }
    // Nothing to stop: still success, and quick.
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
}

#[test]
fn crsh_connects_to_a_helper_started_by_someone_else() {
    let h = HelperEnv::new();
    let socket = h.env.root().join("ext.sock");
    let mut helper = Command::new(dirtest_program());
    helper
        .env("CRSH_IPC_ENDPOINT", &socket)
        .env("CRSH_URL", format!("dirtest://{}", h.store.display()))
        .env("CRSH_IDLE_TIMEOUT", "0")
        .env("CRSH_NUM_ATTR", "0");
    let mut child = helper.spawn().unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    let remote = format!("crsh:{}", socket.display());
    let c = h.compile("a", &remote);
    c.check(&h.env);
    h.clear_local();
    c.check(&h.env);
    assert_eq!(h.env.stat("remote_storage_hit"), 1);
    assert_eq!(h.starts().len(), 1, "objcache started no helper of its own");
    // `--stop-storage-helpers` stops a configured crsh: helper too, as
    // in ccache.
    let mut cmd = h.objcache();
    cmd.env("CCACHE_REMOTE_STORAGE", &remote)
        .arg("--stop-storage-helpers");
    run_ok(&mut cmd);
    let stopped = ends_within(child.id() as i32, Duration::from_secs(3));
    let _ = child.kill();
    let _ = child.wait();
    assert!(stopped, "the external helper was asked to stop");
}
