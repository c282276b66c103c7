//! Locks and stats files that another process holds or that are damaged:
//! a stats shard or the cleanup lock held (`flock`) by another process, of
//! root or of another user who can merely open the file; a FIFO, a 1 GiB
//! file or garbage where a stats file or the lock belongs. Every call
//! finishes within seconds with the right object, the problem is counted,
//! manager commands answer or fail clearly, and `--check` repairs what it
//! can.

use crate::common::*;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Far longer than any wait for a lock (200 ms), far shorter than a hang.
pub(crate) const BOUND: Duration = Duration::from_secs(5);

/// The second user: `nobody`.
const NOBODY: u32 = 65534;

/// Who holds the locks: root (`None`) and, when setpriv can run a second
/// user, `nobody`, who can only open the files to read them.
fn holders() -> Vec<Option<u32>> {
    if is_root() && have("setpriv") {
        vec![None, Some(NOBODY)]
    } else {
        eprintln!("SKIP: the second-user cases need root and setpriv");
        vec![None]
    }
}

/// A process holding `flock` on `files` until dropped: killed then, also
/// when the test fails.
pub(crate) struct Holder(Child);

impl Holder {
    fn new(files: &[PathBuf], user: Option<u32>) -> Holder {
        Holder::doing(files, user, "exec sleep 1000")
    }

