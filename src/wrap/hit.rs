//! A hit: writing a cached result to the call's outputs and replaying its
//! diagnostics, in this call's spelling of the paths.

use std::io::Write;
use std::path::Path;

use super::miss::file_kind;
use super::{fallback, Fallback, Session};
use crate::compiler::args::ArgsAnalysis;
use crate::compiler::relative::PathMap;
use crate::compiler::{self, color};
use crate::config::Config;
use crate::depfile::StoredDepfile;
use crate::disk::container::CopyError;
use crate::disk::entry::{FileKind, RawObjectRef, ResultStream};
use crate::disk::{self, EntryKind};
use crate::key::Key;
use crate::paths::BaseDirs;
use crate::stats::Counter;
use crate::storage::StoredResult;

/// A stored result, checked and ready to be put in place.
#[derive(Default)]
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
    Written(disk::OutputFile),
    /// A raw object file beside the entry (`hard_link`/`file_clone`),
    /// checked against its reference before it is used.
    Raw(RawObjectRef),
}

impl Session {
    /// Writes the result stored under `key` to this call's outputs and replays
    /// its stderr. `Ok(None)`: no usable entry, the caller goes on to compile.
    pub(super) fn serve(
        &mut self,
        key: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Option<i32>, Fallback> {
        let verify = |b: &[u8]| ResultStream::check(b, key);
        let Some((stored, source)) = self.storage.get_result(key, &verify) else {
            return Ok(None);
        };
        // The outputs are the user's: created with the user's umask, not
        // the cache's, until they are all written.
        let user_umask = crate::files::UserUmask::enter();
        let object_path = (!a.syntax_only).then_some(a.output.as_str());
        let mut unpacked = match unpack(&stored, key, object_path)? {
            Ok(u) => u,
            Err(why) => {
                self.log
                    .note(format!("corrupt result {} ({why}): removed", key.to_hex()));
                self.storage.discard(key, EntryKind::Result, source);
                return Ok(None);
            }
        };
        let family = compiler::family(&self.compiler);
        let Some(dep_file) =
            rendered_depfile(self.config.base_dir.as_ref(), a, &unpacked, cwd, family)
        else {
            return Ok(self.unusable("the stored dependency file does not fit this call"));
        };
        let has_stderr = unpacked.stderr.as_ref().is_some_and(|e| !e.is_empty());
        if has_stderr
            && !unpacked.coloured
            && color::wanted(color::choice(a), family)
            && captured_in_colour(self, a, family)
        {
            // Stored by an objcache that kept `-fno-diagnostics-color`'s
            // diagnostics plain; compiling stores them in colour.
            return Ok(self.unusable(
                "the stored diagnostics have no colours and this call shows them in colour",
            ));
        }
        let written = |path: &str, r: std::io::Result<()>| {
            r.map_err(|e| fallback(Counter::BadOutputFile, format!("writing {path}: {e}")))
        };
        // The `.d` first: if it cannot be written, the unconfirmed object is
        // removed and the compiler runs, so an object never stands without
        // the `.d` that tells make which headers it depends on.
        if let Some((path, body)) = dep_file {
            let through = disk::Symlink::WriteThrough;
            written(path, disk::write_output(Path::new(path), &body, through))?;
        }
        // Likewise the `.dwo` the object refers to, the `.gcno` that must
        // come from the same compile, and the other extra files.
        for (kind, body) in &unpacked.extras {
            let extra = a.extra_outputs.iter().find(|e| file_kind(e.kind) == *kind);
            if let Some(path) = extra.map(|e| e.path.as_str()) {
                let symlink = symlink_rule(*kind);
                written(path, disk::write_output(Path::new(path), body, symlink))?;
            }
        }
        match unpacked.object.take() {
            None => {}
            Some(Object::Written(out)) => written(&a.output, out.finish())?,
            Some(Object::Raw(reference)) => {
                let output = Path::new(&a.output);
                let installed = self.storage.install_raw_object(key, reference, output);
                let installed = installed.map_err(|e| {
                    fallback(Counter::BadOutputFile, format!("writing {}: {e}", a.output))
                })?;
                if !installed {
                    return Ok(None);
                }
            }
        }
        drop(user_umask);
        replay(&self.config, a, &unpacked, cwd, family);
        self.storage.served(key, source, &stored);
        Ok(Some(0))
    }

    /// A stored result this call cannot use: noted, to explain the miss.
    fn unusable(&mut self, why: &'static str) -> Option<i32> {
        self.log.note(why);
        self.unusable_result = Some(why);
        None
    }
}

/// Would a compile of this call capture its diagnostics in colour?
fn captured_in_colour(session: &Session, a: &ArgsAnalysis, family: compiler::Family) -> bool {
    let escape = session.source_facts.is_some_and(|f| f.escape_byte);
    let ignored = &session.config.ignore_options;
    color::capture(a, &session.compiler, family, escape, ignored).coloured
}

/// The `.d` this call must get, rendered for its cwd and targets in
/// its own spelling: `Some(None)` when the call wants none, `None` when
/// the stored one does not fit.
fn rendered_depfile<'a>(
    base_dir: Option<&BaseDirs>,
    a: &'a ArgsAnalysis,
    unpacked: &Unpacked,
    cwd: &str,
    family: compiler::Family,
) -> Option<Option<(&'a str, Vec<u8>)>> {
    let Some(d) = &a.deps else {
        return Some(None);
    };
    let stored = unpacked
        .dependency
        .as_deref()
        .and_then(StoredDepfile::decode)?;
    let body = match a.path_map.is_empty() {
        true => stored.render(cwd, &d.targets, base_dir),
        false => stored.render_mapped(cwd, &d.targets, base_dir, family, |dep| {
            a.path_map.original_dependency(dep)
        }),
    }?;
    Some(Some((d.file.as_str(), body)))
}

