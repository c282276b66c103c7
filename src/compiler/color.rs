//! Coloured diagnostics, as the compiler would show them without objcache.
//!
//! gcc and clang colour their diagnostics when stderr is a terminal, or
//! when an option says so. On a miss objcache captures stderr (to store
//! it), so the compiler would see a pipe. As ccache 4.x does, objcache asks
//! gcc or clang for colours in every compile, whatever the call chose (its
//! option comes after the call's own, and the last one wins), stores the
//! coloured stderr, and leaves colour options out of the key: one entry
//! serves every colour choice (`-fdiagnostics-color=always|never|auto`,
//! clang's `-f[no-]color-diagnostics`, none, a terminal or a pipe). It is
//! replayed as captured where the compiler would colour, and with the
//! colour codes removed where it would not.
//!
//! Removing the codes gives exactly what the compiler prints without
//! colours (measured with gcc 12 and clang 14: warnings, errors with
//! carets and ranges, notes, fix-its, option names, URLs, template
//! diffs, analyzer paths, json), except where the choices do not share an
//! entry and each compile is captured as the call itself colours, with
//! that in the key:
//! - `-fmessage-length=N`: the compiler counts the colour codes in the
//!   line length, so lines wrap elsewhere;
//! - gcc, with an escape byte in the source: gcc shows the source's bytes
//!   as they are, and they could look like its colour codes;
//! - an object that records the command line (clang's
//!   `-frecord-command-line`), where no option may be added; assembler
//!   input (clang would warn that the option is unused); a compiler not
//!   recognisably gcc or clang, which is never handed an option it may not
//!   know.
//!
//! Only the codes the compiler itself writes are removed: gcc ends each of
//! its colour codes with `ESC[K`, so for gcc only such pairs are colour
//! (escape bytes a header passes through otherwise stay); clang never
//! passes an escape byte of the source through (it shows `<U+001B>`).

use std::borrow::Cow;

use super::args::ArgsAnalysis;
use super::lang::Language;
use super::{Compiler, Family};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Always,
    Never,
    Auto,
}

/// The choice a colour option makes, or `None` for any other argument.
pub fn parse_option(arg: &str) -> Option<ColorChoice> {
    Some(match arg {
        "-fdiagnostics-color" | "-fdiagnostics-color=always" | "-fcolor-diagnostics" => {
            ColorChoice::Always
        }
        "-fdiagnostics-color=never" | "-fno-diagnostics-color" | "-fno-color-diagnostics" => {
            ColorChoice::Never
        }
        "-fdiagnostics-color=auto" => ColorChoice::Auto,
        _ => return None,
    })
}

/// The call's colour choice: its last colour option, or gcc's
/// `-fdiagnostics-plain-output` (no colours) after it; unless it hands
/// clang's compiler proper `-fcolor-diagnostics` itself (`-Xclang`), which
/// colours whatever the driver's options say.
pub fn choice(a: &ArgsAnalysis) -> Option<ColorChoice> {
    let args = &a.read_args;
    let to_cc1 = args
        .windows(2)
        .any(|w| w[0] == "-Xclang" && w[1] == "-fcolor-diagnostics");
    if to_cc1 {
        return Some(ColorChoice::Always);
    }
    let last = args
        .iter()
        .rev()
        .find(|x| *x == "-fdiagnostics-plain-output" || parse_option(x).is_some());
    match last.map(String::as_str) {
        Some("-fdiagnostics-plain-output") => Some(ColorChoice::Never),
        _ => a.color,
    }
}

/// Would the compiler, run directly by this call, colour its diagnostics?
pub fn wanted(choice: Option<ColorChoice>, family: Family) -> bool {
    // An empty GCC_COLORS turns gcc's colours off, even where an option
    // asks for them.
    if family == Family::Gcc && std::env::var_os("GCC_COLORS").is_some_and(|v| v.is_empty()) {
        return false;
    }
    match choice {
        Some(ColorChoice::Always) => true,
        Some(ColorChoice::Never) => false,
        Some(ColorChoice::Auto) | None => {
            std::env::var_os("TERM").is_some_and(|t| t != "dumb")
                // SAFETY: isatty only inspects the descriptor.
                && unsafe { libc::isatty(libc::STDERR_FILENO) } == 1
        }
    }
}

/// How a compile of this call captures the compiler's diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture {
    /// The option objcache adds after the call's arguments, if any.
    pub option: Option<&'static str>,
    /// The captured stderr is coloured (and is stored as such).
    pub coloured: bool,
    /// Every colour choice of the call shares the entry; otherwise the key
    /// says whether the stderr was captured in colour.
    pub shared: bool,
}

impl Capture {
    /// What the key says about colour: `None` when the choices share one
    /// entry, whether stderr is captured in colour when they do not.
    pub fn key_field(&self) -> Option<bool> {
        (!self.shared).then_some(self.coloured)
    }
}

/// How a compile of this call captures diagnostics; `source_escape`: the
/// source holds an escape byte (`SourceFacts`); `ignore_options`, the options the user said
/// do not matter (an ignored `-fmessage-length` does not keep the colour
/// choices apart either).
pub fn capture(
    a: &ArgsAnalysis,
    compiler: &Compiler,
    family: Family,
    source_escape: bool,
    ignore_options: &[String],
) -> Capture {
    let choice = choice(a);
    let addable = a.language != Language::Asm
        && !a.object_records_command_line(family)
        && recognised(compiler);
    let shared = addable
        && !wraps_lines(&a.read_args, ignore_options)
        && !echoes_escapes(family, source_escape);
    let option = match family {
        Family::Gcc => "-fdiagnostics-color=always",
        Family::Clang => "-fcolor-diagnostics",
    };
    if choice == Some(ColorChoice::Always) {
        // The compiler colours into the pipe without help.
        return Capture {
            option: None,
            coloured: true,
            shared,
        };
    }
    let coloured = shared || (addable && wanted(choice, family));
    Capture {
        option: coloured.then_some(option),
        coloured,
        shared,
    }
}

