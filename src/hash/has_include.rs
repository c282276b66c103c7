//! `__has_include` in a source or header (direct mode).
//!
//! A header that `__has_include` asks about is not in the preprocessor's line
//! markers unless it is also included, so a direct-mode record of the files
//! read misses it: creating a header the test found absent, or deleting one
//! it found present, would change the output without changing any recorded
//! file (a gap ccache documents). objcache records the answer instead: the
//! header found, as an include file (it must stay as it is), and every place
//! searched before it, or every place when none was found, as shadowing
//! candidates (none may appear).

use super::includes::SearchDirs;
use crate::paths::join;

/// One `__has_include(...)` or `__has_include_next(...)` with a literal name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HasInclude {
    pub name: String,
    /// `<name>` rather than `"name"`.
    pub angle: bool,
    /// `__has_include_next`.
    pub next: bool,
}

/// The names that test for a header: the operators themselves, then any
/// object-like alias a file defines for them (`#define HAS __has_include`,
/// as xxhash does), each with whether it is the `_next` form.
pub type Names = [(String, bool)];

/// The operators themselves.
pub fn operators() -> Vec<(String, bool)> {
    vec![
        ("__has_include".to_string(), false),
        ("__has_include_next".to_string(), true),
    ]
}

/// Does `content` name `__has_include` (or `__has_include_next`) at all?
pub fn mentions_operator(content: &[u8]) -> bool {
    find(content, b"__has_include").is_some()
}

/// Aliases `content` defines for any of `targets`: lines
/// `#define NAME TARGET` (so an alias of an alias is found once its target
/// is known; see `RecordContext::alias_tests`).
pub fn aliases(content: &[u8], targets: &Names) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for (target, next) in targets {
        let mut at = 0;
        while let Some(n) = find(&content[at..], target.as_bytes()) {
            let i = at + n;
            at = i + 1;
            let start = content[..i]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1);
            let end = content[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(content.len(), |p| i + p);
            let line = String::from_utf8_lossy(&content[start..end]);
            let code = line.split("//").next().unwrap_or("");
            let code = code.split("/*").next().unwrap_or("");
            let words: Vec<&str> = code.split_whitespace().collect();
            let words: &[&str] = match words.as_slice() {
                ["#", "define", rest @ ..] => rest,
                ["#define", rest @ ..] => rest,
                _ => continue,
            };
            if let [name, body] = words {
                let ident = name.bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric());
                if ident && body == target && !targets.iter().any(|(t, _)| t == name) {
                    found.push((name.to_string(), *next));
                }
            }
        }
    }
    found
}

/// Every test in `content` made with one of `names`. Tests are taken from
/// the raw text, comments and literals included (an extra test only adds
/// probes, and no lexer short of the compiler's is sure to tell code from
/// comment: raw strings, digit separators). A use that cannot be followed
/// without preprocessing is an `Err`: an argument that is not a literal
/// `"name"` or `<name>` (a macro), a function-like wrapper, a line
/// continuation or comment before the parenthesis. (The operator's name
/// assembled by token pasting is not recognised: libstdc++ pastes
/// `__has_##NAME` for other names, so the pieces prove nothing.) Mere mentions are
/// fine, and so is anything inside comments and literals: `defined(NAME)`,
/// `#ifdef NAME`, the name a `#define` defines, and an alias definition.
pub fn scan(content: &[u8], names: &Names) -> Result<Vec<HasInclude>, String> {
    if !names
        .iter()
        .any(|(n, _)| find(content, n.as_bytes()).is_some())
    {
        return Ok(Vec::new());
    }
    let quiet = quiet_ranges(content);
    let in_quiet = |i: usize| {
        let k = quiet.partition_point(|&(start, _)| start <= i);
        k > 0 && i < quiet[k - 1].1
    };
    let line_of = |i: usize| content[..i].iter().filter(|&&c| c == b'\n').count() + 1;
    let mut found = Vec::new();
    for (name, next) in names {
        let mut at = 0;
        while let Some(n) = find(&content[at..], name.as_bytes()) {
            let i = at + n;
            let end = i + name.len();
            at = end;
            let ident = |c: &u8| *c == b'_' || c.is_ascii_alphanumeric();
            if (i > 0 && ident(&content[i - 1])) || content.get(end).is_some_and(ident) {
                continue; // part of a longer identifier
            }
            let line_start = content[..i]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1);
            if defines(content, line_start, i) || is_alias_definition(content, line_start, i, end) {
                continue;
            }
            match test_at(content, end) {
                Ok(Some((test, angle, _))) => found.push(HasInclude {
                    name: test,
                    angle,
                    next: *next,
                }),
                Ok(None) if in_quiet(i) || is_mention(content, line_start, i) => {}
                Err(_) if in_quiet(i) => {}
                Ok(None) => {
                    return Err(format!(
                        "{name} used other than on a literal name (line {})",
                        line_of(i)
                    ))
                }
                Err(e) => return Err(format!("{e} (line {})", line_of(i))),
            }
        }
    }
    found.sort_by(|a, b| (&a.name, a.angle, a.next).cmp(&(&b.name, b.angle, b.next)));
    found.dedup();
    Ok(found)
}

