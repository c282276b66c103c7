//! The manager options of ccache 4.13 (issue 14): `--print-stats --format`,
//! `-x`, `-X`, `--hash-file`, `--checksum-file`, `--inspect`,
//! `--extract-result`, `--print-version`, `-V`, repeated actions (`-s -z -s`),
//! `-v`/`-vv` and the `objcache:` prefix of parse errors. Entries come from
//! real gcc compiles through `objcache gcc`.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A source that compiles with a warning, so its result has a stderr.
const SOURCE: &str = "int unused_result(void) { int x; return 1; }\n\
                      int main(void) { return unused_result() - 1; }\n";

/// `objcache gcc -c main.c -o main.o -MD -Wall` in `<tmp>/w`; returns the
/// directory.
fn compile(env: &TestEnv, extra_env: &[(&str, &str)]) -> PathBuf {
    let dir = env.dir("w");
    fs::write(dir.join("main.c"), SOURCE).unwrap();
    let mut cmd = env.objcache_in(
        &dir,
        ["gcc", "-c", "main.c", "-o", "main.o", "-MD", "-Wall"],
    );
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    run_ok(&mut cmd);
    dir
}

fn manager(env: &TestEnv, args: &[&str]) -> Out {
    let mut cmd = env.objcache();
    cmd.args(args);
    run(&mut cmd)
}

#[track_caller]
fn manager_ok(env: &TestEnv, args: &[&str]) -> String {
    let out = manager(env, args);
    assert!(out.success(), "objcache {args:?}: {}", out.dump());
    out.stdout_str()
}

/// Entry files of the cache whose name ends with `suffix` (`R`, `M`, `W`).
fn entries_ending(env: &TestEnv, suffix: char) -> Vec<PathBuf> {
    cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.len() == 65 && name.ends_with(suffix)
        })
        .collect()
}

/// (files, KiB) of the entry files, as objcache accounts them.
fn walk_totals(env: &TestEnv) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let files = cache_entry_files(&env.cache_dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap().len() == 65)
        .collect::<Vec<_>>();
    let kib = files
        .iter()
        .map(|p| fs::metadata(p).unwrap().blocks() * 512 / 1024)
        .sum();
    (counted_files(&files), kib)
}

/// The number after `label` on the line that starts with it.
fn value_after(text: &str, label: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{text}"));
    line.trim_start()[label.len()..].trim().to_string()
}

#[test]
fn print_stats_format_json_has_the_tab_fields() {
    require("gcc");
    let env = TestEnv::new();
    compile(&env, &[]);
    let tab = manager_ok(&env, &["--print-stats"]);
    assert_eq!(tab, manager_ok(&env, &["--print-stats", "--format", "tab"]));
    let json = manager_ok(&env, &["--format=json", "--print-stats"]);
    let body = json
        .trim()
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a JSON object:\n{json}"));
    let from_json: Vec<String> = body
        .split(',')
        .map(|field| {
            let (name, value) = field.split_once(':').expect("name: value");
            let name = name
                .trim()
                .strip_prefix('"')
                .unwrap()
                .strip_suffix('"')
                .unwrap();
            let value: u64 = value.trim().parse().expect("an integer");
            format!("{name}\t{value}")
        })
        .collect();
    let from_tab: Vec<String> = tab.lines().map(str::to_string).collect();
    assert_eq!(from_json, from_tab);
    assert_eq!(get(&parse_print_stats(&tab), "cache_miss"), 1);
}

#[test]
fn repeated_actions_run_each_time() {
    require("gcc");
    let env = TestEnv::new();
    compile(&env, &[]);
    let out = manager_ok(&env, &["-s", "-z", "-s"]);
    let blocks: Vec<&str> = out.split("Statistics zeroed\n").collect();
    assert_eq!(blocks.len(), 2, "{out}");
    for block in &blocks {
        assert_eq!(block.matches("Cacheable calls:").count(), 1, "{out}");
    }
    assert!(value_after(blocks[0], "Misses:").starts_with("1 "), "{out}");
    assert!(value_after(blocks[1], "Misses:").starts_with("0 "), "{out}");
    // Bundled short flags too.
    let out = manager_ok(&env, &["-ss"]);
    assert_eq!(out.matches("Cacheable calls:").count(), 2, "{out}");
}

