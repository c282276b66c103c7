//! Analysis of a gcc/clang command line: is this call cacheable, what is its
//! input, output and language, which arguments go into the key, and which are
//! given to the preprocessor run.

use std::path::Path;

use super::lang::{classify_by_extension, InputKind, Language};
use super::pch::PchOptions;
use super::profile::Profiling;
use crate::stats::Counter;

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
    /// The source file as given on the command line.
    pub input: String,
    pub language: Language,
    /// The object (or `-S` assembly) file the compiler writes.
    pub output: String,
    pub deps: Option<DepOptions>,
    /// Arguments that decide the output, in order, without input, output and
    /// dependency-file names and without `cpp_args` (base_dir rewriting
    /// happens when hashing).
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
    /// `-march=native` and friends: the output depends on this machine's CPU.
    pub native_cpu: bool,
    /// Files written besides the object and the `.d`.
    pub extra_outputs: Vec<ExtraOutput>,
    /// `-fsyntax-only`: no object, only diagnostics (and maybe a `.d`).
    pub syntax_only: bool,
    /// The last colour option, if any (left out of the key: it changes only
    /// how diagnostics look, and those are shown per call).
    pub color: Option<super::color::ColorChoice>,
    /// clang's `-frecord-command-line`: the object holds the command line.
    pub records_command_line: bool,
    /// Coverage and profile options.
    pub profiling: Profiling,
    /// What the call says about precompiled headers.
    pub pch: PchOptions,
}

/// Options that take their value as the next argument.
const TAKES_ARG: &[&str] = &[
    "-A",
    "-B",
    "-D",
    "-F",
    "-I",
    "-L",
    "-MF",
    "-MQ",
    "-MT",
    "-T",
    "-U",
    "-Xassembler",
    "-Xclang",
    "-Xlinker",
    "-Xpreprocessor",
    "-Xanalyzer",
    "-aux-info",
    "-arch",
    "-b",
    "-e",
    "-gcc-toolchain",
    "-idirafter",
    "-iframework",
    "-imacros",
    "-imultilib",
    "-include",
    "-include-pch",
    "-iprefix",
    "-iquote",
    "-isysroot",
    "-isystem",
    "-isystem-after",
    "-iwithsysroot",
    "-iframeworkwithsysroot",
    "-cxx-isystem",
    "-stdlib++-isystem",
    "-resource-dir",
    "-ivfsoverlay",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-l",
    "-mllvm",
    "-o",
    "-target",
    "-u",
    "-x",
    "-z",
    "--param",
    "--sysroot",
    "-dumpbase",
    "-dumpbase-ext",
    "-dumpdir",
    "-specs",
    "--serialize-diagnostics",
    "-working-directory",
];

/// Does option `a` take its value as the next argument?
pub(crate) fn takes_separate_value(a: &str) -> bool {
    TAKES_ARG.contains(&a) || a.starts_with("-Xarch_")
}

/// Options that make the compiler write files besides the object, or read
/// files we cannot hash: calls with them run uncached (see docs/compatibility.md).
fn unsupported_option(arg: &str) -> bool {
    const EXACT: &[&str] = &[
        "-save-temps",
        "--save-temps",
        "-MJ",
        "-aux-info",
        "-fmodules",
        "-fcxx-modules",
        "-MG",
        "--serialize-diagnostics",
    ];
    const PREFIXES: &[&str] = &[
        "-save-temps=",
        // clang's `=single` keeps the split sections in the object; not followed.
        "-gsplit-dwarf=",
        "-fdump-",
        "-ftime-trace",
        "-fmodules-ts",
        "-fmodule-file",
        "--analyze",
    ];
    EXACT.contains(&arg) || PREFIXES.iter().any(|p| arg.starts_with(p))
}

/// Options that act on the preprocessor only, with their value attached or
/// as the next argument. (`-include-pch` is not one: the precompiled
/// header's content is hashed, and clang reads it as a compile input.)
const PREPROCESSOR_ONLY: &[&str] = &[
    "-D",
    "-I",
    "-U",
    "-cxx-isystem",
    "-idirafter",
    "-imacros",
    "-include",
    "-iprefix",
    "-iquote",
    "-isystem",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-nostdinc",
    "-nostdinc++",
];

fn preprocessor_only(arg: &str) -> bool {
    arg != "-include-pch" && PREPROCESSOR_ONLY.iter().any(|p| arg.starts_with(p))
}

