//! The `#include`s before a source's first token: only there can gcc use
//! a precompiled header. A name given through a macro (`#include PCH`) is
//! followed when a `-D` or a `#define` before it, outside any `#if`,
//! says for certain what it expands to; otherwise gcc's name for it is
//! unknown.

use std::collections::HashMap;

/// One `#include` of the preamble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Include {
    /// `"name"` (`quoted`) or `<name>`, written so or given by a macro.
    Named { name: String, quoted: bool },
    /// An operand whose name cannot be known without preprocessing (a
    /// function-like macro, one defined by a forced include or under an
    /// `#if`, `#include_next`, a name that is not UTF-8).
    Unknown,
}

/// What an object-like macro the preamble can follow expands to (`None`:
/// defined so that it cannot be followed).
type Macros = HashMap<String, Option<String>>;

/// The preamble's includes. `defines`: `-D NAME[=VALUE]` (`Some`) and
/// `-U NAME` (`None`) in the order given; `followed`: whether macros may be
/// followed at all (not when a forced include may define them).
pub fn includes(
    source: &[u8],
    defines: &[(String, Option<String>)],
    followed: bool,
) -> Vec<Include> {
    let mut macros = Macros::new();
    for (name, value) in defines {
        match value {
            Some(v) => macros.insert(name.clone(), Some(v.clone())),
            None => macros.remove(name),
        };
    }
    let mut out = Vec::new();
    let mut depth = 0usize;
    for directive in directives(source) {
        let word_end = directive
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .unwrap_or(directive.len());
        let (word, rest) = (&directive[..word_end], trim(&directive[word_end..]));
        match word {
            b"if" | b"ifdef" | b"ifndef" => depth += 1,
            b"endif" => depth = depth.saturating_sub(1),
            b"define" => define(rest, depth > 0, &mut macros),
            b"undef" => {
                macros.remove(&String::from_utf8_lossy(identifier(rest)).into_owned());
            }
            b"include" => out.push(operand(rest, &macros, followed)),
            b"include_next" | b"import" => out.push(Include::Unknown),
            _ => {}
        }
    }
    out
}

/// Notes `#define rest`: an object-like macro whose value the preamble
/// knows for certain, or one it cannot follow (function-like, or under an
/// `#if`, where it may or may not be defined).
fn define(rest: &[u8], conditional: bool, macros: &mut Macros) {
    let name = identifier(rest);
    let value = &rest[name.len()..];
    let known = !conditional && !value.starts_with(b"(");
    let value = known.then(|| String::from_utf8_lossy(trim(value)).into_owned());
    macros.insert(String::from_utf8_lossy(name).into_owned(), value);
}

/// The name an `#include` operand gives, following object-like macros up
/// to eight deep.
fn operand(rest: &[u8], macros: &Macros, followed: bool) -> Include {
    let mut text = rest.to_vec();
    for _ in 0..8 {
        let (close, quoted) = match text.first() {
            Some(b'"') => (b'"', true),
            Some(b'<') => (b'>', false),
            _ => {
                let name = identifier(&text);
                let whole = !name.is_empty() && trim(&text[name.len()..]).is_empty();
                let value = macros.get(&*String::from_utf8_lossy(name));
                match (whole && followed, value) {
                    (true, Some(Some(v))) => {
                        text = trim(v.as_bytes()).to_vec();
                        continue;
                    }
                    _ => return Include::Unknown,
                }
            }
        };
        let end = text[1..].iter().position(|&b| b == close);
        return match end.map(|end| std::str::from_utf8(&text[1..1 + end])) {
            Some(Ok(name)) => Include::Named {
                name: name.to_string(),
                quoted,
            },
            _ => Include::Unknown,
        };
    }
    Include::Unknown
}

/// The leading identifier of `s`.
fn identifier(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The directives before the source's first token, each without its `#`
/// and comments before it. Comments and blank lines are skipped; the scan
/// stops at anything else.
fn directives(source: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut in_comment = false;
    for raw in source.split(|&b| b == b'\n') {
        let mut line = trim(raw);
        if in_comment {
            match find(line, b"*/") {
                Some(end) => {
                    line = trim(&line[end + 2..]);
                    in_comment = false;
                }
                None => continue,
            }
        }
        // Comments before the directive or the line's only content.
        while let Some(rest) = line.strip_prefix(b"/*") {
            match find(rest, b"*/") {
                Some(end) => line = trim(&rest[end + 2..]),
                None => {
                    in_comment = true;
                    line = b"";
                }
            }
        }
        if line.is_empty() || line.starts_with(b"//") {
            continue;
        }
        let Some(directive) = line.strip_prefix(b"#") else {
            break;
        };
        out.push(without_comment(trim(directive)));
    }
    out
}

/// A directive without a `//` or `/*` comment after its operand (not one
/// inside a quoted name).
fn without_comment(d: &[u8]) -> &[u8] {
    let mut quote = None;
    for (i, &b) in d.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'<') => quote = Some(if b == b'"' { b'"' } else { b'>' }),
            (Some(q), b) if b == q => quote = None,
            (None, b'/') if matches!(d.get(i + 1), Some(b'/' | b'*')) => return trim(&d[..i]),
            _ => {}
        }
    }
    d
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, quoted: bool) -> Include {
        Include::Named {
            name: name.to_string(),
            quoted,
        }
    }

    #[test]
    fn the_preamble_stops_at_the_first_token() {
        let src = b"/* licence\n * text */\n// note\n#pragma once\n#include \"pch.h\"\n  #  include <vector> // x\n#define A 1\nint x;\n#include \"late.h\"\n";
        assert_eq!(
            includes(src, &[], true),
            [named("pch.h", true), named("vector", false)]
        );
    }

    #[test]
    fn macros_are_followed_only_where_certain() {
        let d = |n: &str, v: Option<&str>| (n.to_string(), v.map(str::to_string));
        let cmd = [
            d("PCH", Some("\"pch.h\"")),
            d("GONE", Some("<g.h>")),
            d("GONE", None),
        ];
        let src = b"#define LOCAL <local.h> /* c */\n#define TWICE LOCAL\n#include PCH\n#include TWICE\n#include GONE\n#define F(x) <x>\n#include F(a.h)\n#ifdef X\n#define C \"c.h\"\n#endif\n#include C\n#include_next <n.h>\n";
        assert_eq!(
            includes(src, &cmd, true),
            [
                named("pch.h", true),
                named("local.h", false),
                Include::Unknown,
                Include::Unknown,
                Include::Unknown,
                Include::Unknown,
            ]
        );
        // A forced include may define any of them.
        assert_eq!(includes(b"#include PCH\n", &cmd, false), [Include::Unknown]);
        assert_eq!(
            includes(b"#include \"h\xff.h\"\n", &[], true),
            [Include::Unknown]
        );
    }
}
