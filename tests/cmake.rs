//! CMake integration via CMAKE_C_COMPILER_LAUNCHER: a second build (separate
//! build dir, or after `clean`) is all hits; dependency tracking keeps
//! working on hits (editing a header rebuilds the dependents).

use crate::common::*;
use std::collections::BTreeMap;
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

/// Translation units of fixtures/cmake-reloc.
const RELOC_UNITS: [&str; 3] = [
    "CMakeFiles/shapes.dir/src/area.c.o",
    "CMakeFiles/shapes.dir/src/shape.cpp.o",
    "CMakeFiles/app.dir/src/main.c.o",
];

/// Runs ninja in `build` with the cache settings of a relocatable CI job:
/// base_dir is the common parent of the checkouts, hash_dir off.
fn ninja(env: &TestEnv, build: &Path, base: &Path, extra: &[&str]) -> Out {
    let mut cmd = Command::new("ninja");
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("CCACHE_BASEDIR", base)
        .env("CCACHE_NOHASHDIR", "1")
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .arg("-C")
        .arg(build)
        .args(extra);
    run_ok(&mut cmd)
}

fn configure_ninja(env: &TestEnv, proj: &Path, build: &Path, cached: bool, how: &Reloc) {
    let mut cmd = cmake_cmd(env);
    cmd.arg("-S")
        .arg(proj)
        .arg("-B")
        .arg(build)
        .args(["-G", "Ninja"])
        .arg(format!("-DCMAKE_BUILD_TYPE={}", how.build_type))
        .arg(format!("-DCMAKE_C_COMPILER={}", how.cc))
        .arg(format!("-DCMAKE_CXX_COMPILER={}", how.cxx));
    if cached {
        for lang in ["C", "CXX"] {
            cmd.arg(format!(
                "-DCMAKE_{lang}_COMPILER_LAUNCHER={}",
                objcache_bin().display()
            ));
        }
    }
    run_ok(&mut cmd);
}

/// `ninja -t deps` by target, without the recorded mtimes (they differ
/// between builds) and in a stable order.
fn recorded_deps(env: &TestEnv, build: &Path, base: &Path) -> BTreeMap<String, String> {
    let text = ninja(env, build, base, &["-t", "deps"]).stdout_str();
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let (head, deps) = block.split_once('\n').unwrap_or((block, ""));
            let target = head.split(':').next().unwrap_or(head).to_string();
            (target, deps.to_string())
        })
        .collect()
}

struct Reloc {
    build_type: &'static str,
    cc: &'static str,
    cxx: &'static str,
}

