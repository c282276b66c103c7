//! Direct mode and depend mode: hits served from the manifest without running
//! the preprocessor, and every way a recorded include set must stop matching
//! (edited headers, headers that would now shadow a recorded one, headers
//! newer than the call, time macros, corrupt manifests).
//!
//! Every test asserts the exact `direct_cache_*` / `preprocessed_cache_*` /
//! `cache_miss` counters after each call, and that the object (and `.d`) is
//! byte-identical to what the plain compiler writes for the same files.
//!
//! Files whose mtime or ctime is not older than the start of a call are not
//! recorded in the manifest, so every test waits `SETTLE` after its last
//! file write before a compile whose manifest entry it relies on.

mod depfiles;
mod has_include;
mod header_edits;
mod hits;
mod manifests;
mod relocated;
mod shadowing;
mod volatile;

use crate::common::direct_mode::*;
use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A miss, then a direct hit, each with the plain compiler's outputs (the
/// pauses let the files age past the too-new check).
#[track_caller]
fn miss_then_direct_hit(env: &TestEnv, u: &Compile) {
    settle();
    u.check(env);
    settle();
    u.check(env);
    expect(env, c(1, 1, 0, 1, 1), "miss then direct hit");
}

/// After `miss_then_direct_hit` and a change: this call is not a direct hit
/// (it misses) and still produces the plain compiler's outputs.
#[track_caller]
fn no_direct_hit(env: &TestEnv, u: &Compile, what: &str) {
    u.check(env);
    expect(env, c(1, 2, 0, 2, 2), what);
}

/// `files` written (and `dirs` made), a compile of `src/t.c` with `args`
/// hits directly; once `appears` is created it must not any more.
fn header_appearing_ends_direct_hit(
    files: &[(&str, &str)],
    dirs: &[&str],
    args: &[&str],
    appears: (&str, &str),
) {
    let env = TestEnv::new();
    let root = env.dir("p");
    for (path, text) in files {
        write_file(&root.join(path), text);
    }
    for d in dirs {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut a = args.to_vec();
    a.extend(["-c", "src/t.c", "-o", "t.o"]);
    let u = Compile::new(&root, "gcc", &a, "t.o");
    miss_then_direct_hit(&env, &u);
    write_file(&root.join(appears.0), appears.1);
    no_direct_hit(
        &env,
        &u,
        &format!("{} appeared: not a direct hit", appears.0),
    );
}

/// Set a file's mtime (nanosecond precise; ctime becomes "now").
fn set_mtime(path: &Path, t: std::time::SystemTime) {
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

/// Manifest files (`<cache>/<x>/<y>/<64 hex>M`) in the cache.
fn manifests(env: &TestEnv) -> Vec<PathBuf> {
    cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.len() == 65
                && name.ends_with('M')
                && name[..64].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .collect()
}

#[track_caller]
fn only_manifest(env: &TestEnv) -> PathBuf {
    let m = manifests(env);
    assert_eq!(m.len(), 1, "expected exactly one manifest, found {m:?}");
    m.into_iter().next().unwrap()
}

/// A project `<root>/src/t.c` including `x.h` (quote or angle brackets),
/// found in `inc2` behind `-Iinc1 -Iinc2`. The object goes to `<root>`.
fn shadow_project(env: &TestEnv, angle: bool, inc1_exists: bool) -> PathBuf {
    let root = env.dir("p");
    let inc = if angle { "<x.h>" } else { "\"x.h\"" };
    write_file(
        &root.join("src/t.c"),
        &format!("#include {inc}\nint direct_value(void) {{ return X_VALUE + 1; }}\nconst char *direct_name(void) {{ return X_NAME; }}\n"),
    );
    write_file(
        &root.join("inc2/x.h"),
        "#define X_VALUE 41\n#define X_NAME \"from inc2\"\n",
    );
    if inc1_exists {
        fs::create_dir_all(root.join("inc1")).unwrap();
    }
    root
}

const SHADOW_ARGS: &[&str] = &["-Iinc1", "-Iinc2", "-c", "src/t.c", "-o", "t.o"];
