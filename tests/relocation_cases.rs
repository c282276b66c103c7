//! Relocation cases ccache handles and objcache used to miss (issue 23),
//! against the real gcc and clang:
//!
//! - a source named by an absolute path inside the working directory
//!   (`$(CURDIR)/x.cpp`) and `-I$(CURDIR)`: compiled as `./x.cpp` and `-I.`,
//!   so C++ keeps direct mode, diagnostics name no base_dir path, and the
//!   `.d` is still the plain compiler's;
//! - a working directory reached through a symlink, with `PWD` relative or
//!   unset, or paths spelled physically while `PWD` is the symlinked one.
//!
//! Each check compares counters and the bytes objcache writes with what
//! the plain compiler writes.

use crate::common::direct_mode::{c, expect, settle};
use crate::common::*;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// `CCACHE_BASEDIR=base` plus `more`.
fn base_vars(base: &Path, more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars = vec![("CCACHE_BASEDIR".to_string(), s(base))];
    vars.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    vars
}

/// `cc args` in `cwd` without objcache: its outputs `files` (removed
/// afterwards) and its stderr.
fn plain_outputs(cwd: &Path, cc: &str, args: &[String], files: &[&str]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let out = plain(cc, cwd, args);
    assert!(out.success(), "plain {cc} {args:?}\n{}", out.dump());
    let data = files
        .iter()
        .map(|f| {
            let p = cwd.join(f);
            let d = read(&p);
            rm(&p);
            d
        })
        .collect();
    (data, out.stderr)
}

/// `objcache cc args` in `cwd` with `vars`: its outputs `files` and stderr.
fn cached_outputs(
    env: &TestEnv,
    cwd: &Path,
    cc: &str,
    args: &[String],
    vars: &[(String, String)],
    files: &[&str],
) -> (Vec<Vec<u8>>, Vec<u8>) {
    for f in files {
        rm(&cwd.join(f));
    }
    let mut cmd = env.objcache_in(cwd, std::iter::once(cc.to_string()).chain(args.to_vec()));
    cmd.env("PWD", cwd);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert!(out.success(), "objcache {cc} {args:?}\n{}", out.dump());
    let data = files.iter().map(|f| read(&cwd.join(f))).collect();
    (data, strip_objcache_lines(&out.stderr))
}

/// A C++ project in `dir`: `x.cpp` including `x.h` beside it and
/// `<string>` (whose configuration header uses `__FILE__`).
fn cpp_project(dir: &Path) {
    write_file(
        &dir.join("x.cpp"),
        "#include \"x.h\"\n#include <string>\nstd::string f() { return std::string(X, 'x'); }\n",
    );
    write_file(&dir.join("x.h"), "#define X 3\n");
}

/// `-MD -I$P -c $P/x.cpp -o x.o`, all in the working directory `$P`.
fn curdir_args(p: &Path) -> Vec<String> {
    args(&[
        "-MD",
        &format!("-I{}", p.display()),
        "-c",
        &s(&p.join("x.cpp")),
        "-o",
        "x.o",
    ])
}

#[test]
fn a_source_named_absolute_in_the_working_directory_keeps_direct_mode() {
    for cc in ["g++", "clang++"] {
        require(cc);
        let env = TestEnv::new();
        let root = env.root().canonicalize().unwrap();
        let checkouts: Vec<PathBuf> = ["one/proj", "second/proj"]
            .iter()
            .map(|c| root.join(c))
            .collect();
        for p in &checkouts {
            cpp_project(p);
        }
        settle();
        let vars = base_vars(&root, &[]);
        let files = ["x.o", "x.d"];
        let mut expected = c(0, 0, 0, 0, 0);
        for (n, p) in [&checkouts[0], &checkouts[0], &checkouts[1]]
            .iter()
            .enumerate()
        {
            let a = curdir_args(p);
            let (want, _) = plain_outputs(p, cc, &a, &files);
            // What objcache runs: the same call spelled relative.
            let relative = args(&["-MD", "-I.", "-c", "./x.cpp", "-o", "x.o"]);
            let (want_obj, _) = plain_outputs(p, cc, &relative, &["x.o"]);
            let (got, stderr) = cached_outputs(&env, p, cc, &a, &vars, &files);
            let what = format!("{cc} call {n} in {}", p.display());
            assert_bytes_eq(
                &got[1],
                &want[1],
                &format!("{what}: the .d is the plain compiler's"),
            );
            assert_bytes_eq(
                &got[0],
                &want_obj[0],
                &format!("{what}: the object of ./x.cpp"),
            );
            assert!(
                stderr.is_empty(),
                "{what}: {}",
                String::from_utf8_lossy(&stderr)
            );
            if n == 0 {
                expected = c(0, 1, 0, 1, 1);
            } else {
                expected.direct_hit += 1;
            }
            expect(
                &env,
                expected,
                &format!("{what}: direct mode kept, relocated hit"),
            );
        }
    }
}

