//! Writing the call's outputs (object, `.d`) on a cache hit.

use std::fs;
use std::io::{self, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// An output of the call being written by a cache hit.
///
/// An existing plain file that no other process has open is overwritten
/// where it stands, its old tail cut off by `finish`. Replacing it instead
/// (a temp file renamed over it, or an unlink and a new file) costs ext4 a
/// new-inode search, freeing the old blocks and, for a rename over a file
/// or a truncation to zero, a forced writeback (`auto_da_alloc`): together
/// more than the rest of a hit.
///
/// A file that another process has open is replaced by a new one (unlinked,
/// then created), as a compiler replaces its output: a compile orphaned by
/// a killed call may still write into the file it opened, and a linker may
/// be reading the old object; neither may touch the object this hit
/// returns as complete. A file with other hard links (a `hard_link` hit
/// made it share a cache file, or a hard-linked copy of the tree) is
/// replaced too, so the other names keep their bytes.
///
/// The file is held under an exclusive `flock` from the moment it is claimed
/// until it is finished or abandoned, and claimed only if the name still
/// leads to the locked inode, so two hits writing the same output one after
/// the other each leave a whole object, never a mix of two.
///
/// A hit killed midway must not leave a file that looks whole: writing in
/// place over an older object of the same size would leave new bytes
/// followed by the old tail, an object a linker accepts. So the first
/// `HEAD` bytes (the ELF header, which says where everything else is) are
/// zeroed when the file is claimed and written only by `finish`, after the
/// rest: until then the file is rejected by the linker and by gcc's PCH
/// check, as GNU as's own partial output is. A new file starts as `HEAD`
/// zero bytes, never empty: ld takes an empty file as an empty input.
///
/// Until `finish`, the output is unconfirmed: dropped unfinished (the entry
/// turned out bad, the `.d` did not fit, a write failed), a plain file written
/// here is removed, as the compiler removes its outputs when it fails, so no
/// half-written object is left looking newer than its source.
///
/// A symlink is replaced or written through as `Symlink` says. An output
/// that is not a plain file (`-o /dev/null`, `-MF /dev/null`, a pipe, a
/// symlink written through) is collected in memory and written through by
/// `finish`: a reader at the other end never sees an unconfirmed object,
/// and the node itself (a device, a pipe) is never removed.
pub struct OutputFile {
    file: Option<fs::File>,
    path: PathBuf,
    /// The file's length when claimed, at least `HEAD`: what `finish`
    /// cuts back to the length written.
    old_len: u64,
    written: u64,
    /// The first `HEAD` bytes, written last.
    head: Vec<u8>,
    /// For an output that is not a plain file: everything, written by `finish`.
    pending: Option<Vec<u8>>,
}

/// How much of the start of an output is held back until it is complete.
const HEAD: u64 = 64;

/// How often the name may change under us before giving up (another process
/// replacing the same output over and over).
const ATTEMPTS: usize = 8;

/// What a hit does with an output that is a symlink: what gcc does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Symlink {
    /// Puts a file in place of the link, whose target keeps its bytes: the
    /// object and the `.dwo`, which GNU as unlinks before creating (clang
    /// renames a temp file over its object).
    Replace,
    /// Writes through the link: the `.d` and the other files cc1 opens
    /// with `fopen` (`.su`, `.gcno`, `.ci`), and assembler listings.
    WriteThrough,
}

