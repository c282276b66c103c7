//! One shard's stats file on disk, as anyone who can write the cache dir
//! may have left it: opened without following a symlink or blocking on a
//! FIFO, locked with a bounded wait, read up to a bounded size.
//!
//! A lock held by another process (a stuck objcache, `flock FILE sleep`,
//! a user's backup tool) must never hang a compile: a call waits at most
//! `LOCK_WAIT` for a lock, and once a wait ran out, it only tries each
//! lock once for the rest of the process. A call thus waits at most
//! `LOCK_WAIT` in all for locks it does not get, however many shards are
//! held.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{count_later, Counter};

/// A shard holds every counter and 16 buckets' usage: under 6 KiB with
/// every value at its largest. Anything longer was not written by objcache
/// and is not read past this.
pub const MAX_STATS_FILE: u64 = 16 << 10;

/// How long a call waits for a shard's lock. Updates hold it for
/// microseconds, a cleanup walking one bucket for milliseconds.
pub const LOCK_WAIT: Duration = Duration::from_millis(200);

/// The pauses between two tries: from the first, doubling up to the longest.
const FIRST_PAUSE: Duration = Duration::from_micros(50);
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// Whether a wait for a lock ran out in this process.
static GAVE_UP: AtomicBool = AtomicBool::new(false);

/// The error of a lock held by another process past the wait.
#[derive(Debug)]
pub struct Locked {
    pub path: PathBuf,
}

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is locked by another process (waited up to {} ms)",
            self.path.display(),
            LOCK_WAIT.as_millis()
        )
    }
}

impl std::error::Error for Locked {}

/// Whether `e` is a stats lock held by another process past the wait.
pub fn is_locked(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Locked>())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Patience {
    /// Up to `LOCK_WAIT` (a single try once a wait ran out in this process).
    Wait,
    /// A single try: another shard will do as well.
    TryOnce,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Shared,
    Exclusive,
}

/// Locks an open stats file, waiting as `patience` says. When a wait runs
/// out, `stats_lock_timeout` is counted (once a process, written by its
/// next update, in whichever shard that can lock).
pub fn lock(file: &File, path: &Path, mode: Mode, patience: Patience) -> io::Result<()> {
    let waits = patience == Patience::Wait && !GAVE_UP.load(Ordering::Relaxed);
    let start = Instant::now();
    // A holder at work is done within microseconds: look again soon, then
    // less and less often.
    let mut pause = FIRST_PAUSE;
    loop {
        let tried = match mode {
            Mode::Shared => file.try_lock_shared(),
            Mode::Exclusive => file.try_lock(),
        };
        match tried {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::Error(e)) => return Err(e),
            Err(fs::TryLockError::WouldBlock) => {}
        }
        let waited = start.elapsed();
        if !waits || waited >= LOCK_WAIT {
            if waits && !GAVE_UP.swap(true, Ordering::Relaxed) {
                count_later(Counter::StatsLockTimeout);
            }
            let path = path.to_path_buf();
            return Err(io::Error::new(io::ErrorKind::WouldBlock, Locked { path }));
        }
        std::thread::sleep(pause.min(LOCK_WAIT - waited));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Makes way for the directory of the stats files (`dir`): it is there,
/// or it is created with its first file. Anything else in its place (a
/// regular file, a symlink, which is never followed out of the cache, a
/// FIFO) could hold no stats file: every count and the size accounting
/// would stop for good, and the cache would grow unseen. It is removed,
/// and what it was is returned. One `lstat`, as the symlink check it
/// replaces.
pub fn clear_dir(dir: &Path) -> io::Result<Option<&'static str>> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(None),
        Ok(m) if m.is_file() => match fs::remove_file(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(Some("a file")),
        },
        Ok(_) => crate::files::remove_special_file(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    }
}

/// Opens (creating it and its directory if need be) a stats file to
/// update. Never through a symlink or a hard link planted in the cache dir:
/// the file is created and rewritten with the rights of whoever compiles.
/// Something else than a regular file of its own in its place (a FIFO, a
/// socket, a symlink, a hard link, an empty directory) can never hold
/// counters: it is replaced by a new file, and what it was is returned.
pub fn open_for_update(path: &Path) -> io::Result<(File, Option<&'static str>)> {
    let open = || crate::files::open_cache_node(path, true);
    let first = match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(path.parent().expect("a stats file is in a directory"))?;
            open()
        }
        other => other,
    };
    let first_error = match first {
        Ok(file) if crate::files::is_own_file(&file.metadata()?) => return Ok((file, None)),
        Ok(_) => None,
        Err(e) => Some(e),
    };
    let Some(what) = crate::files::remove_special_file(path)? else {
        // A regular file after all (or gone): the open failed for another
        // reason, such as another user's file the umask closed.
        return match first_error {
            Some(e) => Err(e),
            None => crate::files::own_file(open()?, path).map(|f| (f, None)),
        };
    };
    Ok((crate::files::own_file(open()?, path)?, Some(what)))
}

/// Opens a stats file to read: `None` if there is none. Opened as every
/// file of the cache is read (`files::open_cache_file`): never through a
/// symlink, never blocking on a FIFO, only a regular file.
pub fn open_for_reading(path: &Path) -> io::Result<Option<File>> {
    match crate::files::open_cache_file(path) {
        Ok((file, _)) => Ok(Some(file)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

/// The first `MAX_STATS_FILE + 1` bytes of a stats file, from where it is
/// positioned (its start): enough to tell one that is too long.
pub fn read_bounded(file: &mut File) -> io::Result<Vec<u8>> {
    // Room for a shard's usual size at once: a read and the one that
    // finds the end, instead of a probe and a second pass.
    let mut bytes = Vec::with_capacity(8192);
    Read::take(&mut *file, MAX_STATS_FILE + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}
