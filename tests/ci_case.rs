//! The CI case (issue #26): a build in a fresh checkout at a new path, or
//! with a cache restored from a tarball, finds manifests whose headers
//! have other stamps (size, mtime, ctime, inode) than those recorded. The
//! headers are judged by content through the inode memo
//! (`<cache_dir>/inode-memo`, ccache's `inode_cache`); no manifest is
//! rewritten for it, so checkouts sharing a cache do not rewrite each
//! other's records on every hit.

use crate::common::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const HEADERS: usize = 6;
const SOURCES: usize = 3;

/// A project with `SOURCES` sources each including `HEADERS` headers from `inc/`.
fn write_project(dir: &Path) {
    for h in 0..HEADERS {
        write_file(
            &dir.join(format!("inc/h{h}.h")),
            &format!("#define H{h} {h}\n"),
        );
    }
    for s in 0..SOURCES {
        let includes: String = (0..HEADERS)
            .map(|h| format!("#include \"h{h}.h\"\n"))
            .collect();
        let text = format!("{includes}int f{s}(void) {{ return H0 + H5 + {s}; }}\n");
        write_file(&dir.join(format!("s{s}.c")), &text);
    }
}

fn compile(dir: &Path, s: usize) -> Compile {
    let src = format!("s{s}.c");
    let obj = format!("s{s}.o");
    Compile::new(dir, "gcc", &["-Iinc", "-c", &src, "-o", &obj], &obj)
}

/// Builds every source through objcache in `dir` (base_dir = `base`,
/// hash_dir off), checking each object against the plain compiler's.
fn build(env: &TestEnv, dir: &Path, base: &Path, extra: &[(&str, &str)]) {
    for s in 0..SOURCES {
        compile(dir, s)
            .env("CCACHE_BASEDIR", base.to_str().unwrap())
            .env("CCACHE_NOHASHDIR", "1")
            .envs(extra)
            .check(env);
    }
}

/// Every manifest of `cache` by path: its inode and content. A rewrite
/// (temp file and rename) gives a new inode; a hit's `touch` keeps both.
fn manifests(cache: &Path) -> BTreeMap<PathBuf, (u64, Vec<u8>)> {
    walk_files(cache)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with('M') && p.parent() != Some(cache))
        .map(|p| {
            let ino = fs::metadata(&p).unwrap().ino();
            let content = read(&p);
            (p, (ino, content))
        })
        .collect()
}

/// How many manifests were written between two snapshots.
fn rewritten(before: &BTreeMap<PathBuf, (u64, Vec<u8>)>, cache: &Path) -> usize {
    let after = manifests(cache);
    after
        .iter()
        .filter(|(p, v)| before.get(*p) != Some(v))
        .count()
}

#[test]
fn a_relocated_hit_writes_no_manifest_and_the_next_hashes_nothing() {
    require("gcc");
    let env = TestEnv::new();
    let a = env.root().join("co/a");
    write_project(&a);
    build(&env, &a, env.root(), &[]);
    assert_eq!(env.misses(), SOURCES as u64);
    let b = env.root().join("co/b");
    fresh_copy(&a, &b);
    let before = manifests(&env.cache_dir);
    assert_eq!(before.len(), SOURCES);
    build(&env, &b, env.root(), &[]);
    assert_eq!(env.stat("direct_cache_hit"), SOURCES as u64);
    assert_eq!(rewritten(&before, &env.cache_dir), 0, "manifests rewritten");
    // The second build there takes every digest from the memo.
    let log = env.root().join("second.log");
    build(
        &env,
        &b,
        env.root(),
        &[("CCACHE_LOGFILE", log.to_str().unwrap())],
    );
    assert_eq!(env.stat("direct_cache_hit"), 2 * SOURCES as u64);
    let log = fs::read_to_string(&log).unwrap();
    let memo_lines: Vec<&str> = log.lines().filter(|l| l.contains("inode memo")).collect();
    let want = format!("{HEADERS} digests from the inode memo, 0 hashed");
    assert_eq!(memo_lines.len(), SOURCES, "{log}");
    assert!(
        memo_lines.iter().all(|l| l.contains(&want)),
        "{memo_lines:?}"
    );
    assert_eq!(rewritten(&before, &env.cache_dir), 0, "manifests rewritten");
    // inode_cache = false: hashed again, still no manifest written.
    let log = env.root().join("off.log");
    let off = [
        ("CCACHE_NOINODECACHE", "1"),
        ("CCACHE_LOGFILE", log.to_str().unwrap()),
    ];
    build(&env, &b, env.root(), &off);
    let log = fs::read_to_string(&log).unwrap();
    let hashed = format!("0 digests from the inode memo, {HEADERS} hashed");
    assert_eq!(log.matches(&hashed).count(), SOURCES, "{log}");
    assert_eq!(rewritten(&before, &env.cache_dir), 0, "manifests rewritten");
}

