//! Reading a command line's arguments in order, for `args::analyse_call`:
//! what each one says about the call.

use super::args::{DepKind, ExtraKind};
use super::color::ColorChoice;
use super::lang::{classify_by_extension, InputKind, Language};
use super::options::{Match, AFFECTS_CPP, HASH_FILE, TOO_HARD};
use super::pch::PchOptions;
use super::profile::Profiling;
use crate::stats::Counter;

/// What the arguments have said so far, read in order.
#[derive(Default)]
pub(super) struct Scan {
    pub(super) compile: bool,
    pub(super) assembly: bool,
    pub(super) syntax_only: bool,
    /// Where each `-c` is in `hash_args`: see `Scan::mode_key`.
    pub(super) compile_flags: Vec<usize>,
    pub(super) output: Option<String>,
    /// `-x`: `Some(None)` for a language objcache does not cache.
    pub(super) explicit_lang: Option<Option<Language>>,
    pub(super) inputs: Vec<Operand>,
    pub(super) dep_kind: Option<DepKind>,
    pub(super) dep_file: Option<String>,
    pub(super) targets: Vec<String>,
    pub(super) phony: bool,
    /// `-MF` was given: gcc's preprocessor ignores it for `-Wp,-MD,FILE`.
    mf_given: bool,
    /// The `.d` is named by `-Wp,-MD,FILE` (or `-MMD`).
    wp_dep_file: bool,
    /// Targets were named inside `-Wp,`: see `wp_dependency_file`.
    wp_targets: bool,
    /// The options that ask for the `.d` or name its targets, by name
    /// alone and in order (`-MD`, `-MMD`, `-Wp,-MD,`, `-Wp,-MMD,`, `-MT`,
    /// `-MQ`): keyed as ccache keys them, without the file or the targets,
    /// which a hit writes for its own call.
    pub(super) dep_names: Vec<&'static str>,
    /// The dependency options as given: keyed when the compile writes no
    /// `.d` after all (an assembler source), since clang names them in a
    /// warning.
    pub(super) dep_args: Vec<String>,
    pub(super) hash_args: Vec<String>,
    pub(super) cpp_args: Vec<String>,
    pub(super) pp_args: Vec<String>,
    pub(super) debug_info: bool,
    pub(super) split_dwarf: bool,
    /// `-dumpdir`/`-dumpbase`: extra outputs are named otherwise.
    pub(super) dump_names: bool,
    pub(super) macro_debug: bool,
    pub(super) records_command_line: bool,
    pub(super) extra_files: Vec<String>,
    pub(super) extra_file_options: Vec<String>,
    pub(super) native_cpu: bool,
    pub(super) color: Option<ColorChoice>,
    pub(super) profiling: Profiling,
    pub(super) pch: PchOptions,
    /// Extra outputs named after the object (`.su`, `.ci`).
    pub(super) aux_outputs: Vec<(ExtraKind, &'static str)>,
    /// Where the assembler writes its listing.
    pub(super) listing: Option<String>,
    /// How many `-a…` listing options the assembler is given.
    listings: usize,
    /// clang's `-fmodules`: cached only as `sloppiness = modules` allows.
    pub(super) modules: bool,
}

/// A non-option argument: an input file.
pub(super) struct Operand {
    pub text: String,
    pub kind: InputKind,
    /// Its position among the arguments.
    pub at: usize,
}

/// An option's value (glued, or the next argument) and how many arguments
/// it spans; `Err` when the separate value it takes is missing.
fn value_and_span<'a>(
    known: Option<&Match<'a>>,
    next: Option<&'a str>,
) -> Result<(Option<&'a str>, usize), Counter> {
    match known {
        Some(m) if m.takes_next() => match next {
            Some(v) => Ok((Some(v), 2)),
            None => Err(Counter::BadCompilerArguments),
        },
        Some(m) => Ok((m.glued, 1)),
        None => Ok((None, 1)),
    }
}

/// Debug information with macro definitions: `-D` and `-include` reach
/// the object by a way the preprocessed text does not show.
fn macro_debug_info(arg: &str) -> bool {
    matches!(arg, "-fdebug-macro") || (arg.starts_with("-g") && arg.ends_with('3'))
}

