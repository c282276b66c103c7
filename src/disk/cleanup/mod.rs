//! Keeping the cache's size honest: limits, least-recently-used eviction,
//! age eviction, and the walks that re-verify the size accounting.
//!
//! The store has 256 buckets (`<x>/<y>` directories). Each shard stats file
//! (`objcache-stats/<x>`) keeps, per bucket, its size, its file count and a lower
//! bound of its entries' last-use times, so deciding whether to clean costs
//! 16 small reads. Eviction itself (`evict`) walks the cache with one bucket
//! in memory at a time: an age histogram finds the cutoff, then everything
//! older goes, and every walk writes the buckets' exact usage back, so drift
//! cannot accumulate.

use std::fs;
use std::io;
use std::path::Path;

mod lock;
mod reach;
mod select;
mod walk;

pub use select::{check_all, evict_selected, namespace_of, Selection};
pub use walk::{
    bucket_dir, classify, other_files, stray_files, walk_bucket, FileClass, WalkedFile,
};

use crate::config::Config;
use crate::stats::{self, BucketUsage, Counter};

/// Temp files older than this were left by a killed process.
pub const STALE_TEMP_SECS: u64 = 3600;

/// Told how far a long walk of the cache is: the manager shows it as a
/// progress bar on a terminal; a cleanup that a compile starts gives a
/// closure that keeps its lock alive. Steps are buckets, unless a stage
/// says otherwise.
pub trait Progress {
    /// A stage of `total` steps begins.
    fn stage(&mut self, _what: &'static str, _total: u64) {}
    /// One more step of the stage is done.
    fn step(&mut self);
}

impl<F: FnMut()> Progress for F {
    fn step(&mut self) {
        self()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// 0 = no limit.
    pub max_kib: u64,
    pub max_files: u64,
    /// Evict down to this share of the limits.
    pub multiple: f64,
    /// Automatic cleanups also remove entries unused for this long.
    pub max_age_secs: Option<u64>,
}

impl Limits {
    pub fn from_config(config: &Config) -> Limits {
        Limits {
            max_kib: config.max_size_kib(),
            max_files: config.max_files,
            multiple: config.limit_multiple,
            max_age_secs: config.max_age_secs,
        }
    }

    fn over(&self, kib: u64, files: u64) -> bool {
        (self.max_kib > 0 && kib > self.max_kib) || (self.max_files > 0 && files > self.max_files)
    }

    /// Over twice a limit: whoever holds the cleanup lock is not keeping
    /// up (see `lock`).
    fn far_over(&self, kib: u64, files: u64) -> bool {
        (self.max_kib > 0 && kib / 2 > self.max_kib)
            || (self.max_files > 0 && files / 2 > self.max_files)
    }

