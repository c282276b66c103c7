//! What a CI job checks its cache with: `--check-hit-rate MIN` at the end
//! of a build, and `--print-stats --format openmetrics` read by a real
//! Prometheus node_exporter (textfile collector).

use std::fs;

use crate::common::node_exporter::NodeExporter;
use crate::common::*;

/// Two sources compiled once (two misses) in a fresh cache.
fn two_misses() -> (TestEnv, Vec<Compile>) {
    let env = TestEnv::new();
    let dir = env.dir("p");
    let units: Vec<Compile> = ["a", "b"]
        .iter()
        .map(|n| {
            fs::write(
                dir.join(format!("{n}.c")),
                format!("int {n}(void) {{ return 1; }}\n"),
            )
            .unwrap();
            let src = format!("{n}.c");
            let obj = format!("{n}.o");
            Compile::new(&dir, "gcc", &["-c", src.as_str()], &obj)
        })
        .collect();
    for u in &units {
        u.check(&env);
    }
    (env, units)
}

fn check_rate(env: &TestEnv, min: &str) -> Out {
    run(env.objcache().arg(format!("--check-hit-rate={min}")))
}

#[test]
fn check_hit_rate_fails_below_the_minimum_and_passes_at_it() {
    let (env, units) = two_misses();
    let out = check_rate(&env, "50");
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert_eq!(
        out.stderr_str().lines().next().unwrap_or_default(),
        "objcache: error: hit rate 0.0% (0 hits of 2 cacheable calls) is below 50%; \
         `objcache --explain` says why calls missed",
        "{}",
        out.dump()
    );
    // A zero minimum always passes once something was compiled.
    assert!(check_rate(&env, "0").success());
    units[0].check(&env);
    let out = check_rate(&env, "33.3%");
    assert!(out.success(), "1 of 3 is 33.3%: {}", out.dump());
    assert_eq!(
        out.stdout_str().trim(),
        "hit rate 33.3% (1 hits of 3 cacheable calls), at least 33.3%"
    );
    assert_eq!(check_rate(&env, "34").code(), Some(1));
    // Uncacheable calls (a link) do not count either way.
    let dir = env.dir("p");
    run_ok(&mut env.objcache_in(&dir, ["gcc", "a.o", "b.o", "-shared", "-o", "lib.so"]));
    assert!(check_rate(&env, "33").success());
}

#[test]
fn check_hit_rate_refuses_bad_input_and_an_unused_cache() {
    let (env, _) = two_misses();
    for bad in ["", "abc", "101", "-1"] {
        let out = check_rate(&env, bad);
        assert_eq!(out.code(), Some(1), "{bad:?}: {}", out.dump());
        assert!(
            out.stderr_str().contains("invalid percentage"),
            "{}",
            out.dump()
        );
    }
    // After -z, nothing compiled through objcache: the job's setup is
    // broken, which a 0% or 100% would both hide.
    let out = run(env.objcache().args(["-z", "--check-hit-rate", "0"]));
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr_str()
            .contains("no cacheable compile since the counters were zeroed"),
        "{}",
        out.dump()
    );
}

/// The value of the sample `name` (labels included) in a scrape.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape.lines().find_map(|l| {
        let (n, v) = l.rsplit_once(' ')?;
        (n == name).then(|| v.parse().ok())?
    })
}

#[test]
fn openmetrics_output_is_read_by_node_exporter() {
    let (env, units) = two_misses();
    units[0].check(&env);
    let exporter = NodeExporter::start();
    let text = run_ok(
        env.objcache()
            .args(["--print-stats", "--format", "openmetrics"]),
    )
    .stdout_str();
    assert!(text.ends_with("# EOF\n"), "{text}");
    fs::write(exporter.dir.path().join("objcache.prom"), &text).unwrap();
    let scrape = exporter.scrape();
    assert_eq!(
        sample(&scrape, "node_textfile_scrape_error"),
        Some(0.0),
        "{scrape}"
    );
    for (name, want) in [
        ("objcache_cache_miss_total", 2.0),
        ("objcache_direct_cache_hit_total", 1.0),
        ("objcache_files_in_cache", env.stat("files_in_cache") as f64),
        (
            "objcache_cache_size_bytes",
            (env.stat("cache_size_kibibyte") * 1024) as f64,
        ),
        ("objcache_cache_size_limit_bytes", (5u64 << 30) as f64),
        // Two results and two manifests, all just used (and two miss
        // inputs, which count in the size only).
        ("objcache_namespace_files{namespace=\"\"}", 4.0),
        ("objcache_last_use_files{last_use=\"<1h\"}", 4.0),
        ("objcache_miss_inputs_in_cache", 2.0),
    ] {
        assert_eq!(sample(&scrape, name), Some(want), "{name}:\n{scrape}");
    }
    let ratio = sample(&scrape, "objcache_hit_ratio").unwrap();
    assert!((ratio - 1.0 / 3.0).abs() < 1e-6, "{ratio}");
    // Typed as counters and gauges, not "untyped" (which is what a name
    // the format does not accept for its type turns into).
    assert!(
        scrape.contains("# TYPE objcache_cache_miss_total counter"),
        "{scrape}"
    );
    assert!(
        scrape.contains("# TYPE objcache_hit_ratio gauge"),
        "{scrape}"
    );
    assert!(!scrape.contains("untyped"), "{scrape}");
}
