//! Precompiled headers: which ones a compile may read, so their content can
//! be hashed.
//!
//! The preprocessor run that makes the key never reads a precompiled header
//! (gcc's `-E` ignores `.gch` files), but the compile does: gcc uses
//! `NAME.gch` (a file, or a directory of candidates) found where it would
//! find `NAME` for an `-include NAME` or for an `#include` before the
//! source's first token, and never checks it against `NAME` itself; clang
//! uses `-include-pch FILE`, and for `-include NAME` the driver picks
//! `NAME.pch` or `NAME.gch`. So every such file that exists is an input of
//! the compile, whether or not it turns out valid.

use std::path::{Path, PathBuf};

use super::options::{Match, INCLUDE_DIR};
use super::Family;

pub mod preamble;
use preamble::Include;

#[derive(Debug, Clone, Default)]
pub struct PchOptions {
    /// The compile writes a precompiled header (a header input, or clang's
    /// `-Xclang -emit-pch`).
    pub creates: bool,
    /// clang records the mtime of every input in a PCH unless built with
    /// `-Xclang -fno-pch-timestamp`, and refuses it when one changed.
    pub timestamp: bool,
    /// `-include-pch FILE` (also through `-Xclang`).
    pub named: Vec<String>,
    /// `-include NAME` (or `-includeNAME`), in order.
    pub forced_includes: Vec<String>,
    /// The directories searched for headers (`-I`, `-iquote`, …), in the
    /// order given, each with the chain of gcc's search it joins.
    pub include_dirs: Vec<(String, Chain)>,
    /// `-I-` was given: the `-I` directories before it are searched for
    /// `"…"` includes only, and the including file's directory not at all.
    pub split: bool,
    /// `-D NAME[=VALUE]` (`Some`) and `-U NAME` (`None`), in order: what an
    /// `#include MACRO` before the first token may name.
    pub defines: Vec<(String, Option<String>)>,
}

/// The chains gcc searches include directories in, whatever the order of
/// the options: a `"…"` include searches them all in this order, a `<…>`
/// one from `Bracket` on (the system directories come before `After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Chain {
    /// `-iquote`, and `-I` before `-I-`.
    Quote,
    /// `-I`.
    Bracket,
    /// `-isystem`.
    System,
    /// `-idirafter`.
    After,
}

