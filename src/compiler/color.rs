//! Coloured diagnostics, as the compiler would show them without objcache.
//!
//! gcc and clang colour their diagnostics when stderr is a terminal. On a
//! miss objcache captures stderr (to store it), so the compiler would see a
//! pipe and not colour: when the call's own stderr is a terminal, objcache
//! asks for colours explicitly. Colour options are left out of the key, so a
//! terminal build and a redirected one share entries. A stderr captured in
//! colour is stored as such and replayed as is where the compiler would
//! colour, and with the colour codes removed where it would not (a
//! redirected call, or `-fno-diagnostics-color`); one captured without
//! colour is replayed as is, except to a call that wants colours and could
//! get them, which compiles instead (and stores the coloured stderr). With stderr redirected and no colour option
//! (CI), nothing is added to the command at all.

use std::borrow::Cow;

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
/// must add one: it would colour, but not by itself on a pipe. Only for
/// compilers recognisably gcc or clang, so no other compiler is ever handed
/// an option it may not know.
pub fn forced_option(
    choice: Option<ColorChoice>,
    compiler: &Compiler,
    family: Family,
    language: Language,
) -> Option<&'static str> {
    // clang warns that the option is unused when it only assembles.
    if choice == Some(ColorChoice::Always) || language == Language::Asm || !wanted(choice, family) {
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
pub fn captured_in_colour(
    choice: Option<ColorChoice>,
    compiler: &Compiler,
    family: Family,
    language: Language,
) -> bool {
    choice == Some(ColorChoice::Always)
        || forced_option(choice, compiler, family, language).is_some()
}

/// `stderr` as this call shows it: colour codes (`ESC [ … m`, `ESC [ K`)
/// removed unless `keep`. Only for stderr captured in colour: any other
/// escape bytes are the compiler's own (a `#warning` can print them).
pub fn present(stderr: &[u8], keep: bool) -> Cow<'_, [u8]> {
    if keep || !stderr.contains(&0x1b) {
        return Cow::Borrowed(stderr);
    }
    let mut out = Vec::with_capacity(stderr.len());
    let mut i = 0;
    while i < stderr.len() {
        if stderr[i] == 0x1b && stderr.get(i + 1) == Some(&b'[') {
            let params = stderr[i + 2..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || **c == b';')
                .count();
            if let Some(b'm' | b'K') = stderr.get(i + 2 + params) {
                i += 3 + params;
                continue;
            }
        }
        out.push(stderr[i]);
        i += 1;
    }
    Cow::Owned(out)
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
            &*present(coloured, false),
            b"t.c:3:9: warning: x [-Wunused]\n"
        );
        assert_eq!(&*present(coloured, true), &coloured[..]);
        let other = b"a \x1b[2J b \x1b";
        assert_eq!(&*present(other, false), &other[..]);
    }
}
