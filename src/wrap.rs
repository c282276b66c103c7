//! One wrapped compile: analyse, hash, serve a hit or compile and store.
//!
//! Whatever goes wrong inside the cache ends in running the real compiler with
//! the user's arguments and passing its output and exit code through; the
//! problem is only counted and logged.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::compiler;
use crate::compiler::args::{self, ArgsAnalysis};
use crate::config::{Config, Locations};
use crate::depfile::DepRecord;
use crate::hash::{preprocessor, Key, KeyHasher};
use crate::log::Log;
use crate::paths;
use crate::stats::{self, Counter};
use crate::store::entry::{FileKind, ResultEntry};
use crate::store::{self, LocalStore};

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

struct Session {
    config: Config,
    compiler: PathBuf,
    args: Vec<String>,
    log: Log,
    /// Counter changes, written in one locked update at the end.
    changes: Vec<(Counter, i64)>,
    shard: u8,
}

/// Entry point for `objcache COMPILER ARGS…` and for masquerading symlinks.
pub fn run(compiler_name: &str, raw_args: Vec<OsString>) -> i32 {
    let (config, errors) = Config::load(&Locations::default());
    if let Some(mask) = config.umask {
        // SAFETY: umask only changes this process's file creation mask.
        unsafe {
            libc::umask(mask as libc::mode_t);
        }
    }
    let mut log = Log::new(config.log_file.clone());
    let path_list = if config.path.is_empty() {
        std::env::var("PATH").unwrap_or_default()
    } else {
        config.path.clone()
    };
    let name = if config.compiler.is_empty() {
        compiler_name
    } else {
        config.compiler.as_str()
    };
    let shard = (std::process::id() % u32::from(stats::SHARDS)) as u8;
    let compiler = match compiler::locate(name, &path_list) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("objcache: error: {message}");
            count(
                &config,
                &mut log,
                shard,
                &[(Counter::CouldNotFindCompiler, 1)],
            );
            return 1;
        }
    };
    if !errors.is_empty() {
        let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        eprintln!(
            "objcache: warning: bad configuration, compiling without the cache: {}",
            all.join("; ")
        );
        count(&config, &mut log, shard, &[(Counter::BadConfig, 1)]);
        return exec_compiler(&config, &compiler, &raw_args);
    }
    if config.disable {
        return exec_compiler(&config, &compiler, &raw_args);
    }
    let Some(args) = raw_args
        .iter()
        .map(|a| a.clone().into_string().ok())
        .collect::<Option<Vec<String>>>()
    else {
        log.note("arguments are not UTF-8; running the compiler uncached");
        count(
            &config,
            &mut log,
            shard,
            &[(Counter::BadCompilerArguments, 1)],
        );
        return exec_compiler(&config, &compiler, &raw_args);
    };
    log.note(format!(
        "command: {} {}",
        compiler.display(),
        args.join(" ")
    ));
    let mut session = Session {
        config,
        compiler,
        args,
        log,
        changes: Vec::new(),
        shard,
    };
    match session.compile() {
        Ok(code) => {
            session.finish();
            code
        }
        Err(f) => {
            session
                .log
                .note(format!("{}: {}", f.counter.name(), f.reason));
            session.changes.push((f.counter, 1));
            session.finish();
            exec_compiler(&session.config, &session.compiler, &raw_args)
        }
    }
}

fn count(config: &Config, log: &mut Log, shard: u8, changes: &[(Counter, i64)]) {
    if !config.stats || changes.is_empty() {
        return;
    }
    if let Err(e) = stats::update(&config.cache_dir, shard, changes) {
        log.note(format!(
            "could not update statistics in {}: {e}",
            config.cache_dir.display()
        ));
    }
}

fn prefixed(config: &Config, compiler: &Path) -> Command {
    let mut words = config.prefix_command.split_whitespace();
    let mut cmd = match words.next() {
        Some(first) => {
            let mut c = Command::new(first);
            c.args(words).arg(compiler);
            c
        }
        None => Command::new(compiler),
    };
    // A wrapper further down the chain must not cache this call a second time.
    cmd.env("CCACHE_DISABLE", "1");
    cmd
}

