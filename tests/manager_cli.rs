//! The manager's command line as ccache 4.13's getopt_long reads it: long
//! options shortened to a unique prefix (`--zero`, `--max-si 5G`), an
//! ambiguous prefix an error naming the candidates, a misspelt option an
//! error naming the nearest one, and `--threads`. And `--version` as the
//! tools that read ccache's parse it: named `ccache`, the first line is
//! ccache's (hendrikmuhs/ccache-action gates its JSON job summary on it).

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn manager(env: &TestEnv, args: &[&str]) -> Out {
    run(env.objcache().args(args))
}

#[track_caller]
fn manager_ok(env: &TestEnv, args: &[&str]) -> String {
    let out = manager(env, args);
    assert!(out.success(), "objcache {args:?}: {}", out.dump());
    out.stdout_str()
}

/// One compile through objcache, so there is an entry and counters.
fn compile(env: &TestEnv) {
    require("gcc");
    let dir = env.dir("w");
    std::fs::write(dir.join("x.c"), "int f(void) { return 1; }\n").unwrap();
    run_ok(&mut env.objcache_in(&dir, ["gcc", "-c", "x.c", "-o", "x.o"]));
}

#[test]
fn long_options_may_be_shortened_to_a_unique_prefix() {
    let env = TestEnv::new();
    compile(&env);
    assert_eq!(env.stat("cache_miss"), 1);
    assert_eq!(manager_ok(&env, &["--zero"]), "Statistics zeroed\n");
    assert_eq!(env.stat("cache_miss"), 0);
    manager_ok(&env, &["--max-si", "5G"]);
    assert_eq!(manager_ok(&env, &["-k", "max_size"]), "5.0G\n");
    manager_ok(&env, &["-M", "1G"]);
    manager_ok(&env, &["--max-si=5G"]);
    assert_eq!(manager_ok(&env, &["--get-c", "max_size"]), "5.0G\n");
    let stats = manager_ok(&env, &["--show-s"]);
    assert!(stats.contains("Hits:"), "{stats}");
    // A whole name is its own option, though it begins others' names
    // (--recompress-threads, --check-hit-rate).
    let recompressed = manager_ok(&env, &["--recompress", "3"]);
    assert!(
        recompressed.starts_with("Recompressed entries: "),
        "{recompressed}"
    );
    let checked = manager_ok(&env, &["--check"]);
    assert!(checked.starts_with("Checked "), "{checked}");
}

#[test]
fn an_ambiguous_prefix_names_the_candidates() {
    let env = TestEnv::new();
    let out = manager(&env, &["-s", "--tr", "x"]);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert_eq!(out.stdout_str(), "", "nothing ran");
    assert_eq!(
        out.stderr_str(),
        "objcache: error: option '--tr' is ambiguous; possibilities: '--trim-dir' \
         '--trim-max-size' '--trim-method' '--trim-recompress' '--trim-recompress-threads'\n"
    );
    let out = manager(&env, &["--show=x"]);
    assert_eq!(out.code(), Some(1));
    let err = out.stderr_str();
    assert!(err.contains("option '--show' is ambiguous;"), "{err}");
    assert!(
        err.contains("'--show-stats'") && err.contains("'--show-config'"),
        "{err}"
    );
}

#[test]
fn a_misspelt_option_gets_a_suggestion() {
    let env = TestEnv::new();
    for (typo, meant) in [
        ("--shwo-stats", "--show-stats"),
        ("--zero-stast", "--zero-stats"),
        ("--clenaup", "--cleanup"),
        ("--max-szie=5G", "--max-size"),
    ] {
        let out = manager(&env, &[typo]);
        assert_eq!(out.code(), Some(1), "{}", out.dump());
        let name = typo.split('=').next().unwrap();
        assert_eq!(
            out.stderr_str(),
            format!("objcache: error: unknown option '{name}'; did you mean '{meant}'?\n")
        );
    }
    let out = manager(&env, &["--frobnicate"]);
    assert_eq!(
        out.stderr_str(),
        "objcache: error: unknown option '--frobnicate'; see objcache --help\n"
    );
}

/// `--threads N` for what runs in parallel (`-X`, `--trim-recompress`);
/// ccache's older `--recompress-threads` still works.
#[test]
fn threads_are_accepted_and_checked() {
    let env = TestEnv::new();
    compile(&env);
    for args in [
        &["--threads", "2", "-X", "1"][..],
        &["-X", "2", "--thr=1"],
        &["--recompress-threads", "1", "-X", "3"],
        &["--threads", "3", "-s"],
    ] {
        manager_ok(&env, args);
    }
    let out = manager(&env, &["--threads", "0", "-X", "1"]);
    assert_eq!(out.code(), Some(1));
    assert_eq!(
        out.stderr_str(),
        "objcache: error: --threads: invalid number of threads \"0\"\n"
    );
}

/// A link named `name` to objcache in a directory of its own.
fn named(env: &TestEnv, name: &str) -> PathBuf {
    let bin = env.dir("bin");
    let link = bin.join(name);
    std::os::unix::fs::symlink(objcache_bin(), &link).unwrap();
    link
}

fn run_named(env: &TestEnv, link: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(link);
    clean_env(&mut cmd);
    cmd.args(args)
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .current_dir(env.root());
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    out.stdout_str()
}

