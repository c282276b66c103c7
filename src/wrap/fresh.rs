//! Inputs written just before the call: a script that writes a source and
//! compiles it, a generated header. Their stamps are not settled at the
//! call's start (`clock::stamp_settled`: a rewrite later in the same tick
//! would keep them), which would keep the compile from being stored
//! (`modified_input_file`) or recorded for direct mode.
//!
//! On a miss, before the preprocessor or the compiler reads such a file,
//! objcache waits until the coarse clock has left the file's tick (when
//! that is near: fine stamps, the end of a coarse one) and takes the
//! reference after the wait. Any write from then on stamps the file with
//! the reference's tick or a later one, which the checks after the compile
//! see; a file whose stamp is settled at the reference after the compile
//! was last written before it, so what was read after the wait is what
//! the compile read. What was read before the wait is read again after it
//! and must be the same: the source's text (it made the manifest key),
//! and, when the fresh file was a header, the preprocessor's output (it
//! made the result key; only the preprocessor saw the header's text).
//! A hit waits for nothing: a direct hit is served before any of this.

use std::time::{Duration, Instant};

use super::session::Preprocessed;
use super::Session;
use crate::clock;
use crate::compiler::args::ArgsAnalysis;
use crate::config::Sloppiness;
use crate::key::Key;
use crate::paths;
use crate::store::manifest::Stamp;

/// How far ahead of the coarse clock a stamp may settle for a miss to wait
/// for it. The kernel stamps from its coarse clock (one tick, 1 to 10 ms,
/// behind the fine one) or, right after a `stat` of the file, from the
/// fine clock: a file just written settles within two kernel ticks. A
/// stamp of 1 or 2 s settles this soon only at the end of its second; a
/// longer wait would cost more than most compiles.
const REACH_NS: i64 = 25_000_000;

/// The longest a wait lasts (the coarse clock stalled or stepped back).
const WAIT_LIMIT: Duration = Duration::from_millis(50);

impl Session {
    /// Before a miss's preprocessor (or compiler, in depend mode) runs: if
    /// the source's stamp settles soon, waits for it and moves the
    /// reference after the wait, unless the source's text changed since it
    /// was read for the keys. `direct`: the compile is recorded for direct
    /// mode, whose check counts the mtime too.
    pub(super) fn settle_fresh_source(&mut self, a: &ArgsAnalysis, cwd: &str, direct: bool) {
        let Some(reference) = self.wait_for_settling(&[a.input.as_str()], cwd, direct) else {
            return;
        };
        if self.source_unchanged(a) {
            self.coarse_start_ns = reference;
        }
    }

    /// After a miss's preprocessor ran, before the compiler does: if a file
    /// it read (a header written just before the call) settles soon, waits
    /// for it, runs the preprocessor again and moves the reference after
    /// the wait when the key and the source's text are the same. The
    /// preprocessed form to go on with: the second one, whose list of the
    /// files read was made after the wait.
    pub(super) fn settle_fresh_includes(
        &mut self,
        pp: Preprocessed,
        a: &ArgsAnalysis,
        cwd: &str,
        common: &Key,
        direct: bool,
    ) -> Preprocessed {
        let read =
            std::iter::once(a.input.as_str()).chain(pp.files.iter().map(|f| f.path.as_str()));
        let read: Vec<&str> = read.collect();
        let Some(reference) = self.wait_for_settling(&read, cwd, direct) else {
            return pp;
        };
        let again = match self.preprocessed(a, cwd, common, direct) {
            Ok((hashed, files, search)) if hashed.key == pp.key => Preprocessed {
                key: pp.key,
                files,
                search,
            },
            Ok(_) => {
                self.log.note(
                    "an input changed while its timestamp tick ran out: not moving the reference",
                );
                return pp;
            }
            Err(f) => {
                self.log.note(format!(
                    "preprocessing again after the wait failed: {}",
                    f.reason
                ));
                return pp;
            }
        };
        if !self.source_unchanged(a) {
            return pp;
        }
        self.coarse_start_ns = reference;
        again
    }

    /// Waits until every stamp of `files` that would keep the compile from
    /// being stored or recorded is settled, if all of those that keep it
    /// from being stored settle soon: the coarse clock's reading after the
    /// wait (`None`: nothing to wait for, or no use).
    fn wait_for_settling(&self, files: &[&str], cwd: &str, direct: bool) -> Option<i64> {
        let sloppiness = &self.config.sloppiness;
        let counted = Counted {
            mtime: direct && !sloppiness.has(Sloppiness::IncludeFileMtime),
            ctime: !sloppiness.has(Sloppiness::IncludeFileCtime),
        };
        let stamps = files.iter().filter_map(|path| {
            let meta = std::fs::metadata(paths::resolve_in(cwd, path)).ok()?;
            Some(Stamp::of(&meta))
        });
        let now = clock::coarse_now_ns();
        let target = settle_target(stamps, self.coarse_start_ns, now, counted)?;
        let waited = Instant::now();
        let reference = clock::wait_for_coarse(target, WAIT_LIMIT);
        let us = waited.elapsed().as_micros();
        match reference {
            Some(_) => self.log.note(format!(
                "waited {us} µs for the timestamp tick of a file written just before the call \
                 to end"
            )),
            None => self.log.note(format!(
                "gave up after {us} µs waiting for the timestamp tick of a file written just \
                 before the call to end"
            )),
        }
        reference
    }

