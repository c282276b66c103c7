//! The key recipe: what goes into each key of one compile, in which order.
//!
//! - The common digest: the compiler's identity, the arguments (related
//!   to base_dir), the language, the environment, files named by options
//!   or `extra_files_to_hash`, profile data, precompiled headers.
//! - Direct mode's manifest key: the common digest, the source's text and
//!   what decides which headers it reads, but none of the headers.
//! - Preprocessor mode's result key: the common digest and the
//!   preprocessed text.
//! - Depend mode's result key: the manifest key and each header the
//!   compile's `.d` names, with its digest.
//!
//! Also whether what a key covered still holds after the compile (a file
//! changed in the start's timestamp tick) and what no key can cover
//! (assembler directives that read files). The session (`wrap`) decides
//! what to do with the keys: look up, serve or compile, store.

use std::path::{Path, PathBuf};

use super::includes::{ReadFile, SearchDirs};
use super::record::{RecordContext, Unrecorded};
use super::source::SourceFacts;
use super::{asm, preprocessor};
use crate::compiler::args::ArgsAnalysis;
use crate::compiler::profile::ProfileData;
use crate::compiler::{relative, Compiler};
use crate::config::{Config, Sloppiness};
use crate::disk::manifest::{IncludeRecord, Probes, Stamp};
use crate::key::{DigestMemo, Key, KeyHasher};
use crate::log::Log;
use crate::paths;
use crate::stats::Counter;

mod environment;
mod pch;
pub use pch::PchInput;

/// Sloppiness values that make a manifest record check less.
const RECORD_SLOPPINESS: &[Sloppiness] = &[
    Sloppiness::IncludeFileCtime,
    Sloppiness::IncludeFileMtime,
    Sloppiness::SystemHeaders,
    Sloppiness::TimeMacros,
];

/// Why a call cannot be keyed, and so is not cached: the counter it
/// counts and the reason for the log.
#[derive(Debug)]
pub struct Unkeyable {
    pub counter: Counter,
    pub reason: String,
}

fn unkeyable(counter: Counter, reason: impl Into<String>) -> Unkeyable {
    Unkeyable {
        counter,
        reason: reason.into(),
    }
}

/// Which key a hasher's input belongs to (a `debug = true` input file each).
#[derive(Clone, Copy)]
pub enum Part {
    Common,
    Direct,
    Preprocessor,
}

/// A key and what went into it: each field by label (what a miss is
/// explained by) and, with `debug = true`, the readable transcript.
pub struct HashedKey {
    pub key: Key,
    pub part: Part,
    pub fields: Vec<(String, String)>,
    pub transcript: Option<Vec<u8>>,
}

/// What the keys of one compile are made of.
pub struct Recipe<'a> {
    pub config: &'a Config,
    pub compiler: &'a Compiler,
    pub cwd: &'a str,
    pub analysis: &'a ArgsAnalysis,
    /// When the call started by the coarse clock file stamps come from
    /// (`clock::stamp_settled`).
    pub coarse_start_ns: i64,
    /// The source's text (`None`: unreadable), read once per call: all of
    /// it, or the first part of one whose facts were recalled.
    pub source: Option<&'a super::source::Text>,
    /// What the keys take from the source's text (`None`: unreadable).
    pub source_facts: Option<&'a SourceFacts>,
    /// Where the compiler's identity and precompiled headers' digests are
    /// remembered between calls.
    pub memo: &'a dyn DigestMemo,
    pub log: &'a Log,
}

