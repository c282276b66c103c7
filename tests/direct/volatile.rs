//! Inputs that change without an edit: time macros in a source or header,
//! and headers newer than the call, are not recorded unless a sloppiness
//! allows it.

use super::*;

// ---------------------------------------------------------------------------
// time macros
// ---------------------------------------------------------------------------

/// Every `HH:MM:SS` string in a buffer.
fn time_strings(data: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = data
        .windows(8)
        .filter(|w| {
            w.iter().enumerate().all(|(i, b)| {
                if i == 2 || i == 5 {
                    *b == b':'
                } else {
                    b.is_ascii_digit()
                }
            })
        })
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn source_with_time_macro_is_never_a_direct_hit() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(
        &root.join("src/t.c"),
        "const char *build_time(void) { return __TIME__; }\n",
    );
    let u = Compile::new(&root, "gcc", &["-c", "src/t.c", "-o", "t.o"], "t.o");
    settle();
    let first = u.cached(&env);
    expect(
        &env,
        c(0, 0, 0, 1, 1),
        "first compile (direct mode not used)",
    );
    let t1 = time_strings(&first.obj);
    assert_eq!(t1.len(), 1, "the object holds one time string: {t1:?}");
    std::thread::sleep(Duration::from_millis(1100));
    let second = u.cached(&env);
    expect(
        &env,
        c(0, 0, 0, 2, 2),
        "a second later: __TIME__ expands differently, a real miss",
    );
    let t2 = time_strings(&second.obj);
    assert_eq!(t2.len(), 1, "{t2:?}");
    assert_ne!(t1, t2, "the second object must hold the new time");
    // Same second twice in a row: whatever it is, it is never a direct hit.
    settle();
    u.cached(&env);
    let got = counts(&env);
    assert_eq!(got.direct_hit, 0, "{got:?}");
    assert_eq!(got.direct_miss, 0, "{got:?}");
}

#[test]
fn source_with_time_macro_and_sloppiness_gives_direct_hit() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(
        &root.join("src/t.c"),
        "const char *build_date(void) { return __DATE__; }\n",
    );
    let u = Compile::new(&root, "gcc", &["-c", "src/t.c", "-o", "t.o"], "t.o")
        .env("CCACHE_SLOPPINESS", "time_macros");
    settle();
    let first = u.cached(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    let second = u.cached(&env);
    expect(&env, c(1, 1, 0, 1, 1), "time_macros sloppiness: direct hit");
    assert_bytes_eq(&second.obj, &first.obj, "object of the direct hit");
}

fn header_with_date(env: &TestEnv) -> PathBuf {
    let root = env.dir("p");
    write_file(
        &root.join("src/t.c"),
        "#include \"stamp.h\"\nconst char *build_date(void) { return BUILD_DATE; }\n",
    );
    write_file(&root.join("inc/stamp.h"), "#define BUILD_DATE __DATE__\n");
    root
}

/// `__DATE__` in a header: recorded under the date (`hash::dated`), so the
/// second call of the day is a direct hit.
#[test]
fn header_with_date_macro_is_recorded_under_the_date() {
    let env = TestEnv::new();
    let root = header_with_date(&env);
    let u = Compile::new(
        &root,
        "gcc",
        &["-Iinc", "-c", "src/t.c", "-o", "t.o"],
        "t.o",
    );
    settle();
    u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    expect(
        &env,
        c(1, 1, 0, 1, 1),
        "header uses __DATE__: direct hit the same day",
    );
}

#[test]
fn header_with_date_macro_and_sloppiness_gives_direct_hit() {
    let env = TestEnv::new();
    let root = header_with_date(&env);
    let u = Compile::new(
        &root,
        "gcc",
        &["-Iinc", "-c", "src/t.c", "-o", "t.o"],
        "t.o",
    )
    .env("CCACHE_SLOPPINESS", "time_macros");
    settle();
    u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    expect(&env, c(1, 1, 0, 1, 1), "time_macros sloppiness: direct hit");
}

// ---------------------------------------------------------------------------
// headers newer than the call
// ---------------------------------------------------------------------------

fn future_header(env: &TestEnv) -> (PathBuf, Compile) {
    let proj = env.copy_fixture("proj", "proj");
    let header = proj.join("include/mathx.h");
    set_mtime(
        &header,
        std::time::SystemTime::now() + Duration::from_secs(3600),
    );
    let u = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/math.c", "-o", "math.o"],
        "math.o",
    );
    (proj, u)
}

#[test]
fn header_with_future_mtime_is_not_recorded() {
    let env = TestEnv::new();
    let (_proj, u) = future_header(&env);
    settle();
    u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    expect(
        &env,
        c(0, 2, 1, 1, 1),
        "header mtime in the future: not recorded, preprocessed hit",
    );
    settle();
    u.check(&env);
    expect(&env, c(0, 3, 2, 1, 1), "still not recorded");
}

#[test]
fn header_with_future_mtime_and_mtime_sloppiness_gives_direct_hit() {
    let env = TestEnv::new();
    let (_proj, u) = future_header(&env);
    let u = u.env("CCACHE_SLOPPINESS", "include_file_mtime");
    settle();
    u.check(&env);
    expect(&env, c(0, 1, 0, 1, 1), "first compile");
    settle();
    u.check(&env);
    expect(
        &env,
        c(1, 1, 0, 1, 1),
        "include_file_mtime sloppiness: direct hit",
    );
}
