//! Relocation with base_dir-relative compiler arguments (ccache's base_dir,
//! hash_dir and absolute_paths_in_stderr semantics), against the real gcc
//! and clang on real files:
//!
//! - hash_dir = false in preprocessor mode with `-g`, and `-fdebug-prefix-map`
//!   / `-ffile-prefix-map` that map the working directory away;
//! - path spellings (`//`, `.`, `..`) and symlinks (build dir inside the
//!   source dir, source dir inside the build dir, `$PWD` unset or relative,
//!   symlinked sources with `base_dir = /`) still give the plain compiler's
//!   object;
//! - absolute `-MF`/`-MT`/`-MQ`, `-MD` without `-MT`, `-MMD -MP` and long,
//!   wrapped rules: the `.d` after a miss and after a (relocated) hit is the
//!   plain compiler's for the user's own command, byte for byte;
//! - `base_dir = /` and several `:`-separated base directories relocate;
//! - `__FILE__` in a header and a live `assert()` get direct hits in a
//!   relocated copy and name the relative path;
//! - diagnostics name the relative path by default and the user's absolute
//!   one with `absolute_paths_in_stderr`.
//!
//! Every check compares counters from `--print-stats` and output bytes with
//! what the plain compiler writes.

use crate::common::direct_mode::*;
use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};

const COMPILERS: [&str; 2] = ["gcc", "clang"];

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn symlink(target: &str, link: &Path) {
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// The root of a test environment with symlinks resolved, so that `$PWD`
/// spellings built from it are the physical ones.
fn real_root(env: &TestEnv) -> PathBuf {
    env.root().canonicalize().unwrap()
}

/// How `PWD` is set for a call.
#[derive(Clone, Copy)]
enum Pwd<'a> {
    /// `PWD` names the call's working directory.
    Cwd,
    /// `PWD` is set to this (an apparent, symlinked, spelling or garbage).
    Is(&'a str),
    Unset,
}

fn set_pwd(cmd: &mut std::process::Command, cwd: &Path, pwd: Pwd) {
    match pwd {
        Pwd::Cwd => cmd.env("PWD", cwd),
        Pwd::Is(p) => cmd.env("PWD", p),
        Pwd::Unset => cmd.env_remove("PWD"),
    };
}

/// `objcache CC ARGS` in `cwd` with `vars`; must succeed.
fn cached(
    env: &TestEnv,
    cwd: &Path,
    pwd: Pwd,
    cc: &str,
    a: &[String],
    vars: &[(&str, String)],
) -> Out {
    let mut cmd = env.objcache_in(
        cwd,
        std::iter::once(cc.to_string()).chain(a.iter().cloned()),
    );
    set_pwd(&mut cmd, cwd, pwd);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let desc = format!("{cmd:?}");
    let out = run(&mut cmd);
    assert!(out.success(), "{desc}\n{}", out.dump());
    out
}

/// The plain compiler in `cwd` (same `PWD` rule); must succeed.
fn plain_in(cwd: &Path, pwd: Pwd, cc: &str, a: &[String]) -> Out {
    let mut cmd = std::process::Command::new(cc);
    clean_env(&mut cmd);
    cmd.current_dir(cwd).args(a);
    set_pwd(&mut cmd, cwd, pwd);
    let desc = format!("{cmd:?}");
    let out = run(&mut cmd);
    assert!(out.success(), "plain {desc}\n{}", out.dump());
    out
}

/// One compile: `cc a` in `cwd` with `PWD` set by `pwd`, writing `files`
/// (relative to `cwd` or absolute); objcache also gets `vars`.
struct Call<'a> {
    cwd: &'a Path,
    pwd: Pwd<'a>,
    cc: &'a str,
    a: &'a [String],
    vars: &'a [(&'a str, String)],
    files: &'a [&'a str],
}

