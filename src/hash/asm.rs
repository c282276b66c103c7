//! Assembler directives that read files behind the preprocessor's back.
//!
//! `.incbin "blob"` and `.include "file"` make the assembler read a file
//! that neither the preprocessed text nor the compiler's include list shows
//! (in an assembler source, or in a string of inline assembly in C and C++).
//! A key cannot cover such a file, so a compile that uses them runs
//! uncached (`unsupported_code_directive`, as in ccache), unless
//! `sloppiness = incbin` says the files never change.

/// The first such directive in `content`, if any. Directive names are
/// matched without regard to case (the assembler accepts `.INCBIN`) and
/// must be followed by a space, a tab or a quote; what precedes the dot may
/// be anything (`"\t.incbin ..."` in inline assembly).
pub fn unseen_input_directive(content: &[u8]) -> Option<&'static str> {
    let mut from = 0;
    while let Some(p) = content[from..].iter().position(|&b| b == b'.') {
        let after = &content[from + p + 1..];
        for name in ["incbin", "include"] {
            let matches = after.len() > name.len()
                && after[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && matches!(after[name.len()], b' ' | b'\t' | b'"' | b'\\');
            if matches {
                return Some(match name {
                    "incbin" => ".incbin",
                    _ => ".include",
                });
            }
        }
        from += p + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directives_in_assembler_and_inline_assembly() {
        assert_eq!(
            unseen_input_directive(b"__asm__(\"\\t.incbin \\\"data.bin\\\"\");"),
            Some(".incbin")
        );
        assert_eq!(
            unseen_input_directive(b"  .INCBIN \"x\"\n"),
            Some(".incbin")
        );
        assert_eq!(
            unseen_input_directive(b"\t.include \"macros.inc\"\n"),
            Some(".include")
        );
        assert_eq!(
            unseen_input_directive(b".include\t\"m.inc\""),
            Some(".include")
        );
        // Not directives: other words, other punctuation, a file name.
        assert_eq!(unseen_input_directive(b"s.included = 1; x.incbins;"), None);
        assert_eq!(unseen_input_directive(b"# 1 \"dir.include/x.h\"\n"), None);
        assert_eq!(unseen_input_directive(b"int x;"), None);
        assert_eq!(unseen_input_directive(b".incbin"), None);
    }
}
