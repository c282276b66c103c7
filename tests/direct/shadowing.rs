//! A header created where the preprocessor would now find it first (an
//! earlier include directory, next to the source, a new subdirectory)
//! ends a direct hit.

use super::*;

// ---------------------------------------------------------------------------
// shadowing headers
// ---------------------------------------------------------------------------

fn shadowing(cc: &str, angle: bool, inc1_exists: bool) {
    let env = TestEnv::new();
    let root = shadow_project(&env, angle, inc1_exists);
    let u = Compile::new(&root, cc, SHADOW_ARGS, "t.o");
    settle();
    let first = u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    expect(&env, c(1, 1, 0, 1, 1), "second compile: direct hit");

    write_file(
        &root.join("inc1/x.h"),
        "#define X_VALUE 1\n#define X_NAME \"from inc1\"\n",
    );
    let shadowed = u.check(&env);
    expect(
        &env,
        c(1, 2, 0, 2, 2),
        "inc1/x.h now shadows inc2/x.h: not a direct hit",
    );
    assert_ne!(shadowed.obj, first.obj, "inc1/x.h must change the object");
    settle();
    u.check(&env);
    expect(&env, c(2, 2, 0, 2, 2), "inc1/x.h recorded: direct hit");

    // Without the shadowing header, the first result applies again.
    rm(&root.join("inc1/x.h"));
    settle();
    let back = u.check(&env);
    expect(&env, c(3, 2, 0, 2, 2), "inc1/x.h removed: direct hit");
    assert_bytes_eq(&back.obj, &first.obj, "object after removing inc1/x.h");

    // inc1/x.h back (new file, same content): the newer result applies
    // again (ccache issue #1443 served the wrong one here).
    write_file(
        &root.join("inc1/x.h"),
        "#define X_VALUE 1\n#define X_NAME \"from inc1\"\n",
    );
    settle();
    let again = u.check(&env);
    expect(&env, c(4, 2, 0, 2, 2), "inc1/x.h restored: direct hit");
    assert_bytes_eq(&again.obj, &shadowed.obj, "object with inc1/x.h restored");
}

#[test]
fn gcc_shadowing_header_in_earlier_include_dir() {
    shadowing("gcc", false, true);
}

#[test]
fn gcc_shadowing_header_in_include_dir_created_later() {
    shadowing("gcc", false, false);
}

#[test]
fn gcc_shadowing_header_angle_brackets() {
    shadowing("gcc", true, true);
}

#[test]
fn gcc_shadowing_header_angle_brackets_dir_created_later() {
    shadowing("gcc", true, false);
}

#[test]
fn clang_shadowing_header_in_earlier_include_dir() {
    shadowing("clang", false, true);
}

#[test]
fn clang_shadowing_header_in_include_dir_created_later() {
    shadowing("clang", false, false);
}

/// `#include "x.h"` looks in the includer's directory first: a new
/// `src/x.h` shadows `inc2/x.h`.
fn shadowing_by_includer_dir(cc: &str) {
    let env = TestEnv::new();
    let root = shadow_project(&env, false, true);
    let u = Compile::new(&root, cc, SHADOW_ARGS, "t.o");
    miss_then_direct_hit(&env, &u);
    write_file(
        &root.join("src/x.h"),
        "#define X_VALUE 2\n#define X_NAME \"from src\"\n",
    );
    no_direct_hit(&env, &u, "src/x.h shadows: not a direct hit");
}

#[test]
fn gcc_shadowing_header_next_to_source() {
    shadowing_by_includer_dir("gcc");
}

#[test]
fn clang_shadowing_header_next_to_source() {
    shadowing_by_includer_dir("clang");
}

/// `#include "sub/x.h"`: a header created in `inc1/sub` changes the stamp of
/// `inc1/sub` only, not of `inc1`.
#[test]
fn gcc_shadowing_header_in_new_subdirectory() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(
        &root.join("src/t.c"),
        "#include \"sub/x.h\"\nint v(void) { return X_VALUE; }\n",
    );
    write_file(&root.join("inc2/sub/x.h"), "#define X_VALUE 41\n");
    fs::create_dir_all(root.join("inc1/sub")).unwrap();
    let u = Compile::new(&root, "gcc", SHADOW_ARGS, "t.o");
    miss_then_direct_hit(&env, &u);
    write_file(&root.join("inc1/sub/x.h"), "#define X_VALUE 1\n");
    no_direct_hit(&env, &u, "inc1/sub/x.h shadows: not a direct hit");
}