/// hendrikmuhs/ccache-action's `parseCCacheVersion`: the first match of
/// `(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` in the first line.
fn action_version(output: &str) -> Option<[u64; 3]> {
    let line = output.split('\n').next()?.as_bytes();
    // One part of the pattern at `i`: `0`, or a digit 1-9 and more digits.
    let part = |i: usize| -> Option<(u64, usize)> {
        match line.get(i)? {
            b'0' => Some((0, i + 1)),
            b'1'..=b'9' => {
                let end = (i..line.len())
                    .find(|&j| !line[j].is_ascii_digit())
                    .unwrap_or(line.len());
                let text = std::str::from_utf8(&line[i..end]).ok()?;
                Some((text.parse().ok()?, end))
            }
            _ => None,
        }
    };
    let dot = |i: usize| (line.get(i) == Some(&b'.')).then_some(i + 1);
    (0..line.len()).find_map(|start| {
        let (major, i) = part(start)?;
        let (minor, i) = part(dot(i)?)?;
        let (patch, _) = part(dot(i)?)?;
        Some([major, minor, patch])
    })
}

/// The action's `hasJsonStats`: `version[0] >= 4 && version[1] >= 10`.
fn action_has_json_stats(output: &str) -> bool {
    action_version(output).is_some_and(|v| v[0] >= 4 && v[1] >= 10)
}

/// ccache's own test suite ("Version output readable"): exactly one line
/// matches `^ccache version [a-zA-Z0-9_./+-]*\r?$`.
fn suite_version_lines(output: &str) -> usize {
    output
        .lines()
        .filter(|l| {
            l.strip_prefix("ccache version ").is_some_and(|v| {
                v.trim_end_matches('\r')
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./+-".contains(c))
            })
        })
        .count()
}

#[test]
fn the_actions_parser_reads_ccaches_and_objcaches_version() {
    let ccache_4_10 = "ccache version 4.10.2\nFeatures: avx2 file-storage http-storage \
                       redis+unix-storage redis-storage\n\nCopyright (C) 2002-2007 Andrew Tridgell\n";
    assert_eq!(action_version(ccache_4_10), Some([4, 10, 2]));
    assert!(action_has_json_stats(ccache_4_10));
    assert!(!action_has_json_stats("ccache version 4.9.1\n"));
    assert_eq!(action_version("objcache version 0.1.0\n"), Some([0, 1, 0]));
    assert_eq!(action_version("v 05.1.2.3\n"), Some([5, 1, 2]));
    assert_eq!(action_version("no version\n4.10.0\n"), None);
}

/// Named `ccache` (or `ccache-4.13`), `--version` and `-V` give ccache's
/// version first, objcache's next, then ccache's `Features:` line;
/// `--print-version` gives ccache's. The action then asks for JSON
/// statistics and adds up the hits it finds there.
#[test]
fn named_ccache_the_version_is_ccaches() {
    let env = TestEnv::new();
    compile(&env);
    let own = env!("CARGO_PKG_VERSION");
    for name in ["ccache", "ccache-4.13"] {
        let link = named(&env, name);
        for flag in ["--version", "-V"] {
            let text = run_named(&env, &link, &[flag]);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[0], "ccache version 4.13.6", "{text}");
            assert_eq!(lines[1], format!("objcache version {own}"), "{text}");
            assert_eq!(
                lines[2],
                "Features: crsh-storage file-storage http-storage https-storage \
                 redis+unix-storage redis-storage rediss-storage s3-storage"
            );
            assert_eq!(suite_version_lines(&text), 1, "{text}");
            assert_eq!(action_version(&text), Some([4, 13, 6]));
            assert!(action_has_json_stats(&text));
            // ccache's test suite probes a backend so before using it.
            assert!(text.contains("redis-storage") && text.contains("file-storage"));
        }
        assert_eq!(run_named(&env, &link, &["--print-version"]), "4.13.6\n");
    }
    let link = env.root().join("bin/ccache");
    let help = run_named(&env, &link, &["--help"]);
    assert!(help.contains("--verbose"), "the action looks for it");
    let json = run_named(&env, &link, &["--print-stats", "--format=json"]);
    let field = |name: &str| -> u64 {
        let at = json.find(&format!("\"{name}\": ")).unwrap() + name.len() + 4;
        let digits: String = json[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    let hits = field("direct_cache_hit") + field("preprocessed_cache_hit");
    assert_eq!((hits, field("cache_miss")), (0, 1));
}

/// Named `objcache`, the first line is objcache's and the next names the
/// ccache version it follows, as ccache names its own, so ccache's test
/// suite finds it on any name.
#[test]
fn named_objcache_the_version_is_objcaches() {
    let env = TestEnv::new();
    let text = manager_ok(&env, &["--version"]);
    let lines: Vec<&str> = text.lines().collect();
    let own = env!("CARGO_PKG_VERSION");
    assert_eq!(lines[0], format!("objcache version {own}"));
    assert_eq!(lines[1], "ccache version 4.13.6");
    assert!(lines[2].starts_with("Features: "), "{text}");
    assert_eq!(suite_version_lines(&text), 1);
    assert_eq!(
        action_version(&text).map(|v| v[0]),
        own.split('.').next().map(|m| m.parse().unwrap())
    );
    assert_eq!(manager_ok(&env, &["--print-version"]), format!("{own}\n"));
}
