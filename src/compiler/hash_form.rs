//! The form of an argument that goes into the keys: the same paths under
//! base_dir that the compiler may be given relative (see `relative`) are
//! related to base_dir and the working directory instead, so that
//! relocated checkouts share keys. Which arguments name paths is the option
//! table's to say, read once per argument (`options::Token`).

use std::collections::HashMap;

use super::options::{Match, Token};
use crate::paths::{relate, BaseDirs};

/// The keys' form of each of `args` (read by the option table as
/// `tokens`) that differs from it (see `hash_form`).
pub(crate) fn hash_forms(
    args: &[String],
    tokens: &[Token],
    cwd: &str,
    base: &BaseDirs,
) -> HashMap<String, String> {
    args.iter()
        .zip(tokens)
        .filter_map(|(a, t)| Some((a.clone(), hash_form(a, t.entry(a), cwd, base)?)))
        .collect()
}

/// The form of argument `arg` (read by the option table as `entry`) that
/// goes into the keys, when it differs from `arg`: absolute paths under
/// base_dir replaced by their relation to `cwd` — an argument that is one
/// (a source, the value of an option), the path glued to an option that
/// takes one (`-I/x`, `-isysroot/x`) or to any `…=` (`-fprofile-use=/x`),
/// and OLD of a prefix map (NEW is kept).
pub(crate) fn hash_form(
    arg: &str,
    entry: Option<Match>,
    cwd: &str,
    base: &BaseDirs,
) -> Option<String> {
    let base = Some(base);
    if let Some(rel) = relate(arg, cwd, base) {
        return Some(rel.hash_form());
    }
    if !arg.starts_with('-') {
        return None;
    }
    if let Some((m, (old, new))) = entry.and_then(|m| Some((m, m.prefix_map()?))) {
        let rel = relate(old, cwd, base)?;
        return Some(format!("{}{}={new}", m.name(), rel.hash_form()));
    }
    // Only a glued path: without a next argument, `path` finds no other.
    let glued = entry.and_then(|m| Some((m.name(), m.path(None)?)));
    // `-I=/x` (in the sysroot) too, as any `…=/path`.
    let after_equals = arg
        .find('/')
        .filter(|&slash| arg[..slash].ends_with('='))
        .map(|slash| arg.split_at(slash));
    glued
        .into_iter()
        .chain(after_equals)
        .find_map(|(option, value)| {
            let rel = relate(value, cwd, base)?;
            Some(format!("{option}{}", rel.hash_form()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::options;

    fn hash_form_of(arg: &str, cwd: &str) -> String {
        let base = BaseDirs::one("/ci");
        hash_form(arg, options::lookup(arg), cwd, &base).unwrap_or_else(|| arg.to_string())
    }

    #[test]
    fn arguments_hash_alike_across_checkouts() {
        for arg in [
            "-I/ci/X/proj/include",
            "/ci/X/proj/src/a.c",
            "-fdebug-prefix-map=/ci/X/proj=.",
        ] {
            let a = hash_form_of(&arg.replace('X', "one"), "/ci/one/proj");
            let b = hash_form_of(&arg.replace('X', "two2"), "/ci/two2/proj");
            assert_eq!(a, b, "{arg}");
        }
        assert_eq!(hash_form_of("-I/usr/include", "/ci/a"), "-I/usr/include");
        assert_eq!(hash_form_of("-Werror", "/ci/a"), "-Werror");
    }

    #[test]
    fn every_path_option_hashes_alike_across_checkouts() {
        // Those the compiler is given relative, and those it is given as
        // they are (`-isysroot`, `-L`, `-B`, `-iprefix`: once in the key's
        // list only), glued; separate values are arguments of their own.
        for arg in [
            "-isysroot/ci/X/sdk",
            "-L/ci/X/lib",
            "-B/ci/X/bin",
            "-F/ci/X/fw",
            "-iframework/ci/X/fw",
            "-iprefix/ci/X/",
            "-iwithprefixbefore/ci/X/inc",
            "-include/ci/X/a.h",
            "--sysroot=/ci/X/sdk",
            "-I=/ci/X/inc",
            "-fprofile-use=/ci/X/p",
            "-fmacro-prefix-map=/ci/X=.",
            "-fprofile-prefix-map=/ci/X=.",
        ] {
            let a = hash_form_of(&arg.replace('X', "one"), "/ci/one");
            let b = hash_form_of(&arg.replace('X', "two2"), "/ci/two2");
            assert_eq!(a, b, "{arg}");
            assert_ne!(a, arg.replace('X', "one"), "{arg}");
        }
        // Not paths of their own: in the sysroot, a multilib name.
        for arg in ["-iwithsysroot/ci/a/x", "-imultilib/ci/a", "-Wp,-I/ci/a"] {
            assert_eq!(hash_form_of(arg, "/ci/a"), arg);
        }
    }
}