/// The comments and literals of `content`, as sorted `(start, end)` ranges,
/// by a lexer that knows comments, string and character literals.
fn quiet_ranges(content: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < content.len() {
        let c = content[i];
        let next = content.get(i + 1).copied();
        let end = if c == b'/' && next == Some(b'/') {
            skip_line_comment(content, i)
        } else if c == b'/' && next == Some(b'*') {
            find(&content[i + 2..], b"*/").map_or(content.len(), |n| i + 2 + n + 2)
        } else if c == b'"' || c == b'\'' {
            skip_literal(content, i)
        } else {
            i += 1;
            continue;
        };
        ranges.push((i, end));
        i = end.max(i + 1);
    }
    ranges
}

/// Is the name at `at` the one a `#define` on this line defines?
fn defines(content: &[u8], line_start: usize, at: usize) -> bool {
    blanks_removed(&content[line_start..at]) == b"#define"
}

/// `#define NAME __has_include` with nothing after: an alias, not a test.
fn is_alias_definition(content: &[u8], line_start: usize, at: usize, end: usize) -> bool {
    let before = blanks_removed(&content[line_start..at]);
    let after_start = skip_blanks(content, end);
    let rest_empty = matches!(content.get(after_start), None | Some(b'\n'))
        || content[after_start..].starts_with(b"//")
        || content[after_start..].starts_with(b"/*");
    rest_empty
        && before.len() > b"#define".len()
        && before.starts_with(b"#define")
        && before[b"#define".len()..]
            .iter()
            .all(|&c| c == b'_' || c.is_ascii_alphanumeric())
}

fn blanks_removed(text: &[u8]) -> Vec<u8> {
    text.iter()
        .copied()
        .filter(|c| !matches!(c, b' ' | b'\t' | b'\r'))
        .collect()
}

/// After the name at `at`: `( "name" )` or `( <name> )` → the name, its form
/// and where the test ends; no parenthesis → `None`; anything else → `Err`.
fn test_at(content: &[u8], at: usize) -> Result<Option<(String, bool, usize)>, String> {
    let mut i = skip_blanks(content, at);
    if content.get(i) != Some(&b'(') {
        return Ok(None);
    }
    i = skip_blanks(content, i + 1);
    let (angle, close) = match content.get(i) {
        Some(b'"') => (false, b'"'),
        Some(b'<') => (true, b'>'),
        _ => return Err("__has_include with a computed name".into()),
    };
    let start = i + 1;
    let len = content[start..]
        .iter()
        .position(|&c| c == close || c == b'\n')
        .filter(|&n| content[start + n] == close && n > 0)
        .ok_or_else(|| "__has_include with an unterminated name".to_string())?;
    let name = std::str::from_utf8(&content[start..start + len])
        .map_err(|_| "__has_include of a name that is not UTF-8".to_string())?;
    Ok(Some((name.to_string(), angle, start + len + 1)))
}

