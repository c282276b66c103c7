//! Analysis of a gcc/clang command line: is this call cacheable, what is its
//! input, output and language, which arguments go into the key, and which are
//! given to the preprocessor run.
//!
//! One pass yields every form of the arguments: the option table reads each
//! argument once (`options::tokens`); with base_dir, the paths under it are
//! made relative (`relative::relativize`); the call is analysed as the
//! compiler will run it; and the keys' form of each argument is derived
//! from the same reading (`hash_form`).

use std::collections::HashMap;

use super::arg_scan::Scan;
use super::color::ColorChoice;
use super::hash_form;
use super::lang::Language;
use super::options;
use super::pch::PchOptions;
use super::profile::Profiling;
use super::relative::{self, Outcome, PathMap};
use crate::paths::{BaseDirs, WorkingDir};
use crate::stats::Counter;

pub(crate) use super::options::takes_separate_value;
pub use super::response::{
    expand_response_files, expand_response_files_as, split_response_text,
    split_windows_response_text, ResponseFormat,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepKind {
    /// `-MD`: every header.
    All,
    /// `-MMD`: no system headers.
    User,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DepOptions {
    pub kind: DepKind,
    /// The `.d` file the compiler writes.
    pub file: String,
    /// The make targets, as the compiler writes them.
    pub targets: Vec<String>,
    pub phony: bool,
}

/// A file the compiler writes besides the object and the `.d`, stored with
/// the object and written back on a hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtraKind {
    /// `-gsplit-dwarf`: the `.dwo` (only when the compile emits debug
    /// information at all, so it may be missing).
    SplitDwarf,
    /// `-ftest-coverage`/`--coverage`: the `.gcno`.
    CoverageNotes,
    /// `-fstack-usage`: the `.su`.
    StackUsage,
    /// `-fcallgraph-info`: the `.ci`.
    CallGraph,
    /// `-Wa,-a…=FILE`: the assembler's listing.
    Listing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraOutput {
    pub kind: ExtraKind,
    /// Where the compiler writes it, as it names it (relative to the cwd or absolute).
    pub path: String,
}

#[derive(Debug, Clone)]
pub struct ArgsAnalysis {
    /// The source file as the compiler is given it: relative where
    /// base_dir's rewrite made it so.
    pub input: String,
    /// The source file as the call's own arguments name it.
    pub user_input: String,
    /// The arguments the compiler runs with: the call's own (response
    /// files unexpanded), or, when base_dir's rewrite applies, the expanded
    /// ones with the paths under base_dir made relative.
    pub compiler_args: Vec<String>,
    /// The arguments as the compiler reads them: response files expanded,
    /// base_dir's rewrite applied, `--ccache-skip` markers left out. What
    /// decides how the compiler shows diagnostics and whether the object
    /// records its command line may come from a response file.
    pub read_args: Vec<String>,
    /// How to map the paths the compiler writes for the rewritten ones back
    /// to the call's own spelling (empty: nothing was rewritten).
    pub path_map: PathMap,
    /// What base_dir's rewrite did, kept or declined, for the call's log.
    pub base_dir_notes: Vec<String>,
    /// The keys' form of each argument that differs from it (`hash_form`).
    pub(super) hash_forms: HashMap<String, String>,
    /// OLD of each prefix map the keys hash by its place below the working
    /// directory (see `hash_form::cwd_prefix_maps`): a header the compile
    /// reads by an absolute path under one is mapped in this directory and
    /// would not be in another.
    pub cwd_mapped_dirs: Vec<String>,
    pub language: Language,
    /// The object (or `-S` assembly) file the compiler writes.
    pub output: String,
    pub deps: Option<DepOptions>,
    /// Arguments that decide the output, in order, without input, output and
    /// dependency-file names and without `cpp_args`, as the compiler is
    /// given them (the keys take their `hash_form`).
    pub hash_args: Vec<String>,
    /// Arguments that act on the preprocessor only (`-D`, `-I`, `-include`
    /// …): their whole effect is in the preprocessed text.
    pub cpp_args: Vec<String>,
    /// The object depends on the preprocessed text and `hash_args` alone,
    /// so the result key may leave out `cpp_args`, as in ccache's
    /// preprocessor mode. Not with macro debug information, a recorded
    /// command line, a `.d` or a precompiled header.
    pub shares_preprocessed: bool,
    /// The call's arguments for a `-E` run: without -c/-S/-o and dependency options.
    pub preprocessor_args: Vec<String>,
    /// `-g` (other than `-g0`): the working directory may end up in the object.
    pub debug_info: bool,
    /// Files named by options whose content decides the output (plugins, specs, profiles).
    pub extra_files: Vec<String>,
    /// The option (as given) that named each of `extra_files`, in order.
    pub extra_file_options: Vec<String>,
    /// `-march=native` and friends: the output depends on this machine's CPU.
    pub native_cpu: bool,
    /// Files written besides the object and the `.d`.
    pub extra_outputs: Vec<ExtraOutput>,
    /// `-fsyntax-only`: no object, only diagnostics (and maybe a `.d`).
    pub syntax_only: bool,
    /// The last colour option, if any (left out of the key: it changes only
    /// how diagnostics look, and those are shown per call).
    pub color: Option<ColorChoice>,
    /// clang's `-frecord-command-line`: the object holds the command line.
    pub records_command_line: bool,
    /// Coverage and profile options.
    pub profiling: Profiling,
    /// What the call says about precompiled headers.
    pub pch: PchOptions,
    /// clang's `-fmodules`: the object depends on module maps and the
    /// headers behind them, which only the `.d` names.
    pub modules: bool,
}

/// Does `ignore_options` leave `arg` out of the keys? A pattern matches
/// the whole option, or with a trailing `*` (only there, as in ccache)
/// its beginning. Only options count: never what objcache itself adds to
/// the key (`objcache-…` entries) or an operand.
pub fn is_ignored_option(arg: &str, patterns: &[String]) -> bool {
    arg.starts_with('-')
        && patterns.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => arg.starts_with(prefix),
            None => arg == p,
        })
}

