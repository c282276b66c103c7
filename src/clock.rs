//! The clocks objcache reads: wall time for stats, logs and cleanup, and the
//! kernel's coarse clock, which is the one file times come from.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall time since the epoch (zero if the clock is before it).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Wall time in nanoseconds since the epoch.
pub fn now_ns() -> u64 {
    since_epoch().as_nanos() as u64
}

/// Wall time in seconds since the epoch.
pub fn now_secs() -> u64 {
    since_epoch().as_secs()
}

/// Now by the kernel's coarse clock (nanoseconds): file mtimes and ctimes
/// are stamped from it, so "older than now" must be judged by it too.
pub fn coarse_now_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts);
    }
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// A file time (seconds and nanoseconds, as `stat` gives them) in
/// nanoseconds since the epoch.
pub fn file_time_ns(secs: i64, nsecs: i64) -> i64 {
    secs * 1_000_000_000 + nsecs
}

#[cfg(test)]
mod tests {
    #[test]
    fn clocks_agree_within_a_tick() {
        let wall = super::now_ns() as i64;
        let coarse = super::coarse_now_ns();
        assert!((wall - coarse).abs() < 1_000_000_000, "{wall} vs {coarse}");
        assert_eq!(super::now_secs(), super::now_ns() / 1_000_000_000);
    }
}
