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
pub(crate) type Flags = u16;

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
/// The value is a path (absolute, or relative to the working directory):
/// one under base_dir is related to it in the keys.
pub(crate) const TAKES_PATH: Flags = 1 << 6;
/// A path option's value is a directory the preprocessor searches for
/// headers, which it names `DIR/header` (gcc looks there for precompiled
/// headers too): given to the compiler relative to base_dir.
pub(crate) const INCLUDE_DIR: Flags = 1 << 7;
/// A path option's value is a directory of frameworks (`DIR/X.framework/…`):
/// given to the compiler relative to base_dir.
pub(crate) const FRAMEWORK_DIR: Flags = 1 << 8;
/// A path option's value is a header the preprocessor reads as spelled:
/// given to the compiler relative to base_dir.
pub(crate) const INCLUDE_FILE: Flags = 1 << 9;
/// The glued value is `OLD=NEW`, OLD a path prefix the compiler writes as
/// NEW: OLD is related to base_dir in the keys.
pub(crate) const PREFIX_MAP: Flags = 1 << 10;
/// A prefix map that also applies to the paths in debug information (the
/// working directory among them).
pub(crate) const DEBUG_MAP: Flags = 1 << 11;
/// A path option's value is profile data the compile reads (a file, or a
/// directory of them): given to the compiler relative to base_dir, as
/// ccache does, so that gcc's record of the options in the debug
/// information is the same in every checkout.
pub(crate) const PROFILE_INPUT: Flags = 1 << 12;

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
const CONCAT_FILE: Flags = TAKES_CONCAT_ARG | HASH_FILE | TAKES_PATH;
/// `-L dir` or `-Ldir`, a path.
const PATH: Flags = TAKES_ARG | TAKES_CONCAT_ARG | TAKES_PATH;
/// A preprocessor option naming a path, separate or glued.
const CPP_PATH: Flags = CPP_ARG | TAKES_PATH;
/// A directory searched for headers.
const CPP_DIR: Flags = CPP_PATH | INCLUDE_DIR;
/// A header read before the source.
const CPP_FILE: Flags = CPP_PATH | INCLUDE_FILE;
/// The long spellings (`--include-directory DIR`, `--include-directory=DIR`).
const LONG_CPP_PATH: Flags = TAKES_ARG | AFFECTS_CPP | TAKES_PATH;
const LONG_CPP_PATH_EQ: Flags = TAKES_CONCAT_ARG | AFFECTS_CPP | TAKES_PATH;
const LONG_CPP_DIR: Flags = LONG_CPP_PATH | INCLUDE_DIR;
const LONG_CPP_DIR_EQ: Flags = LONG_CPP_PATH_EQ | INCLUDE_DIR;
const LONG_CPP_FILE: Flags = LONG_CPP_PATH | INCLUDE_FILE;
const LONG_CPP_FILE_EQ: Flags = LONG_CPP_PATH_EQ | INCLUDE_FILE;
/// `-fmacro-prefix-map=OLD=NEW`.
const MAP: Flags = TAKES_CONCAT_ARG | PREFIX_MAP;
/// `-fprofile-generate=DIR`: a path, glued.
const CONCAT_PATH: Flags = TAKES_CONCAT_ARG | TAKES_PATH;
/// `-fprofile-use=PATH`: profile data read, glued.
const PROFILE: Flags = CONCAT_PATH | PROFILE_INPUT;