/// `args` without the options `ignore_options` names, nor the separate
/// value (`-I dir`) of one of them.
pub fn keyed_args<'a>(args: &'a [String], patterns: &[String]) -> Vec<&'a String> {
    without_options(args, |arg| is_ignored_option(arg, patterns))
}

/// `args` without each argument `drop` picks, nor the separate value
/// (`-I dir`) of a dropped option that takes one.
pub fn without_options<T: AsRef<str>>(
    args: impl IntoIterator<Item = T>,
    drop: impl Fn(&str) -> bool,
) -> Vec<T> {
    let mut args = args.into_iter();
    let mut kept = Vec::with_capacity(args.size_hint().0);
    while let Some(arg) = args.next() {
        if !drop(arg.as_ref()) {
            kept.push(arg);
        } else if takes_separate_value(arg.as_ref()) {
            args.next(); // its value
        }
    }
    kept
}

/// `args` without each argument read as the option `name` (not as
/// another option's value) and the value it takes after it; and how many
/// it left out.
fn without_separate_option(args: &[String], name: &str) -> (Vec<String>, usize) {
    let tokens = options::tokens(args);
    let mut kept = Vec::with_capacity(args.len());
    let mut dropped = 0;
    let mut i = 0;
    while i < args.len() {
        if args[i] == name && !tokens[i].is_value {
            dropped += 1;
            i += 2;
            continue;
        }
        kept.push(args[i].clone());
        i += 1;
    }
    (kept, dropped)
}

