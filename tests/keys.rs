//! Inputs that decide the output must be in the key: each test compiles
//! twice so that a wrong hit would be possible, and compares the second
//! result with what the compiler itself produces for that call.

use std::path::Path;

use crate::common::*;

/// Source files older than the calls, so direct mode records them.
fn backdate(dir: &Path) {
    for f in walk_files(dir) {
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
}

fn objcache(env: &TestEnv, cwd: &Path, args: &[&str], vars: &[(&str, &str)]) -> Out {
    let mut cmd = env.objcache_in(cwd, args);
    cmd.env("PWD", cwd);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    out
}

/// `__FILE__` (in the source, or from `assert` in a header) names the
/// absolute path of each checkout: relocated builds under base_dir must not
/// share those objects, in direct mode or preprocessor mode. (`-I.`, a
/// relative path of the call's own, keeps the source in the working
/// directory absolute; without it the compiler is given `./x.c`.)
#[test]
fn file_macro_with_absolute_paths_is_not_shared_between_checkouts() {
    for (name, text) in [
        ("x.c", "const char *f = __FILE__;\n"),
        (
            "y.c",
            "#include <assert.h>\nint g(int x) { assert(x); return x; }\n",
        ),
    ] {
        for direct in [true, false] {
            let env = TestEnv::new();
            let base = env.dir("ci");
            let (a, b) = (base.join("a"), base.join("bb"));
            for d in [&a, &b] {
                std::fs::create_dir_all(d).unwrap();
                std::fs::write(d.join(name), text).unwrap();
            }
            backdate(&base);
            let mut vars = vec![("CCACHE_BASEDIR", base.to_str().unwrap())];
            if !direct {
                vars.push(("CCACHE_NODIRECT", "1"));
            }
            for d in [&a, &b] {
                let src = d.join(name).display().to_string();
                objcache(&env, d, &["gcc", "-I.", "-c", &src, "-o", "out.o"], &vars);
            }
            let src = b.join(name).display().to_string();
            let call = ["-I.", "-c", src.as_str(), "-o", "ref.o"];
            let expected = plain_object("gcc", &b, call, "ref.o");
            assert_bytes_eq(
                &read(&b.join("out.o")),
                &expected,
                &format!("{name}, direct={direct}"),
            );
        }
    }
}

/// Diagnostics of a relocated hit name this checkout's files, as the
/// compiler would (`-I.` keeps the source's absolute spelling, as in the
/// test above).
#[test]
fn relocated_hit_replays_diagnostics_with_this_checkouts_paths() {
    let env = TestEnv::new();
    let base = env.dir("ci");
    let (a, b) = (base.join("a"), base.join("bbbb"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("w.c"), "#warning hello\nint x;\n").unwrap();
    }
    backdate(&base);
    let vars = [
        ("CCACHE_BASEDIR", base.to_str().unwrap()),
        ("CCACHE_NOHASHDIR", "1"),
    ];
    for d in [&a, &b] {
        let src = d.join("w.c").display().to_string();
        let out = objcache(&env, d, &["gcc", "-I.", "-c", &src, "-o", "w.o"], &vars);
        let plain_out = plain("gcc", d, ["-I.", "-c", src.as_str(), "-o", "ref.o"]);
        assert_bytes_eq(
            &out.stderr,
            &plain_out.stderr,
            &format!("stderr in {}", d.display()),
        );
    }
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
}

/// Operands the compiler does not compile still change what it prints.
#[test]
fn linker_operands_are_part_of_the_key() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    std::fs::write(proj.join("extra.o"), b"").unwrap();
    std::fs::write(proj.join("other.o"), b"").unwrap();
    backdate(&proj);
    for extra in ["extra.o", "other.o"] {
        let args = ["-c", "src/util.c", "-I", "include", extra, "-o", "util.o"];
        let mut full = vec!["gcc"];
        full.extend(args);
        let out = objcache(&env, &proj, &full, &[]);
        let p = plain("gcc", &proj, args);
        assert_bytes_eq(&out.stderr, &p.stderr, extra);
    }
}

fn require_clang() {
    require("clang");
}

/// clang options whose value is a separate argument must not be taken for
/// an input file and left out of the key.
#[test]
fn clang_separate_value_options_are_hashed() {
    require_clang();
    let env = TestEnv::new();
    let root = env.dir("w");
    for (d, v) in [("d1", 1), ("d2", 2)] {
        std::fs::create_dir_all(root.join(d)).unwrap();
        std::fs::write(root.join(d).join("h.h"), format!("#define V {v}\n")).unwrap();
    }
    std::fs::write(root.join("s.c"), "#include <h.h>\nint v = V;\n").unwrap();
    backdate(&root);
    for d in ["d1", "d2"] {
        let dir = root.join(d).display().to_string();
        objcache(
            &env,
            &root,
            &["clang", "-iwithsysroot", &dir, "-c", "s.c", "-o", "s.o"],
            &[],
        );
        let expected = plain_object(
            "clang",
            &root,
            ["-iwithsysroot", dir.as_str(), "-c", "s.c", "-o", "ref.o"],
            "ref.o",
        );
        assert_bytes_eq(&read(&root.join("s.o")), &expected, d);
    }
}

