//! What a call may write, and where: a hit onto outputs that are symlinks
//! does what gcc does (the object and `.dwo` replace the link, the other
//! files are written through it), a miss writes nothing through a link that
//! gcc does not, a hit never writes into a file that an orphaned compile of
//! an earlier call still has open, and a `file:` remote never follows a
//! symlinked directory out of itself.

use crate::common::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SOURCE: &str = "int f(int x) { int a[8]; for (int i = 0; i < 8; i++) a[i] = x * i; \
                      return a[x & 7]; }\n";

/// The outputs of the symlink tests: object, `.d` and two extra files
/// (`.su`, which gcc writes through a link, and `.dwo`, which GNU as
/// replaces).
const OUTPUTS: [&str; 4] = ["t.o", "t.d", "t.su", "t.dwo"];

fn unit_args() -> Vec<String> {
    args(&[
        "-c",
        "t.c",
        "-o",
        "t.o",
        "-MD",
        "-MF",
        "t.d",
        "-fstack-usage",
        "-g",
        "-gsplit-dwarf",
    ])
}

/// Makes every output a symlink to `victim.<ext>` holding known bytes.
fn plant_links(dir: &Path) {
    for out in OUTPUTS {
        let path = dir.join(out);
        let _ = fs::remove_file(&path);
        let victim = victim_of(out);
        fs::write(dir.join(&victim), format!("victim of {out}\n")).unwrap();
        symlink(&victim, &path).unwrap();
    }
}

fn victim_of(out: &str) -> String {
    format!("victim{}", &out[1..])
}

/// For each output: whether it is still a symlink, and the bytes of its
/// victim; and the bytes at the output's name.
type Shape = Vec<(String, bool, Vec<u8>, Vec<u8>)>;

fn shape(dir: &Path) -> Shape {
    OUTPUTS
        .iter()
        .map(|out| {
            let is_link = fs::symlink_metadata(dir.join(out)).unwrap().is_symlink();
            let victim = read(&dir.join(victim_of(out)));
            let named = read(&dir.join(out));
            (out.to_string(), is_link, victim, named)
        })
        .collect()
}

/// The shape after the plain compiler wrote onto links planted in `dir`
/// (where objcache is to run next: the debug information names the
/// directory); the outputs and victims are removed afterwards.
fn gcc_shape(dir: &Path) -> Shape {
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    plant_links(dir);
    let out = run(Command::new("gcc").current_dir(dir).args(unit_args()));
    assert!(out.success(), "{}", out.dump());
    let shape = shape(dir);
    for out in OUTPUTS {
        rm(&dir.join(out));
        rm(&dir.join(victim_of(out)));
    }
    shape
}

fn assert_same_shape(got: &Shape, expected: &Shape, what: &str) {
    for (g, e) in got.iter().zip(expected) {
        assert_eq!(g.1, e.1, "{what}: {} is a link afterwards", g.0);
        assert_bytes_eq(&g.2, &e.2, &format!("{what}: victim of {}", g.0));
        assert_bytes_eq(&g.3, &e.3, &format!("{what}: bytes at {}", g.0));
    }
}

/// A hit onto outputs that are symlinks leaves what gcc leaves: the object
/// and the `.dwo` are new files in place of the links (their targets keep
/// their bytes), the `.d` and `.su` are written through the links, as
/// cc1 writes them. With `hard_link` and `file_clone` too.
#[test]
fn a_hit_onto_symlinked_outputs_does_what_gcc_does() {
    require("gcc");
    let env = TestEnv::new();
    for mode in ["default", "hard_link", "file_clone"] {
        let dir = env.dir(mode);
        let expected = gcc_shape(&dir);
        assert!(
            !expected[0].1,
            "gcc replaces a symlinked object: {expected:?}"
        );
        let mut cmd = env.objcache_in(&dir, std::iter::once("gcc".to_string()).chain(unit_args()));
        if mode != "default" {
            cmd.env(
                format!("CCACHE_{}", mode.replace('_', "").to_uppercase()),
                "1",
            );
        }
        let first = run(&mut cmd);
        assert!(first.success(), "{}", first.dump());
        plant_links(&dir);
        let hits = env.hits();
        let out = run(&mut cmd);
        assert!(out.success(), "{mode}: {}", out.dump());
        assert_eq!(env.hits(), hits + 1, "{mode}: {:?}", env.stats());
        assert_same_shape(&shape(&dir), &expected, mode);
    }
}

/// On a miss the compiler writes the outputs, and objcache writes nothing
/// through a symlink itself: the `.d` rewritten for `base_dir` and the
/// extra files are left as gcc left them.
#[test]
fn a_miss_onto_symlinked_outputs_writes_nothing_gcc_does_not() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("cached");
    let expected = gcc_shape(&dir);
    plant_links(&dir);
    let mut a = args(&["gcc"]);
    a.extend(unit_args());
    let mut cmd = env.objcache_in(&dir, &a);
    cmd.env("CCACHE_BASEDIR", env.root());
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    assert_eq!(env.hits(), 0, "{:?}", env.stats());
    assert_same_shape(&shape(&dir), &expected, "miss");
}

