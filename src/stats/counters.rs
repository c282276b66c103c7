//! Every statistics counter, defined once: ccache's name (what `--print-stats`
//! prints and scripts parse), the label `-s` shows, its section, how shards
//! combine it and whether `-z` resets it.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Counted as a cacheable call (hits and misses).
    Cacheable,
    /// A call that could not be cached; the label says why.
    Uncacheable,
    /// Something went wrong inside objcache; the build went on without the cache.
    Error,
    /// Bookkeeping that is not a call: sizes, timestamps, storage traffic.
    Other,
    /// Why a miss missed, as objcache explains it: one per miss.
    MissReason,
    /// Remote storage traffic and trouble: `-s` shows them in a section of
    /// their own, as ccache 4.13 does (its errors are not the call's).
    Remote,
}

/// How two shards' (or files') values of a counter make the total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    Sum,
    /// The larger: for a timestamp, the latest.
    Max,
}

/// What `-z` does with a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterKind {
    /// What happened since the last `-z`, which resets it.
    Count,
    /// Describes the cache's contents (or the zeroing itself); `-z` keeps it.
    State,
}

#[derive(Debug)]
pub struct CounterDef {
    pub name: &'static str,
    pub label: &'static str,
    pub section: Section,
    pub merge: Merge,
    pub kind: CounterKind,
}

