//! One wrapped compile: analyse, hash, serve a hit or compile and store.
//!
//! Whatever goes wrong inside the cache ends in running the real compiler with
//! the user's arguments and passing its output and exit code through; the
//! problem is only counted and logged.

mod checks;
mod dated;
mod debug;
mod fresh;
mod hit;
mod lookup;
mod miss;
mod miss_inputs;
mod session;
mod sloppy;

use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Command;

use crate::compiler;
use crate::config::{Config, Locations};
use crate::log::Log;
use crate::stats::{self, Counter};
use crate::storage::Storage;

/// Why a call is not served from or stored in the cache.
struct Fallback {
    counter: Counter,
    reason: String,
}

fn fallback(counter: Counter, reason: impl Into<String>) -> Fallback {
    Fallback {
        counter,
        reason: reason.into(),
    }
}

impl From<crate::hash::recipe::Unkeyable> for Fallback {
    fn from(u: crate::hash::recipe::Unkeyable) -> Fallback {
        fallback(u.counter, u.reason)
    }
}

struct Session {
    config: Config,
    compiler: compiler::Compiler,
    args: Vec<String>,
    log: Log,
    /// Counter changes, written in one locked update at the end.
    changes: Vec<(Counter, i64)>,
    shard: u8,
    /// When the call started (ns since the epoch).
    start_ns: i64,
    /// When the call started by the coarse clock file stamps come from,
    /// read before any file's `stat`: what decides whether a stamp is
    /// settled (`clock::stamp_settled`). A miss moves it to just before
    /// the preprocessor or compiler reads anything (`fresh`).
    coarse_start_ns: i64,
    /// What went into the keys and the call's log, for `debug = true`.
    debug: Option<debug::DebugFiles>,
    /// The local store and the remotes, with the policy that governs them.
    storage: Storage,
    /// The compiler's exit code, once it ran and its output was passed on.
    compiled: Option<i32>,
    /// The source's text (`None`: unreadable), read once for every key
    /// that needs it: all of it, or the first part of one whose facts
    /// were recalled (`hash::source::Text`).
    source: Option<crate::hash::source::Text>,
    /// The source as the call names it, once the arguments are analysed
    /// (what a stats_log line names).
    input: Option<String>,
    /// Every key field of the call (see `KeyHasher::take_fields`) and the
    /// headers recorded for direct mode: what a miss is explained by.
    key_fields: Vec<(String, String)>,
    header_fields: Vec<(String, String)>,
    /// Why direct mode matched none of a manifest's records.
    direct_miss: Option<String>,
    /// Why a stored result of this call's key could not serve it.
    unusable_result: Option<&'static str>,
    /// The headers the newest compile recorded in the manifest read: after
    /// a direct miss, one written just before the call is waited for
    /// before the preprocessor reads it (`fresh`).
    known_includes: Vec<String>,
    /// The output a miss is explained for, whose miss inputs it replaces.
    explain_target: Option<miss_inputs::ExplainTarget>,
    /// A miss was counted: explain it when the call is done.
    missed: bool,
    /// What decides `__DATE__`, as first read (`dated`): `None` before.
    date: Option<Option<String>>,
    /// What the keys take from the source's text (`None`: unreadable).
    source_facts: Option<crate::hash::source::SourceFacts>,
    /// The precompiled headers as the common key took them, to be compared
    /// with those after a compile.
    pch_inputs: Vec<crate::hash::recipe::PchInput>,
}

/// Entry point for `objcache COMPILER ARGS…` and for masquerading symlinks.
pub fn run(compiler_name: &str, raw_args: Vec<OsString>) -> i32 {
    run_with_settings(compiler_name, raw_args, Vec::new())
}

