//! Direct mode and depend mode: hits served from the manifest without running
//! the preprocessor, and every way a recorded include set must stop matching
//! (edited headers, headers that would now shadow a recorded one, headers
//! newer than the call, time macros, corrupt manifests).
//!
//! Every test asserts the exact `direct_cache_*` / `preprocessed_cache_*` /
//! `cache_miss` counters after each call, and that the object (and `.d`) is
//! byte-identical to what the plain compiler writes for the same files.
//!
//! Files whose mtime or ctime is not older than the start of a call are not
//! recorded in the manifest, so every test waits [`SETTLE`] after its last
//! file write before a compile whose manifest entry it relies on.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Long enough for the kernel's coarse clock to move past the last write.
const SETTLE: Duration = Duration::from_millis(50);

fn settle() {
    std::thread::sleep(SETTLE);
}

/// The counters direct mode is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    direct_hit: u64,
    direct_miss: u64,
    pp_hit: u64,
    pp_miss: u64,
    miss: u64,
}

/// `Counts` in the order direct hit, direct miss, preprocessed hit,
/// preprocessed miss, cache miss.
fn c(direct_hit: u64, direct_miss: u64, pp_hit: u64, pp_miss: u64, miss: u64) -> Counts {
    Counts {
        direct_hit,
        direct_miss,
        pp_hit,
        pp_miss,
        miss,
    }
}

fn counts(env: &TestEnv) -> Counts {
    let s = env.stats();
    Counts {
        direct_hit: get(&s, "direct_cache_hit"),
        direct_miss: get(&s, "direct_cache_miss"),
        pp_hit: get(&s, "preprocessed_cache_hit"),
        pp_miss: get(&s, "preprocessed_cache_miss"),
        miss: get(&s, "cache_miss"),
    }
}

#[track_caller]
fn expect(env: &TestEnv, expected: Counts, what: &str) {
    let got = counts(env);
    assert_eq!(
        got,
        expected,
        "{what}: counters (direct_hit, direct_miss, pp_hit, pp_miss, miss) wrong; all stats: {:?}",
        env.stats()
    );
}

/// A miss, then a direct hit, each with the plain compiler's outputs (the
/// pauses let the files age past the too-new check).
#[track_caller]
fn miss_then_direct_hit(env: &TestEnv, u: &Compile) {
    settle();
    u.check(env);
    settle();
    u.check(env);
    expect(env, c(1, 1, 0, 1, 1), "miss then direct hit");
}

/// After `miss_then_direct_hit` and a change: this call is not a direct hit
/// (it misses) and still produces the plain compiler's outputs.
#[track_caller]
fn no_direct_hit(env: &TestEnv, u: &Compile, what: &str) {
    u.check(env);
    expect(env, c(1, 2, 0, 2, 2), what);
}

/// `files` written (and `dirs` made), a compile of `src/t.c` with `args`
/// hits directly; once `appears` is created it must not any more.
fn header_appearing_ends_direct_hit(
    files: &[(&str, &str)],
    dirs: &[&str],
    args: &[&str],
    appears: (&str, &str),
) {
    let env = TestEnv::new();
    let root = env.dir("p");
    for (path, text) in files {
        write(&root.join(path), text);
    }
    for d in dirs {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut a = args.to_vec();
    a.extend(["-c", "src/t.c", "-o", "t.o"]);
    let u = Compile::new(&root, "gcc", &a, "t.o");
    miss_then_direct_hit(&env, &u);
    write(&root.join(appears.0), appears.1);
    no_direct_hit(
        &env,
        &u,
        &format!("{} appeared: not a direct hit", appears.0),
    );
}

/// Write a file, creating its directory.
fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Set a file's mtime (nanosecond precise; ctime becomes "now").
fn set_mtime(path: &Path, t: std::time::SystemTime) {
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

/// Manifest files (`<cache>/<x>/<y>/<64 hex>M`) in the cache.
fn manifests(env: &TestEnv) -> Vec<PathBuf> {
    cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.len() == 65
                && name.ends_with('M')
                && name[..64].bytes().all(|b| b.is_ascii_hexdigit())
        })
        .collect()
}

