//! Fault tolerance: corrupted cache entries, unusable cache directories
//! (a regular file, a full filesystem, a read-only filesystem) and broken
//! configuration files. In every case the build must succeed with a correct
//! object; objcache may only add diagnostics on lines starting `objcache:`.

use crate::common::*;
use std::fs;
use std::io::Write;
use std::path::Path;

#[derive(Clone, Copy, Debug)]
enum Damage {
    FlipMiddleByte,
    TruncateHalf,
    Empty,
}

/// Damages every entry file longer than 100 bytes; returns how many, and
/// how many of those `files_in_cache` counts (miss inputs are not).
fn damage_entries(cache_dir: &Path, how: Damage) -> (usize, usize) {
    let mut n = 0;
    let mut counted = 0;
    for f in cache_entry_files(cache_dir) {
        let mut data = read(&f);
        if data.len() <= 100 {
            continue;
        }
        match how {
            Damage::FlipMiddleByte => {
                let mid = data.len() / 2;
                data[mid] ^= 0xff;
            }
            Damage::TruncateHalf => data.truncate(data.len() / 2),
            Damage::Empty => data.clear(),
        }
        fs::write(&f, &data).unwrap();
        n += 1;
        counted += usize::from(!is_miss_inputs(&f));
    }
    (n, counted)
}

fn corrupt_then_miss(compiler: &str, how: Damage, extra_env: &[(&str, &str)]) {
    require(compiler);
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    // main.c gives a reasonably large object.
    let a = args(&["-c", "src/main.c", "-o", "main.o", "-I", "include", "-O1"]);
    let expected = plain_object(compiler, &proj, &a, "main.o");
    let go = |round: &str| {
        rm(&proj.join("main.o"));
        let mut cmd = env.objcache_in(
            &proj,
            std::iter::once(compiler.to_string()).chain(a.clone()),
        );
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = run(&mut cmd);
        assert!(out.success(), "{round}: {}", out.dump());
        assert_bytes_eq(
            &read(&proj.join("main.o")),
            &expected,
            &format!("object ({round})"),
        );
        assert!(
            out.stderr_without_objcache_lines().is_empty(),
            "{round}: unexpected stderr:\n{}",
            out.stderr_str()
        );
    };
    go("miss");
    go("hit");
    assert_eq!(env.hits(), 1);
    assert_eq!(env.misses(), 1);

    let (n, _) = damage_entries(&env.cache_dir, how);
    assert!(
        n > 0,
        "no cache entry files (> 100 bytes) found under {} to damage; files: {:?}",
        env.cache_dir.display(),
        walk_files(&env.cache_dir)
    );
    go("after corruption");
    let s = env.stats();
    assert_eq!(
        hits(&s),
        1,
        "a corrupted entry must not be a hit ({how:?}): {s:?}"
    );
    assert_eq!(
        get(&s, "cache_miss"),
        2,
        "a corrupted entry is a miss ({how:?}): {s:?}"
    );

    // The recompiled result is stored again.
    go("hit after repair");
    let s = env.stats();
    assert_eq!(hits(&s), 2, "{s:?}");
    assert_eq!(get(&s, "cache_miss"), 2, "{s:?}");
}

#[test]
fn gcc_corrupted_entry_flipped_byte_is_a_miss() {
    corrupt_then_miss("gcc", Damage::FlipMiddleByte, &[]);
}

#[test]
fn gcc_corrupted_entry_flipped_byte_uncompressed_is_a_miss() {
    corrupt_then_miss("gcc", Damage::FlipMiddleByte, &[("CCACHE_NOCOMPRESS", "1")]);
}

#[test]
fn gcc_truncated_entry_is_a_miss() {
    corrupt_then_miss("gcc", Damage::TruncateHalf, &[]);
}

#[test]
fn gcc_truncated_entry_uncompressed_is_a_miss() {
    corrupt_then_miss("gcc", Damage::TruncateHalf, &[("CCACHE_NOCOMPRESS", "1")]);
}

#[test]
fn gcc_emptied_entry_is_a_miss() {
    corrupt_then_miss("gcc", Damage::Empty, &[]);
}

#[test]
fn clang_corrupted_entry_flipped_byte_is_a_miss() {
    corrupt_then_miss("clang", Damage::FlipMiddleByte, &[]);
}