/// Replays the stored stdout and stderr, stderr with the paths of this
/// checkout and colours as this call would get them.
fn replay(
    config: &Config,
    a: &ArgsAnalysis,
    unpacked: &Unpacked,
    cwd: &str,
    family: compiler::Family,
) {
    if let Some(stdout) = &unpacked.stdout {
        let _ = std::io::stdout().write_all(stdout);
    }
    let Some(stderr) = &unpacked.stderr else {
        return;
    };
    let relocated = match (&config.base_dir, &unpacked.working_dir) {
        (Some(base), Some(from)) => std::str::from_utf8(from)
            .ok()
            .and_then(|from| crate::paths::relocate_text(stderr, base, from, cwd)),
        _ => None,
    };
    let keep = !unpacked.coloured || color::wanted(color::choice(a), family);
    let relocated = relocated.as_deref().unwrap_or(stderr);
    let absolute = absolute_in_stderr(config, &a.path_map, relocated);
    let shown = color::present(&absolute, keep, family);
    let _ = std::io::stderr().write_all(&shown);
}

/// The compiler's diagnostics as this call shows them: with
/// `absolute_paths_in_stderr`, paths the compiler was given relative to
/// base_dir name this checkout's files as the call's own arguments did
/// (`map`, the analysis' `path_map`).
pub(super) fn absolute_in_stderr<'t>(
    config: &Config,
    map: &PathMap,
    text: &'t [u8],
) -> std::borrow::Cow<'t, [u8]> {
    if map.is_empty() || !config.absolute_paths_in_stderr {
        return std::borrow::Cow::Borrowed(text);
    }
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
/// the call's own arguments (`map`, the analysis' `path_map`; `None`:
/// nothing to change).
pub(super) fn user_spelled_depfile(
    map: &PathMap,
    body: &[u8],
    family: compiler::Family,
) -> Option<Vec<u8>> {
    if map.is_empty() {
        return None;
    }
    crate::depfile::map_back(body, family, |dep| map.original_dependency(dep))
}

