//! The decision path of one cacheable call: direct-mode lookup through the
//! manifest, then preprocessor mode (or depend mode), then compiling.

use std::path::Path;
use std::process::{Output, Stdio};

use super::debug::DebugFiles;
use super::{checks, fallback, miss_inputs, test_panic, Fallback, Session};
use crate::compiler::args::{self, ArgsAnalysis};
use crate::compiler::Compiler;
use crate::config::Config;
use crate::disk::entry::ResultEntry;
use crate::disk::manifest::{IncludeRecord, ManifestResult, Probes};
use crate::disk::LocalStore;
use crate::hash::includes::{self, ReadFile, SearchDirs};
use crate::hash::recipe::{HashedKey, Recipe};
use crate::hash::record::Unrecorded;
use crate::key::Key;
use crate::log::Log;
use crate::paths;
use crate::stats::Counter;
use crate::storage::Storage;

/// The result key from preprocessor mode, and what the preprocessor read.
pub(super) struct Preprocessed {
    pub key: Key,
    pub files: Vec<ReadFile>,
    pub search: SearchDirs,
    /// Files read whose names are not UTF-8 (see
    /// `includes::includes_from_preprocessed`).
    pub unnamed: Vec<std::path::PathBuf>,
    /// Direct mode may record the compile (see `Recipe::time_strings`).
    pub recordable: bool,
    /// The preprocessed text shows a date as `__DATE__` expands to (see
    /// `hash::dated`).
    pub shows_date: bool,
}

impl Session {
    /// Looks the call up, serves it or compiles and stores: the exit code
    /// to return, or why the compiler must run without the cache.
    pub(super) fn compile(&mut self) -> Result<i32, Fallback> {
        test_panic("start");
        let (analysis, cwd) = self.prepare()?;
        self.pch_inputs = self.recipe(&analysis, &cwd).precompiled_headers()?;
        let common = (self.recipe(&analysis, &cwd)).common_with(&self.pch_inputs)?;
        let common = self.keep_key(common);

        let date = match self.recipe(&analysis, &cwd).date_in_manifest() {
            true => self.call_date(),
            false => None,
        };
        let manifest_key = (self.recipe(&analysis, &cwd)).manifest(&common, date.as_deref());
        let manifest_key = manifest_key.map(|hashed| self.keep_key(hashed));
        if let Some(mkey) = &manifest_key {
            self.shard = LocalStore::shard_of(mkey);
            self.log.note(format!("manifest key {}", mkey.to_hex()));
            if !self.storage.policy().recache {
                if let Some(code) = self.direct_lookup(mkey, &analysis, &cwd, false)? {
                    return Ok(code);
                }
                self.changes.push((Counter::DirectCacheMiss, 1));
            }
        }
        let direct = manifest_key.is_some();
        // An input already preprocessed (assembler, `.i`, `.ii`) is looked
        // up by its own bytes and the arguments, with no preprocessor run:
        // what direct mode is, and where ccache counts it (its manifest for
        // such an input names no other file). Only the counting differs
        // from preprocessor mode; the key is the same.
        let direct_input = self.config.direct_mode && analysis.language.is_preprocessed();
        if !self.storage.policy().read_only_direct {
            self.settle_before_reading(&analysis, &cwd, direct);
        }
        if let Some(mkey) = &manifest_key {
            // A header's `-x` language in the search-path probe would not be
            // the driver's (g++ compiles `.h` as C++).
            if self.config.depend_mode
                && self.config.run_second_cpp
                && analysis.deps.is_some()
                && !analysis.pch.creates
            {
                return self.depend_mode_miss(mkey, &analysis, &cwd);
            }
        }

        if analysis.modules {
            // apply_sloppiness let it through for depend mode, which this
            // call could not take (no manifest key, a PCH being made).
            return Err(fallback(
                Counter::CouldNotUseModules,
                "-fmodules: depend mode cannot be used for this call",
            ));
        }
        if self.storage.policy().read_only_direct {
            // ccache's read_only_direct: results come from direct mode only;
            // otherwise the compiler runs and nothing is stored.
            if direct_input {
                let pp = self.preprocess(&analysis, &cwd, &common, false)?;
                if let Some(code) = self.look_up(&pp, None, true, &analysis, &cwd)? {
                    return Ok(code);
                }
            }
            self.log
                .note("read_only_direct: no preprocessor-mode lookup; compiling");
            let compiled = self.run_compiler(&analysis, &cwd)?;
            if compiled.entry.is_some() {
                self.count_miss(false);
            }
            return Ok(compiled.code);
        }
        // The date is read before the preprocessor runs, to be compared
        // with the date after the compile.
        self.date_before_preprocessing();
        let pp = self.preprocess(&analysis, &cwd, &common, direct)?;
        checks::includes_are_files(&pp.files, &cwd)?;
        self.shard = LocalStore::shard_of(&pp.key);
        self.log.note(format!("result key {}", pp.key.to_hex()));
        let found = self.look_up(&pp, manifest_key.as_ref(), direct_input, &analysis, &cwd)?;
        if let Some(code) = found {
            return Ok(code);
        }
        let pp = self.settle_fresh_includes(pp, &analysis, &cwd, &common, direct);
        let compiled = self.run_compiler(&analysis, &cwd)?;
        test_panic("after-compile");
        if let Some(entry) = compiled.entry {
            self.store_compiled(&entry, &pp, manifest_key.as_ref(), &analysis, &cwd);
        }
        Ok(compiled.code)
    }

