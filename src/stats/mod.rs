//! Statistics counters, kept in 16 shard files under the cache dir
//! (`<cache_dir>/objcache-stats/<0-f>`) so concurrent compiles rarely wait on
//! one lock. Each update is a read-modify-write under an exclusive lock on
//! the shard's stats file, so no increment is ever lost; readers take a
//! shared lock. No lock is waited for long, and no file, whatever is in its
//! place, is read far (see `shard`): a call's counts go to another shard
//! when its own is held.
//!
//! Not `<cache_dir>/<x>/stats`: that is where ccache keeps its own counters,
//! in another format, and a ccache sharing the cache dir would misread (and
//! rewrite) them; ccache up to 4.7 also treats every other file below
//! `<x>/` as a cache entry to evict. Counters that an earlier objcache kept
//! in `<x>/stats` are taken over once (see `legacy`).

pub mod ccache_files;
pub mod counters;
pub mod display;
pub mod namespaces;
mod shard;
pub mod stats_log;
mod text;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use counters::Merge;
pub use counters::{Counter, COUNTERS};
use namespaces::Namespaces;
pub use shard::{is_locked, Locked, LOCK_WAIT, MAX_STATS_FILE};
use shard::{Mode, Patience};

pub const SHARDS: u8 = 16;

/// Size accounting of one level-2 directory (`<x>/<y>`) of the store: what
/// cleanup needs to pick where the least recently used entries are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketUsage {
    /// The disk space of every cache file in the bucket, miss inputs too.
    pub kib: u64,
    /// The files `files_in_cache` counts: every cache file but miss inputs.
    pub files: u64,
    /// Miss-inputs files (`…X`), counted apart (`miss_inputs_in_cache`).
    pub inputs: u64,
    /// A lower bound of the entries' last-use times (ns); 0 = not walked yet.
    pub oldest_ns: u64,
}

/// A value for every counter and, in a shard, the usage of its 16 buckets.
#[derive(Clone, Debug, PartialEq)]
pub struct Counters {
    /// Indexed by `Counter as usize`.
    values: Vec<u64>,
    /// Indexed by the bucket's second hex digit (the first is the shard's).
    pub buckets: [BucketUsage; 16],
    /// The buckets' file counts leave miss inputs apart. A shard written
    /// by an objcache that counted them as files (or rewritten by one
    /// since) lacks the mark, and its buckets are counted again (see
    /// `disk::recount_shard`).
    pub inputs_apart: bool,
    /// Hits and misses per namespace (see `namespaces`).
    pub namespaces: Namespaces,
}

/// The line that marks a shard's bucket counts as leaving miss inputs
/// apart; an objcache that does not know it skips it and drops it.
const INPUTS_APART_LINE: &str = "bucket_counts_inputs_apart 1";

/// How the lines of a shard's bucket usage start.
const BUCKET_PREFIX: &str = "bucket_";

impl Default for Counters {
    fn default() -> Self {
        Counters {
            values: vec![0; COUNTERS.len()],
            buckets: [BucketUsage::default(); 16],
            inputs_apart: true,
            namespaces: Namespaces::default(),
        }
    }
}

impl Counters {
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize]
    }

    pub fn set(&mut self, c: Counter, v: u64) {
        self.values[c as usize] = v;
    }

    fn apply(&mut self, c: Counter, delta: i64) {
        let v = &mut self.values[c as usize];
        *v = v.saturating_add_signed(delta);
    }

    /// Adds `value` to counter `c` by its merge rule.
    fn add(&mut self, c: Counter, value: u64) {
        let v = &mut self.values[c as usize];
        *v = match c.def().merge {
            Merge::Sum => v.saturating_add(value),
            Merge::Max => (*v).max(value),
        };
    }

    /// Adds `other`'s counters by each one's merge rule. Bucket usage is
    /// per shard and is not merged.
    fn merge(&mut self, other: &Counters) {
        for (&counter, &value) in counters::ALL.iter().zip(&other.values) {
            self.add(counter, value);
        }
        self.namespaces.merge(&other.namespaces);
    }

    /// Whether a cleanup walk has counted this shard's level-1 directory:
    /// then its usage includes every file there, ccache's too.
    pub fn walked(&self) -> bool {
        self.buckets.iter().any(|b| b.oldest_ns != 0)
    }

    pub fn hits(&self) -> u64 {
        self.get(Counter::DirectCacheHit)
            .saturating_add(self.get(Counter::PreprocessedCacheHit))
    }

    pub fn misses(&self) -> u64 {
        self.get(Counter::CacheMiss)
    }
}

