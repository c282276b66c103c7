//! Every colour choice of a gcc or clang call shares one entry, whichever
//! choice stored it (as in ccache 4.x), and every call still shows exactly
//! what the compiler shows for its own choice; where colour changes more
//! than the colour codes, the choices are kept apart.

use crate::color::in_terminal;
use crate::common::*;
use std::path::Path;

/// Warnings with carets and ranges, a note, a fix-it hint, option names
/// and a preprocessor warning; it compiles, so it is cached.
const WARNS: &str = r#"#include <stdio.h>
#warning "Warning from preprocessor"
int f(int x) { int unused; if (x = 3) return x; return 0; }
void g(void) { char buf[4]; printf("%d\n", "str"); sprintf(buf, "%s", "toolong"); puts(buf); }
int h(void) { }
"#;

/// How one call shows its diagnostics: its colour option and whether its
/// stderr is a terminal.
#[derive(Clone, Copy, Debug)]
struct Way {
    option: Option<&'static str>,
    tty: bool,
}

/// The colour options of `compiler`: always, never.
fn options(compiler: &str) -> (&'static str, &'static str) {
    if compiler == "gcc" {
        ("-fdiagnostics-color=always", "-fno-diagnostics-color")
    } else {
        ("-fcolor-diagnostics", "-fno-color-diagnostics")
    }
}

/// What `program args` shows in `way`: stderr, or in a terminal everything.
fn shown(env: &TestEnv, dir: &Path, program: &Path, args: &[&str], way: Way) -> Vec<u8> {
    let mut args = args.to_vec();
    args.extend(way.option);
    if way.tty {
        return in_terminal(env, dir, program, &args);
    }
    let mut cmd = std::process::Command::new(program);
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .current_dir(dir)
        .args(&args);
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    out.stderr
}

/// Compiles `WARNS` in each way in turn through objcache (with `vars`
/// set in the cache's config), checks that each shows exactly what the
/// compiler shows in that way, and returns the cache's statistics.
fn each_way(compiler: &str, ways: &[Way], config: &str) -> Stats {
    require(compiler);
    require("script");
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.cache_dir).unwrap();
    std::fs::write(env.cache_dir.join("ccache.conf"), config).unwrap();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), WARNS).unwrap();
    let base = ["-Wall", "-O2", "-MD", "-c", "w.c", "-o", "w.o"];
    let real = which(compiler).unwrap();
    let mut with_compiler = vec![compiler];
    with_compiler.extend(base);
    for (i, way) in ways.iter().enumerate() {
        let expected = shown(&env, &dir, &real, &base, *way);
        assert_eq!(
            expected.contains(&0x1b),
            way.option == Some(options(compiler).0) || (way.tty && way.option.is_none()),
            "{compiler} colours as expected in {way:?}"
        );
        let got = shown(&env, &dir, &objcache_bin(), &with_compiler, *way);
        assert_bytes_eq(&got, &expected, &format!("call {i}, {way:?}"));
    }
    env.stats()
}

/// The orders ccache's suite fails on: a call without colours first.
fn plain_first(compiler: &str) -> Vec<Way> {
    let (always, never) = options(compiler);
    let way = |option, tty| Way { option, tty };
    vec![
        way(Some(never), false),
        way(Some(always), true),
        way(Some(always), false),
        way(None, true),
        way(None, false),
        way(Some(never), true),
    ]
}

fn one_entry_for_every_choice(compiler: &str, config: &str) {
    let ways = plain_first(compiler);
    let s = each_way(compiler, &ways, config);
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert_eq!(hits(&s), ways.len() as u64 - 1, "{s:?}");
}

#[test]
fn gcc_choices_share_one_entry_stored_without_colours() {
    one_entry_for_every_choice("gcc", "");
}

#[test]
fn gcc_choices_share_one_entry_in_preprocessor_mode() {
    one_entry_for_every_choice("gcc", "direct_mode = false\n");
}

#[test]
fn gcc_choices_share_one_entry_in_depend_mode() {
    one_entry_for_every_choice("gcc", "depend_mode = true\n");
}

#[test]
fn clang_choices_share_one_entry_stored_without_colours() {
    one_entry_for_every_choice("clang", "");
}

