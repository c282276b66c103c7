//! `-gsplit-dwarf`: the `.dwo` beside the object is cached with it, and the
//! object (which names its `.dwo`) is keyed by the output's name.

use crate::common::*;
use std::fs;
use std::path::Path;

/// The object and `.dwo` the plain compiler writes, removed afterwards.
fn plain_pair(compiler: &str, proj: &Path, a: &[&str], obj: &str, dwo: &str) -> (Vec<u8>, Vec<u8>) {
    let out = plain(compiler, proj, a);
    assert!(out.success(), "{}", out.dump());
    let pair = (read(&proj.join(obj)), read(&proj.join(dwo)));
    rm(&proj.join(obj));
    rm(&proj.join(dwo));
    pair
}

fn miss_then_hit(compiler: &str) {
    require(compiler);
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    fs::create_dir(proj.join("out")).unwrap();
    let a = [
        "-g",
        "-gsplit-dwarf",
        "-O1",
        "-Iinclude",
        "-c",
        "src/main.c",
        "-o",
        "out/main.o",
    ];
    let (obj, dwo) = plain_pair(compiler, &proj, &a, "out/main.o", "out/main.dwo");
    assert!(!dwo.is_empty());
    let mut call = vec![compiler];
    call.extend(a);
    for round in ["miss", "hit", "hit into missing files"] {
        if round == "hit into missing files" {
            rm(&proj.join("out/main.o"));
            rm(&proj.join("out/main.dwo"));
        }
        let out = run(&mut env.objcache_in(&proj, &call));
        assert!(out.success(), "{round}: {}", out.dump());
        assert_bytes_eq(
            &read(&proj.join("out/main.o")),
            &obj,
            &format!("{round}: object"),
        );
        assert_bytes_eq(
            &read(&proj.join("out/main.dwo")),
            &dwo,
            &format!("{round}: .dwo"),
        );
    }
    assert_eq!((env.hits(), env.misses()), (2, 1), "{:?}", env.stats());

    // The object names its .dwo: another output name is another key.
    let b = [
        "-g",
        "-gsplit-dwarf",
        "-O1",
        "-Iinclude",
        "-c",
        "src/main.c",
        "-o",
        "out/other.o",
    ];
    let (obj_b, dwo_b) = plain_pair(compiler, &proj, &b, "out/other.o", "out/other.dwo");
    let mut call_b = vec![compiler];
    call_b.extend(b);
    let out = run(&mut env.objcache_in(&proj, &call_b));
    assert!(out.success(), "{}", out.dump());
    assert_eq!(env.misses(), 2, "{:?}", env.stats());
    assert_bytes_eq(&read(&proj.join("out/other.o")), &obj_b, "other object");
    assert_bytes_eq(&read(&proj.join("out/other.dwo")), &dwo_b, "other .dwo");
}

#[test]
fn gcc_split_dwarf_miss_then_hit() {
    miss_then_hit("gcc");
}

#[test]
fn clang_split_dwarf_miss_then_hit() {
    miss_then_hit("clang");
}

/// clang without `-g` writes no `.dwo`: an old one lying there is neither
/// stored nor written by a hit.
#[test]
fn a_dwo_the_compile_did_not_write_is_not_stored() {
    require("clang");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let call = [
        "clang",
        "-gsplit-dwarf",
        "-Iinclude",
        "-c",
        "src/util.c",
        "-o",
        "util.o",
    ];
    fs::write(proj.join("util.dwo"), b"stale").unwrap();
    assert!(run(&mut env.objcache_in(&proj, call)).success());
    assert_eq!(read(&proj.join("util.dwo")), b"stale");
    rm(&proj.join("util.dwo"));
    assert!(run(&mut env.objcache_in(&proj, call)).success());
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    assert!(
        !proj.join("util.dwo").exists(),
        "a hit wrote a .dwo clang never wrote"
    );
}

/// Where the `.dwo` would not be named after the output (`-S`: a later
/// assembler run writes it; `-dumpdir`; an output named `.name`): uncached.
#[test]
fn split_dwarf_with_other_dwo_names_is_not_cached() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    fs::create_dir(proj.join("dd")).unwrap();
    let calls: [&[&str]; 3] = [
        &["-S", "src/util.c", "-o", "util.s"],
        &["-dumpdir", "dd/", "-c", "src/util.c", "-o", "util.o"],
        &["-c", "src/util.c", "-o", ".hidden"],
    ];
    for (n, tail) in calls.iter().enumerate() {
        let mut call = vec!["gcc", "-g", "-gsplit-dwarf", "-Iinclude"];
        call.extend(*tail);
        assert!(run(&mut env.objcache_in(&proj, &call)).success());
        assert_eq!(
            env.stat("unsupported_compiler_option"),
            n as u64 + 1,
            "{call:?}"
        );
    }
}
