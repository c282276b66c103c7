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

use super::direct::{join, SearchDirs};

/// One `__has_include(...)` or `__has_include_next(...)` with a literal name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HasInclude {
    pub name: String,
    /// `<name>` rather than `"name"`.
    pub angle: bool,
    /// `__has_include_next`.
    pub next: bool,
}

/// Every `__has_include` test in `content`, outside comments and literals.
/// A test that cannot be followed without preprocessing is an `Err`: one
/// whose argument is not a literal `"name"` or `<name>` (a macro), or a use
/// of the name other than as such a test (`#define HAS __has_include`, a
/// line continuation or comment before the parenthesis). Only
/// `defined(__has_include)` and `#ifdef __has_include` are mere mentions.
pub fn scan(content: &[u8]) -> Result<Vec<HasInclude>, String> {
    const WORD: &[u8] = b"__has_include";
    if find(content, WORD).is_none() {
        return Ok(Vec::new());
    }
    let line_of = |i: usize| content[..i].iter().filter(|&&c| c == b'\n').count() + 1;
    let mut found = Vec::new();
    let mut line_start = 0;
    let mut i = 0;
    while i < content.len() {
        let c = content[i];
        let next = content.get(i + 1).copied();
        if c == b'/' && next == Some(b'/') {
            i = skip_line_comment(content, i);
        } else if c == b'/' && next == Some(b'*') {
            i = find(&content[i + 2..], b"*/").map_or(content.len(), |n| i + 2 + n + 2);
        } else if c == b'"' || c == b'\'' {
            i = skip_literal(content, i);
        } else if c == b'\n' {
            line_start = i + 1;
            i += 1;
        } else if c == b'_' || c.is_ascii_alphabetic() {
            let end = i + content[i..]
                .iter()
                .take_while(|&&c| c == b'_' || c.is_ascii_alphanumeric())
                .count();
            let word = &content[i..end];
            if word == WORD || word == b"__has_include_next" {
                let next = word.len() > WORD.len();
                match test_at(content, end)? {
                    Some((name, angle, after)) => {
                        found.push(HasInclude { name, angle, next });
                        i = after;
                        continue;
                    }
                    None if is_mention(content, line_start, i) => {}
                    None => {
                        return Err(format!(
                            "__has_include used other than on a literal name (line {})",
                            line_of(i)
                        ))
                    }
                }
            }
            i = end;
        } else {
            i += 1;
        }
    }
    found.sort_by(|a, b| (&a.name, a.angle, a.next).cmp(&(&b.name, b.angle, b.next)));
    found.dedup();
    Ok(found)
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
    let before = &content[line_start..at];
    let trimmed: Vec<u8> = before
        .iter()
        .copied()
        .filter(|c| !matches!(c, b' ' | b'\t'))
        .collect();
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
    // Jump between occurrences of the first byte, then compare.
    let first = needle[0];
    let mut at = 0;
    while let Some(n) = haystack[at..].iter().position(|&c| c == first) {
        let i = at + n;
        if haystack[i..].starts_with(needle) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

fn skip_blanks(content: &[u8], mut i: usize) -> usize {
    while content.get(i).is_some_and(|&c| c == b' ' || c == b'\t') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, bool, bool)> {
        scan(text.as_bytes())
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
            "#define HI __has_include\n#if HI(<bar.h>)\n#endif\n",
            "#if __has_include \\\n(<foo.h>)\n#endif\n",
            "#if __has_include /*x*/ (<bar.h>)\n#endif\n",
        ] {
            assert!(scan(text.as_bytes()).is_err(), "{text:?}");
        }
    }

    #[test]
    fn comments_literals_and_mentions_are_not_tests() {
        let text = "#endif // __has_include\n/* __has_include(X) */\n\
                    const char *s = \"__has_include(Y)\";\n\
                    #if defined(__has_include) && defined __has_include\n#endif\n\
                    #ifdef __has_include\n#endif\n";
        assert_eq!(scan(text.as_bytes()).unwrap(), []);
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
