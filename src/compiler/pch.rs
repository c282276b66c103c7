//! Precompiled headers: which ones a compile may read, so their content can
//! be hashed.
//!
//! The preprocessor run that makes the key never reads a precompiled header
//! (gcc's `-E` ignores `.gch` files), but the compile does: gcc uses
//! `NAME.gch` (a file, or a directory of candidates) found where it would
//! find `NAME` for an `-include NAME` or for an `#include` before the
//! source's first token, and never checks it against `NAME` itself; clang
//! uses `-include-pch FILE`, and for `-include NAME` the driver picks
//! `NAME.pch` or `NAME.gch`. So every such file that exists is an input of
//! the compile, whether or not it turns out valid.

use std::path::{Path, PathBuf};

use super::options::{Match, INCLUDE_DIR};
use super::Family;

#[derive(Debug, Clone, Default)]
pub struct PchOptions {
    /// The compile writes a precompiled header (a header input, or clang's
    /// `-Xclang -emit-pch`).
    pub creates: bool,
    /// clang records the mtime of every input in a PCH unless built with
    /// `-Xclang -fno-pch-timestamp`, and refuses it when one changed.
    pub timestamp: bool,
    /// `-include-pch FILE` (also through `-Xclang`).
    pub named: Vec<String>,
    /// `-include NAME` (or `-includeNAME`), in order.
    pub forced_includes: Vec<String>,
    /// The directories searched for headers (`-I`, `-iquote`, …), in order.
    pub include_dirs: Vec<String>,
}

impl PchOptions {
    /// Notes what an option, read as the table's entry `m` (with `next`,
    /// the argument after it), says.
    pub(crate) fn observe<'a>(&mut self, m: Option<Match<'a>>, next: Option<&'a str>) {
        let Some((m, path)) = m.and_then(|m| Some((m, m.path(next)?))) else {
            return;
        };
        let list = match m.name() {
            "-include-pch" => &mut self.named,
            "-include" => &mut self.forced_includes,
            _ if m.has(INCLUDE_DIR) => &mut self.include_dirs,
            _ => return,
        };
        list.push(path.to_string());
    }

    /// The precompiled headers that exist where this compile would look for
    /// them (relative to the working directory, or absolute). `source` is
    /// the source's text (gcc finds them for its first `#include`s too).
    pub fn inputs(&self, family: Family, input: &str, source: &[u8]) -> Vec<PathBuf> {
        if self.creates {
            return Vec::new();
        }
        let mut found: Vec<PathBuf> = self.named.iter().map(PathBuf::from).collect();
        let suffixes: &[&str] = match family {
            Family::Gcc => &[".gch"],
            Family::Clang => &[".pch", ".gch"],
        };
        let source_dir = Path::new(input).parent().unwrap_or(Path::new(""));
        for name in &self.forced_includes {
            self.look(name, &[Path::new("")], suffixes, &mut found);
        }
        if family == Family::Gcc {
            for (name, quoted) in preamble_includes(source) {
                let first: &[&Path] = if quoted { &[source_dir] } else { &[] };
                self.look(&name, first, suffixes, &mut found);
            }
        }
        found
    }

    /// Does gcc find a precompiled header for an `-include`? Then its
    /// preprocessor run needs `-fpch-preprocess`, as ccache adds it: gcc's
    /// `-E` ignores a `.gch` and fails when the header itself is not there
    /// (only `dir/pch.h.gch` was shipped), while with the option it judges
    /// the `.gch` as the compile will (the same arguments) and writes
    /// `#pragma GCC pch_preprocess "dir/pch.h.gch"` where it would use it,
    /// the header's text where not. Either way the key holds what the
    /// compile reads: the `.gch`'s content is in it (see `inputs`), and
    /// the header's text is in the preprocessed output whenever the `.gch`
    /// is not used. clang's `-E` reads the PCH itself and needs nothing.
    pub fn forced_include_pch(&self, family: Family) -> bool {
        if family != Family::Gcc || self.creates {
            return false;
        }
        let mut found = Vec::new();
        for name in &self.forced_includes {
            self.look(name, &[Path::new("")], &[".gch"], &mut found);
        }
        !found.is_empty()
    }

    /// Adds to `found` the precompiled headers for `name` that exist where
    /// the compiler looks: the `first` directories, then the include
    /// directories, up to the one that holds `name` itself (only the name
    /// itself when it is absolute).
    fn look(&self, name: &str, first: &[&Path], suffixes: &[&str], found: &mut Vec<PathBuf>) {
        let dirs = self.include_dirs.iter().map(Path::new);
        let mut searched: Vec<&Path> = Vec::new();
        for dir in first.iter().copied().chain(dirs) {
            // A directory named twice (the source's own, also an `-I`; a
            // repeated `-I`) is searched once, by gcc too.
            if searched.contains(&dir) {
                continue;
            }
            searched.push(dir);
            for suffix in suffixes {
                let candidate = dir.join(format!("{name}{suffix}"));
                if !found.contains(&candidate) && candidate.exists() {
                    found.push(candidate);
                }
            }
            // gcc stops at the first directory holding the header (after
            // its `.gch` there): directories after it are never searched.
            if Path::new(name).is_absolute() || dir.join(name).is_file() {
                break;
            }
        }
    }
}