impl<'a> Call<'a> {
    /// With `PWD` naming `cwd`.
    fn new(
        cwd: &'a Path,
        cc: &'a str,
        a: &'a [String],
        vars: &'a [(&'a str, String)],
        files: &'a [&'a str],
    ) -> Call<'a> {
        Call {
            cwd,
            pwd: Pwd::Cwd,
            cc,
            a,
            vars,
            files,
        }
    }

    /// The bytes the plain compiler writes to `files`; the files are
    /// removed afterwards.
    fn plain(&self) -> Vec<Vec<u8>> {
        for f in self.files {
            rm(&self.cwd.join(f));
        }
        plain_in(self.cwd, self.pwd, self.cc, self.a);
        self.files
            .iter()
            .map(|f| {
                let data = read(&self.cwd.join(f));
                rm(&self.cwd.join(f));
                data
            })
            .collect()
    }

    /// Runs objcache, then checks each of `files` against `want`.
    #[track_caller]
    fn cached(&self, env: &TestEnv, want: &[Vec<u8>], what: &str) -> Out {
        for f in self.files {
            rm(&self.cwd.join(f));
        }
        let out = cached(env, self.cwd, self.pwd, self.cc, self.a, self.vars);
        for (f, want) in self.files.iter().zip(want) {
            assert_bytes_eq(
                &read(&self.cwd.join(f)),
                want,
                &format!(
                    "{what}: {f} in {} ({} {})",
                    self.cwd.display(),
                    self.cc,
                    self.a.join(" ")
                ),
            );
        }
        out
    }
}

fn base(dir: &Path) -> Vec<(&'static str, String)> {
    vec![("CCACHE_BASEDIR", s(dir))]
}

/// A project `ROOT/proj` with `src/x.c` including `include/x.h`, and an
/// empty `build` directory; returns the project directory.
fn project(root: &Path, source: &str, header: &str) -> PathBuf {
    let p = root.join("proj");
    write_file(&p.join("src/x.c"), source);
    write_file(&p.join("include/x.h"), header);
    fs::create_dir_all(p.join("build")).unwrap();
    p
}

const SIMPLE_C: &str = "#include \"x.h\"\nint f(int v) { return v * X_FACTOR; }\n";
const SIMPLE_H: &str = "#define X_FACTOR 7\n";

/// `-I$P/include -c $P/src/x.c -o x.o` plus `extra`.
fn abs_args(p: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        format!("-I{}", p.join("include").display()),
        "-c".to_string(),
        s(&p.join("src/x.c")),
        "-o".to_string(),
        "x.o".to_string(),
    ];
    a.extend(extra.iter().map(|e| e.to_string()));
    a
}

// 1. hash_dir = false in preprocessor mode.

#[test]
fn nohashdir_shares_debug_objects_between_directories_in_preprocessor_mode() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let d1 = env.dir("dir1");
        let d2 = env.dir("dir2_elsewhere");
        for d in [&d1, &d2] {
            write_file(&d.join("t.c"), "int f(int x) { return x + 1; }\n");
        }
        let a = args(&["-g", "-c", "t.c"]);
        let nohash = vec![
            ("CCACHE_NOHASHDIR", "1".to_string()),
            ("CCACHE_NODIRECT", "1".to_string()),
        ];
        let first = Call::new(&d1, cc, &a, &nohash, &["t.o"]);
        let want = first.plain();
        first.cached(&env, &want, "miss");
        expect_outcomes(&env, (0, 0, 1), &format!("{cc}: first directory"));
        // hash_dir = false: the object made in dir1 (naming dir1) is shared.
        Call::new(&d2, cc, &a, &nohash, &["t.o"]).cached(&env, &want, "hit");
        expect_outcomes(&env, (0, 1, 1), &format!("{cc}: other directory hits"));
        // With hash_dir (the default) the directory is part of the key.
        let hashdir = vec![("CCACHE_NODIRECT", "1".to_string())];
        let hashed = Call::new(&d2, cc, &a, &hashdir, &["t.o"]);
        let want2 = hashed.plain();
        hashed.cached(&env, &want2, "miss");
        expect_outcomes(&env, (0, 1, 2), &format!("{cc}: hash_dir on misses"));
    }
}

// 2. Prefix maps with hash_dir on.

