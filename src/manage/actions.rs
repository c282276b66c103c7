//! What each manager action does; [`super::options::OPTIONS`] says which
//! option runs which of these.

use std::path::PathBuf;

use clap::ArgMatches;

use super::options::{count, find, given, last};
use super::{entries, metrics, misses};
use super::{recompress, trim};
use crate::config::{self, size, Config, Locations};
use crate::stats::{self, display};
use crate::store::{cleanup, usage};

/// What the actions of one command line share: the modifiers and the
/// configuration, reloaded after each action that changes it.
pub struct Session<'a> {
    matches: &'a ArgMatches,
    locations: Locations,
    config: Config,
    /// `--evict-older-than` and `--evict-namespace` together are one
    /// eviction, run where the first of them stands.
    evicted: bool,
}

impl<'a> Session<'a> {
    /// Loads the configuration `--dir` and `--config-path` point at.
    pub fn open(matches: &'a ArgMatches) -> Result<Session<'a>, String> {
        let locations = Locations {
            cache_dir_override: last(matches, find("dir")).map(PathBuf::from),
            config_path_override: last(matches, find("config-path")).map(PathBuf::from),
        };
        let config = load(&locations)?;
        if let Some(warning) = config.refused_warning() {
            eprintln!("objcache: warning: {warning}");
        }
        config.apply_umask();
        Ok(Session {
            matches,
            locations,
            config,
            evicted: false,
        })
    }

    fn flag(&self, long: &str) -> bool {
        given(self.matches, find(long))
    }

    /// How many times the flag `long` was given (`-vv`: 2).
    fn count(&self, long: &str) -> usize {
        count(self.matches, find(long))
    }

    fn last(&self, long: &str) -> Option<String> {
        last(self.matches, find(long))
    }

    fn cache_dir(&self) -> String {
        self.config.cache_dir.display().to_string()
    }

    /// Writes `key = value` into the primary configuration file; `reload`
    /// then lets later actions see it.
    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        config::validate(key, value).map_err(|e| format!("{key}: {e}"))?;
        let path = &self.config.primary_config_path;
        config::write_setting(path, key, value)
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }

    fn reload(&mut self) -> Result<(), String> {
        self.config = load(&self.locations)?;
        Ok(())
    }
}

fn load(locations: &Locations) -> Result<Config, String> {
    let (config, errors) = Config::load(locations);
    match errors.first() {
        None => Ok(config),
        Some(_) => Err(crate::config::shown_errors(&errors).join("\nobjcache: error: ")),
    }
}

/// The counters of every shard; a shard that could not be read whole is
/// shown as far as it could be, with a warning.
fn read_totals(cache_dir: &std::path::Path) -> stats::Counters {
    let (totals, problems) = stats::read_total_reporting(cache_dir);
    for problem in problems {
        eprintln!("objcache: warning: statistics: {problem}");
    }
    totals
}

pub fn show_stats(s: &mut Session, _: &str) -> Result<(), String> {
    let config = &s.config;
    let totals = read_totals(&config.cache_dir);
    let cache_dir = s.cache_dir();
    let config_file = config.primary_config_path.display().to_string();
    let system = config
        .system_config_path
        .as_ref()
        .map(|p| p.display().to_string());
    let context = display::ShowContext {
        cache_dir: &cache_dir,
        config_file: &config_file,
        system_config_file: system.as_deref(),
        max_size_bytes: config.max_size_bytes(),
        max_files: config.max_files,
        giga: config.size_units().giga(),
        verbose: s.count("verbose").min(2) as u8,
    };
    print!("{}", display::show_stats(&totals, &context));
    Ok(())
}

pub fn print_stats(s: &mut Session, _: &str) -> Result<(), String> {
    let config = &s.config;
    let totals = read_totals(&config.cache_dir);
    let (max_kib, max_files) = (config.max_size_kib(), config.max_files);
    match s.last("format").as_deref() {
        Some("json") => print!("{}", display::print_stats_json(&totals, max_kib, max_files)),
        Some("openmetrics") => {
            let limits = metrics::Limits {
                max_size_bytes: config.max_size_bytes(),
                max_files,
            };
            // A cache dir that cannot be walked still has counters to show.
            let usage = collect_usage(s).ok();
            print!("{}", metrics::render(&totals, &limits, usage.as_ref()));
        }
        _ => print!("{}", display::print_stats(&totals, max_kib, max_files)),
    }
    Ok(())
}

