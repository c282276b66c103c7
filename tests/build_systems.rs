//! Every build system, with the settings of a CI job whose checkout moves:
//! base_dir covering both checkouts, hash_dir off, the cache outside the
//! trees. fixtures/buildsys (eight C units, a build file for each system)
//! is built in checkout `a`, then in `checkout_b`: there every compile is a
//! hit, and the objects are those a plain build (no cache) writes in
//! `checkout_b`. The systems: a hand-written Makefile with `make -j4`, the
//! masquerade directory, CMake (Ninja and Unix Makefiles, launcher), Meson
//! (`CC="objcache gcc"`, and objcache installed as `ccache`, which Meson
//! finds and puts in front of the compiler itself), Autotools (configure's
//! tests counted as ccache counts them) and Rust's `cc` crate building
//! zstd's C library for zstd-sys (a crate of objcache's own dependency
//! tree, so that it builds offline).

use crate::common::*;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The translation units of fixtures/buildsys.
const UNITS: u64 = 8;

/// What the program the fixture builds prints.
const OUTPUT: &str = "calc: 35\n";

/// Variables of the calling environment that would change what a build
/// system runs.
const BUILD_VARS: &[&str] = &[
    "CC",
    "CXX",
    "CFLAGS",
    "CXXFLAGS",
    "CPPFLAGS",
    "LDFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CMAKE_GENERATOR",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTFLAGS",
    "CC_KNOWN_WRAPPER_CUSTOM",
];

/// `program` in `cwd` with the CI settings and the test's cache.
fn tool(env: &TestEnv, program: &str, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    clean_env(&mut cmd);
    for var in BUILD_VARS {
        cmd.env_remove(var);
    }
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("CCACHE_BASEDIR", env.root().join("ws"))
        .env("CCACHE_NOHASHDIR", "1")
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .current_dir(cwd);
    cmd
}

/// `objcache gcc`, as `CC` names it.
fn cached_cc() -> String {
    format!("{} gcc", objcache_bin().display())
}

/// The compiler for a build: through objcache or plain.
fn cc(cached: bool) -> String {
    if cached {
        cached_cc()
    } else {
        "gcc".to_string()
    }
}

/// A copy of `src` at `dst`, stamps and modes kept (an Autotools tree
/// whose stamps were reordered would regenerate itself).
fn clone_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst.parent().unwrap()).unwrap();
    run_ok(Command::new("cp").arg("-a").arg(src).arg(dst));
}

/// The objects of the fixture's units under `dir` (not configure's or
/// CMake's compiler probes), by path relative to `dir`.
fn objects(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walk_files(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .map(|p| (p.strip_prefix(dir).unwrap().display().to_string(), p))
        .filter(|(rel, _)| !rel.contains("CompilerId") && !rel.contains("conftest"))
        .map(|(rel, p)| (rel, read(&p)))
        .collect()
}

#[track_caller]
fn assert_same_objects(got: &BTreeMap<String, Vec<u8>>, plain: &BTreeMap<String, Vec<u8>>) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        plain.keys().collect::<Vec<_>>(),
        "the cached build writes the objects a plain build writes"
    );
    for (rel, bytes) in got {
        assert_bytes_eq(bytes, &plain[rel], &format!("{rel}, cached vs plain"));
    }
}

/// Builds a copy of `src` with `build(checkout, cached)` in checkout `a`
/// and in `checkout_b` (counters zeroed between), then a plain build in a
/// fresh `checkout_b`, whose objects the cached one's must equal. Returns
/// the counters of the two cached builds.
fn two_checkouts(env: &TestEnv, src: &Path, build: &dyn Fn(&Path, bool)) -> (Stats, Stats) {
    let a = env.root().join("ws/a/calc");
    let b = env.root().join("ws/checkout_b/calc");
    clone_tree(src, &a);
    build(&a, true);
    let first = env.stats();
    run_ok(env.objcache().arg("-z"));
    clone_tree(src, &b);
    build(&b, true);
    let second = env.stats();
    let cached = objects(&b);
    assert_eq!(cached.len() as u64, UNITS, "{:?}", cached.keys());
    fs::remove_dir_all(&b).unwrap();
    clone_tree(src, &b);
    build(&b, false);
    assert_same_objects(&cached, &objects(&b));
    (first, second)
}

/// The first checkout's build misses every unit, the second's hits them.
#[track_caller]
fn all_hits(first: &Stats, second: &Stats) {
    assert_eq!(
        (get(first, "cache_miss"), hits(first)),
        (UNITS, 0),
        "{first:?}"
    );
    assert_eq!(
        (get(second, "cache_miss"), hits(second)),
        (0, UNITS),
        "the second checkout's build must be all hits: {second:?}"
    );
}