/// A CMake + Ninja project with absolute source and `-I` paths, as CMake
/// writes them, built in two checkouts under one base_dir: the second
/// checkout's build is all direct-mode hits; the objects are the first
/// checkout's byte for byte; `__FILE__` (a logging macro in a header, a live
/// `assert` in Debug) names the path relative to the build directory; and
/// ninja's dependency records and its plan after a header change are those
/// of a plain build in that checkout.
fn relocated_ninja_build(how: Reloc) {
    for tool in ["cmake", "ninja", how.cc, how.cxx] {
        require(tool);
    }
    let env = TestEnv::new();
    let base = env.dir("ws");
    let a = env.copy_fixture("cmake-reloc", "ws/a/proj");
    let b = env.copy_fixture("cmake-reloc", "ws/checkout_b/proj");
    let (build_a, build_b, plain_b) = (a.join("build"), b.join("build"), b.join("build-plain"));

    configure_ninja(&env, &a, &build_a, true, &how);
    ninja(&env, &build_a, &base, &[]);
    assert_eq!(env.misses(), RELOC_UNITS.len() as u64, "{:?}", env.stats());

    run_ok(env.objcache().arg("-z"));
    configure_ninja(&env, &b, &build_b, true, &how);
    ninja(&env, &build_b, &base, &[]);
    let s = env.stats();
    assert_eq!(
        get(&s, "direct_cache_hit"),
        RELOC_UNITS.len() as u64,
        "the relocated checkout must get direct hits: {s:?}"
    );
    assert_eq!(get(&s, "cache_miss"), 0, "{s:?}");
    for unit in RELOC_UNITS {
        assert_bytes_eq(
            &read(&build_b.join(unit)),
            &read(&build_a.join(unit)),
            &format!("{unit} of checkout b"),
        );
    }
    let out = run_ok(&mut Command::new(build_b.join("app"))).stdout_str();
    assert!(
        out.starts_with("../src/main.c:10: main 1.0\n../src/area.c:7: area\n"),
        "__FILE__ names the relative path: {out}"
    );
    assert!(
        out.contains("../src/shape.cpp:9: ../src/shape.cpp\n"),
        "{out}"
    );
    if how.build_type == "Debug" {
        let failed = run(Command::new(build_b.join("app")).arg("x"));
        assert!(!failed.success());
        let message = failed.stderr_str();
        assert!(
            message.contains(": ../src/main.c:9: ") && message.contains("Assertion"),
            "{message}"
        );
    }

    // The same checkout built without the cache.
    configure_ninja(&env, &b, &plain_b, false, &how);
    ninja(&env, &plain_b, &base, &[]);
    // Ninja reads each `.d` into its own records and removes it.
    let (cached_deps, plain_deps) = (
        recorded_deps(&env, &build_b, &base),
        recorded_deps(&env, &plain_b, &base),
    );
    assert_eq!(cached_deps.len(), RELOC_UNITS.len(), "{cached_deps:?}");
    for (target, deps) in &plain_deps {
        assert!(
            cached_deps.get(target) == Some(deps),
            "ninja's dependency record of {target}: {:?}\nplain build: {deps}",
            cached_deps.get(target)
        );
    }
    // Only main.c includes version.h.
    let header = b.join("include/reloc/version.h");
    let text = fs::read_to_string(&header).unwrap();
    fs::write(&header, format!("{text}/* changed */\n")).unwrap();
    let plan = |build: &Path| {
        let out = ninja(&env, build, &base, &["-n"]).stdout_str();
        out.lines()
            .filter(|l| !l.starts_with("ninja: Entering directory"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    let (cached_plan, plain_plan) = (plan(&build_b), plan(&plain_b));
    assert_eq!(cached_plan, plain_plan, "ninja -n after a header change");
    assert_eq!(
        cached_plan,
        "[1/2] Building C object CMakeFiles/app.dir/src/main.c.o\n[2/2] Linking CXX executable app\n"
    );
}

#[test]
fn relocated_ninja_debug_build_hits_directly() {
    relocated_ninja_build(Reloc {
        build_type: "Debug",
        cc: "gcc",
        cxx: "g++",
    });
}

#[test]
fn relocated_ninja_relwithdebinfo_build_hits_directly() {
    relocated_ninja_build(Reloc {
        build_type: "RelWithDebInfo",
        cc: "gcc",
        cxx: "g++",
    });
}

#[test]
fn relocated_ninja_clang_debug_build_hits_directly() {
    relocated_ninja_build(Reloc {
        build_type: "Debug",
        cc: "clang",
        cxx: "clang++",
    });
}

/// Compiles of fixtures/cmake-pch: two PCHs (C and C++) and three units.
const PCH_COMPILES: u64 = 5;

fn configure_pch(env: &TestEnv, src: &Path, build: &Path, cc: &str, cxx: &str, flags: &str) {
    let mut cmd = cmake_cmd(env);
    cmd.arg("-S")
        .arg(src)
        .arg("-B")
        .arg(build)
        .args(["-G", "Ninja"])
        .arg(format!("-DCMAKE_C_COMPILER={cc}"))
        .arg(format!("-DCMAKE_CXX_COMPILER={cxx}"))
        .arg(format!("-DCMAKE_C_FLAGS={flags}"))
        .arg(format!("-DCMAKE_CXX_FLAGS={flags}"));
    for lang in ["C", "CXX"] {
        cmd.arg(format!(
            "-DCMAKE_{lang}_COMPILER_LAUNCHER={}",
            objcache_bin().display()
        ));
    }
    run_ok(&mut cmd);
}

fn run_pchdemo(build: &Path) -> String {
    run_ok(&mut Command::new(build.join("pchdemo"))).stdout_str()
}

/// `target_precompile_headers` with gcc: the PCHs and the units that use
/// them are all hits in a second build directory (base_dir relates the
/// absolute `-include` paths) and after a clean.
#[test]
fn cmake_precompiled_headers_gcc_hit_everywhere() {
    for tool in ["cmake", "ninja", "gcc", "g++"] {
        require(tool);
    }
    let env = TestEnv::new();
    let src = env.copy_fixture("cmake-pch", "src");
    let (b1, b2) = (env.root().join("b1"), env.root().join("b2"));
    for (round, build) in [(1, &b1), (2, &b2), (3, &b1)] {
        if round == 3 {
            ninja(&env, build, env.root(), &["-t", "clean"]);
        } else {
            configure_pch(&env, &src, build, "gcc", "g++", "-O2");
        }
        ninja(&env, build, env.root(), &[]);
        assert_eq!(run_pchdemo(build), "2 words, 10 letters\n");
        let s = env.stats();
        assert_eq!(get(&s, "cache_miss"), PCH_COMPILES, "round {round}: {s:?}");
        assert_eq!(hits(&s), (round - 1) * PCH_COMPILES, "round {round}: {s:?}");
    }
    // A changed header in the PCH: every PCH and unit compiles again.
    let header = src.join("include/common.h");
    let text = fs::read_to_string(&header)
        .unwrap()
        .replace("\"hello\"", "\"hi there\"");
    fs::write(&header, text).unwrap();
    ninja(&env, &b2, env.root(), &[]);
    assert_eq!(run_pchdemo(&b2), "3 words, 12 letters\n");
}

/// With clang, which records the mtimes of a PCH's inputs in it: a clean
/// rebuild hits; the PCH of a fresh build directory (new mtimes) compiles,
/// and the build works.
#[test]
fn cmake_precompiled_headers_clang() {
    for tool in ["cmake", "ninja", "clang", "clang++"] {
        require(tool);
    }
    let env = TestEnv::new();
    let src = env.copy_fixture("cmake-pch", "src");
    let (b1, b2) = (env.root().join("b1"), env.root().join("b2"));
    configure_pch(&env, &src, &b1, "clang", "clang++", "-O2");
    ninja(&env, &b1, env.root(), &[]);
    ninja(&env, &b1, env.root(), &["-t", "clean"]);
    ninja(&env, &b1, env.root(), &[]);
    assert_eq!(run_pchdemo(&b1), "2 words, 10 letters\n");
    let s = env.stats();
    assert_eq!(
        (hits(&s), get(&s, "cache_miss")),
        (PCH_COMPILES, PCH_COMPILES),
        "{s:?}"
    );
    configure_pch(&env, &src, &b2, "clang", "clang++", "-O2");
    ninja(&env, &b2, env.root(), &[]);
    assert_eq!(run_pchdemo(&b2), "2 words, 10 letters\n");
}

/// A `--coverage` build: a clean rebuild is all hits, and gcov reads the
/// profile of the program built from them.
#[test]
fn cmake_coverage_build_rebuild_hits() {
    for tool in ["cmake", "ninja", "gcc", "g++", "gcov"] {
        require(tool);
    }
    let env = TestEnv::new();
    let src = env.copy_fixture("cmake-pch", "src");
    let b = env.root().join("b");
    configure_pch(&env, &src, &b, "gcc", "g++", "--coverage");
    ninja(&env, &b, env.root(), &[]);
    ninja(&env, &b, env.root(), &["-t", "clean"]);
    ninja(&env, &b, env.root(), &[]);
    let s = env.stats();
    assert_eq!(
        (hits(&s), get(&s, "cache_miss")),
        (PCH_COMPILES, PCH_COMPILES),
        "{s:?}"
    );
    assert_eq!(run_pchdemo(&b), "2 words, 10 letters\n");
    let objdir = b.join("CMakeFiles/count.dir/src");
    let gcov = run_ok(
        Command::new("gcov")
            .current_dir(&objdir)
            .args(["-o", ".", "count.c.gcda"]),
    );
    let text = format!("{}{}", gcov.stdout_str(), gcov.stderr_str());
    assert!(
        text.contains("Lines executed:") && !text.contains("mismatch"),
        "{text}"
    );
    assert!(!text.contains("Lines executed:0.00%"), "{text}");
}
