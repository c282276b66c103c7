//! Called as ccache is: under the name `ccache`, with leading `KEY=VALUE`
//! settings, through itself; `debug = true` writing ccache's debug files;
//! `log_file` lines with their timing; a real ccache on the same cache dir.

use crate::common::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `<tmp>/<dir>/<name>` -> objcache.
fn link(env: &TestEnv, dir: &str, name: &str) -> PathBuf {
    let d = env.dir(dir);
    let path = d.join(name);
    symlink(objcache_bin(), &path).unwrap();
    path
}

/// `program` (a path) with the test environment of `env.objcache()`.
fn tool(env: &TestEnv, program: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .current_dir(cwd);
    cmd
}

const UNIT: &[&str] = &["-c", "src/util.c", "-o", "util.o", "-I", "include"];

/// The files in `dir` whose names start with `prefix`, sorted.
fn named(dir: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

#[test]
fn named_ccache_it_is_the_tool() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let expected = plain_object("gcc", &proj, UNIT, "util.o");
    let ccache = link(&env, "bin", "ccache");
    // Manager options, as objcache.
    let shown = run_ok(tool(&env, &ccache, &proj).arg("-s"));
    assert!(shown.stdout_str().contains("Hits"), "{}", shown.dump());
    let stats = run_ok(tool(&env, &ccache, &proj).arg("--print-stats"));
    assert_eq!(
        get(&parse_print_stats(&stats.stdout_str()), "cache_miss"),
        0
    );
    // `ccache gcc …`: miss, then hit.
    for round in 1..=2u64 {
        run_ok(tool(&env, &ccache, &proj).arg("gcc").args(UNIT));
        assert_bytes_eq(&read(&proj.join("util.o")), &expected, "object");
        rm(&proj.join("util.o"));
        assert_eq!(env.misses(), 1);
        assert_eq!(env.hits(), round - 1);
    }
    // ccache's rule for its name: a versioned name is the tool too.
    let versioned = link(&env, "bin", "ccache-4.13");
    run_ok(tool(&env, &versioned, &proj).arg("gcc").args(UNIT));
    assert_eq!(env.hits(), 2);
    let z = run_ok(tool(&env, &versioned, &proj).arg("-z"));
    assert!(z.success());
    assert_eq!(env.hits(), 0);
    // Named twice, still the manager; settings are for a compile.
    run_ok(tool(&env, &ccache, &proj).args(["ccache", "--print-stats"]));
    let out = run(tool(&env, &ccache, &proj).args(["debug=true", "-s"]));
    assert!(!out.success(), "{}", out.dump());
    assert!(
        out.stderr_str().starts_with("objcache: error:"),
        "{}",
        out.dump()
    );
}

#[test]
fn key_value_settings_configure_one_call() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let ccache = link(&env, "bin", "ccache");
    // Above the environment: CCACHE_DISABLE=1 is overridden for this call.
    run_ok(
        tool(&env, &ccache, &proj)
            .env("CCACHE_DISABLE", "1")
            .args(["disable=false", "direct_mode=false", "gcc"])
            .args(UNIT),
    );
    assert_eq!(env.misses(), 1);
    assert_eq!(
        env.stat("direct_cache_miss"),
        0,
        "direct_mode=false applied"
    );
    // Several settings, through the objcache name too.
    run_ok(
        env.objcache_in(&proj, ["debug=true", "direct_mode=false", "gcc"])
            .args(UNIT),
    );
    assert_eq!(env.stat("preprocessed_cache_hit"), 1);
    assert!(!named(&proj, "util.o.").is_empty(), "debug=true applied");
    // One call only: the next one is in direct mode again.
    run_ok(env.objcache_in(&proj, ["gcc"]).args(UNIT));
    assert_eq!(env.stat("direct_cache_miss"), 1);
    assert_eq!(env.stat("preprocessed_cache_hit"), 2);
    // An unknown key or a bad value is an error, and nothing is compiled.
    // The message names the key; an unknown key's value is not shown (it
    // may be a misspelt secret setting).
    rm(&proj.join("util.o"));
    for (bad, named) in [
        ("no_such_key=1", "no_such_key="),
        ("direct_mode=maybe", "direct_mode=maybe"),
    ] {
        let out = run(env.objcache_in(&proj, [bad, "gcc"]).args(UNIT));
        assert!(!out.success(), "{bad}: {}", out.dump());
        assert!(out.stderr_str().contains(named), "{}", out.dump());
        assert!(!proj.join("util.o").exists());
    }
}

