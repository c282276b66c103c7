//! What each manager action does; [`super::cli::MANAGER_OPTIONS`] says
//! which option runs which of these.

use super::modifiers::{Modifiers, OutputFormat, Parsed};
use super::progress::Bar;
use super::{entries, metrics, miss_report, misses, remote_check};
use super::{recompress, trim};
use crate::config::{self, size, Config, Locations};
use crate::disk::{cleanup, usage};
use crate::stats::{self, display};

/// What the actions of one command line share: the modifiers and the
/// configuration, reloaded after each action that changes it.
pub struct Manager {
    mods: Modifiers,
    locations: Locations,
    config: Config,
    /// `--evict-older-than` and `--evict-namespace` together are one
    /// eviction, run where the first of them stands.
    evicted: bool,
    /// The remote backends that cannot be used, not yet said: every
    /// command says it once (`-s` at its top).
    remote_notices: Vec<String>,
}

impl Manager {
    /// Loads the configuration `--dir` and `--config-path` point at.
    pub fn open(mods: Modifiers) -> Result<Manager, String> {
        let locations = Locations {
            cache_dir_override: mods.cache_dir.clone(),
            config_path_override: mods.config_path.clone(),
            ..Locations::default()
        };
        let config = load(&locations)?;
        if let Some(warning) = config.refused_warning() {
            eprintln!("objcache: warning: {warning}");
        }
        config.apply_umask();
        let remote_notices = remote_check::notices(&config);
        Ok(Manager {
            mods,
            locations,
            config,
            evicted: false,
            remote_notices,
        })
    }

    /// The remote notices not said yet; none from now on.
    pub fn take_remote_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.remote_notices)
    }

    fn cache_dir(&self) -> String {
        self.config.cache_dir.display().to_string()
    }

    /// Writes `key = value` into the primary configuration file; `reload`
    /// then lets later actions see it.
    fn set(&self, key: &str, value: &str) -> Result<(), String> {
        config::validate(key, value).map_err(|e| format!("{key}: {e}"))?;
        let path = &self.config.primary_config_path;
        self.config
            .write_primary_setting(key, value)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        if let Some(source) = self.config.overrides_primary(key) {
            let file = path.display();
            eprintln!("objcache: warning: {key} written to {file}, but {source} sets it here");
        }
        Ok(())
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

pub fn show_stats(s: &mut Manager, _: &str) -> Result<(), String> {
    for notice in s.take_remote_notices() {
        println!("Warning: {notice}");
    }
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
        verbose: s.mods.verbose,
        remote_configured: !config.remote_storage.trim().is_empty(),
    };
    print!("{}", display::show_stats(&totals, &context));
    Ok(())
}

const MARKDOWN_IS_FOR_EXPLAIN: &str = "--format markdown is for --explain";

pub fn print_stats(s: &mut Manager, _: &str) -> Result<(), String> {
    let config = &s.config;
    let totals = read_totals(&config.cache_dir);
    let (max_kib, max_files) = (config.max_size_kib(), config.max_files);
    match s.mods.format {
        OutputFormat::Json => print!("{}", display::print_stats_json(&totals, max_kib, max_files)),
        OutputFormat::OpenMetrics => {
            let limits = metrics::LimitGauges {
                max_size_bytes: config.max_size_bytes(),
                max_files,
            };
            // A cache dir that cannot be walked still has counters to show.
            let usage = collect_usage(s, "--print-stats").ok();
            print!("{}", metrics::render(&totals, &limits, usage.as_ref()));
        }
        OutputFormat::Tab => print!("{}", display::print_stats(&totals, max_kib, max_files)),
        OutputFormat::Markdown => return Err(MARKDOWN_IS_FOR_EXPLAIN.into()),
    }
    Ok(())
}