/// Compile `src` with -Wall through objcache `times` times; each run must
/// succeed with the plain object, and stderr (minus `objcache:` lines) must
/// equal the plain compiler's stderr.
fn must_still_build(
    env: &TestEnv,
    proj: &Path,
    compiler: &str,
    src: &str,
    times: usize,
) -> Vec<Out> {
    let a = args(&["-Wall", "-c", src, "-o", "out.o", "-I", "include"]);
    let p = plain(compiler, proj, &a);
    assert!(p.success(), "{}", p.dump());
    let expected = read(&proj.join("out.o"));
    let mut outs = Vec::new();
    for i in 0..times {
        rm(&proj.join("out.o"));
        let mut cmd = env.objcache_in(proj, std::iter::once(compiler.to_string()).chain(a.clone()));
        let desc = format!("{cmd:?}");
        let out = run(&mut cmd);
        assert_eq!(
            out.code(),
            Some(0),
            "run {i}: build must succeed: {desc}\n{}",
            out.dump()
        );
        assert_bytes_eq(
            &read(&proj.join("out.o")),
            &expected,
            &format!("object, run {i}"),
        );
        assert_bytes_eq(
            &out.stderr_without_objcache_lines(),
            &p.stderr,
            &format!("stderr without objcache: lines, run {i}"),
        );
        assert_bytes_eq(&out.stdout, &p.stdout, "stdout");
        outs.push(out);
    }
    outs
}

#[test]
fn cache_dir_is_a_regular_file() {
    require("gcc");
    let env = TestEnv::new();
    fs::write(&env.cache_dir, b"I am a file, not a directory\n").unwrap();
    let proj = env.copy_fixture("proj", "proj");
    must_still_build(&env, &proj, "gcc", "src/util.c", 2);
    must_still_build(&env, &proj, "gcc", "src/warn.c", 2);
    assert_eq!(
        read(&env.cache_dir),
        b"I am a file, not a directory\n",
        "the file must not be touched"
    );
}

#[test]
fn cache_dir_parent_is_a_regular_file() {
    require("clang");
    let mut env = TestEnv::new();
    let blocker = env.root().join("blocker");
    fs::write(&blocker, b"x").unwrap();
    env.cache_dir = blocker.join("cache");
    let proj = env.copy_fixture("proj", "proj");
    must_still_build(&env, &proj, "clang", "src/warn.c", 2);
}

#[test]
fn cache_dir_removed_between_runs() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    must_still_build(&env, &proj, "gcc", "src/util.c", 2);
    assert_eq!(env.hits(), 1);
    fs::remove_dir_all(&env.cache_dir).unwrap();
    must_still_build(&env, &proj, "gcc", "src/util.c", 1);
    assert_eq!(env.misses(), 1, "fresh cache: one miss");
    assert_eq!(env.hits(), 0);
    must_still_build(&env, &proj, "gcc", "src/util.c", 1);
    assert_eq!(env.hits(), 1);
}

/// Fill the filesystem at `dir` with 4 KiB files until it is full; returns
/// the filler paths.
fn fill(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for i in 0.. {
        let p = dir.join(format!("filler{i}"));
        let mut f = match fs::File::create(&p) {
            Ok(f) => f,
            Err(_) => break,
        };
        let chunk = [0x5au8; 4096];
        let ok = f.write_all(&chunk).and_then(|_| f.sync_all()).is_ok();
        files.push(p);
        if !ok {
            break;
        }
        assert!(i < 100_000, "filesystem never filled up");
    }
    // Also eat any remaining bytes in small pieces.
    let p = dir.join("filler_tail");
    if let Ok(mut f) = fs::File::create(&p) {
        while f.write_all(&[0x33u8; 256]).is_ok() {}
        let _ = f.sync_all();
    }
    files
}

fn big_project(env: &TestEnv) -> std::path::PathBuf {
    let proj = env.copy_fixture("proj", "proj");
    // ~96 KiB of incompressible data in .rodata: bigger than the whole cache fs.
    write_big_source(&proj.join("src/big.c"), 96 * 1024, 7);
    proj
}

#[test]
fn full_disk_cache_dir_still_builds() {
    require("gcc");
    let env = TestEnv::new();
    let Some(_m) = Mount::tmpfs(&env.cache_dir, "size=64k") else {
        return;
    };
    let proj = big_project(&env);
    fill(&env.cache_dir);
    must_still_build(&env, &proj, "gcc", "src/big.c", 2);
    must_still_build(&env, &proj, "gcc", "src/warn.c", 2);
}