    /// Is the source's text the one the keys were made from? Read after a
    /// wait, before the preprocessor or compiler reads it again.
    fn source_unchanged(&self, a: &ArgsAnalysis) -> bool {
        let now = std::fs::read(&a.input).ok();
        let same = now.is_some() && now == self.source;
        if !same {
            self.log.note(format!(
                "{} changed while its timestamp tick ran out: not moving the reference",
                a.input
            ));
        }
        same
    }
}

/// Which of a file's times keep a compile from being stored (the ctime,
/// unless `include_file_ctime`) or recorded for direct mode (the mtime
/// too, unless `include_file_mtime`).
#[derive(Clone, Copy)]
struct Counted {
    mtime: bool,
    ctime: bool,
}

/// The coarse clock reading at which every counted time of `stamps` that
/// is not settled at `reference` will be, if waiting for it from `now` is
/// worth it: `None` when all are settled, or when a ctime settles too late
/// (the compile cannot be stored anyway). An mtime that settles too late
/// (a future date from a tarball) only keeps the compile from direct mode:
/// the wait for the others still lets it be stored.
fn settle_target(
    stamps: impl Iterator<Item = Stamp>,
    reference: i64,
    now: i64,
    counted: Counted,
) -> Option<i64> {
    let mut target: Option<i64> = None;
    for stamp in stamps {
        let times = [
            (stamp.ctime_ns, counted.ctime, true),
            (stamp.mtime_ns, counted.mtime, false),
        ];
        for (time, counts, stores) in times {
            if !counts || clock::stamp_settled(time, reference) {
                continue;
            }
            let at = clock::settles_at(time);
            if at.saturating_sub(now) > REACH_NS {
                if stores {
                    return None;
                }
                continue;
            }
            target = Some(target.map_or(at, |t| t.max(at)));
        }
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    fn stamp(mtime_ns: i64, ctime_ns: i64) -> Stamp {
        Stamp {
            size: 1,
            mtime_ns,
            ctime_ns,
            ino: 1,
        }
    }

    const BOTH: Counted = Counted {
        mtime: true,
        ctime: true,
    };

    #[test]
    fn settled_files_ask_for_no_wait() {
        let start = 1_700_000_001 * SECOND + 500_000_000;
        let old = stamp(start - 10_000_000, start - 10_000_000);
        assert_eq!(settle_target([old].into_iter(), start, start, BOTH), None);
    }

    #[test]
    fn a_file_written_in_the_starts_tick_is_waited_for() {
        let start = 1_700_000_001 * SECOND + 500_000_123;
        // Stamped by the coarse clock at the start, and by the fine one
        // a little after (a stamp right after a stat).
        let fresh = [
            stamp(start, start),
            stamp(start + 3_000_020, start + 3_000_020),
        ];
        let target = settle_target(fresh.into_iter(), start, start, BOTH);
        assert_eq!(target, Some(start + 3_000_021));
        assert!(clock::stamp_settled(start + 3_000_020, target.unwrap()));
    }

    #[test]
    fn only_the_counted_times_are_waited_for() {
        let start = 1_700_000_001 * SECOND + 500_000_123;
        let new_mtime = [stamp(start, start - SECOND)];
        let ctime_only = Counted {
            mtime: false,
            ctime: true,
        };
        assert_eq!(
            settle_target(new_mtime.into_iter(), start, start, ctime_only),
            None
        );
        assert_eq!(
            settle_target(new_mtime.into_iter(), start, start, BOTH),
            Some(start + 1)
        );
    }

    #[test]
    fn a_ctime_settling_late_is_not_waited_for() {
        // A 1-second stamp early in its second: not stored, whatever the wait.
        let second = 1_700_000_001 * SECOND;
        let coarse = [stamp(second, second)];
        let start = second + 100_000_000;
        assert_eq!(settle_target(coarse.into_iter(), start, start, BOTH), None);
        // At the end of its second it settles soon: worth the wait.
        let late = second + 990_000_123;
        assert_eq!(
            settle_target(coarse.into_iter(), late, late, BOTH),
            Some(second + SECOND)
        );
        // With another file that cannot settle soon, no wait either.
        let fine = stamp(late, late);
        let both = [fine, stamp(second + SECOND, second + SECOND)];
        assert_eq!(settle_target(both.into_iter(), late, late, BOTH), None);
    }

    #[test]
    fn an_mtime_in_the_future_does_not_stop_the_wait_for_a_ctime() {
        let start = 1_700_000_001 * SECOND + 500_000_123;
        let future = [stamp(start + 3600 * SECOND + 7, start)];
        assert_eq!(
            settle_target(future.into_iter(), start, start, BOTH),
            Some(start + 1)
        );
    }
}
