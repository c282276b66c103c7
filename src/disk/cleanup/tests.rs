//! Cleanup against a real local store.

use super::*;
use crate::disk::{EntryKind, LocalStore};
use crate::key::Key;

fn set_age(path: &Path, secs_ago: u64) {
    let t = std::time::SystemTime::now() - std::time::Duration::from_secs(secs_ago);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn eviction_is_least_recently_used_across_a_directorys_buckets() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let keys = keys_in_shard(5, 40);
    for (i, k) in keys.iter().enumerate() {
        store.put(k, EntryKind::Result, &[1u8; 8000]).unwrap();
        // Entry i was last used 1000 - i seconds ago: key 0 is the oldest.
        set_age(&store.path(k, EntryKind::Result), 1000 - i as u64);
    }
    let total = stats::read_total(dir.path()).get(Counter::CacheSizeKibibyte);
    // Directory 5's share, a sixteenth, is half of what it holds.
    let limits = Limits {
        max_kib: total / 2 * 16,
        max_files: 0,
        multiple: 0.9,
        max_age_secs: None,
    };
    assert!(enforce_if_needed(dir.path(), &limits, !(1 << 5))
        .unwrap()
        .is_none());
    let swept = enforce_if_needed(dir.path(), &limits, 1 << 5)
        .unwrap()
        .unwrap();
    assert!(swept.files > 0);
    let left = stats::read_total(dir.path());
    assert!(left.get(Counter::CacheSizeKibibyte) <= total / 2 * 9 / 10);
    // Exactly the oldest entries went.
    let alive: Vec<bool> = keys
        .iter()
        .map(|k| store.path(k, EntryKind::Result).exists())
        .collect();
    let first_alive = alive.iter().position(|a| *a).unwrap();
    assert!(alive[first_alive..].iter().all(|a| *a), "{alive:?}");
    assert_eq!(first_alive as u64, swept.files);
    // The counters agree with the disk.
    let on_disk: u64 = (0..=255u8)
        .flat_map(|b| walk_bucket(dir.path(), b).unwrap())
        .map(|f| f.kib)
        .sum();
    assert_eq!(left.get(Counter::CacheSizeKibibyte), on_disk);
    assert_eq!(left.get(Counter::CleanupsPerformed), 1);
}

#[test]
fn selection_by_age_and_stale_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let old = Key::of(b"old");
    let new = Key::of(b"new");
    store.put(&old, EntryKind::Result, b"x").unwrap();
    store.put(&new, EntryKind::Result, b"y").unwrap();
    set_age(&store.path(&old, EntryKind::Result), 3 * 86400);
    let tmp = bucket_dir(dir.path(), 0x12).join(".objcache-tmp.abc");
    fs::create_dir_all(tmp.parent().unwrap()).unwrap();
    fs::write(&tmp, b"partial").unwrap();
    set_age(&tmp, 2 * 3600);
    let sel = Selection {
        older_than_secs: Some(86400),
        namespace: None,
    };
    let dry = evict_selected(dir.path(), &sel, true, &mut || {}).unwrap();
    assert_eq!(dry.files, 2);
    assert!(store.path(&old, EntryKind::Result).exists());
    let done = evict_selected(dir.path(), &sel, false, &mut || {}).unwrap();
    assert_eq!(done, dry);
    assert!(!store.path(&old, EntryKind::Result).exists());
    assert!(store.path(&new, EntryKind::Result).exists());
    assert!(!tmp.exists());
    assert_eq!(stats::read_total(dir.path()).get(Counter::FilesInCache), 1);
}

#[test]
fn a_cleanup_that_finds_nothing_to_remove_corrects_the_accounting() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let keys = keys_in_shard(2, 10);
    for k in &keys {
        store.put(k, EntryKind::Result, b"x").unwrap();
    }
    // Deleted behind the accounting: 10 counted, 2 on disk.
    for k in &keys[2..] {
        fs::remove_file(store.path(k, EntryKind::Result)).unwrap();
    }
    let limits = Limits {
        max_kib: 0,
        max_files: 6 * 16,
        multiple: 0.8,
        max_age_secs: None,
    };
    assert_eq!(shard_need(dir.path(), &limits, 2), Need::Due);
    assert!(enforce_if_needed(dir.path(), &limits, 1 << 2)
        .unwrap()
        .is_none());
    assert_eq!(stats::read_total(dir.path()).get(Counter::FilesInCache), 2);
    assert_eq!(shard_need(dir.path(), &limits, 2), Need::None);
}