#[test]
fn prefix_map_of_the_directory_makes_debug_builds_relocatable_with_hash_dir() {
    for cc in COMPILERS {
        require(cc);
        for map in ["-fdebug-prefix-map", "-ffile-prefix-map"] {
            let env = TestEnv::new();
            let root = real_root(&env);
            let d1 = root.join("one/build");
            let d2 = root.join("second_root/build");
            for d in [&d1, &d2] {
                write_file(&d.join("t.c"), "int g(int x) { return x * 3; }\n");
            }
            settle();
            let mapped = |d: &Path| args(&["-g", &format!("{map}={}=.", d.display()), "-c", "t.c"]);
            let vars = base(&root);
            let what = format!("{cc} {map}");
            let (a1, a2) = (mapped(&d1), mapped(&d2));
            let c1 = Call::new(&d1, cc, &a1, &vars, &["t.o"]);
            let c2 = Call::new(&d2, cc, &a2, &vars, &["t.o"]);
            let (w1, w2) = (c1.plain(), c2.plain());
            c1.cached(&env, &w1, &what);
            expect_outcomes(&env, (0, 0, 1), &what);
            c2.cached(&env, &w2, &what);
            expect_hits(
                &env,
                (1, 1),
                &format!("{what}: the mapped directory is the same: hit"),
            );
            // Without the map, -g and hash_dir: the directory differs.
            let a = args(&["-g", "-c", "t.c"]);
            let c1 = Call::new(&d1, cc, &a, &vars, &["t.o"]);
            let c2 = Call::new(&d2, cc, &a, &vars, &["t.o"]);
            let (w1, w2) = (c1.plain(), c2.plain());
            c1.cached(&env, &w1, &what);
            c2.cached(&env, &w2, &what);
            expect_hits(
                &env,
                (1, 3),
                &format!("{what}: unmapped debug builds in two directories miss"),
            );
        }
    }
}

// 3. Path spellings.

#[test]
fn unnormalised_spellings_hit_and_keep_their_spelling_in_the_dependency_file() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let root = real_root(&env);
        let copies = [root.join("a"), root.join("copy_b")];
        for c in &copies {
            let p = project(c, SIMPLE_C, SIMPLE_H);
            fs::create_dir_all(p.join("sub")).unwrap();
        }
        settle();
        let vars = base(&root);
        let clean = |p: &Path| {
            vec![
                format!("-I{}/include", p.display()),
                "-MD".to_string(),
                "-c".to_string(),
                format!("{}/src/x.c", p.display()),
                "-o".to_string(),
                "x.o".to_string(),
            ]
        };
        let dirty = |p: &Path| {
            vec![
                format!("-I{}//./sub/../include", p.display()),
                "-MD".to_string(),
                "-c".to_string(),
                format!("{}/src/../src/x.c", p.display()),
                "-o".to_string(),
                "x.o".to_string(),
            ]
        };
        let files = ["x.o", "x.d"];
        let check = |p: &Path, a: &[String], what: &str| {
            let call = Call::new(p, cc, a, &vars, &files);
            call.cached(&env, &call.plain(), what);
        };
        let p = copies[0].join("proj");
        check(&p, &clean(&p), "clean miss");
        expect_outcomes(&env, (0, 0, 1), &format!("{cc}: clean spelling"));
        check(&p, &dirty(&p), "dirty");
        let (dh, ph, _) = outcomes(&env);
        let p = copies[1].join("proj");
        check(&p, &dirty(&p), "relocated dirty");
        let (dh2, ph2, _) = outcomes(&env);
        assert_eq!(
            dh2 + ph2,
            dh + ph + 1,
            "{cc}: the relocated unnormalised spelling hits: {:?}",
            env.stats()
        );
        assert_eq!(
            dh + ph,
            1,
            "{cc}: the unnormalised spelling hits the clean one's entry: {:?}",
            env.stats()
        );
    }
}

// 4. Symlinked build and source directories; $PWD.

/// One way of calling: what, `PWD`, the arguments (as spelled from that
/// directory), and whether the call must hit (a miss otherwise).
type Way<'a> = (&'a str, Pwd<'a>, Vec<String>, bool);

/// Builds in `physical` each way in turn; each object and `.d` must be
/// the plain compiler's for the same call, and the counters must follow.
fn build_ways(cc: &str, physical: &Path, ways: &[Way], vars: &[(&str, String)]) {
    let env = TestEnv::new();
    let (mut hits, mut misses) = (0, 0);
    for (what, pwd, a, hit) in ways {
        let call = Call {
            pwd: *pwd,
            ..Call::new(physical, cc, a, vars, &["x.o", "x.d"])
        };
        call.cached(&env, &call.plain(), what);
        if *hit {
            hits += 1;
        } else {
            misses += 1;
        }
        expect_hits(
            &env,
            (hits, misses),
            &format!("{cc}: built through the {what}"),
        );
    }
}

