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

/// The index of the first byte of `hay` that `stop` accepts, eight
/// bytes at a time: `flags` marks (in its bytes' high bits) the bytes of
/// a word that may be such bytes, the lowest mark exactly (see `below`).
/// A `.d` is mostly long names between the few bytes that matter.
#[inline(always)]
fn position_of(hay: &[u8], flags: impl Fn(u64) -> u64, stop: impl Fn(u8) -> bool) -> Option<usize> {
    let (words, tail) = hay.as_chunks::<8>();
    for (n, word) in words.iter().enumerate() {
        let marked = flags(u64::from_le_bytes(*word));
        if marked != 0 {
            // Past the lowest mark, others may be false: bytes one by one.
            let first = marked.trailing_zeros() as usize / 8;
            if let Some(p) = word[first..].iter().position(|&b| stop(b)) {
                return Some(n * 8 + first + p);
            }
        }
    }
    let base = words.len() * 8;
    tail.iter().position(|&b| stop(b)).map(|p| base + p)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Marks the bytes of `word` below `n` (at most 128) in their high bits.
/// The lowest mark is exact; a borrow out of a marked byte may mark the
/// byte above it as well.
fn below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS
}

/// Marks the bytes of `word` equal to `b`, as `below` does.
fn equal(word: u64, b: u8) -> u64 {
    below(word ^ (ONES * u64::from(b)), 1)
}

/// The bytes that end a name or need an escape in one: `$`, `#`, the
/// white space, a backslash.
fn is_special(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\\' | b'$' | b'#' | b'\t' | b'\r')
}

/// Marks every special byte of `word` (see `position_of`): all of them
/// but the backslash are below `%`.
fn maybe_special(word: u64) -> u64 {
    below(word, b'$' + 1) | equal(word, b'\\')
}

/// Where the first rule of a `.d` ends: after its first newline that is
/// not a continuation (a backslash before it); the end if there is none.
pub(super) fn first_rule_end(bytes: &[u8]) -> usize {
    let mut from = 0;
    let newline = |w| equal(w, b'\n');
    while let Some(p) = position_of(&bytes[from..], newline, |b| b == b'\n') {
        let nl = from + p;
        if nl == 0 || bytes[nl - 1] != b'\\' {
            return nl + 1;
        }
        from = nl + 1;
    }
    bytes.len()
}

/// Whether `rest`, what follows the first rule, is phony targets (`-MP`)
/// for its dependencies `deps` (each a line `name:`; empty lines between
/// them as clang writes them); `None` for anything else. They come in the
/// order of the dependencies, which is tried first.
pub(super) fn phony_targets_of(rest: &str, deps: &[Token]) -> Option<bool> {
    let mut next = 0;
    let mut any = false;
    for line in rest.split_terminator('\n').filter(|l| !l.is_empty()) {
        let name = line.strip_suffix(':')?;
        let at = match deps.get(next) {
            Some(d) if d.raw == name => next,
            _ => deps.iter().position(|d| d.raw == name)?,
        };
        next = at + 1;
        any = true;
    }
    Some(any)
}

/// Splits `text` (a rule's targets, or its dependencies after the colon,
/// continuation lines included) into its file names. `None` when a name
/// is not in the form described above.
pub(super) fn tokens(text: &str) -> Option<Vec<Token<'_>>> {
    let bytes = text.as_bytes();
    // About one name per 40 bytes in a compiler's `.d`: one allocation
    // for most.
    let mut out = Vec::with_capacity(text.len() / 32 + 1);
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
    let plain_end =
        position_of(&bytes[start..], maybe_special, is_special).map_or(bytes.len(), |p| start + p);
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

/// Whether a name needs escaping (or cannot be written): see `escape`.
fn needs_escape(name: &str) -> bool {
    position_of(name.as_bytes(), maybe_special, is_special).is_some()
}

/// `escape`, giving back `name` itself when it needs no escape.
pub fn escape_owned(name: String) -> Option<String> {
    match needs_escape(&name) {
        false => Some(name),
        true => escape(&name),
    }
}

/// `name` as both compilers write it in a `.d`; `None` for a name they
/// write differently or ambiguously (see the module's comment), or one
/// with a newline.
pub fn escape(name: &str) -> Option<String> {
    if !needs_escape(name) {
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
    fn the_quick_test_lets_every_special_byte_through() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                let marked = maybe_special(u64::from_le_bytes(word));
                assert_eq!(marked != 0, b <= b'$' || b == b'\\', "{b:#x} at {at}");
                if is_special(b) {
                    assert_eq!(marked.trailing_zeros() as usize / 8, at, "{b:#x}");
                }
            }
        }
        // A special byte at each place of a chunk and of the tail.
        for len in [1, 15, 16, 17, 31, 32, 33, 100] {
            for at in 0..len {
                let mut hay = vec![b'a'; len];
                hay[at] = b'$';
                hay[len - 1] = if at == len - 1 { b'$' } else { b'!' };
                assert_eq!(position_of(&hay, maybe_special, is_special), Some(at));
            }
            // Bytes the quick test lets through, and their borrows.
            let near = vec![b'!'; len];
            assert_eq!(position_of(&near, maybe_special, is_special), None);
            let mut after = near.clone();
            after[len - 1] = b'#';
            assert_eq!(
                position_of(&after, maybe_special, is_special),
                Some(len - 1)
            );
        }
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
