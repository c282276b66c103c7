//! Statistics counters, kept in 16 shard files under the cache dir
//! (`<cache_dir>/objcache-stats/<0-f>`) so concurrent compiles rarely wait on
//! one lock. Each update is a read-modify-write under an exclusive lock on
//! the shard's stats file, so no increment is ever lost; readers take a
//! shared lock.
//!
//! Not `<cache_dir>/<x>/stats`: that is where ccache keeps its own counters,
//! in another format, and a ccache sharing the cache dir would misread (and
//! rewrite) them; ccache up to 4.7 also treats every other file below
//! `<x>/` as a cache entry to evict. Counters that an earlier objcache kept
//! in `<x>/stats` are taken over once (see `legacy`).

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

/// The directory of objcache's 16 stats files.
pub const STATS_DIR: &str = "objcache-stats";

/// Where shard `shard`'s counters are kept.
pub fn stats_path(cache_dir: &Path, shard: u8) -> PathBuf {
    cache_dir
        .join(STATS_DIR)
        .join(format!("{:x}", shard % SHARDS))
}

/// Runs `f` on one shard's counters under its lock and writes the result back.
pub fn modify<T>(cache_dir: &Path, shard: u8, f: impl FnOnce(&mut Counters) -> T) -> io::Result<T> {
    let path = stats_path(cache_dir, shard);
    let dir = cache_dir.join(STATS_DIR);
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
    // A new file (every write leaves at least `end`): take over what an
    // earlier objcache counted in the shard's old place.
    let legacy = if text.is_empty() {
        legacy::read(cache_dir, shard)
    } else {
        None
    };
    let mut counters = match &legacy {
        Some(old) => old.clone(),
        None => Counters::parse(&text),
    };
    let result = f(&mut counters);
    let out = counters.serialize();
    file.seek(io::SeekFrom::Start(0))?;
    file.write_all(out.as_bytes())?;
    file.set_len(out.len() as u64)?;
    if legacy.is_some() {
        legacy::remove(cache_dir, shard);
    }
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
    read_locked(&mut file)
}

/// The counters of an open stats file, read under a shared lock (never a
/// file half rewritten).
fn read_locked(file: &mut fs::File) -> io::Result<Counters> {
    file.lock_shared()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(Counters::parse(&text))
}

/// Counters an objcache before this version kept in `<x>/stats`, where
/// ccache keeps its own. Such a file is objcache's only if it reads as
/// objcache's format: `name value` lines up to an `end` line (ccache's has
/// one number per line and no `end`).
mod legacy {
    use super::*;

    fn path(cache_dir: &Path, shard: u8) -> PathBuf {
        shard_dir(cache_dir, shard).join("stats")
    }

    pub fn is_objcache_format(text: &str) -> bool {
        let name_value = |l: &str| {
            let mut words = l.split_whitespace();
            matches!(
                (
                    words.next(),
                    words.next().map(str::parse::<u64>),
                    words.next()
                ),
                (Some(_), Some(Ok(_)), None)
            )
        };
        text.lines().any(|l| l == "end") && text.lines().take_while(|l| *l != "end").all(name_value)
    }

    /// The shard's old counters, if there is an old file of objcache's.
    pub fn read(cache_dir: &Path, shard: u8) -> Option<Counters> {
        use std::os::unix::fs::OpenOptionsExt;
        crate::files::no_symlink_below(cache_dir, &shard_dir(cache_dir, shard)).ok()?;
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path(cache_dir, shard))
            .ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        file.lock_shared().ok()?;
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        is_objcache_format(&text).then(|| Counters::parse(&text))
    }

    /// Removes the old file once its counters were taken over, unless it
    /// has become ccache's meanwhile.
    pub fn remove(cache_dir: &Path, shard: u8) {
        if read(cache_dir, shard).is_some() {
            let _ = fs::remove_file(path(cache_dir, shard));
        }
    }
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

/// Every shard's counters (each read under its lock; together a
/// consistent-enough snapshot). A shard not yet moved from where an earlier
/// objcache kept it is read there.
pub fn read_shards(cache_dir: &Path) -> Vec<Counters> {
    (0..SHARDS)
        .map(|shard| {
            let path = stats_path(cache_dir, shard);
            if crate::files::no_symlink_below(cache_dir, &path).is_err() {
                return Counters::default();
            }
            match fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    legacy::read(cache_dir, shard).unwrap_or_default()
                }
                _ => read_file(&path).unwrap_or_default(),
            }
        })
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
        let old = shard_dir(cache_dir, shard).join("stats");
        if !stats_path(cache_dir, shard).exists() && !old.exists() {
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
    fn counters_of_an_earlier_objcache_are_taken_over_and_ccaches_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let old = |shard: u8| shard_dir(dir.path(), shard).join("stats");
        fs::create_dir_all(shard_dir(dir.path(), 1)).unwrap();
        fs::create_dir_all(shard_dir(dir.path(), 2)).unwrap();
        fs::write(old(1), "cache_miss 7\nfiles_in_cache 3\nend\nstale tail\n").unwrap();
        // ccache's format: one number per line.
        fs::write(old(2), "0\n4\n9\n0\n").unwrap();
        assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 7);
        update(dir.path(), 1, &[(Counter::CacheMiss, 1)]).unwrap();
        update(dir.path(), 2, &[(Counter::CacheMiss, 1)]).unwrap();
        let t = read_total(dir.path());
        assert_eq!(t.get(Counter::CacheMiss), 9);
        assert_eq!(t.get(Counter::FilesInCache), 3);
        assert!(!old(1).exists(), "the old objcache file stays behind");
        assert_eq!(fs::read_to_string(old(2)).unwrap(), "0\n4\n9\n0\n");
        // Taken over once: the old file's return changes nothing.
        fs::write(old(1), "cache_miss 100\nend\n").unwrap();
        assert_eq!(read_total(dir.path()).get(Counter::CacheMiss), 9);
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