#[test]
fn verbose_levels_of_show_stats() {
    require("gcc");
    let env = TestEnv::new();
    compile(&env, &[]);
    let plain = manager_ok(&env, &["-s"]);
    let v = manager_ok(&env, &["-s", "-v"]);
    let vv = manager_ok(&env, &["-svv"]);
    assert_eq!(vv, manager_ok(&env, &["--verbose", "-s", "--verbose"]));
    // A miss wrote entries: a non-zero counter -v shows and -s does not.
    assert!(!plain.contains("Local storage writes"), "{plain}");
    assert!(v.contains("Local storage writes"), "{v}");
    // Zero counters only with -vv.
    for zero in ["Autoconf compile/link", "Remote storage:", "Errors:"] {
        assert!(!v.contains(zero), "-v shows {zero}:\n{v}");
        assert!(vv.contains(zero), "-vv lacks {zero}:\n{vv}");
    }
    assert!(plain.lines().count() < v.lines().count());
    assert!(v.lines().count() < vv.lines().count());
}

#[test]
fn version_names_the_ccache_version_and_print_version_is_bare() {
    let env = TestEnv::new();
    let v = manager_ok(&env, &["-V"]);
    // In ccache's words and in full (X.Y.Z): ccache's test suite looks
    // for `ccache version …` on a line of its own, and the tools that read
    // a version want three parts.
    assert!(v.lines().any(|l| l == "ccache version 4.13.6"), "{v}");
    assert!(v
        .lines()
        .next()
        .unwrap()
        .contains(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        manager_ok(&env, &["--print-version"]),
        format!("{}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn parse_errors_start_with_objcache() {
    let env = TestEnv::new();
    for args in [
        &["--no-such-option"][..],
        &["--print-stats", "--format", "xml"],
        &["-X"],
        &["-X", "fast"],
        &["-X", "1000"],
        &["--inspect"],
        &["-s", "--hash-file"],
    ] {
        let out = manager(&env, args);
        assert_eq!(out.code(), Some(1), "{args:?}: {}", out.dump());
        let first = out.stderr_str().lines().next().unwrap_or("").to_string();
        assert!(first.starts_with("objcache: "), "{args:?}: {}", out.dump());
    }
}

#[test]
fn show_compression_and_recompress_keep_entries_and_accounting() {
    require("gcc");
    let env = TestEnv::new();
    let dir = compile(&env, &[]);
    let object = fs::read(dir.join("main.o")).unwrap();
    let check_accounting = |what: &str| {
        let stats = env.stats();
        let (files, kib) = walk_totals(&env);
        assert_eq!(get(&stats, "files_in_cache"), files, "{what}");
        assert_eq!(get(&stats, "cache_size_kibibyte"), kib, "{what}");
    };
    check_accounting("after the miss");
    let x = manager_ok(&env, &["-x"]);
    for label in [
        "Total data:",
        "Compressed data:",
        "Original size:",
        "Compression ratio:",
        "Incompressible data:",
    ] {
        assert!(x.contains(label), "{label}:\n{x}");
    }
    // Compressed by default: nothing incompressible yet.
    assert!(
        value_after(&x, "Incompressible data:").starts_with("0"),
        "{x}"
    );
    assert!(
        !value_after(&x, "Compressed data:").starts_with("0 "),
        "{x}"
    );

    let mtimes = |env: &TestEnv| -> Vec<(PathBuf, std::time::SystemTime)> {
        let mut v: Vec<_> = cache_entry_files(&env.cache_dir)
            .into_iter()
            .map(|p| {
                let m = fs::metadata(&p).unwrap().modified().unwrap();
                (p, m)
            })
            .collect();
        v.sort();
        v
    };
    let before = mtimes(&env);
    let out = manager_ok(&env, &["-X", "uncompressed"]);
    // A result, a manifest and the miss inputs.
    assert!(value_after(&out, "Recompressed entries:") == "3", "{out}");
    check_accounting("after -X uncompressed");
    assert_eq!(mtimes(&env), before, "-X must keep the entries' last use");
    let x = manager_ok(&env, &["--show-compression"]);
    assert!(value_after(&x, "Compressed data:").starts_with("0 "), "{x}");
    assert!(
        !value_after(&x, "Incompressible data:").starts_with("0 "),
        "{x}"
    );
    // Nothing left to do the second time.
    let out = manager_ok(&env, &["--recompress", "uncompressed"]);
    assert_eq!(value_after(&out, "Unchanged entries:"), "3", "{out}");

    // The uncompressed entries still hit, with the same object.
    let hit = |what: &str| {
        let hits = env.hits();
        fs::remove_file(dir.join("main.o")).unwrap();
        compile(&env, &[]);
        assert_eq!(env.hits(), hits + 1, "{what}");
        assert_eq!(fs::read(dir.join("main.o")).unwrap(), object, "{what}");
    };
    hit("uncompressed");
    manager_ok(&env, &["-X", "19"]);
    check_accounting("after -X 19");
    let x = manager_ok(&env, &["-x"]);
    assert!(
        value_after(&x, "Incompressible data:").starts_with("0"),
        "{x}"
    );
    hit("recompressed at 19");
    let out = manager_ok(&env, &["-X", "3", "--recompress-threads", "2"]);
    assert_eq!(value_after(&out, "Recompressed entries:"), "3", "{out}");
    check_accounting("after -X 3 on two threads");
    hit("recompressed at 3 on two threads");
    let bad = manager(&env, &["-X", "3", "--recompress-threads", "0"]);
    assert_eq!(bad.code(), Some(1), "{}", bad.dump());
    let check = manager_ok(&env, &["--check"]);
    assert!(check.contains("Removed bad entries: 0 files"), "{check}");
}

#[test]
fn hash_file_and_checksum_file_hash_the_content() {
    let env = TestEnv::new();
    let dir = env.dir("h");
    let content = b"some content\n".repeat(1000);
    let file = dir.join("f");
    fs::write(&file, &content).unwrap();
    let expected = format!("{}\n", blake3::hash(&content).to_hex());
    let path = file.to_str().unwrap();
    for option in ["--hash-file", "--checksum-file"] {
        assert_eq!(manager_ok(&env, &[option, path]), expected, "{option}");
        // `run` closes stdin; this one reads the file from it.
        let out = env
            .objcache()
            .args([option, "-"])
            .stdin(fs::File::open(&file).unwrap())
            .output()
            .unwrap();
        assert!(out.status.success(), "{option} -: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{option} -");
        let out = manager(&env, &[option, dir.join("missing").to_str().unwrap()]);
        assert_eq!(out.code(), Some(1), "{}", out.dump());
        assert!(
            out.stderr_str().starts_with("objcache: error: "),
            "{}",
            out.dump()
        );
    }
    // Two files, in command-line order.
    fs::write(dir.join("g"), b"other").unwrap();
    let both = manager_ok(&env, &["--hash-file", path, "--hash-file", "h/g"]);
    assert_eq!(
        both,
        format!("{expected}{}\n", blake3::hash(b"other").to_hex())
    );
}

#[test]
fn inspect_dumps_results_and_manifests() {
    require("gcc");
    let env = TestEnv::new();
    let dir = compile(&env, &[]);
    let object_len = fs::metadata(dir.join("main.o")).unwrap().len();
    let results = entries_ending(&env, 'R');
    let manifests = entries_ending(&env, 'M');
    assert_eq!((results.len(), manifests.len()), (1, 1));
    let result = manager_ok(&env, &["--inspect", results[0].to_str().unwrap()]);
    let key = &results[0].file_name().unwrap().to_string_lossy()[..64];
    assert_eq!(value_after(&result, "Type:"), "result", "{result}");
    assert_eq!(value_after(&result, "Key:"), key, "{result}");
    assert!(
        result.contains(&format!("object ({object_len} bytes)")),
        "{result}"
    );
    assert!(result.contains("dependency file"), "{result}");
    assert!(result.contains("stderr"), "{result}");
    let manifest = manager_ok(&env, &["--inspect", manifests[0].to_str().unwrap()]);
    assert_eq!(value_after(&manifest, "Type:"), "manifest", "{manifest}");
    assert!(
        manifest.contains(&format!("result key: {key}")),
        "{manifest}"
    );
    assert!(
        manifest.contains("stdc-predef.h") || manifest.contains("includes: 0"),
        "{manifest}"
    );
    // "Record" is direct mode's word for an include it checks.
    let inputs = entries_ending(&env, 'X');
    let inputs = manager_ok(&env, &["--inspect", inputs[0].to_str().unwrap()]);
    assert_eq!(value_after(&inputs, "Type:"), "miss inputs", "{inputs}");
    assert!(!result.contains("record") && !inputs.contains("record"));

    let junk = dir.join("junk");
    fs::write(
        &junk,
        b"not an entry at all, but long enough to have a header .....",
    )
    .unwrap();
    let out = manager(&env, &["--inspect", junk.to_str().unwrap()]);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr_str().starts_with("objcache: error: "),
        "{}",
        out.dump()
    );
}

fn extract_into(env: &TestEnv, entry: &Path, rel: &str) -> PathBuf {
    let into = env.dir(rel);
    let mut cmd = env.objcache_in(&into, ["--extract-result", entry.to_str().unwrap()]);
    run_ok(&mut cmd);
    into
}

#[test]
fn extract_result_writes_ccache_result_files() {
    require("gcc");
    let env = TestEnv::new();
    let dir = compile(&env, &[]);
    let results = entries_ending(&env, 'R');
    assert_eq!(results.len(), 1);
    let into = extract_into(&env, &results[0], "x");
    assert_eq!(
        read(&into.join("ccache-result.o")),
        read(&dir.join("main.o"))
    );
    assert_eq!(
        read(&into.join("ccache-result.d")),
        read(&dir.join("main.d"))
    );
    let stderr = String::from_utf8(read(&into.join("ccache-result.stderr"))).unwrap();
    assert!(stderr.contains("unused"), "{stderr}");

    // With hard_link the object is a raw file beside the entry.
    let env = TestEnv::new();
    let dir = compile(&env, &[("CCACHE_HARDLINK", "1")]);
    let results = entries_ending(&env, 'R');
    assert_eq!(entries_ending(&env, 'W').len(), 1);
    let into = extract_into(&env, &results[0], "x");
    assert_eq!(
        read(&into.join("ccache-result.o")),
        read(&dir.join("main.o"))
    );

    // A manifest is not a result.
    let manifest = &entries_ending(&env, 'M')[0];
    let out = manager(&env, &["--extract-result", manifest.to_str().unwrap()]);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr_str().starts_with("objcache: error: "),
        "{}",
        out.dump()
    );
}

/// Sets a file's access and modification times to `secs` after the epoch.
fn set_times(path: &Path, secs: u64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(fs::FileTimes::new().set_accessed(t).set_modified(t))
        .unwrap();
}

#[test]
fn trim_dir_removes_the_least_recently_used_remote_files() {
    use std::os::unix::fs::MetadataExt;
    require("gcc");
    let env = TestEnv::new();
    let remote = env.dir("remote");
    let url = format!("file:{}", remote.display());
    let dir = env.dir("w");
    for i in 0..4 {
        let name = format!("s{i}.c");
        let body: String = (0..2000)
            .map(|j| format!("int v{i}_{j} = {j};\n"))
            .collect();
        fs::write(dir.join(&name), body).unwrap();
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", &name, "-o", "s.o"]);
        cmd.env("CCACHE_REMOTE_STORAGE", &url);
        run_ok(&mut cmd);
    }
    let mut files = walk_files(&remote);
    files.retain(|p| p.file_name().unwrap() != "CACHEDIR.TAG");
    assert!(files.len() >= 4, "{files:?}");
    // Oldest first: the order given here.
    files.sort();
    for (i, f) in files.iter().enumerate() {
        set_times(f, 1_000_000 + i as u64 * 60);
    }
    let disk = |p: &Path| fs::metadata(p).unwrap().blocks() * 512;
    let total: u64 = files.iter().map(|f| disk(f)).sum();
    let oldest = disk(&files[0]);
    let keep = total - oldest;

    let out = manager(&env, &["--trim-dir", remote.to_str().unwrap()]);
    assert_eq!(out.code(), Some(1), "needs --trim-max-size: {}", out.dump());
    assert!(
        out.stderr_str().contains("--trim-max-size"),
        "{}",
        out.dump()
    );
    assert!(
        out.stderr_str().starts_with("objcache: error: "),
        "{}",
        out.dump()
    );

    let max = format!("{}Ki", keep / 1024);
    let report = manager_ok(
        &env,
        &[
            "--trim-max-size",
            &max,
            "--trim-method",
            "mtime",
            "--trim-dir",
            remote.to_str().unwrap(),
        ],
    );
    assert!(report.starts_with("Removed 1 of "), "{report}");
    assert!(!files[0].exists(), "{report}");
    assert!(files[1..].iter().all(|f| f.exists()), "{report}");

    // atime (the default) orders by last read: the newest-written file
    // read longest ago goes first.
    let last = files.last().unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(10);
    fs::File::options()
        .write(true)
        .open(last)
        .unwrap()
        .set_times(fs::FileTimes::new().set_accessed(t))
        .unwrap();
    let max = format!("{}Ki", (keep - disk(last)) / 1024);
    manager_ok(
        &env,
        &[
            "--trim-dir",
            remote.to_str().unwrap(),
            "--trim-max-size",
            &max,
        ],
    );
    assert!(!last.exists());
    assert!(files[1..files.len() - 1].iter().all(|f| f.exists()));
}

/// `--trim-recompress` rewrites a `file:` remote's entries (both layouts)
/// in place; they still serve hits with the same object.
#[test]
fn trim_recompress_rewrites_remote_entries() {
    require("gcc");
    for layout in ["subdirs", "flat"] {
        let env = TestEnv::new();
        let remote = env.dir("remote");
        let url = format!("file:{}|layout={layout}", remote.display());
        let dir = env.dir("w");
        let body: String = (0..3000).map(|j| format!("int v{j} = {j};\n")).collect();
        fs::write(dir.join("s.c"), body).unwrap();
        let call = |env: &TestEnv| {
            let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "s.c", "-o", "s.o"]);
            cmd.env("CCACHE_REMOTE_STORAGE", &url);
            run_ok(&mut cmd);
            fs::read(dir.join("s.o")).unwrap()
        };
        let object = call(&env);
        let entry_bytes = || -> u64 {
            let files = walk_files(&remote);
            let entries = files
                .iter()
                .filter(|p| p.file_name().unwrap() != "CACHEDIR.TAG");
            entries.map(|p| fs::metadata(p).unwrap().len()).sum()
        };
        let before = entry_bytes();
        let dir_arg = remote.to_str().unwrap();
        let args = [
            "--trim-dir",
            dir_arg,
            "--trim-recompress",
            "uncompressed",
            "--trim-recompress-threads",
            "2",
        ];
        let out = manager_ok(&env, &args);
        assert_eq!(
            value_after(&out, "Recompressed entries:"),
            "2",
            "{layout}: {out}"
        );
        assert!(
            entry_bytes() > before,
            "{layout}: uncompressed entries are larger"
        );
        let out = manager_ok(&env, &args);
        assert_eq!(
            value_after(&out, "Unchanged entries:"),
            "2",
            "{layout}: {out}"
        );
        // A fresh local cache: the hit comes from the rewritten remote entries.
        let other = TestEnv::new();
        assert_eq!(call(&other), object, "{layout}");
        assert_eq!(other.stat("remote_storage_read_hit"), 2, "{layout}");
        assert_eq!(other.hits(), 1, "{layout}");
    }
}

