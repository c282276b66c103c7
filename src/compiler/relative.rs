//! Running the compiler with base_dir-relative paths, as ccache's manual
//! describes for base_dir: the source and the include directories and files
//! named by absolute paths under base_dir are given to the compiler relative
//! to the working directory. `__FILE__`, line markers, diagnostics and debug
//! information then name paths that are the same in every checkout, so
//! relocated builds share direct-mode and preprocessor-mode results.
//!
//! What the compiler writes with those paths is mapped back where the user
//! sees it: the `.d` gets the spelling the user's own command would have
//! produced (see `PathMap`), and with `absolute_paths_in_stderr` so do the
//! diagnostics. Outputs (`-o`, `-MF`, `-MT`, `-MQ`), prefix maps, plugins and
//! every other option value are passed as given.
//!
//! A path keeps its absolute spelling when the relative one would not name
//! the same file (symlinks), would need make escapes in a `.d`, or could not
//! be told apart from a relative path the user passed; and the whole rewrite
//! is declined when a relative path of the user's overlaps a rewritten one,
//! because the `.d` could then not be mapped back unambiguously.
//!
//! The keys relate the same paths to base_dir instead (see `hash_form`).
//! Which options take a path, and what for, is the option table's to say
//! (`TAKES_PATH` and the flags beside it in `options`).

use std::os::unix::fs::MetadataExt;

use super::options::{self, Match, Token, DEBUG_MAP, FRAMEWORK_DIR, INCLUDE_DIR, INCLUDE_FILE};
use crate::paths::{self, normalize, relative_to, without_trailing_slashes, BaseDirs};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathKind {
    /// A directory the compiler searches: headers appear as `DIR/name`.
    Dir,
    /// A file the compiler reads: it appears as spelled, and quoted includes
    /// in it are looked up in its directory as spelled.
    File,
}

/// How the compiler uses the path an option (read as the table's entry
/// `m`, with `next`, the argument after it) names, if it is one to give
/// relative: the entry and the path.
fn path_option<'a>(
    m: Option<Match<'a>>,
    next: Option<&'a str>,
) -> Option<(Match<'a>, &'a str, PathKind)> {
    let m = m?;
    let path = m.path(next)?;
    let kind = if m.has(INCLUDE_DIR | FRAMEWORK_DIR) {
        PathKind::Dir
    } else if m.has(INCLUDE_FILE) {
        PathKind::File
    } else {
        return None;
    };
    Some((m, path, kind))
}

/// Rewritten spellings and the absolute ones they stand for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathMap {
    /// `(relative, absolute)`, longest relative spelling first, so the most
    /// specific prefix wins.
    entries: Vec<(String, String)>,
}

