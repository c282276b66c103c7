//! Direct mode's lookup: the manifest's records checked against the files
//! as they are, newest first. A local manifest none of whose records
//! matches is merged with the remote one (another machine may have
//! compiled this source with other headers), as in ccache: the merged
//! manifest is checked and kept locally.

use super::{miss_inputs, Fallback, Session};
use crate::compiler::args::ArgsAnalysis;
use crate::disk::manifest::Manifest;
use crate::disk::EntryKind;
use crate::hash::direct::{self, DigestCache};
use crate::key::Key;
use crate::paths;
use crate::stats::Counter;
use crate::storage::Source;

impl Session {
    /// Direct mode's lookup in the manifest under `mkey`; `dated`: it is a
    /// manifest of the day, whose results hold no marker (see
    /// `hash::dated`).
    pub(super) fn direct_lookup(
        &mut self,
        mkey: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
        dated: bool,
    ) -> Result<Option<i32>, Fallback> {
        let Some((mut manifest, source)) = self.storage.manifest_and_source(mkey) else {
            self.log
                .note("direct miss: no manifest (source, arguments or compiler are new)");
            return Ok(None);
        };
        let mut why_newest = None;
        if let Some(code) = self.look_in(mkey, &manifest, false, a, cwd, dated, &mut why_newest)? {
            return Ok(Some(code));
        }
        if source == Source::Local {
            if let Some(merged) = self.storage.merged_with_remote(mkey, &manifest) {
                self.log
                    .note("no local record matches: the remote manifest is merged in");
                why_newest = None;
                if let Some(code) =
                    self.look_in(mkey, &merged, true, a, cwd, dated, &mut why_newest)?
                {
                    return Ok(Some(code));
                }
                self.storage.update_local_manifest(mkey, &merged);
                manifest = merged;
            }
        }
        self.direct_miss = why_newest.clone();
        if let Some(newest) = manifest.results.last() {
            let recorded = newest.includes.iter().filter_map(|i| i.path.resolve(cwd));
            self.known_includes = recorded.map(|p| paths::resolve_in(cwd, &p)).collect();
        }
        self.log.note(format!(
            "direct miss: none of {} recorded include sets matches; newest: {}",
            manifest.results.len(),
            why_newest.unwrap_or_else(|| match self.unusable_result {
                Some(why) => format!("its result cannot serve this call ({why})"),
                None => "its result is gone".into(),
            })
        ));
        Ok(None)
    }

    /// Serves the call from the newest of `manifest`'s records that still
    /// holds, if any; `why_newest` gets why the newest did not. `unsaved`:
    /// the manifest was merged and is written locally on a hit.
    #[allow(clippy::too_many_arguments)]
    fn look_in(
        &mut self,
        mkey: &Key,
        manifest: &Manifest,
        unsaved: bool,
        a: &ArgsAnalysis,
        cwd: &str,
        dated: bool,
        why_newest: &mut Option<String>,
    ) -> Result<Option<i32>, Fallback> {
        let memo = self.storage.inode_memo();
        let mut digests = DigestCache::new(memo.as_deref(), self.coarse_start_ns);
        for result in manifest.results.iter().rev() {
            let valid = direct::still_valid(result, cwd, &a.cwd_mapped_dirs, &mut digests);
            if let Err(why) = valid {
                why_newest.get_or_insert(why);
                continue;
            }
            if !dated && result.result_key == crate::hash::dated::marker(mkey) {
                if unsaved {
                    self.storage.update_local_manifest(mkey, manifest);
                }
                return self.dated_lookup(mkey, a, cwd);
            }
            self.note_digests(&digests);
            if let Some(code) = self.serve(&result.result_key, a, cwd)? {
                self.log
                    .note(format!("direct cache hit: {}", result.result_key.to_hex()));
                self.changes.push((Counter::DirectCacheHit, 1));
                let ns = &self.config.namespace;
                miss_inputs::touch_miss_inputs(self.explain_target.as_ref(), &self.storage, ns);
                if unsaved {
                    self.storage.update_local_manifest(mkey, manifest);
                } else {
                    self.storage.touch(mkey, EntryKind::Manifest);
                }
                return Ok(Some(code));
            }
        }
        self.note_digests(&digests);
        Ok(None)
    }

    /// For the log: what the lookup took from the inode memo, what it hashed.
    fn note_digests(&self, digests: &DigestCache) {
        if digests.recalled + digests.hashed > 0 {
            self.log.note(format!(
                "headers with other stamps than recorded: {} digests from the inode memo, {} hashed",
                digests.recalled, digests.hashed
            ));
        }
    }
}
