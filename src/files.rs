//! Files of the cache and of the build, read and written safely: cache
//! files opened without following links or blocking on FIFOs, writes
//! through a temp file and a rename. A leaf module: config, stats, the
//! store and the remote backends all use it.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

// What objcache reads, by kind of file: a file larger than its kind's
// limit is refused before it is read, and never more than the limit is
// read of one that grows meanwhile (or of a device).

/// Largest entry or raw object objcache reads from a cache (an entry's
/// payload is at most 4 GiB, and its header is small).
pub const MAX_CACHE_FILE: u64 = (4 << 30) + (1 << 20);
/// Largest memo (`compilers/<id>`, `digests/<id>`): an identity line and
/// a digest, a few hundred bytes.
pub const MAX_MEMO_FILE: u64 = 4 << 10;
/// Largest configuration file: ccache's are a few hundred bytes.
pub const MAX_CONFIG_FILE: u64 = 4 << 20;

/// Opens a file of a cache for reading: never through a symlink, without
/// blocking on a FIFO, and only if it is a regular file of at most `max`
/// bytes (anyone who can write the cache dir could plant a FIFO, a device
/// or a link to `/dev/zero` there). Returns the file and its length. The
/// only way objcache opens a file in a cache dir for reading: a unit test
/// below finds any other.
pub fn open_cache_file_bounded(path: &Path, max: u64) -> io::Result<(fs::File, u64)> {
    let file = open_nonblocking(path, fs::OpenOptions::new().read(true), libc::O_NOFOLLOW)?;
    let len = regular_len(&file)?;
    check_len(len, max)?;
    Ok((file, len))
}

/// `open_cache_file_bounded` for an entry or raw object.
pub fn open_cache_file(path: &Path) -> io::Result<(fs::File, u64)> {
    open_cache_file_bounded(path, MAX_CACHE_FILE)
}

/// Opens a file the user names (a `stats_log`, a response file, an entry
/// given to `--inspect`): symlinks are followed, but a FIFO never blocks
/// and only a regular file is accepted. Returns the file and its length.
pub fn open_regular_file(path: &Path) -> io::Result<(fs::File, u64)> {
    let (file, meta) = open_regular_file_meta(path)?;
    Ok((file, meta.len()))
}

/// `open_regular_file`, with the metadata of the file opened.
pub fn open_regular_file_meta(path: &Path) -> io::Result<(fs::File, fs::Metadata)> {
    let file = open_nonblocking(path, fs::OpenOptions::new().read(true), 0)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    Ok((file, meta))
}

/// Opens a file the user names to append to it (`log_file`, `stats_log`),
/// created if missing: symlinks are followed (`/dev/stderr`), but the open
/// never blocks, and neither do the writes. A FIFO with no reader (one
/// planted at `/tmp/objcache.log`, say) is an error at once instead of a
/// compile that waits forever, and one whose reader stops reading makes a
/// write fail rather than wait: losing log lines never stops a build.
pub fn open_for_append(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    open_nonblocking(path, &options, 0)
}

/// Opens a cache file to update it (read, write, created if missing) or,
/// with `write` false, only to read it, never through a symlink and never
/// blocking on a FIFO; what it is (a regular file of its own, a hard link,
/// a device) is for the caller to check, as a stats shard or the cleanup
/// lock replace anything else.
pub fn open_cache_node(path: &Path, write: bool) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options
        .read(true)
        .write(write)
        .create(write)
        .truncate(false);
    open_nonblocking(path, &options, libc::O_NOFOLLOW)
}

/// `open_cache_node` for a file that must exist already (never created):
/// one replaced as a whole by a temp file and a rename when unusable.
pub fn open_cache_node_existing(path: &Path, write: bool) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true).write(write);
    open_nonblocking(path, &options, libc::O_NOFOLLOW)
}

fn open_nonblocking(path: &Path, options: &fs::OpenOptions, flags: i32) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    options
        .clone()
        .custom_flags(flags | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            // O_NOFOLLOW on a symlink.
            Some(libc::ELOOP) if flags & libc::O_NOFOLLOW != 0 => {
                io::Error::new(io::ErrorKind::InvalidData, "a symlink")
            }
            _ => e,
        })
}

/// The length of an open regular file; an error for anything else (a
/// FIFO, a device, a directory, a socket).
fn regular_len(file: &fs::File) -> io::Result<u64> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    Ok(meta.len())
}

fn check_len(len: u64, max: u64) -> io::Result<()> {
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes, more than the {max} such a file may have"),
        ));
    }
    Ok(())
}

/// Reads `file` to its end, `len` bytes expected, failing rather than
/// reading more than `max`: a file that grows while it is read (or a
/// device) never takes more memory than its kind's limit.
pub fn read_at_most(file: impl io::Read, len: u64, max: u64) -> io::Result<Vec<u8>> {
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

/// `file`, opened at `path`, if it is a file of its own (`is_own_file`);
/// an error naming `path` otherwise.
pub fn own_file(file: fs::File, path: &Path) -> io::Result<fs::File> {
    if is_own_file(&file.metadata()?) {
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a regular file of its own", path.display()),
        ))
    }
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
    read_config_file_and_meta(path).map(|(bytes, _)| bytes)
}

/// `read_config_file`, with the metadata of the file that was read (not of
/// whatever the path names a moment later: its owner decides which
/// settings the file may make).
pub fn read_config_file_and_meta(path: &Path) -> io::Result<(Vec<u8>, fs::Metadata)> {
    use std::os::unix::fs::FileTypeExt;
    let file = open_nonblocking(path, fs::OpenOptions::new().read(true), 0)?;
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
    Ok((read_at_most(file, len, MAX_CONFIG_FILE)?, meta))
}

