//! `--show-usage` / `--print-usage`: what the cache holds, by kind, namespace
//! and last use, and what a cleanup or an age eviction would free. It walks
//! the cache read-only; nothing is reported as in use, because objcache holds
//! no file between calls (temp files younger than an hour may belong to
//! running compiles and are listed apart).

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use super::cleanup::{self, FileClass, Limits, WalkedFile};

/// Last-use bins, in seconds.
const AGE_BINS: &[(&str, u64)] = &[("1h", 3600), ("1d", 86400), ("7d", 7 * 86400)];
/// Ages for which "evict older than" is estimated.
const EVICT_AGES: &[(&str, u64)] = &[("1d", 86400), ("7d", 7 * 86400), ("30d", 30 * 86400)];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amount {
    pub files: u64,
    pub kib: u64,
}

impl Amount {
    /// Adds a file's size, and counts it as a file unless it is miss
    /// inputs, as `files_in_cache` counts (their kind has a line of its
    /// own, `Usage::miss_inputs`).
    fn add(&mut self, f: &WalkedFile) {
        self.files += u64::from(f.class != FileClass::MissInputs);
        self.kib += f.kib;
    }
}

#[derive(Debug, Default)]
pub struct Usage {
    pub total: Amount,
    pub results: Amount,
    pub manifests: Amount,
    /// Outputs' miss inputs (`…X`): `files` is how many there are, though
    /// no other line counts them as files.
    pub miss_inputs: Amount,
    /// Files in the buckets objcache did not write (a sharing ccache's
    /// entries, say): cache files all the same, counted and evicted by age.
    pub others: Amount,
    pub temp_recent: Amount,
    pub temp_stale: Amount,
    /// Files outside the buckets that are not temp files: the stats
    /// shards, `ccache.conf`, the memos, `inode-memo`, the lock and status
    /// files. No limit applies to them, but they are on the disk.
    pub bookkeeping: Amount,
    pub by_namespace: BTreeMap<String, Amount>,
    /// `(label, amount)`: used within 1h, 1d, 7d, and older.
    pub by_last_use: Vec<(String, Amount)>,
    pub cleanup_would_free: Amount,
    pub evict_older_than: Vec<(String, Amount)>,
    pub limit_kib: u64,
    pub limit_files: u64,
}

pub fn collect(
    cache_dir: &Path,
    limits: &Limits,
    progress: &mut dyn cleanup::Progress,
) -> io::Result<Usage> {
    let now = crate::clock::now_ns();
    let mut u = Usage {
        limit_kib: limits.max_kib,
        limit_files: limits.max_files,
        ..Usage::default()
    };
    let mut bins = vec![Amount::default(); AGE_BINS.len() + 1];
    let mut evict = vec![Amount::default(); EVICT_AGES.len()];
    // Per level-1 directory, as cleanups hold each to its share.
    let mut entries: Vec<Vec<(u64, u64, bool)>> = vec![Vec::new(); 16];
    let shard = std::cell::Cell::new(0u8);
    let stale_before = now.saturating_sub(cleanup::STALE_TEMP_SECS * 1_000_000_000);
    let mut count = |f: &WalkedFile| match f.class {
        FileClass::Temp if f.used_ns < stale_before => u.temp_stale.add(f),
        FileClass::Temp => u.temp_recent.add(f),
        FileClass::Result
        | FileClass::Manifest
        | FileClass::MissInputs
        | FileClass::ForeignTemp
        | FileClass::Other => {
            match f.class {
                FileClass::Result => u.results.add(f),
                FileClass::Manifest => u.manifests.add(f),
                FileClass::MissInputs => {
                    u.miss_inputs.files += 1;
                    u.miss_inputs.kib += f.kib;
                }
                _ => u.others.add(f),
            }
            u.total.add(f);
            // Only objcache's entries have a namespace.
            if !matches!(f.class, FileClass::Other | FileClass::ForeignTemp) {
                let ns = cleanup::namespace_of(&f.path).unwrap_or_default();
                u.by_namespace.entry(ns).or_default().add(f);
            }
            let age = now.saturating_sub(f.used_ns) / 1_000_000_000;
            let bin = AGE_BINS
                .iter()
                .position(|(_, s)| age < *s)
                .unwrap_or(AGE_BINS.len());
            bins[bin].add(f);
            for (i, (_, s)) in EVICT_AGES.iter().enumerate() {
                if age >= *s {
                    evict[i].add(f);
                }
            }
            entries[usize::from(shard.get())].push((f.used_ns, f.kib, f.class.is_counted_file()));
        }
    };
    // One bucket at a time: only an age and a size per entry are kept, so a
    // report on millions of entries stays within a few tens of MB.
    progress.stage("Reading", 256);
    for bucket in 0..=255u8 {
        progress.step();
        shard.set(bucket >> 4);
        cleanup::walk_bucket(cache_dir, bucket)?
            .iter()
            .for_each(&mut count);
    }
    // Temp files outside the buckets (stats and config writes) count too;
    // the rest of what is there is bookkeeping, a sharing ccache's too.
    for f in cleanup::stray_files(cache_dir)? {
        match f.class {
            FileClass::Temp => count(&f),
            _ => {
                u.bookkeeping.files += 1;
                u.bookkeeping.kib += f.kib;
            }
        }
    }
    for f in cleanup::other_files(cache_dir)? {
        u.bookkeeping.files += 1;
        u.bookkeeping.kib += f.kib;
    }
    u.by_last_use = AGE_BINS
        .iter()
        .map(|(l, _)| format!("<{l}"))
        .chain(std::iter::once(format!(">={}", AGE_BINS.last().unwrap().0)))
        .zip(bins)
        .collect();
    u.evict_older_than = EVICT_AGES
        .iter()
        .map(|(l, _)| l.to_string())
        .zip(evict)
        .collect();
    for (x, entries) in entries.into_iter().enumerate() {
        let freed = cleanup_would_free(entries, &limits.share(x as u8));
        u.cleanup_would_free.files += freed.files;
        u.cleanup_would_free.kib += freed.kib;
    }
    Ok(u)
}

