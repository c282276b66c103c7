//! The keys whose values name one of a few choices (or a set of them).

/// The compiler types ccache knows. objcache caches the gcc and clang
/// families (`icx`, Intel's clang-based driver with gcc's command line,
/// counts as clang); the others run uncached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompilerType {
    Clang,
    ClangCl,
    Gcc,
    Icl,
    Icx,
    IcxCl,
    Msvc,
    Nvcc,
    Other,
}

impl CompilerType {
    /// `None` for `auto` and, as in ccache, for any name it does not know.
    pub fn parse(text: &str) -> Option<CompilerType> {
        Some(match text {
            "clang" => CompilerType::Clang,
            "clang-cl" => CompilerType::ClangCl,
            "gcc" => CompilerType::Gcc,
            "icl" => CompilerType::Icl,
            "icx" => CompilerType::Icx,
            "icx-cl" => CompilerType::IcxCl,
            "msvc" => CompilerType::Msvc,
            "nvcc" => CompilerType::Nvcc,
            "other" => CompilerType::Other,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            CompilerType::Clang => "clang",
            CompilerType::ClangCl => "clang-cl",
            CompilerType::Gcc => "gcc",
            CompilerType::Icl => "icl",
            CompilerType::Icx => "icx",
            CompilerType::IcxCl => "icx-cl",
            CompilerType::Msvc => "msvc",
            CompilerType::Nvcc => "nvcc",
            CompilerType::Other => "other",
        }
    }

    /// Compilers with another command line than gcc's: objcache cannot
    /// analyse their calls.
    pub fn is_supported(self) -> bool {
        !matches!(
            self,
            CompilerType::ClangCl
                | CompilerType::Icl
                | CompilerType::IcxCl
                | CompilerType::Msvc
                | CompilerType::Nvcc
        )
    }

    /// The MSVC-style ones, whose response files use Windows quoting.
    pub fn is_msvc_group(self) -> bool {
        matches!(
            self,
            CompilerType::Msvc | CompilerType::ClangCl | CompilerType::Icl | CompilerType::IcxCl
        )
    }
}

/// How a response file quotes (`response_file_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFormat {
    /// gcc's: single and double quotes; a backslash makes any character plain.
    Posix,
    /// Microsoft's: double quotes only; backslashes are plain except before
    /// a double quote.
    Windows,
}

/// One `sloppiness` value of ccache 4.13: a check the user lets objcache
/// skip. Every value ccache defines is one, also those objcache needs no
/// code for (`file_stat_matches`, `pch_defines`: see configuration.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sloppiness {
    ClangIndexStore,
    FileStatMatches,
    FileStatMatchesCtime,
    GcnoCwd,
    Incbin,
    IncludeFileCtime,
    IncludeFileMtime,
    Ivfsoverlay,
    Locale,
    Modules,
    PchDefines,
    RandomSeed,
    SystemHeaders,
    TimeMacros,
}

impl Sloppiness {
    pub const ALL: [Sloppiness; 14] = [
        Sloppiness::ClangIndexStore,
        Sloppiness::FileStatMatches,
        Sloppiness::FileStatMatchesCtime,
        Sloppiness::GcnoCwd,
        Sloppiness::Incbin,
        Sloppiness::IncludeFileCtime,
        Sloppiness::IncludeFileMtime,
        Sloppiness::Ivfsoverlay,
        Sloppiness::Locale,
        Sloppiness::Modules,
        Sloppiness::PchDefines,
        Sloppiness::RandomSeed,
        Sloppiness::SystemHeaders,
        Sloppiness::TimeMacros,
    ];

    /// ccache's name, which also goes into keys.
    pub fn name(self) -> &'static str {
        match self {
            Sloppiness::ClangIndexStore => "clang_index_store",
            Sloppiness::FileStatMatches => "file_stat_matches",
            Sloppiness::FileStatMatchesCtime => "file_stat_matches_ctime",
            Sloppiness::GcnoCwd => "gcno_cwd",
            Sloppiness::Incbin => "incbin",
            Sloppiness::IncludeFileCtime => "include_file_ctime",
            Sloppiness::IncludeFileMtime => "include_file_mtime",
            Sloppiness::Ivfsoverlay => "ivfsoverlay",
            Sloppiness::Locale => "locale",
            Sloppiness::Modules => "modules",
            Sloppiness::PchDefines => "pch_defines",
            Sloppiness::RandomSeed => "random_seed",
            Sloppiness::SystemHeaders => "system_headers",
            Sloppiness::TimeMacros => "time_macros",
        }
    }

    /// `None` for a name ccache 4.13 does not define: ignored, as ccache
    /// ignores it. `no_system_headers` is ccache's older spelling.
    pub fn parse(word: &str) -> Option<Sloppiness> {
        match word {
            "no_system_headers" => Some(Sloppiness::SystemHeaders),
            _ => Sloppiness::ALL.into_iter().find(|s| s.name() == word),
        }
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// The `sloppiness` values set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SloppinessSet(u32);

impl SloppinessSet {
    /// Values separated by commas, spaces or both, as ccache accepts them;
    /// unknown ones are left out.
    pub fn parse(text: &str) -> SloppinessSet {
        text.split([',', ' '])
            .filter_map(Sloppiness::parse)
            .fold(SloppinessSet::default(), SloppinessSet::with)
    }

    pub fn with(self, s: Sloppiness) -> SloppinessSet {
        SloppinessSet(self.0 | s.bit())
    }

    pub fn has(self, s: Sloppiness) -> bool {
        self.0 & s.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_types_parse_as_ccache_reads_them() {
        assert_eq!(CompilerType::parse("icx-cl"), Some(CompilerType::IcxCl));
        assert_eq!(CompilerType::parse("auto"), None);
        assert_eq!(CompilerType::parse("future-compiler"), None);
    }

    #[test]
    fn sloppiness_names_round_trip_and_fit_the_set() {
        for s in Sloppiness::ALL {
            assert_eq!(Sloppiness::parse(s.name()), Some(s));
            assert!(SloppinessSet::default().with(s).has(s));
        }
        assert!(Sloppiness::ALL.len() <= 32);
    }

    #[test]
    fn sloppiness_resolves_aliases_and_ignores_unknown_values() {
        let set = SloppinessSet::parse("no_system_headers, future_value,,locale");
        let on: Vec<Sloppiness> = Sloppiness::ALL
            .into_iter()
            .filter(|s| set.has(*s))
            .collect();
        assert_eq!(on, [Sloppiness::Locale, Sloppiness::SystemHeaders]);
        assert_eq!(SloppinessSet::parse(""), SloppinessSet::default());
    }
}
