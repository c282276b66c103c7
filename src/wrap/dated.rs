//! `__DATE__` in direct mode (see `hash::dated`): the date this call reads,
//! the lookup in the manifest of the day, and where a compile that shows a
//! date is recorded.
//!
//! The date is read once, before the preprocessor runs (or, when the
//! source names `__DATE__`, for the manifest key), by the coarse clock,
//! which never runs ahead of the one the compiler reads; and again by the
//! fine clock, which never lags it, before anything is stored. Only when
//! both say the same day did the compiler expand `__DATE__` to that day:
//! a compile that ran over midnight is not stored.

use super::session::{add_to_manifest, Preprocessed};
use super::{Fallback, Session};
use crate::clock;
use crate::compiler::args::ArgsAnalysis;
use crate::config::Sloppiness;
use crate::disk::manifest::{IncludeRecord, Probes};
use crate::hash::dated;
use crate::key::Key;

impl Session {
    /// What decides `__DATE__`, as this call first read it.
    pub(super) fn call_date(&mut self) -> Option<String> {
        self.date
            .get_or_insert_with(|| dated::date_at(clock::coarse_now_ns().div_euclid(1_000_000_000)))
            .clone()
    }

    /// Reads the date before the preprocessor runs, unless the time macros
    /// do not matter (`time_macros` sloppiness).
    pub(super) fn date_before_preprocessing(&mut self) {
        if !self.config.sloppiness.has(Sloppiness::TimeMacros) {
            self.call_date();
        }
    }

    /// Is the date now the one first read (see the module's comment)?
    pub(super) fn date_unchanged(&self) -> bool {
        let now = dated::date_at(clock::now_secs() as i64);
        matches!(&self.date, Some(Some(first)) if now.as_ref() == Some(first))
    }

    /// Looks in the manifest of the day behind `mkey`, whose record led to
    /// a marker.
    pub(super) fn dated_lookup(
        &mut self,
        mkey: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Option<i32>, Fallback> {
        let Some(date) = self.call_date() else {
            self.log
                .note("direct miss: the compile uses __DATE__ and the local date is unknown");
            return Ok(None);
        };
        let day = dated::dated_manifest(mkey, &date);
        self.log.note(format!(
            "a header uses __DATE__: the manifest of {date} is {}",
            day.to_hex()
        ));
        self.direct_lookup(&day, a, cwd, true)
    }

    /// Adds the result `pp` led to, with what direct mode recorded of its
    /// compile, to the manifest under `mkey`; when the preprocessed text
    /// shows a date the manifest key does not hold, to the manifest of the
    /// day, with a marker under `mkey`. Not when the date changed while the
    /// call ran.
    pub(super) fn add_recorded(
        &mut self,
        mkey: &Key,
        pp: &Preprocessed,
        recorded: (Vec<IncludeRecord>, Probes),
        a: &ArgsAnalysis,
        cwd: &str,
    ) {
        if !pp.shows_date || self.recipe(a, cwd).date_in_manifest() {
            if !pp.shows_date || self.date_unchanged() {
                add_to_manifest(&mut self.storage, mkey, pp.key, recorded);
            }
            return;
        }
        let date = match &self.date {
            Some(Some(date)) if self.date_unchanged() => date.clone(),
            _ => {
                self.log.note(
                    "not recorded for direct mode: the date changed while the call ran, \
                     or is unknown (__DATE__)",
                );
                return;
            }
        };
        let day = dated::dated_manifest(mkey, &date);
        self.log.note(format!(
            "the preprocessed text shows a date (__DATE__): recorded in the manifest of {date}, {}",
            day.to_hex()
        ));
        add_to_manifest(&mut self.storage, &day, pp.key, recorded.clone());
        add_to_manifest(&mut self.storage, mkey, dated::marker(mkey), recorded);
    }
}
