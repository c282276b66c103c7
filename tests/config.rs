//! Configuration: `-o`/`-k`/`-p`, config file locations and precedence
//! (system config < cache dir config < environment), size parsing,
//! `-M`/`-F`, and the behaviour switches CCACHE_DISABLE, CCACHE_READONLY,
//! CCACHE_RECACHE, CCACHE_NOCOMPRESS, plus `-z` and `-C`.

use crate::common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

fn ok(env: &TestEnv, a: &[&str]) -> Out {
    let mut cmd = env.objcache();
    cmd.args(a);
    run_ok(&mut cmd)
}

fn get_config(env: &TestEnv, key: &str, extra_env: &[(&str, String)]) -> String {
    let mut cmd = env.objcache();
    cmd.args(["-k", key]);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    run_ok(&mut cmd).stdout_str().trim().to_string()
}

#[track_caller]
fn assert_size(text: &str, bytes: u64) {
    let got = parse_size(text).unwrap_or_else(|| panic!("cannot parse size {text:?}"));
    let tol = bytes / 100; // printed sizes may be rounded to one decimal
    assert!(
        got.abs_diff(bytes) <= tol,
        "size {text:?} = {got} bytes, expected {bytes} bytes"
    );
}

/// `key = value` pairs of a config file.
fn conf_pairs(p: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// `gcc -c src/util.c -o util.o` in `proj`.
fn util_c(proj: &Path) -> Compile {
    let a = ["-c", "src/util.c", "-o", "util.o", "-I", "include"];
    Compile::new(proj, "gcc", &a, "util.o")
}

/// Compile util.c through objcache with extra env vars, check the object.
fn compile(env: &TestEnv, proj: &Path, expected: &[u8], extra_env: &[(&str, &str)]) -> Out {
    util_c(proj).envs(extra_env).check_obj(env, expected).out
}

fn setup() -> (TestEnv, std::path::PathBuf, Vec<u8>) {
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    let expected = util_c(&proj).plain().obj;
    (env, proj, expected)
}

#[test]
fn set_config_writes_cache_dir_conf_and_get_config_reads_it() {
    let env = TestEnv::new();
    ok(&env, &["-o", "max_size=10G"]);
    let conf = env.cache_dir.join("ccache.conf");
    assert!(conf.exists(), "-o must write {}", conf.display());
    let pairs = conf_pairs(&conf);
    let v = pairs
        .get("max_size")
        .unwrap_or_else(|| panic!("max_size not in {pairs:?}"));
    assert_size(v, 10_000_000_000);
    assert_size(&get_config(&env, "max_size", &[]), 10_000_000_000);
    // Long option forms.
    ok(&env, &["--set-config", "max_files=4321"]);
    assert_eq!(get_config(&env, "max_files", &[]), "4321");
    let mut cmd = env.objcache();
    cmd.args(["--get-config", "max_files"]);
    assert_eq!(run_ok(&mut cmd).stdout_str().trim(), "4321");
    // Both settings are in the file now.
    let pairs = conf_pairs(&conf);
    assert_eq!(pairs.get("max_files").map(String::as_str), Some("4321"));
    assert!(pairs.contains_key("max_size"));
}

#[test]
fn set_config_preserves_other_lines() {
    let env = TestEnv::new();
    fs::create_dir_all(&env.cache_dir).unwrap();
    let conf = env.cache_dir.join("ccache.conf");
    fs::write(&conf, "# my precious comment\nmax_files = 5\n").unwrap();
    ok(&env, &["-o", "max_size=3G"]);
    let text = fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("# my precious comment"),
        "comment lost:\n{text}"
    );
    let pairs = conf_pairs(&conf);
    assert_eq!(
        pairs.get("max_files").map(String::as_str),
        Some("5"),
        "{text}"
    );
    assert_size(
        pairs.get("max_size").expect("max_size written"),
        3_000_000_000,
    );
    // Overwriting a key keeps a single entry.
    ok(&env, &["-o", "max_files=6"]);
    let text = fs::read_to_string(&conf).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.trim_start().starts_with("max_files"))
            .count(),
        1,
        "{text}"
    );
    assert_eq!(get_config(&env, "max_files", &[]), "6");
}