/// Debug information with macro definitions: `-D` and `-include` reach
/// the object by a way the preprocessed text does not show.
fn macro_debug_info(arg: &str) -> bool {
    matches!(arg, "-fdebug-macro") || (arg.starts_with("-g") && arg.ends_with('3'))
}

/// Options naming a file whose content must be hashed.
const FILE_VALUE_PREFIXES: &[&str] = &[
    "-fplugin=",
    "-specs=",
    "--specs=",
    "-fprofile-sample-use=",
    "-fauto-profile=",
    "-fsanitize-blacklist=",
    "-fsanitize-ignorelist=",
    "-fpass-plugin=",
];

/// Quotes a target for `-MQ` as make needs it.
fn quote_target(t: &str) -> String {
    let mut out = String::new();
    for c in t.chars() {
        match c {
            '$' => out.push_str("$$"),
            ' ' | '\t' => {
                out.push('\\');
                out.push(c);
            }
            '#' => out.push_str("\\#"),
            _ => out.push(c),
        }
    }
    out
}

/// `dir/name.ext` → `dir/name` + `new_ext` (only the file name's extension).
pub(crate) fn with_extension(path: &str, new_ext: &str) -> String {
    let (dir, file) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    let stem = match file.rfind('.') {
        Some(i) if i > 0 => &file[..i],
        _ => file,
    };
    format!("{dir}{stem}{new_ext}")
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Response files read for one call at most (gcc stops at 2000 too).
const MAX_RESPONSE_FILES: usize = 2000;
/// Bytes of response files read for one call at most.
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// Expands `@file` response files (gcc's quoting: quotes and backslashes),
/// recursively. An unreadable one stays as it is, as gcc leaves it. `Err`
/// when the files are too many or too large to be real (a file naming
/// itself several times, `@/dev/zero`): the call then runs uncached.
pub fn expand_response_files(args: &[String], cwd: &Path) -> Result<Vec<String>, String> {
    struct Budget {
        files: usize,
        bytes: u64,
    }
    fn read_limited(path: &Path, budget: &mut Budget) -> Result<Option<String>, String> {
        use std::io::Read;
        let Ok(file) = std::fs::File::open(path) else {
            return Ok(None);
        };
        // Only a plain file: a FIFO or device could block or never end.
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Ok(None);
        }
        budget.files += 1;
        if budget.files > MAX_RESPONSE_FILES {
            return Err(format!("more than {MAX_RESPONSE_FILES} response files"));
        }
        let mut text = Vec::new();
        let left = MAX_RESPONSE_BYTES - budget.bytes;
        file.take(left + 1)
            .read_to_end(&mut text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if text.len() as u64 > left {
            return Err(format!(
                "response files larger than {MAX_RESPONSE_BYTES} bytes"
            ));
        }
        budget.bytes += text.len() as u64;
        Ok(String::from_utf8(text).ok())
    }
    fn expand(
        args: &[String],
        cwd: &Path,
        depth: usize,
        budget: &mut Budget,
        out: &mut Vec<String>,
    ) -> Result<(), String> {
        for a in args {
            match a.strip_prefix('@') {
                Some(file) if depth < 10 => match read_limited(&cwd.join(file), budget)? {
                    Some(text) => expand(&split_response_text(&text), cwd, depth + 1, budget, out)?,
                    None => out.push(a.clone()),
                },
                _ => out.push(a.clone()),
            }
        }
        Ok(())
    }
    let mut out = Vec::with_capacity(args.len());
    let mut budget = Budget { files: 0, bytes: 0 };
    expand(args, cwd, 0, &mut budget, &mut out)?;
    Ok(out)
}

/// Splits a response file's text into arguments, with gcc's quoting
/// (quotes and backslashes). Public for the fuzz targets (tests/fuzz).
pub fn split_response_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_token = true;
            }
            (q, Some(open)) if q == open => quote = None,
            (_, Some(_)) => cur.push(c),
            ('\'' | '"', None) => {
                quote = Some(c);
                in_token = true;
            }
            (c, None) if c.is_whitespace() => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            _ => {
                cur.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        out.push(cur);
    }
    out
}

