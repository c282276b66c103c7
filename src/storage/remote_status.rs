//! The last remote storage failure, remembered across processes in one
//! small file of the cache dir (`remote-status`, docs/formats.md), so that
//! the manager (`-s`, every command, `--check-hit-rate`) can say that the
//! shared cache is off, and so that a build on a terminal is told once,
//! not once per compile.
//!
//! Only a compile that talked to a remote reads or writes it: one whose
//! remote failed (a write), one whose remote answered (an `open` that
//! finds nothing, unless a failure of that remote is on record). A local
//! hit, or a call with no remote configured, never looks at it.

use std::path::{Path, PathBuf};

/// The file's name in the cache dir.
pub const FILE_NAME: &str = "remote-status";
const MAGIC: &str = "objcache-remote-status 1";
/// The file is never read past this; what is written stays well below.
const MAX_FILE: u64 = 4 << 10;
/// A URL or a message is cut to this many characters when written.
const MAX_FIELD: usize = 600;

/// A failure on record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    /// Seconds since the epoch.
    pub time: u64,
    /// The backend's URL, masked.
    pub url: String,
    /// What went wrong, masked.
    pub reason: String,
}

/// The build that was last told on its terminal: its session, its process
/// group and the group leader's start time (0 when it has gone), which
/// tells a new group from an old one whose number was reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Build {
    pub sid: i64,
    pub pgid: i64,
    pub leader_start: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub failed: Option<Failed>,
    pub told: Option<Build>,
}

/// A field as written: one line, no control characters (the file may be
/// another user's, and what it says reaches a terminal), bounded.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_FIELD)
        .collect()
}

impl Status {
    pub fn path(cache_dir: &Path) -> PathBuf {
        cache_dir.join(FILE_NAME)
    }

    /// The status on record. Anything but a small regular file of this
    /// format (absent, a FIFO, a link, huge, garbage, unreadable) is no
    /// status: it is replaced on the next write.
    pub fn read(cache_dir: &Path) -> Status {
        crate::files::read_cache_file_bounded(&Status::path(cache_dir), MAX_FILE)
            .ok()
            .and_then(|bytes| Status::parse(&String::from_utf8_lossy(&bytes)))
            .unwrap_or_default()
    }

    fn parse(text: &str) -> Option<Status> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let mut status = Status::default();
        for line in lines {
            let (tag, rest) = line.split_once(' ')?;
            match tag {
                "failed" => {
                    let mut f = rest.splitn(3, ' ');
                    status.failed = Some(Failed {
                        time: f.next()?.parse().ok()?,
                        url: clean(f.next()?),
                        reason: clean(f.next().unwrap_or_default()),
                    });
                }
                "told" => {
                    let n: Vec<&str> = rest.split(' ').collect();
                    let [sid, pgid, start] = n[..] else {
                        return None;
                    };
                    status.told = Some(Build {
                        sid: sid.parse().ok()?,
                        pgid: pgid.parse().ok()?,
                        leader_start: start.parse().ok()?,
                    });
                }
                _ => return None,
            }
        }
        Some(status)
    }

    fn serialize(&self) -> String {
        let mut out = format!("{MAGIC}\n");
        if let Some(f) = &self.failed {
            // The URL is one word: a space in it (none in a parsed URL)
            // would shift the reason.
            let url = clean(&f.url).replace(' ', "%20");
            out.push_str(&format!("failed {} {url} {}\n", f.time, clean(&f.reason)));
        }
        if let Some(b) = &self.told {
            out.push_str(&format!("told {} {} {}\n", b.sid, b.pgid, b.leader_start));
        }
        out
    }

    /// Replaces the file at once (a temp file and a rename), never
    /// through a symlinked cache dir.
    pub fn write(&self, cache_dir: &Path) -> std::io::Result<()> {
        let path = Status::path(cache_dir);
        crate::files::atomic_write_below(cache_dir, &path, self.serialize().as_bytes())
    }
}

/// This process's build, as far as it can tell.
pub fn this_build() -> Build {
    // SAFETY: getsid and getpgrp only read this process's ids.
    let (sid, pgid) = unsafe { (libc::getsid(0) as i64, libc::getpgrp() as i64) };
    Build {
        sid,
        pgid,
        leader_start: leader_start(pgid).unwrap_or(0),
    }
}