    /// What an eviction brings the cache down to.
    fn target(&self) -> (u64, u64) {
        let scale = |limit: u64| {
            if limit == 0 {
                u64::MAX
            } else {
                (limit as f64 * self.multiple) as u64
            }
        };
        (scale(self.max_kib), scale(self.max_files))
    }
}

/// What a walk removed (or, dry, would remove).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Files removed, but miss inputs (as `files_in_cache` counts them;
    /// stale temp files too).
    pub files: u64,
    /// Miss-inputs files removed.
    pub inputs: u64,
    pub kib: u64,
    /// Buckets left alone because another process held their shard's
    /// stats lock past the wait.
    pub locked: u64,
}

impl std::ops::AddAssign for Swept {
    fn add_assign(&mut self, o: Swept) {
        self.files += o.files;
        self.inputs += o.inputs;
        self.kib += o.kib;
        self.locked += o.locked;
    }
}

/// Decides, for a bucket's entries sorted oldest first, which to remove.
pub trait EvictionRule {
    fn remove(&mut self, entry: &WalkedFile) -> bool;
}

impl<F: FnMut(&WalkedFile) -> bool> EvictionRule for F {
    fn remove(&mut self, entry: &WalkedFile) -> bool {
        self(entry)
    }
}

/// Walks one bucket under its shard's lock: removes stale temp files and the
/// entries `rule` picks (oldest first), then writes the bucket's exact usage
/// into the shard's counters. With `dry_run` nothing is removed or written.
/// A bucket whose shard another process holds locked past the wait is left
/// alone (`Swept::locked`): nothing in a bucket changes without its
/// shard's lock (stores into it wait or give up too), so its accounting
/// stays exact.
pub fn sweep_bucket(
    cache_dir: &Path,
    bucket: u8,
    rule: &mut dyn EvictionRule,
    dry_run: bool,
) -> io::Result<Swept> {
    let shard = bucket >> 4;
    let mut work = |mut c: Option<&mut stats::Counters>| -> io::Result<Swept> {
        if let Some(c) = c.as_deref_mut().filter(|c| !c.inputs_apart) {
            recount_shard(cache_dir, shard, c)?;
        }
        let mut files = walk_bucket(cache_dir, bucket)?;
        files.sort_by_key(|f| f.used_ns);
        let stale_before = crate::clock::now_ns().saturating_sub(STALE_TEMP_SECS * 1_000_000_000);
        let mut swept = Swept::default();
        let mut kept = Vec::with_capacity(files.len());
        for f in files {
            let remove = match f.class {
                FileClass::Temp => f.used_ns < stale_before,
                _ => rule.remove(&f),
            };
            if remove && (dry_run || remove_file(&f.path)) {
                match f.class {
                    FileClass::MissInputs => swept.inputs += 1,
                    _ => swept.files += 1,
                }
                swept.kib += f.kib;
            } else {
                kept.push(f);
            }
        }
        if let Some(c) = c {
            c.buckets[usize::from(bucket & 0xf)] = usage_of(&kept);
            set_totals(c);
        }
        Ok(swept)
    };
    if dry_run {
        return work(None);
    }
    // A full file system can refuse the stats update: space must still be
    // freed, so the files go even when their accounting cannot be written
    // (the next walk that can write corrects it).
    let outcome = std::cell::RefCell::new(None);
    match stats::modify(cache_dir, shard, |c| {
        *outcome.borrow_mut() = Some(work(Some(c)));
    }) {
        Ok(()) => outcome.into_inner().expect("the closure ran"),
        Err(e) if stats::is_locked(&e) => Ok(Swept {
            locked: 1,
            ..Swept::default()
        }),
        Err(_) => match outcome.into_inner() {
            Some(done) => done,
            None => work(None),
        },
    }
}

fn remove_file(path: &Path) -> bool {
    match fs::remove_file(path) {
        Ok(()) => true,
        // Someone else removed it: it is gone either way, but not our reclaim.
        Err(_) => false,
    }
}

/// A bucket's usage from its files (oldest first), as a walk found them.
fn usage_of(files: &[WalkedFile]) -> BucketUsage {
    let mut usage = BucketUsage::default();
    for f in files.iter().filter(|f| f.class.is_cache_file()) {
        usage.kib += f.kib;
        match f.class {
            FileClass::MissInputs => usage.inputs += 1,
            _ => usage.files += 1,
        }
        if usage.oldest_ns == 0 {
            usage.oldest_ns = f.used_ns.max(1);
        }
    }
    // An empty bucket's oldest is "now": anything stored later is newer.
    if usage.oldest_ns == 0 {
        usage.oldest_ns = crate::clock::now_ns();
    }
    usage
}

/// Sets a shard's totals to its buckets' sums: set from them, not moved by
/// a difference, a total that the file's damage or a neighbour made absurd
/// heals with the walk.
fn set_totals(c: &mut stats::Counters) {
    let sum = sum_usage(c.buckets.iter());
    c.set(Counter::CacheSizeKibibyte, sum.kib);
    c.set(Counter::FilesInCache, sum.files);
    c.set(Counter::MissInputsInCache, sum.inputs);
}

/// Counts the 16 buckets of `shard` again from the disk, removing nothing,
/// into its counters `c` (held under the shard's lock): for a shard whose
/// bucket counts an objcache that counted miss inputs as files wrote.
pub fn recount_shard(cache_dir: &Path, shard: u8, c: &mut stats::Counters) -> io::Result<()> {
    for i in 0..16u8 {
        let mut files = walk_bucket(cache_dir, (shard << 4) | i)?;
        files.sort_by_key(|f| f.used_ns);
        c.buckets[usize::from(i)] = usage_of(&files);
    }
    set_totals(c);
    c.inputs_apart = true;
    Ok(())
}

/// The sum of buckets' sizes and file counts. A stats file may say
/// anything (bit rot, a neighbour): the sums saturate, never overflow.
fn sum_usage<'a>(buckets: impl Iterator<Item = &'a BucketUsage>) -> BucketUsage {
    buckets.fold(BucketUsage::default(), |sum, b| BucketUsage {
        kib: sum.kib.saturating_add(b.kib),
        files: sum.files.saturating_add(b.files),
        inputs: sum.inputs.saturating_add(b.inputs),
        oldest_ns: 0,
    })
}

