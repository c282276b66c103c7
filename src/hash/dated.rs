//! `__DATE__` in direct mode. The object depends on the day of the
//! compile, so a compile that shows a date is recorded under a manifest key
//! that holds the date: when the source or an argument names `__DATE__`,
//! the manifest key itself holds it (`Recipe::manifest`); when only a
//! header does (or a macro pastes the name together), the manifest keeps,
//! with the headers' record, a marker result that sends the lookup on to
//! the manifest of this day (`dated_manifest`). `__TIME__` and
//! `__TIMESTAMP__` keep direct mode off.
//!
//! The date is what the compiler expands `__DATE__` to: gcc takes it from
//! `SOURCE_DATE_EPOCH` when that is set, older clang ignores it and takes
//! the local date, so both go in (`date_at`).

use super::includes::ReadFile;
use super::preprocessor::{self, TimeStrings};
use super::recipe::Recipe;
use super::record::TimeNames;
use crate::config::Sloppiness;
use crate::key::{Key, KeyHasher};

impl Recipe<'_> {
    /// The time macros the source and the arguments name.
    pub fn time_names(&self) -> TimeNames {
        let a = self.analysis;
        let args = a.hash_args.iter().chain(&a.cpp_args);
        let source = self.source_facts.map(|f| f.names).unwrap_or_default();
        args.fold(source, |n, x| n.or(super::record::time_names(x.as_bytes())))
    }

    /// Does the source or an argument name `__DATE__` (and the time
    /// macros matter)? Then the manifest key holds the date.
    pub fn date_in_manifest(&self) -> bool {
        !self.config.sloppiness.has(Sloppiness::TimeMacros) && self.time_names().date
    }

    /// Which of the strings the time macros expand to the preprocessor's
    /// `output` shows (see `preprocessor::time_strings`; none with
    /// `time_macros` sloppiness, which says the time does not matter).
    /// Direct mode only sees the macros' names, which a source can hide
    /// (`CAT(__DA,TE__)`): a time or a timestamp keeps the compile from
    /// being recorded for it (logged); a date is recorded under the date.
    ///
    /// `files`: what the preprocessor read besides the source. A string of
    /// `__TIMESTAMP__`'s form counts only when it could be one this compile
    /// gave: that of the source's or a read file's mtime, of
    /// `SOURCE_DATE_EPOCH`, or one whose time of day is within the last
    /// ten minutes (a `__TIME__` stringified with other text). Any other
    /// (libgit2's mbox `From` line) is text, and leaves direct mode on.
    pub fn time_strings(&self, output: &[u8], files: &[ReadFile]) -> TimeStrings {
        if self.config.sloppiness.has(Sloppiness::TimeMacros) {
            return TimeStrings::default();
        }
        let paths = std::iter::once(self.analysis.input.as_str())
            .chain(files.iter().map(|f| f.path.as_str()));
        // Without line markers (`-P`) the files read are unknown: any
        // stamp could be one of theirs.
        let files_unknown = files.is_empty() && !output.starts_with(b"# ");
        let could_be_stamp = |s: &[u8]| files_unknown || could_be_stamp(s, self.cwd, paths.clone());
        let shown = preprocessor::time_strings(output, &could_be_stamp);
        if shown.clock {
            self.log.note(
                "not recorded for direct mode: the preprocessed text holds a time or \
                 timestamp string, as __TIME__ or __TIMESTAMP__ expand to",
            );
        }
        shown
    }
}

/// Could `stamp` (24 bytes of `__TIMESTAMP__`'s form) be what a time
/// macro gave a compile of the source in `cwd` that read `paths`? When in
/// doubt (a file that cannot be read, a `?` the compiler writes when it
/// does not know the time), yes.
fn could_be_stamp<'a>(stamp: &[u8], cwd: &str, paths: impl Iterator<Item = &'a str>) -> bool {
    use std::os::unix::fs::MetadataExt;
    if stamp.contains(&b'?') {
        return true;
    }
    let is = |secs: i64| {
        crate::clock::asctime_forms(secs)
            .iter()
            .any(|f| f.as_ref().is_none_or(|f| f.as_bytes() == stamp))
    };
    // `hh:mm:ss` at 11..19 as seconds of the day.
    let second_of_day = |s: &[u8]| {
        let n = |at: usize| {
            std::str::from_utf8(&s[at..at + 2])
                .ok()?
                .parse::<i64>()
                .ok()
        };
        Some(n(11)? * 3600 + n(14)? * 60 + n(17)?)
    };
    let Some(stamp_second) = second_of_day(stamp) else {
        return true;
    };
    let now = i64::try_from(crate::clock::now_ns() / 1_000_000_000).unwrap_or(i64::MAX);
    let recent = crate::clock::asctime_forms(now).iter().any(|f| {
        let now_second = f.as_ref().and_then(|f| second_of_day(f.as_bytes()));
        now_second.is_none_or(|n| matches!((n - stamp_second).rem_euclid(86400), 0..=600 | 86399))
    });
    if recent {
        return true;
    }
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
    if epoch
        .and_then(|e| e.trim().parse::<i64>().ok())
        .is_some_and(is)
    {
        return true;
    }
    let mut paths = paths;
    paths.any(
        |p| match std::fs::metadata(crate::paths::resolve_in(cwd, p)) {
            Ok(m) => is(m.mtime()),
            Err(_) => true,
        },
    )
}

/// The result key of a manifest's marker: "look in the manifest of the
/// day". Made from the manifest key, so no compile's result key is one.
pub fn marker(manifest: &Key) -> Key {
    let mut h = KeyHasher::new(false);
    h.field("kind", b"dated-marker");
    h.field("manifest", manifest.as_bytes());
    h.finish().0
}

/// The manifest of the day `date` (see `date_at`) behind `manifest`.
pub fn dated_manifest(manifest: &Key, date: &str) -> Key {
    let mut h = KeyHasher::new(false);
    h.field("kind", b"dated-manifest");
    h.field("manifest", manifest.as_bytes());
    h.field("date", date.as_bytes());
    h.finish().0
}

/// What decides `__DATE__` at `secs` since the epoch: the local date and
/// `SOURCE_DATE_EPOCH` as set (`None`: the local date is unknown).
pub fn date_at(secs: i64) -> Option<String> {
    let local = crate::clock::local_date(secs)?;
    let epoch = std::env::var_os("SOURCE_DATE_EPOCH");
    Some(match epoch {
        Some(value) => format!("{local} SOURCE_DATE_EPOCH={}", value.to_string_lossy()),
        None => local,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_date_and_from_the_marker() {
        let m = crate::key::Key::from_bytes([7; 32]);
        let a = dated_manifest(&m, "2026-12-06");
        assert_ne!(a, dated_manifest(&m, "2026-12-07"));
        assert_ne!(a, marker(&m));
        assert_ne!(marker(&m), marker(&crate::key::Key::from_bytes([8; 32])));
        assert!(date_at(0).is_some_and(|d| d.starts_with("19")));
    }
}