impl PchOptions {
    /// Notes what an option, read as the table's entry `m` (with `next`,
    /// the argument after it), says.
    pub(crate) fn observe<'a>(&mut self, m: Option<Match<'a>>, next: Option<&'a str>) {
        let barrier =
            |m: Match| m.name() == "--include-barrier" || m.name() == "-I" && m.glued == Some("-");
        if m.is_some_and(barrier) {
            self.split = true;
            for (_, chain) in &mut self.include_dirs {
                if *chain == Chain::Bracket {
                    *chain = Chain::Quote;
                }
            }
            return;
        }
        if let Some(m) = m.filter(|m| matches!(m.name(), "-D" | "-U")) {
            let value = match m.glued {
                Some(glued) => Some(glued).filter(|g| !g.is_empty()),
                None => next,
            };
            if let Some(value) = value {
                self.defines.push(match (m.name(), value.split_once('=')) {
                    ("-U", _) => (value.to_string(), None),
                    (_, Some((name, v))) => (name.to_string(), Some(v.to_string())),
                    (_, None) => (value.to_string(), Some("1".to_string())),
                });
            }
            return;
        }
        let Some((m, path)) = m.and_then(|m| Some((m, m.path(next)?))) else {
            return;
        };
        let chain = match m.name() {
            "-include-pch" => return self.named.push(path.to_string()),
            "-include" | "--include" | "--include=" => {
                return self.forced_includes.push(path.to_string())
            }
            "-iquote" => Chain::Quote,
            "-isystem" => Chain::System,
            "-idirafter" | "--include-directory-after" | "--include-directory-after=" => {
                Chain::After
            }
            _ if m.has(INCLUDE_DIR) => Chain::Bracket,
            _ => return,
        };
        self.include_dirs.push((path.to_string(), chain));
    }

    /// The `#include`s before the source's first token for which gcc may
    /// use a precompiled header (none for clang, or for a compile that
    /// writes one). `text`: the source's text, or (`whole` false) a first
    /// part of it; `None` when that part does not decide them.
    pub fn preamble(&self, family: Family, text: &[u8], whole: bool) -> Option<Vec<Include>> {
        if self.creates || family != Family::Gcc {
            return Some(Vec::new());
        }
        let followed = self.forced_includes.is_empty();
        preamble::includes(text, whole, &self.defines, followed)
    }

    /// The precompiled headers that exist where this compile would look for
    /// them (relative to the working directory, or absolute). `preamble`:
    /// the source's first `#include`s (see `preamble`), gcc finds them for
    /// those too.
    pub fn inputs(&self, family: Family, input: &str, preamble: &[Include]) -> Vec<PathBuf> {
        if self.creates {
            return Vec::new();
        }
        let mut found: Vec<PathBuf> = self.named.iter().map(PathBuf::from).collect();
        let suffixes: &[&str] = match family {
            Family::Gcc => &[".gch"],
            Family::Clang => &[".pch", ".gch"],
        };
        let source_dir = Path::new(input).parent().unwrap_or(Path::new(""));
        for name in &self.forced_includes {
            self.look(
                name,
                Some(Path::new("")),
                Chain::Quote,
                suffixes,
                &mut found,
            );
        }
        for include in preamble {
            let Include::Named { name, quoted } = include else {
                self.look_everywhere(source_dir, suffixes, &mut found);
                continue;
            };
            let (first, from) = match quoted {
                true => (Some(source_dir).filter(|_| !self.split), Chain::Quote),
                false => (None, Chain::Bracket),
            };
            self.look(name, first, from, suffixes, &mut found);
        }
        found
    }

    /// For an `#include` whose name is unknown: every precompiled header
    /// in the source's directory and the include directories, as gcc may
    /// use any of them. (One in a subdirectory, named by a macro objcache
    /// cannot follow, is not seen.)
    fn look_everywhere(&self, source_dir: &Path, suffixes: &[&str], found: &mut Vec<PathBuf>) {
        let env = env_dirs();
        let dirs = std::iter::once(source_dir).chain(
            self.include_dirs
                .iter()
                .chain(&env)
                .map(|(d, _)| Path::new(d.as_str())),
        );
        for dir in dirs {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut here: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    suffixes
                        .iter()
                        .any(|s| e.file_name().to_string_lossy().ends_with(s))
                })
                .map(|e| e.path())
                .filter(|p| !found.contains(p))
                .collect();
            here.sort();
            found.extend(here);
        }
    }

    /// Does gcc find a precompiled header for an `-include`? Then its
    /// preprocessor run needs `-fpch-preprocess`, as ccache adds it: gcc's
    /// `-E` ignores a `.gch` and fails when the header itself is not there
    /// (only `dir/pch.h.gch` was shipped), while with the option it judges
    /// the `.gch` as the compile will (the same arguments) and writes
    /// `#pragma GCC pch_preprocess "dir/pch.h.gch"` where it would use it,
    /// the header's text where not. Either way the key holds what the
    /// compile reads: the `.gch`'s content is in it (see `inputs`), and
    /// the header's text is in the preprocessed output whenever the `.gch`
    /// is not used. clang's `-E` reads the PCH itself and needs nothing.
    pub fn forced_include_pch(&self, family: Family) -> bool {
        if family != Family::Gcc || self.creates {
            return false;
        }
        let mut found = Vec::new();
        for name in &self.forced_includes {
            self.look(
                name,
                Some(Path::new("")),
                Chain::Quote,
                &[".gch"],
                &mut found,
            );
        }
        !found.is_empty()
    }

    /// Adds to `found` the precompiled headers for `name` that exist where
    /// the compiler looks: the `first` directory, then the include
    /// directories of the chains from `from` on, in gcc's order, up to the
    /// one that holds `name` itself (only the name itself when it is
    /// absolute). gcc searches a directory named more than once at one
    /// place only (one named by `-I` and `-isystem` as a system one), so
    /// the search stops only at a directory's last mention, and goes on
    /// past earlier ones: at worst it looks at a `.gch` gcc would not.
    fn look(
        &self,
        name: &str,
        first: Option<&Path>,
        from: Chain,
        suffixes: &[&str],
        found: &mut Vec<PathBuf>,
    ) {
        let env = env_dirs();
        // `(directory, chain, may end the search)`: a directory from the
        // environment may be one gcc does not search for this language.
        let given = self.include_dirs.iter().map(|(d, c)| (d, *c, true));
        let mut chain: Vec<(&Path, Chain, bool)> = given
            .chain(env.iter().map(|(d, c)| (d, *c, false)))
            .filter(|(_, c, _)| *c >= from)
            .map(|(d, c, ends)| (Path::new(d.as_str()), c, ends))
            .collect();
        // Stable: within a chain the options' order, then the environment's.
        chain.sort_by_key(|(_, c, _)| *c);
        let dirs: Vec<(&Path, bool)> = first
            .map(|f| (f, true))
            .into_iter()
            .chain(chain.iter().map(|(d, _, ends)| (*d, *ends)))
            .collect();
        let same = SameDir::default();
        // A directory named twice (the source's own and an `-I` for it) is
        // looked into once: each answer is kept by path and question.
        let mut asked: Vec<(PathBuf, bool, bool)> = Vec::new();
        let mut ask = |path: PathBuf, is_file: bool| -> bool {
            if let Some(&(_, _, answer)) =
                asked.iter().find(|(p, f, _)| *f == is_file && *p == path)
            {
                return answer;
            }
            let answer = if is_file {
                path.is_file()
            } else {
                path.exists()
            };
            asked.push((path, is_file, answer));
            answer
        };
        for (i, &(dir, ends)) in dirs.iter().enumerate() {
            for suffix in suffixes {
                let candidate = dir.join(format!("{name}{suffix}"));
                if !found.contains(&candidate) && ask(candidate.clone(), false) {
                    found.push(candidate);
                }
            }
            if Path::new(name).is_absolute() {
                break;
            }
            let named_again = || dirs[i + 1..].iter().any(|(later, _)| same.is(dir, later));
            if ends && ask(dir.join(name), true) && !named_again() {
                break;
            }
        }
    }
}