/// After a store: when the cache is over a limit, or holds entries older than
/// `max_age`, evicts least-recently-used entries down to the target. One
/// process at a time does (see `lock`): a call that finds another cleaning
/// leaves it the work and counts `cleanups_skipped`; the next call that
/// stores checks the limits again.
pub fn enforce_if_needed(cache_dir: &Path, limits: &Limits) -> io::Result<Option<Swept>> {
    let overdue = match cleanup_need(cache_dir, limits) {
        Need::None => return Ok(None),
        Need::Due => false,
        Need::Overdue => true,
    };
    let lock::Claim::Granted(mut lease) = lock::claim(cache_dir, overdue) else {
        stats::count_later(Counter::CleanupsSkipped);
        return Ok(None);
    };
    // Another process may have cleaned just before.
    if !needs_cleanup(cache_dir, limits) {
        return Ok(None);
    }
    let swept = evict_with(cache_dir, limits, &mut || lease.beat())?;
    trim_memos(cache_dir);
    stats::update(cache_dir, 0, "", &[(Counter::CleanupsPerformed, 1)])?;
    Ok(Some(swept))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    None,
    Due,
    /// Over twice a limit: due even if the cleanup lock's holder looks alive.
    Overdue,
}

/// Whether the buckets a cleanup can reach now (see `reach`) are over
/// their share of a limit, or hold entries past `max_age` (those of a
/// shard another process holds would start a cleanup on every call that
/// stores, in vain).
fn cleanup_need(cache_dir: &Path, limits: &Limits) -> Need {
    let reach = reach::Reach::read(cache_dir);
    let Some(limits_now) = reach.limits(limits) else {
        return Need::None;
    };
    let (kib, files) = reach.sums();
    let old = || {
        age_cutoff(limits).is_some_and(|cut| {
            reach
                .buckets()
                .any(|b| b.files + b.inputs > 0 && b.oldest_ns < cut)
        })
    };
    let limits = &limits_now;
    if limits.far_over(kib, files) {
        Need::Overdue
    } else if limits.over(kib, files) || old() {
        Need::Due
    } else {
        Need::None
    }
}

fn needs_cleanup(cache_dir: &Path, limits: &Limits) -> bool {
    cleanup_need(cache_dir, limits) != Need::None
}

fn age_cutoff(limits: &Limits) -> Option<u64> {
    limits
        .max_age_secs
        .map(|age| crate::clock::now_ns().saturating_sub(age.saturating_mul(1_000_000_000)))
}

/// Histogram slices of last-use age: 64 per doubling of the age in seconds,
/// so the cutoff is found to about 1% of the age it lies at.
const AGE_BINS: usize = 64 * 40;

fn age_bin(now: u64, used_ns: u64) -> usize {
    // log2(age + 1) in 1/64 steps, from the bits (no libm: every process
    // that links it pays for loading it, cache hits included): the doubling
    // from the leading bit, the step within it from the next six bits.
    let ms = now.saturating_sub(used_ns) / 1_000_000 + 1;
    let doubling = ms.ilog2() as usize;
    let step = if doubling >= 6 {
        ((ms >> (doubling - 6)) & 63) as usize
    } else {
        (((ms << (6 - doubling)) & 63) as usize).min(63)
    };
    (doubling * 64 + step).min(AGE_BINS - 1)
}

