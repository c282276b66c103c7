//! Inputs written just before the call: a script that writes a source and
//! compiles it at once, a build step that generates a header and compiles.
//! Their stamps lie in the timestamp tick of the call's start, where a
//! rewrite later in the tick would keep them; the compile must still be
//! stored (ccache stores each one), and no rewrite, before, during or after
//! the compile, with the file's size and mtime restored, may ever give a
//! hit with another content's object, on the ordinary file system or on
//! one with 1-second stamps.
//!
//! Every other helper lets the tick of what the test wrote end before a
//! call starts (`settle_stamps`); these calls start at once
//! (`run_at_once`), their command made before the files were written.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Calls per scenario.
const CALLS: usize = 20;

/// Runs `cmd` at once (no `settle_stamps`), killing its process group if
/// it takes longer than `TIMEOUT`.
fn run_at_once(cmd: &mut Command) -> Out {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {desc}: {e}"));
    let started = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > TIMEOUT {
            // SAFETY: signals the group of the child this test started.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            panic!("command timed out after {TIMEOUT:?}: {desc}");
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let out = child.wait_with_output().expect("wait");
    let out = Out {
        status: out.status,
        stdout: out.stdout,
        stderr: out.stderr,
    };
    assert!(out.success(), "command failed: {desc}\n{}", out.dump());
    out
}

/// `objcache gcc ARGS` in `dir`, made now (its `settle_stamps` runs here),
/// to be started with `run_at_once` after the test wrote its inputs.
fn call(env: &TestEnv, dir: &Path, gcc: &str, args: &[&str]) -> Command {
    env.objcache_in(dir, std::iter::once(gcc).chain(args.iter().copied()))
}

/// A source (with a header written just before it) written just before
/// each call, as a script does: each compile is stored and recorded for
/// direct mode (the next call of each is a direct hit), also when the
/// file is rewritten in place (which, after the last call's `stat`, the
/// kernel stamps from its fine clock, ahead of the coarse one). Before,
/// a compile starting in the tick its source was written in was not
/// stored (`modified_input_file`): 1 of 20 stored, where ccache stores 20.
#[test]
fn a_source_written_just_before_each_call_is_stored() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("src");
    let mut units = Vec::new();
    for i in 0..CALLS {
        let (source, object) = (format!("s{i}.c"), format!("s{i}.o"));
        let args = ["-c", source.as_str(), "-o", object.as_str()];
        let mut cmd = call(&env, &dir, "gcc", &args);
        write_file(&dir.join(format!("h{i}.h")), &format!("#define V{i} {i}\n"));
        write_file(
            &dir.join(&source),
            &format!("#include \"h{i}.h\"\nint v{i} = V{i};\n"),
        );
        run_at_once(&mut cmd);
        let got = read(&dir.join(&object));
        let expected = plain_object("gcc", &dir, args, &object);
        assert_bytes_eq(&got, &expected, &source);
        units.push((source, object, expected));
    }
    let rewritten = dir.join("r.c");
    for i in 0..CALLS {
        let args = ["-c", "r.c", "-o", "r.o"];
        let mut cmd = call(&env, &dir, "gcc", &args);
        write_file(&rewritten, &format!("int r = {:02};\n", i + 10));
        run_at_once(&mut cmd);
        let got = read(&dir.join("r.o"));
        let expected = plain_object("gcc", &dir, args, "r.o");
        assert_bytes_eq(&got, &expected, "r.c rewritten");
    }
    let s = env.stats();
    let counts = ["cache_miss", "modified_input_file"].map(|c| get(&s, c));
    assert_eq!(counts, [2 * CALLS as u64, 0], "every compile stored: {s:?}");
    for (source, object, expected) in &units {
        let args = ["-c", source.as_str(), "-o", object.as_str()];
        let mut cmd = call(&env, &dir, "gcc", &args);
        run_at_once(&mut cmd);
        assert_bytes_eq(&read(&dir.join(object)), expected, object);
    }
    let hits = env.stat("direct_cache_hit");
    assert_eq!(hits, CALLS as u64, "each source again: a direct hit");
}

