//! The compiler options objcache knows by name, as one table: what each
//! takes as its value and what it means for caching.
//!
//! An argument is the entry of its exact name; failing that, the longest
//! entry whose name begins it and that takes a glued value (`-Idir` is
//! `-I` with `dir`) or names a family (`-fdump-tree-all` is one of
//! `-fdump-`). So `-iwithprefixbefore` is itself and not `-iwithprefix`
//! with a value, and `-include-pch` (an entry of its own) is not `-include`.
//! Options the table does not know are hashed as they are.

/// What an entry says; a set of the flags below.
pub(crate) type Flags = u8;

/// `NAME VALUE`: the next argument is the value, when `NAME` stands alone.
pub(crate) const TAKES_ARG: Flags = 1 << 0;
/// `NAMEVALUE`: the value may be glued on, and then no separate one follows.
pub(crate) const TAKES_CONCAT_ARG: Flags = 1 << 1;
/// Every argument that begins with `NAME` is an option of this entry's
/// kind (`-fdump-…`, `-Xarch_…`): the rest of it is part of the name.
pub(crate) const FAMILY: Flags = 1 << 2;
/// Acts on the preprocessor only: its whole effect is in the preprocessed
/// text, so it goes to `cpp_args`.
pub(crate) const AFFECTS_CPP: Flags = 1 << 3;
/// The call cannot be cached: the compiler writes files besides the object
/// that are not followed, or reads files that cannot be hashed (see
/// docs/compatibility.md).
pub(crate) const TOO_HARD: Flags = 1 << 4;
/// The value names a file whose content decides the output (plugins,
/// specs, profiles): it is hashed.
pub(crate) const HASH_FILE: Flags = 1 << 5;

pub(crate) struct CompilerOption {
    pub name: &'static str,
    pub flags: Flags,
}

const fn opt(name: &'static str, flags: Flags) -> CompilerOption {
    CompilerOption { name, flags }
}

const ARG: Flags = TAKES_ARG;
/// `-I dir` or `-Idir`.
const ARG_OR_CONCAT: Flags = TAKES_ARG | TAKES_CONCAT_ARG;
/// A preprocessor option with a value, separate or glued.
const CPP_ARG: Flags = TAKES_ARG | TAKES_CONCAT_ARG | AFFECTS_CPP;
/// `-fplugin=FILE`.
const CONCAT_FILE: Flags = TAKES_CONCAT_ARG | HASH_FILE;

