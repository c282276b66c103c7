//! Masquerading: a symlink named like the compiler (gcc, g++, clang) pointing
//! to objcache, in a directory put first in PATH. objcache must find the real
//! compiler further down PATH (never itself: no recursion, no hang) and cache.
//! Every command runs with a 60 s timeout; a hang fails the test.

use crate::common::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

fn orig_path() -> String {
    let p = std::env::var("PATH").unwrap_or_default();
    if p.is_empty() {
        "/usr/local/bin:/usr/bin:/bin".to_string()
    } else {
        p
    }
}

/// Create `<tmp>/<dir>/<name>` -> objcache.
fn link_dir(env: &TestEnv, dir: &str, names: &[&str]) -> PathBuf {
    let d = env.dir(dir);
    for n in names {
        symlink(objcache_bin(), d.join(n)).unwrap();
    }
    d
}

fn join_path(dirs: &[&Path]) -> String {
    let mut parts: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    parts.push(orig_path());
    parts.join(":")
}

/// A command for `program` (looked up in `path` when it has no slash), with
/// the objcache test environment.
fn masq_cmd(env: &TestEnv, program: &str, path: &str, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    clean_env(&mut cmd);
    cmd.env("PATH", path)
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .current_dir(cwd);
    cmd
}

/// Compile `src` twice through `program` with `path`: miss then hit, object
/// byte-identical to the real compiler's.
fn masq_miss_hit(env: &TestEnv, real: &str, program: &str, path: &str, src: &str, warn: bool) {
    require(real);
    let proj = env.copy_fixture("proj", "proj");
    let mut a = args(&["-c", src, "-o", "out.o", "-I", "include"]);
    if warn {
        a.push("-Wall".into());
    }
    let p = plain(real, &proj, &a);
    assert!(p.success(), "{}", p.dump());
    let expected = read(&proj.join("out.o"));
    rm(&proj.join("out.o"));

    for round in 1..=2u64 {
        let mut cmd = masq_cmd(env, program, path, &proj);
        cmd.args(&a);
        let desc = format!("{cmd:?}");
        let out = run_with_timeout(&mut cmd, TIMEOUT);
        assert!(
            out.success(),
            "masqueraded compile failed: {desc}\n{}",
            out.dump()
        );
        assert_bytes_eq(&read(&proj.join("out.o")), &expected, "masqueraded object");
        assert_bytes_eq(&out.stderr, &p.stderr, "masqueraded stderr");
        rm(&proj.join("out.o"));
        let s = env.stats();
        assert_eq!(get(&s, "cache_miss"), 1, "round {round}: {s:?}");
        assert_eq!(hits(&s), round - 1, "round {round}: {s:?}");
    }
}

#[test]
fn gcc_symlink_first_in_path_caches() {
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["gcc"]);
    let path = join_path(&[&bin]);
    masq_miss_hit(&env, "gcc", "gcc", &path, "src/warn.c", true);
}

#[test]
fn gcc_symlink_invoked_by_absolute_path_caches() {
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["gcc"]);
    let path = join_path(&[&bin]);
    let prog = bin.join("gcc").display().to_string();
    masq_miss_hit(&env, "gcc", &prog, &path, "src/util.c", false);
}

#[test]
fn gxx_symlink_caches_cpp() {
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["gcc", "g++"]);
    let path = join_path(&[&bin]);
    masq_miss_hit(&env, "g++", "g++", &path, "src/thing.cpp", false);
}

#[test]
fn clang_symlink_first_in_path_caches() {
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["clang"]);
    let path = join_path(&[&bin]);
    masq_miss_hit(&env, "clang", "clang", &path, "src/warn.c", true);
}

#[test]
fn symlink_dir_twice_in_path_does_not_recurse() {
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["gcc"]);
    let path = join_path(&[&bin, &bin]);
    masq_miss_hit(&env, "gcc", "gcc", &path, "src/math.c", false);
}

#[test]
fn two_symlink_dirs_in_path_do_not_recurse() {
    let env = TestEnv::new();
    let bin1 = link_dir(&env, "bin1", &["gcc"]);
    let bin2 = link_dir(&env, "bin2", &["gcc"]);
    let path = join_path(&[&bin1, &bin2, &bin1]);
    masq_miss_hit(&env, "gcc", "gcc", &path, "src/main.c", false);
}

#[test]
fn chained_symlink_dir_in_path_does_not_recurse() {
    // bin2/gcc -> bin1/gcc -> objcache
    let env = TestEnv::new();
    let bin1 = link_dir(&env, "bin1", &["gcc"]);
    let bin2 = env.dir("bin2");
    symlink(bin1.join("gcc"), bin2.join("gcc")).unwrap();
    let path = join_path(&[&bin2, &bin1]);
    masq_miss_hit(&env, "gcc", "gcc", &path, "src/util.c", false);
}

#[test]
fn symlinked_symlink_dir_in_path_does_not_recurse() {
    // The same symlink directory reachable under two names.
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["clang"]);
    let alias = env.root().join("bin_alias");
    symlink(&bin, &alias).unwrap();
    let path = join_path(&[&alias, &bin]);
    masq_miss_hit(&env, "clang", "clang", &path, "src/util.c", false);
}

#[test]
fn prefix_mode_with_masquerade_dir_first_in_path_does_not_recurse() {
    // `objcache gcc ...` while PATH's first gcc is a symlink to objcache.
    require("gcc");
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["gcc"]);
    let path = join_path(&[&bin]);
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    let expected = plain_object("gcc", &proj, &a, "util.o");
    for round in 1..=2u64 {
        let mut cmd = env.objcache_in(&proj, std::iter::once("gcc".to_string()).chain(a.clone()));
        cmd.env("PATH", &path);
        let out = run_with_timeout(&mut cmd, TIMEOUT);
        assert!(out.success(), "{}", out.dump());
        assert_bytes_eq(&read(&proj.join("util.o")), &expected, "object");
        rm(&proj.join("util.o"));
        assert_eq!(env.hits(), round - 1);
        assert_eq!(env.misses(), 1);
    }
}

#[test]
fn masquerade_uncacheable_call_passes_through() {
    require("gcc");
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["gcc"]);
    let path = join_path(&[&bin]);
    let proj = env.copy_fixture("proj", "proj");
    let p = plain("gcc", &proj, ["-E", "src/util.c", "-I", "include"]);
    assert!(p.success());
    let mut cmd = masq_cmd(&env, "gcc", &path, &proj);
    cmd.args(["-E", "src/util.c", "-I", "include"]);
    let out = run_with_timeout(&mut cmd, TIMEOUT);
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(&out.stdout, &p.stdout, "-E output via masquerade");
    assert_eq!(env.stat("called_for_preprocessing"), 1);
}

#[test]
fn masquerade_with_only_symlink_in_path_fails_cleanly() {
    // No real gcc reachable: must fail (non-zero), not recurse forever.
    let env = TestEnv::new();
    let bin = link_dir(&env, "bin", &["gcc"]);
    let proj = env.copy_fixture("proj", "proj");
    let mut cmd = masq_cmd(&env, "gcc", &bin.display().to_string(), &proj);
    // Command resolves `gcc` through the child's PATH.
    cmd.args(["-c", "src/util.c", "-I", "include"]);
    let out = run_with_timeout(&mut cmd, TIMEOUT);
    assert!(
        !out.success(),
        "no real compiler in PATH: must fail\n{}",
        out.dump()
    );
    assert!(!proj.join("util.o").exists());
}
