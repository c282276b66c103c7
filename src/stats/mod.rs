//! Statistics counters, kept in 16 shard files under the cache dir
//! (`<cache_dir>/<0-f>/stats`) so concurrent compiles rarely wait on one lock.
//! Each update is a read-modify-write under an exclusive lock on the shard's
//! stats file, so no increment is ever lost; readers take a shared lock.

pub mod counters;
pub mod display;
pub mod log;

use std::fs::{self, OpenOptions};
use std::io;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use counters::Merge;
pub use counters::{Counter, COUNTERS};

pub const SHARDS: u8 = 16;

/// Size accounting of one level-2 directory (`<x>/<y>`) of the store: what
/// cleanup needs to pick where the least recently used entries are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketUsage {
    pub kib: u64,
    pub files: u64,
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
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            values: vec![0; COUNTERS.len()],
            buckets: [BucketUsage::default(); 16],
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

    /// Adds `other`'s counters by each one's merge rule. Bucket usage is
    /// per shard and is not merged.
    fn merge(&mut self, other: &Counters) {
        for ((v, o), def) in self.values.iter_mut().zip(&other.values).zip(COUNTERS) {
            *v = match def.merge {
                Merge::Sum => *v + o,
                Merge::Max => (*v).max(*o),
            };
        }
    }

    fn parse(text: &str) -> Counters {
        let mut c = Counters::default();
        for line in text.lines() {
            // The file is rewritten in place: anything after the end marker
            // is the tail of an older, longer version.
            if line == "end" {
                break;
            }
            let mut parts = line.split_whitespace();
            if let (Some(name), Some(value)) = (parts.next(), parts.next()) {
                let Ok(v) = value.parse::<u64>() else {
                    continue;
                };
                if let Some(counter) = Counter::from_name(name) {
                    c.set(counter, v);
                } else if let Some(rest) = name.strip_prefix("bucket_") {
                    let (idx, field) = rest.split_once('_').unwrap_or(("", ""));
                    if let Ok(i) = usize::from_str_radix(idx, 16) {
                        if let Some(b) = c.buckets.get_mut(i) {
                            match field {
                                "kib" => b.kib = v,
                                "files" => b.files = v,
                                "oldest" => b.oldest_ns = v,
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
        c
    }

    fn serialize(&self) -> String {
        let mut out = String::new();
        for (i, def) in COUNTERS.iter().enumerate() {
            if self.values[i] != 0 {
                out.push_str(&format!("{} {}\n", def.name, self.values[i]));
            }
        }
        for (i, b) in self.buckets.iter().enumerate() {
            if *b != BucketUsage::default() {
                out.push_str(&format!(
                    "bucket_{i:x}_kib {}\nbucket_{i:x}_files {}\nbucket_{i:x}_oldest {}\n",
                    b.kib, b.files, b.oldest_ns
                ));
            }
        }
        out.push_str("end\n");
        out
    }

    pub fn hits(&self) -> u64 {
        self.get(Counter::DirectCacheHit) + self.get(Counter::PreprocessedCacheHit)
    }

    pub fn misses(&self) -> u64 {
        self.get(Counter::CacheMiss)
    }
}

pub fn shard_dir(cache_dir: &Path, shard: u8) -> PathBuf {
    cache_dir.join(format!("{:x}", shard % SHARDS))
}

/// Runs `f` on one shard's counters under its lock and writes the result back.
pub fn modify<T>(cache_dir: &Path, shard: u8, f: impl FnOnce(&mut Counters) -> T) -> io::Result<T> {
    let dir = shard_dir(cache_dir, shard);
    let path = dir.join("stats");
    crate::files::no_symlink_below(cache_dir, &dir)?;
    // Never through a symlink planted in the cache dir: the file is
    // created and rewritten with the rights of whoever compiles.
    let open = || {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
    };
    let mut file = match open() {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(&dir)?;
            open()?
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a regular file", path.display()),
        ));
    }
    // The file is its own lock. It is rewritten in place rather than through
    // a temp file and a rename: no new inode per compile, and no forced
    // writeback (ext4 flushes a file renamed over another at once).
    file.lock()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let mut counters = Counters::parse(&text);
    let result = f(&mut counters);
    let out = counters.serialize();
    file.seek(io::SeekFrom::Start(0))?;
    file.write_all(out.as_bytes())?;
    file.set_len(out.len() as u64)?;
    Ok(result)
}

fn read_file(path: &Path) -> io::Result<Counters> {
    use std::os::unix::fs::OpenOptionsExt;
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let mut file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Counters::default()),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Ok(Counters::default());
    }
    // Never read a file half rewritten.
    file.lock_shared()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(Counters::parse(&text))
}

/// Adds `changes` to one shard and stamps it as updated.
pub fn update(cache_dir: &Path, shard: u8, changes: &[(Counter, i64)]) -> io::Result<()> {
    modify(cache_dir, shard, |c| {
        for &(counter, delta) in changes {
            c.apply(counter, delta);
        }
        c.set(Counter::StatsUpdatedTimestamp, crate::clock::now_secs());
    })
}

/// Every shard's counters (without locking: a consistent-enough snapshot).
pub fn read_shards(cache_dir: &Path) -> Vec<Counters> {
    (0..SHARDS)
        .map(|shard| read_file(&shard_dir(cache_dir, shard).join("stats")).unwrap_or_default())
        .collect()
}

/// The sum over all shards. Shards that do not exist yet count as zero.
pub fn read_total(cache_dir: &Path) -> Counters {
    let mut total = Counters::default();
    for c in read_shards(cache_dir) {
        total.merge(&c);
    }
    total
}

/// `-z`: zeroes every event counter, keeps what describes the cache's contents.
pub fn zero(cache_dir: &Path) -> io::Result<()> {
    let now = crate::clock::now_secs();
    for shard in 0..SHARDS {
        if !shard_dir(cache_dir, shard).is_dir() {
            continue;
        }
        modify(cache_dir, shard, |c| {
            for &counter in counters::ALL {
                if !counter.is_state() {
                    c.set(counter, 0);
                }
            }
            c.set(Counter::StatsZeroedTimestamp, now);
        })?;
    }
    // Remember the zeroing even in shards that do not exist yet.
    modify(cache_dir, 0, |c| c.set(Counter::StatsZeroedTimestamp, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_updates_are_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let d = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        update(&d, t % 3, &[(Counter::CacheMiss, 1)]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 200);
    }

    #[test]
    fn shards_sum_counts_and_keep_the_latest_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        for (shard, stamp) in [(1, 100), (2, 300), (3, 200)] {
            modify(dir.path(), shard, |c| {
                c.set(Counter::CacheMiss, 2);
                c.set(Counter::StatsZeroedTimestamp, stamp);
            })
            .unwrap();
        }
        let t = read_total(dir.path());
        assert_eq!(t.get(Counter::CacheMiss), 6);
        assert_eq!(t.get(Counter::StatsZeroedTimestamp), 300);
    }

    #[test]
    fn zero_keeps_size_counters() {
        let dir = tempfile::tempdir().unwrap();
        update(
            dir.path(),
            3,
            &[(Counter::CacheMiss, 2), (Counter::FilesInCache, 5)],
        )
        .unwrap();
        zero(dir.path()).unwrap();
        let t = read_total(dir.path());
        assert_eq!(t.get(Counter::CacheMiss), 0);
        assert_eq!(t.get(Counter::FilesInCache), 5);
        assert!(t.get(Counter::StatsZeroedTimestamp) > 0);
    }
}
