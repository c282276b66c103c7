//! What besides files decides a compile's output: how the compiler shows
//! its diagnostics (colours, a recorded command line), the environment it
//! runs in, the machine's CPU for `-march=native`.

use super::{unkeyable, Recipe, Unkeyable};
use crate::config::Sloppiness;
use crate::key::KeyHasher;
use crate::stats::Counter;

impl Recipe<'_> {
    /// What colour options decide. The stored diagnostics serve every
    /// colour choice, so colour options are not keyed (see
    /// `compiler::color`); where the choices cannot share an entry, the key
    /// says whether the diagnostics are captured in colour. An object that
    /// records the command line depends on every argument as the compiler
    /// gets it, colour options and order included.
    pub(super) fn hash_diagnostics_and_command_line(&self, h: &mut KeyHasher) {
        let a = self.analysis;
        let family = crate::compiler::family(self.compiler);
        if a.object_records_command_line(family) {
            for arg in &a.compiler_args {
                h.field("recorded-arg", arg.as_bytes());
            }
        }
        let ignored = &self.config.ignore_options;
        let escape = self.source_facts.is_some_and(|f| f.escape_byte);
        let capture = crate::compiler::color::capture(a, self.compiler, family, escape, ignored);
        if let Some(coloured) = capture.key_field() {
            let value: &[u8] = if coloured { b"coloured" } else { b"plain" };
            h.field("diagnostics", value);
        }
        // gcc's colours as GCC_COLORS sets them (empty: none at all) are
        // in the stored diagnostics, which serve every colour choice.
        if family == crate::compiler::Family::Gcc {
            if let Some(colors) = std::env::var_os("GCC_COLORS") {
                h.field("GCC_COLORS", colors.as_encoded_bytes());
            }
        }
    }

    /// clang's driver edits its arguments as `CCC_OVERRIDE_OPTIONS` says
    /// (adding, removing or replacing any of them): the analysis would not
    /// know what the compiler writes (a `.d`, a `.dwo`, a recorded command
    /// line that names objcache's colour option). gcc ignores the variable,
    /// but a compiler's family is only guessed from its name.
    pub(super) fn refuse_rewritten_arguments(&self) -> Result<(), Unkeyable> {
        match std::env::var_os("CCC_OVERRIDE_OPTIONS") {
            Some(edits) if !edits.is_empty() => Err(unkeyable(
                Counter::UnsupportedEnvironmentVariable,
                "CCC_OVERRIDE_OPTIONS is set: clang edits the arguments as it says",
            )),
            _ => Ok(()),
        }
    }

    /// The language of diagnostics, which are replayed on a hit, and
    /// variables that change what the compiler driver does.
    pub(super) fn hash_environment(&self, h: &mut KeyHasher) {
        // `sloppiness = locale`: diagnostics in another language may be replayed.
        let locale: &[&str] = if self.config.sloppiness.has(Sloppiness::Locale) {
            &[]
        } else {
            &["LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES"]
        };
        for var in locale.iter().chain(&[
            "CCC_OVERRIDE_OPTIONS",
            "COMPILER_PATH",
            "GCC_EXEC_PREFIX",
            "GCC_COMPARE_DEBUG",
        ]) {
            let value = std::env::var_os(var).unwrap_or_default();
            h.field(var, value.as_encoded_bytes());
        }
    }
}

/// What `-march=native` resolves to on this machine.
pub(super) fn cpu_identity() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| {
            [
                "vendor_id",
                "cpu family",
                "model",
                "model name",
                "flags",
                "Features",
                "CPU part",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
