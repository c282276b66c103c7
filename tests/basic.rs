//! Basic miss/hit behaviour with gcc, g++, clang and clang++: objects are
//! byte-identical to plain compiles, warnings are replayed, failures are
//! passed through and never cached, source/header/flag changes miss.

use crate::common::*;
use std::fs;

/// Miss then hit for one translation unit; checks objects and counters.
fn miss_then_hit(compiler: &str, src: &str, extra: &[&str]) {
    require(compiler);
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let mut a = args(&["-c", src, "-o", "out.o", "-I", "include"]);
    a.extend(extra.iter().map(|s| s.to_string()));
    let unit = Compile::new(&proj, compiler, &a, "out.o");
    let expected = unit.plain().obj;
    assert!(!expected.is_empty());

    let miss = unit.check_obj(&env, &expected).out;
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "first run must be a miss: {s:?}");
    assert_eq!(hits(&s), 0, "first run must not hit: {s:?}");

    let hit = unit.check_obj(&env, &expected).out;
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "second run must not miss: {s:?}");
    assert_eq!(hits(&s), 1, "second run must hit: {s:?}");
    assert_bytes_eq(&hit.stdout, &miss.stdout, "stdout of hit vs miss");
    assert_bytes_eq(&hit.stderr, &miss.stderr, "stderr of hit vs miss");

    // A third run hits again.
    unit.check_obj(&env, &expected);
    assert_eq!(env.hits(), 2);
    assert_eq!(env.misses(), 1);
}

#[test]
fn gcc_miss_then_hit_object_identical() {
    miss_then_hit("gcc", "src/util.c", &[]);
}

#[test]
fn gcc_optimized_miss_then_hit() {
    miss_then_hit("gcc", "src/main.c", &["-O2", "-Wall"]);
}

#[test]
fn gxx_absolute_path_miss_then_hit() {
    miss_then_hit("/usr/bin/g++", "src/thing.cpp", &["-O1"]);
}

#[test]
fn clang_miss_then_hit_object_identical() {
    miss_then_hit("clang", "src/math.c", &[]);
}

#[test]
fn clangxx_miss_then_hit_object_identical() {
    miss_then_hit("clang++", "src/thing.cpp", &["-O2"]);
}

#[test]
fn gcc_with_debug_info_miss_then_hit() {
    miss_then_hit("gcc", "src/main.c", &["-g"]);
}

#[test]
fn miss_counts_preprocessed_cache_miss() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    let unit = Compile::new(&proj, "gcc", &a, "util.o");
    let expected = unit.plain().obj;
    unit.check_obj(&env, &expected);
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert_eq!(
        get(&s, "preprocessed_cache_miss"),
        1,
        "a miss is also a preprocessed_cache_miss: {s:?}"
    );
    assert!(
        get(&s, "files_in_cache") > 0,
        "something must be stored: {s:?}"
    );
    assert!(
        get(&s, "cache_size_kibibyte") > 0,
        "cache size must grow: {s:?}"
    );
    let ts = get(&s, "stats_updated_timestamp");
    let now = now_secs();
    assert!(
        ts + 3600 >= now && ts <= now + 3600,
        "stats_updated_timestamp {ts} should be close to now ({now})"
    );
    // Everything unrelated stays zero.
    for k in [
        "compile_failed",
        "called_for_link",
        "called_for_preprocessing",
        "no_input_file",
        "multiple_source_files",
        "unsupported_compiler_option",
        "unsupported_source_language",
        "output_to_stdout",
        "autoconf_test",
        "recache",
        "direct_cache_hit",
        "preprocessed_cache_hit",
    ] {
        assert_eq!(get(&s, k), 0, "counter {k} should be 0: {s:?}");
    }
}

