//! Remote storage against a hostile neighbour and a new user: a storage
//! helper socket squatted in a directory anyone can write, a helper
//! directory inside another user's `XDG_RUNTIME_DIR`, a name server that
//! never answers, and attribute names spelled wrong.

use crate::common::*;
use crate::storage_helpers::{dirtest_program, HelperEnv};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;

/// A storage helper run as another user, killed when dropped.
struct Neighbour {
    child: Child,
}

impl Neighbour {
    /// The dirtest helper as `nobody`, listening on `socket`, keeping
    /// entries in `store`.
    fn start(socket: &Path, store: &Path) -> Neighbour {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(dirtest_program())
            .env("CRSH_IPC_ENDPOINT", socket)
            .env("CRSH_URL", format!("dirtest://{}", store.display()))
            .env("CRSH_IDLE_TIMEOUT", "0")
            .env("CRSH_NUM_ATTR", "0");
        let child = cmd.spawn().expect("setpriv");
        let end = Instant::now() + Duration::from_secs(10);
        while !socket.exists() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(socket.exists(), "the neighbour's helper listens");
        Neighbour { child }
    }
}

impl Drop for Neighbour {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn can_be_nobody() -> bool {
    if !is_root() || !have("setpriv") {
        eprintln!("skipped: needs root and setpriv to act as another user");
        return false;
    }
    true
}

/// A directory every user can write, as /tmp is (sticky, 1777).
fn shared_tmp(h: &HelperEnv) -> PathBuf {
    fs::set_permissions(h.env.root(), fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = h.env.root().join("tmp");
    fs::create_dir(&tmp).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777)).unwrap();
    tmp
}

#[test]
fn a_crsh_socket_squatted_in_a_shared_directory_is_not_trusted() {
    if !can_be_nobody() {
        return;
    }
    let h = HelperEnv::new();
    let tmp = shared_tmp(&h);
    // The user's configuration names /tmp/cache.sock, as the docs' example
    // does; a neighbour bound it first.
    let store = tmp.join("neighbours-store");
    fs::create_dir(&store).unwrap();
    std::os::unix::fs::chown(&store, Some(NOBODY), Some(NOBODY)).unwrap();
    let socket = tmp.join("cache.sock");
    let _neighbour = Neighbour::start(&socket, &store);
    let remote = format!("crsh:{}", socket.display());
    let c = h.compile("a", &remote);
    c.check(&h.env);
    h.clear_local();
    c.check(&h.env);
    let stats = h.env.stats();
    assert_eq!(get(&stats, "remote_storage_hit"), 0, "{stats:?}");
    assert_eq!(get(&stats, "remote_storage_read_hit"), 0, "{stats:?}");
    assert!(get(&stats, "remote_storage_error") >= 1, "{stats:?}");
    let leaked: Vec<_> = fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "starts")
        .collect();
    assert!(leaked.is_empty(), "the neighbour got entries: {leaked:?}");
    let mut check = h.objcache();
    check
        .env("CCACHE_REMOTE_STORAGE", &remote)
        .arg("--check-remote");
    let out = run(&mut check);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(out.stdout_str().contains("another user"), "{}", out.dump());
}

#[test]
fn a_crsh_socket_of_another_user_in_their_own_directory_is_used() {
    if !can_be_nobody() {
        return;
    }
    // A helper run by a service account, in its own directory: the setup
    // `crsh:` is for.
    let h = HelperEnv::new();
    let tmp = shared_tmp(&h);
    let service = tmp.join("service");
    fs::create_dir(&service).unwrap();
    std::os::unix::fs::chown(&service, Some(NOBODY), Some(NOBODY)).unwrap();
    fs::set_permissions(&service, fs::Permissions::from_mode(0o755)).unwrap();
    let socket = service.join("cache.sock");
    let neighbour = Neighbour::start(&socket, &service.join("store"));
    // The service's socket is open to its clients.
    fs::set_permissions(&socket, fs::Permissions::from_mode(0o777)).unwrap();
    let c = h.compile("a", &format!("crsh:{}", socket.display()));
    c.check(&h.env);
    h.clear_local();
    c.check(&h.env);
    drop(neighbour);
    let stats = h.env.stats();
    assert_eq!(get(&stats, "remote_storage_hit"), 1, "{stats:?}");
    assert_eq!(get(&stats, "remote_storage_error"), 0, "{stats:?}");
}