#[test]
fn called_through_itself_it_caches_once() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let expected = plain_object("gcc", &proj, UNIT, "util.o");
    let ccache = link(&env, "bin", "ccache");
    let masquerade = link(&env, "masq", "gcc");
    let calls: Vec<Command> = vec![
        env.objcache_in(&proj, [objcache_bin().to_str().unwrap(), "gcc"]),
        env.objcache_in(&proj, ["objcache", "objcache", "gcc"]),
        {
            let mut c = tool(&env, &ccache, &proj);
            c.args(["ccache", "gcc"]);
            c
        },
        // A masquerading symlink named by its path is the compiler it
        // stands for.
        env.objcache_in(&proj, [masquerade.to_str().unwrap()]),
    ];
    for (i, mut cmd) in calls.into_iter().enumerate() {
        let out = run_with_timeout(cmd.args(UNIT), TIMEOUT);
        assert!(out.success(), "call {i}: {}", out.dump());
        assert_bytes_eq(&read(&proj.join("util.o")), &expected, "object");
        rm(&proj.join("util.o"));
        assert_eq!(env.misses(), 1, "call {i}");
        assert_eq!(env.hits(), i as u64, "call {i}");
    }
}

#[test]
fn debug_writes_ccache_named_files() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let log = env.root().join("objcache.log");
    let debug = |extra: &[&str]| {
        let mut cmd = env.objcache_in(&proj, ["gcc"]);
        cmd.args(UNIT)
            .env("CCACHE_DEBUG", "1")
            .env("CCACHE_LOGFILE", &log);
        for kv in extra {
            let (k, v) = kv.split_once('=').unwrap();
            cmd.env(k, v);
        }
        run_ok(&mut cmd);
    };
    debug(&[]);
    let first = named(&proj, "util.o.");
    let suffixes: Vec<&str> = first
        .iter()
        .map(|n| n.rsplit_once(".ccache-").unwrap().1)
        .collect();
    assert_eq!(
        suffixes,
        ["input-c", "input-d", "input-p", "input-text", "log"],
        "{first:?}"
    );
    // util.o.<year><month><day>_<hour><minute><second>_<microsecond>.ccache-…
    let stamp = first[0].split('.').nth(2).unwrap();
    assert_eq!(stamp.len(), "20260102_030405_123456".len(), "{stamp}");
    assert!(stamp.bytes().all(|b| b.is_ascii_digit() || b == b'_'));
    let text = String::from_utf8_lossy(&read(&proj.join(&first[3]))).into_owned();
    for section in [
        "=== COMMON ===",
        "=== DIRECT MODE ===",
        "=== PREPROCESSOR MODE ===",
    ] {
        assert!(text.contains(section), "{section} in {text}");
    }
    assert!(text.contains("### arg\n-c\n"), "{text}");
    let call_log = String::from_utf8_lossy(&read(&proj.join(&first[4]))).into_owned();
    assert!(call_log.contains("cache miss"), "{call_log}");
    assert!(
        call_log.contains(".ccache-input-text"),
        "the miss hint: {call_log}"
    );
    assert!(!named(&proj, "util.o.")
        .iter()
        .any(|n| n.contains("objcache")));

    // The hit leaves a second set to diff against (no preprocessor input).
    std::thread::sleep(std::time::Duration::from_millis(2));
    debug(&[]);
    let both = named(&proj, "util.o.");
    assert_eq!(both.len(), 5 + 4, "{both:?}");
    assert!(both
        .iter()
        .any(|n| n.ends_with(".ccache-log") && !first.contains(n)));

    // debug_dir: the same files at the object's absolute path below it.
    let dbg = env.root().join("dbg");
    debug(&[("CCACHE_DEBUGDIR=".to_string() + dbg.to_str().unwrap()).as_str()]);
    let mirrored = dbg.join(proj.strip_prefix("/").unwrap());
    assert_eq!(named(&mirrored, "util.o.").len(), 4, "{mirrored:?}");
    assert_eq!(
        named(&proj, "util.o.").len(),
        9,
        "nothing new beside the object"
    );

    // debug_level = 1: only the log.
    let dbg1 = env.root().join("dbg1");
    debug(&[
        ("CCACHE_DEBUGDIR=".to_string() + dbg1.to_str().unwrap()).as_str(),
        "CCACHE_DEBUGLEVEL=1",
    ]);
    let only = named(&dbg1.join(proj.strip_prefix("/").unwrap()), "util.o.");
    assert_eq!(only.len(), 1, "{only:?}");
    assert!(only[0].ends_with(".ccache-log"));
}

