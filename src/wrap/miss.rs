//! A miss: running the real compiler, passing its output through, and
//! storing what it wrote.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use super::hit::{absolute_in_stderr, user_spelled_depfile};
use super::{exit_code, fallback, prefixed, with_uncached_err, Fallback, Session};
use crate::compiler::args::{ArgsAnalysis, DepOptions, ExtraKind};
use crate::compiler::relative::PathMap;
use crate::compiler::{self, color};
use crate::config::Config;
use crate::depfile::StoredDepfile;
use crate::disk;
use crate::disk::entry::{FileKind, ResultEntry};
use crate::key::Key;
use crate::log::Log;
use crate::stats::Counter;

/// What a compile on a miss produced.
pub(super) struct Compiled {
    pub code: i32,
    /// What to store, when the compile produced a cacheable result.
    pub entry: Option<ResultEntry>,
    /// The `.d` as the compiler wrote it (depend mode reads its includes).
    pub dep_body: Option<Vec<u8>>,
}

impl Compiled {
    fn nothing(code: i32) -> Compiled {
        Compiled {
            code,
            entry: None,
            dep_body: None,
        }
    }
}

/// What a successful compile left to collect.
struct Written {
    out: Output,
    /// The identity of each extra output's file before the compile.
    extras_before: Vec<Option<(u64, u64, i64, i64)>>,
    /// stderr was captured with colours on.
    coloured: bool,
}

impl Session {
    /// Runs the real compiler and passes its output through: with the
    /// analysis' `compiler_args` (base_dir paths made relative, if any) and
    /// the colour option objcache adds, if any (see `color::capture`).
    /// Failures are counted here; only a clean compile that wrote a
    /// non-empty object yields an entry.
    pub(super) fn run_compiler(
        &mut self,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Compiled, Fallback> {
        // A call with `hard_link` (this one or an earlier one with other
        // settings) may have made the output a hard link to a cache file:
        // the compiler must not write into that shared inode. Other names
        // of the file keep their bytes, as on a hit (`disk::OutputFile`).
        use std::os::unix::fs::MetadataExt;
        if std::fs::symlink_metadata(&a.output).is_ok_and(|m| m.is_file() && m.nlink() > 1) {
            let _ = std::fs::remove_file(&a.output);
        }
        let extras_before: Vec<_> = a
            .extra_outputs
            .iter()
            .map(|e| identity_before(&e.path, self.coarse_start_ns))
            .collect();
        let family = compiler::family(&self.compiler);
        let ignored = &self.config.ignore_options;
        let escape = self.source_facts.is_some_and(|f| f.escape_byte);
        let capture = color::capture(a, &self.compiler, family, escape, ignored);
        let out = execute(
            &self.config,
            &self.compiler.path,
            &a.compiler_args,
            capture.option,
            &self.log,
        )?;
        let _ = std::io::stdout().write_all(&out.stdout);
        let shown = absolute_in_stderr(&self.config, &a.path_map, &out.stderr);
        let keep = !capture.coloured || color::wanted(color::choice(a), family);
        let _ = std::io::stderr().write_all(&color::present(&shown, keep, family));
        let code = exit_code(out.status);
        self.compiled = Some(code);
        if !out.status.success() {
            self.changes.push((Counter::CompileFailed, 1));
            return Ok(Compiled::nothing(code));
        }
        let written = Written {
            out,
            extras_before,
            coloured: capture.coloured,
        };
        match self.collect(a, cwd, written, family) {
            Ok((entry, dep_body)) => Ok(Compiled {
                code,
                entry: Some(entry),
                dep_body,
            }),
            Err(counter) => {
                self.changes.push((counter, 1));
                Ok(Compiled::nothing(code))
            }
        }
    }

    /// The entry for what a successful compile wrote, and the `.d` as the
    /// compiler wrote it; `Err`: why there is nothing to store.
    fn collect(
        &mut self,
        a: &ArgsAnalysis,
        cwd: &str,
        written: Written,
        family: compiler::Family,
    ) -> Result<(ResultEntry, Option<Vec<u8>>), Counter> {
        let Written {
            out,
            extras_before,
            coloured,
        } = written;
        let mut entry = ResultEntry::default();
        if !a.syntax_only {
            let object = match std::fs::read(&a.output) {
                Ok(o) if o.is_empty() => return Err(Counter::CompilerProducedEmptyOutput),
                Ok(o) => o,
                Err(_) => return Err(Counter::CompilerProducedNoOutput),
            };
            entry.files.push((FileKind::Object, object));
        }
        for (extra, before) in a.extra_outputs.iter().zip(&extras_before) {
            // Only a file this compile wrote: without `-g` clang writes no
            // `.dwo`, and an older file may lie there.
            let rewritten = file_identity(&extra.path) != *before;
            match rewritten.then(|| read_output(&extra.path).ok()).flatten() {
                Some(body) => entry.files.push((file_kind(extra.kind), body)),
                None if extra.kind == ExtraKind::SplitDwarf && !rewritten => {}
                None => {
                    self.log.note(format!(
                        "not storing: the compiler did not write {}",
                        extra.path
                    ));
                    return Err(Counter::CompilerProducedNoOutput);
                }
            }
        }
        if !out.stdout.is_empty() {
            entry.files.push((FileKind::Stdout, out.stdout));
        }
        let dep_body = match &a.deps {
            Some(d) => {
                let (stored, body) = self.collect_depfile(d, &a.path_map, cwd, family)?;
                entry.files.push((FileKind::Dependency, stored));
                Some(body)
            }
            None => None,
        };
        if !out.stderr.is_empty() {
            let names_base_dir = self
                .config
                .base_dir
                .as_ref()
                .is_some_and(|b| b.mentioned_in(&out.stderr));
            if names_base_dir {
                entry
                    .files
                    .push((FileKind::WorkingDir, cwd.as_bytes().to_vec()));
            }
            let kind = if coloured {
                FileKind::ColouredStderr
            } else {
                FileKind::Stderr
            };
            entry.files.push((kind, out.stderr));
        }
        Ok((entry, dep_body))
    }

    /// The dependency file the compiler wrote: its stored form and its
    /// body. With base_dir, the file is given the call's own spelling
    /// (`map`, the analysis' `path_map`).
    fn collect_depfile(
        &mut self,
        d: &DepOptions,
        map: &PathMap,
        cwd: &str,
        family: compiler::Family,
    ) -> Result<(Vec<u8>, Vec<u8>), Counter> {
        // Only a plain file holds what the compiler wrote; anything else
        // (`-MF /dev/stdout`, a FIFO) is not even opened: reading it could
        // take what it gave to another reader, or wait forever.
        let plain = std::fs::symlink_metadata(&d.file).is_ok_and(|m| m.is_file());
        let body = match plain.then(|| read_output(&d.file)) {
            Some(Ok(body)) if !body.is_empty() => body,
            other => {
                let why = match other {
                    Some(Err(e)) => e.to_string(),
                    _ => "not a plain file, or empty".into(),
                };
                self.log
                    .note(format!("not storing: dependency file {}: {why}", d.file));
                return Err(Counter::CompilerProducedNoOutput);
            }
        };
        if let Some(mapped) = user_spelled_depfile(map, &body, family) {
            // Renamed into place: a kill midway leaves the compiler's
            // complete (relative) file, never half of ours.
            let replaced = crate::files::temp_file_for(Path::new(&d.file)).and_then(|mut tmp| {
                tmp.write_all(&mapped)?;
                disk::install_output(tmp, Path::new(&d.file), disk::Symlink::WriteThrough)
            });
            if let Err(e) = replaced {
                self.log.note(format!(
                    "not storing: rewriting dependency file {}: {e}",
                    d.file
                ));
                return Err(Counter::BadOutputFile);
            }
        }
        // Stored as the compiler wrote it for the relative paths: a hit maps
        // it to its own call's spelling, which may differ (`//`, `..`) for
        // the same key.
        let stored = StoredDepfile::new(body.clone(), cwd, &d.targets, family).encode();
        Ok((stored, body))
    }

    /// Stores a result (locally and remotely) unless the cache is read-only;
    /// `true` when it is stored somewhere. `output`: where the compiler
    /// wrote the object (`hard_link` links it into the cache).
    pub(super) fn store_result(&mut self, key: &Key, entry: &ResultEntry, output: &str) -> bool {
        self.storage.put_result(key, entry, Some(Path::new(output)))
    }
}

/// The entry's file kind for an extra output.
pub(super) fn file_kind(kind: ExtraKind) -> FileKind {
    match kind {
        ExtraKind::SplitDwarf => FileKind::SplitDwarf,
        ExtraKind::CoverageNotes => FileKind::CoverageNotes,
        ExtraKind::StackUsage => FileKind::StackUsage,
        ExtraKind::CallGraph => FileKind::CallGraph,
        ExtraKind::Listing => FileKind::Listing,
    }
}

/// A file the compiler wrote, read without blocking: a FIFO put in its
/// place is an error, not a wait.
fn read_output(path: &str) -> std::io::Result<Vec<u8>> {
    let (file, len) = crate::files::open_regular_file(Path::new(path))?;
    crate::files::read_at_most(file, len, crate::files::MAX_CACHE_FILE)
}

/// What tells a rewritten file from the one that was there before:
/// inode, size and change time (`None`: no plain file there).
fn file_identity(path: &str) -> Option<(u64, u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.is_file())?;
    Some((m.ino(), m.size(), m.ctime(), m.ctime_nsec()))
}

