//! `-s` (a table for people) and `--print-stats` (tab-separated or JSON
//! for scripts).

use super::counters::{Section, ALL, COUNTERS};
use super::namespaces::label;
use super::{Counter, Counters};

/// `--print-stats`: every counter, sorted by name, plus the configured
/// limits (the size limit in KiB as cleanups count it).
pub fn print_stats(c: &Counters, max_size_kib: u64, max_files: u64) -> String {
    print_lines(c, max_size_kib, max_files)
        .into_iter()
        .map(|(name, v)| format!("{name}\t{v}\n"))
        .collect()
}

/// `--print-stats --format json`: the same names and values as one JSON
/// object, in the same order.
pub fn print_stats_json(c: &Counters, max_size_kib: u64, max_files: u64) -> String {
    json_object(print_lines(c, max_size_kib, max_files))
}

/// `--print-log-stats`: the counters of the stats log, tab-separated or
/// JSON, without the limits of a cache.
pub fn print_log_stats(c: &Counters, json: bool) -> String {
    let lines = counter_lines(c);
    if json {
        json_object(lines)
    } else {
        lines
            .into_iter()
            .map(|(name, v)| format!("{name}\t{v}\n"))
            .collect()
    }
}

/// `{"name": value, …}`, sorted by name, two spaces deep, one per line.
fn json_object(lines: Vec<(String, u64)>) -> String {
    let object: std::collections::BTreeMap<String, u64> = lines.into_iter().collect();
    let mut out = serde_json::to_string_pretty(&object).expect("names and numbers serialize");
    out.push('\n');
    out
}

/// `--show-log-stats`: the calls of the stats log, as `-s` shows them.
pub fn show_log_stats(c: &Counters, verbose: u8) -> String {
    let mut rows = call_rows(c, verbose);
    rows.extend(remote_rows(c, verbose, false));
    render(&rows)
}

fn counter_lines(c: &Counters) -> Vec<(String, u64)> {
    COUNTERS
        .iter()
        .enumerate()
        .map(|(i, def)| (def.name.to_string(), c.get(ALL[i])))
        .collect()
}

fn print_lines(c: &Counters, max_size_kib: u64, max_files: u64) -> Vec<(String, u64)> {
    let mut lines = counter_lines(c);
    lines.push(("max_cache_size_kibibyte".into(), max_size_kib));
    lines.push(("max_files_in_cache".into(), max_files));
    lines.extend(c.namespaces.print_lines());
    lines.sort();
    lines
}

struct Row {
    indent: usize,
    label: String,
    value: String,
    /// `(part, whole)`: shown as `part / whole (percent)`.
    of: Option<(u64, u64)>,
}

impl Row {
    fn ratio(indent: usize, label: &str, part: u64, whole: u64) -> Row {
        Row {
            indent,
            label: label.to_string(),
            value: part.to_string(),
            of: Some((part, whole)),
        }
    }

    fn plain(indent: usize, label: &str, value: String) -> Row {
        Row {
            indent,
            label: label.to_string(),
            value,
            of: None,
        }
    }
}

fn percent(part: u64, whole: u64) -> String {
    let p = if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    };
    if p >= 99.995 {
        "(100.0%)".to_string()
    } else {
        format!("({p:5.2}%)")
    }
}

pub struct ShowContext<'a> {
    pub cache_dir: &'a str,
    pub config_file: &'a str,
    pub system_config_file: Option<&'a str>,
    pub max_size_bytes: u64,
    pub max_files: u64,
    /// The size of a gigabyte and its name: `(1e9, "GB")` or `(2^30, "GiB")`.
    pub giga: (f64, &'static str),
    /// `-v` given this many times: 1 shows every counter that is not zero,
    /// 2 every counter.
    pub verbose: u8,
    /// Remote storage is configured: its section is shown even when no
    /// call has counted in it.
    pub remote_configured: bool,
}

/// `-s` / `-sv` / `-svv`.
pub fn show_stats(c: &Counters, ctx: &ShowContext) -> String {
    let mut rows = call_rows(c, ctx.verbose);
    rows.extend(namespace_rows(c));
    rows.extend(local_storage_rows(c, ctx));
    rows.extend(remote_rows(c, ctx.verbose, ctx.remote_configured));
    let mut out = render(&rows);
    out.push_str(&footer(c, ctx));
    out
}

