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

use super::direct::{dirname, join, SearchDirs};

/// One `__has_include(...)` or `__has_include_next(...)` with a literal name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HasInclude {
    pub name: String,
    /// `<name>` rather than `"name"`.
    pub angle: bool,
    /// `__has_include_next`.
    pub next: bool,
}

/// Every `__has_include` test in `content`. A test whose argument is not a
/// literal `"name"` or `<name>` (a macro) cannot be followed: `Err`.
/// Mentions without an argument list (`#ifdef __has_include`, comments) are
/// not tests.
pub fn scan(content: &[u8]) -> Result<Vec<HasInclude>, String> {
    const WORD: &[u8] = b"__has_include";
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(pos) = find(&content[at..], WORD) {
        let mut i = at + pos + WORD.len();
        at = i;
        let next = content[i..].starts_with(b"_next");
        if next {
            i += 5;
        }
        if content
            .get(i)
            .is_some_and(|&c| c == b'_' || c.is_ascii_alphanumeric())
        {
            continue; // a longer identifier
        }
        i = skip_blanks(content, i);
        if content.get(i) != Some(&b'(') {
            continue;
        }
        i = skip_blanks(content, i + 1);
        let (angle, close) = match content.get(i) {
            Some(b'"') => (false, b'"'),
            Some(b'<') => (true, b'>'),
            _ => {
                let line = content[..i].iter().filter(|&&c| c == b'\n').count() + 1;
                return Err(format!("__has_include with a computed name (line {line})"));
            }
        };
        let start = i + 1;
        let Some(len) = content[start..]
            .iter()
            .position(|&c| c == close || c == b'\n')
            .filter(|&n| content[start + n] == close && n > 0)
        else {
            return Err("__has_include with an unterminated name".into());
        };
        let name = std::str::from_utf8(&content[start..start + len])
            .map_err(|_| "__has_include of a name that is not UTF-8".to_string())?;
        found.push(HasInclude {
            name: name.to_string(),
            angle,
            next,
        });
        at = start + len;
    }
    found.sort_by(|a, b| (&a.name, a.angle, a.next).cmp(&(&b.name, b.angle, b.next)));
    found.dedup();
    Ok(found)
}

/// The paths the compiler tries for `test` made in `includer`, in order. For
/// `__has_include_next` every directory counts: more places, never fewer.
pub fn candidates(test: &HasInclude, includer: &str, search: &SearchDirs) -> Vec<String> {
    if test.name.starts_with('/') {
        return vec![test.name.clone()];
    }
    let mut dirs: Vec<&str> = search.missing.iter().map(String::as_str).collect();
    if !test.angle || test.next {
        dirs.push(dirname(includer));
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
    haystack.windows(needle.len()).position(|w| w == needle)
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
    fn computed_names_cannot_be_followed() {
        assert!(scan(b"#if __has_include(CONFIG_HEADER)\n").is_err());
        assert!(scan(b"#if __has_include(\"x.h\n").is_err());
    }

    #[test]
    fn candidates_follow_the_search_order() {
        let search = SearchDirs {
            quote: vec!["q".into()],
            bracket: vec!["b1".into(), "/usr/include".into()],
            missing: vec!["gone".into()],
        };
        let quoted = HasInclude {
            name: "x.h".into(),
            angle: false,
            next: false,
        };
        assert_eq!(
            candidates(&quoted, "src/t.c", &search),
            ["gone/x.h", "src/x.h", "q/x.h", "b1/x.h", "/usr/include/x.h"]
        );
        let angled = HasInclude {
            angle: true,
            ..quoted.clone()
        };
        assert_eq!(
            candidates(&angled, "src/t.c", &search),
            ["gone/x.h", "b1/x.h", "/usr/include/x.h"]
        );
    }
}
