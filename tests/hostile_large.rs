//! Large results kept uncompressed (`compression_level = 0`) against a
//! small `max_size` and a remote directory recompressed by hand: the
//! choice of keeping an entry raw must never cost a cache its hits nor a
//! shared directory its compression.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::*;

/// A 3 MB object (over objcache's 1 MiB threshold) that zstd shrinks to a
/// few KiB: mostly zeros, as debug sections and tables often are.
fn large_source(n: u32) -> String {
    format!("const unsigned char big{n}[3000000] = {{{n}, 2, 3}};\n")
}

fn compile(dir: &Path, name: &str) -> Compile {
    let (source, object) = (format!("{name}.c"), format!("{name}.o"));
    Compile::new(dir, "gcc", &["-c", &source, "-o", &object], &object)
}

/// The result files (`<key>R`) under `dir`.
fn results(dir: &Path) -> Vec<PathBuf> {
    walk_files(dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().ends_with('R'))
        .collect()
}

/// The compression byte of an entry's header (docs/formats.md).
fn compressed(path: &Path) -> bool {
    read(path)[6] != 0
}

/// A `max_size` that held these results compressed (as ccache and
/// objcache before issue 26 stored them) must still hold them: kept raw,
/// each one alone took most of the limit, and the cleanup after each miss
/// evicted the result just stored. Before: 0 hits of 3, every build a
/// full rebuild. A result is kept raw only while it is a small share of
/// `max_size`.
#[test]
fn a_small_max_size_keeps_large_results_compressed_and_hits() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    let names = ["a", "b", "c"];
    for (n, name) in names.iter().enumerate() {
        write_file(&dir.join(format!("{name}.c")), &large_source(n as u32));
    }
    run_ok(env.objcache().args(["-M", "4M"]));
    for name in names {
        compile(&dir, name).check(&env);
    }
    for r in results(&env.cache_dir) {
        assert!(compressed(&r), "{} kept raw in a 4 MB cache", r.display());
    }
    for name in names {
        compile(&dir, name).check(&env);
    }
    assert_eq!(env.hits(), 3, "{:?}", env.stats());
    // With room for them, large results are kept raw as before.
    run_ok(env.objcache().args(["-M", "1G"]));
    run_ok(env.objcache().args(["-X", "0"]));
    let raw = results(&env.cache_dir)
        .into_iter()
        .filter(|r| !compressed(r));
    assert_eq!(raw.count(), 3, "-X 0 with room: raw");
    run_ok(env.objcache().args(["-M", "4M"]));
    run_ok(env.objcache().args(["-X", "0"]));
    for r in results(&env.cache_dir) {
        assert!(compressed(&r), "-X 0 kept {} raw in 4 MB", r.display());
    }
}

/// `--trim-recompress 0` on a `file:` remote directory: remotes get every
/// entry compressed (level 1 for compression_level 0), so 0 must not
/// write large results raw there. Before: a 3 MB result compressed to
/// 1 KiB was rewritten as 2.9 MiB, the shared directory grew about 2,600
/// times for such entries.
#[test]
fn trim_recompress_zero_keeps_a_remote_directory_compressed() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("a.c"), &large_source(1));
    let remote = env.dir("remote");
    let url = format!("file:{}", remote.display());
    let large = compile(&dir, "a").env("CCACHE_REMOTE_STORAGE", &url);
    let expected = large.check(&env).obj;
    let remote_results = results(&remote);
    assert_eq!(remote_results.len(), 1);
    assert!(compressed(&remote_results[0]));
    let before = fs::metadata(&remote_results[0]).unwrap().len();
    let remote_arg = remote.to_str().unwrap();
    run_ok(
        env.objcache()
            .args(["--trim-dir", remote_arg, "--trim-recompress", "0"]),
    );
    assert!(compressed(&remote_results[0]), "--trim-recompress 0: raw");
    assert!(fs::metadata(&remote_results[0]).unwrap().len() <= before + 64);
    // The entry is still served.
    run_ok(env.objcache().arg("-C"));
    large.check_obj(&env, &expected);
    assert_eq!(env.stat("remote_storage_hit"), 1, "{:?}", env.stats());
}

/// The peak memory of a miss storing a 50 MB object raw: the object, the
/// entry's payload and the entry itself, each once. Before: the raw body
/// was copied once more on its way into the entry, 4 times the object
/// (404 MB for 100 MB; 209 MB compressed at level 1).
#[test]
fn a_large_miss_holds_its_object_at_most_three_times() {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        eprintln!("skipped: no /usr/bin/time to measure the miss's memory");
        return;
    }
    let env = TestEnv::new();
    let dir = env.dir("src");
    let object_len: u64 = 50_000_000;
    let source = format!("const unsigned char big[{object_len}] = {{1, 2, 3}};\n");
    write_file(&dir.join("a.c"), &source);
    let report = env.root().join("rss");
    let cmd = env.objcache_in(&dir, ["gcc", "-c", "a.c", "-o", "a.o"]);
    let mut timed = std::process::Command::new(time);
    timed.arg("-f").arg("%M").arg("-o").arg(&report);
    timed.arg(cmd.get_program()).args(cmd.get_args());
    timed.current_dir(&dir);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    run_ok(&mut timed);
    let raw = results(&env.cache_dir)
        .into_iter()
        .filter(|r| !compressed(r));
    assert_eq!(raw.count(), 1, "the result is stored raw");
    let kib: u64 = String::from_utf8_lossy(&read(&report))
        .trim()
        .parse()
        .unwrap();
    let limit = object_len * 7 / 2 / 1024;
    assert!(kib < limit, "the miss peaked at {kib} KiB, over {limit}");
}
