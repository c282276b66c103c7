//! `--explain [OUTPUT]`: the explanations that misses left with their
//! inputs (see `disk::inputs`), for one output or the latest misses.

use std::fmt::Write as _;
use std::path::Path;

use super::entries::entry_files;
use super::miss_report as report;
use crate::disk::container::peek_namespace;
use crate::disk::inputs::{self, MissInputs};
use crate::disk::{EntryKind, LocalStore};
use crate::key::Key;
use crate::paths::{self, BaseDirs};
use crate::stats::display::format_unix_time;

/// How many misses `--explain` without an output lists.
const LATEST: usize = 20;

/// An output's last miss, the key it is stored under, and whether a hit
/// has used it since.
struct Miss {
    inputs: MissInputs,
    key: Key,
    hit_since: bool,
    /// The namespace of the call that missed (its file's header).
    namespace: String,
}

/// The last miss of every output in the cache, newest first.
fn last_misses(cache_dir: &Path) -> Result<Vec<Miss>, String> {
    let files =
        entry_files(cache_dir).map_err(|e| format!("reading {}: {e}", cache_dir.display()))?;
    let store = LocalStore::new(cache_dir);
    let mut out: Vec<Miss> = files
        .into_iter()
        .filter(|(_, kind, _)| *kind == EntryKind::Inputs)
        .filter_map(|(path, kind, key)| {
            let bytes = store.get(&key, kind).ok()??;
            let mut inputs = MissInputs::decode(&bytes, &key).ok()?;
            // No report shows them, and they take up to a few hundred KiB
            // a miss: kept, 10,000 misses would hold gigabytes.
            inputs.fields = Vec::new();
            let hit_since = inputs::hit_since(&path, &inputs)?;
            let namespace = peek_namespace(&bytes).unwrap_or_default();
            Some(Miss {
                inputs,
                key,
                hit_since,
                namespace,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        let (a, b) = (&a.inputs, &b.inputs);
        b.time_ns
            .cmp(&a.time_ns)
            .then_with(|| a.output.cmp(&b.output))
    });
    Ok(out)
}

/// Whether `stored` (absolute) is the file `wanted` names from `cwd`: the
/// same path, or one that ends with it at a component boundary.
fn names(stored: &str, wanted: &str, cwd: &str) -> bool {
    let absolute = crate::paths::resolve_in(cwd, wanted);
    stored == absolute
        || stored
            .strip_suffix(wanted.trim_start_matches("./"))
            .is_some_and(|head| head.ends_with('/'))
}

fn line(out: &mut String, r: &MissInputs) {
    let _ = writeln!(
        out,
        "{} {} (from {}): {}",
        format_unix_time(r.time_ns / 1_000_000_000),
        r.output,
        r.source,
        r.explanation
    );
}

/// Where `--explain OUTPUT` runs: what a record's key is made of.
pub struct Asking<'a> {
    pub cwd: &'a str,
    pub base_dir: Option<&'a BaseDirs>,
    pub namespace: &'a str,
}

/// Whether `found` holds the miss inputs of `output` as a call in `cwd`
/// would store them: with base_dir, those of the same output in another
/// checkout (compiled from the directory that corresponds to `cwd`).
fn keyed_for(found: &Miss, output: &str, at: &Asking) -> bool {
    let source = &found.inputs.source;
    let source_name = source.rsplit('/').next().unwrap_or(source);
    let absolute = paths::resolve_in(at.cwd, output);
    [output, absolute.as_str()].iter().any(|spelled| {
        let key_output = crate::explain::output_key(spelled, at.cwd, at.base_dir);
        MissInputs::key_for(&key_output, source_name, at.namespace) == found.key
    })
}

/// The report for `output` ("" = the latest misses of any output since
/// the counters were zeroed at `zeroed`, nanoseconds; 0 = never).
pub fn report(cache_dir: &Path, output: &str, at: &Asking, zeroed: u64) -> Result<String, String> {
    let all = last_misses(cache_dir)?;
    let mut out = String::new();
    if output.is_empty() {
        if all.is_empty() {
            return Err(format!("no miss on record in {}", cache_dir.display()));
        }
        // A CI job zeroes the counters first: the misses it asks about are
        // its own, not those of the job that saved the cache it restored.
        let recent = all.iter().take_while(|f| f.inputs.time_ns >= zeroed);
        for f in recent.take(LATEST) {
            line(&mut out, &f.inputs);
        }
        if out.is_empty() {
            let _ = writeln!(
                out,
                "no miss since the counters were zeroed at {} ({} earlier on record)",
                format_unix_time(zeroed / 1_000_000_000),
                all.len()
            );
        }
        return Ok(out);
    }
    let found = find(&all, output, at, cache_dir)?;
    let r = &found.inputs;
    let when = format_unix_time(r.time_ns / 1_000_000_000);
    let asked = paths::resolve_in(at.cwd, output);
    if r.output != asked && keyed_for(found, output, at) {
        // Another checkout's compile of the same output (base_dir): the
        // record is theirs to share, the last call may have been either's.
        return Ok(shared_report(found, &asked, &when));
    }
    if found.hit_since {
        let _ = writeln!(out, "hit");
        let _ = writeln!(
            out,
            "(the last call for {} was a cache hit; its last miss, at {when}: {})",
            r.output, r.explanation
        );
    } else {
        let _ = writeln!(out, "{}", r.explanation);
        let _ = writeln!(
            out,
            "(the last call for {}, compiled from {} at {when}, missed)",
            r.output, r.source
        );
    }
    Ok(out)
}

/// The record of `output`'s last miss: the one a call in `at.cwd` would
/// have stored, or else one whose output path ends with it.
fn find<'a>(
    all: &'a [Miss],
    output: &str,
    at: &Asking,
    cache_dir: &Path,
) -> Result<&'a Miss, String> {
    (all.iter().find(|f| keyed_for(f, output, at)))
        .or_else(|| all.iter().find(|f| names(&f.inputs.output, output, at.cwd)))
        .ok_or_else(|| {
            format!(
                "no miss of {output} on record in {} (it has not missed since its miss inputs \
                 were evicted, or was never compiled through this cache)",
                cache_dir.display()
            )
        })
}