/// A header generated just before each call of an older source (a
/// version or config header rewritten by a build step): each compile is
/// stored, with the header's content as it was when the compiler read it,
/// also on a source's first compile, when no manifest names the header
/// before the preprocessor reads it. Before, about half of them were not
/// stored.
#[test]
fn a_header_generated_just_before_each_call_is_stored() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("gen");
    write_file(&dir.join("main.c"), "#include \"gen.h\"\nint v = VAL;\n");
    let args = ["-c", "main.c", "-o", "main.o"];
    let header = dir.join("gen.h");
    settle_stamps();
    for i in 0..CALLS {
        let mut cmd = call(&env, &dir, "gcc", &args);
        write_file(&header, &format!("#define VAL {:02}\n", i + 10));
        run_at_once(&mut cmd);
        let got = read(&dir.join("main.o"));
        let expected = plain_object("gcc", &dir, args, "main.o");
        assert_bytes_eq(&got, &expected, "gen.h");
    }
    let s = env.stats();
    let counts = ["cache_miss", "modified_input_file"].map(|c| get(&s, c));
    assert_eq!(counts, [CALLS as u64, 0], "every compile stored: {s:?}");
    let mut again = call(&env, &dir, "gcc", &args);
    run_at_once(&mut again);
    assert_eq!(env.stat("direct_cache_hit"), 1, "the last header again");
    // First compiles, with no manifest to name the header before the
    // preprocessor reads it.
    for i in 0..CALLS {
        let source = format!("u{i}.c");
        write_file(
            &dir.join(&source),
            &format!("#include \"g{i}.h\"\nint u = G;\n"),
        );
    }
    for i in 0..CALLS {
        let (source, object) = (format!("u{i}.c"), format!("u{i}.o"));
        let args = ["-c", source.as_str(), "-o", object.as_str()];
        let mut cmd = call(&env, &dir, "gcc", &args);
        write_file(&dir.join(format!("g{i}.h")), &format!("#define G {i}\n"));
        run_at_once(&mut cmd);
        let got = read(&dir.join(&object));
        let expected = plain_object("gcc", &dir, args, &object);
        assert_bytes_eq(&got, &expected, &source);
    }
    let s = env.stats();
    let counts = ["cache_miss", "modified_input_file"].map(|c| get(&s, c));
    assert_eq!(counts, [2 * CALLS as u64, 0], "every compile stored: {s:?}");
}

/// The same on a file system with 1-second stamps, where a file written
/// earlier in the second can be rewritten without its stamps changing: a
/// source rewritten in place (same size) just before each call, several
/// times a second. Each compile is stored or not
/// (only when its second is nearly over can the wait end it), and every
/// call gives the object of the content it was called with, also once the
/// stamps settled.
#[test]
fn files_written_just_before_each_call_on_a_one_second_file_system_are_never_served_wrong() {
    require("gcc");
    let env = TestEnv::new();
    let Some(coarse) = CoarseFs::mount(env.root()) else {
        return;
    };
    let dir = &coarse.mnt;
    write_file(&dir.join("hdr.h"), "#define VAL 1\n");
    let source = dir.join("main.c");
    let args = ["-c", "main.c", "-o", "main.o"];
    let mut objects = Vec::new();
    for i in 0..CALLS {
        let text = format!("#include \"hdr.h\"\nint v = VAL + {:02};\n", i + 10);
        write_file(&source, &text);
        objects.push((text, plain_object("gcc", dir, args, "main.o")));
    }
    let calls_before = env.stat("cache_miss") + env.stat("modified_input_file");
    assert_eq!(calls_before, 0);
    for (text, expected) in &objects {
        let mut cmd = call(&env, dir, "gcc", &args);
        write_file(&source, text);
        run_at_once(&mut cmd);
        assert_bytes_eq(&read(&dir.join("main.o")), expected, text);
    }
    let s = env.stats();
    let stored_or_not = get(&s, "cache_miss") + get(&s, "modified_input_file");
    assert_eq!(stored_or_not, CALLS as u64, "{s:?}");
    std::thread::sleep(Duration::from_millis(2100));
    for (text, expected) in objects.iter().rev() {
        write_file(&source, text);
        let mut cmd = call(&env, dir, "gcc", &args);
        run_at_once(&mut cmd);
        assert_bytes_eq(&read(&dir.join("main.o")), expected, text);
    }
}

