//! Concurrency: many objcache processes sharing one cache directory. Every
//! object must be byte-identical to a plain compile and the statistics must
//! add up exactly (no lost counter updates).

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

struct Job {
    compiler: String,
    args: Vec<String>,
    output: String,
    expected: Vec<u8>,
}

fn write_distinct_sources(dir: &Path, n: usize) {
    for i in 0..n {
        fs::write(
            dir.join(format!("f{i}.c")),
            format!(
                "#include \"util.h\"\nint func_{i}(int x) {{ return util_add(x, {i}) * {}; }}\nconst char *name_{i} = \"file {i}\";\n",
                i + 3
            ),
        )
        .unwrap();
    }
}

/// Run all jobs at once (released together by a barrier), then check each
/// object.
fn run_parallel(env: &Arc<TestEnv>, cwd: &Path, jobs: &Arc<Vec<Job>>) {
    for j in jobs.iter() {
        rm(&cwd.join(&j.output));
    }
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let mut handles = Vec::new();
    for idx in 0..jobs.len() {
        let env = Arc::clone(env);
        let jobs = Arc::clone(jobs);
        let barrier = Arc::clone(&barrier);
        let cwd: PathBuf = cwd.to_path_buf();
        handles.push(std::thread::spawn(move || {
            let j = &jobs[idx];
            let mut cmd = env.objcache_in(
                &cwd,
                std::iter::once(j.compiler.clone()).chain(j.args.clone()),
            );
            barrier.wait();
            let desc = format!("{cmd:?}");
            let out = run(&mut cmd);
            assert!(out.success(), "{desc}\n{}", out.dump());
            assert!(
                out.stderr.is_empty(),
                "unexpected stderr from {desc}:\n{}",
                out.stderr_str()
            );
        }));
    }
    let mut failures = Vec::new();
    for h in handles {
        if let Err(e) = h.join() {
            failures.push(
                e.downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "panic".into()),
            );
        }
    }
    assert!(
        failures.is_empty(),
        "parallel compiles failed:\n{}",
        failures.join("\n")
    );
    for j in jobs.iter() {
        assert_bytes_eq(&read(&cwd.join(&j.output)), &j.expected, &j.output);
    }
}

fn same_file_jobs(proj: &Path, compiler: &str, n: usize) -> Vec<Job> {
    let a = args(&["-c", "src/main.c", "-o", "same_ref.o", "-I", "include"]);
    let expected = plain_object(compiler, proj, &a, "same_ref.o");
    (0..n)
        .map(|i| {
            let out = format!("same{i}.o");
            Job {
                compiler: compiler.to_string(),
                args: args(&["-c", "src/main.c", "-o", &out, "-I", "include"]),
                output: out,
                expected: expected.clone(),
            }
        })
        .collect()
}

fn different_file_jobs(proj: &Path, compiler: &str, n: usize) -> Vec<Job> {
    write_distinct_sources(&proj.join("src"), n);
    (0..n)
        .map(|i| {
            let out = format!("diff{i}.o");
            let a = args(&["-c", &format!("src/f{i}.c"), "-o", &out, "-I", "include"]);
            let expected = plain_object(compiler, proj, &a, &out);
            Job {
                compiler: compiler.to_string(),
                args: a,
                output: out,
                expected,
            }
        })
        .collect()
}

#[test]
fn eight_parallel_compiles_of_the_same_file() {
    require("gcc");
    let env = Arc::new(TestEnv::new());
    let proj = env.copy_fixture("proj", "proj");
    let jobs = Arc::new(same_file_jobs(&proj, "gcc", 8));
    run_parallel(&env, &proj, &jobs);
    let s = env.stats();
    assert_eq!(hits(&s) + get(&s, "cache_miss"), 8, "round 1: {s:?}");
    assert!(get(&s, "cache_miss") >= 1, "{s:?}");
    let misses1 = get(&s, "cache_miss");
    run_parallel(&env, &proj, &jobs);
    let s = env.stats();
    assert_eq!(hits(&s) + get(&s, "cache_miss"), 16, "round 2: {s:?}");
    assert_eq!(
        get(&s, "cache_miss"),
        misses1,
        "round 2 must be all hits: {s:?}"
    );
}

#[test]
fn eight_parallel_compiles_of_different_files() {
    require("gcc");
    let env = Arc::new(TestEnv::new());
    let proj = env.copy_fixture("proj", "proj");
    let jobs = Arc::new(different_file_jobs(&proj, "gcc", 8));
    run_parallel(&env, &proj, &jobs);
    let s = env.stats();
    assert_eq!(get(&s, "cache_miss"), 8, "round 1: all different: {s:?}");
    assert_eq!(hits(&s), 0, "{s:?}");
    run_parallel(&env, &proj, &jobs);
    let s = env.stats();
    assert_eq!(hits(&s), 8, "round 2 must be all hits: {s:?}");
    assert_eq!(get(&s, "cache_miss"), 8, "{s:?}");
}

#[test]
fn sixteen_parallel_mixed_compiles_twice() {
    require("gcc");
    require("clang");
    let env = Arc::new(TestEnv::new());
    let proj = env.copy_fixture("proj", "proj");
    let mut all = same_file_jobs(&proj, "gcc", 8);
    all.extend(different_file_jobs(&proj, "clang", 8));
    let jobs = Arc::new(all);

    run_parallel(&env, &proj, &jobs);
    let s = env.stats();
    assert_eq!(hits(&s) + get(&s, "cache_miss"), 16, "round 1: {s:?}");
    assert!(
        get(&s, "cache_miss") >= 9,
        "8 distinct files + at least one for the shared file must miss: {s:?}"
    );
    let misses1 = get(&s, "cache_miss");
    for k in [
        "compile_failed",
        "internal_error",
        "recache",
        "called_for_link",
    ] {
        assert_eq!(get(&s, k), 0, "{k}: {s:?}");
    }

    run_parallel(&env, &proj, &jobs);
    let s = env.stats();
    assert_eq!(hits(&s) + get(&s, "cache_miss"), 32, "round 2: {s:?}");
    assert_eq!(
        get(&s, "cache_miss"),
        misses1,
        "round 2 must be all hits: {s:?}"
    );
    assert_eq!(hits(&s), 32 - misses1, "{s:?}");
}

#[test]
fn parallel_stats_counting_is_exact_under_load() {
    // 4 rounds x 8 processes of the same file: counts must add up to 32.
    require("gcc");
    let env = Arc::new(TestEnv::new());
    let proj = env.copy_fixture("proj", "proj");
    let jobs = Arc::new(same_file_jobs(&proj, "gcc", 8));
    for round in 1..=4u64 {
        run_parallel(&env, &proj, &jobs);
        let s = env.stats();
        assert_eq!(
            hits(&s) + get(&s, "cache_miss"),
            8 * round,
            "round {round}: {s:?}"
        );
    }
}