fn symlink_args(dir: &Path) -> Vec<String> {
    vec![
        format!("-I{}/include", dir.display()),
        "-MD".to_string(),
        "-c".to_string(),
        s(&dir.join("x.c")),
        "-o".to_string(),
        "x.o".to_string(),
    ]
}

const SYMLINK_C: &str = "#include \"local.h\"\n#include <inc.h>\nint v = LOCAL + INC;\n";

#[test]
fn build_dir_symlinked_inside_the_source_dir() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let root = real_root(&env);
        let src = root.join("src");
        write_file(&src.join("x.c"), SYMLINK_C);
        write_file(&src.join("local.h"), "#define LOCAL 3\n");
        write_file(&src.join("include/inc.h"), "#define INC 4\n");
        let physical = root.join("out/build");
        fs::create_dir_all(&physical).unwrap();
        symlink("../out/build", &src.join("build"));
        settle();
        let apparent = s(&src.join("build"));
        let a = symlink_args(&src);
        let ways = [
            ("apparent $PWD", Pwd::Is(&apparent), a.clone(), false),
            ("physical $PWD", Pwd::Cwd, a.clone(), true),
            ("unset $PWD", Pwd::Unset, a.clone(), true),
            ("relative $PWD", Pwd::Is("build"), a.clone(), true),
            ("apparent $PWD again", Pwd::Is(&apparent), a.clone(), true),
        ];
        build_ways(cc, &physical, &ways, &base(&root));
    }
}

#[test]
fn source_dir_symlinked_inside_the_build_dir() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let root = real_root(&env);
        let real = root.join("real/src");
        write_file(&real.join("x.c"), SYMLINK_C);
        write_file(&real.join("local.h"), "#define LOCAL 5\n");
        write_file(&real.join("include/inc.h"), "#define INC 6\n");
        let physical = root.join("build");
        symlink("../real/src", &physical.join("src"));
        // The build directory is reached through a symlink too.
        symlink("build", &root.join("alias"));
        settle();
        let apparent = root.join("alias");
        let app = s(&apparent);
        // Each spelled through the directory `PWD` names: the compiler runs
        // with `src/x.c` and `-Isrc/include` either way.
        let via_apparent = symlink_args(&apparent.join("src"));
        let via_physical = symlink_args(&physical.join("src"));
        let ways = [
            ("apparent $PWD", Pwd::Is(&app), via_apparent.clone(), false),
            ("physical $PWD", Pwd::Cwd, via_physical.clone(), true),
            ("unset $PWD", Pwd::Unset, via_physical.clone(), true),
            (
                "relative $PWD",
                Pwd::Is("build"),
                via_physical.clone(),
                true,
            ),
            // Apparent spellings from the physical directory are another
            // command (`../alias/src/x.c`): a miss, with the right outputs.
            (
                "physical $PWD, apparent spelling",
                Pwd::Cwd,
                via_apparent.clone(),
                false,
            ),
            (
                "unset $PWD, apparent spelling",
                Pwd::Unset,
                via_apparent,
                true,
            ),
        ];
        build_ways(cc, &physical, &ways, &base(&root));
    }
}

// 5. base_dir = / and symlinked sources.

#[test]
fn symlinked_sources_with_root_base_dir_find_the_compilers_headers() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let root = real_root(&env);
        // A source file symlinked into a directory with another foo.h.
        write_file(
            &root.join("a/x.c"),
            "#include \"foo.h\"\n#include <bar.h>\nint v = FOO * 10 + BAR;\n",
        );
        write_file(&root.join("a/foo.h"), "#define FOO 1\n");
        write_file(&root.join("b/foo.h"), "#define FOO 2\n");
        symlink("../a/x.c", &root.join("b/x.c"));
        // A directory symlink followed by `..`: the kernel goes up from the
        // target, spelling-based normalisation would not.
        write_file(&root.join("a/sub/keep"), "");
        symlink("a/sub", &root.join("link"));
        write_file(
            &root.join("x.c"),
            "#include \"foo.h\"\n#include <bar.h>\nint v = FOO * 100 + BAR;\n",
        );
        write_file(&root.join("foo.h"), "#define FOO 3\n");
        write_file(&root.join("a/inc/bar.h"), "#define BAR 4\n");
        write_file(&root.join("inc/bar.h"), "#define BAR 5\n");
        let build = root.join("build");
        fs::create_dir_all(&build).unwrap();
        settle();
        let r = root.display();
        let cases = [
            (format!("-I{r}/inc"), format!("{r}/b/x.c")),
            (format!("-I{r}/link/../inc"), format!("{r}/link/../x.c")),
            (format!("-I{r}/a/inc"), format!("{r}/b/../b/x.c")),
        ];
        let vars = vec![("CCACHE_BASEDIR", "/".to_string())];
        for (i, (inc, src)) in cases.iter().enumerate() {
            let a = vec![
                inc.clone(),
                "-c".into(),
                src.clone(),
                "-o".into(),
                "x.o".into(),
            ];
            let call = Call::new(&build, cc, &a, &vars, &["x.o"]);
            let want = call.plain();
            for what in ["miss", "hit"] {
                call.cached(&env, &want, what);
            }
            let (dh, ph, _) = outcomes(&env);
            assert!(
                dh + ph > i as u64,
                "{cc}: {src}: second call hits: {:?}",
                env.stats()
            );
        }
    }
}