fn in_section(s: Section) -> impl Iterator<Item = Counter> {
    ALL.iter().copied().filter(move |&k| k.def().section == s)
}

/// Hits and misses, then the calls that could not be cached, then errors.
fn call_rows(c: &Counters, verbose: u8) -> Vec<Row> {
    let all = verbose >= 2;
    let hits = c.hits();
    let misses = c.misses();
    // A stats file may say anything (bit rot, a neighbour): no sum of its
    // numbers may overflow.
    let sum = |s: Section| in_section(s).fold(0u64, |t, k| t.saturating_add(c.get(k)));
    let cacheable = hits.saturating_add(misses);
    let uncacheable = sum(Section::Uncacheable);
    let errors = sum(Section::Error);
    let calls = cacheable.saturating_add(uncacheable);

    let mut rows = vec![
        Row::ratio(0, "Cacheable calls", cacheable, calls),
        Row::ratio(1, "Hits", hits, cacheable),
        Row::ratio(2, "Direct", c.get(Counter::DirectCacheHit), hits),
        Row::ratio(
            2,
            "Preprocessed",
            c.get(Counter::PreprocessedCacheHit),
            hits,
        ),
        Row::ratio(1, "Misses", misses, cacheable),
    ];
    if verbose > 0 {
        for k in in_section(Section::MissReason) {
            if all || c.get(k) > 0 {
                rows.push(Row::ratio(2, k.def().label, c.get(k), misses));
            }
        }
    }
    rows.push(Row::ratio(0, "Uncacheable calls", uncacheable, calls));
    for k in in_section(Section::Uncacheable) {
        if all || c.get(k) > 0 {
            rows.push(Row::ratio(1, k.def().label, c.get(k), uncacheable));
        }
    }
    if errors > 0 || all {
        rows.push(Row::plain(0, "Errors", errors.to_string()));
        for k in in_section(Section::Error) {
            if all || c.get(k) > 0 {
                rows.push(Row::ratio(1, k.def().label, c.get(k), errors));
            }
        }
    }
    rows
}

/// Hits and misses per namespace, when calls counted in more than one
/// (those without a namespace are the totals' rest).
fn namespace_rows(c: &Counters) -> Vec<Row> {
    let ns = &c.namespaces;
    let mut groups: Vec<(String, u64, u64)> = ns
        .counted()
        .map(|(encoded, _)| {
            let hits = ns
                .get(encoded, Counter::DirectCacheHit)
                .saturating_add(ns.get(encoded, Counter::PreprocessedCacheHit));
            (label(encoded), hits, ns.get(encoded, Counter::CacheMiss))
        })
        .collect();
    let (named_hits, named_misses) = groups.iter().fold((0u64, 0u64), |(h, m), g| {
        (h.saturating_add(g.1), m.saturating_add(g.2))
    });
    let rest = (
        c.hits().saturating_sub(named_hits),
        c.misses().saturating_sub(named_misses),
    );
    if rest != (0, 0) {
        groups.push(("(no namespace)".into(), rest.0, rest.1));
    }
    if groups.len() < 2 {
        return Vec::new();
    }
    let mut rows = vec![Row::plain(0, "Namespaces", String::new())];
    for (name, hits, misses) in groups {
        let cacheable = hits.saturating_add(misses);
        rows.push(Row::plain(1, &name, String::new()));
        rows.push(Row::ratio(2, "Hits", hits, cacheable));
        rows.push(Row::ratio(2, "Misses", misses, cacheable));
    }
    rows
}

