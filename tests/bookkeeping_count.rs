//! The cache's file count as ccache keeps it: `files_in_cache` counts the
//! results and manifests (a preprocessor-mode miss adds one file, a
//! direct-mode miss two), while each output's miss inputs (`…X`, what
//! `--explain` reads) are counted apart as `miss_inputs_in_cache`, count in
//! the size, are shown under their own name by every report and go by last
//! use with the rest. Both counts stay exact through stores, `-z`, `-c`,
//! `-C`, `--evict-older-than`, `--check` and automatic cleanups. Also the
//! small conformities of ccache 4.7.5's suite: `--inspect`'s compression
//! line, `--trim-dir` refusing a local cache, and the `stats_log` lines.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The entry files on disk: (files `files_in_cache` counts, miss inputs,
/// KiB of all of them).
fn on_disk(env: &TestEnv) -> (u64, u64, u64) {
    let files = cache_entry_files(&env.cache_dir);
    let kib = files
        .iter()
        .map(|p| fs::metadata(p).unwrap().blocks() * 512 / 1024)
        .sum();
    let counted = counted_files(&files);
    (counted, files.len() as u64 - counted, kib)
}

#[track_caller]
fn assert_counts(env: &TestEnv, files: u64, inputs: u64, when: &str) {
    let s = env.stats();
    let counters = (
        get(&s, "files_in_cache"),
        get(&s, "miss_inputs_in_cache"),
        get(&s, "cache_size_kibibyte"),
    );
    let disk = on_disk(env);
    assert_eq!(
        counters, disk,
        "{when}: (files_in_cache, miss_inputs_in_cache, cache_size_kibibyte) vs the disk"
    );
    assert_eq!((disk.0, disk.1), (files, inputs), "{when}: on disk");
}

/// Writes `name.c` (a distinct function) in `dir`, its stamp settled.
fn source(dir: &Path, name: &str) {
    fs::write(
        dir.join(format!("{name}.c")),
        format!("int {name}(int x) {{ return x + 1; }}\n"),
    )
    .unwrap();
    settle_stamps();
}

fn compile(env: &TestEnv, dir: &Path, name: &str, vars: &[(&str, &str)]) {
    let src = format!("{name}.c");
    let obj = format!("{name}.o");
    let mut cmd = env.objcache_in(dir, ["gcc", "-c", src.as_str(), "-o", obj.as_str()]);
    cmd.envs(vars.iter().copied());
    run_ok(&mut cmd);
}

fn manager(env: &TestEnv, args: &[&str]) -> Out {
    run_ok(env.objcache().args(args))
}

fn entries_ending(env: &TestEnv, kind: char) -> Vec<PathBuf> {
    cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(kind))
        .collect()
}

#[test]
fn a_miss_adds_files_as_ccaches_does_and_its_miss_inputs_apart() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    source(&dir, "direct");
    compile(&env, &dir, "direct", &[]);
    assert_eq!(env.misses(), 1);
    assert_counts(&env, 2, 1, "a direct-mode miss: a result and a manifest");
    compile(&env, &dir, "direct", &[]);
    assert_eq!(env.hits(), 1);
    assert_counts(&env, 2, 1, "a hit");
    source(&dir, "prep");
    compile(&env, &dir, "prep", &[("CCACHE_NODIRECT", "1")]);
    assert_eq!(env.misses(), 2);
    assert_counts(&env, 3, 2, "a preprocessor-mode miss: a result");
}

