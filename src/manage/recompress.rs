//! `-X/--recompress LEVEL` for the local cache and `--trim-recompress
//! LEVEL` for a directory shared as a `file:` remote storage: every result
//! and manifest is rewritten at LEVEL (or uncompressed), keeping its key,
//! namespace and last-use time, on as many threads as asked for.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::entries::{entry_files, header};
use super::progress::Bar;
use crate::config::size::SizeUnits;
use crate::disk::entry::ResultEntry;
use crate::disk::inputs::MissInputs;
use crate::disk::manifest::Manifest;
use crate::disk::{EntryKind, LocalStore};
use crate::key::Key;

/// `-X LEVEL`: a zstd level, or `uncompressed`.
pub fn parse_level(text: &str) -> Result<Option<i32>, String> {
    let text = text.trim();
    if text == "uncompressed" {
        return Ok(None);
    }
    let level: i32 = text
        .parse()
        .map_err(|_| format!("invalid compression level \"{text}\""))?;
    let range = zstd::compression_level_range();
    if !range.contains(&level) {
        return Err(format!(
            "compression level {level} is out of range ({} to {})",
            range.start(),
            range.end()
        ));
    }
    Ok(Some(level))
}

/// `--recompress-threads N`: at least one; empty means one per CPU.
pub fn parse_threads(text: Option<&str>) -> Result<usize, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("invalid number of threads \"{t}\"")),
    }
}

/// Where rewritten entries go: the local store (whose size counters follow;
/// with its `max_size` in KiB, for what `-X 0` keeps raw) or back into the
/// file they came from (a remote's directory).
#[derive(Clone, Copy)]
enum Target<'a> {
    Local(&'a Path, u64),
    InPlace,
}

/// What happened to the entries, added up over the threads.
#[derive(Default)]
struct Tally {
    rewritten: u64,
    kept: u64,
    failed: u64,
    before: u64,
    after: u64,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.rewritten += o.rewritten;
        self.kept += o.kept;
        self.failed += o.failed;
        self.before += o.before;
        self.after += o.after;
    }

    fn report(&self, units: SizeUnits) -> String {
        let change = self.after as i64 - self.before as i64;
        let sign = if change < 0 { "-" } else { "+" };
        let mut out = String::new();
        let _ = writeln!(out, "Recompressed entries: {}", self.rewritten);
        let _ = writeln!(out, "Unchanged entries:    {}", self.kept);
        if self.failed > 0 {
            let _ = writeln!(
                out,
                "Unreadable entries:   {} (left as they were)",
                self.failed
            );
        }
        let _ = writeln!(out, "Old data size:        {}", units.format(self.before));
        let _ = writeln!(out, "New data size:        {}", units.format(self.after));
        let _ = writeln!(
            out,
            "Size change:          {sign}{}",
            units.format(change.unsigned_abs())
        );
        out
    }
}

/// `-X`: the local cache's results and manifests. Raw objects
/// (`hard_link`) are plain files and stay as they are.
pub fn recompress(
    cache_dir: &Path,
    max_kib: u64,
    level: Option<i32>,
    threads: usize,
    units: SizeUnits,
    bar: &Bar,
) -> Result<String, String> {
    bar.begin("Reading", 0);
    let files =
        entry_files(cache_dir).map_err(|e| format!("reading {}: {e}", cache_dir.display()))?;
    let tally = run(
        files,
        level,
        threads,
        Target::Local(cache_dir, max_kib),
        bar,
    );
    Ok(tally.report(units))
}

/// `--trim-recompress`: the entries of a `file:` remote storage directory,
/// in either layout (`<dir>/<name>` or `<dir>/<2 chars>/<rest>`). Files
/// that are not objcache entries are left alone.
pub fn recompress_dir(
    dir: &Path,
    level: Option<i32>,
    threads: usize,
    units: SizeUnits,
    bar: &Bar,
) -> Result<String, String> {
    let mut files = Vec::new();
    bar.begin("Reading", 0);
    remote_entries(dir, &mut files).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    Ok(run(files, level, threads, Target::InPlace, bar).report(units))
}