#[test]
fn set_config_rejects_unknown_key() {
    let env = TestEnv::new();
    let mut cmd = env.objcache();
    cmd.args(["-o", "no_such_key_xyz=1"]);
    let out = run(&mut cmd);
    assert!(
        !out.success(),
        "unknown key must be rejected:\n{}",
        out.dump()
    );
}

#[test]
fn get_config_unknown_key_fails() {
    let env = TestEnv::new();
    let mut cmd = env.objcache();
    cmd.args(["-k", "no_such_key_xyz"]);
    let out = run(&mut cmd);
    assert!(
        !out.success(),
        "unknown key must be an error:\n{}",
        out.dump()
    );
}

fn show_config_line(env: &TestEnv, key: &str, extra_env: &[(&str, String)]) -> String {
    let mut cmd = env.objcache();
    cmd.arg("-p");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = run_ok(&mut cmd).stdout_str();
    out.lines()
        .find(|l| {
            l.split_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with(&format!("{key} =")))
                .unwrap_or(false)
        })
        .unwrap_or_else(|| panic!("-p has no `(origin) {key} = ...` line:\n{out}"))
        .to_string()
}

#[test]
fn show_config_lists_keys_with_origin() {
    let env = TestEnv::new();
    ok(&env, &["-o", "max_size=10G"]);
    let conf = env.cache_dir.join("ccache.conf").display().to_string();
    let line = show_config_line(&env, "max_size", &[]);
    assert!(
        line.starts_with(&format!("({conf})")),
        "origin of max_size must be the config file: {line}"
    );
    assert_size(line.split_once('=').unwrap().1, 10_000_000_000);

    let line = show_config_line(&env, "max_size", &[("CCACHE_MAXSIZE", "3G".into())]);
    assert!(line.starts_with("(environment)"), "{line}");
    assert_size(line.split_once('=').unwrap().1, 3_000_000_000);

    let line = show_config_line(&env, "cache_dir", &[]);
    assert!(
        line.starts_with("(environment)"),
        "CCACHE_DIR is set: {line}"
    );
    assert!(
        line.contains(&env.cache_dir.display().to_string()),
        "{line}"
    );

    let line = show_config_line(&env, "hash_dir", &[]);
    assert!(line.starts_with("(default)"), "{line}");
    let line = show_config_line(&env, "base_dir", &[]);
    assert!(line.starts_with("(default)"), "{line}");
    // Long form.
    let mut cmd = env.objcache();
    cmd.arg("--show-config");
    assert!(run_ok(&mut cmd).stdout_str().contains("max_size"));
}

#[test]
fn environment_overrides_config_file() {
    let env = TestEnv::new();
    ok(&env, &["-o", "max_size=10G"]);
    ok(&env, &["-o", "max_files=10"]);
    assert_size(
        &get_config(&env, "max_size", &[("CCACHE_MAXSIZE", "4G".into())]),
        4_000_000_000,
    );
    assert_eq!(
        get_config(&env, "max_files", &[("CCACHE_MAXFILES", "20".into())]),
        "20"
    );
    // Without the variable the file value is back.
    assert_size(&get_config(&env, "max_size", &[]), 10_000_000_000);
    // The environment also drives the reported limits.
    let mut cmd = env.objcache();
    cmd.arg("--print-stats").env("CCACHE_MAXSIZE", "4G");
    let st = parse_print_stats(&run_ok(&mut cmd).stdout_str());
    assert_eq!(get(&st, "max_cache_size_kibibyte"), 3_906_250, "{st:?}");
}