/// A compiler (a script in front of gcc) that races the call as
/// `$RACE` says, rewriting `$RACE_FILE` with `$RACE_OTHER`'s text (the
/// same size) and setting its mtime back to `$RACE_MTIME`, so that only
/// its ctime tells:
/// - `identity`: as `compiler_check` (run after the source was read for
///   the keys, before anything compiles), then letting the rewrite's
///   tick end;
/// - `cpp`: right after the first preprocessor run, before the compiler;
/// - `compile`: for the compile only, putting `$RACE_BACK` back after it.
fn racing_compiler(env: &TestEnv) -> PathBuf {
    let gcc = env.dir("bin").join("gcc");
    let real = which("gcc").expect("gcc");
    let script = format!(
        r#"#!/bin/sh
put() {{ cp "$1" "$RACE_FILE"; touch -m -d "$RACE_MTIME" "$RACE_FILE"; }}
if [ "$1" = --identity ]; then
  [ "$RACE" = identity ] && put "$RACE_OTHER" && sleep 0.03
  exit 0
fi
case " $* " in
  *" -E "*)
    if [ "$RACE" = cpp ] && [ ! -e "$RACE_FILE.raced" ]; then
      : >"$RACE_FILE.raced"; {real} "$@"; rc=$?; put "$RACE_OTHER"; exit $rc
    fi ;;
  *" -c "*)
    if [ "$RACE" = compile ]; then
      put "$RACE_OTHER"; {real} "$@"; rc=$?; put "$RACE_BACK"; exit $rc
    fi ;;
esac
exec {real} "$@"
"#,
        real = real.display()
    );
    write_file(&gcc, &script);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&gcc, fs::Permissions::from_mode(0o755)).unwrap();
    gcc
}

/// `touch -d` spelling of a file's mtime, to the nanosecond.
fn mtime_arg(path: &Path) -> String {
    let m = fs::metadata(path).unwrap();
    format!("@{}.{:09}", m.mtime(), m.mtime_nsec())
}

/// Each race of `racing_compiler` on a file written just before the call
/// (a header, or for `identity` the source), in `dir`: afterwards, with
/// the stamps settled, each content gives its own object. Without the
/// checks after the wait (the source read again, the preprocessor run
/// again) the `identity` and `cpp` races store the object of one content
/// under the key of the other, and a direct hit serves it.
fn races_are_never_served_wrong(env: &TestEnv, dir: &Path) {
    let gcc = racing_compiler(env);
    let gcc = gcc.to_str().unwrap();
    let args = ["-c", "main.c", "-o", "main.o"];
    let main_a = "#include \"hdr.h\"\nint v = VAL + 1;\n";
    let main_b = "#include \"hdr.h\"\nint v = VAL + 2;\n";
    let (hdr_a, hdr_b) = ("#define VAL 111\n", "#define VAL 222\n");
    for (race, file, a, b) in [
        ("identity", "main.c", main_a, main_b),
        ("cpp", "hdr.h", hdr_a, hdr_b),
        ("compile", "hdr.h", hdr_a, hdr_b),
    ] {
        let _ = fs::remove_dir_all(&env.cache_dir);
        let path = dir.join(file);
        let _ = fs::remove_file(dir.join(format!("{file}.raced")));
        write_file(&dir.join("main.c"), main_a);
        write_file(&dir.join("hdr.h"), hdr_a);
        let object = |text: &str| {
            write_file(&path, text);
            plain_object("gcc", dir, args, "main.o")
        };
        let (object_a, object_b) = (object(a), object(b));
        assert_ne!(object_a, object_b);
        let (other, back) = (dir.join("other"), dir.join("back"));
        write_file(&other, b);
        write_file(&back, a);
        let mut racing = call(env, dir, gcc, &args);
        write_file(&path, a);
        racing
            .env("RACE", race)
            .env("RACE_FILE", &path)
            .env("RACE_OTHER", &other)
            .env("RACE_BACK", &back)
            .env("RACE_MTIME", mtime_arg(&path))
            .env("CCACHE_COMPILERCHECK", format!("{gcc} --identity"));
        run_at_once(&mut racing);
        for (text, expected) in [(a, &object_a), (b, &object_b), (a, &object_a)] {
            write_file(&path, text);
            let mut cmd = call(env, dir, gcc, &args);
            cmd.env("CCACHE_COMPILERCHECK", format!("{gcc} --identity"));
            run_at_once(&mut cmd);
            let what = format!("{file} as {text:?} after the {race} race");
            assert_bytes_eq(&read(&dir.join("main.o")), expected, &what);
        }
    }
}

