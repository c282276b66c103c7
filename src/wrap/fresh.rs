//! Inputs written just before the call: a script that writes a source and
//! compiles it, a generated header. Their stamps are not settled at the
//! call's start (`clock::stamp_settled`: a rewrite later in the same tick
//! would keep them), which would keep the compile from being stored
//! (`modified_input_file`) or recorded for direct mode.
//!
//! The reference that stamps are judged by need only precede what the
//! compile reads. So on a miss it moves to just before the preprocessor
//! (in depend mode the compiler) runs, after a wait when a file known to
//! be read was written in the current tick and that tick ends soon (fine
//! stamps; the end of a coarse one). Any write from then on stamps a file
//! with the reference's tick or a later one, which the checks after the
//! compile see; a file whose stamp is settled at the reference after the
//! compile was last written before it, so what was read after the
//! reference is what the compile read. What was read before it must be
//! proven the same: the source's text (it made the manifest key), by a
//! ctime settled at the call's start or by reading it again; and a header
//! that was still in its tick when the preprocessor read it (one no
//! manifest named beforehand) by the preprocessor's output, made again
//! after a wait, which must give the same key. A hit waits for nothing: a
//! direct hit is served before any of this.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::session::Preprocessed;
use super::Session;
use crate::clock;
use crate::compiler::args::ArgsAnalysis;
use crate::config::{Sloppiness, SloppinessSet};
use crate::disk::manifest::Stamp;
use crate::hash::source::Text;
use crate::key::Key;
use crate::log::Log;
use crate::paths;

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
    /// Before a miss's preprocessor (or compiler, in depend mode) reads
    /// anything: moves the reference to now, once the headers the last
    /// compile of this source read (by the manifest) are settled, waiting
    /// for them when one was written in the current tick and that ends
    /// soon. The source's text, read for the keys at the start, must still
    /// be what the file holds: either its ctime was settled at the start (a
    /// write since would have stamped a later one), or it too is waited
    /// for, read again and found the same. `direct`: the compile is
    /// recorded for direct mode, whose check counts the mtime too.
    pub(super) fn settle_before_reading(&mut self, a: &ArgsAnalysis, cwd: &str, direct: bool) {
        let now = clock::coarse_now_ns();
        let Some(source) = stamp_of(&paths::resolve_in(cwd, &a.input)) else {
            return;
        };
        let source_kept = clock::stamp_settled(source.ctime_ns, self.coarse_start_ns);
        let headers = self.known_includes.iter().filter_map(|path| stamp_of(path));
        let stamps = headers.chain((!source_kept).then_some(source));
        let reference = match settling(stamps, now, now, counted(&self.config.sloppiness, direct)) {
            Settling::Settled => Some(now),
            Settling::Until(target) => wait_for(&self.log, target),
            Settling::Beyond if source_kept => Some(now),
            Settling::Beyond => None,
        };
        match reference {
            Some(reference)
                if source_kept || source_unchanged(&self.log, a, self.source.as_ref()) =>
            {
                self.coarse_start_ns = reference;
            }
            // The known headers are not settled at the reference either.
            _ => self.known_includes.clear(),
        }
    }

    /// After a miss's preprocessor ran, before the compiler does: if a file
    /// it read was not settled at the reference (a header written just
    /// before the preprocessor started) and settles soon, waits for it,
    /// runs the preprocessor again and moves the reference after the wait
    /// when the key and the source's text are the same. The preprocessed
    /// form to go on with: the second one, whose list of the files read
    /// was made after the wait.
    pub(super) fn settle_fresh_includes(
        &mut self,
        pp: Preprocessed,
        a: &ArgsAnalysis,
        cwd: &str,
        common: &Key,
        direct: bool,
    ) -> Preprocessed {
        // Known headers were settled at the reference before the
        // preprocessor read them.
        let known: HashSet<&str> = self.known_includes.iter().map(String::as_str).collect();
        let read = pp.files.iter().map(|f| paths::resolve_in(cwd, &f.path));
        let unknown = read.filter(|path| !known.contains(path.as_str()));
        let source = paths::resolve_in(cwd, &a.input);
        let stamps = std::iter::once(source)
            .chain(unknown)
            .filter_map(|path| stamp_of(&path));
        let now = clock::coarse_now_ns();
        let Settling::Until(target) = settling(
            stamps,
            self.coarse_start_ns,
            now,
            counted(&self.config.sloppiness, direct),
        ) else {
            return pp;
        };
        let Some(reference) = wait_for(&self.log, target) else {
            return pp;
        };
        let started = Instant::now();
        let again = match self.preprocessed(a, cwd, common, direct) {
            Ok((hashed, again)) if hashed.key == pp.key => again,
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
        if !source_unchanged(&self.log, a, self.source.as_ref()) {
            return pp;
        }
        self.log.note(format!(
            "preprocessed again after the wait in {} µs: the same key",
            started.elapsed().as_micros()
        ));
        self.coarse_start_ns = reference;
        again
    }
}

