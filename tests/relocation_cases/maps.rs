//! Prefix maps of the working directory without base_dir, profile data
//! paths and split DWARF objects under base_dir (see the parent module).

use super::*;

/// The recipe docs/configuration.md gives for debug builds that hit from
/// any directory: the `CFLAGS=…` line of its `sh` block.
fn documented_debug_recipe() -> String {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .unwrap();
    let line = doc
        .lines()
        .find(|l| l.starts_with("CFLAGS=") && l.contains("prefix-map=$PWD="))
        .expect("docs/configuration.md gives the -fdebug-prefix-map=$PWD recipe");
    line.to_string()
}

/// Runs `recipe` then `COMMAND $CFLAGS -c t.c -o t.o` in `dir` with bash,
/// through objcache when `env` is given; returns the object.
fn with_recipe(env: Option<&TestEnv>, dir: &Path, recipe: &str, cc: &str) -> Vec<u8> {
    rm(&dir.join("t.o"));
    let cmd = match env {
        Some(env) => {
            let mut cmd = env.objcache_in(dir, ["--version"]);
            cmd.env("OBJCACHE", objcache_bin());
            cmd
        }
        None => {
            let mut cmd = std::process::Command::new("true");
            clean_env(&mut cmd);
            cmd.current_dir(dir);
            cmd.env("OBJCACHE", "");
            cmd
        }
    };
    let script = format!(
        "cd '{}' && {recipe} && exec $OBJCACHE {cc} $CFLAGS -c t.c -o t.o",
        dir.display()
    );
    let mut bash = std::process::Command::new("bash");
    bash.arg("-c").arg(&script);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => bash.env(k, v),
            None => bash.env_remove(k),
        };
    }
    bash.current_dir(dir);
    let out = run(&mut bash);
    assert!(out.success(), "{script}\n{}", out.dump());
    let obj = read(&dir.join("t.o"));
    rm(&dir.join("t.o"));
    obj
}

/// docs/configuration.md's recipe, `-g -fdebug-prefix-map=$PWD=.`, without
/// base_dir: the same build in another directory hits (ccache 4.7.5 does),
/// with the plain compiler's object there. The map used to be hashed as
/// spelled, with the directory in it.
#[test]
fn the_documented_debug_recipe_hits_from_any_directory_without_base_dir() {
    let recipe = documented_debug_recipe();
    for cc in ["gcc", "clang"] {
        require(cc);
        let env = TestEnv::new();
        let root = env.root().canonicalize().unwrap();
        let dirs = [root.join("one/w"), root.join("second_dir/w")];
        for d in &dirs {
            write_file(
                &d.join("t.c"),
                "#include \"inc/t.h\"\nint g(int x) { return x * T; }\n",
            );
            write_file(&d.join("inc/t.h"), "#define T 3\n");
        }
        settle();
        for (n, d) in dirs.iter().enumerate() {
            let want = with_recipe(None, d, &recipe, cc);
            let got = with_recipe(Some(&env), d, &recipe, cc);
            assert_bytes_eq(&got, &want, &format!("{cc}: object in {}", d.display()));
            let want_counts = if n == 0 {
                c(0, 1, 0, 1, 1)
            } else {
                c(1, 1, 0, 1, 1)
            };
            expect(
                &env,
                want_counts,
                &format!("{cc}: {recipe} in {}", d.display()),
            );
        }
    }
}

/// The map of the working directory hashed by its place there must not let
/// a directory share an object whose debug information another directory's
/// map would change: a header read by an absolute path that lies under one
/// working directory and not under the other (here `$ROOT/shared/h.h`,
/// under the working directory `$ROOT` but not `$ROOT/a`), or an argument
/// naming a path under the working directory.
#[test]
fn a_header_under_one_directorys_map_only_is_not_shared() {
    require("gcc");
    let env = TestEnv::new();
    let root = env.root().canonicalize().unwrap();
    let header = root.join("shared/h.h");
    write_file(&header, "static int h(void) { return 1; }\n");
    let source = format!(
        "#include \"{}\"\nint g(void) {{ return h(); }}\n",
        header.display()
    );
    let a = root.join("a");
    write_file(&a.join("t.c"), &source);
    write_file(&root.join("t.c"), &source);
    settle();
    let call = |dir: &Path| {
        args(&[
            "-g",
            &format!("-fdebug-prefix-map={}=.", dir.display()),
            "-c",
            "t.c",
        ])
    };
    for dir in [&a, &root, &root, &a] {
        let want = plain_object("gcc", dir, call(dir), "t.o");
        let (got, _) = cached_outputs(&env, dir, "gcc", &call(dir), &[], &["t.o"]);
        assert_bytes_eq(&got[0], &want, &format!("object in {}", dir.display()));
    }
    // $ROOT's compile is its own (a miss, then a hit); $ROOT/a's second call hits its first.
    assert_eq!((env.hits(), env.misses()), (2, 2), "{:?}", env.stats());
}