/// A file rewritten around the compile (same size, mtime set back) by
/// another process: before anything compiles, between the preprocessor
/// and the compiler, and for the compile only; on the ordinary file system.
#[test]
fn inputs_rewritten_around_the_compile_are_never_served_wrong() {
    require("gcc");
    let env = TestEnv::new();
    races_are_never_served_wrong(&env, &env.dir("race"));
}

/// The same on a file system with 1-second stamps.
#[test]
fn inputs_rewritten_around_the_compile_on_a_one_second_file_system_are_never_served_wrong() {
    require("gcc");
    let env = TestEnv::new();
    let Some(coarse) = CoarseFs::mount(env.root()) else {
        return;
    };
    races_are_never_served_wrong(&env, &coarse.mnt);
}

/// Another process rewriting a header in place, over and over, between
/// two texts of one size, setting its mtime back each time (only the
/// ctime changes), while calls start at once: afterwards each text gives
/// its own object, whatever the calls stored meanwhile.
#[test]
fn a_header_rewritten_continuously_by_another_process_is_never_served_wrong() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("busy");
    write_file(&dir.join("main.c"), "#include \"hdr.h\"\nint v = VAL;\n");
    let header = dir.join("hdr.h");
    let args = ["-c", "main.c", "-o", "main.o"];
    let texts = ["#define VAL 111\n", "#define VAL 222\n"];
    let objects = texts.map(|t| {
        write_file(&header, t);
        plain_object("gcc", &dir, args, "main.o")
    });
    let mtime = fs::metadata(&header).unwrap().modified().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, header) = (stop.clone(), header.clone());
        std::thread::spawn(move || rewrite_until(&stop, &header, texts, mtime))
    };
    let rewrites = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for _ in 0..CALLS {
            let mut cmd = call(&env, &dir, "gcc", &args);
            run_at_once(&mut cmd);
        }
    }));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    if let Err(panic) = rewrites {
        std::panic::resume_unwind(panic);
    }
    assert!(written > CALLS, "the header was rewritten {written} times");
    let s = env.stats();
    eprintln!(
        "while {written} rewrites ran: {} of {CALLS} calls stored, {} hits",
        get(&s, "cache_miss"),
        hits(&s)
    );
    for (text, expected) in texts.iter().zip(&objects).chain(texts.iter().zip(&objects)) {
        write_file(&header, text);
        let mut cmd = call(&env, &dir, "gcc", &args);
        run_at_once(&mut cmd);
        assert_bytes_eq(&read(&dir.join("main.o")), expected, text);
    }
}

/// Rewrites `path` in place with each of `texts` in turn (in bursts, with
/// pauses of up to 90 ms, so that some calls store), setting its mtime
/// back to `mtime` each time, until `stop`: how many rewrites.
fn rewrite_until(stop: &AtomicBool, path: &Path, texts: [&str; 2], mtime: SystemTime) -> usize {
    use std::os::unix::fs::FileExt;
    let file = fs::OpenOptions::new().write(true).open(path).unwrap();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        file.write_all_at(texts[n % 2].as_bytes(), 0).unwrap();
        file.set_modified(mtime).unwrap();
        n += 1;
        let pause = if n % 5 == 0 {
            [2, 90, 10, 60, 30][n / 5 % 5]
        } else {
            0
        };
        std::thread::sleep(Duration::from_micros(300) + Duration::from_millis(pause));
    }
    n
}
