//! A hostile review of how objcache opens files: files the user names
//! (`log_file`, `stats_log`) that a neighbour replaced by a FIFO, raw
//! objects (`hard_link`, `file_clone`) planted huge or swapped while a hit
//! uses them, entries with a valid checksum (it is not a signature) whose
//! payload inflates far past their kind's bound, a `file:` remote holding
//! a huge file, a manifest naming a FIFO as a header, memo directories
//! replaced by symlinks, and configuration files whose errors would flood
//! a build log. Every call finishes within seconds and a bounded memory,
//! with the compiler's object, output and exit code.

use crate::bookkeeping_files::{c_path, pch_project, run_bounded, run_bounded_to};
use crate::common::*;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn mkfifo(p: &Path) {
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path(p).as_ptr(), 0o644) }, 0);
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A small project: its directory and the object gcc makes of `t.c`.
fn project(env: &TestEnv) -> (std::path::PathBuf, Vec<u8>) {
    let dir = env.dir("p");
    fs::write(
        dir.join("t.c"),
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    let expected = plain_object("gcc", &dir, ["-c", "t.c", "-o", "t.o"], "t.o");
    (dir, expected)
}

/// `log_file` and `stats_log` are often in `/tmp`, where anyone may put a
/// FIFO first: opening it for writing waited for a reader forever (so did
/// ccache 4.7.5). A reader that never reads must not stop a build either.
#[test]
fn a_fifo_as_log_file_or_stats_log_never_blocks() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = project(&env);
    let fifo = env.root().join("objcache.log");
    mkfifo(&fifo);
    let compile = |what: &str, var: &str| {
        rm(&dir.join("t.o"));
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
        cmd.env(var, &fifo);
        let out = run_bounded(&mut cmd, what);
        assert!(out.success(), "{what}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
    };
    for var in ["CCACHE_LOGFILE", "CCACHE_STATSLOG"] {
        compile(&format!("{var} a FIFO with no reader"), var);
    }
    // A reader that holds the FIFO open and never reads: the pipe, cut
    // to one page, fills after a few calls' log lines.
    let reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    // SAFETY: an open pipe of ours.
    unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    for i in 0..20 {
        compile(&format!("call {i}, a FIFO nobody reads"), "CCACHE_LOGFILE");
    }
    drop(reader);
    assert!(env.hits() >= 20, "{:?}", env.stats());
}

/// The raw object of `hard_link`/`file_clone` (`<key>W` beside the
/// result): a sparse 4 GiB file planted there was read whole before its
/// length was compared with the entry's, 4.2 GB resident and 22 s, and
/// under a 1.5 GB address space objcache aborted and left no object.
#[test]
fn a_huge_file_planted_as_a_raw_object_is_refused_unread() {
    require("gcc");
    for mode in ["CCACHE_HARDLINK", "CCACHE_FILECLONE"] {
        let env = TestEnv::new();
        let (dir, expected) = project(&env);
        let compile = |what: &str| {
            rm(&dir.join("t.o"));
            let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
            cmd.env(mode, "1");
            let out = run_bounded(&mut cmd, what);
            assert!(out.success(), "{what}: {}", out.dump());
            assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
        };
        compile(mode);
        let raw = cache_entry_files(&env.cache_dir)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with('W'))
            .unwrap_or_else(|| panic!("{mode}: no raw object stored"));
        rm(&dir.join("t.o"));
        fs::remove_file(&raw).unwrap();
        fs::File::create(&raw).unwrap().set_len(4 << 30).unwrap();
        compile(&format!("{mode}, a 4 GiB sparse raw object"));
        assert_eq!(env.stat("corrupt_cache_entry"), 1, "{mode}");
        assert_eq!(env.hits(), 0, "{mode}");
        assert_eq!(
            names_in(&dir),
            ["t.c", "t.o"],
            "{mode}: no temp file is left"
        );
        compile(&format!("{mode}, stored again"));
        assert_eq!(env.hits(), 1, "{mode}: {:?}", env.stats());
    }
}