/// The include directories the environment adds, as gcc reads them:
/// `CPATH` after the `-I`s, `C_INCLUDE_PATH` (or the variable of the
/// language) after the `-isystem`s; an empty element is the working
/// directory. All four languages' variables are taken: a `.gch` in one
/// gcc does not search only costs a miss.
fn env_dirs() -> Vec<(String, Chain)> {
    let vars = [
        ("CPATH", Chain::Bracket),
        ("C_INCLUDE_PATH", Chain::System),
        ("CPLUS_INCLUDE_PATH", Chain::System),
        ("OBJC_INCLUDE_PATH", Chain::System),
        ("OBJCPLUS_INCLUDE_PATH", Chain::System),
    ];
    let mut dirs = Vec::new();
    for (var, chain) in vars {
        let Some(value) = std::env::var_os(var) else {
            continue;
        };
        for dir in value.to_string_lossy().split(':') {
            let dir = if dir.is_empty() { "." } else { dir };
            dirs.push((dir.to_string(), chain));
        }
    }
    dirs
}

/// Whether two include directories are one, by their spelling: `inc`,
/// `./inc/` and `$PWD/inc` are (the working directory is read only to
/// compare a relative with an absolute one). Another name through a
/// symbolic link is not seen.
#[derive(Default)]
struct SameDir {
    cwd: std::cell::OnceCell<Option<PathBuf>>,
}

impl SameDir {
    fn is(&self, a: &Path, b: &Path) -> bool {
        let absolute = |p: &Path| -> Option<PathBuf> {
            if p.is_absolute() {
                return Some(p.to_path_buf());
            }
            let cwd = self.cwd.get_or_init(|| std::env::current_dir().ok());
            cwd.as_ref().map(|c| c.join(p))
        };
        let (a, b) = match a.is_absolute() == b.is_absolute() {
            true => (Some(a.to_path_buf()), Some(b.to_path_buf())),
            false => (absolute(a), absolute(b)),
        };
        // A directory that cannot be placed may be any.
        let (Some(a), Some(b)) = (a, b) else {
            return true;
        };
        lexical(&a) == lexical(&b)
    }
}