/// Sorted by name (byte order), for binary search.
static OPTIONS: &[CompilerOption] = &[
    // clang's static analyser (`--analyze`, `--analyzer-output`): a report, no object.
    opt("--analyze", FAMILY | TOO_HARD),
    opt("--param", ARG),
    // Writes `.i`/`.s` files beside the object (clang also takes the
    // `=cwd|obj` form with two dashes).
    opt("--save-temps", TOO_HARD),
    opt("--save-temps=", TAKES_CONCAT_ARG | TOO_HARD),
    // Writes a diagnostics file whose name is not followed.
    opt("--serialize-diagnostics", ARG | TOO_HARD),
    opt("--specs=", CONCAT_FILE),
    opt("--sysroot", ARG),
    opt("-A", ARG),
    opt("-B", ARG),
    opt("-D", CPP_ARG),
    opt("-F", ARG),
    opt("-I", CPP_ARG),
    opt("-L", ARG),
    opt("-MF", ARG_OR_CONCAT),
    // Dependency output objcache does not reproduce.
    opt("-MG", TOO_HARD),
    // Writes a compilation database entry whose name is not followed
    // (`-MJ FILE` or `-MJFILE`).
    opt("-MJ", ARG_OR_CONCAT | TOO_HARD),
    opt("-MQ", ARG_OR_CONCAT),
    opt("-MT", ARG_OR_CONCAT),
    opt("-T", ARG),
    opt("-U", CPP_ARG),
    opt("-Wa,", TAKES_CONCAT_ARG),
    opt("-Wp,", TAKES_CONCAT_ARG),
    opt("-Xanalyzer", ARG),
    // `-Xarch_ARCH VALUE`.
    opt("-Xarch_", FAMILY | TAKES_ARG),
    opt("-Xassembler", ARG),
    opt("-Xclang", ARG),
    opt("-Xlinker", ARG),
    opt("-Xpreprocessor", ARG),
    opt("-arch", ARG),
    // Writes the prototypes to a file whose name is not followed.
    opt("-aux-info", ARG | TOO_HARD),
    opt("-b", ARG),
    opt("-cxx-isystem", CPP_ARG),
    opt("-dumpbase", ARG),
    opt("-dumpbase-ext", ARG),
    opt("-dumpdir", ARG),
    opt("-e", ARG),
    opt("-fauto-profile=", CONCAT_FILE),
    // Modules: caches outside the translation unit.
    opt("-fcxx-modules", TOO_HARD),
    // Dump files whose names are not followed.
    opt("-fdump-", FAMILY | TOO_HARD),
    opt("-fmodule-file", FAMILY | TOO_HARD),
    opt("-fmodules-ts", FAMILY | TOO_HARD),
    opt("-fpass-plugin=", CONCAT_FILE),
    opt("-fplugin=", CONCAT_FILE),
    opt("-fprofile-sample-use=", CONCAT_FILE),
    opt("-fsanitize-blacklist=", CONCAT_FILE),
    opt("-fsanitize-ignorelist=", CONCAT_FILE),
    // Writes a trace file whose name is not followed.
    opt("-ftime-trace", FAMILY | TOO_HARD),
    opt("-gcc-toolchain", ARG),
    // clang's `=single` keeps the split sections in the object; not followed.
    opt("-gsplit-dwarf=", TAKES_CONCAT_ARG | TOO_HARD),
    opt("-idirafter", CPP_ARG),
    opt("-iframework", ARG),
    opt("-iframeworkwithsysroot", ARG),
    opt("-imacros", CPP_ARG),
    opt("-imultilib", ARG),
    opt("-include", CPP_ARG),
    // Not preprocessor-only: clang reads the precompiled header as a
    // compile input, and its content is hashed.
    opt("-include-pch", ARG),
    opt("-index-store-path", ARG),
    opt("-iprefix", CPP_ARG),
    opt("-iquote", CPP_ARG),
    opt("-isysroot", ARG),
    opt("-isystem", CPP_ARG),
    opt("-isystem-after", CPP_ARG),
    opt("-ivfsoverlay", ARG),
    opt("-iwithprefix", CPP_ARG),
    opt("-iwithprefixbefore", CPP_ARG),
    opt("-iwithsysroot", ARG),
    opt("-l", ARG),
    opt("-mllvm", ARG),
    // And `-nostdinc++`.
    opt("-nostdinc", FAMILY | AFFECTS_CPP),
    opt("-o", ARG_OR_CONCAT),
    opt("-resource-dir", ARG),
    opt("-save-temps", TOO_HARD),
    opt("-save-temps=", TAKES_CONCAT_ARG | TOO_HARD),
    opt("-specs", ARG | HASH_FILE),
    opt("-specs=", CONCAT_FILE),
    opt("-stdlib++-isystem", ARG),
    opt("-target", ARG),
    opt("-u", ARG),
    opt("-working-directory", ARG),
    opt("-x", ARG_OR_CONCAT),
    opt("-z", ARG),
];

/// The longest name in the table: no longer prefix of an argument can match.
const LONGEST_NAME: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < OPTIONS.len() {
        if OPTIONS[i].name.len() > longest {
            longest = OPTIONS[i].name.len();
        }
        i += 1;
    }
    longest
};

fn find(name: &str) -> Option<&'static CompilerOption> {
    OPTIONS
        .binary_search_by(|o| o.name.cmp(name))
        .ok()
        .map(|i| &OPTIONS[i])
}

/// An argument read as a table entry.
#[derive(Clone, Copy)]
pub(crate) struct Match<'a> {
    pub option: &'static CompilerOption,
    /// The glued value (`dir` of `-Idir`). An entry that takes only a glued
    /// value has an empty one when the argument is its bare name.
    pub glued: Option<&'a str>,
}

impl<'a> Match<'a> {
    pub fn name(&self) -> &'static str {
        self.option.name
    }

    pub fn has(&self, flag: Flags) -> bool {
        self.option.flags & flag != 0
    }

    /// The next argument is this option's value.
    pub fn takes_next(&self) -> bool {
        self.glued.is_none() && self.has(TAKES_ARG)
    }
}

