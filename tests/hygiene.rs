//! What the cache directory holds besides objcache's entries, and what it
//! looks like to others: files objcache did not write (counted and evicted
//! by ccache's rule), a real ccache sharing the directory, `umask` on every
//! file and directory (in `hygiene/modes.rs`), and `temporary_dir`.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

mod modes;

const DAY: u64 = 86400;

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

/// The cache files by ccache's rule: every regular file in a level-1
/// directory `<x>/` or below it (at any depth) except `stats`,
/// `CACHEDIR.TAG`, `.nfs*` and objcache's temp files (ccache's count).
/// Returns (files as `files_in_cache` counts them, KiB).
fn cache_files(cache: &Path) -> (u64, u64) {
    (0..16).fold((0, 0), |(f, k), x| {
        let (xf, xk) = level1_files(cache, x);
        (f + xf, k + xk)
    })
}

/// `cache_files` of level-1 directory `<x>/` alone.
fn level1_files(cache: &Path, x: u8) -> (u64, u64) {
    let mut files = 0;
    let mut kib = 0;
    for p in walk_files(&cache.join(format!("{x:x}"))) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "stats"
            || name == "CACHEDIR.TAG"
            || name.starts_with(".nfs")
            || name.starts_with(".objcache-tmp.")
        {
            continue;
        }
        // Miss inputs count in the size only, as `files_in_cache` does.
        files += u64::from(!is_miss_inputs(&p));
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
    // Larger than any entry, so that a share of the limit can hold each
    // level-1 directory's entries but not these.
    let junk_old = plant(&bucket.join("some-file"), 2048, 10 * DAY);
    let junk_deep = plant(&other.join("1").join("deeper"), 1024, 5 * DAY);
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

    // Each level-1 directory is held to a sixteenth of the limit. A share
    // that the two oldest files (both not objcache's, in directories 3 and
    // a) make their directories exceed: they are what a cleanup removes,
    // and nothing else.
    let conf = env.cache_dir.join("ccache.conf");
    let without_junk = |x: u8| {
        let junk: u64 = [&junk_old, &junk_deep]
            .iter()
            .filter(|j| j.starts_with(env.cache_dir.join(format!("{x:x}"))))
            .map(|j| kib_of(j))
            .sum();
        level1_files(&env.cache_dir, x).1 - junk
    };
    let share = (0..16).map(without_junk).max().unwrap();
    for x in [3, 0xa] {
        assert!(level1_files(&env.cache_dir, x).1 > share, "directory {x:x}");
    }
    fs::write(
        &conf,
        format!("limit_multiple = 1.0\nmax_size = {}Ki\n", 16 * share),
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
    // Directory 3's share: what it holds now, plus a little: the next
    // store there goes over it.
    let share = level1_files(&env.cache_dir, 3).1 + 8;
    fs::write(
        &conf,
        format!("limit_multiple = 1.0\nmax_size = {}Ki\n", 16 * share),
    )
    .unwrap();
    // Stores until one lands in directory 3 (a few land elsewhere first).
    let entries_in_3 = |env: &TestEnv| {
        walk_files(&env.cache_dir.join("3"))
            .iter()
            .filter(|p| p.file_name().unwrap().len() == 65)
            .count()
    };
    let before = entries_in_3(&env);
    for i in 0..60 {
        compile_units(&env, &dir, &format!("v{i}_"), 1);
        if !junk_auto.exists() || entries_in_3(&env) != before {
            break;
        }
    }
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

/// The real ccache (4.7.5 on this machine) on the same cache directory.
fn ccache(env: &TestEnv, cwd: &Path) -> Option<Command> {
    let bin = which("ccache").filter(|p| {
        // Not objcache installed under ccache's name.
        Command::new(p).arg("--version").output().is_ok_and(|o| {
            let text = String::from_utf8_lossy(&o.stdout);
            text.starts_with("ccache version") && !text.contains("objcache version")
        })
    })?;
    let mut cmd = Command::new(bin);
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("CCACHE_CONFIGPATH", env.cache_dir.join("ccache.conf"))
        .current_dir(cwd);
    Some(cmd)
}

fn ccache_stats(env: &TestEnv, cwd: &Path) -> Stats {
    let out = run_ok(ccache(env, cwd).unwrap().arg("--print-stats"));
    parse_print_stats(&out.stdout_str())
}

/// Every `stats` file below the cache dir is ccache's: one number per line.
#[track_caller]
fn assert_stats_files_are_ccaches(cache: &Path) {
    for p in walk_files(cache) {
        if p.file_name().unwrap() == "stats" {
            let text = fs::read_to_string(&p).unwrap();
            assert!(
                text.lines().all(|l| l.trim().parse::<u64>().is_ok()),
                "{} is not in ccache's format:\n{text}",
                p.display()
            );
        }
    }
}

/// objcache and a real ccache share one cache dir: each keeps hitting its
/// own entries, each writes only its own counters (objcache no longer
/// writes `<x>/stats`) while objcache's `-s` shows both tools' calls, and
/// a cleanup or a clear by either leaves the other working.
#[test]
fn a_real_ccache_and_objcache_share_a_cache_dir() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    if ccache(&env, &dir).is_none() {
        eprintln!("skipped: no real ccache installed");
        return;
    }
    fs::write(dir.join("a.c"), "int a(void) { return 1; }\n").unwrap();
    fs::write(dir.join("b.c"), "int b(void) { return 2; }\n").unwrap();
    let by_ccache = |env: &TestEnv| {
        run_ok(
            ccache(env, &dir)
                .unwrap()
                .args(["gcc", "-c", "a.c", "-o", "a.o"]),
        );
    };
    let by_objcache = |env: &TestEnv| {
        run_ok(&mut env.objcache_in(&dir, ["gcc", "-c", "b.c", "-o", "b.o"]));
    };
    for _ in 0..2 {
        by_ccache(&env);
        by_objcache(&env);
    }
    // objcache's own miss and hit, and ccache's.
    let ours = env.stats();
    assert_eq!((get(&ours, "cache_miss"), hits(&ours)), (2, 2), "{ours:?}");
    let theirs = ccache_stats(&env, &dir);
    assert_eq!(
        (get(&theirs, "cache_miss"), hits(&theirs)),
        (1, 1),
        "{theirs:?}"
    );
    assert_stats_files_are_ccaches(&env.cache_dir);
    // -s of both works on the other's files.
    run_ok(env.objcache().arg("-s"));
    run_ok(ccache(&env, &dir).unwrap().arg("-s"));
    run_ok(env.objcache().arg("--show-usage"));

    // A cleanup by either (under generous limits) removes nothing of the
    // other's: both still hit, and their counters move only by their own calls.
    run_ok(ccache(&env, &dir).unwrap().arg("-c"));
    run_ok(env.objcache().arg("-c"));
    by_ccache(&env);
    by_objcache(&env);
    let ours = env.stats();
    assert_eq!((get(&ours, "cache_miss"), hits(&ours)), (2, 4), "{ours:?}");
    let theirs = ccache_stats(&env, &dir);
    assert_eq!(
        (get(&theirs, "cache_miss"), hits(&theirs)),
        (1, 2),
        "{theirs:?}"
    );
    // objcache counts ccache's entries as cache files (ccache does the same
    // with objcache's).
    assert_counters_match_disk(&env, "after both cleaned up");
    assert_stats_files_are_ccaches(&env.cache_dir);

    // ccache's clear removes objcache's entries too, never its counters.
    run_ok(ccache(&env, &dir).unwrap().arg("-C"));
    by_objcache(&env);
    // objcache's (2, 2) and ccache's (1, 2).
    let ours = env.stats();
    assert_eq!((get(&ours, "cache_miss"), hits(&ours)), (3, 4), "{ours:?}");
    by_objcache(&env);
    assert_eq!(env.hits(), 3 + 2);
    // And objcache's clear removes ccache's entries: ccache misses, and
    // goes on working.
    by_ccache(&env);
    run_ok(env.objcache().arg("-C"));
    by_ccache(&env);
    by_ccache(&env);
    let theirs = ccache_stats(&env, &dir);
    assert_eq!(
        (get(&theirs, "cache_miss"), hits(&theirs)),
        (3, 3),
        "{theirs:?}"
    );
    assert_stats_files_are_ccaches(&env.cache_dir);
    let ours = env.stats();
    assert_eq!(
        (get(&ours, "cache_miss"), hits(&ours)),
        (2 + 3, 3 + 3),
        "{ours:?}"
    );
    // objcache's -z zeroes ccache's counters too, as ccache's own does,
    // in ccache's format.
    run_ok(env.objcache().arg("-z"));
    let theirs = ccache_stats(&env, &dir);
    assert_eq!(
        (get(&theirs, "cache_miss"), hits(&theirs)),
        (0, 0),
        "{theirs:?}"
    );
    assert_eq!((env.misses(), env.hits()), (0, 0));
    assert_stats_files_are_ccaches(&env.cache_dir);
    by_ccache(&env);
    assert_eq!(hits(&ccache_stats(&env, &dir)), 1);
}

/// Counters an earlier objcache kept in `<x>/stats` survive the upgrade;
/// a ccache `stats` file next to them is read, and zeroed by `-z` in its
/// own format, never taken over.
#[test]
fn counters_in_the_old_place_are_taken_over() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    for shard in 0..16 {
        let d = env.cache_dir.join(format!("{shard:x}"));
        fs::create_dir_all(&d).unwrap();
        let text = if shard == 5 {
            "0\n3\n0\n0\n7\n".to_string()
        } else {
            format!("cache_miss {}\nend\n", shard + 1)
        };
        fs::write(d.join("stats"), text).unwrap();
    }
    // 1 + 2 + ... + 16, less shard 5's 6; ccache's file there says 7.
    let old_total = (1..=16).sum::<u64>() - 6 + 7;
    assert_eq!(env.misses(), old_total);
    compile_units(&env, &dir, "w", 3);
    assert_eq!(env.misses(), old_total + 3);
    run_ok(env.objcache().arg("-z"));
    assert_eq!(env.misses(), 0);
    assert_counters_match_disk(&env, "after the upgrade");
    for shard in 0..16 {
        let old = env.cache_dir.join(format!("{shard:x}")).join("stats");
        if shard == 5 {
            let zeroed = fs::read_to_string(&old).unwrap();
            let fields: Vec<&str> = zeroed.lines().collect();
            assert_eq!(
                fields,
                ["0", "0", "0", "0", "0"],
                "too short for a timestamp"
            );
        } else {
            assert!(!old.exists(), "{} left behind", old.display());
        }
    }
}