/// Before, each hit in one checkout restamped the manifest the other had
/// restamped: 100 manifest writes per 100 hits.
#[test]
fn two_checkouts_building_alternately_write_no_manifest() {
    require("gcc");
    let env = TestEnv::new();
    let a = env.root().join("co/a");
    write_project(&a);
    build(&env, &a, env.root(), &[]);
    let b = env.root().join("co/b");
    fresh_copy(&a, &b);
    let before = manifests(&env.cache_dir);
    let rounds = 3;
    for _ in 0..rounds {
        build(&env, &b, env.root(), &[]);
        build(&env, &a, env.root(), &[]);
    }
    assert_eq!(env.stat("direct_cache_hit"), (2 * rounds * SOURCES) as u64);
    assert_eq!(rewritten(&before, &env.cache_dir), 0, "manifests rewritten");
}

/// The files of `dir` below it, by relative path, with their inodes.
fn inodes_below(dir: &Path) -> BTreeMap<PathBuf, u64> {
    walk_files(dir)
        .into_iter()
        .map(|p| {
            let ino = fs::metadata(&p).unwrap().ino();
            (p.strip_prefix(dir).unwrap().to_path_buf(), ino)
        })
        .collect()
}

/// A CI service saves the cache as a tarball and restores it in the next
/// job at another path: every file has a new inode and ctime. With a fresh
/// checkout elsewhere, every compile is a hit, no manifest is rewritten
/// and the compiler's memo is written at most once.
#[test]
fn a_cache_restored_from_a_tarball_at_a_new_path_hits_without_rewrites() {
    require("gcc");
    require("tar");
    let env = TestEnv::new();
    let a = env.root().join("job1/src");
    write_project(&a);
    build(&env, &a, &env.root().join("job1"), &[]);
    let tarball = env.root().join("cache.tar");
    let ok = Command::new("tar")
        .arg("cf")
        .arg(&tarball)
        .arg("-C")
        .arg(&env.cache_dir)
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success());
    let restored = env.root().join("job2/cache");
    fs::create_dir_all(&restored).unwrap();
    let ok = Command::new("tar")
        .arg("xf")
        .arg(&tarball)
        .arg("-C")
        .arg(&restored)
        .status()
        .unwrap();
    assert!(ok.success());
    let b = env.root().join("job2/src");
    write_project(&b);
    let job2 = env.root().join("job2");
    let restored_str = restored.to_str().unwrap();
    let before = manifests(&restored);
    let compilers = restored.join("compilers");
    let memos_before = inodes_below(&compilers);
    // The restored statistics are job 1's: a miss per source.
    let job2_env = TestEnv {
        tmp: tempfile::tempdir().unwrap(),
        cache_dir: restored.clone(),
    };
    assert_eq!(job2_env.misses(), SOURCES as u64);
    build(&env, &b, &job2, &[("CCACHE_DIR", restored_str)]);
    assert_eq!(job2_env.stat("direct_cache_hit"), SOURCES as u64);
    assert_eq!(job2_env.misses(), SOURCES as u64);
    assert_eq!(rewritten(&before, &restored), 0, "manifests rewritten");
    let memos_after = inodes_below(&compilers);
    let new_memos = memos_after
        .iter()
        .filter(|(p, ino)| memos_before.get(*p) != Some(ino))
        .count();
    assert!(new_memos <= 1, "{memos_before:?} -> {memos_after:?}");
    // The next build of the job writes nothing of it again.
    build(&env, &b, &job2, &[("CCACHE_DIR", restored_str)]);
    assert_eq!(inodes_below(&compilers), memos_after);
    assert_eq!(rewritten(&before, &restored), 0, "manifests rewritten");
}

const V111: &str = "#define VAL 111\n";
const V222: &str = "#define VAL 222\n";

/// Sleeps until just after the next second starts.
fn wait_for_a_new_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into = u64::from(now.subsec_nanos());
    std::thread::sleep(Duration::from_nanos(1_000_000_000 - into) + Duration::from_millis(30));
}

fn stamps(path: &Path) -> (i64, i64, i64, i64, u64) {
    let m = fs::metadata(path).unwrap();
    (
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        m.ino(),
    )
}