/// Swaps `target` between two files by renaming fresh links to them over
/// it, as a sync tool replaces what it updates, until dropped.
struct Swapper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Swapper {
    fn start(target: PathBuf, sources: [PathBuf; 2]) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let tmp = target.with_extension("swap");
            let mut swaps = 0;
            while !flag.load(Ordering::Relaxed) {
                let source = &sources[(swaps % 2) as usize];
                let _ = fs::remove_file(&tmp);
                if fs::hard_link(source, &tmp).is_ok() && fs::rename(&tmp, &target).is_ok() {
                    swaps += 1;
                }
                std::thread::yield_now();
            }
            swaps
        });
        Swapper {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A `hard_link` hit checked the raw object's digest, then linked whatever
/// the name led to by then: with the file replaced in between by another
/// object of the same length (a sync tool renaming its copy into place),
/// the output became that other object, never checked.
#[test]
fn a_raw_object_replaced_during_a_hard_link_hit_is_never_served() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("big");
    fs::write(
        dir.join("big.c"),
        "const char big[4 << 20] = {1};\nint get(int i) { return big[i]; }\n",
    )
    .unwrap();
    let call = ["gcc", "-c", "big.c", "-o", "big.o"];
    let expected = plain_object("gcc", &dir, &call[1..], "big.o");
    let compile = || {
        rm(&dir.join("big.o"));
        let mut cmd = env.objcache_in(&dir, call);
        cmd.env("CCACHE_HARDLINK", "1");
        run(&mut cmd)
    };
    assert!(compile().success());
    let raw = cache_entry_files(&env.cache_dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with('W'))
        .unwrap();
    let good = env.root().join("good.o");
    let other = env.root().join("other.o");
    fs::write(&good, &expected).unwrap();
    let mut changed = expected.clone();
    let last = changed.len() - 1;
    changed[last] ^= 0x55;
    fs::write(&other, &changed).unwrap();
    let swapper = Swapper::start(raw, [good, other]);
    let mut hits = 0;
    for i in 0..40 {
        let before = env.hits();
        let out = compile();
        assert!(out.success(), "call {i}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("big.o")), &expected, &format!("call {i}"));
        hits += env.hits() - before;
    }
    let swaps = swapper.finish();
    assert!(swaps > 40, "the raw object was replaced {swaps} times");
    assert_eq!(names_in(&dir), ["big.c", "big.o"], "no temp file is left");
    assert!(hits > 0, "no call hit: {:?}", env.stats());
}

/// Rewrites the entry at `path` (keeping its magic, version and key) to
/// hold `payload_len` bytes compressed from `chunks`, with a checksum
/// that matches: what a forged or buggy writer leaves (the checksum is
/// not a signature).
fn plant_compressed(path: &Path, payload_len: u64, chunks: impl Iterator<Item = Vec<u8>>) {
    use std::io::Write;
    let old = read(path);
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
    encoder.include_contentsize(true).unwrap();
    encoder.set_pledged_src_size(Some(payload_len)).unwrap();
    for chunk in chunks {
        encoder.write_all(&chunk).unwrap();
    }
    let body = encoder.finish().unwrap();
    let mut bytes = old[..6].to_vec();
    bytes.extend_from_slice(&[1, 0]); // compressed, no namespace
    bytes.extend_from_slice(&old[8..40]);
    bytes.extend_from_slice(&payload_len.to_le_bytes());
    bytes.extend_from_slice(&body);
    let checksum = blake3::hash(&bytes);
    bytes.extend_from_slice(checksum.as_bytes());
    fs::write(path, bytes).unwrap();
}

/// `n` chunks of 1 MiB of zeros.
fn zeros(n: usize) -> impl Iterator<Item = Vec<u8>> {
    (0..n).map(|_| vec![0u8; 1 << 20])
}

/// A manifest of one result with `n` include records of 65 bytes each
/// (an empty path), as few bytes a record can take: decoded, each takes
/// more memory than it does on disk.
fn tiny_records(n: u32) -> impl Iterator<Item = Vec<u8>> {
    let mut head = 1u32.to_le_bytes().to_vec();
    head.extend_from_slice(&[0x22; 32]);
    head.extend_from_slice(&n.to_le_bytes());
    let mut record = vec![0u8; 9];
    record.extend_from_slice(&[0x11; 32]);
    record.extend_from_slice(&[0; 24]);
    let per_chunk = 1 << 14;
    let chunks = (n / per_chunk) as usize;
    let mut tail = record.repeat((n % per_chunk) as usize);
    tail.extend_from_slice(&[0; 16]); // no names, no probe directories
    std::iter::once(head)
        .chain((0..chunks).map(move |_| record.repeat(per_chunk as usize)))
        .chain(std::iter::once(tail))
}

/// Manifests and miss inputs are read whole, each kind's file bounded,
/// but a compressed payload was bounded only by 4 GiB: 132 KB of zstd
/// inflated to 4 GiB in memory (4.2 GB resident, 19 s), and a manifest
/// of 4 million 65-byte records took 888 MB decoded.
#[test]
fn entries_inflating_past_their_kinds_bound_are_refused() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = project(&env);
    let compile = |what: &str| {
        rm(&dir.join("t.o"));
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
        let out = run_bounded(&mut cmd, what);
        assert!(out.success(), "{what}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
    };
    compile("first");
    let entry = |suffix: char| {
        cache_entry_files(&env.cache_dir)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} entry"))
    };
    type Plant = fn() -> (u64, Box<dyn Iterator<Item = Vec<u8>>>);
    let plants: [(&str, char, Plant); 3] = [
        ("a manifest of 1 GiB of zeros", 'M', || {
            (1 << 30, Box::new(zeros(1024)))
        }),
        ("a manifest of 4 million tiny records", 'M', || {
            let n = (256 << 20) / 65;
            (4 + 36 + 65 * n as u64 + 16, Box::new(tiny_records(n)))
        }),
        ("miss inputs of 1 GiB of zeros", 'X', || {
            (1 << 30, Box::new(zeros(1024)))
        }),
    ];
    for (what, suffix, plant) in plants {
        let (len, chunks) = plant();
        plant_compressed(&entry(suffix), len, chunks);
        if suffix == 'X' {
            // Read to explain the next miss of this output.
            fs::write(dir.join("t.c"), "int main(void) { return 1; }\n").unwrap();
            let expected = plain_object("gcc", &dir, ["-c", "t.c", "-o", "t.o"], "t.o");
            rm(&dir.join("t.o"));
            let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
            let out = run_bounded(&mut cmd, what);
            assert!(out.success(), "{what}: {}", out.dump());
            assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
        } else {
            compile(what);
        }
    }
    assert!(env.stat("corrupt_cache_entry") >= 2, "{:?}", env.stats());
}