#[test]
fn nearly_full_disk_object_larger_than_free_space() {
    require("gcc");
    let env = TestEnv::new();
    let Some(_m) = Mount::tmpfs(&env.cache_dir, "size=64k") else {
        return;
    };
    let proj = big_project(&env);
    // Let objcache initialise the cache (directories, stats) first.
    must_still_build(&env, &proj, "gcc", "src/util.c", 2);
    let fillers = fill(&env.cache_dir);
    // Free a little space: enough for bookkeeping, far too little for the
    // ~96 KiB object.
    for f in fillers.iter().rev().take(3) {
        rm(f);
    }
    rm(&env.cache_dir.join("filler_tail"));
    must_still_build(&env, &proj, "gcc", "src/big.c", 2);
    // Free everything: a possibly half-written entry must never be served.
    for f in &fillers {
        rm(f);
    }
    must_still_build(&env, &proj, "gcc", "src/big.c", 2);
    must_still_build(&env, &proj, "gcc", "src/util.c", 1);
}

#[test]
fn read_only_cache_dir_still_builds() {
    require("gcc");
    let env = TestEnv::new();
    let Some(_m) = Mount::tmpfs(&env.cache_dir, "ro") else {
        return;
    };
    let proj = env.copy_fixture("proj", "proj");
    must_still_build(&env, &proj, "gcc", "src/warn.c", 2);
    must_still_build(&env, &proj, "gcc", "src/main.c", 2);
}

#[test]
fn read_only_populated_cache_dir_still_builds() {
    require("gcc");
    let env = TestEnv::new();
    let Some(m) = Mount::tmpfs(&env.cache_dir, "size=16m") else {
        return;
    };
    let proj = env.copy_fixture("proj", "proj");
    must_still_build(&env, &proj, "gcc", "src/main.c", 1);
    assert_eq!(env.misses(), 1);
    let st = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&m.path)
        .status()
        .unwrap();
    assert!(st.success(), "remount ro failed");
    // Hits (or misses) are fine, but the build must succeed and be correct.
    must_still_build(&env, &proj, "gcc", "src/main.c", 2);
    must_still_build(&env, &proj, "gcc", "src/warn.c", 2);
}

fn write_conf(env: &TestEnv, lines: &[&str]) -> std::path::PathBuf {
    fs::create_dir_all(&env.cache_dir).unwrap();
    let p = env.cache_dir.join("ccache.conf");
    let mut s = lines.join("\n");
    s.push('\n');
    fs::write(&p, s).unwrap();
    p
}

fn mentions_line(text: &str, path: &str, line: usize) -> bool {
    text.contains(&format!("{path}:{line}"))
        || (text.contains(path) && text.contains(&format!("line {line}")))
}

fn bad_config_case(lines: &[&str], bad_line: usize, key: Option<&str>) {
    require("gcc");
    let env = TestEnv::new();
    let conf = write_conf(&env, lines);
    let conf_s = conf.display().to_string();
    let proj = env.copy_fixture("proj", "proj");
    let outs = must_still_build(&env, &proj, "gcc", "src/util.c", 1);
    let err = outs[0].stderr_str();
    let warn_line = err.lines().find(|l| l.starts_with("objcache:"));
    let Some(warn_line) = warn_line else {
        panic!("expected an `objcache:` warning about {conf_s} on stderr, got:\n{err}");
    };
    assert!(
        err.lines()
            .filter(|l| l.starts_with("objcache:"))
            .any(|l| mentions_line(l, &conf_s, bad_line)),
        "warning must name {conf_s} and line {bad_line}; got: {warn_line}"
    );

    // -s with the same configuration is an error naming file, line and key.
    let mut cmd = env.objcache();
    cmd.arg("-s");
    let out = run(&mut cmd);
    assert_eq!(
        out.code(),
        Some(1),
        "-s with a bad config must exit 1:\n{}",
        out.dump()
    );
    let all = format!("{}{}", out.stdout_str(), out.stderr_str());
    assert!(
        mentions_line(&all, &conf_s, bad_line),
        "-s error must name {conf_s} and line {bad_line}:\n{all}"
    );
    if let Some(k) = key {
        assert!(all.contains(k), "-s error must name key {k}:\n{all}");
    }
}