/// Profile data for `t.c` compiled to `t.o` in `build`, read with
/// `-fprofile-use=PD`: gcc names it after the object's absolute path.
fn gcc_profile(build: &Path, pd: &Path) {
    let gen = format!("-fprofile-generate={}", pd.display());
    let out = plain("gcc", build, [gen.as_str(), "-O2", "t.c", "-o", "t"]);
    assert!(out.success(), "{}", out.dump());
    assert!(run(&mut std::process::Command::new(build.join("t"))).success());
}

/// `-fprofile-use=$CHECKOUT/pd` under base_dir (ccache's "-fprofile-use=
/// path family relative to base_dir"): the compiler is given `../pd`, so
/// gcc's record of its options in the debug information is the same in
/// every checkout, and checkouts with the same profile share the object.
/// The path used to be passed as given but hashed relative to base_dir: with
/// the working directory mapped away, the second checkout got an object
/// naming the first one's profile directory.
#[test]
fn profile_paths_are_given_relative_under_base_dir() {
    require("gcc");
    let env = TestEnv::new();
    let root = env.root().canonicalize().unwrap();
    let checkouts = [root.join("a"), root.join("bb")];
    for c in &checkouts {
        write_file(
            &c.join("build/t.c"),
            "int main(void) { for (int i = 0; i < 9; i++) ; return 0; }\n",
        );
    }
    gcc_profile(&checkouts[0].join("build"), &checkouts[0].join("pd"));
    let mangled = |c: &Path| format!("{}/t.gcda", c.join("build").display()).replace('/', "#");
    let (pa, pb) = (checkouts[0].join("pd"), checkouts[1].join("pd"));
    std::fs::create_dir_all(&pb).unwrap();
    std::fs::copy(
        pa.join(mangled(&checkouts[0])),
        pb.join(mangled(&checkouts[1])),
    )
    .unwrap();
    settle();
    let vars = base_vars(&root, &[]);
    for c in &checkouts {
        let build = c.join("build");
        let call = |pd: &str| {
            let map = format!("-fdebug-prefix-map={}=.", build.display());
            args(&[
                "-g",
                "-O2",
                &map,
                &format!("-fprofile-use={pd}"),
                "-c",
                "t.c",
                "-o",
                "t.o",
            ])
        };
        let want = plain_object("gcc", &build, call("../pd"), "t.o");
        let (got, _) = cached_outputs(
            &env,
            &build,
            "gcc",
            &call(&s(&c.join("pd"))),
            &vars,
            &["t.o"],
        );
        assert_bytes_eq(&got[0], &want, &format!("object in {}", build.display()));
    }
    expect(
        &env,
        c(1, 1, 0, 1, 1),
        "the second checkout hits the first one's entry",
    );
}

/// Where an instrumented program writes its profiles is named in the
/// object as given: `-fprofile-generate=DIR` and `-fprofile-dir=DIR` with
/// it keep their spelling, and checkouts do not share such objects. (gcc
/// stamps each such object anew: the objects are compared by the path.)
#[test]
fn profile_output_paths_keep_their_spelling() {
    require("gcc");
    let env = TestEnv::new();
    let root = env.root().canonicalize().unwrap();
    let vars = base_vars(&root, &[]);
    for (n, c) in [root.join("a"), root.join("bb")].iter().enumerate() {
        write_file(&c.join("build/t.c"), "int main(void) { return 0; }\n");
        settle();
        let build = c.join("build");
        for generate in [
            vec![format!("-fprofile-generate={}/pd", c.display())],
            vec![
                "-fprofile-generate".to_string(),
                format!("-fprofile-dir={}/pd", c.display()),
            ],
        ] {
            let mut a = generate.clone();
            a.extend(args(&["-c", "t.c", "-o", "t.o"]));
            let (got, _) = cached_outputs(&env, &build, "gcc", &a, &vars, &["t.o"]);
            let own = format!("{}/pd/", c.display());
            assert!(
                got[0].windows(own.len()).any(|w| w == own.as_bytes()),
                "{generate:?} in checkout {n}: the object names {own}"
            );
        }
    }
    assert_eq!(env.hits(), 0, "{:?}", env.stats());
}

