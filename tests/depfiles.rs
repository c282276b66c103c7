//! Dependency files (-MD, -MMD, -MF, -MT, -MQ, -MP): produced on a miss,
//! restored on a hit, and always byte-identical to what the plain compiler
//! writes for the very same command in the very same directory -- including
//! relocated hits under base_dir (the .d must name the new directory's
//! absolute header paths) and hits with a different object name.

use crate::common::*;
use std::fs;
use std::path::Path;

/// `compiler a` in `cwd`, writing `obj` and the depfile `dep`.
fn unit(compiler: &str, cwd: &Path, a: &[String], obj: &str, dep: &str) -> Compile {
    Compile::new(cwd, compiler, a, obj).dep(dep)
}

/// Run objcache and compare object and depfile with the plain compiler's
/// (`expected`, made earlier).
#[track_caller]
fn cached_outputs(env: &TestEnv, unit: &Compile, expected: &Produced) {
    let got = unit.check_obj(env, &expected.obj);
    assert_bytes_eq(
        got.dep.as_ref().unwrap(),
        expected.dep.as_ref().unwrap(),
        &format!("depfile of {}", unit.describe()),
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
    let u = unit(compiler, &proj, &a, obj, dep);
    let expected = u.plain();
    assert!(!expected.dep.as_ref().unwrap().is_empty());

    cached_outputs(&env, &u, &expected);
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert_eq!(hits(&s), 0, "{s:?}");

    cached_outputs(&env, &u, &expected);
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
    let u1 = unit(compiler, &proj, &a1, "x1.o", dep1);
    let u2 = unit(compiler, &proj, &a2, "x2.o", dep2);
    let e1 = u1.plain();
    let e2 = u2.plain();
    assert_ne!(e1.dep, e2.dep, "plain depfiles name different targets");
    cached_outputs(&env, &u1, &e1);
    assert_eq!(env.misses(), 1);
    cached_outputs(&env, &u2, &e2);
    let s = env.stats();
    assert_eq!(hits(&s), 1, "only the object name differs: must hit: {s:?}");
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    // And back to x1.o.
    cached_outputs(&env, &u1, &e1);
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

    let ua = unit(compiler, &pa, &aa, "main.o", dep).envs(&envs);
    let ub = unit(compiler, &pb, &ab, "main.o", dep).envs(&envs);
    let ea = ua.plain();
    let eb = ub.plain();
    let inc_a = pa.join("include").display().to_string();
    let inc_b = pb.join("include").display().to_string();
    let db = String::from_utf8_lossy(eb.dep.as_ref().unwrap()).into_owned();
    assert!(
        db.contains(&inc_b) || db.contains("include/"),
        "sanity: {db}"
    );
    assert!(
        db.contains("\\\n"),
        "sanity: the fixture depfile should be long enough to wrap lines:\n{db}"
    );

    cached_outputs(&env, &ua, &ea);
    assert_eq!(env.misses(), 1);
    cached_outputs(&env, &ub, &eb);
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
    cached_outputs(&env, &ua, &ea);
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