/// The arguments as the compiler is given them: without `--ccache-skip`,
/// which tells objcache to pass the argument after it on uninterpreted
/// (and is passed on itself only as such an argument). The compiler would
/// reject it.
pub fn without_skip_markers<T: AsRef<std::ffi::OsStr> + Clone>(args: &[T]) -> Vec<T> {
    let mut kept = Vec::with_capacity(args.len());
    let mut skipped = false;
    for arg in args {
        if !skipped && arg.as_ref() == "--ccache-skip" {
            skipped = true;
            continue;
        }
        skipped = false;
        kept.push(arg.clone());
    }
    kept
}

/// Analyses an (already response-file-expanded) argument list, without
/// base_dir. `Err` names the counter that says why the call cannot be cached.
pub fn analyse(args: &[String]) -> Result<ArgsAnalysis, Counter> {
    analyse_call(args, args, None)
}

/// Where a call runs, and base_dir if set: what its paths are related to.
#[derive(Clone, Copy)]
pub struct Place<'a> {
    pub dirs: &'a WorkingDir,
    pub base_dir: Option<&'a BaseDirs>,
}

/// Analyses a call once for every use: `call`, its own arguments;
/// `expanded`, the same with response files expanded; `place`, the working
/// directory and base_dir its paths are related to (`None`: not related).
/// `Err` names the counter that says why the call cannot be cached.
pub fn analyse_call(
    call: &[String],
    expanded: &[String],
    place: Option<Place>,
) -> Result<ArgsAnalysis, Counter> {
    let tokens = options::tokens(expanded);
    let base = place.and_then(|p| Some((p.base_dir?, p.dirs)));
    let outcome = base.map(|(base_dir, dirs)| {
        relative::relativize(expanded, &tokens, &dirs.apparent, &dirs.physical, base_dir)
    });
    let rewritten = match &outcome {
        Some(Outcome::Rewritten(r)) => Some(r),
        _ => None,
    };
    let args = rewritten.map_or(expanded, |r| &r.args);
    let mut scan = Scan::new();
    let mut i = 0;
    while i < args.len() {
        i += scan.argument(args, i, tokens[i].entry(&args[i]))?;
    }
    let mut a = scan.decide(expanded)?;
    if let Some((base_dir, dirs)) = base {
        let recorded = a.debug_info || a.records_command_line;
        a.hash_forms = hash_form::hash_forms(args, &tokens, &dirs.apparent, base_dir, recorded);
    }
    if let Some(p) = place {
        a.cwd_mapped_dirs = hash_form::cwd_prefix_maps(args, &tokens, p.dirs, &mut a.hash_forms);
    }
    a.base_dir_notes = outcome.as_ref().map(Outcome::notes).unwrap_or_default();
    a.read_args = without_skip_markers(args);
    let relative_output = base.and_then(|(base_dir, dirs)| split_dwarf_output(&a, base_dir, dirs));
    match outcome {
        Some(Outcome::Rewritten(r)) => {
            (a.compiler_args, a.path_map) = (without_skip_markers(&r.args), r.map);
        }
        _ if relative_output.is_some() => a.compiler_args = without_skip_markers(expanded),
        _ => a.compiler_args = without_skip_markers(call),
    }
    if let Some(rel) = relative_output {
        give_output_as(&mut a, &tokens, &rel);
    }
    Ok(a)
}

/// The object's relative spelling to give the compiler, when it writes
/// split DWARF (the object names its `.dwo` by the output as given) and
/// the object lies under base_dir. Not when a `.d` takes its target from
/// the output: that would change too.
fn split_dwarf_output(a: &ArgsAnalysis, base: &BaseDirs, dirs: &WorkingDir) -> Option<String> {
    let split = a
        .extra_outputs
        .iter()
        .any(|e| e.kind == ExtraKind::SplitDwarf);
    let default_target = a
        .deps
        .as_ref()
        .is_some_and(|d| d.targets == [a.output.as_str()]);
    if !split || default_target {
        return None;
    }
    relative::relative_output(&a.output, &dirs.apparent, &dirs.physical, base)
}