fn run_calc(program: &Path) {
    let out = run_ok(&mut Command::new(program)).stdout_str();
    assert_eq!(out, OUTPUT, "{}", program.display());
}

/// `make -f plain.mk -j4` with `CC="objcache gcc"`.
#[test]
fn plain_makefile_parallel_make() {
    require("make");
    require("gcc");
    let env = TestEnv::new();
    let src = fixtures_dir().join("buildsys");
    let (first, second) = two_checkouts(&env, &src, &|dir, cached| {
        let mut make = tool(&env, "make", dir);
        run_ok(
            make.args(["-f", "plain.mk", "-j4"])
                .arg(format!("CC={}", cc(cached))),
        );
        run_calc(&dir.join("calc"));
    });
    all_hits(&first, &second);
}

/// `objcache --install-symlinks DIR`, then `PATH=DIR:$PATH make`: make's
/// `cc` is objcache's link.
#[test]
fn masquerade_directory_with_make() {
    require("make");
    require("cc");
    let env = TestEnv::new();
    let links = env.dir("links");
    run_ok(env.objcache().arg("--install-symlinks").arg(&links));
    assert!(links.join("cc").is_symlink(), "--install-symlinks links cc");
    let path = std::env::var("PATH").unwrap_or_default();
    let src = fixtures_dir().join("buildsys");
    let (first, second) = two_checkouts(&env, &src, &|dir, cached| {
        let mut make = tool(&env, "make", dir);
        if cached {
            make.env("PATH", format!("{}:{path}", links.display()));
        }
        run_ok(make.args(["-f", "plain.mk", "-j4"]));
        run_calc(&dir.join("calc"));
    });
    all_hits(&first, &second);
}

/// CMake with `generator`, `CMAKE_C_COMPILER_LAUNCHER=objcache`: CMake
/// names sources and include directories by absolute path.
fn cmake(generator: &str, build_tool: &str) {
    for t in ["cmake", build_tool, "gcc"] {
        require(t);
    }
    let env = TestEnv::new();
    let src = fixtures_dir().join("buildsys");
    let (first, second) = two_checkouts(&env, &src, &|dir, cached| {
        let build = dir.join("build");
        let mut configure = tool(&env, "cmake", dir);
        configure.arg("-S").arg(dir).arg("-B").arg(&build).args([
            "-G",
            generator,
            "-DCMAKE_C_COMPILER=gcc",
        ]);
        if cached {
            configure.arg(format!(
                "-DCMAKE_C_COMPILER_LAUNCHER={}",
                objcache_bin().display()
            ));
        }
        run_ok(&mut configure);
        run_ok(
            tool(&env, "cmake", dir)
                .arg("--build")
                .arg(&build)
                .args(["-j", "4"]),
        );
        run_calc(&build.join("calc"));
    });
    all_hits(&first, &second);
}

#[test]
fn cmake_ninja_launcher() {
    cmake("Ninja", "ninja");
}

#[test]
fn cmake_unix_makefiles_launcher() {
    cmake("Unix Makefiles", "make");
}

/// `meson setup` (release: no debug information, which would name the
/// build directory) and `meson compile` in `dir`, with `path` as PATH.
fn meson_build(env: &TestEnv, dir: &Path, cc: Option<&str>, path: Option<&str>) {
    let mut setup = tool(env, "meson", dir);
    setup.args(["setup", "build", "--buildtype=release"]);
    let mut compile = tool(env, "meson", dir);
    compile.args(["compile", "-C", "build"]);
    for cmd in [&mut setup, &mut compile] {
        if let Some(cc) = cc {
            cmd.env("CC", cc);
        }
        if let Some(path) = path {
            cmd.env("PATH", path);
        }
    }
    run_ok(&mut setup);
    run_ok(&mut compile);
    run_calc(&dir.join("build/calc"));
}

/// `CC="objcache gcc" meson setup`: Meson keeps the wrapper as the first
/// word of the compiler and finds no ccache of its own.
#[test]
fn meson_with_cc_wrapper() {
    require("meson");
    require("gcc");
    let env = TestEnv::new();
    let src = fixtures_dir().join("buildsys");
    let (first, second) = two_checkouts(&env, &src, &|dir, cached| {
        meson_build(&env, dir, Some(&cc(cached)), None);
    });
    all_hits(&first, &second);
}

