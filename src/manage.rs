//! The cache manager: `objcache -s`, `-z`, `-M 10G`, `-p` … with ccache's
//! option names and meanings. Options run in the order given, as in ccache.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::config::{self, size, Config, Locations};
use crate::stats::{self, display};
use crate::store::{cleanup, usage};

fn command() -> Command {
    let flag = |id: &'static str, short: Option<char>, long: &'static str, help: &'static str| {
        let a = Arg::new(id).long(long).help(help).action(ArgAction::Count);
        match short {
            Some(c) => a.short(c),
            None => a,
        }
    };
    let value = |id: &'static str,
                 short: Option<char>,
                 long: &'static str,
                 name: &'static str,
                 help: &'static str| {
        let a = Arg::new(id)
            .long(long)
            .value_name(name)
            .help(help)
            .action(ArgAction::Append);
        match short {
            Some(c) => a.short(c),
            None => a,
        }
    };
    Command::new("objcache")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A fast, ccache-compatible compiler cache.")
        .override_usage(
            "objcache [OPTIONS]\n       objcache COMPILER [COMPILER OPTIONS]\n       COMPILER [COMPILER OPTIONS]   (via a symlink named like the compiler)",
        )
        .disable_version_flag(true)
        .disable_help_flag(true)
        .arg(value("config_path", None, "config-path", "PATH", "operate on configuration file PATH instead of the default"))
        .arg(value("dir", Some('d'), "dir", "PATH", "operate on cache directory PATH instead of the default"))
        .arg(flag("cleanup", Some('c'), "cleanup", "delete old files and recalculate size counters (enforces max_size, max_files, max_age)"))
        .arg(flag("clear", Some('C'), "clear", "clear the cache completely (except configuration)"))
        .arg(flag("check", None, "check", "verify every cache entry (checksum, key, format) and remove the bad ones (objcache only)"))
        .arg(value("evict_older_than", None, "evict-older-than", "AGE", "remove files not used for AGE (30m, 12h, 2d, 3600s)"))
        .arg(value("evict_namespace", None, "evict-namespace", "NAME", "remove files stored with namespace NAME"))
        .arg(flag("dry_run", None, "dry-run", "with --evict-older-than, --evict-namespace or -C: report what would be removed, remove nothing"))
        .arg(flag("show_usage", None, "show-usage", "show what the cache holds by kind, namespace and last use, and what cleanups would free"))
        .arg(flag("print_usage", None, "print-usage", "the same as --show-usage, machine-readable (name<TAB>value)"))
        .arg(value("max_files", Some('F'), "max-files", "NUM", "set maximum number of files in cache to NUM (use 0 for no limit)"))
        .arg(value("max_size", Some('M'), "max-size", "SIZE", "set maximum size of cache to SIZE (use 0 for no limit); suffixes k, M, G, T (decimal), Ki, Mi, Gi, Ti (binary); default G"))
        .arg(value("get_config", Some('k'), "get-config", "KEY", "print the value of configuration key KEY"))
        .arg(value("set_config", Some('o'), "set-config", "KEY=VAL", "set configuration item KEY to value VAL"))
        .arg(flag("show_config", Some('p'), "show-config", "show current configuration options in human-readable format"))
        .arg(flag("print_stats", None, "print-stats", "print statistics counter IDs and values in machine-parsable format"))
        .arg(flag("show_stats", Some('s'), "show-stats", "show summary of configuration and statistics counters in human-readable format"))
        .arg(flag("verbose", Some('v'), "verbose", "increase verbosity of -s"))
        .arg(flag("zero_stats", Some('z'), "zero-stats", "zero statistics counters"))
        .arg(flag("help", Some('h'), "help", "print this help text"))
        .arg(flag("version", Some('V'), "version", "print version and copyright information"))
}

/// Runs the manager with `args` (without the program name); returns the exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    let mut cmd = command();
    let matches = match cmd
        .try_get_matches_from_mut(std::iter::once(OsString::from("objcache")).chain(args))
    {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    if flag(&matches, "help") {
        print!("{}", cmd.render_help());
        return 0;
    }
    if flag(&matches, "version") {
        println!("objcache version {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    match execute(&matches) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("objcache: error: {message}");
            1
        }
    }
}

