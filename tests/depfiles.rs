//! Dependency files (-MD, -MMD, -MF, -MT, -MQ, -MP): produced on a miss,
//! restored on a hit, and always byte-identical to what the plain compiler
//! writes for the very same command in the very same directory -- including
//! relocated hits under base_dir (the .d must name the new directory's
//! absolute header paths) and hits with a different object name.

use crate::common::*;
use std::fs;
use std::path::Path;

/// Run `compiler args` plainly in `cwd` and return (object, depfile) bytes,
/// deleting both files afterwards.
fn plain_outputs(
    compiler: &str,
    cwd: &Path,
    a: &[String],
    obj: &str,
    dep: &str,
) -> (Vec<u8>, Vec<u8>) {
    rm(&cwd.join(obj));
    rm(&cwd.join(dep));
    let p = plain(compiler, cwd, a);
    assert!(p.success(), "plain compile failed:\n{}", p.dump());
    let o = read(&cwd.join(obj));
    let d = read(&cwd.join(dep));
    rm(&cwd.join(obj));
    rm(&cwd.join(dep));
    (o, d)
}

/// Run objcache and compare object and depfile with the expected bytes.
#[allow(clippy::too_many_arguments)]
fn cached_outputs(
    env: &TestEnv,
    cwd: &Path,
    compiler: &str,
    a: &[String],
    obj: &str,
    dep: &str,
    expected: &(Vec<u8>, Vec<u8>),
    envs: &[(&str, String)],
) {
    rm(&cwd.join(obj));
    rm(&cwd.join(dep));
    let mut cmd = env.objcache_in(
        cwd,
        std::iter::once(compiler.to_string()).chain(a.iter().cloned()),
    );
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let desc = format!("{cmd:?}");
    let out = run(&mut cmd);
    assert!(out.success(), "{desc}\n{}", out.dump());
    assert!(
        cwd.join(dep).exists(),
        "dependency file {dep} not written by `{desc}`"
    );
    assert_bytes_eq(
        &read(&cwd.join(dep)),
        &expected.1,
        &format!("depfile {dep} from `{desc}`"),
    );
    assert_bytes_eq(
        &read(&cwd.join(obj)),
        &expected.0,
        &format!("object {obj} from `{desc}`"),
    );
}

/// Plain compile, then objcache miss, then objcache hit; both must reproduce
/// the plain object and depfile exactly.
fn dep_case(compiler: &str, flags: &[&str], src: &str, obj: &str, dep: &str, dirs: &[&str]) {
    require(compiler);
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    for d in dirs {
        fs::create_dir_all(proj.join(d)).unwrap();
    }
    let mut a = args(&["-I", "include", "-c", src]);
    a.extend(flags.iter().map(|s| s.to_string()));
    let expected = plain_outputs(compiler, &proj, &a, obj, dep);
    assert!(!expected.1.is_empty());

    cached_outputs(&env, &proj, compiler, &a, obj, dep, &expected, &[]);
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert_eq!(hits(&s), 0, "{s:?}");

    cached_outputs(&env, &proj, compiler, &a, obj, dep, &expected, &[]);
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert_eq!(hits(&s), 1, "second run must hit: {s:?}");
}

