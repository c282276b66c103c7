//! Command line interface: usage, -V, -h, -s, --print-stats format, --dir.

use crate::common::*;
use std::fs;

/// Every counter objcache must print (ccache names), even when zero.
const COUNTERS: &[&str] = &[
    "autoconf_test",
    "cache_miss",
    "cache_size_kibibyte",
    "called_for_link",
    "called_for_preprocessing",
    "compile_failed",
    "direct_cache_hit",
    "files_in_cache",
    "max_cache_size_kibibyte",
    "max_files_in_cache",
    "multiple_source_files",
    "no_input_file",
    "output_to_stdout",
    "preprocessed_cache_hit",
    "preprocessed_cache_miss",
    "recache",
    "stats_updated_timestamp",
    "stats_zeroed_timestamp",
    "unsupported_compiler_option",
    "unsupported_source_language",
];

#[test]
fn no_arguments_prints_usage_and_exits_2() {
    let env = TestEnv::new();
    let out = run(&mut env.objcache());
    assert_eq!(out.code(), Some(2), "{}", out.dump());
    let all = format!("{}{}", out.stdout_str(), out.stderr_str()).to_lowercase();
    assert!(all.contains("usage"), "usage text expected:\n{all}");
}

#[test]
fn version() {
    let env = TestEnv::new();
    for flag in ["-V", "--version"] {
        let mut cmd = env.objcache();
        cmd.arg(flag);
        let out = run(&mut cmd);
        assert_eq!(out.code(), Some(0), "{flag}: {}", out.dump());
        let text = out.stdout_str();
        let has_version = text
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .any(|w| {
                let parts: Vec<&str> = w.split('.').collect();
                parts.len() >= 2 && parts.iter().all(|p| !p.is_empty())
            });
        assert!(
            has_version,
            "{flag} must print a version number like 0.1.0:\n{text}"
        );
    }
}

#[test]
fn help() {
    let env = TestEnv::new();
    for flag in ["-h", "--help"] {
        let mut cmd = env.objcache();
        cmd.arg(flag);
        let out = run(&mut cmd);
        assert_eq!(out.code(), Some(0), "{flag}: {}", out.dump());
        let text = out.stdout_str();
        assert!(text.to_lowercase().contains("usage"), "{flag}:\n{text}");
        assert!(
            text.lines().count() >= 5,
            "{flag}: help text too short:\n{text}"
        );
        for opt in [
            "--print-stats",
            "--zero-stats",
            "--max-size",
            "--show-stats",
        ] {
            assert!(
                text.contains(opt),
                "{flag}: help must mention {opt}:\n{text}"
            );
        }
    }
}

#[test]
fn unknown_option_fails() {
    let env = TestEnv::new();
    let mut cmd = env.objcache();
    cmd.arg("--frobnicate-objcache-test");
    let out = run(&mut cmd);
    assert!(!out.success(), "{}", out.dump());
}

#[test]
fn print_stats_lists_every_counter_sorted() {
    let env = TestEnv::new();
    let mut cmd = env.objcache();
    cmd.arg("--print-stats");
    let out = run_ok(&mut cmd);
    let text = out.stdout_str();
    let names: Vec<&str> = text
        .lines()
        .map(|l| {
            let (k, v) = l
                .split_once('\t')
                .unwrap_or_else(|| panic!("line without TAB: {l:?}"));
            assert!(
                !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
                "value must be an unsigned integer: {l:?}"
            );
            k
        })
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        names, sorted,
        "--print-stats must be sorted by name, no duplicates"
    );
    for c in COUNTERS {
        assert!(
            names.contains(c),
            "--print-stats must print {c} (even when 0):\n{text}"
        );
    }
    // Fresh cache: every counter except the configured limits is zero.
    let st = parse_print_stats(&text);
    for (k, v) in &st {
        if k.starts_with("max_") {
            continue;
        }
        assert_eq!(*v, 0, "{k} on an empty cache:\n{text}");
    }
}

#[test]
fn print_stats_on_missing_cache_dir_does_not_create_entries() {
    let env = TestEnv::new();
    let st = env.stats();
    assert_eq!(get(&st, "cache_miss"), 0);
    assert!(cache_entry_files(&env.cache_dir).is_empty());
}

