//! base_dir handling: absolute paths under base_dir are expressed relative to
//! the current directory, so two checkouts at different places hash alike, and
//! can be mapped back to the absolute spelling this checkout would use.

use std::os::unix::fs::MetadataExt;

/// The configured base directories (`base_dir`, several separated by `:`).
/// An absolute path under any of them is relocatable; `/` makes every
/// absolute path relocatable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseDirs {
    /// Without trailing slashes; the root is the empty string.
    dirs: Vec<String>,
}

impl BaseDirs {
    /// Parses a `base_dir` value; `Ok(None)` when it names no directory.
    pub fn parse(value: &str) -> Result<Option<BaseDirs>, String> {
        let mut dirs = Vec::new();
        for part in value.split(':').map(str::trim).filter(|p| !p.is_empty()) {
            if !part.starts_with('/') {
                return Err(format!("not an absolute path: \"{part}\""));
            }
            dirs.push(part.trim_end_matches('/').to_string());
        }
        Ok((!dirs.is_empty()).then_some(BaseDirs { dirs }))
    }

    /// A single base directory (for tests and callers that have one).
    pub fn one(dir: &str) -> BaseDirs {
        BaseDirs::parse(dir)
            .ok()
            .flatten()
            .expect("an absolute directory")
    }

    /// Does absolute `path` lie under (or at) one of the base directories?
    pub fn contains(&self, path: &str) -> bool {
        self.containing(path).is_some()
    }

    /// The base directory absolute `path` lies under (the longest, when
    /// several hold it), as configured: without trailing slashes, the root
    /// as the empty string.
    pub fn containing(&self, path: &str) -> Option<&str> {
        self.dirs
            .iter()
            .filter(|base| {
                path.strip_prefix(base.as_str()).is_some_and(|rest| {
                    rest.starts_with('/') || (rest.is_empty() && !base.is_empty())
                })
            })
            .max_by_key(|base| base.len())
            .map(String::as_str)
    }

    /// Does `text` mention a path under one of the directories?
    pub fn mentioned_in(&self, text: &[u8]) -> bool {
        self.prefixes()
            .any(|p| text.windows(p.len()).any(|w| w == p.as_bytes()))
    }

    /// The directories' spellings with a trailing slash (`/` for the root):
    /// what a path under them starts with.
    fn prefixes(&self) -> impl Iterator<Item = String> + '_ {
        self.dirs.iter().map(|d| format!("{d}/"))
    }
}

/// An absolute path related to a working directory: drop `up` trailing
/// components of the working directory, then append `rest` (which keeps the
/// path's own spelling, `..` and doubled slashes included).
#[derive(Debug, PartialEq, Eq)]
pub struct Relation<'a> {
    pub up: usize,
    pub rest: &'a str,
}

impl Relation<'_> {
    /// A spelling that is the same for every checkout, for hashing.
    pub fn hash_form(&self) -> String {
        format!("{}|{}", self.up, self.rest)
    }

    /// `hash_form` of a path the compiler is given (or names) absolute,
    /// `path` itself, with the base directory it lies under: the `.d`
    /// and the diagnostics name it absolute, and a hit re-roots them
    /// under the hit's own base directory, which is right only when the
    /// stored call's was the same. Two checkouts whose base directories
    /// differ (each its own workspace) must not share a key.
    pub fn hash_form_under(&self, base: &BaseDirs, path: &str) -> String {
        let dir = base.containing(path).unwrap_or_default();
        format!("{dir}:{}|{}", self.up, self.rest)
    }

    /// The absolute path this relation names when the working directory is `cwd`.
    pub fn resolve(&self, cwd: &str) -> Option<String> {
        let comps = components(cwd);
        let keep = comps.len().checked_sub(self.up)?;
        let prefix = if keep == 0 {
            ""
        } else {
            &cwd[..comps[keep - 1].1]
        };
        Some(concat(&[prefix, self.rest]))
    }
}

/// Byte ranges of the non-empty components of an absolute path.
fn components(path: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i] != b'/' {
            i += 1;
        }
        out.push((start, i));
    }
    out
}

/// Relates `path` to `cwd` when it is absolute and lies under `base_dir`.
pub fn relate<'a>(path: &'a str, cwd: &str, base_dir: Option<&BaseDirs>) -> Option<Relation<'a>> {
    let base_dir = base_dir?;
    if !path.starts_with('/') || !base_dir.contains(path) {
        return None;
    }
    let pc = components(path);
    let cc = components(cwd);
    let common = pc
        .iter()
        .zip(cc.iter())
        .take_while(|(a, b)| path[a.0..a.1] == cwd[b.0..b.1])
        .count();
    let end = if common == 0 { 0 } else { pc[common - 1].1 };
    Some(Relation {
        up: cc.len() - common,
        rest: &path[end..],
    })
}