macro_rules! dep_tests {
    ($($name:ident: $flags:expr, $src:expr, $obj:expr, $dep:expr, $dirs:expr;)*) => {
        mod gcc {
            use super::*;
            $(#[test] fn $name() { dep_case("gcc", &$flags, $src, $obj, $dep, &$dirs); })*
        }
        mod clang {
            use super::*;
            $(#[test] fn $name() { dep_case("clang", &$flags, $src, $obj, $dep, &$dirs); })*
        }
    };
}

dep_tests! {
    md_default_name: ["-MD", "-o", "main.o"], "src/main.c", "main.o", "main.d", [];
    mmd_default_name: ["-MMD", "-o", "obj_main.o"], "src/main.c", "obj_main.o", "obj_main.d", [];
    md_without_dash_o: ["-MD"], "src/main.c", "main.o", "main.d", [];
    md_object_in_subdir: ["-MD", "-o", "build/out/main.o"], "src/main.c", "build/out/main.o", "build/out/main.d", ["build/out"];
    md_mf: ["-MD", "-MF", "deps/main.dep", "-o", "main.o"], "src/main.c", "main.o", "deps/main.dep", ["deps"];
    md_mt: ["-MD", "-MT", "custom_target", "-o", "main.o"], "src/main.c", "main.o", "main.d", [];
    md_mq: ["-MD", "-MQ", "$(OBJDIR)/main.o", "-o", "main.o"], "src/main.c", "main.o", "main.d", [];
    mmd_mp: ["-MMD", "-MP", "-o", "main.o"], "src/main.c", "main.o", "main.d", [];
    md_mf_two_mt: ["-MD", "-MF", "x.d", "-MT", "first", "-MT", "second", "-o", "main.o"], "src/main.c", "main.o", "x.d", [];
    mmd_mp_mf_mq: ["-MMD", "-MP", "-MF", "deps/all.d", "-MQ", "$(O)/m.o", "-o", "m.o"], "src/main.c", "m.o", "deps/all.d", ["deps"];
    mf_before_c_with_md: ["-MD", "-MF", "util.d", "-o", "util.o"], "src/util.c", "util.o", "util.d", [];
}

/// `-o x1.o` then `-o x2.o`: the second call is a hit, and its depfile must
/// name x2.o (exactly as the plain compiler writes it).
fn different_object_name(compiler: &str, extra: &[&str], dep1: &str, dep2: &str) {
    require(compiler);
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let mk = |obj: &str| {
        let mut a = args(&["-I", "include", "-MD", "-c", "src/main.c", "-o", obj]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let a1 = mk("x1.o");
    let a2 = mk("x2.o");
    let e1 = plain_outputs(compiler, &proj, &a1, "x1.o", dep1);
    let e2 = plain_outputs(compiler, &proj, &a2, "x2.o", dep2);
    assert_ne!(e1.1, e2.1, "plain depfiles name different targets");
    cached_outputs(&env, &proj, compiler, &a1, "x1.o", dep1, &e1, &[]);
    assert_eq!(env.misses(), 1);
    cached_outputs(&env, &proj, compiler, &a2, "x2.o", dep2, &e2, &[]);
    let s = env.stats();
    assert_eq!(hits(&s), 1, "only the object name differs: must hit: {s:?}");
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    // And back to x1.o.
    cached_outputs(&env, &proj, compiler, &a1, "x1.o", dep1, &e1, &[]);
    assert_eq!(env.hits(), 2);
}

#[test]
fn gcc_hit_with_different_object_name_rewrites_target() {
    different_object_name("gcc", &[], "x1.d", "x2.d");
}

#[test]
fn clang_hit_with_different_object_name_rewrites_target() {
    different_object_name("clang", &[], "x1.d", "x2.d");
}

#[test]
fn gcc_hit_with_different_object_name_same_mf() {
    different_object_name("gcc", &["-MF", "deps.d"], "deps.d", "deps.d");
}

#[test]
fn clang_hit_with_different_object_name_same_mf() {
    different_object_name("clang", &["-MF", "deps.d"], "deps.d", "deps.d");
}

/// Relocated hit under base_dir with absolute -I paths: the depfile written
/// by the hit in the second directory must be exactly what the plain compiler
/// writes there (naming the second directory's headers).
fn relocated(compiler: &str, first: &str, second: &str, flags: &[&str], dep: &str, dirs: &[&str]) {
    require(compiler);
    let env = TestEnv::new();
    let pa = env.copy_fixture("proj", &format!("{first}/proj"));
    let pb = env.copy_fixture("proj", &format!("{second}/proj"));
    for p in [&pa, &pb] {
        for d in dirs {
            fs::create_dir_all(p.join(d)).unwrap();
        }
    }
    let envs = vec![
        ("CCACHE_BASEDIR", env.root().display().to_string()),
        ("CCACHE_NOHASHDIR", "1".to_string()),
    ];
    let mk = |p: &Path| {
        let mut a = vec![
            format!("-I{}", p.join("include").display()),
            "-c".to_string(),
            "src/main.c".to_string(),
            "-o".to_string(),
            "main.o".to_string(),
        ];
        a.extend(flags.iter().map(|s| s.to_string()));
        a
    };
    let aa = mk(&pa);
    let ab = mk(&pb);

    let ea = plain_outputs(compiler, &pa, &aa, "main.o", dep);
    let eb = plain_outputs(compiler, &pb, &ab, "main.o", dep);
    let inc_a = pa.join("include").display().to_string();
    let inc_b = pb.join("include").display().to_string();
    let db = String::from_utf8_lossy(&eb.1).into_owned();
    assert!(
        db.contains(&inc_b) || db.contains("include/"),
        "sanity: {db}"
    );
    assert!(
        db.contains("\\\n"),
        "sanity: the fixture depfile should be long enough to wrap lines:\n{db}"
    );

    cached_outputs(&env, &pa, compiler, &aa, "main.o", dep, &ea, &envs);
    assert_eq!(env.misses(), 1);
    cached_outputs(&env, &pb, compiler, &ab, "main.o", dep, &eb, &envs);
    let s = env.stats();
    assert_eq!(
        hits(&s),
        1,
        "relocated build under base_dir must hit: {s:?}"
    );
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    let got = String::from_utf8_lossy(&read(&pb.join(dep))).into_owned();
    assert!(
        !got.contains(&inc_a),
        "depfile in {} must not name the other directory {inc_a}:\n{got}",
        pb.display()
    );
    // And the first directory still gets its own paths on a hit.
    cached_outputs(&env, &pa, compiler, &aa, "main.o", dep, &ea, &envs);
    assert_eq!(env.hits(), 2);
}

#[test]
fn gcc_relocated_hit_md_short_to_long() {
    relocated("gcc", "a", "longer_name_dir", &["-MD"], "main.d", &[]);
}

#[test]
fn gcc_relocated_hit_md_long_to_short() {
    relocated("gcc", "longer_name_dir", "a", &["-MD"], "main.d", &[]);
}

#[test]
fn gcc_relocated_hit_mmd_mp_mf() {
    relocated(
        "gcc",
        "a",
        "a_much_much_longer_directory_name",
        &["-MMD", "-MP", "-MF", "deps/main.d"],
        "deps/main.d",
        &["deps"],
    );
}

#[test]
fn gcc_relocated_hit_mmd_mt_long_to_short() {
    relocated(
        "gcc",
        "a_much_much_longer_directory_name",
        "b",
        &["-MMD", "-MT", "some/target/main.o"],
        "main.d",
        &[],
    );
}

#[test]
fn clang_relocated_hit_md_short_to_long() {
    relocated("clang", "a", "longer_name_dir", &["-MD"], "main.d", &[]);
}

#[test]
fn clang_relocated_hit_md_long_to_short() {
    relocated("clang", "longer_name_dir", "a", &["-MD"], "main.d", &[]);
}

#[test]
fn clang_relocated_hit_mmd_mp_mf() {
    relocated(
        "clang",
        "a",
        "a_much_much_longer_directory_name",
        &["-MMD", "-MP", "-MF", "deps/main.d"],
        "deps/main.d",
        &["deps"],
    );
}
