//! The cleanup lock (`<cache_dir>/cleanup.lock`): one automatic cleanup
//! at a time, never a wait for it.
//!
//! The lock only saves work: eviction keeps the accounting exact without
//! it (each bucket is swept under its shard's stats lock), and two
//! evictions at once remove about what one would. So a call that finds the
//! lock taken leaves the cleanup to its holder and goes on. A holder that
//! makes no progress (a stopped process, `flock cleanup.lock sleep …`)
//! must not stop cleanups for good, though: a cleaner touches the file's
//! mtime as it goes, and a lock whose file has not been touched for
//! `STALE_SECS` is taken over: the next call that needs a cleanup runs it
//! without the lock. The cache then waits at most that long for a cleanup.
//! A holder that keeps touching the lock while the cache grows past twice
//! its limits (a neighbour keeping a held lock fresh, a cleaner that cannot
//! keep up) is not cleaning either: a call that finds the cache so far over
//! takes over at once.

use std::fs::{self, File};
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

pub const LOCK_FILE: &str = "cleanup.lock";

/// A cleaner touches the lock file at least this often while it works
/// (between two buckets, each a few milliseconds of work)…
const BEAT_EVERY: Duration = Duration::from_secs(1);

/// …and a lock not touched for this long is taken over.
pub const STALE_SECS: u64 = 30;

/// The right to clean the cache now; touch it as the work goes on.
pub struct Lease {
    /// Holds the lock, if it could be taken; closing it releases it.
    file: Option<File>,
    last_beat: Instant,
}

impl Lease {
    /// Marks the cleanup as alive (at most once every `BEAT_EVERY`).
    pub fn beat(&mut self) {
        if self.last_beat.elapsed() < BEAT_EVERY {
            return;
        }
        self.last_beat = Instant::now();
        if let Some(file) = &self.file {
            // Both times set to now: write access is enough (explicit
            // times need the owner, and a shared cache's lock file may be
            // another user's).
            // SAFETY: a descriptor we own; a null `times` means "now".
            unsafe { libc::futimens(file.as_raw_fd(), std::ptr::null()) };
        }
    }
}

pub enum Claim {
    Granted(Lease),
    /// Another process holds the lock and has touched it lately.
    Busy,
}

/// Takes the cleanup lock without waiting; with `overdue` (the cache is
/// far over its limits), takes over a held one however fresh. A lock file
/// that cannot be used at all (not a regular file and not replaceable,
/// unwritable and unreadable, on a file system without `flock`) grants the
/// cleanup without a lock: the cache must not grow for want of a lock file.
pub fn claim(cache_dir: &Path, overdue: bool) -> Claim {
    let path = cache_dir.join(LOCK_FILE);
    let Ok(file) = open(&path) else {
        return Claim::Granted(granted(None));
    };
    match file.try_lock() {
        Ok(()) | Err(fs::TryLockError::Error(_)) => {}
        Err(fs::TryLockError::WouldBlock) if overdue || is_stale(&file) => {}
        Err(fs::TryLockError::WouldBlock) => return Claim::Busy,
    }
    Claim::Granted(granted(Some(file)))
}

fn granted(file: Option<File>) -> Lease {
    let mut lease = Lease {
        file,
        last_beat: Instant::now() - BEAT_EVERY,
    };
    // Taken over or not, tell other processes that a cleaner is at work.
    lease.beat();
    lease
}

/// Whether the holder has not touched the lock file for `STALE_SECS`
/// (or touched it with a time far ahead, which no cleaner does).
fn is_stale(file: &File) -> bool {
    let Ok(touched) = file.metadata().and_then(|m| m.modified()) else {
        return true;
    };
    let apart = match SystemTime::now().duration_since(touched) {
        Ok(ago) => ago,
        Err(ahead) => ahead.duration(),
    };
    apart > Duration::from_secs(STALE_SECS)
}

/// Opens (creating it) the lock file: never through a symlink or a hard
/// link (its mtime is set), never blocking on a FIFO; something else than
/// a regular file of its own in its place is replaced. Another user's
/// file the umask closed is opened to read, which is enough to lock it.
fn open(path: &Path) -> io::Result<File> {
    let open = |write: bool| crate::files::open_cache_node(path, write);
    match open(true) {
        Ok(file) if crate::files::is_own_file(&file.metadata()?) => return Ok(file),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return crate::files::own_file(open(false)?, path)
        }
        _ => {}
    }
    crate::files::remove_special_file(path)?;
    crate::files::own_file(open(true)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn set_mtime(path: &Path, secs_ago: u64) {
        let t = SystemTime::now() - Duration::from_secs(secs_ago);
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn a_held_lock_is_left_to_its_holder_until_it_goes_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        fs::write(&path, "").unwrap();
        let holder = File::open(&path).unwrap();
        holder.lock().unwrap();
        assert!(matches!(claim(dir.path(), false), Claim::Busy));
        // A cache far over its limits: the holder is not keeping up.
        assert!(matches!(claim(dir.path(), true), Claim::Granted(_)));
        set_mtime(&path, STALE_SECS + 5);
        let Claim::Granted(_taken_over) = claim(dir.path(), false) else {
            panic!("a stale lock was not taken over");
        };
        // The new cleaner touched the file: the others leave it the work.
        assert!(matches!(claim(dir.path(), false), Claim::Busy));
        // So does a time far ahead, which no cleaner sets.
        let ahead = SystemTime::now() + Duration::from_secs(10 * STALE_SECS);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(ahead)
            .unwrap();
        assert!(matches!(claim(dir.path(), false), Claim::Granted(_)));
        drop(holder);
        let Claim::Granted(lease) = claim(dir.path(), false) else {
            panic!("a free lock was not granted");
        };
        assert!(lease.file.is_some());
    }

    #[test]
    fn a_hard_link_in_place_of_the_lock_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, "").unwrap();
        set_mtime(&outside, 3600);
        let before = fs::metadata(&outside).unwrap().modified().unwrap();
        fs::hard_link(&outside, dir.path().join(LOCK_FILE)).unwrap();
        let Claim::Granted(lease) = claim(dir.path(), false) else {
            panic!("not granted");
        };
        assert!(lease.file.is_some());
        assert_eq!(fs::metadata(&outside).unwrap().modified().unwrap(), before);
        assert_eq!(fs::metadata(&outside).unwrap().nlink(), 1);
    }

    #[test]
    fn a_fifo_in_place_of_the_lock_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let c = std::ffi::CString::new(path.clone().into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let Claim::Granted(lease) = claim(dir.path(), false) else {
            panic!("not granted");
        };
        assert!(lease.file.is_some());
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
    }
}