impl PathMap {
    /// `false` when `relative` already stands for another spelling: the
    /// compiler's paths under it could then not be mapped back.
    fn add(&mut self, relative: String, absolute: String) -> bool {
        if let Some((_, known)) = self.entries.iter().find(|(r, _)| *r == relative) {
            return *known == absolute;
        }
        self.entries.push((relative, absolute));
        self.entries
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        true
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The spelling the user's command would have used for a path the
    /// compiler wrote (a dependency, a file in a diagnostic), if the path
    /// came from a rewritten one. A trailing `:` (a phony make target, a
    /// diagnostic's `file:line`) is kept.
    pub fn original(&self, token: &str) -> Option<String> {
        self.entries.iter().find_map(|(rel, abs)| {
            let rest = token.strip_prefix(rel.as_str())?;
            (rest.is_empty() || rest.starts_with('/') || rest.starts_with(':'))
                .then(|| format!("{abs}{rest}"))
        })
    }
}

/// The arguments to run the compiler with, and how to map its paths back.
#[derive(Debug, PartialEq)]
pub(crate) struct Relativized {
    /// One for each of the call's arguments, in order.
    pub args: Vec<String>,
    pub map: PathMap,
    /// Absolute paths under base_dir that kept their spelling, and why.
    pub kept: Vec<String>,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// No argument names a path under base_dir that could be rewritten.
    Unchanged {
        kept: Vec<String>,
    },
    Rewritten(Relativized),
    /// A rewrite is possible but could not be mapped back unambiguously.
    Declined(String),
}

impl Outcome {
    /// What the rewrite did and why it kept or declined paths, as lines
    /// for the call's log.
    pub fn notes(&self) -> Vec<String> {
        let kept = match self {
            Outcome::Unchanged { kept } => kept,
            Outcome::Rewritten(r) => &r.kept,
            Outcome::Declined(why) => {
                return vec![format!("base_dir: paths not made relative: {why}")];
            }
        };
        let mut notes: Vec<String> = kept
            .iter()
            .map(|k| format!("base_dir: kept absolute: {k}"))
            .collect();
        if let Outcome::Rewritten(r) = self {
            notes.push(format!(
                "base_dir: compiling with {} path(s) made relative: {}",
                r.map.len(),
                r.args.join(" ")
            ));
        }
        notes
    }
}

/// Rewrites the paths under base_dir in `args` (response files already
/// expanded, read by the option table as `tokens`) relative to `cwd`, the
/// working directory as the user spells it; `physical` is the one the
/// kernel resolves relative paths from. Each argument keeps its place.
pub(crate) fn relativize(
    args: &[String],
    tokens: &[Token],
    cwd: &str,
    physical: &str,
    base: &BaseDirs,
) -> Outcome {
    let mut r = Rewriter {
        cwd,
        clean_cwd: normalize(cwd),
        physical,
        base,
        map: PathMap::default(),
        user_relative: Vec::new(),
        kept: Vec::new(),
        conflict: None,
    };
    let mut out = args.to_vec();
    for (i, (a, token)) in args.iter().zip(tokens).enumerate() {
        if token.is_value {
            // Passed as given, unless the option before it is a path option.
            continue;
        }
        let next = args.get(i + 1).map(String::as_str);
        if let Some((m, value, kind)) = path_option(token.entry(a), next) {
            let rel = r.path(value, kind);
            if m.takes_next() {
                out[i + 1] = rel;
            } else {
                out[i] = format!("{}{rel}", m.name());
            }
        } else if !(a.starts_with('-') && a.len() > 1) {
            out[i] = r.path(a, PathKind::File);
        }
    }
    if let Some(why) = r.conflict.take().or_else(|| r.overlap()) {
        return Outcome::Declined(why);
    }
    if r.map.is_empty() {
        return Outcome::Unchanged { kept: r.kept };
    }
    Outcome::Rewritten(Relativized {
        args: out,
        map: r.map,
        kept: r.kept,
    })
}

/// `dir` as the prefix maps among `args` that apply to debug information
/// make the compiler record it (the last matching map given wins, as in gcc).
pub fn apply_prefix_maps(dir: &str, args: &[String]) -> String {
    let maps = args
        .iter()
        .rev()
        .filter_map(|a| options::prefix_map(a))
        .filter(|(m, ..)| m.has(DEBUG_MAP));
    for (_, old, new) in maps {
        let old = old.trim_end_matches('/');
        if let Some(rest) = dir.strip_prefix(old) {
            if rest.is_empty() || rest.starts_with('/') || old.is_empty() {
                return format!("{new}{rest}");
            }
        }
    }
    dir.to_string()
}

struct Rewriter<'a> {
    cwd: &'a str,
    /// `cwd` normalized once, for every path's relative spelling.
    clean_cwd: String,
    physical: &'a str,
    base: &'a BaseDirs,
    map: PathMap,
    /// Relative paths the user passed: they must not look like rewritten ones.
    user_relative: Vec<String>,
    kept: Vec<String>,
    /// A relative spelling that would stand for two absolute ones.
    conflict: Option<String>,
}