/// The table's entry for `arg`, by the rule at the top of this file.
pub(crate) fn lookup(arg: &str) -> Option<Match<'_>> {
    if let Some(option) = find(arg) {
        let glued = option.flags & (TAKES_ARG | TAKES_CONCAT_ARG) == TAKES_CONCAT_ARG;
        return Some(Match {
            option,
            glued: glued.then_some(""),
        });
    }
    (1..arg.len().min(LONGEST_NAME + 1))
        .rev()
        .filter(|&n| arg.is_char_boundary(n))
        .find_map(|n| {
            let option = find(&arg[..n])?;
            let m = |glued| Some(Match { option, glued });
            match option.flags {
                f if f & TAKES_CONCAT_ARG != 0 => m(Some(&arg[n..])),
                f if f & FAMILY != 0 => m(None),
                _ => None,
            }
        })
}

/// Does option `a` take its value as the next argument?
pub(crate) fn takes_separate_value(a: &str) -> bool {
    lookup(a).is_some_and(|m| m.takes_next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_without_duplicates() {
        for pair in OPTIONS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} must come after {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn entries_are_consistent() {
        for o in OPTIONS {
            assert!(o.name.starts_with('-') && o.name.len() > 1, "{}", o.name);
            assert!(o.flags != 0, "{} says nothing", o.name);
            // A glued value and a family both claim the rest of the argument.
            assert!(
                o.flags & (TAKES_CONCAT_ARG | FAMILY) != (TAKES_CONCAT_ARG | FAMILY),
                "{}",
                o.name
            );
            if o.flags & HASH_FILE != 0 {
                assert!(o.flags & (TAKES_ARG | TAKES_CONCAT_ARG) != 0, "{}", o.name);
            }
        }
    }

    fn flags_of(arg: &str) -> Option<(&'static str, Option<&str>)> {
        lookup(arg).map(|m| (m.name(), m.glued))
    }

    #[test]
    fn exact_names_win_over_prefixes() {
        assert_eq!(flags_of("-I"), Some(("-I", None)));
        assert_eq!(flags_of("-include-pch"), Some(("-include-pch", None)));
        assert_eq!(flags_of("-isystem-after"), Some(("-isystem-after", None)));
        assert!(!lookup("-include-pch").unwrap().has(AFFECTS_CPP));
        assert!(lookup("-include").unwrap().has(AFFECTS_CPP));
    }

    #[test]
    fn glued_values_and_families() {
        assert_eq!(flags_of("-Iinc"), Some(("-I", Some("inc"))));
        assert_eq!(flags_of("-DA=1"), Some(("-D", Some("A=1"))));
        assert_eq!(
            flags_of("-iwithprefixbeforedir"),
            Some(("-iwithprefixbefore", Some("dir")))
        );
        assert_eq!(flags_of("-fplugin=p.so"), Some(("-fplugin=", Some("p.so"))));
        assert_eq!(flags_of("-fplugin="), Some(("-fplugin=", Some(""))));
        assert_eq!(flags_of("-Wp,-MD,x.d"), Some(("-Wp,", Some("-MD,x.d"))));
        assert_eq!(flags_of("-fdump-tree-all"), Some(("-fdump-", None)));
        assert_eq!(flags_of("-nostdinc++"), Some(("-nostdinc", None)));
        // `-include-pch` takes no glued value: a longer argument is `-include`'s.
        assert_eq!(flags_of("-include-pchx"), Some(("-include", Some("-pchx"))));
        assert_eq!(flags_of("-O2"), None);
        assert_eq!(flags_of("-fmodulesx"), None);
        assert_eq!(
            flags_of("-save-temps=obj"),
            Some(("-save-temps=", Some("obj")))
        );
        assert_eq!(flags_of("-save-tempsx"), None);
        assert_eq!(flags_of("-é"), None);
    }

    #[test]
    fn separate_values() {
        for a in [
            "-I",
            "-o",
            "-MF",
            "-Xclang",
            "-specs",
            "-Xarch_arm64",
            "-aux-info",
        ] {
            assert!(takes_separate_value(a), "{a}");
        }
        for a in [
            "-Iinc",
            "-ofile",
            "-specs=x",
            "-c",
            "-fplugin=",
            "-O2",
            "-Wp,",
        ] {
            assert!(!takes_separate_value(a), "{a}");
        }
    }
}
