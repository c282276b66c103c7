//! Every manager option, defined once as data. The clap `Command` (parsing,
//! `-h`), the man page, the shell completions and the README's option table
//! are all built from [`MANAGER_OPTIONS`], so none of them can name an
//! option the others lack.

use clap::builder::PossibleValuesParser;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

use super::actions::{self, Manager};
use super::generate;
use super::modifiers::{self, Setter};
use super::symlinks;

/// Runs one action with the option's value (empty for a flag).
pub type Handler = fn(&mut Manager, &str) -> Result<(), String>;

/// Answers instead of the actions; gets the option's value (empty for a flag).
pub type Answer = fn(&mut Command, &str) -> Result<(), String>;

/// What an option does on the command line.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Runs where it stands on the command line, after the ones before it.
    Action(Handler),
    /// Changes every action wherever it stands; the last value counts.
    Modifier,
    /// Replaces the whole run (help, version, generated documents); of
    /// several given, the one first in the table answers (`-V -h` helps).
    Info(Answer),
}

/// One manager option.
#[derive(Clone, Copy)]
pub struct Opt {
    /// The long name without `--`; also clap's id for the option.
    pub long: &'static str,
    pub short: Option<char>,
    /// The placeholder for its value; `None` for a flag.
    pub value: Option<&'static str>,
    pub help: &'static str,
    pub kind: Kind,
    /// The only values accepted (none: any value).
    pub choices: &'static [&'static str],
    /// Left out of the help, the man page, the completions and the README.
    pub hidden: bool,
    /// The value may be left out (`--explain` or `--explain OUTPUT`).
    pub optional: bool,
    /// Writes its field of [`modifiers::Modifiers`]: every modifier's, and
    /// the eviction options', whose last values make one eviction.
    pub set: Option<Setter>,
}

impl Opt {
    const fn new(long: &'static str, kind: Kind, help: &'static str) -> Opt {
        Opt {
            long,
            short: None,
            value: None,
            help,
            kind,
            choices: &[],
            hidden: false,
            optional: false,
            set: None,
        }
    }

    const fn action(long: &'static str, run: Handler, help: &'static str) -> Opt {
        Opt::new(long, Kind::Action(run), help)
    }

    const fn modifier(long: &'static str, set: Setter, help: &'static str) -> Opt {
        Opt::new(long, Kind::Modifier, help).sets(set)
    }

    const fn info(long: &'static str, answer: Answer, help: &'static str) -> Opt {
        Opt::new(long, Kind::Info(answer), help)
    }

    const fn sets(self, set: Setter) -> Opt {
        Opt {
            set: Some(set),
            ..self
        }
    }

    const fn short(self, c: char) -> Opt {
        Opt {
            short: Some(c),
            ..self
        }
    }

    const fn value(self, name: &'static str) -> Opt {
        Opt {
            value: Some(name),
            ..self
        }
    }

    /// A value that may be left out; the action then gets "".
    const fn optional_value(self, name: &'static str) -> Opt {
        Opt {
            value: Some(name),
            optional: true,
            ..self
        }
    }

    const fn choices(self, choices: &'static [&'static str]) -> Opt {
        Opt { choices, ..self }
    }

    const fn hidden(self) -> Opt {
        Opt {
            hidden: true,
            ..self
        }
    }

    /// The option as clap parses it. Every occurrence of an option keeps
    /// its position and value (an empty one for a flag), so a repeated
    /// action runs each time it stands, as in ccache: `-s -z -s` shows,
    /// zeroes and shows again, `-o a=1 -o b=2` sets twice.
    fn arg(&self) -> Arg {
        let mut arg = Arg::new(self.long)
            .long(self.long)
            .help(self.help)
            .hide(self.hidden);
        if let Some(c) = self.short {
            arg = arg.short(c);
        }
        match self.value {
            // Every occurrence keeps its position (clap's `Count` keeps only
            // the last), so `-s -z -s` shows, zeroes and shows again.
            None => arg
                .action(ArgAction::Append)
                .num_args(0)
                .default_missing_value(""),
            Some(name) => {
                arg = arg.value_name(name).action(ArgAction::Append);
                if self.optional {
                    arg = arg.num_args(0..=1).default_missing_value("");
                }
                if self.choices.is_empty() {
                    arg
                } else {
                    arg.value_parser(PossibleValuesParser::new(self.choices))
                }
            }
        }
    }
}

