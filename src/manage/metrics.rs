//! `--print-stats --format openmetrics`: the counters, the cache's size
//! against its limits, the hit rate and the usage by namespace and last
//! use in the Prometheus text exposition format, for a node_exporter
//! textfile collector, a Pushgateway or a CI step to scrape and alert on.
//! Counters are named `…_total` in their `# TYPE` line too, as that format
//! (not strict OpenMetrics) wants; the closing `# EOF` is a comment to it.

use std::fmt::Write as _;

use crate::disk::usage::{Amount, Usage};
use crate::stats::counters::{CounterKind, Merge, ALL, COUNTERS};
use crate::stats::{Counter, Counters};

/// The limits the exposition shows, as its gauges count them (0 = none).
pub struct LimitGauges {
    pub max_size_bytes: u64,
    pub max_files: u64,
}

/// One metric family: its `# TYPE`/`# HELP` lines and samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# TYPE objcache_{name} {kind}");
    let _ = writeln!(out, "# HELP objcache_{name} {help}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "objcache_{name}{labels} {value}");
}

/// A label value with `\`, `"` and newlines escaped, as the format asks.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition, ending in `# EOF`. `usage` adds what a walk of the cache
/// found (namespaces, last use); without it only the counters are shown.
pub fn render(c: &Counters, limits: &LimitGauges, usage: Option<&Usage>) -> String {
    let mut out = String::new();
    counter_families(&mut out, c);
    let size_bytes = c.get(Counter::CacheSizeKibibyte).saturating_mul(1024);
    gauge(
        &mut out,
        "cache_size_bytes",
        "Size of the local cache on disk",
        size_bytes,
    );
    let max_size = limits.max_size_bytes;
    gauge(
        &mut out,
        "cache_size_limit_bytes",
        "max_size (0: no limit)",
        max_size,
    );
    let files = c.get(Counter::FilesInCache);
    gauge(
        &mut out,
        "files_in_cache",
        "Files in the local cache",
        files,
    );
    gauge(
        &mut out,
        "miss_inputs_in_cache",
        "Miss-inputs files (the data of --explain) in the local cache, not in files_in_cache",
        c.get(Counter::MissInputsInCache),
    );
    gauge(
        &mut out,
        "files_limit",
        "max_files (0: no limit)",
        limits.max_files,
    );
    let cacheable = c.hits().saturating_add(c.misses());
    let ratio = if cacheable == 0 {
        0.0
    } else {
        c.hits() as f64 / cacheable as f64
    };
    gauge(
        &mut out,
        "hit_ratio",
        "Hits per cacheable call since the counters were zeroed (0 when there were none)",
        format!("{ratio:.6}"),
    );
    if let Some(u) = usage {
        usage_families(&mut out, u);
    }
    out.push_str("# EOF\n");
    out
}

/// A gauge family of one sample without labels.
fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, "gauge", help);
    sample(out, name, "", value);
}

/// Every counter as a family of its own but the size counters, which
/// `render` shows as gauges: timestamps as gauges in seconds, the others
/// as counters.
fn counter_families(out: &mut String, c: &Counters) {
    for (def, &counter) in COUNTERS.iter().zip(ALL) {
        let value = c.get(counter);
        match (counter, def.kind, def.merge) {
            (
                Counter::CacheSizeKibibyte | Counter::FilesInCache | Counter::MissInputsInCache,
                _,
                _,
            ) => {}
            (_, _, Merge::Max) | (_, CounterKind::State, _) => {
                // Timestamps: seconds since the epoch.
                gauge(out, &format!("{}_seconds", def.name), def.label, value);
            }
            _ => {
                // Named as the Prometheus text format (0.0.4) wants a
                // counter, which node_exporter's textfile collector reads.
                let name = format!("{}_total", def.name);
                family(out, &name, "counter", def.label);
                sample(out, &name, "", value);
            }
        }
    }
}

fn usage_families(out: &mut String, u: &Usage) {
    let by_namespace: Vec<(&str, &Amount)> = u
        .by_namespace
        .iter()
        .map(|(k, a)| (k.as_str(), a))
        .collect();
    let by_last_use: Vec<(&str, &Amount)> =
        u.by_last_use.iter().map(|(k, a)| (k.as_str(), a)).collect();
    for (what, rows) in [("namespace", &by_namespace), ("last_use", &by_last_use)] {
        let help = match what {
            "namespace" => "stored with each namespace",
            _ => "by when they were last used",
        };
        for (unit, value) in [
            ("bytes", (|a: &Amount| a.kib * 1024) as fn(&Amount) -> u64),
            ("files", |a: &Amount| a.files),
        ] {
            let name = format!("{what}_{unit}");
            let noun = if unit == "bytes" {
                "Bytes of entries"
            } else {
                "Entries"
            };
            family(out, &name, "gauge", &format!("{noun} {help}"));
            for (key, a) in rows.iter() {
                let labels = format!("{{{what}=\"{}\"}}", label_value(key));
                sample(out, &name, &labels, value(a));
            }
        }
    }
    let name = "reclaimable_bytes";
    family(
        out,
        name,
        "gauge",
        "What a cleanup to the limits would free",
    );
    sample(out, name, "", u.cleanup_would_free.kib * 1024);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_get_total_samples_and_the_exposition_ends() {
        let mut c = Counters::default();
        c.set(Counter::DirectCacheHit, 3);
        c.set(Counter::CacheMiss, 1);
        c.set(Counter::CacheSizeKibibyte, 2);
        let limits = LimitGauges {
            max_size_bytes: 5 << 30,
            max_files: 0,
        };
        let text = render(&c, &limits, None);
        assert!(text.contains("# TYPE objcache_direct_cache_hit_total counter\n"));
        assert!(text.contains("\nobjcache_direct_cache_hit_total 3\n"));
        assert!(text.contains("\nobjcache_cache_size_bytes 2048\n"));
        assert!(text.contains("\nobjcache_hit_ratio 0.750000\n"));
        assert!(text.contains("\nobjcache_stats_zeroed_timestamp_seconds 0\n"));
        assert!(text.ends_with("\n# EOF\n"));
        assert_eq!(label_value("a\"b\\c"), "a\\\"b\\\\c");
    }
}
