//! `compiler_type`: which kind of compiler a call runs, given or guessed
//! from the compiler's name as ccache guesses it.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::CompilerType;

/// By the file name (lowercased) alone.
fn by_name(path: &Path) -> CompilerType {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.contains("clang-cl") {
        CompilerType::ClangCl
    } else if name.contains("clang") {
        CompilerType::Clang
    } else if name.contains("gcc") || name.contains("g++") {
        CompilerType::Gcc
    } else if name.contains("nvcc") {
        CompilerType::Nvcc
    } else {
        match name.as_str() {
            "icl" => CompilerType::Icl,
            "icx" => CompilerType::Icx,
            "icx-cl" => CompilerType::IcxCl,
            "cl" => CompilerType::Msvc,
            _ => CompilerType::Other,
        }
    }
}

/// ccache's guess: the name; when that says nothing, the name at the end
/// of its symlinks, and for `cc`/`c++` the name of a compiler in the same
/// directory that is the same file (a hard link). One step further than
/// ccache: a `gcc` that is a symlink to clang is clang, as it behaves.
///
/// `real`: the compiler's real path, when it is known: its name is the
/// name at the end of the symlinks, which are then not read again.
pub fn guess(path: &Path, real: Option<&Path>) -> CompilerType {
    let end_name = || match real {
        Some(real) => by_name(real),
        None => by_name(&follow_symlinks(path)),
    };
    match by_name(path) {
        CompilerType::Other => by_name(&same_file_by_name(&follow_symlinks(path))),
        CompilerType::Gcc if end_name() == CompilerType::Clang => CompilerType::Clang,
        known => known,
    }
}

fn follow_symlinks(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    // A bound, for a symlink loop.
    for _ in 0..40 {
        let Ok(target) = fs::read_link(&p) else {
            break;
        };
        p = match p.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    p
}

fn same_file_by_name(path: &Path) -> PathBuf {
    let is_generic = path.file_name().is_some_and(|n| n == "cc" || n == "c++");
    let (Some(dir), Ok(meta)) = (path.parent(), fs::metadata(path)) else {
        return path.to_path_buf();
    };
    if is_generic {
        for name in ["clang", "clang++", "gcc", "g++"] {
            let candidate = dir.join(name);
            if fs::metadata(&candidate)
                .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
            {
                return candidate;
            }
        }
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_ccache_reads_them() {
        for (name, t) in [
            ("/usr/bin/clang-cl", CompilerType::ClangCl),
            ("clang++-18", CompilerType::Clang),
            ("x86_64-linux-gnu-g++-13", CompilerType::Gcc),
            ("GCC", CompilerType::Gcc),
            ("nvcc", CompilerType::Nvcc),
            ("icx", CompilerType::Icx),
            ("icx-cl", CompilerType::IcxCl),
            ("cl", CompilerType::Msvc),
            ("mycc", CompilerType::Other),
        ] {
            assert_eq!(by_name(Path::new(name)), t, "{name}");
        }
    }

    #[test]
    fn symlinks_are_followed_when_the_name_says_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("clang-17");
        fs::write(&real, "").unwrap();
        std::os::unix::fs::symlink("clang-17", dir.path().join("mid")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("mid"), dir.path().join("cc")).unwrap();
        assert_eq!(guess(&dir.path().join("cc"), None), CompilerType::Clang);
        // A name that says something wins over the link's target, but a
        // gcc that is really clang is clang.
        std::os::unix::fs::symlink("clang-17", dir.path().join("nvcc")).unwrap();
        assert_eq!(guess(&dir.path().join("nvcc"), None), CompilerType::Nvcc);
        std::os::unix::fs::symlink("clang-17", dir.path().join("gcc")).unwrap();
        assert_eq!(guess(&dir.path().join("gcc"), None), CompilerType::Clang);
        let hard = dir.path().join("g++");
        fs::write(&hard, "").unwrap();
        fs::hard_link(&hard, dir.path().join("c++")).unwrap();
        assert_eq!(guess(&dir.path().join("c++"), None), CompilerType::Gcc);
        // With the real path known, the links are not read again, and the
        // guess is the same, through a symlinked directory too.
        std::os::unix::fs::symlink(dir.path(), dir.path().join("bin")).unwrap();
        for name in ["cc", "nvcc", "gcc", "c++", "bin/gcc", "bin/c++", "bin/mid"] {
            let path = dir.path().join(name);
            let real = fs::canonicalize(&path).unwrap();
            assert_eq!(guess(&path, Some(&real)), guess(&path, None), "{name}");
        }
    }
}