/// Sorted by name (byte order), for binary search.
static OPTIONS: &[CompilerOption] = &[
    // clang's static analyser (`--analyze`, `--analyzer-output`): a report, no object.
    opt("--analyze", FAMILY | TOO_HARD),
    // gcc's and clang's long spellings of `-imacros`, `-include`, `-I-`,
    // `-I`, `-idirafter`, `-iprefix` and `-iwithprefix…`: `--NAME VALUE`
    // or `--NAME=VALUE`.
    opt("--imacros", LONG_CPP_FILE),
    opt("--imacros=", LONG_CPP_FILE_EQ),
    opt("--include", LONG_CPP_FILE),
    opt("--include-barrier", AFFECTS_CPP),
    opt("--include-directory", LONG_CPP_DIR),
    opt("--include-directory-after", LONG_CPP_DIR),
    opt("--include-directory-after=", LONG_CPP_DIR_EQ),
    opt("--include-directory=", LONG_CPP_DIR_EQ),
    opt("--include-prefix", LONG_CPP_PATH),
    opt("--include-prefix=", LONG_CPP_PATH_EQ),
    opt("--include-with-prefix", LONG_CPP_PATH),
    opt("--include-with-prefix-after", LONG_CPP_PATH),
    opt("--include-with-prefix-after=", LONG_CPP_PATH_EQ),
    opt("--include-with-prefix-before", LONG_CPP_PATH),
    opt("--include-with-prefix-before=", LONG_CPP_PATH_EQ),
    opt("--include-with-prefix=", LONG_CPP_PATH_EQ),
    opt("--include=", LONG_CPP_FILE_EQ),
    opt("--param", ARG),
    // Writes `.i`/`.s` files beside the object (clang also takes the
    // `=cwd|obj` form with two dashes).
    opt("--save-temps", TOO_HARD),
    opt("--save-temps=", TAKES_CONCAT_ARG | TOO_HARD),
    // Writes a diagnostics file whose name is not followed.
    opt("--serialize-diagnostics", ARG | TOO_HARD),
    opt("--specs=", CONCAT_FILE),
    opt("--sysroot", ARG | TAKES_PATH),
    opt("--sysroot=", TAKES_CONCAT_ARG | TAKES_PATH),
    opt("-A", ARG),
    opt("-B", PATH),
    opt("-D", CPP_ARG),
    opt("-F", PATH | FRAMEWORK_DIR),
    opt("-I", CPP_DIR),
    opt("-L", PATH),
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
    opt("-fauto-profile=", CONCAT_FILE | PROFILE),
    // Modules: caches outside the translation unit.
    opt("-fcxx-modules", TOO_HARD),
    opt("-fdebug-prefix-map=", MAP | DEBUG_MAP),
    // Dump files whose names are not followed.
    opt("-fdump-", FAMILY | TOO_HARD),
    opt("-ffile-prefix-map=", MAP | DEBUG_MAP),
    opt("-fmacro-prefix-map=", MAP),
    opt("-fmodule-file", FAMILY | TOO_HARD),
    opt("-fmodules-ts", FAMILY | TOO_HARD),
    opt("-fpass-plugin=", CONCAT_FILE),
    opt("-fplugin=", CONCAT_FILE),
    // Read with -fprofile-use, written to with -fprofile-generate (the
    // object then names it: given as is).
    opt("-fprofile-dir=", PROFILE),
    opt("-fprofile-generate=", CONCAT_PATH),
    opt("-fprofile-instr-generate=", CONCAT_PATH),
    opt("-fprofile-instr-use=", PROFILE),
    opt("-fprofile-prefix-map=", MAP),
    opt("-fprofile-sample-use=", CONCAT_FILE | PROFILE),
    opt("-fprofile-use=", PROFILE),
    opt("-fsanitize-blacklist=", CONCAT_FILE),
    opt("-fsanitize-ignorelist=", CONCAT_FILE),
    // Writes a trace file whose name is not followed.
    opt("-ftime-trace", FAMILY | TOO_HARD),
    opt("-gcc-toolchain", ARG),
    // clang's `=single` keeps the split sections in the object; not followed.
    opt("-gsplit-dwarf=", TAKES_CONCAT_ARG | TOO_HARD),
    opt("-idirafter", CPP_DIR),
    opt("-iframework", PATH | FRAMEWORK_DIR),
    opt("-iframeworkwithsysroot", ARG),
    opt("-imacros", CPP_FILE),
    opt("-imultilib", ARG),
    opt("-include", CPP_FILE),
    // Not preprocessor-only: clang reads the precompiled header as a
    // compile input, and its content is hashed.
    opt("-include-pch", ARG | TAKES_PATH),
    opt("-index-store-path", ARG),
    opt("-iprefix", CPP_PATH),
    opt("-iquote", CPP_DIR),
    opt("-isysroot", PATH),
    opt("-isystem", CPP_DIR),
    opt("-isystem-after", CPP_ARG),
    opt("-ivfsoverlay", ARG),
    opt("-iwithprefix", CPP_PATH),
    opt("-iwithprefixbefore", CPP_PATH),
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

    /// The path a `TAKES_PATH` entry names: glued (`-I/x`, `--sysroot=/x`),
    /// or `next` when the option stands alone. `None` for an empty path,
    /// and for a glued one that begins with `-`: that is another option
    /// the table does not know (`-isystem-after2`) or none at all (`-I-`).
    pub fn path(&self, next: Option<&'a str>) -> Option<&'a str> {
        if !self.has(TAKES_PATH) {
            return None;
        }
        let path = match self.glued {
            Some(glued) if glued.starts_with('-') => return None,
            Some(glued) => glued,
            None if self.has(TAKES_ARG) => next?,
            None => return None,
        };
        (!path.is_empty()).then_some(path)
    }

    /// OLD and NEW of a prefix map (`-ffile-prefix-map=OLD=NEW`).
    pub fn prefix_map(&self) -> Option<(&'a str, &'a str)> {
        if !self.has(PREFIX_MAP) {
            return None;
        }
        self.glued?.split_once('=')
    }
}

/// One argument as the table reads it. Each argument that begins with `-`
/// is looked up once, the separate value of another option too (`-I/x`
/// after `-Xclang` is still a path option to the keys); the scan, base_dir's
/// rewrite and the keys' forms all take the entry from here.
#[derive(Clone, Copy)]
pub(crate) struct Token {
    option: Option<&'static CompilerOption>,
    /// The entry's value is glued to the argument.
    glued: bool,
    /// The argument is the separate value of the one before it, or the one
    /// `--ccache-skip` passes on as it is.
    pub is_value: bool,
}

impl Token {
    /// The entry as it reads `arg`, this token's argument in any spelling:
    /// base_dir's rewrite changes the path in it, never the option's name.
    pub fn entry<'a>(&self, arg: &'a str) -> Option<Match<'a>> {
        let option = self.option?;
        let glued = match self.glued {
            true => Some(arg.get(option.name.len()..)?),
            false => None,
        };
        Some(Match { option, glued })
    }
}

