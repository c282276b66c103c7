//! Every statistics counter, defined once: ccache's name (what `--print-stats`
//! prints and scripts parse), the label `-s` shows, and its section.

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
}

#[derive(Debug)]
pub struct CounterDef {
    pub name: &'static str,
    pub label: &'static str,
    pub section: Section,
}

macro_rules! counters {
    ($($variant:ident => $name:literal, $label:literal, $section:ident;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Counter { $($variant),* }

        /// All counters in declaration (= name) order, for index to variant lookups.
        pub const ALL: &[Counter] = &[$(Counter::$variant),*];

        pub const COUNTERS: &[CounterDef] = &[
            $(CounterDef { name: $name, label: $label, section: Section::$section }),*
        ];
    };
}

counters! {
    AutoconfTest => "autoconf_test", "Autoconf compile/link", Uncacheable;
    BadCompilerArguments => "bad_compiler_arguments", "Bad compiler arguments", Uncacheable;
    BadConfig => "bad_config", "Bad configuration", Error;
    BadOutputFile => "bad_output_file", "Could not write to output file", Error;
    CacheMiss => "cache_miss", "Misses", Cacheable;
    CacheSizeKibibyte => "cache_size_kibibyte", "Cache size (KiB)", Other;
    CalledForLink => "called_for_link", "Called for linking", Uncacheable;
    CalledForPreprocessing => "called_for_preprocessing", "Called for preprocessing", Uncacheable;
    CleanupsPerformed => "cleanups_performed", "Cleanups", Other;
    CompileFailed => "compile_failed", "Compilation failed", Uncacheable;
    CompilerCheckFailed => "compiler_check_failed", "Compiler check failed", Error;
    CompilerProducedEmptyOutput => "compiler_produced_empty_output", "Compiler produced empty output", Uncacheable;
    CompilerProducedNoOutput => "compiler_produced_no_output", "Compiler produced no output", Uncacheable;
    CompilerProducedStdout => "compiler_produced_stdout", "Compiler produced stdout", Uncacheable;
    CorruptCacheEntry => "corrupt_cache_entry", "Corrupt cache entries", Error;
    CouldNotFindCompiler => "could_not_find_compiler", "Could not find compiler", Error;
    CouldNotUseModules => "could_not_use_modules", "Could not use modules", Uncacheable;
    CouldNotUsePrecompiledHeader => "could_not_use_precompiled_header", "Could not use precompiled header", Uncacheable;
    DirectCacheHit => "direct_cache_hit", "Direct", Cacheable;
    DirectCacheMiss => "direct_cache_miss", "Direct misses", Other;
    ErrorHashingExtraFile => "error_hashing_extra_file", "Error hashing extra file", Error;
    FilesInCache => "files_in_cache", "Files", Other;
    InternalError => "internal_error", "Internal error", Error;
    LocalStorageHit => "local_storage_hit", "Local storage hits", Other;
    LocalStorageMiss => "local_storage_miss", "Local storage misses", Other;
    LocalStorageReadHit => "local_storage_read_hit", "Local storage read hits", Other;
    LocalStorageReadMiss => "local_storage_read_miss", "Local storage read misses", Other;
    LocalStorageWrite => "local_storage_write", "Local storage writes", Other;
    MissingCacheFile => "missing_cache_file", "Missing cache file", Error;
    MultipleSourceFiles => "multiple_source_files", "Multiple source files", Uncacheable;
    NoInputFile => "no_input_file", "No input file", Uncacheable;
    OutputToStdout => "output_to_stdout", "Output to stdout", Uncacheable;
    PreprocessedCacheHit => "preprocessed_cache_hit", "Preprocessed", Cacheable;
    PreprocessedCacheMiss => "preprocessed_cache_miss", "Preprocessed misses", Other;
    PreprocessorError => "preprocessor_error", "Preprocessing failed", Uncacheable;
    Recache => "recache", "Forced recache", Uncacheable;
    RemoteStorageError => "remote_storage_error", "Remote storage errors", Error;
    RemoteStorageHit => "remote_storage_hit", "Remote storage hits", Other;
    RemoteStorageMiss => "remote_storage_miss", "Remote storage misses", Other;
    RemoteStorageReadHit => "remote_storage_read_hit", "Remote storage read hits", Other;
    RemoteStorageReadMiss => "remote_storage_read_miss", "Remote storage read misses", Other;
    RemoteStorageTimeout => "remote_storage_timeout", "Remote storage timeouts", Error;
    RemoteStorageWrite => "remote_storage_write", "Remote storage writes", Other;
    StatsUpdatedTimestamp => "stats_updated_timestamp", "Stats updated", Other;
    StatsZeroedTimestamp => "stats_zeroed_timestamp", "Stats zeroed", Other;
    UnsupportedCodeDirective => "unsupported_code_directive", "Unsupported code directive", Uncacheable;
    UnsupportedCompilerOption => "unsupported_compiler_option", "Unsupported compiler option", Uncacheable;
    UnsupportedEnvironmentVariable => "unsupported_environment_variable", "Unsupported environment variable", Uncacheable;
    UnsupportedSourceLanguage => "unsupported_source_language", "Unsupported source language", Uncacheable;
}

impl Counter {
    pub fn def(self) -> &'static CounterDef {
        &COUNTERS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    pub fn from_name(name: &str) -> Option<Counter> {
        COUNTERS.iter().position(|c| c.name == name).map(|i| ALL[i])
    }

    /// Counters that describe the cache's contents rather than events; `-z` keeps them.
    pub fn is_state(self) -> bool {
        matches!(
            self,
            Counter::CacheSizeKibibyte | Counter::FilesInCache | Counter::StatsZeroedTimestamp
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_variants_agree_and_are_sorted() {
        assert_eq!(ALL.len(), COUNTERS.len());
        for (i, c) in ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        assert!(COUNTERS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(Counter::from_name("cache_miss"), Some(Counter::CacheMiss));
    }
}
