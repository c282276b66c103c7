//! Files objcache keeps besides its entries, and entries that change while
//! they are read: a FIFO, a link to `/dev/zero`, a device node or a huge
//! sparse file where the compiler memo (`compilers/<id>`), a file-digest
//! memo (`digests/<id>`) or `ccache.conf` belongs, and an entry truncated
//! and rewritten in place while hits read it. Every call finishes within
//! seconds, within a 1.5 GB address space, with the compiler's object,
//! output and exit code.

use crate::common::*;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The address space a call gets here: reading a planted gigabyte whole
/// (or `/dev/zero` until memory runs out) fails under it.
const ADDRESS_SPACE: libc::rlim_t = 1_500_000_000;

/// How long a call may take on a loaded machine; a hang takes forever.
const QUICK: Duration = Duration::from_secs(20);

fn limit_memory(cmd: &mut Command) -> &mut Command {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Most a call (objcache and the compiler it runs) may hold in memory here.
const MAX_RSS_KIB: i64 = 200 << 10;

/// Runs `cmd` (stdin closed) within the address-space limit and checks it
/// finished within `QUICK` and `MAX_RSS_KIB`: a read of `/dev/zero` or of
/// a sparse gigabyte that fails for want of memory still took the memory.
pub(crate) fn run_bounded(cmd: &mut Command, what: &str) -> Out {
    run_bounded_to(cmd, what, MAX_RSS_KIB)
}

/// `run_bounded` with a peak memory of its own, in KiB.
// The child is reaped by `wait4`, which also gives its peak memory.
#[allow(clippy::zombie_processes)]
pub(crate) fn run_bounded_to(cmd: &mut Command, what: &str, max_rss_kib: i64) -> Out {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let desc = format!("{what}: {cmd:?}");
    limit_memory(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{desc}: {e}"));
    let pid = child.id() as libc::pid_t;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid one for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: our own child; `status` and `usage` outlive the call.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert_eq!(r, 0, "{desc}: wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > QUICK {
            // SAFETY: the process group the child leads.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            // SAFETY: as above.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("{desc}: still running after {QUICK:?} (a hang?)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = Out {
        status: std::process::ExitStatus::from_raw(status),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    let rss = usage.ru_maxrss;
    assert!(
        rss < max_rss_kib,
        "{desc}: {rss} KiB resident\n{}",
        out.dump()
    );
    out
}

pub(crate) fn c_path(p: &Path) -> std::ffi::CString {
    std::ffi::CString::new(p.to_str().unwrap()).unwrap()
}

type Plant = fn(&Path) -> bool;

/// What may stand where a small cache file belongs; `false` when it cannot
/// be made here (a device node needs root).
const PLANTS: [(&str, Plant); 5] = [
    ("a FIFO", |p| {
        // SAFETY: a NUL-terminated path.
        unsafe { libc::mkfifo(c_path(p).as_ptr(), 0o644) == 0 }
    }),
    ("a symlink to /dev/zero", |p| {
        std::os::unix::fs::symlink("/dev/zero", p).is_ok()
    }),
    ("a character device 1,5 (/dev/zero)", |p| {
        let dev = libc::makedev(1, 5);
        // SAFETY: a NUL-terminated path.
        unsafe { libc::mknod(c_path(p).as_ptr(), libc::S_IFCHR | 0o644, dev) == 0 }
    }),
    // Within the address space (read whole, it fills memory) and beyond.
    ("a 1 GiB sparse file", |p| {
        fs::File::create(p).unwrap().set_len(1 << 30).is_ok()
    }),
    ("a 2 GiB sparse file", |p| {
        fs::File::create(p).unwrap().set_len(2 << 30).is_ok()
    }),
];

/// The one file in `<cache>/<sub>/`.
fn only_file_in(dir: &Path) -> PathBuf {
    let files: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// A compile that uses a precompiled header, so that it keeps both a
/// compiler memo and a digest memo (for the `.gch`, settled: unchanged
/// for more than two seconds).
pub(crate) fn pch_project(env: &TestEnv) -> (PathBuf, Vec<u8>) {
    let dir = env.dir("p");
    fs::write(
        dir.join("pch.h"),
        "#include <stdio.h>\nstatic inline int value(void) { return 7; }\n",
    )
    .unwrap();
    fs::write(
        dir.join("t.c"),
        "#include \"pch.h\"\nint main(void) { return value(); }\n",
    )
    .unwrap();
    run_ok(Command::new("gcc").current_dir(&dir).args(["-O2", "pch.h"]));
    std::thread::sleep(Duration::from_millis(2200));
    let expected = plain_object("gcc", &dir, ["-O2", "-c", "t.c", "-o", "t.o"], "t.o");
    (dir, expected)
}

#[test]
fn planted_special_files_as_memos_are_replaced() {
    require("gcc");
    let env = TestEnv::new();
    let (dir, expected) = pch_project(&env);
    let compile = |what: &str| {
        rm(&dir.join("t.o"));
        let mut cmd = env.objcache_in(&dir, ["gcc", "-O2", "-c", "t.c", "-o", "t.o"]);
        let out = run_bounded(&mut cmd, what);
        assert!(out.success(), "{what}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, what);
        assert!(out.stderr.is_empty(), "{what}: {}", out.dump());
    };
    compile("first");
    compile("second");
    let memos = [
        only_file_in(&env.cache_dir.join("compilers")),
        only_file_in(&env.cache_dir.join("digests")),
    ];
    let good: Vec<Vec<u8>> = memos.iter().map(|m| read(m)).collect();
    for (memo, good) in memos.iter().zip(&good) {
        for (what, plant) in PLANTS {
            let what = format!("{what} at {}", memo.display());
            fs::remove_file(memo).unwrap();
            if !plant(memo) {
                eprintln!("skipped (cannot be made here): {what}");
                continue;
            }
            let hits = env.hits();
            compile(&what);
            assert_eq!(env.hits(), hits + 1, "{what}: {:?}", env.stats());
            // Replaced by a good memo again, which the next call uses.
            let meta = fs::symlink_metadata(memo).unwrap();
            assert!(meta.is_file(), "{what}: {meta:?}");
            assert_eq!(&read(memo), good, "{what}");
        }
    }
}

/// A huge `ccache.conf` is refused before it is read: a compile warns on
/// one `objcache:` line and runs the compiler (its output and exit code
/// passed through), manager commands fail with an error naming the file.
#[test]
fn a_huge_or_special_config_file_is_never_read() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("c");
    fs::write(
        dir.join("warn.c"),
        "int f(void) { int unused; return 1; }\n",
    )
    .unwrap();
    fs::write(dir.join("bad.c"), "int f(void) { return }\n").unwrap();
    fs::create_dir_all(&env.cache_dir).unwrap();
    let conf = env.cache_dir.join("ccache.conf");
    let conf_name = conf.display().to_string();
    type MakeConf = fn(&Path);
    let confs: [(&str, MakeConf); 3] = [
        ("a 1 GiB sparse ccache.conf", |p| {
            fs::File::create(p).unwrap().set_len(1 << 30).unwrap()
        }),
        ("ccache.conf one byte over 4 MiB", |p| {
            fs::write(p, "#".repeat((4 << 20) + 1)).unwrap()
        }),
        ("a FIFO as ccache.conf", |p| {
            // SAFETY: a NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c_path(p).as_ptr(), 0o644) }, 0)
        }),
    ];
    for (what, make) in confs {
        let _ = fs::remove_file(&conf);
        make(&conf);
        for (src, code) in [("warn.c", 0), ("bad.c", 1)] {
            let call = ["gcc", "-Wall", "-c", src, "-o", "out.o"];
            rm(&dir.join("out.o"));
            let plain_out = plain("gcc", &dir, &call[1..]);
            let plain_obj = fs::read(dir.join("out.o")).ok();
            rm(&dir.join("out.o"));
            let out = run_bounded(&mut env.objcache_in(&dir, call), what);
            assert_eq!(out.code(), Some(code), "{what} {src}: {}", out.dump());
            assert_eq!(fs::read(dir.join("out.o")).ok(), plain_obj, "{what} {src}");
            assert_eq!(out.stdout, plain_out.stdout, "{what} {src}");
            assert_bytes_eq(
                &out.stderr_without_objcache_lines(),
                &plain_out.stderr,
                what,
            );
            let ours: Vec<_> = out
                .stderr_str()
                .lines()
                .filter(|l| l.starts_with("objcache:"))
                .map(str::to_string)
                .collect();
            assert_eq!(ours.len(), 1, "{what} {src}: {ours:?}");
            assert!(ours[0].contains(&conf_name), "{what}: {ours:?}");
        }
        for manager in [&["-s"][..], &["-o", "max_files=10"]] {
            let out = run_bounded(env.objcache().args(manager), what);
            assert_eq!(out.code(), Some(1), "{what} {manager:?}: {}", out.dump());
            let all = format!("{}{}", out.stdout_str(), out.stderr_str());
            assert!(all.contains(&conf_name), "{what} {manager:?}: {all}");
        }
    }
    // Right at the limit: read and used.
    let mut text = "# padding\n".repeat((4 << 20) / 10 - 2);
    text.push_str("max_size = 7G\n");
    text.push_str(&"#".repeat((4 << 20) - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), 4 << 20);
    let _ = fs::remove_file(&conf);
    fs::write(&conf, &text).unwrap();
    let shown = run_bounded(env.objcache().args(["-k", "max_size"]), "4 MiB config");
    assert_eq!(shown.stdout_str().trim(), "7.0G", "{}", shown.dump());
    let out = run_bounded(
        &mut env.objcache_in(&dir, ["gcc", "-c", "warn.c", "-o", "out.o"]),
        "4 MiB config",
    );
    assert!(out.success() && out.stderr.is_empty(), "{}", out.dump());
    // `CCACHE_CONFIGPATH=/dev/null`, a common way to ignore every file.
    let out = run_bounded(
        env.objcache_in(&dir, ["gcc", "-c", "warn.c", "-o", "out.o"])
            .env("CCACHE_CONFIGPATH", "/dev/null"),
        "/dev/null config",
    );
    assert!(out.success() && out.stderr.is_empty(), "{}", out.dump());
}

/// Stops and joins the writer of `an_entry_rewritten_in_place_never_kills_a_hit`
/// when the test ends, failed or not.
struct Writer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Writer {
    /// Truncates `path` and writes `data` back slowly, over and over, as a
    /// `cp` over a live cache or a sync tool does.
    fn start(path: PathBuf, data: Vec<u8>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            use std::io::Write;
            let mut rounds = 0;
            while !flag.load(Ordering::Relaxed) {
                let Ok(mut f) = fs::File::create(&path) else {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                };
                for chunk in data.chunks(1 << 20) {
                    if f.write_all(chunk).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                rounds += 1;
                // Whole for a moment between rewrites, so that hits also
                // find it sound however loaded the machine is.
                drop(f);
                std::thread::sleep(Duration::from_millis(40));
            }
            rounds
        });
        Writer {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An uncompressed 8 MiB result truncated and rewritten in place while
/// 120 hits read it: no call dies of a signal (a mapped entry raised
/// SIGBUS), every call leaves the compiler's object, and a call that
/// finds the entry bad compiles.
#[test]
fn an_entry_rewritten_in_place_never_kills_a_hit() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("big");
    fs::write(
        dir.join("big.c"),
        "const char big[8 << 20] = {1};\nint get(int i) { return big[i]; }\n",
    )
    .unwrap();
    let call = ["gcc", "-c", "big.c", "-o", "big.o"];
    let expected = plain_object("gcc", &dir, &call[1..], "big.o");
    assert!(expected.len() > 8 << 20);
    let compile = || {
        let mut cmd = env.objcache_in(&dir, call);
        cmd.env("CCACHE_NOCOMPRESS", "1");
        run(&mut cmd)
    };
    assert!(compile().success());
    let entry = cache_entry_files(&env.cache_dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with('R'))
        .unwrap();
    assert!(fs::metadata(&entry).unwrap().len() > 8 << 20);
    let writer = Writer::start(entry.clone(), read(&entry));
    for i in 0..120 {
        let out = compile();
        assert!(
            out.status.code().is_some(),
            "call {i} died of a signal: {:?}\n{}",
            out.status,
            out.dump()
        );
        assert!(out.success(), "call {i}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("big.o")), &expected, &format!("call {i}"));
    }
    let rounds = writer.finish();
    assert!(rounds > 5, "the writer rewrote the entry {rounds} times");
    let s = env.stats();
    assert!(
        get(&s, "corrupt_cache_entry") > 0 && env.hits() > 0,
        "both bad and good entries were read: {s:?}"
    );
}