/// Rewrites the absolute paths under base_dir in a compiler's diagnostics
/// from the working directory they were written in to another one, so a hit
/// from a relocated checkout names this checkout's files, as the compiler
/// would have. `None` when nothing needed rewriting.
pub fn relocate_text(
    text: &[u8],
    base_dir: &BaseDirs,
    from_cwd: &str,
    to_cwd: &str,
) -> Option<Vec<u8>> {
    if from_cwd == to_cwd {
        return None;
    }
    let prefixes: Vec<String> = base_dir.prefixes().collect();
    map_paths_in_text(
        text,
        |rest| prefixes.iter().any(|p| rest.starts_with(p.as_bytes())),
        |path| relate(path, from_cwd, Some(base_dir)).and_then(|r| r.resolve(to_cwd)),
    )
}

/// Replaces the paths in a compiler's diagnostics that `map` maps. A path
/// starts where a file name can start in gcc's and clang's messages (line
/// start, after a space, quote, bracket, `=` or colour code) and where
/// `may_start` accepts the text from there on; it runs to the next `:`,
/// space, quote or colour code. `None` when nothing changed.
pub fn map_paths_in_text(
    text: &[u8],
    may_start: impl Fn(&[u8]) -> bool,
    map: impl Fn(&str) -> Option<String>,
) -> Option<Vec<u8>> {
    // ESC ends a path too: coloured diagnostics wrap paths in colour codes.
    let ends_path = |b: u8| {
        matches!(
            b,
            b':' | b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'(' | b')' | b',' | b'`' | 0x1b
        ) || b >= 0x80
    };
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    let mut changed = false;
    while i < text.len() {
        let at_start = i == 0
            || ends_path(text[i - 1])
            || text[i - 1] == b'['
            || text[i - 1] == b'='
            || after_colour_code(&text[..i]);
        if at_start && !ends_path(text[i]) && may_start(&text[i..]) {
            let end = text[i..]
                .iter()
                .position(|&b| ends_path(b))
                .map_or(text.len(), |p| i + p);
            if let Ok(path) = std::str::from_utf8(&text[i..end]) {
                if let Some(moved) = map(path) {
                    out.extend_from_slice(moved.as_bytes());
                    changed |= moved != path;
                    i = end;
                    continue;
                }
            }
        }
        out.push(text[i]);
        i += 1;
    }
    changed.then_some(out)
}

/// Does `before` end with a colour code (`ESC [ digits;… m` or `ESC [ K`)?
fn after_colour_code(before: &[u8]) -> bool {
    let Some((&last, rest)) = before.split_last() else {
        return false;
    };
    if last != b'm' && last != b'K' {
        return false;
    }
    let params = rest
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit() || **c == b';')
        .count();
    rest[..rest.len() - params].ends_with(b"\x1b[")
}

/// The working directory as the user spells it, and as the kernel has it.
pub struct WorkingDir {
    /// `$PWD` when it names the same directory as `getcwd()` (it keeps
    /// symlinked spellings), else `getcwd()`.
    pub apparent: String,
    /// `getcwd()`: where relative paths are resolved from.
    pub physical: String,
}

pub fn current_dir() -> std::io::Result<WorkingDir> {
    let physical = std::env::current_dir()?
        .into_os_string()
        .into_string()
        .map_err(|_| std::io::Error::other("working directory is not valid UTF-8"))?;
    let same_as_physical = |pwd: &str| match (std::fs::metadata(pwd), std::fs::metadata(&physical))
    {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    let apparent = match std::env::var("PWD") {
        Ok(pwd) if pwd == physical => pwd,
        Ok(pwd) if pwd.starts_with('/') && same_as_physical(&pwd) => pwd,
        _ => physical.clone(),
    };
    Ok(WorkingDir { apparent, physical })
}

// Path arithmetic by spelling: no file system access.

/// `path` as seen from `cwd`.
pub fn resolve_in(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        concat(&[cwd, "/", path])
    }
}

/// The parts joined: `format!` costs more than the bytes on the paths a
/// direct lookup builds for every header.
fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// The directory part of `path`: `/` for a file in the root, `""` for a
/// bare name.
pub fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

/// `dir` + "/" + `rel`, or `rel` alone when `dir` is empty.
pub fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// `path` = `dir` + "/" + rel → rel.
pub fn strip_dir<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    if dir.is_empty() {
        return (!path.starts_with('/')).then_some(path);
    }
    path.strip_prefix(dir)?
        .strip_prefix('/')
        .filter(|r| !r.is_empty())
}

/// `/x/y//` → `/x/y`; the root stays `/`.
pub fn without_trailing_slashes(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    }
}