/// The counters of the `stats_log` file, the one compiles append to
/// (`Config::stats_log`, `~/` expanded as for them).
fn log_counters(s: &Manager) -> Result<stats::Counters, String> {
    let Some(path) = &s.config.stats_log else {
        return Err("stats_log is not set".into());
    };
    stats::stats_log::add_up(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

pub fn show_log_stats(s: &mut Manager, _: &str) -> Result<(), String> {
    let c = log_counters(s)?;
    print!("{}", display::show_log_stats(&c, s.mods.verbose));
    Ok(())
}

pub fn print_log_stats(s: &mut Manager, _: &str) -> Result<(), String> {
    let c = log_counters(s)?;
    // openmetrics is for --print-stats only: the log's counters print as tab.
    if s.mods.format == OutputFormat::Markdown {
        return Err(MARKDOWN_IS_FOR_EXPLAIN.into());
    }
    let json = s.mods.format == OutputFormat::Json;
    print!("{}", display::print_log_stats(&c, json));
    Ok(())
}

pub fn trim_dir(s: &mut Manager, dir: &str) -> Result<(), String> {
    let mods = &s.mods;
    if mods.trim_max_size.is_none() && mods.trim_recompress.is_none() {
        return Err("--trim-dir needs --trim-max-size or --trim-recompress".into());
    }
    if let Some(level) = &mods.trim_recompress {
        let level = level.get()?;
        let threads = threads(
            mods.trim_recompress_threads
                .as_ref()
                .or(mods.threads.as_ref()),
        )?;
        let units = s.config.size_units();
        let bar = Bar::new("--trim-recompress");
        let report =
            recompress::recompress_dir(std::path::Path::new(dir), level, threads, units, &bar);
        // The bar goes before the report is printed.
        drop(bar);
        print!("{}", report?);
    }
    let Some(max) = &mods.trim_max_size else {
        return Ok(());
    };
    let max_bytes = max.get()?;
    let t = trim::trim(
        std::path::Path::new(dir),
        max_bytes,
        mods.trim_method,
        &Bar::new("--trim-dir"),
    )
    .map_err(|e| format!("trimming {dir}: {e}"))?;
    let units = size::SizeUnits::of(&max.text);
    println!(
        "Removed {} of {} files ({} of {}) from {dir}",
        t.files_removed,
        t.files_before,
        units.format(t.bytes_removed),
        units.format(t.bytes_before)
    );
    Ok(())
}

/// The threads a `--…-threads` value gives; one per CPU when not given.
fn threads(given: Option<&Parsed<usize>>) -> Result<usize, String> {
    match given {
        Some(n) => n.get(),
        None => recompress::parse_threads(None),
    }
}

pub fn show_compression(s: &mut Manager, _: &str) -> Result<(), String> {
    print!(
        "{}",
        entries::show_compression(&s.config.cache_dir, s.config.size_units())?
    );
    Ok(())
}

pub fn recompress(s: &mut Manager, level: &str) -> Result<(), String> {
    let level = recompress::parse_level(level).map_err(|e| format!("-X: {e}"))?;
    let mods = &s.mods;
    let threads = threads(mods.recompress_threads.as_ref().or(mods.threads.as_ref()))?;
    let (dir, units) = (&s.config.cache_dir, s.config.size_units());
    let max_kib = s.config.max_size_kib();
    let report = recompress::recompress(dir, max_kib, level, threads, units, &Bar::new("-X"))?;
    print!("{report}");
    Ok(())
}

pub fn hash_file(_: &mut Manager, path: &str) -> Result<(), String> {
    println!("{}", entries::hash_file(path)?);
    Ok(())
}

pub fn checksum_file(_: &mut Manager, path: &str) -> Result<(), String> {
    println!("{}", entries::hash_file(path)?);
    Ok(())
}

pub fn inspect(_: &mut Manager, path: &str) -> Result<(), String> {
    print!("{}", entries::inspect(path)?);
    Ok(())
}

pub fn extract_result(_: &mut Manager, path: &str) -> Result<(), String> {
    let cwd = std::env::current_dir().map_err(|e| format!("the current directory: {e}"))?;
    for name in entries::extract_result(path, &cwd)? {
        println!("Wrote {name}");
    }
    Ok(())
}

pub fn zero_stats(s: &mut Manager, _: &str) -> Result<(), String> {
    stats::zero(&s.config.cache_dir)
        .map_err(|e| format!("zeroing statistics in {}: {e}", s.cache_dir()))?;
    println!("Statistics zeroed");
    Ok(())
}

/// `--explain [OUTPUT]`: why OUTPUT's last compile missed, or the latest misses.
pub fn explain(s: &mut Manager, output: &str) -> Result<(), String> {
    let cwd = crate::paths::current_dir()
        .map(|d| d.apparent)
        .map_err(|e| format!("working directory: {e}"))?;
    let at = misses::Asking {
        cwd: &cwd,
        base_dir: s.config.base_dir.as_ref(),
        namespace: &s.config.namespace,
    };
    let cache_dir = &s.config.cache_dir;
    let structured = |zeroed| misses::structured(cache_dir, output, &at, zeroed);
    // Every miss since the counters were zeroed: a CI job's, after its `-z`.
    let zeroed = || {
        let totals = output.is_empty().then(|| stats::read_total(cache_dir));
        let secs = totals.map_or(0, |t| t.get(stats::Counter::StatsZeroedTimestamp));
        match secs {
            0 => 0,
            secs => stats::zeroed_ns(cache_dir, secs),
        }
    };
    match s.mods.format {
        OutputFormat::Tab => print!("{}", misses::report(cache_dir, output, &at, zeroed())?),
        OutputFormat::Json => print!("{}", miss_report::json(&structured(zeroed())?)),
        OutputFormat::Markdown => {
            print!("{}", miss_report::markdown(&structured(zeroed())?, &cwd))
        }
        OutputFormat::OpenMetrics => {
            return Err("--explain: --format openmetrics is for --print-stats".into())
        }
    }
    Ok(())
}

/// `--check-hit-rate MIN`: for a CI job's last step, after `-z` at its start.
pub fn check_hit_rate(s: &mut Manager, min: &str) -> Result<(), String> {
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
    let errors = totals.get(stats::Counter::RemoteStorageError);
    let timeouts = totals.get(stats::Counter::RemoteStorageTimeout);
    if errors > 0 || timeouts > 0 {
        // The build ran without (part of) its shared cache: whatever the
        // rate, the next one may not be so lucky.
        let notices = s.take_remote_notices();
        let last = notices.first().map_or(String::new(), |n| format!("; {n}"));
        return Err(format!(
            "remote storage failed since the counters were zeroed ({errors} errors, \
             {timeouts} timeouts){last}; {summary}"
        ));
    }
    if rate + 1e-9 < wanted {
        return Err(format!(
            "{summary} is below {wanted}%; `objcache --explain` says why calls missed"
        ));
    }
    println!("{summary}, at least {wanted}%");
    Ok(())
}

/// `--check-remote`: each configured backend, with a probe entry.
pub fn check_remote(s: &mut Manager, _: &str) -> Result<(), String> {
    // It says for itself what works now.
    s.take_remote_notices();
    remote_check::check_remote(&s.config)
}

pub fn clear(s: &mut Manager, _: &str) -> Result<(), String> {
    let all = cleanup::Selection {
        older_than_secs: None,
        namespace: None,
    };
    let dry = s.mods.dry_run;
    let swept = cleanup::evict_selected(&s.config.cache_dir, &all, dry, &mut Bar::new("-C"))
        .map_err(|e| format!("clearing {}: {e}", s.cache_dir()))?;
    // Each level-1 directory emptied is a cleanup, as ccache counts them.
    if swept.dirs > 0 && !dry {
        let cleanups = [(stats::Counter::CleanupsPerformed, swept.dirs as i64)];
        stats::update(&s.config.cache_dir, 0, "", &cleanups)
            .map_err(|e| format!("counting the cleanup in {}: {e}", s.cache_dir()))?;
    }
    let what = if dry {
        "Would remove"
    } else {
        "Cleared cache: removed"
    };
    report_swept(s.config.size_units(), what, swept)
}

/// `--check`: the entries and the stats files.
pub fn check(s: &mut Manager, _: &str) -> Result<(), String> {
    // The stats files first: walking the entries rewrites them.
    let problems = stats::check_shards(&s.config.cache_dir);
    let (checked, removed) = cleanup::check_all(&s.config.cache_dir, &mut Bar::new("--check"))
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

pub fn cleanup(s: &mut Manager, _: &str) -> Result<(), String> {
    let limits = cleanup::Limits::from_config(&s.config);
    let swept = cleanup::full_cleanup(&s.config.cache_dir, &limits, &mut Bar::new("-c"))
        .map_err(|e| format!("cleaning up {}: {e}", s.cache_dir()))?;
    report_swept(s.config.size_units(), "Cleaned up cache: removed", swept)
}

/// Removes what the last `--evict-older-than` and the last
/// `--evict-namespace` select, both at once.
pub fn evict(s: &mut Manager, _: &str) -> Result<(), String> {
    if std::mem::replace(&mut s.evicted, true) {
        return Ok(());
    }
    let older_than_secs = s
        .mods
        .evict_older_than
        .as_ref()
        .map(Parsed::get)
        .transpose()?;
    let selection = cleanup::Selection {
        older_than_secs,
        namespace: s.mods.evict_namespace.as_deref(),
    };
    let dry = s.mods.dry_run;
    let swept = cleanup::evict_selected(
        &s.config.cache_dir,
        &selection,
        dry,
        &mut Bar::new("--evict"),
    )
    .map_err(|e| format!("evicting from {}: {e}", s.cache_dir()))?;
    report_swept(
        s.config.size_units(),
        if dry { "Would remove" } else { "Removed" },
        swept,
    )
}

fn collect_usage(s: &Manager, option: &'static str) -> Result<usage::Usage, String> {
    let limits = cleanup::Limits::from_config(&s.config);
    usage::collect(&s.config.cache_dir, &limits, &mut Bar::new(option))
        .map_err(|e| format!("reading {}: {e}", s.cache_dir()))
}

pub fn show_usage(s: &mut Manager, _: &str) -> Result<(), String> {
    print!("{}", usage::show(&collect_usage(s, "--show-usage")?));
    Ok(())
}

pub fn print_usage(s: &mut Manager, _: &str) -> Result<(), String> {
    print!("{}", usage::print(&collect_usage(s, "--print-usage")?));
    Ok(())
}

pub fn max_size(s: &mut Manager, value: &str) -> Result<(), String> {
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

pub fn max_files(s: &mut Manager, value: &str) -> Result<(), String> {
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

pub fn set_config(s: &mut Manager, kv: &str) -> Result<(), String> {
    let (k, v) = kv
        .split_once('=')
        .ok_or_else(|| format!("-o: expected KEY=VALUE, got \"{kv}\""))?;
    s.set(k.trim(), v.trim())?;
    s.reload()
}

pub fn get_config(s: &mut Manager, key: &str) -> Result<(), String> {
    let v = s
        .config
        .get(key)
        .ok_or_else(|| format!("unknown configuration option \"{key}\""))?;
    println!("{v}");
    Ok(())
}

pub fn show_config(s: &mut Manager, _: &str) -> Result<(), String> {
    for (key, value, origin) in s.config.entries() {
        println!("({origin}) {key} = {value}");
    }
    Ok(())
}

/// Prints what a walk removed; fails if it had to leave buckets alone.
fn report_swept(units: size::SizeUnits, what: &str, swept: cleanup::Swept) -> Result<(), String> {
    let inputs = match swept.inputs {
        0 => String::new(),
        n => format!(" and {n} miss inputs"),
    };
    println!(
        "{what} {} files{inputs} ({})",
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

/// `--stop-storage-helpers`: asks every running storage helper of this
/// user to exit: the ones `remote_storage` reaches (`crsh:` sockets too,
/// as ccache does) and any other that objcache or ccache started (the
/// sockets in the user's helper directory). With `-v`, a line for each.
pub fn stop_storage_helpers(s: &mut Manager, _: &str) -> Result<(), String> {
    use crate::remote::helper;
    let specs = crate::remote::parse(&s.config.remote_storage).unwrap_or_default();
    let mut sockets = helper::configured_sockets(&specs);
    sockets.extend(helper::running_sockets());
    sockets.sort();
    sockets.dedup();
    for line in helper::stop(&sockets) {
        if s.mods.verbose > 0 {
            println!("{line}");
        }
    }
    Ok(())
}
