//! Writing a cached result to the call's outputs, and running the compiler
//! on a miss to produce one.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use super::{exit_code, fallback, prefixed, Fallback, Session};
use crate::compiler::args::{ArgsAnalysis, ExtraKind};
use crate::compiler::{self, color};
use crate::depfile::DepRecord;
use crate::key::Key;
use crate::stats::Counter;
use crate::store::container::CopyError;
use crate::store::entry::{FileKind, ResultEntry, ResultStream};
use crate::store::{self, EntryKind};

/// A stored result, checked and ready to be put in place.
struct Unpacked {
    /// `None` for a `-fsyntax-only` compile.
    object: Option<Object>,
    dependency: Option<Vec<u8>>,
    /// The files written besides object and `.d` (`.dwo`, `.gcno` …).
    extras: Vec<(FileKind, Vec<u8>)>,
    stdout: Option<Vec<u8>>,
    stderr: Option<Vec<u8>>,
    /// `stderr` was captured with colours on.
    coloured: bool,
    working_dir: Option<Vec<u8>>,
}

/// Where a hit's object comes from.
enum Object {
    /// Written to the output from the entry, not yet confirmed.
    Written(store::OutputFile),
    /// A raw object file beside the entry (`hard_link`/`file_clone`):
    /// its BLAKE3 digest and length, checked before it is used.
    Raw([u8; 32], u64),
}

/// What a compile on a miss produced.
pub(super) struct Compiled {
    pub code: i32,
    /// What to store, when the compile produced a cacheable result.
    pub entry: Option<ResultEntry>,
    /// The `.d` as the compiler wrote it (depend mode reads its includes).
    pub dep_body: Option<Vec<u8>>,
}

impl Session {
    pub(super) fn compression_level(&self) -> Option<i32> {
        self.config
            .compression
            .then_some(match self.config.compression_level {
                0 => 1,
                l => l,
            })
    }