/// The manager's options, in the order `-h` lists them.
pub const MANAGER_OPTIONS: &[Opt] = &[
    Opt::modifier(
        "config-path",
        modifiers::config_path,
        "operate on configuration file PATH instead of the default",
    )
    .value("PATH"),
    Opt::modifier(
        "dir",
        modifiers::cache_dir,
        "operate on cache directory PATH instead of the default",
    )
    .short('d')
    .value("PATH"),
    Opt::action(
        "cleanup",
        actions::cleanup,
        "delete old files and recalculate size counters (enforces max_size, max_files, max_age)",
    )
    .short('c'),
    Opt::action(
        "clear",
        actions::clear,
        "clear the cache completely (except configuration)",
    )
    .short('C'),
    Opt::action(
        "check",
        actions::check,
        "verify every cache entry (checksum, key, format) and remove the bad ones; repair damaged stats files (objcache only)",
    ),
    Opt::action(
        "evict-older-than",
        actions::evict,
        "remove files not used for AGE (30m, 12h, 2d, 3600s)",
    )
    .value("AGE")
    .sets(modifiers::evict_older_than),
    Opt::action(
        "evict-namespace",
        actions::evict,
        "remove files stored with namespace NAME",
    )
    .value("NAME")
    .sets(modifiers::evict_namespace),
    Opt::modifier(
        "dry-run",
        modifiers::dry_run,
        "with --evict-older-than, --evict-namespace or -C: report what would be removed, remove nothing",
    ),
    Opt::action(
        "show-usage",
        actions::show_usage,
        "show what the cache holds by kind, namespace and last use, and what cleanups would free",
    ),
    Opt::action(
        "print-usage",
        actions::print_usage,
        "the same as --show-usage, machine-readable (name<TAB>value)",
    ),
    Opt::action(
        "max-files",
        actions::max_files,
        "set maximum number of files in cache to NUM (use 0 for no limit)",
    )
    .short('F')
    .value("NUM"),
    Opt::action(
        "max-size",
        actions::max_size,
        "set maximum size of cache to SIZE (use 0 for no limit); suffixes k, M, G, T (decimal), Ki, Mi, Gi, Ti (binary); no suffix: Gi",
    )
    .short('M')
    .value("SIZE"),
    Opt::action(
        "get-config",
        actions::get_config,
        "print the value of configuration key KEY",
    )
    .short('k')
    .value("KEY"),
    Opt::action(
        "set-config",
        actions::set_config,
        "set configuration item KEY to value VAL",
    )
    .short('o')
    .value("KEY=VAL"),
    Opt::action(
        "show-config",
        actions::show_config,
        "show current configuration options in human-readable format",
    )
    .short('p'),
    Opt::action(
        "print-stats",
        actions::print_stats,
        "print statistics counter IDs and values in machine-parsable format",
    ),
    Opt::action(
        "show-log-stats",
        actions::show_log_stats,
        "show the calls counted in the stats_log file in human-readable format",
    ),
    Opt::action(
        "print-log-stats",
        actions::print_log_stats,
        "print the counters of the stats_log file in machine-parsable format",
    ),
    Opt::modifier(
        "format",
        modifiers::format,
        "with --print-stats and --print-log-stats: tab (name<TAB>value lines, the default) or json; with --print-stats also openmetrics (Prometheus); with --explain: json or markdown (a table for a CI step summary)",
    )
    .value("FORMAT")
    .choices(&["tab", "json", "openmetrics", "markdown"]),
    Opt::action(
        "show-stats",
        actions::show_stats,
        "show summary of configuration and statistics counters in human-readable format",
    )
    .short('s'),
    Opt::modifier(
        "verbose",
        modifiers::verbose,
        "increase verbosity of -s: once shows every counter that is not zero, twice every counter",
    )
    .short('v'),
    Opt::action("zero-stats", actions::zero_stats, "zero statistics counters").short('z'),
    Opt::action(
        "explain",
        actions::explain,
        "say why the last compile of OUTPUT missed and what would fix it; without OUTPUT, the last misses (objcache only)",
    )
    .optional_value("OUTPUT"),
    Opt::action(
        "check-hit-rate",
        actions::check_hit_rate,
        "exit 1, saying why, when the hit rate since the counters were zeroed is below MIN percent (for CI; objcache only)",
    )
    .value("MIN"),
    Opt::action(
        "check-remote",
        actions::check_remote,
        "for each remote storage backend: connect, write, read back and delete a probe entry; one line each with the time it took; exit 1 when one fails or none is configured (objcache only)",
    ),
    Opt::action(
        "show-compression",
        actions::show_compression,
        "show compression statistics of the local cache",
    )
    .short('x'),
    Opt::action(
        "recompress",
        actions::recompress,
        "recompress the local cache's results and manifests at zstd level LEVEL, or store them uncompressed (LEVEL uncompressed)",
    )
    .short('X')
    .value("LEVEL"),
    Opt::modifier(
        "threads",
        modifiers::threads,
        "use up to N threads where work runs in parallel: -X and --trim-recompress (default: one per CPU)",
    )
    .value("N"),
    // ccache 4.13 merged these two into --threads and still accepts them.
    Opt::modifier(
        "recompress-threads",
        modifiers::recompress_threads,
        "with -X: recompress on N threads (default: --threads, or one per CPU)",
    )
    .value("N")
    .hidden(),
    Opt::action(
        "hash-file",
        actions::hash_file,
        "print the hash objcache uses for the content of file PATH (- for stdin)",
    )
    .value("PATH"),
    Opt::action(
        "checksum-file",
        actions::checksum_file,
        "print the checksum of the content of file PATH (- for stdin); BLAKE3, as --hash-file",
    )
    .value("PATH"),
    Opt::action(
        "inspect",
        actions::inspect,
        "print a readable dump of the result entry or manifest file PATH",
    )
    .value("PATH"),
    Opt::action(
        "extract-result",
        actions::extract_result,
        "write the files of result entry PATH into the current directory as ccache-result.o, .d, .stderr …",
    )
    .value("PATH"),
    Opt::action(
        "trim-dir",
        actions::trim_dir,
        "remove the least recently used files of directory PATH (a file: remote storage, not the local cache) until it takes at most --trim-max-size",
    )
    .value("PATH"),
    Opt::modifier(
        "trim-max-size",
        modifiers::trim_max_size,
        "with --trim-dir: the size to trim to (suffixes as for -M)",
    )
    .value("SIZE"),
    Opt::modifier(
        "trim-method",
        modifiers::trim_method,
        "with --trim-dir: order files by last access (atime, the default) or last modification (mtime)",
    )
    .value("METHOD")
    .choices(&["atime", "mtime"]),
    Opt::modifier(
        "trim-recompress",
        modifiers::trim_recompress,
        "with --trim-dir: first recompress the directory's entries at zstd level LEVEL (or uncompressed)",
    )
    .value("LEVEL"),
    Opt::modifier(
        "trim-recompress-threads",
        modifiers::trim_recompress_threads,
        "with --trim-recompress: use N threads (default: --threads, or one per CPU)",
    )
    .value("N")
    .hidden(),
    Opt::action(
        "stop-storage-helpers",
        actions::stop_storage_helpers,
        "stop this user's running storage helpers (ccache-storage-SCHEME processes) now instead of after their idle timeout; with -v, a line for each",
    ),
    Opt::info(
        "install-symlinks",
        symlinks::answer,
        "make a link to objcache in DIR for each compiler in PATH (gcc, g++, cc, c++, clang, clang++, their versioned and cross names), to put DIR first in PATH; run again after installing compilers (objcache only)",
    )
    .value("DIR"),
    Opt::info("help", generate::help, "print this help text").short('h'),
    Opt::info(
        "version",
        generate::version,
        "print the version, the ccache version objcache follows and the features built in",
    )
    .short('V'),
    Opt::info(
        "print-version",
        generate::print_version,
        "print the version number only",
    ),
    Opt::info(
        "generate",
        generate::document,
        "print the man page (man), a shell's completion script (bash, zsh, fish) or the README's option table (markdown)",
    )
    .value("WHAT")
    .choices(generate::DOCUMENTS),
];