/// Reads a stored result: the object streamed to the output (confirmed by
/// the caller only once everything checked out, removed otherwise), the
/// other files into memory. The outer error is a problem writing the
/// output (the call then runs the compiler); the inner one a bad entry,
/// found at the latest by `finish` (a result streamed from its file is
/// checked as it is read).
fn unpack(
    stored: &StoredResult,
    key: &Key,
    object_path: Option<&str>,
) -> Result<Result<Unpacked, String>, Fallback> {
    let opened = match stored {
        StoredResult::Bytes(bytes) => ResultStream::open(bytes, key),
        StoredResult::File(file, len) => ResultStream::open_file(file, *len, key),
    };
    let mut stream = match opened {
        Ok(s) => s,
        Err(why) => return Ok(Err(why)),
    };
    let mut u = Unpacked::default();
    loop {
        let (kind, len) = match stream.next_file() {
            Ok(Some(next)) => next,
            Ok(None) => break,
            Err(why) => return Ok(Err(why)),
        };
        let small = match kind {
            FileKind::Object | FileKind::RawObject => {
                if u.object.is_some() {
                    return Ok(Err("more than one object in the entry".into()));
                }
                let Some(output) = object_path else {
                    return Ok(Err("an object for a compile that writes none".into()));
                };
                match read_object(&mut stream, kind, len, output)? {
                    Ok(object) => u.object = Some(object),
                    Err(why) => return Ok(Err(why)),
                }
                continue;
            }
            FileKind::SplitDwarf
            | FileKind::CoverageNotes
            | FileKind::StackUsage
            | FileKind::CallGraph
            | FileKind::Listing => {
                if u.extras.iter().any(|(k, _)| *k == kind) {
                    return Ok(Err(format!("{kind:?} stored twice")));
                }
                match stream.read_small(len) {
                    Ok(data) => u.extras.push((kind, data)),
                    Err(why) => return Ok(Err(why)),
                }
                continue;
            }
            FileKind::Dependency => &mut u.dependency,
            FileKind::Stdout => &mut u.stdout,
            FileKind::Stderr | FileKind::ColouredStderr => {
                u.coloured = kind == FileKind::ColouredStderr;
                &mut u.stderr
            }
            FileKind::WorkingDir => &mut u.working_dir,
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
    if u.object.is_none() && object_path.is_some() {
        return Ok(Err("no object in the entry".into()));
    }
    Ok(Ok(u))
}

/// What a hit does with an extra output that is a symlink: what gcc does.
/// GNU as writes the `.dwo` (clang writes it through the link); cc1 and
/// the assembler's listing option open theirs with `fopen`.
fn symlink_rule(kind: FileKind) -> disk::Symlink {
    match kind {
        FileKind::SplitDwarf => disk::Symlink::Replace,
        _ => disk::Symlink::WriteThrough,
    }
}

/// The object of an entry: streamed into the output (`Object`), or the
/// reference to a raw object beside the entry (`RawObject`). The outer
/// error is a problem writing the output, the inner one a bad entry.
fn read_object(
    stream: &mut ResultStream,
    kind: FileKind,
    len: u64,
    output: &str,
) -> Result<Result<Object, String>, Fallback> {
    let bad_output =
        |e: std::io::Error| fallback(Counter::BadOutputFile, format!("writing {output}: {e}"));
    if kind == FileKind::Object {
        let out = disk::OutputFile::create(Path::new(output), disk::Symlink::Replace);
        let mut out = out.map_err(bad_output)?;
        return match stream.copy_to(len, &mut out) {
            Ok(()) => Ok(Ok(Object::Written(out))),
            Err(CopyError::Corrupt(why)) => Ok(Err(why)),
            Err(CopyError::Write(e)) => Err(bad_output(e)),
        };
    }
    let reference = stream
        .read_small(len)
        .and_then(|bytes| RawObjectRef::decode(&bytes));
    Ok(reference.map(Object::Raw))
}