macro_rules! counters {
    ($($variant:ident => $name:literal, $label:literal, $section:ident, $merge:ident, $kind:ident;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Counter { $($variant),* }

        /// All counters in declaration (= name) order, for index to variant lookups.
        pub const ALL: &[Counter] = &[$(Counter::$variant),*];

        pub const COUNTERS: &[CounterDef] = &[
            $(CounterDef {
                name: $name,
                label: $label,
                section: Section::$section,
                merge: Merge::$merge,
                kind: CounterKind::$kind,
            }),*
        ];
    };
}

// Variant => name, `-s` label, section, merge, kind;
counters! {
    AutoconfTest => "autoconf_test", "Autoconf compile/link", Uncacheable, Sum, Count;
    BadCompilerArguments => "bad_compiler_arguments", "Bad compiler arguments", Uncacheable, Sum, Count;
    BadConfig => "bad_config", "Bad configuration", Error, Sum, Count;
    BadInputFile => "bad_input_file", "Could not read or parse input file", Error, Sum, Count;
    BadOutputFile => "bad_output_file", "Could not write to output file", Error, Sum, Count;
    CacheMiss => "cache_miss", "Misses", Cacheable, Sum, Count;
    CacheSizeKibibyte => "cache_size_kibibyte", "Cache size (KiB)", Other, Sum, State;
    CalledForLink => "called_for_link", "Called for linking", Uncacheable, Sum, Count;
    CalledForPreprocessing => "called_for_preprocessing", "Called for preprocessing", Uncacheable, Sum, Count;
    CleanupsPerformed => "cleanups_performed", "Cleanups", Other, Sum, Count;
    CleanupsSkipped => "cleanups_skipped", "Cleanups left to another process", Other, Sum, Count;
    CompileFailed => "compile_failed", "Compilation failed", Uncacheable, Sum, Count;
    CompilerCheckFailed => "compiler_check_failed", "Compiler check failed", Error, Sum, Count;
    CompilerProducedEmptyOutput => "compiler_produced_empty_output", "Compiler produced empty output", Uncacheable, Sum, Count;
    CompilerProducedNoOutput => "compiler_produced_no_output", "Compiler produced no output", Uncacheable, Sum, Count;
    CompilerProducedStdout => "compiler_produced_stdout", "Compiler produced stdout", Uncacheable, Sum, Count;
    CorruptCacheEntry => "corrupt_cache_entry", "Corrupt cache entries", Error, Sum, Count;
    CorruptStatsFile => "corrupt_stats_file", "Corrupt stats files", Error, Sum, Count;
    CouldNotFindCompiler => "could_not_find_compiler", "Could not find compiler", Error, Sum, Count;
    CouldNotUseModules => "could_not_use_modules", "Could not use modules", Uncacheable, Sum, Count;
    CouldNotUsePrecompiledHeader => "could_not_use_precompiled_header", "Could not use precompiled header", Uncacheable, Sum, Count;
    DirectCacheHit => "direct_cache_hit", "Direct", Cacheable, Sum, Count;
    DirectCacheMiss => "direct_cache_miss", "Direct misses", Other, Sum, Count;
    Disabled => "disabled", "Ccache disabled", Uncacheable, Sum, Count;
    ErrorHashingExtraFile => "error_hashing_extra_file", "Error hashing extra file", Error, Sum, Count;
    FilesInCache => "files_in_cache", "Files", Other, Sum, State;
    InternalError => "internal_error", "Internal error", Error, Sum, Count;
    LocalStorageHit => "local_storage_hit", "Local storage hits", Other, Sum, Count;
    LocalStorageMiss => "local_storage_miss", "Local storage misses", Other, Sum, Count;
    LocalStorageReadHit => "local_storage_read_hit", "Local storage read hits", Other, Sum, Count;
    LocalStorageReadMiss => "local_storage_read_miss", "Local storage read misses", Other, Sum, Count;
    LocalStorageWrite => "local_storage_write", "Local storage writes", Other, Sum, Count;
    MissInputsInCache => "miss_inputs_in_cache", "Miss inputs", Other, Sum, State;
    MissReasonArgs => "miss_reason_args", "Arguments differ", MissReason, Sum, Count;
    MissReasonCompiler => "miss_reason_compiler", "Compiler differs", MissReason, Sum, Count;
    MissReasonConfig => "miss_reason_config", "Configuration differs", MissReason, Sum, Count;
    MissReasonCwd => "miss_reason_cwd", "Working directory differs", MissReason, Sum, Count;
    MissReasonEnvironment => "miss_reason_environment", "Environment differs", MissReason, Sum, Count;
    MissReasonEvicted => "miss_reason_evicted", "Same inputs, entry gone", MissReason, Sum, Count;
    MissReasonInclude => "miss_reason_include", "Header or extra file changed", MissReason, Sum, Count;
    MissReasonNewOutput => "miss_reason_new_output", "First compile of the output", MissReason, Sum, Count;
    MissReasonPreprocessed => "miss_reason_preprocessed", "Preprocessed output differs", MissReason, Sum, Count;
    MissReasonSource => "miss_reason_source", "Source changed", MissReason, Sum, Count;
    MissReasonTimeMacro => "miss_reason_time_macro", "Time macro used", MissReason, Sum, Count;
    MissReasonUnusable => "miss_reason_unusable", "Stored result unusable for the call", MissReason, Sum, Count;
    MissingCacheFile => "missing_cache_file", "Missing cache file", Error, Sum, Count;
    ModifiedInputFile => "modified_input_file", "Input file modified during compilation", Error, Sum, Count;
    MultipleSourceFiles => "multiple_source_files", "Multiple source files", Uncacheable, Sum, Count;
    NoInputFile => "no_input_file", "No input file", Uncacheable, Sum, Count;
    OutputToStdout => "output_to_stdout", "Output to stdout", Uncacheable, Sum, Count;
    PreprocessedCacheHit => "preprocessed_cache_hit", "Preprocessed", Cacheable, Sum, Count;
    PreprocessedCacheMiss => "preprocessed_cache_miss", "Preprocessed misses", Other, Sum, Count;
    PreprocessorError => "preprocessor_error", "Preprocessing failed", Uncacheable, Sum, Count;
    Recache => "recache", "Forced recache", Uncacheable, Sum, Count;
    RemoteStorageError => "remote_storage_error", "Remote storage errors", Remote, Sum, Count;
    RemoteStorageHit => "remote_storage_hit", "Remote storage hits", Remote, Sum, Count;
    RemoteStorageMiss => "remote_storage_miss", "Remote storage misses", Remote, Sum, Count;
    RemoteStorageReadHit => "remote_storage_read_hit", "Remote storage read hits", Remote, Sum, Count;
    RemoteStorageReadMiss => "remote_storage_read_miss", "Remote storage read misses", Remote, Sum, Count;
    RemoteStorageTimeout => "remote_storage_timeout", "Remote storage timeouts", Remote, Sum, Count;
    RemoteStorageWrite => "remote_storage_write", "Remote storage writes", Remote, Sum, Count;
    StatsLockTimeout => "stats_lock_timeout", "Stats locked by another process", Error, Sum, Count;
    StatsUpdatedTimestamp => "stats_updated_timestamp", "Stats updated", Other, Max, Count;
    StatsZeroedTimestamp => "stats_zeroed_timestamp", "Stats zeroed", Other, Max, State;
    UnsupportedCodeDirective => "unsupported_code_directive", "Unsupported code directive", Uncacheable, Sum, Count;
    UnsupportedCompilerOption => "unsupported_compiler_option", "Unsupported compiler option", Uncacheable, Sum, Count;
    UnsupportedEnvironmentVariable => "unsupported_environment_variable", "Unsupported environment variable", Uncacheable, Sum, Count;
    UnsupportedSourceEncoding => "unsupported_source_encoding", "Unsupported source encoding", Uncacheable, Sum, Count;
    UnsupportedSourceLanguage => "unsupported_source_language", "Unsupported source language", Uncacheable, Sum, Count;
}

impl Counter {
    pub fn def(self) -> &'static CounterDef {
        &COUNTERS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn from_name(name: &str) -> Option<Counter> {
        Counter::from_name_bytes(name.as_bytes())
    }

    /// `from_name` of a name's bytes (the table is sorted by name).
    pub fn from_name_bytes(name: &[u8]) -> Option<Counter> {
        COUNTERS
            .binary_search_by(|c| c.name.as_bytes().cmp(name))
            .ok()
            .map(|i| ALL[i])
    }

    /// Counters that describe the cache's contents rather than events; `-z` keeps them.
    pub fn is_state(self) -> bool {
        self.def().kind == CounterKind::State
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_in_the_compatibility_table() {
        let doc = include_str!("../../docs/compatibility.md");
        let table = &doc[doc
            .find("### Statistics counters")
            .expect("the counters table")..];
        for c in COUNTERS {
            assert!(
                table.contains(&format!("`{}`", c.name)),
                "docs/compatibility.md's counters table lacks {}",
                c.name
            );
        }
    }

    #[test]
    fn table_and_variants_agree_and_are_sorted() {
        assert_eq!(ALL.len(), COUNTERS.len());
        for (i, c) in ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        assert!(COUNTERS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(Counter::from_name("cache_miss"), Some(Counter::CacheMiss));
        for (i, c) in COUNTERS.iter().enumerate() {
            assert_eq!(Counter::from_name(c.name), Some(ALL[i]));
            assert_eq!(Counter::from_name(&format!("{}x", c.name)), None);
            assert_eq!(Counter::from_name(&c.name[1..]), None);
        }
        assert_eq!(Counter::from_name(""), None);
    }
}