/// Which times of the files a compile read keep it from being stored or
/// recorded, by the sloppiness. `direct`: recorded for direct mode, whose
/// check counts the mtime too.
fn counted(sloppiness: &SloppinessSet, direct: bool) -> Counted {
    Counted {
        mtime: direct && !sloppiness.has(Sloppiness::IncludeFileMtime),
        ctime: !sloppiness.has(Sloppiness::IncludeFileCtime),
    }
}

/// Waits until the coarse clock reads `target`: that reading, the new
/// reference (`None`: the wait ran out).
fn wait_for(log: &Log, target: i64) -> Option<i64> {
    let waited = Instant::now();
    let reference = clock::wait_for_coarse(target, WAIT_LIMIT);
    let us = waited.elapsed().as_micros();
    match reference {
        Some(_) => log.note(format!(
            "waited {us} µs for the timestamp tick of a file written just before the call \
             to end"
        )),
        None => log.note(format!(
            "gave up after {us} µs waiting for the timestamp tick of a file written just \
             before the call to end"
        )),
    }
    reference
}

/// Is the source's text the one the keys were made from (`read`)? Read
/// after a wait, before the preprocessor or compiler reads it again
/// (`Text::held_by`: never blocking on a FIFO put in its place); when only
/// a first part of it was read at the start, its digest tells.
fn source_unchanged(log: &Log, a: &ArgsAnalysis, read: Option<&Text>) -> bool {
    let same = read.is_some_and(|read| read.held_by(std::path::Path::new(&a.input)));
    if !same {
        log.note(format!(
            "{} changed while its timestamp tick ran out: not moving the reference",
            a.input
        ));
    }
    same
}

/// A file's stamp, if it is there.
fn stamp_of(path: &str) -> Option<Stamp> {
    std::fs::metadata(path).ok().map(|m| Stamp::of(&m))
}

/// Which of a file's times keep a compile from being stored (the ctime,
/// unless `include_file_ctime`) or recorded for direct mode (the mtime
/// too, unless `include_file_mtime`).
#[derive(Clone, Copy)]
struct Counted {
    mtime: bool,
    ctime: bool,
}

/// Whether the counted times of some files are settled at a reference.
#[derive(Debug, PartialEq)]
enum Settling {
    Settled,
    /// Not yet; all of them will be at this coarse clock reading, soon.
    Until(i64),
    /// A ctime settles too late to wait for: the compile is not stored
    /// anyway.
    Beyond,
}

