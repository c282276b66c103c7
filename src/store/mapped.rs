//! Bytes of a stored file, mapped from the page cache instead of copied.
//!
//! A hit reads a result of a few hundred KiB; `read` copies it into fresh
//! anonymous memory (a page fault per page, then a copy), which cost more
//! than hashing it. A private read-only mapping shares the page cache's pages.
//!
//! Only files on local file systems are mapped (see `local_file_system`).
//! Mapping a file is safe only if no one shortens it while it is mapped
//! (touching a page past the end raises SIGBUS). Stored files are never
//! written in place: writers rename complete files over them and cleanup
//! unlinks them, and both leave an existing mapping intact. A page the kernel
//! could not read in (an I/O error) would also raise SIGBUS, so the mapping
//! is used only when every page is resident after `MAP_POPULATE`; otherwise
//! the file is read the ordinary way and an error surfaces as an `io::Error`.
//! (A page reclaimed after that check and unreadable when touched again
//! remains possible: a disk failing within the milliseconds of a hit.)

use std::fs;
use std::io::{self, Read};
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Below this a plain read is as cheap as setting up a mapping.
const MAP_THRESHOLD: u64 = 64 * 1024;

pub enum EntryBytes {
    Owned(Vec<u8>),
    Mapped(Mapping),
}

pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Deref for EntryBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            EntryBytes::Owned(v) => v,
            // SAFETY: `ptr` maps `len` readable bytes until the mapping drops,
            // and the file is never shortened (module comment).
            EntryBytes::Mapped(m) => unsafe {
                std::slice::from_raw_parts(m.ptr as *const u8, m.len)
            },
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the region was returned by mmap with this length.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

/// Reads the whole file at `path`, a cache file (see `open_cache_file`)
/// that must start with `magic` when one is given: anything else (a huge
/// sparse file planted there) is refused before it is read.
pub fn read(path: &Path, magic: Option<&[u8; 4]>) -> io::Result<EntryBytes> {
    let (mut file, len) = crate::files::open_cache_file(path)?;
    if let Some(magic) = magic {
        use std::os::unix::fs::FileExt;
        let mut start = [0u8; 4];
        let n = file.read_at(&mut start, 0)?;
        if n < 4 || &start != magic {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not an objcache entry",
            ));
        }
    }
    if len >= MAP_THRESHOLD && len <= usize::MAX as u64 && local_file_system(&file) {
        if let Some(m) = map(&file, len as usize) {
            return Ok(EntryBytes::Mapped(m));
        }
    }
    let mut v = Vec::with_capacity(len as usize);
    (&mut file)
        .take(crate::files::MAX_CACHE_FILE)
        .read_to_end(&mut v)?;
    Ok(EntryBytes::Owned(v))
}

/// File systems where a mapped page that was read can be read again: on a
/// network or FUSE file system another host removing the file can fail a
/// page fault (ESTALE), which would be a SIGBUS instead of a miss.
fn local_file_system(file: &fs::File) -> bool {
    const EXT4: i64 = 0xEF53;
    const XFS: i64 = 0x5846_5342;
    const BTRFS: i64 = 0x9123_683E;
    const TMPFS: i64 = 0x0102_1994;
    const F2FS: i64 = 0xF2F5_2010;
    const OVERLAYFS: i64 = 0x794C_7630;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: fstatfs fills `st` for an open descriptor.
    if unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: initialised by the successful call above.
    // The field's integer type differs between architectures.
    #[allow(clippy::unnecessary_cast)]
    let kind = unsafe { st.assume_init() }.f_type as i64;
    [EXT4, XFS, BTRFS, TMPFS, F2FS, OVERLAYFS].contains(&kind)
}

fn map(file: &fs::File, len: usize) -> Option<Mapping> {
    // SAFETY: a fresh private read-only mapping of an open file; checked below.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_POPULATE,
            file.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return None;
    }
    let mapping = Mapping { ptr, len };
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let mut resident = vec![0u8; len.div_ceil(page.max(1))];
    // SAFETY: `resident` has one byte per page of the mapping.
    let ok = unsafe { libc::mincore(ptr, len, resident.as_mut_ptr()) } == 0;
    (ok && resident.iter().all(|r| r & 1 == 1)).then_some(mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_files_are_mapped_small_ones_read() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        fs::write(dir.path().join("big"), &big).unwrap();
        fs::write(dir.path().join("small"), b"abc").unwrap();
        let got = read(&dir.path().join("big"), None).unwrap();
        let local = local_file_system(&fs::File::open(dir.path()).unwrap());
        assert_eq!(matches!(got, EntryBytes::Mapped(_)), local);
        assert_eq!(&got[..], &big[..]);
        let got = read(&dir.path().join("small"), None).unwrap();
        assert!(matches!(got, EntryBytes::Owned(_)));
        assert_eq!(&got[..], b"abc");
        assert!(read(&dir.path().join("absent"), None).is_err());
        assert_eq!(
            read(&dir.path().join("small"), Some(b"OCRS"))
                .err()
                .map(|e| e.kind()),
            Some(io::ErrorKind::InvalidData)
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert_eq!(
            read(&link, None).err().map(|e| e.kind()),
            Some(io::ErrorKind::InvalidData)
        );
    }
}