#[test]
fn each_directory_is_held_to_its_share_and_a_held_one_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let put = |k: &Key, secs_ago: u64| {
        store.put(k, EntryKind::Result, &[1u8; 8000]).unwrap();
        set_age(&store.path(k, EntryKind::Result), secs_ago);
    };
    let (held, busy, calm) = (
        keys_in_shard(0, 8),
        keys_in_shard(1, 5),
        keys_in_shard(2, 3),
    );
    for k in &held {
        put(k, 10);
    }
    for (i, k) in busy.iter().enumerate() {
        put(k, 1000 - i as u64);
    }
    for k in &calm {
        put(k, 5000);
    }
    let entry_kib = stats::read_total(dir.path()).get(Counter::CacheSizeKibibyte) / 16;
    // Each directory's share: 4 entries, evicted down to 80%: 3.
    let limits = Limits {
        max_kib: 4 * entry_kib * 16,
        max_files: 0,
        multiple: 0.8,
        max_age_secs: None,
    };
    // Directory 0, with twice its share, held by another process.
    let holder = fs::File::open(stats::stats_path(dir.path(), 0)).unwrap();
    holder.lock().unwrap();
    let swept = enforce_if_needed(dir.path(), &limits, 0b111)
        .unwrap()
        .unwrap();
    assert_eq!((swept.files, swept.dirs), (2, 1));
    let alive = |keys: &[Key]| -> Vec<bool> {
        let path = |k| store.path(k, EntryKind::Result);
        keys.iter().map(|k| path(k).exists()).collect()
    };
    assert_eq!(alive(&busy), [false, false, true, true, true]);
    // Older, but within its share.
    assert_eq!(alive(&calm), [true; 3]);
    assert_eq!(alive(&held), [true; 8]);
}

#[test]
fn old_entries_in_a_held_shard_start_no_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let old = Key::of(b"old");
    store.put(&old, EntryKind::Result, b"x").unwrap();
    set_age(&store.path(&old, EntryKind::Result), 3 * 86400);
    let limits = Limits {
        max_kib: 0,
        max_files: 0,
        multiple: 0.8,
        max_age_secs: Some(86400),
    };
    let shard = old.as_bytes()[0] >> 4;
    assert_eq!(shard_need(dir.path(), &limits, shard), Need::Due);
    // Another process holds the entry's shard: no cleanup could remove
    // the entry, so none is started for it.
    let holder = fs::File::open(stats::stats_path(dir.path(), shard)).unwrap();
    holder.lock().unwrap();
    assert_eq!(shard_need(dir.path(), &limits, shard), Need::None);
    drop(holder);
    assert_eq!(shard_need(dir.path(), &limits, shard), Need::Due);
}

/// Keys whose entries land in shard `shard`.
fn keys_in_shard(shard: u8, n: usize) -> Vec<Key> {
    (0u32..)
        .map(|i| Key::of(&i.to_le_bytes()))
        .filter(|k| LocalStore::shard_of(k) == shard)
        .take(n)
        .collect()
}

fn counts(dir: &Path) -> (u64, u64, u64) {
    let t = stats::read_total(dir);
    (
        t.get(Counter::FilesInCache),
        t.get(Counter::MissInputsInCache),
        t.get(Counter::CacheSizeKibibyte),
    )
}

fn disk_kib_total(dir: &Path) -> u64 {
    (0..=255u8)
        .flat_map(|b| walk_bucket(dir, b).unwrap())
        .map(|f| f.kib)
        .sum()
}