/// Analyses an (already response-file-expanded) argument list. `Err` names
/// the counter that says why the call cannot be cached.
pub fn analyse(args: &[String]) -> Result<ArgsAnalysis, Counter> {
    let mut compile = false;
    let mut assembly = false;
    let mut output: Option<String> = None;
    let mut dep_kind: Option<DepKind> = None;
    let mut dep_file: Option<String> = None;
    let mut targets: Vec<String> = Vec::new();
    let mut phony = false;
    let mut explicit_lang: Option<Option<Language>> = None;
    let mut inputs: Vec<(String, InputKind)> = Vec::new();
    let mut hash_args = Vec::new();
    let mut pp_args = Vec::new();
    let mut debug_info = false;
    let mut extra_files = Vec::new();
    let mut native_cpu = false;
    let mut records_command_line = false;
    let mut color = None;
    let mut split_dwarf = false;
    let mut dump_names = false;
    let mut syntax_only = false;
    let mut cpp_args = Vec::new();
    let mut macro_debug = false;
    let mut profiling = Profiling::default();
    let mut pch = PchOptions {
        timestamp: true,
        ..PchOptions::default()
    };
    // Extra outputs named after the object (`.su`, `.ci`), and the assembler listing.
    let mut aux_outputs: Vec<(ExtraKind, &str)> = Vec::new();
    let mut listing: Option<String> = None;

    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        // The value of an option given as `-X value` or `-Xvalue`.
        let value_of = |opt: &str| -> Option<(String, usize)> {
            if a == opt {
                next.map(|v| (v.to_string(), 2))
            } else {
                a.strip_prefix(opt).map(|v| (v.to_string(), 1))
            }
        };
        match a {
            "-c" => {
                compile = true;
                hash_args.push(a.to_string());
                i += 1;
                continue;
            }
            "-S" => {
                assembly = true;
                hash_args.push(a.to_string());
                i += 1;
                continue;
            }
            "-E" | "-M" | "-MM" => return Err(Counter::CalledForPreprocessing),
            "-MD" | "-MMD" => {
                dep_kind = Some(if a == "-MD" {
                    DepKind::All
                } else {
                    DepKind::User
                });
                i += 1;
                continue;
            }
            "-MP" => {
                phony = true;
                i += 1;
                continue;
            }
            "-fsyntax-only" => {
                // Not for the `-E` run: clang warns that it is unused there.
                syntax_only = true;
                hash_args.push(a.to_string());
                i += 1;
                continue;
            }
            "--ccache-skip" => {
                if let Some(n) = next {
                    hash_args.push(n.to_string());
                    pp_args.push(n.to_string());
                }
                i += 2;
                continue;
            }
            "-" => return Err(Counter::UnsupportedCompilerOption),
            _ => {}
        }
        if unsupported_option(a) {
            return Err(Counter::UnsupportedCompilerOption);
        }
        if a.starts_with("-MF") || a.starts_with("-MT") || a.starts_with("-MQ") {
            let opt = &a[..3];
            let Some((v, used)) = value_of(opt) else {
                return Err(Counter::BadCompilerArguments);
            };
            match opt {
                "-MF" => dep_file = Some(v),
                "-MT" => targets.push(v),
                _ => targets.push(quote_target(&v)),
            }
            i += used;
            continue;
        }
        if let Some(choice) = super::color::parse_option(a) {
            color = Some(choice);
            pp_args.push(a.to_string());
            i += 1;
            continue;
        }
        if let Some(wp) = a.strip_prefix("-Wp,") {
            if let Some(f) = wp.strip_prefix("-MD,") {
                dep_kind = Some(DepKind::All);
                dep_file = Some(f.to_string());
            } else if let Some(f) = wp.strip_prefix("-MMD,") {
                dep_kind = Some(DepKind::User);
                dep_file = Some(f.to_string());
            } else if wp.split(',').any(|p| p.starts_with("-M")) {
                return Err(Counter::UnsupportedCompilerOption);
            } else {
                hash_args.push(a.to_string());
                pp_args.push(a.to_string());
            }
            i += 1;
            continue;
        }
        if a == "-o" || (a.starts_with("-o") && a.len() > 2) {
            let Some((v, used)) = value_of("-o") else {
                return Err(Counter::BadCompilerArguments);
            };
            output = Some(v);
            i += used;
            continue;
        }
        if a == "-x" || (a.starts_with("-x") && a.len() > 2) {
            let Some((v, used)) = value_of("-x") else {
                return Err(Counter::BadCompilerArguments);
            };
            explicit_lang = if v == "none" {
                None
            } else {
                Some(Language::from_x(&v))
            };
            // The language itself is hashed.
            for arg in &args[i..i + used] {
                cpp_args.push(arg.clone());
                pp_args.push(arg.clone());
            }
            i += used;
            continue;
        }
        if a.starts_with('-') {
            if a.starts_with("-g") && !a.starts_with("-gno-") {
                // `-gsplit-dwarf` counts too: older compilers let it turn
                // debug information on (more in the key, never less).
                debug_info = a != "-g0";
                split_dwarf |= a == "-gsplit-dwarf";
            }
            dump_names |= a.starts_with("-dumpdir") || a.starts_with("-dumpbase");
            if a.ends_with("=native") {
                native_cpu = true;
            }
            if let Some(p) = FILE_VALUE_PREFIXES.iter().find(|p| a.starts_with(**p)) {
                extra_files.push(a[p.len()..].to_string());
            }
            pch.observe(a, next);
            let after_next = match (args.get(i + 2).map(String::as_str), args.get(i + 3)) {
                (Some("-Xclang"), value) => value.map(String::as_str),
                _ => None,
            };
            match (a, next, after_next) {
                ("-Xclang", Some("-load"), Some(plugin)) => extra_files.push(plugin.to_string()),
                ("-Xclang", Some("-include-pch"), Some(file)) => {
                    pch.named.push(file.to_string());
                }
                ("-Xclang", Some("-emit-pch"), _) => {
                    // Not for the `-E` run: clang would write the PCH to stdout.
                    pch.creates = true;
                    hash_args.extend([a.to_string(), "-emit-pch".to_string()]);
                    i += 2;
                    continue;
                }
                ("-Xclang", Some("-fno-pch-timestamp"), _) => pch.timestamp = false,
                _ => {}
            }
            if matches!(a, "-grecord-command-line" | "-frecord-command-line") {
                records_command_line = true;
            } else if matches!(a, "-gno-record-command-line" | "-fno-record-command-line") {
                records_command_line = false;
            }
            macro_debug |= macro_debug_info(a);
            profiling.observe(a);
            if a == "-fstack-usage" {
                aux_outputs.push((ExtraKind::StackUsage, ".su"));
            } else if a.starts_with("-fcallgraph-info") {
                aux_outputs.push((ExtraKind::CallGraph, ".ci"));
            } else if a == "-fauto-profile" {
                extra_files.push("fbdata.afdo".to_string());
            }
            let assembler_opts = match (a, next) {
                ("-Xassembler", Some(v)) => Some(v),
                _ => a.strip_prefix("-Wa,"),
            };
            for part in assembler_opts.into_iter().flat_map(|v| v.split(',')) {
                // `-a…=FILE` writes a listing; without a file it goes to stdout.
                if let (true, Some((_, file))) = (part.starts_with("-a"), part.split_once('=')) {
                    listing = Some(file.to_string());
                }
            }
            let used = if takes_separate_value(a) { 2 } else { 1 };
            if used == 2 && next.is_none() {
                return Err(Counter::BadCompilerArguments);
            }
            if a == "-specs" {
                extra_files.push(next.unwrap().to_string());
            }
            let keyed = if preprocessor_only(a) {
                &mut cpp_args
            } else {
                &mut hash_args
            };
            for arg in &args[i..i + used] {
                keyed.push(arg.clone());
                pp_args.push(arg.clone());
            }
            i += used;
            continue;
        }
        // A non-option argument: an input file.
        let kind = match explicit_lang {
            Some(Some(lang)) => InputKind::Source(lang),
            Some(None) => InputKind::Unsupported,
            None => classify_by_extension(a),
        };
        if kind == InputKind::LinkerInput {
            // Not compiled, but the compiler names it in a warning ("linker
            // input file unused"), and an operand that is really an option's
            // value must never be left out of the key.
            hash_args.push(format!("objcache-operand:{a}"));
        }
        inputs.push((a.to_string(), kind));
        pp_args.push(a.to_string());
        i += 1;
    }

    let sources: Vec<&(String, InputKind)> = inputs
        .iter()
        .filter(|(_, k)| *k != InputKind::LinkerInput)
        .collect();
    if let [(_, InputKind::Source(lang))] = sources.as_slice() {
        pch.creates |= lang.is_header();
    }
    if pch.creates && (assembly || syntax_only) {
        return Err(Counter::UnsupportedCompilerOption);
    }
    if !compile && !assembly && !syntax_only && !pch.creates {
        return Err(if inputs.is_empty() {
            Counter::NoInputFile
        } else {
            Counter::CalledForLink
        });
    }
    let (input, kind) = match sources.as_slice() {
        [] => return Err(Counter::NoInputFile),
        [one] => (one.0.clone(), one.1),
        _ => return Err(Counter::MultipleSourceFiles),
    };
    let InputKind::Source(language) = kind else {
        return Err(Counter::UnsupportedSourceLanguage);
    };
    if basename(&input).starts_with("conftest.") {
        return Err(Counter::AutoconfTest);
    }
    if output.as_deref() == Some("-") {
        return Err(Counter::OutputToStdout);
    }
    let output_given = output.is_some();
    if pch.creates && !output_given {
        // gcc and clang put `pch.h.gch` beside the header.
        if !language.is_header() {
            return Err(Counter::UnsupportedCompilerOption);
        }
        output = Some(format!("{input}.gch"));
    }
    if records_command_line {
        // clang writes its whole command line, output and input names
        // included, into the object.
        hash_args.push(format!(
            "objcache-recorded-output:{}",
            output.as_deref().unwrap_or("")
        ));
        hash_args.push(format!("objcache-recorded-input:{input}"));
    }
    let output = output
        .unwrap_or_else(|| with_extension(basename(&input), if assembly { ".s" } else { ".o" }));
    // The `.dwo` name follows the output's unless `-dumpdir`/`-dumpbase`
    // say otherwise (not followed), and compilers disagree for `.name`.
    let unusual_dwo_name = dump_names || basename(&output).starts_with('.');
    let mut extra_outputs = Vec::new();
    if profiling.notes {
        let path = match &profiling.notes_path {
            Some(p) => p.clone(),
            None => with_extension(&output, ".gcno"),
        };
        extra_outputs.push(ExtraOutput {
            kind: ExtraKind::CoverageNotes,
            path,
        });
    }
    for (kind, ext) in aux_outputs {
        extra_outputs.push(ExtraOutput {
            kind,
            path: with_extension(&output, ext),
        });
    }
    // Without -c, gcc names these after a link's output (`a-x.su`).
    if (dump_names || (syntax_only && !compile)) && !extra_outputs.is_empty() {
        return Err(Counter::UnsupportedCompilerOption);
    }
    if let Some(path) = listing {
        extra_outputs.push(ExtraOutput {
            kind: ExtraKind::Listing,
            path,
        });
    }
    if profiling.arcs {
        // The object names its `.gcda` by this path, made absolute.
        hash_args.push(format!("objcache-gcda-base:{output}"));
    }
    match (split_dwarf, assembly || unusual_dwo_name) {
        (false, _) => {}
        (true, true) => return Err(Counter::UnsupportedCompilerOption),
        // The object names its `.dwo` as spelled here (DW_AT_dwo_name).
        (true, false) => {
            hash_args.push(format!("objcache-split-dwarf:{output}"));
            extra_outputs.push(ExtraOutput {
                kind: ExtraKind::SplitDwarf,
                path: with_extension(&output, ".dwo"),
            });
        }
    }
    let shares_preprocessed = !(macro_debug
        || records_command_line
        || dep_kind.is_some()
        || pch.creates
        || language == Language::AsmWithCpp);
    let deps = dep_kind.map(|kind| {
        let file = dep_file.unwrap_or_else(|| {
            if output_given {
                with_extension(&output, ".d")
            } else {
                with_extension(basename(&input), ".d")
            }
        });
        let targets = if targets.is_empty() {
            vec![output.clone()]
        } else {
            targets
        };
        hash_args.push(format!("objcache-deps:{kind:?}:phony={phony}"));
        DepOptions {
            kind,
            file,
            targets,
            phony,
        }
    });
    Ok(ArgsAnalysis {
        input,
        language,
        output,
        deps,
        hash_args,
        cpp_args,
        shares_preprocessed,
        preprocessor_args: pp_args,
        debug_info,
        extra_files,
        native_cpu,
        color,
        extra_outputs,
        syntax_only,
        records_command_line,
        profiling,
        pch,
    })
}

