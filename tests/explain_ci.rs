//! `objcache --explain` as a CI job's log shows it: the job zeroes the
//! counters first, restores a cache another job filled, and asks at the
//! end why it missed. The plain text names the job's own misses, as the
//! JSON and markdown forms do, not those of the job that saved the cache.

use std::fs;
use std::path::Path;

use crate::common::*;

fn cc(env: &TestEnv, cwd: &Path, src: &str, out: &str) {
    require("gcc");
    run_ok(&mut env.objcache_in(cwd, ["gcc", "-c", src, "-o", out]));
}

#[test]
fn explain_lists_only_the_misses_since_the_counters_were_zeroed() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("a.c"), "int a(void) { return 1; }\n").unwrap();
    fs::write(dir.join("b.c"), "int b(void) { return 2; }\n").unwrap();
    // The job that saved the cache: two misses.
    cc(&env, &dir, "a.c", "a.o");
    cc(&env, &dir, "b.c", "b.o");
    let before = run_ok(&mut env.objcache_in(&dir, ["--explain"])).stdout_str();
    assert_eq!(
        before.lines().count(),
        2,
        "never zeroed: every miss\n{before}"
    );

    // This job: -z, then all hits.
    next_second();
    run_ok(&mut env.objcache_in(&dir, ["-z"]));
    cc(&env, &dir, "a.c", "a.o");
    cc(&env, &dir, "b.c", "b.o");
    let hits = run_ok(&mut env.objcache_in(&dir, ["--explain"])).stdout_str();
    assert!(
        hits.starts_with("no miss since the counters were zeroed at ")
            && hits.contains("(2 earlier on record)")
            && !hits.contains("a.o"),
        "{hits}"
    );

    // One miss of its own: only that one.
    fs::write(dir.join("b.c"), "int b(void) { return 3; }\n").unwrap();
    cc(&env, &dir, "b.c", "b.o");
    let one = run_ok(&mut env.objcache_in(&dir, ["--explain"])).stdout_str();
    assert_eq!(one.lines().count(), 1, "{one}");
    assert!(one.contains("/b.o (from "), "{one}");
}

/// A CI runner restores the cache and zeroes within the second the job
/// before it missed in (their clocks agree to the second only by chance,
/// but a fast job on one runner does it every time): the misses before
/// `-z` in that second are still not the job's.
#[test]
fn misses_in_the_second_of_the_zeroing_but_before_it_are_not_listed() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("a.c"), "int a(void) { return 1; }\n").unwrap();
    let secs = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    // A miss and `-z` in one second: retried if a second boundary fell
    // between them.
    for attempt in 0.. {
        assert!(attempt < 5, "never within one second");
        next_second();
        let start = secs();
        fs::write(dir.join("a.o"), b"").unwrap();
        cc(&env, &dir, "a.c", "a.o");
        run_ok(&mut env.objcache_in(&dir, ["-z"]));
        if secs() == start {
            break;
        }
        fs::write(
            dir.join("a.c"),
            format!("int a(void) {{ return {attempt}; }}\n"),
        )
        .unwrap();
    }
    let out = run_ok(&mut env.objcache_in(&dir, ["--explain"])).stdout_str();
    assert!(
        out.starts_with("no miss since the counters were zeroed at "),
        "{out}"
    );
    let json = run_ok(&mut env.objcache_in(&dir, ["--explain", "--format", "json"])).stdout_str();
    assert!(
        json.contains("\"misses\": []") || json.contains("\"misses\":[]"),
        "{json}"
    );
}