/// Options after which the preprocessor's text no longer shows all the
/// compile sees: `-P` (and gcc's `--no-line-commands`) drop the line
/// markers, so the same code in another line layout (other line numbers
/// in the debug information and the diagnostics) gives the same text;
/// `-dM` prints the macros instead of the code. The compile keeps them
/// and the key names them, but the `-E` run whose text is the key runs
/// without them.
fn hides_from_preprocessed(arg: &str) -> bool {
    matches!(arg, "-P" | "--no-line-commands" | "-dM")
}

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

impl Scan {
    pub(super) fn new() -> Scan {
        Scan {
            pch: PchOptions {
                timestamp: true,
                ..PchOptions::default()
            },
            ..Scan::default()
        }
    }

    /// Reads the argument at `i`, which the option table reads as `known`;
    /// returns how many arguments it spans.
    pub(super) fn argument(
        &mut self,
        args: &[String],
        i: usize,
        known: Option<Match>,
    ) -> Result<usize, Counter> {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        if !a.starts_with('-') {
            self.input(a, i);
            return Ok(1);
        }
        match a {
            // Source from stdin.
            "-" => return Err(Counter::UnsupportedCompilerOption),
            "--ccache-skip" => {
                if let Some(n) = next {
                    self.hash_args.push(n.to_string());
                    if !hides_from_preprocessed(n) {
                        self.pp_args.push(n.to_string());
                    }
                }
                return Ok(2);
            }
            _ if hides_from_preprocessed(a) => {
                self.hash_args.push(a.to_string());
                return Ok(1);
            }
            _ => {}
        }
        if self.mode_option(a)? {
            return Ok(1);
        }
        if a == "-fmodules" {
            self.modules = true;
        }
        if known.is_some_and(|m| m.has(TOO_HARD)) {
            return Err(Counter::UnsupportedCompilerOption);
        }
        if let Some(used) = self.dependency_option(a, known, next)? {
            return Ok(used);
        }
        if let Some(choice) = super::color::parse_option(a) {
            self.color = Some(choice);
            self.pp_args.push(a.to_string());
            return Ok(1);
        }
        if let Some(used) = self.output_or_language(&args[i..], known)? {
            return Ok(used);
        }
        self.other_option(args, i, known)
    }

    /// A non-option argument, the one at `at`: an input file.
    fn input(&mut self, a: &str, at: usize) {
        let kind = match self.explicit_lang {
            Some(Some(lang)) => InputKind::Source(lang),
            Some(None) => InputKind::Unsupported,
            None => classify_by_extension(a),
        };
        if kind == InputKind::LinkerInput {
            // Not compiled, but the compiler names it in a warning ("linker
            // input file unused"), and an operand that is really an option's
            // value must never be left out of the key.
            self.hash_args.push(format!("objcache-operand:{a}"));
        }
        self.inputs.push(Operand {
            text: a.to_string(),
            kind,
            at,
        });
        self.pp_args.push(a.to_string());
    }

    /// What the call makes: an object (`-c`), assembly (`-S`), only
    /// diagnostics (`-fsyntax-only`), or preprocessed text (not cached).
    /// `true` when `a` is one of these.
    fn mode_option(&mut self, a: &str) -> Result<bool, Counter> {
        match a {
            "-c" => {
                self.compile = true;
                self.compile_flags.push(self.hash_args.len());
            }
            "-S" => self.assembly = true,
            // Not for the `-E` run: clang warns that it is unused there.
            "-fsyntax-only" => self.syntax_only = true,
            "-E" => return Err(Counter::CalledForPreprocessing),
            // Dependencies instead of an object: too hard for ccache.
            "-M" | "-MM" => return Err(Counter::UnsupportedCompilerOption),
            _ => return Ok(false),
        }
        self.hash_args.push(a.to_string());
        Ok(true)
    }

