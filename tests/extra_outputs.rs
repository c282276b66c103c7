//! Compiles that write more than an object, or no object at all: every file
//! and stream a hit gives back is byte-equal to what the compiler writes
//! for the same call.

use crate::common::*;
use std::fs;
use std::path::Path;

const WARNS: &str = "int f(int x) { int unused; return x; }\n";

/// What one call leaves behind: the named files (`None`: not there) and
/// its stdout and stderr.
#[derive(Debug, PartialEq)]
struct Written {
    files: Vec<(String, Option<Vec<u8>>)>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn take(dir: &Path, files: &[&str], out: &Out) -> Written {
    let files = files
        .iter()
        .map(|f| {
            let p = dir.join(f);
            let body = fs::read(&p).ok();
            rm(&p);
            (f.to_string(), body)
        })
        .collect();
    Written {
        files,
        stdout: out.stdout.clone(),
        stderr: out.stderr_without_objcache_lines(),
    }
}

fn assert_same(actual: &Written, expected: &Written, what: &str) {
    for ((name, got), (_, want)) in actual.files.iter().zip(&expected.files) {
        match (got, want) {
            (Some(g), Some(w)) => assert_bytes_eq(g, w, &format!("{what}: {name}")),
            _ => assert_eq!(got.is_some(), want.is_some(), "{what}: {name} present?"),
        }
    }
    assert_bytes_eq(&actual.stdout, &expected.stdout, &format!("{what}: stdout"));
    assert_bytes_eq(&actual.stderr, &expected.stderr, &format!("{what}: stderr"));
}

/// The plain compiler's outputs for `call` (compiler first) in `dir`, then
/// objcache's on a miss and on two hits: all the same, one miss.
fn same_as_compiler(env: &TestEnv, dir: &Path, call: &[&str], files: &[&str]) -> Written {
    let out = plain(call[0], dir, &call[1..]);
    assert!(out.success(), "{}", out.dump());
    let expected = take(dir, files, &out);
    let misses = env.misses();
    let hits = env.hits();
    for round in ["miss", "hit", "second hit"] {
        let out = run(&mut env.objcache_in(dir, call));
        assert!(out.success(), "{round}: {}", out.dump());
        assert_same(&take(dir, files, &out), &expected, round);
    }
    assert_eq!(
        (env.misses() - misses, env.hits() - hits),
        (1, 2),
        "{call:?}: {:?}",
        env.stats()
    );
    expected
}

/// `-fsyntax-only` writes no object: a hit replays the diagnostics (and
/// gcc's `.d`) and creates nothing else.
#[test]
fn syntax_only_is_cached_without_an_object() {
    for compiler in ["gcc", "clang"] {
        require(compiler);
        let env = TestEnv::new();
        let dir = env.dir("s");
        fs::write(dir.join("w.c"), WARNS).unwrap();
        let w = same_as_compiler(
            &env,
            &dir,
            &[compiler, "-Wall", "-fsyntax-only", "w.c"],
            &["w.o"],
        );
        assert!(w.files[0].1.is_none() && !w.stderr.is_empty(), "{w:?}");
        let w = same_as_compiler(
            &env,
            &dir,
            &[
                compiler,
                "-Wall",
                "-fsyntax-only",
                "-c",
                "w.c",
                "-o",
                "x.o",
                "-MD",
            ],
            &["x.o", "x.d"],
        );
        assert!(w.files[0].1.is_none(), "{compiler}: {w:?}");
    }
}

const PROGRAM: &str = "#include <stdio.h>\n#include <stdlib.h>\n\
int f(int x) { if (x > 2) return x * 2; return x + 1; }\n\
int main(int argc, char **argv) { int n = argc > 1 ? atoi(argv[1]) : 1;\n\
  int s = 0; for (int i = 0; i < n; i++) s += f(i); printf(\"%d\\n\", s); return 0; }\n";

/// A build tree `src/t.c` with an `obj/` directory, compiled from `build/`.
fn coverage_tree(env: &TestEnv, name: &str) -> std::path::PathBuf {
    let root = env.dir(name);
    fs::create_dir_all(root.join("src")).unwrap();
    fs::create_dir_all(root.join("build/obj")).unwrap();
    fs::write(root.join("src/t.c"), PROGRAM).unwrap();
    root.join("build")
}

/// `--coverage`: the `.gcno` is stored with the object, wherever the
/// compiler puts it; with a fixed random seed both are byte-equal to the
/// compiler's own.
#[test]
fn coverage_notes_are_cached_with_the_object() {
    for compiler in ["gcc", "clang"] {
        require(compiler);
        let env = TestEnv::new();
        let build = coverage_tree(&env, compiler);
        let seeded = [
            compiler,
            "--coverage",
            "-frandom-seed=1",
            "-O1",
            "-c",
            "../src/t.c",
        ];
        let mut with_o = seeded.to_vec();
        with_o.extend(["-o", "obj/x.o"]);
        same_as_compiler(&env, &build, &with_o, &["obj/x.o", "obj/x.gcno"]);
        same_as_compiler(&env, &build, &seeded, &["t.o", "t.gcno"]);
        let mut ftest = vec![
            compiler,
            "-ftest-coverage",
            "-frandom-seed=1",
            "-c",
            "../src/t.c",
        ];
        ftest.extend(["-o", "obj/y.o"]);
        same_as_compiler(&env, &build, &ftest, &["obj/y.o", "obj/y.gcno"]);
    }
    require("gcc");
    let env = TestEnv::new();
    let build = coverage_tree(&env, "note");
    let call = [
        "gcc",
        "--coverage",
        "-fprofile-note=obj/n.gcno",
        "-frandom-seed=1",
        "-c",
        "../src/t.c",
        "-o",
        "obj/x.o",
    ];
    same_as_compiler(&env, &build, &call, &["obj/x.o", "obj/n.gcno"]);
}

/// gcc stamps object and `.gcno` with the time of the compile: a hit gives
/// back the pair of one compile, so gcov reads the profile of the program
/// linked from a hit.
#[test]
fn gcov_reads_the_profile_of_an_object_from_a_hit() {
    require("gcc");
    require("gcov");
    let env = TestEnv::new();
    let build = coverage_tree(&env, "t");
    let call = ["gcc", "--coverage", "-c", "../src/t.c", "-o", "obj/t.o"];
    for round in ["miss", "hit"] {
        rm(&build.join("obj/t.o"));
        rm(&build.join("obj/t.gcno"));
        // A fresh stamp for the plain compile in between.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let out = run(&mut env.objcache_in(&build, call));
        assert!(out.success(), "{round}: {}", out.dump());
    }
    assert_eq!((env.hits(), env.misses()), (1, 1), "{:?}", env.stats());
    let link = plain("gcc", &build, ["--coverage", "obj/t.o", "-o", "t"]);
    assert!(link.success(), "{}", link.dump());
    let ran = plain(build.join("t").to_str().unwrap(), &build, ["5"]);
    assert!(ran.success(), "{}", ran.dump());
    let gcov = plain("gcov", &build, ["-o", "obj", "../src/t.c"]);
    assert!(gcov.success(), "{}", gcov.dump());
    let text = format!("{}{}", gcov.stdout_str(), gcov.stderr_str());
    assert!(!text.contains("mismatch"), "{text}");
    assert!(text.contains("Lines executed:"), "{text}");
    assert!(!text.contains("Lines executed:0.00%"), "{text}");
}

/// The object names its `.gcda` by absolute path: another directory is
/// another key, and each object is the compiler's own for its directory.
#[test]
fn coverage_objects_are_not_shared_between_directories() {
    for (compiler, option) in [
        ("gcc", "--coverage"),
        ("gcc", "-fprofile-generate"),
        ("clang", "--coverage"),
    ] {
        require(compiler);
        let env = TestEnv::new();
        for (name, misses) in [("one", 1), ("two", 2)] {
            let build = coverage_tree(&env, name);
            let call = [
                compiler,
                option,
                "-frandom-seed=1",
                "-c",
                "../src/t.c",
                "-o",
                "obj/t.o",
            ];
            let expected = plain_object(compiler, &build, &call[1..], "obj/t.o");
            let mut cfg = env.objcache_in(&build, call);
            cfg.env("CCACHE_BASEDIR", env.root())
                .env("CCACHE_SLOPPINESS", "gcno_cwd");
            let out = run(&mut cfg);
            assert!(out.success(), "{}", out.dump());
            assert_bytes_eq(
                &read(&build.join("obj/t.o")),
                &expected,
                &format!("{compiler} {option} {name}"),
            );
            assert_eq!(
                env.misses(),
                misses,
                "{compiler} {option} {name}: {:?}",
                env.stats()
            );
        }
    }
}

/// gcc's `-fprofile-use` reads the `.gcda` beside the object (or in the
/// profile directory): its content is in the key, and without one the
/// call runs uncached (`no_input_file`), as in ccache.
#[test]
fn gcc_profile_data_is_an_input() {
    require("gcc");
    let env = TestEnv::new();
    let build = coverage_tree(&env, "p");
    let gen = [
        "-fprofile-generate",
        "-O2",
        "-c",
        "../src/t.c",
        "-o",
        "obj/t.o",
    ];
    let train = |arg: &str| {
        let out = plain("gcc", &build, gen);
        assert!(out.success(), "{}", out.dump());
        let link = plain("gcc", &build, ["-fprofile-generate", "obj/t.o", "-o", "t"]);
        assert!(link.success(), "{}", link.dump());
        rm(&build.join("obj/t.gcda"));
        let ran = plain(build.join("t").to_str().unwrap(), &build, [arg]);
        assert!(ran.success(), "{}", ran.dump());
        assert!(build.join("obj/t.gcda").exists());
    };
    let call = [
        "gcc",
        "-fprofile-use",
        "-O2",
        "-c",
        "../src/t.c",
        "-o",
        "obj/t.o",
    ];
    let check = |what: &str, misses: u64, hits: u64| {
        let expected = plain_object("gcc", &build, &call[1..], "obj/t.o");
        let out = run(&mut env.objcache_in(&build, call));
        assert!(out.success(), "{what}: {}", out.dump());
        assert_bytes_eq(&read(&build.join("obj/t.o")), &expected, what);
        assert_eq!(
            (env.misses(), env.hits()),
            (misses, hits),
            "{what}: {:?}",
            env.stats()
        );
    };
    train("1");
    check("first profile", 1, 0);
    check("same profile", 1, 1);
    train("100");
    check("another profile", 2, 1);
    rm(&build.join("obj/t.gcda"));
    check("no profile", 2, 1);
    assert_eq!(env.stat("no_input_file"), 1, "{:?}", env.stats());
}

/// clang's `-fprofile-instr-use=FILE` and `-fprofile-use=DIR` read an
/// indexed profile: its content is in the key.
#[test]
fn clang_profile_data_is_an_input() {
    require("clang");
    require("llvm-profdata");
    let env = TestEnv::new();
    let build = coverage_tree(&env, "p");
    let train = |arg: &str| {
        let out = plain(
            "clang",
            &build,
            ["-fprofile-instr-generate", "-O2", "../src/t.c", "-o", "t"],
        );
        assert!(out.success(), "{}", out.dump());
        let mut ran = std::process::Command::new(build.join("t"));
        ran.current_dir(&build)
            .arg(arg)
            .env("LLVM_PROFILE_FILE", "t.profraw");
        assert!(run(&mut ran).success());
        fs::create_dir_all(build.join("pd")).unwrap();
        let merged = plain(
            "llvm-profdata",
            &build,
            ["merge", "-o", "pd/default.profdata", "t.profraw"],
        );
        assert!(merged.success(), "{}", merged.dump());
    };
    for (i, option) in [
        "-fprofile-instr-use=pd/default.profdata",
        "-fprofile-use=pd",
    ]
    .iter()
    .enumerate()
    {
        let call = ["clang", option, "-O2", "-c", "../src/t.c", "-o", "obj/t.o"];
        let check = |what: &str, misses: u64, hits: u64| {
            let expected = plain_object("clang", &build, &call[1..], "obj/t.o");
            let out = run(&mut env.objcache_in(&build, call));
            assert!(out.success(), "{what}: {}", out.dump());
            assert_bytes_eq(&read(&build.join("obj/t.o")), &expected, what);
            let base = 2 * i as u64;
            assert_eq!(
                (env.misses(), env.hits()),
                (base + misses, i as u64 + hits),
                "{option} {what}: {:?}",
                env.stats()
            );
        };
        train("1");
        check("first profile", 1, 0);
        check("same profile", 1, 1);
        train("100");
        check("another profile", 2, 1);
    }
}

/// `-fstack-usage` (gcc, clang) and `-fcallgraph-info` (gcc) files are
/// stored with the object.
#[test]
fn stack_usage_and_call_graph_files_are_cached() {
    for compiler in ["gcc", "clang"] {
        require(compiler);
        let env = TestEnv::new();
        let build = coverage_tree(&env, compiler);
        let call = [
            compiler,
            "-fstack-usage",
            "-O1",
            "-c",
            "../src/t.c",
            "-o",
            "obj/x.o",
        ];
        same_as_compiler(&env, &build, &call, &["obj/x.o", "obj/x.su"]);
        let env = TestEnv::new();
        same_as_compiler(&env, &build, &call[..call.len() - 2], &["t.o", "t.su"]);
    }
    let env = TestEnv::new();
    let build = coverage_tree(&env, "ci");
    let call = [
        "gcc",
        "-fcallgraph-info=su,da",
        "-fstack-usage",
        "-c",
        "../src/t.c",
        "-o",
        "obj/x.o",
    ];
    same_as_compiler(&env, &build, &call, &["obj/x.o", "obj/x.ci", "obj/x.su"]);
}

/// An assembler listing goes to its file (`-Wa,-a…=FILE`) or to stdout
/// (`-Wa,-a…`): both are stored and given back. (`-pipe` keeps the
/// assembler's temporary file name out of the listing's header, so the
/// compiler's own listing can be compared.)
#[test]
fn assembler_listings_are_cached() {
    require("gcc");
    let env = TestEnv::new();
    let build = coverage_tree(&env, "l");
    let call = [
        "gcc",
        "-pipe",
        "-Wa,-adhln=obj/x.lst",
        "-c",
        "../src/t.c",
        "-o",
        "obj/x.o",
    ];
    let w = same_as_compiler(&env, &build, &call, &["obj/x.o", "obj/x.lst"]);
    assert!(w.files[1].1.as_ref().is_some_and(|l| !l.is_empty()));
    let call = [
        "gcc",
        "-pipe",
        "-Xassembler",
        "-al=obj/y.lst",
        "-c",
        "../src/t.c",
        "-o",
        "obj/y.o",
    ];
    same_as_compiler(&env, &build, &call, &["obj/y.o", "obj/y.lst"]);
    let call = [
        "gcc",
        "-pipe",
        "-Wa,-adhln",
        "-c",
        "../src/t.c",
        "-o",
        "obj/z.o",
    ];
    let w = same_as_compiler(&env, &build, &call, &["obj/z.o"]);
    assert!(!w.stdout.is_empty(), "the listing goes to stdout");
}