/// `defined(__has_include)`, `defined __has_include`, or the subject of an
/// `#ifdef`-like directive: the name is asked about, nothing is tested.
fn is_mention(content: &[u8], line_start: usize, at: usize) -> bool {
    let trimmed = blanks_removed(&content[line_start..at]);
    if trimmed.ends_with(b"defined") || trimmed.ends_with(b"defined(") {
        return true;
    }
    ["#ifdef", "#ifndef", "#elifdef", "#elifndef"]
        .iter()
        .any(|d| trimmed == d.as_bytes())
}

fn skip_line_comment(content: &[u8], mut i: usize) -> usize {
    while i < content.len() {
        if content[i] == b'\n' && (i == 0 || content[i - 1] != b'\\') {
            return i;
        }
        i += 1;
    }
    i
}

fn skip_literal(content: &[u8], at: usize) -> usize {
    let quote = content[at];
    let mut i = at + 1;
    while i < content.len() {
        match content[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// The paths the compiler tries for `test` made in `includer`, in order. For
/// `__has_include_next` every directory counts: more places, never fewer.
///
/// A quoted test is tried first in the directory of the file where it is
/// evaluated, which is not always the file that spells it (a macro defined
/// in a header and used elsewhere), so `includer_dirs` are the directories
/// of every file the compile read.
pub fn candidates(test: &HasInclude, includer_dirs: &[&str], search: &SearchDirs) -> Vec<String> {
    if test.name.starts_with('/') {
        return vec![test.name.clone()];
    }
    let mut dirs: Vec<&str> = search.missing.iter().map(String::as_str).collect();
    if !test.angle || test.next {
        dirs.extend(includer_dirs);
        dirs.extend(search.quote.iter().map(String::as_str));
    }
    dirs.extend(search.bracket.iter().map(String::as_str));
    let mut seen = std::collections::HashSet::new();
    dirs.into_iter()
        .filter(|d| seen.insert(*d))
        .map(|d| join(d, &test.name))
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    // Jump between occurrences of the needle's rarest-looking byte (its
    // first that is not `_`: identifiers are full of underscores), then
    // compare around it.
    let k = needle.iter().position(|&c| c != b'_').unwrap_or(0);
    let anchor = needle[k];
    let mut at = k;
    while at < haystack.len() {
        let n = haystack[at..].iter().position(|&c| c == anchor)?;
        let i = at + n - k;
        if haystack[i..].starts_with(needle) {
            return Some(i);
        }
        at += n + 1;
    }
    None
}

fn skip_blanks(content: &[u8], mut i: usize) -> usize {
    while content
        .get(i)
        .is_some_and(|&c| c == b' ' || c == b'\t' || c == b'\r')
    {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, bool, bool)> {
        scan(text.as_bytes(), &operators())
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.angle, t.next))
            .collect()
    }

    #[test]
    fn literal_tests_are_found_mentions_are_not() {
        let text = "/* __has_include argument (GCC PR 80005) */\n#ifdef __has_include\n\
                    # if __has_include (\"linux/stat.h\")\n#endif\n\
                    #define TBB __has_include(<tbb/tbb.h>)\n\
                    #if __has_include_next( <limits.h> ) && __has_include(\"cfg.h\")\n\
                    int __has_include_x;\n";
        assert_eq!(
            names(text),
            [
                ("cfg.h".to_string(), false, false),
                ("limits.h".to_string(), true, true),
                ("linux/stat.h".to_string(), false, false),
                ("tbb/tbb.h".to_string(), true, false),
            ]
        );
    }

    #[test]
    fn tests_that_cannot_be_followed_are_errors() {
        for text in [
            "#if __has_include(CONFIG_HEADER)\n",
            "#if __has_include(\"x.h\n",
            "#define HI(x) __has_include(x)\n#if HI(<bar.h>)\n#endif\n",
            "#if __has_include \\\n(<foo.h>)\n#endif\n",
            "#if __has_include /*x*/ (<bar.h>)\n#endif\n",
        ] {
            assert!(scan(text.as_bytes(), &operators()).is_err(), "{text:?}");
        }
    }

    #[test]
    fn aliases_are_followed() {
        // As in xxhash.h.
        let text = "#ifndef XXH_HAS_INCLUDE\n#  ifdef __has_include\n\
                    #    define XXH_HAS_INCLUDE __has_include\n#  else\n\
                    #    define XXH_HAS_INCLUDE(x) 0\n#  endif\n#endif\n\
                    #if defined(X) && XXH_HAS_INCLUDE(<arm_neon.h>)\n#endif\n";
        assert_eq!(scan(text.as_bytes(), &operators()).unwrap(), []);
        let aliases = aliases(text.as_bytes(), &operators());
        assert_eq!(aliases, [("XXH_HAS_INCLUDE".to_string(), false)]);
        let tests = scan(text.as_bytes(), &aliases).unwrap();
        assert_eq!(tests.len(), 1);
        assert_eq!(
            (tests[0].name.as_str(), tests[0].angle),
            ("arm_neon.h", true)
        );
        assert!(scan(b"#if XXH_HAS_INCLUDE(HDR)\n", &aliases).is_err());
    }

    #[test]
    fn tests_hidden_from_a_simple_lexer_are_still_found() {
        // A raw string and a digit separator make a `/*` look like code.
        for text in [
            "const char *s = R\"(\")/*)\";\n#if __has_include(<foo.h>)\n#endif\n// */\n",
            "int a = 1'0, b = '/*';\n#if __has_include(<foo.h>)\n#endif\nint c = '*/';\n",
        ] {
            let tests = scan(text.as_bytes(), &operators()).unwrap();
            assert_eq!(tests.len(), 1, "{text:?}");
            assert_eq!(tests[0].name, "foo.h");
        }
    }

    #[test]
    fn chains_of_aliases() {
        let text = b"#define A __has_include\r\n#define B A\r\n#if B(<foo.h>)\r\n#endif\r\n";
        let first = aliases(text, &operators());
        assert_eq!(first, [("A".to_string(), false)]);
        assert_eq!(aliases(text, &first), [("B".to_string(), false)]);
        let both = [first[0].clone(), ("B".to_string(), false)];
        assert_eq!(scan(text, &both).unwrap().len(), 1);
    }

    #[test]
    fn comments_literals_and_mentions_are_not_tests() {
        let text = "#endif // __has_include\n/* __has_include(X) */\n\
                    const char *s = \"__has_include(Y)\";\n\
                    #if defined(__has_include) && defined __has_include\n#endif\n\
                    #ifdef __has_include\n#endif\n";
        assert_eq!(scan(text.as_bytes(), &operators()).unwrap(), []);
    }

    #[test]
    fn candidates_follow_the_search_order() {
        let search = SearchDirs {
            quote: vec!["q".into()],
            bracket: vec!["b1".into(), "/usr/include".into()],
            missing: vec!["gone".into()],
            parsed: true,
        };
        let quoted = HasInclude {
            name: "x.h".into(),
            angle: false,
            next: false,
        };
        assert_eq!(
            candidates(&quoted, &["src"], &search),
            ["gone/x.h", "src/x.h", "q/x.h", "b1/x.h", "/usr/include/x.h"]
        );
        let angled = HasInclude {
            angle: true,
            ..quoted.clone()
        };
        assert_eq!(
            candidates(&angled, &["src"], &search),
            ["gone/x.h", "b1/x.h", "/usr/include/x.h"]
        );
    }
}