    /// Looks the result key up and serves a hit (recording it for direct
    /// mode under `manifest_key`); `direct_input`: the key was made from an
    /// already-preprocessed input, a direct-mode lookup.
    fn look_up(
        &mut self,
        pp: &Preprocessed,
        manifest_key: Option<&Key>,
        direct_input: bool,
        analysis: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Option<i32>, Fallback> {
        if self.storage.policy().recache {
            self.log.note("recache: not looking up the cache");
            return Ok(None);
        }
        let Some(code) = self.serve(&pp.key, analysis, cwd)? else {
            if direct_input {
                self.changes.push((Counter::DirectCacheMiss, 1));
            }
            return Ok(None);
        };
        if direct_input {
            self.log
                .note("direct cache hit (the input is already preprocessed)");
            self.changes.push((Counter::DirectCacheHit, 1));
        } else {
            self.log.note("preprocessed cache hit");
            self.changes.push((Counter::PreprocessedCacheHit, 1));
        }
        let ns = &self.config.namespace;
        miss_inputs::touch_miss_inputs(self.explain_target.as_ref(), &self.storage, ns);
        // A time the preprocessed text shows was this call's, not the
        // next one's: such a compile is no more recorded on a hit than
        // on a miss.
        let recordable = pp.recordable && self.storage.may_write();
        if let Some(mkey) = manifest_key.filter(|_| recordable) {
            if let Ok(recorded) = self.record(&pp.files, &pp.search, analysis, cwd, true) {
                self.add_recorded(mkey, pp, recorded, analysis, cwd);
            }
        }
        Ok(Some(code))
    }

    /// Everything about the call that comes before its keys: the analysis
    /// of its arguments and the checks that end the cached path early.
    /// Returns the analysis and the working directory.
    fn prepare(&mut self) -> Result<(ArgsAnalysis, String), Fallback> {
        let dirs = paths::current_dir()
            .map_err(|e| fallback(Counter::InternalError, format!("working directory: {e}")))?;
        let analysis = self.checked_analysis(&dirs)?;
        self.debug = DebugFiles::for_call(&self.config, &analysis.output, &dirs, self.start_ns);
        Ok((analysis, dirs.apparent))
    }

    /// The call's arguments, analysed once for every use (with base_dir,
    /// as the compiler will run with them: see `args::analyse_call`), and
    /// the checks ccache makes before any lookup.
    fn checked_analysis(&mut self, dirs: &paths::WorkingDir) -> Result<ArgsAnalysis, Fallback> {
        let cwd = &dirs.apparent;
        let expanded = self.expanded_args(cwd)?;
        let place = args::Place {
            dirs,
            base_dir: self.config.base_dir.as_ref(),
        };
        let mut analysis = args::analyse_call(&self.args, &expanded, Some(place)).map_err(|c| {
            let counter = checks::ccache_precedence(&expanded, cwd, c);
            fallback(counter, "the call cannot be cached")
        })?;
        self.input = Some(analysis.user_input.clone());
        for note in &analysis.base_dir_notes {
            self.log.note(note);
        }
        checks::files_named(&analysis, cwd)?;
        self.apply_sloppiness(&mut analysis)?;
        // The miss inputs name the source as the user did.
        self.explain_target = Some(miss_inputs::ExplainTarget::new(
            &analysis.output,
            &analysis.user_input,
            cwd,
            self.config.base_dir.as_ref(),
        ));
        // gcc writes a dependency file of its own when these are set; a hit
        // could not produce it.
        for var in ["DEPENDENCIES_OUTPUT", "SUNPRO_DEPENDENCIES"] {
            if std::env::var_os(var).is_some() {
                return Err(fallback(
                    Counter::UnsupportedEnvironmentVariable,
                    format!("{var} is set"),
                ));
            }
        }
        let memo = self.storage.inode_memo();
        let path = std::path::Path::new(&analysis.input);
        let source = crate::hash::source::read(path, memo.as_deref(), self.coarse_start_ns);
        if source.recalled {
            self.log
                .note("the source's digest and macros recalled from the inode memo");
        }
        self.source = source.text;
        self.source_facts = source.facts;
        checks::disabled_by_source(&analysis.input, self.source_facts.as_ref())?;
        Ok(analysis)
    }

    /// After a miss in preprocessor mode compiled: stores the result and
    /// records it for direct mode, unless a file it read changed meanwhile.
    fn store_compiled(
        &mut self,
        entry: &ResultEntry,
        pp: &Preprocessed,
        manifest_key: Option<&Key>,
        analysis: &ArgsAnalysis,
        cwd: &str,
    ) {
        if pp.shows_date && !self.date_unchanged() {
            // The object may hold another date than the preprocessed text.
            self.log
                .note("not stored: the date changed while the call ran (__DATE__)");
            self.count_miss(true);
            return;
        }
        // Recorded before storing: a shadowing header that appeared
        // during the call may have been read by the compile.
        let recorded = match manifest_key {
            Some(_) if self.storage.may_write() && pp.recordable => {
                Some(self.record(&pp.files, &pp.search, analysis, cwd, true))
            }
            _ => None,
        };
        let changed = (self.recipe(analysis, cwd))
            .changed_since_start(&pp.files, &self.pch_inputs)
            .or_else(|| self.recipe(analysis, cwd).changed_paths(&pp.unnamed))
            .or_else(|| match &recorded {
                Some(Err(Unrecorded::Appeared(path))) => Some(path.clone()),
                _ => None,
            });
        if let Some(why) = changed {
            // The key may have been computed from other content than the
            // object was built from: as in ccache, not a miss but its own
            // error (with the lookup that missed).
            self.log.note(format!(
                "not stored: {why} changed in the timestamp tick of the call's start or later"
            ));
            self.changes.push((Counter::ModifiedInputFile, 1));
            if !self.storage.policy().recache {
                self.changes.push((Counter::PreprocessedCacheMiss, 1));
            }
            return;
        }
        self.count_miss(true);
        if self.store_result(&pp.key, entry, &analysis.output) {
            if let (Some(mkey), Some(Ok(recorded))) = (manifest_key, recorded) {
                self.add_recorded(mkey, pp, recorded, analysis, cwd);
            }
        }
    }

    /// What the keys of this call are made of.
    pub(super) fn recipe<'s>(&'s self, analysis: &'s ArgsAnalysis, cwd: &'s str) -> Recipe<'s> {
        Recipe {
            config: &self.config,
            compiler: &self.compiler,
            cwd,
            analysis,
            coarse_start_ns: self.coarse_start_ns,
            source: self.source.as_ref(),
            source_facts: self.source_facts.as_ref(),
            memo: &self.storage,
            log: &self.log,
        }
    }

    /// A key made by the recipe: its fields are kept to explain a miss,
    /// its transcript for `debug = true`.
    fn keep_key(&mut self, hashed: HashedKey) -> Key {
        let HashedKey {
            key,
            part,
            mut fields,
            transcript,
        } = hashed;
        self.key_fields.append(&mut fields);
        if let (Some(t), Some(files)) = (transcript, &mut self.debug) {
            files.add(part, &t);
        }
        key
    }

    /// The call's arguments with response files expanded, for a compiler
    /// type objcache caches (`compiler_type`); quoted as
    /// `response_file_format` says, or as the compiler type's own.
    fn expanded_args(&mut self, cwd: &str) -> Result<Vec<String>, Fallback> {
        let kind = self.compiler.kind;
        self.log.note(format!("Compiler type: {}", kind.name()));
        if !kind.is_supported() {
            return Err(fallback(
                Counter::UnsupportedCompilerOption,
                format!("compiler type {} is not one objcache caches", kind.name()),
            ));
        }
        let format = self
            .config
            .response_file_format
            .unwrap_or(if kind.is_msvc_group() {
                args::ResponseFormat::Windows
            } else {
                args::ResponseFormat::Posix
            });
        args::expand_response_files_as(&self.args, Path::new(cwd), format)
            .map_err(|why| fallback(Counter::BadCompilerArguments, why))
    }

    fn count_miss(&mut self, preprocessed: bool) {
        if self.storage.policy().recache {
            // As in ccache, a forced recache is its own kind of call, not a miss.
            self.changes.push((Counter::Recache, 1));
            return;
        }
        self.log.note(
            "cache miss: no stored result for this key (to see which input differs \
             from an earlier compile, set debug = true and diff the \
             <object>.<timestamp>.ccache-input-text files of the two calls; \
             <object>.<timestamp>.ccache-log is each call's log)",
        );
        self.storage.missed();
        self.missed = true;
        self.changes.push((Counter::CacheMiss, 1));
        if preprocessed {
            self.changes.push((Counter::PreprocessedCacheMiss, 1));
        }
    }

    /// Preprocessor mode's result key, and what the preprocessor read
    /// (the search list only when `want_includes`).
    fn preprocess(
        &mut self,
        a: &ArgsAnalysis,
        cwd: &str,
        common: &Key,
        want_includes: bool,
    ) -> Result<Preprocessed, Fallback> {
        let (key, pp) = self.preprocessed(a, cwd, common, want_includes)?;
        self.keep_key(key);
        Ok(pp)
    }

    /// `preprocess` without keeping the key's fields: the key, and what
    /// the preprocessor read and showed.
    pub(super) fn preprocessed(
        &self,
        a: &ArgsAnalysis,
        cwd: &str,
        common: &Key,
        want_includes: bool,
    ) -> Result<(HashedKey, Preprocessed), Fallback> {
        if a.language.is_preprocessed() {
            let key = self.recipe(a, cwd).result_of_preprocessed_input(common)?;
            let pp = Preprocessed {
                key: key.key,
                files: Vec::new(),
                search: SearchDirs::default(),
                unnamed: Vec::new(),
                recordable: true,
                shows_date: false,
            };
            return Ok((key, pp));
        }
        let out = run_preprocessor(&self.config, &self.compiler, a, want_includes)?;
        let (files, unnamed) = includes::includes_from_preprocessed(&out.stdout, &a.input);
        if let Some(name) = unnamed.first() {
            self.log.note(format!(
                "not recorded for direct mode: the name of {} is not UTF-8",
                name.display()
            ));
        }
        let key = (self.recipe(a, cwd)).result_of_preprocessed(common, &out.stdout, &files)?;
        let shown = self.recipe(a, cwd).time_strings(&out.stdout, &files);
        let search = match want_includes {
            true => includes::parse_search_dirs(&out.stderr),
            false => SearchDirs::default(),
        };
        let pp = Preprocessed {
            key: key.key,
            files,
            search,
            recordable: want_includes && !shown.clock && unnamed.is_empty(),
            unnamed,
            shows_date: shown.date,
        };
        Ok((key, pp))
    }

    /// Depend mode: no preprocessor at all. The compile's own `.d` names the
    /// headers; their contents complete the key.
    fn depend_mode_miss(
        &mut self,
        mkey: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<i32, Fallback> {
        let compiled = self.run_compiler(a, cwd)?;
        let Some(entry) = compiled.entry else {
            return Ok(compiled.code);
        };
        let files = compiled.dep_body.as_deref().and_then(|body| {
            let phony = a.deps.as_ref().is_some_and(|d| d.phony);
            includes::includes_from_depfile(body, &a.input, phony)
        });
        let Some(files) = files else {
            // As in ccache: the includes cannot be known.
            self.changes.push((Counter::BadInputFile, 1));
            self.log
                .note("depend mode: could not read the dependency file; not stored");
            return Ok(compiled.code);
        };
        let usable = checks::depend_mode_inputs(&self.recipe(a, cwd), &files, &self.pch_inputs);
        let dated = self.recipe(a, cwd).date_in_manifest();
        if dated && !self.date_unchanged() {
            self.log
                .note("depend mode: the date changed while the call ran (__DATE__); not stored");
            return Ok(compiled.code);
        }
        if let Err(f) = usable {
            self.log
                .note(format!("{}: {}; not stored", f.counter.name(), f.reason));
            self.changes.push((f.counter, 1));
            return Ok(compiled.code);
        }
        self.count_miss(false);
        let search = search_dirs(&self.config, &self.compiler, a, &self.log);
        let Ok(recorded) = self.record(&files, &search, a, cwd, dated) else {
            return Ok(compiled.code);
        };
        let key = self.recipe(a, cwd).depend(mkey, &recorded.0);
        let key = self.keep_key(key);
        if self.store_result(&key, &entry, &a.output) {
            add_to_manifest(&mut self.storage, mkey, key, recorded);
        }
        Ok(compiled.code)
    }

    /// What direct mode records of a compile that read `files` (see
    /// `Recipe::record`); its headers are kept to explain a later miss.
    /// `date_keyed`: a header may use `__DATE__` (see `hash::dated`).
    fn record(
        &mut self,
        files: &[ReadFile],
        search: &SearchDirs,
        a: &ArgsAnalysis,
        cwd: &str,
        date_keyed: bool,
    ) -> Result<(Vec<IncludeRecord>, Probes), Unrecorded> {
        // The analysed arguments: a response file's `-D` counts too.
        let command_line_tests =
            (a.cpp_args.iter().chain(&a.hash_args)).any(|x| x.contains("__has_include"));
        let recorded = (self.recipe(a, cwd)).record(files, search, command_line_tests, date_keyed);
        if let Ok((includes, _)) = &recorded {
            self.header_fields = miss_inputs::header_fields(includes);
        }
        recorded
    }
}

