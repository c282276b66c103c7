//! Eviction by selection (`-C`, `--evict-older-than`, `--evict-namespace`)
//! and `--check`, which verifies every entry.

use std::io;
use std::path::{Path, PathBuf};

use super::{
    sweep_bucket, sweep_stray_temp_files, FileClass, Progress, Swept, WalkedFile, STALE_TEMP_SECS,
};
use crate::disk::container;
use crate::stats;

/// `--check`: verifies every entry (checksum, key, format; a raw object
/// against its result's digest) and removes the bad ones, with their
/// accounting. Returns what was checked and what was removed.
pub fn check_all(cache_dir: &Path, progress: &mut dyn Progress) -> io::Result<(u64, Swept)> {
    let mut checked = 0u64;
    let mut removed = Swept::default();
    progress.stage("Checking", 256);
    for bucket in 0..=255u8 {
        progress.step();
        let mut rule = |f: &WalkedFile| {
            // Files objcache did not write are not its to judge.
            if matches!(f.class, FileClass::Other | FileClass::ForeignTemp) {
                return false;
            }
            checked += 1;
            !entry_is_sound(&f.path)
        };
        removed += sweep_bucket(cache_dir, bucket, &mut rule, false)?;
    }
    Ok((checked, removed))
}

/// Does the file at `path` (named `<key><kind>`) decode as what its name says?
fn entry_is_sound(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some((kind, key)) = crate::disk::EntryKind::parse_file_name(name) else {
        return false;
    };
    let Ok(bytes) = crate::files::read_cache_file(path) else {
        return false;
    };
    match kind {
        crate::disk::EntryKind::Result => {
            crate::disk::entry::ResultStream::check(&bytes, &key).is_ok()
        }
        crate::disk::EntryKind::Manifest => {
            crate::disk::manifest::Manifest::decode(&bytes, &key).is_ok()
        }
        crate::disk::EntryKind::Inputs => {
            crate::disk::inputs::MissInputs::decode(&bytes, &key).is_ok()
        }
        // A raw object must match the digest and length in its result entry.
        crate::disk::EntryKind::RawObject => {
            let result = path.with_file_name(crate::disk::EntryKind::Result.file_name(&key));
            let Ok(entry) = crate::files::read_cache_file(&result)
                .map_err(|e| e.to_string())
                .and_then(|b| crate::disk::entry::ResultEntry::decode(&b, &key))
            else {
                return false;
            };
            entry.files.iter().any(|(k, digest_len)| {
                *k == crate::disk::entry::FileKind::RawObject
                    && digest_len.len() == 40
                    && digest_len[..32] == *blake3::hash(&bytes).as_bytes()
                    && digest_len[32..] == (bytes.len() as u64).to_le_bytes()
            })
        }
    }
}

/// Selects entries for `--evict-older-than` / `--evict-namespace` / `-C`.
pub struct Selection<'a> {
    pub older_than_secs: Option<u64>,
    pub namespace: Option<&'a str>,
}

impl Selection<'_> {
    fn matches(&self, f: &WalkedFile, now: u64) -> bool {
        if let Some(age) = self.older_than_secs {
            if f.used_ns >= now.saturating_sub(age.saturating_mul(1_000_000_000)) {
                return false;
            }
        }
        if let Some(ns) = self.namespace {
            // A raw object whose result is gone serves nothing: it goes too,
            // unless it is recent (a store writes it just before its result).
            let settled = f.used_ns < now.saturating_sub(STALE_TEMP_SECS * 1_000_000_000);
            let orphan = settled && raw_object_result(&f.path).is_some_and(|r| !r.exists());
            if !orphan && namespace_of(&f.path).as_deref() != Some(ns) {
                return false;
            }
        }
        true
    }
}

/// For a raw object file (`<key>W`), its result entry (`<key>R`), which
/// holds the namespace.
fn raw_object_result(path: &Path) -> Option<PathBuf> {
    use crate::disk::EntryKind;
    match EntryKind::parse_file_name(path.file_name()?.to_str()?)? {
        (EntryKind::RawObject, key) => Some(path.with_file_name(EntryKind::Result.file_name(&key))),
        _ => None,
    }
}

/// The namespace an entry was stored with (`""` for none), from its header.
pub fn namespace_of(path: &Path) -> Option<String> {
    let result = raw_object_result(path);
    let path = result.as_deref().unwrap_or(path);
    let head = crate::files::read_cache_head(path, container::PEEK_LEN)?;
    // Only a file of ours has a namespace; a damaged or foreign file's bytes
    // would otherwise show up (or match an eviction) as one.
    let magic = head.get(..4)?;
    let ours = [
        crate::disk::entry::MAGIC,
        crate::disk::manifest::MAGIC,
        crate::disk::inputs::MAGIC,
    ];
    if !ours.iter().any(|m| magic == *m) {
        return None;
    }
    container::peek_namespace(&head)
}

/// Removes (or, dry, counts) every entry the selection matches.
pub fn evict_selected(
    cache_dir: &Path,
    selection: &Selection,
    dry_run: bool,
    progress: &mut dyn Progress,
) -> io::Result<Swept> {
    let now = crate::clock::now_ns();
    let mut total = Swept::default();
    progress.stage(if dry_run { "Counting" } else { "Removing" }, 256);
    for shard in 0..stats::SHARDS {
        let mut swept = Swept::default();
        for bucket in super::buckets_of(shard) {
            progress.step();
            swept += sweep_bucket(
                cache_dir,
                bucket,
                &mut |f: &WalkedFile| selection.matches(f, now),
                dry_run,
            )?;
        }
        total += swept.of_one_dir();
    }
    total += sweep_stray_temp_files(cache_dir, dry_run)?;
    if !dry_run {
        super::trim_memos(cache_dir);
    }
    Ok(total)
}