/// Reads each of `args` (response files expanded) through the table, once.
pub(crate) fn tokens(args: &[String]) -> Vec<Token> {
    let mut out = Vec::with_capacity(args.len());
    let mut value_next = false;
    for arg in args {
        let entry = if arg.starts_with('-') {
            lookup(arg)
        } else {
            None
        };
        out.push(Token {
            option: entry.map(|m| m.option),
            glued: entry.is_some_and(|m| m.glued.is_some()),
            is_value: value_next,
        });
        value_next =
            !value_next && (arg == "--ccache-skip" || entry.is_some_and(|m| m.takes_next()));
    }
    out
}

/// The table's entry for `arg`, by the rule at the top of this file.
pub(crate) fn lookup(arg: &str) -> Option<Match<'_>> {
    #[cfg(test)]
    LOOKUPS.with(|n| n.set(n.get() + 1));
    if let Some(option) = find(arg) {
        let glued = option.flags & (TAKES_ARG | TAKES_CONCAT_ARG) == TAKES_CONCAT_ARG;
        return Some(Match {
            option,
            glued: glued.then_some(""),
        });
    }
    // The longest entry that is a proper prefix of the argument and takes
    // a glued value or names a family. One pass over the table: trying
    // each prefix of a long warning option by binary search was a tenth
    // of a hit's analysis.
    let option = OPTIONS
        .iter()
        .filter(|o| o.flags & (TAKES_CONCAT_ARG | FAMILY) != 0)
        .filter(|o| o.name.len() < arg.len() && arg.starts_with(o.name))
        .max_by_key(|o| o.name.len())?;
    let glued = (option.flags & TAKES_CONCAT_ARG != 0).then(|| &arg[option.name.len()..]);
    Some(Match { option, glued })
}

/// Does option `a` take its value as the next argument?
pub(crate) fn takes_separate_value(a: &str) -> bool {
    lookup(a).is_some_and(|m| m.takes_next())
}

/// A prefix map (`-ffile-prefix-map=OLD=NEW`): its entry, OLD and NEW.
pub(crate) fn prefix_map(arg: &str) -> Option<(Match<'_>, &str, &str)> {
    let m = lookup(arg)?;
    let (old, new) = m.prefix_map()?;
    Some((m, old, new))
}