#[test]
fn bad_config_value_warns_but_builds() {
    bad_config_case(
        &[
            "# objcache test config",
            "max_files = 100",
            "max_size = banana",
        ],
        3,
        Some("max_size"),
    );
}

#[test]
fn bad_config_line_without_equals_warns_but_builds() {
    bad_config_case(
        &[
            "max_files = 100",
            "this line has no equals sign",
            "max_size = 1G",
        ],
        2,
        None,
    );
}

#[test]
fn missing_compiler_fails_cleanly() {
    let env = TestEnv::new();
    let dir = env.dir("work");
    fs::write(dir.join("a.c"), "int a;\n").unwrap();
    let mut cmd = env.objcache_in(&dir, ["no-such-compiler-objcache-test", "-c", "a.c"]);
    let out = run(&mut cmd);
    assert!(
        !out.success(),
        "missing compiler must fail:\n{}",
        out.dump()
    );
    assert!(!out.stderr.is_empty(), "an error message is expected");
    assert!(!dir.join("a.o").exists());
}

/// An output directory that does not exist: on a miss and on a hit, the
/// user sees the compiler's own error and exit code, and nothing is cached
/// from the failed call.
#[test]
fn output_to_missing_directory_gives_the_compilers_error() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/util.c", "-I", "include", "-o", "nodir/util.o"]);
    let p = plain("gcc", &proj, &a);
    assert!(!p.success(), "plain gcc must fail: {}", p.dump());

    // Miss: nothing stored yet.
    let miss =
        run(&mut env.objcache_in(&proj, std::iter::once("gcc".to_string()).chain(a.clone())));
    assert_eq!(miss.code(), p.code(), "{}", miss.dump());
    assert_bytes_eq(
        &miss.stderr_without_objcache_lines(),
        &p.stderr,
        "stderr on miss",
    );

    // Hit: store the entry through a good output path, then ask for the bad one.
    let good = args(&["-c", "src/util.c", "-I", "include", "-o", "util.o"]);
    run_ok(&mut env.objcache_in(&proj, std::iter::once("gcc".to_string()).chain(good)));
    let hit = run(&mut env.objcache_in(&proj, std::iter::once("gcc".to_string()).chain(a)));
    assert_eq!(hit.code(), p.code(), "{}", hit.dump());
    assert_bytes_eq(
        &hit.stderr_without_objcache_lines(),
        &p.stderr,
        "stderr on hit",
    );
    assert!(!proj.join("nodir").exists());
    // As in ccache, the missing directory is seen before any lookup: both
    // calls count it, neither is a failed compile or a hit.
    assert_eq!(env.stat("bad_output_file"), 2);
    assert_eq!(env.stat("compile_failed"), 0);
    assert_eq!(env.hits(), 0);
}

/// A bug in objcache (a panic) is logged and counted; the build gets the
/// compiler's own output and exit code, and the compiler never runs twice.
#[test]
fn an_internal_panic_never_breaks_the_build() {
    // "explain": after the miss is compiled and counted, explaining it.
    for at in ["config", "start", "after-compile", "explain"] {
        let env = TestEnv::new();
        let proj = env.copy_fixture("proj", "proj");
        let a = args(&["-Wall", "-c", "src/warn.c", "-I", "include", "-o", "warn.o"]);
        let p = plain("gcc", &proj, &a);
        assert!(p.success(), "{}", p.dump());
        let expected = read(&proj.join("warn.o"));
        rm(&proj.join("warn.o"));
        let out = run(env
            .objcache_in(&proj, std::iter::once("gcc".to_string()).chain(a.clone()))
            .env("OBJCACHE_INTERNAL_TEST_PANIC", at));
        assert_eq!(out.code(), Some(0), "{at}: {}", out.dump());
        assert_bytes_eq(&read(&proj.join("warn.o")), &expected, "object");
        assert_bytes_eq(
            &out.stderr,
            &p.stderr,
            &format!("{at}: stderr exactly once, no panic text"),
        );
        assert_eq!(env.stat("internal_error"), 1, "{at}");
    }
}

/// Restores /dev/null if a broken objcache ever removed it, so one failing
/// test cannot break the machine it runs on.
struct DevNullGuard;

impl Drop for DevNullGuard {
    fn drop(&mut self) {
        use std::os::unix::fs::FileTypeExt;
        let ok =
            std::fs::symlink_metadata("/dev/null").is_ok_and(|m| m.file_type().is_char_device());
        if !ok && is_root() {
            let _ = std::fs::remove_file("/dev/null");
            let _ = std::process::Command::new("mknod")
                .args(["-m", "666", "/dev/null", "c", "1", "3"])
                .status();
        }
    }
}