/// ccache's suite, "Rewriting in stderr": `-I$PWD -c $PWD/stderr.c` warns
/// about a header; the diagnostics name no base_dir path, on the miss and
/// the hit. With `absolute_paths_in_stderr` they are the plain compiler's.
#[test]
fn diagnostics_of_a_source_in_the_working_directory_name_no_base_dir() {
    for cc in ["gcc", "clang"] {
        require(cc);
        let env = TestEnv::new();
        let p = env.root().canonicalize().unwrap().join("run");
        write_file(
            &p.join("stderr.h"),
            "int stderr_fn(void)\n{\n  /* no return */\n}\n",
        );
        write_file(&p.join("stderr.c"), "#include <stderr.h>\n");
        settle();
        let a = args(&[
            "-Wall",
            "-W",
            &format!("-I{}", p.display()),
            "-c",
            &s(&p.join("stderr.c")),
            "-o",
            &s(&p.join("stderr.o")),
        ]);
        let (_, plain_stderr) = plain_outputs(&p, cc, &a, &["stderr.o"]);
        assert!(!plain_stderr.is_empty(), "{cc}: the header warns");
        for round in ["miss", "hit"] {
            let vars = base_vars(&p, &[]);
            let (_, stderr) = cached_outputs(&env, &p, cc, &a, &vars, &["stderr.o"]);
            let text = String::from_utf8_lossy(&stderr);
            assert!(!text.is_empty(), "{cc} {round}: the warning is shown");
            assert!(
                !text.contains(&s(&p)),
                "{cc} {round}: base_dir in stderr:\n{text}"
            );
            let vars = base_vars(&p, &[("CCACHE_ABSSTDERR", "1")]);
            let (_, stderr) = cached_outputs(&env, &p, cc, &a, &vars, &["stderr.o"]);
            assert_bytes_eq(
                &stderr,
                &plain_stderr,
                &format!("{cc} {round}: absolute_paths_in_stderr gives the plain stderr"),
            );
        }
        assert_eq!(env.stat("direct_cache_hit"), 3, "{cc}: {:?}", env.stats());
    }
}

/// A relative path of the call's own could be confused in the `.d` with
/// one from the working directory (the compiler drops `./` there): the
/// source keeps its absolute spelling, and the `.d` is the plain one.
#[test]
fn a_relative_path_of_the_call_keeps_the_working_directory_absolute() {
    require("gcc");
    let env = TestEnv::new();
    let p = env.root().canonicalize().unwrap().join("proj");
    write_file(
        &p.join("x.c"),
        "#include \"a.h\"\n#include <b.h>\nint v = A + B;\n",
    );
    write_file(&p.join("a.h"), "#define A 1\n");
    write_file(&p.join("inc/b.h"), "#define B 2\n");
    settle();
    let a = args(&["-MD", "-Iinc", "-c", &s(&p.join("x.c")), "-o", "x.o"]);
    let (want, _) = plain_outputs(&p, "gcc", &a, &["x.o", "x.d"]);
    let vars = base_vars(&p, &[]);
    for _ in 0..2 {
        let (got, _) = cached_outputs(&env, &p, "gcc", &a, &vars, &["x.o", "x.d"]);
        assert_bytes_eq(&got[0], &want[0], "object");
        assert_bytes_eq(&got[1], &want[1], "dependency file");
    }
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
}
