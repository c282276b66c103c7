use super::*;

const K: [u8; 32] = [3; 32];

fn identity_of(path: &Path) -> Identity {
    Identity::of(&fs::metadata(path).unwrap(), None)
}

#[test]
fn remembers_and_recalls_by_identity() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h.h");
    fs::write(&file, "int x;\n").unwrap();
    let memo = InodeMemo::new(dir.path(), true);
    let id = identity_of(&file);
    assert_eq!(memo.recall(&id), None);
    memo.remember(&id, &[7; 32]);
    assert_eq!(memo.recall(&id), Some([7; 32]));
    assert_eq!(
        fs::metadata(dir.path().join(FILE_NAME)).unwrap().len(),
        SIZE
    );
    // Another call sees it; a rewrite gives another identity.
    assert_eq!(InodeMemo::new(dir.path(), false).recall(&id), Some([7; 32]));
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&file, "int y;\n").unwrap();
    assert_eq!(memo.recall(&identity_of(&file)), None);
    // A directory's names are part of its identity.
    let names = |n: &[u8]| *blake3::hash(n).as_bytes();
    let meta = fs::metadata(dir.path()).unwrap();
    memo.remember(&Identity::of(&meta, Some(&names(b"a"))), &names(b"a"));
    assert_eq!(memo.recall(&Identity::of(&meta, Some(&names(b"b")))), None);
}

#[test]
fn a_torn_slot_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let memo = InodeMemo::new(dir.path(), true);
    let meta = fs::metadata(dir.path()).unwrap();
    let one = Identity::of(&meta, Some(&[1; 32]));
    let two = Identity::of(&meta, Some(&[2; 32]));
    // The key of one write with the digest and check word of another.
    let a = slot_bytes(&one, &[0xaa; 32], &K);
    let b = slot_bytes(&two, &[0xbb; 32], &K);
    let mut torn = a;
    torn[KEY_LEN..].copy_from_slice(&b[KEY_LEN..]);
    assert!(read_slot(&a, &K).is_some() && read_slot(&torn, &K).is_none());
    // Key and check word of one, digest of another.
    let mut torn = a;
    torn[KEY_LEN..KEY_LEN + 32].copy_from_slice(&b[KEY_LEN..KEY_LEN + 32]);
    assert!(read_slot(&torn, &K).is_none());
    memo.remember(&one, &[0xaa; 32]);
    let file = &memo.file().unwrap().file;
    let mut bucket = [0; BUCKET];
    file.read_exact_at(&mut bucket, one.bucket_offset())
        .unwrap();
    let at = bucket
        .chunks(SLOT)
        .position(|s| s[..KEY_LEN] == one.0)
        .unwrap();
    let slot_at = one.bucket_offset() + (at * SLOT) as u64;
    file.write_all_at(&[0xbb; 16], slot_at + KEY_LEN as u64)
        .unwrap();
    assert_eq!(memo.recall(&one), None);
}

#[test]
fn a_full_bucket_keeps_the_newest_and_recalls_no_other_key() {
    let dir = tempfile::tempdir().unwrap();
    let memo = InodeMemo::new(dir.path(), true);
    let meta = fs::metadata(dir.path()).unwrap();
    // Identities of one bucket, more than it has ways.
    let ids: Vec<Identity> = (0u32..)
        .map(|i| Identity::of(&meta, Some(blake3::hash(&i.to_le_bytes()).as_bytes())))
        .filter(|id| id.bucket_offset() == 0)
        .take(WAYS + 2)
        .collect();
    for (i, id) in ids.iter().enumerate() {
        memo.remember(id, &[i as u8; 32]);
        assert_eq!(memo.recall(id), Some([i as u8; 32]));
    }
    let kept = ids.iter().filter(|id| memo.recall(id).is_some()).count();
    assert_eq!(kept, WAYS);
    for (i, id) in ids.iter().enumerate() {
        assert!(memo.recall(id).is_none_or(|d| d == [i as u8; 32]));
    }
}

#[test]
fn anything_but_a_memo_file_is_replaced_or_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let meta = fs::metadata(dir.path()).unwrap();
    let id = Identity::of(&meta, None);
    let fifo = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::write(&elsewhere, vec![0u8; SIZE as usize]).unwrap();
    let plant: [(&str, &dyn Fn()); 5] = [
        ("fifo", &|| {
            assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0)
        }),
        ("symlink", &|| {
            std::os::unix::fs::symlink(&elsewhere, &path).unwrap()
        }),
        ("truncated", &|| fs::write(&path, b"short").unwrap()),
        ("hard link", &|| fs::hard_link(&elsewhere, &path).unwrap()),
        ("garbage", &|| {
            let noise: Vec<u8> = (0..SIZE).map(|i| ((i * 2654435761) >> 13) as u8).collect();
            fs::write(&path, noise).unwrap()
        }),
    ];
    for (what, plant) in plant {
        let _ = fs::remove_file(&path);
        plant();
        // Read-only: never written, nothing recalled.
        let memo = InodeMemo::new(dir.path(), false);
        assert_eq!(memo.recall(&id), None, "{what}");
        memo.remember(&id, &[1; 32]);
        assert_eq!(memo.recall(&id), None, "{what}");
        // Writable: replaced (the garbage file is kept: it is a memo of misses).
        let memo = InodeMemo::new(dir.path(), true);
        assert_eq!(memo.recall(&id), None, "{what}");
        memo.remember(&id, &[1; 32]);
        assert_eq!(memo.recall(&id), Some([1; 32]), "{what}");
        let m = fs::symlink_metadata(&path).unwrap();
        assert!(m.is_file() && m.len() == SIZE && m.nlink() == 1, "{what}");
    }
    assert_eq!(fs::read(&elsewhere).unwrap(), vec![0u8; SIZE as usize]);
    // A directory in its place: no memo, no trouble.
    fs::remove_file(&path).unwrap();
    fs::create_dir(&path).unwrap();
    let memo = InodeMemo::new(dir.path(), true);
    memo.remember(&id, &[1; 32]);
    assert_eq!(memo.recall(&id), None);
}

