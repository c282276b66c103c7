//! Large objects (issue 26): with `compression_level = 0` a result of
//! 1 MiB or more is kept uncompressed in the local store, so that its hit
//! reads, checks and writes the object in one pass. The checksum is the
//! same as ever: a damaged, truncated, planted or unreadable entry is a
//! miss, the compiler runs and the problem is counted.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

/// Above objcache's 1 MiB threshold: a constant array of 1.2 MB, which gcc
/// writes out byte for byte and compiles at once.
const LARGE_SOURCE: &str = "const unsigned char big[1200000] = {1, 2, 3};\n\
                            int get(int i) { return big[i]; }\n";
const SMALL_SOURCE: &str = "int twice(int i) { return 2 * i; }\n";

fn compile(dir: &Path, name: &str) -> Compile {
    let source = format!("{name}.c");
    let object = format!("{name}.o");
    Compile::new(dir, "gcc", &["-c", &source, "-o", &object], &object)
}

fn project(env: &TestEnv) -> PathBuf {
    let dir = env.dir("src");
    write_file(&dir.join("large.c"), LARGE_SOURCE);
    write_file(&dir.join("small.c"), SMALL_SOURCE);
    dir
}

/// The result files (`<key>R`) in `dir`, at any depth.
fn results(dir: &Path) -> Vec<PathBuf> {
    walk_files(dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with('R'))
        .collect()
}

/// The only result file in the cache.
#[track_caller]
fn only_result(dir: &Path) -> PathBuf {
    let found = results(dir);
    assert_eq!(found.len(), 1, "one result in {}: {found:?}", dir.display());
    found[0].clone()
}

/// The compression byte of an entry's header (docs/formats.md).
fn compressed(path: &Path) -> bool {
    read(path)[6] != 0
}

#[test]
fn large_results_are_kept_uncompressed_and_small_ones_compressed() {
    let env = TestEnv::new();
    let dir = project(&env);
    let (large, small) = (compile(&dir, "large"), compile(&dir, "small"));
    let large_object = large.check(&env).obj;
    assert!(large_object.len() > 1 << 20, "{} bytes", large_object.len());
    let large_result = only_result(&env.cache_dir);
    small.check(&env);
    let small_result = results(&env.cache_dir)
        .into_iter()
        .find(|p| *p != large_result)
        .unwrap();
    assert!(!compressed(&large_result), "the large result is stored raw");
    assert!(compressed(&small_result), "the small one compressed");
    assert!(fs::metadata(&large_result).unwrap().len() > large_object.len() as u64);
    // The hits write exactly what the compiler wrote.
    large.check(&env);
    small.check(&env);
    assert_eq!(env.hits(), 2, "{:?}", env.stats());
    let usage = run_ok(env.objcache().arg("-x")).stdout_str();
    assert!(usage.contains("Incompressible data:"), "{usage}");
}

/// A level the user chose is the level of every entry, as in ccache.
#[test]
fn an_explicit_level_compresses_large_results_too() {
    let env = TestEnv::new();
    let dir = project(&env);
    let large = compile(&dir, "large").env("CCACHE_COMPRESSLEVEL", "1");
    large.check(&env);
    assert!(compressed(&only_result(&env.cache_dir)));
    large.check(&env);
    assert_eq!(env.hits(), 1);
}

/// `-X 0` has compression_level 0's meaning, as in ccache: the level
/// objcache chooses, so a large result compressed by `-X 1` is stored
/// raw again and a small one stays compressed.
#[test]
fn recompress_to_level_zero_restores_the_chosen_levels() {
    let env = TestEnv::new();
    let dir = project(&env);
    let (large, small) = (compile(&dir, "large"), compile(&dir, "small"));
    large.check(&env);
    let large_result = only_result(&env.cache_dir);
    small.check(&env);
    run_ok(env.objcache().args(["-X", "1"]));
    assert!(compressed(&large_result), "-X 1 compresses every entry");
    run_ok(env.objcache().args(["-X", "0"]));
    assert!(
        !compressed(&large_result),
        "-X 0: the large result raw again"
    );
    for r in results(&env.cache_dir) {
        assert_eq!(compressed(&r), r != large_result, "{}", r.display());
    }
    large.check(&env);
    small.check(&env);
    assert_eq!(env.hits(), 2, "{:?}", env.stats());
}

