//! A hostile neighbour of the cache's locks and stats files, and a user
//! who cleans the cache by hand: a cleanup lock held and kept looking
//! alive, something else than a directory where the stats files are kept,
//! absurd numbers in a stats file, entries deleted behind the accounting.
//! Every call still finishes with the right object, the cache stays
//! within its limits, and the size it reports is what is on disk.

use crate::common::*;
use crate::locks::{print_stats, write_source};
use std::fs;

fn env_with(config: &str) -> (TestEnv, std::path::PathBuf) {
    let env = TestEnv::new();
    fs::create_dir_all(&env.cache_dir).unwrap();
    fs::write(env.cache_dir.join("ccache.conf"), config).unwrap();
    let dir = env.dir("src");
    (env, dir)
}

/// A panic in the cleanup or the stats update after a compile is an
/// internal error, counted; the compile's exit code and object stand.
#[test]
fn a_panic_after_the_compile_never_breaks_the_build() {
    require("gcc");
    let (env, dir) = env_with("");
    write_source(&dir, "a.c");
    let args = ["-c", "a.c", "-o", "a.o"];
    let expected = plain_object("gcc", &dir, args, "a.o");
    let out = run(env
        .objcache_in(&dir, ["gcc"].iter().chain(&args))
        .env("OBJCACHE_INTERNAL_TEST_PANIC", "cleanup"));
    assert_eq!(out.code(), Some(0), "{}", out.dump());
    assert!(out.stderr.is_empty(), "{}", out.dump());
    assert_bytes_eq(&read(&dir.join("a.o")), &expected, "object");
    let s = print_stats(&env);
    assert_eq!(get(&s, "internal_error"), 1, "{s:?}");
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
}