/// Writes `data` to `path` through a temp file in the same directory and a
/// rename, so readers see the old file or the new one, never half of one.
pub fn atomic_write(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = temp_file_for(path)?;
    tmp.write_all(data)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// `atomic_write` of a file of the cache dir `root` (a memo), its
/// directory created if missing, unless the directory is, or lies below,
/// a symlink: anyone who can write the cache could make `compilers/` a
/// link to a directory of the user's, and the file would be written there.
pub fn atomic_write_below(root: &Path, path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(root);
    no_symlink_below(root, dir)?;
    fs::create_dir_all(dir)?;
    no_symlink_below(root, dir)?;
    atomic_write(path, data)
}

/// A temp file in the directory of `path`, to be renamed over it.
pub fn temp_file_for(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    temp_file_in(dir)
}

/// A temp name in the directory of `path` that `make` creates a file at
/// (a hard link, say), named as `temp_file_in`'s and removed when dropped.
pub fn temp_name_for<F>(
    path: &Path,
    make: impl FnMut(&Path) -> io::Result<F>,
) -> io::Result<tempfile::NamedTempFile<F>> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".objcache-tmp.")
        .make_in(dir, make)
}

/// A temp file that cleanup can recognise, with the permissions the umask allows.
pub fn temp_file_in(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".objcache-tmp.")
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

/// Sets the modification time of a cache file without opening it (the
/// access time is left alone): a symlink planted there is not followed and
/// a FIFO cannot block.
pub fn set_mtime(path: &Path, mtime: std::time::SystemTime) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let since = mtime
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a time before 1970"))?;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))?;
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: since.as_secs() as libc::time_t,
            tv_nsec: since.subsec_nanos() as _,
        },
    ];
    // SAFETY: a NUL-terminated path and two timespecs, as utimensat takes.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c_path.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Space a file takes on disk, in KiB, as `du` would count it.
pub fn disk_kib(meta: &fs::Metadata) -> u64 {
    meta.blocks() * 512 / 1024
}

mod umask;
pub use umask::{set_cache_umask, user_umask, UserUmask};

#[cfg(test)]
mod guard;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.o");
        atomic_write(&p, b"abc").unwrap();
        atomic_write(&p, b"defg").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"defg");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    fn mkfifo(p: &Path) {
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    /// A file of each kind that must never be read whole, or at all.
    fn plant_hostile_files(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
        let at = |name: &str| dir.join(name);
        mkfifo(&at("fifo"));
        std::os::unix::fs::symlink("/dev/zero", at("zero-link")).unwrap();
        fs::File::create(at("sparse"))
            .unwrap()
            .set_len(2 << 30)
            .unwrap();
        let mut planted = vec![
            ("fifo", at("fifo")),
            ("link to /dev/zero", at("zero-link")),
            ("2 GiB sparse", at("sparse")),
        ];
        // A device node needs root; elsewhere the link stands for it.
        let c = std::ffi::CString::new(at("zero-dev").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path; 1,5 is /dev/zero.
        if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 5)) } == 0 {
            planted.push(("char device 1,5", at("zero-dev")));
        }
        planted
    }

    #[test]
    fn hostile_cache_files_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("memo"), b"0123456789").unwrap();
        let memo = read_cache_file_bounded(&dir.path().join("memo"), MAX_MEMO_FILE);
        assert_eq!(memo.unwrap(), b"0123456789");
        for (what, path) in plant_hostile_files(dir.path()) {
            let start = Instant::now();
            let err = read_cache_file_bounded(&path, MAX_MEMO_FILE).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{what}: {err}");
            assert!(open_regular_file(&path).is_err() || what == "2 GiB sparse");
            assert!(start.elapsed() < Duration::from_secs(2), "{what}");
        }
    }

    #[test]
    fn reads_stop_at_the_bound_even_when_the_file_grows() {
        // /dev/zero stands for a file that grows while it is read.
        let zero = fs::File::open("/dev/zero").unwrap();
        let err = read_at_most(zero, 10, 1000).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(read_at_most(&b"abc"[..], 3, 3).unwrap(), b"abc");
    }

    #[test]
    fn config_files_may_be_links_or_dev_null_but_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("ccache.conf");
        fs::write(&conf, "max_size = 1G\n").unwrap();
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(&conf, &link).unwrap();
        assert_eq!(read_config_file(&link).unwrap(), b"max_size = 1G\n");
        assert_eq!(read_config_file(Path::new("/dev/null")).unwrap(), b"");
        let under = dir.path().join("under.conf");
        fs::File::create(&under)
            .unwrap()
            .set_len(MAX_CONFIG_FILE)
            .unwrap();
        assert_eq!(
            read_config_file(&under).unwrap().len() as u64,
            MAX_CONFIG_FILE
        );
        for (what, path) in plant_hostile_files(dir.path()) {
            let start = Instant::now();
            assert!(read_config_file(&path).is_err(), "{what}");
            assert!(start.elapsed() < Duration::from_secs(2), "{what}");
        }
    }

    #[test]
    fn set_mtime_never_follows_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"x").unwrap();
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        set_mtime(&file, t).unwrap();
        assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), t);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let later = t + Duration::from_secs(5);
        let _ = set_mtime(&link, later);
        assert_eq!(fs::metadata(&file).unwrap().modified().unwrap(), t);
        mkfifo(&dir.path().join("fifo"));
        set_mtime(&dir.path().join("fifo"), later).unwrap();
    }
}
