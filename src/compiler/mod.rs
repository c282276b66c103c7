//! Finding the real compiler and identifying it for the key.

mod arg_files;
mod arg_scan;
pub mod args;
pub mod color;
mod hash_form;
mod kind;
pub mod lang;
mod options;
mod path_map;
pub mod pch;
pub mod profile;
pub mod relative;
mod response;

/// Variables naming directories the preprocessor searches besides those of
/// the options: they change which headers it finds (so they are in the
/// manifest key), and headers found through them appear by the paths the
/// variables spell (a relative one names its headers relative in a `.d`).
pub const INCLUDE_PATH_VARS: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "OBJCPLUS_INCLUDE_PATH",
];

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::key::{DigestMemo, KeyHasher, MemoKind};

pub use crate::config::CompilerType;

/// The real compiler: the path to run, and where it really lives (symlinks
/// resolved), which is what identifies it.
#[derive(Clone, Debug)]
pub struct Compiler {
    pub path: PathBuf,
    pub real: PathBuf,
    /// Guessed from the name; `compiler_type` overrides it.
    pub kind: CompilerType,
}

/// Finds the compiler `name` (a path, or a name to look up in `path_list`),
/// skipping anything that is objcache itself, so a masquerading symlink can
/// never make objcache call itself. ccache (a link of `/usr/lib/ccache`
/// further along `PATH`) is skipped too: run with `CCACHE_DISABLE`, it
/// runs the first compiler of its name in `PATH`, which is objcache's link
/// again, an endless loop of execs; and its binary would stand in the key
/// for the compiler's, so a compiler upgrade would still hit.
pub fn locate(name: &str, path_list: &str) -> Result<Compiler, String> {
    find(name, path_list, true)
}

/// Finds the program `name` as [`locate`] does, skipping objcache itself
/// only: a `prefix_command` may be any program, ccache too.
pub fn locate_program(name: &str, path_list: &str) -> Result<PathBuf, String> {
    find(name, path_list, false).map(|c| c.path)
}

fn find(name: &str, path_list: &str, skip_tools: bool) -> Result<Compiler, String> {
    let me = running_exe();
    let is_me = |real: &Path| -> bool {
        let tool = skip_tools
            && real
                .file_name()
                .is_some_and(|f| crate::is_tool_name(&f.to_string_lossy()));
        tool || match &me {
            Some(me) => real == me || real.file_name() == me.file_name(),
            None => real.file_name().is_some_and(|f| f == "objcache"),
        }
    };
    let found = |path: PathBuf| {
        let real = fs::canonicalize(&path).ok();
        match real {
            Some(real) if is_me(&real) => None,
            real => Some(Compiler {
                kind: kind::guess(&path, real.as_deref()),
                real: real.unwrap_or_else(|| path.clone()),
                path,
            }),
        }
    };
    if name.contains('/') {
        return found(PathBuf::from(name))
            .ok_or_else(|| format!("{name} is objcache or ccache, not a compiler"));
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

/// The running executable, every symlink resolved (the kernel's name for
/// it), without the " (deleted)" it ends in once the binary was replaced
/// (an upgrade while a build runs).
pub fn running_exe() -> Option<PathBuf> {
    std::env::current_exe().ok().map(|p| {
        use std::os::unix::ffi::OsStrExt;
        let bytes = p.as_os_str().as_bytes();
        match bytes.strip_suffix(b" (deleted)") {
            Some(kept) => PathBuf::from(std::ffi::OsStr::from_bytes(kept)),
            None => p,
        }
    })
}

/// Which compiler family, for the few places where gcc and clang differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Gcc,
    Clang,
}

/// From the compiler type; a compiler of type `other` (a name that says
/// nothing, like a wrapper script) is clang when its real path says so.
pub fn family(compiler: &Compiler) -> Family {
    match compiler.kind {
        CompilerType::Clang | CompilerType::ClangCl | CompilerType::Icx => return Family::Clang,
        CompilerType::Other => {}
        _ => return Family::Gcc,
    }
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
/// `content` (objcache's default) hashes the binary once per install, and a
/// command runs once per install: the result is remembered in `memo` (the
/// storage's `compilers/`), keyed by path, size, mtime, ctime and inode
/// (and the command's text), once the binary's ctime is settled at
/// `coarse_start_ns` (the call's start by the coarse clock): a binary
/// rewritten within one timestamp tick would otherwise keep its identity.
pub fn hash_identity(
    h: &mut KeyHasher,
    located: &Compiler,
    check: &str,
    memo: &dyn DigestMemo,
    coarse_start_ns: i64,
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
            let digest = memoised_content_hash(located, memo, coarse_start_ns)?;
            h.field("compiler-content", &digest);
        }
        s if s.starts_with("string:") => h.field("compiler-string", &s.as_bytes()[7..]),
        command => {
            let which = IdentityMemo {
                what: &format!("commands:{command}"),
                memo,
                coarse_start_ns,
            };
            let digest = memoised(located, which, || run_check_command(command, compiler))?;
            h.field("compiler-check-output", &digest);
        }
    }
    Ok(())
}

