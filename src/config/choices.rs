//! The keys whose values name one of a few choices.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_types_parse_as_ccache_reads_them() {
        assert_eq!(CompilerType::parse("icx-cl"), Some(CompilerType::IcxCl));
        assert_eq!(CompilerType::parse("auto"), None);
        assert_eq!(CompilerType::parse("future-compiler"), None);
    }
}