#[test]
fn log_lines_show_the_time_of_each_step() {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let log = env.root().join("objcache.log");
    for _ in 0..2 {
        run_ok(
            env.objcache_in(&proj, ["gcc"])
                .args(UNIT)
                .env("CCACHE_LOGFILE", &log),
        );
    }
    let text = String::from_utf8_lossy(&read(&log)).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 4, "{text}");
    for line in &lines {
        // `[<time> <pid>] +<ms>.<µs>ms <message>`
        let (_, rest) = line.split_once("] +").unwrap_or_else(|| panic!("{line}"));
        let (elapsed, _) = rest.split_once("ms ").unwrap_or_else(|| panic!("{line}"));
        let (ms, us) = elapsed.split_once('.').unwrap_or_else(|| panic!("{line}"));
        assert!(ms.parse::<u64>().is_ok() && us.len() == 3, "{line}");
    }
    assert!(text.contains("cache miss"), "{text}");
    assert!(text.contains("direct cache hit"), "{text}");
    assert_eq!(text.matches("ms done in ").count(), 2, "{text}");
}

/// objcache and the real ccache (4.x, if installed) on one cache dir: each
/// hits its own entries, neither breaks the other's, `-s` of both works.
/// Their counters share file names (see docs/compatibility.md), so hits
/// are read from each tool's log rather than from the counters.
#[test]
fn real_ccache_on_the_same_cache_dir() {
    require("gcc");
    let Some(real) = which("ccache").filter(|p| {
        std::fs::canonicalize(p).is_ok_and(|r| r != std::fs::canonicalize(objcache_bin()).unwrap())
    }) else {
        eprintln!("skipped: no real ccache in PATH");
        return;
    };
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let units = ["util.c", "math.c", "main.c", "warn.c"];
    let ours = env.root().join("objcache.log");
    let theirs = env.root().join("ccache.log");
    let compile = |cmd: &mut Command, unit: &str, obj: &str| {
        let src = format!("src/{unit}");
        cmd.args(["-c", src.as_str(), "-o", obj, "-I", "include"]);
        run_ok(cmd);
    };
    for _round in 0..2 {
        for unit in units {
            let mut o = env.objcache_in(&proj, ["gcc"]);
            o.env("CCACHE_LOGFILE", &ours);
            compile(&mut o, unit, &format!("{unit}.objcache.o"));
            let mut c = tool(&env, &real, &proj);
            c.arg("gcc").env("CCACHE_LOGFILE", &theirs);
            compile(&mut c, unit, &format!("{unit}.ccache.o"));
        }
    }
    for unit in units {
        let src = format!("src/{unit}");
        let args = ["-c", src.as_str(), "-o", "plain.o", "-I", "include"];
        let expected = plain_object("gcc", &proj, args, "plain.o");
        for which in ["objcache", "ccache"] {
            let obj = proj.join(format!("{unit}.{which}.o"));
            assert_bytes_eq(&read(&obj), &expected, &format!("{which}'s {unit}"));
        }
    }
    let ours = String::from_utf8_lossy(&read(&ours)).into_owned();
    let theirs = String::from_utf8_lossy(&read(&theirs)).into_owned();
    assert_eq!(
        ours.matches("direct cache hit").count(),
        units.len(),
        "{ours}"
    );
    assert_eq!(
        theirs.matches("Result: direct_cache_hit").count(),
        units.len(),
        "{theirs}"
    );
    assert!(!ours.contains("corrupt"), "{ours}");
    // Each tool's report still works on the shared directory.
    let s = run_ok(env.objcache().arg("-s"));
    assert!(s.stdout_str().contains("Hits"), "{}", s.dump());
    env.stats();
    let s = run_ok(tool(&env, &real, env.root()).arg("-s"));
    assert!(s.success());
    run_ok(tool(&env, &real, env.root()).arg("--print-stats"));
}
