//! ccache's own counters: its stats files, `<x>/stats` and `<x>/<y>/stats`,
//! one number per field in a fixed order. A cache dir ccache used (a user
//! who switched, or a ccache still sharing it) keeps its history there:
//! `-s` adds it to objcache's, `-z` zeroes it, and a level-1 directory
//! that no objcache walk has counted yet is as full as ccache's file says.
//!
//! objcache never writes these files but to zero them: its own counters
//! stay in `objcache-stats/` (see the module above).

use std::path::{Path, PathBuf};

use super::{Counter, Counters, SHARDS};

/// ccache's counter names by field index (ccache 4.13's storage order);
/// `""` where objcache has no such counter or the field is not one
/// (the limits of ccache before 4.0, the per-subdirectory sizes of 4.10+).
const FIELDS: [&str; 84] = [
    "",
    "compiler_produced_stdout",
    "compile_failed",
    "internal_error",
    "cache_miss",
    "preprocessor_error",
    "could_not_find_compiler",
    "missing_cache_file",
    "preprocessed_cache_hit",
    "bad_compiler_arguments",
    "called_for_link",
    "files_in_cache",
    "cache_size_kibibyte",
    "",
    "",
    "unsupported_source_language",
    "bad_output_file",
    "no_input_file",
    "multiple_source_files",
    "autoconf_test",
    "unsupported_compiler_option",
    "output_to_stdout",
    "direct_cache_hit",
    "compiler_produced_no_output",
    "compiler_produced_empty_output",
    "error_hashing_extra_file",
    "compiler_check_failed",
    "could_not_use_precompiled_header",
    "called_for_preprocessing",
    "cleanups_performed",
    "unsupported_code_directive",
    "stats_zeroed_timestamp",
    "could_not_use_modules",
    "direct_cache_miss",
    "preprocessed_cache_miss",
    "local_storage_read_hit",
    "local_storage_read_miss",
    "remote_storage_read_hit",
    "remote_storage_read_miss",
    "remote_storage_error",
    "remote_storage_timeout",
    "recache",
    "unsupported_environment_variable",
    "local_storage_write",
    "local_storage_hit",
    "local_storage_miss",
    "remote_storage_write",
    "remote_storage_hit",
    "remote_storage_miss",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "", // 49-64
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "", // 65-80
    "disabled",
    "bad_input_file",
    "modified_input_file",
];

const FILES_FIELD: usize = 11;
const SIZE_FIELD: usize = 12;
const ZEROED_FIELD: usize = 31;

/// A stats file of ccache's is a few hundred bytes; a longer one is not.
const MAX_LEN: u64 = 16 * 1024;

/// The fields of a stats file in ccache's format: nothing but unsigned
/// decimal numbers separated by white space. `None` for a missing,
/// unreadable or oversized file, for one in any other format (an
/// earlier objcache's `name value` lines, say), and for one reached
/// through a symlinked `<x>/` or `<x>/<y>/`: that lies outside the cache,
/// which no walk counts and `-z` does not write to.
fn read_fields(cache_dir: &Path, path: &Path) -> Option<Vec<u64>> {
    crate::files::no_symlink_below(cache_dir, path).ok()?;
    let bytes = crate::files::read_cache_file_bounded(path, MAX_LEN).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.split_ascii_whitespace()
        .map(|word| word.parse::<u64>().ok())
        .collect()
}

/// One of ccache's stats files.
struct StatsFile {
    /// Its level-1 directory `<x>`.
    shard: u8,
    /// `<x>/stats`, which also counts what `<x>/` holds (a level-2 file
    /// counts events only).
    level1: bool,
    path: PathBuf,
}

/// Every stats file ccache may keep: `<x>/stats`, `<x>/<y>/stats`.
fn all_files(cache_dir: &Path) -> impl Iterator<Item = StatsFile> + '_ {
    (0..SHARDS).flat_map(move |shard| {
        let top = super::shard_dir(cache_dir, shard);
        let level2 = (0..16u8).map(move |y| top.join(format!("{y:x}")).join("stats"));
        std::iter::once((true, super::level1_stats(cache_dir, shard)))
            .chain(level2.map(|path| (false, path)))
            .map(move |(level1, path)| StatsFile {
                shard,
                level1,
                path,
            })
    })
}