/// Size and files against their limits; with `-v`, the other bookkeeping
/// that is not zero, with `-vv` all of it.
fn local_storage_rows(c: &Counters, ctx: &ShowContext) -> Vec<Row> {
    let size_kib = c.get(Counter::CacheSizeKibibyte);
    let (giga, unit) = ctx.giga;
    let size_gb = size_kib as f64 * 1024.0 / giga;
    let limit_gb = ctx.max_size_bytes as f64 / giga;
    let size_pct = if ctx.max_size_bytes == 0 {
        String::new()
    } else {
        format!(
            " {}",
            percent(size_kib.saturating_mul(1024), ctx.max_size_bytes)
        )
    };
    let files = c.get(Counter::FilesInCache);
    let mut rows = vec![
        Row::plain(0, "Local storage", String::new()),
        Row::plain(
            1,
            &format!("Cache size ({unit})"),
            format!("{size_gb:.2} / {limit_gb:.2}{size_pct}"),
        ),
        Row::plain(
            1,
            "Files",
            if ctx.max_files > 0 {
                format!("{files} / {}", ctx.max_files)
            } else {
                files.to_string()
            },
        ),
        // Not among the files, as ccache has none: in the size only.
        Row::plain(
            1,
            Counter::MissInputsInCache.def().label,
            c.get(Counter::MissInputsInCache).to_string(),
        ),
    ];
    if ctx.verbose > 0 {
        // Those five have lines of their own.
        rows.extend(
            in_section(Section::Other)
                .filter(|k| {
                    !matches!(
                        k,
                        Counter::CacheSizeKibibyte
                            | Counter::FilesInCache
                            | Counter::MissInputsInCache
                            | Counter::StatsUpdatedTimestamp
                            | Counter::StatsZeroedTimestamp
                    ) && (ctx.verbose >= 2 || c.get(*k) > 0)
                })
                .map(|k| Row::plain(1, k.def().label, c.get(k).to_string())),
        );
    }
    rows
}

/// ccache 4.13's "Remote storage" section: shown when a remote is
/// configured or a call counted in it (with `-vv` always); hits and misses
/// of the results looked up there, with `-v` the entries read and written,
/// and the errors and timeouts when there were any (with `-vv` always).
fn remote_rows(c: &Counters, verbose: u8, configured: bool) -> Vec<Row> {
    let get = |k| c.get(k);
    let (hits, misses) = (
        get(Counter::RemoteStorageHit),
        get(Counter::RemoteStorageMiss),
    );
    let errors = get(Counter::RemoteStorageError);
    let timeouts = get(Counter::RemoteStorageTimeout);
    let counted = in_section(Section::Remote).any(|k| get(k) > 0);
    if !(configured || counted || verbose >= 2) {
        return Vec::new();
    }
    let looked_up = hits.saturating_add(misses);
    let mut rows = vec![
        Row::plain(0, "Remote storage", String::new()),
        Row::ratio(1, "Hits", hits, looked_up),
        Row::ratio(1, "Misses", misses, looked_up),
    ];
    if verbose > 0 {
        let reads =
            get(Counter::RemoteStorageReadHit).saturating_add(get(Counter::RemoteStorageReadMiss));
        rows.push(Row::plain(1, "Reads", reads.to_string()));
        rows.push(Row::plain(
            1,
            "Writes",
            get(Counter::RemoteStorageWrite).to_string(),
        ));
    }
    if errors > 0 || verbose >= 2 {
        rows.push(Row::plain(1, "Errors", errors.to_string()));
    }
    if timeouts > 0 || verbose >= 2 {
        rows.push(Row::plain(1, "Timeouts", timeouts.to_string()));
    }
    rows
}