/// The counters of the `stats_log` file.
fn log_counters(s: &Session) -> Result<stats::Counters, String> {
    let path = s.config.get("stats_log").unwrap_or_default().to_string();
    if path.is_empty() {
        return Err("stats_log is not set".into());
    }
    add_up_log(std::path::Path::new(&path)).map_err(|e| format!("reading {path}: {e}"))
}

/// Adds up a stats log a chunk of whole lines at a time: the log only
/// grows (ccache never trims it), so it is never held whole in memory. It
/// is read up to its length when opened, as calls may append meanwhile.
fn add_up_log(path: &std::path::Path) -> std::io::Result<stats::Counters> {
    use std::io::Read;
    const CHUNK: usize = 1 << 20;
    let (file, len) = crate::files::open_regular_file(path)?;
    let mut file = file.take(len);
    let mut total = stats::Counters::default();
    let mut buf = Vec::with_capacity(2 * CHUNK);
    // In a line longer than a chunk: it names no counter and is dropped.
    let mut in_long_line = false;
    loop {
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = file.read(&mut buf[start..])?;
        buf.truncate(start + n);
        let cut = match buf.iter().rposition(|&b| b == b'\n') {
            _ if n == 0 => buf.len(),
            Some(i) => i + 1,
            None if buf.len() >= CHUNK => {
                buf.clear();
                in_long_line = true;
                continue;
            }
            None => continue,
        };
        let mut lines = &buf[..cut];
        if std::mem::take(&mut in_long_line) {
            let end = lines
                .iter()
                .position(|&b| b == b'\n')
                .map_or(cut, |i| i + 1);
            lines = &lines[end..];
        }
        let part = stats::log::parse(&String::from_utf8_lossy(lines));
        for &counter in stats::counters::ALL {
            total.set(counter, total.get(counter) + part.get(counter));
        }
        buf.drain(..cut);
        if n == 0 {
            return Ok(total);
        }
    }
}

pub fn show_log_stats(s: &mut Session, _: &str) -> Result<(), String> {
    let c = log_counters(s)?;
    print!(
        "{}",
        display::show_log_stats(&c, s.count("verbose").min(2) as u8)
    );
    Ok(())
}

pub fn print_log_stats(s: &mut Session, _: &str) -> Result<(), String> {
    let c = log_counters(s)?;
    let json = s.last("format").as_deref() == Some("json");
    print!("{}", display::print_log_stats(&c, json));
    Ok(())
}

pub fn trim_dir(s: &mut Session, dir: &str) -> Result<(), String> {
    let max = s.last("trim-max-size");
    let recompress_level = s.last("trim-recompress");
    if max.is_none() && recompress_level.is_none() {
        return Err("--trim-dir needs --trim-max-size or --trim-recompress".into());
    }
    if let Some(level) = recompress_level {
        let level =
            recompress::parse_level(&level).map_err(|e| format!("--trim-recompress: {e}"))?;
        let threads = recompress::parse_threads(s.last("trim-recompress-threads").as_deref())
            .map_err(|e| format!("--trim-recompress-threads: {e}"))?;
        let units = s.config.size_units();
        print!(
            "{}",
            recompress::recompress_dir(std::path::Path::new(dir), level, threads, units)?
        );
    }
    let Some(max) = max else {
        return Ok(());
    };
    let max_bytes = size::parse_size(&max).map_err(|e| format!("--trim-max-size: {e}"))?;
    let method = trim::Method::parse(s.last("trim-method").as_deref().unwrap_or("atime"))?;
    let t = trim::trim(std::path::Path::new(dir), max_bytes, method)
        .map_err(|e| format!("trimming {dir}: {e}"))?;
    let units = size::SizeUnits::of(&max);
    println!(
        "Removed {} of {} files ({} of {}) from {dir}",
        t.files_removed,
        t.files_before,
        units.format(t.bytes_removed),
        units.format(t.bytes_before)
    );
    Ok(())
}

pub fn show_compression(s: &mut Session, _: &str) -> Result<(), String> {
    print!(
        "{}",
        entries::show_compression(&s.config.cache_dir, s.config.size_units())?
    );
    Ok(())
}

pub fn recompress(s: &mut Session, level: &str) -> Result<(), String> {
    let level = recompress::parse_level(level).map_err(|e| format!("-X: {e}"))?;
    let threads = recompress::parse_threads(s.last("recompress-threads").as_deref())
        .map_err(|e| format!("--recompress-threads: {e}"))?;
    let (dir, units) = (&s.config.cache_dir, s.config.size_units());
    print!("{}", recompress::recompress(dir, level, threads, units)?);
    Ok(())
}