/// What ccache's file says level-1 directory `shard` holds: (KiB, files).
pub fn usage_of(cache_dir: &Path, shard: u8) -> (u64, u64) {
    let path = super::level1_stats(cache_dir, shard);
    let fields = read_fields(cache_dir, &path).unwrap_or_default();
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    (field(SIZE_FIELD), field(FILES_FIELD))
}

/// Adds ccache's counters to `total`: every counter of every file but
/// what a level-1 directory holds, which counts only where `counted[x]`
/// says no objcache walk has counted that directory yet (a walk counts
/// every file in it, ccache's too).
pub fn add_to(total: &mut Counters, cache_dir: &Path, counted: &[bool; SHARDS as usize]) {
    for file in all_files(cache_dir) {
        let Some(fields) = read_fields(cache_dir, &file.path) else {
            continue;
        };
        let holds_contents = file.level1 && !counted[usize::from(file.shard)];
        for (i, &value) in fields.iter().enumerate().filter(|(_, v)| **v != 0) {
            let name = FIELDS.get(i).copied().unwrap_or("");
            let Some(counter) = Counter::from_name(name) else {
                continue;
            };
            let size = matches!(counter, Counter::FilesInCache | Counter::CacheSizeKibibyte);
            if !size || holds_contents {
                total.add(counter, value);
            }
        }
    }
}

/// `-z` for ccache's files: every event counter zeroed, what the directory
/// holds kept, the zeroing time set, as ccache's own `-z` does. A file
/// that is not ccache's is left alone. Written through a temp file and a
/// rename, as ccache writes it; a ccache counting into the same file at
/// that moment may lose that one count.
/// Returns the files that could not be rewritten, each with why.
pub fn zero(cache_dir: &Path, now_secs: u64) -> Vec<std::io::Error> {
    let mut failed = Vec::new();
    for StatsFile { path, .. } in all_files(cache_dir) {
        let Some(mut fields) = read_fields(cache_dir, &path) else {
            continue;
        };
        for (i, value) in fields.iter_mut().enumerate() {
            let name = FIELDS.get(i).copied().unwrap_or("");
            let keep = match Counter::from_name(name) {
                Some(counter) => counter.is_state(),
                // Unknown fields (a newer ccache's, the per-subdirectory
                // sizes) describe contents as likely as events: kept.
                None => true,
            };
            if !keep {
                *value = 0;
            }
        }
        if let Some(stamp) = fields.get_mut(ZEROED_FIELD) {
            *stamp = now_secs;
        }
        let text: String = fields.iter().map(|v| format!("{v}\n")).collect();
        if let Err(e) = crate::files::atomic_write_below(cache_dir, &path, text.as_bytes()) {
            let what = format!("{}: {e}", path.display());
            failed.push(std::io::Error::new(e.kind(), what));
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_objcaches_counters() {
        for name in FIELDS.iter().filter(|n| !n.is_empty()) {
            let known = Counter::from_name(name).is_some();
            let not_ours = [
                "internal_error",
                "missing_cache_file",
                "compiler_check_failed",
            ];
            assert!(known || not_ours.contains(name), "{name}");
        }
        assert_eq!(FIELDS[4], "cache_miss");
        assert_eq!(FIELDS[FILES_FIELD], "files_in_cache");
        assert_eq!(FIELDS[SIZE_FIELD], "cache_size_kibibyte");
        assert_eq!(FIELDS[ZEROED_FIELD], "stats_zeroed_timestamp");
        assert_eq!(FIELDS[83], "modified_input_file");
    }

    #[test]
    fn only_ccaches_format_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats");
        std::fs::write(&path, "0 0 0 0 7\n").unwrap();
        assert_eq!(read_fields(dir.path(), &path), Some(vec![0, 0, 0, 0, 7]));
        std::fs::write(&path, "cache_miss 7\nend\n").unwrap();
        assert_eq!(read_fields(dir.path(), &path), None);
    }
}