/// The headers the source includes that gcc could take from a precompiled
/// header: `(name, quoted)`. gcc uses one only for the first file the
/// source includes (libcpp refuses a `.gch` once any file other than the
/// implicit `stdc-predef.h` was opened, tokens or not), so the scan ends
/// at the first `#include` outside any `#if` block, which every
/// preprocessing opens; those inside a conditional before it are kept,
/// since any of them may be the first. Comments and other directives are
/// skipped; the scan also stops at the first token.
pub fn preamble_includes(source: &[u8]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut lines = LogicalLines { rest: source };
    while let Some(line) = lines.next_line() {
        let line = trim(&line);
        if line.is_empty() {
            continue;
        }
        let Some(directive) = line.strip_prefix(b"#") else {
            break;
        };
        let directive = trim(directive);
        let word_end = directive
            .iter()
            .position(|b| !b.is_ascii_alphabetic() && *b != b'_')
            .unwrap_or(directive.len());
        match &directive[..word_end] {
            b"if" | b"ifdef" | b"ifndef" => depth += 1,
            b"endif" => depth = depth.saturating_sub(1),
            b"include" => {
                if let Some(named) = include_name(trim(&directive[word_end..])) {
                    out.push(named);
                }
                // Every preprocessing opens this one: nothing after it
                // can be the first file.
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    out
}

/// The source's lines as the preprocessor sees them: backslash-newlines
/// spliced, comments (also those spanning lines) replaced by a space.
struct LogicalLines<'a> {
    rest: &'a [u8],
}

impl LogicalLines<'_> {
    fn next_line(&mut self) -> Option<Vec<u8>> {
        if self.rest.is_empty() {
            return None;
        }
        let s = self.rest;
        let mut line = Vec::new();
        let mut i = 0;
        let mut quote = None;
        while i < s.len() {
            let b = s[i];
            let next = s.get(i + 1).copied();
            if b == b'\\'
                && (next == Some(b'\n') || (next == Some(b'\r') && s.get(i + 2) == Some(&b'\n')))
            {
                i += if next == Some(b'\n') { 2 } else { 3 };
                continue;
            }
            if b == b'\n' {
                i += 1;
                break;
            }
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || (b == b'<' && trim(&line).ends_with(b"include")) => {
                    quote = Some(if b == b'<' { b'>' } else { b'"' });
                }
                None if b == b'/' && next == Some(b'*') => {
                    let end = find(&s[i + 2..], b"*/").map_or(s.len(), |e| i + 2 + e + 2);
                    line.push(b' ');
                    i = end;
                    continue;
                }
                None if b == b'/' && next == Some(b'/') => {
                    // To the end of the line (a spliced one included).
                    while i < s.len() && s[i] != b'\n' {
                        i += if s[i] == b'\\' && s.get(i + 1) == Some(&b'\n') {
                            2
                        } else {
                            1
                        };
                    }
                    continue;
                }
                None => {}
            }
            line.push(b);
            i += 1;
        }
        self.rest = &s[i.min(s.len())..];
        Some(line)
    }
}