impl ArgsAnalysis {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyse_str(cmd: &str) -> Result<ArgsAnalysis, Counter> {
        let args: Vec<String> = cmd.split_whitespace().map(String::from).collect();
        analyse(&args)
    }

    #[test]
    fn plain_compile() {
        let a = analyse_str("-O2 -Iinc -c src/foo.c -o out/foo.o").unwrap();
        assert_eq!(a.input, "src/foo.c");
        assert_eq!(a.output, "out/foo.o");
        assert_eq!(a.language, Language::C);
        assert_eq!(a.hash_args, ["-O2", "-c"]);
        assert_eq!(a.cpp_args, ["-Iinc"]);
        assert!(a.shares_preprocessed);
        assert_eq!(a.preprocessor_args, ["-O2", "-Iinc", "src/foo.c"]);
        assert!(a.deps.is_none());
    }

    #[test]
    fn default_names() {
        let a = analyse_str("-c src/foo.cpp -MD").unwrap();
        assert_eq!(a.output, "foo.o");
        let d = a.deps.unwrap();
        assert_eq!(
            (d.file.as_str(), d.targets.join(" ").as_str()),
            ("foo.d", "foo.o")
        );
        let a = analyse_str("-c x.c -o build/x.obj -MMD -MP").unwrap();
        let d = a.deps.unwrap();
        assert_eq!(
            (d.file.as_str(), d.kind, d.phony),
            ("build/x.d", DepKind::User, true)
        );
        let a = analyse_str("-c x.c -MD -MF deps/x.dep -MT a -MQ $b").unwrap();
        let d = a.deps.unwrap();
        assert_eq!(
            (d.file.as_str(), d.targets.join(" ").as_str()),
            ("deps/x.dep", "a $$b")
        );
        let a = analyse_str("-c x.c -Wp,-MD,.x.o.d").unwrap();
        assert_eq!(a.deps.unwrap().file, ".x.o.d");
        assert_eq!(analyse_str("-S x.c").unwrap().output, "x.s");
    }

