//! Why did it miss? Each test reproduces one cause of a CI miss with the
//! real gcc and checks that the explanation (`--explain`, the log, and the
//! `miss_reason_*` counters) names it and the fix.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::*;

/// A checkout: `src/t.c` including `inc/foo.h`, and a `build/` directory.
fn checkout(root: &Path, source: &str) -> PathBuf {
    fs::create_dir_all(root.join("inc")).unwrap();
    fs::create_dir_all(root.join("src")).unwrap();
    fs::create_dir_all(root.join("build")).unwrap();
    fs::write(
        root.join("inc/foo.h"),
        "static inline int foo(void) { return 41; }\n",
    )
    .unwrap();
    fs::write(root.join("src/t.c"), source).unwrap();
    root.join("build")
}

const SOURCE: &str = "#include \"foo.h\"\nint main(void) { return foo(); }\n";

/// `--explain OUTPUT` from `cwd`: the explanation line.
fn explanation(env: &TestEnv, cwd: &Path, output: &str) -> String {
    let out = run_ok(&mut env.objcache_in(cwd, ["--explain", output]));
    out.stdout_str()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The `miss_reason_*` counters that are not zero, by name.
fn reasons(env: &TestEnv) -> Vec<(String, u64)> {
    let stats = env.stats();
    (&stats)
        .into_iter()
        .filter(|(name, v)| name.starts_with("miss_reason_") && **v > 0)
        .map(|(name, v)| (name.to_string(), *v))
        .collect()
}

/// Compiles `args` in `build` (gcc, through objcache), with `vars`; the
/// object must be the plain compiler's.
fn compile(env: &TestEnv, build: &Path, args: &[&str], vars: &[(&str, &str)]) {
    Compile::new(build, "gcc", args, "t.o")
        .envs(vars)
        .check(env);
}

#[test]
fn relocated_build_without_base_dir_names_the_absolute_paths() {
    let env = TestEnv::new();
    for ws in ["ws1", "ws2"] {
        let root = env.dir(ws);
        let build = checkout(&root, SOURCE);
        let inc = format!("-I{}/inc", root.display());
        let src = format!("{}/src/t.c", root.display());
        compile(
            &env,
            &build,
            &[inc.as_str(), "-c", src.as_str(), "-o", "t.o"],
            &[],
        );
    }
    let why = explanation(&env, &env.dir("ws2/build"), "t.o");
    let ws2 = env.dir("ws2");
    assert!(
        why.contains(&format!("argument -I{}/inc differs", ws2.display()))
            && why.contains(
                "absolute path in the command: they are absolute paths and base_dir is not set"
            ),
        "{why}"
    );
    assert_eq!(
        reasons(&env),
        [
            ("miss_reason_args".to_string(), 1),
            ("miss_reason_new_output".to_string(), 1)
        ]
    );
}

/// A CMake build of a real project (libgit2, bench/explain.py) moved to
/// another checkout without base_dir: every `-I`, the source and each
/// header has another absolute path. The explanation used to name every
/// one of them, with the same advice after each path, and pushed the
/// working directory behind "and 232 more"; it names the first path, counts
/// the others and gives the advice once.
#[test]
fn a_moved_checkout_names_its_paths_once_with_a_count() {
    let env = TestEnv::new();
    for ws in ["ws1", "ws2"] {
        let root = env.dir(ws);
        let build = checkout(
            &root,
            "#include \"foo.h\"\n#include \"bar.h\"\nint main(void) { return foo() + bar(); }\n",
        );
        fs::create_dir_all(root.join("inc2")).unwrap();
        fs::write(
            root.join("inc2/bar.h"),
            "static inline int bar(void) { return 1; }\n",
        )
        .unwrap();
        let (inc, inc2) = (
            format!("-I{}/inc", root.display()),
            format!("-I{}/inc2", root.display()),
        );
        let src = format!("{}/src/t.c", root.display());
        compile(
            &env,
            &build,
            &[
                "-g",
                inc.as_str(),
                inc2.as_str(),
                "-c",
                src.as_str(),
                "-o",
                "t.o",
            ],
            &[],
        );
    }
    let (ws1, ws2) = (
        env.dir("ws1").display().to_string(),
        env.dir("ws2").display().to_string(),
    );
    let why = explanation(&env, &env.dir("ws2/build"), "t.o");
    assert_eq!(
        why,
        format!(
            "argument -I{ws2}/inc differs (was -I{ws1}/inc), and so do 2 more absolute paths \
             in the command: they are absolute paths and base_dir is not set (set base_dir to \
             a directory above your checkouts); cwd differs ({ws2}/build vs {ws1}/build) and \
             the compile uses -g: set hash_dir = false or map it with \
             -fdebug-prefix-map=OLD=NEW; header {ws2}/inc/foo.h is included from another \
             path (was {ws1}/inc/foo.h), and so is 1 more"
        )
    );
    assert_eq!(reasons(&env)[0], ("miss_reason_args".to_string(), 1));
}

#[test]
fn hash_dir_with_debug_info_names_the_working_directory() {
    let env = TestEnv::new();
    let base = env.root().display().to_string();
    let vars = [("CCACHE_BASEDIR", base.as_str())];
    for ws in ["ws1", "ws2"] {
        let build = checkout(&env.dir(ws), SOURCE);
        compile(
            &env,
            &build,
            &["-g", "-I../inc", "-c", "../src/t.c", "-o", "t.o"],
            &vars,
        );
    }
    let why = explanation(&env, &env.dir("ws2/build"), "t.o");
    assert!(
        why.starts_with("cwd differs (")
            && why.contains("the compile uses -g: set hash_dir = false"),
        "{why}"
    );
    assert_eq!(reasons(&env)[0], ("miss_reason_cwd".to_string(), 1));
    // The fix works: with hash_dir = false a third checkout hits.
    let vars = [("CCACHE_BASEDIR", base.as_str()), ("CCACHE_NOHASHDIR", "1")];
    let build = checkout(&env.dir("ws3"), SOURCE);
    compile(
        &env,
        &build,
        &["-g", "-I../inc", "-c", "../src/t.c", "-o", "t.o"],
        &vars,
    );
    let build = checkout(&env.dir("ws4"), SOURCE);
    // The object names ws3's directory: what hash_dir = false accepts.
    let args = ["-g", "-I../inc", "-c", "../src/t.c", "-o", "t.o"];
    Compile::new(&build, "gcc", &args, "t.o")
        .envs(&vars)
        .cached(&env);
    assert_eq!(env.hits(), 1);
}

#[test]
fn an_include_dir_outside_base_dir_is_named() {
    let env = TestEnv::new();
    let base = env.dir("ws").display().to_string();
    let vars = [("CCACHE_BASEDIR", base.as_str())];
    let build = checkout(&env.dir("ws"), SOURCE);
    for job in ["job-123", "job-124"] {
        // A generated include directory outside the checkout, per CI job.
        let gen = env.dir(&format!("{job}/include"));
        fs::write(
            gen.join("foo.h"),
            "static inline int foo(void) { return 41; }\n",
        )
        .unwrap();
        let inc = format!("-I{}", gen.display());
        compile(
            &env,
            &build,
            &[inc.as_str(), "-c", "../src/t.c", "-o", "t.o"],
            &vars,
        );
    }
    let why = explanation(&env, &build, "t.o");
    assert!(
        why.contains("job-124/include differs")
            && why.contains("it is an absolute path outside base_dir"),
        "{why}"
    );
    assert_eq!(reasons(&env)[0], ("miss_reason_args".to_string(), 1));
}

#[test]
fn a_touched_compiler_is_named_with_compiler_check_mtime() {
    let env = TestEnv::new();
    let bin = env.dir("bin");
    // A wrapper script, as CI images install compilers: its mtime is what
    // compiler_check = mtime sees.
    let gcc = which("gcc").unwrap();
    let script = format!("#!/bin/sh\nexec {} \"$@\"\n", gcc.display());
    fs::write(bin.join("gcc"), script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(bin.join("gcc"), fs::Permissions::from_mode(0o755)).unwrap();
    let build = checkout(&env.dir("ws"), SOURCE);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let vars = [
        ("CCACHE_COMPILERCHECK", "mtime"),
        ("CCACHE_PATH", path.as_str()),
    ];
    compile(
        &env,
        &build,
        &["-I../inc", "-c", "../src/t.c", "-o", "t.o"],
        &vars,
    );
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(bin.join("gcc"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    compile(
        &env,
        &build,
        &["-I../inc", "-c", "../src/t.c", "-o", "t.o"],
        &vars,
    );
    let why = explanation(&env, &build, "t.o");
    assert_eq!(
        why,
        "compiler mtime or size changed (compiler_check = mtime): consider compiler_check = content"
    );
    assert_eq!(reasons(&env)[0], ("miss_reason_compiler".to_string(), 1));
    // The suggested fix: with compiler_check = content, a touched compiler
    // whose content is the same hits.
    let vars = [
        ("CCACHE_COMPILERCHECK", "content"),
        ("CCACHE_PATH", path.as_str()),
    ];
    let args = ["-I../inc", "-c", "../src/t.c", "-o", "t.o"];
    compile(&env, &build, &args, &vars);
    let even_later = later + std::time::Duration::from_secs(60);
    let script = fs::File::options()
        .write(true)
        .open(bin.join("gcc"))
        .unwrap();
    script.set_modified(even_later).unwrap();
    let hits = env.hits();
    compile(&env, &build, &args, &vars);
    assert_eq!(env.hits(), hits + 1);
}

#[test]
fn a_changed_header_source_or_define_is_named() {
    let env = TestEnv::new();
    let root = env.dir("ws");
    let build = checkout(&root, SOURCE);
    let source = format!("{SOURCE}long built = BUILD_TIME;\n");
    fs::write(root.join("src/t.c"), &source).unwrap();
    let args = |define: &'static str| ["-I../inc", define, "-c", "../src/t.c", "-o", "t.o"];
    compile(&env, &build, &args("-DBUILD_TIME=1"), &[]);
    fs::write(
        root.join("inc/foo.h"),
        "static inline int foo(void) { return 42; }\n",
    )
    .unwrap();
    compile(&env, &build, &args("-DBUILD_TIME=1"), &[]);
    assert_eq!(
        explanation(&env, &build, "t.o"),
        "header ../inc/foo.h changed"
    );
    fs::write(root.join("src/t.c"), format!("{source}int x;\n")).unwrap();
    compile(&env, &build, &args("-DBUILD_TIME=1"), &[]);
    assert_eq!(explanation(&env, &build, "t.o"), "source changed");
    compile(&env, &build, &args("-DBUILD_TIME=2"), &[]);
    assert_eq!(
        explanation(&env, &build, "t.o"),
        "argument -DBUILD_TIME=2 differs (was -DBUILD_TIME=1)"
    );
    let counted: Vec<String> = reasons(&env).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        counted,
        [
            "miss_reason_args",
            "miss_reason_include",
            "miss_reason_new_output",
            "miss_reason_source"
        ]
    );
    // A hit explains nothing: the last miss's explanation stays, no reason counts.
    compile(&env, &build, &args("-DBUILD_TIME=2"), &[]);
    assert_eq!(env.hits(), 1);
    assert_eq!(reasons(&env).iter().map(|(_, v)| v).sum::<u64>(), 4);
    assert_eq!(explanation(&env, &build, "t.o"), "hit");
    let out = run_ok(&mut env.objcache_in(&build, ["--explain", "t.o"])).stdout_str();
    assert!(
        out.contains("its last miss") && out.contains("-DBUILD_TIME=2 differs"),
        "{out}"
    );
}

#[test]
fn a_time_macro_is_named() {
    let env = TestEnv::new();
    let source = "const char *built = __DATE__;\nint main(void) { return 0; }\n";
    let build = checkout(&env.dir("ws"), source);
    for epoch in ["0", "1000000000"] {
        // Another day, as a build on another day sees it.
        let call = Compile::new(&build, "gcc", &["-c", "../src/t.c", "-o", "t.o"], "t.o");
        call.env("SOURCE_DATE_EPOCH", epoch).cached(&env);
    }
    let why = explanation(&env, &build, "t.o");
    assert!(why.starts_with("the source uses __DATE__"), "{why}");
    assert_eq!(
        reasons(&env),
        [
            ("miss_reason_new_output".to_string(), 1),
            ("miss_reason_time_macro".to_string(), 1)
        ]
    );
}

#[test]
fn file_macro_in_a_source_outside_base_dir_is_named() {
    let env = TestEnv::new();
    let base = env.dir("ws").display().to_string();
    let vars = [("CCACHE_BASEDIR", base.as_str())];
    let build = checkout(&env.dir("ws"), SOURCE);
    for job in ["gen-1", "gen-2"] {
        // A generated source outside the checkout that names itself.
        let gen = env.dir(job);
        fs::write(gen.join("t.c"), "const char *f = __FILE__;\n").unwrap();
        let src = format!("{}/t.c", gen.display());
        compile(&env, &build, &["-c", src.as_str(), "-o", "t.o"], &vars);
    }
    let why = explanation(&env, &build, "t.o");
    assert!(
        why.contains("gen-2/t.c differs") && why.contains("outside base_dir"),
        "{why}"
    );
    // Also listed among the latest misses, and in -s -v.
    let latest = run_ok(env.objcache().arg("--explain")).stdout_str();
    assert!(
        latest.lines().next().unwrap().contains("gen-2/t.c differs"),
        "{latest}"
    );
    let sv = run_ok(env.objcache().arg("-sv")).stdout_str();
    assert!(sv.contains("Arguments differ:"), "{sv}");
    let unknown = run(&mut env.objcache_in(&build, ["--explain", "other.o"]));
    assert_eq!(unknown.code(), Some(1));
    assert!(unknown
        .stderr_str()
        .contains("no miss of other.o on record"));
}

/// With base_dir, objcache compiles the source by a relative path; the
/// record (and so `--explain`) used to name that relative path, which says
/// nothing outside the build directory. It names the source as the user's
/// command did (CMake: absolute), or resolved in the working directory.
#[test]
fn the_record_names_the_source_as_the_command_did() {
    let env = TestEnv::new();
    let base = env.root().display().to_string();
    let vars = [("CCACHE_BASEDIR", base.as_str())];
    let build = checkout(&env.dir("ws"), SOURCE);
    let src = format!("{}/src/t.c", env.dir("ws").display());
    compile(
        &env,
        &build,
        &["-I../inc", "-c", src.as_str(), "-o", "t.o"],
        &vars,
    );
    let latest = run_ok(env.objcache().arg("--explain")).stdout_str();
    assert!(
        latest.contains(&format!("(from {src}): first compile")),
        "{latest}"
    );
    compile(
        &env,
        &build,
        &["-O1", "-I../inc", "-c", "../src/t.c", "-o", "t.o"],
        &vars,
    );
    let out = run_ok(&mut env.objcache_in(&build, ["--explain", "t.o"])).stdout_str();
    let rel = format!("{}/../src/t.c", build.display());
    assert!(out.contains(&format!("compiled from {rel} at")), "{out}");
}