#[cfg(test)]
thread_local! {
    /// How many times this thread looked an argument up in the table: a
    /// test that one analysis reads each argument once.
    pub(crate) static LOOKUPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prefix search as each prefix by binary search, longest first.
    fn lookup_by_prefixes(arg: &str) -> Option<(&'static str, Option<&str>)> {
        if let Some(o) = find(arg) {
            let glued = o.flags & (TAKES_ARG | TAKES_CONCAT_ARG) == TAKES_CONCAT_ARG;
            return Some((o.name, glued.then_some("")));
        }
        (1..arg.len())
            .rev()
            .filter(|&n| arg.is_char_boundary(n))
            .find_map(|n| {
                let o = find(&arg[..n])?;
                match o.flags {
                    f if f & TAKES_CONCAT_ARG != 0 => Some((o.name, Some(&arg[n..]))),
                    f if f & FAMILY != 0 => Some((o.name, None)),
                    _ => None,
                }
            })
    }

    #[test]
    fn lookup_takes_the_longest_qualifying_prefix() {
        let mut args: Vec<String> = Vec::new();
        for o in OPTIONS {
            for tail in ["", "x", "=", "=v", "/usr/include", "-extra", "é", "+"] {
                args.push(format!("{}{tail}", o.name));
            }
            args.push(o.name[..o.name.len() - 1].to_string());
        }
        for a in [
            "-Wno-documentation-deprecated-sync",
            "-O2",
            "-std=c90",
            "-",
            "",
            "x.c",
            "-Wa,-adhln=x",
        ] {
            args.push(a.to_string());
        }
        for a in &args {
            let new = lookup(a).map(|m| (m.option.name, m.glued));
            assert_eq!(new, lookup_by_prefixes(a), "{a:?}");
        }
    }

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
            if o.flags & (HASH_FILE | TAKES_PATH) != 0 {
                assert!(o.flags & (TAKES_ARG | TAKES_CONCAT_ARG) != 0, "{}", o.name);
            }
            // What a path is for needs a path.
            if o.flags & (INCLUDE_DIR | FRAMEWORK_DIR | INCLUDE_FILE | PROFILE_INPUT) != 0 {
                assert!(o.flags & TAKES_PATH != 0, "{}", o.name);
            }
            let kinds = o.flags & (INCLUDE_DIR | FRAMEWORK_DIR | INCLUDE_FILE | PROFILE_INPUT);
            assert!(kinds.count_ones() <= 1, "{}", o.name);
            // A map's value is `OLD=NEW`, glued after its `=`.
            if o.flags & (PREFIX_MAP | DEBUG_MAP) != 0 {
                assert!(o.flags & PREFIX_MAP != 0, "{}", o.name);
                assert_eq!(o.flags & (TAKES_ARG | TAKES_PATH), 0, "{}", o.name);
                assert!(o.name.ends_with('=') && o.flags & TAKES_CONCAT_ARG != 0);
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

    fn path_of<'a>(arg: &'a str, next: Option<&'a str>) -> Option<(&'static str, &'a str)> {
        let m = lookup(arg)?;
        Some((m.name(), m.path(next)?))
    }

    #[test]
    fn path_values_in_every_form() {
        assert_eq!(path_of("-I", Some("/x")), Some(("-I", "/x")));
        assert_eq!(path_of("-I/x", Some("-c")), Some(("-I", "/x")));
        assert_eq!(path_of("-Iinc", None), Some(("-I", "inc")));
        assert_eq!(path_of("-I", None), None);
        assert_eq!(path_of("-I-", None), None);
        assert_eq!(path_of("--sysroot=/s", None), Some(("--sysroot=", "/s")));
        assert_eq!(path_of("--sysroot=", Some("/s")), None);
        assert_eq!(path_of("--sysroot", Some("/s")), Some(("--sysroot", "/s")));
        // Options the other lists used to miss, glued or separate.
        for o in ["-isysroot", "-L", "-B", "-F", "-iframework", "-iprefix"] {
            assert_eq!(path_of(&format!("{o}/p"), None), Some((o, "/p")), "{o}");
            assert_eq!(path_of(o, Some("/p")), Some((o, "/p")), "{o}");
        }
        assert_eq!(
            path_of("-include-pch", Some("a.pch")),
            Some(("-include-pch", "a.pch"))
        );
        // Not paths: a macro, a multilib name, a path inside the sysroot.
        assert_eq!(path_of("-D/x", None), None);
        assert_eq!(path_of("-imultilib", Some("/x")), None);
        assert_eq!(path_of("-iwithsysroot", Some("/x")), None);
        assert_eq!(path_of("-isystem-after", Some("/x")), None);
        assert_eq!(path_of("-isystem-after2", None), None);
    }

    #[test]
    fn tokens_mark_values_and_read_every_option() {
        let args = [
            "-I",
            "/x",
            "-Xclang",
            "-I/y",
            "-o",
            "o.o",
            "--ccache-skip",
            "-I",
            "a.c",
            "-isystem/z",
        ]
        .map(String::from);
        let t = tokens(&args);
        let values: Vec<bool> = t.iter().map(|t| t.is_value).collect();
        let expected = [
            false, true, false, true, false, true, false, true, false, false,
        ];
        assert_eq!(values, expected);
        // The value of `-Xclang` is read as an option too (for the keys).
        let read = |i: usize, arg: &'static str| t[i].entry(arg).map(|m| (m.name(), m.glued));
        assert_eq!(read(3, "-I/y"), Some(("-I", Some("/y"))));
        assert_eq!(read(0, "-I"), Some(("-I", None)));
        assert_eq!(read(8, "a.c"), None);
        // Another spelling of the same argument, its path made relative.
        assert_eq!(read(9, "-isystem../z"), Some(("-isystem", Some("../z"))));
    }

    #[test]
    fn prefix_maps() {
        let (m, old, new) = prefix_map("-fdebug-prefix-map=/a=b=c").unwrap();
        assert_eq!((m.name(), old, new), ("-fdebug-prefix-map=", "/a", "b=c"));
        assert!(m.has(DEBUG_MAP));
        let (m, ..) = prefix_map("-fmacro-prefix-map=/a=").unwrap();
        assert!(!m.has(DEBUG_MAP));
        assert!(prefix_map("-ffile-prefix-map=/a").is_none());
        assert!(prefix_map("-fdebug-prefix-mapx=/a=b").is_none());
    }
}
