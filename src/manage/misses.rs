//! `--explain [OUTPUT]`: the explanations that misses left in their input
//! records (see `store::inputs`), for one output or the latest misses.

use std::fmt::Write as _;
use std::path::Path;

use super::entries::entry_files;
use crate::stats::display::format_unix_time;
use crate::store::inputs::InputRecord;
use crate::store::{EntryKind, LocalStore};

/// How many misses `--explain` without an output lists.
const LATEST: usize = 20;

/// Every input record of the cache, newest first.
fn records(cache_dir: &Path) -> Result<Vec<InputRecord>, String> {
    let files =
        entry_files(cache_dir).map_err(|e| format!("reading {}: {e}", cache_dir.display()))?;
    let store = LocalStore::new(cache_dir);
    let mut out: Vec<InputRecord> = files
        .into_iter()
        .filter(|(_, kind, _)| *kind == EntryKind::Inputs)
        .filter_map(|(_, kind, key)| {
            let bytes = store.get(&key, kind).ok()??;
            InputRecord::decode(&bytes, &key).ok()
        })
        .collect();
    out.sort_by(|a, b| {
        b.time_secs
            .cmp(&a.time_secs)
            .then_with(|| a.output.cmp(&b.output))
    });
    Ok(out)
}

/// Whether `recorded` (absolute) is the file `wanted` names from `cwd`:
/// the same path, or one that ends with it at a component boundary.
fn names(recorded: &str, wanted: &str, cwd: &str) -> bool {
    let absolute = crate::paths::resolve_in(cwd, wanted);
    recorded == absolute
        || recorded
            .strip_suffix(wanted.trim_start_matches("./"))
            .is_some_and(|head| head.ends_with('/'))
}

fn line(out: &mut String, r: &InputRecord) {
    let _ = writeln!(
        out,
        "{} {} (from {}): {}",
        format_unix_time(r.time_secs),
        r.output,
        r.source,
        r.explanation
    );
}

/// The report for `output` ("" = the latest misses of any output).
pub fn report(cache_dir: &Path, output: &str, cwd: &str) -> Result<String, String> {
    let all = records(cache_dir)?;
    let mut out = String::new();
    if output.is_empty() {
        if all.is_empty() {
            return Err(format!("no miss on record in {}", cache_dir.display()));
        }
        for r in all.iter().take(LATEST) {
            line(&mut out, r);
        }
        return Ok(out);
    }
    let Some(r) = all.iter().find(|r| names(&r.output, output, cwd)) else {
        return Err(format!(
            "no miss of {output} on record in {} (it has not missed since its record was \
             evicted, or was never compiled through this cache)",
            cache_dir.display()
        ));
    };
    let _ = writeln!(out, "{}", r.explanation);
    let _ = writeln!(
        out,
        "(the last miss of {}, compiled from {} at {}; later calls may have hit)",
        r.output,
        r.source,
        format_unix_time(r.time_secs)
    );
    Ok(out)
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