/// objcache installed as `ccache` first in PATH (before the machine's own
/// ccache, if any): Meson runs `ccache --version`, and when it succeeds
/// compiles with `ccache cc`, which objcache serves as ccache would.
#[test]
fn meson_finds_objcache_installed_as_ccache() {
    require("meson");
    require("cc");
    let env = TestEnv::new();
    let bin = env.dir("bin");
    symlink(objcache_bin(), bin.join("ccache")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Meson would prefer an sccache to any ccache.
    let mut sccache = tool(&env, "sh", env.root());
    sccache
        .env("PATH", &path)
        .args(["-c", "command -v sccache"]);
    assert!(!run(&mut sccache).success(), "an sccache in PATH");
    let src = fixtures_dir().join("buildsys");
    let (first, second) = two_checkouts(&env, &src, &|dir, cached| {
        if cached {
            meson_build(&env, dir, None, Some(&path));
            let ninja = fs::read_to_string(dir.join("build/build.ninja")).unwrap();
            assert!(
                ninja.contains("command = ccache cc "),
                "Meson compiles with `ccache cc`:\n{ninja}"
            );
        } else {
            meson_build(&env, dir, Some("cc"), None);
        }
    });
    all_hits(&first, &second);
}

/// The Autotools counters of a cached `./configure && make` (in ccache's
/// names): configure's compiles are cached, its links are `autoconf_test`,
/// the program's link is `called_for_link`.
const AUTOCONF_COUNTERS: [&str; 2] = ["autoconf_test", "called_for_link"];

fn autotools_build(env: &TestEnv, dir: &Path, cc: &str, cache_dir: Option<&Path>) {
    let mut configure = tool(env, "./configure", dir);
    let mut make = tool(env, "make", dir);
    for cmd in [&mut configure, &mut make] {
        if let Some(cache_dir) = cache_dir {
            cmd.env("CCACHE_DIR", cache_dir);
        }
    }
    // No -g: debug information names the build directory.
    run_ok(configure.env("CC", cc).env("CFLAGS", "-O2"));
    run_ok(make.arg("-j4"));
    run_calc(&dir.join("calc"));
}

/// `CC="objcache gcc" ./configure && make`. configure writes each
/// conftest.c just before compiling it: a compile whose source changed in
/// the timestamp tick it started in is not stored (`modified_input_file`),
/// so those compiles are allowed to miss in checkout b, and nothing else.
#[test]
fn autotools_configure_and_make() {
    for t in ["autoreconf", "automake", "make", "gcc"] {
        require(t);
    }
    let env = TestEnv::new();
    let src = env.copy_fixture("buildsys", "generated");
    run_ok(tool(&env, "autoreconf", &src).arg("-fi"));
    let (first, second) = two_checkouts(&env, &src, &|dir, cached| {
        autotools_build(&env, dir, &cc(cached), None);
    });
    let unstored = get(&first, "modified_input_file");
    let compiles = get(&first, "cache_miss") + hits(&first) + unstored;
    assert!(
        compiles > UNITS,
        "configure's compiles are cached: {first:?}"
    );
    assert_eq!(
        hits(&second) + get(&second, "cache_miss") + get(&second, "modified_input_file"),
        compiles,
        "{second:?}"
    );
    assert!(
        hits(&second) >= compiles - unstored,
        "the second checkout hits all that the first stored: {second:?}"
    );
    assert!(get(&first, "autoconf_test") > 0, "{first:?}");
    assert_eq!(get(&first, "called_for_link"), 1, "{first:?}");
    for counter in AUTOCONF_COUNTERS {
        assert_eq!(get(&first, counter), get(&second, counter), "{counter}");
    }
    ccache_counts_autotools_the_same(&env, &src, &first);
}

/// The machine's real ccache, if it has one, on the same configure and
/// make: the same Autoconf links and links, and as many cached compiles.
fn ccache_counts_autotools_the_same(env: &TestEnv, src: &Path, ours: &Stats) {
    let Some(ccache) = real_ccache() else {
        eprintln!("no real ccache in PATH: objcache's Autotools counters not compared");
        return;
    };
    let dir = env.root().join("ws/with_ccache/calc");
    clone_tree(src, &dir);
    let cache = env.root().join("real-ccache");
    let cc = format!("{} gcc", ccache.display());
    autotools_build(env, &dir, &cc, Some(&cache));
    let mut print = tool(env, ccache.to_str().unwrap(), env.root());
    let theirs = parse_print_stats(
        &run_ok(print.env("CCACHE_DIR", &cache).arg("--print-stats")).stdout_str(),
    );
    for counter in AUTOCONF_COUNTERS {
        assert_eq!(
            get(ours, counter),
            get(&theirs, counter),
            "{counter}: {theirs:?}"
        );
    }
    let cached = |s: &Stats| {
        get(s, "cache_miss")
            + hits(s)
            + s.into_iter()
                .find(|(k, _)| *k == "modified_input_file")
                .map_or(0, |(_, v)| *v)
    };
    assert_eq!(
        cached(ours),
        cached(&theirs),
        "{ours:?}\nccache: {theirs:?}"
    );
}

/// A ccache in PATH that is not a link to objcache.
fn real_ccache() -> Option<PathBuf> {
    let me = fs::canonicalize(objcache_bin()).ok()?;
    which("ccache").filter(|p| fs::canonicalize(p).ok() != Some(me.clone()))
}

/// zstd-sys, of objcache's own dependency tree: its build script compiles
/// zstd's C library with the `cc` crate.
const ZSTD_SYS: &str = "2.1.3";

/// A crate depending on zstd-sys, built offline: the registry holds
/// zstd-sys and its build dependencies since objcache was built, and
/// objcache's Cargo.lock pins the same versions.
fn zstd_sys_project(env: &TestEnv, rel: &str) -> PathBuf {
    let dir = env.root().join(rel);
    write_file(
        &dir.join("Cargo.toml"),
        &format!(
            "[package]\nname = \"zstd-sys-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[dependencies]\nzstd-sys = {{ version = \"={ZSTD_SYS}\", \
             default-features = false, features = [\"std\"] }}\n\n[workspace]\n"
        ),
    );
    write_file(
        &dir.join("src/main.rs"),
        "fn main() {\n    println!(\"{}\", unsafe { zstd_sys::ZSTD_versionNumber() });\n}\n",
    );
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    fs::copy(lock, dir.join("Cargo.lock")).unwrap();
    dir
}

fn cargo(env: &TestEnv, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = tool(env, env!("CARGO"), dir);
    // cargo test sets these for the test binary; they are not the build's.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("CARGO_") && k != "CARGO_HOME" {
            cmd.env_remove(&*k);
        }
    }
    cmd.args(args).arg("--offline");
    cmd
}