/// A hit whose output is a device is written through it, as the compiler
/// does: `-o /dev/null` leaves the device node in place. (`-MF /dev/null`
/// is a call of its own, without a `.d` to store: see
/// `arg_conformance::depfile_to_dev_null_is_cached`.)
/// An object that is a symlink is replaced by the object, as GNU as and
/// clang replace it (`outputs_trust.rs` has the other outputs).
#[test]
fn outputs_that_are_not_plain_files_are_written_through() {
    use std::os::unix::fs::FileTypeExt;
    let _guard = DevNullGuard;
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let gcc = |extra: &[&str]| {
        let mut a = vec!["gcc", "-c", "src/util.c", "-I", "include", "-MD"];
        a.extend_from_slice(extra);
        let out = run(&mut env.objcache_in(&proj, a));
        assert!(out.success(), "{}", out.dump());
    };
    gcc(&["-o", "util.o"]);
    let expected = read(&proj.join("util.o"));
    // A hit (same key: output names are not hashed) into /dev/null.
    gcc(&["-o", "/dev/null", "-MF", "util.d"]);
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "/dev/null must stay a device"
    );
    // A hit onto a dangling symlink: a file in place of the link, nothing
    // created where it pointed.
    std::fs::create_dir(proj.join("real")).unwrap();
    std::os::unix::fs::symlink("real/linked.o", proj.join("link.o")).unwrap();
    gcc(&["-o", "link.o"]);
    assert_eq!(env.hits(), 2, "{:?}", env.stats());
    assert!(std::fs::symlink_metadata(proj.join("link.o"))
        .unwrap()
        .file_type()
        .is_file());
    assert_bytes_eq(&read(&proj.join("link.o")), &expected, "object");
    assert!(!proj.join("real/linked.o").exists());
}

/// A miss whose dependency file went to /dev/null stores nothing: a later
/// hit that asks for a real `.d` must not get an empty one.
#[test]
fn dependency_file_to_dev_null_is_not_stored() {
    let _guard = DevNullGuard;
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let base = [
        "gcc",
        "-c",
        "src/util.c",
        "-I",
        "include",
        "-o",
        "util.o",
        "-MD",
    ];
    let mut first: Vec<&str> = base.to_vec();
    first.extend(["-MF", "/dev/null"]);
    assert!(run(&mut env.objcache_in(&proj, first)).success());
    let mut second: Vec<&str> = base.to_vec();
    second.extend(["-MF", "util.d"]);
    let out = run(&mut env.objcache_in(&proj, second.clone()));
    assert!(out.success(), "{}", out.dump());
    let cached_d = read(&proj.join("util.d"));
    rm(&proj.join("util.d"));
    let p = plain("gcc", &proj, &second[1..]);
    assert!(p.success());
    assert_bytes_eq(
        &cached_d,
        &read(&proj.join("util.d")),
        ".d must be what gcc writes",
    );
    assert!(!cached_d.is_empty());
}

/// `-c` on a full file system still frees space: removing entries must not
/// depend on writing the statistics first.
#[test]
fn cleanup_frees_space_on_a_full_disk() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let Some(_mount) = Mount::tmpfs(&env.cache_dir, "size=512k") else {
        return;
    };
    for src in ["src/util.c", "src/math.c", "src/main.c"] {
        let out =
            run(&mut env.objcache_in(&proj, ["gcc", "-c", src, "-I", "include", "-o", "x.o"]));
        assert!(out.success(), "{}", out.dump());
    }
    let entries = |dir: &std::path::Path| {
        walk_files(dir)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n.len() == 65))
            .count()
    };
    let before = entries(&env.cache_dir);
    assert!(before >= 3, "entries stored: {before}");
    let m = run(env.objcache().args(["-M", "4k"]));
    assert!(m.success(), "{}", m.dump());
    let fillers = fill(&env.cache_dir.join("."));
    assert!(!fillers.is_empty());
    let c = run(env.objcache().arg("-c"));
    let after = entries(&env.cache_dir);
    assert!(
        after < before,
        "-c freed nothing on a full disk ({before} -> {after}): {}",
        c.dump()
    );
}

