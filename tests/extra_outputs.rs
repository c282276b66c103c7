//! Compiles that write more than an object, or no object at all: every file
//! and stream a hit gives back is byte-equal to what the compiler writes
//! for the same call.

mod common;

use common::*;
use std::fs;
use std::path::Path;

const WARNS: &str = "int f(int x) { int unused; return x; }\n";

/// What one call leaves behind: the named files (`None`: not there) and
/// its stdout and stderr.
#[derive(Debug, PartialEq)]
struct Written {
    files: Vec<(String, Option<Vec<u8>>)>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn take(dir: &Path, files: &[&str], out: &Out) -> Written {
    let files = files
        .iter()
        .map(|f| {
            let p = dir.join(f);
            let body = fs::read(&p).ok();
            rm(&p);
            (f.to_string(), body)
        })
        .collect();
    Written {
        files,
        stdout: out.stdout.clone(),
        stderr: out.stderr_without_objcache_lines(),
    }
}

fn assert_same(actual: &Written, expected: &Written, what: &str) {
    for ((name, got), (_, want)) in actual.files.iter().zip(&expected.files) {
        match (got, want) {
            (Some(g), Some(w)) => assert_bytes_eq(g, w, &format!("{what}: {name}")),
            _ => assert_eq!(got.is_some(), want.is_some(), "{what}: {name} present?"),
        }
    }
    assert_bytes_eq(&actual.stdout, &expected.stdout, &format!("{what}: stdout"));
    assert_bytes_eq(&actual.stderr, &expected.stderr, &format!("{what}: stderr"));
}

/// The plain compiler's outputs for `call` (compiler first) in `dir`, then
/// objcache's on a miss and on two hits: all the same, one miss.
fn same_as_compiler(env: &TestEnv, dir: &Path, call: &[&str], files: &[&str]) -> Written {
    let out = plain(call[0], dir, &call[1..]);
    assert!(out.success(), "{}", out.dump());
    let expected = take(dir, files, &out);
    let misses = env.misses();
    let hits = env.hits();
    for round in ["miss", "hit", "second hit"] {
        let out = run(&mut env.objcache_in(dir, call));
        assert!(out.success(), "{round}: {}", out.dump());
        assert_same(&take(dir, files, &out), &expected, round);
    }
    assert_eq!(
        (env.misses() - misses, env.hits() - hits),
        (1, 2),
        "{call:?}: {:?}",
        env.stats()
    );
    expected
}

/// `-fsyntax-only` writes no object: a hit replays the diagnostics (and
/// gcc's `.d`) and creates nothing else.
#[test]
fn syntax_only_is_cached_without_an_object() {
    for compiler in ["gcc", "clang"] {
        require(compiler);
        let env = TestEnv::new();
        let dir = env.dir("s");
        fs::write(dir.join("w.c"), WARNS).unwrap();
        let w = same_as_compiler(
            &env,
            &dir,
            &[compiler, "-Wall", "-fsyntax-only", "w.c"],
            &["w.o"],
        );
        assert!(w.files[0].1.is_none() && !w.stderr.is_empty(), "{w:?}");
        let w = same_as_compiler(
            &env,
            &dir,
            &[
                compiler,
                "-Wall",
                "-fsyntax-only",
                "-c",
                "w.c",
                "-o",
                "x.o",
                "-MD",
            ],
            &["x.o", "x.d"],
        );
        assert!(w.files[0].1.is_none(), "{compiler}: {w:?}");
    }
}
