//! What the cache directory holds: every file below a bucket directory,
//! classified by ccache's rule, and the bookkeeping files outside the buckets.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::files::disk_kib;
use crate::key::MemoKind;
use crate::stats;

/// What a file in a level-1 directory `<x>/` or below it is. As in
/// ccache's cleanup, every file there is a cache file, counted in the
/// cache's size and evicted by age, whoever wrote it: objcache's entries,
/// ccache's (a cache dir shared with ccache; an old ccache kept entries
/// in `<x>/` itself), anything else. Temp files go once they are stale.
/// Only `stats` and `CACHEDIR.TAG` (ccache's bookkeeping) and NFS's
/// `.nfs*` placeholders (which the server removes when the file's last
/// user closes it) are left alone: the walk never returns them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileClass {
    Result,
    Manifest,
    /// An output's miss inputs (`…X`, see `disk::inputs`): a cache file
    /// whose size counts, but not one of the files `files_in_cache` counts.
    MissInputs,
    /// objcache's own temp file: not yet an entry, so not counted (the
    /// store that renames it into place counts the entry).
    Temp,
    /// ccache's temp file (`<name>.tmp.<random>`): counted as ccache
    /// counts it, and removed once stale.
    ForeignTemp,
    /// A file objcache did not write (or cannot name): still a cache file.
    Other,
}

impl FileClass {
    /// Counted in the cache's size and file count, and evicted by age.
    pub fn is_cache_file(self) -> bool {
        self != FileClass::Temp
    }

    /// One of the files `files_in_cache` counts (and `max_files` limits),
    /// as ccache counts its own: every cache file but miss inputs.
    pub fn is_counted_file(self) -> bool {
        self.is_cache_file() && self != FileClass::MissInputs
    }
}

/// Files below a bucket that no cleanup touches or counts.
pub fn is_left_alone(name: &str) -> bool {
    name == "stats" || name == "CACHEDIR.TAG" || name.starts_with(".nfs")
}

pub fn classify(name: &str) -> FileClass {
    if name.starts_with(".objcache-tmp.") {
        FileClass::Temp
    } else if name.contains(".tmp.") {
        FileClass::ForeignTemp
    } else {
        match crate::disk::EntryKind::parse_file_name(name) {
            Some((crate::disk::EntryKind::Result | crate::disk::EntryKind::RawObject, _)) => {
                FileClass::Result
            }
            Some((crate::disk::EntryKind::Manifest, _)) => FileClass::Manifest,
            Some((crate::disk::EntryKind::Inputs, _)) => FileClass::MissInputs,
            None => FileClass::Other,
        }
    }
}

#[derive(Clone, Debug)]
pub struct WalkedFile {
    pub path: PathBuf,
    pub class: FileClass,
    pub kib: u64,
    /// Last use (mtime), ns since the epoch.
    pub used_ns: u64,
}

pub fn bucket_dir(cache_dir: &Path, bucket: u8) -> PathBuf {
    cache_dir
        .join(format!("{:x}", bucket >> 4))
        .join(format!("{:x}", bucket & 0xf))
}

/// The files of one bucket. A missing directory is an empty bucket. The
/// first bucket of a level-1 directory (`<x>/0`) also holds the files in
/// `<x>/` itself, where ccache before 3.x (and ccache's test suite) keeps
/// entries: each file belongs to exactly one bucket's walk.
pub fn walk_bucket(cache_dir: &Path, bucket: u8) -> io::Result<Vec<WalkedFile>> {
    let dir = bucket_dir(cache_dir, bucket);
    // A symlinked shard or bucket dir is not walked: its files (and so
    // what eviction would delete) lie outside the cache.
    let mut files = Vec::new();
    if crate::files::no_symlink_below(cache_dir, &dir).is_ok() {
        walk_into(&dir, true, &mut files)?;
    }
    if bucket & 0xf == 0 {
        let level1 = stats::shard_dir(cache_dir, bucket >> 4);
        if crate::files::no_symlink_below(cache_dir, &level1).is_ok() {
            walk_into(&level1, false, &mut files)?;
        }
    }
    Ok(files)
}

/// The files of `dir` and, with `deep`, of the directories below it
/// (ccache's deeper levels, `<x>/<y>/<z>/`), never through a symlink.
pub(super) fn walk_into(dir: &Path, deep: bool, files: &mut Vec<WalkedFile>) -> io::Result<()> {
    let Some(reader) = read_dir_if_present(dir)? else {
        return Ok(());
    };
    for item in reader {
        let item = item?;
        let Ok(meta) = item.metadata() else {
            continue; // removed meanwhile
        };
        let name = item.file_name();
        let name = name.to_string_lossy();
        if meta.is_dir() && deep {
            walk_into(&item.path(), deep, files)?;
            continue;
        }
        if !meta.is_file() || is_left_alone(&name) {
            continue;
        }
        let used_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        files.push(WalkedFile {
            path: item.path(),
            class: classify(&name),
            kib: disk_kib(&meta),
            used_ns,
        });
    }
    Ok(())
}