#[test]
fn configpath_points_to_another_file() {
    let env = TestEnv::new();
    let other = env.root().join("other.conf");
    fs::write(&other, "max_size = 7G\n").unwrap();
    let e = [("CCACHE_CONFIGPATH", other.display().to_string())];
    assert_size(&get_config(&env, "max_size", &e), 7_000_000_000);

    let mut cmd = env.objcache();
    cmd.args(["-o", "max_files=77"])
        .env("CCACHE_CONFIGPATH", &other);
    run_ok(&mut cmd);
    assert_eq!(
        conf_pairs(&other).get("max_files").map(String::as_str),
        Some("77"),
        "-o must write to CCACHE_CONFIGPATH"
    );
    assert!(
        !env.cache_dir.join("ccache.conf").exists()
            || !conf_pairs(&env.cache_dir.join("ccache.conf")).contains_key("max_files"),
        "-o must not write to the cache dir config when CCACHE_CONFIGPATH is set"
    );
    assert_eq!(get_config(&env, "max_files", &e), "77");
    let line = show_config_line(&env, "max_files", &e);
    assert!(
        line.starts_with(&format!("({})", other.display())),
        "{line}"
    );
    // --config-path does the same as the variable.
    let mut cmd = env.objcache();
    cmd.arg("--config-path")
        .arg(&other)
        .args(["-k", "max_files"]);
    assert_eq!(run_ok(&mut cmd).stdout_str().trim(), "77");
}

#[test]
fn system_config_is_lowest_priority() {
    let env = TestEnv::new();
    let sys = env.root().join("system.conf");
    fs::write(&sys, "max_files = 123\nmax_size = 9G\n").unwrap();
    let e = vec![("OBJCACHE_SYSTEM_CONFIG", sys.display().to_string())];
    assert_eq!(get_config(&env, "max_files", &e), "123");
    fs::create_dir_all(&env.cache_dir).unwrap();
    fs::write(env.cache_dir.join("ccache.conf"), "max_files = 456\n").unwrap();
    assert_eq!(get_config(&env, "max_files", &e), "456");
    assert_size(&get_config(&env, "max_size", &e), 9_000_000_000);
    let mut e2 = e.clone();
    e2.push(("CCACHE_MAXFILES", "789".into()));
    assert_eq!(get_config(&env, "max_files", &e2), "789");
}

#[test]
fn max_size_suffixes() {
    let env = TestEnv::new();
    let cases: &[(&str, u64)] = &[
        ("2G", 2_000_000_000),
        ("5G", 5_000_000_000),
        ("500M", 500_000_000),
        ("512M", 512_000_000),
        ("1.5GiB", 1_610_612_736),
        ("1.5Gi", 1_610_612_736),
        ("512Mi", 536_870_912),
        ("100k", 100_000),
        // A bare number is in GiB, as in ccache 4.13.
        ("3", 3 << 30),
        ("0", 0),
    ];
    for (s, bytes) in cases {
        ok(&env, &["-M", s]);
        let st = env.stats();
        let kib = get(&st, "max_cache_size_kibibyte");
        let exact = bytes / 1024;
        let acceptable = if bytes % 1024 == 0 {
            vec![exact]
        } else {
            vec![exact, exact + 1]
        };
        assert!(
            acceptable.contains(&kib),
            "-M {s}: max_cache_size_kibibyte = {kib}, expected {exact}"
        );
        // (small sizes may be printed as plain byte counts; only check
        // the round trip for sizes >= 1 MB)
        if *bytes >= 1_000_000 {
            assert_size(&get_config(&env, "max_size", &[]), *bytes);
        } else if *bytes == 0 {
            assert_eq!(parse_size(&get_config(&env, "max_size", &[])), Some(0));
        }
    }
    // Long form and -o form.
    ok(&env, &["--max-size", "2G"]);
    assert_eq!(env.stat("max_cache_size_kibibyte"), 1_953_125);
    ok(&env, &["-o", "max_size=1.5GiB"]);
    assert_eq!(env.stat("max_cache_size_kibibyte"), 1_572_864);
}

#[test]
fn max_size_two_gigabytes_is_decimal() {
    let env = TestEnv::new();
    ok(&env, &["-M", "2G"]);
    assert_eq!(env.stat("max_cache_size_kibibyte"), 1_953_125);
}