#[test]
fn miss_inputs_are_counted_apart_by_stores_and_walks() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let keys: Vec<Key> = (0..6u8).map(|i| Key::of(&[i])).collect();
    for k in &keys[..3] {
        store.put(k, EntryKind::Result, b"r").unwrap();
    }
    for k in &keys[3..] {
        store.put(k, EntryKind::Inputs, b"x").unwrap();
    }
    let exact = |what: &str, files: u64, inputs: u64| {
        let kib = disk_kib_total(dir.path());
        assert_eq!(counts(dir.path()), (files, inputs, kib), "{what}");
    };
    exact("stored", 3, 3);
    store.put(&keys[3], EntryKind::Inputs, b"again").unwrap();
    store.remove(&keys[4], EntryKind::Inputs);
    exact("replaced and removed", 3, 2);
    let limits = Limits {
        max_kib: 0,
        max_files: 0,
        multiple: 0.9,
        max_age_secs: None,
    };
    full_cleanup(dir.path(), &limits, &mut || {}).unwrap();
    exact("-c", 3, 2);
    let all = Selection {
        older_than_secs: None,
        namespace: None,
    };
    let swept = evict_selected(dir.path(), &all, false, &mut || {}).unwrap();
    assert_eq!((swept.files, swept.inputs), (3, 2));
    exact("-C", 0, 0);
}

#[test]
fn max_files_counts_no_miss_inputs_which_go_by_last_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path());
    let keys = keys_in_shard(7, 20);
    // Result i and miss inputs i were last used 1000 - 10 i seconds ago,
    // the miss inputs 5 s before their result.
    for (i, k) in keys.iter().enumerate() {
        let ago = 1000 - 10 * i as u64;
        store.put(k, EntryKind::Result, b"r").unwrap();
        set_age(&store.path(k, EntryKind::Result), ago);
        store.put(k, EntryKind::Inputs, b"x").unwrap();
        set_age(&store.path(k, EntryKind::Inputs), ago + 5);
    }
    let limits = Limits {
        max_kib: 0,
        max_files: 10 * 16,
        multiple: 1.0,
        max_age_secs: None,
    };
    assert_eq!(shard_need(dir.path(), &limits, 7), Need::Due, "20 > 10");
    enforce_if_needed(dir.path(), &limits, 1 << 7)
        .unwrap()
        .unwrap();
    let alive = |kind| -> Vec<bool> { keys.iter().map(|k| store.path(k, kind).exists()).collect() };
    let newest_ten: Vec<bool> = (0..20).map(|i| i >= 10).collect();
    assert_eq!(alive(EntryKind::Result), newest_ten);
    assert_eq!(alive(EntryKind::Inputs), newest_ten);
    assert_eq!(counts(dir.path()).0, 10);
    assert_eq!(counts(dir.path()).1, 10);
    // Ten results and ten miss inputs: within the share, 10 files.
    assert_eq!(shard_need(dir.path(), &limits, 7), Need::None);
}

#[test]
fn a_shard_an_earlier_objcache_counted_is_counted_again() {
    for (shard, by_cleanup) in [(3u8, false), (9, true)] {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let keys = keys_in_shard(shard, 3);
        store.put(&keys[0], EntryKind::Result, b"r").unwrap();
        store.put(&keys[1], EntryKind::Inputs, b"x").unwrap();
        // What an objcache that counted miss inputs as files wrote.
        let kib = disk_kib_total(dir.path());
        let mut old = format!("cache_size_kibibyte {kib}\nfiles_in_cache 2\n");
        for (k, kind) in [(&keys[0], EntryKind::Result), (&keys[1], EntryKind::Inputs)] {
            let b = k.as_bytes()[0] & 0xf;
            let per = crate::files::disk_kib(&fs::metadata(store.path(k, kind)).unwrap());
            old.push_str(&format!(
                "bucket_{b:x}_kib {per}\nbucket_{b:x}_files 1\nbucket_{b:x}_oldest 1\n"
            ));
        }
        old.push_str("end\n");
        fs::write(stats::stats_path(dir.path(), shard), old).unwrap();
        assert_eq!(counts(dir.path()).0, 2, "as the earlier objcache left it");
        if by_cleanup {
            // A walk of another bucket of the shard counts all of it.
            let other = (shard << 4) | ((keys[0].as_bytes()[0] + 1) & 0xf);
            sweep_bucket(dir.path(), other, &mut |_: &WalkedFile| false, false).unwrap();
        } else {
            store.put(&keys[2], EntryKind::Result, b"r").unwrap();
        }
        let files = if by_cleanup { 1 } else { 2 };
        let kib = disk_kib_total(dir.path());
        assert_eq!(
            counts(dir.path()),
            (files, 1, kib),
            "by_cleanup {by_cleanup}"
        );
        // Counted once: the mark is kept.
        assert!(
            stats::read_shards(dir.path())[usize::from(shard)]
                .counters
                .inputs_apart
        );
    }
}