    /// A holder that runs `while_held` (a shell command) once it holds
    /// the locks.
    pub(crate) fn doing(files: &[PathBuf], user: Option<u32>, while_held: &str) -> Holder {
        require("flock");
        require("bash");
        let mut script = String::new();
        for (i, f) in files.iter().enumerate() {
            let fd = i + 3;
            script.push_str(&format!("exec {fd}<'{}' && flock {fd} && ", f.display()));
        }
        script.push_str(&format!("echo locked && {while_held}"));
        let mut cmd = match user {
            Some(uid) => {
                let mut setpriv = Command::new("setpriv");
                setpriv.args([
                    format!("--reuid={uid}"),
                    format!("--regid={uid}"),
                    "--clear-groups".into(),
                    "--".into(),
                    "bash".into(),
                ]);
                setpriv
            }
            None => Command::new("bash"),
        };
        cmd.arg("-c")
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut holder = Holder(cmd.spawn().expect("start the lock holder"));
        let mut line = String::new();
        let stdout = holder.0.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            "locked",
            "the holder ({user:?}) could not lock"
        );
        holder
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A cache another user can open the files of (read only, by the umask).
pub(crate) fn env_open_to_others() -> (TestEnv, PathBuf) {
    let env = TestEnv::new();
    fs::set_permissions(env.root(), fs::Permissions::from_mode(0o755)).unwrap();
    let dir = env.dir("src");
    (env, dir)
}

pub(crate) fn write_source(dir: &Path, name: &str) {
    let n: u32 = name.bytes().map(u32::from).sum();
    fs::write(
        dir.join(name),
        format!("int f_{n}(void) {{ return {n}; }}\n"),
    )
    .unwrap();
}

/// `objcache gcc -c SRC -o SRC.o`, bounded, whose object must be the plain
/// compiler's.
#[track_caller]
pub(crate) fn compile(env: &TestEnv, dir: &Path, src: &str) {
    let obj = format!("{src}.o");
    let args = ["-c", src, "-o", obj.as_str()];
    let expected = plain_object("gcc", dir, args, &obj);
    let out = run_with_timeout(
        &mut env.objcache_in(dir, ["gcc"].iter().chain(&args)),
        BOUND,
    );
    assert!(out.success(), "{src}: {}", out.dump());
    assert_bytes_eq(
        &read(&dir.join(&obj)),
        &expected,
        &format!("object of {src}"),
    );
}

/// A manager command, bounded.
pub(crate) fn manager(env: &TestEnv, args: &[&str]) -> Out {
    run_with_timeout(env.objcache().args(args), BOUND)
}

pub(crate) fn print_stats(env: &TestEnv) -> Stats {
    let out = manager(env, &["--print-stats"]);
    assert!(out.success(), "{}", out.dump());
    parse_print_stats(&out.stdout_str())
}

pub(crate) fn stats_file(env: &TestEnv, shard: u8) -> PathBuf {
    env.cache_dir.join(format!("objcache-stats/{shard:x}"))
}

fn existing_stats_files(env: &TestEnv) -> Vec<PathBuf> {
    (0..16)
        .map(|s| stats_file(env, s))
        .filter(|p| p.exists())
        .collect()
}

/// Stats shards held by another process: hits and misses finish at once
/// with the right object, their counts go to the free shard with
/// `stats_lock_timeout`, and manager commands answer or fail clearly.
#[test]
fn held_stats_locks_never_hang_a_call() {
    require("gcc");
    for user in holders() {
        let (env, dir) = env_open_to_others();
        write_source(&dir, "a.c");
        write_source(&dir, "b.c");
        compile(&env, &dir, "a.c");
        compile(&env, &dir, "a.c");
        // Every shard but 0 held: wherever a call counts, it meets a held
        // lock but for one chance in 16.
        let held: Vec<PathBuf> = (1..16).map(|s| stats_file(&env, s)).collect();
        for p in &held {
            if !p.exists() {
                fs::write(p, "").unwrap();
            }
        }
        let holder = Holder::new(&held, user);
        for _ in 0..4 {
            compile(&env, &dir, "a.c");
        }
        compile(&env, &dir, "b.c");
        let s = print_stats(&env);
        assert_eq!(hits(&s), 5, "{user:?}: {s:?}");
        assert_eq!(get(&s, "cache_miss"), 2, "{user:?}: {s:?}");
        assert!(get(&s, "stats_lock_timeout") >= 1, "{user:?}: {s:?}");
        let show = manager(&env, &["-s"]);
        assert!(show.success(), "{}", show.dump());
        assert!(show.stderr_str().contains("locked by another process"));
        for (args, what) in [
            (&["-z"][..], "locked by another process"),
            (&["-c"], "left alone"),
            (&["-C"], "left alone"),
        ] {
            let out = manager(&env, args);
            assert_eq!(out.code(), Some(1), "{args:?}: {}", out.dump());
            assert!(out.stderr_str().contains(what), "{args:?}: {}", out.dump());
        }
        drop(holder);
        let out = manager(&env, &["-z"]);
        assert!(out.success(), "{}", out.dump());
        compile(&env, &dir, "a.c");
        assert_eq!(hits(&print_stats(&env)), 1);
    }
}

/// The cleanup lock held by another process: calls over the limit leave
/// the cleanup to it (`cleanups_skipped`) without waiting; once it has not
/// touched the lock for a while (a stuck holder), the next call cleans
/// without it, and the accounting stays exact.
#[test]
fn a_held_cleanup_lock_defers_cleanups_but_never_stops_them() {
    require("gcc");
    for user in holders() {
        let (env, dir) = env_open_to_others();
        fs::create_dir_all(&env.cache_dir).unwrap();
        // Directory 0/'s share: 8 results; every result is stored there.
        let conf = "max_files = 128\ndirect_mode = false\n";
        fs::write(env.cache_dir.join("ccache.conf"), conf).unwrap();
        let lock = env.cache_dir.join("cleanup.lock");
        fs::write(&lock, "").unwrap();
        let _holder = Holder::new(std::slice::from_ref(&lock), user);
        let names = sources_in_shard(&env, &dir, "u", 0, 13);
        for src in &names[..12] {
            compile(&env, &dir, src);
        }
        let s = print_stats(&env);
        assert_eq!(get(&s, "cleanups_performed"), 0, "{user:?}: {s:?}");
        assert!(get(&s, "cleanups_skipped") >= 1, "{user:?}: {s:?}");
        assert!(get(&s, "files_in_cache") > 8, "{user:?}: {s:?}");
        // 12 results, under twice the share, so only staleness lets a
        // call take over.
        // The holder has not touched the lock for an hour: stuck.
        set_age(&lock, 3600);
        compile(&env, &dir, &names[12]);
        let s = print_stats(&env);
        assert_eq!(get(&s, "cleanups_performed"), 1, "{user:?}: {s:?}");
        assert!(get(&s, "files_in_cache") <= 8, "{user:?}: {s:?}");
        assert_eq!(
            get(&s, "files_in_cache"),
            counted_files(&cache_entry_files(&env.cache_dir)),
            "{user:?}: the accounting drifted"
        );
    }
}

fn mkfifo(path: &Path) {
    let _ = fs::remove_file(path);
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// A FIFO at the cleanup lock is replaced by a lock file: cleanups run.
#[test]
fn a_fifo_at_the_cleanup_lock_is_replaced() {
    require("gcc");
    let (env, dir) = env_open_to_others();
    fs::create_dir_all(&env.cache_dir).unwrap();
    fs::write(env.cache_dir.join("ccache.conf"), "max_files = 4\n").unwrap();
    let lock = env.cache_dir.join("cleanup.lock");
    mkfifo(&lock);
    for n in 0..4 {
        let src = format!("u{n}.c");
        write_source(&dir, &src);
        compile(&env, &dir, &src);
    }
    let s = print_stats(&env);
    assert!(get(&s, "cleanups_performed") >= 1, "{s:?}");
    assert!(get(&s, "files_in_cache") <= 4, "{s:?}");
    assert!(fs::symlink_metadata(&lock).unwrap().is_file());
}

/// FIFOs at every stats shard: calls do not block, the shards they update
/// are replaced (`corrupt_stats_file`), `-s` warns, `-z` succeeds and
/// `--check` replaces the rest.
#[test]
fn fifos_at_the_stats_files_are_replaced() {
    require("gcc");
    let (env, dir) = env_open_to_others();
    write_source(&dir, "a.c");
    write_source(&dir, "b.c");
    compile(&env, &dir, "a.c");
    for s in 0..16 {
        mkfifo(&stats_file(&env, s));
    }
    compile(&env, &dir, "a.c");
    compile(&env, &dir, "b.c");
    let s = print_stats(&env);
    assert_eq!((hits(&s), get(&s, "cache_miss")), (1, 1), "{s:?}");
    assert!(get(&s, "corrupt_stats_file") >= 1, "{s:?}");
    let show = manager(&env, &["-s"]);
    assert!(show.success(), "{}", show.dump());
    assert!(
        show.stderr_str().contains("not a regular file"),
        "{}",
        show.dump()
    );
    let check = manager(&env, &["--check"]);
    assert!(check.success(), "{}", check.dump());
    assert!(
        !check.stdout_str().contains("Repaired stats files: 0"),
        "{}",
        check.dump()
    );
    assert!((0..16).all(|s| !is_fifo(&stats_file(&env, s))));
    for s in [0, 5] {
        mkfifo(&stats_file(&env, s));
    }
    let out = manager(&env, &["-z"]);
    assert!(out.success(), "{}", out.dump());
    assert!((0..16).all(|s| !is_fifo(&stats_file(&env, s))));
    compile(&env, &dir, "a.c");
    assert_eq!(hits(&print_stats(&env)), 1);
}

/// Stats files padded to 1 GiB (sparse): a hit and `-s` read no more than
/// a few KiB of each, the counters before the padding still count, and
/// `--check` cuts the files back.
#[test]
fn padded_stats_files_are_read_no_further_than_their_bound() {
    require("gcc");
    let (env, dir) = env_open_to_others();
    write_source(&dir, "a.c");
    compile(&env, &dir, "a.c");
    compile(&env, &dir, "a.c");
    let padded = existing_stats_files(&env);
    for p in &padded {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
    }
    compile(&env, &dir, "a.c");
    let show = manager(&env, &["-s"]);
    assert!(show.success(), "{}", show.dump());
    let s = print_stats(&env);
    assert_eq!((hits(&s), get(&s, "cache_miss")), (2, 1), "{s:?}");
    let check = manager(&env, &["--check"]);
    assert!(check.success(), "{}", check.dump());
    assert!(
        !check.stdout_str().contains("Repaired stats files: 0"),
        "{}",
        check.dump()
    );
    for p in &padded {
        assert!(fs::metadata(p).unwrap().len() < 16 << 10, "{}", p.display());
    }
    assert_eq!(hits(&print_stats(&env)), 2);
}

/// Garbage in stats files (a disk error, a crash mid-write): after the
/// `end` line it is an old tail and ignored; before it, the sound lines
/// still count, `-s` warns, the next update rewrites the file, `-z` always
/// succeeds and `--check` repairs the file.
#[test]
fn garbage_in_stats_files_never_stops_the_counting() {
    require("gcc");
    let (env, dir) = env_open_to_others();
    write_source(&dir, "a.c");
    compile(&env, &dir, "a.c");
    compile(&env, &dir, "a.c");
    for p in existing_stats_files(&env) {
        let mut bytes = fs::read(&p).unwrap();
        bytes.extend([0xff; 100]);
        fs::write(&p, bytes).unwrap();
    }
    let s = print_stats(&env);
    assert_eq!((hits(&s), get(&s, "cache_miss")), (1, 1), "{s:?}");
    compile(&env, &dir, "a.c");
    assert_eq!(hits(&print_stats(&env)), 2);
    let out = manager(&env, &["-z"]);
    assert!(out.success(), "{}", out.dump());
    compile(&env, &dir, "a.c");
    assert_eq!(hits(&print_stats(&env)), 1);
    // Garbage before the end line.
    let damaged = existing_stats_files(&env);
    for p in &damaged {
        let mut bytes = vec![0xff; 100];
        bytes.push(b'\n');
        bytes.extend(fs::read(p).unwrap());
        fs::write(p, bytes).unwrap();
    }
    let show = manager(&env, &["-s"]);
    assert!(show.success(), "{}", show.dump());
    assert!(show.stderr_str().contains("line 1"), "{}", show.dump());
    assert_eq!(hits(&print_stats(&env)), 1);
    let check = manager(&env, &["--check"]);
    assert!(check.success(), "{}", check.dump());
    let repaired = format!("Repaired stats files: {}", damaged.len());
    assert!(check.stdout_str().contains(&repaired), "{}", check.dump());
    let again = manager(&env, &["--check"]);
    assert!(
        again.stdout_str().contains("Repaired stats files: 0"),
        "{}",
        again.dump()
    );
    let s = print_stats(&env);
    assert_eq!(hits(&s), 1, "{s:?}");
    assert_eq!(get(&s, "corrupt_stats_file"), damaged.len() as u64, "{s:?}");
}