pub fn hash_file(_: &mut Session, path: &str) -> Result<(), String> {
    println!("{}", entries::hash_file(path)?);
    Ok(())
}

pub fn checksum_file(_: &mut Session, path: &str) -> Result<(), String> {
    println!("{}", entries::hash_file(path)?);
    Ok(())
}

pub fn inspect(_: &mut Session, path: &str) -> Result<(), String> {
    print!("{}", entries::inspect(path)?);
    Ok(())
}

pub fn extract_result(_: &mut Session, path: &str) -> Result<(), String> {
    let cwd = std::env::current_dir().map_err(|e| format!("the current directory: {e}"))?;
    for name in entries::extract_result(path, &cwd)? {
        println!("Wrote {name}");
    }
    Ok(())
}

pub fn zero_stats(s: &mut Session, _: &str) -> Result<(), String> {
    stats::zero(&s.config.cache_dir)
        .map_err(|e| format!("zeroing statistics in {}: {e}", s.cache_dir()))?;
    println!("Statistics zeroed");
    Ok(())
}

/// `--explain [OUTPUT]`: why OUTPUT's last compile missed, or the latest misses.
pub fn explain(s: &mut Session, output: &str) -> Result<(), String> {
    let cwd = crate::paths::current_dir()
        .map(|d| d.apparent)
        .map_err(|e| format!("working directory: {e}"))?;
    print!("{}", misses::report(&s.config.cache_dir, output, &cwd)?);
    Ok(())
}

/// `--check-hit-rate MIN`: for a CI job's last step, after `-z` at its start.
pub fn check_hit_rate(s: &mut Session, min: &str) -> Result<(), String> {
    let wanted: f64 = min
        .trim()
        .trim_end_matches('%')
        .parse()
        .ok()
        .filter(|p| (0.0..=100.0).contains(p))
        .ok_or_else(|| format!("--check-hit-rate: invalid percentage \"{min}\" (0 to 100)"))?;
    let totals = stats::read_total(&s.config.cache_dir);
    let (hits, cacheable) = (totals.hits(), totals.hits().saturating_add(totals.misses()));
    if cacheable == 0 {
        // A build that never reached objcache is a broken setup, not 100%.
        return Err(format!(
            "hit rate check: no cacheable compile since the counters were zeroed \
             (is objcache in front of the compiler, with CCACHE_DIR={}?)",
            s.cache_dir()
        ));
    }
    let rate = 100.0 * hits as f64 / cacheable as f64;
    let summary = format!("hit rate {rate:.1}% ({hits} hits of {cacheable} cacheable calls)");
    if rate + 1e-9 < wanted {
        return Err(format!(
            "{summary} is below {wanted}%; `objcache --explain` says why calls missed"
        ));
    }
    println!("{summary}, at least {wanted}%");
    Ok(())
}

pub fn clear(s: &mut Session, _: &str) -> Result<(), String> {
    let all = cleanup::Selection {
        older_than_secs: None,
        namespace: None,
    };
    let dry = s.flag("dry-run");
    let swept = cleanup::evict_selected(&s.config.cache_dir, &all, dry)
        .map_err(|e| format!("clearing {}: {e}", s.cache_dir()))?;
    let what = if dry {
        "Would remove"
    } else {
        "Cleared cache: removed"
    };
    report_swept(s.config.size_units(), what, swept)
}

/// `--check`: the entries and the stats files.
pub fn check(s: &mut Session, _: &str) -> Result<(), String> {
    // The stats files first: walking the entries rewrites them.
    let problems = stats::check_shards(&s.config.cache_dir);
    let (checked, removed) = cleanup::check_all(&s.config.cache_dir)
        .map_err(|e| format!("checking {}: {e}", s.cache_dir()))?;
    println!("Checked {checked} entries");
    let entries = report_swept(s.config.size_units(), "Removed bad entries:", removed);
    let repaired = problems.iter().filter(|p| p.repaired).count();
    println!("Repaired stats files: {repaired}");
    for p in &problems {
        match p.repaired {
            true => println!("  {}: {}", p.path.display(), p.problem),
            false => eprintln!("objcache: error: {}", p.problem),
        }
    }
    entries?;
    match problems.iter().all(|p| p.repaired) {
        true => Ok(()),
        false => Err("some stats files could not be checked".into()),
    }
}

pub fn cleanup(s: &mut Session, _: &str) -> Result<(), String> {
    let limits = cleanup::Limits::from_config(&s.config);
    let swept = cleanup::full_cleanup(&s.config.cache_dir, &limits)
        .map_err(|e| format!("cleaning up {}: {e}", s.cache_dir()))?;
    report_swept(s.config.size_units(), "Cleaned up cache: removed", swept)
}

