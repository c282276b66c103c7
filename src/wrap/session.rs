//! The decision path of one cacheable call: direct-mode lookup through the
//! manifest, then preprocessor mode (or depend mode), then compiling.

use std::path::Path;
use std::process::Stdio;

use super::debug::{DebugFiles, Part};
use super::{checks, fallback, miss_inputs, test_panic, Fallback, Session};
use crate::compiler::args::{self, ArgsAnalysis};
use crate::config::Sloppiness;
use crate::hash::direct::{self, DigestCache};
use crate::hash::includes::{self, ReadFile, SearchDirs};
use crate::hash::record::{RecordContext, Unrecorded};
use crate::hash::{asm, preprocessor};
use crate::key::{Key, KeyHasher};
use crate::paths;
use crate::stats::Counter;
use crate::store::manifest::{IncludeRecord, Manifest, ManifestResult, Probes};
use crate::store::{EntryKind, LocalStore};

/// The result key from preprocessor mode, and what the preprocessor read.
struct Preprocessed {
    key: Key,
    files: Vec<ReadFile>,
    search: SearchDirs,
}

impl Session {
    pub(super) fn compile(&mut self) -> Result<i32, Fallback> {
        test_panic("start");
        let dirs = paths::current_dir()
            .map_err(|e| fallback(Counter::InternalError, format!("working directory: {e}")))?;
        let cwd = dirs.apparent.clone();
        let analysis = self.checked_analysis(&dirs)?;
        if self.config.debug {
            self.debug = Some(DebugFiles::new(
                &analysis.output,
                &cwd,
                self.config.debug_dir.as_deref(),
                self.config.debug_level,
                self.start_ns,
            ));
        }
        let common = self.common_digest(&analysis, &cwd)?;

        let manifest_key = self.manifest_key(&analysis, &common);
        if let Some(mkey) = &manifest_key {
            self.shard = LocalStore::shard_of(mkey);
            self.log.note(format!("manifest key {}", mkey.to_hex()));
            if !self.storage.policy().recache {
                if let Some(code) = self.direct_lookup(mkey, &analysis, &cwd)? {
                    return Ok(code);
                }
                self.changes.push((Counter::DirectCacheMiss, 1));
            }
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
            self.log
                .note("read_only_direct: no preprocessor-mode lookup; compiling");
            let compiled = self.run_compiler(&analysis, &cwd)?;
            if compiled.entry.is_some() {
                self.count_miss(false);
            }
            return Ok(compiled.code);
        }
        let pp = self.preprocess(&analysis, &cwd, &common, manifest_key.is_some())?;
        checks::includes_are_files(&pp.files, &cwd)?;
        self.shard = LocalStore::shard_of(&pp.key);
        self.log.note(format!("result key {}", pp.key.to_hex()));
        if self.storage.policy().recache {
            self.log.note("recache: not looking up the cache");
        } else if let Some(code) = self.serve(&pp.key, &analysis, &cwd)? {
            self.log.note("preprocessed cache hit");
            self.changes.push((Counter::PreprocessedCacheHit, 1));
            self.touch_miss_inputs();
            if let Some(mkey) = &manifest_key {
                self.remember_includes(mkey, &pp.key, &pp.files, &pp.search, &analysis, &cwd);
            }
            return Ok(code);
        }
        let compiled = self.run_compiler(&analysis, &cwd)?;
        test_panic("after-compile");
        if let Some(entry) = compiled.entry {
            // Recorded before storing: a shadowing header that appeared
            // during the call may have been read by the compile.
            let recorded = match &manifest_key {
                Some(_) if self.storage.may_write() => {
                    Some(self.record(&pp.files, &pp.search, &analysis, &cwd))
                }
                _ => None,
            };
            let changed = self
                .changed_during_compile(&analysis, &pp.files, &cwd)
                .or_else(|| match &recorded {
                    Some(Err(Unrecorded::Appeared(path))) => Some(path.clone()),
                    _ => None,
                });
            if let Some(why) = changed {
                // The key may have been computed from other content than the
                // object was built from: as in ccache, not a miss but its own
                // error.
                self.log.note(format!(
                    "not stored: {why} changed in the timestamp tick of the call's start or later"
                ));
                self.count_modified(true);
            } else {
                self.count_miss(true);
                if self.store_result(&pp.key, &entry) {
                    if let (Some(mkey), Some(Ok((includes, probes)))) = (&manifest_key, recorded) {
                        self.add_to_manifest(mkey, pp.key, includes, probes);
                    }
                }
            }
        }
        Ok(compiled.code)
    }