/// The objects cc-rs left in zstd-sys's OUT_DIR.
fn zstd_objects(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let build = dir.join("target/debug/build");
    let out = fs::read_dir(&build)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("zstd-sys-")
        })
        .map(|p| p.join("out"))
        .find(|out| out.is_dir())
        .unwrap_or_else(|| panic!("no zstd-sys OUT_DIR under {}", build.display()));
    objects(&out)
}

/// `cargo build` of a crate depending on zstd-sys with
/// `CC="objcache gcc" CC_KNOWN_WRAPPER_CUSTOM=objcache` (how cc-rs is told
/// of a wrapper it does not know), in project a, then in a copy of it
/// (`cargo clean -p zstd-sys` there: the build script compiles again, its
/// build dependencies do not): all hits, the objects a plain build writes.
#[test]
fn cargo_cc_crate_builds_zstd_sys() {
    require("gcc");
    let env = TestEnv::new();
    let a = zstd_sys_project(&env, "ws/a/probe");
    let b = env.root().join("ws/checkout_b/probe");
    let long = Duration::from_secs(600);
    let build = |dir: &Path, cached: bool| {
        let mut cmd = cargo(&env, dir, &["build", "-q"]);
        if cached {
            cmd.env("CC", cached_cc())
                .env("CC_KNOWN_WRAPPER_CUSTOM", "objcache");
        } else {
            cmd.env("CC", "gcc");
        }
        let out = run_with_timeout(&mut cmd, long);
        assert!(
            out.success(),
            "cargo build in {}: {}",
            dir.display(),
            out.dump()
        );
    };
    build(&a, true);
    let first = env.stats();
    let units = get(&first, "cache_miss");
    assert!(
        units >= 20,
        "zstd's C sources compile through objcache: {first:?}"
    );
    assert_eq!(hits(&first), 0, "{first:?}");

    run_ok(env.objcache().arg("-z"));
    clone_tree(&a, &b);
    run_ok(&mut cargo(&env, &b, &["clean", "-q", "-p", "zstd-sys"]));
    build(&b, true);
    let second = env.stats();
    assert_eq!(
        (get(&second, "cache_miss"), hits(&second)),
        (0, units),
        "{second:?}"
    );
    let cached = zstd_objects(&b);
    assert_eq!(cached.len() as u64, units, "{:?}", cached.keys());

    run_ok(&mut cargo(&env, &b, &["clean", "-q", "-p", "zstd-sys"]));
    build(&b, false);
    assert_same_objects(&cached, &zstd_objects(&b));
    let run = run_ok(&mut cargo(&env, &b, &["run", "-q"]));
    assert_eq!(run.stdout_str(), "10507\n", "zstd 1.5.7");
}