/// Files outside the buckets: the cache root, `compilers/`, `digests/` and
/// `objcache-stats/` (where stats and config writes leave temp files).
pub fn stray_files(cache_dir: &Path) -> io::Result<Vec<WalkedFile>> {
    let mut dirs = vec![cache_dir.to_path_buf()];
    dirs.extend(MemoKind::ALL.map(|m| cache_dir.join(m.dir_name())));
    dirs.push(cache_dir.join(stats::STATS_DIR));
    let mut files = Vec::new();
    for dir in dirs {
        if dir != cache_dir && crate::files::no_symlink_below(cache_dir, &dir).is_err() {
            continue;
        }
        walk_into(&dir, false, &mut files)?;
    }
    Ok(files)
}

/// How deep `other_files` goes below a directory it walks whole: ccache's
/// are flat; a deeper tree is someone else's, and a planted one must not
/// make the walk unbounded.
const OTHER_DEPTH: usize = 4;

/// The regular files outside the buckets that `stray_files` does not list:
/// what a ccache sharing the directory keeps there (`<x>/stats`,
/// `<x>/<y>/stats`, `<x>/CACHEDIR.TAG`, `CACHEDIR.TAG`, `tmp/`, `lock/`),
/// and anything below the memo and stats directories. Never through a symlink; `stats`,
/// `CACHEDIR.TAG` and `.nfs*` included, since they take disk space though
/// no cleanup touches them. Other directories in the cache dir are not
/// walked: a cache dir set to a home directory by mistake would be walked
/// whole.
pub fn other_files(cache_dir: &Path) -> io::Result<Vec<WalkedFile>> {
    let listed: std::collections::HashSet<PathBuf> = stray_files(cache_dir)?
        .into_iter()
        .map(|f| f.path)
        .collect();
    let mut files = Vec::new();
    other_files_in(cache_dir, 0, &mut files)?;
    files.retain(|f| !listed.contains(&f.path));
    Ok(files)
}

/// The files of `dir` and of the directories below it that
/// `other_files` walks; `depth`: 0 for the cache dir, 1 for a directory
/// in it, … (`OTHER_DEPTH` at most).
fn other_files_in(dir: &Path, depth: usize, files: &mut Vec<WalkedFile>) -> io::Result<()> {
    let Some(reader) = read_dir_if_present(dir)? else {
        return Ok(());
    };
    let whole = ["tmp", "lock", stats::STATS_DIR].into_iter();
    let whole: Vec<&str> = whole.chain(MemoKind::ALL.map(|m| m.dir_name())).collect();
    for item in reader {
        let item = item?;
        let Ok(meta) = item.metadata() else {
            continue; // removed meanwhile
        };
        let name = item.file_name();
        let name = name.to_string_lossy();
        // Other files in `<x>/` are bucket `<x>/0`'s (see `walk_bucket`).
        if meta.is_file() && (depth != 1 || !shard_below(dir) || is_left_alone(&name)) {
            files.push(WalkedFile {
                path: item.path(),
                class: FileClass::Other,
                kib: disk_kib(&meta),
                used_ns: 0,
            });
            continue;
        }
        // A level-1 directory `<x>`: its files, not its buckets `<x>/<y>`.
        let shard = is_shard_name(&name);
        let walked = match depth {
            0 => shard || whole.contains(&&*name),
            1 if shard_below(dir) => false,
            d => d + 1 < OTHER_DEPTH,
        };
        if meta.is_dir() && walked {
            other_files_in(&item.path(), depth + 1, files)?;
        }
    }
    Ok(())
}

/// Is `dir` a level-1 directory `<x>` of the cache dir, whose
/// subdirectories are buckets?
fn shard_below(dir: &Path) -> bool {
    dir.file_name()
        .is_some_and(|n| is_shard_name(&n.to_string_lossy()))
}

/// `<x>`: one hex digit, a level-1 directory's name.
fn is_shard_name(name: &str) -> bool {
    name.len() == 1 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `dir`'s entries; `None` when it does not exist (removed meanwhile).
fn read_dir_if_present(dir: &Path) -> io::Result<Option<fs::ReadDir>> {
    match fs::read_dir(dir) {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_below_a_bucket_is_walked_but_what_ccache_leaves_alone() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = bucket_dir(dir.path(), 0x3c);
        fs::create_dir_all(bucket.join("d")).unwrap();
        let key = crate::key::Key::of(b"k");
        let entry = crate::disk::EntryKind::Result.file_name(&key);
        for name in [
            entry.as_str(),
            "unknown",
            "d/deeper",
            ".objcache-tmp.x",
            "abcR.tmp.123",
            "stats",
            "CACHEDIR.TAG",
            ".nfs00001234",
        ] {
            fs::write(bucket.join(name), b"x").unwrap();
        }
        let mut walked: Vec<(String, FileClass)> = walk_bucket(dir.path(), 0x3c)
            .unwrap()
            .into_iter()
            .map(|f| {
                let rel = f.path.strip_prefix(&bucket).unwrap();
                (rel.display().to_string(), f.class)
            })
            .collect();
        walked.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            walked,
            [
                (".objcache-tmp.x".to_string(), FileClass::Temp),
                (entry.clone(), FileClass::Result),
                ("abcR.tmp.123".to_string(), FileClass::ForeignTemp),
                ("d/deeper".to_string(), FileClass::Other),
                ("unknown".to_string(), FileClass::Other),
            ]
        );
    }
}
