//! The scan of a first part of a source gives the whole text's answer or
//! none: cut anywhere (inside a line, a comment, a splice, a `\r\n`, a
//! trigraph or the BOM), a part either decides the preamble as the whole
//! text does or says that it does not.

use super::*;

/// Pieces of preambles, each written so that a cut may fall in any of
/// its bytes: comments spanning lines, splices (`\`, `??/`, with blanks
/// and `\r` before the newline), conditionals, macros the scan follows or
/// not, includes in every form, and tokens that end the preamble.
const PIECES: &[&[u8]] = &[
    b"/* licence\n * text\n */\n",
    b"// note\n",
    b"// spliced \\\ncomment #include \"no.h\"\n",
    b"/* a */ /* b\n */",
    b"/* #include \"in_comment.h\" */\n",
    b"#define A 1\n",
    b"#define B \\\n  2\n",
    b"#define C \\ \t\r\n  3\n",
    b"??=define T ??/\n 1\n",
    b"#define E\n",
    b"#define P \"p.h\"\n",
    b"#define F(x) x\n",
    b"#undef P\n",
    b"#if X\n",
    b"#ifdef Y\n",
    b"#else\n",
    b"#elif Z\n",
    b"#endif\n",
    b"#endif /* spans\n a line */\n",
    b"#pragma once\n",
    b"#include \"a.h\"\n",
    b"#include <b.h>\n",
    b"#  include P\n",
    b"%:include \"c.h\"\n",
    b"??=include <t.h>\n",
    b"#include_next <n.h>\n",
    b"#include <v/*x*/.h> // c\n",
    b"#inc\\\nlude \"s.h\"\n",
    b"#include \"d.h\" /* a\n comment */\n",
    b"int x;\n",
    b"E\n",
    b"_Pragma(\"once\")\n",
    b"\n",
    b"\r\n",
    b"   \t\n",
    b"\x0b\0\n",
    // Literals that hold a comment's opening, a quote or a newline, and
    // what reads otherwise from one dialect to another.
    b"#define C '/*'\n",
    b"#define Q '\"' /* a\n */\n",
    b"#define S \"\\\"/*\" /* x */\n",
    b"don't /* \n",
    b"// what??/\n",
    b"#define N 0x1'2 /* c\n */\n",
    b"#define N 1'''x 1'.5\n",
    b"#define R R\"x(\")x\" /* c\n */\n",
    b"R\"y(\n#endif\n)y\"\n",
    b"#define N 1 /\\\n* c *\\\n/\n",
    b"#define T a??'b \"??/\" ??/\n",
    b"#if __has_include(<a/*b.h>)\n",
];

/// A preamble of `pieces` random pieces, with a BOM, `\r\n` line ends or
/// no last newline at times.
fn preamble(rng: &mut impl FnMut(usize) -> usize, pieces: usize) -> Vec<u8> {
    let mut text = Vec::new();
    if rng(8) == 0 {
        text.extend_from_slice(b"\xef\xbb\xbf");
    }
    let crlf = rng(4) == 0;
    for _ in 0..pieces {
        for &b in PIECES[rng(PIECES.len())] {
            if b == b'\n' && crlf {
                text.push(b'\r');
            }
            text.push(b);
        }
    }
    if rng(4) == 0 {
        text.pop();
    }
    text
}

/// Every cut of `text`: a part that decides gives the whole text's answer,
/// and so does every longer part. The number of parts that decide.
fn check_cuts(text: &[u8], defines: &[(String, Option<String>)], followed: bool) -> usize {
    let whole = includes(text, true, defines, followed).expect("a whole text decides");
    let mut decided = 0;
    for cut in 0..=text.len() {
        let part = includes(&text[..cut], false, defines, followed);
        let shown = || String::from_utf8_lossy(&text[..cut]).into_owned();
        match part {
            Some(part) => {
                assert_eq!(
                    part,
                    whole,
                    "cut at {cut} of {:?}: {:?}",
                    text.len(),
                    shown()
                );
                decided += 1;
            }
            None => assert_eq!(decided, 0, "undecided again at {cut}: {:?}", shown()),
        }
    }
    decided
}

#[test]
fn a_part_decides_as_the_whole_text_or_not_at_all() {
    let mut rng = crate::test_rng(0x9e37_79b9_7f4a_7c15);
    let defines = [
        vec![],
        vec![("P".to_string(), Some("<cmd.h>".to_string()))],
        vec![
            ("E".to_string(), None),
            ("X".to_string(), Some(String::new())),
        ],
    ];
    let (mut texts, mut deciding) = (0, 0);
    for round in 0..600 {
        let text = preamble(&mut rng, 1 + round % 12);
        let defines = &defines[round % defines.len()];
        let decided = check_cuts(&text, defines, round % 5 != 0);
        texts += 1;
        deciding += usize::from(decided > 0);
    }
    // Most preambles end within the text: the parts are put to the test.
    assert!(deciding * 2 > texts, "{deciding} of {texts} decided");
}

#[test]
fn a_part_ending_in_an_open_line_does_not_decide() {
    let p = |s: &[u8]| includes(s, false, &[], true);
    let named = |name: &str| {
        Some(vec![Include::Named {
            name: name.into(),
            quoted: true,
        }])
    };
    // The line the part ends in may go on: no newline yet, a splice, a
    // comment not closed, `\r` without its `\n`, half a trigraph or BOM.
    for part in [
        &b"#include \"p.h\""[..],
        b"#include \"p.h\"\r",
        b"#include \"p.h\" \\\n",
        b"#include \"p.h\" ??/\n",
        b"#include \"p.h\" ??",
        b"#include \"p.h\" /* a\n",
        b"/* #include \"p.h\"\n",
        b"#if A\n#include \"p.h\"\n",
        b"\xef\xbb",
        b"",
    ] {
        assert_eq!(p(part), None, "{:?}", String::from_utf8_lossy(part));
    }
    assert_eq!(p(b"#include \"p.h\"\n"), named("p.h"));
    assert_eq!(p(b"/* a\n */ #include \"p.h\" /* b */\r\n"), named("p.h"));
    assert_eq!(p(b"int x;\n"), Some(vec![]));
    // A whole text ends its last line without a newline.
    assert_eq!(includes(b"#include \"p.h\"", true, &[], true), named("p.h"));
}