/// `p` without `.` components, repeated or trailing slashes, and with each
/// `name/..` taken out.
fn lexical(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The precompiled headers for the whole text `source`.
    fn inputs(o: &PchOptions, family: Family, input: &str, source: &[u8]) -> Vec<PathBuf> {
        let preamble = o
            .preamble(family, source, true)
            .expect("a whole text decides");
        o.inputs(family, input, &preamble)
    }

    fn observe(o: &mut PchOptions, arg: &str, next: Option<&str>) {
        o.observe(crate::compiler::options::lookup(arg), next);
    }

    #[test]
    fn finds_existing_precompiled_headers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("inc/p.h.gch")).unwrap();
        std::fs::write(d.join("src.h.gch"), b"x").unwrap();
        std::fs::write(d.join("f.h.pch"), b"x").unwrap();
        let mut o = PchOptions::default();
        let inc = d.join("inc").display().to_string();
        observe(&mut o, "-I", Some(&inc));
        observe(&mut o, &format!("-I{}", d.display()), None);
        observe(
            &mut o,
            "-include",
            Some(&d.join("f.h").display().to_string()),
        );
        let input = d.join("t.c").display().to_string();
        let src = b"#if A\n#include \"src.h\"\n#endif\n#include <p.h>\n#include <q.h>\n";
        let gcc = inputs(&o, Family::Gcc, &input, src);
        assert_eq!(gcc, [d.join("src.h.gch"), d.join("inc/p.h.gch")]);
        let clang = inputs(&o, Family::Clang, &input, b"#include \"src.h\"\n");
        assert_eq!(clang, [d.join("f.h.pch")]);
        o.creates = true;
        assert!(inputs(&o, Family::Gcc, &input, b"#include \"src.h\"\n").is_empty());
    }

    /// gcc looks for `NAME.gch` in each directory just before `NAME`, and
    /// stops at the directory holding `NAME`: a `.gch` further on is never
    /// read, and those directories need no `stat`.
    #[test]
    fn the_search_stops_at_the_directory_holding_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["a", "b"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(d.join("a/h.h"), b"int a;").unwrap();
        std::fs::write(d.join("b/h.h.gch"), b"x").unwrap();
        let mut o = PchOptions::default();
        for sub in ["a", "b"] {
            observe(&mut o, &format!("-I{}", d.join(sub).display()), None);
        }
        let input = d.join("t.c").display().to_string();
        assert!(inputs(&o, Family::Gcc, &input, b"#include <h.h>\n").is_empty());
        std::fs::remove_file(d.join("a/h.h")).unwrap();
        let found = inputs(&o, Family::Gcc, &input, b"#include <h.h>\n");
        assert_eq!(found, [d.join("b/h.h.gch")]);
    }

    /// The search follows gcc's chains, not the options' order: a `<…>`
    /// include skips `-iquote` directories, `-I` ones come before
    /// `-isystem` ones, `-I-` makes the `-I`s before it `"…"`-only and
    /// skips the source's directory, and a directory named twice is passed
    /// until its last mention.
    #[test]
    fn the_search_follows_gccs_chains() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["q", "i", "s"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            std::fs::write(d.join(sub).join("h.h"), b"int a;").unwrap();
        }
        std::fs::write(d.join("h.h"), b"int a;").unwrap();
        std::fs::write(d.join("i/h.h.gch"), b"x").unwrap();
        let input = d.join("t.c").display().to_string();
        let sub = |s: &str| d.join(s).display().to_string();
        let search = |args: &[String], text: &[u8]| {
            let mut o = PchOptions::default();
            for a in args {
                observe(&mut o, a, None);
            }
            inputs(&o, Family::Gcc, &input, text)
        };
        let angle = b"#include <h.h>\n";
        let quote = b"#include \"h.h\"\n";
        let gch = [d.join("i/h.h.gch")];
        let q = format!("-iquote{}", sub("q"));
        assert_eq!(search(&[q.clone(), format!("-I{}", sub("i"))], angle), gch);
        let s = format!("-isystem{}", sub("s"));
        assert_eq!(search(&[s.clone(), format!("-I{}", sub("i"))], angle), gch);
        // `-I q -I- -I i`: q only for "…", the source's own directory never.
        let split = [
            format!("-I{}", sub("q")),
            "-I-".into(),
            format!("-I{}", sub("i")),
        ];
        assert!(search(&split, angle) == gch && search(&split, quote).is_empty());
        std::fs::rename(d.join("i/h.h.gch"), d.join("q/h.h.gch")).unwrap();
        assert_eq!(search(&split, quote), [d.join("q/h.h.gch")]);
        std::fs::rename(d.join("q/h.h.gch"), d.join("i/h.h.gch")).unwrap();
        // `-I s -I i -isystem ./s/`: gcc searches s as a system directory.
        let twice = [
            format!("-I{}", sub("s")),
            format!("-I{}", sub("i")),
            format!("-isystem{}/./", sub("s")),
        ];
        assert_eq!(search(&twice, angle), gch);
    }

    #[test]
    fn forms_of_the_options() {
        let mut o = PchOptions::default();
        for (a, next) in [
            ("-includef.h", None),
            ("-include-pch", Some("p.pch")),
            ("-isystem-after", Some("after")),
            ("-iframework", Some("fw")),
            ("-I-", None),
            ("-isystemsys", None),
            ("-imacros", Some("m.h")),
        ] {
            observe(&mut o, a, next);
        }
        assert_eq!(o.forced_includes, ["f.h"]);
        assert_eq!(o.named, ["p.pch"]);
        assert_eq!(o.include_dirs, [("sys".to_string(), Chain::System)]);
        assert!(o.split);
    }
}