    /// Writes the result stored under `key` to this call's outputs and replays
    /// its stderr. `Ok(None)`: no usable entry, the caller goes on to compile.
    pub(super) fn serve(
        &mut self,
        key: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Option<i32>, Fallback> {
        let verify = |b: &[u8]| ResultEntry::decode(b, key).map(|_| ());
        let Some((bytes, source)) = self.storage.get(key, EntryKind::Result, &verify) else {
            return Ok(None);
        };
        let object_path = (!a.syntax_only).then_some(a.output.as_str());
        let unpacked = match self.unpack(&bytes, key, object_path)? {
            Ok(u) => u,
            Err(why) => {
                self.log
                    .note(format!("corrupt result {} ({why}): removed", key.to_hex()));
                self.storage.discard(key, EntryKind::Result, source);
                return Ok(None);
            }
        };
        let family = compiler::family(&self.compiler);
        let dep_file = match &a.deps {
            None => None,
            Some(d) => {
                let rendered = unpacked
                    .dependency
                    .as_deref()
                    .and_then(DepRecord::decode)
                    .and_then(|r| r.render(cwd, &d.targets, self.config.base_dir.as_ref()))
                    .map(|body| self.user_spelled_depfile(&body, family).unwrap_or(body));
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
        let has_stderr = unpacked.stderr.as_ref().is_some_and(|e| !e.is_empty());
        if has_stderr
            && !unpacked.coloured
            && color::wanted(a.color, family)
            && color::captured_in_colour(a, &self.compiler, family)
        {
            self.log
                .note("the stored diagnostics have no colours and this call wants them");
            return Ok(None);
        }
        let output = Path::new(&a.output);
        let bad_output = |e: std::io::Error| {
            fallback(Counter::BadOutputFile, format!("writing {}: {e}", a.output))
        };
        // The `.d` first: if it cannot be written, the unconfirmed object is
        // removed and the compiler runs, so an object never stands without
        // the `.d` that tells make which headers it depends on.
        if let Some((path, body)) = dep_file {
            store::write_output(Path::new(path), &body)
                .map_err(|e| fallback(Counter::BadOutputFile, format!("writing {path}: {e}")))?;
        }
        // Likewise the `.dwo` the object refers to, the `.gcno` that must
        // come from the same compile, and the other extra files.
        for (kind, body) in &unpacked.extras {
            let Some(extra) = a.extra_outputs.iter().find(|e| file_kind(e.kind) == *kind) else {
                continue;
            };
            let path = &extra.path;
            store::write_output(Path::new(path), body)
                .map_err(|e| fallback(Counter::BadOutputFile, format!("writing {path}: {e}")))?;
        }
        match unpacked.object {
            None => {}
            Some(Object::Written(out)) => out.finish().map_err(bad_output)?,
            Some(Object::Raw(digest, size)) => {
                let installed = self.install_raw(key, digest, size, output);
                if let Some(counter) = installed.map_err(bad_output)? {
                    self.log.note(format!(
                        "raw object of {} is missing or damaged",
                        key.to_hex()
                    ));
                    self.storage.discard_raw_object(key, counter);
                    return Ok(None);
                }
            }
        }
        if let Some(stdout) = &unpacked.stdout {
            let _ = std::io::stdout().write_all(stdout);
        }
        if let Some(stderr) = &unpacked.stderr {
            let relocated = match (&self.config.base_dir, &unpacked.working_dir) {
                (Some(base), Some(from)) => std::str::from_utf8(from)
                    .ok()
                    .and_then(|from| crate::paths::relocate_text(stderr, base, from, cwd)),
                _ => None,
            };
            let keep = !unpacked.coloured || color::wanted(a.color, family);
            let relocated = relocated.as_deref().unwrap_or(stderr);
            let absolute = self.absolute_in_stderr(relocated);
            let shown = color::present(&absolute, keep, family);
            let _ = std::io::stderr().write_all(&shown);
        }
        self.storage.served(key, source, &bytes);
        Ok(Some(0))
    }

    /// Reads a stored result: the object streamed to the output (confirmed by
    /// the caller only once everything checked out, removed otherwise), the
    /// other files into memory. The outer error is a problem writing the
    /// output (the call then runs the compiler); the inner one a bad entry.
    fn unpack(
        &mut self,
        bytes: &[u8],
        key: &Key,
        object_path: Option<&str>,
    ) -> Result<Result<Unpacked, String>, Fallback> {
        let output = object_path.unwrap_or("");
        let bad_output =
            |e: std::io::Error| fallback(Counter::BadOutputFile, format!("writing {output}: {e}"));
        let mut stream = match ResultStream::open(bytes, key) {
            Ok(s) => s,
            Err(why) => return Ok(Err(why)),
        };
        let mut object = None;
        let mut dependency = None;
        let mut extras = Vec::new();
        let mut stdout = None;
        let mut stderr = None;
        let mut coloured = false;
        let mut working_dir = None;
        loop {
            let (kind, len) = match stream.next_file() {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(why) => return Ok(Err(why)),
            };
            if matches!(kind, FileKind::Object | FileKind::RawObject) {
                if object.is_some() {
                    return Ok(Err("more than one object in the entry".into()));
                }
                if object_path.is_none() {
                    return Ok(Err("an object for a compile that writes none".into()));
                }
            }
            let small = match kind {
                FileKind::Object => {
                    let mut out =
                        store::OutputFile::create(Path::new(output)).map_err(bad_output)?;
                    match stream.copy_to(len, &mut out) {
                        Ok(()) => object = Some(Object::Written(out)),
                        Err(CopyError::Corrupt(why)) => return Ok(Err(why)),
                        Err(CopyError::Write(e)) => return Err(bad_output(e)),
                    }
                    continue;
                }
                FileKind::RawObject => {
                    let raw = match stream.read_small(len) {
                        Ok(raw) if raw.len() == 40 => raw,
                        Ok(_) => return Ok(Err("bad raw object record".into())),
                        Err(why) => return Ok(Err(why)),
                    };
                    let digest: [u8; 32] = raw[..32].try_into().unwrap();
                    let size = u64::from_le_bytes(raw[32..].try_into().unwrap());
                    object = Some(Object::Raw(digest, size));
                    continue;
                }
                FileKind::Dependency => &mut dependency,
                FileKind::Stdout => &mut stdout,
                FileKind::SplitDwarf
                | FileKind::CoverageNotes
                | FileKind::StackUsage
                | FileKind::CallGraph
                | FileKind::Listing => {
                    if extras.iter().any(|(k, _)| *k == kind) {
                        return Ok(Err(format!("{kind:?} stored twice")));
                    }
                    match stream.read_small(len) {
                        Ok(data) => extras.push((kind, data)),
                        Err(why) => return Ok(Err(why)),
                    }
                    continue;
                }
                FileKind::Stderr | FileKind::ColouredStderr => {
                    coloured = kind == FileKind::ColouredStderr;
                    &mut stderr
                }
                FileKind::WorkingDir => &mut working_dir,
            };
            if small.is_some() {
                return Ok(Err(format!("{kind:?} stored twice")));
            }
            match stream.read_small(len) {
                Ok(data) => *small = Some(data),
                Err(why) => return Ok(Err(why)),
            }
        }
        if let Err(why) = stream.finish() {
            return Ok(Err(why));
        }
        if object.is_none() && object_path.is_some() {
            return Ok(Err("no object in the entry".into()));
        }
        Ok(Ok(Unpacked {
            object,
            dependency,
            extras,
            stdout,
            stderr,
            coloured,
            working_dir,
        }))
    }

    /// Puts a raw object (`hard_link`/`file_clone`) in place after checking
    /// its digest: as a hard link to the cache file, as a clone of it, or as
    /// a copy when neither is possible here. `Ok(Some(counter))`: the raw
    /// file is missing (evicted) or does not match its record.
    fn install_raw(
        &mut self,
        key: &Key,
        digest: [u8; 32],
        size: u64,
        output: &Path,
    ) -> std::io::Result<Option<Counter>> {
        let raw = self.storage.raw_object_path(key);
        let Ok(data) = self.storage.read_raw_object(key) else {
            return Ok(Some(Counter::MissingCacheFile));
        };
        if data.len() as u64 != size || blake3::hash(&data).as_bytes() != &digest {
            return Ok(Some(Counter::CorruptCacheEntry));
        }
        if self.config.hard_link {
            let replaceable = match std::fs::symlink_metadata(output) {
                Ok(m) => m.is_file(),
                Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            };
            if replaceable {
                let _ = std::fs::remove_file(output);
                if std::fs::hard_link(&raw, output).is_ok() {
                    self.storage.touch_raw_object(key);
                    return Ok(None);
                }
            }
        }
        if self.config.file_clone {
            let tmp = store::temp_file_for(output)?;
            if store::clone_file(&raw, tmp.as_file()) {
                store::install_output(tmp, output)?;
                self.storage.touch_raw_object(key);
                return Ok(None);
            }
        }
        store::write_output(output, &data)?;
        self.storage.touch_raw_object(key);
        Ok(None)
    }

    /// Runs the real compiler with the call's own arguments and passes its
    /// output through. Failures are counted here; only a clean compile that
    /// wrote a non-empty object yields an entry.
    pub(super) fn run_compiler(
        &mut self,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Compiled, Fallback> {
        if self.config.hard_link {
            // A previous hit may have made the output a hard link to a cache
            // file: the compiler must not write into that shared inode.
            use std::os::unix::fs::MetadataExt;
            if std::fs::symlink_metadata(&a.output).is_ok_and(|m| m.is_file() && m.nlink() > 1) {
                let _ = std::fs::remove_file(&a.output);
            }
        }
        let extras_before: Vec<_> = a
            .extra_outputs
            .iter()
            .map(|e| file_identity(&e.path))
            .collect();
        let family = compiler::family(&self.compiler);
        let forced = color::forced_option(a, &self.compiler, family);
        let args = self.compile_args.as_ref().unwrap_or(&self.args);
        let run = |extra: Option<&str>| {
            prefixed(&self.config, &self.compiler.path)
                .args(args)
                .args(extra)
                .stdin(Stdio::inherit())
                .output()
                .map_err(|e| fallback(Counter::InternalError, format!("running the compiler: {e}")))
        };
        let mut out = run(forced)?;
        if let Some(option) = forced {
            let rejected = !out.status.success()
                && out
                    .stderr
                    .windows(option.len())
                    .any(|w| w == option.as_bytes());
            if rejected {
                // A compiler that looked like gcc or clang but does not know
                // the option: run it as it was called.
                self.log.note(format!(
                    "the compiler rejected {option}: compiling without it"
                ));
                out = run(None)?;
            }
        }
        let _ = std::io::stdout().write_all(&out.stdout);
        let shown = self.absolute_in_stderr(&out.stderr);
        let keep = forced.is_none() || color::wanted(a.color, family);
        let _ = std::io::stderr().write_all(&color::present(&shown, keep, family));
        let code = exit_code(out.status);
        self.compiled = Some(code);
        let nothing = |this: &mut Session, counter: Counter| {
            this.changes.push((counter, 1));
            Ok(Compiled {
                code,
                entry: None,
                dep_body: None,
            })
        };
        if !out.status.success() {
            return nothing(self, Counter::CompileFailed);
        }
        let mut entry = ResultEntry::default();
        if !a.syntax_only {
            let object = match std::fs::read(&a.output) {
                Ok(o) if o.is_empty() => {
                    return nothing(self, Counter::CompilerProducedEmptyOutput)
                }
                Ok(o) => o,
                Err(_) => return nothing(self, Counter::CompilerProducedNoOutput),
            };
            entry.files.push((FileKind::Object, object));
        }
        for (extra, before) in a.extra_outputs.iter().zip(&extras_before) {
            // Only a file this compile wrote: without `-g` clang writes no
            // `.dwo`, and an older file may lie there.
            let written = file_identity(&extra.path) != *before;
            let body = if written {
                std::fs::read(&extra.path).ok()
            } else {
                None
            };
            match body {
                Some(body) => entry.files.push((file_kind(extra.kind), body)),
                None if extra.kind == ExtraKind::SplitDwarf && !written => {}
                None => {
                    self.log.note(format!(
                        "not storing: the compiler did not write {}",
                        extra.path
                    ));
                    return nothing(self, Counter::CompilerProducedNoOutput);
                }
            }
        }
        if !out.stdout.is_empty() {
            entry.files.push((FileKind::Stdout, out.stdout));
        }
        let mut dep_body = None;
        if let Some(d) = &a.deps {
            // Only a plain file holds what the compiler wrote (`-MF /dev/null` does not).
            let plain = std::fs::symlink_metadata(&d.file).is_ok_and(|m| m.is_file());
            match std::fs::read(&d.file) {
                Ok(body) if plain && !body.is_empty() => {
                    if let Some(mapped) = self.user_spelled_depfile(&body, family) {
                        // Renamed into place: a kill midway leaves the
                        // compiler's complete (relative) file, never half of ours.
                        let replaced =
                            store::temp_file_for(Path::new(&d.file)).and_then(|mut tmp| {
                                tmp.write_all(&mapped)?;
                                store::install_output(tmp, Path::new(&d.file))
                            });
                        if let Err(e) = replaced {
                            self.log.note(format!(
                                "not storing: rewriting dependency file {}: {e}",
                                d.file
                            ));
                            return nothing(self, Counter::BadOutputFile);
                        }
                    }
                    // Stored as the compiler wrote it for the relative paths:
                    // a hit maps it to its own call's spelling, which may
                    // differ (`//`, `..`) for the same key.
                    let rec = DepRecord::new(body.clone(), cwd, &d.targets, family);
                    entry.files.push((FileKind::Dependency, rec.encode()));
                    dep_body = Some(body);
                }
                other => {
                    let why = match other {
                        Err(e) => e.to_string(),
                        Ok(_) => "not a plain file, or empty".into(),
                    };
                    self.log
                        .note(format!("not storing: dependency file {}: {why}", d.file));
                    return nothing(self, Counter::CompilerProducedNoOutput);
                }
            }
        }
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
            let kind = if forced.is_some() || a.color == Some(color::ColorChoice::Always) {
                FileKind::ColouredStderr
            } else {
                FileKind::Stderr
            };
            entry.files.push((kind, out.stderr));
        }
        Ok(Compiled {
            code,
            entry: Some(entry),
            dep_body,
        })
    }

    /// The compiler's diagnostics as this call shows them: with
    /// `absolute_paths_in_stderr`, paths the compiler was given relative to
    /// base_dir name this checkout's files as the call's own arguments did.
    fn absolute_in_stderr<'t>(&self, text: &'t [u8]) -> std::borrow::Cow<'t, [u8]> {
        let map = match &self.path_map {
            Some(map) if self.config.absolute_paths_in_stderr => map,
            _ => return std::borrow::Cow::Borrowed(text),
        };
        let mapped = crate::paths::map_paths_in_text(
            text,
            |_| true,
            |token| token.contains('/').then(|| map.original(token)).flatten(),
        );
        match mapped {
            Some(m) => std::borrow::Cow::Owned(m),
            None => std::borrow::Cow::Borrowed(text),
        }
    }

    /// The `.d` the compiler wrote for relative paths, with the spelling of
    /// the call's own arguments (`None`: nothing to change).
    fn user_spelled_depfile(&self, body: &[u8], family: compiler::Family) -> Option<Vec<u8>> {
        let map = self.path_map.as_ref()?;
        crate::depfile::map_back(body, family, |dep| map.original(dep))
    }

    /// With `hard_link` or `file_clone` (and no remote storage, which needs
    /// self-contained entries), keeps the object as a plain file beside the
    /// entry and returns the entry that points to it.
    fn store_raw_object(&mut self, key: &Key, entry: &ResultEntry) -> Option<ResultEntry> {
        if !(self.config.hard_link || self.config.file_clone) || !self.storage.keeps_raw_objects() {
            return None;
        }
        let (_, object) = entry.files.iter().find(|(k, _)| *k == FileKind::Object)?;
        if !self.storage.put_raw_object(key, object) {
            return None;
        }
        let mut record = blake3::hash(object).as_bytes().to_vec();
        record.extend_from_slice(&(object.len() as u64).to_le_bytes());
        let files = entry
            .files
            .iter()
            .map(|(k, v)| match k {
                FileKind::Object => (FileKind::RawObject, record.clone()),
                _ => (*k, v.clone()),
            })
            .collect();
        Some(ResultEntry { files })
    }

    /// Stores a result (locally and remotely) unless the cache is read-only;
    /// `true` when it is stored somewhere.
    pub(super) fn store_result(&mut self, key: &Key, entry: &ResultEntry) -> bool {
        if !self.storage.may_write(EntryKind::Result) {
            return false;
        }
        let raw_entry;
        let entry = match self.store_raw_object(key, entry) {
            Some(e) => {
                raw_entry = e;
                &raw_entry
            }
            None => entry,
        };
        match entry.encode(key, &self.config.namespace, self.compression_level()) {
            Ok(bytes) => self.storage.put(key, EntryKind::Result, &bytes),
            Err(e) => {
                self.log
                    .note(format!("could not encode result {}: {e}", key.to_hex()));
                self.changes.push((Counter::InternalError, 1));
                false
            }
        }
    }
}

/// The entry's file kind for an extra output.
fn file_kind(kind: ExtraKind) -> FileKind {
    match kind {
        ExtraKind::SplitDwarf => FileKind::SplitDwarf,
        ExtraKind::CoverageNotes => FileKind::CoverageNotes,
        ExtraKind::StackUsage => FileKind::StackUsage,
        ExtraKind::CallGraph => FileKind::CallGraph,
        ExtraKind::Listing => FileKind::Listing,
    }
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
