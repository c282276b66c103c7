//! What the cache directory holds besides objcache's entries, and what it
//! looks like to others: files objcache did not write (counted and evicted
//! by ccache's rule), a real ccache sharing the directory, `umask` on every
//! file and directory, and `temporary_dir`.

use crate::common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

const DAY: u64 = 86400;

/// Sets a file's mtime `secs_ago` seconds into the past.
fn set_age(p: &Path, secs_ago: u64) {
    let t = SystemTime::now() - Duration::from_secs(secs_ago);
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap_or_else(|e| panic!("open {}: {e}", p.display()))
        .set_modified(t)
        .unwrap();
}

/// Writes `kib` KiB of incompressible bytes to `p`, last used `secs_ago`.
fn plant(p: &Path, kib: usize, secs_ago: u64) -> PathBuf {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    let mut x: u32 = 0x9e37_79b9 ^ kib as u32;
    let bytes: Vec<u8> = (0..kib * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    fs::write(p, bytes).unwrap();
    set_age(p, secs_ago);
    p.to_path_buf()
}

fn kib_of(p: &Path) -> u64 {
    fs::metadata(p)
        .map(|m| m.blocks() * 512 / 1024)
        .unwrap_or(0)
}

/// The cache files by ccache's rule: every regular file below a bucket
/// directory `<x>/<y>/` (at any depth) except `stats`, `CACHEDIR.TAG`,
/// `.nfs*` and temp files. Returns (files, KiB).
fn cache_files(cache: &Path) -> (u64, u64) {
    let mut files = 0;
    let mut kib = 0;
    for p in walk_files(cache) {
        let rel = p.strip_prefix(cache).unwrap();
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let hex = |s: &String| s.len() == 1 && s.chars().all(|c| c.is_ascii_hexdigit());
        if parts.len() < 3 || !hex(&parts[0]) || !hex(&parts[1]) {
            continue;
        }
        let name = parts.last().unwrap();
        if name == "stats"
            || name == "CACHEDIR.TAG"
            || name.starts_with(".nfs")
            || name.starts_with(".objcache-tmp.")
            || name.contains(".tmp.")
        {
            continue;
        }
        files += 1;
        kib += kib_of(&p);
    }
    (files, kib)
}

#[track_caller]
fn assert_counters_match_disk(env: &TestEnv, when: &str) {
    let s = env.stats();
    assert_eq!(
        (get(&s, "files_in_cache"), get(&s, "cache_size_kibibyte")),
        cache_files(&env.cache_dir),
        "{when}: (files_in_cache, cache_size_kibibyte) vs the cache files on disk"
    );
}

/// Compiles `n` distinct small sources through objcache in `dir`.
fn compile_units(env: &TestEnv, dir: &Path, prefix: &str, n: usize) {
    for i in 0..n {
        let src = format!("{prefix}{i}.c");
        write_big_source(&dir.join(&src), 4000, i as u32 + 7);
        let obj = format!("{prefix}{i}.o");
        run_ok(&mut env.objcache_in(dir, ["gcc", "-c", src.as_str(), "-o", obj.as_str()]));
    }
}

/// Files objcache did not write: an unknown file in a bucket is a cache
/// file (counted, evicted oldest first, by `-c` and by the automatic
/// cleanup); a stale temp file goes, a recent one stays; `.nfs*`, `stats`
/// and `CACHEDIR.TAG` are never touched nor counted.
#[test]
fn files_objcache_did_not_write_are_counted_and_evicted_by_ccaches_rule() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    compile_units(&env, &dir, "u", 4);
    let bucket = env.cache_dir.join("3").join("c");
    let other = env.cache_dir.join("a").join("0");
    let junk_old = plant(&bucket.join("some-file"), 64, 10 * DAY);
    let junk_deep = plant(&other.join("1").join("deeper"), 32, 5 * DAY);
    let junk_new = plant(&bucket.join("recent-file"), 16, 0);
    let tmp_stale = plant(&bucket.join(".objcache-tmp.AbC123"), 8, 2 * 3600);
    let tmp_recent = plant(&other.join(".objcache-tmp.XyZ789"), 8, 60);
    let ccache_tmp_stale = plant(&other.join("0123R.tmp.x1y2z3"), 8, 2 * 3600);
    let nfs = plant(&bucket.join(".nfs000000001234"), 16, 30 * DAY);
    let l2_stats = plant(&bucket.join("stats"), 4, 30 * DAY);
    let tag = plant(&env.cache_dir.join("3").join("CACHEDIR.TAG"), 4, 30 * DAY);
    // Entries are a day old: older than the recent junk, younger than the rest.
    for p in walk_files(&env.cache_dir) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.len() == 65 {
            set_age(&p, DAY);
        }
    }

    // -c with no limit: stale temp files go, everything else is counted.
    run_ok(env.objcache().arg("-c"));
    for gone in [&tmp_stale, &ccache_tmp_stale] {
        assert!(
            !gone.exists(),
            "{} is stale and still there",
            gone.display()
        );
    }
    for kept in [
        &junk_old,
        &junk_deep,
        &junk_new,
        &tmp_recent,
        &nfs,
        &l2_stats,
        &tag,
    ] {
        assert!(kept.exists(), "{} was removed", kept.display());
    }
    assert_counters_match_disk(&env, "after -c");
    let (files, kib) = cache_files(&env.cache_dir);
    let usage = parse_print_stats(&run_ok(env.objcache().arg("--print-usage")).stdout_str());
    assert_eq!(get(&usage, "kind_other_files"), 3, "{usage:?}");
    assert_eq!(
        (get(&usage, "total_files"), get(&usage, "total_kibibyte")),
        (files, kib)
    );
    assert_eq!(get(&usage, "kind_temp_recent_files"), 1, "{usage:?}");

    // A limit that the two oldest files (both not objcache's) make the
    // cache exceed: they are what a cleanup removes, and nothing else.
    let conf = env.cache_dir.join("ccache.conf");
    let freed = kib_of(&junk_old) + kib_of(&junk_deep);
    fs::write(
        &conf,
        format!("limit_multiple = 1.0\nmax_size = {}Ki\n", kib - freed),
    )
    .unwrap();
    let usage = parse_print_stats(&run_ok(env.objcache().arg("--print-usage")).stdout_str());
    assert_eq!(get(&usage, "reclaimable_cleanup_files"), 2, "{usage:?}");
    run_ok(env.objcache().arg("-c"));
    assert!(!junk_old.exists() && !junk_deep.exists());
    assert!(
        junk_new.exists(),
        "a younger file went before older entries"
    );
    assert_eq!(cache_files(&env.cache_dir).0, files - 2);
    assert!(nfs.exists() && l2_stats.exists() && tag.exists() && tmp_recent.exists());
    assert_counters_match_disk(&env, "after -c over the limit");

    // The automatic cleanup after a store follows the same order: an old
    // foreign file goes first.
    let junk_auto = plant(&bucket.join("older-still"), 64, 20 * DAY);
    run_ok(env.objcache().arg("-c"));
    let (_, kib) = cache_files(&env.cache_dir);
    fs::write(
        &conf,
        format!("limit_multiple = 1.0\nmax_size = {}Ki\n", kib + 8),
    )
    .unwrap();
    compile_units(&env, &dir, "v", 1);
    assert!(
        !junk_auto.exists(),
        "the automatic cleanup kept the oldest file"
    );
    assert!(junk_new.exists());
    assert!(nfs.exists() && l2_stats.exists() && tag.exists());
    assert_counters_match_disk(&env, "after an automatic cleanup");

    // -C removes every cache file, objcache's or not, and still nothing else.
    run_ok(env.objcache().arg("-C"));
    assert_eq!(cache_files(&env.cache_dir), (0, 0));
    assert!(nfs.exists() && l2_stats.exists() && tag.exists() && tmp_recent.exists());
    assert_counters_match_disk(&env, "after -C");
}
