//! Files of the cache and of the build, read and written safely: cache
//! files opened without following links or blocking on FIFOs, writes
//! through a temp file and a rename. A leaf module: config, stats, the
//! store and the remote backends all use it.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Largest file objcache reads from a cache (an entry's payload is at most
/// 4 GiB, and its header is small).
pub const MAX_CACHE_FILE: u64 = (4 << 30) + (1 << 20);

/// Opens a file of a cache for reading: never through a symlink, without
/// blocking on a FIFO, and only if it is a regular file of at most
/// `MAX_CACHE_FILE` bytes (anyone who can write the cache dir could plant
/// a FIFO or a link to `/dev/zero` there). Returns the file and its length.
pub fn open_cache_file(path: &Path) -> io::Result<(fs::File, u64)> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a symlink.
            Some(libc::ELOOP) => io::Error::new(io::ErrorKind::InvalidData, "a symlink"),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    if meta.len() > MAX_CACHE_FILE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} bytes, larger than any entry", meta.len()),
        ));
    }
    Ok((file, meta.len()))
}

/// Fails if `path` or a directory between `root` and it is a symlink:
/// nothing inside the cache dir is followed out of it (the cache dir itself
/// may be a link, set up by its owner). Parts that do not exist are fine.
pub fn no_symlink_below(root: &Path, path: &Path) -> io::Result<()> {
    let Ok(rel) = path.strip_prefix(root) else {
        return Ok(());
    };
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is a symlink inside the cache", at.display()),
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", at.display()))),
        }
    }
    Ok(())
}

/// Whether a file the cache rewrites in place (a stats file, the cleanup
/// lock) is its own: a regular file with no other name. A hard link planted
/// in its place would have objcache write, with the rights of whoever
/// compiles, to a file outside the cache.
pub fn is_own_file(meta: &fs::Metadata) -> bool {
    meta.is_file() && meta.nlink() == 1
}

/// Removes what is at `path` unless it is a regular file of its own
/// (`is_own_file`) or nothing: a hard link to another file (the name only),
/// a FIFO, socket, device node, symlink (itself, never its target) or empty
/// directory planted where the cache keeps a file of its own (a stats file,
/// the cleanup lock), which could never serve as one. Returns what it
/// removed. The entry is looked at and removed by name: if another process
/// replaced it in between, the newer entry may go, which costs what it
/// held (a few counts), never a file outside the cache.
pub fn remove_special_file(path: &Path) -> io::Result<Option<&'static str>> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let kind = meta.file_type();
    let what = if is_own_file(&meta) {
        return Ok(None);
    } else if kind.is_file() {
        "a hard link to another file"
    } else if kind.is_dir() {
        fs::remove_dir(path)?;
        return Ok(Some("a directory"));
    } else if kind.is_symlink() {
        "a symlink"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a device node"
    };
    match fs::remove_file(path) {
        Ok(()) => Ok(Some(what)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(what)),
        Err(e) => Err(e),
    }
}

/// The first `len` bytes of a cache file (fewer if it is shorter), opened
/// as `open_cache_file` does; `None` if it cannot be read.
pub fn read_cache_head(path: &Path, len: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    let (file, _) = open_cache_file(path).ok()?;
    let mut head = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut head).ok()?;
    Some(head)
}

/// Reads a whole cache file (see `open_cache_file`).
pub fn read_cache_file(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let (file, len) = open_cache_file(path)?;
    let mut data = Vec::with_capacity(len as usize);
    file.take(MAX_CACHE_FILE).read_to_end(&mut data)?;
    Ok(data)
}

/// Writes `data` to `path` through a temp file in the same directory and a
/// rename, so readers see the old file or the new one, never half of one.
pub fn atomic_write(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = temp_file_for(path)?;
    tmp.write_all(data)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A temp file in the directory of `path`, to be renamed over it.
pub fn temp_file_for(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    temp_file_in(dir)
}

/// A temp file that cleanup can recognise, with the permissions the umask allows.
pub fn temp_file_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".objcache-tmp.")
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// Space a file takes on disk, in KiB, as `du` would count it.
pub fn disk_kib(meta: &fs::Metadata) -> u64 {
    meta.blocks() * 512 / 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.o");
        atomic_write(&p, b"abc").unwrap();
        atomic_write(&p, b"defg").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"defg");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