impl Recipe<'_> {
    /// Everything the other keys share: compiler, arguments, language,
    /// environment.
    pub fn common(&self) -> Result<HashedKey, Unkeyable> {
        self.common_with(&self.precompiled_headers()?)
    }

    /// `common`, with the precompiled headers read for it (`pch`: see
    /// `precompiled_headers`), which the call keeps to see whether they
    /// changed while the compiler ran (`changed_since_start`).
    pub fn common_with(&self, pch: &[PchInput]) -> Result<HashedKey, Unkeyable> {
        let (a, cwd, config) = (self.analysis, self.cwd, self.config);
        let mut h = KeyHasher::new(config.debug);
        crate::compiler::hash_identity(
            &mut h,
            self.compiler,
            &config.compiler_check,
            self.memo,
            self.coarse_start_ns,
        )
        .map_err(|e| unkeyable(Counter::CompilerCheckFailed, e))?;
        if !config.namespace.is_empty() {
            h.field("namespace", config.namespace.as_bytes());
        }
        self.refuse_rewritten_arguments()?;
        let ignored = a
            .hash_args
            .iter()
            .chain(&a.cpp_args)
            .filter(|x| crate::compiler::args::is_ignored_option(x, &config.ignore_options));
        for arg in ignored {
            self.log.note(format!("ignore_options: not hashing {arg}"));
        }
        for arg in self.keyed(&a.hash_args) {
            h.field("arg", a.hash_form(arg).as_bytes());
        }
        h.field("language", a.key_language().name().as_bytes());
        self.hash_diagnostics_and_command_line(&mut h);
        if !a.shares_preprocessed {
            self.hash_cpp_args(&mut h);
        }
        if config.hash_dir && a.debug_info {
            // The directory as the debug information will name it.
            h.field(
                "cwd",
                relative::apply_prefix_maps(cwd, &a.hash_args).as_bytes(),
            );
        }
        self.hash_environment(&mut h);
        self.hash_extra_files(&mut h)?;
        self.hash_profiling(&mut h)?;
        for p in pch {
            h.field(p.label, &p.value);
        }
        if a.native_cpu {
            h.field("cpu", environment::cpu_identity().as_bytes());
        }
        Ok(finish(h, Part::Common))
    }

    /// Files named by options (not by ignored ones), then those
    /// `extra_files_to_hash` names (relative ones from the working
    /// directory, as in ccache).
    fn hash_extra_files(&self, h: &mut KeyHasher) -> Result<(), Unkeyable> {
        let (a, config) = (self.analysis, self.config);
        let named = a.extra_files.iter().zip(&a.extra_file_options);
        let by_options = named
            .filter(|(_, option)| {
                !crate::compiler::args::is_ignored_option(option, &config.ignore_options)
            })
            .map(|(file, _)| file);
        for file in by_options.chain(&config.extra_files_to_hash) {
            let digest = crate::key::hash_file_content(Path::new(file))
                .map_err(|e| unkeyable(Counter::ErrorHashingExtraFile, format!("{file}: {e}")))?;
            h.field("extra-file", &digest);
        }
        Ok(())
    }

    /// What coverage and profile options make the object depend on: the
    /// working directory (the `.gcda` path, gcc's `.gcno`) and the profile
    /// data the compile reads. A profile that is not there runs uncached
    /// (`no_input_file`, as in ccache): gcc only warns and compiles without.
    fn hash_profiling(&self, h: &mut KeyHasher) -> Result<(), Unkeyable> {
        let (a, cwd) = (self.analysis, self.cwd);
        let p = &a.profiling;
        if p.needs_cwd(&a.output, self.config.sloppiness.has(Sloppiness::GcnoCwd)) {
            h.field("profile-cwd", cwd.as_bytes());
        }
        let family = crate::compiler::family(self.compiler);
        match p.data(family, &a.output, cwd) {
            ProfileData::None => Ok(()),
            ProfileData::Unknown(why) => Err(unkeyable(Counter::UnsupportedCompilerOption, why)),
            ProfileData::File(file) => {
                let digest =
                    crate::key::hash_file_content(&Path::new(cwd).join(&file)).map_err(|e| {
                        unkeyable(
                            Counter::NoInputFile,
                            format!("profile data {}: {e}", file.display()),
                        )
                    })?;
                h.field("profile-data", &digest);
                Ok(())
            }
        }
    }

    /// The manifest key, or `None` when direct mode does not apply to this
    /// call. `date`: what decides `__DATE__` now (`hash::dated::date_at`),
    /// which the key holds when `date_in_manifest`.
    pub fn manifest(&self, common: &Key, date: Option<&str>) -> Option<HashedKey> {
        let a = self.analysis;
        if !self.config.direct_mode || a.language.is_preprocessed() {
            return None;
        }
        if a.pch.creates && a.pch.timestamp && self.is_clang() {
            self.log.note(
                "direct mode off: clang records the inputs' mtimes in the precompiled header \
                 (build it with -Xclang -fno-pch-timestamp to share it)",
            );
            return None;
        }
        if a.hash_args
            .iter()
            .any(|x| x == "-Xpreprocessor" || (x.starts_with("-Wp,") && !x.starts_with("-Wp,-D")))
        {
            self.log
                .note("direct mode off: -Xpreprocessor or -Wp, option");
            return None;
        }
        let source = self.source_facts?;
        if self.file_macro_sensitive() && source.file_macro {
            self.log.note(
                "direct mode off: the source uses __FILE__ and its path is absolute under base_dir",
            );
            return None;
        }
        // `SOURCE_DATE_EPOCH` is in this key only with the date: it only
        // sets what the time macros say (the headers' are checked when
        // recording).
        if !self.config.sloppiness.has(Sloppiness::TimeMacros) && self.time_names().clock {
            self.log
                .note("direct mode off: the source or an argument uses __TIME__ or __TIMESTAMP__");
            return None;
        }
        let mut h = KeyHasher::new(self.config.debug);
        h.field("kind", b"manifest");
        h.field("common", common.as_bytes());
        if self.date_in_manifest() {
            let Some(date) = date else {
                self.log
                    .note("direct mode off: __DATE__ is used and the local date is unknown");
                return None;
            };
            h.field("date", date.as_bytes());
        }
        if a.shares_preprocessed {
            // Left out of the result key; the preprocessor needs them.
            self.hash_cpp_args(&mut h);
        }
        let input = match self.named_as_spelled(&a.input) {
            true => &a.input,
            false => a.hash_form(&a.input),
        };
        h.field("input", input.as_bytes());
        h.field("source", &source.digest);
        for var in crate::compiler::INCLUDE_PATH_VARS {
            let value = std::env::var_os(var).unwrap_or_default();
            h.field(var, value.as_encoded_bytes());
        }
        // What a record leaves unchecked: a call that checks more must not
        // take a laxer call's records.
        for lax in RECORD_SLOPPINESS {
            if self.config.sloppiness.has(*lax) {
                h.field("sloppiness", lax.name().as_bytes());
            }
        }
        for ignored in &self.config.ignore_headers_in_manifest {
            h.field("ignored-headers", ignored.as_bytes());
        }
        Some(finish(h, Part::Direct))
    }

    /// The preprocessor's own arguments and the source's language.
    fn hash_cpp_args(&self, h: &mut KeyHasher) {
        let a = self.analysis;
        for arg in self.keyed(&a.cpp_args) {
            h.field("cpp-arg", a.hash_form(arg).as_bytes());
        }
        h.field("language", a.language.name().as_bytes());
    }

    /// `args` without what `ignore_options` leaves out of the keys.
    fn keyed<'s>(&self, args: &'s [String]) -> Vec<&'s String> {
        crate::compiler::args::keyed_args(args, &self.config.ignore_options)
    }

    /// Preprocessor mode's result key of a source that is preprocessed
    /// already (`.i`, `.s`): its own text stands for the preprocessor's.
    pub fn result_of_preprocessed_input(&self, common: &Key) -> Result<HashedKey, Unkeyable> {
        let a = self.analysis;
        let mut h = self.result_hasher(common);
        let content = std::fs::read(&a.input)
            .map_err(|e| unkeyable(Counter::InternalError, format!("{}: {e}", a.input)))?;
        self.refuse_unseen_inputs(&a.input, &content)?;
        if a.language == crate::compiler::lang::Language::Asm {
            h.field("preprocessed", &content);
        } else {
            // As the preprocessor's output of the source is hashed.
            self.hash_preprocessed(&mut h, &content);
        }
        Ok(finish(h, Part::Preprocessor))
    }

    /// Preprocessor mode's result key from the preprocessor's `output` and
    /// the `files` it read.
    pub fn result_of_preprocessed(
        &self,
        common: &Key,
        output: &[u8],
        files: &[ReadFile],
    ) -> Result<HashedKey, Unkeyable> {
        let (a, cwd) = (self.analysis, self.cwd);
        let mut h = self.result_hasher(common);
        self.refuse_unseen_inputs("the preprocessed source", output)?;
        self.hash_preprocessed(&mut h, output);
        if let Some(dir) = self.mapped_dir_read(files) {
            // The map applies to a header read there by its absolute path,
            // which it would not in another directory: this one's own key.
            h.field("mapped-dir", dir.as_bytes());
        }
        if a.pch.creates && a.pch.timestamp && self.is_clang() {
            // clang writes each input's mtime and size into the PCH.
            for path in
                std::iter::once(a.input.as_str()).chain(files.iter().map(|f| f.path.as_str()))
            {
                let m = std::fs::metadata(paths::resolve_in(cwd, path))
                    .map_err(|e| unkeyable(Counter::InternalError, format!("{path}: {e}")))?;
                use std::os::unix::fs::MetadataExt;
                h.field(
                    "pch-input-stamp",
                    format!("{path} {} {}", m.size(), m.mtime()).as_bytes(),
                );
            }
        }
        Ok(finish(h, Part::Preprocessor))
    }

    fn result_hasher(&self, common: &Key) -> KeyHasher {
        let mut h = KeyHasher::new(self.config.debug);
        h.field("kind", b"result");
        h.field("common", common.as_bytes());
        h
    }

    /// The working directory gcc writes for debug information (`# 1
    /// "/build/dir//"`) is left out with `hash_dir = false`, and when the
    /// debug prefix maps map it: the `cwd` field holds it as mapped.
    fn hash_preprocessed(&self, h: &mut KeyHasher, text: &[u8]) {
        let a = self.analysis;
        let mapped = relative::apply_prefix_maps(self.cwd, &a.hash_args) != self.cwd;
        preprocessor::hash_preprocessed(
            h,
            text,
            self.cwd,
            self.config.base_dir.as_ref(),
            !self.config.hash_dir || mapped,
            &|path| self.named_as_spelled(path),
        );
    }

    /// Does the object name `path`, an absolute path under base_dir that
    /// the keys would relate to it, as it is spelled? With debug
    /// information it names the source and each header by the path the
    /// compiler read it by, unless a debug prefix map maps it: a path the
    /// compiler is given absolute (`--sysroot`, `CPATH`, a rewrite base_dir
    /// declined) would then name the checkout that stored the object. Only
    /// when the working directory is not in the key as it is: otherwise no
    /// other checkout shares the key, and in one working directory the
    /// relation names one path.
    fn named_as_spelled(&self, path: &str) -> bool {
        let (a, cwd) = (self.analysis, self.cwd);
        let Some(base) = self.config.base_dir.as_ref() else {
            return false;
        };
        let cwd_keyed =
            self.config.hash_dir && relative::apply_prefix_maps(cwd, &a.hash_args) == cwd;
        a.debug_info
            && !cwd_keyed
            && path.starts_with('/')
            && base.contains(path)
            && relative::apply_prefix_maps(path, &a.hash_args) == path
    }

    /// A directory of `cwd_mapped_dirs` (see `ArgsAnalysis`) that one of
    /// `files` lies under by its absolute path, if any.
    fn mapped_dir_read(&self, files: &[ReadFile]) -> Option<&str> {
        let dirs = &self.analysis.cwd_mapped_dirs;
        files.iter().find_map(|f| {
            let path = paths::resolve_in(self.cwd, &f.path);
            (f.path.starts_with('/'))
                .then(|| dirs.iter().find(|d| paths::strip_dir(&path, d).is_some()))
                .flatten()
                .map(String::as_str)
        })
    }

    /// Depend mode's result key: the manifest key and the headers the
    /// compile's `.d` named, as recorded for direct mode.
    pub fn depend(&self, manifest: &Key, includes: &[IncludeRecord]) -> HashedKey {
        let mut h = KeyHasher::new(self.config.debug);
        h.field("kind", b"depend");
        h.field("manifest", manifest.as_bytes());
        for inc in includes {
            h.field("include", format!("{:?}", inc.path).as_bytes());
            h.field("digest", &inc.digest);
        }
        finish(h, Part::Direct)
    }

    /// What direct mode must check of `files` on a later call (see
    /// `hash::record`), or why this compile is not recorded (logged).
    /// `command_line_tests`: the call's arguments mention `__has_include`.
    /// `date_keyed`: a header may use `__DATE__` (see `hash::dated`).
    pub fn record(
        &self,
        files: &[ReadFile],
        search: &SearchDirs,
        command_line_tests: bool,
        date_keyed: bool,
    ) -> Result<(Vec<IncludeRecord>, Probes), Unrecorded> {
        if let Some(dir) = self.mapped_dir_read(files) {
            let why = format!(
                "a header under {dir}, which a prefix map names by its place in the working \
                 directory, is read by its absolute path"
            );
            self.log
                .note(format!("not recorded for direct mode: {why}"));
            return Err(Unrecorded::Unsuitable(why));
        }
        if let Some(f) = files.iter().find(|f| self.named_as_spelled(&f.path)) {
            // The record would find the other checkout's copy of it.
            let why = format!(
                "the object names {} as spelled, and base_dir relates it",
                f.path
            );
            self.log
                .note(format!("not recorded for direct mode: {why}"));
            return Err(Unrecorded::Unsuitable(why));
        }
        let sloppiness = &self.config.sloppiness;
        let ctx = RecordContext {
            cwd: self.cwd,
            base_dir: self.config.base_dir.as_ref(),
            coarse_start_ns: self.coarse_start_ns,
            input: &self.analysis.input,
            time_macros_sloppy: sloppiness.has(Sloppiness::TimeMacros),
            date_keyed,
            file_macro_sensitive: self.file_macro_sensitive(),
            skip_system_headers: sloppiness.has(Sloppiness::SystemHeaders),
            command_line_tests,
            mtime_sloppy: sloppiness.has(Sloppiness::IncludeFileMtime),
            ctime_sloppy: sloppiness.has(Sloppiness::IncludeFileCtime),
            ignored_headers: &self.config.ignore_headers_in_manifest,
        };
        let recorded = ctx.record(files, search);
        match &recorded {
            Ok(_) => {}
            Err(Unrecorded::Unsuitable(why)) => {
                self.log
                    .note(format!("not recorded for direct mode: {why}"));
            }
            Err(Unrecorded::Appeared(path)) => self.log.note(format!(
                "not recorded for direct mode: {path} appeared or changed in the timestamp \
                 tick of the call's start or later"
            )),
        }
        recorded
    }

    /// `.incbin`/`.include` make the assembler read a file no key covers.
    pub fn refuse_unseen_inputs(&self, what: &str, content: &[u8]) -> Result<(), Unkeyable> {
        if self.config.sloppiness.has(Sloppiness::Incbin) {
            return Ok(());
        }
        match asm::unseen_input_directive(content) {
            Some(directive) => Err(unkeyable(
                Counter::UnsupportedCodeDirective,
                format!("{what} uses {directive}, which reads a file the cache cannot see"),
            )),
            None => Ok(()),
        }
    }

    /// A source or header that may have changed after this call started, if
    /// any: its ctime lies in the timestamp tick of the call's start or later
    /// (`clock::stamp_settled`; on a file system with 1-second stamps, a file
    /// written earlier in the start's second counts, since a rewrite in that
    /// second would look the same). Only the ctime counts here: the kernel
    /// sets it on every change, while an mtime can be anywhere (tarballs,
    /// clock skew), and a future mtime must not make a file uncacheable.
    ///
    /// `pch`: the precompiled headers as the key took them. The compiler
    /// reads them itself, after the key was made: one that appeared, went
    /// or changed since then (a parallel job rebuilding it) may be what the
    /// object was built from, and the key would not say so.
    pub fn changed_since_start(&self, files: &[ReadFile], pch: &[PchInput]) -> Option<String> {
        let (a, cwd) = (self.analysis, self.cwd);
        let unsettled = |path: &str| self.unsettled(Path::new(&paths::resolve_in(cwd, path)));
        let read = std::iter::once(a.input.as_str()).chain(files.iter().map(|f| f.path.as_str()));
        if let Some(path) = read.clone().find(|p| unsettled(p)) {
            return Some(path.to_string());
        }
        self.precompiled_headers_changed(pch)
    }

    /// `changed_since_start` for files named by paths that are not UTF-8
    /// (relative to the working directory).
    pub fn changed_paths(&self, paths: &[PathBuf]) -> Option<String> {
        let path = paths
            .iter()
            .find(|p| self.unsettled(&Path::new(self.cwd).join(p)))?;
        Some(path.display().to_string())
    }

    /// Was `path` changed in the timestamp tick of the call's start or
    /// later, by its ctime (see `changed_since_start`)?
    fn unsettled(&self, path: &Path) -> bool {
        let ctime_sloppy = self.config.sloppiness.has(Sloppiness::IncludeFileCtime);
        std::fs::metadata(path)
            .is_ok_and(|m| Stamp::of(&m).unsettled_at(self.coarse_start_ns, true, ctime_sloppy))
    }

    fn is_clang(&self) -> bool {
        crate::compiler::family(self.compiler) == crate::compiler::Family::Clang
    }

    /// Is the input named by an absolute path under base_dir? Then `__FILE__`
    /// expands to a path that differs between checkouts although the key,
    /// which relates the path to base_dir, does not.
    fn file_macro_sensitive(&self) -> bool {
        let input = &self.analysis.input;
        self.config
            .base_dir
            .as_ref()
            .is_some_and(|b| input.starts_with('/') && b.contains(input))
    }
}

fn finish(mut h: KeyHasher, part: Part) -> HashedKey {
    let fields = h.take_fields();
    let (key, transcript) = h.finish();
    HashedKey {
        key,
        part,
        fields,
        transcript,
    }
}
