//! `--trim-dir PATH --trim-max-size SIZE [--trim-method atime|mtime]`:
//! keeps a directory shared as a `file:` remote storage below a size by
//! removing its least recently used files, as ccache does. Meant for remote
//! directories; the local cache has `-c` and `max_size`.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::progress::Bar;
use crate::files::disk_kib;

/// What orders the files: when they were last read, or last written.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Method {
    #[default]
    Atime,
    Mtime,
}

impl Method {
    pub fn parse(text: &str) -> Result<Method, String> {
        match text {
            "atime" => Ok(Method::Atime),
            "mtime" => Ok(Method::Mtime),
            other => Err(format!("unknown trim method \"{other}\" (atime or mtime)")),
        }
    }
}

/// Refuses a directory that holds a local cache's bookkeeping, as ccache
/// does: a `ccache.conf` or a `stats` file (ccache's counters) anywhere
/// below it, or objcache's `objcache-stats/`. Trimming a local cache by
/// hand would leave its size counters wrong; `-c` and `max_size` are its
/// tools. `path` is the file or directory met while walking.
pub fn refuse_local_cache(path: &Path, is_dir: bool) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default();
    let marks = if is_dir {
        name == crate::stats::STATS_DIR
    } else {
        name == "ccache.conf" || name == "stats"
    };
    if marks {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "this looks like a local cache directory (found {}): use -c and max_size for it",
                path.display()
            ),
        ));
    }
    Ok(())
}

struct Found {
    path: PathBuf,
    bytes: u64,
    time_ns: i128,
}

fn walk(dir: &Path, method: Method, out: &mut Vec<Found>) -> io::Result<()> {
    for item in fs::read_dir(dir)? {
        let item = item?;
        let Ok(meta) = item.metadata() else {
            continue; // removed meanwhile
        };
        refuse_local_cache(&item.path(), meta.is_dir())?;
        if meta.is_dir() {
            walk(&item.path(), method, out)?;
        } else if meta.is_file() {
            // The directory's tag stays: it is what marks it as a cache.
            if item.file_name() == "CACHEDIR.TAG" {
                continue;
            }
            let (secs, nsec) = match method {
                Method::Atime => (meta.atime(), meta.atime_nsec()),
                Method::Mtime => (meta.mtime(), meta.mtime_nsec()),
            };
            out.push(Found {
                path: item.path(),
                bytes: disk_kib(&meta) * 1024,
                time_ns: i128::from(secs) * 1_000_000_000 + i128::from(nsec),
            });
        }
    }
    Ok(())
}

/// How many of `files`, oldest first, go to get them down to `max_bytes`.
fn to_remove(files: &[Found], max_bytes: u64) -> u64 {
    let mut left: u64 = files.iter().map(|f| f.bytes).sum();
    files
        .iter()
        .take_while(|f| {
            let over = left > max_bytes;
            left -= f.bytes;
            over
        })
        .count() as u64
}

/// What a trim found and removed, in files and bytes on disk.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Trimmed {
    pub files_before: u64,
    pub bytes_before: u64,
    pub files_removed: u64,
    pub bytes_removed: u64,
}

/// Removes the least recently used files of `dir` (all its subdirectories)
/// until what is left takes at most `max_bytes` on disk.
pub fn trim(dir: &Path, max_bytes: u64, method: Method, bar: &Bar) -> io::Result<Trimmed> {
    let mut files = Vec::new();
    bar.begin("Reading", 0);
    walk(dir, method, &mut files)?;
    files.sort_by(|a, b| a.time_ns.cmp(&b.time_ns).then_with(|| a.path.cmp(&b.path)));
    let mut t = Trimmed {
        files_before: files.len() as u64,
        bytes_before: files.iter().map(|f| f.bytes).sum(),
        ..Trimmed::default()
    };
    let mut left = t.bytes_before;
    bar.begin("Removing", to_remove(&files, max_bytes));
    for f in &files {
        if left <= max_bytes {
            break;
        }
        bar.advance(1);
        match fs::remove_file(&f.path) {
            Ok(()) => {
                t.files_removed += 1;
                t.bytes_removed += f.bytes;
                left -= f.bytes;
            }
            // Removed by someone else meanwhile: gone all the same.
            Err(e) if e.kind() == io::ErrorKind::NotFound => left -= f.bytes,
            Err(e) => return Err(e),
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        fs::create_dir_all(&sub).unwrap();
        let data = vec![1u8; 8192];
        for (i, name) in ["old", "mid", "new"].iter().enumerate() {
            let p = sub.join(name);
            fs::write(&p, &data).unwrap();
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000 + i as u64);
            let f = fs::File::options().write(true).open(&p).unwrap();
            f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))
                .unwrap();
        }
        fs::write(dir.path().join("CACHEDIR.TAG"), b"x").unwrap();
        let each = disk_kib(&fs::metadata(sub.join("old")).unwrap()) * 1024;
        let t = trim(dir.path(), 2 * each, Method::Mtime, &Bar::new("test")).unwrap();
        assert_eq!(t.files_removed, 1);
        assert!(!sub.join("old").exists());
        assert!(sub.join("mid").exists() && sub.join("new").exists());
        assert!(dir.path().join("CACHEDIR.TAG").exists());
        assert_eq!(Method::parse("atime"), Ok(Method::Atime));
        assert!(Method::parse("ctime").is_err());
    }

    #[test]
    fn a_local_cache_is_refused_untouched() {
        for mark in ["0/stats", "ccache.conf", "objcache-stats/0"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(mark);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, b"x").unwrap();
            fs::write(dir.path().join("entry"), vec![1u8; 8192]).unwrap();
            let e = trim(dir.path(), 0, Method::Mtime, &Bar::new("test")).unwrap_err();
            assert!(e.to_string().contains("local cache"), "{mark}: {e}");
            assert!(dir.path().join("entry").exists(), "{mark}");
        }
    }
}
