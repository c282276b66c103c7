//! `--install-symlinks DIR`: the masquerade directory. A symlink in DIR
//! for each compiler found in `PATH` (gcc, g++, cc, c++, clang, clang++, and
//! their versioned and cross names, as Debian's ccache package chooses them
//! for /usr/lib/ccache), pointing at the running objcache; with DIR first in
//! `PATH`, every compile of a build goes through the cache.
//!
//! Only compilers that exist get a link: a link to a missing compiler would
//! make configure scripts choose a compiler that cannot run. Running it
//! again after compilers were installed or removed brings the links up to
//! date; a file in DIR that is not a link to objcache (or ccache) is never
//! touched.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::compiler::running_exe;
use crate::is_tool_name;

/// The compilers masqueraded as, before a cross prefix and a version.
const BASES: &[&str] = &["gcc", "g++", "clang", "clang++"];

/// Names a compiler has only bare: `cc-12` or `x86_64-linux-gnu-cc` are
/// not what build systems call.
const BARE_ONLY: &[&str] = &["cc", "c++"];

/// Prefixes of scripts that run `gcc` themselves (`c89-gcc`): through a link
/// they would find the link again and cache twice.
const WRAPPER_PREFIXES: &[&str] = &["c89", "c99"];

/// What one run changed in DIR.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub made: Vec<String>,
    pub removed: Vec<String>,
    /// Names whose file in DIR is not objcache's link, left as they are.
    pub kept: Vec<String>,
}

/// Whether `name` is one of the compilers masqueraded as: a base, with an
/// optional cross prefix (`aarch64-linux-gnu-`) and an optional numeric
/// version (`-12`, `-4.9`); `cc` and `c++` bare only. `gcc-ar-12`,
/// `clang-format-18` and `clang-cpp` are not compilers.
pub fn is_compiler_name(name: &str) -> bool {
    if BARE_ONLY.contains(&name) {
        return true;
    }
    let unversioned = match name.rsplit_once('-') {
        Some((rest, v)) if is_version(v) => rest,
        _ => name,
    };
    BASES
        .iter()
        .any(|base| match unversioned.strip_suffix(base) {
            Some("") => true,
            Some(prefix) => prefix
                .strip_suffix('-')
                .is_some_and(|p| is_cross_prefix(p) && !WRAPPER_PREFIXES.contains(&p)),
            None => false,
        })
}