#[track_caller]
fn only_manifest(env: &TestEnv) -> PathBuf {
    let m = manifests(env);
    assert_eq!(m.len(), 1, "expected exactly one manifest, found {m:?}");
    m.into_iter().next().unwrap()
}

/// A project `<root>/src/t.c` including `x.h` (quote or angle brackets),
/// found in `inc2` behind `-Iinc1 -Iinc2`. The object goes to `<root>`.
fn shadow_project(env: &TestEnv, angle: bool, inc1_exists: bool) -> PathBuf {
    let root = env.dir("p");
    let inc = if angle { "<x.h>" } else { "\"x.h\"" };
    write(
        &root.join("src/t.c"),
        &format!("#include {inc}\nint direct_value(void) {{ return X_VALUE + 1; }}\nconst char *direct_name(void) {{ return X_NAME; }}\n"),
    );
    write(
        &root.join("inc2/x.h"),
        "#define X_VALUE 41\n#define X_NAME \"from inc2\"\n",
    );
    if inc1_exists {
        fs::create_dir_all(root.join("inc1")).unwrap();
    }
    root
}

const SHADOW_ARGS: &[&str] = &["-Iinc1", "-Iinc2", "-c", "src/t.c", "-o", "t.o"];

// ---------------------------------------------------------------------------
// 1. direct hit after a miss
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
// 2. header edits
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
    write(
        &root.join("src/a.c"),
        "#include \"outer.h\"\nint a(void) { return INNER; }\n",
    );
    write(&root.join("inc/outer.h"), "#include \"sub/inner.h\"\n");
    write(&root.join("inc/sub/inner.h"), "#define INNER 10\n");
    let u = Compile::new(
        &root,
        "gcc",
        &["-Iinc", "-c", "src/a.c", "-o", "a.o"],
        "a.o",
    );
    miss_then_direct_hit(&env, &u);
    write(&root.join("inc/sub/inner.h"), "#define INNER 20\n");
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
    write(&root.join("src/t.c"), "int v(void) { return FORCED; }\n");
    write(&root.join("inc/forced.h"), "#define FORCED 1\n");
    let u = Compile::new(
        &root,
        "gcc",
        &["-include", "inc/forced.h", "-c", "src/t.c", "-o", "t.o"],
        "t.o",
    );
    miss_then_direct_hit(&env, &u);
    write(&root.join("inc/forced.h"), "#define FORCED 2\n");
    no_direct_hit(&env, &u, "forced include edited");
}

/// `CPATH` is part of the manifest key: another `CPATH` finds another header.
#[test]
fn cpath_change_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write(
        &root.join("src/t.c"),
        "#include <y.h>\nint v(void) { return Y; }\n",
    );
    write(&root.join("incA/y.h"), "#define Y 1\n");
    write(&root.join("incB/y.h"), "#define Y 2\n");
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
        write(
            &root.join("src/t.c"),
            "#include <sys_x.h>\nint v(void) { return SX; }\n",
        );
        write(&root.join("sys/sys_x.h"), "#define SX 1\n");
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
        write(&root.join("sys/sys_x.h"), "#define SX 2\n");
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

// ---------------------------------------------------------------------------
// 3. relocated direct hits under base_dir
// ---------------------------------------------------------------------------

