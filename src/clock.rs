//! The clocks objcache reads: wall time for stats, logs and cleanup, and the
//! kernel's coarse clock, which is the one file times come from; and when a
//! file's stamp can be trusted to change with its next write.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

extern "C" {
    /// POSIX: loads the time zone from `TZ` (the `libc` crate leaves it out).
    fn tzset();
}

/// The calendar date at `secs` since the epoch in the local time zone
/// (`TZ` and the zone files, as the compiler reads them for `__DATE__`),
/// as `YYYY-MM-DD`; `None` when the C library cannot say.
pub fn local_date(secs: i64) -> Option<String> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: tzset only loads the zone into the C library's own state
    // (nothing in objcache changes `TZ`), and localtime_r writes only into
    // the `tm` we own.
    let tm = unsafe {
        tzset();
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return None;
        }
        tm
    };
    Some(format!(
        "{:04}-{:02}-{:02}",
        i64::from(tm.tm_year) + 1900,
        tm.tm_mon + 1,
        tm.tm_mday
    ))
}

/// `secs` since the epoch as `asctime` writes it (`Sun Dec  6 10:21:33
/// 2026`, the form of `__TIMESTAMP__`), in the local time zone and in UTC;
/// `None` where the C library cannot say.
pub fn asctime_forms(secs: i64) -> [Option<String>; 2] {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let form = |local: bool| {
        let t = libc::time_t::try_from(secs).ok()?;
        // SAFETY: as in `local_date`; gmtime_r writes only into our `tm`.
        let tm = unsafe {
            let mut tm: libc::tm = std::mem::zeroed();
            let done = match local {
                true => {
                    tzset();
                    libc::localtime_r(&t, &mut tm)
                }
                false => libc::gmtime_r(&t, &mut tm),
            };
            if done.is_null() {
                return None;
            }
            tm
        };
        Some(format!(
            "{} {} {:>2} {:02}:{:02}:{:02} {}",
            DAYS.get(usize::try_from(tm.tm_wday).ok()?)?,
            MONTHS.get(usize::try_from(tm.tm_mon).ok()?)?,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            i64::from(tm.tm_year) + 1900
        ))
    };
    [form(true), form(false)]
}

/// A file time (seconds and nanoseconds, as `stat` gives them) in
/// nanoseconds since the epoch. A time past what that holds (after 2262:
/// `touch -d 2300-01-01`; ext4 keeps dates up to 2446) is the latest one,
/// which is never settled, and one before 1677 the earliest.
pub fn file_time_ns(secs: i64, nsecs: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsecs)
}

const SECOND_NS: i64 = 1_000_000_000;

/// The longest timestamp tick `stamp_ns` may have been rounded to, judged
/// from the stamp alone: a write within the same tick leaves the stamp as
/// it was. File systems round to a power of ten of nanoseconds (ext3,
/// HFS+ and many NFS servers to 1 s, exFAT to 10 ms) or to 2 s (FAT's
/// mtime), so a stamp that is a multiple of 10^k ns may have a tick that
/// long, up to 1 s, and an even second may be a FAT stamp of 2 s. A fine
/// stamp that ends in zeros by chance only waits a little longer.
pub fn stamp_tick_ns(stamp_ns: i64) -> i64 {
    if stamp_ns.rem_euclid(2 * SECOND_NS) == 0 {
        return 2 * SECOND_NS;
    }
    let mut tick = 1;
    while tick < SECOND_NS && stamp_ns.rem_euclid(tick * 10) == 0 {
        tick *= 10;
    }
    tick
}

/// Is a file time settled at `coarse_ns`, a reading of the coarse clock
/// taken before the file's `stat`? Then its tick is over: any later write
/// stamps the file with a later tick (by the coarse clock, or finer), so
/// an unchanged stamp proves an unchanged file. Comparing with a finer
/// clock, or with the stamp alone, would trust a file written earlier in
/// the same tick, which the next write in that tick rewrites unseen.
pub fn stamp_settled(stamp_ns: i64, coarse_ns: i64) -> bool {
    settles_at(stamp_ns) <= coarse_ns
}

/// The first coarse clock reading at which `stamp_ns` is settled: the end
/// of its tick.
pub fn settles_at(stamp_ns: i64) -> i64 {
    stamp_ns.saturating_add(stamp_tick_ns(stamp_ns))
}