/// The rows as aligned `label: value` lines.
fn render(rows: &[Row]) -> String {
    let label_width = rows
        .iter()
        .map(|r| r.indent * 2 + r.label.len() + 1)
        .max()
        .unwrap_or(0);
    let value_width = rows
        .iter()
        .filter(|r| r.of.is_some())
        .map(|r| r.value.len())
        .chain(
            rows.iter()
                .filter_map(|r| r.of.map(|(_, w)| w.to_string().len())),
        )
        .max()
        .unwrap_or(1);
    let mut out = String::new();
    for r in rows {
        let label = format!("{}{}:", "  ".repeat(r.indent), r.label);
        let line = match r.of {
            Some((part, whole)) => format!(
                "{label:<label_width$} {:>value_width$} / {:>value_width$} {}",
                r.value,
                whole,
                percent(part, whole)
            ),
            None if r.value.is_empty() => label,
            None => format!("{label:<label_width$} {}", r.value),
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Where the cache and its configuration are, and when the stats changed.
fn footer(c: &Counters, ctx: &ShowContext) -> String {
    let mut out = String::new();
    out.push_str(&format!("Cache directory:      {}\n", ctx.cache_dir));
    out.push_str(&format!("Config file:          {}\n", ctx.config_file));
    if let Some(sys) = ctx.system_config_file {
        out.push_str(&format!("System config file:   {sys}\n"));
    }
    let stamp = |secs: u64| {
        if secs == 0 {
            "never".to_string()
        } else {
            format_unix_time(secs)
        }
    };
    out.push_str(&format!(
        "Stats updated:        {}\n",
        stamp(c.get(Counter::StatsUpdatedTimestamp))
    ));
    if ctx.verbose >= 2 || c.get(Counter::StatsZeroedTimestamp) > 0 {
        out.push_str(&format!(
            "Stats zeroed:         {}\n",
            stamp(c.get(Counter::StatsZeroedTimestamp))
        ));
    }
    out
}

/// UTC `YYYY-MM-DD HH:MM:SS`, without pulling in a date crate.
pub fn format_unix_time(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_stats_lists_every_counter_sorted() {
        let mut c = Counters::default();
        c.set(Counter::CacheMiss, 3);
        let out = print_stats(&c, 1953125, 7);
        let names: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), COUNTERS.len() + 2);
        assert!(out.contains("cache_miss\t3\n"));
        assert!(out.contains("max_cache_size_kibibyte\t1953125\n"));
        assert!(out.contains("max_files_in_cache\t7\n"));
    }

    #[test]
    fn print_stats_json_has_the_same_fields() {
        let mut c = Counters::default();
        c.set(Counter::DirectCacheHit, 2);
        let json = print_stats_json(&c, 1, 0);
        let tab = print_stats(&c, 1, 0);
        assert!(json.starts_with("{\n") && json.ends_with("\n}\n"), "{json}");
        assert!(json.contains("  \"direct_cache_hit\": 2,\n"), "{json}");
        assert_eq!(json.lines().count(), tab.lines().count() + 2);
    }

    #[test]
    fn verbosity_levels() {
        let mut c = Counters::default();
        c.set(Counter::LocalStorageWrite, 1);
        let ctx = |verbose| ShowContext {
            cache_dir: "d",
            config_file: "f",
            system_config_file: None,
            max_size_bytes: 0,
            giga: ((1u64 << 30) as f64, "GiB"),
            max_files: 0,
            verbose,
            remote_configured: false,
        };
        let text = |v| show_stats(&c, &ctx(v));
        assert!(!text(0).contains("Local storage writes"));
        assert!(text(1).contains("Local storage writes"));
        assert!(!text(1).contains("Local storage read hits"));
        assert!(!text(1).contains("Autoconf"));
        assert!(text(2).contains("Local storage read hits"));
        assert!(text(2).contains("Autoconf"));
        assert!(text(2).contains("Stats zeroed"));
    }

    #[test]
    fn remote_storage_has_a_section_of_its_own() {
        let ctx = |verbose, remote_configured| ShowContext {
            cache_dir: "d",
            config_file: "f",
            system_config_file: None,
            max_size_bytes: 0,
            giga: ((1u64 << 30) as f64, "GiB"),
            max_files: 0,
            verbose,
            remote_configured,
        };
        let mut c = Counters::default();
        assert!(!show_stats(&c, &ctx(1, false)).contains("Remote storage:"));
        let configured = show_stats(&c, &ctx(0, true));
        assert!(
            configured.contains("Remote storage:\n  Hits:"),
            "{configured}"
        );
        assert!(!configured.contains("Errors"), "{configured}");
        c.set(Counter::RemoteStorageError, 2);
        c.set(Counter::RemoteStorageMiss, 1);
        let counted = show_stats(&c, &ctx(0, false));
        let section = &counted[counted.find("Remote storage:").expect(&counted)..];
        assert!(section.contains("  Errors:"), "{counted}");
        assert!(!section.contains("Timeouts"), "{counted}");
        // Not a call's error, as in ccache.
        assert!(!counted.contains("\nErrors:"), "{counted}");
        assert!(show_stats(&c, &ctx(2, false)).contains("  Timeouts:"));
    }

    #[test]
    fn unix_time_formats() {
        assert_eq!(format_unix_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix_time(1_795_438_362), "2026-11-23 12:52:42 UTC");
    }
}