// 6. Absolute -MF, -MT, -MQ with base_dir = /.

#[test]
fn absolute_dependency_options_with_root_base_dir() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let root = real_root(&env);
        let p = project(&root, SIMPLE_C, SIMPLE_H);
        let b = p.join("build");
        fs::create_dir_all(b.join("deps")).unwrap();
        fs::create_dir_all(b.join("obj")).unwrap();
        settle();
        let (bs, ps) = (b.display(), p.display());
        let variants: Vec<(Vec<String>, Vec<String>)> = vec![
            (
                vec![
                    "-MD".into(),
                    "-MF".into(),
                    format!("{bs}/deps/x.d"),
                    "-MT".into(),
                    format!("{bs}/x.o"),
                    "-MQ".into(),
                    format!("{bs}/q$.o"),
                    format!("-I{ps}/include"),
                    "-c".into(),
                    format!("{ps}/src/x.c"),
                    "-o".into(),
                    format!("{bs}/x.o"),
                ],
                vec![format!("{bs}/deps/x.d"), format!("{bs}/x.o")],
            ),
            (
                // -MD without -o or -MT: the compiler's own target (x.o).
                vec![
                    "-MD".into(),
                    format!("-I{ps}/include"),
                    "-c".into(),
                    format!("{ps}/src/x.c"),
                ],
                vec!["x.d".into(), "x.o".into()],
            ),
            (
                // The target is the -o spelling.
                vec![
                    "-MMD".into(),
                    "-MP".into(),
                    format!("-I{ps}/include"),
                    "-c".into(),
                    format!("{ps}/src/x.c"),
                    "-o".into(),
                    format!("{bs}/obj/x.o"),
                ],
                vec![format!("{bs}/obj/x.d"), format!("{bs}/obj/x.o")],
            ),
        ];
        let vars = vec![("CCACHE_BASEDIR", "/".to_string())];
        for (i, (a, files)) in variants.iter().enumerate() {
            let files: Vec<&str> = files.iter().map(String::as_str).collect();
            let call = Call::new(&b, cc, a, &vars, &files);
            let want = call.plain();
            // The first variant misses; the others may hit its entry (the
            // `.d` is rendered for their targets), which must then be exact.
            call.cached(&env, &want, "first");
            let (dh, ph, miss) = outcomes(&env);
            assert_eq!(dh + ph + miss, 2 * i as u64 + 1, "{cc}: {:?}", env.stats());
            call.cached(&env, &want, "again");
            let (dh2, ph2, miss2) = outcomes(&env);
            assert_eq!(
                (dh2 + ph2, miss2),
                (dh + ph + 1, miss),
                "{cc} {}: the second call hits: {:?}",
                a.join(" "),
                env.stats()
            );
        }
    }
}

// 7. base_dir = / and several base directories.

#[test]
fn root_base_dir_relocates_between_roots() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let root = real_root(&env);
        // Same depth, so that system headers relate alike.
        let p1 = project(&root.join("r1"), SIMPLE_C, SIMPLE_H);
        let p2 = project(&root.join("r2_with_a_longer_name"), SIMPLE_C, SIMPLE_H);
        settle();
        let vars = vec![
            ("CCACHE_BASEDIR", "/".to_string()),
            ("CCACHE_NOHASHDIR", "1".to_string()),
        ];
        for (i, p) in [&p1, &p2].into_iter().enumerate() {
            let b = p.join("build");
            let a = abs_args(p, &["-Wall"]);
            let call = Call::new(&b, cc, &a, &vars, &["x.o"]);
            call.cached(&env, &call.plain(), "root base");
            expect_hits(&env, (i as u64, 1), cc);
        }
    }
}