fn flag(m: &ArgMatches, id: &str) -> bool {
    m.get_count(id) > 0
}

/// The last value given for an option (`--dir`, `--config-path`, modifiers).
fn last(m: &ArgMatches, id: &str) -> Option<String> {
    m.get_many::<String>(id)
        .and_then(|mut v| v.next_back().cloned())
}

/// The actions given, in command-line order, each with its value; an option
/// given twice runs twice, as in ccache (`-o a=1 -o b=2`).
fn ordered_actions(m: &ArgMatches) -> Vec<(&'static str, Option<String>)> {
    const ACTIONS: &[&str] = &[
        "cleanup",
        "check",
        "clear",
        "evict_older_than",
        "evict_namespace",
        "max_files",
        "max_size",
        "get_config",
        "set_config",
        "show_config",
        "print_stats",
        "show_stats",
        "zero_stats",
        "show_usage",
        "print_usage",
    ];
    let mut found: Vec<(usize, &'static str, Option<String>)> = Vec::new();
    for &id in ACTIONS {
        if m.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
            continue;
        }
        let Some(indices) = m.indices_of(id) else {
            continue;
        };
        let values: Vec<Option<String>> = match m.try_get_many::<String>(id) {
            Ok(Some(v)) => v.cloned().map(Some).collect(),
            _ => Vec::new(),
        };
        for (n, i) in indices.enumerate() {
            found.push((i, id, values.get(n).cloned().flatten()));
        }
    }
    found.sort_by_key(|(i, _, _)| *i);
    // --evict-older-than and --evict-namespace together are one eviction.
    let mut evicting = false;
    found
        .into_iter()
        .filter_map(|(_, id, v)| {
            if id == "evict_older_than" || id == "evict_namespace" {
                if evicting {
                    return None;
                }
                evicting = true;
                return Some(("evict", None));
            }
            Some((id, v))
        })
        .collect()
}

