//! objcache: a fast, ccache-compatible compiler cache.
//!
//! Rooms, each depending only on those listed before it:
//! - `clock`, `files` (safe file access), `key` (cache keys, the hasher,
//!   and the interface of the memo of digests kept between calls), `log`,
//!   `paths`: leaves;
//! - `stats` (counters), `remote` (remote backends), `config`
//!   (ccache.conf and `CCACHE_*`);
//! - `compiler` (finding the real compiler, argument analysis), `depfile`
//!   (`.d` files on a hit);
//! - `disk` (the local cache dir's files: the entries' container and
//!   formats, `entry`, `manifest`, `inputs` (miss inputs); the memos;
//!   `digests`, the memo of large inputs such as PCH files; `cleanup`,
//!   limits and eviction; `usage`, what the cache holds; and `output`,
//!   which writes a hit's files to the build's outputs), `hash` (the key
//!   recipe, `hash::recipe`: what goes into each key and whether it still
//!   holds; direct mode's include records);
//! - `storage` (the local store and the remotes behind one policy: every
//!   cache file a compile reads or writes goes through it, the entries it
//!   encodes, raw objects, the memos, the statistics shards and the
//!   cleanup);
//! - `explain` (why a compile missed: its key fields against the last
//!   compile of the same output);
//! - `wrap` (one cached compile: look up, serve or compile, store) and
//!   `manage` (the cache-manager options).

pub mod clock;
pub mod compiler;
pub mod config;
pub mod depfile;
pub mod disk;
pub mod explain;
pub mod files;
pub mod hash;
pub mod key;
pub mod log;
pub mod manage;
pub mod paths;
pub mod remote;
pub mod stats;
pub mod storage;
pub mod wrap;

use std::ffi::OsString;
use std::path::Path;

/// Whether a file name is the tool's own: ccache's rule for its name (any
/// name starting with `ccache`, so `ccache-4.13` and `ccache.real` count),
/// and the same for `objcache`. Installed or linked under such a name,
/// objcache is the cache tool, not a compiler it masquerades as.
pub fn is_tool_name(file_name: &str) -> bool {
    file_name.starts_with("objcache") || file_name.starts_with("ccache")
}

/// A leading `KEY=VALUE` argument of `objcache KEY=VALUE … COMPILER …`
/// (ccache 4.8+): a configuration key (letters, digits, `_`) and its value.
fn setting(arg: &std::ffi::OsStr) -> Option<(String, String)> {
    let text = arg.to_str()?;
    let (key, value) = text.split_once('=')?;
    let is_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    is_key.then(|| (key.to_string(), value.to_string()))
}

/// Whether an argument names the tool itself (`objcache objcache gcc`,
/// `ccache /usr/local/bin/ccache gcc`): a wrapper called through itself
/// is one level.
fn names_tool(arg: &std::ffi::OsStr) -> bool {
    Path::new(arg)
        .file_name()
        .is_some_and(|n| is_tool_name(&n.to_string_lossy()))
}