/// `objcache KEY=VALUE … COMPILER ARGS…`: the settings override every other
/// source of configuration for this one call, as in ccache 4.8+. An unknown
/// key or a bad value is an error, and nothing is compiled.
pub fn run_with_settings(
    compiler_name: &str,
    raw_args: Vec<OsString>,
    settings: Vec<(String, String)>,
) -> i32 {
    // A file whose mtime or ctime is in the start's timestamp tick or later
    // may have changed while the compiler read it (`clock::stamp_settled`).
    let coarse_start_ns = crate::clock::coarse_now_ns();
    let start_ns = crate::clock::now_ns() as i64;
    // A bug in objcache must not break the build: a panic (from here on,
    // configuration loading included) is counted and the compile goes on
    // without the cache.
    std::panic::set_hook(Box::new(|_| {}));
    let loaded = std::panic::catch_unwind(|| {
        test_panic("config");
        // The settings that decide which directory's ccache.conf is read
        // and what it may set count for loading it.
        let locations = Locations {
            command_line: settings.clone(),
            ..Locations::default()
        };
        Config::load(&locations)
    });
    let Ok((mut config, mut errors)) = loaded else {
        return run_without_config(compiler_name, &raw_args);
    };
    if let Err(code) = apply_settings(&mut config, &settings, &mut errors) {
        return code;
    }
    let started = (start_ns, coarse_start_ns);
    let mut session = match start(config, &errors, compiler_name, &raw_args, started) {
        Ok(session) => session,
        Err(code) => return code,
    };
    let code = compile_guarded(&mut session);
    let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.finish()));
    if finished.is_err() {
        // The statistics are what failed: nothing left to count in.
        session.log.note("internal error while counting the call");
    }
    match code {
        Some(code) => code,
        None => exec_compiler(&session.config, &session.compiler.path, &raw_args),
    }
}

/// Applies the `KEY=VALUE` settings of the command line over `config`;
/// `Err` with the exit code when one is unknown or bad (reported here).
fn apply_settings(
    config: &mut Config,
    settings: &[(String, String)],
    errors: &mut Vec<crate::config::ConfigError>,
) -> Result<(), i32> {
    for (key, value) in settings {
        let checked = if value.contains('\n') {
            Err("a value on the command line is one line".to_string())
        } else {
            crate::config::validate(key, value)
        };
        if let Err(message) = checked {
            let shown = crate::config::shown_setting(key, value);
            eprintln!("objcache: error: {shown}: {message}");
            return Err(1);
        }
        let line = format!("{key} = {value}");
        config.parse_text(&line, Path::new("command line"), errors);
    }
    Ok(())
}

/// Runs the session's compile, catching a panic: the exit code to return,
/// or `None` when the compiler must still run without the cache. Whatever
/// went wrong is counted and logged.
fn compile_guarded(session: &mut Session) -> Option<i32> {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.compile()));
    match outcome {
        Ok(Ok(code)) => {
            // The compile is done and its output passed on: a bug in
            // explaining the miss must not change the call's exit code.
            let explained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                if session.missed {
                    session.explain_miss();
                }
            }));
            if explained.is_err() {
                session.log.note("internal error while explaining the miss");
                session.changes.push((Counter::InternalError, 1));
            }
            Some(code)
        }
        Ok(Err(f)) => {
            session
                .log
                .note(format!("{}: {}", f.counter.name(), f.reason));
            session.changes.push((f.counter, 1));
            None
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            session.log.note(format!("internal error: {what}"));
            session.changes.push((Counter::InternalError, 1));
            // When the compiler already ran, its output went through.
            session.compiled
        }
    }
}