#[test]
fn invalid_max_size_is_rejected() {
    let env = TestEnv::new();
    ok(&env, &["-M", "2G"]);
    for bad in ["banana", "12X", "-5G", ""] {
        let mut cmd = env.objcache();
        cmd.args(["-M", bad]);
        let out = run(&mut cmd);
        assert!(!out.success(), "-M {bad:?} must fail:\n{}", out.dump());
    }
    assert_eq!(
        env.stat("max_cache_size_kibibyte"),
        1_953_125,
        "limit unchanged"
    );
}

#[test]
fn max_files() {
    let env = TestEnv::new();
    ok(&env, &["-F", "1000"]);
    assert_eq!(env.stat("max_files_in_cache"), 1000);
    assert_eq!(get_config(&env, "max_files", &[]), "1000");
    ok(&env, &["--max-files", "0"]);
    assert_eq!(env.stat("max_files_in_cache"), 0);
    ok(&env, &["-F", "25"]);
    assert_eq!(env.stat("max_files_in_cache"), 25);
}

#[test]
fn disable_runs_compiler_and_changes_nothing() {
    let (env, proj, expected) = setup();
    let before = env.stats();
    compile(&env, &proj, &expected, &[("CCACHE_DISABLE", "1")]);
    compile(&env, &proj, &expected, &[("CCACHE_DISABLE", "1")]);
    // Empty value also means true for boolean environment variables.
    compile(&env, &proj, &expected, &[("CCACHE_DISABLE", "")]);
    let after = env.stats();
    assert_eq!(before, after, "CCACHE_DISABLE must not touch any counter");
    assert!(cache_entry_files(&env.cache_dir).is_empty());
    // Enabled again: a miss.
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.misses(), 1);
}

#[test]
fn disable_in_config_file() {
    let (env, proj, expected) = setup();
    ok(&env, &["-o", "disable=true"]);
    compile(&env, &proj, &expected, &[]);
    compile(&env, &proj, &expected, &[]);
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss") + hits(&s), 0, "{s:?}");
    // CCACHE_NODISABLE overrides the file.
    compile(&env, &proj, &expected, &[("CCACHE_NODISABLE", "1")]);
    assert_eq!(env.misses(), 1);
}

#[test]
fn readonly_on_empty_cache_misses_and_stores_nothing() {
    let (env, proj, expected) = setup();
    compile(&env, &proj, &expected, &[("CCACHE_READONLY", "1")]);
    assert_eq!(env.misses(), 1);
    compile(&env, &proj, &expected, &[("CCACHE_READONLY", "1")]);
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 2, "nothing was stored: {s:?}");
    assert_eq!(hits(&s), 0, "{s:?}");
    assert!(cache_entry_files(&env.cache_dir).is_empty());
    // Normal mode: still a miss (nothing stored), then a hit.
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.misses(), 3);
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.hits(), 1);
    // Read-only can use existing entries.
    compile(&env, &proj, &expected, &[("CCACHE_READONLY", "1")]);
    assert_eq!(env.hits(), 2);
}

#[test]
fn recache_compiles_and_overwrites() {
    let (env, proj, expected) = setup();
    compile(&env, &proj, &expected, &[]);
    compile(&env, &proj, &expected, &[("CCACHE_RECACHE", "1")]);
    let s = env.stats();
    assert_eq!(get(&s, "recache"), 1, "{s:?}");
    assert_eq!(hits(&s), 0, "recache never hits: {s:?}");
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.hits(), 1);
    // Recache also works on an empty cache.
    let (env2, proj2, expected2) = setup();
    compile(&env2, &proj2, &expected2, &[("CCACHE_RECACHE", "1")]);
    compile(&env2, &proj2, &expected2, &[]);
    let s = env2.stats();
    assert_eq!(get(&s, "recache"), 1, "{s:?}");
    assert_eq!(hits(&s), 1, "the recached result was stored: {s:?}");
}

