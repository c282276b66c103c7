//! Remembered digests of large inputs that rarely change (precompiled
//! headers), so a hit does not hash tens of megabytes each time:
//! `<cache_dir>/digests/<BLAKE3 of the path>` holds the file's identity
//! (size, mtime, ctime, inode, device) and its digest. One file per path,
//! so the directory stays as small as the set of such inputs.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Only files unchanged for this long are remembered: a write within the
/// same timestamp tick as the `stat` could otherwise go unnoticed.
const SETTLED_NS: i64 = 2_000_000_000;

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
pub fn file_digest(path: &Path, cache_dir: &Path, now_ns: i64) -> io::Result<[u8; 32]> {
    let absolute = std::path::absolute(path)?;
    let before = fs::metadata(&absolute)?;
    let id = identity(&before);
    let memo = cache_dir.join("digests").join(
        blake3::hash(absolute.as_os_str().as_encoded_bytes())
            .to_hex()
            .as_str(),
    );
    // Anything but a small regular file (a FIFO, a link to /dev/zero) is
    // not read, and replaced below.
    if let Ok(stored) = crate::files::read_cache_file_bounded(&memo, crate::files::MAX_MEMO_FILE) {
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
    let changed_ns = |m: &fs::Metadata| {
        crate::clock::file_time_ns(m.mtime(), m.mtime_nsec())
            .max(crate::clock::file_time_ns(m.ctime(), m.ctime_nsec()))
    };
    if identity(&after) == id && changed_ns(&after) < now_ns - SETTLED_NS {
        let mut record = id.into_bytes();
        record.push(b'\n');
        record.extend_from_slice(&digest);
        // Best effort: a read-only cache hashes again next time.
        if fs::create_dir_all(memo.parent().unwrap()).is_ok() {
            let _ = crate::files::atomic_write(&memo, &record);
        }
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_settled_files_and_notices_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.gch");
        fs::write(&file, b"one").unwrap();
        let cache = dir.path().join("cache");
        let now = crate::clock::now_ns() as i64;
        // Just written: hashed, not remembered.
        assert_eq!(
            file_digest(&file, &cache, now).unwrap(),
            *blake3::hash(b"one").as_bytes()
        );
        assert!(!cache.join("digests").exists());
        // Settled: remembered, and the memo is used.
        let later = now + 3 * SETTLED_NS;
        file_digest(&file, &cache, later).unwrap();
        let memo = fs::read_dir(cache.join("digests"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut record = fs::read(&memo).unwrap();
        let n = record.len();
        record[n - 32..].copy_from_slice(&[7u8; 32]);
        fs::write(&memo, &record).unwrap();
        assert_eq!(file_digest(&file, &cache, later).unwrap(), [7u8; 32]);
        // Rewritten: its identity changed, so it is hashed again.
        fs::write(&file, b"two").unwrap();
        assert_eq!(
            file_digest(&file, &cache, later).unwrap(),
            *blake3::hash(b"two").as_bytes()
        );
    }
}