#[test]
fn every_report_names_the_miss_inputs() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    source(&dir, "r");
    compile(&env, &dir, "r", &[]);
    assert_counts(&env, 2, 1, "after the miss");
    let show = manager(&env, &["-s"]).stdout_str();
    let line = show
        .lines()
        .find(|l| l.trim_start().starts_with("Miss inputs:"))
        .unwrap_or_else(|| panic!("no miss inputs line in -s:\n{show}"));
    assert!(line.trim_end().ends_with(" 1"), "{line}");
    let files = show
        .lines()
        .find(|l| l.trim_start().starts_with("Files:"))
        .unwrap();
    assert!(files.trim_end().ends_with(" 2"), "{files}");

    let json = manager(&env, &["--print-stats", "--format", "json"]).stdout_str();
    assert!(json.contains("\"files_in_cache\": 2,"), "{json}");
    assert!(json.contains("\"miss_inputs_in_cache\": 1,"), "{json}");

    let usage = parse_print_stats(&manager(&env, &["--print-usage"]).stdout_str());
    assert_eq!(get(&usage, "total_files"), 2, "{usage:?}");
    assert_eq!(get(&usage, "kind_miss_inputs_files"), 1, "{usage:?}");
    let (_, _, kib) = on_disk(&env);
    assert_eq!(get(&usage, "total_kibibyte"), kib, "{usage:?}");
    let show_usage = manager(&env, &["--show-usage"]).stdout_str();
    assert!(show_usage.contains("miss inputs"), "{show_usage}");

    let metrics = manager(&env, &["--print-stats", "--format", "openmetrics"]).stdout_str();
    assert!(
        metrics.contains("\nobjcache_miss_inputs_in_cache 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nobjcache_files_in_cache 2\n"),
        "{metrics}"
    );
}

#[test]
fn manager_operations_keep_both_counts_exact() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    for name in ["a", "b", "c"] {
        source(&dir, name);
        compile(&env, &dir, name, &[]);
    }
    assert_counts(&env, 6, 3, "three direct-mode misses");
    manager(&env, &["-z"]);
    assert_counts(&env, 6, 3, "-z keeps what the cache holds");
    manager(&env, &["-c"]);
    assert_counts(&env, 6, 3, "-c");

    // All three unused for three days, then b used again (a hit touches
    // its result, manifest and miss inputs): a's and c's files go.
    let three_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86400);
    let before = cache_entry_files(&env.cache_dir);
    for p in &before {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(three_days_ago)
            .unwrap();
    }
    compile(&env, &dir, "b", &[]);
    let out = manager(&env, &["--evict-older-than", "2d"]);
    assert!(
        out.stdout_str()
            .contains("Removed 4 files and 2 miss inputs"),
        "{}",
        out.dump()
    );
    assert_counts(&env, 2, 1, "--evict-older-than 2d");

    // A damaged miss inputs file: --check removes it and its count.
    let [x] = &entries_ending(&env, 'X')[..] else {
        panic!("one miss inputs file expected");
    };
    let mut bytes = fs::read(x).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(x, bytes).unwrap();
    let check = manager(&env, &["--check"]).stdout_str();
    assert!(check.contains("0 files and 1 miss inputs"), "{check}");
    assert_counts(&env, 2, 0, "--check");

    compile(&env, &dir, "a", &[]);
    assert_counts(&env, 4, 1, "a stored again");
    let out = manager(&env, &["-C"]);
    assert!(
        out.stdout_str().contains("4 files and 1 miss inputs"),
        "{}",
        out.dump()
    );
    assert_counts(&env, 0, 0, "-C");
}

#[test]
fn max_files_limits_the_files_ccache_counts() {
    require("gcc");
    let env = TestEnv::new();
    fs::create_dir_all(&env.cache_dir).unwrap();
    // Directory 0/'s share: 4 files. Results only, all stored there.
    fs::write(
        env.cache_dir.join("ccache.conf"),
        "max_files = 64\nlimit_multiple = 1.0\ndirect_mode = false\n",
    )
    .unwrap();
    let dir = env.dir("src");
    let names = sources_in_shard(&env, &dir, "s", 0, 5);
    let units: Vec<&str> = names.iter().map(|n| n.trim_end_matches(".c")).collect();
    for unit in &units[..4] {
        compile(&env, &dir, unit, &[]);
    }
    // Four files and four miss inputs: within the share, as in ccache.
    assert_counts(&env, 4, 4, "four units");
    assert_eq!(env.stat("cleanups_performed"), 0, "{:?}", env.stats());
    // Units 1 to 3 are hit again: the first is the least recently used,
    // and the fifth unit's store evicts it (its miss inputs count in the
    // size only, so they are no reason to evict).
    for p in cache_entry_files(&env.cache_dir) {
        set_age(&p, 3600);
    }
    let first = units[0];
    for unit in &units[1..] {
        compile(&env, &dir, unit, &[]);
    }
    assert_eq!(env.stat("cleanups_performed"), 1, "{:?}", env.stats());
    assert_eq!(env.stat("files_in_cache"), 4, "{:?}", env.stats());
    let s = env.stats();
    assert_eq!(
        (
            get(&s, "files_in_cache"),
            get(&s, "miss_inputs_in_cache"),
            get(&s, "cache_size_kibibyte")
        ),
        on_disk(&env),
        "after the cleanup"
    );
    compile(&env, &dir, first, &[]);
    assert_eq!(
        env.stat("cache_miss"),
        6,
        "{first} was evicted: {:?}",
        env.stats()
    );
}

