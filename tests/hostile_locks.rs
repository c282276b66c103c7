//! A hostile neighbour of the cache's locks and stats files, and a user
//! who cleans the cache by hand: a cleanup lock held and kept looking
//! alive, something else than a directory where the stats files are kept,
//! absurd numbers in a stats file, entries deleted behind the accounting.
//! Every call still finishes with the right object, the cache stays
//! within its limits, and the size it reports is what is on disk.

use crate::common::*;
use crate::locks::{compile, manager, print_stats, stats_file, write_source, Holder};
use std::fs;
use std::path::Path;

/// Entries on disk and the accounting agree.
#[track_caller]
fn assert_accounting_exact(env: &TestEnv, what: &str) -> u64 {
    let s = print_stats(env);
    let on_disk = counted_files(&cache_entry_files(&env.cache_dir));
    assert_eq!(get(&s, "files_in_cache"), on_disk, "{what}: {s:?}");
    on_disk
}

fn env_with(config: &str) -> (TestEnv, std::path::PathBuf) {
    let env = TestEnv::new();
    fs::create_dir_all(&env.cache_dir).unwrap();
    fs::write(env.cache_dir.join("ccache.conf"), config).unwrap();
    let dir = env.dir("src");
    (env, dir)
}

fn compile_new(env: &TestEnv, dir: &Path, name: &str) {
    let src = format!("{name}.c");
    write_source(dir, &src);
    compile(env, dir, &src);
}

/// Numbers no cache can reach, in every counter and bucket of two stats
/// files (bit rot, a neighbour): no sum of them may overflow. Before, a
/// call that stored aborted after its compile (exit 134 in a debug build;
/// a release build's wrapped sums hid the cache's size from the cleanup),
/// and `-s`, `-c` and the OpenMetrics output aborted.
#[test]
fn absurd_numbers_in_stats_files_break_nothing() {
    require("gcc");
    let (env, dir) = env_with("max_files = 4\n");
    let max = u64::MAX;
    let mut text = String::new();
    for (name, _) in &print_stats(&env) {
        text.push_str(&format!("{name} {max}\n"));
    }
    for b in 0..16 {
        for field in ["kib", "files", "oldest"] {
            text.push_str(&format!("bucket_{b:x}_{field} {max}\n"));
        }
    }
    text.push_str("end\n");
    let plant = || {
        for shard in [0, 1] {
            let path = stats_file(&env, shard);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, &text).unwrap();
        }
    };
    let commands: [&[&str]; 9] = [
        &["-s"],
        &["-svv"],
        &["--print-stats"],
        &["--print-stats", "--format", "json"],
        &["--print-stats", "--format", "openmetrics"],
        &["--check-hit-rate", "50"],
        &["-c"],
        &["--evict-older-than", "1d"],
        &["-z"],
    ];
    for args in commands {
        plant();
        let out = manager(&env, args);
        assert!(out.code().is_some(), "{args:?}: {}", out.dump());
        assert!(
            !out.stderr_str().contains("panicked"),
            "{args:?}: {}",
            out.dump()
        );
    }
    plant();
    for n in 0..6 {
        compile_new(&env, &dir, &format!("u{n}"));
    }
    let files = assert_accounting_exact(&env, "absurd numbers");
    assert!(files <= 4, "{files} files for max_files = 4");
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

/// Entries deleted behind the accounting (by hand, `find -delete`, a
/// backup tool's cleaner) leave it over the limit while the disk is not:
/// each directory's next cleanup writes its exact usage back (instead of
/// every call that stores there walking it in vain), and `-c` all of
/// them.
#[test]
fn entries_deleted_by_hand_are_accounted_by_the_next_cleanup() {
    require("gcc");
    // Two counted files a compile (its miss inputs count in the size
    // only): 18 of 20, deleted; 8 on disk, 26 accounted.
    let (env, dir) = env_with("max_files = 20\n");
    for n in 0..9 {
        compile_new(&env, &dir, &format!("u{n}"));
    }
    for f in cache_entry_files(&env.cache_dir) {
        fs::remove_file(f).unwrap();
    }
    for n in 9..13 {
        compile_new(&env, &dir, &format!("u{n}"));
    }
    run_ok(env.objcache().arg("-c"));
    assert_accounting_exact(&env, "deleted by hand");
}

/// Where the stats files are kept (`objcache-stats/`), a regular file, or
/// a symlink to a directory outside the cache: nothing could be counted,
/// entries were stored unaccounted and no cleanup ever ran. It is
/// replaced by a directory; what was outside stays untouched.
#[test]
fn a_non_directory_in_place_of_the_stats_directory_is_replaced() {
    require("gcc");
    for planted in ["file", "symlink"] {
        let (env, dir) = env_with("max_files = 4\n");
        let stats_dir = env.cache_dir.join("objcache-stats");
        let outside = env.dir("outside");
        match planted {
            "file" => fs::write(&stats_dir, "not a directory\n").unwrap(),
            _ => std::os::unix::fs::symlink(&outside, &stats_dir).unwrap(),
        }
        for n in 0..6 {
            compile_new(&env, &dir, &format!("u{n}"));
        }
        assert!(
            fs::symlink_metadata(&stats_dir).unwrap().is_dir(),
            "{planted}"
        );
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "{planted}");
        let s = print_stats(&env);
        assert!(get(&s, "corrupt_stats_file") >= 1, "{planted}: {s:?}");
        assert!(get(&s, "cleanups_performed") >= 1, "{planted}: {s:?}");
        let files = assert_accounting_exact(&env, planted);
        assert!(files <= 4, "{planted}: {files} files for max_files = 4");
        let show = manager(&env, &["-s"]);
        assert!(show.success(), "{}", show.dump());
        assert!(show.stderr.is_empty(), "{planted}: {}", show.dump());
    }
}

/// A neighbour holds `cleanup.lock` and keeps touching it, so that it
/// never looks stuck: a cleaner at work, to everyone else. Once the cache
/// is twice over its limits, though, no cleaner is keeping up: the next
/// call cleans without the lock.
#[test]
fn a_cleanup_lock_kept_fresh_does_not_let_the_cache_grow_unbounded() {
    require("gcc");
    let (env, dir) = env_with("max_files = 6\n");
    let lock = env.cache_dir.join("cleanup.lock");
    fs::write(&lock, "").unwrap();
    let touch = format!("while :; do touch '{}'; sleep 0.2; done", lock.display());
    let _holder = Holder::doing(std::slice::from_ref(&lock), None, &touch);
    for n in 0..16 {
        compile_new(&env, &dir, &format!("u{n}"));
    }
    let s = print_stats(&env);
    assert!(get(&s, "cleanups_skipped") >= 1, "{s:?}");
    assert!(get(&s, "cleanups_performed") >= 1, "{s:?}");
    // At most twice the limit, and one compile's files (three).
    let files = assert_accounting_exact(&env, "held and fresh");
    assert!(files <= 2 * 6 + 3, "{files} files for max_files = 6: {s:?}");
}