/// Replaces this process with the real compiler: output and exit code are its own.
fn exec_compiler(config: &Config, compiler: &Path, args: &[OsString]) -> i32 {
    let err = prefixed(config, compiler).args(args).exec();
    eprintln!(
        "objcache: error: could not run {}: {err}",
        compiler.display()
    );
    127
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

impl Session {
    fn finish(&mut self) {
        let changes = std::mem::take(&mut self.changes);
        count(&self.config, &mut self.log, self.shard, &changes);
        self.log.flush();
    }

    fn compile(&mut self) -> Result<i32, Fallback> {
        let cwd = paths::current_dir()
            .map_err(|e| fallback(Counter::InternalError, format!("working directory: {e}")))?;
        let expanded = args::expand_response_files(&self.args, Path::new(&cwd));
        let analysis =
            args::analyse(&expanded).map_err(|c| fallback(c, "the call cannot be cached"))?;
        let key = self.compute_key(&analysis, &cwd)?;
        self.shard = LocalStore::shard_of(&key);
        self.log.note(format!("result key {}", key.to_hex()));
        let store = LocalStore::new(&self.config.cache_dir);

        if self.config.recache {
            self.log.note("recache: not looking up the cache");
        } else if let Some(code) = self.try_hit(&store, &key, &analysis, &cwd)? {
            return Ok(code);
        }
        self.compile_and_store(&store, &key, &analysis, &cwd)
    }

    fn compute_key(&mut self, a: &ArgsAnalysis, cwd: &str) -> Result<Key, Fallback> {
        let config = &self.config;
        let base_dir = config.base_dir.as_deref();
        let mut h = KeyHasher::new(config.debug);
        compiler::hash_identity(
            &mut h,
            &self.compiler,
            &config.compiler_check,
            &config.cache_dir,
        )
        .map_err(|e| fallback(Counter::CompilerCheckFailed, e))?;
        if !config.namespace.is_empty() {
            h.field("namespace", config.namespace.as_bytes());
        }
        for arg in &a.hash_args {
            h.field(
                "arg",
                paths::hash_form_of_arg(arg, cwd, base_dir).as_bytes(),
            );
        }
        h.field("language", a.language.name().as_bytes());
        if config.hash_dir && a.debug_info {
            h.field("cwd", cwd.as_bytes());
        }
        // The language of diagnostics, which are replayed on a hit.
        for var in ["LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES"] {
            let value = std::env::var_os(var).unwrap_or_default();
            h.field(var, value.as_encoded_bytes());
        }
        for file in &a.extra_files {
            let digest = crate::hash::hash_file_content(Path::new(file))
                .map_err(|e| fallback(Counter::ErrorHashingExtraFile, format!("{file}: {e}")))?;
            h.field("extra-file", &digest);
        }
        if a.native_cpu {
            h.field("cpu", cpu_identity().as_bytes());
        }
        if a.language.is_preprocessed() {
            let content = std::fs::read(&a.input)
                .map_err(|e| fallback(Counter::InternalError, format!("{}: {e}", a.input)))?;
            h.field("preprocessed", &content);
        } else {
            let mut cmd = Command::new(&self.compiler);
            cmd.args(&a.preprocessor_args)
                .arg("-E")
                .env("CCACHE_DISABLE", "1")
                .stdin(Stdio::null());
            let out = cmd.output().map_err(|e| {
                fallback(
                    Counter::PreprocessorError,
                    format!("running the preprocessor: {e}"),
                )
            })?;
            if !out.status.success() {
                return Err(fallback(
                    Counter::PreprocessorError,
                    "the preprocessor failed",
                ));
            }
            preprocessor::hash_preprocessed(&mut h, &out.stdout, cwd, base_dir);
        }
        let (key, transcript) = h.finish();
        if let Some(text) = transcript {
            let path = format!("{}.objcache-input-text", a.output);
            if let Err(e) = std::fs::write(&path, text) {
                self.log.note(format!("debug: could not write {path}: {e}"));
            }
        }
        Ok(key)
    }

    /// Serves the call from the cache when a valid entry exists; `Ok(None)` is a miss.
    fn try_hit(
        &mut self,
        store: &LocalStore,
        key: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Option<i32>, Fallback> {
        let bytes = match store.get(key) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.log
                    .note(format!("reading {}: {e}", store.result_path(key).display()));
                return Ok(None);
            }
        };
        let entry = match ResultEntry::decode(&bytes, key) {
            Ok(entry) => entry,
            Err(why) => {
                self.log.note(format!(
                    "corrupt entry {} ({why}): removed, compiling",
                    store.result_path(key).display()
                ));
                self.changes.push((Counter::CorruptCacheEntry, 1));
                if !self.config.read_only {
                    let removed = store.remove(key);
                    self.changes.extend(removed);
                }
                return Ok(None);
            }
        };
        let Some(object) = entry.get(FileKind::Object) else {
            self.changes.push((Counter::CorruptCacheEntry, 1));
            return Ok(None);
        };
        let dep_file = match &a.deps {
            None => None,
            Some(d) => {
                let rendered = entry
                    .get(FileKind::Dependency)
                    .and_then(DepRecord::decode)
                    .and_then(|r| r.render(cwd, &d.targets, self.config.base_dir.as_deref()));
                match rendered {
                    Some(body) => Some((d.file.as_str(), body)),
                    None => {
                        self.log
                            .note("the stored dependency file does not fit this call");
                        return Ok(None);
                    }
                }
            }
        };
        store::atomic_write(Path::new(&a.output), object)
            .map_err(|e| fallback(Counter::BadOutputFile, format!("writing {}: {e}", a.output)))?;
        if let Some((path, body)) = dep_file {
            store::atomic_write(Path::new(path), &body)
                .map_err(|e| fallback(Counter::BadOutputFile, format!("writing {path}: {e}")))?;
        }
        if let Some(stderr) = entry.get(FileKind::Stderr) {
            let _ = std::io::stderr().write_all(stderr);
        }
        if !self.config.read_only {
            store.touch(key);
        }
        self.log.note("preprocessed cache hit");
        self.changes.extend([
            (Counter::PreprocessedCacheHit, 1),
            (Counter::LocalStorageHit, 1),
            (Counter::LocalStorageReadHit, 1),
        ]);
        Ok(Some(0))
    }

    fn compile_and_store(
        &mut self,
        store: &LocalStore,
        key: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<i32, Fallback> {
        let out = prefixed(&self.config, &self.compiler)
            .args(&self.args)
            .stdin(Stdio::inherit())
            .output()
            .map_err(|e| fallback(Counter::InternalError, format!("running the compiler: {e}")))?;
        let _ = std::io::stdout().write_all(&out.stdout);
        let _ = std::io::stderr().write_all(&out.stderr);
        let code = exit_code(out.status);
        if !out.status.success() {
            self.changes.push((Counter::CompileFailed, 1));
            return Ok(code);
        }
        if !out.stdout.is_empty() {
            self.changes.push((Counter::CompilerProducedStdout, 1));
            return Ok(code);
        }
        let object = match std::fs::read(&a.output) {
            Ok(o) if o.is_empty() => {
                self.changes.push((Counter::CompilerProducedEmptyOutput, 1));
                return Ok(code);
            }
            Ok(o) => o,
            Err(_) => {
                self.changes.push((Counter::CompilerProducedNoOutput, 1));
                return Ok(code);
            }
        };
        if self.config.recache {
            // As in ccache, a forced recache is its own kind of call, not a miss.
            self.changes.push((Counter::Recache, 1));
        } else {
            self.changes.extend([
                (Counter::CacheMiss, 1),
                (Counter::PreprocessedCacheMiss, 1),
                (Counter::LocalStorageMiss, 1),
                (Counter::LocalStorageReadMiss, 1),
            ]);
        }
        if self.config.read_only {
            return Ok(code);
        }
        let mut entry = ResultEntry::default();
        entry.files.push((FileKind::Object, object));
        if let Some(d) = &a.deps {
            match std::fs::read(&d.file) {
                Ok(body) => {
                    let rec =
                        DepRecord::new(body, cwd, &d.targets, compiler::family(&self.compiler));
                    entry.files.push((FileKind::Dependency, rec.encode()));
                }
                Err(e) => {
                    self.log
                        .note(format!("not storing: dependency file {}: {e}", d.file));
                    return Ok(code);
                }
            }
        }
        if !out.stderr.is_empty() {
            entry.files.push((FileKind::Stderr, out.stderr));
        }
        let level = self
            .config
            .compression
            .then_some(match self.config.compression_level {
                0 => 1,
                l => l,
            });
        let stored = entry
            .encode(key, level)
            .and_then(|bytes| store.put(key, &bytes));
        match stored {
            Ok(outcome) => self.changes.extend([
                (Counter::LocalStorageWrite, 1),
                (Counter::CacheSizeKibibyte, outcome.kib_delta),
                (Counter::FilesInCache, outcome.files_delta),
            ]),
            Err(e) => {
                self.log.note(format!(
                    "could not store {}: {e}",
                    store.result_path(key).display()
                ));
                self.changes.push((Counter::InternalError, 1));
            }
        }
        Ok(code)
    }
}

/// What `-march=native` resolves to on this machine.
fn cpu_identity() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| {
            [
                "vendor_id",
                "cpu family",
                "model",
                "model name",
                "flags",
                "Features",
                "CPU part",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
