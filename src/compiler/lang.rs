//! Source languages, decided by `-x LANG` or the file extension, as gcc and clang do.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    C,
    Cxx,
    ObjC,
    ObjCxx,
    AsmWithCpp,
    Asm,
    CPreprocessed,
    CxxPreprocessed,
    ObjCPreprocessed,
    ObjCxxPreprocessed,
    /// Headers, compiled into a precompiled header (`.gch`, `.pch`).
    CHeader,
    CxxHeader,
    ObjCHeader,
    ObjCxxHeader,
}

/// What an input file is, as far as caching is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Source(Language),
    /// A language the compiler knows but objcache does not cache (Fortran, Ada …).
    Unsupported,
    /// Objects, archives and shared libraries: only the linker reads them.
    LinkerInput,
}

impl Language {
    /// The name `-x` takes.
    pub fn name(self) -> &'static str {
        match self {
            Language::C => "c",
            Language::Cxx => "c++",
            Language::ObjC => "objective-c",
            Language::ObjCxx => "objective-c++",
            Language::AsmWithCpp => "assembler-with-cpp",
            Language::Asm => "assembler",
            Language::CPreprocessed => "cpp-output",
            Language::CxxPreprocessed => "c++-cpp-output",
            Language::ObjCPreprocessed => "objective-c-cpp-output",
            Language::ObjCxxPreprocessed => "objective-c++-cpp-output",
            Language::CHeader => "c-header",
            Language::CxxHeader => "c++-header",
            Language::ObjCHeader => "objective-c-header",
            Language::ObjCxxHeader => "objective-c++-header",
        }
    }

    /// Already preprocessed: hashed as it is, without running the preprocessor.
    pub fn is_preprocessed(self) -> bool {
        matches!(
            self,
            Language::Asm
                | Language::CPreprocessed
                | Language::CxxPreprocessed
                | Language::ObjCPreprocessed
                | Language::ObjCxxPreprocessed
        )
    }

    /// The language of this language's preprocessed form, for C and its
    /// relatives: a compile of `t.i` and one of the `t.c` it came from read
    /// the same text. Others (assembler) keep their own.
    pub fn preprocessed(self) -> Language {
        match self {
            Language::C => Language::CPreprocessed,
            Language::Cxx => Language::CxxPreprocessed,
            Language::ObjC => Language::ObjCPreprocessed,
            Language::ObjCxx => Language::ObjCxxPreprocessed,
            other => other,
        }
    }

    /// A header: the compile writes a precompiled header.
    pub fn is_header(self) -> bool {
        matches!(
            self,
            Language::CHeader | Language::CxxHeader | Language::ObjCHeader | Language::ObjCxxHeader
        )
    }

    /// For `-x NAME`. `None` for a language objcache does not cache.
    pub fn from_x(name: &str) -> Option<Language> {
        Some(match name {
            "c" => Language::C,
            "c++" => Language::Cxx,
            "objective-c" => Language::ObjC,
            "objective-c++" => Language::ObjCxx,
            "assembler-with-cpp" => Language::AsmWithCpp,
            "assembler" => Language::Asm,
            "cpp-output" => Language::CPreprocessed,
            "c++-cpp-output" => Language::CxxPreprocessed,
            "objective-c-cpp-output" | "objc-cpp-output" => Language::ObjCPreprocessed,
            "objective-c++-cpp-output" | "objc++-cpp-output" => Language::ObjCxxPreprocessed,
            "c-header" => Language::CHeader,
            "c++-header" => Language::CxxHeader,
            "objective-c-header" => Language::ObjCHeader,
            "objective-c++-header" => Language::ObjCxxHeader,
            _ => return None,
        })
    }
}

pub fn classify_by_extension(path: &str) -> InputKind {
    let file = path.rsplit('/').next().unwrap_or(path);
    let Some((_, ext)) = file.rsplit_once('.') else {
        return InputKind::LinkerInput;
    };
    let lang = match ext {
        "c" => Language::C,
        "cc" | "cp" | "cxx" | "cpp" | "CPP" | "c++" | "C" | "CC" | "CXX" => Language::Cxx,
        "m" => Language::ObjC,
        "mm" | "M" => Language::ObjCxx,
        "S" | "sx" => Language::AsmWithCpp,
        "s" => Language::Asm,
        "i" => Language::CPreprocessed,
        "ii" => Language::CxxPreprocessed,
        "mi" => Language::ObjCPreprocessed,
        "mii" => Language::ObjCxxPreprocessed,
        // As gcc names them (g++ compiles a `.h` as C++: the driver's name
        // is in the key, and the language only decides the key's spelling).
        "h" => Language::CHeader,
        "hh" | "hpp" | "hxx" | "H" | "HPP" | "h++" | "tcc" => Language::CxxHeader,
        "o" | "a" | "so" | "lo" | "la" | "obj" | "lib" | "dylib" | "dll" | "res" => {
            return InputKind::LinkerInput
        }
        _ if file.contains(".so.") => return InputKind::LinkerInput,
        _ => return InputKind::Unsupported,
    };
    InputKind::Source(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(
            classify_by_extension("a/b.c"),
            InputKind::Source(Language::C)
        );
        assert_eq!(
            classify_by_extension("x.cpp"),
            InputKind::Source(Language::Cxx)
        );
        assert_eq!(
            classify_by_extension("x.S"),
            InputKind::Source(Language::AsmWithCpp)
        );
        assert_eq!(classify_by_extension("x.f90"), InputKind::Unsupported);
        assert_eq!(
            classify_by_extension("pch.hpp"),
            InputKind::Source(Language::CxxHeader)
        );
        assert_eq!(classify_by_extension("libz.so.1"), InputKind::LinkerInput);
        assert_eq!(classify_by_extension("main.o"), InputKind::LinkerInput);
        assert_eq!(Language::from_x("c++").unwrap().name(), "c++");
        assert_eq!(Language::from_x("fortran"), None);
    }
}
