//! base_dir handling: absolute paths under base_dir are expressed relative to
//! the current directory, so two checkouts at different places hash alike, and
//! can be mapped back to the absolute spelling this checkout would use.

use std::borrow::Cow;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

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

    /// The absolute path this relation names when the working directory is `cwd`.
    pub fn resolve(&self, cwd: &str) -> Option<String> {
        let comps = components(cwd);
        let keep = comps.len().checked_sub(self.up)?;
        let prefix = if keep == 0 {
            ""
        } else {
            &cwd[..comps[keep - 1].1]
        };
        Some(format!("{prefix}{}", self.rest))
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

pub fn is_under(path: &str, base_dir: &Path) -> bool {
    let Some(base) = base_dir.to_str() else {
        return false;
    };
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || base.ends_with('/'))
}

/// Relates `path` to `cwd` when it is absolute and lies under `base_dir`.
pub fn relate<'a>(path: &'a str, cwd: &str, base_dir: Option<&Path>) -> Option<Relation<'a>> {
    let base_dir = base_dir?;
    if !path.starts_with('/') || !is_under(path, base_dir) {
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
    base_dir: &Path,
    from_cwd: &str,
    to_cwd: &str,
) -> Option<Vec<u8>> {
    let base = base_dir.to_str()?.as_bytes();
    if base.is_empty() || from_cwd == to_cwd {
        return None;
    }
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
        if at_start && text[i..].starts_with(base) {
            let end = text[i..]
                .iter()
                .position(|&b| ends_path(b))
                .map_or(text.len(), |p| i + p);
            if let Ok(path) = std::str::from_utf8(&text[i..end]) {
                if let Some(moved) =
                    relate(path, from_cwd, Some(base_dir)).and_then(|r| r.resolve(to_cwd))
                {
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

/// Options whose value is a path, glued to the option (`-I/x`) or after `=`.
const PATH_OPTION_PREFIXES: &[&str] = &[
    "-I",
    "-L",
    "-F",
    "-B",
    "-isystem",
    "-iquote",
    "-idirafter",
    "-include",
    "-imacros",
    "-isysroot",
    "-iprefix",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-iframework",
];

/// The form of one argument that goes into the hash: absolute paths under
/// base_dir replaced by their relation to `cwd`.
pub fn hash_form_of_arg<'a>(arg: &'a str, cwd: &str, base_dir: Option<&Path>) -> Cow<'a, str> {
    if base_dir.is_none() {
        return Cow::Borrowed(arg);
    }
    if let Some(rel) = relate(arg, cwd, base_dir) {
        return Cow::Owned(rel.hash_form());
    }
    if !arg.starts_with('-') {
        return Cow::Borrowed(arg);
    }
    let Some(slash) = arg.find('/') else {
        return Cow::Borrowed(arg);
    };
    let (option, value) = arg.split_at(slash);
    let glued = option.ends_with('=') || PATH_OPTION_PREFIXES.contains(&option);
    match relate(value, cwd, base_dir) {
        Some(rel) if glued => Cow::Owned(format!("{option}{}", rel.hash_form())),
        _ => Cow::Borrowed(arg),
    }
}

/// The working directory as the user spells it: `$PWD` when it names the same
/// directory as `getcwd()` (it keeps symlinked spellings), else `getcwd()`.
pub fn current_dir() -> std::io::Result<String> {
    let real = std::env::current_dir()?;
    if let Some(pwd) = std::env::var_os("PWD") {
        let pwd_path = Path::new(&pwd);
        if pwd_path.is_absolute() {
            if let (Ok(a), Ok(b)) = (std::fs::metadata(pwd_path), std::fs::metadata(&real)) {
                if a.dev() == b.dev() && a.ino() == b.ino() {
                    if let Some(s) = pwd.to_str() {
                        return Ok(s.to_string());
                    }
                }
            }
        }
    }
    real.into_os_string()
        .into_string()
        .map_err(|_| std::io::Error::other("working directory is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Option<&'static Path> {
        Some(Path::new("/ci"))
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
        let moved = relocate_text(text, Path::new("/ci"), "/ci/a/proj", "/ci/bbb/proj").unwrap();
        let moved = String::from_utf8(moved).unwrap();
        assert!(moved.contains("from /ci/bbb/proj/src/x.c:1:"), "{moved}");
        assert!(
            moved.contains("\n/ci/bbb/proj/inc/y.h:3:5: warning"),
            "{moved}"
        );
        assert!(moved.contains("/usr/include/z.h:1"), "{moved}");
        assert!(relocate_text(text, Path::new("/ci"), "/ci/a/proj", "/ci/a/proj").is_none());
    }

    #[test]
    fn coloured_diagnostics_follow_the_checkout() {
        // gcc's and clang's colour codes right before and after a path.
        let text = b"\x1b[01m\x1b[K/ci/a/proj/w.c:1:20:\x1b[m\x1b[K warning\n\x1b[1m/ci/a/proj/w.c\x1b[0m\n";
        let moved = relocate_text(text, Path::new("/ci"), "/ci/a/proj", "/ci/bb/proj").unwrap();
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

    #[test]
    fn arguments_hash_alike_across_checkouts() {
        for arg in [
            "-I/ci/X/proj/include",
            "/ci/X/proj/src/a.c",
            "-fdebug-prefix-map=/ci/X/proj=.",
        ] {
            let a = hash_form_of_arg(&arg.replace('X', "one"), "/ci/one/proj", base()).into_owned();
            let b =
                hash_form_of_arg(&arg.replace('X', "two2"), "/ci/two2/proj", base()).into_owned();
            assert_eq!(a, b, "{arg}");
        }
        assert_eq!(
            hash_form_of_arg("-I/usr/include", "/ci/a", base()),
            "-I/usr/include"
        );
        assert_eq!(hash_form_of_arg("-Werror", "/ci/a", base()), "-Werror");
    }
}