fn warnings_replayed(compiler: &str) {
    require(compiler);
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-Wall", "-c", "src/warn.c", "-o", "warn.o", "-I", "include"]);
    let p = plain(compiler, &proj, &a);
    assert!(p.success(), "{}", p.dump());
    assert!(
        p.stderr_str().contains("warning"),
        "fixture src/warn.c must produce a warning with -Wall:\n{}",
        p.dump()
    );
    let expected = read(&proj.join("warn.o"));
    rm(&proj.join("warn.o"));

    let unit = Compile::new(&proj, compiler, &a, "warn.o");
    let miss = unit.check_obj(&env, &expected).out;
    assert_bytes_eq(&miss.stderr, &p.stderr, "stderr on miss vs plain compiler");
    assert_bytes_eq(&miss.stdout, &p.stdout, "stdout on miss vs plain compiler");
    assert_eq!(env.misses(), 1);

    let hit = unit.check_obj(&env, &expected).out;
    assert_eq!(env.hits(), 1, "second run must hit");
    assert_bytes_eq(&hit.stderr, &miss.stderr, "warning replayed on hit");
    assert_bytes_eq(&hit.stdout, &miss.stdout, "stdout on hit");
}

#[test]
fn gcc_warnings_replayed_on_hit() {
    warnings_replayed("gcc");
}

#[test]
fn clang_warnings_replayed_on_hit() {
    warnings_replayed("clang");
}

fn compile_error_passthrough(compiler: &str) {
    require(compiler);
    let env = TestEnv::new();
    let bad = env.copy_fixture("bad", "bad");
    let a = args(&["-c", "error.c", "-o", "error.o"]);
    let p = plain(compiler, &bad, &a);
    assert!(!p.success(), "fixture bad/error.c must fail to compile");
    assert!(!bad.join("error.o").exists());

    for round in 1..=2u64 {
        let mut cmd = env.objcache_in(&bad, std::iter::once(compiler.to_string()).chain(a.clone()));
        let out = run(&mut cmd);
        assert_eq!(
            out.code(),
            p.code(),
            "exit code must be passed through (round {round}):\n{}",
            out.dump()
        );
        assert_bytes_eq(&out.stderr, &p.stderr, "compiler stderr passed through");
        assert_bytes_eq(&out.stdout, &p.stdout, "compiler stdout passed through");
        assert!(
            !bad.join("error.o").exists(),
            "no object for failed compile"
        );
        let s = env.stats();
        assert_eq!(get(&s, "compile_failed"), round, "{s:?}");
        assert_eq!(hits(&s), 0, "failed compiles are never cached: {s:?}");
        assert_eq!(
            get(&s, "cache_miss"),
            0,
            "a failed compile is not a cache miss: {s:?}"
        );
    }
}

#[test]
fn gcc_compile_error_passed_through_and_not_cached() {
    compile_error_passthrough("gcc");
}

#[test]
fn clang_compile_error_passed_through_and_not_cached() {
    compile_error_passthrough("clang");
}

#[test]
fn missing_dash_o_writes_basename_object_in_cwd() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/util.c", "-I", "include"]);
    let unit = Compile::new(&proj, "gcc", &a, "util.o");
    let expected = unit.plain().obj;
    assert!(!proj.join("src/util.o").exists());
    unit.check_obj(&env, &expected);
    assert!(
        !proj.join("src/util.o").exists(),
        "object belongs in cwd, not next to source"
    );
    assert_eq!(env.misses(), 1);
    unit.check_obj(&env, &expected);
    assert_eq!(env.hits(), 1);
    assert_eq!(env.misses(), 1);
}

#[test]
fn output_into_subdirectory_and_different_name_hits() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    fs::create_dir_all(proj.join("obj/deeper")).unwrap();
    let a1 = args(&["-c", "src/math.c", "-o", "obj/one.o", "-I", "include"]);
    let a2 = args(&[
        "-c",
        "src/math.c",
        "-o",
        "obj/deeper/two.o",
        "-I",
        "include",
    ]);
    let one = Compile::new(&proj, "gcc", &a1, "obj/one.o");
    let two = Compile::new(&proj, "gcc", &a2, "obj/deeper/two.o");
    let e1 = one.plain().obj;
    let e2 = two.plain().obj;
    one.check_obj(&env, &e1);
    two.check_obj(&env, &e2);
    assert_eq!(env.misses(), 1);
    assert_eq!(env.hits(), 1, "only the output name differs: must hit");
}