    /// `-MD`, `-MMD`, `-MP`, `-MF`, `-MT`, `-MQ` and `-Wp,-MD,FILE`: the
    /// `.d` the compiler writes. They stay out of the `-E` run and out of
    /// the key as given (`dependency_file` keys what they decide).
    fn dependency_option(
        &mut self,
        a: &str,
        known: Option<Match>,
        next: Option<&str>,
    ) -> Result<Option<usize>, Counter> {
        match a {
            "-MD" => {
                self.dep_kind = Some(DepKind::All);
                self.dep_names.push("-MD");
            }
            "-MMD" => {
                self.dep_kind = Some(DepKind::User);
                self.dep_names.push("-MMD");
            }
            "-MP" => self.phony = true,
            _ => {
                let Some(m) = known else {
                    return Ok(None);
                };
                let name = m.name();
                if !matches!(name, "-MF" | "-MT" | "-MQ" | "-Wp,") {
                    return Ok(None);
                }
                let (Some(v), used) = value_and_span(Some(&m), next)? else {
                    return Err(Counter::BadCompilerArguments);
                };
                match name {
                    "-MF" if self.wp_dep_file => return Err(Counter::UnsupportedCompilerOption),
                    "-MF" => {
                        self.mf_given = true;
                        self.dep_file = Some(v.to_string());
                    }
                    "-MT" | "-MQ" if self.wp_targets => {
                        return Err(Counter::UnsupportedCompilerOption)
                    }
                    "-MT" => {
                        self.targets.push(v.to_string());
                        self.dep_names.push(name);
                    }
                    "-MQ" => {
                        self.targets.push(quote_target(v));
                        self.dep_names.push(name);
                    }
                    _ => {
                        self.preprocessor_passthrough(a, v)?;
                        return Ok(Some(used));
                    }
                }
                self.dep_args.push(a.to_string());
                if used == 2 {
                    self.dep_args.push(v.to_string());
                }
                return Ok(Some(used));
            }
        }
        self.dep_args.push(a.to_string());
        Ok(Some(1))
    }

    /// `-Wp,OPTIONS`: options given to the preprocessor as they are, split
    /// at the commas. A `.d` (see `wp_dependency_file`); one `-D`, the same
    /// as given to the driver (keyed alike, direct mode kept); `-P` alone
    /// (see `hides_from_preprocessed`), refused among others as in ccache;
    /// any other `-M…` refused; the rest keyed and passed on as it is.
    fn preprocessor_passthrough(&mut self, a: &str, wp: &str) -> Result<(), Counter> {
        let parts: Vec<&str> = wp.split(',').collect();
        if let [kind @ ("-MD" | "-MMD"), file, rest @ ..] = parts.as_slice() {
            return self.wp_dependency_file(a, kind, file, rest);
        }
        let hides = parts.iter().any(|p| hides_from_preprocessed(p));
        if parts.iter().any(|p| p.starts_with("-M")) || (hides && parts.len() > 1) {
            return Err(Counter::UnsupportedCompilerOption);
        }
        match parts.as_slice() {
            [_] if hides => self.hash_args.push(a.to_string()),
            [define] if define.len() > 2 && define.starts_with("-D") => {
                self.cpp_args.push(define.to_string());
                self.pp_args.push(define.to_string());
            }
            _ => {
                self.hash_args.push(a.to_string());
                self.pp_args.push(a.to_string());
            }
        }
        Ok(())
    }

