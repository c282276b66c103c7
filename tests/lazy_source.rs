//! A source of 16 KiB or more whose facts the inode memo recalls is read
//! only in part on a hit (`hash::source::Text`): its first 4 KiB, for
//! the scan of its first `#include`s, which finds the precompiled headers
//! gcc may use. Whatever the part does not decide is read whole, and a
//! check that the source did not change since it was read compares the
//! file with the recalled digest: the objects are those of the whole
//! text, as when the source was read whole.

use crate::common::*;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const RECALLED: &str = "recalled from the inode memo";
const READ_WHOLE: &str = "do not decide its precompiled headers: reading all of it";

const HEADER_1: &str = "#define VALUE 1\nstatic inline int value(void) { return VALUE; }\n";
const HEADER_2: &str = "#define VALUE 2\nstatic inline int value(void) { return VALUE * 10; }\n";

/// A test env whose cache directory exists, as the memo's must before
/// the first call can remember anything there.
pub(crate) fn env_with_cache() -> TestEnv {
    let env = TestEnv::new();
    run_ok(env.objcache().arg("-z"));
    env
}

/// Stamps `path` a minute ago and waits until its ctime is settled by
/// objcache's rule, so that the next call remembers its facts.
pub(crate) fn settle(path: &Path) {
    set_age(path, 60);
    let m = fs::metadata(path).unwrap();
    let ctime = objcache::clock::file_time_ns(m.ctime(), m.ctime_nsec());
    while !objcache::clock::stamp_settled(ctime, objcache::clock::coarse_now_ns()) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// How many times the debug log at `log` says `note`.
pub(crate) fn count(log: &Path, note: &str) -> usize {
    let text = fs::read_to_string(log).unwrap_or_default();
    text.matches(note).count()
}

/// A source over 16 KiB whose `#include "pch.h"` comes after 6 KiB of
/// licence and `#define`s, past the part a recalled source is read in.
fn late_include_source(path: &Path) {
    let licence: String = (0..70)
        .map(|i| format!(" * Licence, line {i:02}: permission is granted to ...........\n"))
        .collect();
    let defines: String = (0..80)
        .map(|i| format!("#define SETTING_{i:02} {i}\n"))
        .collect();
    let filler: String = (0..1000)
        .map(|i| format!("int filler_{i} = SETTING_{:02};\n", i % 80))
        .collect();
    let text = format!(
        "/*\n{licence} */\n{defines}#include \"pch.h\"\nint get(void) {{ return value(); }}\n{filler}"
    );
    assert!(text.find("#include").unwrap() > 5 * 1024 && text.len() > 16 * 1024);
    write_file(path, &text);
}

/// `pch.h.gch` made by plain gcc from `header`, with `pch.h` left as
/// `HEADER_1`: gcc uses the `.gch` without checking it against the header.
fn make_gch(dir: &Path, header: &str) {
    write_file(&dir.join("pch.h"), header);
    run_ok(
        clean_env(&mut std::process::Command::new("gcc"))
            .current_dir(dir)
            .args(["-O2", "pch.h"]),
    );
    write_file(&dir.join("pch.h"), HEADER_1);
}

/// A source whose first `#include` lies past the part read: each hit
/// recalls its facts and reads it whole for the scan, finds `pch.h.gch`
/// beside the header, and a stale `.gch` put there (which gcc uses) is a
/// miss with gcc's object, never a hit with the old one; in direct and in
/// preprocessor mode.
#[test]
fn a_first_include_past_the_part_read_still_finds_its_gch() {
    require("gcc");
    for vars in [&[][..], &[("CCACHE_NODIRECT", "1")]] {
        let env = env_with_cache();
        let dir = env.dir("p");
        let log = env.dir("logs").join(format!("log{}", vars.len()));
        make_gch(&dir, HEADER_1);
        late_include_source(&dir.join("big.c"));
        settle(&dir.join("big.c"));
        let compile = Compile::new(&dir, "gcc", &["-O2", "-c", "big.c", "-o", "big.o"], "big.o")
            .envs(vars)
            .env("CCACHE_LOGFILE", log.to_str().unwrap());
        let first = compile.check(&env);
        assert_eq!((env.hits(), count(&log, RECALLED)), (0, 0));
        compile.check(&env);
        assert_eq!(env.hits(), 1, "{vars:?}: {:?}", env.stats());
        assert_eq!(count(&log, RECALLED), 1);
        assert_eq!(
            count(&log, READ_WHOLE),
            1,
            "{}",
            fs::read_to_string(&log).unwrap()
        );

        make_gch(&dir, HEADER_2);
        let stale = compile.check(&env);
        // Once for the miss, though its check after the compile scans again.
        assert_eq!(count(&log, READ_WHOLE), 2, "{vars:?}");
        assert_ne!(stale.obj, first.obj, "gcc used the new .gch");
        assert_eq!(env.hits(), 1, "{vars:?}: the stale .gch is a miss");
        compile.check(&env);
        assert_eq!(env.hits(), 2, "{vars:?}: {:?}", env.stats());
        assert_eq!(count(&log, RECALLED), 3);
    }
}

/// A source whose first `#include` lies in the part read is never read
/// whole on a hit.
#[test]
fn a_first_include_in_the_part_read_needs_no_more() {
    require("gcc");
    let env = env_with_cache();
    let dir = env.dir("p");
    let log = env.dir("logs").join("log");
    make_gch(&dir, HEADER_1);
    let filler = "int filler;\n".repeat(1500);
    write_file(
        &dir.join("big.c"),
        &format!("#include \"pch.h\"\nint get(void) {{ return value(); }}\n{filler}"),
    );
    settle(&dir.join("big.c"));
    let compile = Compile::new(&dir, "gcc", &["-c", "big.c", "-o", "big.o"], "big.o")
        .env("CCACHE_LOGFILE", log.to_str().unwrap());
    for _ in 0..3 {
        compile.check(&env);
    }
    assert_eq!(env.hits(), 2);
    assert_eq!(count(&log, RECALLED), 2);
    assert_eq!(count(&log, READ_WHOLE), 0);
}

/// gcc behind a script that, run as `compiler_check` (after the source
/// was read for the keys, before anything compiles), rewrites
/// `$RACE_FILE` with `$RACE_OTHER` (the same size), sets its mtime back
/// to `$RACE_MTIME` and lets the rewrite's timestamp tick end.
fn racing_compiler(env: &TestEnv) -> PathBuf {
    let gcc = env.dir("bin").join("gcc");
    let real = which("gcc").expect("gcc");
    let script = format!(
        r#"#!/bin/sh
if [ "$1" = --identity ]; then
  if [ -n "$RACE_OTHER" ]; then
    cp "$RACE_OTHER" "$RACE_FILE"; touch -m -d "$RACE_MTIME" "$RACE_FILE"; sleep 0.03
  fi
  exit 0
fi
exec {real} "$@"
"#,
        real = real.display()
    );
    write_file(&gcc, &script);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&gcc, fs::Permissions::from_mode(0o755)).unwrap();
    gcc
}

