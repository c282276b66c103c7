//! Concurrency: many objcache processes sharing one cache directory. Every
//! object must be byte-identical to a plain compile and the statistics must
//! add up exactly (no lost counter updates).

use crate::common::*;
use std::fs;
use std::os::unix::process::CommandExt;
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

/// The kill storm: four workers compile an overlapping set of sources into
/// one small cache (cleanups run all the time) while a killer SIGKILLs or
/// SIGTERMs random objcache calls (each with its compiler), over outputs
/// that already exist.
/// Afterwards every output is the old object, the new one, absent, or
/// rejected by the linker; `--check` finds no bad entry; after a cleanup the
/// counters match the files; and stale temp files are reclaimed.
#[test]
fn kill_storm_leaves_no_wrong_object_and_a_sound_cache() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    require("gcc");
    let env = Arc::new(TestEnv::new());
    let dir = env.dir("storm");
    const SOURCES: usize = 12;
    for n in 0..SOURCES {
        // Two versions of each source, the same size, so a mix would not
        // show in the length.
        for v in 0..2 {
            let text = format!(
                "char table_{n}_{v}[200000] = {{ {v} }};\nint get_{n}(int i) {{ return table_{n}_{v}[i]; }}\n"
            );
            fs::write(dir.join(format!("s{n}_{v}.c")), text).unwrap();
        }
    }
    fs::create_dir_all(&env.cache_dir).unwrap();
    // Room for a few entries only: most stores trigger a cleanup.
    fs::write(env.cache_dir.join("ccache.conf"), "max_size = 1M\n").unwrap();
    // The objects each version compiles to, made by the plain compiler.
    let mut objects = Vec::new();
    for n in 0..SOURCES {
        let mut pair = Vec::new();
        for v in 0..2 {
            pair.push(plain_object(
                "gcc",
                &dir,
                [
                    "-c",
                    &format!("s{n}_{v}.c"),
                    "-o",
                    &format!("plain{n}_{v}.o"),
                ],
                &format!("plain{n}_{v}.o"),
            ));
        }
        objects.push(pair);
    }
    fs::write(dir.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    let main = plain("gcc", &dir, ["-c", "main.c", "-o", "main.o"]);
    assert!(main.success(), "{}", main.dump());
    let children: Arc<Mutex<Vec<u32>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let killer = {
        let (children, stop, killed) = (children.clone(), stop.clone(), killed.clone());
        std::thread::spawn(move || {
            let mut seed: u64 = 7;
            while !stop.load(Ordering::SeqCst) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                std::thread::sleep(std::time::Duration::from_micros(
                    5000 + (seed >> 40) % 30000,
                ));
                let pids = children.lock().unwrap().clone();
                if let Some(&pid) = pids.get((seed >> 20) as usize % pids.len().max(1)) {
                    let signal = if seed.is_multiple_of(4) {
                        libc::SIGTERM
                    } else {
                        libc::SIGKILL
                    };
                    // The whole process group, as when a build is killed: an
                    // objcache killed alone leaves its compiler writing the
                    // output, which then races the next call's write of it
                    // as two plain compilers writing one file would.
                    // SAFETY: signalling a group we made (it may be gone: ESRCH).
                    if unsafe { libc::kill(-(pid as i32), signal) } == 0 {
                        killed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        })
    };
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (env, dir, children) = (env.clone(), dir.clone(), children.clone());
            std::thread::spawn(move || {
                let mut seed: u64 = 1000 + w;
                for round in 0..30 {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let n = (seed >> 33) as usize % SOURCES;
                    let v = (round + w as usize) % 2;
                    let src = format!("s{n}_{v}.c");
                    let out = format!("w{w}_{n}.o");
                    let mut child = env
                        .objcache_in(&dir, ["gcc", "-c", src.as_str(), "-o", out.as_str()])
                        .process_group(0)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .spawn()
                        .unwrap();
                    children.lock().unwrap().push(child.id());
                    let _ = child.wait();
                    children.lock().unwrap().retain(|&p| p != child.id());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    killer.join().unwrap();
    assert!(
        killed.load(Ordering::SeqCst) > 10,
        "the killer hardly killed"
    );

    // Every output: one of the two objects of its source, absent, or rejected.
    let (mut whole, mut rejected) = (0, 0);
    for w in 0..4 {
        for (n, pair) in objects.iter().enumerate() {
            let out = format!("w{w}_{n}.o");
            let Ok(left) = fs::read(dir.join(&out)) else {
                continue;
            };
            if pair.contains(&left) {
                whole += 1;
                continue;
            }
            // An empty file is what a compiler killed right after opening its
            // output leaves too; ld takes it as an empty input, so the link
            // below would not tell.
            if left.is_empty() {
                rejected += 1;
                continue;
            }
            let link = plain("gcc", &dir, ["main.o", out.as_str(), "-o", "prog"]);
            assert!(!link.success(), "{out} is neither object of s{n} and links");
            rejected += 1;
        }
    }
    eprintln!(
        "kill storm: {} kills, {whole} whole outputs, {rejected} rejected",
        killed.load(Ordering::SeqCst)
    );
    // No entry fails verification.
    let check = run_ok(env.objcache().arg("--check"));
    assert!(
        check.stdout_str().contains("Removed bad entries: 0 files"),
        "{}",
        check.stdout_str()
    );
    // Temp files a killed store left are reclaimed once stale.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    for f in walk_files(&env.cache_dir) {
        if f.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".objcache-tmp."))
        {
            fs::File::options()
                .write(true)
                .open(&f)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
    }
    run_ok(env.objcache().arg("-c"));
    let temps = walk_files(&env.cache_dir)
        .into_iter()
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".objcache-tmp."))
        })
        .count();
    assert_eq!(temps, 0, "stale temp files left after a cleanup");
    // The counters match the files.
    let entries = counted_files(&cache_entry_files(&env.cache_dir));
    assert_eq!(env.stat("files_in_cache"), entries, "{:?}", env.stats());
}
