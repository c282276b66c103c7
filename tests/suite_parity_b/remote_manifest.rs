//! Remote manifests (ccache's remote_file 8, 10, 11): a local manifest
//! none of whose records matches is merged with the remote one, so a
//! record another machine made still gives a direct hit, and each object
//! is the compiler's for the header as it is now.

use crate::common::*;
use std::fs;
use std::path::Path;

/// `gcc -c test.c` in `dir`, with the remote when `remote` is given:
/// objcache's object must be the compiler's. Returns the direct hits the
/// call added.
#[track_caller]
fn compile(env: &TestEnv, dir: &Path, remote: Option<&str>) -> u64 {
    let before = env.stat("direct_cache_hit");
    let mut call = Compile::new(dir, "gcc", &["-c", "test.c", "-o", "test.o"], "test.o");
    if let Some(url) = remote {
        call = call.env("CCACHE_REMOTE_STORAGE", url);
    }
    call.check(env);
    env.stat("direct_cache_hit") - before
}

fn header(dir: &Path, text: &str) {
    fs::write(dir.join("test.h"), text).unwrap();
}

/// ccache's remote_file 11: the local manifest knows `int y;`, the remote
/// one `int x;`. With the remote, `int x;` is a direct hit from the
/// remote record, and the merged manifest serves both locally after.
#[test]
fn a_local_manifest_without_a_match_is_merged_with_the_remote_one() {
    let env = TestEnv::new();
    let dir = env.dir("p");
    let url = format!("file:{}", env.dir("remote").display());
    let remote = Some(url.as_str());
    fs::write(
        dir.join("test.c"),
        "#include \"test.h\"\nint f(void) { return v; }\n",
    )
    .unwrap();
    header(&dir, "int v = 1;\n");
    assert_eq!(compile(&env, &dir, remote), 0);
    run_ok(env.objcache().arg("-C"));
    header(&dir, "int v = 2;\n");
    assert_eq!(compile(&env, &dir, None), 0, "local only: a miss");
    header(&dir, "int v = 1;\n");
    assert_eq!(compile(&env, &dir, remote), 1, "the remote record");
    header(&dir, "int v = 2;\n");
    assert_eq!(compile(&env, &dir, None), 1, "merged: the local record");
    header(&dir, "int v = 1;\n");
    assert_eq!(compile(&env, &dir, None), 1, "merged: the remote record");
    // Neither record holds for a third header: a miss with its object.
    header(&dir, "int v = 3;\n");
    assert_eq!(compile(&env, &dir, remote), 0);
}

/// ccache's remote_file 10: both manifests hold the same record; the
/// remote one is still read and merged when it does not match, and the
/// new record reaches the remote, so a machine with only the remote gets
/// direct hits for both headers.
#[test]
fn records_reach_another_machine_through_the_merged_manifest() {
    let env = TestEnv::new();
    let dir = env.dir("p");
    let url = format!("file:{}", env.dir("remote").display());
    let remote = Some(url.as_str());
    fs::write(
        dir.join("test.c"),
        "#include \"test.h\"\nint f(void) { return v; }\n",
    )
    .unwrap();
    header(&dir, "int v = 1;\n");
    assert_eq!(compile(&env, &dir, remote), 0);
    header(&dir, "int v = 2;\n");
    let reads = env.stat("remote_storage_read_hit");
    assert_eq!(compile(&env, &dir, remote), 0);
    assert_eq!(
        env.stat("remote_storage_read_hit") - reads,
        1,
        "the remote manifest is read: {:?}",
        env.stats()
    );
    let other = TestEnv::new();
    for (text, what) in [
        ("int v = 1;\n", "first record"),
        ("int v = 2;\n", "second record"),
    ] {
        header(&dir, text);
        assert_eq!(compile(&other, &dir, remote), 1, "{what} from the remote");
    }
}

/// ccache's remote_file 8: a recache reads the manifest it updates, as a
/// counted read, and keeps no copy of a remote one it rewrites at once.
#[test]
fn recache_counts_the_manifest_it_updates() {
    let env = TestEnv::new();
    let dir = env.dir("p");
    let url = format!("file:{}", env.dir("remote").display());
    fs::write(dir.join("test.c"), "int f(void) { return 1; }\n").unwrap();
    let call = Compile::new(&dir, "gcc", &["-c", "test.c", "-o", "test.o"], "test.o")
        .env("CCACHE_REMOTE_STORAGE", &url)
        .env("CCACHE_RECACHE", "1");
    call.check(&env);
    let s = env.stats();
    assert_eq!(get(&s, "local_storage_read_miss"), 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_read_miss"), 1, "{s:?}");
    assert_eq!(get(&s, "local_storage_write"), 2, "{s:?}");
    run_ok(env.objcache().arg("-C"));
    call.check(&env);
    let s = env.stats();
    assert_eq!(get(&s, "local_storage_read_miss"), 2, "{s:?}");
    assert_eq!(get(&s, "remote_storage_read_hit"), 1, "{s:?}");
    assert_eq!(get(&s, "local_storage_write"), 4, "{s:?}");
    assert_eq!(get(&s, "recache"), 2, "{s:?}");
}