/// `temporary_dir` (`CCACHE_TEMPDIR`): objcache keeps what ccache puts there
/// (the preprocessor's output, the compiler's stdout and stderr) in memory,
/// and writes every other temp file beside its target for the rename, so it
/// never writes there. On a separate tmpfs, or unusable (a file where the
/// directory should be), compiles are cached as always, the directory stays
/// empty (or absent), and an unusable one is logged.
#[test]
fn temporary_dir_elsewhere_or_unusable_never_breaks_a_build() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    fs::write(
        dir.join("t.c"),
        "#include <stdio.h>\nint t(void) { return puts(\"t\"); }\n",
    )
    .unwrap();
    let expected = plain_object("gcc", &dir, args(&["-c", "t.c", "-o", "t.o"]), "t.o");
    let fast = env.root().join("fast-tmp");
    let mount = Mount::tmpfs(&fast, "size=1m");
    let not_a_dir = env.root().join("not-a-dir");
    fs::write(&not_a_dir, b"a file").unwrap();
    let log = env.root().join("objcache.log");
    let mut tried = vec![not_a_dir.clone(), env.root().join("missing").join("tmp")];
    if mount.is_some() {
        tried.push(fast.clone());
    }
    for (round, tmp) in tried.iter().enumerate() {
        for how in ["env", "config"] {
            let _ = fs::remove_file(&log);
            let cached = |out: &str| {
                let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", out]);
                cmd.env("CCACHE_LOGFILE", &log);
                if how == "env" {
                    cmd.env("CCACHE_TEMPDIR", tmp);
                } else {
                    let setting = format!("temporary_dir={}", tmp.display());
                    let mut c =
                        env.objcache_in(&dir, [setting.as_str(), "gcc", "-c", "t.c", "-o", out]);
                    c.env("CCACHE_LOGFILE", &log);
                    cmd = c;
                }
                let result = run(&mut cmd);
                assert!(result.success(), "{}: {}", tmp.display(), result.dump());
                assert_bytes_eq(&read(&dir.join(out)), &expected, out);
            };
            cached(&format!("a{round}{how}.o"));
            let hits = env.hits();
            cached(&format!("b{round}{how}.o"));
            assert_eq!(env.hits(), hits + 1, "{}: not cached", tmp.display());
            let logged = fs::read_to_string(&log).unwrap_or_default();
            if *tmp == not_a_dir {
                assert!(
                    logged.contains("temporary_dir") && logged.contains("not a directory"),
                    "{how}: the unusable temporary_dir is not logged:\n{logged}"
                );
                assert_eq!(fs::read(&not_a_dir).unwrap(), b"a file");
            } else {
                assert!(!logged.contains("temporary_dir"), "{logged}");
            }
        }
    }
    if mount.is_some() {
        assert_eq!(
            fs::read_dir(&fast).unwrap().count(),
            0,
            "objcache wrote to temporary_dir"
        );
    }
    assert!(!env.root().join("missing").exists());
    assert!(!env.cache_dir.join("tmp").exists());
    assert_eq!(
        cache_entry_files(&env.cache_dir).len(),
        3,
        "one result, one manifest, one miss inputs file"
    );
}