/// A config file of 4 MiB of bad lines, or with a 4 MiB bad value: the
/// compile warns on one short line, not one listing every error (48 MB on
/// every compile for 500,000 bad lines, 4 MiB for the value), and runs
/// the compiler; `-s` fails with as short a message.
#[test]
fn a_config_full_of_errors_warns_in_one_short_line() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = project(&env);
    fs::create_dir_all(&env.cache_dir).unwrap();
    let conf = env.cache_dir.join("ccache.conf");
    let confs = [
        (
            "300,000 lines without '='",
            "no equal sign\n".repeat(300_000),
        ),
        (
            "a 4 MiB value",
            format!("max_size = {}\n", "x".repeat(4 << 20)),
        ),
    ];
    for (what, text) in confs {
        let text = &text[..text.len().min(4 << 20)];
        fs::write(&conf, text).unwrap();
        rm(&dir.join("t.o"));
        let out = run_bounded(
            &mut env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]),
            what,
        );
        assert!(out.success(), "{what}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
        let stderr = out.stderr_str();
        assert!(
            stderr.len() < 2000,
            "{what}: {} bytes of stderr",
            stderr.len()
        );
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        assert!(
            stderr.contains(&conf.display().to_string()),
            "{what}: {stderr}"
        );
        let out = run_bounded(env.objcache().arg("-s"), what);
        assert_eq!(out.code(), Some(1), "{what}: {}", out.dump());
        let all = out.stdout.len() + out.stderr.len();
        assert!(all < 2000, "{what}: -s printed {all} bytes");
    }
}