/// A hit killed (SIGKILL) at any moment while it writes over an older
/// object of the same size leaves the old object, the new one, nothing, or
/// a file the linker rejects: never new bytes over the old tail that links.
#[test]
fn killed_hits_never_leave_an_object_that_links() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("k");
    fs::write(
        dir.join("main.c"),
        "int big_get(int);\nint main(void) { return big_get(3) & 0; }\n",
    )
    .unwrap();
    let main = run(&mut env.objcache_in(&dir, ["gcc", "-c", "main.c", "-o", "main.o"]));
    assert!(main.success(), "{}", main.dump());
    let call = ["gcc", "-O0", "-c", "big.c", "-o", "big.o"];
    let mut objects = Vec::new();
    for seed in [1, 2] {
        // A 16 MB object from a small source, so the hit's time goes to
        // writing; the two differ at the start (data) and the end (names).
        let text = format!(
            "char big_table_{seed}[16000000] = {{ {seed} }};\n\
             int big_get(int i) {{ return big_table_{seed}[i]; }}\n"
        );
        fs::write(dir.join("big.c"), text).unwrap();
        let out = run(&mut env.objcache_in(&dir, call));
        assert!(out.success(), "{}", out.dump());
        objects.push(read(&dir.join("big.o")));
    }
    let (old, new) = (&objects[0], &objects[1]);
    assert_eq!(
        old.len(),
        new.len(),
        "same size, so a mix would have the full length"
    );
    // Old source times, so the hits are direct.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(dir.join("big.c"))
        .unwrap()
        .set_modified(past)
        .unwrap();
    let links = |dir: &Path| plain("gcc", dir, ["main.o", "big.o", "-o", "prog"]).success();
    // Kills land anywhere in a hit: before, during and after the writes.
    let mut hit_time = std::time::Duration::ZERO;
    for _ in 0..3 {
        fs::write(dir.join("big.o"), old).unwrap();
        let mut child = env.objcache_in(&dir, call).spawn().unwrap();
        let start = std::time::Instant::now();
        assert!(child.wait().unwrap().success());
        hit_time = start.elapsed();
    }
    assert!(env.stat("direct_cache_hit") >= 2, "{:?}", env.stats());
    let mut seed: u64 = 0x9e37_79b9;
    let (mut torn, mut whole) = (0, 0);
    for round in 0..60 {
        fs::write(dir.join("big.o"), old).unwrap();
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let delay = hit_time.mul_f64(((seed >> 33) % 1000) as f64 / 1000.0);
        let mut child = env.objcache_in(&dir, call).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        match fs::read(dir.join("big.o")) {
            Err(_) => {}
            Ok(left) if &left == old || &left == new => whole += 1,
            Ok(left) => {
                torn += 1;
                assert!(
                    left[..64].iter().all(|&b| b == 0),
                    "round {round} ({delay:?}): a torn object with a header"
                );
                assert!(!links(&dir), "round {round}: the linker took a torn object");
            }
        }
    }
    eprintln!("killed hits: {whole} left a whole object, {torn} a rejected one");
    assert!(whole > 0, "no hit finished at all (torn: {torn})");
    // The next hit repairs whatever was left.
    let out = run(&mut env.objcache_in(&dir, call));
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(&read(&dir.join("big.o")), new, "after the kills");
    assert!(links(&dir));
}

/// Response files that expand without end (one naming itself six times)
/// or are huge run the compiler unchanged at once, as gcc would fail them.
#[test]
fn runaway_response_files_run_the_compiler_unchanged() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("r");
    fs::write(dir.join("t.c"), "int x;\n").unwrap();
    fs::write(dir.join("r6"), "@r6 @r6 @r6 @r6 @r6 @r6\n").unwrap();
    let huge = fs::File::create(dir.join("huge")).unwrap();
    huge.set_len(64 << 20).unwrap();
    for rsp in ["@r6", "@huge"] {
        let expected = plain("gcc", &dir, ["-c", "t.c", rsp]);
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", rsp]);
        let start = std::time::Instant::now();
        let out = run_with_timeout(&mut cmd, std::time::Duration::from_secs(20));
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{rsp}"
        );
        assert_eq!(out.code(), expected.code(), "{rsp}: {}", out.dump());
    }
    assert_eq!(env.stat("bad_compiler_arguments"), 2, "{:?}", env.stats());
}