    /// `-Wp,-MD,FILE` or `-Wp,-MMD,FILE`, which gcc's preprocessor follows
    /// whatever `-MF` says (so the two together are refused, as in ccache),
    /// and after it (`rest`) `-MT`/`-MQ` targets and `-MP`. gcc lists all
    /// `-MT` targets before all `-MQ` ones, the driver's before these: with
    /// targets both here and outside, the call is refused rather than
    /// ordered. With more than the file, the option is keyed as it is, which
    /// leaves direct mode off, as in ccache.
    fn wp_dependency_file(
        &mut self,
        a: &str,
        kind: &str,
        file: &str,
        rest: &[&str],
    ) -> Result<(), Counter> {
        if self.mf_given {
            return Err(Counter::UnsupportedCompilerOption);
        }
        let (mut quoted, mut plain) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < rest.len() {
            match (rest[i], rest.get(i + 1)) {
                ("-MT", Some(t)) => plain.push(t.to_string()),
                ("-MQ", Some(t)) => quoted.push(quote_target(t)),
                ("-MP", _) => {
                    self.phony = true;
                    i += 1;
                    continue;
                }
                _ => return Err(Counter::UnsupportedCompilerOption),
            }
            i += 2;
        }
        let has_targets = !plain.is_empty() || !quoted.is_empty();
        if has_targets && !self.targets.is_empty() {
            return Err(Counter::UnsupportedCompilerOption);
        }
        self.wp_targets |= has_targets;
        self.targets.extend(plain.into_iter().chain(quoted));
        self.wp_dep_file = true;
        let (dep_kind, name) = match kind {
            "-MD" => (DepKind::All, "-Wp,-MD,"),
            _ => (DepKind::User, "-Wp,-MMD,"),
        };
        self.dep_kind = Some(dep_kind);
        self.dep_names.push(name);
        self.dep_file = Some(file.to_string());
        self.dep_args.push(a.to_string());
        if !rest.is_empty() {
            self.hash_args.push(a.to_string());
        }
        Ok(())
    }

    /// `-o FILE` and `-x LANG` (`args` starts at the option).
    fn output_or_language(
        &mut self,
        args: &[String],
        known: Option<Match>,
    ) -> Result<Option<usize>, Counter> {
        let Some(m) = known.filter(|m| matches!(m.name(), "-o" | "-x")) else {
            return Ok(None);
        };
        let next = args.get(1).map(String::as_str);
        let (Some(v), used) = value_and_span(Some(&m), next)? else {
            return Err(Counter::BadCompilerArguments);
        };
        if m.name() == "-o" {
            self.output = Some(v.to_string());
            return Ok(Some(used));
        }
        self.explicit_lang = if v == "none" {
            None
        } else {
            Some(Language::from_x(v))
        };
        // The language itself is hashed.
        for arg in &args[..used] {
            self.cpp_args.push(arg.clone());
            self.pp_args.push(arg.clone());
        }
        Ok(Some(used))
    }

    /// Any other option: noted for what it says about debug information,
    /// files read and written besides the source and the object, then keyed
    /// (in `cpp_args` when it acts on the preprocessor only) and given to
    /// the `-E` run.
    fn other_option(
        &mut self,
        args: &[String],
        i: usize,
        known: Option<Match>,
    ) -> Result<usize, Counter> {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        let (value, used) = value_and_span(known.as_ref(), next)?;
        if let Some(file) = value.filter(|_| known.is_some_and(|m| m.has(HASH_FILE))) {
            self.extra_file(file, a);
        }
        self.native_cpu |= a.ends_with("=native");
        self.debug_option(a);
        self.pch.observe(known, next);
        if a == "-Xclang" && self.clang_option(&args[i + 1..]) {
            return Ok(used);
        }
        self.profiling.observe(a);
        if a == "-fauto-profile" {
            // Without a file, gcc reads this one.
            self.extra_file("fbdata.afdo", a);
        }
        let assembler_options = match known.map(|m| m.name()) {
            Some("-Xassembler" | "-Wa,") => value,
            _ => None,
        };
        self.extra_output_option(a);
        let given = &args[i..i + used];
        let listing_keyed = self.listing_option(given, assembler_options)?;
        let keyed = if known.is_some_and(|m| m.has(AFFECTS_CPP)) {
            &mut self.cpp_args
        } else {
            &mut self.hash_args
        };
        keyed.extend(listing_keyed.unwrap_or_else(|| given.to_vec()));
        let preprocessor_only = known.is_some_and(|m| m.name() == "-Xpreprocessor");
        if !(preprocessor_only && value.is_some_and(hides_from_preprocessed)) {
            self.pp_args.extend_from_slice(given);
        }
        Ok(used)
    }

    /// A file whose content decides the output, named by `option`.
    fn extra_file(&mut self, file: &str, option: &str) {
        self.extra_files.push(file.to_string());
        self.extra_file_options.push(option.to_string());
    }