/// The `;`-separated commands of a `compiler_check`, each run with
/// `%compiler%` replaced: the digest of what they print, as one script
/// printing it would (ccache's rule: `echo a; echo b` is a script that
/// prints both lines). Standard output and standard error stay apart.
fn run_check_command(command: &str, compiler: &Path) -> Result<[u8; 32], String> {
    let (mut stdout, mut stderr) = (blake3::Hasher::new(), blake3::Hasher::new());
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
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("compiler_check command \"{part}\": {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "compiler_check command \"{part}\" failed: {}",
                out.status
            ));
        }
        stdout.update(&out.stdout);
        stderr.update(&out.stderr);
    }
    let mut h = blake3::Hasher::new();
    h.update(stdout.finalize().as_bytes());
    h.update(stderr.finalize().as_bytes());
    Ok(*h.finalize().as_bytes())
}

/// The compiler's content digest (hashing it once per install).
fn memoised_content_hash(
    located: &Compiler,
    memo: &dyn DigestMemo,
    coarse_start_ns: i64,
) -> Result<[u8; 32], String> {
    let real = &located.real;
    let which = IdentityMemo {
        what: "content",
        memo,
        coarse_start_ns,
    };
    memoised(located, which, || {
        crate::key::hash_file_content(real).map_err(|e| format!("{}: {e}", real.display()))
    })
}

/// Which memo of a compiler: `what` it says (the content, or a check
/// command's output), kept in `memo`.
struct IdentityMemo<'a> {
    what: &'a str,
    memo: &'a dyn DigestMemo,
    coarse_start_ns: i64,
}

/// What `compute` says about the compiler for `which.what`, remembered in
/// the memo by the compiler's path, size, mtime, ctime and inode: a
/// new install computes it again. Only once the ctime is settled: a rewrite
/// within its tick would keep it. The kernel sets the ctime on every
/// change, so a settled ctime is enough, and an install's mtime in the
/// future (`install -p` from a skewed clock) does not stop the memo.
fn memoised(
    located: &Compiler,
    which: IdentityMemo,
    compute: impl FnOnce() -> Result<[u8; 32], String>,
) -> Result<[u8; 32], String> {
    let real = &located.real;
    let m = fs::metadata(real).map_err(|e| format!("{}: {e}", real.display()))?;
    let mtime_ns = crate::clock::file_time_ns(m.mtime(), m.mtime_nsec());
    let ctime_ns = crate::clock::file_time_ns(m.ctime(), m.ctime_nsec());
    let mut id = format!(
        "{}\0{}\0{mtime_ns}\0{ctime_ns}\0{}\0{}",
        real.display(),
        m.size(),
        m.ino(),
        m.dev()
    );
    if which.what != "content" {
        // The memo of a command also depends on the path it is given.
        id = format!("{}\0{}\0{id}", which.what, located.path.display());
    }
    // Anything unreadable or of another length is replaced below.
    if let Some(stored) = which.memo.recall(MemoKind::Compiler, id.as_bytes()) {
        if let Ok(digest) = <[u8; 32]>::try_from(stored.as_slice()) {
            return Ok(digest);
        }
    }
    let digest = compute()?;
    if !crate::clock::stamp_settled(ctime_ns, which.coarse_start_ns) {
        return Ok(digest);
    }
    which
        .memo
        .remember(MemoKind::Compiler, id.as_bytes(), &digest);
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
            let start = crate::clock::coarse_now_ns();
            let memo = crate::disk::LocalStore::new(dir.path());
            hash_identity(&mut h, &gcc, "content", &memo, start).unwrap();
            h.finish().0
        };
        let first = run();
        assert_eq!(
            fs::read_dir(dir.path().join("compilers")).unwrap().count(),
            1
        );
        assert_eq!(run(), first);
    }

    #[test]
    fn a_compiler_written_in_the_starts_tick_is_not_memoised() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let cc = dir.path().join("cc");
        fs::write(&cc, b"one").unwrap();
        let located = Compiler {
            path: cc.clone(),
            real: cc.clone(),
            kind: CompilerType::Gcc,
        };
        let cache = dir.path().join("cache");
        let m = fs::metadata(&cc).unwrap();
        let ctime = crate::clock::file_time_ns(m.ctime(), m.ctime_nsec());
        let digest = |start| {
            let mut h = KeyHasher::new(false);
            let memo = crate::disk::LocalStore::new(&cache);
            hash_identity(&mut h, &located, "content", &memo, start).unwrap();
            h.finish().0
        };
        let first = digest(ctime);
        assert!(
            !cache.join("compilers").exists(),
            "memoised within its tick"
        );
        // Rewritten in place within that tick: same size, inode and mtime.
        fs::write(&cc, b"two").unwrap();
        fs::File::options()
            .write(true)
            .open(&cc)
            .unwrap()
            .set_modified(m.modified().unwrap())
            .unwrap();
        assert_ne!(digest(ctime), first, "the old binary's digest");
        assert_eq!(
            fs::read_dir(cache.join("compilers")).map_or(0, |d| d.count()),
            0
        );
        digest(ctime + 3_000_000_000);
        assert_eq!(fs::read_dir(cache.join("compilers")).unwrap().count(), 1);
    }
}