/// What `-c` would evict from one level-1 directory to bring it to its
/// `share` of the limits: oldest first. `entries`: each entry's last use,
/// size and whether it counts as a file (miss inputs do not).
fn cleanup_would_free(mut entries: Vec<(u64, u64, bool)>, share: &cleanup::Share) -> Amount {
    let mut freed = Amount::default();
    let (mut kib, mut files) = entries
        .iter()
        .fold((0, 0), |(k, f), e| (k + e.1, f + u64::from(e.2)));
    if !share.over(kib, files) {
        return freed;
    }
    entries.sort_unstable();
    let (target_kib, target_files) = share.ceiling();
    for (_, k, counted) in entries {
        if kib <= target_kib && files <= target_files {
            break;
        }
        let counted = u64::from(counted);
        kib -= k;
        files -= counted;
        freed.kib += k;
        freed.files += counted;
    }
    freed
}

fn human(kib: u64) -> String {
    let b = kib as f64 * 1024.0;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} kB", b / 1e3)
    }
}

pub fn show(u: &Usage) -> String {
    let line = |label: &str, a: &Amount| {
        format!("  {label:<28} {:>12} {:>9} files\n", human(a.kib), a.files)
    };
    let mut out = String::new();
    out.push_str(&format!(
        "Total:                         {:>12} {:>9} files   (limit {}{})\n",
        human(u.total.kib),
        u.total.files,
        if u.limit_kib > 0 {
            human(u.limit_kib)
        } else {
            "none".into()
        },
        if u.limit_files > 0 {
            format!(", {} files", u.limit_files)
        } else {
            String::new()
        }
    ));
    out.push_str("By kind:\n");
    out.push_str(&line("results", &u.results));
    out.push_str(&line("manifests", &u.manifests));
    out.push_str(&line("miss inputs (not in files)", &u.miss_inputs));
    out.push_str(&line("other files", &u.others));
    out.push_str(&line("temp, stale (> 1h)", &u.temp_stale));
    out.push_str(&line("temp, recent (may be live)", &u.temp_recent));
    out.push_str(&line("bookkeeping (no limit)", &u.bookkeeping));
    out.push_str("By namespace:\n");
    for (ns, a) in &u.by_namespace {
        out.push_str(&line(if ns.is_empty() { "(none)" } else { ns }, a));
    }
    out.push_str("By last use:\n");
    for (label, a) in &u.by_last_use {
        out.push_str(&line(label, a));
    }
    out.push_str("Reclaimable:\n");
    out.push_str(&line("cleanup to the limit (-c)", &u.cleanup_would_free));
    for (age, a) in &u.evict_older_than {
        out.push_str(&line(&format!("--evict-older-than {age}"), a));
    }
    out.push_str(&line("stale temp files", &u.temp_stale));
    out.push_str("In use: nothing (objcache holds no cache file between calls)\n");
    out
}

pub fn print(u: &Usage) -> String {
    let mut lines: Vec<(String, u64)> = Vec::new();
    let mut put = |name: String, a: &Amount| {
        lines.push((format!("{name}_files"), a.files));
        lines.push((format!("{name}_kibibyte"), a.kib));
    };
    put("total".into(), &u.total);
    put("kind_result".into(), &u.results);
    put("kind_manifest".into(), &u.manifests);
    put("kind_miss_inputs".into(), &u.miss_inputs);
    put("kind_other".into(), &u.others);
    put("kind_temp_stale".into(), &u.temp_stale);
    put("kind_temp_recent".into(), &u.temp_recent);
    put("kind_bookkeeping".into(), &u.bookkeeping);
    for (ns, a) in &u.by_namespace {
        put(
            format!("namespace_{}", if ns.is_empty() { "-" } else { ns }),
            a,
        );
    }
    for (label, a) in &u.by_last_use {
        let l = label.replace("<", "under_").replace(">=", "over_");
        put(format!("last_use_{l}"), a);
    }
    put("reclaimable_cleanup".into(), &u.cleanup_would_free);
    for (age, a) in &u.evict_older_than {
        put(format!("reclaimable_older_than_{age}"), a);
    }
    lines.push(("limit_kibibyte".into(), u.limit_kib));
    lines.push(("limit_files".into(), u.limit_files));
    lines.push(("in_use_files".into(), 0));
    lines.iter().map(|(n, v)| format!("{n}\t{v}\n")).collect()
}