/// `path` with `.`, empty components and `..` resolved by spelling.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Normalized absolute `path` relative to normalized absolute `dir`.
pub fn relative_to(path: &str, dir: &str) -> String {
    let pc: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let dc: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    let common = pc.iter().zip(&dc).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; dc.len() - common];
    parts.extend(&pc[common..]);
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_and_relate() {
        assert_eq!(normalize("/a//./b/../c/"), "/a/c");
        assert_eq!(normalize("/.."), "/");
        assert_eq!(relative_to("/ci/a/src/x.c", "/ci/a/build"), "../src/x.c");
        assert_eq!(relative_to("/ci/a/build/gen", "/ci/a/build"), "gen");
        assert_eq!(relative_to("/ci/a/build", "/ci/a/build"), ".");
        assert_eq!(relative_to("/usr/include", "/ci/a"), "../../usr/include");
    }

    #[test]
    fn spelling_helpers() {
        assert_eq!(resolve_in("/w", "a/b.h"), "/w/a/b.h");
        assert_eq!(resolve_in("/w", "/a/b.h"), "/a/b.h");
        assert_eq!(
            (dirname("/x.h"), dirname("a/b.h"), dirname("b.h")),
            ("/", "a", "")
        );
        assert_eq!(
            (join("", "x.h"), join("inc", "x.h")),
            ("x.h".into(), "inc/x.h".into())
        );
        assert_eq!(strip_dir("inc/sub/x.h", "inc"), Some("sub/x.h"));
        assert_eq!(strip_dir("/abs.h", ""), None);
        assert_eq!(strip_dir("incx/y.h", "inc"), None);
        assert_eq!(without_trailing_slashes("/x/y//"), "/x/y");
        assert_eq!(without_trailing_slashes("//"), "/");
    }

    fn base() -> Option<&'static BaseDirs> {
        static BASE: std::sync::OnceLock<BaseDirs> = std::sync::OnceLock::new();
        Some(BASE.get_or_init(|| BaseDirs::one("/ci")))
    }

    #[test]
    fn relation_keeps_spelling_and_resolves_elsewhere() {
        let r = relate("/ci/a/proj/include/x.h", "/ci/a/proj/build", base()).unwrap();
        assert_eq!(
            r,
            Relation {
                up: 1,
                rest: "/include/x.h"
            }
        );
        assert_eq!(
            r.resolve("/ci/bb/proj/build").unwrap(),
            "/ci/bb/proj/include/x.h"
        );

        let r = relate("/ci/a/proj/build/../inc//x.h", "/ci/a/proj/build", base()).unwrap();
        assert_eq!(r.rest, "/../inc//x.h");
        assert_eq!(
            r.resolve("/ci/b/proj/build").unwrap(),
            "/ci/b/proj/build/../inc//x.h"
        );

        let cwd_marker = relate("/ci/a/proj//", "/ci/a/proj", base()).unwrap();
        assert_eq!(cwd_marker.resolve("/ci/zz/proj").unwrap(), "/ci/zz/proj//");
    }

    #[test]
    fn diagnostics_follow_the_checkout() {
        let text = b"In file included from /ci/a/proj/src/x.c:1:\n/ci/a/proj/inc/y.h:3:5: warning: unused [-W]\n/usr/include/z.h:1: note\n";
        let moved = relocate_text(text, base().unwrap(), "/ci/a/proj", "/ci/bbb/proj").unwrap();
        let moved = String::from_utf8(moved).unwrap();
        assert!(moved.contains("from /ci/bbb/proj/src/x.c:1:"), "{moved}");
        assert!(
            moved.contains("\n/ci/bbb/proj/inc/y.h:3:5: warning"),
            "{moved}"
        );
        assert!(moved.contains("/usr/include/z.h:1"), "{moved}");
        assert!(relocate_text(text, base().unwrap(), "/ci/a/proj", "/ci/a/proj").is_none());
    }

    #[test]
    fn coloured_diagnostics_follow_the_checkout() {
        // gcc's and clang's colour codes right before and after a path.
        let text = b"\x1b[01m\x1b[K/ci/a/proj/w.c:1:20:\x1b[m\x1b[K warning\n\x1b[1m/ci/a/proj/w.c\x1b[0m\n";
        let moved = relocate_text(text, base().unwrap(), "/ci/a/proj", "/ci/bb/proj").unwrap();
        assert_eq!(
            moved,
            b"\x1b[01m\x1b[K/ci/bb/proj/w.c:1:20:\x1b[m\x1b[K warning\n\x1b[1m/ci/bb/proj/w.c\x1b[0m\n"
        );
    }

    #[test]
    fn only_paths_under_base_dir_are_related() {
        assert!(relate("/usr/include/stdio.h", "/ci/a", base()).is_none());
        assert!(relate("/cix/y.h", "/ci/a", base()).is_none());
        assert!(relate("rel/y.h", "/ci/a", base()).is_none());
        assert!(relate("/ci/a/y.h", "/ci/a", None).is_none());
    }
}