/// Is the compiler recognisably gcc or clang by its name?
fn recognised(compiler: &Compiler) -> bool {
    let names = [compiler.path.file_name(), compiler.real.file_name()];
    names.iter().flatten().any(|n| {
        let n = n.to_string_lossy();
        n.contains("gcc") || n.contains("g++") || n.contains("clang") || n == "cc" || n == "c++"
    })
}

/// `-fmessage-length=N` with N other than 0: diagnostics are wrapped, and
/// colour codes count in the length. A value that is not a number counts
/// as wrapping (the compiler rejects it anyway).
fn wraps_lines(args: &[String], ignore_options: &[String]) -> bool {
    args.iter()
        .rev()
        .filter(|a| !super::args::is_ignored_option(a, ignore_options))
        .find_map(|a| a.strip_prefix("-fmessage-length="))
        .is_some_and(|n| n.parse::<u64>() != Ok(0))
}

/// Can gcc's diagnostics of this source hold escape bytes that are not
/// its colour codes? gcc shows the source's lines and `#warning` texts as
/// they are.
fn echoes_escapes(family: Family, source_escape: bool) -> bool {
    family == Family::Gcc && source_escape
}

/// `stderr` as this call shows it: the compiler's colour codes removed
/// unless `keep`. gcc's are `ESC [ params m ESC [ K`; any other escape
/// bytes in its output come from the source (a `#warning`) and are kept.
/// clang's are `ESC [ params m` (it shows a source's escape byte as `<U+001B>`).
pub fn present(stderr: &[u8], keep: bool, family: Family) -> Cow<'_, [u8]> {
    if keep || !stderr.contains(&0x1b) {
        return Cow::Borrowed(stderr);
    }
    let mut out = Vec::with_capacity(stderr.len());
    let mut i = 0;
    while i < stderr.len() {
        if let Some(len) = colour_code_at(&stderr[i..], family) {
            i += len;
            continue;
        }
        out.push(stderr[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// The length of the compiler's colour code at the start of `text`, if any.
fn colour_code_at(text: &[u8], family: Family) -> Option<usize> {
    let sgr = |t: &[u8]| -> Option<usize> {
        let rest = t.strip_prefix(b"\x1b[")?;
        let params = rest
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b';')
            .count();
        (rest.get(params) == Some(&b'm')).then_some(3 + params)
    };
    let len = sgr(text)?;
    match family {
        Family::Clang => Some(len),
        Family::Gcc => text[len..].starts_with(b"\x1b[K").then_some(len + 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(
            parse_option("-fdiagnostics-color"),
            Some(ColorChoice::Always)
        );
        assert_eq!(
            parse_option("-fno-color-diagnostics"),
            Some(ColorChoice::Never)
        );
        assert_eq!(
            parse_option("-fdiagnostics-color=auto"),
            Some(ColorChoice::Auto)
        );
        assert_eq!(parse_option("-fdiagnostics-show-option"), None);
    }

    #[test]
    fn message_length_wraps_unless_zero() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let none = [];
        assert!(wraps_lines(&args(&["-c", "-fmessage-length=40"]), &none));
        let twice = args(&["-fmessage-length=40", "-fmessage-length=0"]);
        assert!(!wraps_lines(&twice, &none));
        assert!(!wraps_lines(&args(&["-c", "t.c"]), &none));
        assert!(wraps_lines(&args(&["-fmessage-length=x"]), &none));
        let ignored = args(&["-fmessage-length=*"]);
        assert!(!wraps_lines(&args(&["-fmessage-length=40"]), &ignored));
    }

    #[test]
    fn escape_bytes_in_a_gcc_source_keep_choices_apart() {
        // The byte itself is found by `SourceFacts`.
        assert!(echoes_escapes(Family::Gcc, true));
        assert!(!echoes_escapes(Family::Gcc, false));
        assert!(!echoes_escapes(Family::Clang, true));
    }

    #[test]
    fn colour_codes_are_removed_and_nothing_else() {
        let coloured = b"\x1b[01m\x1b[Kt.c:3:9:\x1b[m\x1b[K \x1b[01;35m\x1b[Kwarning: \x1b[m\x1b[Kx [\x1b[01;35m\x1b[K-Wunused\x1b[m\x1b[K]\n";
        assert_eq!(
            &*present(coloured, false, Family::Gcc),
            b"t.c:3:9: warning: x [-Wunused]\n"
        );
        assert_eq!(&*present(coloured, true, Family::Gcc), &coloured[..]);
        let other = b"a \x1b[2J b \x1b";
        assert_eq!(&*present(other, false, Family::Gcc), &other[..]);
        // A source's own escape codes in gcc's output, and clang's colours.
        let source = b"\x1b[01m\x1b[Kw.c:1:2:\x1b[m\x1b[K \"\x1b[1mbold\x1b[0m\"\n";
        assert_eq!(
            &*present(source, false, Family::Gcc),
            b"w.c:1:2: \"\x1b[1mbold\x1b[0m\"\n"
        );
        let clang = b"\x1b[1mw.c:1:2: \x1b[0m\x1b[0;1;35mwarning: \x1b[0mx\n";
        assert_eq!(
            &*present(clang, false, Family::Clang),
            b"w.c:1:2: warning: x\n"
        );
    }
}
