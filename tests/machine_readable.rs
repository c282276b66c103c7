//! What CI jobs read: `--print-stats --format json`, `--explain --format
//! json|markdown` and the per-namespace counters. Each JSON is parsed (a
//! name with quotes or a newline is where hand-written JSON breaks) and
//! its fields checked.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::common::*;

/// `objcache gcc ARGS` in `cwd` with `vars`; must succeed.
fn cc(env: &TestEnv, cwd: &Path, args: &[&str], vars: &[(&str, &str)]) {
    require("gcc");
    let mut cmd = env.objcache_in(cwd, ["gcc"]);
    cmd.args(args).envs(vars.iter().copied());
    run_ok(&mut cmd);
}

/// `objcache ARGS` in `cwd`, its stdout parsed as JSON.
fn json(env: &TestEnv, cwd: &Path, args: &[&str]) -> Value {
    let out = run_ok(&mut env.objcache_in(cwd, args));
    serde_json::from_str(&out.stdout_str()).unwrap_or_else(|e| panic!("{e}: {}", out.dump()))
}

fn text(env: &TestEnv, cwd: &Path, args: &[&str]) -> String {
    run_ok(&mut env.objcache_in(cwd, args)).stdout_str()
}

/// The misses of an `--explain --format json` report, by output file name.
fn misses_by_name(report: &Value) -> Vec<(String, Value)> {
    let misses = report["misses"].as_array().expect("a misses array");
    misses
        .iter()
        .map(|m| {
            let output = m["output"].as_str().expect("output is text");
            let name = output.rsplit('/').next().unwrap().to_string();
            (name, m.clone())
        })
        .collect()
}

#[test]
fn print_stats_json_has_every_tab_name_and_value() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("a.c"), "int a(void) { return 1; }\n").unwrap();
    cc(&env, &dir, &["-c", "a.c", "-o", "a.o"], &[]);
    cc(&env, &dir, &["-c", "a.c", "-o", "a.o"], &[]);
    let tab = env.stats();
    let json = json(&env, &dir, &["--print-stats", "--format", "json"]);
    let object = json.as_object().expect("an object");
    let names: Vec<&String> = object.keys().collect();
    let tab_names: Vec<&String> = (&tab).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, tab_names);
    for (name, value) in &tab {
        assert_eq!(object[name].as_u64(), Some(*value), "{name}");
    }
    assert_eq!(object["direct_cache_hit"], 1);
    assert_eq!(object["cache_miss"], 1);
}

/// Three misses after `-z`: a changed header, a new option, and a build
/// moved to another checkout without base_dir; each with its reason in
/// the JSON and a row of the markdown table.
#[test]
fn explain_reports_each_miss_since_zeroing_with_its_reason() {
    let env = TestEnv::new();
    let ws1 = env.dir("ws1");
    let ws2 = env.dir("ws2");
    for ws in [&ws1, &ws2] {
        fs::write(ws.join("h.h"), "#define H 1\n").unwrap();
        fs::write(
            ws.join("a.c"),
            "#include \"h.h\"\nint a(void) { return H; }\n",
        )
        .unwrap();
        fs::write(ws.join("b.c"), "int b(void) { return 2; }\n").unwrap();
    }
    let m1 = format!("{}/m.c", ws1.display());
    let m2 = format!("{}/m.c", ws2.display());
    fs::write(&m1, "int m(void) { return 3; }\n").unwrap();
    fs::write(&m2, "int m(void) { return 3; }\n").unwrap();
    cc(&env, &ws1, &["-c", "a.c", "-o", "a.o"], &[]);
    cc(&env, &ws1, &["-c", "b.c", "-o", "b.o"], &[]);
    cc(&env, &ws1, &["-c", &m1, "-o", "m.o"], &[]);
    next_second();
    run_ok(&mut env.objcache_in(&ws1, ["-z"]));
    let before = json(&env, &ws1, &["--explain", "--format", "json"]);
    assert_eq!(before["misses"], Value::Array(vec![]), "{before}");
    assert!(before["since_unix"].as_u64().unwrap() > 0, "{before}");

    fs::write(ws1.join("h.h"), "#define H 2\n").unwrap();
    cc(&env, &ws1, &["-c", "a.c", "-o", "a.o"], &[]);
    cc(&env, &ws1, &["-O1", "-c", "b.c", "-o", "b.o"], &[]);
    cc(&env, &ws2, &["-c", &m2, "-o", "m.o"], &[]);

    let report = json(&env, &ws1, &["--explain", "--format", "json"]);
    assert_eq!(report["schema"], 1);
    assert_eq!(report["asked"], Value::Null);
    let misses = misses_by_name(&report);
    let names: Vec<&str> = misses.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a.o", "b.o", "m.o"], "oldest first: {report}");
    let field = |i: usize, f: &str| misses[i].1[f].as_str().unwrap_or_default().to_string();
    assert_eq!(field(0, "reason"), "include");
    assert!(field(0, "explanation").contains("h.h changed"), "{report}");
    assert_eq!(field(1, "reason"), "args");
    assert!(field(1, "explanation").contains("-O1"), "{report}");
    assert_eq!(field(2, "reason"), "args");
    assert!(
        field(2, "explanation").contains("base_dir is not set"),
        "{report}"
    );
    assert_eq!(field(2, "output"), format!("{}/m.o", ws2.display()));
    assert_eq!(field(0, "source"), format!("{}/a.c", ws1.display()));
    assert_eq!(misses[0].1["hit_since"], false);

    let one = json(&env, &ws1, &["--explain", "a.o", "--format", "json"]);
    assert_eq!(one["asked"], format!("{}/a.o", ws1.display()));
    assert_eq!(one["misses"].as_array().unwrap().len(), 1, "{one}");
    assert_eq!(one["misses"][0]["reason"], "include");

    let md = text(&env, &ws1, &["--explain", "--format", "markdown"]);
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 2 + 3, "{md}");
    assert!(
        rows[2].starts_with("| a.o | a.c | include | header h.h changed"),
        "{md}"
    );
    assert!(rows[3].starts_with("| b.o | b.c | args |"), "{md}");
    assert!(md.contains("3 outputs missed since"), "{md}");
}