/// The log is written by hand in ccache's format (a `# file` line, then the
/// counters of that call), so the test does not depend on who writes it.
#[test]
fn show_and_print_log_stats_add_up_the_stats_log() {
    let env = TestEnv::new();
    let log = env.dir("logs").join("stats.log");
    fs::write(
        &log,
        "# /src/a.c\ncache_miss\n# /src/b.c\ndirect_cache_hit\n# /src/a.c\n\
         direct_cache_hit\n# /src/c.c\ncalled_for_link\n# /src/d.c\nsome_future_counter\n",
    )
    .unwrap();
    let with_log = |args: &[&str]| {
        let mut cmd = env.objcache();
        cmd.env("CCACHE_STATSLOG", &log).args(args);
        run(&mut cmd)
    };
    let out = with_log(&["--print-log-stats"]);
    assert!(out.success(), "{}", out.dump());
    let stats = parse_print_stats(&out.stdout_str());
    assert_eq!(get(&stats, "cache_miss"), 1);
    assert_eq!(get(&stats, "direct_cache_hit"), 2);
    assert_eq!(get(&stats, "called_for_link"), 1);
    let json = with_log(&["--print-log-stats", "--format", "json"]).stdout_str();
    assert!(json.contains("\"direct_cache_hit\": 2"), "{json}");

    let out = with_log(&["--show-log-stats"]);
    assert!(out.success(), "{}", out.dump());
    let text = out.stdout_str();
    assert!(
        value_after(&text, "Cacheable calls:").starts_with("3 / 4"),
        "{text}"
    );
    assert!(value_after(&text, "Hits:").starts_with("2 / 3"), "{text}");
    assert!(text.contains("Called for linking"), "{text}");

    // Without stats_log there is nothing to show.
    let out = manager(&env, &["--show-log-stats"]);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr_str().starts_with("objcache: error: "),
        "{}",
        out.dump()
    );
}

