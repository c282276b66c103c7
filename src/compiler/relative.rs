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

use std::cell::RefCell;
use std::os::unix::fs::MetadataExt;

use super::options::{
    self, Match, Token, DEBUG_MAP, FRAMEWORK_DIR, INCLUDE_DIR, INCLUDE_FILE, PROFILE_INPUT,
};
pub use super::path_map::PathMap;
use crate::paths::{self, join, normalize, relative_to, without_trailing_slashes, BaseDirs};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathKind {
    /// A directory the compiler searches: headers appear as `DIR/name`.
    Dir,
    /// A file the compiler reads: it appears as spelled, and quoted includes
    /// in it are looked up in its directory as spelled.
    File,
    /// Profile data the compile reads: no `.d` names it.
    Profile,
    /// The object (see `relative_output`).
    Output,
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
    } else if m.has(PROFILE_INPUT) {
        PathKind::Profile
    } else {
        return None;
    };
    Some((m, path, kind))
}

/// The arguments to run the compiler with, and how to map its paths back.
#[derive(Debug, PartialEq)]
pub(crate) struct Relativized {
    /// One for each of the call's arguments, in order.
    pub args: Vec<String>,
    /// How many paths were made relative.
    pub count: usize,
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
                r.count,
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
///
/// A source or header in the working directory becomes `./name`, the
/// directory itself `.`, unless the `.d` could then not be mapped back:
/// gcc and clang write `./x.h` there as `x.h`, so every relative
/// dependency must have come from the working directory (see
/// `Rewriter::cwd_problem`). Then those paths keep their spelling, and the
/// rest is rewritten as it would be without them.
pub(crate) fn relativize(
    args: &[String],
    tokens: &[Token],
    cwd: &str,
    physical: &str,
    base: &BaseDirs,
) -> Outcome {
    let mut with_cwd = Rewriter::new(cwd, physical, base, true);
    let out = with_cwd.rewrite(args, tokens);
    let Some(why) = with_cwd.cwd_problem() else {
        return with_cwd.outcome(out);
    };
    let mut without = Rewriter::new(cwd, physical, base, false);
    let out = without.rewrite(args, tokens);
    without
        .kept
        .push(format!("paths in the working directory ({why})"));
    without.outcome(out)
}

/// The object's path `output` relative to the working directory (`cwd` as
/// the user spells it, `physical` as the kernel has it), if it lies under
/// base_dir and a relative spelling names the same place. With split DWARF
/// the object names its `.dwo` by the output as given, which then is the
/// same in every checkout, as with ccache.
pub(crate) fn relative_output(
    output: &str,
    cwd: &str,
    physical: &str,
    base: &BaseDirs,
) -> Option<String> {
    if !output.starts_with('/') || !base.contains(output) {
        return None;
    }
    Rewriter::new(cwd, physical, base, false)
        .relative(output, PathKind::Output)
        .ok()
}

/// `dir` as the prefix maps among `args` that apply to debug information
/// make the compiler record it (the last matching map given wins, as in
/// gcc). gcc and clang compare OLD with the path byte for byte, not by
/// components: `/ci/a` maps `/ci/ab`, and `/ci/a/` does not map `/ci/a`.
/// Whether a map applies at all is the same for both; which one applies
/// when several do is not (clang 14 prefers the greatest OLD), but every
/// map is in the key either way.
pub fn apply_prefix_maps(dir: &str, args: &[String]) -> String {
    let maps = args
        .iter()
        .rev()
        .filter_map(|a| options::prefix_map(a))
        .filter(|(m, ..)| m.has(DEBUG_MAP));
    for (_, old, new) in maps {
        if let Some(rest) = dir.strip_prefix(old) {
            return format!("{new}{rest}");
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
    /// May a path be given as the working directory (`.`) or in it (`./x.c`)?
    allow_cwd: bool,
    map: PathMap,
    /// How many paths were made relative.
    count: usize,
    /// Relative paths the user passed: they must not look like rewritten ones.
    user_relative: Vec<String>,
    kept: Vec<String>,
    /// A relative spelling that would stand for two absolute ones.
    conflict: Option<String>,
    /// The real path of each base directory asked about (`None`: unknown).
    real_bases: RefCell<Vec<(String, Option<String>)>>,
}

impl<'a> Rewriter<'a> {
    fn new(cwd: &'a str, physical: &'a str, base: &'a BaseDirs, allow_cwd: bool) -> Self {
        Rewriter {
            cwd,
            clean_cwd: normalize(cwd),
            physical,
            base,
            allow_cwd,
            map: PathMap::default(),
            count: 0,
            user_relative: Vec::new(),
            kept: Vec::new(),
            conflict: None,
            real_bases: RefCell::new(Vec::new()),
        }
    }

    /// `args` with the paths under base_dir rewritten, each in its place.
    fn rewrite(&mut self, args: &[String], tokens: &[Token]) -> Vec<String> {
        let mut out = args.to_vec();
        // `-fprofile-dir=` is also where an instrumented program writes its
        // profiles, by the path the object then names as given.
        let instrumented = args.iter().any(|a| instruments(a));
        for (i, (a, token)) in args.iter().zip(tokens).enumerate() {
            if token.is_value {
                // Passed as given, unless the option before it is a path option.
                continue;
            }
            let next = args.get(i + 1).map(String::as_str);
            let option = path_option(token.entry(a), next)
                .filter(|(m, ..)| !(instrumented && m.name() == "-fprofile-dir="));
            if let Some((m, value, kind)) = option {
                let rel = self.path(value, kind);
                if m.takes_next() {
                    out[i + 1] = rel;
                } else {
                    out[i] = format!("{}{rel}", m.name());
                }
            } else if !(a.starts_with('-') && a.len() > 1) {
                out[i] = self.path(a, PathKind::File);
            }
        }
        out
    }

    fn outcome(mut self, args: Vec<String>) -> Outcome {
        if let Some(why) = self.conflict.take().or_else(|| self.overlap()) {
            return Outcome::Declined(why);
        }
        if self.count == 0 {
            return Outcome::Unchanged { kept: self.kept };
        }
        Outcome::Rewritten(Relativized {
            args,
            count: self.count,
            map: self.map,
            kept: self.kept,
        })
    }

    fn path(&mut self, value: &str, kind: PathKind) -> String {
        if !value.starts_with('/') {
            if !value.is_empty() && !value.starts_with('-') && kind != PathKind::Profile {
                self.user_relative.push(value.to_string());
            }
            return value.to_string();
        }
        if !self.base.contains(value) {
            return value.to_string();
        }
        let relative = self.relative(value, kind);
        self.count += usize::from(relative.is_ok());
        match relative {
            Ok(rel) if kind == PathKind::Profile => rel,
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

    /// The relative spelling of absolute `path`: the shortest of those
    /// relative to the working directory as spelled, to the physical one,
    /// and from the real path of a symlinked base directory, that names
    /// the same file; failing those, the real path relative to the
    /// physical directory (which costs a realpath, so it comes last).
    fn relative(&self, path: &str, kind: PathKind) -> Result<String, &'static str> {
        if path.contains(|c: char| c.is_whitespace() || "$#\\:%\"'".contains(c)) {
            return Err("needs quoting in a dependency file");
        }
        let clean = normalize(path);
        // Spelled without `.`, `..` or `//`, the path relative to a
        // directory without symlinks (`..` from it is its parent) reaches
        // the same file: no need to ask the file system.
        let plain = clean == without_trailing_slashes(path);
        let mut candidates = vec![(
            relative_to(&clean, &self.clean_cwd),
            plain && self.cwd == self.physical,
        )];
        if self.cwd != self.physical {
            candidates.push((relative_to(&clean, self.physical), plain));
        }
        if let Some(real) = self.via_real_base(&clean) {
            candidates.push((relative_to(&real, self.physical), plain));
        }
        candidates.sort_by_key(|(rel, _)| rel.len());
        let mut why = "the relative path names another file (symlinks)";
        for (rel, certain) in candidates {
            match self.accept(path, rel, certain, kind) {
                Ok(rel) => return Ok(rel),
                Err(reason) => why = reason.unwrap_or(why),
            }
        }
        let real = std::fs::canonicalize(path)
            .ok()
            .and_then(|p| p.into_os_string().into_string().ok());
        if let Some(real) = real {
            match self.accept(path, relative_to(&real, self.physical), false, kind) {
                Ok(rel) => return Ok(rel),
                Err(reason) => why = reason.unwrap_or(why),
            }
        }
        Err(why)
    }

    /// `rel`, a candidate relative spelling of `path`, as the compiler is
    /// given it, if it names the same file (`certain`: known to) and can be
    /// given; `Err(Some(why))` when it names it but cannot.
    fn accept(
        &self,
        path: &str,
        mut rel: String,
        certain: bool,
        kind: PathKind,
    ) -> Result<String, Option<&'static str>> {
        if kind == PathKind::Dir && path.trim_end_matches('/').ends_with("/.") && rel != "." {
            // CMake spells `${CMAKE_CURRENT_SOURCE_DIR}/.`: the compiler
            // names headers found there `DIR/./x.h`, those found beside a
            // source in DIR `DIR/x.h`; both spellings must stay apart.
            rel.push_str("/.");
        }
        if !certain && !self.same_location(path, &rel) {
            return Err(None);
        }
        let cwd_refused = match kind {
            PathKind::File | PathKind::Output => true,
            PathKind::Dir => !self.allow_cwd,
            PathKind::Profile => false,
        };
        if rel == "." && cwd_refused {
            return Err(Some("the working directory itself"));
        }
        if kind == PathKind::File {
            if !rel.contains('/') {
                if !self.allow_cwd {
                    return Err(Some("in the working directory"));
                }
                // Quoted includes are looked up beside the file as spelled:
                // `./x.c` keeps them `./a.h`, told apart from other words in
                // diagnostics.
                rel.insert_str(0, "./");
            }
            if !certain && !self.same_location(dirname(path), dirname(&rel)) {
                return Err(None);
            }
        }
        if rel.starts_with('-') {
            return Err(Some("would read as an option"));
        }
        Ok(rel)
    }

    /// Clean absolute `path` through the real path of the base directory
    /// it lies under, when the physical working directory lies outside
    /// that directory's spelling and the spelling goes through a symlink
    /// (`base_dir=$(pwd)` in a symlinked tree, `PWD` relative or unset).
    fn via_real_base(&self, path: &str) -> Option<String> {
        let base = self.base.containing(path)?;
        let under = base.is_empty() || self.physical == base;
        if under || paths::strip_dir(self.physical, base).is_some() {
            return None;
        }
        let mut known = self.real_bases.borrow_mut();
        let real = match known.iter().find(|(b, _)| b == base) {
            Some((_, real)) => real.clone(),
            None => {
                let real = std::fs::canonicalize(base)
                    .ok()
                    .and_then(|p| p.into_os_string().into_string().ok());
                known.push((base.to_string(), real.clone()));
                real
            }
        };
        real.filter(|r| r != base)
            .map(|r| format!("{r}{}", &path[base.len()..]))
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

    /// Why the working directory given as `.` (or a file in it as `./x`)
    /// could not be mapped back in a `.d`, where the compiler drops `./`:
    /// another relative path the call names, a rewritten path not spelled
    /// below the working directory as the call spells it (`../inc` for
    /// `/p/inc` from `/p/build`: `../inc/a.h` would be ambiguous), or a
    /// relative directory in the include path variables.
    fn cwd_problem(&self) -> Option<String> {
        let dir = self.map.working_dir()?;
        if let Some(why) = &self.conflict {
            return Some(why.clone());
        }
        if let Some(user) = self.user_relative.first() {
            return Some(format!("the call names the relative path {user} too"));
        }
        for (rel, abs) in &self.map.entries {
            let below = rel.trim_start_matches("./");
            if rel != "." && *abs != join(dir, below) {
                return Some(format!(
                    "{abs} is not spelled below the working directory as {dir}"
                ));
            }
        }
        super::INCLUDE_PATH_VARS.iter().find_map(|var| {
            let value = std::env::var_os(var)?;
            let value = value.to_string_lossy();
            (value.split(':').any(|d| !d.starts_with('/')))
                .then(|| format!("{var} names a relative directory"))
        })
    }
}

/// Does `arg` make the compile instrument the program for profiling?
fn instruments(arg: &str) -> bool {
    matches!(arg, "--coverage" | "-fprofile-arcs")
        || [
            "-fprofile-generate",
            "-fprofile-instr-generate",
            "-fcs-profile-generate",
        ]
        .iter()
        .any(|o| {
            arg.strip_prefix(o)
                .is_some_and(|r| r.is_empty() || r.starts_with('='))
        })
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
mod tests;