    #[test]
    fn uncacheable_calls_name_their_reason() {
        assert_eq!(analyse_str("x.c -o x").unwrap_err(), Counter::CalledForLink);
        assert_eq!(
            analyse_str("-E x.c").unwrap_err(),
            Counter::CalledForPreprocessing
        );
        assert_eq!(
            analyse_str("-c a.c b.c").unwrap_err(),
            Counter::MultipleSourceFiles
        );
        assert_eq!(analyse_str("-c").unwrap_err(), Counter::NoInputFile);
        assert_eq!(
            analyse_str("-c a.c -o -").unwrap_err(),
            Counter::OutputToStdout
        );
        assert_eq!(
            analyse_str("-c a.c -save-temps").unwrap_err(),
            Counter::UnsupportedCompilerOption
        );
        assert_eq!(
            analyse_str("-c a.f90").unwrap_err(),
            Counter::UnsupportedSourceLanguage
        );
        assert_eq!(
            analyse_str("-x fortran -c a.c").unwrap_err(),
            Counter::UnsupportedSourceLanguage
        );
        assert_eq!(
            analyse_str("-c conftest.c").unwrap_err(),
            Counter::AutoconfTest
        );
        assert_eq!(
            analyse_str("-c a.c -o").unwrap_err(),
            Counter::BadCompilerArguments
        );
        assert!(analyse_str("-x c -c a.txt").is_ok());
        assert!(analyse_str("-c a.c extra.o").is_ok());
    }

