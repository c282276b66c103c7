//! Writing a cached result to the call's outputs, and running the compiler
//! on a miss to produce one.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use super::shared::Source;
use super::{exit_code, fallback, prefixed, Fallback, Session};
use crate::compiler::{self, args::ArgsAnalysis};
use crate::depfile::DepRecord;
use crate::hash::Key;
use crate::stats::Counter;
use crate::store::container::CopyError;
use crate::store::entry::{FileKind, ResultEntry, ResultStream};
use crate::store::{self, EntryKind, LocalStore};

/// A stored result, checked and ready to be put in place.
struct Unpacked {
    object: tempfile::NamedTempFile,
    dependency: Option<Vec<u8>>,
    stderr: Option<Vec<u8>>,
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
        store: &LocalStore,
        key: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Option<i32>, Fallback> {
        let verify = |b: &[u8]| ResultEntry::decode(b, key).map(|_| ());
        let Some((bytes, source)) = self.fetch(store, key, EntryKind::Result, &verify) else {
            return Ok(None);
        };
        let unpacked = match self.unpack(&bytes, key, &a.output)? {
            Ok(u) => u,
            Err(why) => {
                self.log
                    .note(format!("corrupt result {} ({why}): removed", key.to_hex()));
                self.changes.push((Counter::CorruptCacheEntry, 1));
                if !self.config.read_only && source == Source::Local {
                    store.remove(key, EntryKind::Result);
                }
                return Ok(None);
            }
        };
        let dep_file = match &a.deps {
            None => None,
            Some(d) => {
                let rendered = unpacked
                    .dependency
                    .as_deref()
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
        store::install_output(unpacked.object, Path::new(&a.output))
            .map_err(|e| fallback(Counter::BadOutputFile, format!("writing {}: {e}", a.output)))?;
        if let Some((path, body)) = dep_file {
            store::write_output(Path::new(path), &body)
                .map_err(|e| fallback(Counter::BadOutputFile, format!("writing {path}: {e}")))?;
        }
        if let Some(stderr) = &unpacked.stderr {
            let _ = std::io::stderr().write_all(stderr);
        }
        match source {
            Source::Local => {
                if !self.config.read_only {
                    store.touch(key, EntryKind::Result);
                }
                self.changes.extend([
                    (Counter::LocalStorageHit, 1),
                    (Counter::LocalStorageReadHit, 1),
                ]);
                if self.config.reshare {
                    self.publish(key, EntryKind::Result, &bytes);
                }
            }
            Source::Remote => self.changes.push((Counter::RemoteStorageHit, 1)),
        }
        Ok(Some(0))
    }

    /// Reads a stored result: the object streamed into a temp file beside the
    /// output (renamed into place only once everything checked out), the
    /// other files into memory. The outer error is a problem writing the
    /// output (the call then runs the compiler); the inner one a bad entry.
    fn unpack(
        &mut self,
        bytes: &[u8],
        key: &Key,
        output: &str,
    ) -> Result<Result<Unpacked, String>, Fallback> {
        let bad_output =
            |e: std::io::Error| fallback(Counter::BadOutputFile, format!("writing {output}: {e}"));
        let mut stream = match ResultStream::open(bytes, key) {
            Ok(s) => s,
            Err(why) => return Ok(Err(why)),
        };
        let mut object = None;
        let mut dependency = None;
        let mut stderr = None;
        loop {
            let (kind, len) = match stream.next_file() {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(why) => return Ok(Err(why)),
            };
            let small = match kind {
                FileKind::Object => {
                    let mut tmp = store::temp_file_for(Path::new(output)).map_err(bad_output)?;
                    match stream.copy_to(len, tmp.as_file_mut()) {
                        Ok(()) => object = Some(tmp),
                        Err(CopyError::Corrupt(why)) => return Ok(Err(why)),
                        Err(CopyError::Write(e)) => return Err(bad_output(e)),
                    }
                    continue;
                }
                FileKind::Dependency => &mut dependency,
                FileKind::Stderr => &mut stderr,
            };
            match stream.read_small(len) {
                Ok(data) => *small = Some(data),
                Err(why) => return Ok(Err(why)),
            }
        }
        if let Err(why) = stream.finish() {
            return Ok(Err(why));
        }
        Ok(match object {
            Some(object) => Ok(Unpacked {
                object,
                dependency,
                stderr,
            }),
            None => Err("no object in the entry".into()),
        })
    }

    /// Runs the real compiler with the call's own arguments and passes its
    /// output through. Failures are counted here; only a clean compile that
    /// wrote a non-empty object yields an entry.
    pub(super) fn run_compiler(
        &mut self,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Compiled, Fallback> {
        let out = prefixed(&self.config, &self.compiler)
            .args(&self.args)
            .stdin(Stdio::inherit())
            .output()
            .map_err(|e| fallback(Counter::InternalError, format!("running the compiler: {e}")))?;
        let _ = std::io::stdout().write_all(&out.stdout);
        let _ = std::io::stderr().write_all(&out.stderr);
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
        if !out.stdout.is_empty() {
            return nothing(self, Counter::CompilerProducedStdout);
        }
        let object = match std::fs::read(&a.output) {
            Ok(o) if o.is_empty() => return nothing(self, Counter::CompilerProducedEmptyOutput),
            Ok(o) => o,
            Err(_) => return nothing(self, Counter::CompilerProducedNoOutput),
        };
        let mut entry = ResultEntry::default();
        entry.files.push((FileKind::Object, object));
        let mut dep_body = None;
        if let Some(d) = &a.deps {
            // Only a plain file holds what the compiler wrote (`-MF /dev/null` does not).
            let plain = std::fs::symlink_metadata(&d.file).is_ok_and(|m| m.is_file());
            match std::fs::read(&d.file) {
                Ok(body) if plain && !body.is_empty() => {
                    let family = compiler::family(&self.compiler);
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
            entry.files.push((FileKind::Stderr, out.stderr));
        }
        Ok(Compiled {
            code,
            entry: Some(entry),
            dep_body,
        })
    }

    /// Stores a result (locally and remotely) unless the cache is read-only;
    /// `true` when it is stored somewhere.
    pub(super) fn store_result(
        &mut self,
        store: &LocalStore,
        key: &Key,
        entry: &ResultEntry,
    ) -> bool {
        if self.config.read_only {
            return false;
        }
        match entry.encode(key, &self.config.namespace, self.compression_level()) {
            Ok(bytes) => self.keep(store, key, EntryKind::Result, &bytes),
            Err(e) => {
                self.log
                    .note(format!("could not encode result {}: {e}", key.to_hex()));
                self.changes.push((Counter::InternalError, 1));
                false
            }
        }
    }
}