/// `--explain [OUTPUT] --format json|markdown`: `output`'s last miss, or
/// ("") every output's last miss since the counters were zeroed at
/// `zeroed` (nanoseconds; 0 = never), oldest first.
pub fn structured(
    cache_dir: &Path,
    output: &str,
    at: &Asking,
    zeroed: u64,
) -> Result<report::Report, String> {
    let all = last_misses(cache_dir)?;
    let chosen: Vec<&Miss> = if output.is_empty() {
        all.iter()
            .rev()
            .filter(|m| m.inputs.time_ns >= zeroed)
            .collect()
    } else {
        vec![find(&all, output, at, cache_dir)?]
    };
    let misses = chosen
        .into_iter()
        .map(|m| report::MissRecord {
            output: m.inputs.output.clone(),
            source: m.inputs.source.clone(),
            namespace: m.namespace.clone(),
            time: format_unix_time(m.inputs.time_ns / 1_000_000_000),
            time_unix_ns: m.inputs.time_ns,
            reason: (!m.inputs.reason.is_empty()).then(|| m.inputs.reason.clone()),
            explanation: m.inputs.explanation.clone(),
            hit_since: m.hit_since,
        })
        .collect();
    let since = (output.is_empty() && zeroed > 0).then_some(zeroed / 1_000_000_000);
    Ok(report::Report {
        schema: report::SCHEMA,
        cache_dir: cache_dir.display().to_string(),
        asked: (!output.is_empty()).then(|| paths::resolve_in(at.cwd, output)),
        since: since.map(format_unix_time),
        since_unix: since,
        misses,
    })
}

/// The report for `asked` from a record another output shares with it
/// through base_dir (`found`, missed at `when`).
fn shared_report(found: &Miss, asked: &str, when: &str) -> String {
    let r = &found.inputs;
    if found.hit_since {
        format!(
            "hit\n(the last call for {asked}, or for {} which shares its record through \
             base_dir, was a cache hit; the last miss was {}'s, at {when}: {})\n",
            r.output, r.output, r.explanation
        )
    } else {
        format!(
            "{}\n(the last call for {asked} or for an output sharing its record through \
             base_dir was {}'s, compiled from {} at {when}, and missed)\n",
            r.explanation, r.output, r.source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_named_by_path_or_tail() {
        assert!(names("/w/build/a.o", "a.o", "/w/build"));
        assert!(names("/w/build/a.o", "build/a.o", "/w"));
        assert!(names("/w/build/a.o", "/w/build/a.o", "/x"));
        assert!(!names("/w/build/ba.o", "a.o", "/x"));
        assert!(!names("/w/build/a.o", "b.o", "/w/build"));
    }
}