/// Adds a result and what direct mode recorded of its compile to the
/// manifest under `mkey`.
pub(super) fn add_to_manifest(
    storage: &mut Storage,
    mkey: &Key,
    result_key: Key,
    (includes, probes): (Vec<IncludeRecord>, Probes),
) {
    let result = ManifestResult {
        result_key,
        includes,
        probes,
    };
    storage.add_to_manifest(mkey, result);
}

/// Runs the preprocessor on the call's source: its output, or why not.
fn run_preprocessor(
    config: &Config,
    compiler: &Compiler,
    a: &ArgsAnalysis,
    want_includes: bool,
) -> Result<Output, Fallback> {
    let mut cmd = super::preprocessor_command(config, compiler);
    // `-E` first, as ccache runs it: a wrapper script may look only at
    // its first argument to tell a preprocessor run from a compile.
    cmd.arg("-E").args(&a.preprocessor_args);
    if config.keep_comments_cpp {
        cmd.arg("-C");
    }
    if a.pch.creates {
        // A precompiled header keeps the macros it defines: their
        // definitions must be in the key, and `-E` alone drops them.
        cmd.arg("-dD");
    }
    if a.pch.forced_include_pch(crate::compiler::family(compiler)) {
        cmd.arg("-fpch-preprocess");
    }
    if want_includes {
        cmd.arg("-v");
    }
    cmd.env("CCACHE_DISABLE", "1").stdin(Stdio::null());
    let out = super::with_uncached_err(&mut cmd).output().map_err(|e| {
        fallback(
            Counter::PreprocessorError,
            format!("running the preprocessor: {e}"),
        )
    })?;
    if !out.status.success() {
        return Err(fallback(
            Counter::PreprocessorError,
            "the preprocessor failed",
        ));
    }
    Ok(out)
}

/// The compiler's header search list, from `-v` on an empty input.
fn search_dirs(config: &Config, compiler: &Compiler, a: &ArgsAnalysis, log: &Log) -> SearchDirs {
    let args: Vec<&String> = a
        .preprocessor_args
        .iter()
        .filter(|x| **x != a.input)
        .collect();
    let out = super::preprocessor_command(config, compiler)
        .args(args)
        .args([
            "-E",
            "-v",
            "-x",
            a.language.name(),
            "/dev/null",
            "-o",
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => includes::parse_search_dirs(&o.stderr),
        Err(e) => {
            log.note(format!("could not list the header search path: {e}"));
            SearchDirs::default()
        }
    }
}
