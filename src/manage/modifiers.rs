//! What the modifiers (and the eviction options, which every eviction
//! reads) say, as typed fields. Each option of `cli::MANAGER_OPTIONS` that
//! sets one names its setter there; parsing the command line runs the
//! setter once per occurrence, in order, so the last value counts.

use std::path::PathBuf;

use clap::ArgMatches;

use super::cli::{given, MANAGER_OPTIONS};
use super::{recompress, trim};
use crate::config::size;

/// Writes one occurrence's value (empty for a flag) into its field.
pub type Setter = fn(&mut Modifiers, &str);

/// `--format`: how `--print-stats`, `--print-log-stats` and `--explain`
/// print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Tab-separated lines; `--explain`'s plain text.
    #[default]
    Tab,
    Json,
    OpenMetrics,
    /// `--explain` only: a table for a CI job's step summary.
    Markdown,
}

/// A value as given and what it parsed to. A bad value is reported by
/// the action that uses it, so the actions before that one still run and
/// a value no action uses is no error.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed<T> {
    pub text: String,
    value: Result<T, String>,
}

impl<T: Clone> Parsed<T> {
    fn new(long: &str, text: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Parsed<T> {
        Parsed {
            text: text.to_string(),
            value: parse(text).map_err(|e| format!("--{long}: {e}")),
        }
    }

    /// The value, or the error naming the option.
    pub fn get(&self) -> Result<T, String> {
        self.value.clone()
    }
}

/// Everything that changes what the actions do, wherever it stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Modifiers {
    pub cache_dir: Option<PathBuf>,
    pub config_path: Option<PathBuf>,
    pub dry_run: bool,
    pub format: OutputFormat,
    /// `-v` once or twice; more count as twice.
    pub verbose: u8,
    /// `--threads`: for whatever runs in parallel; `None`: one per CPU.
    pub threads: Option<Parsed<usize>>,
    /// Threads for `-X`; `None`: `threads`.
    pub recompress_threads: Option<Parsed<usize>>,
    pub trim_max_size: Option<Parsed<u64>>,
    pub trim_method: trim::Method,
    /// A zstd level, or `None` inside for uncompressed.
    pub trim_recompress: Option<Parsed<Option<i32>>>,
    /// Threads for `--trim-recompress`; `None`: `threads`.
    pub trim_recompress_threads: Option<Parsed<usize>>,
    /// Seconds.
    pub evict_older_than: Option<Parsed<u64>>,
    pub evict_namespace: Option<String>,
}

impl Modifiers {
    /// Runs the setter of every option given, in command-line order per option.
    pub fn from_matches(m: &ArgMatches) -> Modifiers {
        let mut mods = Modifiers::default();
        for opt in MANAGER_OPTIONS.iter().filter(|o| given(m, o)) {
            let Some(set) = opt.set else { continue };
            for value in m.get_many::<String>(opt.long).into_iter().flatten() {
                set(&mut mods, value);
            }
        }
        mods
    }
}

/// The thread count of a value given; the default stays lazy.
fn thread_count(text: &str) -> Result<usize, String> {
    recompress::parse_threads(Some(text))
}

pub fn cache_dir(m: &mut Modifiers, v: &str) {
    m.cache_dir = Some(PathBuf::from(v));
}

pub fn config_path(m: &mut Modifiers, v: &str) {
    m.config_path = Some(PathBuf::from(v));
}

pub fn dry_run(m: &mut Modifiers, _: &str) {
    m.dry_run = true;
}

/// clap admits only the table's choices.
pub fn format(m: &mut Modifiers, v: &str) {
    m.format = match v {
        "json" => OutputFormat::Json,
        "openmetrics" => OutputFormat::OpenMetrics,
        "markdown" => OutputFormat::Markdown,
        _ => OutputFormat::Tab,
    };
}

pub fn verbose(m: &mut Modifiers, _: &str) {
    m.verbose = (m.verbose + 1).min(2);
}

pub fn threads(m: &mut Modifiers, v: &str) {
    m.threads = Some(Parsed::new("threads", v, thread_count));
}

pub fn recompress_threads(m: &mut Modifiers, v: &str) {
    m.recompress_threads = Some(Parsed::new("recompress-threads", v, thread_count));
}

pub fn trim_max_size(m: &mut Modifiers, v: &str) {
    m.trim_max_size = Some(Parsed::new("trim-max-size", v, size::parse_size));
}

/// clap admits only the table's choices.
pub fn trim_method(m: &mut Modifiers, v: &str) {
    if let Ok(method) = trim::Method::parse(v) {
        m.trim_method = method;
    }
}

pub fn trim_recompress(m: &mut Modifiers, v: &str) {
    m.trim_recompress = Some(Parsed::new("trim-recompress", v, recompress::parse_level));
}

pub fn trim_recompress_threads(m: &mut Modifiers, v: &str) {
    m.trim_recompress_threads = Some(Parsed::new("trim-recompress-threads", v, thread_count));
}

pub fn evict_older_than(m: &mut Modifiers, v: &str) {
    m.evict_older_than = Some(Parsed::new("evict-older-than", v, size::parse_age));
}

pub fn evict_namespace(m: &mut Modifiers, v: &str) {
    m.evict_namespace = Some(v.to_string());
}