#[test]
fn several_base_dirs_relocate_between_them() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let root = real_root(&env);
        let xa = root.join("x/a");
        let xb = root.join("x/b");
        let pa = project(&xa, SIMPLE_C, SIMPLE_H);
        let pb = project(&xb, SIMPLE_C, SIMPLE_H);
        settle();
        let both = vec![
            (
                "CCACHE_BASEDIR",
                format!("{}:{}", xa.display(), xb.display()),
            ),
            ("CCACHE_NOHASHDIR", "1".to_string()),
        ];
        let only_a = vec![
            ("CCACHE_BASEDIR", s(&xa)),
            ("CCACHE_NOHASHDIR", "1".to_string()),
        ];
        let build = |p: &Path, vars: &[(&str, String)]| {
            let b = p.join("build");
            let a = abs_args(p, &[]);
            let call = Call::new(&b, cc, &a, vars, &["x.o"]);
            call.cached(&env, &call.plain(), "two bases");
        };
        build(&pa, &both);
        expect_outcomes(&env, (0, 0, 1), &format!("{cc}: /x/a"));
        build(&pb, &both);
        expect_hits(&env, (1, 1), &format!("{cc}: /x/b hits"));
        // With /x/b not a base directory, its absolute paths are its own.
        build(&pb, &only_a);
        expect_hits(&env, (1, 2), &format!("{cc}: /x/b outside base_dir"));
    }
}

// 8. __FILE__ in a header and assert().

const LOG_H: &str = "#include <stdio.h>\n\
#define LOG(msg) printf(\"%s:%d: %s\\n\", __FILE__, __LINE__, msg)\n\
static inline void log_header(void) { printf(\"header %s\\n\", __FILE__); }\n";

const LOG_C: &str = "#include <assert.h>\n#include \"x.h\"\n\
int main(int argc, char **argv) {\n\
    (void)argv;\n\
    log_header();\n\
    LOG(\"hello\");\n\
    assert(argc < 2);\n\
    return 0;\n\
}\n";

#[test]
fn file_macro_and_assert_relocate_with_direct_hits() {
    for cc in COMPILERS {
        require(cc);
        for debug in [false, true] {
            let env = TestEnv::new();
            let root = real_root(&env);
            let roots = [root.join("r1"), root.join("r2_longer")];
            for r in &roots {
                project(r, LOG_C, LOG_H);
            }
            settle();
            let vars = base(&root);
            let what = format!("{cc} debug={debug}");
            let mut objects = Vec::new();
            for (i, r) in roots.iter().enumerate() {
                let p = r.join("proj");
                let b = p.join("build");
                let map = format!("-fdebug-prefix-map={}=.", r.display());
                let extra: Vec<&str> = if debug { vec!["-g", &map] } else { vec![] };
                let a = abs_args(&p, &extra);
                // What the compiler gives for the relative command objcache runs.
                let mut rel = args(&["-I../include", "-c", "../src/x.c", "-o", "x.o"]);
                rel.extend(extra.iter().map(|e| e.to_string()));
                let want = Call::new(&b, cc, &rel, &vars, &["x.o"]).plain();
                Call::new(&b, cc, &a, &vars, &["x.o"]).cached(&env, &want, &what);
                expect_outcomes(&env, (i as u64, 0, 1), &format!("{what}: root {i}"));
                objects.push(read(&b.join("x.o")));
                let exe = b.join("prog");
                let o = plain_in(&b, Pwd::Cwd, cc, &args(&["x.o", "-o", "prog"]));
                assert!(o.success());
                let o = run(&mut std::process::Command::new(&exe));
                assert!(o.success(), "{}", o.dump());
                assert_eq!(
                    o.stdout_str(),
                    "header ../include/x.h\n../src/x.c:6: hello\n",
                    "{what}"
                );
                let o = run(std::process::Command::new(&exe).arg("fail"));
                assert!(!o.success());
                assert!(
                    o.stderr_str().contains("../src/x.c:7: ")
                        && o.stderr_str().contains("Assertion `argc < 2' failed"),
                    "{what}: {}",
                    o.dump()
                );
            }
            assert_bytes_eq(
                &objects[1],
                &objects[0],
                &format!("{what}: objects of the two roots"),
            );
        }
    }
}