#[test]
fn another_users_xdg_runtime_dir_is_not_used_for_helpers() {
    if !is_root() {
        eprintln!("skipped: needs root to be handed another user's XDG_RUNTIME_DIR");
        return;
    }
    // `sudo -E make install`: root with the user's XDG_RUNTIME_DIR. A
    // helper directory root made there would be the user's to swap
    // (they own its parent), and would lock the user's own helpers out.
    require("python3");
    let began = std::time::SystemTime::now() - Duration::from_secs(2);
    let env = TestEnv::new();
    let src = env.dir("src");
    write_file(&src.join("a.c"), "int answer(void) { return 42; }\n");
    let theirs = env.dir("run-user-65534");
    std::os::unix::fs::chown(&theirs, Some(NOBODY), Some(NOBODY)).unwrap();
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o700)).unwrap();
    // A helper that exits at once: nothing keeps running in root's own
    // helper directory, where objcache must go instead.
    let remote = format!(
        "dirtest://{} helper={} @fault=exit",
        env.root().join("store").display(),
        dirtest_program().display()
    );
    let c = Compile::new(&src, "gcc", &["-c", "a.c", "-o", "a.o"], "a.o").envs(&[
        ("CCACHE_REMOTE_STORAGE", remote.as_str()),
        ("XDG_RUNTIME_DIR", theirs.to_str().unwrap()),
    ]);
    c.check(&env);
    let left: Vec<_> = fs::read_dir(&theirs).unwrap().flatten().collect();
    assert!(left.is_empty(), "root wrote into the user's dir: {left:?}");
    let starts = HelperEnv::starts_in(&env.root().join("store"));
    assert_eq!(
        starts.len(),
        1,
        "the helper was started from root's own directory"
    );
    // The lock the start left in root's directory (its name is a hash of
    // this test's URL: one made since the test began).
    for e in fs::read_dir("/tmp/ccache-tmp-0")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let new = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= began);
        if name.starts_with("storage-dirtest-") && name.ends_with(".lock") && new {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// A name server on the loopback that never answers, kept open while the
/// value lives.
struct SilentDns {
    _socket: std::net::UdpSocket,
    conf: PathBuf,
}

impl SilentDns {
    fn start(dir: &Path) -> Option<SilentDns> {
        let socket =
            (2..250).find_map(|n| std::net::UdpSocket::bind(format!("127.0.0.{n}:53")).ok())?;
        let conf = dir.join("resolv.conf");
        let ip = socket.local_addr().unwrap().ip();
        fs::write(
            &conf,
            format!("nameserver {ip}\noptions timeout:5 attempts:2\n"),
        )
        .unwrap();
        Some(SilentDns {
            _socket: socket,
            conf,
        })
    }
}

#[test]
fn a_name_server_that_never_answers_costs_a_compile_the_data_timeout() {
    if !is_root() || !have("unshare") {
        eprintln!("skipped: needs root and unshare to give a compile its own resolv.conf");
        return;
    }
    require("gcc");
    let env = TestEnv::new();
    let src = env.dir("src");
    write_file(&src.join("a.c"), "int answer(void) { return 42; }\n");
    let Some(dns) = SilentDns::start(env.root()) else {
        eprintln!("skipped: no loopback address free for a name server on port 53");
        return;
    };
    for remote in [
        "http://cache.objcache-test.invalid/c",
        "s3://bucket/p endpoint=http://s3.objcache-test.invalid:9000",
    ] {
        let cmd = env.objcache_in(&src, ["gcc", "-c", "a.c", "-o", "a.o"]);
        // Only this compile, in its own mount namespace, sees the resolver.
        let program = cmd.get_program().to_owned();
        let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
        let mut wrapped = Command::new("unshare");
        wrapped
            .args([
                "-m",
                "sh",
                "-c",
                "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"",
            ])
            .arg(&dns.conf)
            .arg(program)
            .args(args)
            .current_dir(&src);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        wrapped
            .env("CCACHE_REMOTE_STORAGE", remote)
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret");
        let start = Instant::now();
        let out = run_with_timeout(&mut wrapped, Duration::from_secs(60));
        let took = start.elapsed();
        assert!(out.success(), "{remote}: {}", out.dump());
        assert!(
            took < Duration::from_secs(3),
            "{remote}: a lookup nobody answers took {took:?}"
        );
        let _ = fs::remove_dir_all(&env.cache_dir);
    }
}

#[test]
fn check_remote_names_misspelt_attributes() {
    let env = TestEnv::new();
    let mut cmd = env.objcache();
    cmd.env(
        "CCACHE_REMOTE_STORAGE",
        "https://127.0.0.1:1/c cafile=/x.pem s3://b/p endpoint_url=http://127.0.0.1:1 \
         http://127.0.0.1:1/d header=Authorization=Bearer Zm9vYmFy connect-timeout=50",
    )
    .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    .env("AWS_SECRET_ACCESS_KEY", "secret")
    .arg("--check-remote");
    let out = run_with_timeout(&mut cmd, Duration::from_secs(30));
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    let text = out.stdout_str();
    assert!(
        text.contains("\"cafile\" is unknown and ignored; did you mean \"ca-file\"?"),
        "{text}"
    );
    assert!(
        text.contains("\"endpoint_url\" is unknown and ignored; did you mean \"endpoint\"?"),
        "{text}"
    );
    assert!(text.contains("not shown"), "{text}");
    assert!(
        !text.contains("Zm9vYmFy"),
        "a token cut at a space is shown: {text}"
    );
    assert!(!text.contains("connect-timeout"), "{text}");
}