/// The parser for the manager's command line, built from
/// [`MANAGER_OPTIONS`]. Only the manager builds it; a wrapped compile never
/// does.
pub fn command() -> Command {
    with_options(MANAGER_OPTIONS.iter())
}

/// The command the man page and the completions describe: without the
/// hidden options, which clap_complete would otherwise offer.
pub fn documented() -> Command {
    with_options(MANAGER_OPTIONS.iter().filter(|o| !o.hidden))
}

fn with_options<'a>(options: impl Iterator<Item = &'a Opt>) -> Command {
    let cmd = Command::new("objcache")
        .version(env!("CARGO_PKG_VERSION"))
        .about("A fast, ccache-compatible compiler cache.")
        .override_usage(
            "objcache [OPTIONS]\n       objcache [KEY=VALUE ...] COMPILER [COMPILER OPTIONS]\n       COMPILER [COMPILER OPTIONS]   (via a symlink named like the compiler)",
        )
        .disable_version_flag(true)
        .disable_help_flag(true)
        // As getopt_long: a long option may be shortened to a prefix that
        // names only it; a whole name always names its own option.
        .infer_long_args(true);
    options.fold(cmd, |cmd, opt| cmd.arg(opt.arg()))
}

/// Whether `opt` was given on the command line (a flag: at least once).
pub fn given(m: &ArgMatches, opt: &Opt) -> bool {
    m.value_source(opt.long) == Some(ValueSource::CommandLine)
}