/// A call that turns colours off in a terminal stores the entry; calls
/// that colour (a terminal, `always`) are served from it.
#[test]
fn a_plain_call_in_a_terminal_serves_colour_calls() {
    let (always, never) = options("gcc");
    let way = |option, tty| Way { option, tty };
    let ways = [
        way(Some(never), true),
        way(None, true),
        way(Some(always), false),
        way(None, false),
    ];
    let s = each_way("gcc", &ways, "");
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (1, 3), "{s:?}");
}

/// gcc's `-fdiagnostics-plain-output` turns colours off, in a terminal too.
#[test]
fn gcc_plain_output_is_plain_in_a_terminal() {
    let plain_output = "-fdiagnostics-plain-output";
    let way = |tty| Way {
        option: Some(plain_output),
        tty,
    };
    let s = each_way("gcc", &[way(true), way(true), way(false)], "");
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (1, 2), "{s:?}");
}

/// `-Xclang -fcolor-diagnostics` makes clang colour whatever else the call
/// says, into a pipe too.
#[test]
fn clang_colours_asked_of_its_compiler_proper_are_kept() {
    require("clang");
    let env = TestEnv::new();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), WARNS).unwrap();
    let never = ["-Wall", "-c", "w.c", "-fno-color-diagnostics"];
    let cc1 = ["-Wall", "-c", "w.c", "-Xclang", "-fcolor-diagnostics"];
    for (i, args) in [&never[..], &cc1[..], &never[..]].iter().enumerate() {
        let expected = plain("clang", &dir, *args).stderr;
        let mut call = vec!["clang"];
        call.extend(args.iter());
        let out = run(&mut env.objcache_in(&dir, &call));
        assert!(out.success(), "{}", out.dump());
        assert_bytes_eq(&out.stderr, &expected, &format!("call {i}: {args:?}"));
    }
}

/// With `-fmessage-length=N` the compilers count colour codes in the line
/// length, so coloured diagnostics wrap elsewhere than plain ones: each
/// choice is shown as the compiler wraps it (colour and plain entries kept
/// apart), and calls of one kind still share theirs.
fn wrapped(compiler: &str) {
    require(compiler);
    let env = TestEnv::new();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), WARNS).unwrap();
    let (always, never) = options(compiler);
    let mut calls = Vec::new();
    for option in [always, never, always, never] {
        calls.push(vec![
            "-fmessage-length=30",
            "-Wall",
            "-O2",
            "-c",
            "w.c",
            option,
        ]);
    }
    calls.push(vec!["-fmessage-length=30", "-Wall", "-O2", "-c", "w.c"]);
    for (i, args) in calls.iter().enumerate() {
        let expected = plain(compiler, &dir, args).stderr;
        let mut call = vec![compiler];
        call.extend(args);
        let out = run(&mut env.objcache_in(&dir, &call));
        assert!(out.success(), "{}", out.dump());
        assert_bytes_eq(&out.stderr, &expected, &format!("call {i}: {args:?}"));
    }
    let s = env.stats();
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (2, 3), "{s:?}");
}

#[test]
fn gcc_wrapped_diagnostics_are_exact_for_each_choice() {
    wrapped("gcc");
}

#[test]
fn clang_wrapped_diagnostics_are_exact_for_each_choice() {
    wrapped("clang");
}

/// gcc shows a source's bytes as they are: escape bytes in the source
/// that look like gcc's own colour codes are kept for a call without
/// colours, after a call with colours stored its entry.
#[test]
fn gcc_source_bytes_like_colour_codes_are_kept() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    let source = "#warning \"x \x1b[01;31m\x1b[Kred\x1b[m\x1b[K\"\nint x;\n";
    std::fs::write(dir.join("w.c"), source).unwrap();
    let (always, never) = options("gcc");
    for (i, option) in [always, never, always, never].iter().enumerate() {
        let args = ["-c", "w.c", option];
        let expected = plain("gcc", &dir, args).stderr;
        assert!(expected.windows(4).any(|w| w == b"\x1b[01"), "{i}");
        let out = run(&mut env.objcache_in(&dir, ["gcc", "-c", "w.c", option]));
        assert_bytes_eq(&out.stderr, &expected, &format!("call {i} with {option}"));
    }
    assert_eq!(env.hits(), 2, "{:?}", env.stats());
}

