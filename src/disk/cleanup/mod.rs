//! Keeping the cache's size honest: limits, least-recently-used eviction,
//! age eviction, and the walks that re-verify the size accounting.
//!
//! The store has 256 buckets (`<x>/<y>` directories). Each shard stats file
//! (`objcache-stats/<x>`) keeps, per bucket, its size, its file count and a lower
//! bound of its entries' last-use times. Each level-1 directory `<x>/` is
//! held to a sixteenth of the limits, as in ccache, so deciding whether to
//! clean after a store costs one small read, and a cleanup walks one
//! sixteenth of the cache. Eviction (`evict_shard`) walks with one bucket
//! in memory at a time: an age histogram finds the cutoff, then everything
//! older goes, and every walk writes the buckets' exact usage back, so drift
//! cannot accumulate.

use std::fs;
use std::io;
use std::path::Path;

mod lock;
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

    /// Level-1 directory `shard`'s share of the limits: a sixteenth of
    /// each, as ccache splits them, the remainder of a limit that 16 does
    /// not divide going to the first directories, so the shares add up to
    /// the limit exactly (under 16 files, some directories keep none).
    pub fn share(&self, shard: u8) -> Share {
        let part = |limit: u64| {
            (limit != 0).then(|| limit / 16 + u64::from(u64::from(shard) < limit % 16))
        };
        Share {
            kib: part(self.max_kib),
            files: part(self.max_files),
            multiple: self.multiple,
        }
    }
}

/// One level-1 directory's share of the limits (`None`: no limit).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Share {
    pub kib: Option<u64>,
    pub files: Option<u64>,
    multiple: f64,
}

impl Share {
    pub fn over(&self, kib: u64, files: u64) -> bool {
        self.kib.is_some_and(|l| kib > l) || self.files.is_some_and(|l| files > l)
    }

    /// Over twice the share: whoever holds the cleanup lock is not keeping
    /// up (see `lock`).
    fn far_over(&self, kib: u64, files: u64) -> bool {
        self.kib.is_some_and(|l| kib / 2 > l) || self.files.is_some_and(|l| files / 2 > l)
    }

    /// The share itself, as a target (`u64::MAX`: none).
    pub fn ceiling(&self) -> (u64, u64) {
        (self.kib.unwrap_or(u64::MAX), self.files.unwrap_or(u64::MAX))
    }