/// The start time (clock ticks since boot) of process `pid`.
fn leader_start(pid: i64) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses (which may hold anything):
    // state is field 3, starttime field 22.
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// What a compile learned about its remotes.
#[derive(Default)]
pub struct Outcome {
    /// `(masked URL, masked reason)` of each backend that failed.
    pub failed: Vec<(String, String)>,
    /// The masked URLs of the backends that answered.
    pub answered: Vec<String>,
}

/// Records what a compile learned; with failures, returns the line to
/// print on the compile's stderr when `terminal` and this build has not
/// been told yet (and the file could record that it now is: a cache dir
/// that cannot keep the mark would otherwise have every compile print).
pub fn record(cache_dir: &Path, outcome: &Outcome, terminal: bool, now: u64) -> Option<String> {
    let Some((url, reason)) = outcome.failed.last() else {
        if !outcome.answered.is_empty() {
            clear_answered(cache_dir, &outcome.answered);
        }
        return None;
    };
    let mut status = Status::read(cache_dir);
    status.failed = Some(Failed {
        time: now,
        url: url.clone(),
        reason: reason.clone(),
    });
    let build = terminal.then(this_build);
    let tell = build.is_some() && status.told != build;
    if tell {
        status.told = build;
    }
    let written = status.write(cache_dir).is_ok();
    (tell && written).then(|| {
        format!(
            "objcache: warning: remote storage {} is not used: {}; compiling with the local \
             cache only (said once per build; `objcache --check-remote` tests the remotes)",
            clean(url),
            clean(reason)
        )
    })
}

/// A failure on record of a backend that has since answered is over.
fn clear_answered(cache_dir: &Path, answered: &[String]) {
    let mut status = Status::read(cache_dir);
    if status
        .failed
        .as_ref()
        .is_some_and(|f| answered.contains(&f.url))
    {
        status.failed = None;
        let _ = status.write(cache_dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_and_garbage_is_none() {
        let s = Status {
            failed: Some(Failed {
                time: 7,
                url: "redis://u:********@h:1".into(),
                reason: "connect: refused\n\x1b[31mred".into(),
            }),
            told: Some(Build {
                sid: 1,
                pgid: 2,
                leader_start: 3,
            }),
        };
        let back = Status::parse(&s.serialize()).unwrap();
        assert_eq!(back.told, s.told);
        assert_eq!(
            back.failed.as_ref().unwrap().reason,
            "connect: refused  [31mred"
        );
        for bad in [
            "",
            "x\n",
            "objcache-remote-status 1\nfailed x y z\n",
            "objcache-remote-status 1\ntold 1 2\n",
        ] {
            assert_eq!(Status::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_build_is_told_once_and_an_answer_clears_the_failure() {
        let dir = tempfile::tempdir().unwrap();
        let failed = Outcome {
            failed: vec![("http://h/c".into(), "refused".into())],
            answered: vec![],
        };
        assert!(record(dir.path(), &failed, false, 1).is_none());
        let first = record(dir.path(), &failed, true, 2).unwrap();
        assert!(first.contains("http://h/c is not used: refused"), "{first}");
        assert!(record(dir.path(), &failed, true, 3).is_none());
        assert_eq!(Status::read(dir.path()).failed.unwrap().time, 3);
        let answered = Outcome {
            failed: vec![],
            answered: vec!["http://h/c".into()],
        };
        record(dir.path(), &answered, true, 4);
        let s = Status::read(dir.path());
        assert_eq!(s.failed, None);
        assert!(s.told.is_some());
    }

    #[test]
    fn special_files_are_no_status() {
        let dir = tempfile::tempdir().unwrap();
        let path = Status::path(dir.path());
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert_eq!(Status::read(dir.path()), Status::default());
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, vec![b'x'; 1 << 20]).unwrap();
        assert_eq!(Status::read(dir.path()), Status::default());
        let failed = Outcome {
            failed: vec![("http://h/c".into(), "refused".into())],
            answered: vec![],
        };
        assert!(record(dir.path(), &failed, true, 1).is_some());
        assert!(std::fs::metadata(&path).unwrap().len() < MAX_FILE);
    }
}
