//! The inode memo (ccache's `inode_cache`): one fixed-size file,
//! `<cache_dir>/inode-memo`, mapping a file's identity (device, inode,
//! size, mtime, ctime) to the BLAKE3 digest of its content, shared by every
//! checkout and call using the cache. A checkout elsewhere (a CI job's
//! fresh clone, a cache restored from a tarball) has other stamps than the
//! manifests record; its headers are hashed once and then recalled here,
//! and the manifests are never rewritten for it.
//!
//! The file is `BUCKETS` buckets of `WAYS` slots of 64 bytes: the identity
//! key (24 bytes), the digest (32) and a check word (8, a keyed BLAKE3 of
//! key and digest). A lookup reads one bucket, a new digest writes one
//! slot, with `pread`/`pwrite` (a mapping would fault if anyone truncated
//! the file). There are no locks: two writers may overwrite each other's
//! slot, and a slot torn by a concurrent write or filled with garbage
//! fails its check word and reads as a miss, never as a digest.
//!
//! A digest is remembered only for an identity whose stamps are settled
//! at the call's start (`clock::stamp_settled`): any later write stamps
//! the file with a later tick, so the identity then names this content
//! for good.

use std::cell::OnceCell;
use std::fs;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The memo's file name in the cache directory.
pub const FILE_NAME: &str = "inode-memo";
const SLOT: usize = 64;
const WAYS: usize = 4;
const BUCKET: usize = SLOT * WAYS;
/// 16384 buckets, 65536 slots: a large C++ build (LLVM with its system
/// and library headers) reads about 15 000 distinct headers per checkout.
const BUCKETS: u64 = 16384;
/// The file's exact size, 4 MiB. It is created sparse: it takes the disk
/// space of the slots written.
pub const SIZE: u64 = BUCKETS * BUCKET as u64;
const KEY_LEN: usize = 24;

/// What a slot's key stands for: a file's identity, or a directory's
/// identity together with the names looked for in it.
pub struct Identity([u8; KEY_LEN]);

impl Identity {
    /// The identity of the file or directory `meta` describes; `names`:
    /// for a directory, the digest of the names checked in it (a file has
    /// none).
    pub fn of(meta: &fs::Metadata, names: Option<&[u8; 32]>) -> Identity {
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
        Identity(key)
    }

    fn bucket_offset(&self) -> u64 {
        let n = u64::from_le_bytes(self.0[..8].try_into().unwrap());
        (n % BUCKETS) * BUCKET as u64
    }
}

/// May a digest taken of a file with `meta` be remembered at `coarse_start_ns`?
pub fn settled(meta: &fs::Metadata, coarse_start_ns: i64) -> bool {
    let settled = |t| crate::clock::stamp_settled(t, coarse_start_ns);
    settled(crate::clock::file_time_ns(meta.mtime(), meta.mtime_nsec()))
        && settled(crate::clock::file_time_ns(meta.ctime(), meta.ctime_nsec()))
}

/// Do two `stat`s describe the same, unchanged file?
pub fn same_identity(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    (a.dev(), a.ino(), a.size(), a.mode()) == (b.dev(), b.ino(), b.size(), b.mode())
        && (a.mtime(), a.mtime_nsec(), a.ctime(), a.ctime_nsec())
            == (b.mtime(), b.mtime_nsec(), b.ctime(), b.ctime_nsec())
}

fn check_word(key: &[u8], digest: &[u8]) -> [u8; 8] {
    let check_key = blake3::derive_key("objcache inode memo check v1", b"");
    let mut h = blake3::Hasher::new_keyed(&check_key);
    h.update(key);
    h.update(digest);
    let mut word = [0; 8];
    h.finalize_xof().fill(&mut word);
    word
}

fn slot_bytes(id: &Identity, digest: &[u8; 32]) -> [u8; SLOT] {
    let mut slot = [0; SLOT];
    slot[..KEY_LEN].copy_from_slice(&id.0);
    slot[KEY_LEN..KEY_LEN + 32].copy_from_slice(digest);
    slot[KEY_LEN + 32..].copy_from_slice(&check_word(&id.0, digest));
    slot
}

/// The key and digest of a slot, if its check word holds.
fn read_slot(slot: &[u8]) -> Option<(&[u8], [u8; 32])> {
    let (key, rest) = slot.split_at(KEY_LEN);
    let (digest, check) = rest.split_at(32);
    (check_word(key, digest) == check).then(|| (key, digest.try_into().unwrap()))
}