#[test]
fn zero_stats() {
    let (env, proj, expected) = setup();
    compile(&env, &proj, &expected, &[]);
    compile(&env, &proj, &expected, &[]);
    let before = env.stats();
    assert_eq!(get(&before, "stats_zeroed_timestamp"), 0, "{before:?}");
    ok(&env, &["-z"]);
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 0, "{s:?}");
    assert_eq!(hits(&s), 0, "{s:?}");
    let z = get(&s, "stats_zeroed_timestamp");
    let now = now_secs();
    assert!(
        z > 0 && z.abs_diff(now) < 3600,
        "stats_zeroed_timestamp {z} vs now {now}"
    );
    assert_eq!(
        get(&s, "files_in_cache"),
        get(&before, "files_in_cache"),
        "-z does not forget the cache contents"
    );
    // The cache is still populated: a hit.
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.hits(), 1);
    assert_eq!(env.misses(), 0);
    ok(&env, &["--zero-stats"]);
    assert_eq!(env.hits(), 0);
}

#[test]
fn clear_cache() {
    let (env, proj, expected) = setup();
    compile(&env, &proj, &expected, &[]);
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.hits(), 1);
    ok(&env, &["-o", "max_files=999"]);
    ok(&env, &["-C"]);
    let s = env.stats();
    assert_eq!(get(&s, "files_in_cache"), 0, "{s:?}");
    assert_eq!(get(&s, "cache_size_kibibyte"), 0, "{s:?}");
    assert_eq!(get(&s, "cache_miss"), 1, "-C keeps the counters: {s:?}");
    assert!(
        cache_entry_files(&env.cache_dir).is_empty(),
        "{:?}",
        cache_entry_files(&env.cache_dir)
    );
    assert_eq!(
        get_config(&env, "max_files", &[]),
        "999",
        "-C keeps the configuration"
    );
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.misses(), 2, "after -C the next compile misses");
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.hits(), 2);
    ok(&env, &["--clear"]);
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.misses(), 3);
}

#[test]
fn nocompress_still_hits_correctly() {
    let (env, proj, expected) = setup();
    compile(&env, &proj, &expected, &[("CCACHE_NOCOMPRESS", "1")]);
    compile(&env, &proj, &expected, &[("CCACHE_NOCOMPRESS", "1")]);
    assert_eq!(env.hits(), 1);
    assert_eq!(env.misses(), 1);
    // Entries written uncompressed are readable with compression on.
    compile(&env, &proj, &expected, &[]);
    assert_eq!(env.hits(), 2);
    // And the reverse.
    let (env2, proj2, expected2) = setup();
    compile(&env2, &proj2, &expected2, &[]);
    compile(&env2, &proj2, &expected2, &[("CCACHE_NOCOMPRESS", "1")]);
    assert_eq!(env2.hits(), 1);
}

#[test]
fn compression_level_setting_still_hits() {
    let (env, proj, expected) = setup();
    compile(&env, &proj, &expected, &[("CCACHE_COMPRESSLEVEL", "19")]);
    compile(&env, &proj, &expected, &[("CCACHE_COMPRESSLEVEL", "19")]);
    assert_eq!(env.hits(), 1);
}

#[test]
fn unknown_ccache_variable_is_ignored() {
    let (env, proj, expected) = setup();
    let out = compile(&env, &proj, &expected, &[("CCACHE_FOO_BAR", "1")]);
    assert!(out.stderr.is_empty(), "{}", out.dump());
    let out = compile(&env, &proj, &expected, &[("CCACHE_FOO_BAR", "1")]);
    assert!(out.stderr.is_empty(), "{}", out.dump());
    assert_eq!(env.misses(), 1);
    assert_eq!(env.hits(), 1);
}

