//! The `#include`s of a source for which gcc could use a precompiled
//! header. gcc uses one only for the first file the source opens (libcpp
//! refuses a `.gch` once any file other than the implicit `stdc-predef.h`
//! was opened, tokens or not), before the first token: so the list ends
//! with the first `#include` outside any `#if` block, which every
//! preprocessing opens, and keeps those inside a conditional before it,
//! any of which may be the first. Lines are read as the preprocessor
//! reads them (`lines`: continued lines spliced, comments spanning lines
//! removed, literals read whole, a BOM, vertical tabs and NULs blanks),
//! in each dialect that reads them otherwise. Text inside a conditional may be
//! skipped, and a line that opens with `_Pragma` or a macro that may
//! expand to nothing may leave no token: neither ends the list.
//! A name given through a macro (`#include PCH`) is followed when a `-D`
//! or a `#define` before it, outside any `#if`, says for certain what it
//! expands to; otherwise gcc's name for it is unknown.

use std::collections::HashMap;

mod lines;
use lines::{trim, Dialect, LogicalLines};

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

/// The preamble's includes. `text`: the source's text, or (`whole`
/// false) a first part of it; `None` when that part does not decide them
/// (the scan ran out of lines, or reached a line that may go on past the
/// part). `defines`: `-D NAME[=VALUE]` (`Some`) and `-U NAME` (`None`) in
/// the order given; `followed`: whether macros may be followed at all
/// (not when a forced include may define them).
pub fn includes(
    text: &[u8],
    whole: bool,
    defines: &[(String, Option<String>)],
    followed: bool,
) -> Option<Vec<Include>> {
    let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
    let (found, ambiguous) = scan(text, whole, defines, followed, Dialect::BASE);
    if !ambiguous {
        return found;
    }
    // gcc reads the text in one dialect: the includes of every dialect
    // hold those it may take a `.gch` for.
    let mut out = Vec::new();
    for dialect in Dialect::all() {
        let (found, _) = scan(text, whole, defines, followed, dialect);
        for include in found? {
            if !out.contains(&include) {
                out.push(include);
            }
        }
    }
    Some(out)
}

/// The preamble's includes as read in `dialect`, and whether the lines
/// that decided them hold anything another dialect reads otherwise.
fn scan(
    text: &[u8],
    whole: bool,
    defines: &[(String, Option<String>)],
    followed: bool,
    dialect: Dialect,
) -> (Option<Vec<Include>>, bool) {
    let replaced;
    let text = match dialect.trigraphs {
        true => {
            replaced = lines::replace_trigraphs(text);
            &replaced[..]
        }
        false => text,
    };
    let mut lines = LogicalLines::new(text, dialect);
    let found = preamble(&mut lines, whole, defines, followed);
    (found, lines.ambiguous)
}

/// The includes of the preamble `lines` start with (see `includes`).
fn preamble(
    lines: &mut LogicalLines,
    whole: bool,
    defines: &[(String, Option<String>)],
    followed: bool,
) -> Option<Vec<Include>> {
    let mut macros = Macros::new();
    for (name, value) in defines {
        match value {
            Some(v) => macros.insert(name.clone(), Some(v.clone())),
            None => macros.remove(name),
        };
    }
    let mut out = Vec::new();
    let mut depth = 0usize;
    loop {
        // A line the part ends in may be longer in the whole text: spliced
        // on, in a comment or literal, or longer by the bytes after the cut.
        let line = match lines.next_line() {
            Some((line, ended)) if ended || whole => line,
            Some(_) => return None,
            None => return whole.then_some(out),
        };
        let line = trim(&line);
        if line.is_empty() {
            continue;
        }
        let Some(directive) = directive(line) else {
            // Text in a conditional may be skipped, and a macro that
            // expands to nothing is no token: neither ends the preamble.
            if depth > 0 || may_vanish(line, &macros) {
                continue;
            }
            return Some(out);
        };
        let directive = trim(directive);
        let word = identifier(directive);
        let rest = trim(&directive[word.len()..]);
        match word {
            b"if" | b"ifdef" | b"ifndef" => depth += 1,
            b"endif" => depth = depth.saturating_sub(1),
            b"define" => define(rest, depth > 0, &mut macros),
            b"undef" => {
                macros.remove(&String::from_utf8_lossy(identifier(rest)).into_owned());
            }
            b"include" => out.push(operand(rest, &macros, followed)),
            b"include_next" | b"import" => out.push(Include::Unknown),
            _ => continue,
        }
        // Every preprocessing opens an include outside the conditionals:
        // nothing after it can be the first file.
        if depth == 0 && matches!(word, b"include" | b"include_next" | b"import") {
            return Some(out);
        }
    }
}

/// A line's directive without its `#`, also spelled as the digraph `%:`
/// (taken as one whether or not digraphs are on, as they are but in
/// strict C90: at worst a `.gch` gcc would not use is hashed).
fn directive(line: &[u8]) -> Option<&[u8]> {
    [&b"#"[..], b"%:"]
        .iter()
        .find_map(|hash| line.strip_prefix(*hash))
}