/// Every entry of every bucket a cleanup can reach, one bucket in memory
/// at a time, as the stage `what` of `progress`.
fn for_each_entry(
    cache_dir: &Path,
    reach: &reach::Reach,
    (what, progress): (&'static str, &mut dyn Progress),
    mut f: impl FnMut(&WalkedFile),
) -> io::Result<()> {
    let buckets: Vec<u8> = (0..=255u8).filter(|&b| reach.can_reach(b)).collect();
    progress.stage(what, buckets.len() as u64);
    for bucket in buckets {
        progress.step();
        for entry in walk_bucket(cache_dir, bucket)? {
            if entry.class.is_cache_file() {
                f(&entry);
            }
        }
    }
    Ok(())
}

/// Evicts least-recently-used entries until the cache is at or below
/// `limit_multiple` × the limits, and entries unused for longer than
/// `max_age`, in one least-recently-used order across the whole cache and
/// with memory bounded by one bucket and a histogram:
///
/// 1. a walk builds a histogram of last-use ages (size and count per slice);
///    from the oldest slice down it finds the slice where enough is freed;
/// 2. a walk collects that one slice's entries and finds the exact cutoff;
/// 3. a walk removes everything older than the cutoff, bucket by bucket
///    under each shard's lock, writing every bucket's exact usage back.
pub fn evict(cache_dir: &Path, limits: &Limits) -> io::Result<Swept> {
    evict_with(cache_dir, limits, &mut || {})
}

/// `evict`, telling `progress` of each bucket it walks.
fn evict_with(cache_dir: &Path, limits: &Limits, progress: &mut dyn Progress) -> io::Result<Swept> {
    let age_cut = age_cutoff(limits).unwrap_or(0);
    let mut total = Swept::default();
    let mut reach = reach::Reach::read(cache_dir);
    // Entries hit while we walk get younger and survive; if that leaves the
    // cache above target, another round takes the next oldest.
    for _ in 0..3 {
        // Only what can be reached counts, against its share of the limits.
        let Some((target_kib, target_files)) = reach.limits(limits).map(|l| l.target()) else {
            break;
        };
        let now = crate::clock::now_ns();
        let mut hist = vec![(0u64, 0u64); AGE_BINS];
        let (mut kib, mut files) = (0u64, 0u64);
        // Miss inputs go by last use with the rest; only their size
        // counts against the limits (see `FileClass::is_counted_file`).
        for_each_entry(cache_dir, &reach, ("Measuring ages", progress), |e| {
            let counted = u64::from(e.class.is_counted_file());
            let h = &mut hist[age_bin(now, e.used_ns)];
            h.0 += e.kib;
            h.1 += counted;
            kib += e.kib;
            files += counted;
        })?;
        let over = |k: u64, f: u64| k > target_kib || f > target_files;
        let cut_bin = cut_bin(&hist, (kib, files), over);
        // Within that slice, oldest first, just as many as needed.
        let mut cut_ns = 0u64;
        if cut_bin < AGE_BINS {
            let (mut k, mut f) = hist[cut_bin + 1..]
                .iter()
                .fold((kib, files), |(k, f), h| (k - h.0, f - h.1));
            let mut slice = Vec::new();
            for_each_entry(cache_dir, &reach, ("Finding the cutoff", progress), |e| {
                if age_bin(now, e.used_ns) == cut_bin {
                    slice.push((e.used_ns, e.kib, u64::from(e.class.is_counted_file())));
                }
            })?;
            slice.sort_unstable();
            for (used, entry_kib, counted) in slice {
                if !over(k, f) {
                    break;
                }
                cut_ns = used;
                k = k.saturating_sub(entry_kib);
                f = f.saturating_sub(counted);
            }
        }
        // Nothing to remove, though the accounting said the cache is over:
        // it counts entries that are gone (deleted by hand, by a backup
        // tool's cleaner). The sweep still runs, removing nothing, to write
        // the exact usage back; otherwise every call that stores would
        // walk the whole cache again, in vain.
        let mut rule = |e: &WalkedFile| {
            let bin = age_bin(now, e.used_ns);
            e.used_ns < age_cut
                || (cut_bin < AGE_BINS
                    && (bin > cut_bin || (bin == cut_bin && e.used_ns <= cut_ns)))
        };
        let mut round = Swept::default();
        progress.stage("Evicting", 256);
        for bucket in 0..=255u8 {
            progress.step();
            round += sweep_bucket(cache_dir, bucket, &mut rule, false)?;
        }
        total += round;
        reach = reach::Reach::read(cache_dir);
        let (kib_now, files_now) = reach.sums();
        if !over(kib_now, files_now) || round.files + round.inputs == 0 {
            break;
        }
    }
    Ok(total)
}

/// The age slice of `hist` (`(KiB, files)` per slice) where removal from
/// the oldest down gets `sums` no longer `over` the target; `AGE_BINS`
/// when it is not over to begin with.
fn cut_bin(hist: &[(u64, u64)], sums: (u64, u64), over: impl Fn(u64, u64) -> bool) -> usize {
    let (mut k, mut f) = sums;
    if !over(k, f) {
        return AGE_BINS; // none
    }
    for bin in (0..AGE_BINS).rev() {
        k -= hist[bin].0;
        f -= hist[bin].1;
        if !over(k, f) {
            return bin;
        }
    }
    AGE_BINS - 1
}

/// `-c`: re-verifies every bucket against the disk (removing stale temp files
/// and entries past `max_age`), then evicts down to the limits.
pub fn full_cleanup(
    cache_dir: &Path,
    limits: &Limits,
    progress: &mut dyn Progress,
) -> io::Result<Swept> {
    let cutoff = age_cutoff(limits).unwrap_or(0);
    let mut total = Swept::default();
    progress.stage("Cleaning", 256);
    for bucket in 0..=255u8 {
        progress.step();
        total += sweep_bucket(
            cache_dir,
            bucket,
            &mut |f: &WalkedFile| f.used_ns < cutoff,
            false,
        )?;
    }
    total += sweep_stray_temp_files(cache_dir, false)?;
    trim_memos(cache_dir);
    if needs_cleanup(cache_dir, limits) {
        total += evict_with(cache_dir, limits, progress)?;
    }
    stats::update(cache_dir, 0, "", &[(Counter::CleanupsPerformed, 1)])?;
    Ok(total)
}

/// How many memos of each kind (`compilers/`, `digests/`) a cleanup keeps.
/// They are named by what they describe, which a CI job can make new every
/// time (a toolchain unpacked with new inode numbers, a checkout at a new
/// path): without a bound they would pile up outside the size accounting.
pub const MEMOS_KEPT: usize = 64;

/// Removes all but the `MEMOS_KEPT` newest memos of each kind. A memo still
/// in use that goes costs its next call one recomputation, and is written
/// again. Memos are no cache files: nothing is counted.
pub fn trim_memos(cache_dir: &Path) {
    for kind in crate::key::MemoKind::ALL {
        let dir = cache_dir.join(kind.dir_name());
        if crate::files::no_symlink_below(cache_dir, &dir).is_err() {
            continue;
        }
        let mut memos = Vec::new();
        if walk::walk_into(&dir, false, &mut memos).is_err() {
            continue;
        }
        memos.retain(|f| f.class != FileClass::Temp);
        if memos.len() <= MEMOS_KEPT {
            continue;
        }
        memos.sort_by_key(|f| std::cmp::Reverse(f.used_ns));
        for f in &memos[MEMOS_KEPT..] {
            remove_file(&f.path);
        }
    }
}

/// Stale temp files outside the buckets (left by stats or config writes).
pub fn sweep_stray_temp_files(cache_dir: &Path, dry_run: bool) -> io::Result<Swept> {
    let stale_before = crate::clock::now_ns().saturating_sub(STALE_TEMP_SECS * 1_000_000_000);
    let mut swept = Swept::default();
    for f in stray_files(cache_dir)? {
        if f.class == FileClass::Temp
            && f.used_ns < stale_before
            && (dry_run || remove_file(&f.path))
        {
            swept.files += 1;
            swept.kib += f.kib;
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests;