impl Rewriter<'_> {
    fn path(&mut self, value: &str, kind: PathKind) -> String {
        if !value.starts_with('/') {
            if !value.is_empty() && !value.starts_with('-') {
                self.user_relative.push(value.to_string());
            }
            return value.to_string();
        }
        if !self.base.contains(value) {
            return value.to_string();
        }
        match self.relative(value, kind) {
            Ok(rel) => {
                let abs = without_trailing_slashes(value);
                let mut entries = vec![(rel.clone(), abs.to_string())];
                if kind == PathKind::File {
                    // Quoted includes found beside the file are named by
                    // its directory as spelled.
                    entries.push((dirname(&rel).to_string(), dirname(abs).to_string()));
                }
                for (r, a) in entries {
                    if !self.map.add(r.clone(), a.clone()) && self.conflict.is_none() {
                        self.conflict = Some(format!(
                            "{r} would stand for two spellings, {a} and another"
                        ));
                    }
                }
                rel
            }
            Err(why) => {
                self.kept.push(format!("{value} ({why})"));
                value.to_string()
            }
        }
    }

    fn relative(&self, path: &str, kind: PathKind) -> Result<String, &'static str> {
        if path.contains(|c: char| c.is_whitespace() || "$#\\:%\"'".contains(c)) {
            return Err("needs quoting in a dependency file");
        }
        // Relative to the working directory as spelled, else (symlinks) the
        // real path relative to the physical one; the latter costs a
        // realpath, so it is only tried when needed.
        let clean = normalize(path);
        let mut spelled = relative_to(&clean, &self.clean_cwd);
        if kind == PathKind::Dir && path.trim_end_matches('/').ends_with("/.") && spelled != "." {
            // CMake spells `${CMAKE_CURRENT_SOURCE_DIR}/.`: the compiler
            // names headers found there `DIR/./x.h`, those found beside a
            // source in DIR `DIR/x.h`; both spellings must stay apart.
            spelled.push_str("/.");
        }
        // From a working directory without symlinks (`..` from it is its
        // parent), a path spelled without `.`, `..` or `//` reaches the same
        // file relative or absolute: no need to ask the file system.
        let certain = self.cwd == self.physical && clean == without_trailing_slashes(path);
        let physical = || {
            std::fs::canonicalize(path)
                .ok()
                .and_then(|p| p.into_os_string().into_string().ok())
                .map(|real| relative_to(&real, self.physical))
        };
        let candidates = std::iter::once(Some(spelled)).chain(std::iter::once_with(physical));
        let mut why = "the relative path names another file (symlinks)";
        for (n, rel) in candidates.flatten().enumerate() {
            let certain = certain && n == 0;
            if !certain && !self.same_location(path, &rel) {
                continue;
            }
            if kind == PathKind::File {
                // Quoted includes are looked up beside the file as spelled.
                if !rel.contains('/') {
                    why = "in the working directory";
                    continue;
                }
                if !certain && !self.same_location(dirname(path), dirname(&rel)) {
                    continue;
                }
            }
            if rel == "." {
                why = "the working directory itself";
                continue;
            }
            if rel.starts_with('-') {
                why = "would read as an option";
                continue;
            }
            return Ok(rel);
        }
        Err(why)
    }

    /// Do absolute `abs` and `rel` (relative to the physical working
    /// directory) name the same place?
    fn same_location(&self, abs: &str, rel: &str) -> bool {
        same_location(abs, &format!("{}/{rel}", self.physical))
    }

    /// A relative path of the user's that a rewritten one's files could be
    /// confused with in a `.d` (one names a directory holding the other).
    fn overlap(&self) -> Option<String> {
        for user in &self.user_relative {
            let u = format!("{}/", user.trim_end_matches('/'));
            for (rel, _) in &self.map.entries {
                let r = format!("{rel}/");
                if u.starts_with(&r) || r.starts_with(&u) {
                    return Some(format!(
                        "the relative path {user} overlaps the rewritten {rel}"
                    ));
                }
            }
        }
        None
    }
}

/// The directory of `path`, `.` for a bare name.
fn dirname(path: &str) -> &str {
    match paths::dirname(path) {
        "" => ".",
        dir => dir,
    }
}

