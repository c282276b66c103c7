//! Analysis of a gcc/clang command line: is this call cacheable, what is its
//! input, output and language, which arguments go into the key, and which are
//! given to the preprocessor run.

use super::arg_scan::Scan;
use super::color::ColorChoice;
use super::lang::{InputKind, Language};
use super::pch::PchOptions;
use super::profile::Profiling;
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
    /// The source file as the analysed arguments name it: after response
    /// files are expanded, and relative where base_dir's rewrite made it so.
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

/// Analyses an (already response-file-expanded) argument list. `Err` names
/// the counter that says why the call cannot be cached.
pub fn analyse(args: &[String]) -> Result<ArgsAnalysis, Counter> {
    let mut scan = Scan::new();
    let mut i = 0;
    while i < args.len() {
        i += scan.argument(args, i)?;
    }
    scan.decide()
}

impl Scan {
    /// Decides, from all the arguments, what the call compiles into what.
    fn decide(mut self) -> Result<ArgsAnalysis, Counter> {
        let (input, language) = self.source()?;
        let (output, output_given) = self.output_file(&input, language)?;
        let mut extra_outputs = self.outputs_named_after(&output)?;
        if let Some(path) = self.listing.take() {
            extra_outputs.push(ExtraOutput {
                kind: ExtraKind::Listing,
                path,
            });
        }
        if self.profiling.arcs {
            // The object names its `.gcda` by this path, made absolute.
            self.hash_args.push(format!("objcache-gcda-base:{output}"));
        }
        extra_outputs.extend(self.split_dwarf_output(&output)?);
        let shares_preprocessed = !(self.macro_debug
            || self.records_command_line
            || self.dep_kind.is_some()
            || self.pch.creates
            || language == Language::AsmWithCpp);
        let deps = self.dependency_file(&input, &output, output_given);
        Ok(ArgsAnalysis {
            input,
            language,
            output,
            deps,
            hash_args: self.hash_args,
            cpp_args: self.cpp_args,
            shares_preprocessed,
            preprocessor_args: self.pp_args,
            debug_info: self.debug_info,
            extra_files: self.extra_files,
            extra_file_options: self.extra_file_options,
            native_cpu: self.native_cpu,
            color: self.color,
            extra_outputs,
            syntax_only: self.syntax_only,
            records_command_line: self.records_command_line,
            profiling: self.profiling,
            pch: self.pch,
            modules: self.modules,
        })
    }