    #[test]
    fn debug_info_detection() {
        assert!(analyse_str("-g -c a.c").unwrap().debug_info);
        assert!(analyse_str("-gdwarf-4 -c a.c").unwrap().debug_info);
        assert!(!analyse_str("-g -g0 -c a.c").unwrap().debug_info);
        assert!(!analyse_str("-c a.c").unwrap().debug_info);
    }

    #[test]
    fn response_files() {
        assert_eq!(
            split_response_text("-DA='x y' \"-Ib c\" plain\\ esc\n-c"),
            ["-DA=x y", "-Ib c", "plain esc", "-c"]
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.rsp"), "-O2 -c\n").unwrap();
        let args = vec!["@r.rsp".to_string(), "a.c".into(), "@missing".into()];
        assert_eq!(
            expand_response_files(&args, dir.path()).unwrap(),
            ["-O2", "-c", "a.c", "@missing"]
        );
        // A file that names itself six times: 6^10 expansions without a bound.
        std::fs::write(dir.path().join("r6"), "@r6 @r6 @r6 @r6 @r6 @r6\n").unwrap();
        assert!(expand_response_files(&["@r6".to_string()], dir.path()).is_err());
        // A device is left to the compiler, not read.
        assert_eq!(
            expand_response_files(&["@/dev/zero".to_string()], dir.path()).unwrap(),
            ["@/dev/zero"]
        );
        let huge = dir.path().join("huge");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(MAX_RESPONSE_BYTES + 10)
            .unwrap();
        assert!(expand_response_files(&["@huge".to_string()], dir.path()).is_err());
    }
}
