//! Preambles whose lines gcc reads otherwise than a plain reading of
//! quotes and comments would, and otherwise from one dialect to another:
//! the scan finds every include gcc 12 takes a `.gch` for, in each of
//! the default C dialect, `-trigraphs` and `-std=c2x` (measured with
//! `-E -fpch-preprocess`, `p.h.gch` and `x.h.gch` both there).

use super::*;

/// The names the scan of the whole `text` gives, sorted.
fn names(text: &[u8]) -> Vec<String> {
    let found = includes(text, true, &[], true).expect("a whole text decides");
    let mut names: Vec<String> = found
        .into_iter()
        .map(|i| match i {
            Include::Named { name, .. } => name,
            Include::Unknown => "?".into(),
        })
        .collect();
    names.sort();
    names
}

#[test]
fn literals_hold_what_looks_like_a_comment_or_a_quote() {
    for text in [
        // A comment's opening in a character constant, a quote in one
        // before a comment spanning lines, an escaped quote.
        &b"#define C '/*'\n#include \"p.h\"\nint v; /* */\n"[..],
        b"#define Q '\"' /* a\n#include \"x.h\" */\n#include \"p.h\"\nint v;\n",
        b"#define S \"\\\"/*\"\n#include \"p.h\"\nint v; /* */\n",
        // Skipped text reads a lone `'` to the line's end.
        b"#if 0\ndon't /* \n#endif\n#include \"p.h\"\nint v; /* */\n",
        // A comment opened and closed across a splice.
        b"#define N 1 /\\\n* c\n#include \"x.h\" */\n#include \"p.h\"\nint v;\n",
        b"#define N 1 /* c *\\\n/\n#include \"p.h\"\nint v;\n",
        // A raw string in skipped text, over lines (GNU C).
        b"#if 0\nR\"x(\n#endif\nint y;\n)x\"\n#endif\n#include \"p.h\"\nint v;\n",
    ] {
        assert_eq!(names(text), ["p.h"], "{:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn every_dialects_reading_counts() {
    for (text, expected) in [
        // `??/` continues a `//` comment only where trigraphs are on.
        (&b"// what??/\n#include \"p.h\"\nint v;\n"[..], &["p.h"][..]),
        // `??'` is `^` there, and no quote.
        (
            b"#define N a??'b /* c\n#include \"x.h\" */\n#include \"p.h\"\nint v;\n",
            &["p.h", "x.h"],
        ),
        // `'` separates digits in C23 (and C++14).
        (
            b"#define N 0x1'2 /* c\n#include \"x.h\" */\n#include \"p.h\"\nint v;\n",
            &["p.h", "x.h"],
        ),
        // Not before a `.`: a character constant in every dialect.
        (
            b"#define N 1'.5 /* c\n#include \"p.h\" */\n#include \"x.h\"\nint v;\n",
            &["p.h"],
        ),
        // A raw string holds a quote (GNU C, C++11), none in strict C.
        (
            b"#define R R\"x(\")x\" /* c\n#include \"x.h\" */\n#include \"p.h\"\nint v;\n",
            &["p.h", "x.h"],
        ),
        // `??/` escapes a string's quote where trigraphs are on.
        (
            b"#define R \"??/\" /* c\n#include \"x.h\" */\n#include \"p.h\"\nint v;\n",
            &["p.h", "x.h"],
        ),
    ] {
        assert_eq!(names(text), expected, "{:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn nothing_ambiguous_reads_once() {
    let mut lines = LogicalLines::new(
        b"/* don't ?? it's */\n// (c) 2024 A's\n#define A 10 /* x */\n#include <a/*b.h>\n",
        Dialect::BASE,
    );
    while lines.next_line().is_some() {}
    assert!(!lines.ambiguous);
    for text in [
        &b"#define A 1'0\n"[..],
        b"// a??/\n",
        b"#define S R\"(x)\"\n",
    ] {
        let mut lines = LogicalLines::new(text, Dialect::BASE);
        while lines.next_line().is_some() {}
        assert!(lines.ambiguous, "{:?}", String::from_utf8_lossy(text));
    }
}
