//! Files of the cache and of the build, read and written safely: cache
//! files opened without following links or blocking on FIFOs, writes
//! through a temp file and a rename. A leaf module: config, stats, the
//! store and the remote backends all use it.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Largest entry or raw object objcache reads from a cache (an entry's
/// payload is at most 4 GiB, and its header is small).
pub const MAX_CACHE_FILE: u64 = (4 << 30) + (1 << 20);
/// Largest memo (`compilers/<id>`, `digests/<id>`): an identity line and
/// a digest, a few hundred bytes.
pub const MAX_MEMO_FILE: u64 = 4 << 10;
/// Largest stats shard or lock file: a few hundred bytes of counters.
pub const MAX_STATS_FILE: u64 = 64 << 10;
/// Largest configuration file: ccache's are a few hundred bytes.
pub const MAX_CONFIG_FILE: u64 = 4 << 20;

/// Opens a file of a cache for reading: never through a symlink, without
/// blocking on a FIFO, and only if it is a regular file of at most `max`
/// bytes (anyone who can write the cache dir could plant a FIFO, a device
/// or a link to `/dev/zero` there). Returns the file and its length. The
/// only way objcache opens a file in a cache dir for reading (a unit test
/// below holds the rest of the code to it).
pub fn open_cache_file_bounded(path: &Path, max: u64) -> io::Result<(fs::File, u64)> {
    let file = open_nonblocking(path, libc::O_NOFOLLOW).map_err(|e| match e.raw_os_error() {
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
    check_len(meta.len(), max)?;
    Ok((file, meta.len()))
}

/// `open_cache_file_bounded` for an entry or raw object.
pub fn open_cache_file(path: &Path) -> io::Result<(fs::File, u64)> {
    open_cache_file_bounded(path, MAX_CACHE_FILE)
}

fn open_nonblocking(path: &Path, flags: i32) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags | libc::O_NONBLOCK)
        .open(path)
}

fn check_len(len: u64, max: u64) -> io::Result<()> {
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes, larger than the {max} such a file may have"),
        ));
    }
    Ok(())
}

/// Reads `file` to its end, `len` bytes expected, failing rather than
/// reading more than `max`: a file that grows while it is read (or a
/// device) never takes more memory than its kind's limit.
pub fn read_at_most(file: fs::File, len: u64, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::with_capacity(len.min(max) as usize);
    file.take(max + 1).read_to_end(&mut data)?;
    check_len(data.len() as u64, max)?;
    Ok(data)
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
            Err(e) => return Err(e),
        }
    }
    Ok(())
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

/// Reads a whole entry or raw object (see `open_cache_file`).
pub fn read_cache_file(path: &Path) -> io::Result<Vec<u8>> {
    read_cache_file_bounded(path, MAX_CACHE_FILE)
}

/// Reads a whole cache file of at most `max` bytes (see
/// `open_cache_file_bounded`).
pub fn read_cache_file_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (file, len) = open_cache_file_bounded(path, max)?;
    read_at_most(file, len, max)
}

/// Reads a configuration file. Unlike a cache file it may be a symlink
/// (a config kept with the user's dotfiles) or a character device
/// (`CCACHE_CONFIGPATH=/dev/null`), but never more than `MAX_CONFIG_FILE`
/// bytes of it, and a FIFO never blocks.
pub fn read_config_file(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileTypeExt;
    let file = open_nonblocking(path, 0)?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "a directory"));
    }
    if !kind.is_file() && !kind.is_char_device() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "neither a regular file nor a character device",
        ));
    }
    let len = if kind.is_file() { meta.len() } else { 0 };
    check_len(len, MAX_CONFIG_FILE)?;
    read_at_most(file, len, MAX_CONFIG_FILE)
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
