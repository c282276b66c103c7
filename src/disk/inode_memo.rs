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
//! for good, on this machine while its clock runs forward. Another boot
//! or machine (a cache restored onto a new CI container, whose fresh
//! checkout may get the same device and inode numbers, with stamps of a
//! clock that is not ours) proves nothing: the check word is keyed with
//! the kernel's boot id, so there every slot reads as a miss.

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
        match names {
            Some(names) => Identity::tagged(meta, Some((b"names", names))),
            None => Identity::tagged(meta, None),
        }
    }

    /// The identities of a source file's digest and of its facts
    /// (`hash::source`) on the file system `fs_id` names
    /// (`source_fs_id`): two images mounted in turn on one loop device
    /// show the same device, inode and stamps for files that differ.
    pub fn of_source(meta: &fs::Metadata, fs_id: SourceFs) -> [Identity; 2] {
        let mut extra = [0; 32];
        extra[..8].copy_from_slice(&fs_id.fs.to_le_bytes());
        extra[8..16].copy_from_slice(&fs_id.mount.to_le_bytes());
        [
            Identity::tagged(meta, Some((b"texts", &extra))),
            Identity::tagged(meta, Some((b"facts", &extra))),
        ]
    }

    fn tagged(meta: &fs::Metadata, extra: Option<(&[u8; 5], &[u8; 32])>) -> Identity {
        // The derived key's state is made once per process: every header
        // of a lookup needs one.
        static IDENTITY: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
        let mut h = IDENTITY
            .get_or_init(|| blake3::Hasher::new_derive_key("objcache inode memo identity v1"))
            .clone();
        let mut fields = [0u8; 6 * 8 + 5 + 32];
        let numbers = [meta.dev(), meta.ino(), meta.size(), meta.mode() as u64];
        let times = [
            crate::clock::file_time_ns(meta.mtime(), meta.mtime_nsec()),
            crate::clock::file_time_ns(meta.ctime(), meta.ctime_nsec()),
        ];
        let words = numbers
            .iter()
            .map(|n| n.to_le_bytes())
            .chain(times.iter().map(|t| t.to_le_bytes()));
        for (i, w) in words.enumerate() {
            fields[i * 8..i * 8 + 8].copy_from_slice(&w);
        }
        let mut len = 6 * 8;
        if let Some((tag, extra)) = extra {
            fields[len..len + 5].copy_from_slice(tag);
            fields[len + 5..].copy_from_slice(extra);
            len = fields.len();
        }
        h.update(&fields[..len]);
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

fn check_word(check_key: &[u8; 32], key: &[u8], digest: &[u8]) -> [u8; 8] {
    let mut h = blake3::Hasher::new_keyed(check_key);
    h.update(key);
    h.update(digest);
    let mut word = [0; 8];
    h.finalize_xof().fill(&mut word);
    word
}

fn slot_bytes(id: &Identity, digest: &[u8; 32], check_key: &[u8; 32]) -> [u8; SLOT] {
    let mut slot = [0; SLOT];
    slot[..KEY_LEN].copy_from_slice(&id.0);
    slot[KEY_LEN..KEY_LEN + 32].copy_from_slice(digest);
    slot[KEY_LEN + 32..].copy_from_slice(&check_word(check_key, &id.0, digest));
    slot
}

/// The key and digest of a slot, if its check word holds.
fn read_slot<'s>(slot: &'s [u8], check_key: &[u8; 32]) -> Option<(&'s [u8], [u8; 32])> {
    let (key, rest) = slot.split_at(KEY_LEN);
    let (digest, check) = rest.split_at(32);
    (check_word(check_key, key, digest) == check).then(|| (key, digest.try_into().unwrap()))
}

/// Where the kernel tells this boot's random id.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// The check words' key for the boot `boot_id_path` names; `None` when it
/// cannot be read (no `/proc`): then no slot could be told from another
/// boot's, and the memo is not used.
fn boot_check_key(boot_id_path: &Path) -> Option<[u8; 32]> {
    let mut id = [0; 64];
    let file = fs::File::open(boot_id_path).ok()?;
    let n = file.read_at(&mut id, 0).ok()?;
    let id = id[..n].trim_ascii();
    (id.len() >= 16).then(|| blake3::derive_key("objcache inode memo check v2", id))
}

/// The memo of one call, opened on first use.
pub struct InodeMemo {
    path: PathBuf,
    /// The cache may be written: a missing or unusable file is replaced,
    /// and new digests are remembered.
    writable: bool,
    boot_id_path: PathBuf,
    /// The memo once opened; `None`: no usable memo this call.
    file: OnceCell<Option<Opened>>,
}

struct Opened {
    file: fs::File,
    /// Opened for writing.
    write: bool,
    /// This boot's key for check words.
    check_key: [u8; 32],
}

impl InodeMemo {
    pub fn new(cache_dir: &Path, writable: bool) -> InodeMemo {
        InodeMemo {
            path: cache_dir.join(FILE_NAME),
            writable,
            boot_id_path: BOOT_ID.into(),
            file: OnceCell::new(),
        }
    }

    /// The digest remembered for `id`, if a slot holds one.
    pub fn recall(&self, id: &Identity) -> Option<[u8; 32]> {
        let (bucket, check_key) = self.read_bucket(id)?;
        // The key first: a check word costs a keyed hash, and most slots
        // of a bucket hold other keys.
        bucket
            .chunks(SLOT)
            .filter(|slot| slot[..KEY_LEN] == id.0)
            .find_map(|slot| read_slot(slot, &check_key).map(|(_, digest)| digest))
    }

