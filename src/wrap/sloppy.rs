//! The `sloppiness` values that decide whether a call is cached at all and
//! which of its arguments reach the key: `modules`, `ivfsoverlay`,
//! `clang_index_store` and `random_seed`, as ccache 4.13 defines them.
//! (`locale` is applied where the environment is hashed, the include-file
//! ones where headers are checked.)

use super::{fallback, Fallback, Session};
use crate::compiler::args::{without_options, ArgsAnalysis};
use crate::config::Sloppiness;
use crate::stats::Counter;

impl Session {
    /// Refuses what needs a sloppiness that is not set, and drops from
    /// the key the arguments a set one says do not matter (and, for
    /// `clang_index_store`, from the compile too).
    pub(super) fn apply_sloppiness(&self, a: &mut ArgsAnalysis) -> Result<(), Fallback> {
        let config = &self.config;
        if a.modules {
            // Only a `.d` names the module maps and the headers behind a
            // module, so the result must come from depend mode.
            if !(config.direct_mode && config.depend_mode && a.deps.is_some()) {
                return Err(fallback(
                    Counter::CouldNotUseModules,
                    "-fmodules needs direct mode, depend mode and a .d (-MD)",
                ));
            }
            if !config.sloppiness.has(Sloppiness::Modules) {
                return Err(fallback(
                    Counter::CouldNotUseModules,
                    "-fmodules is cached only with sloppiness = modules",
                ));
            }
        }
        let overlay = a.hash_args.iter().any(|x| x == "-ivfsoverlay");
        if overlay && !config.sloppiness.has(Sloppiness::Ivfsoverlay) {
            // The overlay file remaps what headers the compiler reads.
            return Err(fallback(
                Counter::UnsupportedCompilerOption,
                "-ivfsoverlay is cached only with sloppiness = ivfsoverlay",
            ));
        }
        let mut dropped = Vec::new();
        if overlay {
            dropped.push("-ivfsoverlay");
        }
        // Xcode names a directory with a UUID in it: as ccache, the option
        // is dropped altogether, so the compile never writes that index
        // (a hit would not) and a compiler without it does not fail.
        let index_store = config.sloppiness.has(Sloppiness::ClangIndexStore)
            && a.remove_separate_option("-index-store-path");
        if index_store {
            self.log
                .note("clang_index_store: -index-store-path and its directory dropped");
        }
        let random_seed = config.sloppiness.has(Sloppiness::RandomSeed);
        a.hash_args = without(std::mem::take(&mut a.hash_args), &dropped, random_seed);
        Ok(())
    }
}

/// `args` without each option in `dropped` (all take a separate value)
/// and its value, and, with `random_seed`, without `-frandom-seed=…`.
fn without(args: Vec<String>, dropped: &[&str], random_seed: bool) -> Vec<String> {
    without_options(args, |arg| {
        dropped.contains(&arg) || (random_seed && arg.starts_with("-frandom-seed="))
    })
}

#[cfg(test)]
mod tests {
    use crate::compiler::args::{analyse, takes_separate_value};

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn separate_values_stay_beside_their_options() {
        let a = analyse(&args(&[
            "-c",
            "t.c",
            "-index-store-path",
            "/tmp/idx",
            "-ivfsoverlay",
            "o.yaml",
            "-frandom-seed=x",
        ]))
        .unwrap();
        let at = |name: &str| a.hash_args.iter().position(|x| x == name).unwrap();
        assert_eq!(a.hash_args[at("-index-store-path") + 1], "/tmp/idx");
        assert_eq!(a.hash_args[at("-ivfsoverlay") + 1], "o.yaml");
        assert!(!a.modules);
        // `without` drops the value after each of these.
        assert!(takes_separate_value("-index-store-path"));
        assert!(takes_separate_value("-ivfsoverlay"));
        assert!(!takes_separate_value("-frandom-seed=x"));
        let kept = super::without(a.hash_args.clone(), &["-index-store-path"], true);
        assert_eq!(kept, ["-c", "-ivfsoverlay", "o.yaml"]);
        let kept = super::without(a.hash_args, &["-ivfsoverlay"], false);
        assert_eq!(
            kept,
            ["-c", "-index-store-path", "/tmp/idx", "-frandom-seed=x"]
        );
    }
}
