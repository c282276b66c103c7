//! A cache shared by several users (`umask = 002`, one group) and the
//! secrets in its configuration: manager commands keep the cache writable
//! for the others, planted symlinks are never followed, and a password or
//! token never shows in any output.

use crate::common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// A second user: `nobody` in a group shared with root's compiles (root
/// runs as a member of it: `as_member_of`).
const OTHER_UID: u32 = 65534;
const SHARED_GID: u32 = 65534;

fn as_other_user(env: &TestEnv, cwd: &Path, args: &[&str]) -> Out {
    settle_stamps();
    let mut cmd = Command::new("setpriv");
    clean_env(&mut cmd);
    cmd.args([
        &format!("--reuid={OTHER_UID}"),
        &format!("--regid={SHARED_GID}"),
        "--clear-groups",
        "--",
    ])
    .arg(objcache_bin())
    .args(args)
    .env("CCACHE_DIR", &env.cache_dir)
    .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
    .current_dir(cwd);
    run(&mut cmd)
}

/// Every manager command run by one user with a shell umask of 022 leaves
/// the cache writable for the group (`umask = 002` in ccache.conf): the
/// other user's compiles still store and hit. Needs root (setpriv).
#[test]
fn manager_commands_keep_a_shared_cache_writable() {
    require("setpriv");
    require("gcc");
    if !is_root() {
        panic!("this test needs root, to run a second user with setpriv");
    }
    // Both users can reach the cache and the sources.
    let (env, src) = group_shared_env(SHARED_GID);
    let commands: &[&[&str]] = &[
        &["-z"],
        &["-c"],
        &["-C"],
        &["-M", "2G"],
        &["-F", "0"],
        &["-o", "max_files=0"],
        &["--evict-older-than", "1d"],
        &["-s"],
    ];
    for (n, cmd) in commands.iter().enumerate() {
        // Root, a member of the group, runs the command with a
        // restrictive shell umask.
        let mut c = Command::new("sh");
        clean_env(as_member_of(&mut c, SHARED_GID));
        c.arg("-c")
            .arg("umask 022; exec \"$0\" \"$@\"")
            .arg(objcache_bin())
            .args(*cmd)
            .env("CCACHE_DIR", &env.cache_dir)
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
        let out = run(&mut c);
        assert!(out.success(), "{cmd:?}: {}", out.dump());
        // The other user compiles something new, then hits it.
        let file = format!("u{n}.c");
        fs::write(
            src.join(&file),
            format!("int f{n}(void) {{ return {n}; }}\n"),
        )
        .unwrap();
        let object = format!("u{n}.o");
        let args = ["gcc", "-c", file.as_str(), "-o", object.as_str()];
        let before = env.stats();
        for _ in 0..2 {
            let out = as_other_user(&env, &src, &args);
            assert!(out.success(), "after {cmd:?}: {}", out.dump());
        }
        let after = env.stats();
        assert_eq!(
            hits(&after) - hits(&before),
            1,
            "after {cmd:?} the other user's compile stored nothing: {after:?}"
        );
    }
    // Nothing the manager created is closed to the group.
    for f in walk_files(&env.cache_dir) {
        let mode = fs::metadata(&f).unwrap().mode();
        assert!(
            mode & 0o060 == 0o060 || f.ends_with("ccache.conf"),
            "{} is {mode:o}",
            f.display()
        );
    }
}

/// `-o` rewrites ccache.conf with its mode and owner kept (a 0600 file
/// holding a Redis password stays 0600).
#[test]
fn set_config_keeps_the_mode_of_ccache_conf() {
    let env = TestEnv::new();
    fs::create_dir_all(&env.cache_dir).unwrap();
    let conf = env.cache_dir.join("ccache.conf");
    fs::write(&conf, "remote_storage = redis://:pw@127.0.0.1:1\n").unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o600)).unwrap();
    run_ok(env.objcache().args(["-o", "max_files=5"]));
    assert_eq!(fs::metadata(&conf).unwrap().mode() & 0o7777, 0o600);
    assert!(fs::read_to_string(&conf).unwrap().contains("max_files = 5"));
}