/// `"name"` or `<name>`: `(name, quoted)`; `None` for a computed include.
fn include_name(rest: &[u8]) -> Option<(String, bool)> {
    let close = match rest.first() {
        Some(b'"') => b'"',
        Some(b'<') => b'>',
        _ => return None,
    };
    let end = rest[1..].iter().position(|&b| b == close)?;
    let name = std::str::from_utf8(&rest[1..1 + end]).ok()?;
    Some((name.to_string(), close == b'"'))
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

    #[test]
    fn preamble_stops_at_the_first_token() {
        let src = b"/* licence\n * text */\n// note\n#pragma once\n#include \"pch.h\"\n  #  include <vector> // x\n#define A 1\nint x;\n#include \"late.h\"\n";
        assert_eq!(preamble_includes(src), [("pch.h".to_string(), true)]);
        let late = b"int x;\n#include \"pch.h\"\n";
        assert!(preamble_includes(late).is_empty());
    }

    #[test]
    fn only_the_first_file_opened_can_be_precompiled() {
        let names = |src: &[u8]| -> Vec<String> {
            preamble_includes(src).into_iter().map(|(n, _)| n).collect()
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
        // A computed include is opened too: nothing after it is first.
        let src = b"#include HDR\n#include \"a.h\"\n";
        assert!(names(src).is_empty());
    }

    fn observe(o: &mut PchOptions, arg: &str, next: Option<&str>) {
        o.observe(crate::compiler::options::lookup(arg), next);
    }

    #[test]
    fn finds_existing_precompiled_headers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("inc/p.h.gch")).unwrap();
        std::fs::write(d.join("src.h.gch"), b"x").unwrap();
        std::fs::write(d.join("f.h.pch"), b"x").unwrap();
        let mut o = PchOptions::default();
        let inc = d.join("inc").display().to_string();
        observe(&mut o, "-I", Some(&inc));
        observe(&mut o, &format!("-I{}", d.display()), None);
        observe(
            &mut o,
            "-include",
            Some(&d.join("f.h").display().to_string()),
        );
        let input = d.join("t.c").display().to_string();
        let gcc = o.inputs(
            Family::Gcc,
            &input,
            b"#if A\n#include \"src.h\"\n#endif\n#include <p.h>\n#include <q.h>\n",
        );
        assert_eq!(gcc, [d.join("src.h.gch"), d.join("inc/p.h.gch")]);
        let clang = o.inputs(Family::Clang, &input, b"#include \"src.h\"\n");
        assert_eq!(clang, [d.join("f.h.pch")]);
        o.creates = true;
        assert!(o
            .inputs(Family::Gcc, &input, b"#include \"src.h\"\n")
            .is_empty());
    }

    /// gcc looks for `NAME.gch` in each directory just before `NAME`, and
    /// stops at the directory holding `NAME`: a `.gch` further on is never
    /// read, and those directories need no `stat`.
    #[test]
    fn the_search_stops_at_the_directory_holding_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["a", "b"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(d.join("a/h.h"), b"int a;").unwrap();
        std::fs::write(d.join("b/h.h.gch"), b"x").unwrap();
        let mut o = PchOptions::default();
        for sub in ["a", "b"] {
            observe(&mut o, &format!("-I{}", d.join(sub).display()), None);
        }
        let input = d.join("t.c").display().to_string();
        assert!(o
            .inputs(Family::Gcc, &input, b"#include <h.h>\n")
            .is_empty());
        std::fs::remove_file(d.join("a/h.h")).unwrap();
        let found = o.inputs(Family::Gcc, &input, b"#include <h.h>\n");
        assert_eq!(found, [d.join("b/h.h.gch")]);
    }

    #[test]
    fn forms_of_the_options() {
        let mut o = PchOptions::default();
        for (a, next) in [
            ("-includef.h", None),
            ("-include-pch", Some("p.pch")),
            ("-isystem-after", Some("after")),
            ("-iframework", Some("fw")),
            ("-I-", None),
            ("-isystemsys", None),
            ("-imacros", Some("m.h")),
        ] {
            observe(&mut o, a, next);
        }
        assert_eq!(o.forced_includes, ["f.h"]);
        assert_eq!(o.named, ["p.pch"]);
        assert_eq!(o.include_dirs, ["sys"]);
    }
}