/// Decides between the three ways objcache is called: as a masquerading
/// symlink (`gcc` → objcache), as a prefix (`objcache [KEY=VALUE…] gcc …`),
/// or as the cache manager (`objcache -s`). Named `ccache` it behaves the
/// same.
pub fn main_with_args(argv: Vec<OsString>) -> i32 {
    let mut argv = argv.into_iter();
    let argv0 = argv.next().unwrap_or_default();
    let rest: Vec<OsString> = argv.collect();
    let invoked_as = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !invoked_as.is_empty() && !is_tool_name(&invoked_as) {
        return wrap::run(&invoked_as, rest);
    }
    // Leading KEY=VALUE settings, and the tool's own name again (any
    // number of times), before the compiler.
    let mut settings = Vec::new();
    let mut i = 0;
    while let Some(arg) = rest.get(i) {
        if let Some(kv) = setting(arg) {
            settings.push(kv);
        } else if !names_tool(arg) {
            break;
        }
        i += 1;
    }
    match rest.get(i).map(|a| a.to_string_lossy().into_owned()) {
        None if settings.is_empty() => {
            eprintln!(
                "Usage:\n    objcache [OPTIONS]\n    objcache [KEY=VALUE ...] COMPILER [COMPILER OPTIONS]\n\nRun objcache --help for the options."
            );
            2
        }
        None => {
            eprintln!("objcache: error: no compiler given after the configuration settings");
            2
        }
        Some(first) if first.starts_with('-') && settings.is_empty() => {
            let name = if invoked_as.starts_with("ccache") {
                "ccache"
            } else {
                "objcache"
            };
            manage::run_as(name, rest[i..].to_vec())
        }
        Some(first) if first.starts_with('-') => {
            eprintln!(
                "objcache: error: expected a compiler after the configuration settings, found \"{first}\""
            );
            2
        }
        Some(first) => wrap::run_with_settings(&first, rest[i + 1..].to_vec(), settings),
    }
}