#[test]
fn dir_from_config_path_env_is_respected_via_cache_dir_key() {
    // cache_dir set in the CCACHE_CONFIGPATH file is used when CCACHE_DIR is
    // not set.
    let (env, proj, expected) = setup();
    let other_cache = env.root().join("other_cache");
    let conf = env.root().join("cfg.conf");
    fs::write(&conf, format!("cache_dir = {}\n", other_cache.display())).unwrap();
    let a = args(&["-c", "src/util.c", "-o", "util.o", "-I", "include"]);
    for _ in 0..2 {
        rm(&proj.join("util.o"));
        let mut cmd = env.objcache_in(&proj, std::iter::once("gcc".to_string()).chain(a.clone()));
        cmd.env_remove("CCACHE_DIR").env("CCACHE_CONFIGPATH", &conf);
        let out = run(&mut cmd);
        assert!(out.success(), "{}", out.dump());
        assert_bytes_eq(&read(&proj.join("util.o")), &expected, "util.o");
    }
    assert!(other_cache.exists(), "cache_dir from config must be used");
    let mut cmd = env.objcache();
    cmd.arg("--print-stats").env("CCACHE_DIR", &other_cache);
    let st = parse_print_stats(&run_ok(&mut cmd).stdout_str());
    assert_eq!(get(&st, "cache_miss"), 1, "{st:?}");
    assert_eq!(hits(&st), 1, "{st:?}");
}

/// As in ccache: a key this version does not know (a newer ccache's, or
/// ccache's old `secondary_storage`) does not stop caching or the manager.
#[test]
fn unknown_keys_in_config_files_are_ignored() {
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.cache_dir).unwrap();
    std::fs::write(
        env.cache_dir.join("ccache.conf"),
        "some_future_key = 1\nmax_files = 7\n",
    )
    .unwrap();
    let out = run(env.objcache().args(["-k", "max_files"]));
    assert!(out.success(), "{}", out.dump());
    assert_eq!(out.stdout_str().trim(), "7");
    let proj = env.copy_fixture("proj", "proj");
    let c = run(&mut env.objcache_in(
        &proj,
        ["gcc", "-c", "src/util.c", "-I", "include", "-o", "u.o"],
    ));
    assert!(c.success());
    assert!(
        c.stderr.is_empty(),
        "no warning for an unknown key: {}",
        c.dump()
    );
    assert_eq!(env.misses(), 1);
}

/// As in ccache: options given twice all apply, in order.
#[test]
fn repeated_manager_options_all_apply() {
    let env = TestEnv::new();
    let out = run(env.objcache().args([
        "-o",
        "max_files=5",
        "-o",
        "compression=false",
        "-M",
        "1G",
        "-M",
        "2G",
    ]));
    assert!(out.success(), "{}", out.dump());
    let k = |key: &str| {
        run(env.objcache().args(["-k", key]))
            .stdout_str()
            .trim()
            .to_string()
    };
    assert_eq!(k("max_files"), "5");
    assert_eq!(k("compression"), "false");
    assert_eq!(k("max_size"), "2.0G");
}

/// Sizes are shown as ccache shows them: normalised in `-k` and `-p`, in
/// words in the `-M` message; the config file keeps what was written.
#[test]
fn sizes_are_shown_like_ccache() {
    let env = TestEnv::new();
    let k = |v: &str| {
        run_ok(
            env.objcache()
                .env("CCACHE_MAXSIZE", v)
                .args(["-k", "max_size"]),
        )
        .stdout_str()
        .trim()
        .to_string()
    };
    assert_eq!(k("3000M"), "3.0G");
    assert_eq!(k("1500K"), "1.5M");
    assert_eq!(k("500K"), "500000");
    let p = run_ok(env.objcache().env("CCACHE_MAXSIZE", "500M").arg("-p")).stdout_str();
    assert!(p.contains("(environment) max_size = 500.0M"), "{p}");
    let m = run_ok(env.objcache().args(["-M", "500M"])).stdout_str();
    assert_eq!(m.trim(), "Set cache size limit to 500.0 MB");
    let conf = fs::read_to_string(env.cache_dir.join("ccache.conf")).unwrap();
    assert!(conf.contains("max_size = 500M"), "{conf}");
}
