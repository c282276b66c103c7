//! What the arguments, once all are read, make of the call's files: its one
//! source, the output, the `.d` and the files written besides.

use std::collections::HashMap;

use super::arg_scan::{Operand, Scan};
use super::args::{ArgsAnalysis, DepOptions, ExtraKind, ExtraOutput};
use super::lang::{InputKind, Language};
use super::relative::PathMap;
use crate::stats::Counter;

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

impl Scan {
    /// Decides, from all the arguments, what the call compiles into what;
    /// `user`, the arguments as the call spells them (paths not made
    /// relative), one for each the scan read.
    pub(super) fn decide(mut self, user: &[String]) -> Result<ArgsAnalysis, Counter> {
        let (input, input_at, language) = self.source()?;
        self.mode_key();
        self.assembler_without_depfile(language);
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
            user_input: user[input_at].clone(),
            compiler_args: Vec::new(),
            read_args: Vec::new(),
            path_map: PathMap::default(),
            base_dir_notes: Vec::new(),
            hash_forms: HashMap::new(),
            cwd_mapped_dirs: Vec::new(),
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

    /// `-c` is left out of the key when `-S` or `-fsyntax-only` decide what
    /// the call makes (with or without it, the same assembly, or only the
    /// same diagnostics), so those calls share a result, as in ccache.
    /// Elsewhere it stays: a precompiled header made with and without it
    /// is not known to be the same.
    fn mode_key(&mut self) {
        if self.assembly || self.syntax_only {
            for &at in self.compile_flags.iter().rev() {
                self.hash_args.remove(at);
            }
        }
    }

    /// An assembler source is not preprocessed, so gcc and clang write no
    /// `.d` for it whatever the options say: none is waited for or
    /// written. The options are keyed as given, since clang warns about
    /// them unused, naming them.
    fn assembler_without_depfile(&mut self, language: Language) {
        if language == Language::Asm && self.dep_kind.is_some() {
            self.dep_kind = None;
            self.hash_args.append(&mut self.dep_args);
        }
    }

    /// The one source file the call compiles (or makes a precompiled
    /// header of), its position among the arguments and its language;
    /// `Err` for a link, several sources or a language objcache does not cache.
    fn source(&mut self) -> Result<(String, usize, Language), Counter> {
        let sources: Vec<&Operand> = self
            .inputs
            .iter()
            .filter(|o| o.kind != InputKind::LinkerInput)
            .collect();
        if let [Operand {
            kind: InputKind::Source(lang),
            ..
        }] = sources.as_slice()
        {
            self.pch.creates |= lang.is_header();
        }
        if self.pch.creates && (self.assembly || self.syntax_only) {
            return Err(Counter::UnsupportedCompilerOption);
        }
        if !self.compile && !self.assembly && !self.syntax_only && !self.pch.creates {
            // As ccache: a link whose first input is an Autoconf test's
            // (`conftest.c`, `conftest.o`) counts apart from other links.
            // Its compiles (`-c conftest.c`) are cached like any other.
            return Err(match self.inputs.first() {
                None => Counter::NoInputFile,
                Some(first) if first.text.contains("conftest.") => Counter::AutoconfTest,
                Some(_) => Counter::CalledForLink,
            });
        }
        let (input, at, kind) = match sources.as_slice() {
            [] => return Err(Counter::NoInputFile),
            [one] => (one.text.clone(), one.at, one.kind),
            _ => return Err(Counter::MultipleSourceFiles),
        };
        let InputKind::Source(language) = kind else {
            return Err(Counter::UnsupportedSourceLanguage);
        };
        Ok((input, at, language))
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
    /// The key holds its kind, `-MP` and the names of the options that
    /// asked for it (see `Scan::dep_names`), never the file or the
    /// targets: calls that differ only there share an entry, and a hit
    /// writes the `.d` for its own targets.
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
        if file == "/dev/null" {
            // Written nowhere: nothing to store, nothing to write on a hit.
            return None;
        }
        let targets = if self.targets.is_empty() {
            vec![output.to_string()]
        } else {
            std::mem::take(&mut self.targets)
        };
        let phony = self.phony;
        let names = self.dep_names.join(" ");
        self.hash_args.push(format!(
            "objcache-deps:{kind:?}:phony={phony}:options={names}"
        ));
        Some(DepOptions {
            kind,
            file,
            targets,
            phony,
        })
    }
}