fn first_number_on_line(text: &str, label: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in -s output:\n{text}"));
    let rest = &line.trim_start()[label.len()..];
    let num: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    num.parse()
        .unwrap_or_else(|_| panic!("no number on line {line:?}"))
}

#[test]
fn show_stats_summary() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    let unit = Compile::new(&proj, "gcc", &a, "util.o");
    let expected = unit.plain().obj;
    unit.check_obj(&env, &expected);
    unit.check_obj(&env, &expected);
    // One uncacheable call.
    let mut cmd = env.objcache_in(&proj, ["gcc", "-E", "src/util.c", "-I", "include"]);
    run_ok(&mut cmd);

    for flag in ["-s", "--show-stats"] {
        let mut cmd = env.objcache();
        cmd.arg(flag);
        let out = run_ok(&mut cmd);
        let text = out.stdout_str();
        for word in [
            "Cacheable calls",
            "Hits",
            "Misses",
            "Uncacheable calls",
            "Cache size",
        ] {
            assert!(
                text.contains(word),
                "{flag} output must contain {word:?}:\n{text}"
            );
        }
        assert_eq!(first_number_on_line(&text, "Cacheable calls:"), 2, "{text}");
        assert_eq!(first_number_on_line(&text, "Hits:"), 1, "{text}");
        assert_eq!(first_number_on_line(&text, "Misses:"), 1, "{text}");
        assert_eq!(
            first_number_on_line(&text, "Uncacheable calls:"),
            1,
            "{text}"
        );
    }
}

#[test]
fn dir_option_selects_cache_dir() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    let unit = Compile::new(&proj, "gcc", &a, "util.o");
    let expected = unit.plain().obj;
    unit.check_obj(&env, &expected);
    assert_eq!(env.misses(), 1);

    let elsewhere = env.root().join("elsewhere");
    let stats_via = |flag: &str| {
        let mut cmd = env.objcache();
        cmd.env("CCACHE_DIR", &elsewhere)
            .arg(flag)
            .arg(&env.cache_dir)
            .arg("--print-stats");
        parse_print_stats(&run_ok(&mut cmd).stdout_str())
    };
    assert_eq!(get(&stats_via("--dir"), "cache_miss"), 1);
    assert_eq!(get(&stats_via("-d"), "cache_miss"), 1);

    // --dir with -o / -z operates on that directory.
    let mut cmd = env.objcache();
    cmd.env("CCACHE_DIR", &elsewhere)
        .arg("--dir")
        .arg(&env.cache_dir)
        .args(["-o", "max_files=31"]);
    run_ok(&mut cmd);
    let conf = fs::read_to_string(env.cache_dir.join("ccache.conf")).unwrap();
    assert!(conf.contains("max_files"), "{conf}");
    assert!(
        !elsewhere.join("ccache.conf").exists(),
        "--dir must not write to CCACHE_DIR"
    );
    assert_eq!(env.stat("max_files_in_cache"), 31);

    let mut cmd = env.objcache();
    cmd.env("CCACHE_DIR", &elsewhere)
        .arg("--dir")
        .arg(&env.cache_dir)
        .arg("-z");
    run_ok(&mut cmd);
    assert_eq!(env.misses(), 0, "--dir X -z zeroes X");
}

#[test]
fn stats_of_other_dir_unaffected() {
    require("gcc");
    let env1 = TestEnv::new();
    let env2 = TestEnv::new();
    let proj = env1.copy_fixture("proj", "proj");
    let a = args(&["-c", "src/math.c", "-o", "math.o", "-I", "include"]);
    let unit = Compile::new(&proj, "gcc", &a, "math.o");
    let expected = unit.plain().obj;
    unit.check_obj(&env1, &expected);
    assert_eq!(env1.misses(), 1);
    assert_eq!(env2.misses(), 0);
    unit.check_obj(&env2, &expected);
    assert_eq!(env2.misses(), 1, "separate cache dirs do not share entries");
    assert_eq!(env2.hits(), 0);
}
