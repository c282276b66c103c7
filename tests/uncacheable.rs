//! Uncacheable calls: objcache must run the real compiler, pass its results
//! through unchanged, count the right ccache counter and never count a hit or
//! a miss.

use crate::common::*;
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

/// As ccache counts an Autoconf test: its compiles (`-c conftest.c`) are
/// cached like any other; a link whose first input is `conftest.*` counts
/// `autoconf_test`, other links `called_for_link`.
#[test]
fn autoconf_test_links_count_apart_and_its_compiles_cache() {
    let env = TestEnv::new();
    let dir = env.dir("work");
    write_file(&dir.join("conftest.c"), "int main(void) { return 0; }\n");
    let compile = Compile::new(
        &dir,
        "gcc",
        &["-c", "conftest.c", "-o", "conftest.o"],
        "conftest.o",
    );
    let expected = compile.plain().obj;
    for round in 0..2 {
        compile.check_obj(&env, &expected);
        let s = env.stats();
        assert_eq!((get(&s, "cache_miss"), hits(&s)), (1, round), "{s:?}");
    }
    uncacheable(
        &env,
        &dir,
        "gcc",
        &["-o", "conftest", "conftest.c"],
        "autoconf_test",
    );
    uncacheable(
        &env,
        &dir,
        "gcc",
        &["-o", "conftest", "conftest.o"],
        "autoconf_test",
    );
    fs::rename(dir.join("conftest.o"), dir.join("main.o")).unwrap();
    uncacheable(
        &env,
        &dir,
        "gcc",
        &["-o", "main", "main.o"],
        "called_for_link",
    );
    assert_eq!(env.stat("autoconf_test"), 2);
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

/// Compiles `args` through objcache in `dir` with `vars`, checks the object
/// against the plain compiler's, and returns the stats afterwards.
fn compile_and_compare(
    env: &TestEnv,
    dir: &Path,
    compiler: &str,
    args: &[&str],
    vars: &[(&str, &str)],
) -> Stats {
    let unit = Compile::new(dir, compiler, args, "t.o").envs(vars);
    let expected = unit.plain().obj;
    unit.check_obj(env, &expected);
    env.stats()
}

/// `.incbin` and `.include` make the assembler read a file the key cannot
/// cover (C inline assembly, `.S` and `.s` sources, depend mode): the
/// compile runs uncached and counts `unsupported_code_directive`, so a
/// changed blob is always seen.
#[test]
fn assembler_directives_that_read_files_run_uncached() {
    let sources: [(&str, &str); 3] = [
        (
            "t.c",
            "__asm__(\".section .rodata\\n\\t.incbin \\\"data.bin\\\"\\n\\t.text\");\nint f(void) { return 1; }\n",
        ),
        ("t.S", "#define N 1\n.section .rodata\n.incbin \"data.bin\"\n"),
        ("t.s", ".section .rodata\n.include \"data.inc\"\n"),
    ];
    for compiler in ["gcc", "clang"] {
        require(compiler);
        for (name, text) in sources {
            for depend in [false, true] {
                let env = TestEnv::new();
                let dir = env.dir("p");
                fs::write(dir.join(name), text).unwrap();
                let vars: &[(&str, &str)] = if depend {
                    &[("CCACHE_DEPEND", "1")]
                } else {
                    &[]
                };
                let args = ["-c", name, "-o", "t.o", "-MD"];
                for round in 0..3 {
                    fs::write(dir.join("data.bin"), format!("blob {round}\n")).unwrap();
                    fs::write(dir.join("data.inc"), format!(".byte {round}\n")).unwrap();
                    let s = compile_and_compare(&env, &dir, compiler, &args, vars);
                    let what = format!("{compiler} {name} depend={depend} round {round}: {s:?}");
                    assert_eq!(get(&s, "unsupported_code_directive"), round + 1, "{what}");
                    assert_eq!(hits(&s), 0, "{what}");
                }
            }
        }
    }
}

/// `sloppiness = incbin`: the user says the files never change, so the
/// compile is cached like any other.
#[test]
fn incbin_sloppiness_caches_assembler_directives() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("p");
    fs::write(dir.join("t.S"), ".section .rodata\n.incbin \"data.bin\"\n").unwrap();
    fs::write(dir.join("data.bin"), "blob\n").unwrap();
    let vars = [("CCACHE_SLOPPINESS", "incbin")];
    for _ in 0..2 {
        compile_and_compare(&env, &dir, "gcc", &["-c", "t.S", "-o", "t.o"], &vars);
    }
    let s = env.stats();
    assert_eq!(get(&s, "unsupported_code_directive"), 0, "{s:?}");
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (1, 1), "{s:?}");
}

/// `extra_files_to_hash` (`CCACHE_EXTRAFILES`, `:`-separated): their content
/// is in every key, so changing one is a miss; a missing one runs the
/// compile uncached and counts `error_hashing_extra_file`.
#[test]
fn extra_files_to_hash_are_in_the_key() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("p");
    fs::write(dir.join("t.c"), "int f(void) { return 1; }\n").unwrap();
    fs::write(dir.join("a.txt"), "one\n").unwrap();
    fs::write(dir.join("b.txt"), "two\n").unwrap();
    let args = ["-c", "t.c", "-o", "t.o"];
    let vars = [("CCACHE_EXTRAFILES", "a.txt:b.txt")];
    let counts = |s: &Stats| (get(s, "cache_miss"), hits(s));
    compile_and_compare(&env, &dir, "gcc", &args, &vars);
    let s = compile_and_compare(&env, &dir, "gcc", &args, &vars);
    assert_eq!(counts(&s), (1, 1), "{s:?}");
    fs::write(dir.join("b.txt"), "three\n").unwrap();
    let s = compile_and_compare(&env, &dir, "gcc", &args, &vars);
    assert_eq!(counts(&s), (2, 1), "a changed extra file is a miss: {s:?}");
    let s = compile_and_compare(&env, &dir, "gcc", &args, &[]);
    assert_eq!(
        counts(&s),
        (3, 1),
        "without the extra files, another key: {s:?}"
    );
    fs::remove_file(dir.join("a.txt")).unwrap();
    let s = compile_and_compare(&env, &dir, "gcc", &args, &vars);
    assert_eq!(get(&s, "error_hashing_extra_file"), 1, "{s:?}");
    assert_eq!(counts(&s), (3, 1), "{s:?}");
}