pub fn shard_dir(cache_dir: &Path, shard: u8) -> PathBuf {
    cache_dir.join(format!("{:x}", shard % SHARDS))
}

/// `<x>/stats`: where ccache keeps a level-1 directory's counters, and
/// where an earlier objcache kept a shard's.
fn level1_stats(cache_dir: &Path, shard: u8) -> PathBuf {
    shard_dir(cache_dir, shard).join("stats")
}

/// The directory of objcache's 16 stats files.
pub const STATS_DIR: &str = "objcache-stats";

/// Where shard `shard`'s counters are kept.
pub fn stats_path(cache_dir: &Path, shard: u8) -> PathBuf {
    cache_dir
        .join(STATS_DIR)
        .join(format!("{:x}", shard % SHARDS))
}

/// Counts this process found deep inside an operation (a lock it gave up
/// on, a cleanup it left to another process), written by its next
/// `update`, in whichever shard that update can lock.
static DEFERRED: Mutex<Vec<Counter>> = Mutex::new(Vec::new());

/// Counts one `counter` with this process's next `update`.
pub fn count_later(counter: Counter) {
    DEFERRED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(counter);
}

fn take_deferred() -> Vec<Counter> {
    std::mem::take(&mut *DEFERRED.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Runs `f` on one shard's counters under its lock and writes the result
/// back. Fails (an error `is_locked` tells) if another process holds the
/// lock past `LOCK_WAIT`; `f` has not run then.
pub fn modify<T>(cache_dir: &Path, shard: u8, f: impl FnOnce(&mut Counters) -> T) -> io::Result<T> {
    modify_with(cache_dir, shard, Patience::Wait, f).map(|(result, _)| result)
}

/// `modify`, waiting for the lock as `patience` says. Also returns what was
/// wrong with the file it rewrote whole (`corrupt_stats_file` is counted
/// in it then).
fn modify_with<T>(
    cache_dir: &Path,
    shard: u8,
    patience: Patience,
    f: impl FnOnce(&mut Counters) -> T,
) -> io::Result<(T, Option<String>)> {
    let path = stats_path(cache_dir, shard);
    let dir_replaced = shard::clear_dir(&cache_dir.join(STATS_DIR))?;
    let (mut file, replaced) = shard::open_for_update(&path)?;
    // The file is its own lock. It is rewritten in place rather than through
    // a temp file and a rename: no new inode per compile, and no forced
    // writeback (ext4 flushes a file renamed over another at once).
    shard::lock(&file, &path, Mode::Exclusive, patience)?;
    let bytes = shard::read_bounded(&mut file)?;
    // A new file (every write leaves at least `end`): take over what an
    // earlier objcache counted in the shard's old place.
    let legacy = if bytes.is_empty() {
        legacy::read(cache_dir, shard)
    } else {
        None
    };
    let (mut counters, damage) = match &legacy {
        Some(old) => (old.clone(), None),
        None => Counters::parse(&bytes),
    };
    let damage = dir_replaced
        .map(|what| format!("{what} was in place of {STATS_DIR}/"))
        .or(replaced.map(|what| format!("{what} was in its place")))
        .or(damage);
    if damage.is_some() {
        counters.apply(Counter::CorruptStatsFile, 1);
    }
    let result = f(&mut counters);
    // Written from the buffer it was read into: one allocation a call.
    let mut out = bytes;
    out.clear();
    counters.serialize_into(&mut out);
    std::os::unix::fs::FileExt::write_all_at(&file, &out, 0)?;
    file.set_len(out.len() as u64)?;
    if legacy.is_some() {
        legacy::remove(cache_dir, shard);
    }
    Ok((result, damage))
}

/// Runs `f` on shard `first`, or, should that be locked by another
/// process or unusable, on the next shard that can be locked at once:
/// for counters whose total is all that matters.
fn modify_any(cache_dir: &Path, first: u8, mut f: impl FnMut(&mut Counters)) -> io::Result<()> {
    let error = match modify_with(cache_dir, first, Patience::Wait, &mut f) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    for next in 1..SHARDS {
        let other = (first + next) % SHARDS;
        if modify_with(cache_dir, other, Patience::TryOnce, &mut f).is_ok() {
            return Ok(());
        }
    }
    Err(error)
}

/// One shard as read by `read_shard`.
#[derive(Debug, Default)]
pub struct ShardRead {
    pub counters: Counters,
    /// What kept the counters from being read whole, if anything.
    pub problem: Option<String>,
    /// Read without its lock, which another process held past the wait:
    /// nothing in its buckets changes until that process lets go.
    pub held: bool,
}

/// One shard's counters, read under a shared lock (never a file half
/// rewritten). A shard locked by another process past `LOCK_WAIT` is read
/// without the lock: a stuck holder writes nothing, and a rewrite in place
/// leaves the file's old tail behind its new `end` line. A shard not yet
/// moved from where an earlier objcache kept it is read there.
pub fn read_shard(cache_dir: &Path, shard: u8) -> ShardRead {
    let path = stats_path(cache_dir, shard);
    let unreadable = |e: &dyn std::fmt::Display| ShardRead {
        problem: Some(e.to_string()),
        ..ShardRead::default()
    };
    if let Err(e) = crate::files::no_symlink_below(cache_dir, &path) {
        return unreadable(&e);
    }
    let mut file = match shard::open_for_reading(&path) {
        Ok(Some(file)) => file,
        Ok(None) => {
            return ShardRead {
                counters: legacy::read(cache_dir, shard).unwrap_or_default(),
                ..ShardRead::default()
            }
        }
        Err(e) => return unreadable(&e),
    };
    let unlocked = match shard::lock(&file, &path, Mode::Shared, Patience::Wait) {
        Ok(()) => None,
        Err(e) if is_locked(&e) => Some(format!("{e}; read without the lock")),
        Err(e) => return unreadable(&format!("{}: {e}", path.display())),
    };
    match shard::read_bounded(&mut file) {
        Ok(bytes) => {
            let (counters, damage) = Counters::parse(&bytes);
            let held = unlocked.is_some();
            let damage = damage.map(|d| format!("{}: {d}", path.display()));
            ShardRead {
                counters,
                problem: damage.or(unlocked),
                held,
            }
        }
        Err(e) => unreadable(&format!("{}: {e}", path.display())),
    }
}

/// Counters an objcache before this version kept in `<x>/stats`, where
/// ccache keeps its own. Such a file is objcache's only if it reads as
/// objcache's format: `name value` lines up to an `end` line (ccache's has
/// one number per line and no `end`).
mod legacy {
    use super::*;

    /// The shard's old counters, if there is an old file of objcache's.
    pub fn read(cache_dir: &Path, shard: u8) -> Option<Counters> {
        let path = level1_stats(cache_dir, shard);
        crate::files::no_symlink_below(cache_dir, &path).ok()?;
        let mut file = shard::open_for_reading(&path).ok()??;
        shard::lock(&file, &path, Mode::Shared, Patience::Wait).ok()?;
        let bytes = shard::read_bounded(&mut file).ok()?;
        match Counters::parse(&bytes) {
            (counters, None) if !bytes.is_empty() => Some(counters),
            _ => None,
        }
    }

    /// Removes the old file once its counters were taken over, unless it
    /// has become ccache's meanwhile.
    pub fn remove(cache_dir: &Path, shard: u8) {
        if read(cache_dir, shard).is_some() {
            let _ = fs::remove_file(level1_stats(cache_dir, shard));
        }
    }
}

/// Adds `changes`, and what this process counted for later
/// (`count_later`), to one shard and stamps it as updated. Should that
/// shard be locked by another process or unusable, another one takes them:
/// the shards are summed, so the call's counts are not lost. With a
/// `namespace`, its hits and misses are counted for it too, in the same
/// shard.
pub fn update(
    cache_dir: &Path,
    shard: u8,
    namespace: &str,
    changes: &[(Counter, i64)],
) -> io::Result<()> {
    modify_any(cache_dir, shard, |c| {
        for &(counter, delta) in changes {
            c.apply(counter, delta);
            if !namespace.is_empty() {
                c.namespaces.apply(namespace, counter, delta);
            }
        }
        for counter in take_deferred() {
            c.apply(counter, 1);
        }
        c.set(Counter::StatsUpdatedTimestamp, crate::clock::now_secs());
    })
}

/// Every shard (each read under its lock; together a consistent-enough
/// snapshot). See `read_shard`.
pub fn read_shards(cache_dir: &Path) -> Vec<ShardRead> {
    (0..SHARDS).map(|s| read_shard(cache_dir, s)).collect()
}

/// The sum over all shards (shards that do not exist yet count as zero)
/// and ccache's stats files (see `ccache_files`), and, for each shard that
/// could not be read whole, why.
pub fn read_total_reporting(cache_dir: &Path) -> (Counters, Vec<String>) {
    let mut total = Counters::default();
    let mut problems = Vec::new();
    let mut counted = [false; SHARDS as usize];
    for (x, shard) in read_shards(cache_dir).into_iter().enumerate() {
        counted[x] = shard.counters.walked();
        total.merge(&shard.counters);
        problems.extend(shard.problem);
    }
    ccache_files::add_to(&mut total, cache_dir, &counted);
    (total, problems)
}

/// The sum over all shards. Shards that do not exist yet count as zero.
pub fn read_total(cache_dir: &Path) -> Counters {
    read_total_reporting(cache_dir).0
}

/// Whether a shard has a file in either place it may be kept (a FIFO or a
/// symlink in its place counts: it is replaced).
fn shard_exists(cache_dir: &Path, shard: u8) -> bool {
    let old = level1_stats(cache_dir, shard);
    fs::symlink_metadata(stats_path(cache_dir, shard)).is_ok() || old.exists()
}

/// Where `-z` keeps the moment it zeroed, in nanoseconds: the counter
/// `stats_zeroed_timestamp` has ccache's seconds, and a CI job's misses
/// must be told from those of the job before it within that second.
const ZEROED_NS_FILE: &str = "zeroed_ns";

/// When the counters were zeroed, in nanoseconds since the epoch, given
/// `zeroed_secs` (the counter): the `-z` moment in `ZEROED_NS_FILE` when it
/// lies in that second, else the second's start (zeroed by ccache, or the
/// file missing or unreadable).
pub fn zeroed_ns(cache_dir: &Path, zeroed_secs: u64) -> u64 {
    let second = zeroed_secs.saturating_mul(1_000_000_000);
    let path = cache_dir.join(STATS_DIR).join(ZEROED_NS_FILE);
    let recorded = crate::files::read_cache_file_bounded(&path, 64)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.trim().parse::<u64>().ok());
    match recorded {
        Some(ns) if ns / 1_000_000_000 == zeroed_secs => ns,
        _ => second,
    }
}

/// `-z`: zeroes every event counter, keeps what describes the cache's
/// contents. A shard that cannot be zeroed (locked by another process past
/// `LOCK_WAIT`) does not stop the others; the error names it.
pub fn zero(cache_dir: &Path) -> io::Result<()> {
    let now_ns = crate::clock::now_ns();
    let now = now_ns / 1_000_000_000;
    // Best effort: without it, misses are told apart by the second.
    let _ = crate::files::atomic_write_below(
        cache_dir,
        &cache_dir.join(STATS_DIR).join(ZEROED_NS_FILE),
        now_ns.to_string().as_bytes(),
    );
    // ccache's counters too, as `-s` shows them.
    let mut failed = ccache_files::zero(cache_dir, now);
    for shard in (0..SHARDS).filter(|&s| shard_exists(cache_dir, s)) {
        let zeroed = modify(cache_dir, shard, |c| {
            for &counter in counters::ALL {
                if !counter.is_state() {
                    c.set(counter, 0);
                }
            }
            c.namespaces = Namespaces::default();
            c.set(Counter::StatsZeroedTimestamp, now);
        });
        if let Err(e) = zeroed {
            failed.push(e);
        }
    }
    // Remember the zeroing even in shards that do not exist yet.
    let stamped = modify_any(cache_dir, 0, |c| c.set(Counter::StatsZeroedTimestamp, now));
    match (failed.len(), failed.into_iter().next()) {
        (_, None) => stamped,
        (1, Some(e)) => Err(io::Error::new(e.kind(), format!("{e}: not zeroed"))),
        (n, Some(e)) => Err(io::Error::new(
            e.kind(),
            format!("{e}, and {} more stats files: not zeroed", n - 1),
        )),
    }
}

/// A stats file `check_shards` found wrong.
#[derive(Debug)]
pub struct ShardProblem {
    pub path: PathBuf,
    pub problem: String,
    /// Rewritten whole, with the counters it still held.
    pub repaired: bool,
}

/// `--check`: rewrites every stats file that is damaged (see
/// `Counters::parse`) or is no regular file, keeping what it still says,
/// and reports each, and each it could not lock.
pub fn check_shards(cache_dir: &Path) -> Vec<ShardProblem> {
    let mut found = Vec::new();
    for shard in (0..SHARDS).filter(|&s| shard_exists(cache_dir, s)) {
        let path = stats_path(cache_dir, shard);
        let (problem, repaired) = match modify_with(cache_dir, shard, Patience::Wait, |_| ()) {
            Ok(((), None)) => continue,
            Ok(((), Some(problem))) => (problem, true),
            Err(e) => (e.to_string(), false),
        };
        found.push(ShardProblem {
            path,
            problem,
            repaired,
        });
    }
    found
}

#[cfg(test)]
mod tests;
