//! What a hostile cache or a big CI job does to the machine-readable
//! outputs: stats files with namespace lines no objcache wrote, misses by
//! the hundred with big inputs, a step summary that must stay under
//! GitHub's 1 MiB.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::*;

/// `objcache gcc ARGS` in `cwd`; must succeed.
fn cc(env: &TestEnv, cwd: &Path, args: &[String]) {
    require("gcc");
    run_ok(env.objcache_in(cwd, ["gcc"]).args(args));
}

/// `n` outputs compiled (each one a miss) from `dir`, four at a time, with
/// `extra` arguments each.
fn misses(env: &TestEnv, dir: &Path, n: usize, extra: &[String]) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(4) {
        std::thread::scope(|s| {
            for &i in chunk {
                s.spawn(move || {
                    let src = format!("s{i}.c");
                    fs::write(dir.join(&src), format!("int v{i};\n")).unwrap();
                    let mut args = extra.to_vec();
                    args.extend(["-c", &src, "-o", &format!("s{i}.o")].map(String::from));
                    cc(env, dir, &args);
                });
            }
        });
    }
}

#[test]
fn a_namespace_line_kilobytes_long_never_makes_a_stats_file_too_long() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    let stats = env.root().join("cache/objcache-stats");
    fs::create_dir_all(&stats).unwrap();
    // Under 16 KiB as found, over it once the compile's counters are added.
    let name = "x".repeat(16_000);
    for shard in 0..16 {
        let text = format!("namespace.{name}.cache_miss 5\nend\n");
        fs::write(stats.join(format!("{shard:x}")), text).unwrap();
    }
    let args = ["-c", "a.c", "-o", "a.o"].map(String::from);
    fs::write(dir.join("a.c"), "int a;\n").unwrap();
    cc(&env, &dir, &args);
    cc(&env, &dir, &args);
    let s = env.stats();
    assert_eq!(get(&s, "corrupt_stats_file"), 0, "{s:?}");
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (1, 1), "{s:?}");
    // Its counts stay, under the name of the namespaces with no room.
    assert_eq!(get(&s, "namespace.*.cache_miss"), 16 * 5, "{s:?}");
}

fn long_defines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("-DM{i:04}_{}=1", "x".repeat(140)))
        .collect()
}

#[test]
fn explain_holds_no_misses_inputs_in_memory() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    // 100 misses with 90 KiB of arguments each: over 12 MiB of fields held.
    misses(&env, &dir, 100, &long_defines(600));
    for format in ["json", "markdown", "tab"] {
        let kib = peak_rss_kib(&env, &dir, &["--explain", "--format", format]);
        assert!(
            kib < 20 << 10,
            "--explain --format {format}: {kib} KiB resident"
        );
    }
}

/// The peak memory of `objcache ARGS`, in KiB. Through python: a child
/// forked by this test would count the test's own peak as its own.
fn peak_rss_kib(env: &TestEnv, cwd: &Path, args: &[&str]) -> u64 {
    require("python3");
    let script = "import resource, subprocess, sys\n\
        r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n\
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n\
        sys.exit(r.returncode)\n";
    let mut cmd = Command::new("python3");
    clean_env(&mut cmd)
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .current_dir(cwd)
        .args(["-c", script])
        .arg(objcache_bin())
        .args(args);
    let out = run_with_timeout(&mut cmd, std::time::Duration::from_secs(60));
    assert!(out.success(), "{}", out.dump());
    out.stdout_str().trim().parse().unwrap()
}

/// Writes `report` to a fresh summary file as the docs' recipe does.
fn append_to_summary(env: &TestEnv, dir: &Path) -> Vec<u8> {
    let summary = dir.join("summary.md");
    let mut cmd = env.objcache_in(dir, ["--explain", "--format", "markdown"]);
    let out = run_ok(&mut cmd);
    fs::write(&summary, &out.stdout).unwrap();
    fs::read(summary).unwrap()
}

#[test]
fn a_step_summary_stays_under_githubs_limit() {
    let env = TestEnv::new();
    // Outputs 3,500 bytes deep: 120 misses make 840 KiB of rows.
    let mut deep = env.dir("w");
    while deep.as_os_str().len() < 3_500 {
        deep = deep.join("d".repeat(200));
    }
    fs::create_dir_all(&deep).unwrap();
    misses(&env, &deep, 120, &[]);
    let top = env.dir("w");
    let md = append_to_summary(&env, &top);
    assert!(md.len() < 1 << 20, "{} bytes", md.len());
    let text = String::from_utf8(md).unwrap();
    let rows = text.lines().filter(|l| l.starts_with("| ")).count() - 2;
    assert!(rows < 120, "{rows} rows");
    assert!(
        text.contains(&format!("{} more not shown", 120 - rows)),
        "{}",
        &text[text.len() - 300..]
    );
    // JSON has them all.
    let out = run_ok(&mut env.objcache_in(&top, ["--explain", "--format", "json"]));
    assert_eq!(out.stdout_str().matches("\"output\":").count(), 120);
}