    /// `-g…`, `-dumpdir`/`-dumpbase` and recorded command lines: what
    /// debug information the object gets and what it names.
    fn debug_option(&mut self, a: &str) {
        // `-gz…` only compresses the debug sections other options ask for.
        let compression = a == "-gz" || a.starts_with("-gz=");
        if a.starts_with("-g") && !a.starts_with("-gno-") && !compression {
            // `-gsplit-dwarf` counts too: older compilers let it turn
            // debug information on (more in the key, never less).
            self.debug_info = a != "-g0";
            self.split_dwarf |= a == "-gsplit-dwarf";
        }
        self.dump_names |= a.starts_with("-dumpdir") || a.starts_with("-dumpbase");
        match a {
            // clang's `-frecord-gcc-switches` is its `-frecord-command-line`;
            // gcc's records the options in the object too.
            "-grecord-command-line" | "-frecord-command-line" | "-frecord-gcc-switches" => {
                self.records_command_line = true;
            }
            "-gno-record-command-line"
            | "-fno-record-command-line"
            | "-fno-record-gcc-switches" => {
                self.records_command_line = false;
            }
            _ => {}
        }
        self.macro_debug |= macro_debug_info(a);
    }

    /// What `-Xclang` passes (`rest` starts after it): plugins and
    /// precompiled headers. `true` for `-Xclang -emit-pch`, which is keyed
    /// here and not given to the `-E` run (clang would write the PCH to stdout).
    fn clang_option(&mut self, rest: &[String]) -> bool {
        let value = match (rest.get(1).map(String::as_str), rest.get(2)) {
            (Some("-Xclang"), value) => value.map(String::as_str),
            _ => None,
        };
        match (rest.first().map(String::as_str), value) {
            (Some("-load"), Some(plugin)) => self.extra_file(plugin, "-Xclang"),
            (Some("-include-pch"), Some(file)) => self.pch.named.push(file.to_string()),
            (Some("-emit-pch"), _) => {
                self.pch.creates = true;
                self.hash_args
                    .extend(["-Xclang".to_string(), "-emit-pch".to_string()]);
                return true;
            }
            (Some("-fno-pch-timestamp"), _) => self.pch.timestamp = false,
            _ => {}
        }
        false
    }

    /// `-fstack-usage` and `-fcallgraph-info`: files written besides the
    /// object, named after it.
    fn extra_output_option(&mut self, a: &str) {
        if a == "-fstack-usage" {
            self.aux_outputs.push((ExtraKind::StackUsage, ".su"));
        } else if a.starts_with("-fcallgraph-info") {
            self.aux_outputs.push((ExtraKind::CallGraph, ".ci"));
        }
    }

    /// The assembler's listing, asked for by `-a…` among what `-Wa,` or
    /// `-Xassembler` passes (`assembler_options`; `given`, the arguments
    /// that pass them): `-a…=FILE` writes it to FILE, stored with the
    /// object and written to the call's own FILE on a hit. The listing
    /// never names itself, so the keys leave FILE out (as ccache does):
    /// returns the arguments as keyed when they name one. A second `-a…`
    /// is refused, as in ccache.
    fn listing_option(
        &mut self,
        given: &[String],
        assembler_options: Option<&str>,
    ) -> Result<Option<Vec<String>>, Counter> {
        let Some(options) = assembler_options else {
            return Ok(None);
        };
        let mut keyed_parts = Vec::new();
        let mut named = false;
        for part in options.split(',') {
            if !part.starts_with("-a") {
                keyed_parts.push(part);
                continue;
            }
            if self.listings > 0 {
                return Err(Counter::UnsupportedCompilerOption);
            }
            self.listings += 1;
            match part.split_once('=') {
                Some((flags, file)) => {
                    self.listing = Some(file.to_string());
                    named = true;
                    keyed_parts.push(&part[..flags.len() + 1]);
                }
                // Without a file, it goes to stdout, which is stored.
                None => keyed_parts.push(part),
            }
        }
        if !named {
            return Ok(None);
        }
        let keyed = keyed_parts.join(",");
        Ok(Some(match given {
            [option, _] => vec![option.clone(), keyed],
            _ => vec![format!("-Wa,{keyed}")],
        }))
    }
}
