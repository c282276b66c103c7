//! Dependency files on direct hits, and depend mode: the `.d` is the
//! plain compiler's, byte for byte.

use super::*;

// ---------------------------------------------------------------------------
// dependency files on direct hits
// ---------------------------------------------------------------------------

fn depfile_on_direct_hit(cc: &str, dep_args: &[&str]) {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let mut a = vec!["-Iinclude", "-c", "src/main.c", "-o", "main.o"];
    a.extend_from_slice(dep_args);
    let u = Compile::new(&proj, cc, &a, "main.o").dep("main.d");
    settle();
    let miss = u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    let hit = u.check(&env);
    expect(&env, c(1, 1, 0, 1, 1), "second compile: direct hit");
    assert_bytes_eq(
        hit.dep.as_ref().unwrap(),
        miss.dep.as_ref().unwrap(),
        ".d of the direct hit vs the miss",
    );
}

#[test]
fn gcc_md_depfile_on_direct_hit() {
    depfile_on_direct_hit("gcc", &["-MD"]);
}

#[test]
fn gcc_mmd_mp_depfile_on_direct_hit() {
    depfile_on_direct_hit("gcc", &["-MMD", "-MP"]);
}

#[test]
fn clang_md_depfile_on_direct_hit() {
    depfile_on_direct_hit("clang", &["-MD"]);
}

#[test]
fn clang_mmd_mp_depfile_on_direct_hit() {
    depfile_on_direct_hit("clang", &["-MMD", "-MP"]);
}

/// Another object name on a direct hit: the .d names this call's target.
#[test]
fn gcc_md_depfile_on_direct_hit_other_target() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u1 = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/main.c", "-o", "one.o", "-MD"],
        "one.o",
    )
    .dep("one.d");
    let u2 = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/main.c", "-o", "two.o", "-MD"],
        "two.o",
    )
    .dep("two.d");
    settle();
    u1.check(&env);
    settle();
    u2.check(&env);
    expect(&env, c(1, 1, 0, 1, 1), "other object name: direct hit");
}

// ---------------------------------------------------------------------------
// depend mode
// ---------------------------------------------------------------------------

fn depend_mode(cc: &str) {
    let env = TestEnv::new();
    let root = shadow_project(&env, false, true);
    let mut a = SHADOW_ARGS.to_vec();
    a.push("-MD");
    let u = Compile::new(&root, cc, &a, "t.o")
        .dep("t.d")
        .env("CCACHE_DEPEND", "1");
    settle();
    let first = u.check(&env);
    expect(&env, c(0, 1, 0, 0, 1), "depend mode: first compile");
    settle();
    let hit = u.check(&env);
    expect(&env, c(1, 1, 0, 0, 1), "depend mode: direct hit");
    assert_bytes_eq(
        hit.dep.as_ref().unwrap(),
        first.dep.as_ref().unwrap(),
        ".d of the hit vs the miss",
    );

    // Header edit.
    write_file(
        &root.join("inc2/x.h"),
        "#define X_VALUE 42\n#define X_NAME \"from inc2\"\n",
    );
    u.check(&env);
    expect(&env, c(1, 2, 0, 0, 2), "depend mode: edited header misses");
    settle();
    u.check(&env);
    expect(
        &env,
        c(2, 2, 0, 0, 2),
        "depend mode: edited header recorded",
    );

    // Shadowing header.
    write_file(
        &root.join("inc1/x.h"),
        "#define X_VALUE 1\n#define X_NAME \"from inc1\"\n",
    );
    u.check(&env);
    expect(
        &env,
        c(2, 3, 0, 0, 3),
        "depend mode: shadowing header misses",
    );
    settle();
    u.check(&env);
    expect(
        &env,
        c(3, 3, 0, 0, 3),
        "depend mode: shadowing header recorded",
    );
}

#[test]
fn gcc_depend_mode() {
    depend_mode("gcc");
}

#[test]
fn clang_depend_mode() {
    depend_mode("clang");
}

#[test]
fn depend_mode_mmd_mp_depfile_identical() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        "gcc",
        &[
            "-Iinclude",
            "-c",
            "src/main.c",
            "-o",
            "main.o",
            "-MMD",
            "-MP",
        ],
        "main.o",
    )
    .dep("main.d")
    .env("CCACHE_DEPEND", "1");
    settle();
    u.check(&env);
    settle();
    u.check(&env);
    expect(
        &env,
        c(1, 1, 0, 0, 1),
        "depend mode -MMD -MP: miss then direct hit",
    );
}

#[test]
fn depend_mode_without_md_falls_back() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/main.c", "-o", "main.o"],
        "main.o",
    )
    .env("CCACHE_DEPEND", "1");
    settle();
    u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "no -MD: preprocessor mode miss");
    settle();
    u.check(&env);
    expect(&env, c(1, 1, 0, 1, 1), "no -MD: normal direct hit");
}