/// Hostile files planted where entries belong (anyone who can write the
/// cache dir can): a FIFO, a symlink to `/dev/zero` or to a file of the
/// user, a huge sparse file. Every compile finishes quickly with the right
/// object, nothing outside the cache is touched, and the next compile
/// stores a good entry again.
#[test]
fn planted_special_files_in_the_cache_are_never_read() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("h");
    fs::write(dir.join("t.c"), "int f(int x) { return x * 3; }\n").unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(dir.join("t.c"))
        .unwrap()
        .set_modified(past)
        .unwrap();
    let victim = env.dir("outside").join("precious");
    fs::write(&victim, b"keep me").unwrap();
    fs::File::options()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_modified(past)
        .unwrap();
    let call = ["gcc", "-O2", "-c", "t.c", "-o", "t.o"];
    let expected = plain_object("gcc", &dir, &call[1..], "t.o");
    let compile = |what: &str| {
        let start = std::time::Instant::now();
        let out = run_with_timeout(
            &mut env.objcache_in(&dir, call),
            std::time::Duration::from_secs(30),
        );
        assert!(out.success(), "{what}: {}", out.dump());
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{what}: {:?}",
            start.elapsed()
        );
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
    };
    compile("first");
    type Plant = fn(&Path, &Path);
    let plants: [(&str, Plant); 5] = [
        ("fifo", |p, _| {
            let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            // SAFETY: a NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        }),
        ("link to /dev/zero", |p, _| {
            std::os::unix::fs::symlink("/dev/zero", p).unwrap()
        }),
        ("link to a user's file", |p, victim| {
            std::os::unix::fs::symlink(victim, p).unwrap()
        }),
        ("sparse 6 GiB", |p, _| {
            fs::File::create(p).unwrap().set_len(6 << 30).unwrap()
        }),
        ("sparse 1 GiB", |p, _| {
            fs::File::create(p).unwrap().set_len(1 << 30).unwrap()
        }),
    ];
    for (what, plant) in plants {
        let entries = cache_entry_files(&env.cache_dir);
        assert!(entries.len() >= 2, "{what}: {entries:?}");
        for e in &entries {
            fs::remove_file(e).unwrap();
            plant(e, &victim);
        }
        compile(what);
        compile(&format!("{what}, again"));
        assert_eq!(fs::read(&victim).unwrap(), b"keep me", "{what}");
        let mtime = fs::metadata(&victim).unwrap().modified().unwrap();
        assert_eq!(mtime, past, "{what}: the user's file was touched");
    }
    assert!(
        env.hits() >= 5,
        "good entries are stored again: {:?}",
        env.stats()
    );
}

/// `--check` verifies every entry and removes the bad ones, raw objects
/// (`hard_link`) included, and the next compile stores good ones again.
#[test]
fn check_removes_bad_entries_and_keeps_good_ones() {
    require("gcc");
    for (how, hard_link) in [
        (Damage::FlipMiddleByte, false),
        (Damage::TruncateHalf, true),
    ] {
        let env = TestEnv::new();
        let dir = env.dir("c");
        let compile = |n: usize| {
            fs::write(
                dir.join(format!("u{n}.c")),
                format!("int f{n}(void) {{ return {n}; }}\n"),
            )
            .unwrap();
            let src = format!("u{n}.c");
            let mut cmd = env.objcache_in(&dir, ["gcc", "-c", src.as_str(), "-o", "u.o"]);
            if hard_link {
                cmd.env("CCACHE_HARDLINK", "1");
            }
            assert!(run(&mut cmd).success());
        };
        for n in 0..3 {
            compile(n);
        }
        let clean = run_ok(env.objcache().arg("--check")).stdout_str();
        assert!(clean.contains("Removed bad entries: 0 files"), "{clean}");
        let entries = cache_entry_files(&env.cache_dir).len();
        let counted = counted_files(&cache_entry_files(&env.cache_dir)) as usize;
        let (damaged, damaged_counted) = damage_entries(&env.cache_dir, how);
        assert!(damaged_counted > 0);
        let report = run_ok(env.objcache().arg("--check")).stdout_str();
        assert!(
            report.contains(&format!("Removed bad entries: {damaged_counted} files")),
            "{how:?}: {report}"
        );
        assert_eq!(cache_entry_files(&env.cache_dir).len(), entries - damaged);
        assert_eq!(
            env.stat("files_in_cache") as usize,
            counted - damaged_counted,
            "{:?}",
            env.stats()
        );
    }
}