/// On a file system with 1-second stamps, a relocated checkout's header is
/// rewritten with the same size in the second a hit hashed it (its
/// identity unchanged): the memo must not have remembered it, so the next
/// call compiles the new content. And a header the memo learned, rewritten
/// later, has a new identity.
#[test]
fn a_header_rewritten_in_the_second_the_memo_saw_it_is_compiled() {
    require("gcc");
    let env = TestEnv::new();
    let Some(coarse) = CoarseFs::mount(env.root()) else {
        return;
    };
    let (a, b) = (coarse.mnt.join("a"), coarse.mnt.join("b"));
    let args = ["-c", "main.c", "-o", "main.o"];
    let main = "#include \"hdr.h\"\nint val(void) { return VAL; }\n";
    write_file(&a.join("main.c"), main);
    let object_of = |text| {
        write_file(&a.join("hdr.h"), text);
        plain_object("gcc", &a, args, "main.o")
    };
    let (o111, o222) = (object_of(V111), object_of(V222));
    write_file(&a.join("hdr.h"), V111);
    let base = coarse.mnt.to_str().unwrap().to_string();
    let cc = |dir: &Path| {
        let mut cmd = env.objcache_in(dir, ["gcc"].iter().chain(&args));
        cmd.env("CCACHE_BASEDIR", &base)
            .env("CCACHE_NOHASHDIR", "1");
        run_ok(&mut cmd);
        read(&dir.join("main.o"))
    };
    wait_for_a_new_second();
    wait_for_a_new_second();
    assert_eq!(cc(&a), o111);
    let mut same_second_rounds = 0;
    for _ in 0..8 {
        let _ = fs::remove_dir_all(&b);
        wait_for_a_new_second();
        wait_for_a_new_second();
        fs::create_dir_all(&b).unwrap();
        write_file(&b.join("main.c"), main);
        write_file(&b.join("hdr.h"), V111);
        let before = stamps(&b.join("hdr.h"));
        let hits = env.stat("direct_cache_hit");
        assert_bytes_eq(&cc(&b), &o111, "the relocated hit");
        assert_eq!(env.stat("direct_cache_hit"), hits + 1, "a direct hit");
        write_file(&b.join("hdr.h"), V222);
        let same = stamps(&b.join("hdr.h")) == before;
        assert_bytes_eq(&cc(&b), &o222, "after a rewrite in the hit's second");
        // Learned once settled; a later rewrite is a new identity.
        write_file(&b.join("hdr.h"), V111);
        wait_for_a_new_second();
        wait_for_a_new_second();
        wait_for_a_new_second();
        assert_bytes_eq(&cc(&b), &o111, "settled");
        assert_bytes_eq(&cc(&b), &o111, "recalled");
        write_file(&b.join("hdr.h"), V222);
        assert_bytes_eq(&cc(&b), &o222, "after a rewrite of a remembered header");
        same_second_rounds += usize::from(same);
        if same_second_rounds == 2 {
            return;
        }
    }
    panic!("only {same_second_rounds} rounds rewrote the header within one second");
}

/// What may stand where the memo file belongs.
fn plant(memo: &Path, what: &str, elsewhere: &Path) {
    let _ = fs::remove_file(memo);
    let _ = fs::remove_dir(memo);
    match what {
        "fifo" => {
            let ok = Command::new("mkfifo").arg(memo).status().unwrap();
            assert!(ok.success());
        }
        "symlink" => std::os::unix::fs::symlink(elsewhere, memo).unwrap(),
        "truncated" => fs::write(memo, [0u8; 1000]).unwrap(),
        "directory" => fs::create_dir(memo).unwrap(),
        "garbage" => {
            // Random bytes of the exact size: every slot fails its check.
            let mut noise = vec![0u8; 4 << 20];
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for b in noise.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            fs::write(memo, noise).unwrap();
        }
        _ => unreachable!("{what}"),
    }
}

