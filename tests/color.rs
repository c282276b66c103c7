//! Coloured diagnostics: in a terminal objcache shows them as the compiler
//! would there (coloured), redirected it shows them plain, and colour
//! options do not split the cache.

use crate::common::*;
use std::path::Path;
use std::process::Command;

const WARNS: &str = "int f(int x) { int unused; return x; }\n";

/// Runs `program args` in a pseudo-terminal (`script`), as a developer's
/// shell would: what it printed, with the terminal's `\r\n` made `\n`.
pub(crate) fn in_terminal(env: &TestEnv, cwd: &Path, program: &Path, args: &[&str]) -> Vec<u8> {
    in_terminal_with(env, cwd, program, args, &[])
}

pub(crate) fn in_terminal_with(
    env: &TestEnv,
    cwd: &Path,
    program: &Path,
    args: &[&str],
    vars: &[(&str, &str)],
) -> Vec<u8> {
    let line = std::iter::once(program.to_str().unwrap())
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env("TERM", "xterm")
        .envs(vars.iter().copied())
        .args(["-qec", &line, "/dev/null"])
        .current_dir(cwd);
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    String::from_utf8_lossy(&out.stdout)
        .replace("\r\n", "\n")
        .into_bytes()
}

fn terminal_then_redirected(compiler: &str) {
    require(compiler);
    require("script");
    let env = TestEnv::new();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), WARNS).unwrap();
    let a = ["-Wall", "-c", "w.c", "-o", "w.o"];
    let real = which(compiler).unwrap();
    let plain_tty = in_terminal(&env, &dir, &real, &a);
    assert!(
        plain_tty.contains(&0x1b),
        "{compiler} does not colour in a terminal"
    );
    let plain_redirected = plain(compiler, &dir, a).stderr;
    assert!(!plain_redirected.contains(&0x1b));

    let mut with_compiler = vec![compiler];
    with_compiler.extend(a);
    let oc = objcache_bin();
    let miss = in_terminal(&env, &dir, &oc, &with_compiler);
    assert_bytes_eq(&miss, &plain_tty, "miss in a terminal");
    let hit = run(&mut env.objcache_in(&dir, &with_compiler));
    assert_bytes_eq(&hit.stderr, &plain_redirected, "redirected hit");
    let hit_tty = in_terminal(&env, &dir, &oc, &with_compiler);
    assert_bytes_eq(&hit_tty, &plain_tty, "hit in a terminal");
    assert_eq!((env.hits(), env.misses()), (2, 1), "{:?}", env.stats());

    // The other order: a redirected (CI) miss serves a terminal call too.
    let env = TestEnv::new();
    let miss = run(&mut env.objcache_in(&dir, &with_compiler));
    assert_bytes_eq(&miss.stderr, &plain_redirected, "redirected miss");
    let hit_tty = in_terminal(&env, &dir, &oc, &with_compiler);
    assert_bytes_eq(
        &hit_tty,
        &plain_tty,
        "hit in a terminal after a redirected miss",
    );
    assert_eq!((env.hits(), env.misses()), (1, 1), "{:?}", env.stats());
}

#[test]
fn gcc_colours_in_a_terminal_only() {
    terminal_then_redirected("gcc");
}

#[test]
fn clang_colours_in_a_terminal_only() {
    terminal_then_redirected("clang");
}

/// An explicit colour option is obeyed, and calls that differ only in it
/// share one entry.
#[test]
fn colour_options_do_not_split_the_cache() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), WARNS).unwrap();
    let base = ["gcc", "-Wall", "-c", "w.c", "-o", "w.o"];
    let with = |opt: Option<&'static str>| {
        let mut a = base.to_vec();
        a.extend(opt);
        a
    };
    for (opt, coloured) in [
        (Some("-fdiagnostics-color=always"), true),
        (None, false),
        (Some("-fno-diagnostics-color"), false),
        (Some("-fdiagnostics-color"), true),
    ] {
        let out = run(&mut env.objcache_in(&dir, with(opt)));
        assert!(out.success(), "{}", out.dump());
        let expected = plain("gcc", &dir, &with(opt)[1..]).stderr;
        assert_eq!(expected.contains(&0x1b), coloured, "{opt:?}");
        assert_bytes_eq(&out.stderr, &expected, &format!("stderr with {opt:?}"));
    }
    assert_eq!((env.hits(), env.misses()), (3, 1), "{:?}", env.stats());
}

