//! The source's lines as gcc's preprocessor reads them: continued lines
//! spliced, comments (also those spanning lines) replaced by a space, and
//! the literals that may hold a comment's opening, a quote or a newline
//! (strings, character constants, raw strings, header names) read whole,
//! so that what they hold neither opens a comment nor ends a line.
//!
//! Some of that depends on the language and standard (`Dialect`): a
//! line is read in one, and `LogicalLines::ambiguous` says whether it met
//! anything another would read otherwise.

/// What of gcc's reading of lines depends on the language and standard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Dialect {
    /// Trigraphs are replaced (`-trigraphs`, a strict ISO `-std` such as
    /// `-std=c11`, `-std=c++14` or gcc 12's `-std=c2x`): `??/` is a
    /// backslash that splices and escapes, `??'` a `^`, `??=` a `#`.
    pub trigraphs: bool,
    /// A `'` between the characters of a number separates digits (C++14,
    /// gcc 12's `-std=c2x`) rather than opening a character constant.
    pub separators: bool,
    /// `R"delim(…)delim"` is a raw string, which may hold quotes and
    /// newlines (C++11, and the GNU dialects of C).
    pub raw_strings: bool,
}

impl Dialect {
    /// gcc's default for C (`-std=gnu17`), and how a text without anything
    /// ambiguous reads in every dialect.
    pub const BASE: Dialect = Dialect {
        trigraphs: false,
        separators: false,
        raw_strings: true,
    };

    /// Every dialect.
    pub fn all() -> impl Iterator<Item = Dialect> {
        (0..8u8).map(|n| Dialect {
            trigraphs: n & 1 != 0,
            separators: n & 2 != 0,
            raw_strings: n & 4 != 0,
        })
    }
}

/// `text` with its trigraphs replaced (translation phase 1). gcc reverts
/// them inside a raw string; a raw string holding one is read as if it
/// were replaced, a dialect (strict C++11 or C++14) no preamble is known
/// to need.
pub(super) fn replace_trigraphs(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match trigraph(&text[i..]) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

/// The character a trigraph at the start of `s` stands for.
fn trigraph(s: &[u8]) -> Option<u8> {
    let [b'?', b'?', c, ..] = s else {
        return None;
    };
    let replaced = match c {
        b'=' => b'#',
        b'/' => b'\\',
        b'\'' => b'^',
        b'(' => b'[',
        b')' => b']',
        b'!' => b'|',
        b'<' => b'{',
        b'>' => b'}',
        b'-' => b'~',
        _ => return None,
    };
    Some(replaced)
}

/// The source's logical lines (its trigraphs already replaced when the
/// dialect has them).
pub(super) struct LogicalLines<'a> {
    rest: &'a [u8],
    dialect: Dialect,
    /// A line read so far holds something another dialect reads
    /// otherwise: a trigraph, a `'` after a number, a raw string.
    pub ambiguous: bool,
}

impl<'a> LogicalLines<'a> {
    pub fn new(text: &'a [u8], dialect: Dialect) -> LogicalLines<'a> {
        LogicalLines {
            rest: text,
            dialect,
            ambiguous: false,
        }
    }

    /// The next line, and whether a newline ended it (not the end of the
    /// text, inside the line, a comment or a literal): only such a line is
    /// the same in any longer text that starts with this one, as nothing
    /// decides it past that newline.
    pub fn next_line(&mut self) -> Option<(Vec<u8>, bool)> {
        if self.rest.is_empty() {
            return None;
        }
        let mut line = Line {
            s: self.rest,
            i: 0,
            out: Vec::new(),
            word: None,
            dialect: self.dialect,
            ambiguous: false,
        };
        let ended = line.read();
        self.ambiguous |= line.ambiguous;
        self.rest = &self.rest[line.i..];
        Some((line.out, ended))
    }
}

/// The reading of one logical line from the start of `s`.
struct Line<'a> {
    s: &'a [u8],
    /// Where the reading is in `s`.
    i: usize,
    /// The line as read.
    out: Vec<u8>,
    /// The identifier or number being read: where it starts in `out`,
    /// and whether it is a number.
    word: Option<(usize, bool)>,
    dialect: Dialect,
    ambiguous: bool,
}