/// Names with quotes, a newline, `|` and backslashes: valid JSON with the
/// names as they are, and markdown rows that stay one row each. A source
/// whose name is not UTF-8 is not cached (and so never reported): the
/// report stays valid JSON beside it.
#[test]
fn names_that_break_hand_written_json_are_escaped() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    let name = "q\"u\\o|t\ne";
    fs::write(dir.join(format!("{name}.c")), "int q(void) { return 1; }\n").unwrap();
    let (src, obj) = (format!("{name}.c"), format!("{name}.o"));
    cc(&env, &dir, &["-c", &src, "-o", &obj], &[]);
    cc(&env, &dir, &["-O1", "-c", &src, "-o", &obj], &[]);
    {
        use std::os::unix::ffi::OsStrExt;
        let raw = std::ffi::OsStr::from_bytes(b"n\xffu.c");
        fs::write(dir.join(raw), "int n(void) { return 1; }\n").unwrap();
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c"]);
        cmd.arg(raw)
            .arg("-o")
            .arg(std::ffi::OsStr::from_bytes(b"n\xffu.o"));
        run_ok(&mut cmd);
    }
    let report = json(&env, &dir, &["--explain", "--format", "json"]);
    let misses = report["misses"].as_array().unwrap();
    assert_eq!(misses.len(), 1, "{report}");
    assert_eq!(misses[0]["output"], format!("{}/{obj}", dir.display()));
    assert_eq!(misses[0]["source"], format!("{}/{src}", dir.display()));

    let md = text(&env, &dir, &["--explain", "--format", "markdown"]);
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 3, "{md}");
    assert!(rows[2].starts_with("| q\"u\\\\o\\|t e.o |"), "{md}");

    // The same names as a namespace: in --print-stats, one word.
    cc(
        &env,
        &dir,
        &["-c", &src, "-o", &obj],
        &[("CCACHE_NAMESPACE", name)],
    );
    let stats = json(&env, &dir, &["--print-stats", "--format", "json"]);
    let key = "namespace.q%22u%5Co%7Ct%0Ae.cache_miss";
    assert_eq!(stats[key], 1, "{stats}");
    let tab = text(&env, &dir, &["--print-stats"]);
    assert!(tab.contains(&format!("{key}\t1\n")), "{tab}");
}