/// clang records its command line (output name included) in the object.
#[test]
fn clang_recorded_command_line_includes_the_output_name() {
    require_clang();
    let env = TestEnv::new();
    let root = env.dir("w");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("m.c"), "int main(void) { return 0; }\n").unwrap();
    backdate(&root);
    for out in ["x1.o", "sub/x2.o"] {
        objcache(
            &env,
            &root,
            &[
                "clang",
                "-g",
                "-grecord-command-line",
                "-c",
                "m.c",
                "-o",
                out,
            ],
            &[],
        );
    }
    let expected = plain_object(
        "clang",
        &root,
        ["-g", "-grecord-command-line", "-c", "m.c", "-o", "sub/x2.o"],
        "sub/x2.o",
    );
    // The plain compile just overwrote sub/x2.o: compile through objcache again.
    objcache(
        &env,
        &root,
        &[
            "clang",
            "-g",
            "-grecord-command-line",
            "-c",
            "m.c",
            "-o",
            "sub/x2.o",
        ],
        &[],
    );
    assert_bytes_eq(&read(&root.join("sub/x2.o")), &expected, "object");
}

/// CCC_OVERRIDE_OPTIONS edits clang's command line from the environment.
#[test]
fn clang_override_options_variable_is_part_of_the_key() {
    require_clang();
    let env = TestEnv::new();
    let root = env.dir("w");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("e.c"),
        "#ifndef V\n#define V 1\n#endif\nint v = V;\n",
    )
    .unwrap();
    backdate(&root);
    objcache(&env, &root, &["clang", "-c", "e.c", "-o", "e.o"], &[]);
    objcache(
        &env,
        &root,
        &["clang", "-c", "e.c", "-o", "e.o"],
        &[("CCC_OVERRIDE_OPTIONS", "+-DV=2")],
    );
    let out = std::process::Command::new("clang")
        .args(["-c", "e.c", "-o", "ref.o"])
        .current_dir(&root)
        .env("CCC_OVERRIDE_OPTIONS", "+-DV=2")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_bytes_eq(
        &read(&root.join("e.o")),
        &read(&root.join("ref.o")),
        "object",
    );
}

/// As in ccache's preprocessor mode, `-D`/`-I` go into the key only through
/// the preprocessed text: a compile of `t.i` hits the result of the `t.c`
/// it came from, and an unused `-D` does not split the cache. With `-g`
/// (the line table has the columns of macros or of their expansions) and
/// `-g3` (macro definitions in the object) they do not share, and every
/// object is the compiler's own for its call.
#[test]
fn preprocessed_source_shares_the_result_of_its_source() {
    let cases = [("gcc", "c", "i"), ("g++", "cpp", "ii"), ("clang", "c", "i")];
    for ((compiler, ext, pp_ext), direct) in cases.into_iter().zip([false, true, false]) {
        require(compiler);
        let mode = [(
            if direct {
                "CCACHE_DIRECT"
            } else {
                "CCACHE_NODIRECT"
            },
            "1",
        )];
        let env = TestEnv::new();
        let dir = env.dir("p");
        std::fs::create_dir(dir.join("inc")).unwrap();
        std::fs::write(dir.join("inc/h.h"), "#define X 3\n").unwrap();
        let src = format!("t.{ext}");
        let pp = format!("t.{pp_ext}");
        std::fs::write(
            dir.join(&src),
            "#include \"h.h\"\nint f(int x) { return x + X + Y; }\n",
        )
        .unwrap();
        let (s, p) = (src.as_str(), pp.as_str());
        let out = plain(compiler, &dir, ["-E", "-Iinc", "-DY=1", s, "-o", p]);
        assert!(out.success(), "{}", out.dump());
        // (call, hit expected)
        let calls: &[(&[&str], bool)] = &[
            (&["-O2", "-Iinc", "-DY=1", "-c", s, "-o", "a.o"], false),
            (&["-O2", "-c", p, "-o", "b.o"], true),
            (
                &["-O2", "-Iinc", "-DY=1", "-DUNUSED", "-c", s, "-o", "c.o"],
                true,
            ),
            (
                &["-O2", "-g", "-Iinc", "-DY=1", "-c", s, "-o", "d.o"],
                false,
            ),
            (&["-O2", "-g", "-c", p, "-o", "e.o"], false),
            (
                &["-O2", "-g3", "-Iinc", "-DY=1", "-c", s, "-o", "f.o"],
                false,
            ),
            (
                &[
                    "-O2", "-g3", "-Iinc", "-DY=1", "-DUNUSED", "-c", s, "-o", "g.o",
                ],
                false,
            ),
        ];
        for (call, hit) in calls {
            let out_name = call[call.len() - 1];
            let expected = plain_object(compiler, &dir, call.iter(), out_name);
            let hits = env.hits();
            let mut args: Vec<&str> = vec![compiler];
            args.extend(call.iter());
            objcache(&env, &dir, &args, &mode);
            assert_bytes_eq(
                &read(&dir.join(out_name)),
                &expected,
                &format!("{compiler} {call:?}"),
            );
            assert_eq!(
                env.hits() - hits,
                u64::from(*hit),
                "{compiler} {call:?}: {:?}",
                env.stats()
            );
        }
    }
}
