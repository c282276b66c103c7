//! A miss, explained: the call's key fields are compared with the miss
//! inputs of the output's last miss (see `crate::explain`), the finding
//! goes into the log and a `miss_reason_*` counter, and this call's miss
//! inputs replace the old ones. Only misses read or write miss inputs; a
//! hit only touches them, as it touches its entries.

use super::Session;
use crate::disk::inputs::MissInputs;
use crate::disk::manifest::{IncludeRecord, StoredPath};
use crate::disk::EntryKind;
use crate::explain::{self, Context};
use crate::hash::record::has_time_macros;
use crate::hash::source::Text;
use crate::paths;
use crate::storage::Storage;

/// Which output a call's miss inputs belong to, fixed once the call is
/// analysed.
pub(super) struct ExplainTarget {
    /// The output as the miss inputs' key spells it (see `explain::output_key`).
    key_output: String,
    /// Absolute, so `--explain OUTPUT` finds it from any directory.
    output: String,
    /// Absolute too (as the user named it, resolved in the working
    /// directory), so the miss inputs name the file from any directory.
    source: String,
}

impl ExplainTarget {
    pub(super) fn new(
        output: &str,
        source: &str,
        cwd: &str,
        base: Option<&paths::BaseDirs>,
    ) -> Self {
        ExplainTarget {
            key_output: explain::output_key(output, cwd, base),
            output: paths::resolve_in(cwd, output),
            source: paths::resolve_in(cwd, source),
        }
    }
}

/// The `header` fields of miss inputs: each recorded include and its
/// digest.
pub(super) fn header_fields(includes: &[IncludeRecord]) -> Vec<(String, String)> {
    includes
        .iter()
        .map(|inc| {
            let path = match &inc.path {
                StoredPath::Literal(p) => p.clone(),
                StoredPath::Relative { up, rest } => {
                    format!("{}{rest}", "../".repeat(*up as usize))
                }
            };
            let digest = blake3::Hash::from_bytes(inc.digest).to_hex();
            ("header".to_string(), format!("{path}\t#{}", &digest[..16]))
        })
        .collect()
}

const TIME_MACROS: &[&str] = &["__DATE__", "__TIME__", "__TIMESTAMP__"];

impl ExplainTarget {
    fn key(&self, namespace: &str) -> crate::key::Key {
        let source_name = self.source.rsplit('/').next().unwrap_or(&self.source);
        MissInputs::key_for(&self.key_output, source_name, namespace)
    }
}

/// On a hit: the output's miss inputs stay as recently used as its
/// results, so a cache that evicts does not lose the miss inputs that
/// would explain the output's next miss first.
pub(super) fn touch_miss_inputs(target: Option<&ExplainTarget>, storage: &Storage, ns: &str) {
    if let Some(target) = target {
        storage.touch(&target.key(ns), EntryKind::Inputs);
    }
}

impl Session {
    /// After a counted miss: explains it, counts the reason and stores this
    /// call's miss inputs for the next one.
    pub(super) fn explain_miss(&mut self) {
        super::test_panic("explain");
        let Some(target) = self.explain_target.take() else {
            return;
        };
        let key = target.key(&self.config.namespace);
        let previous = self.storage.miss_inputs(&key);
        let mut fields = std::mem::take(&mut self.key_fields);
        fields.append(&mut self.header_fields);
        let explanation = match (&previous, self.unusable_result) {
            (_, Some(why)) => explain::unusable(why),
            (None, None) => explain::new_output(&target.output),
            (Some(old), None) => {
                let source = (self.source.take().and_then(Text::into_whole))
                    .or_else(|| std::fs::read(&target.source).ok())
                    .unwrap_or_default();
                let time_macro = has_time_macros(&source)
                    .then(|| TIME_MACROS.iter().copied().find(|m| contains(&source, m)))
                    .flatten();
                let ctx = Context {
                    base_dir: self.config.base_dir.as_ref(),
                    compiler_check: &self.config.compiler_check,
                    time_macro,
                    direct_miss: self.direct_miss.as_deref(),
                };
                explain::explain(&old.fields, &fields, &ctx)
            }
        };
        let mut explanation = explanation;
        let unasked = self.storage.unasked_remotes();
        if !unasked.is_empty() {
            explanation.text = explain::with_unasked_remotes(&unasked, &explanation.text);
        }
        self.log
            .note(format!("miss explained: {}", explanation.text));
        self.changes.push((explanation.reason.counter(), 1));
        let inputs = MissInputs {
            time_ns: self.start_ns as u64,
            output: target.output,
            source: target.source,
            explanation: explanation.text,
            reason: explanation.reason.name().to_string(),
            fields,
        };
        self.storage.put_miss_inputs(&key, &inputs);
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}