/// A result holding `object` and 256 MiB of `a` in each of the nine kinds
/// of files a hit reads into memory: the payload `plant_compressed` takes.
fn small_file_bomb(object: Vec<u8>) -> (u64, Box<dyn Iterator<Item = Vec<u8>>>) {
    const KINDS: [u8; 9] = [2, 3, 5, 6, 8, 9, 10, 11, 12];
    const EACH: u64 = 256 << 20;
    let mut head = (1 + KINDS.len() as u32).to_le_bytes().to_vec();
    head.push(1);
    head.extend_from_slice(&(object.len() as u64).to_le_bytes());
    head.extend_from_slice(&object);
    let len = head.len() as u64 + KINDS.len() as u64 * (9 + EACH);
    let files = KINDS.into_iter().flat_map(|kind| {
        let mut file = vec![kind];
        file.extend_from_slice(&EACH.to_le_bytes());
        std::iter::once(file).chain((0..EACH >> 20).map(|_| vec![b'a'; 1 << 20]))
    });
    (len, Box::new(std::iter::once(head).chain(files)))
}

/// Files besides the object were bounded one by one (256 MiB), not
/// together: an 82 KB result with a valid checksum holding 256 MiB in each
/// of nine of them took 2.4 GB and 25 s, and printed 256 MiB to stdout and
/// stderr; under a 1.5 GB address space the call aborted. Now a hit reads
/// at most 256 MiB of them, and a remote's entry is checked as streamed.
#[test]
fn a_result_of_many_large_small_files_is_refused() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = project(&env);
    let remote = env.dir("remote");
    let remote_spec = format!("file:{}", remote.display());
    let compile = |what: &str, from_remote: bool| {
        rm(&dir.join("t.o"));
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
        if from_remote {
            cmd.env("CCACHE_REMOTE_STORAGE", &remote_spec);
            cmd.env("CCACHE_REMOTE_ONLY", "1");
        }
        // One file of 256 MiB is read before the next is refused.
        let out = run_bounded_to(&mut cmd, what, 400 << 10);
        assert!(out.success(), "{what}: {}", out.dump());
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{what}");
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
    };
    compile("stored locally", false);
    compile("stored remotely", true);
    let entries: Vec<_> = [env.cache_dir.clone(), remote]
        .iter()
        .flat_map(|d| walk_files(d))
        .filter(|p| p.to_string_lossy().ends_with('R'))
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for entry in &entries {
        let (len, chunks) = small_file_bomb(expected.clone());
        plant_compressed(entry, len, chunks);
    }
    compile("local", false);
    assert_eq!(env.stat("corrupt_cache_entry"), 1);
    compile("remote", true);
    assert!(env.stat("remote_storage_error") >= 1, "{:?}", env.stats());
    assert_eq!(env.hits(), 0);
}