/// Anything in the memo's place, and a read-only cache: every build is
/// correct, a hit, and quick; a file another program named by a symlink is
/// left alone.
#[test]
fn a_bad_memo_file_or_a_read_only_cache_never_breaks_a_build() {
    require("gcc");
    let env = TestEnv::new();
    let a = env.root().join("co/a");
    write_project(&a);
    build(&env, &a, env.root(), &[]);
    let memo = env.cache_dir.join("inode-memo");
    let elsewhere = env.root().join("elsewhere");
    fs::write(&elsewhere, vec![7u8; 4 << 20]).unwrap();
    let cases = [
        "fifo",
        "symlink",
        "truncated",
        "directory",
        "garbage",
        "read-only",
    ];
    for (i, what) in cases.iter().enumerate() {
        let read_only = *what == "read-only";
        // Read-only: in the last case's checkout, whose digests it learned.
        let b = env
            .root()
            .join(format!("co/b{}", i - usize::from(read_only)));
        if !read_only {
            fresh_copy(&a, &b);
        }
        let memo_before = fs::read(&memo).ok();
        if !read_only {
            plant(&memo, what, &elsewhere);
        }
        let logs = [0, 1].map(|r| env.root().join(format!("{what}.{r}.log")));
        for (round, log) in logs.iter().enumerate() {
            let hits = env.stat("direct_cache_hit");
            for s in 0..SOURCES {
                let c = compile(&b, s);
                let expected = c.plain();
                let mut cmd = env.objcache_in(&b, std::iter::once(&c.cc).chain(&c.args));
                cmd.env("CCACHE_BASEDIR", env.root())
                    .env("CCACHE_NOHASHDIR", "1")
                    .env("CCACHE_LOGFILE", log);
                if read_only {
                    cmd.env("CCACHE_READONLY", "1");
                }
                let out = run_with_timeout(&mut cmd, Duration::from_secs(60));
                assert!(out.success(), "{what}: {}", out.dump());
                assert_bytes_eq(&read(&b.join(&c.obj)), &expected.obj, what);
            }
            assert_eq!(
                env.stat("direct_cache_hit"),
                hits + SOURCES as u64,
                "{what}, round {round}"
            );
        }
        let [first, log] = logs.map(|l| fs::read_to_string(l).unwrap());
        // The second round's lookups hash nothing.
        let recalled = log.lines().filter(|l| l.contains(" 0 hashed")).count();
        let m = fs::symlink_metadata(&memo);
        match *what {
            // Replaced by a memo, which the second round used.
            "fifo" | "symlink" | "truncated" => {
                let m = m.unwrap();
                assert!(m.is_file() && m.len() == 4 << 20, "{what}: {m:?}");
                assert_eq!(recalled, SOURCES, "{what}: {log}");
            }
            "directory" => assert!(m.unwrap().is_dir()),
            // Misses first, then the slots written.
            "garbage" => {
                let missed = format!("0 digests from the inode memo, {HEADERS} hashed");
                assert!(first.contains(&missed), "{first}");
                assert_eq!(recalled, SOURCES, "{what}: {log}");
            }
            // Read, never written.
            _ => {
                assert_eq!(recalled, SOURCES, "{what}: {log}");
                assert!(
                    fs::read(&memo).ok() == memo_before,
                    "{what}: the memo was written"
                );
            }
        }
    }
    assert_eq!(fs::read(&elsewhere).unwrap(), vec![7u8; 4 << 20]);
}

/// A string of `__TIMESTAMP__`'s form that no macro of the compile gave
/// (libgit2's mbox `From` line, `"Mon Sep 17 00:00:00 2001"`) leaves
/// direct mode on; one a pasted `__TIMESTAMP__` gave (the source's mtime)
/// keeps the compile from being recorded, so a hit never replays another
/// mtime's stamp.
#[test]
fn only_a_timestamp_a_macro_gave_keeps_direct_mode_off() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(
        &dir.join("mbox.c"),
        "const char *from = \"From 0000 Mon Sep 17 00:00:00 2001\";\n\
         const char *line = \"Mon Sep 17 00:00:00 2001\";\n",
    );
    write_file(
        &dir.join("stamp.c"),
        "#define CAT(a, b) a##b\nconst char *t = CAT(__TIME, STAMP__);\n",
    );
    settle_stamps();
    let mbox = Compile::new(&dir, "gcc", &["-c", "mbox.c", "-o", "mbox.o"], "mbox.o");
    mbox.check(&env);
    mbox.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1, "{:?}", env.stats());

    let stamp = Compile::new(&dir, "gcc", &["-c", "stamp.c", "-o", "stamp.o"], "stamp.o");
    stamp.check(&env);
    // The same text with another mtime: the object holds the new one.
    let ok = std::process::Command::new("touch")
        .args(["-d", "2001-09-17 00:00:00"])
        .arg(dir.join("stamp.c"))
        .status()
        .unwrap();
    assert!(ok.success());
    stamp.check(&env);
    stamp.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1, "{:?}", env.stats());
}