/// Removes what the last `--evict-older-than` and the last
/// `--evict-namespace` select, both at once.
pub fn evict(s: &mut Session, _: &str) -> Result<(), String> {
    if std::mem::replace(&mut s.evicted, true) {
        return Ok(());
    }
    let namespace = s.last("evict-namespace");
    let older_than_secs = s
        .last("evict-older-than")
        .map(|a| size::parse_age(&a))
        .transpose()
        .map_err(|e| format!("--evict-older-than: {e}"))?;
    let selection = cleanup::Selection {
        older_than_secs,
        namespace: namespace.as_deref(),
    };
    let dry = s.flag("dry-run");
    let swept = cleanup::evict_selected(&s.config.cache_dir, &selection, dry)
        .map_err(|e| format!("evicting from {}: {e}", s.cache_dir()))?;
    report_swept(
        s.config.size_units(),
        if dry { "Would remove" } else { "Removed" },
        swept,
    )
}

fn collect_usage(s: &Session) -> Result<usage::Usage, String> {
    let limits = cleanup::Limits::from_config(&s.config);
    usage::collect(&s.config.cache_dir, &limits)
        .map_err(|e| format!("reading {}: {e}", s.cache_dir()))
}

pub fn show_usage(s: &mut Session, _: &str) -> Result<(), String> {
    print!("{}", usage::show(&collect_usage(s)?));
    Ok(())
}

pub fn print_usage(s: &mut Session, _: &str) -> Result<(), String> {
    print!("{}", usage::print(&collect_usage(s)?));
    Ok(())
}

pub fn max_size(s: &mut Session, value: &str) -> Result<(), String> {
    let v = value.trim();
    s.set("max_size", v)?;
    if v.ends_with('%') {
        println!("Set cache size limit to {v} of the file system");
    } else {
        match size::parse_size(value).map_err(|e| format!("-M: {e}"))? {
            0 => println!("Unset cache size limit"),
            bytes => println!(
                "Set cache size limit to {}",
                size::SizeUnits::of(v).format(bytes)
            ),
        }
    }
    s.reload()
}

pub fn max_files(s: &mut Session, value: &str) -> Result<(), String> {
    let n: u64 = value
        .parse()
        .map_err(|_| format!("-F: invalid number \"{value}\""))?;
    s.set("max_files", &n.to_string())?;
    if n == 0 {
        println!("Unset cache file limit");
    } else {
        println!("Set cache file limit to {n}");
    }
    s.reload()
}

pub fn set_config(s: &mut Session, kv: &str) -> Result<(), String> {
    let (k, v) = kv
        .split_once('=')
        .ok_or_else(|| format!("-o: expected KEY=VALUE, got \"{kv}\""))?;
    s.set(k.trim(), v.trim())?;
    s.reload()
}

pub fn get_config(s: &mut Session, key: &str) -> Result<(), String> {
    let v = s
        .config
        .get(key)
        .ok_or_else(|| format!("unknown configuration option \"{key}\""))?;
    println!("{v}");
    Ok(())
}

pub fn show_config(s: &mut Session, _: &str) -> Result<(), String> {
    for (key, value, origin) in s.config.entries() {
        println!("({origin}) {key} = {value}");
    }
    Ok(())
}

/// Prints what a walk removed; fails if it had to leave buckets alone.
fn report_swept(units: size::SizeUnits, what: &str, swept: cleanup::Swept) -> Result<(), String> {
    println!(
        "{what} {} files ({})",
        swept.files,
        units.format(swept.kib * 1024)
    );
    match swept.locked {
        0 => Ok(()),
        _ => Err(format!(
            "some cache directories were left alone: another process held their \
             statistics files ({}/<h>) locked for over {} ms; run this again when it is done",
            stats::STATS_DIR,
            stats::LOCK_WAIT.as_millis()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Counter;

    #[test]
    fn a_stats_log_is_added_up_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stats.log");
        let mut text = String::new();
        for _ in 0..150_000 {
            text.push_str("# a.c\ncache_miss\n");
        }
        // A comment line longer than a chunk, ending in a counter's name.
        text.push_str(&"#".repeat(3 << 20));
        text.push_str("cache_miss\ndirect_cache_hit\n");
        std::fs::write(&log, &text).unwrap();
        let c = add_up_log(&log).unwrap();
        assert_eq!(c.get(Counter::CacheMiss), 150_000);
        assert_eq!(c.get(Counter::DirectCacheHit), 1);
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(add_up_log(&zero).is_err());
    }
}