/// How often a wait for the coarse clock looks at it: it moves once per
/// kernel tick (1 to 10 ms), so a wait ends at most this much late.
const COARSE_POLL: Duration = Duration::from_micros(250);

/// Sleeps until the coarse clock reads `target_ns` or later, for at most
/// `limit`: that reading (a reference at which every stamp settling by
/// `target_ns` is settled), or `None` when the limit ran out first (a
/// clock stepped back, a stalled machine).
pub fn wait_for_coarse(target_ns: i64, limit: Duration) -> Option<i64> {
    let deadline = Instant::now() + limit;
    loop {
        let now = coarse_now_ns();
        if now >= target_ns {
            return Some(now);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(COARSE_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_follow_the_stamps_digits() {
        let t = 1_700_000_001 * SECOND_NS;
        assert_eq!(stamp_tick_ns(t), SECOND_NS, "odd second: ext3, HFS+");
        assert_eq!(stamp_tick_ns(t + SECOND_NS), 2 * SECOND_NS, "even: FAT");
        assert_eq!(stamp_tick_ns(t + 120_000_000), 10_000_000, "exFAT");
        assert_eq!(stamp_tick_ns(t + 123_456_789), 1);
        assert_eq!(stamp_tick_ns(t + 123_456_700), 100);
        assert_eq!(stamp_tick_ns(-SECOND_NS), SECOND_NS);
        assert_eq!(stamp_tick_ns(0), 2 * SECOND_NS);
    }

    #[test]
    fn settled_only_once_the_stamps_tick_is_over() {
        let second = 1_700_000_001 * SECOND_NS;
        // A whole-second stamp: unsettled for the rest of its second, even
        // when the file was written before the clock was read.
        assert!(!stamp_settled(second, second));
        assert!(!stamp_settled(second, second + 999_999_999));
        assert!(stamp_settled(second, second + SECOND_NS));
        // An even second may be FAT's: two seconds.
        let even = second + SECOND_NS;
        assert!(!stamp_settled(even, even + 1_500_000_000));
        assert!(stamp_settled(even, even + 2 * SECOND_NS));
        // A fine stamp is the coarse clock's value when the file was
        // written: unsettled while the coarse clock still reads it, settled
        // at its next tick (4 ms later with HZ=250).
        let fine = second + 123_456_789;
        assert!(!stamp_settled(fine, fine));
        assert!(!stamp_settled(fine, fine - 1));
        assert!(stamp_settled(fine, fine + 4_000_000));
    }

    #[test]
    fn a_wait_ends_once_the_coarse_clock_reaches_its_target() {
        let now = coarse_now_ns();
        assert_eq!(
            wait_for_coarse(now - 1, Duration::ZERO).map(|r| r >= now),
            Some(true)
        );
        let target = now + 5_000_000;
        let reached = wait_for_coarse(target, Duration::from_secs(1)).expect("within a second");
        assert!(reached >= target && coarse_now_ns() >= target);
        let far = coarse_now_ns() + 60 * SECOND_NS;
        let started = Instant::now();
        assert_eq!(wait_for_coarse(far, Duration::from_millis(20)), None);
        assert!(started.elapsed() < Duration::from_secs(1));
        let fine = 1_700_000_001 * SECOND_NS + 123_456_789;
        assert_eq!(settles_at(fine), fine + 1);
        assert_eq!(
            settles_at(1_700_000_001 * SECOND_NS),
            1_700_000_002 * SECOND_NS
        );
        assert_eq!(settles_at(i64::MAX), i64::MAX);
    }

    #[test]
    fn file_times_past_the_range_are_clamped() {
        assert_eq!(file_time_ns(10_413_792_000, 5), i64::MAX);
        assert_eq!(file_time_ns(-10_413_792_000, 5), i64::MIN + 5);
        assert!(!stamp_settled(i64::MAX, coarse_now_ns()));
    }

    #[test]
    fn clocks_agree_within_a_tick() {
        let wall = super::now_ns() as i64;
        let coarse = super::coarse_now_ns();
        assert!((wall - coarse).abs() < 1_000_000_000, "{wall} vs {coarse}");
        assert_eq!(super::now_secs(), super::now_ns() / 1_000_000_000);
    }
}