/// A `.d` that is a FIFO gets the hit's dependency file through it, and the
/// FIFO stays (the reader at its other end, a build tool, reads it).
#[test]
fn a_hit_writes_through_a_fifo_and_keeps_it() {
    use std::os::unix::fs::FileTypeExt;
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    let unit = ["gcc", "-c", "t.c", "-o", "t.o", "-MD", "-MF"];
    let mut first = unit.to_vec();
    first.push("t.d");
    run_ok(&mut env.objcache_in(&dir, &first));
    let expected = fs::read(dir.join("t.d")).unwrap();
    let fifo = dir.join("pipe.d");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    let mut hit = unit.to_vec();
    hit.push("pipe.d");
    run_ok(&mut env.objcache_in(&dir, &hit));
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    let got = reader.join().unwrap();
    assert_bytes_eq(&got, &expected, "the .d read from the FIFO");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

/// A compile held open: as the prefix command of a miss it opens its
/// output as GNU as does (unlink, create), says so, and writes the bytes of
/// `late.o` into it only when `go` appears, as an orphaned assembler of a
/// killed call would.
const HOLDER: &str = r#"#!/bin/sh
out=; prev=
for a in "$@"; do [ "$prev" = "-o" ] && out=$a; prev=$a; done
rm -f "$out"
exec 3>"$out"
touch "$HOLD_DIR/opened"
n=0
while [ ! -e "$HOLD_DIR/go" ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n+1)); done
cat "$HOLD_DIR/late.o" >&3
exec 3>&-
touch "$HOLD_DIR/done"
"#;

/// Lets a held compile finish, even when the test fails first.
struct Release(PathBuf);

impl Drop for Release {
    fn drop(&mut self) {
        let _ = fs::write(self.0.join("go"), "");
    }
}

fn wait_for(path: &Path, what: &str) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// objcache killed alone (SIGKILL) leaves its compiler running; the
/// orphan has already opened the output when a new call hits and writes
/// the same output. The hit's object must stay as the hit wrote it after
/// the orphan writes into the file it opened: the hit writes a file of its
/// own, as a second compiler would. (An orphan that opens the output only
/// after the hit replaces it, as it would replace any compiler's output:
/// the race two plain compilers have.)
#[test]
fn an_orphaned_compile_never_writes_into_the_object_a_hit_returned() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    let hold = env.dir("hold");
    let _release = Release(hold.clone());
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    fs::write(dir.join("old.c"), "int old_f(void) { return 42; }\n").unwrap();
    let holder = env.root().join("holder.sh");
    fs::write(&holder, HOLDER).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&holder, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(
        hold.join("late.o"),
        plain_object("gcc", &dir, ["-c", "old.c", "-o", "old.o"], "old.o"),
    )
    .unwrap();
    let hit_args = ["gcc", "-c", "t.c", "-o", "out.o"];
    let expected = plain_object("gcc", &dir, ["-c", "t.c", "-o", "expected.o"], "expected.o");
    let stored = run(&mut env.objcache_in(&dir, hit_args));
    assert!(stored.success(), "{}", stored.dump());
    fs::remove_file(dir.join("out.o")).unwrap();

    // The earlier call: a miss whose compile holds out.o open.
    let mut earlier = env.objcache_in(&dir, ["gcc", "-c", "old.c", "-o", "out.o"]);
    earlier
        .env("CCACHE_PREFIX", &holder)
        .env("HOLD_DIR", &hold)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = earlier.spawn().unwrap();
    wait_for(&hold.join("opened"), "the held compile to open out.o");
    // objcache alone, not its process group: its compile lives on.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    child.wait().unwrap();

    let hits = env.hits();
    let hit = run(&mut env.objcache_in(&dir, hit_args));
    assert!(hit.success(), "{}", hit.dump());
    assert_eq!(env.hits(), hits + 1, "{:?}", env.stats());
    assert_bytes_eq(&read(&dir.join("out.o")), &expected, "object of the hit");

    fs::write(hold.join("go"), "").unwrap();
    wait_for(&hold.join("done"), "the orphaned compile to finish");
    assert_bytes_eq(
        &read(&dir.join("out.o")),
        &expected,
        "object of the hit after the orphan wrote",
    );
}

/// A `file:` remote whose bucket directories are symlinks to a directory
/// outside it: a store writes nothing there, a read takes nothing from
/// there, and the build goes on with the right object.
#[test]
fn a_file_remote_never_follows_a_symlinked_bucket_directory() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    let remote = env.dir("remote");
    let outside = env.dir("outside");
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    let expected = plain_object("gcc", &dir, ["-c", "t.c", "-o", "expected.o"], "expected.o");
    let url = format!("file:{}", remote.display());
    let compile = |cache: &str| {
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c", "-o", "t.o"]);
        cmd.env("CCACHE_DIR", env.root().join(cache))
            .env("CCACHE_REMOTE_STORAGE", &url);
        let out = run(&mut cmd);
        assert!(out.success(), "{cache}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, cache);
        let mut stats = env.objcache();
        stats
            .env("CCACHE_DIR", env.root().join(cache))
            .arg("--print-stats");
        parse_print_stats(&run_ok(&mut stats).stdout_str())
    };
    let first = compile("c1");
    assert!(get(&first, "remote_storage_write") > 0, "{first:?}");
    // Each bucket moves out, a symlink left in its place.
    let mut buckets = Vec::new();
    for entry in fs::read_dir(&remote).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_owned();
            fs::rename(&path, outside.join(&name)).unwrap();
            symlink(outside.join(&name), &path).unwrap();
            buckets.push(outside.join(name));
        }
    }
    assert!(!buckets.is_empty());

    let read_through = compile("c2");
    assert_eq!(
        get(&read_through, "remote_storage_hit"),
        0,
        "{read_through:?}"
    );
    assert_eq!(get(&read_through, "cache_miss"), 1, "{read_through:?}");

    for bucket in &buckets {
        for f in fs::read_dir(bucket).unwrap() {
            fs::remove_file(f.unwrap().path()).unwrap();
        }
    }
    compile("c3");
    let written: Vec<_> = buckets.iter().flat_map(|b| walk_files(b)).collect();
    assert!(
        written.is_empty(),
        "written outside the remote: {written:?}"
    );
}
