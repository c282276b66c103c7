//! The form of an argument that goes into the keys: the same paths under
//! base_dir that the compiler may be given relative (see `relative`) are
//! related to base_dir and the working directory instead, so that
//! relocated checkouts share keys. Which arguments name paths is the option
//! table's to say, read once per argument (`options::Token`).

use std::collections::HashMap;

use super::options::{Match, Token, INCLUDE_DIR};
use crate::paths::{relate, strip_dir, without_trailing_slashes, BaseDirs, WorkingDir};

/// The keys' form of each of `args` (read by the option table as
/// `tokens`) that differs from it (see `hash_form`).
pub(crate) fn hash_forms(
    args: &[String],
    tokens: &[Token],
    cwd: &str,
    base: &BaseDirs,
    recorded: bool,
) -> HashMap<String, String> {
    args.iter()
        .zip(tokens)
        .filter_map(|(a, t)| {
            let form = hash_form(a, t.entry(a), cwd, base, recorded)?;
            Some((a.clone(), form))
        })
        .collect()
}

/// The form of argument `arg` (read by the option table as `entry`) that
/// goes into the keys, when it differs from `arg`: absolute paths under
/// base_dir replaced by their relation to `cwd` — an argument that is one
/// (a source, the value of an option), the path glued to an option that
/// takes one (`-I/x`, `-isysroot/x`) or to any `…=` (`-fprofile-use=/x`),
/// and OLD of a prefix map (NEW is kept).
///
/// `recorded`: the object records the options as spelled (gcc's debug
/// information lists the `-f` and `-m` options it was given, clang's
/// `-frecord-command-line` all of them), so a path glued to such an option
/// is hashed as spelled: related, two checkouts' objects would share a key
/// and differ. (A path the compiler is given relative is the same in both.)
pub(crate) fn hash_form(
    arg: &str,
    entry: Option<Match>,
    cwd: &str,
    base: &BaseDirs,
    recorded: bool,
) -> Option<String> {
    let based = Some(base);
    if let Some(rel) = relate(arg, cwd, based) {
        return Some(rel.hash_form_under(base, arg));
    }
    if !arg.starts_with('-') {
        return None;
    }
    if let Some((m, (old, new))) = entry.and_then(|m| Some((m, m.prefix_map()?))) {
        // No output names OLD: it is what they name NEW instead of.
        let rel = relate(old, cwd, based)?;
        return Some(format!("{}{}={new}", m.name(), rel.hash_form()));
    }
    // Only a glued path of an option the table says takes one: without a
    // next argument, `path` finds no other. Any other `…=/path` is hashed
    // as spelled: a `-D` value under base_dir may end up in the object
    // (a string), so two checkouts must not share its key.
    let m = entry?;
    let (option, value) = (m.name(), m.path(None)?);
    if recorded && (option.starts_with("-f") || option.starts_with("-m")) {
        return None;
    }
    // `-I=/x`: in the sysroot, which is `/` unless one is given.
    let (sysroot, value) = match value.strip_prefix('=') {
        Some(rest) if m.has(INCLUDE_DIR) => ("=", rest),
        _ => ("", value),
    };
    let rel = relate(value, cwd, based)?;
    let form = rel.hash_form_under(base, value);
    Some(format!("{option}{sysroot}{form}"))
}

/// The keys' form of prefix maps whose OLD is the working directory or a
/// directory below it (`-fdebug-prefix-map=$PWD=.`, the recipe of ccache's
/// manual for sharing debug builds between directories), when base_dir
/// does not relate them already (`forms`): OLD as its place below the
/// working directory, so the same build in another directory shares keys,
/// as in ccache. Adds the forms to `forms` and returns those OLDs.
///
/// The object is then the same in both directories only if no path the
/// compile names by absolute spelling lies under OLD in one and not in the
/// other: so not when an argument or an include path variable names one
/// (they are hashed as spelled); headers found there otherwise are checked
/// by the keys (see `hash::recipe`).
pub(crate) fn cwd_prefix_maps(
    args: &[String],
    tokens: &[Token],
    dirs: &WorkingDir,
    forms: &mut HashMap<String, String>,
) -> Vec<String> {
    let mut related = Vec::new();
    for (arg, token) in args.iter().zip(tokens) {
        let Some((m, (old, new))) = token.entry(arg).and_then(|m| Some((m, m.prefix_map()?)))
        else {
            continue;
        };
        let given = old;
        let old = without_trailing_slashes(old);
        let rest = [&dirs.apparent, &dirs.physical]
            .into_iter()
            .find_map(|cwd| {
                let cwd = cwd.as_str();
                if old == cwd {
                    Some("")
                } else {
                    strip_dir(old, cwd).map(|_| &old[cwd.len()..])
                }
            });
        let Some(rest) = rest.filter(|_| !forms.contains_key(arg)) else {
            continue;
        };
        if names_path_under(args, tokens, old) {
            continue;
        }
        // The compilers compare OLD byte for byte: with a trailing `/` it
        // does not map the working directory itself, so it is kept.
        let slashes = &given[old.len()..];
        forms.insert(arg.clone(), format!("{}0|{rest}{slashes}={new}", m.name()));
        related.push(old.to_string());
    }
    related
}