/// A source whose facts are recalled (read in part) and that another
/// process rewrites (same size, mtime set back, a difference past the
/// part read) after the call read it: after the wait for the rewrite's
/// tick, the call must see that the file no longer holds the text its
/// keys were made from (by the recalled digest), and not store; the text
/// each call is given gives its own object afterwards. Were the part
/// taken for the text, the object of the new text would be recorded
/// under the old text's manifest key, and served for it.
#[test]
fn a_source_read_in_part_and_rewritten_during_the_call_is_never_served_wrong() {
    require("gcc");
    let env = env_with_cache();
    let dir = env.dir("race");
    let log = env.dir("logs").join("log");
    let gcc = racing_compiler(&env);
    let filler = "int filler;\n".repeat(1500);
    let text = |n: u32| format!("#include \"hdr.h\"\n{filler}int v = VAL + {n};\n");
    let (a, b) = (text(1), text(2));
    let source = dir.join("main.c");
    write_file(&dir.join("hdr.h"), "#define VAL 100\n");
    write_file(&dir.join("other"), &b);
    let args = ["-c", "main.c", "-o", "main.o"];
    let object = |text: &str| {
        write_file(&source, text);
        plain_object("gcc", &dir, args, "main.o")
    };
    let objects = [(&a, object(&a)), (&b, object(&b))];
    assert_ne!(objects[0].1, objects[1].1);
    // The identity is remembered per check: a new one runs (and races).
    let call = |extra: &[&str], check: &str| {
        let mut cmd = env.objcache_in(&dir, [gcc.to_str().unwrap()].iter().chain(&args));
        cmd.args(extra)
            .env(
                "CCACHE_COMPILERCHECK",
                format!("{} --identity {check}", gcc.display()),
            )
            .env("CCACHE_LOGFILE", &log);
        cmd
    };

    // Another compile of the settled source puts its facts in the memo.
    write_file(&source, &a);
    settle(&source);
    run_ok(&mut call(&["-O1"], "warm"));
    let m = fs::metadata(&source).unwrap();
    let mtime = format!("@{}.{:09}", m.mtime(), m.mtime_nsec());
    run_ok(
        call(&[], "race")
            .env("RACE_FILE", &source)
            .env("RACE_OTHER", dir.join("other"))
            .env("RACE_MTIME", mtime),
    );
    let logged = fs::read_to_string(&log).unwrap();
    assert_eq!(count(&log, RECALLED), 1, "{logged}");
    assert!(
        logged.contains("changed while its timestamp tick ran out"),
        "{logged}"
    );
    assert_eq!(env.stat("modified_input_file"), 1, "{:?}", env.stats());

    for (text, expected) in [&objects[0], &objects[1], &objects[0]] {
        write_file(&source, text);
        run_ok(&mut call(&[], "race"));
        let what = format!("main.c ending in {:?}", &text[text.len() - 12..]);
        assert_bytes_eq(&read(&dir.join("main.o")), expected, &what);
    }
}