/// Do absolute `a` and `b` name the same place? For a path that does not exist (an include directory not
/// created yet), the same name in the same existing directory.
fn same_location(a: &str, b: &str) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        (Err(_), Err(_)) => {
            let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
            let (na, nb) = (name(a), name(b));
            na == nb
                && !matches!(na.as_str(), "" | "." | "..")
                && a != dirname(a)
                && same_location(dirname(a), dirname(b))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relativize_in(args: &[String], cwd: &str, base: &BaseDirs) -> Outcome {
        relativize(args, &options::tokens(args), cwd, cwd, base)
    }

    #[test]
    fn map_prefers_the_longest_spelling() {
        let mut m = PathMap::default();
        m.add("..".into(), "/ci/a".into());
        m.add("../include".into(), "/ci/a//include".into());
        m.add("../src/x.c".into(), "/ci/a/src/../src/x.c".into());
        assert_eq!(
            m.original("../include/foo.h").as_deref(),
            Some("/ci/a//include/foo.h")
        );
        assert_eq!(
            m.original("../other/y.h").as_deref(),
            Some("/ci/a/other/y.h")
        );
        assert_eq!(
            m.original("../src/x.c:3:1:").as_deref(),
            Some("/ci/a/src/../src/x.c:3:1:")
        );
        assert_eq!(
            m.original("../includes/z.h").as_deref(),
            Some("/ci/a/includes/z.h")
        );
        assert_eq!(m.original("/usr/include/stdio.h"), None);
        assert_eq!(m.original("gen/a.h"), None);
    }

    #[test]
    fn rewrites_sources_and_include_dirs_not_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let root = root.to_str().unwrap();
        for d in ["proj/src", "proj/include", "proj/build"] {
            std::fs::create_dir_all(format!("{root}/{d}")).unwrap();
        }
        std::fs::write(format!("{root}/proj/src/x.c"), "int x;\n").unwrap();
        let build = format!("{root}/proj/build");
        let base = BaseDirs::one(root);
        let args: Vec<String> = [
            "-I",
            &format!("{root}/proj/include/"),
            &format!("-isystem{root}/proj/missing"),
            "-o",
            &format!("{build}/x.o"),
            "-MF",
            &format!("{build}/x.d"),
            &format!("-fdebug-prefix-map={root}=."),
            "-c",
            &format!("{root}/proj/src/x.c"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let Outcome::Rewritten(r) = relativize_in(&args, &build, &base) else {
            panic!("not rewritten");
        };
        assert_eq!(
            r.args[..3],
            ["-I", "../include", "-isystem../missing"],
            "{r:?}"
        );
        assert_eq!(r.args[3..9], args[3..9], "outputs and maps as given");
        assert_eq!(r.args[9], "../src/x.c");
        assert_eq!(
            r.map.original("../include/a.h"),
            Some(format!("{root}/proj/include/a.h"))
        );
        // A relative path of the user's that a rewritten one could be taken for.
        let mut mixed = args.clone();
        mixed.push("-I../include/sub".into());
        assert!(matches!(
            relativize_in(&mixed, &build, &base),
            Outcome::Declined(_)
        ));
        // A trailing `/.` stays apart from the directory of a source there.
        let mut dotted = args.clone();
        dotted.push(format!("-I{root}/proj/src/."));
        let Outcome::Rewritten(r) = relativize_in(&dotted, &build, &base) else {
            panic!("not rewritten");
        };
        assert_eq!(r.args.last().unwrap(), "-I../src/.");
        assert_eq!(
            r.map.original("../src/./a.h"),
            Some(format!("{root}/proj/src/./a.h"))
        );
        assert_eq!(
            r.map.original("../src/a.h"),
            Some(format!("{root}/proj/src/a.h"))
        );
        // A source in the working directory keeps its spelling.
        std::fs::write(format!("{build}/y.c"), "int y;\n").unwrap();
        let here = vec!["-c".to_string(), format!("{build}/y.c")];
        assert!(matches!(
            relativize_in(&here, &build, &base),
            Outcome::Unchanged { .. }
        ));
    }

    #[test]
    fn prefix_maps_apply_to_the_directory() {
        let args: Vec<String> = [
            "-g",
            "-fdebug-prefix-map=/ci/a=.",
            "-ffile-prefix-map=/ci/a/proj=/src",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(apply_prefix_maps("/ci/a/proj/build", &args), "/src/build");
        assert_eq!(apply_prefix_maps("/ci/a/other", &args), "./other");
        assert_eq!(apply_prefix_maps("/ci/ab", &args), "/ci/ab");
    }

    #[test]
    fn only_debug_maps_apply_to_the_directory() {
        let args = ["-fmacro-prefix-map=/ci=/m", "-fprofile-prefix-map=/ci=/p"];
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        assert_eq!(apply_prefix_maps("/ci/a", &args), "/ci/a");
    }

    #[test]
    fn values_that_are_not_paths_pass_as_given() {
        // `-iframeworkwithsysroot DIR` names a directory in the sysroot: its
        // value is not a source to rewrite.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let root = root.to_str().unwrap();
        std::fs::create_dir_all(format!("{root}/b")).unwrap();
        std::fs::write(format!("{root}/x.c"), "int x;\n").unwrap();
        let args: Vec<String> = ["-iframeworkwithsysroot", &format!("{root}/fw"), "-c"]
            .iter()
            .map(|s| s.to_string())
            .chain([format!("{root}/x.c")])
            .collect();
        let b = format!("{root}/b");
        let Outcome::Rewritten(r) = relativize_in(&args, &b, &BaseDirs::one(root)) else {
            panic!("not rewritten");
        };
        assert_eq!(r.args[..3], args[..3]);
        assert_eq!(r.args[3], "../x.c");
    }
}