/// Two namespaces in one cache dir (and calls without one): each counts
/// its own hits and misses, the totals stay the sum, `-s` shows a section
/// per namespace, and `-z` zeroes them.
#[test]
fn hits_and_misses_are_counted_per_namespace() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("a.c"), "int a(void) { return 1; }\n").unwrap();
    let compile = |ns: &str| {
        let vars: &[(&str, &str)] = if ns.is_empty() {
            &[]
        } else {
            &[("CCACHE_NAMESPACE", ns)]
        };
        cc(&env, &dir, &["-c", "a.c", "-o", "a.o"], vars);
    };
    // proj-a: a miss, two hits; proj-b: a miss, a hit; none: a miss.
    for ns in ["proj-a", "proj-a", "proj-a", "proj-b", "proj-b", ""] {
        compile(ns);
    }
    let stats = env.stats();
    assert_eq!((hits(&stats), get(&stats, "cache_miss")), (3, 3));
    assert_eq!(get(&stats, "namespace.proj-a.direct_cache_hit"), 2);
    assert_eq!(get(&stats, "namespace.proj-a.cache_miss"), 1);
    assert_eq!(get(&stats, "namespace.proj-b.direct_cache_hit"), 1);
    assert_eq!(get(&stats, "namespace.proj-b.cache_miss"), 1);
    let json = json(&env, &dir, &["--print-stats", "--format", "json"]);
    assert_eq!(json["namespace.proj-a.direct_cache_hit"], 2);

    let show = text(&env, &dir, &["-s"]);
    let section = &show[show.find("Namespaces:").expect(&show)..];
    for line in [
        "  proj-a:\n    Hits:",
        "  proj-b:\n    Hits:",
        "  (no namespace):\n    Hits:",
    ] {
        assert!(section.contains(line), "{show}");
    }
    assert!(section.contains("Hits:           2 / 3 (66.67%)"), "{show}");

    run_ok(&mut env.objcache_in(&dir, ["-z"]));
    let zeroed = text(&env, &dir, &["--print-stats"]);
    assert!(!zeroed.contains("namespace."), "{zeroed}");
    assert!(!text(&env, &dir, &["-s"]).contains("Namespaces:"));
}

/// One namespace and nothing else: `-s` has no section to add.
#[test]
fn a_single_namespace_adds_no_section() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("a.c"), "int a(void) { return 1; }\n").unwrap();
    cc(
        &env,
        &dir,
        &["-c", "a.c", "-o", "a.o"],
        &[("CCACHE_NAMESPACE", "only")],
    );
    assert!(!text(&env, &dir, &["-s"]).contains("Namespaces:"));
    assert_eq!(env.stat("namespace.only.cache_miss"), 1);
}

/// The first ```` ```sh ```` block after `heading` in `doc`.
fn shell_block<'a>(doc: &'a str, heading: &str) -> &'a str {
    let section = &doc[doc.find(heading).expect(heading)..];
    let start = section.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let len = section[start..].find("```").expect("the block's end");
    &section[start..start + len]
}

/// docs/ci.md's step-summary steps, run as written against a small
/// make project whose header changed since the last build.
#[test]
fn the_step_summary_recipe_in_ci_md_runs() {
    require("gcc");
    require("make");
    require("jq");
    let env = TestEnv::new();
    let dir = env.dir("proj");
    fs::write(dir.join("h.h"), "#define H 1\n").unwrap();
    fs::write(
        dir.join("a.c"),
        "#include \"h.h\"\nint a(void) { return H; }\n",
    )
    .unwrap();
    fs::write(dir.join("b.c"), "int b(void) { return 2; }\n").unwrap();
    fs::write(
        dir.join("Makefile"),
        "all: a.o b.o\na.o: a.c h.h\nb.o: b.c\n",
    )
    .unwrap();
    let steps = shell_block(
        include_str!("../docs/ci.md"),
        "## Misses in the step summary",
    );
    let bin_dir = objcache_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let summary = env.root().join("summary.md");
    let run_steps = || {
        let mut cmd = std::process::Command::new("bash");
        clean_env(&mut cmd)
            .args(["-e", "-c", steps])
            .current_dir(&dir)
            .env("CCACHE_DIR", &env.cache_dir)
            .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
            .env("PATH", &path)
            .env("GITHUB_STEP_SUMMARY", &summary);
        cmd
    };
    run_ok(&mut run_steps());
    next_second();
    fs::write(dir.join("h.h"), "#define H 2\n").unwrap();
    fs::remove_file(&summary).unwrap();
    let out = run_ok(&mut run_steps());
    assert!(out.stdout_str().contains("1 include"), "{}", out.dump());
    let md = fs::read_to_string(&summary).unwrap();
    assert!(md.contains("1 output missed since"), "{md}");
    assert!(
        md.contains("| a.o | a.c | include | header h.h changed |"),
        "{md}"
    );
    let report: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("objcache-misses.json")).unwrap())
            .unwrap();
    assert_eq!(report["misses"][0]["reason"], "include");
}