    /// What an automatic cleanup brings the directory down to.
    fn target(&self) -> (u64, u64) {
        let scale =
            |limit: Option<u64>| limit.map_or(u64::MAX, |l| (l as f64 * self.multiple) as u64);
        (scale(self.kib), scale(self.files))
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
    /// Level-1 directories something was removed from: each one is a
    /// cleanup, as ccache counts `cleanups_performed`.
    pub dirs: u64,
}

impl Swept {
    /// What was swept from one level-1 directory, counted as a cleanup of
    /// it when something was removed.
    fn of_one_dir(self) -> Swept {
        Swept {
            dirs: u64::from(self.files + self.inputs > 0),
            ..self
        }
    }
}

impl std::ops::AddAssign for Swept {
    fn add_assign(&mut self, o: Swept) {
        self.files += o.files;
        self.inputs += o.inputs;
        self.kib += o.kib;
        self.locked += o.locked;
        self.dirs += o.dirs;
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
                FileClass::ForeignTemp => f.used_ns < stale_before || rule.remove(&f),
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

/// After a store into the level-1 directories `shards` (bit `x` for
/// `<x>/`): each of them that is over its share of a limit (see
/// `Limits::share`), or holds entries older than `max_age`, has its least
/// recently used entries evicted down to `limit_multiple` of its share, as
/// ccache cleans one directory at a time. One process at a time cleans
/// (see `lock`): a call that finds another cleaning leaves it the work and
/// counts `cleanups_skipped`; the next call that stores there checks again.
pub fn enforce_if_needed(
    cache_dir: &Path,
    limits: &Limits,
    shards: u16,
) -> io::Result<Option<Swept>> {
    let due: Vec<(u8, Need)> = (0..stats::SHARDS)
        .filter(|x| shards & (1 << x) != 0)
        .map(|x| (x, shard_need(cache_dir, limits, x)))
        .filter(|(_, need)| *need != Need::None)
        .collect();
    if due.is_empty() {
        return Ok(None);
    }
    let overdue = due.iter().any(|(_, need)| *need == Need::Overdue);
    let lock::Claim::Granted(mut lease) = lock::claim(cache_dir, overdue) else {
        stats::count_later(Counter::CleanupsSkipped);
        return Ok(None);
    };
    let mut total = Swept::default();
    for (x, _) in due {
        // Another process may have cleaned just before.
        if shard_need(cache_dir, limits, x) == Need::None {
            continue;
        }
        let target = limits.share(x).target();
        total += evict_shard(cache_dir, x, limits, target, &mut || lease.beat())?;
    }
    if total.dirs == 0 {
        return Ok(None);
    }
    trim_memos(cache_dir);
    let cleanups = (Counter::CleanupsPerformed, total.dirs as i64);
    stats::update(cache_dir, 0, "", &[cleanups])?;
    Ok(Some(total))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    None,
    Due,
    /// Over twice a limit: due even if the cleanup lock's holder looks alive.
    Overdue,
}

/// A level-1 directory's size and file count as its shard says, and
/// whether it holds entries older than `max_age`; `None` while another
/// process holds the shard (nothing in it changes until then, and a
/// cleanup could not reach it). A directory that no walk has counted yet
/// is as full as ccache's stats file there says, besides what objcache
/// stored (a cache dir ccache used before).
fn shard_usage(cache_dir: &Path, limits: &Limits, shard: u8) -> Option<(u64, u64, bool)> {
    let read = stats::read_shard(cache_dir, shard);
    if read.held {
        return None;
    }
    let c = &read.counters;
    let sum = sum_usage(c.buckets.iter());
    let (mut kib, mut files) = (sum.kib, sum.files);
    if !c.walked() {
        let (ccache_kib, ccache_files) = stats::ccache_files::usage_of(cache_dir, shard);
        kib = kib.saturating_add(ccache_kib);
        files = files.saturating_add(ccache_files);
    }
    let old = age_cutoff(limits).is_some_and(|cut| {
        c.buckets
            .iter()
            .any(|b| b.files + b.inputs > 0 && b.oldest_ns < cut)
    });
    Some((kib, files, old))
}

/// Whether level-1 directory `shard` is over its share of a limit, or
/// holds entries past `max_age`.
fn shard_need(cache_dir: &Path, limits: &Limits, shard: u8) -> Need {
    let share = limits.share(shard);
    let Some((kib, files, old)) = shard_usage(cache_dir, limits, shard) else {
        return Need::None;
    };
    if share.far_over(kib, files) {
        Need::Overdue
    } else if share.over(kib, files) || old {
        Need::Due
    } else {
        Need::None
    }
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

/// The buckets of level-1 directory `shard`.
pub(super) fn buckets_of(shard: u8) -> impl Iterator<Item = u8> {
    (0..16u8).map(move |i| (shard << 4) | i)
}

/// Every entry of level-1 directory `shard`, one bucket in memory at a
/// time, telling `progress` of each bucket.
fn for_each_entry(
    cache_dir: &Path,
    shard: u8,
    progress: &mut dyn Progress,
    mut f: impl FnMut(&WalkedFile),
) -> io::Result<()> {
    for bucket in buckets_of(shard) {
        progress.step();
        for entry in walk_bucket(cache_dir, bucket)? {
            if entry.class.is_cache_file() {
                f(&entry);
            }
        }
    }
    Ok(())
}

/// Evicts least-recently-used entries of level-1 directory `shard` until
/// it is at or below `target` (KiB, files), and its entries unused for
/// longer than `limits.max_age`, in least-recently-used order and with
/// memory bounded by one bucket and a histogram:
///
/// 1. a walk builds a histogram of last-use ages (size and count per slice);
///    from the oldest slice down it finds the slice where enough is freed;
/// 2. a walk collects that one slice's entries and finds the exact cutoff;
/// 3. a walk removes everything older than the cutoff, bucket by bucket
///    under the shard's lock, writing every bucket's exact usage back.
///
/// The walks count what is on the disk, so ccache's files there too.
fn evict_shard(
    cache_dir: &Path,
    shard: u8,
    limits: &Limits,
    (target_kib, target_files): (u64, u64),
    progress: &mut dyn Progress,
) -> io::Result<Swept> {
    let age_cut = age_cutoff(limits).unwrap_or(0);
    let over = |k: u64, f: u64| k > target_kib || f > target_files;
    let mut total = Swept::default();
    // Entries hit while we walk get younger and survive; if that leaves the
    // directory above target, another round takes the next oldest.
    for _ in 0..3 {
        let now = crate::clock::now_ns();
        let mut hist = vec![(0u64, 0u64); AGE_BINS];
        let (mut kib, mut files) = (0u64, 0u64);
        // Miss inputs go by last use with the rest; only their size
        // counts against the limits (see `FileClass::is_counted_file`).
        for_each_entry(cache_dir, shard, progress, |e| {
            let counted = u64::from(e.class.is_counted_file());
            let h = &mut hist[age_bin(now, e.used_ns)];
            h.0 += e.kib;
            h.1 += counted;
            kib += e.kib;
            files += counted;
        })?;
        let cut_bin = cut_bin(&hist, (kib, files), over);
        // Within that slice, oldest first, just as many as needed.
        let mut cut_ns = 0u64;
        if cut_bin < AGE_BINS {
            let (mut k, mut f) = hist[cut_bin + 1..]
                .iter()
                .fold((kib, files), |(k, f), h| (k - h.0, f - h.1));
            let mut slice = Vec::new();
            for_each_entry(cache_dir, shard, progress, |e| {
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
        // Nothing to remove, though the accounting said the directory is
        // over: it counts entries that are gone (deleted by hand, by a
        // backup tool's cleaner). The sweep still runs, removing nothing,
        // to write the exact usage back; otherwise every call that stores
        // there would walk it again, in vain.
        let mut rule = |e: &WalkedFile| {
            let bin = age_bin(now, e.used_ns);
            e.used_ns < age_cut
                || (cut_bin < AGE_BINS
                    && (bin > cut_bin || (bin == cut_bin && e.used_ns <= cut_ns)))
        };
        let mut round = Swept::default();
        for bucket in buckets_of(shard) {
            progress.step();
            round += sweep_bucket(cache_dir, bucket, &mut rule, false)?;
        }
        let removed = round.files + round.inputs > 0;
        let locked = round.locked > 0;
        total += round;
        let Some((kib_now, files_now, _)) = shard_usage(cache_dir, limits, shard) else {
            break;
        };
        if !over(kib_now, files_now) || !removed || locked {
            break;
        }
    }
    Ok(total.of_one_dir())
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
/// and entries past `max_age`), then evicts each level-1 directory over its
/// share of the limits down to that share (not below it, as ccache's `-c`).
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
    let over: Vec<u8> = (0..stats::SHARDS)
        .filter(|&x| shard_need(cache_dir, limits, x) != Need::None)
        .collect();
    // Three walks of 16 buckets a round, mostly one round.
    progress.stage("Evicting", over.len() as u64 * 48);
    let mut evicted = Swept::default();
    for x in over {
        let ceiling = limits.share(x).ceiling();
        evicted += evict_shard(cache_dir, x, limits, ceiling, progress)?;
    }
    if evicted.dirs > 0 {
        let cleanups = (Counter::CleanupsPerformed, evicted.dirs as i64);
        stats::update(cache_dir, 0, "", &[cleanups])?;
    }
    total += evicted;
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