/// A generator of test inputs, the same for a seed on every run: a
/// number below `n` (0 for `n` 0) per call, by xorshift.
#[cfg(test)]
pub(crate) fn test_rng(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod invocation {
    use super::*;

    #[test]
    fn tool_names_and_settings() {
        for name in ["ccache", "ccache-4.13", "ccache.real", "objcache"] {
            assert!(is_tool_name(name), "{name}");
        }
        for name in ["gcc", "cc", "x-ccache", "clang++"] {
            assert!(!is_tool_name(name), "{name}");
        }
        assert!(names_tool("/usr/local/bin/ccache".as_ref()));
        assert_eq!(
            setting("max_size=10G".as_ref()),
            Some(("max_size".into(), "10G".into()))
        );
        assert_eq!(
            setting("compiler_check=%compiler% -v".as_ref()),
            Some(("compiler_check".into(), "%compiler% -v".into()))
        );
        for not in ["gcc", "-DX=1", "/opt/a=b/gcc", "=x"] {
            assert_eq!(setting(not.as_ref()), None, "{not}");
        }
    }
}

#[cfg(test)]
mod layering {
    /// The rooms in the order of the list above: each may use only those
    /// before it, so no two modules depend on each other.
    const ORDER: &[&str] = &[
        "clock", "files", "key", "log", "paths", "stats", "remote", "config", "compiler",
        "depfile", "disk", "hash", "storage", "explain", "wrap", "manage",
    ];

    /// Every `.rs` file below `dir`.
    pub(crate) fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// `text` without the items marked `#[cfg(test)]` (a `mod tests;`
    /// line, or a whole `mod tests { … }` block found by matching braces),
    /// so code after a test module is still checked. The line breaks of
    /// what is left out stay, so line numbers do not change.
    pub(crate) fn without_unit_tests(text: &str) -> String {
        const MARK: &str = "#[cfg(test)]";
        let code = code_mask(text);
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < bytes.len() {
            if code[i] && text[i..].starts_with(MARK) {
                let end = item_end(bytes, &code, i + MARK.len());
                out.extend(text[i..end].matches('\n'));
                i = end;
                continue;
            }
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
        out
    }

    /// The end of the item starting at `from`: after its `;` if that comes
    /// before any `{`, else after the brace matching its first `{`.
    fn item_end(bytes: &[u8], code: &[bool], from: usize) -> usize {
        let mut depth = 0usize;
        for i in from..bytes.len() {
            if !code[i] {
                continue;
            }
            match bytes[i] {
                b';' if depth == 0 => return i + 1,
                b'{' => depth += 1,
                b'}' if depth == 1 => return i + 1,
                b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        bytes.len()
    }

    /// For each byte of `text`, whether it is code rather than part of a
    /// comment, a string or a character literal, so that braces and marks
    /// inside those do not count.
    fn code_mask(text: &str) -> Vec<bool> {
        let b = text.as_bytes();
        let mut code = vec![true; b.len()];
        let mut i = 0;
        while i < b.len() {
            let end = match b[i] {
                b'/' if b.get(i + 1) == Some(&b'/') => {
                    text[i..].find('\n').map_or(b.len(), |n| i + n)
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2)
                }
                b'"' => string_end(b, i + 1),
                b'\'' => char_end(text, i).unwrap_or(i + 1),
                c if c.is_ascii_alphanumeric() || c == b'_' => {
                    // A name whole, so an `r` inside one is no raw string.
                    let mut j = i;
                    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                        j += 1;
                    }
                    match raw_string_end(text, i, j) {
                        Some(end) => end,
                        None => {
                            i = j;
                            continue;
                        }
                    }
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            for c in &mut code[i..end] {
                *c = false;
            }
            i = end;
        }
        code
    }

    /// After the opening quote at `from`: the index after the closing one.
    fn string_end(b: &[u8], from: usize) -> usize {
        let mut i = from;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        b.len()
    }

    /// With the name `text[start..name_end]` just read: if it is the
    /// prefix of a raw string (`r"…"`, `br#"…"#`), the index after it.
    fn raw_string_end(text: &str, start: usize, name_end: usize) -> Option<usize> {
        if !matches!(&text[start..name_end], "r" | "br") {
            return None;
        }
        let rest = &text[name_end..];
        let hashes = rest.bytes().take_while(|&c| c == b'#').count();
        if rest.as_bytes().get(hashes) != Some(&b'"') {
            return None;
        }
        let close = format!("\"{}", "#".repeat(hashes));
        let body = name_end + hashes + 1;
        Some(
            text[body..]
                .find(&close)
                .map_or(text.len(), |n| body + n + close.len()),
        )
    }

    /// With `'` at `at`: the end of a character literal there, or `None`
    /// for a lifetime.
    fn char_end(text: &str, at: usize) -> Option<usize> {
        let rest = &text[at + 1..];
        if rest.starts_with('\\') {
            return rest.get(2..)?.find('\'').map(|n| at + 1 + 2 + n + 1);
        }
        let c = rest.chars().next()?;
        rest[c.len_utf8()..]
            .starts_with('\'')
            .then(|| at + 1 + c.len_utf8() + 1)
    }

    #[test]
    fn test_modules_are_cut_by_their_braces() {
        let text = "use crate::a;\n#[cfg(test)]\nmod tests {\n    fn f() { let _ = \"}\"; let _ = '}'; let _ = r#\"}\"#; }\n    // }\n}\nfn g<'a>() { crate::b(); }\n#[cfg(test)]\nmod more;\nfn h() {}\n";
        let code = without_unit_tests(text);
        assert_eq!(
            code,
            "use crate::a;\n\n\n\n\n\nfn g<'a>() { crate::b(); }\n\n\nfn h() {}\n"
        );
    }

    #[test]
    fn modules_depend_one_way() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut seen_rooms = std::collections::HashSet::new();
        for file in files {
            let rel = file.strip_prefix(&src).unwrap().to_str().unwrap();
            let room = rel.split(['/', '.']).next().unwrap();
            if room == "lib" || room == "main" {
                continue;
            }
            let rank = ORDER
                .iter()
                .position(|r| *r == room)
                .unwrap_or_else(|| panic!("{rel}: room {room} is not in ORDER"));
            seen_rooms.insert(room.to_string());
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests may reach anywhere.
            let code = without_unit_tests(&text);
            for (i, _) in code.match_indices("crate::") {
                let used: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let Some(used_rank) = ORDER.iter().position(|r| *r == used) else {
                    continue;
                };
                assert!(
                    used_rank <= rank,
                    "{rel} uses crate::{used}, which comes after {room}"
                );
            }
        }
        assert_eq!(seen_rooms.len(), ORDER.len(), "a room in ORDER has no file");
    }
}