    /// Remembers `digest` for `id` (best effort): in the slot that holds
    /// `id` already, else an empty or unreadable one, else one chosen by
    /// the key.
    pub fn remember(&self, id: &Identity, digest: &[u8; 32]) {
        let Some(Opened {
            file,
            write: true,
            check_key,
        }) = self.file()
        else {
            return;
        };
        let Some((bucket, _)) = self.read_bucket(id) else {
            return;
        };
        let slots: Vec<Option<&[u8]>> = bucket
            .chunks(SLOT)
            .map(|s| read_slot(s, check_key).map(|(key, _)| key))
            .collect();
        let way = slots
            .iter()
            .position(|k| *k == Some(&id.0[..]))
            .or_else(|| slots.iter().position(Option::is_none))
            .unwrap_or(usize::from(id.0[8]) % WAYS);
        let at = id.bucket_offset() + (way * SLOT) as u64;
        let _ = file.write_all_at(&slot_bytes(id, digest, check_key), at);
    }

    /// The bucket `id` falls in, and the key its check words must have.
    fn read_bucket(&self, id: &Identity) -> Option<([u8; BUCKET], [u8; 32])> {
        let opened = self.file()?;
        let mut bucket = [0; BUCKET];
        opened
            .file
            .read_exact_at(&mut bucket, id.bucket_offset())
            .ok()?;
        Some((bucket, opened.check_key))
    }

    fn file(&self) -> Option<&Opened> {
        self.file.get_or_init(|| self.open()).as_ref()
    }

    /// The memo file, if it is usable: a regular file of exactly `SIZE`
    /// bytes, not a link (a hard link could make the slots land in any
    /// file of the user's), on a local file system. When the cache may be
    /// written, anything else in its place (missing, a FIFO, a symlink,
    /// truncated) is replaced by a new, empty memo.
    fn open(&self) -> Option<Opened> {
        let check_key = boot_check_key(&self.boot_id_path)?;
        let (file, write) = match self.open_existing() {
            Some(open) => open,
            None if self.writable => {
                self.replace().ok()?;
                self.open_existing()?
            }
            None => return None,
        };
        Some(Opened {
            file,
            write,
            check_key,
        })
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

/// Where a source's identity names its content for good (`source_fs_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceFs {
    /// The file system's id (`statfs`'s `f_fsid`).
    pub fs: u64,
    /// On an overlay, the mount's id, never given to another mount in
    /// this boot (`STATX_MNT_ID_UNIQUE`); 0 elsewhere.
    pub mount: u64,
}

const OVERLAYFS: i64 = 0x794C7630;

/// The id of the file system `file` is on, if a file's identity there
/// names its content for good: a local file system whose kernel stamps
/// each write by this machine's clock. Not an image format that keeps the
/// stamps it was built with and numbers inodes by their order (squashfs,
/// erofs, iso9660), nor a network or FUSE one (another machine's clock,
/// attributes cached apart from the content), nor one not known. Its id
/// tells apart images with their own UUIDs mounted in turn on one loop
/// device. An overlay shows the inode numbers and stamps of its lower
/// layers, which may be such images (a reproducible ext4 image, composefs'
/// erofs), under an id of its own that stays when a lower layer is
/// swapped (kept with its upper directory): there the mount tells them
/// apart, and without a mount id that is never reused (Linux before 6.8)
/// the identity is not trusted.
pub fn source_fs_id(file: &fs::File) -> Option<SourceFs> {
    use std::os::fd::AsRawFd;
    // SAFETY: fstatfs writes into the struct we own, for an fd we hold.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } != 0 {
        return None;
    }
    // SAFETY: fsid_t is two C ints (its fields are private in libc).
    let fsid: [libc::c_int; 2] = unsafe { std::mem::transmute(st.f_fsid) };
    let fs = (u64::from(fsid[0] as u32) << 32) | u64::from(fsid[1] as u32);
    let f_type = st.f_type as i64;
    if !stamps_by_this_kernel(f_type) {
        return None;
    }
    let mount = match f_type {
        OVERLAYFS => unique_mount_id(file)?,
        _ => 0,
    };
    Some(SourceFs { fs, mount })
}

/// The id of the mount `file` was opened through, if the kernel gives
/// one that no other mount gets in this boot.
fn unique_mount_id(file: &fs::File) -> Option<u64> {
    use std::os::fd::AsRawFd;
    // SAFETY: statx writes into the struct we own, for an fd we hold and
    // an empty path (AT_EMPTY_PATH: the fd itself).
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let flags = libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC;
    let mask = libc::STATX_MNT_ID_UNIQUE;
    if unsafe { libc::statx(file.as_raw_fd(), c"".as_ptr(), flags, mask, &mut stx) } != 0 {
        return None;
    }
    (stx.stx_mask & mask != 0).then_some(stx.stx_mnt_id)
}

/// Does a file system of this `f_type` stamp every change with this
/// kernel's clock (so that a ctime is never repeated for another content)?
fn stamps_by_this_kernel(f_type: i64) -> bool {
    const KNOWN: [i64; 8] = [
        0xEF53,     // ext2, ext3, ext4
        0x58465342, // XFS
        0x9123683E, // Btrfs
        0x01021994, // tmpfs
        OVERLAYFS,  // overlayfs
        0x2FC12FC1, // ZFS
        0xF2F52010, // F2FS
        0xCA451A4E, // bcachefs
    ];
    KNOWN.contains(&f_type)
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
