//! Uncacheable calls: objcache must run the real compiler, pass its results
//! through unchanged, count the right ccache counter and never count a hit or
//! a miss.

mod common;

use common::*;
use std::fs;
use std::path::Path;

/// Run the same command plainly and through objcache (in `cwd`), compare exit
/// code/stdout/stderr, and check that exactly `counter` was incremented by 1
/// (and no hit/miss was counted).
fn uncacheable(env: &TestEnv, cwd: &Path, compiler: &str, a: &[&str], counter: &str) -> (Out, Out) {
    require(compiler);
    let before = env.stats();
    let p = plain(compiler, cwd, a);
    let mut cmd = env.objcache_in(cwd, std::iter::once(compiler).chain(a.iter().copied()));
    let o = run(&mut cmd);
    assert_eq!(
        o.code(),
        p.code(),
        "exit code must match the plain compiler\nplain:\n{}\nobjcache:\n{}",
        p.dump(),
        o.dump()
    );
    assert_bytes_eq(&o.stdout, &p.stdout, &format!("stdout of {a:?}"));
    assert_bytes_eq(&o.stderr, &p.stderr, &format!("stderr of {a:?}"));
    let after = env.stats();
    assert_eq!(
        get(&after, counter),
        get(&before, counter) + 1,
        "counter {counter} must be incremented once: {after:?}"
    );
    assert_eq!(
        hits(&after),
        hits(&before),
        "no hit for uncacheable call: {after:?}"
    );
    assert_eq!(
        get(&after, "cache_miss"),
        get(&before, "cache_miss"),
        "no miss for uncacheable call: {after:?}"
    );
    for (k, v) in &after {
        if k == counter || k.contains("timestamp") {
            continue;
        }
        if k.starts_with("files_in_cache") || k.starts_with("cache_size") {
            continue;
        }
        assert_eq!(
            *v,
            get(&before, k),
            "counter {k} changed unexpectedly for {a:?} (expected only {counter})"
        );
    }
    (p, o)
}

#[test]
fn called_for_link() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    for src in ["main", "util", "math"] {
        let out = plain(
            "gcc",
            &proj,
            ["-c", &format!("src/{src}.c"), "-I", "include"],
        );
        assert!(out.success(), "{}", out.dump());
    }
    let a = ["main.o", "util.o", "math.o", "-o", "app"];
    let p = plain("gcc", &proj, a);
    assert!(p.success());
    let plain_app = read(&proj.join("app"));
    rm(&proj.join("app"));
    uncacheable(&env, &proj, "gcc", &a, "called_for_link");
    assert_bytes_eq(&read(&proj.join("app")), &plain_app, "linked executable");
    let run_app = run_ok(&mut std::process::Command::new(proj.join("app")));
    assert_eq!(run_app.stdout_str(), "hello util 9 60\n");
    // Linking is never cached: again counted as a link.
    uncacheable(&env, &proj, "gcc", &a, "called_for_link");
}

#[test]
fn called_for_link_compile_and_link_in_one_step() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    // "gcc foo.c -o foo" (no -c) compiles and links: counted as a link.
    let b = [
        "src/main.c",
        "-I",
        "include",
        "-o",
        "app2",
        "-Wl,--unresolved-symbols=ignore-all",
    ];
    uncacheable(&env, &proj, "gcc", &b, "called_for_link");
}

#[test]
fn called_for_preprocessing() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let (p, _) = uncacheable(
        &env,
        &proj,
        "gcc",
        &["-E", "src/main.c", "-I", "include"],
        "called_for_preprocessing",
    );
    assert!(
        p.stdout_str().contains("util_add"),
        "-E output goes to stdout"
    );
    uncacheable(
        &env,
        &proj,
        "clang",
        &["-E", "src/util.c", "-I", "include"],
        "called_for_preprocessing",
    );
}

#[test]
fn multiple_source_files() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = ["-c", "src/util.c", "src/math.c", "-I", "include"];
    let p = plain("gcc", &proj, a);
    assert!(p.success());
    let util = read(&proj.join("util.o"));
    let math = read(&proj.join("math.o"));
    rm(&proj.join("util.o"));
    rm(&proj.join("math.o"));
    uncacheable(&env, &proj, "gcc", &a, "multiple_source_files");
    assert_bytes_eq(&read(&proj.join("util.o")), &util, "util.o");
    assert_bytes_eq(&read(&proj.join("math.o")), &math, "math.o");
}

#[test]
fn no_input_file() {
    let env = TestEnv::new();
    let dir = env.dir("work");
    let (p, _) = uncacheable(&env, &dir, "gcc", &["-c"], "no_input_file");
    assert!(!p.success(), "gcc -c without input fails");
}