/// A memo opened with the boot id in `boot_id`.
fn memo_of_boot(dir: &Path, boot_id: &Path) -> InodeMemo {
    InodeMemo {
        boot_id_path: boot_id.to_path_buf(),
        ..InodeMemo::new(dir, true)
    }
}

#[test]
fn another_boots_memo_recalls_nothing_and_is_overwritten_first() {
    let dir = tempfile::tempdir().unwrap();
    let boot = |name: &str, id: &str| {
        let path = dir.path().join(name);
        fs::write(&path, format!("{id}\n")).unwrap();
        path
    };
    let one = boot("one", "2f4c612d-d225-4d35-9bfd-3e2fed264d76");
    let two = boot("two", "7a1e0c55-0d1b-4b8e-9d6f-3e2fed264d76");
    let meta = fs::metadata(dir.path()).unwrap();
    let ids: Vec<Identity> = (0u32..)
        .map(|i| Identity::of(&meta, Some(blake3::hash(&i.to_le_bytes()).as_bytes())))
        .filter(|id| id.bucket_offset() == 0)
        .take(WAYS)
        .collect();
    let memo = memo_of_boot(dir.path(), &one);
    for id in &ids {
        memo.remember(id, &[1; 32]);
    }
    let again = memo_of_boot(dir.path(), &one);
    assert!(ids.iter().all(|id| again.recall(id) == Some([1; 32])));
    // Another boot (or a memo restored from another machine): every slot
    // is a miss, and a full bucket of them takes this boot's entries
    // without evicting each other.
    let other = memo_of_boot(dir.path(), &two);
    assert!(ids.iter().all(|id| other.recall(id).is_none()));
    for id in &ids {
        other.remember(id, &[2; 32]);
    }
    assert!(ids.iter().all(|id| other.recall(id) == Some([2; 32])));
    // No boot id (no /proc): no memo.
    let unknown = memo_of_boot(dir.path(), &dir.path().join("missing"));
    unknown.remember(&ids[0], &[3; 32]);
    assert!(unknown.recall(&ids[0]).is_none());
    assert!(memo_of_boot(dir.path(), &boot("short", "x"))
        .recall(&ids[0])
        .is_none());
}

/// The identity is the derived-key BLAKE3 of its fields in order, as
/// docs/formats.md says, however it is fed: memos written by earlier
/// versions stay readable.
#[test]
fn the_identity_is_the_documented_stream() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let meta = std::fs::metadata(dir.path()).unwrap();
    let names = [7u8; 32];
    for names in [None, Some(&names)] {
        let mut h = blake3::Hasher::new_derive_key("objcache inode memo identity v1");
        for n in [meta.dev(), meta.ino(), meta.size(), meta.mode() as u64] {
            h.update(&n.to_le_bytes());
        }
        for t in [
            crate::clock::file_time_ns(meta.mtime(), meta.mtime_nsec()),
            crate::clock::file_time_ns(meta.ctime(), meta.ctime_nsec()),
        ] {
            h.update(&t.to_le_bytes());
        }
        if let Some(names) = names {
            h.update(b"names");
            h.update(names);
        }
        let mut key = [0; KEY_LEN];
        h.finalize_xof().fill(&mut key);
        assert_eq!(Identity::of(&meta, names).0, key);
    }
}

/// A source's identity is trusted only where this kernel stamps every
/// write: not on image formats that keep their build's stamps, nor on
/// network or FUSE file systems, nor on ones not known.
#[test]
fn a_source_identity_is_trusted_only_where_the_kernel_stamps_writes() {
    for local in [0xEF53, 0x58465342, 0x9123683E, 0x01021994, 0x794C7630] {
        assert!(stamps_by_this_kernel(local), "{local:#x}");
    }
    let others = [
        0x73717368, // squashfs
        0xE0F5E1E2, // erofs
        0x9660,     // iso9660
        0x6969,     // NFS
        0x65735546, // FUSE
        0xFF534D42, // CIFS
        0x4d44,     // FAT
        0,
    ];
    for other in others {
        assert!(!stamps_by_this_kernel(other), "{other:#x}");
    }
}