// 9. Diagnostics.

const WARN_H: &str = "static inline int in_header(int x) {\n  int unused;\n  return x;\n}\n";
const WARN_C: &str = "#include \"x.h\"\nint f(int v) { return in_header(v); }\n";

#[test]
fn diagnostics_name_relative_paths_or_with_absolute_paths_in_stderr_the_users() {
    for cc in COMPILERS {
        require(cc);
        let env = TestEnv::new();
        let root = real_root(&env);
        let roots = [root.join("r1"), root.join("r2_longer")];
        for r in &roots {
            project(r, WARN_C, WARN_H);
        }
        settle();
        let rel = args(&["-I../include", "-Wall", "-c", "../src/x.c", "-o", "x.o"]);
        let mut abs_vars = base(&root);
        abs_vars.push(("CCACHE_ABSSTDERR", "1".to_string()));
        let abs_env = TestEnv::new();
        for (i, r) in roots.iter().enumerate() {
            let p = r.join("proj");
            let b = p.join("build");
            let a = abs_args(&p, &["-Wall"]);
            // Default: what the compiler says for the relative command.
            let relative = plain_in(&b, Pwd::Cwd, cc, &rel).stderr;
            assert!(String::from_utf8_lossy(&relative).contains("../include/x.h:2"));
            for what in ["default", "default again"] {
                let o = cached(&env, &b, Pwd::Cwd, cc, &a, &base(&root));
                assert_bytes_eq(
                    &o.stderr,
                    &relative,
                    &format!("{cc} {what} stderr, root {i}"),
                );
            }
            expect_hits(&env, (2 * i as u64 + 1, 1), cc);
            // absolute_paths_in_stderr: the plain compiler's for the user's command.
            let absolute = plain_in(&b, Pwd::Cwd, cc, &a).stderr;
            assert!(String::from_utf8_lossy(&absolute)
                .contains(&format!("{}/include/x.h:2", p.display())));
            for what in ["absolute", "absolute again"] {
                let o = cached(&abs_env, &b, Pwd::Cwd, cc, &a, &abs_vars);
                assert_bytes_eq(
                    &o.stderr,
                    &absolute,
                    &format!("{cc} {what} stderr, root {i}"),
                );
            }
            expect_hits(&abs_env, (2 * i as u64 + 1, 1), cc);
        }
    }
}

// 10. Dependency files of relocated hits.

#[test]
fn dependency_files_of_relocated_hits_are_the_plain_compilers() {
    let long = "a_rather_long_directory_name_so_that_dependency_rules_wrap";
    for cc in COMPILERS {
        require(cc);
        for flags in [&["-MD"][..], &["-MMD", "-MP"][..]] {
            let env = TestEnv::new();
            let root = real_root(&env);
            let roots = [
                root.join(format!("one_{long}")),
                root.join(format!("second_{long}")),
            ];
            for r in &roots {
                let p = project(
                    r,
                    "#include <stddef.h>\n#include \"x.h\"\n#include \"second_header_with_a_long_name.h\"\nsize_t f(void) { return X_FACTOR + Y; }\n",
                    SIMPLE_H,
                );
                write_file(
                    &p.join(format!("include/{long}/second_header_with_a_long_name.h")),
                    "#define Y 2\n",
                );
            }
            settle();
            let what = format!("{cc} {}", flags.join(" "));
            for (i, r) in roots.iter().enumerate() {
                let p = r.join("proj");
                let b = p.join("build");
                let mut a = abs_args(&p, flags);
                a.push(format!("-I{}/include/{long}", p.display()));
                let vars = base(&root);
                let call = Call::new(&b, cc, &a, &vars, &["x.o", "x.d"]);
                let want = call.plain();
                assert!(
                    want[1].windows(3).any(|w| w == b"\\\n "),
                    "{what}: the rule wraps: {}",
                    String::from_utf8_lossy(&want[1])
                );
                call.cached(&env, &want, &what);
                expect_outcomes(&env, (i as u64, 0, 1), &format!("{what}: root {i}"));
            }
        }
    }
}