/// The identity of an extra output before the compile. One changed in
/// the timestamp tick of the call's start (a compile of the same output
/// moments ago; a second ago on a file system with 1-second stamps)
/// would keep its identity when the compiler rewrites it in place in
/// that tick, and the rewrite would be taken for no output: it is
/// removed first, as ccache always removes a `.dwo`, so that whatever
/// is there afterwards is the compiler's.
fn identity_before(path: &str, coarse_start_ns: i64) -> Option<(u64, u64, i64, i64)> {
    let identity = file_identity(path)?;
    let ctime_ns = crate::clock::file_time_ns(identity.2, identity.3);
    if crate::clock::stamp_settled(ctime_ns, coarse_start_ns) {
        return Some(identity);
    }
    match std::fs::remove_file(path) {
        Ok(()) => None,
        Err(_) => Some(identity),
    }
}

/// Runs the compiler with `args` (the analysis' `compiler_args`) and the
/// colour option `forced`, if any; a compiler that looked like gcc or clang
/// but rejects the option runs again without it.
fn execute(
    config: &Config,
    compiler: &Path,
    args: &[String],
    forced: Option<&str>,
    log: &Log,
) -> Result<Output, Fallback> {
    let run = |extra: Option<&str>| {
        with_uncached_err(&mut prefixed(config, compiler))
            .args(args)
            .args(extra)
            .stdin(Stdio::inherit())
            .output()
            .map_err(|e| fallback(Counter::InternalError, format!("running the compiler: {e}")))
    };
    let out = run(forced)?;
    let Some(option) = forced else {
        return Ok(out);
    };
    let rejected = !out.status.success()
        && out
            .stderr
            .windows(option.len())
            .any(|w| w == option.as_bytes());
    if !rejected {
        return Ok(out);
    }
    log.note(format!(
        "the compiler rejected {option}: compiling without it"
    ));
    run(None)
}
