//! What a cleanup can reach now: the buckets whose shard's stats lock no
//! other process holds past the wait.
//!
//! A held shard's buckets do not change until it is let go: no entry is
//! stored into them and no walk removes from them. Counted against the
//! limits, they would make cleanups chase a target they cannot reach: a
//! shard held while its buckets alone are over the target (`max_size`
//! lowered, say) made every call that stored run a full cleanup that
//! evicted every other entry, its own new one included. So each shard
//! answers for its share of the limits: the free shards' buckets are held
//! to their share, free/16, of each limit.

use std::path::Path;

use super::{sum_usage, Limits};
use crate::stats::{self, BucketUsage, SHARDS};

pub struct Reach {
    /// Each bucket's usage as its shard's stats file says.
    usage: Vec<(u8, BucketUsage)>,
    /// By shard: read without its lock, which another process holds.
    held: [bool; SHARDS as usize],
}

impl Reach {
    pub fn read(cache_dir: &Path) -> Reach {
        let mut held = [false; SHARDS as usize];
        let mut usage = Vec::with_capacity(256);
        for (shard, read) in stats::read_shards(cache_dir).into_iter().enumerate() {
            held[shard] = read.held;
            for (i, b) in read.counters.buckets.into_iter().enumerate() {
                usage.push((((shard as u8) << 4) | i as u8, b));
            }
        }
        Reach { usage, held }
    }

    pub fn can_reach(&self, bucket: u8) -> bool {
        !self.held[usize::from(bucket >> 4)]
    }

    /// The usage of the buckets a cleanup can reach.
    pub fn buckets(&self) -> impl Iterator<Item = &BucketUsage> {
        self.usage
            .iter()
            .filter(|(bucket, _)| self.can_reach(*bucket))
            .map(|(_, b)| b)
    }

    /// Size and file count (as `files_in_cache` counts) of the buckets a
    /// cleanup can reach.
    pub fn sums(&self) -> (u64, u64) {
        let sum = sum_usage(self.buckets());
        (sum.kib, sum.files)
    }

    /// The limits for the buckets a cleanup can reach: all of them when no
    /// shard is held, their share otherwise, `None` when every shard is.
    pub fn limits(&self, limits: &Limits) -> Option<Limits> {
        let free = self.held.iter().filter(|held| !**held).count() as u64;
        let share = |limit: u64| match limit {
            0 => 0, // no limit
            _ => (limit.saturating_mul(free) / u64::from(SHARDS)).max(1),
        };
        (free > 0).then(|| Limits {
            max_kib: share(limits.max_kib),
            max_files: share(limits.max_files),
            ..limits.clone()
        })
    }
}