/// A `file:` remote is a directory a team shares: a 4 GiB sparse file
/// planted where an entry belongs was read whole (4.2 GB resident, 61 s;
/// under a 1.5 GB address space the call aborted and left no object).
/// It is now bounded like an HTTP or Redis answer (128 MiB).
#[test]
fn a_huge_file_in_a_file_remote_is_refused_unread() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = project(&env);
    let remote = env.dir("remote");
    let compile = |what: &str| {
        rm(&dir.join("t.o"));
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
        cmd.env(
            "CCACHE_REMOTE_STORAGE",
            format!("file:{}", remote.display()),
        );
        cmd.env("CCACHE_REMOTE_ONLY", "1");
        let out = run_bounded(&mut cmd, what);
        assert!(out.success(), "{what}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
    };
    compile("stored");
    let entries: Vec<_> = walk_files(&remote)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(['R', 'M']))
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for entry in &entries {
        fs::remove_file(entry).unwrap();
        fs::File::create(entry).unwrap().set_len(4 << 30).unwrap();
    }
    compile("4 GiB sparse files in the remote");
    assert!(env.stat("remote_storage_error") >= 1, "{:?}", env.stats());
    assert_eq!(env.hits(), 0);
}

/// Adds an include record for `path` (0 bytes long, as a FIFO or a device
/// node says) in front of every result of the manifest at `manifest`.
fn plant_include(manifest: &Path, path: &Path) {
    use objcache::disk::manifest::{IncludeRecord, Manifest, Stamp, StoredPath};
    let name = manifest.file_name().unwrap().to_str().unwrap();
    let key = objcache::key::Key::from_hex(&name[..name.len() - 1]).unwrap();
    let mut m = Manifest::decode(&read(manifest), &key).unwrap();
    for result in &mut m.results {
        let record = IncludeRecord {
            path: StoredPath::Literal(path.display().to_string()),
            digest: [7; 32],
            stamp: Stamp {
                size: 0,
                mtime_ns: 1,
                ctime_ns: 1,
                ino: 1,
            },
        };
        result.includes.insert(0, record);
    }
    fs::write(manifest, m.encode(&key, "", Some(1)).unwrap()).unwrap();
}

/// A header is hashed on a direct lookup when its stamp changed: a
/// manifest naming a FIFO (or `/dev/zero`) as a header of 0 bytes, which
/// anyone who can write the cache (or replace an empty header) can make,
/// hung every compile of that source, in `open` or reading forever; the
/// compiler, which does not read it, would not have.
#[test]
fn a_fifo_or_device_named_as_a_header_never_blocks_a_lookup() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = project(&env);
    let fifo = env.root().join("header.h");
    mkfifo(&fifo);
    for special in [fifo.as_path(), Path::new("/dev/zero")] {
        let what = format!("{} as a header", special.display());
        let compile = || {
            rm(&dir.join("t.o"));
            let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
            let out = run_bounded(&mut cmd, &what);
            assert!(out.success(), "{what}: {}", out.dump());
            assert_bytes_eq(&read(&dir.join("t.o")), &expected, &what);
        };
        compile();
        let manifest = cache_entry_files(&env.cache_dir)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with('M'))
            .unwrap();
        plant_include(&manifest, special);
        let misses = env.stat("direct_cache_miss");
        compile();
        assert_eq!(env.stat("direct_cache_miss"), misses + 1, "{what}");
    }
}

/// The memos `compilers/<id>` and `digests/<id>` were written through a
/// symlink planted for their directory, into a directory of the user's
/// that anyone who can write the cache may choose. They are now written
/// only inside the cache (and not at all past such a link).
#[test]
fn memos_are_never_written_through_a_symlinked_directory() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = pch_project(&env);
    fs::create_dir_all(&env.cache_dir).unwrap();
    let outside = env.dir("outside");
    for memo_dir in ["compilers", "digests"] {
        std::os::unix::fs::symlink(&outside, env.cache_dir.join(memo_dir)).unwrap();
    }
    for call in ["first", "second"] {
        rm(&dir.join("t.o"));
        let mut cmd = env.objcache_in(&dir, ["gcc", "-O2", "-c", "t.c", "-o", "t.o"]);
        let out = run_bounded(&mut cmd, call);
        assert!(out.success(), "{call}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, call);
    }
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    let written: Vec<_> = fs::read_dir(&outside).unwrap().collect();
    assert!(written.is_empty(), "written outside the cache: {written:?}");
}