fn remote_entries(dir: &Path, out: &mut Vec<(PathBuf, EntryKind, Key)>) -> io::Result<()> {
    for item in fs::read_dir(dir)? {
        let item = item?;
        let Ok(kind) = item.file_type() else { continue };
        let path = item.path();
        super::trim::refuse_local_cache(&path, kind.is_dir())?;
        if kind.is_dir() {
            remote_entries(&path, out)?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let name = item.file_name().to_string_lossy().into_owned();
        let parent = dir.file_name().unwrap_or_default().to_string_lossy();
        let parsed = EntryKind::parse_file_name(&name)
            .or_else(|| EntryKind::parse_file_name(&format!("{parent}{name}")));
        if let Some((kind, key)) = parsed {
            out.push((path, kind, key));
        }
    }
    Ok(())
}

fn run(
    files: Vec<(PathBuf, EntryKind, Key)>,
    level: Option<i32>,
    threads: usize,
    target: Target,
    bar: &Bar,
) -> Tally {
    let files: Vec<_> = files
        .into_iter()
        .filter(|(_, kind, _)| *kind != EntryKind::RawObject)
        .collect();
    bar.begin("Recompressing", files.len() as u64);
    let per_thread = files.len().div_ceil(threads.max(1)).max(1);
    let mut total = Tally::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut t = Tally::default();
                    for (path, kind, key) in chunk {
                        one(&mut t, path, *kind, key, level, target);
                        bar.advance(1);
                    }
                    t
                })
            })
            .collect();
        for w in workers {
            // A worker that panicked leaves its entries as they were.
            if let Ok(t) = w.join() {
                total.add(t);
            }
        }
    });
    total
}

/// Rewrites one entry if its compression is not what is asked for.
fn one(t: &mut Tally, path: &Path, kind: EntryKind, key: &Key, level: Option<i32>, target: Target) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return; // removed meanwhile
    };
    let Ok(bytes) = crate::files::read_cache_file_bounded(path, kind.max_len()) else {
        t.failed += 1;
        return;
    };
    let Some(head) = header(&bytes) else {
        t.failed += 1;
        return;
    };
    // `-X 0` is compression_level 0: the level objcache chooses when it
    // stores, by the size of a result (large ones uncompressed locally), 1
    // for the other entries and for every entry of a remote.
    let level = match (level, kind, target) {
        (Some(0), EntryKind::Result, Target::Local(_, max_kib)) => {
            match ResultEntry::decode(&bytes, key) {
                Ok(e) => crate::storage::large::chosen_level(e.files_size(), max_kib),
                Err(_) => Some(1),
            }
        }
        (Some(0), _, _) => Some(1),
        (level, _, _) => level,
    };
    // The level is not recorded; a compressed entry asked to be compressed
    // again is rewritten, so the new level holds.
    if level.is_none() && !head.compressed {
        t.kept += 1;
        t.before += meta.len();
        t.after += meta.len();
        return;
    }
    let encoded = match kind {
        EntryKind::Result => ResultEntry::decode(&bytes, key).and_then(|e| {
            e.encode(key, &head.namespace, level)
                .map_err(|e| e.to_string())
        }),
        EntryKind::Inputs => MissInputs::decode(&bytes, key).and_then(|r| {
            r.encode(key, &head.namespace, level)
                .map_err(|e| e.to_string())
        }),
        _ => Manifest::decode(&bytes, key).and_then(|mut m| {
            // Each result's candidate section too, not copied as stored.
            m.results.iter_mut().for_each(|r| r.probes.unpack());
            m.encode(key, &head.namespace, level)
                .map_err(|e| e.to_string())
        }),
    };
    let Ok(encoded) = encoded else {
        // A corrupt entry is left for --check or the next hit to remove.
        t.failed += 1;
        return;
    };
    let written = match target {
        Target::Local(cache_dir, _) => LocalStore::new(cache_dir).put(key, kind, &encoded).is_ok(),
        Target::InPlace => crate::files::atomic_write(path, &encoded).is_ok(),
    };
    if !written {
        t.failed += 1;
        return;
    }
    keep_times(path, &meta);
    t.rewritten += 1;
    t.before += meta.len();
    t.after += encoded.len() as u64;
}

/// Keeps the entry's place in the least-recently-used order. Opened for
/// reading: the owner may set the times of a read-only file.
fn keep_times(path: &Path, meta: &fs::Metadata) {
    if let (Ok(accessed), Ok(modified)) = (meta.accessed(), meta.modified()) {
        let times = fs::FileTimes::new()
            .set_accessed(accessed)
            .set_modified(modified);
        if let Ok((f, _)) = crate::files::open_cache_file(path) {
            let _ = f.set_times(times);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_threads_parse() {
        assert_eq!(parse_level("uncompressed"), Ok(None));
        assert_eq!(parse_level("5"), Ok(Some(5)));
        assert_eq!(parse_level("-1"), Ok(Some(-1)));
        assert!(parse_level("99").is_err());
        assert!(parse_level("fast").is_err());
        assert_eq!(parse_threads(Some("3")), Ok(3));
        assert!(parse_threads(Some("0")).is_err());
        assert!(parse_threads(None).unwrap() >= 1);
    }
}
