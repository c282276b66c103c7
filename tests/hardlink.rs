//! `hard_link` and `file_clone`: the object is kept as a plain file beside
//! the entry and linked or cloned into place on a hit, after its digest is
//! checked, so a hit never hands out an object changed behind the cache's back.

use std::os::unix::fs::MetadataExt;

use crate::common::*;

fn compile(env: &TestEnv, proj: &std::path::Path, vars: &[(&str, &str)]) {
    let mut cmd = env.objcache_in(
        proj,
        ["gcc", "-c", "src/util.c", "-I", "include", "-o", "util.o"],
    );
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
}

fn setup() -> (TestEnv, std::path::PathBuf, Vec<u8>) {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let expected = plain_object(
        "gcc",
        &proj,
        ["-c", "src/util.c", "-I", "include", "-o", "util.o"],
        "util.o",
    );
    rm(&proj.join("util.o"));
    (env, proj, expected)
}

#[test]
fn hard_link_hit_links_the_verified_object() {
    let (env, proj, expected) = setup();
    let vars = [("CCACHE_HARDLINK", "1")];
    compile(&env, &proj, &vars);
    compile(&env, &proj, &vars);
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    let out = proj.join("util.o");
    assert_bytes_eq(&read(&out), &expected, "hard-linked object");
    assert!(
        std::fs::metadata(&out).unwrap().nlink() >= 2,
        "the output must be a hard link"
    );
    // A tool that changes the object in place changes the cache file too:
    // the next hit must notice and compile instead of serving it.
    let mut damaged = read(&out);
    damaged.extend_from_slice(b"junk");
    std::fs::write(&out, &damaged).unwrap();
    compile(&env, &proj, &vars);
    assert_eq!(
        env.hits(),
        1,
        "a damaged raw object is not a hit: {:?}",
        env.stats()
    );
    assert_eq!(env.stat("corrupt_cache_entry"), 1);
    assert_bytes_eq(&read(&out), &expected, "object after the damaged hit");
    compile(&env, &proj, &vars);
    assert_eq!(env.hits(), 2);
    assert_bytes_eq(&read(&out), &expected, "object after re-storing");
}

#[test]
fn file_clone_hit_copies_where_the_file_system_cannot_clone() {
    let (env, proj, expected) = setup();
    let vars = [("CCACHE_FILECLONE", "1")];
    compile(&env, &proj, &vars);
    compile(&env, &proj, &vars);
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    let out = proj.join("util.o");
    assert_bytes_eq(&read(&out), &expected, "cloned or copied object");
    assert_eq!(
        std::fs::metadata(&out).unwrap().nlink(),
        1,
        "a clone is a file of its own"
    );
}

#[test]
fn an_evicted_raw_object_is_a_miss() {
    let (env, proj, expected) = setup();
    let vars = [("CCACHE_HARDLINK", "1")];
    compile(&env, &proj, &vars);
    let raw: Vec<_> = walk_files(&env.cache_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with('W'))
        .collect();
    assert_eq!(raw.len(), 1, "one raw object file");
    std::fs::remove_file(&raw[0]).unwrap();
    compile(&env, &proj, &vars);
    assert_eq!(env.hits(), 0, "{:?}", env.stats());
    assert_eq!(env.stat("missing_cache_file"), 1);
    assert_bytes_eq(&read(&proj.join("util.o")), &expected, "object");
}

/// A miss must not write through an output that a hit hard-linked to the
/// cache: the other entry stays intact and keeps hitting.
#[test]
fn a_miss_does_not_write_into_a_linked_cache_file() {
    let (env, proj, expected) = setup();
    let vars = [("CCACHE_HARDLINK", "1")];
    compile(&env, &proj, &vars);
    compile(&env, &proj, &vars); // util.o is now a link to the cache
    let mut cmd = env.objcache_in(
        &proj,
        [
            "gcc",
            "-O2",
            "-c",
            "src/util.c",
            "-I",
            "include",
            "-o",
            "util.o",
        ],
    );
    cmd.env("CCACHE_HARDLINK", "1");
    assert!(run(&mut cmd).success());
    compile(&env, &proj, &vars);
    assert_eq!(env.hits(), 2, "{:?}", env.stats());
    assert_eq!(env.stat("corrupt_cache_entry"), 0);
    assert_bytes_eq(&read(&proj.join("util.o")), &expected, "object");
}

/// A raw object belongs to its result's namespace: reported under it and
/// evicted with it, never left behind.
#[test]
fn raw_objects_share_their_results_namespace() {
    let (env, proj, _) = setup();
    compile(
        &env,
        &proj,
        &[("CCACHE_HARDLINK", "1"), ("CCACHE_NAMESPACE", "foo")],
    );
    let files = || cache_entry_files(&env.cache_dir);
    assert!(
        files().iter().any(|p| p.to_string_lossy().ends_with('W')),
        "{:?}",
        files()
    );
    let usage = parse_print_stats(&run_ok(env.objcache().arg("--print-usage")).stdout_str());
    // Files as `files_in_cache` counts them: miss inputs apart.
    let counted = files()
        .iter()
        .filter(|p| !p.to_string_lossy().ends_with('X'))
        .count();
    assert_eq!(
        get(&usage, "namespace_foo_files"),
        counted as u64,
        "{usage:?}"
    );
    run_ok(env.objcache().args(["--evict-namespace", "foo"]));
    assert!(files().is_empty(), "left behind: {:?}", files());
}