/// Whether a line of text may leave no token: `_Pragma`, or a macro that
/// is empty or not known for certain (function-like, or defined under an
/// `#if`), followed through object-like macros.
fn may_vanish(line: &[u8], macros: &Macros) -> bool {
    let mut name = identifier(line).to_vec();
    if name == b"_Pragma" {
        return true;
    }
    for _ in 0..8 {
        match macros.get(&*String::from_utf8_lossy(&name)) {
            None => return false,
            Some(None) => return true,
            Some(Some(value)) if trim(value.as_bytes()).is_empty() => return true,
            Some(Some(value)) => name = identifier(trim(value.as_bytes())).to_vec(),
        }
        if name.is_empty() {
            return false;
        }
    }
    false
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan of a whole text, which always decides.
    fn scan(text: &[u8], defines: &[(String, Option<String>)], followed: bool) -> Vec<Include> {
        includes(text, true, defines, followed).expect("a whole text decides")
    }

    fn named(name: &str, quoted: bool) -> Include {
        Include::Named {
            name: name.to_string(),
            quoted,
        }
    }

    #[test]
    fn the_preamble_stops_at_the_first_token() {
        let src = b"/* licence\n * text */\n// note\n#pragma once\n#include \"pch.h\"\n  #  include <vector> // x\n#define A 1\nint x;\n#include \"late.h\"\n";
        assert_eq!(scan(src, &[], true), [named("pch.h", true)]);
        assert!(scan(b"int x;\n#include \"pch.h\"\n", &[], true).is_empty());
    }

    #[test]
    fn only_the_first_file_opened_can_be_precompiled() {
        let names = |src: &[u8]| -> Vec<String> {
            let got = scan(src, &[], true).into_iter();
            got.map(|i| match i {
                Include::Named { name, .. } => name,
                Include::Unknown => "?".into(),
            })
            .collect()
        };
        // Any include inside a conditional may be the first; the first one
        // outside every conditional ends the list.
        let src = b"#ifdef A\n# include \"a.h\"\n#else\n#include <b.h>\n#endif\n#include \"c.h\"\n#include \"d.h\"\n";
        assert_eq!(names(src), ["a.h", "b.h", "c.h"]);
        // Spliced lines and comments spanning lines are one directive.
        let src = b"#if defined(A) || \\\n    defined(B)\n#endif /* a\n comment */\n/* x */ #include \"p.h\" // y\n#include \"q.h\"\n";
        assert_eq!(names(src), ["p.h"]);
        let src = b"#define X 1 /* spans\n lines */\n#include <v/*x*/.h>\nint y;\n";
        assert_eq!(names(src), ["v/*x*/.h"]);
        // An include whose name is unknown is opened too.
        assert_eq!(names(b"#include HDR\n#include \"a.h\"\n"), ["?"]);
        assert_eq!(names(b"#include_next <n.h>\n#include \"a.h\"\n"), ["?"]);
    }

    /// What gcc 12 reads as no token before `#include "p.h"` (it uses
    /// `p.h.gch` after each), and a token that ends the preamble.
    #[test]
    fn blanks_skipped_text_and_vanishing_macros_are_no_token() {
        let p = [named("p.h", true)];
        for src in [
            &b"\xef\xbb\xbf#include \"p.h\"\n"[..],
            b"\x0b\0#\x0binclude \"p.h\"\n",
            b"#if 0\ndon't\n#else\nint x;\n#endif\n#include \"p.h\"\n",
            b"#define A \\ \t\r\n  1\n#include \"p.h\"\n",
            b"// \\\r\nint x;\r\n/* \n */#include \"p.h\"\r\n",
            b"%:include \"p.h\"\n",
            b"??=define X ??/\n 1\n??=include \"p.h\"\n",
            b"#define E\n#define F E\nF\n_Pragma(\"once\")\n#include \"p.h\"\n",
            b"#ifdef X\n#define G 1\n#endif\nG\n#include \"p.h\"\n",
        ] {
            assert_eq!(
                scan(src, &[], true),
                p,
                "{:?}",
                String::from_utf8_lossy(src)
            );
        }
        let empty = [("E".to_string(), Some(String::new()))];
        assert_eq!(scan(b"E\n#include \"p.h\"\n", &empty, true), p);
        for src in [
            &b"int x;\n#include \"p.h\"\n"[..],
            b"#define O 1\nO\n#include \"p.h\"\n",
        ] {
            assert!(scan(src, &[], true).is_empty());
        }
    }

    #[test]
    fn macros_are_followed_only_where_certain() {
        let d = |n: &str, v: Option<&str>| (n.to_string(), v.map(str::to_string));
        let cmd = [
            d("PCH", Some("\"pch.h\"")),
            d("GONE", Some("<g.h>")),
            d("GONE", None),
        ];
        // Each form as the source's one include, and inside a conditional
        // so that the next is read too.
        let src = b"#define LOCAL <local.h> /* c */\n#define TWICE LOCAL\n#if 1\n#include PCH\n#include TWICE\n#include GONE\n#endif\n#define F(x) <x>\n#if 1\n#include F(a.h)\n#endif\n#ifdef X\n#define C \"c.h\"\n#endif\n#if 1\n#include C\n#include_next <n.h>\n#endif\n";
        assert_eq!(
            scan(src, &cmd, true),
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
        assert_eq!(scan(b"#include PCH\n", &cmd, false), [Include::Unknown]);
        assert_eq!(
            scan(b"#include \"h\xff.h\"\n", &[], true),
            [Include::Unknown]
        );
    }
}

#[cfg(test)]
mod head_tests;

#[cfg(test)]
mod dialect_tests;