impl Line<'_> {
    /// Reads to the line's newline (past it) or the text's end: whether a
    /// newline ended it.
    fn read(&mut self) -> bool {
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return false;
            };
            match b {
                b'\n' => {
                    self.i += 1;
                    return true;
                }
                b'\\' => match splice(&self.s[self.i..]) {
                    Some(len) => self.i += len,
                    None => self.token_byte(b),
                },
                b'/' => match self.s.get(self.after_splices(self.i + 1)) {
                    Some(b'*') => self.block_comment(),
                    Some(b'/') => self.line_comment(),
                    _ => self.token_byte(b),
                },
                b'"' if self.raw_prefix() => self.raw_string(),
                b'"' | b'<' if self.header_name_here() => self.literal(b, false),
                b'"' => self.literal(b, true),
                b'\'' => {
                    if !self.digit_separator() {
                        self.literal(b, true);
                    }
                }
                _ => {
                    self.note_trigraph(self.i);
                    self.token_byte(b);
                }
            }
        }
    }

    /// The first position from `i` on that no backslash-newline starts.
    fn after_splices(&self, mut i: usize) -> usize {
        while let Some(len) = self.s.get(i..).and_then(splice) {
            i += len;
        }
        i
    }

    /// A trigraph at `i` reads otherwise in another dialect.
    fn note_trigraph(&mut self, i: usize) {
        if !self.dialect.trigraphs && trigraph(&self.s[i..]).is_some() {
            self.ambiguous = true;
        }
    }

    /// A comment from the `/` at `i` to its `*/`, spliced or not, or to
    /// the text's end: a space. (A trigraph in it matters only as the
    /// `??/` of a splice between its `*` and `/`.)
    fn block_comment(&mut self) {
        let s = self.s;
        let mut i = self.after_splices(self.i + 1) + 1;
        let mut end = s.len();
        while let Some(n) = s
            .get(i..)
            .and_then(|rest| rest.iter().position(|&b| b == b'*'))
        {
            i += n + 1;
            if s[i..].starts_with(b"??/") {
                self.note_trigraph(i);
            }
            let slash = self.after_splices(i);
            if s.get(slash) == Some(&b'/') {
                end = slash + 1;
                break;
            }
        }
        self.i = end;
        self.word = None;
        self.out.push(b' ');
    }

    /// A `//` comment, to the newline that ends it (a spliced one goes
    /// on), which stays to end the line. (A trigraph in it matters only as
    /// the `??/` of a splice.)
    fn line_comment(&mut self) {
        let s = self.s;
        let mut i = self.i;
        self.i = s.len();
        while let Some(n) = s[i..].iter().position(|&b| b == b'\n' || b == b'\\') {
            i += n;
            if s[i] == b'\\' {
                i += splice(&s[i..]).unwrap_or(1);
                continue;
            }
            let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c | 0);
            let kept = s[..i].iter().rposition(|b| !blank(b)).map_or(0, |k| k + 1);
            if s[..kept].ends_with(b"??/") {
                self.note_trigraph(kept - 3);
            }
            self.i = i;
            break;
        }
        self.word = None;
        self.out.push(b' ');
    }

    /// Is a `<` or a quote here the start of a header name: the operand
    /// of an `#include` (`#include_next`, `#import`) or of a
    /// `__has_include(`? Then nothing escapes its closing character.
    fn header_name_here(&self) -> bool {
        let before = trim(&self.out);
        if let Some(call) = before.strip_suffix(b"(") {
            let call = trim(call);
            return call.ends_with(b"__has_include") || call.ends_with(b"__has_include_next");
        }
        let Some(directive) = [&b"#"[..], b"%:"]
            .iter()
            .find_map(|hash| before.strip_prefix(*hash))
        else {
            return false;
        };
        matches!(trim(directive), b"include" | b"include_next" | b"import")
    }

    /// A string, character constant or header name opened by `open` (a
    /// `<` closes with `>`), to its closing character or the line's end
    /// (gcc reads the rest of the line into an unterminated one). A
    /// backslash escapes the character after it, where `escapes`.
    fn literal(&mut self, open: u8, escapes: bool) {
        let close = if open == b'<' { b'>' } else { open };
        self.out.push(open);
        self.i += 1;
        loop {
            self.i = self.after_splices(self.i);
            let Some(&b) = self.s.get(self.i) else { break };
            if b == b'\n' {
                break;
            }
            self.note_trigraph(self.i);
            self.out.push(b);
            self.i += 1;
            if b == b'\\' && escapes {
                self.i = self.after_splices(self.i);
                if let Some(&e) = self.s.get(self.i).filter(|&&e| e != b'\n') {
                    self.out.push(e);
                    self.i += 1;
                }
            } else if b == close {
                break;
            }
        }
        self.word = None;
    }

    /// Does the identifier before this `"` make it a raw string (`R`,
    /// `LR`, `uR`, `UR`, `u8R`)? Where it may, another dialect reads an
    /// ordinary string.
    fn raw_prefix(&mut self) -> bool {
        let Some((start, false)) = self.word else {
            return false;
        };
        let raw = matches!(&self.out[start..], b"R" | b"LR" | b"uR" | b"UR" | b"u8R");
        self.ambiguous |= raw;
        raw && self.dialect.raw_strings
    }

    /// A raw string from its `"`: read as written (gcc undoes splices in
    /// it) to `)delim"`, over newlines, but in a directive only to the
    /// end of its line. One whose delimiter gcc rejects is read as an
    /// ordinary string.
    fn raw_string(&mut self) {
        let s = self.s;
        let start = self.i + 1;
        let delim_len = s[start..]
            .iter()
            .take(17)
            .position(|&b| b == b'(')
            .filter(|&n| {
                let bad = |b: &u8| b" ()\\\t\x0b\x0c\r\n".contains(b);
                !s[start..start + n].iter().any(bad)
            });
        let Some(n) = delim_len else {
            return self.literal(b'"', true);
        };
        let mut end = b")".to_vec();
        end.extend_from_slice(&s[start..start + n]);
        end.push(b'"');
        let line = trim(&self.out);
        let directive = line.starts_with(b"#") || line.starts_with(b"%:");
        let mut i = start + n + 1;
        while i < s.len() {
            if s[i..].starts_with(&end) {
                i += end.len();
                break;
            }
            if let Some(len) = splice(&s[i..]) {
                i += len;
            } else if s[i] == b'\n' && directive {
                break;
            } else {
                i += 1;
            }
        }
        let i = i.min(s.len());
        // The newlines it holds end no line.
        let held = s[self.i..i]
            .iter()
            .map(|&b| if b == b'\n' { b' ' } else { b });
        self.out.extend(held);
        self.i = i;
        self.word = None;
    }

    /// Is the `'` here part of a number, as a digit separator (followed,
    /// after any more of them, by a character of the number)? Where it may
    /// be, another dialect reads a character constant.
    fn digit_separator(&mut self) -> bool {
        if !matches!(self.word, Some((_, true))) {
            return false;
        }
        let (mut j, mut quotes) = (self.i, 0);
        while self.s.get(j) == Some(&b'\'') {
            j = self.after_splices(j + 1);
            quotes += 1;
        }
        if !self.s.get(j).is_some_and(is_idnum) {
            return false;
        }
        self.ambiguous = true;
        if self.dialect.separators {
            self.out.extend(std::iter::repeat_n(b'\'', quotes));
            self.i = j;
        }
        self.dialect.separators
    }

    /// Any other byte: it goes on, starts or ends an identifier or a
    /// number (a pp-number: digits, letters, `.`, and a sign after an
    /// exponent's `e` or `p`).
    fn token_byte(&mut self, b: u8) {
        let number = matches!(self.word, Some((_, true)));
        let exponent = matches!(self.out.last(), Some(b'e' | b'E' | b'p' | b'P'));
        self.word = match self.word {
            Some(word) if is_idnum(&b) => Some(word),
            None if is_idnum(&b) => Some((self.out.len(), b.is_ascii_digit())),
            Some(word) if number && (b == b'.' || (b"+-".contains(&b) && exponent)) => Some(word),
            _ if b == b'.' && self.digit_follows() => Some((self.out.len(), true)),
            _ => None,
        };
        self.out.push(b);
        self.i += 1;
    }

    /// Is the character after this one a digit?
    fn digit_follows(&self) -> bool {
        let next = self.s.get(self.after_splices(self.i + 1));
        next.is_some_and(u8::is_ascii_digit)
    }
}

/// A character of an identifier or a number (gcc takes any byte of a
/// UTF-8 character for one of an identifier).
fn is_idnum(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || *b == b'_' || *b == b'$' || *b >= 0x80
}

/// The length of the backslash-newline `s` starts with, as gcc splices
/// them: the backslash may have blanks and a carriage return before the
/// newline. (A `??/` is one only where trigraphs are replaced, before.)
pub(super) fn splice(s: &[u8]) -> Option<usize> {
    let [b'\\', rest @ ..] = s else {
        return None;
    };
    let blanks = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | 0x0b | 0x0c | 0))
        .count();
    match &rest[blanks..] {
        [b'\n', ..] => Some(1 + blanks + 1),
        [b'\r', b'\n', ..] => Some(1 + blanks + 2),
        _ => None,
    }
}

/// `s` without the blanks gcc skips around a line's tokens (vertical
/// tabs and NULs too, which it takes for spaces).
pub(super) fn trim(s: &[u8]) -> &[u8] {
    let blank = |b: &u8| b.is_ascii_whitespace() || matches!(b, 0x0b | 0);
    let start = s.iter().position(|b| !blank(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !blank(b)).map_or(start, |e| e + 1);
    &s[start..end]
}
