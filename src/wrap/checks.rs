//! The checks ccache makes of a call's files before it looks anything up,
//! each ending the cached path with its own counter: the source is no file
//! (`no_input_file`), the output cannot be written (`bad_output_file`), the
//! source asks not to be cached (`disabled`), an include is no regular file
//! (`bad_input_file`); and after a depend-mode compile, whether a file it
//! read changed meanwhile (`modified_input_file`).

use super::{fallback, Fallback};
use crate::compiler::args::ArgsAnalysis;
use crate::hash::includes::ReadFile;
use crate::hash::recipe::{PchInput, Recipe};
use crate::hash::source::SourceFacts;
use crate::paths;
use crate::stats::Counter;

fn is_dev_null(path: &str) -> bool {
    path == "/dev/null"
}

/// What ccache checks of the input and output named by the arguments. An
/// argument that is not an existing regular file is no input to ccache,
/// so a missing source or a directory is a call without input; an output
/// that is not a regular file, or whose directory does not exist, cannot
/// be written.
pub(super) fn files_named(a: &ArgsAnalysis, cwd: &str) -> Result<(), Fallback> {
    if !is_dev_null(&a.input) {
        let input = paths::resolve_in(cwd, &a.input);
        if !std::fs::metadata(&input).is_ok_and(|m| m.is_file()) {
            return Err(fallback(
                Counter::NoInputFile,
                format!("{} is not a regular file", a.input),
            ));
        }
    }
    if a.syntax_only || is_dev_null(&a.output) {
        return Ok(());
    }
    let output = paths::resolve_in(cwd, &a.output);
    if std::fs::metadata(&output).is_ok_and(|m| !m.is_file()) {
        return Err(fallback(
            Counter::BadOutputFile,
            format!("{} is not a regular file", a.output),
        ));
    }
    let dir = paths::dirname(&a.output);
    if !dir.is_empty() && !std::fs::metadata(paths::resolve_in(cwd, dir)).is_ok_and(|m| m.is_dir())
    {
        return Err(fallback(
            Counter::BadOutputFile,
            format!("directory {dir} does not exist"),
        ));
    }
    Ok(())
}

/// The counter of a call whose arguments cannot be cached (`found`, the
/// first objection), as ccache picks it: ccache reads every argument first
/// and objects to an option (`-E`, a refused option, a missing value), a
/// language or a link only after it found the inputs (the arguments that
/// are existing regular files): none is `no_input_file`, several are a
/// link or `multiple_source_files`, and `-o -` is `output_to_stdout`.
pub(super) fn ccache_precedence(args: &[String], cwd: &str, found: Counter) -> Counter {
    use Counter::*;
    let mut inputs: Vec<&str> = Vec::new();
    let (mut compiles, mut to_stdout) = (false, false);
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        i += 1;
        match a {
            "-o" => {
                to_stdout = next == Some("-");
                i += 1;
            }
            "-o-" => to_stdout = true,
            "-c" | "-S" | "-fsyntax-only" | "--analyze" => compiles = true,
            "--ccache-skip" => i += 1,
            _ if a.starts_with('-') => {
                if crate::compiler::args::takes_separate_value(a) {
                    i += 1;
                }
            }
            _ if is_dev_null(a) => inputs.push(a),
            _ => {
                let file = std::fs::metadata(paths::resolve_in(cwd, a));
                if file.is_ok_and(|m| m.is_file()) {
                    inputs.push(a);
                }
            }
        }
    }
    match inputs.as_slice() {
        [] => NoInputFile,
        [_] if to_stdout => OutputToStdout,
        [_] => found,
        _ if compiles => MultipleSourceFiles,
        [first, ..] if first.contains("conftest.") => AutoconfTest,
        _ => CalledForLink,
    }
}

/// `ccache:disable` in the first 4 KiB of the source (see `SourceFacts`):
/// the call runs the compiler uncached and counts `disabled`.
pub(super) fn disabled_by_source(input: &str, facts: Option<&SourceFacts>) -> Result<(), Fallback> {
    if facts.is_some_and(|f| f.disabled) {
        return Err(fallback(
            Counter::Disabled,
            format!("{input} asks not to be cached"),
        ));
    }
    Ok(())
}

/// An include that exists but is neither a regular file nor a directory
/// (a device, a FIFO): ccache cannot hash it and counts `bad_input_file`.
pub(super) fn includes_are_files(files: &[ReadFile], cwd: &str) -> Result<(), Fallback> {
    for f in files {
        let Ok(m) = std::fs::metadata(paths::resolve_in(cwd, &f.path)) else {
            continue;
        };
        if !m.is_file() && !m.is_dir() {
            return Err(fallback(
                Counter::BadInputFile,
                format!("include {} is not a regular file", f.path),
            ));
        }
    }
    Ok(())
}

/// Why the files a depend-mode compile read cannot make a key, if they
/// cannot: one is not a regular file, one changed while the compiler
/// ran, or (there is no preprocessed text to search) one uses an
/// assembler directive that reads other files.
pub(super) fn depend_mode_inputs(
    recipe: &Recipe,
    files: &[ReadFile],
    pch: &[PchInput],
) -> Result<(), Fallback> {
    let (a, cwd) = (recipe.analysis, recipe.cwd);
    includes_are_files(files, cwd)?;
    if let Some(why) = recipe.changed_since_start(files, pch) {
        return Err(fallback(
            Counter::ModifiedInputFile,
            format!("{why} changed in the timestamp tick of the call's start or later"),
        ));
    }
    for path in std::iter::once(a.input.as_str()).chain(files.iter().map(|f| f.path.as_str())) {
        let content = std::fs::read(paths::resolve_in(cwd, path)).unwrap_or_default();
        recipe.refuse_unseen_inputs(path, &content)?;
    }
    Ok(())
}
