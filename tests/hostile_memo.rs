//! The inode memo (`<cache_dir>/inode-memo`) attacked: files that keep
//! their identity while what a compile would read changes, a memo from
//! another boot or machine, hostile or broken memo files, and many
//! compiles writing it at once. Every object must be the compiler's.

use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

const V111: &str = "#define VAL 111\n";
const V222: &str = "#define VAL 222\n";
const MAIN: &str = "#include <sub/x.h>\nint val(void) { return VAL; }\n";
const ARGS: [&str; 7] = ["gcc", "-Iinc1", "-Iinc2", "-c", "main.c", "-o", "main.o"];

/// A checkout whose `main.c` includes `<sub/x.h>`, found in `inc2`; `inc1`,
/// searched first, has no `sub`.
fn write_checkout(dir: &Path) {
    write_file(&dir.join("main.c"), MAIN);
    write_file(&dir.join("inc2/sub/x.h"), V111);
    write_file(&dir.join("inc1/other.h"), "\n");
}

/// The object the compiler makes in `dir` now.
fn plain_main(dir: &Path) -> Vec<u8> {
    plain_object("gcc", dir, &ARGS[1..], "main.o")
}

/// Compiles `main.c` in `dir` through objcache (base_dir the env's root,
/// hash_dir off: checkouts elsewhere share the manifest); the object.
fn cached_main(env: &TestEnv, dir: &Path, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut cmd = env.objcache_in(dir, ARGS);
    cmd.env("CCACHE_BASEDIR", env.root())
        .env("CCACHE_NOHASHDIR", "1");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = run_with_timeout(&mut cmd, std::time::Duration::from_secs(60));
    assert!(out.success(), "{}", out.dump());
    read(&dir.join("main.o"))
}

fn fresh_copy(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// A probe directory's "none of these names here" holds by its identity
/// only for names whose first component is absent: a header created in an
/// existing subdirectory (`inc1/sub/x.h`) or through `..` changes the
/// stamps of that subdirectory, not of the probe directory. Before, the
/// memo remembered `inc1` as holding no `sub/x.h` though `inc1/sub`
/// existed, and the header created there later was not compiled.
#[test]
fn a_header_created_in_a_subdirectory_of_a_probed_dir_is_compiled() {
    require("gcc");
    let env = TestEnv::new();
    let a = env.root().join("co/a");
    write_checkout(&a);
    settle_stamps();
    let o111 = plain_main(&a);
    assert_bytes_eq(&cached_main(&env, &a, &[]), &o111, "the first build");
    let b = env.root().join("co/b");
    fresh_copy(&a, &b);
    fs::create_dir(b.join("inc1/sub")).unwrap();
    settle_stamps();
    for round in ["learned", "recalled"] {
        let hits = env.stat("direct_cache_hit");
        assert_bytes_eq(&cached_main(&env, &b, &[]), &o111, round);
        assert_eq!(env.stat("direct_cache_hit"), hits + 1, "{round}: a hit");
    }
    write_file(&b.join("inc1/sub/x.h"), V222);
    let o222 = plain_main(&b);
    assert_ne!(o111, o222);
    assert_bytes_eq(&cached_main(&env, &b, &[]), &o222, "the shadowing header");
}