    /// The one source file the call compiles (or makes a precompiled
    /// header of), and its language; `Err` for a link, several sources or
    /// a language objcache does not cache.
    fn source(&mut self) -> Result<(String, Language), Counter> {
        let sources: Vec<&(String, InputKind)> = self
            .inputs
            .iter()
            .filter(|(_, k)| *k != InputKind::LinkerInput)
            .collect();
        if let [(_, InputKind::Source(lang))] = sources.as_slice() {
            self.pch.creates |= lang.is_header();
        }
        if self.pch.creates && (self.assembly || self.syntax_only) {
            return Err(Counter::UnsupportedCompilerOption);
        }
        if !self.compile && !self.assembly && !self.syntax_only && !self.pch.creates {
            return Err(if self.inputs.is_empty() {
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
        Ok((input, language))
    }

    /// The file the compiler writes, as `-o` names it or as the compiler
    /// names it without one, and whether `-o` named it.
    fn output_file(&mut self, input: &str, language: Language) -> Result<(String, bool), Counter> {
        if self.output.as_deref() == Some("-") {
            return Err(Counter::OutputToStdout);
        }
        let output_given = self.output.is_some();
        if self.pch.creates && !output_given {
            // gcc and clang put `pch.h.gch` beside the header.
            if !language.is_header() {
                return Err(Counter::UnsupportedCompilerOption);
            }
            self.output = Some(format!("{input}.gch"));
        }
        if self.records_command_line {
            // clang writes its whole command line, output and input names
            // included, into the object.
            self.hash_args.push(format!(
                "objcache-recorded-output:{}",
                self.output.as_deref().unwrap_or("")
            ));
            self.hash_args
                .push(format!("objcache-recorded-input:{input}"));
        }
        let output = self.output.take().unwrap_or_else(|| {
            let ext = if self.assembly { ".s" } else { ".o" };
            with_extension(basename(input), ext)
        });
        Ok((output, output_given))
    }

    /// The `.gcno`, `.su` and `.ci` the compiler names after the object.
    fn outputs_named_after(&self, output: &str) -> Result<Vec<ExtraOutput>, Counter> {
        let mut extra_outputs = Vec::new();
        if self.profiling.notes {
            let path = match &self.profiling.notes_path {
                Some(p) => p.clone(),
                None => with_extension(output, ".gcno"),
            };
            extra_outputs.push(ExtraOutput {
                kind: ExtraKind::CoverageNotes,
                path,
            });
        }
        for &(kind, ext) in &self.aux_outputs {
            extra_outputs.push(ExtraOutput {
                kind,
                path: with_extension(output, ext),
            });
        }
        // Without -c, gcc names these after a link's output (`a-x.su`).
        if (self.dump_names || (self.syntax_only && !self.compile)) && !extra_outputs.is_empty() {
            return Err(Counter::UnsupportedCompilerOption);
        }
        Ok(extra_outputs)
    }

    /// `-gsplit-dwarf`: the `.dwo` beside the object.
    fn split_dwarf_output(&mut self, output: &str) -> Result<Option<ExtraOutput>, Counter> {
        if !self.split_dwarf {
            return Ok(None);
        }
        // The `.dwo` name follows the output's unless `-dumpdir`/`-dumpbase`
        // say otherwise (not followed), and compilers disagree for `.name`.
        if self.assembly || self.dump_names || basename(output).starts_with('.') {
            return Err(Counter::UnsupportedCompilerOption);
        }
        // The object names its `.dwo` as spelled here (DW_AT_dwo_name).
        self.hash_args
            .push(format!("objcache-split-dwarf:{output}"));
        Ok(Some(ExtraOutput {
            kind: ExtraKind::SplitDwarf,
            path: with_extension(output, ".dwo"),
        }))
    }

    /// The `.d` the compiler writes, if any: its name, kind and targets.
    fn dependency_file(
        &mut self,
        input: &str,
        output: &str,
        output_given: bool,
    ) -> Option<DepOptions> {
        let kind = self.dep_kind?;
        let file = self.dep_file.take().unwrap_or_else(|| {
            if output_given {
                with_extension(output, ".d")
            } else {
                with_extension(basename(input), ".d")
            }
        });
        let targets = if self.targets.is_empty() {
            vec![output.to_string()]
        } else {
            std::mem::take(&mut self.targets)
        };
        let phony = self.phony;
        self.hash_args
            .push(format!("objcache-deps:{kind:?}:phony={phony}"));
        Some(DepOptions {
            kind,
            file,
            targets,
            phony,
        })
    }
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

    #[test]
    fn ignored_options_and_their_values_are_not_keyed() {
        let args: Vec<String> = ["-I", "inc", "-Wall", "-fmessage-length=3", "-O2", "-Wal"]
            .map(String::from)
            .into();
        let patterns = ["-I".to_string(), "-fmessage-*".into(), "-Wal".into()];
        assert_eq!(keyed_args(&args, &patterns), ["-Wall", "-O2"]);
        // `*` anywhere but at the end is an ordinary character.
        assert!(!is_ignored_option("-Wall", &["-W*l".to_string()]));
        assert!(is_ignored_option("-W*l", &["-W*l".to_string()]));
        let all = ["*".to_string()];
        assert!(!is_ignored_option("objcache-gcda-base:a.o", &all));
    }

    fn analyse_str(cmd: &str) -> Result<ArgsAnalysis, Counter> {
        let args: Vec<String> = cmd.split_whitespace().map(String::from).collect();
        analyse(&args)
    }

    #[test]
    fn options_writing_unfollowed_files_are_refused() {
        for extra in [
            &["-MJ", "db.json"][..],
            &["-MJdb.json"],
            &["--save-temps"],
            &["--save-temps=obj"],
            &["-save-temps=cwd"],
        ] {
            let mut args: Vec<String> = ["-c", "t.c", "-o", "t.o"].map(String::from).to_vec();
            args.extend(extra.iter().map(|a| a.to_string()));
            assert_eq!(
                analyse(&args).err(),
                Some(Counter::UnsupportedCompilerOption),
                "{extra:?}"
            );
        }
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
    fn preprocessor_only_options_leave_the_result_key() {
        let a = analyse_str(
            "-c a.c -include-pch p.pch -isystem-after d -nostdinc++ -DX -Wp,-DY -fplugin=p.so",
        )
        .unwrap();
        assert_eq!(a.cpp_args, ["-isystem-after", "d", "-nostdinc++", "-DX"]);
        assert_eq!(
            a.hash_args,
            ["-c", "-include-pch", "p.pch", "-Wp,-DY", "-fplugin=p.so"]
        );
        assert_eq!(a.extra_files, ["p.so"]);
        assert_eq!(a.extra_file_options, ["-fplugin=p.so"]);
        assert_eq!(a.pch.named, ["p.pch"]);
    }

    #[test]
    fn debug_info_detection() {
        assert!(analyse_str("-g -c a.c").unwrap().debug_info);
        assert!(analyse_str("-gdwarf-4 -c a.c").unwrap().debug_info);
        assert!(!analyse_str("-g -g0 -c a.c").unwrap().debug_info);
        assert!(!analyse_str("-c a.c").unwrap().debug_info);
    }
}
