//! Coloured diagnostics, as the compiler would show them without objcache.
//!
//! gcc and clang colour their diagnostics when stderr is a terminal. On a
//! miss objcache captures stderr (to store it), so the compiler would see a
//! pipe and not colour: objcache asks gcc or clang for colours explicitly
//! (unless the call turned them off), whether the call's own stderr is a
//! terminal or not, and colour options are left out of the key. So one
//! entry serves a terminal build and a redirected one: its stderr is
//! replayed as captured where the compiler would colour, and with the colour
//! codes removed where it would not. Only the codes the compiler itself
//! writes are removed: gcc passes escape bytes of the source (a `#warning`)
//! through and ends each colour code with `ESC[K`, so for gcc only such
//! pairs are colour; clang never passes an escape byte of the source through.
//! An entry captured without colours (`-fno-diagnostics-color`) is replayed
//! as is to calls that would not colour; a call that would compiles instead.

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

/// Would the compiler, run directly by this call, colour its diagnostics?
pub fn wanted(choice: Option<ColorChoice>, family: Family) -> bool {
    match choice {
        Some(ColorChoice::Always) => true,
        Some(ColorChoice::Never) => false,
        Some(ColorChoice::Auto) | None => {
            // An empty GCC_COLORS turns gcc's colours off.
            if family == Family::Gcc && std::env::var_os("GCC_COLORS").is_some_and(|v| v.is_empty())
            {
                return false;
            }
            std::env::var_os("TERM").is_some_and(|t| t != "dumb")
                // SAFETY: isatty only inspects the descriptor.
                && unsafe { libc::isatty(libc::STDERR_FILENO) } == 1
        }
    }
}

/// The option that makes this compiler colour into a pipe, when objcache
/// must add one: the call did not choose colours itself. Only for compilers
/// recognisably gcc or clang, so no other compiler is ever handed an option
/// it may not know.
pub fn forced_option(
    a: &ArgsAnalysis,
    compiler: &Compiler,
    family: Family,
) -> Option<&'static str> {
    // clang warns that the option is unused when it only assembles, and
    // writes it into the object with `-frecord-command-line`.
    if matches!(a.color, Some(ColorChoice::Always | ColorChoice::Never))
        || a.language == Language::Asm
        || a.records_command_line
    {
        return None;
    }
    let names = [compiler.path.file_name(), compiler.real.file_name()];
    let known = names.iter().flatten().any(|n| {
        let n = n.to_string_lossy();
        n.contains("gcc") || n.contains("g++") || n.contains("clang") || n == "cc" || n == "c++"
    });
    known.then_some(match family {
        Family::Gcc => "-fdiagnostics-color=always",
        Family::Clang => "-fcolor-diagnostics",
    })
}

/// Is a compile of this call captured with colours? (Its stderr is then
/// stored as coloured.)
pub fn captured_in_colour(a: &ArgsAnalysis, compiler: &Compiler, family: Family) -> bool {
    a.color == Some(ColorChoice::Always) || forced_option(a, compiler, family).is_some()
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