/// A profile path that keeps its absolute spelling (here: it has a space,
/// which base_dir's rewrite does not give relative) is in gcc's record of
/// the options, so with `-g` it is hashed as spelled: the second checkout
/// gets its own object, not one naming the first checkout's directory.
#[test]
fn a_profile_path_kept_absolute_is_hashed_as_spelled_with_debug_info() {
    require("gcc");
    let env = TestEnv::new();
    let root = env.root().canonicalize().unwrap();
    let checkouts = [root.join("one x"), root.join("two x")];
    for c in &checkouts {
        write_file(
            &c.join("build/t.c"),
            "int main(void) { for (int i = 0; i < 9; i++) ; return 0; }\n",
        );
        gcc_profile(&c.join("build"), &c.join("pd"));
    }
    let mangled = |c: &Path| format!("{}/t.gcda", c.join("build").display()).replace('/', "#");
    // The same profile in both, so that only the path differs.
    let first = checkouts[0].join("pd").join(mangled(&checkouts[0]));
    std::fs::copy(first, checkouts[1].join("pd").join(mangled(&checkouts[1]))).unwrap();
    settle();
    let vars = base_vars(&root, &[]);
    for c in &checkouts {
        let build = c.join("build");
        let map = format!("-fdebug-prefix-map={}=.", build.display());
        let pd = format!("-fprofile-use={}", c.join("pd").display());
        let a = args(&["-g", "-O2", &map, &pd, "-c", "t.c", "-o", "t.o"]);
        let want = plain_object("gcc", &build, &a, "t.o");
        let (got, _) = cached_outputs(&env, &build, "gcc", &a, &vars, &["t.o"]);
        assert_bytes_eq(&got[0], &want, &format!("object in {}", build.display()));
    }
    assert_eq!(env.hits(), 0, "{:?}", env.stats());
}

/// ccache's suite, split_dwarf "-fdebug-prefix-map and -gsplit-dwarf": the
/// object names its `.dwo` by the output as the compiler is given it, so
/// under base_dir `-o $PWD/test.o` is given as `test.o` (as ccache does):
/// the object names no checkout, and the second checkout hits. The `.dwo`
/// name used to be absolute and in the key.
#[test]
fn split_dwarf_objects_name_their_dwo_relative_under_base_dir() {
    for cc in ["gcc", "clang"] {
        require(cc);
        let env = TestEnv::new();
        let root = env.root().canonicalize().unwrap();
        let checkouts = [root.join("dir1"), root.join("dir2")];
        for c in &checkouts {
            write_file(
                &c.join("src/test.c"),
                "#include <stdarg.h>\n#include <test.h>\n",
            );
            write_file(&c.join("include/test.h"), "int test;\n");
        }
        settle();
        for (n, p) in checkouts.iter().enumerate() {
            let map = format!("-fdebug-prefix-map={}=.", p.display());
            let a = args(&[
                &format!("-I{}/include", p.display()),
                "-g",
                "-gsplit-dwarf",
                &map,
                "-c",
                &s(&p.join("src/test.c")),
                "-o",
                &s(&p.join("test.o")),
            ]);
            let relative = args(&[
                "-Iinclude",
                "-g",
                "-gsplit-dwarf",
                &map,
                "-c",
                "src/test.c",
                "-o",
                "test.o",
            ]);
            let files = ["test.o", "test.dwo"];
            let (want, _) = plain_outputs(p, cc, &relative, &files);
            let (got, _) = cached_outputs(&env, p, cc, &a, &base_vars(p, &[]), &files);
            let what = format!("{cc} in {}", p.display());
            assert_bytes_eq(&got[0], &want[0], &format!("{what}: object"));
            assert_bytes_eq(&got[1], &want[1], &format!("{what}: .dwo"));
            let path = s(p);
            assert!(
                !got[0].windows(path.len()).any(|w| w == path.as_bytes()),
                "{what}: the object names the checkout"
            );
            let want_counts = if n == 0 {
                c(0, 1, 0, 1, 1)
            } else {
                c(1, 1, 0, 1, 1)
            };
            expect(&env, want_counts, &what);
        }
    }
}