/// `-s`/`--print-stats` and `--print-usage` count the large entry's blocks
/// as `du` does (docs/cache-size.md).
#[test]
fn the_size_counters_count_large_results_as_du_does() {
    let env = TestEnv::new();
    let dir = project(&env);
    compile(&dir, "large").check(&env);
    compile(&dir, "small").check(&env);
    let kib = |files: &[PathBuf]| -> u64 {
        let blocks: u64 = files
            .iter()
            .map(|p| fs::metadata(p).unwrap().blocks())
            .sum();
        blocks * 512 / 1024
    };
    let in_buckets: Vec<PathBuf> = cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| p.parent().unwrap().parent().unwrap().parent() == Some(&env.cache_dir))
        .collect();
    let large_result = results(&env.cache_dir)
        .into_iter()
        .find(|p| !compressed(p))
        .unwrap();
    assert!(kib(std::slice::from_ref(&large_result)) > 1024);
    assert_eq!(env.stat("cache_size_kibibyte"), kib(&in_buckets));
    let usage = parse_print_stats(&run_ok(env.objcache().arg("--print-usage")).stdout_str());
    assert_eq!(get(&usage, "total_kibibyte"), kib(&in_buckets));
    assert_eq!(
        get(&usage, "kind_result_kibibyte"),
        kib(&results(&env.cache_dir))
    );
}

/// The large result after a first compile, for a fault to be done to it;
/// then a call that must compile (a miss), write the compiler's object and
/// count `counter` once, and a call after it that hits again.
#[track_caller]
fn fault(damage: impl FnOnce(&Path), counter: Option<&str>) {
    let env = TestEnv::new();
    let dir = project(&env);
    let large = compile(&dir, "large");
    let expected = large.check(&env).obj;
    let result = only_result(&env.cache_dir);
    damage(&result);
    let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "large.c", "-o", "large.o"]);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60));
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(
        &read(&dir.join("large.o")),
        &expected,
        "object after the fault",
    );
    let stats = env.stats();
    assert_eq!(
        (hits(&stats), get(&stats, "cache_miss")),
        (0, 2),
        "{stats:?}"
    );
    if let Some(counter) = counter {
        assert_eq!(get(&stats, counter), 1, "{counter}: {stats:?}");
    }
    if fs::symlink_metadata(&result).is_ok_and(|m| m.is_file()) {
        large.check_obj(&env, &expected);
        assert_eq!(
            env.hits(),
            1,
            "the entry is stored again: {:?}",
            env.stats()
        );
    }
}

#[test]
fn a_large_result_changed_in_place_is_a_miss() {
    fault(
        |result| {
            let mut bytes = read(result);
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x40;
            // In place: the same inode, as a tool writing into it would.
            let mut file = fs::OpenOptions::new().write(true).open(result).unwrap();
            std::io::Write::write_all(&mut file, &bytes).unwrap();
        },
        Some("corrupt_cache_entry"),
    );
}

#[test]
fn a_truncated_large_result_is_a_miss() {
    fault(
        |result| {
            let len = fs::metadata(result).unwrap().len();
            let file = fs::OpenOptions::new().write(true).open(result).unwrap();
            file.set_len(len / 2).unwrap();
        },
        Some("corrupt_cache_entry"),
    );
}

#[test]
fn a_fifo_in_place_of_a_large_result_is_a_miss() {
    fault(
        |result| {
            fs::remove_file(result).unwrap();
            run_ok(Command::new("mkfifo").arg(result));
        },
        Some("corrupt_cache_entry"),
    );
}

