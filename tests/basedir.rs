//! base_dir / hash_dir: a project copied to two different directories (of
//! different path lengths) under one base dir, built with ABSOLUTE `-I` paths
//! but relative source and object paths (cwd = project dir).

use crate::common::*;
use std::path::{Path, PathBuf};

struct Setup {
    env: TestEnv,
    a: PathBuf,
    b: PathBuf,
}

fn setup() -> Setup {
    let env = TestEnv::new();
    let a = env.copy_fixture("proj", "ci1/proj");
    let b = env.copy_fixture("proj", "ci2_with_a_longer_name/proj");
    Setup { env, a, b }
}

fn unit_args(proj: &Path, src: &str, obj: &str, extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        format!("-I{}", proj.join("include").display()),
        "-Wall".to_string(),
        "-c".to_string(),
        src.to_string(),
        "-o".to_string(),
        obj.to_string(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

/// Build every unit of `proj` through objcache with `envs` set. When
/// `compare_objects`, each object must be byte-identical to a plain compile in
/// the same directory; stderr must always equal the plain compiler's.
fn build(
    s: &Setup,
    proj: &Path,
    cc: &str,
    cxx: &str,
    extra: &[&str],
    envs: &[(&str, String)],
    compare_objects: bool,
) -> usize {
    let units = proj_units(cc, cxx);
    for (compiler, src, obj) in &units {
        require(compiler);
        let a = unit_args(proj, src, obj, extra);
        let p = plain(compiler, proj, &a);
        assert!(p.success(), "{}", p.dump());
        let expected = read(&proj.join(obj));
        rm(&proj.join(obj));
        let mut cmd = s
            .env
            .objcache_in(proj, std::iter::once(compiler.clone()).chain(a.clone()));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let desc = format!("{cmd:?}");
        let o = run(&mut cmd);
        assert!(o.success(), "{desc}\n{}", o.dump());
        assert_bytes_eq(&o.stderr, &p.stderr, &format!("stderr of {desc}"));
        let got = read(&proj.join(obj));
        if compare_objects {
            assert_bytes_eq(
                &got,
                &expected,
                &format!("{obj} built in {}", proj.display()),
            );
        } else {
            assert!(!got.is_empty());
        }
    }
    units.len()
}

fn base_env(s: &Setup) -> Vec<(&'static str, String)> {
    vec![
        ("CCACHE_BASEDIR", s.env.root().display().to_string()),
        ("CCACHE_NOHASHDIR", "1".to_string()),
    ]
}

fn relocated_hits(cc: &str, cxx: &str, extra: &[&str], compare_objects: bool) {
    let s = setup();
    let envs = base_env(&s);
    let n = build(&s, &s.a.clone(), cc, cxx, extra, &envs, compare_objects) as u64;
    let st = s.env.stats();
    assert_eq!(
        get(&st, "cache_miss"),
        n,
        "first copy: every unit misses: {st:?}"
    );
    assert_eq!(hits(&st), 0, "{st:?}");

    build(&s, &s.b.clone(), cc, cxx, extra, &envs, compare_objects);
    let st = s.env.stats();
    assert_eq!(
        hits(&st),
        n,
        "relocated copy under base_dir must hit on every unit: {st:?}"
    );
    assert_eq!(get(&st, "cache_miss"), n, "no new misses: {st:?}");
}

#[test]
fn gcc_relocated_build_hits_with_basedir_and_nohashdir() {
    relocated_hits("gcc", "g++", &[], true);
}

#[test]
fn clang_relocated_build_hits_with_basedir_and_nohashdir() {
    relocated_hits("clang", "clang++", &[], true);
}

#[test]
fn gcc_relocated_build_with_debug_info_hits_with_nohashdir() {
    relocated_hits("gcc", "g++", &["-g"], false);
}

#[test]
fn clang_relocated_build_with_debug_info_hits_with_nohashdir() {
    relocated_hits("clang", "clang++", &["-g"], false);
}

#[test]
fn relocated_build_misses_without_basedir() {
    let s = setup();
    let envs = vec![("CCACHE_NOHASHDIR", "1".to_string())];
    let n = build(&s, &s.a.clone(), "gcc", "g++", &[], &envs, true) as u64;
    assert_eq!(s.env.misses(), n);
    build(&s, &s.b.clone(), "gcc", "g++", &[], &envs, true);
    let st = s.env.stats();
    assert_eq!(
        get(&st, "cache_miss"),
        2 * n,
        "absolute -I paths differ without base_dir: every unit must miss: {st:?}"
    );
    assert_eq!(hits(&st), 0, "{st:?}");
    // The second copy itself is now cached.
    build(&s, &s.b.clone(), "gcc", "g++", &[], &envs, true);
    assert_eq!(s.env.hits(), n);
}

#[test]
fn relocated_debug_build_misses_with_default_hash_dir() {
    let s = setup();
    let envs = vec![("CCACHE_BASEDIR", s.env.root().display().to_string())];
    let n = build(&s, &s.a.clone(), "gcc", "g++", &["-g"], &envs, false) as u64;
    assert_eq!(s.env.misses(), n);
    // Same directory again: hits.
    build(&s, &s.a.clone(), "gcc", "g++", &["-g"], &envs, false);
    assert_eq!(s.env.hits(), n);
    // Other directory with -g and hash_dir (default true): misses.
    build(&s, &s.b.clone(), "gcc", "g++", &["-g"], &envs, false);
    let st = s.env.stats();
    assert_eq!(
        get(&st, "cache_miss"),
        2 * n,
        "with hash_dir and -g the cwd is part of the hash: {st:?}"
    );
    assert_eq!(hits(&st), n, "{st:?}");
}

#[test]
fn basedir_relocated_hit_without_g_even_with_default_hash_dir() {
    // hash_dir only matters with -g: without debug info a relocated build
    // under base_dir hits even though hash_dir is left at its default.
    let s = setup();
    let envs = vec![("CCACHE_BASEDIR", s.env.root().display().to_string())];
    let n = build(&s, &s.a.clone(), "gcc", "g++", &[], &envs, true) as u64;
    build(&s, &s.b.clone(), "gcc", "g++", &[], &envs, true);
    let st = s.env.stats();
    assert_eq!(hits(&st), n, "{st:?}");
    assert_eq!(get(&st, "cache_miss"), n, "{st:?}");
}

#[test]
fn basedir_not_matching_paths_does_not_help() {
    // A base_dir that is not a prefix of the project paths has no effect.
    let s = setup();
    let unrelated = s.env.dir("unrelated_base");
    let envs = vec![
        ("CCACHE_BASEDIR", unrelated.display().to_string()),
        ("CCACHE_NOHASHDIR", "1".to_string()),
    ];
    let n = build(&s, &s.a.clone(), "gcc", "g++", &[], &envs, true) as u64;
    build(&s, &s.b.clone(), "gcc", "g++", &[], &envs, true);
    let st = s.env.stats();
    assert_eq!(get(&st, "cache_miss"), 2 * n, "{st:?}");
    assert_eq!(hits(&st), 0, "{st:?}");
}
