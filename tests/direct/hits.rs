//! Direct hits after a miss (gcc, clang, g++, source and object in and out
//! of the working directory), `nodirect`, and the counter names.

use super::*;

// ---------------------------------------------------------------------------
// direct hit after a miss
// ---------------------------------------------------------------------------

fn direct_hit_after_miss(cc: &str) {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        cc,
        &["-Iinclude", "-c", "src/main.c", "-o", "main.o"],
        "main.o",
    );
    settle();
    let miss = u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    let hit = u.check(&env);
    expect(
        &env,
        c(1, 1, 0, 1, 1),
        "second compile must be a direct hit",
    );
    assert_bytes_eq(&hit.out.stderr, &miss.out.stderr, "stderr on direct hit");
    let hit2 = u.check(&env);
    expect(&env, c(2, 1, 0, 1, 1), "third compile must be a direct hit");
    assert_bytes_eq(&hit2.obj, &hit.obj, "object of third compile");
    only_manifest(&env);
}

#[test]
fn gcc_direct_hit_after_miss() {
    direct_hit_after_miss("gcc");
}

#[test]
fn clang_direct_hit_after_miss() {
    direct_hit_after_miss("clang");
}

#[test]
fn gxx_direct_hit_after_miss() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        "g++",
        &["-O1", "-Iinclude", "-c", "src/thing.cpp", "-o", "thing.o"],
        "thing.o",
    );
    settle();
    u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    expect(
        &env,
        c(1, 1, 0, 1, 1),
        "second compile must be a direct hit",
    );
}

/// Source in the working directory, object elsewhere.
#[test]
fn gcc_direct_hit_source_in_cwd_object_in_subdir() {
    let env = TestEnv::new();
    let dir = env.copy_fixture("hello", "hello");
    fs::create_dir_all(dir.join("obj")).unwrap();
    let u = Compile::new(
        &dir,
        "gcc",
        &["-c", "hello.c", "-o", "obj/hello.o"],
        "obj/hello.o",
    );
    settle();
    u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    expect(
        &env,
        c(1, 1, 0, 1, 1),
        "second compile must be a direct hit",
    );
}

/// The most common call of all: `gcc -c hello.c -o hello.o`, source and object
/// in the working directory. ccache serves the second call in direct mode.
#[test]
fn gcc_direct_hit_source_and_object_in_cwd() {
    let env = TestEnv::new();
    let dir = env.copy_fixture("hello", "hello");
    let u = Compile::new(&dir, "gcc", &["-c", "hello.c", "-o", "hello.o"], "hello.o");
    settle();
    u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    settle();
    u.check(&env);
    let got = counts(&env);
    assert!(
        got.direct_hit >= 1,
        "source and object in the cwd: no direct hit in two tries after a miss \
         (the manifest entry is never recorded); counters {got:?}"
    );
    expect(
        &env,
        c(2, 1, 0, 1, 1),
        "second and third compiles direct hits",
    );
}

// ---------------------------------------------------------------------------
// direct mode off
// ---------------------------------------------------------------------------

#[test]
fn nodirect_gives_preprocessed_hits_only() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/main.c", "-o", "main.o"],
        "main.o",
    )
    .env("CCACHE_NODIRECT", "1");
    settle();
    u.check(&env);
    expect(&env, c(0, 0, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    expect(&env, c(0, 0, 1, 1, 1), "second compile: preprocessed hit");
    settle();
    u.check(&env);
    expect(&env, c(0, 0, 2, 1, 1), "third compile: preprocessed hit");
    assert!(
        manifests(&env).is_empty(),
        "no manifest without direct mode"
    );
}

// ---------------------------------------------------------------------------
// counter names
// ---------------------------------------------------------------------------

#[test]
fn print_stats_names_direct_counters() {
    let env = TestEnv::new();
    let mut cmd = env.objcache();
    cmd.arg("--print-stats");
    let text = run_ok(&mut cmd).stdout_str();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once('\t').map(|(k, _)| k))
        .collect();
    for k in [
        "direct_cache_hit",
        "direct_cache_miss",
        "preprocessed_cache_hit",
        "preprocessed_cache_miss",
        "cache_miss",
    ] {
        assert!(names.contains(&k), "--print-stats lacks {k}:\n{text}");
    }
}