fn relocated_units(proj: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Vec<Compile> {
    let inc = format!("-I{}", proj.join("include").display());
    proj_units("gcc", "g++")
        .into_iter()
        .map(|(cc, src, obj)| {
            let mut a = vec![inc.as_str(), "-c", src, "-o", obj];
            a.extend_from_slice(extra);
            let mut u = Compile::new(proj, &cc, &a, obj).envs(envs);
            if extra.contains(&"-MD") {
                u = u.dep(&obj.replace(".o", ".d"));
            }
            u
        })
        .collect()
}

fn relocated(extra: &[&str]) {
    let env = TestEnv::new();
    let a = env.copy_fixture("proj", "a/proj");
    let b = env.copy_fixture("proj", "bb/proj");
    let base = env.root().to_str().unwrap().to_string();
    let envs = [("CCACHE_BASEDIR", base.as_str()), ("CCACHE_NOHASHDIR", "1")];
    settle();
    let ua = relocated_units(&a, extra, &envs);
    let n = ua.len() as u64;
    for u in &ua {
        u.check(&env);
    }
    expect(&env, c(0, n, 0, n, n), "every unit misses in a/proj");
    // The first checkout is gone (as in CI): its headers cannot be what
    // makes the lookup in bb/proj succeed.
    fs::remove_dir_all(&a).unwrap();
    settle();
    for (i, u) in relocated_units(&b, extra, &envs).iter().enumerate() {
        let got = u.check(&env);
        if let Some(d) = &got.dep {
            let text = String::from_utf8_lossy(d);
            assert!(
                !text.contains("/a/proj"),
                "the .d in bb/proj names a/proj:\n{text}"
            );
        }
        expect(
            &env,
            c(i as u64 + 1, n, 0, n, n),
            &format!("unit {} in bb/proj must be a direct hit", u.obj),
        );
    }
    // A header edited in bb/proj: the recorded include is bb's own file.
    let header = b.join("include/mathx.h");
    let edited = fs::read_to_string(&header)
        .unwrap()
        .replace("MATHX_SCALE 3", "MATHX_SCALE 5");
    fs::write(&header, edited).unwrap();
    settle();
    let math = relocated_units(&b, extra, &envs)
        .into_iter()
        .find(|u| u.obj == "math.o")
        .unwrap();
    math.check(&env);
    expect(
        &env,
        c(n, n + 1, 0, n + 1, n + 1),
        "header edited in bb/proj: math.o is not a direct hit",
    );
}

#[test]
fn relocated_direct_hit_under_base_dir() {
    relocated(&[]);
}

#[test]
fn relocated_direct_hit_under_base_dir_with_md() {
    relocated(&["-MD"]);
}

// ---------------------------------------------------------------------------
// 4. time macros
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
    write(
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
    write(
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
    write(
        &root.join("src/t.c"),
        "#include \"stamp.h\"\nconst char *build_date(void) { return BUILD_DATE; }\n",
    );
    write(&root.join("inc/stamp.h"), "#define BUILD_DATE __DATE__\n");
    root
}

#[test]
fn header_with_date_macro_is_not_recorded() {
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
        c(0, 2, 1, 1, 1),
        "header uses __DATE__: no direct hit, preprocessed hit",
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
// 5. headers newer than the call
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

// ---------------------------------------------------------------------------
// 6. shadowing headers
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

    write(
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
    write(
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
    write(
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
    write(
        &root.join("src/t.c"),
        "#include \"sub/x.h\"\nint v(void) { return X_VALUE; }\n",
    );
    write(&root.join("inc2/sub/x.h"), "#define X_VALUE 41\n");
    fs::create_dir_all(root.join("inc1/sub")).unwrap();
    let u = Compile::new(&root, "gcc", SHADOW_ARGS, "t.o");
    miss_then_direct_hit(&env, &u);
    write(&root.join("inc1/sub/x.h"), "#define X_VALUE 1\n");
    no_direct_hit(&env, &u, "inc1/sub/x.h shadows: not a direct hit");
}

/// `#if __has_include("cfg.h")`: a header that did not exist is not in the
/// line markers; objcache probes where it would be found (a documented
/// ccache caveat, ccache issue #811, that objcache closes).
#[test]
fn has_include_of_new_header_is_not_a_direct_hit() {
    header_appearing_ends_direct_hit(
        &[(
            "src/t.c",
            "#if __has_include(\"cfg.h\")\n#include \"cfg.h\"\n#else\n#define CFG 0\n#endif\nint v(void) { return CFG; }\n",
        )],
        &["inc"],
        &["-Iinc"],
        ("inc/cfg.h", "#define CFG 7\n"),
    );
}

/// The angle form in a header, answered by a directory late on the path.
#[test]
fn has_include_in_a_header_of_a_header_created_later_is_not_a_direct_hit() {
    header_appearing_ends_direct_hit(
        &[
            (
                "inc/a.h",
                "#if __has_include(<opt/extra.h>)\n#include <opt/extra.h>\n#else\n#define EXTRA 1\n#endif\n",
            ),
            ("src/t.c", "#include \"a.h\"\nint v(void) { return EXTRA; }\n"),
        ],
        &["late"],
        &["-Iinc", "-Ilate"],
        ("late/opt/extra.h", "#define EXTRA 2\n"),
    );
}

/// A header that `__has_include` found but nothing includes: deleting it
/// changes the answer, so the direct hit must go.
#[test]
fn has_include_of_a_deleted_header_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write(&root.join("inc/feature.h"), "/* marker only */\n");
    write(
        &root.join("src/t.c"),
        "#if __has_include(\"feature.h\")\n#define HAVE 1\n#else\n#define HAVE 0\n#endif\nint v(void) { return HAVE; }\n",
    );
    let u = Compile::new(
        &root,
        "gcc",
        &["-Iinc", "-c", "src/t.c", "-o", "t.o"],
        "t.o",
    );
    miss_then_direct_hit(&env, &u);
    fs::remove_file(root.join("inc/feature.h")).unwrap();
    no_direct_hit(&env, &u, "feature.h is gone: not a direct hit");
}

/// `__has_include_next` in a header: the directories after it are where
/// the answer comes from.
#[test]
fn has_include_next_of_a_header_created_later_is_not_a_direct_hit() {
    header_appearing_ends_direct_hit(
        &[
            (
                "a/cfg.h",
                "#if __has_include_next(<cfg.h>)\n#include_next <cfg.h>\n#else\n#define VAL 1\n#endif\n",
            ),
            ("src/t.c", "#include <cfg.h>\nint v(void) { return VAL; }\n"),
        ],
        &["b"],
        &["-Ia", "-Ib"],
        ("b/cfg.h", "#define VAL 2\n"),
    );
}

/// A quoted test in a macro is evaluated where the macro is used: the
/// source's directory counts, not only the header's that defines it.
#[test]
fn has_include_in_a_macro_is_tried_where_it_is_used() {
    header_appearing_ends_direct_hit(
        &[
            ("inc/cfg.h", "#define HAVE_FOO __has_include(\"foo.h\")\n"),
            (
                "src/t.c",
                "#include \"cfg.h\"\n#if HAVE_FOO\n#include \"foo.h\"\n#else\n#define FOO 1\n#endif\nint v(void) { return FOO; }\n",
            ),
        ],
        &[],
        &["-Iinc"],
        ("src/foo.h", "#define FOO 2\n"),
    );
}

/// A test hidden in a `-D` value or behind a function-like wrapper is not followed:
/// such TUs are cached in preprocessor mode only.
#[test]
fn has_include_that_cannot_be_followed_is_not_recorded() {
    for (source, define) in [
        (
            "#if HAS\n#define V 2\n#else\n#define V 1\n#endif\nint v(void) { return V; }\n",
            Some("-DHAS=__has_include(<opt.h>)"),
        ),
        (
            "#define HI(x) __has_include(x)\n#if HI(<opt.h>)\n#define HAS 2\n#else\n#define HAS 1\n#endif\nint v(void) { return HAS; }\n",
            None,
        ),
    ] {
        let env = TestEnv::new();
        let root = env.dir("p");
        write(&root.join("src/t.c"), source);
        let mut a = vec!["-c", "src/t.c", "-o", "t.o"];
        a.extend(define);
        let u = Compile::new(&root, "gcc", &a, "t.o");
        settle();
        u.check(&env);
        settle();
        u.check(&env);
        expect(&env, c(0, 2, 1, 1, 1), "second call: a preprocessed hit");
    }
}

/// An alias of the operator (`#define HAS __has_include`, as xxhash.h has)
/// is followed like the operator itself, wherever it is used.
#[test]
fn has_include_through_an_alias_is_followed() {
    header_appearing_ends_direct_hit(
        &[
            (
                "inc/alias.h",
                "#ifdef __has_include\n#define HAS __has_include\n#else\n#define HAS(x) 0\n#endif\n",
            ),
            (
                "src/t.c",
                "#include \"alias.h\"\n#if HAS(<opt.h>)\n#include <opt.h>\n#else\n#define OPT 1\n#endif\nint v(void) { return OPT; }\n",
            ),
        ],
        &["late"],
        &["-Iinc", "-Ilate"],
        ("late/opt.h", "#define OPT 2\n"),
    );
}

/// An alias of an alias, defined in two headers, and a test the simple
/// lexer would take for a comment (after a raw-string-like literal).
#[test]
fn has_include_through_a_chain_of_aliases_is_followed() {
    header_appearing_ends_direct_hit(
        &[
            ("inc/a.h", "#define A __has_include\r\n"),
            ("inc/b.h", "#include \"a.h\"\n#define B A\n"),
            (
                "src/t.c",
                "#include \"b.h\"\n#if B(<opt.h>)\n#include <opt.h>\n#else\n#define OPT 1\n#endif\nint v(void) { return OPT; }\n",
            ),
        ],
        &["late"],
        &["-Iinc", "-Ilate"],
        ("late/opt.h", "#define OPT 2\n"),
    );
}

/// The standard C++ and C headers (which use `__has_include`, aliases of it
/// and `__has_##NAME` pasting) keep direct mode.
#[test]
fn standard_headers_keep_direct_mode() {
    for (cc, file, text) in [
        (
            "g++",
            "src/t.cpp",
            "#include <vector>\n#include <string>\n#include <type_traits>\n#include <atomic>\n#include <map>\n#include <memory>\n#include <algorithm>\n#include <functional>\nint v() { std::vector<int> x{1}; return x[0]; }\n",
        ),
        (
            "gcc",
            "src/t.c",
            "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n#include <sys/stat.h>\nint v(void) { return 0; }\n",
        ),
    ] {
        let env = TestEnv::new();
        let root = env.dir("p");
        write(&root.join(file), text);
        let u = Compile::new(&root, cc, &["-c", file, "-o", "t.o"], "t.o");
        miss_then_direct_hit(&env, &u);
    }
}

/// `__has_include(MACRO)` cannot be followed: such a TU is cached in
/// preprocessor mode only.
#[test]
fn has_include_with_a_computed_name_is_not_recorded() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write(
        &root.join("src/t.c"),
        "#define CFG \"cfg.h\"\n#if __has_include(CFG)\n#include CFG\n#endif\nint v(void) { return 0; }\n",
    );
    let u = Compile::new(&root, "gcc", &["-c", "src/t.c", "-o", "t.o"], "t.o");
    settle();
    u.check(&env);
    settle();
    u.check(&env);
    expect(&env, c(0, 2, 1, 1, 1), "second call: a preprocessed hit");
}

// ---------------------------------------------------------------------------
// 7. dependency files on direct hits
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
// 8. manifests stay bounded
// ---------------------------------------------------------------------------

#[test]
fn manifest_size_is_bounded() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write(
        &root.join("src/t.c"),
        "#include \"v.h\"\nint v(void) { return V; }\n",
    );
    let u = Compile::new(
        &root,
        "gcc",
        &["-Iinc", "-c", "src/t.c", "-o", "t.o"],
        "t.o",
    )
    .env("CCACHE_NOCOMPRESS", "1");
    let version = |i: u32| format!("#define V {:04}\n", 1000 + i);
    let mut sizes = Vec::new();
    for i in 1..=20u32 {
        write(&root.join("inc/v.h"), &version(i));
        settle();
        u.check(&env);
        let n = u64::from(i);
        expect(&env, c(0, n, 0, n, n), &format!("version {i}: a miss"));
        sizes.push(fs::metadata(only_manifest(&env)).unwrap().len());
    }
    let (s8, s16, s20) = (sizes[7], sizes[15], sizes[19]);
    assert!(s16 > s8, "the manifest grows up to 16 results: {sizes:?}");
    assert!(
        s20 * 10 <= s16 * 11,
        "the manifest must stop growing after 16 results: sizes {sizes:?}"
    );
    // The newest version is still a direct hit, the oldest was dropped
    // (its result is still stored: preprocessed hit).
    u.check(&env);
    expect(&env, c(1, 20, 0, 20, 20), "version 20 again: direct hit");
    write(&root.join("inc/v.h"), &version(1));
    settle();
    u.check(&env);
    expect(
        &env,
        c(1, 21, 1, 20, 20),
        "version 1: dropped from the manifest",
    );
    write(&root.join("inc/v.h"), &version(10));
    settle();
    u.check(&env);
    expect(
        &env,
        c(2, 21, 1, 20, 20),
        "version 10: still in the manifest",
    );
}

// ---------------------------------------------------------------------------
// 9. direct mode off
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
// 10. depend mode
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
    write(
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
    write(
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

// ---------------------------------------------------------------------------
// 11. corrupt manifest
// ---------------------------------------------------------------------------

#[test]
fn corrupt_manifest_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/main.c", "-o", "main.o"],
        "main.o",
    );
    miss_then_direct_hit(&env, &u);
    let m = only_manifest(&env);
    let mut bytes = read(&m);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&m, &bytes).unwrap();
    u.check(&env);
    expect(
        &env,
        c(1, 2, 1, 1, 1),
        "corrupt manifest: direct miss, preprocessed hit",
    );
    assert_eq!(env.stat("corrupt_cache_entry"), 1, "{:?}", env.stats());
    settle();
    u.check(&env);
    expect(
        &env,
        c(2, 2, 1, 1, 1),
        "manifest rewritten: direct hit again",
    );
}

/// A truncated manifest behaves like a corrupt one.
#[test]
fn truncated_manifest_is_not_a_direct_hit() {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let u = Compile::new(
        &proj,
        "gcc",
        &["-Iinclude", "-c", "src/util.c", "-o", "util.o"],
        "util.o",
    );
    settle();
    u.check(&env);
    let m = only_manifest(&env);
    let bytes = read(&m);
    fs::write(&m, &bytes[..bytes.len() / 3]).unwrap();
    settle();
    u.check(&env);
    expect(
        &env,
        c(0, 2, 1, 1, 1),
        "truncated manifest: preprocessed hit",
    );
    settle();
    u.check(&env);
    expect(&env, c(1, 2, 1, 1, 1), "manifest rewritten: direct hit");
}

// ---------------------------------------------------------------------------
// 12. counter names
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

/// A relocated checkout hashes the headers on its first direct hit; the
/// manifest then learns their stamps, so the next hit there only needs `stat`
/// and leaves the manifest as it is.
#[test]
fn relocated_checkout_learns_header_stamps_after_first_hit() {
    let env = TestEnv::new();
    let base = env.dir("base");
    let a = base.join("a").join("proj");
    let b = base.join("bbb").join("proj");
    copy_dir(&fixtures_dir().join("proj"), &a);
    copy_dir(&fixtures_dir().join("proj"), &b);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let compile = |dir: &std::path::Path| {
        let inc = format!("-I{}/include", dir.display());
        let out = run(env
            .objcache_in(
                dir,
                ["gcc", inc.as_str(), "-c", "src/util.c", "-o", "util.o"],
            )
            .env("CCACHE_BASEDIR", &base)
            .env("CCACHE_NOHASHDIR", "1"));
        assert!(out.success(), "{}", out.dump());
    };
    compile(&a);
    let manifest = walk_files(&env.cache_dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with('M'))
        .expect("a manifest");
    let before_b = read(&manifest);
    compile(&b);
    let after_first_b = read(&manifest);
    assert_ne!(
        before_b, after_first_b,
        "the first hit in b must record b's stamps"
    );
    compile(&b);
    assert_eq!(env.stat("direct_cache_hit"), 2, "{:?}", env.stats());
    // The first hit in b rewrote the manifest with b's stamps; the second did not need to.
    let after_second_b = read(&manifest);
    assert_eq!(
        after_first_b, after_second_b,
        "the second hit in b must take the stamp fast path"
    );
}