/// A password, a bearer token and header values in the configuration never
/// appear in anything objcache prints or writes: compile stderr (good and
/// malformed configuration), the log, `-p`, `-k`, `-s`, `--print-stats`,
/// `--explain`, and `debug = true`'s files. Each value is given in
/// ccache.conf, as a one-call `KEY=VALUE` setting (also under a misspelt
/// key), in `CCACHE_REMOTE_STORAGE` and to `-o`.
#[test]
fn secrets_never_show() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("p");
    fs::create_dir_all(&env.cache_dir).unwrap();
    let conf = env.cache_dir.join("ccache.conf");
    let values = [
        format!("redis://:{SECRET}@127.0.0.1:1"),
        format!("http://127.0.0.1:1/c|bearer-token={SECRET}"),
        format!("http://127.0.0.1:1/c|header=Authorization=Bearer%20{SECRET}"),
        format!("http://127.0.0.1:1/c|header=Authorization:Bearer {SECRET}"),
        format!("http://u:{SECRET}@127.0.0.1:1/c|connect-timeout=50"),
        format!("redis://:{SECRET}@127.0.0.1:99999999"),
        // A bad port after the password.
        format!("http://u:{SECRET}@h:x/c"),
        // `:` for `=` in a header: the value has no name.
        format!("http://127.0.0.1:1/c|header=X-Tok:{SECRET}"),
        // Passwords not percent-encoded: a space, `/`, `#`, `?`, `|`, `@`
        // or `&` in them; and one that is.
        format!("http://u:{SECRET} x@127.0.0.1:1/c"),
        format!("http://u:x {SECRET}@127.0.0.1:1/c"),
        format!("http://u:a/{SECRET}@127.0.0.1:1/c"),
        format!("http://u:a#{SECRET}@127.0.0.1:1/c"),
        format!("http://u:a?{SECRET}@127.0.0.1:1/c"),
        format!("http://u:a|{SECRET}@127.0.0.1:1/c"),
        format!("http://u:a@{SECRET}@127.0.0.1:1/c"),
        format!("http://u:a%40{SECRET}@127.0.0.1:1/c"),
        format!("redis+unix:/nonexistent.sock?pass=a&{SECRET}"),
        // `$` in a password: the rest is taken for a variable's name.
        format!("redis://:a${{{SECRET}}}@127.0.0.1:1"),
        // A URL without its scheme, a token for its user: no URL at all.
        format!("{SECRET}@127.0.0.1:1/c"),
    ];
    let mut files: Vec<String> = values
        .iter()
        .map(|v| format!("remote_storage = {v}\n"))
        .collect();
    files.extend([
        format!("remote_storage redis://u:{SECRET}@127.0.0.1:1\n"),
        // Continued without indentation: a line of its own.
        format!("remote_storage = http://127.0.0.1:1/c|header=Authorization=Bearer\n{SECRET}\n"),
        format!("remote_storage = http://127.0.0.1:1/c\nredis://:{SECRET}@h\n"),
    ]);
    let mut n = 0;
    let mut compile = |settings: &[&str], vars: &[(&str, &str)]| {
        // A new source each time: a miss, which talks to the remotes.
        n += 1;
        fs::write(dir.join("t.c"), format!("int x{n};\n")).unwrap();
        let mut cmd = env.objcache_in(&dir, settings);
        cmd.args(["gcc", "-c", "t.c", "-o", "t.o"]);
        cmd.env("CCACHE_LOGFILE", env.root().join("objcache.log"));
        cmd.envs(vars.iter().copied());
        run(&mut cmd)
    };
    for text in &files {
        fs::write(&conf, text).unwrap();
        let mut outputs = vec![compile(&["debug=true"], &[])];
        for manager in [
            &["-p"][..],
            &["-k", "remote_storage"],
            &["-s"],
            &["--print-stats"],
            &["--explain", "p/t.o"],
        ] {
            outputs.push(run(env.objcache().args(manager)));
        }
        assert_nothing_shows(&env, text, &outputs);
    }
    fs::remove_file(&conf).unwrap();
    for v in &values {
        let setting = format!("remote_storage={v}");
        let misspelt = format!("remote_storge={v}");
        let variable = [("CCACHE_REMOTE_STORAGE", v.as_str())];
        let outputs = [
            compile(&[setting.as_str(), "debug=true"], &[]),
            compile(&[misspelt.as_str()], &[]),
            compile(&["debug=true"], &variable),
            run(env.objcache().args(["-p"]).envs(variable)),
            run(env.objcache().args(["-k", "remote_storage"]).envs(variable)),
            run(env.objcache().args(["-o", &setting])),
        ];
        let _ = fs::remove_file(&conf);
        assert_nothing_shows(&env, v, &outputs);
    }
}

const SECRET: &str = "s3cr3t-XYZ";

/// The secret is in no output, in the log, nor in a file of the project
/// (`debug = true`'s input texts and logs); the log and debug files go.
fn assert_nothing_shows(env: &TestEnv, what: &str, outputs: &[Out]) {
    for out in outputs {
        assert!(!out.stdout_str().contains(SECRET), "{what}: {}", out.dump());
        assert!(!out.stderr_str().contains(SECRET), "{what}: {}", out.dump());
    }
    let log = env.root().join("objcache.log");
    let logged = fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.contains(SECRET), "{what}: log: {logged}");
    let _ = fs::remove_file(&log);
    for file in walk_files(&env.root().join("p")) {
        let text = String::from_utf8_lossy(&read(&file)).into_owned();
        assert!(!text.contains(SECRET), "{what}: {}: {text}", file.display());
        if file.to_string_lossy().contains(".ccache-") {
            fs::remove_file(&file).unwrap();
        }
    }
}