#[test]
fn modified_source_misses_and_gives_new_object() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    let unit = Compile::new(&proj, "gcc", &a, "util.o");
    let e1 = unit.plain().obj;
    unit.check_obj(&env, &e1);

    let src = proj.join("src/util.c");
    let text = fs::read_to_string(&src).unwrap().replace("a + b", "a - b");
    fs::write(&src, text).unwrap();
    let e2 = unit.plain().obj;
    assert_ne!(e1, e2, "changed source must change the object");
    unit.check_obj(&env, &e2);
    assert_eq!(env.misses(), 2, "changed source must miss");
    assert_eq!(env.hits(), 0);
    unit.check_obj(&env, &e2);
    assert_eq!(env.hits(), 1);
}

#[test]
fn modified_header_misses_and_gives_new_object() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/math.c", "-o", "math.o", "-I", "include"]);
    let unit = Compile::new(&proj, "gcc", &a, "math.o");
    let e1 = unit.plain().obj;
    unit.check_obj(&env, &e1);
    unit.check_obj(&env, &e1);
    assert_eq!(env.hits(), 1);

    let hdr = proj.join("include/mathx.h");
    let text = fs::read_to_string(&hdr)
        .unwrap()
        .replace("#define MATHX_SCALE 3", "#define MATHX_SCALE 5");
    fs::write(&hdr, text).unwrap();
    let e2 = unit.plain().obj;
    assert_ne!(e1, e2, "changed header must change the object");
    unit.check_obj(&env, &e2);
    assert_eq!(env.misses(), 2, "changed header must miss");
    assert_eq!(env.hits(), 1);
}

#[test]
fn different_flags_or_compiler_miss() {
    require("gcc");
    require("clang");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let o0 = args(&["-c", "src/main.c", "-o", "main.o", "-I", "include", "-O0"]);
    let o2 = args(&["-c", "src/main.c", "-o", "main.o", "-I", "include", "-O2"]);
    let variants = [
        Compile::new(&proj, "gcc", &o0, "main.o"),
        Compile::new(&proj, "gcc", &o2, "main.o"),
        Compile::new(&proj, "clang", &o0, "main.o"),
    ];
    let expected: Vec<Vec<u8>> = variants.iter().map(|v| v.plain().obj).collect();
    for (v, e) in variants.iter().zip(&expected) {
        v.check_obj(&env, e);
    }
    assert_eq!(
        env.misses(),
        3,
        "different flags / compilers must not share entries"
    );
    assert_eq!(env.hits(), 0);
    // And every variant now hits.
    for (v, e) in variants.iter().zip(&expected) {
        v.check_obj(&env, e);
    }
    assert_eq!(env.hits(), 3);
    assert_eq!(env.misses(), 3);
}

#[test]
fn object_deleted_after_hit_is_restored() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/main.c", "-o", "main.o", "-I", "include"]);
    let unit = Compile::new(&proj, "gcc", &a, "main.o");
    let e = unit.plain().obj;
    unit.check_obj(&env, &e);
    // Overwrite the object with garbage: a hit must replace it.
    fs::write(proj.join("main.o"), b"garbage").unwrap();
    let mut cmd = env.objcache_in(&proj, std::iter::once("gcc".to_string()).chain(a.clone()));
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(&read(&proj.join("main.o")), &e, "object overwritten on hit");
    assert_eq!(env.hits(), 1);
}

#[test]
fn link_of_cached_objects_runs() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    for (src, obj) in [
        ("src/main.c", "main.o"),
        ("src/util.c", "util.o"),
        ("src/math.c", "math.o"),
    ] {
        let a = args(&["-c", src, "-o", obj, "-I", "include"]);
        let unit = Compile::new(&proj, "gcc", &a, obj);
        let e = unit.plain().obj;
        unit.check_obj(&env, &e);
        unit.check_obj(&env, &e);
    }
    assert_eq!(env.hits(), 3);
    assert_eq!(env.misses(), 3);
    let link = plain("gcc", &proj, ["main.o", "util.o", "math.o", "-o", "app"]);
    assert!(link.success(), "{}", link.dump());
    let out = run_ok(&mut std::process::Command::new(proj.join("app")));
    assert_eq!(out.stdout_str(), "hello util 9 60\n");
}