/// Gives the compiler the object as `rel` (its last `-o`, which names
/// `a.output`), and keys the `.dwo` name by it.
fn give_output_as(a: &mut ArgsAnalysis, tokens: &[options::Token], rel: &str) {
    let args = &mut a.compiler_args;
    let last = (0..args.len()).rev().find(|&i| {
        !tokens[i].is_value && tokens[i].entry(&args[i]).is_some_and(|m| m.name() == "-o")
    });
    let Some(i) = last else {
        return;
    };
    match args.get(i + 1) {
        Some(next) if args[i] == "-o" && *next == a.output => args[i + 1] = rel.to_string(),
        _ if args[i] == format!("-o{}", a.output) => args[i] = format!("-o{rel}"),
        _ => return,
    }
    let split = format!("objcache-split-dwarf:{}", a.output);
    for arg in a.hash_args.iter_mut().filter(|h| **h == split) {
        *arg = format!("objcache-split-dwarf:{rel}");
    }
    a.base_dir_notes.push(format!(
        "base_dir: object given as {rel} (split DWARF names its .dwo by it)"
    ));
}

impl ArgsAnalysis {
    /// The form of an argument the compiler is given (one of `hash_args`,
    /// `cpp_args` or `input`) that goes into the keys: the same, but for
    /// absolute paths under base_dir (see `hash_form`).
    pub fn hash_form<'s>(&'s self, arg: &'s str) -> &'s str {
        self.hash_forms.get(arg).map_or(arg, String::as_str)
    }

    /// Leaves the option `name` (one that takes the next argument as its
    /// value) and its value out of every form of the arguments: the keys',
    /// the compiler's and the `-E` run's. When a response file holds one,
    /// which cannot be cut out of it, the compiler is given the arguments
    /// expanded. `true` when there was one.
    pub fn remove_separate_option(&mut self, name: &str) -> bool {
        if !self.read_args.iter().any(|x| x == name) {
            return false;
        }
        let (read, read_count) = without_separate_option(&self.read_args, name);
        if read_count == 0 {
            return false;
        }
        let (given, given_count) = without_separate_option(&self.compiler_args, name);
        self.compiler_args = match given_count < read_count {
            true => read.clone(),
            false => given,
        };
        self.read_args = read;
        self.preprocessor_args = without_separate_option(&self.preprocessor_args, name).0;
        self.hash_args = without_separate_option(&self.hash_args, name).0;
        true
    }

    /// The language the result key names. Without debug information, `t.c`
    /// and the `t.i` made from it give the same object and share a result;
    /// with it they do not (the line table of `t.c` has the columns of its
    /// macros, that of `t.i` those of their expansions).
    pub fn key_language(&self) -> Language {
        if self.shares_preprocessed && !self.debug_info {
            self.language.preprocessed()
        } else {
            self.language
        }
    }

    /// Does the object hold the command line the compiler ran with? clang
    /// writes it with `-frecord-command-line` (into a section) and
    /// `-grecord-command-line` (into the debug information), and takes
    /// gcc's `-f`/`-grecord-gcc-switches` as the same options; the last of
    /// each pair wins. gcc's own `-frecord-gcc-switches` and
    /// `-grecord-gcc-switches` leave out the options that change only
    /// diagnostics (colour among them), which the key leaves out too.
    pub fn object_records_command_line(&self, family: super::Family) -> bool {
        if self.records_command_line {
            return true;
        }
        if family != super::Family::Clang {
            return false;
        }
        let (mut section, mut debug) = (false, false);
        for arg in &self.read_args {
            match arg.as_str() {
                "-frecord-command-line" | "-frecord-gcc-switches" => section = true,
                "-fno-record-command-line" | "-fno-record-gcc-switches" => section = false,
                "-grecord-command-line" | "-grecord-gcc-switches" => debug = true,
                "-gno-record-command-line" | "-gno-record-gcc-switches" => debug = false,
                _ => {}
            }
        }
        section || debug
    }
}

#[cfg(test)]
mod tests;