#[test]
fn a_cleanup_keeps_the_newest_memos_of_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    let compilers = dir.path().join("compilers");
    let digests = dir.path().join("digests");
    fs::create_dir_all(&compilers).unwrap();
    fs::create_dir_all(&digests).unwrap();
    // Memo i was written i hours ago: 0..MEMOS_KEPT are the newest.
    for i in 0..MEMOS_KEPT as u64 + 10 {
        let memo = compilers.join(format!("{i:064x}"));
        fs::write(&memo, [1u8; 32]).unwrap();
        set_age(&memo, 3600 * i);
    }
    fs::write(digests.join(format!("{:064x}", 1)), [2u8; 40]).unwrap();
    // A memo being written keeps its temp file.
    let temp = compilers.join(".objcache-tmp.live");
    fs::write(&temp, b"x").unwrap();
    set_age(&temp, 3600 * 1000);
    trim_memos(dir.path());
    let mut left: Vec<u64> = fs::read_dir(&compilers)
        .unwrap()
        .filter_map(|e| u64::from_str_radix(&e.unwrap().file_name().to_string_lossy(), 16).ok())
        .collect();
    left.sort();
    assert_eq!(left, (0..MEMOS_KEPT as u64).collect::<Vec<_>>());
    assert!(temp.exists());
    assert_eq!(fs::read_dir(&digests).unwrap().count(), 1);
}

#[test]
fn files_in_a_level1_directory_and_ccaches_count_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let level1 = dir.path().join("a");
    fs::create_dir_all(&level1).unwrap();
    for i in 0..10u64 {
        let file = level1.join(format!("result{i}R"));
        fs::write(&file, [b'A'; 4017]).unwrap();
        set_age(&file, 100 - i);
    }
    for name in ["stats", "CACHEDIR.TAG", ".nfs0123"] {
        fs::write(level1.join(name), b"0 0 0 0 0 0 0 0 0 0 0 10 40\n").unwrap();
    }
    // Not walked yet: ccache's file says what the directory holds.
    let limits = Limits {
        max_kib: 0,
        max_files: 7 * 16,
        multiple: 0.9,
        max_age_secs: None,
    };
    assert_eq!(counts(dir.path()).0, 10);
    assert_eq!(shard_need(dir.path(), &limits, 0xa), Need::Due);
    // `-c`: down to the share itself, the oldest first; the walk counts.
    let swept = full_cleanup(dir.path(), &limits, &mut || {}).unwrap();
    assert_eq!((swept.files, swept.dirs), (3, 1));
    let left: Vec<bool> = (0..10)
        .map(|i| level1.join(format!("result{i}R")).exists())
        .collect();
    assert_eq!(
        left,
        [false, false, false, true, true, true, true, true, true, true]
    );
    assert_eq!(counts(dir.path()), (7, 0, disk_kib_total(dir.path())));
    assert!(level1.join("stats").exists() && level1.join(".nfs0123").exists());
    assert_eq!(
        stats::read_total(dir.path()).get(Counter::CleanupsPerformed),
        1
    );
}

#[test]
fn shares_split_the_limits_sixteen_ways() {
    let limits = Limits {
        max_kib: 256,
        max_files: 18,
        multiple: 0.9,
        max_age_secs: None,
    };
    let shares: Vec<Share> = (0..16).map(|x| limits.share(x)).collect();
    assert!(shares.iter().all(|s| s.kib == Some(16)));
    let files = |s: &Share| s.files.unwrap();
    assert_eq!(shares.iter().map(files).sum::<u64>(), 18);
    assert_eq!(
        (files(&shares[0]), files(&shares[1]), files(&shares[2])),
        (2, 2, 1)
    );
    // Under 16 files: some directories keep none, and the sum holds.
    let few = Limits {
        max_files: 5,
        ..limits.clone()
    };
    assert_eq!(few.share(4).files, Some(1));
    assert_eq!(few.share(5).files, Some(0));
    let none = Limits {
        max_kib: 0,
        max_files: 0,
        ..limits
    };
    assert_eq!((none.share(3).kib, none.share(3).files), (None, None));
}