/// The session for a cacheable call, or the exit code of a call that ends
/// here: no compiler found, or the compiler run without the cache (bad
/// configuration, `disable`, arguments that are not UTF-8).
fn start(
    config: Config,
    errors: &[crate::config::ConfigError],
    compiler_name: &str,
    raw_args: &[OsString],
    (start_ns, coarse_start_ns): (i64, i64),
) -> Result<Session, i32> {
    config.apply_umask();
    let log = Log::keeping(config.log_file.clone(), config.debug);
    if let Some(warning) = config.refused_warning() {
        eprintln!("objcache: warning: {warning}");
        log.note(warning);
    }
    if let Some(problem) = config.temporary_dir_problem() {
        log.note(problem);
    }
    let storage = Storage::new(&config, log.clone());
    let path_list = path_list(&config);
    let name = if config.compiler.is_empty() {
        compiler_name
    } else {
        config.compiler.as_str()
    };
    let shard = (std::process::id() % u32::from(stats::SHARDS)) as u8;
    // A call that ends before its session counts one thing.
    let count_one = |counter: Counter| {
        let what = command_line(raw_args);
        count(&config, &log, &storage, shard, &[(counter, 1)], &what);
    };
    let mut compiler = match locate(name, &path_list) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("objcache: error: {message}");
            count_one(Counter::CouldNotFindCompiler);
            return Err(1);
        }
    };
    if let Some(kind) = config.compiler_type {
        compiler.kind = kind;
    }
    if !errors.is_empty() {
        eprintln!(
            "objcache: warning: bad configuration, compiling without the cache: {}",
            crate::config::shown_errors(errors).join("; ")
        );
        count_one(Counter::BadConfig);
        return Err(exec_compiler(&config, &compiler.path, raw_args));
    }
    if config.disable {
        if std::env::var_os(PREFIXED).is_some() {
            // Called again through our own prefix_command (a wrapper that
            // runs the compiler by a name that leads back here): the prefix
            // already ran, and running it again would never end.
            return Err(exec_unprefixed(&compiler.path, raw_args));
        }
        return Err(exec_compiler(&config, &compiler.path, raw_args));
    }
    let Some(args) = raw_args
        .iter()
        .map(|a| a.clone().into_string().ok())
        .collect::<Option<Vec<String>>>()
    else {
        log.note("arguments are not UTF-8; running the compiler uncached");
        count_one(Counter::BadCompilerArguments);
        return Err(exec_compiler(&config, &compiler.path, raw_args));
    };
    log.note(format!(
        "command: {} {}",
        compiler.path.display(),
        args.join(" ")
    ));
    Ok(new_session(
        config,
        (compiler, args),
        (log, storage),
        shard,
        (start_ns, coarse_start_ns),
    ))
}

/// Finds the compiler `name`. A path to objcache itself (a masquerading
/// symlink named by its path, `objcache /usr/lib/ccache/gcc`) stands for
/// the compiler of that name: one level of caching, found further down PATH.
fn locate(name: &str, path_list: &str) -> Result<compiler::Compiler, String> {
    compiler::locate(name, path_list).or_else(|e| {
        match Path::new(name).file_name().and_then(|n| n.to_str()) {
            Some(base) if name.contains('/') && !crate::is_tool_name(base) => {
                compiler::locate(base, path_list)
            }
            _ => Err(e),
        }
    })
}

/// A session for the call of `compiler` with `args`, nothing done yet.
fn new_session(
    config: Config,
    (compiler, args): (compiler::Compiler, Vec<String>),
    (log, storage): (Log, Storage),
    shard: u8,
    (start_ns, coarse_start_ns): (i64, i64),
) -> Session {
    Session {
        config,
        compiler,
        args,
        log,
        changes: Vec::new(),
        shard,
        start_ns,
        coarse_start_ns,
        debug: None,
        storage,
        compiled: None,
        source: None,
        input: None,
        key_fields: Vec::new(),
        header_fields: Vec::new(),
        direct_miss: None,
        unusable_result: None,
        known_includes: Vec::new(),
        date: None,
        source_facts: None,
        explain_target: None,
        missed: false,
        pch_inputs: Vec::new(),
    }
}

/// After a panic while loading the configuration: the compiler found in
/// `PATH` runs with the call's arguments, and the problem is counted in the
/// default cache dir if that works.
fn run_without_config(compiler_name: &str, raw_args: &[OsString]) -> i32 {
    let mut config = Config::default();
    if let Some(dir) = std::env::var_os("CCACHE_DIR").filter(|d| !d.is_empty()) {
        config.cache_dir = dir.into();
    }
    let _ = std::panic::catch_unwind(|| {
        let storage = Storage::new(&config, Log::new(None));
        storage.add_to_stats(0, &[(Counter::InternalError, 1)]);
    });
    let path_list = std::env::var("PATH").unwrap_or_default();
    match compiler::locate(compiler_name, &path_list) {
        Ok(c) => exec_compiler(&config, &c.path, raw_args),
        Err(message) => {
            eprintln!("objcache: error: {message}");
            1
        }
    }
}

