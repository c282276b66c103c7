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