/// Compiles write the stats_log as ccache does: a `# SOURCE` line and the
/// counters of the call, which the log-stats options then add up. The
/// cache's own statistics are kept as well.
#[test]
fn compiles_append_their_counters_to_the_stats_log() {
    require("gcc");
    let env = TestEnv::new();
    let log = env.dir("logs").join("stats.log");
    let log_var = log.to_str().unwrap();
    compile(&env, &[("CCACHE_STATSLOG", log_var)]);
    compile(&env, &[("CCACHE_STATSLOG", log_var)]);
    let text = fs::read_to_string(&log).unwrap();
    let calls: Vec<&str> = text.split("# ").filter(|c| !c.is_empty()).collect();
    assert_eq!(calls.len(), 2, "{text}");
    assert!(
        calls[0].starts_with("main.c\n") && calls[0].contains("\ncache_miss\n"),
        "{text}"
    );
    assert!(calls[1].contains("\ndirect_cache_hit\n"), "{text}");
    assert!(!calls[1].contains("cache_miss"), "{text}");
    let mut cmd = env.objcache();
    cmd.env("CCACHE_STATSLOG", &log).arg("--print-log-stats");
    let stats = parse_print_stats(&run_ok(&mut cmd).stdout_str());
    assert_eq!(get(&stats, "cache_miss"), 1);
    assert_eq!(get(&stats, "direct_cache_hit"), 1);
    assert_eq!(env.stat("direct_cache_hit"), 1);
}
