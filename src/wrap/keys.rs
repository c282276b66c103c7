//! The keys of one call: what every key shares (compiler, arguments,
//! language, environment) and the direct-mode manifest key.

use std::path::{Path, PathBuf};

use super::debug::Part;
use super::{fallback, Fallback, Session};
use crate::compiler::args::ArgsAnalysis;
use crate::compiler::profile::ProfileData;
use crate::compiler::relative;
use crate::config::Sloppiness;
use crate::hash::record;
use crate::key::{Key, KeyHasher};
use crate::stats::Counter;

/// Variables that change which headers the preprocessor finds.
const INCLUDE_PATH_VARS: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "OBJCPLUS_INCLUDE_PATH",
];

/// Sloppiness values that make a manifest record check less.
const RECORD_SLOPPINESS: &[Sloppiness] = &[
    Sloppiness::IncludeFileCtime,
    Sloppiness::IncludeFileMtime,
    Sloppiness::SystemHeaders,
    Sloppiness::TimeMacros,
];

impl Session {
    /// Everything both keys share: compiler, arguments, language, environment.
    pub(super) fn common_digest(
        &mut self,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<[u8; 32], Fallback> {
        let config = &self.config;
        let mut h = KeyHasher::new(config.debug);
        crate::compiler::hash_identity(
            &mut h,
            &self.compiler,
            &config.compiler_check,
            &config.cache_dir,
            self.coarse_start_ns,
        )
        .map_err(|e| fallback(Counter::CompilerCheckFailed, e))?;
        if !config.namespace.is_empty() {
            h.field("namespace", config.namespace.as_bytes());
        }
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
        if !a.shares_preprocessed {
            self.hash_cpp_args(&mut h, a);
        }
        if config.hash_dir && a.debug_info {
            // The directory as the debug information will name it.
            h.field(
                "cwd",
                relative::apply_prefix_maps(cwd, &a.hash_args).as_bytes(),
            );
        }
        self.hash_environment(&mut h);
        self.hash_extra_files(&mut h, a)?;
        self.hash_profiling(&mut h, a, cwd)?;
        self.hash_precompiled_headers(&mut h, a)?;
        if a.native_cpu {
            h.field("cpu", super::cpu_identity().as_bytes());
        }
        Ok(self.finish_hasher(h, Part::Common))
    }

    /// The language of diagnostics, which are replayed on a hit, and
    /// variables that change what the compiler driver does.
    fn hash_environment(&self, h: &mut KeyHasher) {
        // `sloppiness = locale`: diagnostics in another language may be replayed.
        let locale: &[&str] = if self.config.sloppiness.has(Sloppiness::Locale) {
            &[]
        } else {
            &["LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES"]
        };
        for var in locale.iter().chain(&[
            "CCC_OVERRIDE_OPTIONS",
            "COMPILER_PATH",
            "GCC_EXEC_PREFIX",
            "GCC_COMPARE_DEBUG",
        ]) {
            let value = std::env::var_os(var).unwrap_or_default();
            h.field(var, value.as_encoded_bytes());
        }
    }

    /// Files named by options (not by ignored ones), then those
    /// `extra_files_to_hash` names (relative ones from the working
    /// directory, as in ccache).
    fn hash_extra_files(&self, h: &mut KeyHasher, a: &ArgsAnalysis) -> Result<(), Fallback> {
        let config = &self.config;
        let named = a.extra_files.iter().zip(&a.extra_file_options);
        let by_options = named
            .filter(|(_, option)| {
                !crate::compiler::args::is_ignored_option(option, &config.ignore_options)
            })
            .map(|(file, _)| file);
        for file in by_options.chain(&config.extra_files_to_hash) {
            let digest = crate::key::hash_file_content(Path::new(file))
                .map_err(|e| fallback(Counter::ErrorHashingExtraFile, format!("{file}: {e}")))?;
            h.field("extra-file", &digest);
        }
        Ok(())
    }

    /// What coverage and profile options make the object depend on: the
    /// working directory (the `.gcda` path, gcc's `.gcno`) and the profile
    /// data the compile reads. A profile that is not there runs uncached
    /// (`no_input_file`, as in ccache): gcc only warns and compiles without.
    fn hash_profiling(
        &self,
        h: &mut KeyHasher,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<(), Fallback> {
        let p = &a.profiling;
        if p.needs_cwd(&a.output, self.config.sloppiness.has(Sloppiness::GcnoCwd)) {
            h.field("profile-cwd", cwd.as_bytes());
        }
        let family = crate::compiler::family(&self.compiler);
        match p.data(family, &a.output, cwd) {
            ProfileData::None => Ok(()),
            ProfileData::Unknown(why) => Err(fallback(Counter::UnsupportedCompilerOption, why)),
            ProfileData::File(file) => {
                let digest =
                    crate::key::hash_file_content(&Path::new(cwd).join(&file)).map_err(|e| {
                        fallback(
                            Counter::NoInputFile,
                            format!("profile data {}: {e}", file.display()),
                        )
                    })?;
                h.field("profile-data", &digest);
                Ok(())
            }
        }
    }

    /// The content of every precompiled header the compile may read (see
    /// `compiler::pch`). With `pch_external_checksum`, a `FILE.sum` beside
    /// one stands for it, as in ccache.
    fn hash_precompiled_headers(
        &self,
        h: &mut KeyHasher,
        a: &ArgsAnalysis,
    ) -> Result<(), Fallback> {
        if a.pch.creates {
            return Ok(());
        }
        let family = crate::compiler::family(&self.compiler);
        let source = match family {
            crate::compiler::Family::Gcc => self.source_text(a).unwrap_or_default(),
            crate::compiler::Family::Clang => &[],
        };
        let external = self.config.pch_external_checksum;
        for file in a.pch.inputs(family, &a.input, source) {
            let unusable = |e: std::io::Error| {
                fallback(
                    Counter::CouldNotUsePrecompiledHeader,
                    format!("precompiled header {}: {e}", file.display()),
                )
            };
            let sum = PathBuf::from(format!("{}.sum", file.display()));
            if external && sum.is_file() {
                let content = std::fs::read(&sum).map_err(unusable)?;
                h.field("pch-sum", &content);
                continue;
            }
            let members = if file.is_dir() {
                // gcc tries the files of a `.gch` directory in turn.
                let mut m: Vec<PathBuf> = std::fs::read_dir(&file)
                    .map_err(unusable)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .collect();
                m.sort();
                m
            } else {
                vec![file.clone()]
            };
            for member in members {
                let digest = crate::store::digests::file_digest(
                    &member,
                    &self.config.cache_dir,
                    self.coarse_start_ns,
                )
                .map_err(unusable)?;
                h.field("pch", &digest);
            }
        }
        Ok(())
    }

    /// Finishes a hasher, keeping its transcript for `debug = true` as
    /// the input of `part`.
    pub(super) fn finish_hasher(&mut self, mut h: KeyHasher, part: Part) -> [u8; 32] {
        self.key_fields.append(&mut h.take_fields());
        let (key, transcript) = h.finish();
        if let (Some(t), Some(files)) = (transcript, &mut self.debug) {
            files.add(part, &t);
        }
        *key.as_bytes()
    }

    /// The manifest key, or `None` when direct mode does not apply to this call.
    pub(super) fn manifest_key(&mut self, a: &ArgsAnalysis, common: &[u8; 32]) -> Option<Key> {
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
        let source = self.source_text(a)?.to_vec();
        if self.file_macro_sensitive(a) && record::has_file_macro(&source) {
            self.log.note(
                "direct mode off: the source uses __FILE__ and its path is absolute under base_dir",
            );
            return None;
        }
        // `SOURCE_DATE_EPOCH` is not in this key: it only sets what these
        // macros say, and direct mode takes no compile that uses one (the
        // headers' are checked when recording).
        let time_macro_arg =
            (a.hash_args.iter().chain(&a.cpp_args)).any(|x| record::has_time_macros(x.as_bytes()));
        if !self.config.sloppiness.has(Sloppiness::TimeMacros)
            && (time_macro_arg || record::has_time_macros(&source))
        {
            self.log.note(
                "direct mode off: the source or an argument uses __DATE__, __TIME__ or \
                 __TIMESTAMP__",
            );
            return None;
        }
        let mut h = KeyHasher::new(self.config.debug);
        h.field("kind", b"manifest");
        h.field("common", common);
        if a.shares_preprocessed {
            // Left out of the result key; the preprocessor needs them.
            self.hash_cpp_args(&mut h, a);
        }
        h.field("input", a.hash_form(&a.input).as_bytes());
        h.field("source", blake3::hash(&source).as_bytes());
        for var in INCLUDE_PATH_VARS {
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
        Some(Key::from_bytes(self.finish_hasher(h, Part::Direct)))
    }

    /// The preprocessor's own arguments and the source's language.
    fn hash_cpp_args(&self, h: &mut KeyHasher, a: &ArgsAnalysis) {
        for arg in self.keyed(&a.cpp_args) {
            h.field("cpp-arg", a.hash_form(arg).as_bytes());
        }
        h.field("language", a.language.name().as_bytes());
    }

    /// `args` without what `ignore_options` leaves out of the keys.
    fn keyed<'a>(&self, args: &'a [String]) -> Vec<&'a String> {
        crate::compiler::args::keyed_args(args, &self.config.ignore_options)
    }

    /// The source's text (`None`: unreadable), read once per call.
    pub(super) fn source_text(&self, a: &ArgsAnalysis) -> Option<&[u8]> {
        self.source
            .get_or_init(|| std::fs::read(&a.input).ok())
            .as_deref()
    }

    pub(super) fn is_clang(&self) -> bool {
        crate::compiler::family(&self.compiler) == crate::compiler::Family::Clang
    }

    /// Is the input named by an absolute path under base_dir? Then `__FILE__`
    /// expands to a path that differs between checkouts although the key,
    /// which relates the path to base_dir, does not.
    pub(super) fn file_macro_sensitive(&self, a: &ArgsAnalysis) -> bool {
        self.config
            .base_dir
            .as_ref()
            .is_some_and(|b| a.input.starts_with('/') && b.contains(&a.input))
    }
}