/// Whether every counted time of `stamps` is settled at `reference`, and
/// if not, when all of them will be, judged from `now`. An mtime that
/// settles too late (a future date from a tarball) only keeps the compile
/// from direct mode: the wait for the others still lets it be stored.
fn settling(
    stamps: impl Iterator<Item = Stamp>,
    reference: i64,
    now: i64,
    counted: Counted,
) -> Settling {
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
                    return Settling::Beyond;
                }
                continue;
            }
            target = Some(target.map_or(at, |t| t.max(at)));
        }
    }
    target.map_or(Settling::Settled, Settling::Until)
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

    fn of(stamps: &[Stamp], reference: i64, now: i64, counted: Counted) -> Settling {
        settling(stamps.iter().cloned(), reference, now, counted)
    }

    #[test]
    fn settled_files_ask_for_no_wait() {
        let start = 1_700_000_001 * SECOND + 500_000_000;
        let old = stamp(start - 10_000_000, start - 10_000_000);
        assert_eq!(of(&[old], start, start, BOTH), Settling::Settled);
    }

    #[test]
    fn a_file_written_in_the_references_tick_is_waited_for() {
        let start = 1_700_000_001 * SECOND + 500_000_123;
        // Stamped by the coarse clock at the start, and by the fine one
        // a little after (a stamp right after a stat).
        let fresh = [
            stamp(start, start),
            stamp(start + 3_000_020, start + 3_000_020),
        ];
        let target = start + 3_000_021;
        assert_eq!(of(&fresh, start, start, BOTH), Settling::Until(target));
        assert!(clock::stamp_settled(start + 3_000_020, target));
        // Once the clock has passed it, no wait, but not settled at the
        // reference either: what was read before must be read again.
        let later = start + 8_000_000;
        assert_eq!(of(&fresh, start, later, BOTH), Settling::Until(target));
        assert_eq!(of(&fresh, later, later, BOTH), Settling::Settled);
    }

    #[test]
    fn only_the_counted_times_are_waited_for() {
        let start = 1_700_000_001 * SECOND + 500_000_123;
        let new_mtime = [stamp(start, start - SECOND)];
        let ctime_only = Counted {
            mtime: false,
            ctime: true,
        };
        assert_eq!(of(&new_mtime, start, start, ctime_only), Settling::Settled);
        assert_eq!(
            of(&new_mtime, start, start, BOTH),
            Settling::Until(start + 1)
        );
    }

    #[test]
    fn a_ctime_settling_late_is_not_waited_for() {
        // A 1-second stamp early in its second: not stored, whatever the wait.
        let second = 1_700_000_001 * SECOND;
        let coarse = [stamp(second, second)];
        let start = second + 100_000_000;
        assert_eq!(of(&coarse, start, start, BOTH), Settling::Beyond);
        // At the end of its second it settles soon: worth the wait.
        let late = second + 990_000_123;
        assert_eq!(
            of(&coarse, late, late, BOTH),
            Settling::Until(second + SECOND)
        );
        // With another file that cannot settle soon, no wait either.
        let both = [stamp(late, late), stamp(second + SECOND, second + SECOND)];
        assert_eq!(of(&both, late, late, BOTH), Settling::Beyond);
    }

    /// A FIFO put in the source's place while the call waited is another
    /// text at once: the check never waits for a writer.
    #[test]
    fn a_fifo_in_the_sources_place_is_another_text_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.c");
        let text = b"int x;\n";
        std::fs::write(&path, text).unwrap();
        let input = path.to_str().unwrap().to_string();
        let check = move || {
            let args = ["-c".to_string(), input];
            let a = crate::compiler::args::analyse(&args).unwrap();
            source_unchanged(&Log::new(None), &a, Some(&Text::all(text.to_vec())))
        };
        assert!(check.clone()());
        std::fs::remove_file(&path).unwrap();
        let fifo = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let (sent, got) = std::sync::mpsc::channel();
        std::thread::spawn(move || sent.send(check()));
        let same = got.recv_timeout(Duration::from_secs(10));
        assert_eq!(same, Ok(false), "the check waited for the FIFO's writer");
    }

    #[test]
    fn an_mtime_in_the_future_does_not_stop_the_wait_for_a_ctime() {
        let start = 1_700_000_001 * SECOND + 500_000_123;
        let future = [stamp(start + 3600 * SECOND + 7, start)];
        assert_eq!(of(&future, start, start, BOTH), Settling::Until(start + 1));
        let settled_ctime = [stamp(start + 3600 * SECOND + 7, start - SECOND)];
        assert_eq!(of(&settled_ctime, start, start, BOTH), Settling::Settled);
    }
}
