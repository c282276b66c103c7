//! Edited headers (also same-size edits with the old mtime restored, nested
//! and forced includes, `CPATH`, system headers) end a direct hit.

use super::*;

// ---------------------------------------------------------------------------
// header edits
// ---------------------------------------------------------------------------

/// A header edit that changes its size: no direct hit, new object. Editing it
/// back gives a direct hit on the first result again.
#[test]
fn header_edit_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/math.c", "-o", "math.o"],
        "math.o",
    );
    let header = proj.join("include/mathx.h");
    let original = fs::read_to_string(&header).unwrap();
    settle();
    let first = u.check(&env);
    settle();
    u.check(&env);
    expect(&env, c(1, 1, 0, 1, 1), "miss then direct hit");

    let edited = original.replace("MATHX_SCALE 3", "MATHX_SCALE 1234");
    assert_ne!(edited, original);
    fs::write(&header, &edited).unwrap();
    // No settle: the lookup must notice the change anyway.
    let changed = u.check(&env);
    expect(
        &env,
        c(1, 2, 0, 2, 2),
        "edited header: direct miss, real miss",
    );
    assert_ne!(changed.obj, first.obj, "the edit must change the object");
    settle();
    u.check(&env);
    expect(
        &env,
        c(2, 2, 0, 2, 2),
        "edited header, second time: direct hit",
    );

    fs::write(&header, &original).unwrap();
    settle();
    let back = u.check(&env);
    expect(
        &env,
        c(3, 2, 0, 2, 2),
        "header edited back: the first manifest result matches by content",
    );
    assert_bytes_eq(&back.obj, &first.obj, "object after editing back");
}

/// Same size, mtime restored: only ctime and content differ; the content
/// hash must catch it.
#[test]
fn same_size_header_edit_with_restored_mtime_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/math.c", "-o", "math.o"],
        "math.o",
    );
    let header = proj.join("include/mathx.h");
    let original = fs::read_to_string(&header).unwrap();
    settle();
    let first = u.check(&env);
    settle();
    u.check(&env);
    expect(&env, c(1, 1, 0, 1, 1), "miss then direct hit");

    let mtime = fs::metadata(&header).unwrap().modified().unwrap();
    let edited = original.replace("MATHX_SCALE 3", "MATHX_SCALE 4");
    assert_eq!(edited.len(), original.len());
    fs::write(&header, &edited).unwrap();
    set_mtime(&header, mtime);
    assert_eq!(fs::metadata(&header).unwrap().modified().unwrap(), mtime);
    settle();
    let changed = u.check(&env);
    expect(&env, c(1, 2, 0, 2, 2), "same-size edit: not a direct hit");
    assert_ne!(changed.obj, first.obj, "the edit must change the object");
    settle();
    u.check(&env);
    expect(
        &env,
        c(2, 2, 0, 2, 2),
        "same-size edit, second time: direct hit",
    );

    // Back to the original content, still with the original mtime.
    fs::write(&header, &original).unwrap();
    set_mtime(&header, mtime);
    settle();
    let back = u.check(&env);
    expect(&env, c(3, 2, 0, 2, 2), "original content again: direct hit");
    assert_bytes_eq(&back.obj, &first.obj, "object after editing back");
}

/// A header included by another header changes (deep include).
#[test]
fn nested_header_edit_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(
        &root.join("src/a.c"),
        "#include \"outer.h\"\nint a(void) { return INNER; }\n",
    );
    write_file(&root.join("inc/outer.h"), "#include \"sub/inner.h\"\n");
    write_file(&root.join("inc/sub/inner.h"), "#define INNER 10\n");
    let u = Compile::new(
        &root,
        "gcc",
        &["-Iinc", "-c", "src/a.c", "-o", "a.o"],
        "a.o",
    );
    miss_then_direct_hit(&env, &u);
    write_file(&root.join("inc/sub/inner.h"), "#define INNER 20\n");
    no_direct_hit(&env, &u, "nested header edited");
    settle();
    u.check(&env);
    expect(&env, c(2, 2, 0, 2, 2), "nested header edited, second time");
}

/// A header forced in with `-include` is recorded like any other.
#[test]
fn forced_include_edit_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(&root.join("src/t.c"), "int v(void) { return FORCED; }\n");
    write_file(&root.join("inc/forced.h"), "#define FORCED 1\n");
    let u = Compile::new(
        &root,
        "gcc",
        &["-include", "inc/forced.h", "-c", "src/t.c", "-o", "t.o"],
        "t.o",
    );
    miss_then_direct_hit(&env, &u);
    write_file(&root.join("inc/forced.h"), "#define FORCED 2\n");
    no_direct_hit(&env, &u, "forced include edited");
}

/// `CPATH` is part of the manifest key: another `CPATH` finds another header.
#[test]
fn cpath_change_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(
        &root.join("src/t.c"),
        "#include <y.h>\nint v(void) { return Y; }\n",
    );
    write_file(&root.join("incA/y.h"), "#define Y 1\n");
    write_file(&root.join("incB/y.h"), "#define Y 2\n");
    let u = Compile::new(&root, "gcc", &["-c", "src/t.c", "-o", "t.o"], "t.o");
    let ua = u.clone().env("CPATH", "incA");
    let ub = u.env("CPATH", "incB");
    settle();
    // The plain compiler runs without `CPATH`, so compare by hand.
    let got_a = ua.cached(&env);
    settle();
    ua.cached(&env);
    expect(&env, c(1, 1, 0, 1, 1), "CPATH=incA: miss then direct hit");
    let got_b = ub.cached(&env);
    expect(&env, c(1, 2, 0, 2, 2), "CPATH=incB: not a direct hit");
    assert_ne!(got_a.obj, got_b.obj, "incB/y.h must change the object");
}

/// Headers from `-isystem` directories are recorded; with
/// `sloppiness = system_headers` they are not (an edit then goes unnoticed
/// in direct mode, as in ccache).
#[test]
fn system_header_edit_and_system_headers_sloppiness() {
    for sloppy in [false, true] {
        let env = TestEnv::new();
        let root = env.dir("p");
        write_file(
            &root.join("src/t.c"),
            "#include <sys_x.h>\nint v(void) { return SX; }\n",
        );
        write_file(&root.join("sys/sys_x.h"), "#define SX 1\n");
        let mut u = Compile::new(
            &root,
            "gcc",
            &["-isystem", "sys", "-c", "src/t.c", "-o", "t.o"],
            "t.o",
        );
        if sloppy {
            u = u.env("CCACHE_SLOPPINESS", "system_headers");
        }
        settle();
        let first = u.check(&env);
        settle();
        u.check(&env);
        expect(
            &env,
            c(1, 1, 0, 1, 1),
            &format!("sloppy={sloppy}: miss then direct hit"),
        );
        write_file(&root.join("sys/sys_x.h"), "#define SX 2\n");
        settle();
        if sloppy {
            let stale = u.cached(&env);
            expect(
                &env,
                c(2, 1, 0, 1, 1),
                "system_headers: system header not checked",
            );
            assert_bytes_eq(&stale.obj, &first.obj, "stale object under system_headers");
        } else {
            u.check(&env);
            expect(
                &env,
                c(1, 2, 0, 2, 2),
                "system header edited: not a direct hit",
            );
        }
    }
}
