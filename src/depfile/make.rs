//! Make's escaping of file names in a `.d`, as gcc and clang write it: a
//! space is `\ `, a `#` is `\#` and a `$` is `$$`.
//!
//! Reading is strict, because a name read wrongly names another file: in
//! depend mode that file's content would go into the key instead of the
//! one the compiler read. Anything the two compilers do not write the same
//! way, or write ambiguously, is refused (`None`): names with a backslash
//! (gcc writes a name ending in `\` followed by the separating space as
//! `\ `, the escape of a space), a tab, a carriage return, a lone `$` or
//! an unescaped `#`.

use std::borrow::Cow;
use std::path::Path;

/// One file name of a rule: as the compiler wrote it and the name it
/// stands for.
#[derive(Debug, PartialEq)]
pub(super) struct Token<'a> {
    pub raw: &'a str,
    /// Borrowed from `raw` when it has no escapes, as most names.
    pub name: Cow<'a, str>,
}

/// Splits `text` (a rule's targets, or its dependencies after the colon,
/// continuation lines included) into its file names. `None` when a name
/// is not in the form described above.
pub(super) fn tokens(text: &str) -> Option<Vec<Token<'_>>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\n' => i += 1,
            // A continuation: only as the compilers write it, after a
            // separating space (`tr\` then a newline would end in `\`).
            b'\\' if bytes.get(i + 1) == Some(&b'\n') => {
                if i > 0 && bytes[i - 1] != b' ' {
                    return None;
                }
                i += 2;
            }
            _ => {
                let (token, end) = token_at(text, i)?;
                out.push(token);
                i = end;
            }
        }
    }
    Some(out)
}

/// The name starting at `start`, and where it ends.
fn token_at(text: &str, start: usize) -> Option<(Token<'_>, usize)> {
    let bytes = text.as_bytes();
    // Most names have no escapes: they are their raw text.
    let plain_end = bytes[start..]
        .iter()
        .position(|b| matches!(b, b' ' | b'\n' | b'\\' | b'$' | b'#' | b'\t' | b'\r'))
        .map_or(bytes.len(), |p| start + p);
    if matches!(bytes.get(plain_end), None | Some(b' ' | b'\n')) {
        let raw = &text[start..plain_end];
        let name = Cow::Borrowed(raw);
        return Some((Token { raw, name }, plain_end));
    }
    let mut name = bytes[start..plain_end].to_vec();
    let mut i = plain_end;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b' ' | b'\n', _) => break,
            (b'\\', Some(b' ')) => {
                // The same bytes stand for a name ending in a backslash
                // followed by the separator: refused when such a file is
                // there.
                let mut alt = name.clone();
                alt.push(b'\\');
                if Path::new(std::str::from_utf8(&alt).ok()?)
                    .symlink_metadata()
                    .is_ok()
                {
                    return None;
                }
                name.push(b' ');
                i += 2;
            }
            (b'\\', Some(b'#')) => {
                name.push(b'#');
                i += 2;
            }
            (b'$', Some(b'$')) => {
                name.push(b'$');
                i += 2;
            }
            (b'\\' | b'$' | b'#' | b'\t' | b'\r', _) => return None,
            (b, _) => {
                name.push(b);
                i += 1;
            }
        }
    }
    let name = Cow::Owned(String::from_utf8(name).ok()?);
    let raw = &text[start..i];
    Some((Token { raw, name }, i))
}

/// `name` as both compilers write it in a `.d`; `None` for a name they
/// write differently or ambiguously (see the module's comment), or one
/// with a newline.
pub fn escape(name: &str) -> Option<String> {
    let special = |b: &u8| matches!(b, b' ' | b'#' | b'$' | b'\\' | b'\t' | b'\r' | b'\n');
    if !name.as_bytes().iter().any(special) {
        return Some(name.to_string());
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            ' ' => out.push_str("\\ "),
            '#' => out.push_str("\\#"),
            '$' => out.push_str("$$"),
            '\\' | '\t' | '\r' | '\n' => return None,
            _ => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Option<Vec<String>> {
        Some(
            tokens(text)?
                .into_iter()
                .map(|t| t.name.into_owned())
                .collect(),
        )
    }

    #[test]
    fn escapes_are_read_and_written_back() {
        let gcc = " file\\ with$$special\\#characters.c \\\n sp\\ ace.h c:o.h pct%.h\n";
        assert_eq!(
            names(gcc).unwrap(),
            [
                "file with$special#characters.c",
                "sp ace.h",
                "c:o.h",
                "pct%.h"
            ]
        );
        for t in tokens(gcc).unwrap() {
            assert_eq!(escape(&t.name).unwrap(), t.raw);
        }
    }

    #[test]
    fn what_the_compilers_write_differently_or_ambiguously_is_refused() {
        for text in [
            "bs\\.h",       // a backslash in a name
            "b\\\\\\ sp.h", // gcc's `b\ sp.h`
            "b\\\\#h.h",    // gcc's `b\#h.h`
            "tab\tt.h",     // clang's tab
            "tab\\\tt.h",   // gcc's tab
            "d$l.h",        // a lone `$`
            "h#sh.h",       // a comment
            "a\\\n b.h",    // a name ending in `\` before a continuation
        ] {
            assert_eq!(names(text), None, "{text:?}");
        }
        assert_eq!(escape("a\\b"), None);
        assert_eq!(escape("a\nb"), None);
    }

    /// gcc writes a file named `tr\` followed by the separating space:
    /// `tr\ x.h`, the same bytes as the name `tr x.h`.
    #[test]
    fn a_name_ending_in_a_backslash_is_refused_when_that_file_exists() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let text = format!("{d}/tr\\ x.h");
        assert_eq!(names(&text).unwrap(), [format!("{d}/tr x.h")]);
        std::fs::write(format!("{d}/tr\\"), "").unwrap();
        assert_eq!(names(&text), None);
    }
}