impl OutputFile {
    pub fn create(dest: &Path, symlink: Symlink) -> io::Result<OutputFile> {
        for _ in 0..ATTEMPTS {
            match fs::symlink_metadata(dest) {
                Ok(meta) if meta.file_type().is_file() => {
                    if meta.nlink() == 1 {
                        if let Ok(file) = open_existing(dest) {
                            match claim(file, dest, Provenance::Existing)? {
                                Claimed::Taken(out) => return Ok(out),
                                Claimed::Moved => continue,
                                Claimed::InUse(file) => {
                                    if let Some(out) = unlink_or_keep(file, dest)? {
                                        return Ok(out);
                                    }
                                    continue;
                                }
                            }
                        }
                    }
                    // Shared with other names, or not writable in place.
                    remove(dest)?;
                }
                Ok(meta) if meta.file_type().is_symlink() && symlink == Symlink::Replace => {
                    remove(dest)?;
                }
                Ok(_) => {
                    return Ok(OutputFile {
                        file: None,
                        path: dest.to_path_buf(),
                        old_len: 0,
                        written: 0,
                        head: Vec::new(),
                        pending: Some(Vec::new()),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            let created = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o666)
                .custom_flags(libc::O_NOFOLLOW)
                .open(dest);
            match created {
                Ok(file) => {
                    if let Claimed::Taken(out) = claim(file, dest, Provenance::Created)? {
                        return Ok(out);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "{} keeps being replaced by another process",
            dest.display()
        )))
    }

    /// Confirms the output: cuts what is left of a longer old file, or
    /// writes a collected output through.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(data) = self.pending.take() {
            let mut through = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&self.path)?;
            return through.write_all(&data);
        }
        let file = self.file.take().expect("a plain output has its file");
        if self.old_len > self.written {
            file.set_len(self.written)?;
        }
        file.write_all_at(&self.head, 0)?;
        Ok(())
    }
}

fn open_existing(dest: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dest)
}

/// Unlinks an output that another process may have open, so that a new
/// file takes its name. `Some`: it cannot be unlinked (its directory is
/// read-only or sticky) and is written in place instead, as GNU as does.
fn unlink_or_keep(file: fs::File, dest: &Path) -> io::Result<Option<OutputFile>> {
    match fs::remove_file(dest) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let len = file.metadata()?.len();
            take(file, dest, len).map(Some)
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(None),
    }
}

fn remove(dest: &Path) -> io::Result<()> {
    match fs::remove_file(dest) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether the file to claim was there before or was just created here.
#[derive(Clone, Copy, PartialEq)]
enum Provenance {
    Existing,
    Created,
}

enum Claimed {
    Taken(OutputFile),
    /// The name moved on to another file while we waited for the lock.
    Moved,
    /// Another process may have the file open: it is to be replaced, not
    /// written. The file is still locked.
    InUse(fs::File),
}

/// Locks `file` and takes it as the output if `dest` still names it,
/// nothing else does, and (for a file that was there before) no other
/// process has it open.
fn claim(file: fs::File, dest: &Path, how: Provenance) -> io::Result<Claimed> {
    lock(&file, dest)?;
    let held = file.metadata()?;
    let named = match fs::symlink_metadata(dest) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Claimed::Moved),
        Err(e) => return Err(e),
    };
    if !(held.is_file() && held.nlink() == 1 && same_file(&held, &named)) {
        return Ok(Claimed::Moved);
    }
    if how == Provenance::Existing && !unshared(&file) {
        return Ok(Claimed::InUse(file));
    }
    take(file, dest, held.len()).map(Claimed::Taken)
}

/// Makes a locked file of `len` bytes the output: its head zeroed (see
/// `OutputFile`), writing to start after it.
fn take(file: fs::File, dest: &Path, len: u64) -> io::Result<OutputFile> {
    let mut old_len = len;
    if old_len > 0 {
        file.write_all_at(&[0u8; HEAD as usize][..old_len.min(HEAD) as usize], 0)?;
    }
    if old_len < HEAD {
        // A new (or tiny) file starts as zeros the linker rejects, not
        // empty: ld takes an empty file as an empty input.
        file.set_len(HEAD)?;
        old_len = HEAD;
    }
    let mut file = file;
    file.seek(io::SeekFrom::Start(HEAD))?;
    Ok(OutputFile {
        file: Some(file),
        path: dest.to_path_buf(),
        old_len,
        written: 0,
        head: Vec::with_capacity(HEAD as usize),
        pending: None,
    })
}

