//! What to say about a long option that names none: as with ccache's
//! getopt_long, an option may be shortened to any prefix that names one
//! option only (`--zero`, `--max-si 5G`; a name given whole always means
//! that option, `--recompress` too). A prefix of several is an error that
//! names them; a misspelt name an error that names the nearest one.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::cli::MANAGER_OPTIONS;

/// The message for clap's error `e`, when it is about a long option that
/// is ambiguous or unknown; `None` for every other error.
pub fn message(e: &clap::Error) -> Option<String> {
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let name = arg.strip_prefix("--")?;
    let name = name.split_once('=').map_or(name, |(n, _)| n);
    if name.is_empty() {
        return None;
    }
    let candidates: Vec<String> = MANAGER_OPTIONS
        .iter()
        .filter(|o| o.long.starts_with(name))
        .map(|o| format!("'--{}'", o.long))
        .collect();
    if candidates.len() > 1 {
        return Some(format!(
            "option '--{name}' is ambiguous; possibilities: {}",
            candidates.join(" ")
        ));
    }
    Some(match nearest(name) {
        Some(long) => format!("unknown option '--{name}'; did you mean '--{long}'?"),
        None => format!("unknown option '--{name}'; see objcache --help"),
    })
}

/// The message for an operand that no option takes, when `--explain` was
/// given: its OUTPUT is optional, so an option between the two (`--explain
/// --format json foo.o`) leaves `foo.o` alone; say where it goes.
pub fn operand(e: &clap::Error, args: &[OsString]) -> Option<String> {
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    if arg.starts_with('-') || !args.iter().any(|a| a == "--explain") {
        return None;
    }
    Some(format!(
        "unexpected argument '{arg}': to explain one output, name it right after \
         --explain (--explain {arg} --format json)"
    ))
}

/// The visible option whose name is nearest to `name`, if one is near
/// enough to be what was meant: at most 2 edits away, or a third of the
/// name's length for long names.
fn nearest(name: &str) -> Option<&'static str> {
    let limit = (name.chars().count() / 3).max(2);
    MANAGER_OPTIONS
        .iter()
        .filter(|o| !o.hidden)
        .map(|o| (distance(name, o.long), o.long))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, long)| long)
}

/// Edits (insertions, deletions, substitutions and swaps of two
/// neighbours) that turn `a` into `b`: the optimal string alignment
/// distance, which counts the usual typo, two letters swapped, as one.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two back, one back, this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    let mut row = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    last[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_are_counted_with_swaps_as_one() {
        assert_eq!(distance("show-stats", "show-stats"), 0);
        assert_eq!(distance("shwo-stats", "show-stats"), 1);
        assert_eq!(distance("show-stat", "show-stats"), 1);
        assert_eq!(distance("zero-statz", "zero-stats"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_nearest_visible_option_is_suggested() {
        assert_eq!(nearest("shwo-stats"), Some("show-stats"));
        assert_eq!(nearest("clenup"), Some("cleanup"));
        assert_eq!(nearest("max-szie"), Some("max-size"));
        assert_eq!(nearest("frobnicate"), None);
        assert_eq!(nearest("generat"), Some("generate"));
        assert_eq!(
            nearest("recompress-thread"),
            None,
            "hidden options are not offered"
        );
    }
}