/// Lets the tests prove that a bug (a panic) in objcache never breaks a
/// build: `OBJCACHE_INTERNAL_TEST_PANIC=config|start|after-compile|explain|cleanup`.
pub(super) fn test_panic(at: &str) {
    if std::env::var_os("OBJCACHE_INTERNAL_TEST_PANIC").is_some_and(|v| v == at) {
        panic!("OBJCACHE_INTERNAL_TEST_PANIC={at}");
    }
}

/// Records a call's counter changes: with `stats_log`, as ccache does, a
/// `# WHAT` line and the name of each counter the call incremented, and
/// in the cache's statistics (`Storage::add_to_stats`).
fn count(
    config: &Config,
    log: &Log,
    storage: &Storage,
    shard: u8,
    changes: &[(Counter, i64)],
    what: &str,
) {
    if let Some(path) = &config.stats_log {
        if let Err(e) = stats::stats_log::append(path, what, changes) {
            log.note(format!(
                "could not append to stats_log {}: {e}",
                path.display()
            ));
        }
    }
    storage.add_to_stats(shard, changes);
}

/// Set for the commands a prefix_command runs: objcache reached again
/// through them runs the compiler without the prefix.
const PREFIXED: &str = "OBJCACHE_INTERNAL_PREFIXED";

/// The compiler run for preprocessing, as `prefix_command_cpp` says.
fn preprocessor_command(config: &Config, compiler: &compiler::Compiler) -> Command {
    with_prefix(config, &config.prefix_command_cpp, &compiler.path)
}

/// The compiler run as `prefix_command` says.
fn prefixed(config: &Config, compiler: &Path) -> Command {
    with_prefix(config, &config.prefix_command, compiler)
}

/// `program` run through the space-separated prefix commands in `prefix`,
/// as ccache does: `prefix1 prefix2 program`, the first one looked up in the
/// path (never objcache itself) unless it names a path. A first prefix that
/// is not there is fatal, as in ccache: the call fails.
fn with_prefix(config: &Config, prefix: &str, program: &Path) -> Command {
    let mut words = prefix.split(' ').filter(|w| !w.is_empty());
    let mut cmd = match words.next() {
        Some(first) => {
            let found = if first.contains('/') {
                Ok(std::path::PathBuf::from(first))
            } else {
                compiler::locate_program(first, &path_list(config))
            };
            let path = found.unwrap_or_else(|_| {
                eprintln!("objcache: error: prefix command {first}: not found in PATH");
                std::process::exit(1)
            });
            let mut c = Command::new(path);
            c.args(words).arg(program).env(PREFIXED, "1");
            c
        }
        None => Command::new(program),
    };
    // A wrapper further down the chain must not cache this call a second time.
    cmd.env("CCACHE_DISABLE", "1");
    with_user_umask(&mut cmd);
    cmd
}

/// Gives `cmd` (the preprocessor or compiler run for a cached call) a
/// copy of objcache's own stderr, named by `UNCACHED_ERR_FD` as ccache
/// does: what a wrapper such as icecc writes there reaches the user now
/// and is not stored, unlike the stderr objcache captures and replays on
/// hits. The copy is made once and stays open (without close-on-exec) for
/// the children; without a stderr to copy the variable is not set.
fn with_uncached_err(cmd: &mut Command) -> &mut Command {
    static FD: std::sync::OnceLock<Option<i32>> = std::sync::OnceLock::new();
    // SAFETY: dup on a descriptor number; the result is checked.
    let fd =
        *FD.get_or_init(|| Some(unsafe { libc::dup(libc::STDERR_FILENO) }).filter(|&fd| fd >= 0));
    if let Some(fd) = fd {
        cmd.env("UNCACHED_ERR_FD", fd.to_string());
    }
    cmd
}

/// Runs `cmd` with the user's file creation mask: `umask` is for the
/// cache's files, not for the objects and links the compiler writes.
fn with_user_umask(cmd: &mut Command) -> &mut Command {
    if let Some(mask) = crate::files::user_umask() {
        // SAFETY: umask is async-signal-safe and changes only the child.
        unsafe {
            cmd.pre_exec(move || {
                libc::umask(mask as libc::mode_t);
                Ok(())
            });
        }
    }
    cmd
}