/// The last value given for `opt` (none for a flag).
pub fn last(m: &ArgMatches, opt: &Opt) -> Option<String> {
    opt.value?;
    m.get_many::<String>(opt.long)
        .and_then(|mut v| v.next_back().cloned())
}

/// One action to run: the option given and its value (empty for a flag).
pub struct Step {
    pub opt: &'static Opt,
    pub value: String,
}

impl Step {
    pub fn run(&self, manager: &mut Manager) -> Result<(), String> {
        match self.opt.kind {
            Kind::Action(run) => run(manager, &self.value),
            // `planned` yields actions only.
            Kind::Modifier | Kind::Info(_) => Ok(()),
        }
    }
}

/// The actions given, in command-line order.
pub fn planned(m: &ArgMatches) -> Vec<Step> {
    let mut found: Vec<(usize, Step)> = Vec::new();
    for opt in MANAGER_OPTIONS {
        if !matches!(opt.kind, Kind::Action(_)) {
            continue;
        }
        let Some(indices) = m.indices_of(opt.long).filter(|_| given(m, opt)) else {
            continue;
        };
        let mut values = opt
            .value
            .and_then(|_| m.get_many::<String>(opt.long))
            .into_iter()
            .flatten();
        for i in indices {
            let value = values.next().cloned().unwrap_or_default();
            found.push((i, Step { opt, value }));
        }
    }
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, step)| step).collect()
}
