//! A hostile neighbour and a ccache user switching over, against cleanup
//! per level-1 directory and ccache's own stats files (`<x>/stats`,
//! `<x>/<y>/stats`): `-s` stays truthful, `-z` zeroes what `-s` counts,
//! and nothing outside the cache dir is read as the cache's.

use crate::common::*;
use std::fs;

const CCACHE_STATS: &str = "0 0 0 0 7 0 0 0 0 0 0 3 12\n";

/// A symlinked `<x>/` lies outside the cache (no walk counts it, `-z`
/// does not write through it): ccache-format counters there are not the
/// cache's. Before, `-s` counted its 7 misses, and still did after `-z`
/// said the statistics were zeroed.
#[test]
fn stats_behind_a_symlinked_level1_dir_are_not_the_caches() {
    let env = TestEnv::new();
    fs::create_dir_all(&env.cache_dir).unwrap();
    let elsewhere = env.dir("elsewhere");
    fs::write(elsewhere.join("stats"), CCACHE_STATS).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.cache_dir.join("5")).unwrap();
    let deeper = env.dir("deeper");
    fs::write(deeper.join("stats"), CCACHE_STATS).unwrap();
    fs::create_dir_all(env.cache_dir.join("6")).unwrap();
    std::os::unix::fs::symlink(&deeper, env.cache_dir.join("6/2")).unwrap();

    let before = env.stats();
    assert_eq!(get(&before, "cache_miss"), 0, "{before:?}");
    assert_eq!(get(&before, "files_in_cache"), 0, "{before:?}");
    run_ok(env.objcache().arg("-z"));
    let after = env.stats();
    assert_eq!(get(&after, "cache_miss"), 0, "after -z: {after:?}");
    for dir in [&elsewhere, &deeper] {
        let text = fs::read_to_string(dir.join("stats")).unwrap();
        assert_eq!(text, CCACHE_STATS, "-z wrote outside the cache");
    }
}

/// `-z` that cannot rewrite a ccache stats file it would zero (a level-1
/// directory of another user's, read-only to this one) says so and exits
/// non-zero, rather than printing "Statistics zeroed" while `-s` keeps
/// showing ccache's counts.
#[test]
fn a_zeroing_that_cannot_write_ccaches_file_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let (env, _dir) = crate::locks::env_open_to_others();
    let theirs = env.cache_dir.join("4");
    fs::create_dir_all(&theirs).unwrap();
    fs::write(theirs.join("stats"), CCACHE_STATS).unwrap();
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o755)).unwrap();
    let nobody = "65534";
    let chown = std::process::Command::new("chown")
        .args([
            &format!("{nobody}:{nobody}"),
            env.cache_dir.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(chown.success());
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid", nobody, "--regid", nobody, "--clear-groups"]);
    cmd.arg(objcache_bin()).arg("-z");
    cmd.env("CCACHE_DIR", &env.cache_dir);
    cmd.env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent");
    cmd.env("HOME", env.root());
    let out = run(&mut cmd);
    assert_ne!(out.code(), Some(0), "{}", out.dump());
    assert!(out.stderr_str().contains("4/stats"), "{}", out.dump());
    assert_eq!(
        fs::read_to_string(theirs.join("stats")).unwrap(),
        CCACHE_STATS
    );
}