    /// The call's arguments, analysed once for every use (with base_dir,
    /// as the compiler will run with them: see `args::analyse_call`), and
    /// the checks ccache makes before any lookup.
    fn checked_analysis(&mut self, dirs: &paths::WorkingDir) -> Result<ArgsAnalysis, Fallback> {
        let cwd = &dirs.apparent;
        let expanded = self.expanded_args(cwd)?;
        let base = self.config.base_dir.as_ref().map(|b| (b, dirs));
        let mut analysis = args::analyse_call(&self.args, &expanded, base).map_err(|c| {
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
        checks::disabled_by_source(&analysis.input, self.source_text(&analysis))?;
        Ok(analysis)
    }

    /// The call's arguments with response files expanded, for a compiler
    /// type objcache caches (`compiler_type`); quoted as
    /// `response_file_format` says, or as the compiler type's own.
    fn expanded_args(&mut self, cwd: &str) -> Result<Vec<String>, Fallback> {
        let kind = self.compiler.kind;
        self.log.note(format!("compiler type {}", kind.name()));
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

    fn direct_lookup(
        &mut self,
        mkey: &Key,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<Option<i32>, Fallback> {
        let Some(manifest) = self.read_manifest(mkey, false) else {
            self.log
                .note("direct miss: no manifest (source, arguments or compiler are new)");
            return Ok(None);
        };
        let mut digests = DigestCache::default();
        let mut why_newest = None;
        for result in manifest.results.iter().rev() {
            let restamped = match direct::still_valid(result, cwd, &mut digests) {
                Ok(r) => r,
                Err(why) => {
                    why_newest.get_or_insert(why);
                    continue;
                }
            };
            if let Some(code) = self.serve(&result.result_key, a, cwd)? {
                self.log
                    .note(format!("direct cache hit: {}", result.result_key.to_hex()));
                self.changes.push((Counter::DirectCacheHit, 1));
                self.touch_miss_inputs();
                match restamped {
                    Some(stamps) => self.learn_stamps(mkey, &manifest, result, stamps),
                    None => self.storage.touch(mkey, EntryKind::Manifest),
                }
                return Ok(Some(code));
            }
        }
        self.direct_miss = why_newest.clone();
        self.log.note(format!(
            "direct miss: none of {} recorded include sets matches; newest: {}",
            manifest.results.len(),
            why_newest.unwrap_or_else(|| "its result is gone".into())
        ));
        Ok(None)
    }

    /// After a direct hit that had to hash headers or check probe
    /// directories whose stamps differed, records their current stamps (when
    /// they are old enough to trust), so the next hit in this checkout only
    /// needs `stat`. This is what ccache's inode cache buys, kept in the
    /// manifest itself.
    fn learn_stamps(
        &mut self,
        mkey: &Key,
        manifest: &Manifest,
        result: &ManifestResult,
        restamp: direct::Restamp,
    ) {
        if !self.storage.may_write() {
            return;
        }
        let Some(updated) = restamp.apply(result, self.coarse_start_ns) else {
            return;
        };
        let mut manifest = manifest.clone();
        manifest.add(updated);
        match manifest.encode(mkey, &self.config.namespace, self.compression_level()) {
            Ok(bytes) => self.storage.update_local(mkey, EntryKind::Manifest, &bytes),
            Err(e) => self.log.note(format!("could not update manifest: {e}")),
        }
    }

    /// The manifest stored under `mkey`. `again`: this call read it before,
    /// so the read is not counted a second time.
    fn read_manifest(&mut self, mkey: &Key, again: bool) -> Option<Manifest> {
        let verify = |b: &[u8]| Manifest::decode(b, mkey).map(|_| ());
        let (bytes, source) = if again {
            self.storage.reread(mkey, EntryKind::Manifest, &verify)?
        } else {
            self.storage.get(mkey, EntryKind::Manifest, &verify)?
        };
        match Manifest::decode(&bytes, mkey) {
            Ok(m) => Some(m),
            Err(why) => {
                self.log.note(format!(
                    "corrupt manifest {} ({why}): removed",
                    mkey.to_hex()
                ));
                self.storage.discard(mkey, EntryKind::Manifest, source);
                None
            }
        }
    }

    fn preprocess(
        &mut self,
        a: &ArgsAnalysis,
        cwd: &str,
        common: &[u8; 32],
        want_includes: bool,
    ) -> Result<Preprocessed, Fallback> {
        let mut h = KeyHasher::new(self.config.debug);
        h.field("kind", b"result");
        h.field("common", common);
        let mut files = Vec::new();
        let mut search = SearchDirs::default();
        if a.language.is_preprocessed() {
            let content = std::fs::read(&a.input)
                .map_err(|e| fallback(Counter::InternalError, format!("{}: {e}", a.input)))?;
            self.refuse_unseen_inputs(&a.input, &content)?;
            if a.language == crate::compiler::lang::Language::Asm {
                h.field("preprocessed", &content);
            } else {
                // As the preprocessor's output of the source is hashed.
                preprocessor::hash_preprocessed(
                    &mut h,
                    &content,
                    cwd,
                    self.config.base_dir.as_ref(),
                    !self.config.hash_dir,
                );
            }
        } else {
            let mut cmd = self.preprocessor_command();
            cmd.args(&a.preprocessor_args).arg("-E");
            if self.config.keep_comments_cpp {
                cmd.arg("-C");
            }
            if a.pch.creates {
                // A precompiled header keeps the macros it defines: their
                // definitions must be in the key, and `-E` alone drops them.
                cmd.arg("-dD");
            }
            if want_includes {
                cmd.arg("-v");
            }
            cmd.env("CCACHE_DISABLE", "1").stdin(Stdio::null());
            let out = cmd.output().map_err(|e| {
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
            self.refuse_unseen_inputs("the preprocessed source", &out.stdout)?;
            preprocessor::hash_preprocessed(
                &mut h,
                &out.stdout,
                cwd,
                self.config.base_dir.as_ref(),
                !self.config.hash_dir,
            );
            files = includes::includes_from_preprocessed(&out.stdout, &a.input);
            if want_includes {
                search = includes::parse_search_dirs(&out.stderr);
            }
            if a.pch.creates && a.pch.timestamp && self.is_clang() {
                // clang writes each input's mtime and size into the PCH.
                for path in
                    std::iter::once(a.input.as_str()).chain(files.iter().map(|f| f.path.as_str()))
                {
                    let m = std::fs::metadata(paths::resolve_in(cwd, path))
                        .map_err(|e| fallback(Counter::InternalError, format!("{path}: {e}")))?;
                    use std::os::unix::fs::MetadataExt;
                    h.field(
                        "pch-input-stamp",
                        format!("{path} {} {}", m.size(), m.mtime()).as_bytes(),
                    );
                }
            }
        }
        let key = Key::from_bytes(self.finish_hasher(h, Part::Preprocessor));
        Ok(Preprocessed { key, files, search })
    }

    /// `.incbin`/`.include` make the assembler read a file no key covers.
    pub(super) fn refuse_unseen_inputs(&self, what: &str, content: &[u8]) -> Result<(), Fallback> {
        if self.config.sloppiness.has(Sloppiness::Incbin) {
            return Ok(());
        }
        match asm::unseen_input_directive(content) {
            Some(directive) => Err(fallback(
                Counter::UnsupportedCodeDirective,
                format!("{what} uses {directive}, which reads a file the cache cannot see"),
            )),
            None => Ok(()),
        }
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
        let files = compiled
            .dep_body
            .as_deref()
            .and_then(|body| includes::includes_from_depfile(body, &a.input));
        let Some(files) = files else {
            // As in ccache: the includes cannot be known.
            self.changes.push((Counter::BadInputFile, 1));
            self.log
                .note("depend mode: could not read the dependency file; not stored");
            return Ok(compiled.code);
        };
        if let Err(f) = self.depend_mode_inputs(a, &files, cwd) {
            self.log
                .note(format!("{}: {}; not stored", f.counter.name(), f.reason));
            self.changes.push((f.counter, 1));
            return Ok(compiled.code);
        }
        self.count_miss(false);
        let search = self.search_dirs(a);
        let Ok((includes, probes)) = self.record(&files, &search, a, cwd) else {
            return Ok(compiled.code);
        };
        let mut h = KeyHasher::new(self.config.debug);
        h.field("kind", b"depend");
        h.field("manifest", mkey.as_bytes());
        for inc in &includes {
            h.field("include", format!("{:?}", inc.path).as_bytes());
            h.field("digest", &inc.digest);
        }
        let key = Key::from_bytes(self.finish_hasher(h, Part::Direct));
        if self.store_result(&key, &entry) {
            self.add_to_manifest(mkey, key, includes, probes);
        }
        Ok(compiled.code)
    }

    /// The compiler's header search list, from `-v` on an empty input.
    fn search_dirs(&mut self, a: &ArgsAnalysis) -> SearchDirs {
        let args: Vec<&String> = a
            .preprocessor_args
            .iter()
            .filter(|x| **x != a.input)
            .collect();
        let out = self
            .preprocessor_command()
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
                self.log
                    .note(format!("could not list the header search path: {e}"));
                SearchDirs::default()
            }
        }
    }

    fn record(
        &mut self,
        files: &[ReadFile],
        search: &SearchDirs,
        a: &ArgsAnalysis,
        cwd: &str,
    ) -> Result<(Vec<IncludeRecord>, Probes), Unrecorded> {
        let ctx = RecordContext {
            cwd,
            base_dir: self.config.base_dir.as_ref(),
            coarse_start_ns: self.coarse_start_ns,
            input: &a.input,
            time_macros_sloppy: self.config.sloppiness.has(Sloppiness::TimeMacros),
            file_macro_sensitive: self.file_macro_sensitive(a),
            skip_system_headers: self.config.sloppiness.has(Sloppiness::SystemHeaders),
            command_line_tests: self.args.iter().any(|x| x.contains("__has_include")),
            mtime_sloppy: self.config.sloppiness.has(Sloppiness::IncludeFileMtime),
            ctime_sloppy: self.config.sloppiness.has(Sloppiness::IncludeFileCtime),
            ignored_headers: &self.config.ignore_headers_in_manifest,
        };
        let recorded = ctx.record(files, search);
        match &recorded {
            Ok((includes, _)) => self.header_fields = miss_inputs::header_fields(includes),
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

    fn remember_includes(
        &mut self,
        mkey: &Key,
        result_key: &Key,
        files: &[ReadFile],
        search: &SearchDirs,
        a: &ArgsAnalysis,
        cwd: &str,
    ) {
        if !self.storage.may_write() {
            return;
        }
        if let Ok((includes, probes)) = self.record(files, search, a, cwd) {
            self.add_to_manifest(mkey, *result_key, includes, probes);
        }
    }

    fn add_to_manifest(
        &mut self,
        mkey: &Key,
        result_key: Key,
        includes: Vec<IncludeRecord>,
        probes: Probes,
    ) {
        if !self.storage.may_write() {
            return;
        }
        let mut manifest = self.read_manifest(mkey, true).unwrap_or_default();
        manifest.add(ManifestResult {
            result_key,
            includes,
            probes,
        });
        match manifest.encode(mkey, &self.config.namespace, self.compression_level()) {
            Ok(bytes) => {
                self.storage.put(mkey, EntryKind::Manifest, &bytes);
            }
            Err(e) => {
                self.log
                    .note(format!("could not encode manifest {}: {e}", mkey.to_hex()));
                self.changes.push((Counter::InternalError, 1));
            }
        }
    }
}
