//! Stats files: counting, merging, damage, special files and locks.

use super::*;

#[test]
fn concurrent_updates_are_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let d = dir.path().to_path_buf();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    update(&d, t % 3, "", &[(Counter::CacheMiss, 1)]).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 200);
}

#[test]
fn shards_sum_counts_and_keep_the_latest_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    for (shard, stamp) in [(1, 100), (2, 300), (3, 200)] {
        modify(dir.path(), shard, |c| {
            c.set(Counter::CacheMiss, 2);
            c.set(Counter::StatsZeroedTimestamp, stamp);
        })
        .unwrap();
    }
    let t = read_total(dir.path());
    assert_eq!(t.get(Counter::CacheMiss), 6);
    assert_eq!(t.get(Counter::StatsZeroedTimestamp), 300);
}

#[test]
fn counters_of_an_earlier_objcache_are_taken_over_and_ccaches_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let old = |shard: u8| shard_dir(dir.path(), shard).join("stats");
    fs::create_dir_all(shard_dir(dir.path(), 1)).unwrap();
    fs::create_dir_all(shard_dir(dir.path(), 2)).unwrap();
    fs::write(old(1), "cache_miss 7\nfiles_in_cache 3\nend\nstale tail\n").unwrap();
    // ccache's format: one number per line.
    fs::write(old(2), "0\n4\n9\n0\n").unwrap();
    assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 7);
    update(dir.path(), 1, "", &[(Counter::CacheMiss, 1)]).unwrap();
    update(dir.path(), 2, "", &[(Counter::CacheMiss, 1)]).unwrap();
    let t = read_total(dir.path());
    assert_eq!(t.get(Counter::CacheMiss), 9);
    assert_eq!(t.get(Counter::FilesInCache), 3);
    assert!(!old(1).exists(), "the old objcache file stays behind");
    assert_eq!(fs::read_to_string(old(2)).unwrap(), "0\n4\n9\n0\n");
    // Taken over once: the old file's return changes nothing.
    fs::write(old(1), "cache_miss 100\nend\n").unwrap();
    assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 9);
}

#[test]
fn zero_keeps_size_counters() {
    let dir = tempfile::tempdir().unwrap();
    update(
        dir.path(),
        3,
        "ns",
        &[(Counter::CacheMiss, 2), (Counter::FilesInCache, 5)],
    )
    .unwrap();
    assert_eq!(
        read_total(dir.path())
            .namespaces
            .get("ns", Counter::CacheMiss),
        2
    );
    zero(dir.path()).unwrap();
    let t = read_total(dir.path());
    assert_eq!(t.namespaces.counted().count(), 0);
    assert_eq!(t.get(Counter::CacheMiss), 0);
    assert_eq!(t.get(Counter::FilesInCache), 5);
    assert!(t.get(Counter::StatsZeroedTimestamp) > 0);
}

#[test]
fn a_stats_file_never_exceeds_its_bound() {
    let mut c = Counters::default();
    for &counter in counters::ALL {
        c.set(counter, u64::MAX);
    }
    let full = BucketUsage {
        kib: u64::MAX,
        files: u64::MAX,
        inputs: u64::MAX,
        oldest_ns: u64::MAX,
    };
    c.buckets = [full; 16];
    let text = c.serialize();
    assert!(text.len() as u64 * 2 < MAX_STATS_FILE, "{}", text.len());
    assert_eq!(Counters::parse(text.as_bytes()), (c, None));
}

#[test]
fn damage_is_told_and_never_hides_the_sound_lines() {
    let cases: &[(&[u8], Option<&str>)] = &[
        (b"cache_miss 3\nend\n", None),
        (b"cache_miss 3\nend\n\xff\xfe old tail", None),
        (b"cache_miss 3\nnewer_counter 9\nend\n", None),
        (b"cache_miss 3\n\xff\xff\nend\n", Some("line 2")),
        (b"cache_miss 3\ncache_miss\nend\n", Some("line 2")),
        (b"cache_miss 3\n", Some("no `end` line")),
        (b"cache_miss 3\ncache_hit 1 2\n", Some("line 2")),
    ];
    for (bytes, problem) in cases {
        let (c, damage) = Counters::parse(bytes);
        assert_eq!(c.get(Counter::CacheMiss), 3, "{bytes:?}");
        match (problem, damage) {
            (None, None) => {}
            (Some(p), Some(d)) if d.contains(p) => {}
            (p, d) => panic!("{bytes:?}: expected {p:?}, got {d:?}"),
        }
    }
    let mut long = b"cache_miss 3\nend\n".to_vec();
    long.resize(MAX_STATS_FILE as usize + 1, 0);
    let (c, damage) = Counters::parse(&long);
    assert_eq!(c.get(Counter::CacheMiss), 3);
    assert!(damage.unwrap().contains("longer than"));
}

#[test]
fn damaged_stats_files_count_on_and_are_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    update(dir.path(), 4, "", &[(Counter::CacheMiss, 2)]).unwrap();
    let path = stats_path(dir.path(), 4);
    // Garbage after the end line is an old tail: nothing is lost.
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend([0xff; 100]);
    fs::write(&path, &bytes).unwrap();
    assert_eq!(read_total_reporting(dir.path()).1, Vec::<String>::new());
    update(dir.path(), 4, "", &[(Counter::CacheMiss, 1)]).unwrap();
    assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 3);
    // Garbage before it: the sound lines still count; the next update
    // rewrites the file whole and counts the damage.
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, format!("\u{1}\u{2} x\n{text}")).unwrap();
    let (total, problems) = read_total_reporting(dir.path());
    assert_eq!(total.get(Counter::CacheMiss), 3);
    assert!(problems[0].contains("line 1"), "{problems:?}");
    update(dir.path(), 4, "", &[(Counter::CacheMiss, 1)]).unwrap();
    let (total, problems) = read_total_reporting(dir.path());
    assert_eq!(total.get(Counter::CacheMiss), 4);
    assert_eq!(total.get(Counter::CorruptStatsFile), 1);
    assert!(problems.is_empty(), "{problems:?}");
    // Padded to 1 GiB (sparse): read no further than the bound.
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 4);
    zero(dir.path()).unwrap();
    assert!(fs::metadata(&path).unwrap().len() < MAX_STATS_FILE);
}

