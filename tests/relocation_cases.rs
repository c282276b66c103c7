//! Relocation cases ccache handles and objcache used to miss (issue 23),
//! against the real gcc and clang:
//!
//! - a source named by an absolute path inside the working directory
//!   (`$(CURDIR)/x.cpp`) and `-I$(CURDIR)`: compiled as `./x.cpp` and `-I.`,
//!   so C++ keeps direct mode, diagnostics name no base_dir path, and the
//!   `.d` is still the plain compiler's;
//! - a working directory reached through a symlink, with `PWD` relative or
//!   unset, or paths spelled physically while `PWD` is the symlinked one;
//! - `--explain` after a relocated hit;
//! - in `maps`: `-fdebug-prefix-map=$PWD=.` without base_dir, profile data
//!   paths and split DWARF objects under base_dir.
//!
//! Each check compares counters and the bytes objcache writes with what
//! the plain compiler writes.

use crate::common::direct_mode::{c, expect, settle};
use crate::common::*;
use std::path::{Path, PathBuf};

mod maps;

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
/// `<string>` (whose configuration header uses `__FILE__`), and naming
/// itself with `__FILE__`: `./x.cpp` in every checkout.
fn cpp_project(dir: &Path) {
    write_file(
        &dir.join("x.cpp"),
        "#include \"x.h\"\n#include <string>\nstd::string f() { return std::string(X, 'x'); }\n\
         const char *file = __FILE__;\n",
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

/// ccache's suite layout: `run -> run.real`, two checkouts `d1` and `d2`
/// each with `src/test.c` including `<test.h>` from `include/`.
fn symlinked_run(root: &Path) -> PathBuf {
    for d in ["d1", "d2"] {
        let c = root.join("run.real").join(d);
        write_file(
            &c.join("src/test.c"),
            "#include <stdarg.h>\n#include <test.h>\n",
        );
        write_file(&c.join("include/test.h"), "int test;\n");
    }
    std::os::unix::fs::symlink("run.real", root.join("run")).unwrap();
    root.join("run")
}

/// `objcache cc args` in `cwd` (reached through its symlinked spelling)
/// with `PWD` as `pwd` says (`None`: unset) and `vars`; the object must be
/// the plain compiler's.
fn cached_in(
    env: &TestEnv,
    cwd: &Path,
    pwd: Option<&str>,
    a: &[String],
    vars: &[(String, String)],
) {
    let want = plain_object("gcc", cwd, a, "test.o");
    rm(&cwd.join("test.o"));
    let mut cmd = env.objcache_in(cwd, std::iter::once("gcc".to_string()).chain(a.to_vec()));
    match pwd {
        Some(p) => cmd.env("PWD", p),
        None => cmd.env_remove("PWD"),
    };
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert!(out.success(), "{a:?}\n{}", out.dump());
    assert_bytes_eq(
        &read(&cwd.join("test.o")),
        &want,
        &format!("object of {a:?}"),
    );
}

/// ccache's suite, basedir "Relative PWD" and "Unset PWD": in a tree
/// reached through a symlink, with `base_dir=$(pwd)` (the symlinked
/// spelling) and `PWD` relative or unset, the include directory used to be
/// given as `../../run/d1/include`, which names the checkout: no hit from
/// `d2`. Relative to the real base directory it is `include` in both.
#[test]
fn a_symlinked_tree_without_an_absolute_pwd_relocates() {
    require("gcc");
    for pwd in [Some("."), None] {
        let env = TestEnv::new();
        let run_dir = symlinked_run(&env.root().canonicalize().unwrap());
        settle();
        for d in ["d1", "d2"] {
            let logical = run_dir.join(d);
            let a = args(&[
                &format!("-I{}/include", logical.display()),
                "-c",
                "src/test.c",
            ]);
            cached_in(&env, &logical, pwd, &a, &base_vars(&logical, &[]));
        }
        expect(
            &env,
            c(1, 1, 0, 1, 1),
            &format!("PWD {pwd:?}: d2 hits d1's entry"),
        );
    }
}

/// ccache's suite, basedir "Symlinked build dir inside source dir" and
/// "Symlinked source dir inside build dir": with `PWD` the symlinked
/// (apparent) directory, paths spelled through the physical one (Make's
/// `$(CURDIR)`) were given relative to the apparent directory
/// (`../../../run.real/d2/include`): no hit. Relative to the physical
/// directory they are what the apparent spelling gives.
#[test]
fn physical_spellings_from_a_symlinked_working_directory_relocate() {
    require("gcc");
    let env = TestEnv::new();
    let root = env.root().canonicalize().unwrap();
    let run_dir = symlinked_run(&root);
    settle();
    let vars = base_vars(Path::new("/"), &[]);
    let spelled = |dir: &Path| {
        args(&[
            &format!("-I{}/../include", dir.display()),
            "-c",
            &s(&dir.join("test.c")),
            "-o",
            "test.o",
        ])
    };
    for (d, physical) in [("d1", false), ("d2", false), ("d2", true)] {
        let apparent = run_dir.join(d).join("src");
        let real = root.join("run.real").join(d).join("src");
        let a = spelled(if physical { &real } else { &apparent });
        cached_in(&env, &apparent, Some(&s(&apparent)), &a, &vars);
    }
    expect(
        &env,
        c(2, 1, 0, 1, 1),
        "apparent d2 and physical d2 hit d1's entry",
    );
}

/// `--explain` in checkout B after a relocated hit there: it names B's
/// output (found by its own spelling too), and A's as the one whose miss
/// is on record. It used to name only A's output, and B's absolute path
/// found nothing.
#[test]
fn explain_after_a_relocated_hit_names_this_checkouts_output() {
    require("gcc");
    let env = TestEnv::new();
    let root = env.root().canonicalize().unwrap();
    let builds = [root.join("a/build"), root.join("bb/build")];
    for b in &builds {
        write_file(&b.join("t.c"), "int t;\n");
    }
    settle();
    let vars = base_vars(&root, &[]);
    for b in &builds {
        let a = args(&["-c", &s(&b.join("t.c")), "-o", &s(&b.join("t.o"))]);
        cached_outputs(&env, b, "gcc", &a, &vars, &["t.o"]);
    }
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    let (a_out, b_out) = (s(&builds[0].join("t.o")), s(&builds[1].join("t.o")));
    for asked in ["t.o", b_out.as_str()] {
        let mut cmd = env.objcache_in(&builds[1], ["--explain", asked]);
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let text = run_ok(&mut cmd).stdout_str();
        assert_eq!(text.lines().next(), Some("hit"), "{asked}: {text}");
        assert!(
            text.contains(&format!("the last call for {b_out}")),
            "{asked}: names this checkout's output: {text}"
        );
        assert!(
            text.contains(&format!("{a_out}'s")),
            "{asked}: and whose miss it was: {text}"
        );
    }
}

/// A `-D` value naming a path under base_dir is the program's data, not a
/// path objcache may relate: each checkout's object carries its own.
#[test]
fn a_define_naming_a_path_under_base_dir_is_each_checkouts_own() {
    let env = TestEnv::new();
    let base = env.dir("ci");
    let mut objects = Vec::new();
    for checkout in ["one", "two"] {
        let dir = base.join(checkout).join("proj");
        write_file(
            &dir.join("a.c"),
            "#define S(x) #x\n#define STR(x) S(x)\nconst char *data = STR(DATA);\n",
        );
        let define = format!("-DDATA={}", s(&base.join(checkout).join("data")));
        let args: Vec<String> = [define.as_str(), "-c", "a.c", "-o", "a.o"]
            .iter()
            .map(|a| a.to_string())
            .collect();
        settle();
        let (data, _) = cached_outputs(&env, &dir, "gcc", &args, &base_vars(&base, &[]), &["a.o"]);
        let (plain_data, _) = plain_outputs(&dir, "gcc", &args, &["a.o"]);
        assert_eq!(
            data[0], plain_data[0],
            "{checkout}: the object is the plain compiler's"
        );
        objects.push(data[0].clone());
    }
    assert!(objects[0] != objects[1]);
    expect(&env, c(0, 2, 0, 2, 2), "two checkouts, two misses");
}