/// Where programs are looked up: the `path` key, or else `PATH`.
fn path_list(config: &Config) -> String {
    if config.path.is_empty() {
        std::env::var("PATH").unwrap_or_default()
    } else {
        config.path.clone()
    }
}

/// The call's arguments as text, for a stats_log line.
fn command_line(args: &[OsString]) -> String {
    let words: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
    words.join(" ")
}

/// Replaces this process with the compiler alone, without prefix_command.
fn exec_unprefixed(compiler: &Path, args: &[OsString]) -> i32 {
    let args = compiler::args::without_skip_markers(args);
    let err = with_user_umask(&mut Command::new(compiler))
        .args(args)
        .exec();
    eprintln!(
        "objcache: error: could not run {}: {err}",
        compiler.display()
    );
    127
}

/// Replaces this process with the real compiler: output and exit code are its own.
fn exec_compiler(config: &Config, compiler: &Path, args: &[OsString]) -> i32 {
    let args = compiler::args::without_skip_markers(args);
    let err = prefixed(config, compiler).args(args).exec();
    eprintln!(
        "objcache: error: could not run {}: {err}",
        compiler.display()
    );
    127
}

impl Session {
    /// Cleans up if need be and counts the call. Runs after the compiler's
    /// output went through: a panic here (a bug, or numbers in a stats
    /// file no code foresaw) is counted, never passed on to the build.
    fn finish(&mut self) {
        if self.storage.wrote_locally() {
            let storage = &self.storage;
            let cleaned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                test_panic("cleanup");
                storage.clean_up();
            }));
            if cleaned.is_err() {
                self.log.note("internal error in the cleanup");
                self.changes.push((Counter::InternalError, 1));
            }
        }
        self.tell_remote_trouble();
        let mut changes = std::mem::take(&mut self.changes);
        changes.extend(self.storage.take_changes());
        let what = self.input.clone().unwrap_or_else(|| self.args.join(" "));
        note_results(&self.log, &changes);
        count(
            &self.config,
            &self.log,
            &self.storage,
            self.shard,
            &changes,
            &what,
        );
        let took_us = (crate::clock::now_ns() as i64 - self.start_ns) / 1000;
        self.log.note(format!(
            "done in {}.{:03} ms",
            took_us / 1000,
            took_us % 1000
        ));
        if let Some(files) = self.debug.take().or_else(|| uncached_debug_files(self)) {
            files.write(&self.log);
        }
        self.log.flush();
    }
}

impl Session {
    /// A remote that could not be used is remembered in the cache dir for
    /// the manager to show; a build on a terminal is told once. Where
    /// stderr is no terminal it may be a configure check's, compared with
    /// a plain compile's: nothing is said there.
    fn tell_remote_trouble(&mut self) {
        // SAFETY: isatty only inspects the descriptor.
        let terminal = || unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
        if let Some(line) = self.storage.record_remote_outcome(terminal) {
            self.log.note(&line);
            eprintln!("{line}");
        }
    }
}

/// With `debug`, the debug files of a call that ended before its
/// arguments were analysed (one objcache does not cache, such as
/// `-save-temps`): its log at least, named after the object the call
/// writes, as ccache leaves one.
fn uncached_debug_files(session: &Session) -> Option<debug::DebugFiles> {
    if !session.config.debug {
        return None;
    }
    let output = debug::guessed_output(&session.args)?;
    let dirs = crate::paths::current_dir().ok()?;
    debug::DebugFiles::for_call(&session.config, &output, &dirs, session.start_ns)
}

/// One `Result: COUNTER` line in the log for each counter the call adds
/// to, in name order, as ccache's log has: what scripts and ccache's own
/// tests look for. Counters of the cache's state (its size) are left out.
fn note_results(log: &Log, changes: &[(Counter, i64)]) {
    if !log.enabled() {
        return;
    }
    let mut added = std::collections::BTreeMap::new();
    for (counter, delta) in changes.iter().filter(|(c, _)| !c.is_state()) {
        *added.entry(counter.name()).or_insert(0) += delta;
    }
    for (name, _) in added.iter().filter(|(_, delta)| **delta > 0) {
        log.note(format!("Result: {name}"));
    }
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}