/// A sparse file of 5 GiB where the result was: refused unread.
#[test]
fn a_huge_file_in_place_of_a_large_result_is_a_miss() {
    fault(
        |result| {
            let file = fs::OpenOptions::new().write(true).open(result).unwrap();
            file.set_len(5 << 30).unwrap();
        },
        Some("corrupt_cache_entry"),
    );
}

const OTHER_UID: u32 = 65534;

/// Another user's result, unreadable to this one: a miss, the compiler's
/// object, and the build goes on.
#[test]
fn another_users_unreadable_large_result_is_a_miss() {
    require("setpriv");
    require("gcc");
    if !is_root() {
        eprintln!("skipped: needs root to run a second user with setpriv");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    // The other user may reach the cache (and not write it) and the sources.
    fs::set_permissions(env.root(), fs::Permissions::from_mode(0o755)).unwrap();
    let src = env.dir("src");
    fs::set_permissions(&src, fs::Permissions::from_mode(0o777)).unwrap();
    write_file(&src.join("large.c"), LARGE_SOURCE);
    let large = compile(&src, "large");
    let expected = large.check(&env).obj;
    let result = only_result(&env.cache_dir);
    fs::set_permissions(&result, fs::Permissions::from_mode(0o600)).unwrap();
    rm(&src.join("large.o"));
    let mut cmd = Command::new("setpriv");
    clean_env(&mut cmd);
    cmd.args([
        &format!("--reuid={OTHER_UID}"),
        &format!("--regid={OTHER_UID}"),
        "--clear-groups",
        "--",
    ])
    .arg(objcache_bin())
    .args(["gcc", "-c", "large.c", "-o", "large.o"])
    .env("CCACHE_DIR", &env.cache_dir)
    .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
    .current_dir(&src);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60));
    assert!(out.success(), "{}", out.dump());
    assert_bytes_eq(
        &read(&src.join("large.o")),
        &expected,
        "the other user's object",
    );
    assert_eq!(env.hits(), 0, "{:?}", env.stats());
}

/// Remotes get the large entry compressed; one fetched from a remote is
/// kept uncompressed locally.
#[test]
fn remotes_get_large_results_compressed() {
    let env = TestEnv::new();
    let dir = project(&env);
    let remote = env.dir("remote");
    let url = format!("file:{}", remote.display());
    let large = compile(&dir, "large").env("CCACHE_REMOTE_STORAGE", &url);
    let expected = large.check(&env).obj;
    assert!(compressed(&only_result(&remote)), "the remote's copy");
    assert!(!compressed(&only_result(&env.cache_dir)), "the local one");
    run_ok(env.objcache().arg("-C"));
    assert!(results(&env.cache_dir).is_empty());
    large.check_obj(&env, &expected);
    assert_eq!(env.stat("remote_storage_hit"), 1, "{:?}", env.stats());
    assert!(
        !compressed(&only_result(&env.cache_dir)),
        "kept locally raw"
    );
    large.check_obj(&env, &expected);
    assert_eq!(env.stat("local_storage_hit"), 1, "{:?}", env.stats());
}

/// With `reshare`, a local hit on a large result kept raw sends the
/// remotes the entry compressed.
#[test]
fn a_reshared_large_result_is_sent_compressed() {
    let env = TestEnv::new();
    let dir = project(&env);
    let large = compile(&dir, "large");
    let expected = large.check(&env).obj;
    let remote = env.dir("remote");
    let url = format!("file:{}", remote.display());
    let reshared = large
        .env("CCACHE_REMOTE_STORAGE", &url)
        .env("CCACHE_RESHARE", "1");
    reshared.check_obj(&env, &expected);
    assert_eq!(env.stat("local_storage_hit"), 1, "{:?}", env.stats());
    assert!(compressed(&only_result(&remote)), "the remote's copy");
}
