//! Where the helper program is found, in ccache's order: the `helper`
//! property, `libexec_dirs`, beside the objcache executable, `PATH`; none
//! found: objcache's own backend for the scheme, or a remote error.

use super::*;

/// `dir/ccache-storage-dirtest`: notes `label` in `$MARK`, then runs the
/// test helper.
fn wrapper(dir: &Path, label: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir).unwrap();
    let path = dir.join("ccache-storage-dirtest");
    fs::write(
        &path,
        format!(
            "#!/bin/sh\necho {label} >> \"$MARK\"\nexec {}\n",
            dirtest_program().display()
        ),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn helpers_are_found_in_ccaches_order() {
    let h = HelperEnv::new();
    let root = h.env.root();
    let mark = root.join("mark");
    let prop = wrapper(&root.join("prop"), "property");
    let libexec = root.join("libexec");
    wrapper(&libexec, "libexec");
    let bin = root.join("bin");
    wrapper(&bin, "beside");
    let exe = bin.join("objcache");
    fs::copy(objcache_bin(), &exe).unwrap();
    let path_dir = root.join("path");
    wrapper(&path_dir, "path");
    let path = format!("{}:{}", path_dir.display(), std::env::var("PATH").unwrap());
    let url = format!("dirtest://{}", h.store.display());

    // Each case compiles once with an empty cache and stops the helper,
    // so the next case starts (and so looks up) its own.
    let case = |remote: String, libexec_dirs: &str| -> String {
        let _ = fs::remove_file(&mark);
        h.clear_local();
        let mut cmd = Command::new(&exe);
        clean_env(&mut cmd);
        cmd.env("CCACHE_DIR", &h.env.cache_dir)
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
            .env("XDG_RUNTIME_DIR", &h.xdg)
            .env("PATH", &path)
            .env("MARK", &mark)
            .env("CCACHE_REMOTE_STORAGE", &remote)
            .env("CCACHE_LIBEXEC_DIRS", libexec_dirs)
            .current_dir(&h.src)
            .args(["gcc", "-c", "a.c", "-o", "a.o"]);
        let out = run(&mut cmd);
        assert!(out.success(), "{}", out.dump());
        let mut stop = h.objcache();
        stop.arg("--stop-storage-helpers");
        run_ok(&mut stop);
        fs::read_to_string(&mark)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let libexec_dirs = format!("/nonexistent:{}", libexec.display());
    assert_eq!(
        case(format!("{url} helper={}", prop.display()), &libexec_dirs),
        "property"
    );
    assert_eq!(case(url.clone(), &libexec_dirs), "libexec");
    assert_eq!(case(url.clone(), ""), "beside");
    fs::remove_file(bin.join("ccache-storage-dirtest")).unwrap();
    assert_eq!(case(url.clone(), ""), "path");
    // A bare helper name is looked up in the same places.
    fs::rename(
        path_dir.join("ccache-storage-dirtest"),
        path_dir.join("my-helper"),
    )
    .unwrap();
    assert_eq!(case(format!("{url} helper=my-helper"), ""), "path");
}

#[test]
fn no_helper_and_no_builtin_backend_is_a_remote_error() {
    let h = HelperEnv::new();
    let remote = format!(
        "dirtest://{} helper=/nonexistent/ccache-storage-dirtest",
        h.store.display()
    );
    let c = h.compile("a", &remote);
    let start = Instant::now();
    c.check(&h.env);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(h.env.stat("remote_storage_error"), 1);
    assert!(h.starts().is_empty());
}

#[test]
fn file_urls_and_builtin_forced_never_start_a_helper() {
    let h = HelperEnv::new();
    let bin = h.env.root().join("helpers");
    for scheme in ["file", "http"] {
        let path = bin.join(format!("ccache-storage-{scheme}"));
        fs::create_dir_all(&bin).unwrap();
        fs::write(&path, "#!/bin/sh\ntouch \"$0.ran\"\nexit 1\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let shared = h.env.root().join("shared");
    let remote = format!(
        "file:{} http://127.0.0.1:9/c helper=_builtin_ connect-timeout=50ms",
        shared.display()
    );
    let c = h
        .compile("a", &remote)
        .env("CCACHE_LIBEXEC_DIRS", bin.to_str().unwrap());
    c.check(&h.env);
    assert!(
        !bin.join("ccache-storage-file.ran").exists(),
        "file: is always objcache's own"
    );
    assert!(
        !bin.join("ccache-storage-http.ran").exists(),
        "helper=_builtin_"
    );
    assert!(
        walk_files(&shared).len() >= 2,
        "the file: remote got the entries"
    );
}

/// `--check-remote` finds a helper where a compile would (here only in
/// `libexec_dirs`), and its probe goes through the helper and is gone
/// afterwards.
#[test]
fn check_remote_reaches_a_helper_found_in_libexec_dirs() {
    let h = HelperEnv::new();
    let libexec = h.env.root().join("libexec");
    fs::create_dir_all(&libexec).unwrap();
    fs::copy(dirtest_program(), libexec.join("ccache-storage-dirtest")).unwrap();
    let url = format!("dirtest://{}", h.store.display());
    let out = h
        .objcache()
        .arg("--check-remote")
        .env("CCACHE_REMOTE_STORAGE", &url)
        .env("CCACHE_LIBEXEC_DIRS", &libexec)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(": ok in "), "{stdout}");
    assert_eq!(HelperEnv::starts_in(&h.store).len(), 1, "{stdout}");
    let left: Vec<_> = walk_files(&h.store)
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("starts"))
        .collect();
    assert!(left.is_empty(), "the probe entry is left: {left:?}");
}