#[test]
fn special_files_in_place_of_a_stats_file_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join(STATS_DIR);
    fs::create_dir_all(&stats).unwrap();
    let fifo = std::ffi::CString::new(
        stats_path(dir.path(), 5)
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let outside = dir.path().join("outside");
    fs::write(&outside, "keep").unwrap();
    std::os::unix::fs::symlink(&outside, stats_path(dir.path(), 6)).unwrap();
    let problems = read_total_reporting(dir.path()).1;
    assert_eq!(problems.len(), 2, "{problems:?}");
    let found = check_shards(dir.path());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|p| p.repaired), "{found:?}");
    assert!(found[0].problem.contains("a FIFO"), "{found:?}");
    assert!(found[1].problem.contains("a symlink"), "{found:?}");
    assert_eq!(fs::read_to_string(&outside).unwrap(), "keep");
    assert!(check_shards(dir.path()).is_empty());
    assert_eq!(read_total(dir.path()).get(Counter::CorruptStatsFile), 2);
}

/// A hard link where a stats file belongs (where `protected_hardlinks` is
/// off, to any file of anyone's): the update writes a new file, never the
/// linked one.
#[test]
fn a_hard_link_in_place_of_a_stats_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    fs::write(&outside, "precious\n").unwrap();
    let cache = dir.path().join("cache");
    fs::create_dir_all(cache.join(STATS_DIR)).unwrap();
    fs::hard_link(&outside, stats_path(&cache, 3)).unwrap();
    update(&cache, 3, "", &[(Counter::CacheMiss, 1)]).unwrap();
    assert_eq!(fs::read_to_string(&outside).unwrap(), "precious\n");
    let total = read_total(&cache);
    assert_eq!(total.get(Counter::CacheMiss), 1);
    assert_eq!(total.get(Counter::CorruptStatsFile), 1);
}

#[test]
fn a_shard_locked_by_another_process_is_left_after_a_bounded_wait() {
    let dir = tempfile::tempdir().unwrap();
    update(dir.path(), 9, "", &[(Counter::CacheMiss, 1)]).unwrap();
    // Another open file description: its lock is another holder's.
    let holder = fs::File::open(stats_path(dir.path(), 9)).unwrap();
    holder.lock().unwrap();
    let start = std::time::Instant::now();
    update(dir.path(), 9, "", &[(Counter::CacheMiss, 1)]).unwrap();
    let e = modify(dir.path(), 9, |_| ()).unwrap_err();
    assert!(is_locked(&e), "{e}");
    assert!(read_total_reporting(dir.path()).1[0].contains("locked"));
    assert!(start.elapsed() < LOCK_WAIT * 3, "{:?}", start.elapsed());
    drop(holder);
    // The update went to another shard: nothing was lost.
    assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 2);
}

#[test]
fn namespaces_count_beside_exact_totals() {
    let dir = tempfile::tempdir().unwrap();
    update(dir.path(), 1, "a b", &[(Counter::CacheMiss, 1)]).unwrap();
    update(dir.path(), 2, "a b", &[(Counter::DirectCacheHit, 1)]).unwrap();
    update(dir.path(), 2, "c", &[(Counter::CacheMiss, 1)]).unwrap();
    update(dir.path(), 2, "", &[(Counter::CacheMiss, 1)]).unwrap();
    let t = read_total(dir.path());
    assert_eq!((t.hits(), t.misses()), (1, 3));
    let ns = &t.namespaces;
    assert_eq!(ns.get("a%20b", Counter::CacheMiss), 1);
    assert_eq!(ns.get("a%20b", Counter::DirectCacheHit), 1);
    assert_eq!(ns.get("c", Counter::CacheMiss), 1);
    assert_eq!(ns.counted().count(), 2);
    // A shard an older objcache reads: its lines are no damage.
    let shard = fs::read_to_string(stats_path(dir.path(), 2)).unwrap();
    assert!(
        shard.contains("namespace.a%20b.direct_cache_hit 1\n"),
        "{shard}"
    );
    assert_eq!(Counters::parse(shard.as_bytes()).1, None);
}

#[test]
fn no_counter_is_named_like_a_bucket_or_namespace_line() {
    for def in COUNTERS {
        assert!(!def.name.starts_with(BUCKET_PREFIX), "{}", def.name);
        assert!(!def.name.starts_with("namespace."), "{}", def.name);
    }
}

#[test]
fn a_shard_reads_back_as_written() {
    let mut c = Counters::default();
    c.set(Counter::CacheMiss, 7);
    c.set(Counter::DirectCacheHit, 12345678901);
    c.buckets[0xa] = BucketUsage {
        kib: 4,
        files: 2,
        inputs: 1,
        oldest_ns: 99,
    };
    let text = c.serialize();
    let (back, damage) = Counters::parse(text.as_bytes());
    assert_eq!(damage, None, "{text}");
    assert_eq!(back.values, c.values);
    assert_eq!(back.buckets, c.buckets);
    assert!(text.contains("bucket_a_oldest 99\n"), "{text}");
}
