//! Finding the real compiler and identifying it for the key.

mod arg_scan;
pub mod args;
pub mod color;
pub mod lang;
mod options;
pub mod pch;
pub mod profile;
pub mod relative;
mod response;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::key::KeyHasher;

/// The real compiler: the path to run, and where it really lives (symlinks
/// resolved), which is what identifies it.
#[derive(Clone, Debug)]
pub struct Compiler {
    pub path: PathBuf,
    pub real: PathBuf,
}

/// Finds the compiler `name` (a path, or a name to look up in `path_list`),
/// skipping anything that is objcache itself, so a masquerading symlink can
/// never make objcache call itself.
pub fn locate(name: &str, path_list: &str) -> Result<Compiler, String> {
    // The kernel's name for the running executable already has every
    // symlink resolved; it ends in " (deleted)" once the binary was replaced
    // (an upgrade while a build runs).
    let me = std::env::current_exe().ok().map(|p| {
        use std::os::unix::ffi::OsStrExt;
        let bytes = p.as_os_str().as_bytes();
        match bytes.strip_suffix(b" (deleted)") {
            Some(kept) => PathBuf::from(std::ffi::OsStr::from_bytes(kept)),
            None => p,
        }
    });
    let is_me = |real: &Path| -> bool {
        match &me {
            Some(me) => real == me || real.file_name() == me.file_name(),
            None => real.file_name().is_some_and(|f| f == "objcache"),
        }
    };
    let found = |path: PathBuf| {
        let real = fs::canonicalize(&path).ok();
        match real {
            Some(real) if is_me(&real) => None,
            real => Some(Compiler {
                real: real.unwrap_or_else(|| path.clone()),
                path,
            }),
        }
    };
    if name.contains('/') {
        return found(PathBuf::from(name))
            .ok_or_else(|| format!("{name} is objcache itself, not a compiler"));
    }
    for dir in path_list.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(name);
        let Ok(meta) = fs::metadata(&candidate) else {
            continue;
        };
        if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
            if let Some(c) = found(candidate) {
                return Ok(c);
            }
        }
    }
    Err(format!("could not find compiler \"{name}\" in PATH"))
}

/// Which compiler family, for the few places where gcc and clang differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Gcc,
    Clang,
}

pub fn family(compiler: &Compiler) -> Family {
    let name = compiler
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.contains("clang") || compiler.real.to_string_lossy().contains("clang") {
        Family::Clang
    } else {
        Family::Gcc
    }
}

/// Adds the compiler's identity to the key as `compiler_check` says.
/// `content` (objcache's default) hashes the binary once per install: the
/// result is remembered under the cache dir, keyed by path, size, mtime and inode.
pub fn hash_identity(
    h: &mut KeyHasher,
    located: &Compiler,
    check: &str,
    cache_dir: &Path,
) -> Result<(), String> {
    let compiler = located.path.as_path();
    let name = compiler
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    h.field("compiler-name", name.as_bytes());
    let meta = || fs::metadata(compiler).map_err(|e| format!("{}: {e}", compiler.display()));
    match check {
        "none" => {}
        "mtime" => {
            let m = meta()?;
            h.field(
                "compiler-mtime",
                format!("{} {}.{}", m.size(), m.mtime(), m.mtime_nsec()).as_bytes(),
            );
        }
        "content" | "" => {
            let digest = memoised_content_hash(&located.real, cache_dir)?;
            h.field("compiler-content", &digest);
        }
        s if s.starts_with("string:") => h.field("compiler-string", &s.as_bytes()[7..]),
        command => {
            for part in command.split(';') {
                let words: Vec<String> = part
                    .split_whitespace()
                    .map(|w| w.replace("%compiler%", &compiler.to_string_lossy()))
                    .collect();
                let Some((program, rest)) = words.split_first() else {
                    continue;
                };
                let out = Command::new(program)
                    .args(rest)
                    .env("CCACHE_DISABLE", "1")
                    .output()
                    .map_err(|e| format!("compiler_check command \"{part}\": {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "compiler_check command \"{part}\" failed: {}",
                        out.status
                    ));
                }
                h.field("compiler-check-stdout", &out.stdout);
                h.field("compiler-check-stderr", &out.stderr);
            }
        }
    }
    Ok(())
}

/// `real`: the compiler's canonical path.
fn memoised_content_hash(real: &Path, cache_dir: &Path) -> Result<[u8; 32], String> {
    let m = fs::metadata(real).map_err(|e| format!("{}: {e}", real.display()))?;
    let id = format!(
        "{}\0{}\0{}.{}\0{}\0{}",
        real.display(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ino(),
        m.dev()
    );
    let memo = cache_dir
        .join("compilers")
        .join(blake3::hash(id.as_bytes()).to_hex().as_str());
    if let Ok(stored) = fs::read(&memo) {
        if let Ok(digest) = <[u8; 32]>::try_from(stored.as_slice()) {
            return Ok(digest);
        }
    }
    let digest =
        crate::key::hash_file_content(real).map_err(|e| format!("{}: {e}", real.display()))?;
    // Best effort: a read-only cache just hashes again next time.
    if fs::create_dir_all(memo.parent().unwrap()).is_ok() {
        let _ = crate::files::atomic_write(&memo, &digest);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_gcc_in_path() {
        let c = locate("gcc", "/nonexistent:/usr/bin").unwrap();
        assert_eq!(c.path, PathBuf::from("/usr/bin/gcc"));
        assert_eq!(c.real, fs::canonicalize("/usr/bin/gcc").unwrap());
        assert!(locate("no-such-compiler-xyz", "/usr/bin").is_err());
    }

    #[test]
    fn content_hash_is_memoised() {
        let dir = tempfile::tempdir().unwrap();
        let run = || {
            let mut h = KeyHasher::new(false);
            let gcc = locate("/usr/bin/gcc", "").unwrap();
            hash_identity(&mut h, &gcc, "content", dir.path()).unwrap();
            h.finish().0
        };
        let first = run();
        assert_eq!(
            fs::read_dir(dir.path().join("compilers")).unwrap().count(),
            1
        );
        assert_eq!(run(), first);
    }
}