/// The memo of one call, opened on first use.
pub struct InodeMemo {
    path: PathBuf,
    /// The cache may be written: a missing or unusable file is replaced,
    /// and new digests are remembered.
    writable: bool,
    /// The open file and whether it was opened for writing; `None`: no
    /// usable memo this call.
    file: OnceCell<Option<(fs::File, bool)>>,
}

impl InodeMemo {
    pub fn new(cache_dir: &Path, writable: bool) -> InodeMemo {
        InodeMemo {
            path: cache_dir.join(FILE_NAME),
            writable,
            file: OnceCell::new(),
        }
    }

    /// The digest remembered for `id`, if a slot holds one.
    pub fn recall(&self, id: &Identity) -> Option<[u8; 32]> {
        let bucket = self.read_bucket(id)?;
        bucket.chunks(SLOT).find_map(|slot| match read_slot(slot) {
            Some((key, digest)) if key == id.0 => Some(digest),
            _ => None,
        })
    }

    /// Remembers `digest` for `id` (best effort): in the slot that holds
    /// `id` already, else an empty or unreadable one, else one chosen by
    /// the key.
    pub fn remember(&self, id: &Identity, digest: &[u8; 32]) {
        let Some((file, true)) = self.file() else {
            return;
        };
        let Some(bucket) = self.read_bucket(id) else {
            return;
        };
        let slots: Vec<Option<&[u8]>> = bucket
            .chunks(SLOT)
            .map(|s| read_slot(s).map(|(key, _)| key))
            .collect();
        let way = slots
            .iter()
            .position(|k| *k == Some(&id.0[..]))
            .or_else(|| slots.iter().position(Option::is_none))
            .unwrap_or(usize::from(id.0[8]) % WAYS);
        let at = id.bucket_offset() + (way * SLOT) as u64;
        let _ = file.write_all_at(&slot_bytes(id, digest), at);
    }

    fn read_bucket(&self, id: &Identity) -> Option<[u8; BUCKET]> {
        let (file, _) = self.file()?;
        let mut bucket = [0; BUCKET];
        file.read_exact_at(&mut bucket, id.bucket_offset()).ok()?;
        Some(bucket)
    }

    fn file(&self) -> Option<&(fs::File, bool)> {
        self.file.get_or_init(|| self.open()).as_ref()
    }

    /// The memo file, if it is usable: a regular file of exactly `SIZE`
    /// bytes, not a link (a hard link could make the slots land in any
    /// file of the user's), on a local file system. When the cache may be
    /// written, anything else in its place (missing, a FIFO, a symlink,
    /// truncated) is replaced by a new, empty memo.
    fn open(&self) -> Option<(fs::File, bool)> {
        if let Some(open) = self.open_existing() {
            return Some(open);
        }
        if !self.writable {
            return None;
        }
        self.replace().ok()?;
        self.open_existing()
    }

    fn open_existing(&self) -> Option<(fs::File, bool)> {
        let opened = match crate::files::open_cache_node_existing(&self.path, self.writable) {
            Ok(file) => Some((file, self.writable)),
            Err(e) if self.writable && e.kind() == io::ErrorKind::PermissionDenied => {
                crate::files::open_cache_node_existing(&self.path, false)
                    .ok()
                    .map(|f| (f, false))
            }
            Err(_) => None,
        };
        let (file, write) = opened?;
        let meta = file.metadata().ok()?;
        let usable = meta.is_file() && meta.len() == SIZE && meta.nlink() == 1 && is_local(&file);
        usable.then_some((file, write))
    }

    fn replace(&self) -> io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let temp = crate::files::temp_file_in(dir)?;
        temp.as_file().set_len(SIZE)?;
        temp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Is the file on a local file system? An inode number names one file
/// only on one machine: a cache shared over NFS or SMB by several machines
/// would let one machine's identity stand for another's file, so there the
/// memo is not used (as ccache's inode cache is not).
fn is_local(file: &fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: fstatfs writes into the struct we own, for an fd we hold.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
        return false;
    }
    const NETWORK: [i64; 9] = [
        0x6969,     // NFS
        0x517B,     // SMB
        0xFF534D42, // CIFS
        0xFE534D42, // SMB2
        0x73757245, // Coda
        0x5346414F, // AFS
        0x00C36400, // Ceph
        0x01021997, // 9p
        0x65735546, // FUSE (sshfs and the like)
    ];
    !NETWORK.contains(&(st.f_type as i64))
}

#[cfg(test)]
mod tests;