#[test]
fn output_to_stdout() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    uncacheable(
        &env,
        &proj,
        "gcc",
        &["-c", "src/util.c", "-I", "include", "-o", "-"],
        "output_to_stdout",
    );
}

#[test]
fn unsupported_compiler_option_save_temps() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = [
        "-save-temps",
        "-c",
        "src/util.c",
        "-I",
        "include",
        "-o",
        "util.o",
    ];
    let p = plain("gcc", &proj, a);
    assert!(p.success());
    let expected = read(&proj.join("util.o"));
    for f in ["util.o", "util.i", "util.s"] {
        rm(&proj.join(f));
    }
    uncacheable(&env, &proj, "gcc", &a, "unsupported_compiler_option");
    assert_bytes_eq(
        &read(&proj.join("util.o")),
        &expected,
        "util.o with -save-temps",
    );
    assert!(
        proj.join("util.i").exists(),
        "-save-temps output util.i must exist"
    );
    assert!(
        proj.join("util.s").exists(),
        "-save-temps output util.s must exist"
    );
}

#[test]
fn unsupported_source_language_dash_x() {
    // `-x fortran` is not a language objcache caches. Whether gfortran is
    // installed or not, the call is passed to gcc and counted.
    let env = TestEnv::new();
    let dir = env.dir("work");
    fs::write(
        dir.join("prog.f90"),
        "program hello\n  print *, 'hi'\nend program hello\n",
    )
    .unwrap();
    fs::write(dir.join("x.c"), "int x;\n").unwrap();
    uncacheable(
        &env,
        &dir,
        "gcc",
        &["-c", "-x", "fortran", "prog.f90", "-o", "prog.o"],
        "unsupported_source_language",
    );
}

#[test]
fn unsupported_source_language_f90_file() {
    let env = TestEnv::new();
    let dir = env.dir("work");
    fs::write(
        dir.join("prog.f90"),
        "program hello\n  print *, 'hi'\nend program hello\n",
    )
    .unwrap();
    uncacheable(
        &env,
        &dir,
        "gcc",
        &["-c", "prog.f90", "-o", "prog.o"],
        "unsupported_source_language",
    );
}

#[test]
fn autoconf_test_conftest_c() {
    let env = TestEnv::new();
    let dir = env.dir("work");
    fs::write(dir.join("conftest.c"), "int main(void) { return 0; }\n").unwrap();
    let a = ["-c", "conftest.c", "-o", "conftest.o"];
    let p = plain("gcc", &dir, a);
    assert!(p.success());
    let expected = read(&dir.join("conftest.o"));
    rm(&dir.join("conftest.o"));
    uncacheable(&env, &dir, "gcc", &a, "autoconf_test");
    assert_bytes_eq(&read(&dir.join("conftest.o")), &expected, "conftest.o");
    // Never cached: the second run is counted the same way, not a hit.
    rm(&dir.join("conftest.o"));
    uncacheable(&env, &dir, "gcc", &a, "autoconf_test");
    assert_bytes_eq(&read(&dir.join("conftest.o")), &expected, "conftest.o (2)");
}

#[test]
fn uncacheable_calls_do_not_store_anything() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    uncacheable(
        &env,
        &proj,
        "gcc",
        &["-E", "src/main.c", "-I", "include"],
        "called_for_preprocessing",
    );
    uncacheable(
        &env,
        &proj,
        "gcc",
        &["-c", "src/util.c", "src/math.c", "-I", "include"],
        "multiple_source_files",
    );
    let s = env.stats();
    assert_eq!(get(&s, "files_in_cache"), 0, "{s:?}");
    assert!(
        cache_entry_files(&env.cache_dir).is_empty(),
        "no cache entries expected, found {:?}",
        cache_entry_files(&env.cache_dir)
    );
}

/// With DEPENDENCIES_OUTPUT set gcc writes a dependency file of its own,
/// which a hit could not produce: such calls run uncached, every time.
#[test]
fn dependencies_output_variable_runs_uncached() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    for round in 0..2 {
        let dep = proj.join(format!("env{round}.d"));
        let out = run(env
            .objcache_in(
                &proj,
                ["gcc", "-c", "src/util.c", "-I", "include", "-o", "util.o"],
            )
            .env("DEPENDENCIES_OUTPUT", &dep));
        assert!(out.success(), "{}", out.dump());
        assert!(
            dep.exists(),
            "round {round}: gcc must have written {}",
            dep.display()
        );
    }
    assert_eq!(env.stat("unsupported_environment_variable"), 2);
    assert_eq!(env.hits() + env.misses(), 0);
}