/// clang's `-frecord-command-line` (and its gcc spellings) puts the
/// command line into the object: objcache adds no colour option there, and
/// calls that differ in a colour option or in the order of their
/// arguments get their own objects, each the one clang writes.
#[test]
fn clang_recorded_command_lines_are_the_calls_own() {
    require("clang");
    let env = TestEnv::new();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), "int f(void) { return 1; }\n").unwrap();
    let calls: [&[&str]; 7] = [
        &["-frecord-gcc-switches"],
        &["-frecord-gcc-switches", "-fno-color-diagnostics"],
        &["-frecord-command-line", "-fno-color-diagnostics"],
        &["-frecord-command-line"],
        &["-frecord-command-line", "-fcolor-diagnostics", "-DA=1"],
        &["-frecord-command-line", "-DA=1", "-fcolor-diagnostics"],
        &["-g", "-grecord-gcc-switches", "-fcolor-diagnostics"],
    ];
    for round in 0..2 {
        for extra in calls {
            let mut args = vec!["-c", "w.c", "-o", "w.o"];
            args.extend(extra);
            let expected = plain_object("clang", &dir, &args, "w.o");
            let mut call = vec!["clang"];
            call.extend(&args);
            let out = run(&mut env.objcache_in(&dir, &call));
            assert!(out.success(), "{}", out.dump());
            let what = format!("round {round}: {extra:?}");
            assert_bytes_eq(&read(&dir.join("w.o")), &expected, &what);
        }
    }
    let s = env.stats();
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (7, 7), "{s:?}");
}

/// The result file of the one compile in `env`'s cache, and its key.
fn only_result(env: &TestEnv) -> (std::path::PathBuf, objcache::key::Key) {
    let result = cache_entry_files(&env.cache_dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with('R'))
        .expect("a result entry");
    let name = result.file_name().unwrap().to_string_lossy().into_owned();
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&name[2 * i..2 * i + 2], 16).unwrap();
    }
    (result, objcache::key::Key::from_bytes(key))
}

/// An entry an older objcache stored without colours (for
/// `-fno-diagnostics-color`) cannot serve a call that shows colours: that
/// call compiles, stores the coloured diagnostics, and its miss is
/// explained as such (not as an evicted entry); plain calls are served
/// from the new entry.
#[test]
fn a_plain_entry_of_an_older_objcache_is_replaced_and_explained() {
    use objcache::disk::entry::{FileKind, ResultEntry};
    let env = TestEnv::new();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), WARNS).unwrap();
    let (always, never) = options("gcc");
    let call = |option: &'static str| ["gcc", "-Wall", "-c", "w.c", "-o", "w.o", option];
    assert!(run(&mut env.objcache_in(&dir, call(never))).success());
    // As an older objcache stored it: plain stderr, kind "stderr".
    let (result, key) = only_result(&env);
    let mut entry = ResultEntry::decode(&read(&result), &key).unwrap();
    let plain_stderr = plain("gcc", &dir, &call(never)[1..]).stderr;
    entry
        .files
        .retain(|(k, _)| !matches!(k, FileKind::Stderr | FileKind::ColouredStderr));
    entry.files.push((FileKind::Stderr, plain_stderr.clone()));
    std::fs::write(&result, entry.encode(&key, "", Some(1)).unwrap()).unwrap();

    let out = run(&mut env.objcache_in(&dir, call(always)));
    let expected = plain("gcc", &dir, &call(always)[1..]).stderr;
    assert_bytes_eq(&out.stderr, &expected, "coloured call after a plain entry");
    let s = env.stats();
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (2, 0), "{s:?}");
    assert_eq!(get(&s, "miss_reason_unusable"), 1, "{s:?}");
    assert_eq!(get(&s, "miss_reason_evicted"), 0, "{s:?}");
    let explained = run(&mut env.objcache_in(&dir, ["--explain", "w.o"]));
    let text = explained.stdout_str();
    assert!(text.contains("no colours"), "{}", explained.dump());
    assert!(!text.contains("evicted"), "{}", explained.dump());

    let out = run(&mut env.objcache_in(&dir, call(never)));
    assert_bytes_eq(&out.stderr, &plain_stderr, "plain call after the new entry");
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
}
