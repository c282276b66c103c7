//! Remembered digests of large inputs that rarely change (precompiled
//! headers), so a hit does not hash tens of megabytes each time: the memo
//! (`key::DigestMemo`, kept by the storage as `digests/<BLAKE3 of the
//! path>`) holds the file's identity (size, mtime, ctime, inode, device)
//! and its digest. One memo per path, so they stay as few as such inputs.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::key::{DigestMemo, MemoKind};

fn identity(m: &fs::Metadata) -> String {
    format!(
        "{} {}.{} {}.{} {} {}",
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.ino(),
        m.dev()
    )
}

/// The BLAKE3 digest of `path`'s content (absolute, or relative to the
/// working directory), from the memo when the file is the one it describes.
/// Only a file whose stamps are settled at `coarse_start_ns` (the call's
/// start by the coarse clock, see `clock::stamp_settled`) is remembered: a
/// write later in the same timestamp tick would leave its identity as it was.
pub fn file_digest(
    path: &Path,
    memo: &dyn DigestMemo,
    coarse_start_ns: i64,
) -> io::Result<[u8; 32]> {
    let absolute = std::path::absolute(path)?;
    let before = fs::metadata(&absolute)?;
    let id = identity(&before);
    let memo_id = absolute.as_os_str().as_encoded_bytes();
    if let Some(stored) = memo.recall(MemoKind::FileDigest, memo_id) {
        if let Some(digest) = stored
            .strip_prefix(id.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"\n"))
            .and_then(|d| <[u8; 32]>::try_from(d).ok())
        {
            return Ok(digest);
        }
    }
    let digest = crate::key::hash_file_content(&absolute)?;
    let after = fs::metadata(&absolute)?;
    if identity(&after) == id && super::inode_memo::settled(&after, coarse_start_ns) {
        let mut content = id.into_bytes();
        content.push(b'\n');
        content.extend_from_slice(&digest);
        memo.remember(MemoKind::FileDigest, memo_id, &content);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::LocalStore;

    fn ctime_ns(path: &Path) -> i64 {
        let m = fs::metadata(path).unwrap();
        crate::clock::file_time_ns(m.ctime(), m.ctime_nsec())
    }

    fn memos(cache: &Path) -> usize {
        fs::read_dir(cache.join("digests")).map_or(0, |d| d.count())
    }

    #[test]
    fn remembers_settled_files_and_notices_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.gch");
        fs::write(&file, b"one").unwrap();
        let cache = dir.path().join("cache");
        let memo = LocalStore::new(&cache);
        // Written in the tick of the start: hashed, not remembered.
        let start = ctime_ns(&file);
        assert_eq!(
            file_digest(&file, &memo, start).unwrap(),
            *blake3::hash(b"one").as_bytes()
        );
        assert_eq!(memos(&cache), 0);
        // Settled: remembered, and the memo is used.
        let later = start + 3_000_000_000;
        file_digest(&file, &memo, later).unwrap();
        let memo_file = fs::read_dir(cache.join("digests"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut content = fs::read(&memo_file).unwrap();
        let n = content.len();
        content[n - 32..].copy_from_slice(&[7u8; 32]);
        fs::write(&memo_file, &content).unwrap();
        assert_eq!(file_digest(&file, &memo, later).unwrap(), [7u8; 32]);
        // Rewritten: its identity changed, so it is hashed again.
        fs::write(&file, b"two").unwrap();
        assert_eq!(
            file_digest(&file, &memo, later).unwrap(),
            *blake3::hash(b"two").as_bytes()
        );
    }

    #[test]
    fn a_whole_second_stamp_is_not_remembered_within_its_second() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let memo = LocalStore::new(&cache);
        let file = dir.path().join("p.gch");
        fs::write(&file, b"one").unwrap();
        // An mtime as a file system with 1-second stamps writes it, and a
        // ctime in the same second (again if the second ended meanwhile).
        let second_ns = loop {
            let second = crate::clock::now_secs();
            let whole = std::time::UNIX_EPOCH + std::time::Duration::from_secs(second);
            let f = fs::File::options().write(true).open(&file).unwrap();
            f.set_modified(whole).unwrap();
            let second_ns = second as i64 * 1_000_000_000;
            if ctime_ns(&file) / 1_000_000_000 == second as i64 {
                break second_ns;
            }
        };
        // Late in that second, after the (fine) ctime's tick.
        let late = second_ns + 999_999_999;
        assert!(crate::clock::stamp_settled(ctime_ns(&file), late));
        file_digest(&file, &memo, late).unwrap();
        assert_eq!(memos(&cache), 0, "remembered within the stamp's second");
        file_digest(&file, &memo, second_ns + 2_000_000_000).unwrap();
        assert_eq!(memos(&cache), 1);
    }
}