fn is_version(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_digit())
        && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn is_cross_prefix(p: &str) -> bool {
    !p.is_empty()
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether `path` leads to objcache or ccache (a link of an earlier
/// install, or of ccache's masquerade directory): such a file is not a
/// compiler, and in DIR it may be replaced.
fn leads_to_tool(path: &Path, me: Option<&Path>) -> bool {
    let named_tool = |p: &Path| {
        p.file_name()
            .is_some_and(|n| is_tool_name(&n.to_string_lossy()))
    };
    match fs::canonicalize(path) {
        Ok(real) => Some(real.as_path()) == me || named_tool(&real),
        // A dangling link: what it was meant to reach.
        Err(_) => fs::read_link(path).is_ok_and(|t| named_tool(&t)),
    }
}

/// The compiler names found as executables in the directories of
/// `path_list`, leaving out `dir` itself and anything that is objcache or
/// ccache.
pub fn compilers_in_path(path_list: &str, dir: &Path, me: Option<&Path>) -> BTreeSet<String> {
    let own = fs::canonicalize(dir).ok();
    let mut found = BTreeSet::new();
    for entry_dir in path_list.split(':').filter(|d| !d.is_empty()) {
        let entry_dir = Path::new(entry_dir);
        if own.is_some() && fs::canonicalize(entry_dir).ok() == own {
            continue;
        }
        let Ok(entries) = fs::read_dir(entry_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if found.contains(&name) || !is_compiler_name(&name) {
                continue;
            }
            let path = entry.path();
            let executable = fs::metadata(&path)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            if executable && !leads_to_tool(&path, me) && !is_script(&path) {
                found.insert(name);
            }
        }
    }
    found
}

/// Whether `path` is a script (`#!`): a compiler's wrapper, like
/// `musl-gcc` or `x86_64-linux-musl-gcc`, which runs `gcc` (or a cross
/// gcc) by its name. Linked, it would be cached with the script as the
/// compiler's identity, so a gcc upgrade would still hit its old objects;
/// unlinked, the gcc it runs comes through its own link, identity and all.
fn is_script(path: &Path) -> bool {
    let mut start = [0u8; 2];
    crate::files::open_regular_file(path)
        .and_then(|(mut f, _)| std::io::Read::read_exact(&mut f, &mut start))
        .is_ok_and(|()| &start == b"#!")
}

/// Brings the links in `dir` to `target` up to date with `wanted`: makes
/// the missing ones, replaces links to another objcache or ccache, removes
/// the links to objcache of compilers no longer found.
pub fn update(dir: &Path, target: &Path, wanted: &BTreeSet<String>) -> Result<Changes, String> {
    fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let me = Some(target);
    let mut changes = Changes::default();
    for name in wanted {
        let link = dir.join(name);
        match fs::read_link(&link) {
            Ok(t) if t == target => continue,
            Ok(_) if leads_to_tool(&link, me) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            _ => {
                changes.kept.push(name.clone());
                continue;
            }
        }
        replace_link(&link, target)?;
        changes.made.push(name.clone());
    }
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let link = entry.path();
        let ours = fs::read_link(&link).is_ok() && leads_to_tool(&link, me);
        if ours && is_compiler_name(&name) && !wanted.contains(&name) {
            fs::remove_file(&link).map_err(|e| format!("removing {}: {e}", link.display()))?;
            changes.removed.push(name);
        }
    }
    changes.removed.sort();
    Ok(changes)
}

/// Makes `link` point at `target` in one step: a new link renamed over the
/// old, so a build running meanwhile never finds the name missing.
fn replace_link(link: &Path, target: &Path) -> Result<(), String> {
    let mut temp = link.as_os_str().to_owned();
    temp.push(format!(".objcache-new.{}", std::process::id()));
    let temp = PathBuf::from(temp);
    let _ = fs::remove_file(&temp);
    symlink(target, &temp).map_err(|e| format!("creating {}: {e}", temp.display()))?;
    fs::rename(&temp, link).map_err(|e| {
        let _ = fs::remove_file(&temp);
        format!("creating {}: {e}", link.display())
    })
}

/// `--install-symlinks DIR`, for the running binary and this `PATH`.
pub fn answer(_: &mut clap::Command, dir: &str) -> Result<(), String> {
    if dir.is_empty() {
        return Err("--install-symlinks needs a directory".into());
    }
    let target = running_exe().ok_or("cannot tell where the running objcache is")?;
    let dir = Path::new(dir);
    let path_list = std::env::var("PATH").unwrap_or_default();
    let wanted = compilers_in_path(&path_list, dir, Some(&target));
    let changes = update(dir, &target, &wanted)?;
    for name in &changes.made {
        println!("{} -> {}", dir.join(name).display(), target.display());
    }
    for name in &changes.removed {
        println!("removed {} (no {name} in PATH)", dir.join(name).display());
    }
    for name in &changes.kept {
        eprintln!(
            "objcache: warning: {} exists and is not a link to objcache; left as it is",
            dir.join(name).display()
        );
    }
    if wanted.is_empty() {
        eprintln!("objcache: warning: no compiler found in PATH; no link made");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_names_are_debians() {
        for name in [
            "gcc",
            "g++",
            "cc",
            "c++",
            "clang",
            "clang++",
            "gcc-12",
            "g++-14",
            "clang-18",
            "clang++-19",
            "gcc-4.9",
            "x86_64-linux-gnu-gcc",
            "x86_64-linux-gnu-g++-12",
            "aarch64-linux-gnu-gcc-13",
            "arm-none-eabi-gcc",
            "avr-gcc",
        ] {
            assert!(is_compiler_name(name), "{name}");
        }
        for name in [
            "gcc-ar",
            "gcc-ar-12",
            "x86_64-linux-gnu-gcc-nm-12",
            "clang-format-18",
            "clang-cpp",
            "clang-tidy",
            "cc-12",
            "x86_64-linux-gnu-cc",
            "c89-gcc",
            "c99-gcc",
            "gcc-",
            "-gcc",
            "ccache",
            "objcache",
            "gcc-12a",
            "gccgo",
            "mpicc",
        ] {
            assert!(!is_compiler_name(name), "{name}");
        }
    }

    /// A stand-in for a compiler's binary (not a script).
    fn exe(path: &Path) {
        fs::write(path, "\x7fELF").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn links_follow_the_compilers_and_spare_other_files() {
        let t = tempfile::tempdir().unwrap();
        let bin = t.path().join("bin");
        let dir = t.path().join("masq");
        let me = t.path().join("objcache");
        fs::create_dir(&bin).unwrap();
        exe(&me);
        for name in ["gcc", "gcc-12", "gcc-ar-12", "clang-18"] {
            exe(&bin.join(name));
        }
        fs::write(bin.join("g++"), "not executable").unwrap();
        let wrapper = bin.join("x86_64-linux-musl-gcc");
        fs::write(
            &wrapper,
            "#!/bin/sh\nexec gcc \"$@\" -specs musl-gcc.specs\n",
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        symlink(&me, bin.join("cc")).unwrap();
        let path_list = format!("{}:{}", dir.display(), bin.display());

        let wanted = compilers_in_path(&path_list, &dir, Some(&me));
        let names: Vec<&str> = wanted.iter().map(String::as_str).collect();
        assert_eq!(names, ["clang-18", "gcc", "gcc-12"]);

        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("gcc-12"), "the user's own").unwrap();
        symlink("/old/place/objcache", dir.join("clang-18")).unwrap();
        symlink(&me, dir.join("g++-9")).unwrap();
        symlink(&me, dir.join("ccache")).unwrap();
        let changes = update(&dir, &me, &wanted).unwrap();
        assert_eq!(changes.made, ["clang-18", "gcc"]);
        assert_eq!(changes.removed, ["g++-9"]);
        assert_eq!(changes.kept, ["gcc-12"]);
        assert_eq!(fs::read_link(dir.join("gcc")).unwrap(), me);
        assert_eq!(fs::read_link(dir.join("clang-18")).unwrap(), me);
        assert_eq!(fs::read(dir.join("gcc-12")).unwrap(), b"the user's own");
        assert!(
            fs::read_link(dir.join("ccache")).is_ok(),
            "not a compiler name"
        );

        // Again: nothing to do, and DIR itself in PATH adds nothing.
        let again = compilers_in_path(&path_list, &dir, Some(&me));
        assert_eq!(again, wanted);
        let changes = update(&dir, &me, &again).unwrap();
        assert_eq!(changes.made, Vec::<String>::new());
        assert_eq!(changes.removed, Vec::<String>::new());
    }
}