/// Does an argument other than a prefix map, or an include path variable,
/// name `dir` or a path under it?
fn names_path_under(args: &[String], tokens: &[Token], dir: &str) -> bool {
    let under = |text: &str| {
        text.match_indices(dir).any(|(at, _)| {
            let after = &text[at + dir.len()..];
            after.is_empty() || after.starts_with('/') || after.starts_with(':')
        })
    };
    let in_args = args.iter().zip(tokens).any(|(arg, token)| {
        let is_map = token.entry(arg).is_some_and(|m| m.prefix_map().is_some());
        !is_map && under(arg)
    });
    in_args
        || super::INCLUDE_PATH_VARS
            .iter()
            .any(|var| std::env::var_os(var).is_some_and(|v| under(&v.to_string_lossy())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::options;

    fn hash_form_of(arg: &str, cwd: &str) -> String {
        let base = BaseDirs::one("/ci");
        hash_form(arg, options::lookup(arg), cwd, &base, false).unwrap_or_else(|| arg.to_string())
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
    fn prefix_maps_of_the_working_directory_hash_alike_without_base_dir() {
        let form = |args: &[&str], cwd: &str| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let dirs = WorkingDir {
                apparent: cwd.to_string(),
                physical: cwd.to_string(),
            };
            let mut forms = HashMap::new();
            let related = cwd_prefix_maps(&args, &options::tokens(&args), &dirs, &mut forms);
            let hashed: Vec<String> = args
                .iter()
                .map(|a| forms.get(a).unwrap_or(a).clone())
                .collect();
            (hashed, related)
        };
        let map = |cwd: &str| format!("-fdebug-prefix-map={cwd}=.");
        let sub = |cwd: &str| format!("-ffile-prefix-map={cwd}/src/=src");
        let (a, ra) = form(
            &["-g", &map("/w/one"), &sub("/w/one"), "-c", "x.c"],
            "/w/one",
        );
        let (b, _) = form(
            &["-g", &map("/x/two"), &sub("/x/two"), "-c", "x.c"],
            "/x/two",
        );
        assert_eq!(a, b);
        assert_eq!(ra, ["/w/one", "/w/one/src"]);
        // Not the working directory's maps, nor when another argument names
        // a path under OLD: that path is hashed as spelled.
        let (a, _) = form(&[&map("/w/other")], "/w/one");
        assert_eq!(a, [map("/w/other")]);
        let (a, ra) = form(&[&map("/w/one"), "-I/w/one/inc"], "/w/one");
        assert_eq!((a[0].as_str(), ra.len()), (map("/w/one").as_str(), 0));
        let (a, _) = form(&[&map("/w/one"), "-I/w/one2"], "/w/one");
        assert_ne!(a[0], map("/w/one"));
        // OLD with a trailing `/` maps what is below the directory, not the
        // directory itself: not the same map.
        let (a, _) = form(&["-fdebug-prefix-map=/w/one/=."], "/w/one");
        assert_ne!(a, form(&[&map("/w/one")], "/w/one").0);
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
        // A `-D` value may be a string in the object; an option the table
        // does not know may record its value anywhere.
        for arg in [
            "-iwithsysroot/ci/a/x",
            "-imultilib/ci/a",
            "-Wp,-I/ci/a",
            "-DDATA=/ci/a/data",
            "-Wp,-DDATA=/ci/a/data",
            "-fnot-an-option=/ci/a/x",
        ] {
            assert_eq!(hash_form_of(arg, "/ci/a"), arg);
        }
    }

    #[test]
    fn options_the_object_records_keep_their_paths() {
        let base = BaseDirs::one("/ci");
        let form = |arg: &str| hash_form(arg, options::lookup(arg), "/ci/a", &base, true);
        assert_eq!(form("-fprofile-use=/ci/a/pd"), None);
        assert_eq!(form("-fplugin=/ci/a/p.so"), None);
        // Not recorded: include paths, the sysroot, prefix maps, the source.
        for arg in [
            "-I/ci/a/inc",
            "--sysroot=/ci/a/s",
            "-fdebug-prefix-map=/ci/a=.",
            "/ci/a/x.c",
        ] {
            assert!(form(arg).is_some(), "{arg}");
        }
    }
}
