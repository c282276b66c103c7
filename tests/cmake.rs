//! CMake integration via CMAKE_C_COMPILER_LAUNCHER: a second build (separate
//! build dir, or after `clean`) is all hits; dependency tracking keeps
//! working on hits (editing a header rebuilds the dependents).

mod common;

use common::*;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Number of .c files in fixtures/cmake.
const UNITS: u64 = 2;

fn cmake_cmd(env: &TestEnv) -> Command {
    let mut cmd = Command::new("cmake");
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env_remove("CC")
        .env_remove("CFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("CMAKE_GENERATOR")
        .current_dir(env.root());
    cmd
}

fn configure(env: &TestEnv, src: &Path, build: &Path, cc: &str) {
    let mut cmd = cmake_cmd(env);
    cmd.arg("-S")
        .arg(src)
        .arg("-B")
        .arg(build)
        .args(["-G", "Unix Makefiles"])
        .arg(format!("-DCMAKE_C_COMPILER={cc}"))
        .arg(format!(
            "-DCMAKE_C_COMPILER_LAUNCHER={}",
            objcache_bin().display()
        ));
    run_ok(&mut cmd);
}

fn build(env: &TestEnv, build: &Path, extra: &[&str]) -> Out {
    let mut cmd = cmake_cmd(env);
    cmd.arg("--build").arg(build).args(extra);
    run_ok(&mut cmd)
}

fn run_demo(build: &Path) -> String {
    run_ok(&mut Command::new(build.join("demo"))).stdout_str()
}

fn two_build_dirs(cc: &str) {
    require("cmake");
    require("make");
    require(cc);
    let env = TestEnv::new();
    let src = env.copy_fixture("cmake", "src");
    let b1 = env.root().join("build1");
    let b2 = env.root().join("build_number_two");

    configure(&env, &src, &b1, cc);
    build(&env, &b1, &[]);
    assert_eq!(run_demo(&b1), "hello from demo\n");
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), UNITS, "first build misses: {s:?}");
    assert_eq!(hits(&s), 0, "{s:?}");

    configure(&env, &src, &b2, cc);
    build(&env, &b2, &[]);
    assert_eq!(run_demo(&b2), "hello from demo\n");
    let s = env.stats();
    assert_eq!(hits(&s), UNITS, "second build dir must be all hits: {s:?}");
    assert_eq!(get(&s, "cache_miss"), UNITS, "{s:?}");
    for obj in ["main.c.o", "helper.c.o"] {
        let p1 = b1.join("CMakeFiles/demo.dir").join(obj);
        let p2 = b2.join("CMakeFiles/demo.dir").join(obj);
        assert_bytes_eq(&read(&p2), &read(&p1), obj);
    }

    // Clean and rebuild the first dir: hits again.
    build(&env, &b1, &["--target", "clean"]);
    build(&env, &b1, &[]);
    let s = env.stats();
    assert_eq!(
        hits(&s),
        2 * UNITS,
        "rebuild after clean must be all hits: {s:?}"
    );
    assert_eq!(get(&s, "cache_miss"), UNITS, "{s:?}");
    assert_eq!(run_demo(&b1), "hello from demo\n");

    // Dependency tracking from the (cached) depfiles: changing the header
    // rebuilds both units in build dir 2.
    let hdr = src.join("helper.h");
    let text = fs::read_to_string(&hdr)
        .unwrap()
        .replace("hello from demo", "hello again");
    fs::write(&hdr, text).unwrap();
    build(&env, &b2, &[]);
    assert_eq!(
        run_demo(&b2),
        "hello again\n",
        "header change must be picked up"
    );
    let s = env.stats();
    assert_eq!(
        hits(&s) + get(&s, "cache_miss"),
        3 * UNITS + UNITS,
        "both units include helper.h and must be recompiled: {s:?}"
    );
    // helper.c uses GREETING (new preprocessed output: miss); main.c does
    // not (identical preprocessed output: a hit is fine).
    assert_eq!(get(&s, "cache_miss"), UNITS + 1, "{s:?}");
    // Nothing to do afterwards.
    let before = env.stats();
    build(&env, &b2, &[]);
    let after = env.stats();
    assert_eq!(
        hits(&after) + get(&after, "cache_miss"),
        hits(&before) + get(&before, "cache_miss"),
        "an up-to-date build must not compile anything"
    );
}

#[test]
fn cmake_launcher_gcc_second_build_all_hits() {
    two_build_dirs("gcc");
}

#[test]
fn cmake_launcher_clang_second_build_all_hits() {
    two_build_dirs("clang");
}

#[test]
fn cmake_launcher_debug_build_rebuild_after_clean_hits() {
    require("cmake");
    require("make");
    require("gcc");
    let env = TestEnv::new();
    let src = env.copy_fixture("cmake", "src");
    let b = env.root().join("build");
    let mut cmd = cmake_cmd(&env);
    cmd.arg("-S")
        .arg(&src)
        .arg("-B")
        .arg(&b)
        .args([
            "-G",
            "Unix Makefiles",
            "-DCMAKE_BUILD_TYPE=Debug",
            "-DCMAKE_C_COMPILER=gcc",
        ])
        .arg(format!(
            "-DCMAKE_C_COMPILER_LAUNCHER={}",
            objcache_bin().display()
        ));
    run_ok(&mut cmd);
    build(&env, &b, &["--parallel", "2"]);
    assert_eq!(env.misses(), UNITS);
    build(&env, &b, &["--target", "clean"]);
    build(&env, &b, &["--parallel", "2"]);
    let s = env.stats();
    assert_eq!(hits(&s), UNITS, "{s:?}");
    assert_eq!(get(&s, "cache_miss"), UNITS, "{s:?}");
    assert_eq!(run_demo(&b), "hello from demo\n");
}