#[test]
fn stats_log_lines_are_ccaches() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    fs::write(dir.join("test.c"), "int foo_1(int x) { return x; }\n").unwrap();
    settle_stamps();
    let log = dir.join("stats.log");
    for _ in 0..2 {
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "test.c"]);
        cmd.env("CCACHE_STATSLOG", &log);
        run_ok(&mut cmd);
    }
    // ccache 4.7.5's own test (stats_log.bash) expects exactly this.
    let expected = "# test.c
cache_miss
direct_cache_miss
local_storage_miss
local_storage_read_miss
local_storage_read_miss
local_storage_write
local_storage_write
preprocessed_cache_miss
# test.c
direct_cache_hit
local_storage_hit
local_storage_read_hit
local_storage_read_hit
";
    assert_eq!(fs::read_to_string(&log).unwrap(), expected);
}

#[test]
fn inspect_names_the_compression_type() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    for (name, vars, want) in [
        ("z", &[][..], "zstd"),
        ("n", &[("CCACHE_NOCOMPRESS", "1")][..], "none"),
    ] {
        source(&dir, name);
        compile(&env, &dir, name, vars);
        let result = entries_ending(&env, 'R').into_iter().find(|p| {
            let out = manager(&env, &["--inspect", p.to_str().unwrap()]).stdout_str();
            out.contains(&format!("Compression type: {want}\n"))
        });
        assert!(result.is_some(), "no result of {name} says {want}");
    }
}

#[test]
fn trim_dir_refuses_a_local_cache() {
    let env = TestEnv::new();
    let refused = |dir: &Path| {
        let out =
            run(env
                .objcache()
                .args(["--trim-dir", dir.to_str().unwrap(), "--trim-max-size", "0"]));
        assert_eq!(out.code(), Some(1), "{}", out.dump());
        assert!(out.stderr_str().contains("local cache"), "{}", out.dump());
    };
    // ccache's two marks, as its trim_dir test plants them.
    let stats = env.dir("local1");
    fs::create_dir_all(stats.join("0")).unwrap();
    fs::write(stats.join("0/stats"), b"").unwrap();
    fs::write(stats.join("entry"), vec![1u8; 8192]).unwrap();
    refused(&stats);
    assert!(stats.join("entry").exists());
    let conf = env.dir("local2");
    fs::write(conf.join("ccache.conf"), b"").unwrap();
    refused(&conf);
    // objcache's own cache directory.
    require("gcc");
    let dir = env.dir("src");
    source(&dir, "t");
    compile(&env, &dir, "t", &[]);
    fs::remove_file(env.cache_dir.join("ccache.conf")).ok();
    refused(&env.cache_dir);
    assert_counts(&env, 2, 1, "nothing trimmed");
    // A remote directory is trimmed.
    let remote = env.dir("remote/aa");
    fs::write(remote.join("1"), vec![1u8; 8192]).unwrap();
    let out = run_ok(env.objcache().args([
        "--trim-dir",
        env.root().join("remote").to_str().unwrap(),
        "--trim-max-size",
        "0",
    ]));
    assert!(!remote.join("1").exists(), "{}", out.dump());
}
