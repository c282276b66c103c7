//! Coloured diagnostics: in a terminal objcache shows them as the compiler
//! would there (coloured), redirected it shows them plain, and colour
//! options do not split the cache.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const WARNS: &str = "int f(int x) { int unused; return x; }\n";

/// Runs `program args` in a pseudo-terminal (`script`), as a developer's
/// shell would: what it printed, with the terminal's `\r\n` made `\n`.
fn in_terminal(env: &TestEnv, cwd: &Path, program: &Path, args: &[&str]) -> Vec<u8> {
    let line = std::iter::once(program.to_str().unwrap())
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env("TERM", "xterm")
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
