//! `--explain --format json` and `--format markdown`: misses as data for
//! a CI job, the JSON for scripts, the markdown for a step summary
//! (`>> $GITHUB_STEP_SUMMARY`). The schema is in docs/formats.md.

use serde::Serialize;

/// The JSON's `schema`: raised when a field changes meaning or goes.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub cache_dir: String,
    /// `--explain OUTPUT`'s output, absolute; `null` for every miss.
    pub asked: Option<String>,
    /// Without OUTPUT: the misses are those since the counters were zeroed
    /// then (UTC text and seconds since the epoch); `null` when never.
    pub since: Option<String>,
    pub since_unix: Option<u64>,
    /// Oldest first.
    pub misses: Vec<MissRecord>,
}

#[derive(Debug, Serialize)]
pub struct MissRecord {
    /// Absolute, as the call named them.
    pub output: String,
    pub source: String,
    /// The call's `namespace` ("" for none).
    pub namespace: String,
    pub time: String,
    pub time_unix_ns: u64,
    /// What kind of difference made the miss, as `miss_reason_*` counters
    /// name it without the prefix (`include`, `args` …); `null` for a
    /// miss recorded by an objcache that did not store it.
    pub reason: Option<String>,
    pub explanation: String,
    /// A later call for the output hit.
    pub hit_since: bool,
}

pub fn json(report: &Report) -> String {
    let mut out = serde_json::to_string_pretty(report).expect("a report serializes");
    out.push('\n');
    out
}

/// A heading, a line saying which misses, and a table with a row per miss;
/// paths under `cwd` relative to it.
pub fn markdown(report: &Report, cwd: &str) -> String {
    let n = report.misses.len();
    let outputs = if n == 1 { "output" } else { "outputs" };
    let what = match (&report.asked, &report.since) {
        (Some(asked), _) => format!("The last miss of {}", cell(shorten(asked, cwd))),
        (None, Some(since)) => format!("{n} {outputs} missed since {since} (`-z`)"),
        (None, None) => format!("{n} {outputs} missed (the counters were never zeroed)"),
    };
    let mut out = format!("### objcache: why compiles missed\n\n{what}.\n\n");
    if n == 0 {
        return out;
    }
    out.push_str("| Output | Source | Reason | Why | Last call |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for (i, m) in report.misses.iter().enumerate() {
        let reason = m.reason.as_deref().unwrap_or("?");
        let last = if m.hit_since { "hit" } else { "missed" };
        let row = format!(
            "| {} | {} | {} | {} | {last} |\n",
            cell(shorten(&m.output, cwd)),
            cell(shorten(&m.source, cwd)),
            cell(reason),
            cell(&m.explanation),
        );
        if out.len() + row.len() > MARKDOWN_BUDGET {
            let left = n - i;
            out.push_str(&format!(
                "\n{left} more not shown (a step summary takes 1 MiB at most); \
                 `objcache --explain --format json` lists them all.\n"
            ));
            break;
        }
        out.push_str(&row);
    }
    out
}

/// The markdown's bytes at most: GitHub refuses a step summary over 1 MiB
/// whole (the job's other summaries with it), and the build step may have
/// written some of its own.
const MARKDOWN_BUDGET: usize = 512 << 10;

fn shorten<'a>(path: &'a str, cwd: &str) -> &'a str {
    crate::paths::strip_dir(path, cwd).unwrap_or(path)
}

/// Text as one table cell: nothing in it ends the row or the cell, opens
/// HTML or formats (a path's `_` and `*` are the path's).
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miss(output: &str) -> MissRecord {
        MissRecord {
            output: output.into(),
            source: "/w/a.c".into(),
            namespace: String::new(),
            time: "2024-01-01 00:00:00 UTC".into(),
            time_unix_ns: 1,
            reason: Some("include".into()),
            explanation: "header x|y.h changed".into(),
            hit_since: false,
        }
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<d>_e\\"), "a\\|b c&lt;d&gt;\\_e\\\\");
        let report = Report {
            schema: SCHEMA,
            cache_dir: "/c".into(),
            asked: None,
            since: Some("2024-01-01 00:00:00 UTC".into()),
            since_unix: Some(1),
            misses: vec![miss("/w/b|\n.o")],
        };
        let md = markdown(&report, "/w");
        let rows: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 3, "{md}");
        assert!(rows[2].starts_with("| b\\| .o | a.c | include | header x\\|y.h changed |"));
    }
}
