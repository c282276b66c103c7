//! Manifests: their size stays bounded, and a corrupt or truncated one is
//! not a direct hit.

use super::*;

// ---------------------------------------------------------------------------
// manifests stay bounded
// ---------------------------------------------------------------------------

#[test]
fn manifest_size_is_bounded() {
    let env = TestEnv::new();
    let root = env.dir("p");
    write_file(
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
        write_file(&root.join("inc/v.h"), &version(i));
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
    write_file(&root.join("inc/v.h"), &version(1));
    settle();
    u.check(&env);
    expect(
        &env,
        c(1, 21, 1, 20, 20),
        "version 1: dropped from the manifest",
    );
    write_file(&root.join("inc/v.h"), &version(10));
    settle();
    u.check(&env);
    expect(
        &env,
        c(2, 21, 1, 20, 20),
        "version 10: still in the manifest",
    );
}

// ---------------------------------------------------------------------------
// corrupt manifest
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