/// A call that asks for colours after one that turned them off
/// (`-fno-diagnostics-color`) stored the entry is served from it: the entry
/// holds the diagnostics in colour whatever the storing call chose (as in
/// ccache 4.x), and each call's stderr is exactly the compiler's. (An
/// earlier objcache stored them plain and compiled here again.)
#[test]
fn explicit_colours_after_a_plain_call_hit() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), WARNS).unwrap();
    let base = ["-Wall", "-c", "w.c", "-o", "w.o"];
    let with = |opt: &'static str| {
        let mut a = base.to_vec();
        a.push(opt);
        a
    };
    let never = with("-fno-diagnostics-color");
    let always = with("-fdiagnostics-color=always");
    for (args, round) in [
        (&never[..], "plain miss"),
        (&base[..], "redirected hit"),
        (&always[..], "coloured hit"),
        (&base[..], "redirected hit again"),
    ] {
        let mut call = vec!["gcc"];
        call.extend(args);
        let out = run(&mut env.objcache_in(&dir, &call));
        assert!(out.success(), "{}", out.dump());
        assert_bytes_eq(&out.stderr, &plain("gcc", &dir, args).stderr, round);
    }
    assert_eq!((env.hits(), env.misses()), (3, 1), "{:?}", env.stats());
}

/// Escape bytes a source prints itself (`#warning`) are kept on a hit.
#[test]
fn escape_bytes_of_the_source_are_kept() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    std::fs::write(dir.join("w.c"), "#warning \"\x1b[1mbold\x1b[0m\"\nint x;\n").unwrap();
    let a = ["gcc", "-c", "w.c", "-o", "w.o"];
    let expected = plain("gcc", &dir, &a[1..]).stderr;
    assert!(expected.contains(&0x1b));
    for round in ["miss", "hit"] {
        let out = run(&mut env.objcache_in(&dir, a));
        assert_bytes_eq(&out.stderr, &expected, round);
    }
    assert_eq!(env.hits(), 1);
}

/// Coloured diagnostics stored in one checkout name the other checkout's
/// files on a relocated hit, as plain ones do, with
/// `absolute_paths_in_stderr` (without it, a source named absolute in the
/// working directory is compiled as `./w.c` and named so, as in ccache).
#[test]
fn coloured_diagnostics_follow_a_relocated_checkout() {
    require("script");
    let env = TestEnv::new();
    let base = env.dir("base");
    let vars = [
        ("CCACHE_BASEDIR", base.to_str().unwrap()),
        ("CCACHE_NOHASHDIR", "1"),
        ("CCACHE_ABSSTDERR", "1"),
    ];
    let mut dirs = Vec::new();
    for name in ["a", "bb"] {
        let dir = env.dir(&format!("base/{name}"));
        std::fs::write(dir.join("w.c"), WARNS).unwrap();
        dirs.push(dir);
    }
    let src = |d: &Path| d.join("w.c").to_str().unwrap().to_string();
    let a_src = src(&dirs[0]);
    let call_a = ["gcc", "-Wall", "-c", a_src.as_str(), "-o", "w.o"];
    in_terminal_with(&env, &dirs[0], &objcache_bin(), &call_a, &vars);
    let b_src = src(&dirs[1]);
    let call_b = ["gcc", "-Wall", "-c", b_src.as_str(), "-o", "w.o"];
    let out = run(env.objcache_in(&dirs[1], call_b).envs(vars));
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
    assert_bytes_eq(
        &out.stderr,
        &plain("gcc", &dirs[1], &call_b[1..]).stderr,
        "relocated hit",
    );
}

/// clang only assembling gets no colour option (it would warn that the
/// option is unused, and the warning would be stored).
#[test]
fn assembler_input_gets_no_colour_option() {
    require("clang");
    require("script");
    let env = TestEnv::new();
    let dir = env.dir("s");
    std::fs::write(dir.join("a.s"), ".text\n.globl f\nf:\n ret\n").unwrap();
    let call = ["clang", "-c", "a.s", "-o", "a.o"];
    let tty = in_terminal(&env, &dir, &objcache_bin(), &call);
    assert!(tty.is_empty(), "{}", String::from_utf8_lossy(&tty));
    let out = run(&mut env.objcache_in(&dir, call));
    assert!(out.stderr.is_empty(), "{}", out.dump());
    assert_eq!(env.hits(), 1, "{:?}", env.stats());
}