fn load(locations: &Locations) -> Result<Config, String> {
    let (config, errors) = Config::load(locations);
    match errors.first() {
        None => Ok(config),
        Some(_) => Err(errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\nobjcache: error: ")),
    }
}

fn execute(m: &ArgMatches) -> Result<(), String> {
    let locations = Locations {
        cache_dir_override: last(m, "dir").map(PathBuf::from),
        config_path_override: last(m, "config_path").map(PathBuf::from),
    };
    let actions = ordered_actions(m);
    if actions.is_empty() {
        return Err("no action given; see objcache --help".into());
    }
    let mut config = load(&locations)?;
    config.apply_umask();
    for (action, value) in actions {
        let value = value.unwrap_or_default();
        match action {
            "show_stats" => {
                let totals = stats::read_total(&config.cache_dir);
                let cache_dir = config.cache_dir.display().to_string();
                let config_file = config.primary_config_path.display().to_string();
                let system = config
                    .system_config_path
                    .as_ref()
                    .map(|p| p.display().to_string());
                print!(
                    "{}",
                    display::show_stats(
                        &totals,
                        &display::ShowContext {
                            cache_dir: &cache_dir,
                            config_file: &config_file,
                            system_config_file: system.as_deref(),
                            max_size_bytes: config.max_size_bytes(),
                            max_files: config.max_files,
                            verbose: flag(m, "verbose"),
                        }
                    )
                );
            }
            "print_stats" => {
                let totals = stats::read_total(&config.cache_dir);
                print!(
                    "{}",
                    display::print_stats(&totals, config.max_size_bytes(), config.max_files)
                );
            }
            "zero_stats" => {
                stats::zero(&config.cache_dir).map_err(|e| {
                    format!("zeroing statistics in {}: {e}", config.cache_dir.display())
                })?;
                println!("Statistics zeroed");
            }
            "clear" => {
                let all = cleanup::Selection {
                    older_than_secs: None,
                    namespace: None,
                };
                let dry = flag(m, "dry_run");
                let swept = cleanup::evict_selected(&config.cache_dir, &all, dry)
                    .map_err(|e| format!("clearing {}: {e}", config.cache_dir.display()))?;
                report_swept(
                    if dry {
                        "Would remove"
                    } else {
                        "Cleared cache: removed"
                    },
                    swept,
                );
            }
            "check" => {
                let (checked, removed) = cleanup::check_all(&config.cache_dir)
                    .map_err(|e| format!("checking {}: {e}", config.cache_dir.display()))?;
                println!("Checked {checked} entries");
                report_swept("Removed bad entries:", removed);
            }
            "cleanup" => {
                let limits = cleanup::Limits::from_config(&config);
                let swept = cleanup::full_cleanup(&config.cache_dir, &limits)
                    .map_err(|e| format!("cleaning up {}: {e}", config.cache_dir.display()))?;
                report_swept("Cleaned up cache: removed", swept);
            }
            "evict" => {
                let namespace = last(m, "evict_namespace");
                let older_than_secs = last(m, "evict_older_than")
                    .map(|a| size::parse_age(&a))
                    .transpose()
                    .map_err(|e| format!("--evict-older-than: {e}"))?;
                let selection = cleanup::Selection {
                    older_than_secs,
                    namespace: namespace.as_deref(),
                };
                let dry = flag(m, "dry_run");
                let swept = cleanup::evict_selected(&config.cache_dir, &selection, dry)
                    .map_err(|e| format!("evicting from {}: {e}", config.cache_dir.display()))?;
                report_swept(if dry { "Would remove" } else { "Removed" }, swept);
            }
            "show_usage" | "print_usage" => {
                let limits = cleanup::Limits::from_config(&config);
                let u = usage::collect(&config.cache_dir, &limits)
                    .map_err(|e| format!("reading {}: {e}", config.cache_dir.display()))?;
                if action == "show_usage" {
                    print!("{}", usage::show(&u));
                } else {
                    print!("{}", usage::print(&u));
                }
            }
            "max_size" => {
                let v = &value;
                set(&config, "max_size", v.trim())?;
                let bytes = if v.trim().ends_with('%') {
                    1
                } else {
                    size::parse_size(v).map_err(|e| format!("-M: {e}"))?
                };
                if v.trim().ends_with('%') {
                    println!("Set cache size limit to {} of the file system", v.trim());
                } else if bytes == 0 {
                    println!("Unset cache size limit");
                } else {
                    println!("Set cache size limit to {}", size::format_size(bytes));
                }
                config = load(&locations)?;
            }
            "max_files" => {
                let v = &value;
                let n: u64 = v
                    .parse()
                    .map_err(|_| format!("-F: invalid number \"{v}\""))?;
                set(&config, "max_files", &n.to_string())?;
                if n == 0 {
                    println!("Unset cache file limit");
                } else {
                    println!("Set cache file limit to {n}");
                }
                config = load(&locations)?;
            }
            "set_config" => {
                let kv = &value;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("-o: expected KEY=VALUE, got \"{kv}\""))?;
                set(&config, k.trim(), v.trim())?;
                config = load(&locations)?;
            }
            "get_config" => {
                let k = &value;
                let v = config
                    .get(k)
                    .ok_or_else(|| format!("unknown configuration option \"{k}\""))?;
                println!("{v}");
            }
            "show_config" => {
                for (key, value, origin) in config.entries() {
                    println!("({origin}) {key} = {value}");
                }
            }
            _ => unreachable!("unknown action {action}"),
        }
    }
    Ok(())
}

fn set(config: &Config, key: &str, value: &str) -> Result<(), String> {
    config::validate(key, value).map_err(|e| format!("{key}: {e}"))?;
    config::write_setting(&config.primary_config_path, key, value)
        .map_err(|e| format!("writing {}: {e}", config.primary_config_path.display()))
}

fn report_swept(what: &str, swept: cleanup::Swept) {
    println!(
        "{what} {} files ({})",
        swept.files,
        size::format_size(swept.kib * 1024)
    );
}