/// Whether no other process has `file` open, for writing or reading: the
/// kernel grants a write lease only then (and only to the file's owner or
/// a process with `CAP_LEASE`; elsewhere, and where leases are off, the
/// answer is no and the file is replaced). The lease is given back at
/// once. An open by another process in between breaks it with a signal:
/// SIGURG, ignored by default, instead of SIGIO, which would kill us.
fn unshared(file: &fs::File) -> bool {
    // Linux's number on every architecture; the libc crate leaves it out.
    const F_SETSIG: libc::c_int = 10;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; the lease ends before we return.
    unsafe {
        if libc::fcntl(fd, F_SETSIG, libc::SIGURG) != 0
            || libc::fcntl(fd, libc::F_SETLEASE, libc::F_WRLCK) != 0
        {
            return false;
        }
        libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK);
    }
    true
}

/// Another writer holds an output only while it writes (milliseconds); a
/// lock held longer is a stuck process or this call itself (`-MF` naming the
/// object), and the hit gives up rather than hang the build.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

fn lock(file: &fs::File, dest: &Path) -> io::Result<()> {
    let start = std::time::Instant::now();
    loop {
        // SAFETY: flock on a descriptor we own; released when it is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::WouldBlock {
            return Err(e);
        }
        if start.elapsed() > LOCK_PATIENCE {
            return Err(io::Error::other(format!(
                "{} is locked by another writer",
                dest.display()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(pending) = &mut self.pending {
            pending.extend_from_slice(buf);
            return Ok(buf.len());
        }
        if self.written < HEAD {
            let n = buf.len().min((HEAD - self.written) as usize);
            self.head.extend_from_slice(&buf[..n]);
            self.written += n as u64;
            return Ok(n);
        }
        let file = self.file.as_mut().expect("a plain output has its file");
        let n = file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // Unfinished: remove the file, but only while we still hold it and
        // the name still leads to it, so another writer's output survives.
        if let Some(file) = self.file.take() {
            let ours = match (file.metadata(), fs::symlink_metadata(&self.path)) {
                (Ok(held), Ok(named)) => same_file(&held, &named),
                _ => false,
            };
            if ours {
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

/// Puts a finished temp file in place of `dest` (a `file_clone` copy): the
/// old file is removed first, so the rename creates a name instead of
/// replacing one (ext4's `auto_da_alloc`, see `OutputFile`). A symlink is
/// replaced or written through as `symlink` says; other outputs that are
/// not plain files are written through, as by `OutputFile`.
pub fn install_output(
    tmp: tempfile::NamedTempFile,
    dest: &Path,
    symlink: Symlink,
) -> io::Result<()> {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.file_type().is_file() => fs::remove_file(dest)?,
        Ok(meta) if meta.file_type().is_symlink() && symlink == Symlink::Replace => {
            fs::remove_file(dest)?
        }
        Ok(_) => {
            let mut src = tmp.reopen()?;
            let mut out = OutputFile::create(dest, symlink)?;
            io::copy(&mut src, &mut out)?;
            return out.finish();
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    tmp.persist(dest).map_err(|e| e.error)?;
    Ok(())
}

/// Makes `dst` share `src`'s data (reflink: btrfs, XFS); `false` where the
/// file system cannot, and the caller copies instead.
pub fn clone_file(src: &Path, dst: &fs::File) -> bool {
    // `libc::Ioctl` is the request's type on both glibc and musl.
    const FICLONE: libc::Ioctl = 0x4004_9409_u32 as libc::Ioctl;
    let Ok((src, _)) = crate::files::open_cache_file(src) else {
        return false;
    };
    // SAFETY: both descriptors are open files we own for the call.
    unsafe { libc::ioctl(dst.as_raw_fd(), FICLONE, src.as_raw_fd()) == 0 }
}

/// Writes a whole output from memory (see `OutputFile`).
pub fn write_output(dest: &Path, data: &[u8], symlink: Symlink) -> io::Result<()> {
    let mut out = OutputFile::create(dest, symlink)?;
    out.write_all(data)?;
    out.finish()
}

#[cfg(test)]
mod tests;
