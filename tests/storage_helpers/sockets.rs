//! Sockets that are not what they should be: a `crsh:` path that is a
//! regular file, a FIFO, or another user's socket; a helper directory
//! owned by someone else; a stale file where a helper's socket goes.

use super::*;
use std::os::unix::fs::PermissionsExt;

fn crsh_to(h: &HelperEnv, path: &Path) -> Stats {
    h.clear_local();
    let c = h.compile("a", &format!("crsh:{} data-timeout=300ms", path.display()));
    let got = c.check(&h.env);
    assert!(got.took < Duration::from_secs(3), "took {:?}", got.took);
    h.env.stats()
}

#[test]
fn a_crsh_path_that_is_a_file_or_a_fifo_is_a_remote_error() {
    let h = HelperEnv::new();
    let file = h.env.root().join("file.sock");
    fs::write(&file, "not a socket").unwrap();
    assert_eq!(get(&crsh_to(&h, &file), "remote_storage_error"), 1);
    let fifo = h.env.root().join("fifo.sock");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    assert_eq!(get(&crsh_to(&h, &fifo), "remote_storage_error"), 1);
    let missing = h.env.root().join("missing.sock");
    assert_eq!(get(&crsh_to(&h, &missing), "remote_storage_error"), 1);
    assert_eq!(fs::read(&file).unwrap(), b"not a socket", "left alone");
}

#[test]
fn a_stale_file_where_the_helpers_socket_goes_is_replaced() {
    let h = HelperEnv::new();
    let remote = h.remote("");
    h.compile("a", &remote).check(&h.env);
    let mut stop = h.objcache();
    stop.arg("--stop-storage-helpers");
    run_ok(&mut stop);
    // A helper killed before it could remove its socket leaves one behind;
    // here, something else in its place.
    let dir = h.xdg.join("ccache-tmp");
    let socket = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| !p.to_string_lossy().ends_with(".lock"))
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| {
            let lock = fs::read_dir(&dir).unwrap().flatten().next().unwrap().path();
            PathBuf::from(lock.to_string_lossy().trim_end_matches(".lock"))
        });
    fs::write(&socket, "stale").unwrap();
    h.clear_local();
    h.compile("a", &remote).check(&h.env);
    assert_eq!(h.env.stat("remote_storage_hit"), 1);
    assert_eq!(h.starts().len(), 2);
}

#[test]
fn a_helper_directory_owned_by_another_user_is_not_used() {
    if !is_root() {
        eprintln!("skipped: needs root to give the helper directory to another user");
        return;
    }
    let h = HelperEnv::new();
    let dir = h.xdg.join("ccache-tmp");
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    h.compile("a", &h.remote("")).check(&h.env);
    assert_eq!(h.env.stat("remote_storage_error"), 1);
    assert!(h.starts().is_empty(), "no helper started there");
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        0,
        "nothing written there"
    );
}

#[test]
fn another_users_crsh_socket_is_a_remote_error() {
    if !is_root() || !have("setpriv") {
        eprintln!("skipped: needs root and setpriv to connect as another user");
        return;
    }
    let h = HelperEnv::new();
    // A helper of root's, its socket private to root, in a directory
    // every user can reach.
    fs::set_permissions(h.env.root(), fs::Permissions::from_mode(0o755)).unwrap();
    let socket = h.env.root().join("root.sock");
    let mut child = Command::new(dirtest_program())
        .env("CRSH_IPC_ENDPOINT", &socket)
        .env("CRSH_URL", format!("dirtest://{}", h.store.display()))
        .env("CRSH_IDLE_TIMEOUT", "0")
        .env("CRSH_NUM_ATTR", "0")
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while !socket.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    // The other user's sources, cache and objcache run.
    let theirs = h.env.root().join("theirs");
    fs::create_dir(&theirs).unwrap();
    fs::write(theirs.join("a.c"), "int answer(void) { return 42; }\n").unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let mut cmd = Command::new("setpriv");
    clean_env(&mut cmd);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(objcache_bin())
        .args(["gcc", "-c", "a.c", "-o", "a.o"])
        .env("CCACHE_DIR", theirs.join("cache"))
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env(
            "CCACHE_REMOTE_STORAGE",
            format!("crsh:{} data-timeout=300ms", socket.display()),
        )
        .env("HOME", &theirs)
        .current_dir(&theirs);
    let start = Instant::now();
    let out = run(&mut cmd);
    let took = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.success(), "{}", out.dump());
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(theirs.join("a.o").exists());
    let mut stats = Command::new(objcache_bin());
    clean_env(&mut stats);
    stats
        .env("CCACHE_DIR", theirs.join("cache"))
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .arg("--print-stats");
    let stats = parse_print_stats(&run_ok(&mut stats).stdout_str());
    assert_eq!(get(&stats, "remote_storage_error"), 1, "{stats:?}");
}
