//! `umask` on everything objcache and the compiler create, and a cache
//! shared by a group of users.

use super::assert_counters_match_disk;
use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cmd` with the process umask `mask` (what the build's shell had).
fn with_umask(cmd: &mut Command, mask: u32) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: umask is async-signal-safe and touches nothing but the child.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(mask as libc::mode_t);
            Ok(())
        })
    }
}

/// Every directory and file below (and including) `root`, with its mode.
fn modes(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut out = vec![(
        root.to_path_buf(),
        fs::metadata(root).unwrap().mode() & 0o777,
    )];
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            if m.is_dir() || m.is_file() {
                out.push((e.path(), m.mode() & 0o777));
            }
        }
    }
    out
}

/// Drives everything that creates files in the cache dir: a miss, a hit,
/// a hit into a new output, debug files, the log, stats_log, -M (the
/// config), -z, -c, --show-usage. Returns the modes of the objects written
/// by the miss and by the hit.
fn exercise_cache(
    env: &TestEnv,
    dir: &Path,
    inherited: u32,
    vars: &[(&str, String)],
) -> (u32, u32) {
    let run_in = |args: &[&str]| {
        let mut cmd = env.objcache_in(dir, args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        run_ok(with_umask(&mut cmd, inherited));
    };
    fs::write(dir.join("m.c"), "int m(void) { return 3; }\n").unwrap();
    let _ = fs::remove_file(dir.join("m.o"));
    run_in(&["gcc", "-c", "m.c", "-o", "m.o"]);
    let miss_mode = fs::metadata(dir.join("m.o")).unwrap().mode() & 0o777;
    run_in(&["gcc", "-c", "m.c", "-o", "hit.o"]);
    let hit_mode = fs::metadata(dir.join("hit.o")).unwrap().mode() & 0o777;
    for manager in [
        &["-M", "10G"][..],
        &["-z"],
        &["-c"],
        &["-s"],
        &["--show-usage"],
    ] {
        run_in(manager);
    }
    (miss_mode, hit_mode)
}

/// `umask` (from the config or `CCACHE_UMASK`) governs every directory and
/// file objcache creates in the cache dir: a group-shared cache with
/// `umask = 002` stays group-writable whatever umask the build itself has;
/// with `077` nothing is readable by anyone else. The compiler's outputs
/// are the user's, as in ccache: they get the build's umask, on a miss and
/// on a hit (`umask_outputs.rs`).
#[test]
fn umask_covers_every_file_and_directory_in_the_cache() {
    require("gcc");
    for (how, setting, inherited, forbidden, required) in [
        ("config", "002", 0o077, 0o002, 0o020),
        ("CCACHE_UMASK", "002", 0o077, 0o002, 0o020),
        ("config", "077", 0o000, 0o077, 0o000),
    ] {
        let env = TestEnv::new();
        let dir = env.dir("src");
        let conf = env.root().join("system.conf");
        let cache = &env.cache_dir;
        let mut text = format!(
            "debug = true\ndebug_dir = {0}/debug\nlog_file = {0}/objcache.log\n\
             stats_log = {0}/stats.log\nmax_files = 1\n",
            cache.display()
        );
        let mut vars = vec![("OBJCACHE_SYSTEM_CONFIG", conf.display().to_string())];
        if how == "config" {
            text.push_str(&format!("umask = {setting}\n"));
        } else {
            vars.push(("CCACHE_UMASK", setting.to_string()));
        }
        fs::write(&conf, text).unwrap();
        let (miss, hit) = exercise_cache(&env, &dir, inherited, &vars);
        let expected_obj = 0o666 & !inherited;
        assert_eq!(
            (miss, hit),
            (expected_obj, expected_obj),
            "{how} umask {setting}: modes of the objects of a miss and a hit"
        );
        let all = modes(cache);
        assert!(all.len() > 10, "{all:?}");
        for made in [
            "objcache.log",
            "stats.log",
            "ccache.conf",
            "cleanup.lock",
            "debug",
        ] {
            assert!(
                all.iter().any(|(p, _)| p.ends_with(made)),
                "no {made}: {all:?}"
            );
        }
        let bad: Vec<_> = all
            .iter()
            .filter(|(_, m)| m & forbidden != 0 || m & required != required)
            .map(|(p, m)| format!("{:o} {}", m, p.display()))
            .collect();
        assert!(
            bad.is_empty(),
            "{how} umask {setting} (build's umask {inherited:03o}):\n{}",
            bad.join("\n")
        );
    }
}

/// The group-shared cache end to end: one user (root as a member of the
/// group, with a build umask of 077) fills the cache under `umask = 002`; a second user of the group
/// then hits, stores into the directories the first created, updates the
/// counters the first created and cleans up. Needs root (setpriv).
#[test]
fn a_group_shared_cache_stays_usable_by_the_group() {
    require("setpriv");
    require("gcc");
    assert!(
        is_root(),
        "this test needs root, to run a second user with setpriv"
    );
    const OTHER_UID: u32 = 65534;
    const SHARED_GID: u32 = 65534;
    // Both users can reach the cache and the sources.
    let (env, src) = group_shared_env(SHARED_GID);
    // Sources in every shard, so the second user meets root's stats files
    // and bucket directories wherever its entries land.
    let units: Vec<String> = (0..24).map(|i| format!("g{i}.c")).collect();
    for (i, u) in units.iter().enumerate() {
        fs::write(src.join(u), format!("int g{i}(void) {{ return {i}; }}\n")).unwrap();
        let mut cmd = env.objcache_in(&src, ["gcc", "-c", u.as_str(), "-o", "root.o"]);
        run_ok(with_umask(as_member_of(&mut cmd, SHARED_GID), 0o077));
    }
    let other = |args: &[&str]| {
        // A source written in the tick the compile starts in is not stored.
        settle_stamps();
        let mut cmd = Command::new("setpriv");
        clean_env(&mut cmd);
        cmd.args([
            format!("--reuid={OTHER_UID}"),
            format!("--regid={SHARED_GID}"),
            "--clear-groups".into(),
            "--".into(),
        ])
        .arg(objcache_bin())
        .args(args)
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .current_dir(&src);
        let out = run(with_umask(&mut cmd, 0o077));
        assert!(out.success(), "{args:?}: {}", out.dump());
    };
    for (i, u) in units.iter().enumerate() {
        other(&["gcc", "-c", u, "-o", &format!("o{i}.o")]);
        let new = format!("n{i}.c");
        fs::write(
            src.join(&new),
            format!("int n{i}(void) {{ return {i}; }}\n"),
        )
        .unwrap();
        other(&["gcc", "-c", &new, "-o", &format!("n{i}.o")]);
    }
    // Every call of both users counted: no update of a stats file failed.
    let s = env.stats();
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (48, 24), "{s:?}");
    let stored_by_other = modes(&env.cache_dir)
        .into_iter()
        .filter(|(p, _)| fs::metadata(p).unwrap().uid() == OTHER_UID)
        .count();
    assert!(stored_by_other > 0, "the second user stored nothing");
    other(&["-c"]);
    assert_counters_match_disk(&env, "after the second user's -c");
    other(&["-z"]);
    assert_eq!(env.misses(), 0);
}