/// Symlinks planted inside the cache dir (anyone who can write it can)
/// are never followed: not for stats files, the cleanup lock, or bucket
/// directories, whose targets' files eviction would delete.
#[test]
fn planted_symlinks_in_the_cache_are_never_followed() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("p");
    let outside = env.dir("outside");
    let victim = outside.join("victim");
    fs::write(&victim, b"keep me").unwrap();
    let entries = outside.join("entries");
    fs::create_dir_all(&entries).unwrap();
    let bait = entries.join(format!("{}R", "ab".repeat(32)));
    fs::write(&bait, b"not an entry").unwrap();
    fs::create_dir_all(&env.cache_dir).unwrap();
    fs::write(env.cache_dir.join("ccache.conf"), "max_files = 2\n").unwrap();
    let stats = env.cache_dir.join("objcache-stats");
    fs::create_dir_all(&stats).unwrap();
    for shard in 0..16 {
        let d = env.cache_dir.join(format!("{shard:x}"));
        fs::create_dir_all(&d).unwrap();
        // Where objcache keeps its counters, and where earlier versions did.
        std::os::unix::fs::symlink(&victim, stats.join(format!("{shard:x}"))).unwrap();
        std::os::unix::fs::symlink(&victim, d.join("stats")).unwrap();
    }
    std::os::unix::fs::symlink(&entries, env.cache_dir.join("a/b")).unwrap();
    let compile_some = |env: &TestEnv, from: usize| {
        for n in from..from + 6 {
            let file = format!("u{n}.c");
            fs::write(
                dir.join(&file),
                format!("int f{n}(void) {{ return {n}; }}\n"),
            )
            .unwrap();
            let out = run(&mut env.objcache_in(&dir, ["gcc", "-c", file.as_str(), "-o", "u.o"]));
            assert!(out.success(), "{}", out.dump());
        }
    };
    // The cleanup lock, in a cache whose stats trigger cleanups.
    let lock_env = TestEnv::new();
    fs::create_dir_all(&lock_env.cache_dir).unwrap();
    fs::write(lock_env.cache_dir.join("ccache.conf"), "max_files = 2\n").unwrap();
    std::os::unix::fs::symlink(
        outside.join("created"),
        lock_env.cache_dir.join("cleanup.lock"),
    )
    .unwrap();
    compile_some(&lock_env, 100);
    assert!(
        !outside.join("created").exists(),
        "the cleanup lock followed a symlink"
    );
    // Stats files that cannot be used do not stop entries from being stored.
    compile_some(&env, 0);
    assert!(
        !cache_entry_files(&env.cache_dir).is_empty(),
        "nothing stored while the stats files were symlinks"
    );
    compile_some(&env, 0);
    for manager in [
        &["-z"][..],
        &["-c"],
        &["-s"],
        &["-C"],
        &["--evict-older-than", "0s"],
    ] {
        run(env.objcache().args(manager));
    }
    assert_eq!(fs::read(&victim).unwrap(), b"keep me");
    assert!(bait.exists(), "eviction followed a symlinked bucket");
}

/// A user who cannot write the stats files (root's `-z` under umask 022
/// without `umask` in ccache.conf left them 0644) stores nothing: an entry
/// it cannot count would make the cache grow past every limit unseen, and
/// its cleanups could not account it either. The build still succeeds.
#[test]
fn a_user_who_cannot_count_stores_nothing() {
    require("setpriv");
    require("gcc");
    if !is_root() {
        panic!("this test needs root, to run a second user with setpriv");
    }
    let (env, src) = group_shared_env(SHARED_GID);
    // The group may use the cache directory, but the stats are root's alone.
    fs::write(env.cache_dir.join("ccache.conf"), "max_size = 100k\n").unwrap();
    let mut z = Command::new("sh");
    clean_env(&mut z);
    z.arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(objcache_bin())
        .arg("-z")
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
    run_ok(&mut z);
    let stats_dir = env.cache_dir.join("objcache-stats");
    for f in walk_files(&stats_dir) {
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::set_permissions(&stats_dir, fs::Permissions::from_mode(0o755)).unwrap();
    for n in 0..40 {
        let file = format!("g{n}.c");
        let body: String = (0..200)
            .map(|i| format!("int f{n}_{i}(int x) {{ return x * {i} + {n}; }}\n"))
            .collect();
        fs::write(src.join(&file), body).unwrap();
        let object = format!("g{n}.o");
        let out = as_other_user(
            &env,
            &src,
            &["gcc", "-c", file.as_str(), "-o", object.as_str()],
        );
        assert!(out.success(), "{file}: {}", out.dump());
        assert!(src.join(&object).exists(), "{object}");
    }
    let on_disk: u64 = walk_files(&env.cache_dir)
        .iter()
        .filter(|f| !f.starts_with(&stats_dir) && !f.ends_with("ccache.conf"))
        .map(|f| fs::metadata(f).unwrap().blocks() * 512)
        .sum();
    assert!(
        on_disk <= 100 * 1024,
        "{on_disk} bytes stored uncounted against max_size = 100k"
    );
}
