//! Installing objcache: what the crate ships (`cargo package`), the
//! masquerade directory `--install-symlinks` makes, and the Debian package
//! of scripts/build-deb.sh, installed with dpkg, used through
//! /usr/lib/objcache and as CMake's launcher, and removed without a trace.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn orig_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())
}

#[test]
fn the_crate_ships_its_sources_and_licences_and_not_the_tests() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["package", "--list", "--offline", "--allow-dirty"])
        .current_dir(repo());
    let out = run_ok(&mut cmd);
    let listed: Vec<String> = out.stdout_str().lines().map(str::to_owned).collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "docs/configuration.md",
    ] {
        assert!(listed.iter().any(|f| f == needed), "{needed}: {listed:?}");
    }
    // Everything the build reads: all of src/.
    for file in walk_files(&repo().join("src")) {
        let rel = file.strip_prefix(repo()).unwrap().display().to_string();
        assert!(listed.contains(&rel), "{rel} is not shipped");
    }
    for file in &listed {
        for unwanted in [
            "tests/",
            "fixtures/",
            "bench/",
            "scripts/",
            ".ci/",
            "target/",
        ] {
            assert!(!file.starts_with(unwanted), "{file} is shipped");
        }
    }
    let warnings = out.stderr_str();
    for field in ["description", "license"] {
        assert!(
            !warnings.contains(&format!("no {field}")),
            "Cargo.toml lacks {field}: {warnings}"
        );
    }
}

/// `gcc -c hello.c` through `path` in `proj`, with the cache of `env`.
fn compile_hello(env: &TestEnv, proj: &Path, path: &str) {
    let mut cmd = Command::new("gcc");
    clean_env(&mut cmd);
    cmd.env("PATH", path)
        .env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .args(["-c", "hello.c", "-o", "hello.o"])
        .current_dir(proj);
    run_ok(&mut cmd);
}

#[test]
fn install_symlinks_masquerades_as_the_compilers_in_path() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("masq");
    fs::write(dir.join("g++"), "the user's own").unwrap();
    let mut cmd = env.objcache();
    cmd.arg("--install-symlinks").arg(&dir);
    let out = run_ok(&mut cmd);

    let me = fs::canonicalize(objcache_bin()).unwrap();
    assert_eq!(
        fs::read_link(dir.join("gcc")).unwrap(),
        me,
        "{}",
        out.dump()
    );
    assert!(out.stdout_str().contains("/masq/gcc -> "), "{}", out.dump());
    assert_eq!(fs::read(dir.join("g++")).unwrap(), b"the user's own");
    assert!(
        out.stderr_str()
            .contains("g++ exists and is not a link to objcache"),
        "{}",
        out.dump()
    );
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(have(&name), "{name} is linked but not in PATH");
    }

    // Again, with the directory first in PATH: nothing to do, and no link
    // to a link of its own.
    let path = format!("{}:{}", dir.display(), orig_path());
    let mut cmd = env.objcache();
    cmd.env("PATH", &path).arg("--install-symlinks").arg(&dir);
    let again = run_ok(&mut cmd);
    assert_eq!(again.stdout_str(), "", "{}", again.dump());
    assert_eq!(fs::read_link(dir.join("gcc")).unwrap(), me);

    let proj = env.copy_fixture("hello", "proj");
    let expected = plain_object("gcc", &proj, ["-c", "hello.c", "-o", "hello.o"], "hello.o");
    for round in 0..2 {
        compile_hello(&env, &proj, &path);
        assert_bytes_eq(&read(&proj.join("hello.o")), &expected, "hello.o");
        let s = env.stats();
        assert_eq!((get(&s, "cache_miss"), hits(&s)), (1, round), "{s:?}");
    }
}

const PACKAGE: &str = "objcache";
const LINKS: &str = "/usr/lib/objcache";

/// Whether the package is installed (not merely known to dpkg).
fn installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", PACKAGE])
        .output()
        .is_ok_and(|o| o.stdout == b"installed")
}

/// Purges the package when the test ends, passed or failed: installed,
/// or removed and still known to dpkg (a package with a postrm script is,
/// until purged).
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PACKAGE]).output();
    }
}

/// A command with the test's clean environment and cache.
fn build_cmd(env: &TestEnv, program: &str, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    clean_env(&mut cmd);
    cmd.env("CCACHE_DIR", &env.cache_dir)
        .env("OBJCACHE_SYSTEM_CONFIG", "/nonexistent")
        .env_remove("CC")
        .env_remove("CFLAGS")
        .env_remove("MAKEFLAGS")
        .env_remove("CMAKE_GENERATOR")
        .current_dir(cwd);
    cmd
}

fn build_deb(env: &TestEnv) -> PathBuf {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join("scripts/build-deb.sh"))
        .env("OBJCACHE", objcache_bin())
        .env("OBJCACHE_DEB_DIR", env.dir("deb"));
    let out = run_with_timeout(&mut cmd, Duration::from_secs(600));
    assert!(out.success(), "build-deb.sh: {}", out.dump());
    PathBuf::from(out.stdout_str().trim())
}

const MAKEFILE: &str = "demo: main.o helper.o\n\t$(CC) -o $@ main.o helper.o\n";

/// Builds the CMake fixture's sources with make's built-in rules, which run
/// `cc`: through the masquerade directory when it comes first in PATH.
fn make_through_links(env: &TestEnv, name: &str) {
    let proj = env.copy_fixture("cmake", name);
    fs::write(proj.join("Makefile"), MAKEFILE).unwrap();
    let mut cmd = build_cmd(env, "make", &proj);
    cmd.env("PATH", format!("{LINKS}:{}", orig_path()));
    run_ok(&mut cmd);
    let demo = run_ok(&mut Command::new(proj.join("demo")));
    assert_eq!(demo.stdout_str(), "hello from demo\n");
}

/// One source directory, a build directory each time (the sources' paths
/// are in the compiler's arguments).
fn cmake_with_launcher(env: &TestEnv, name: &str) {
    let src = env.root().join("src");
    if !src.exists() {
        env.copy_fixture("cmake", "src");
    }
    let build = env.root().join(name);
    let mut cmd = build_cmd(env, "cmake", env.root());
    cmd.arg("-S").arg(&src).arg("-B").arg(&build).args([
        "-G",
        "Unix Makefiles",
        "-DCMAKE_C_COMPILER=gcc",
        "-DCMAKE_C_COMPILER_LAUNCHER=objcache",
    ]);
    run_ok(&mut cmd);
    let mut cmd = build_cmd(env, "cmake", env.root());
    run_ok(cmd.arg("--build").arg(&build));
    let demo = run_ok(&mut Command::new(build.join("demo")));
    assert_eq!(demo.stdout_str(), "hello from demo\n");
}

/// The second of two builds in fresh directories is all hits.
fn twice_all_hits(build: impl Fn(&TestEnv, &str), how: &str) {
    let env = TestEnv::new();
    build(&env, "first");
    let s = env.stats();
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (2, 0), "{how}: {s:?}");
    build(&env, "second");
    let s = env.stats();
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (2, 2), "{how}: {s:?}");
}

/// Every file the package holds, and its own directories.
fn package_paths(deb: &Path) -> Vec<PathBuf> {
    let list = run_ok(Command::new("dpkg-deb").arg("-c").arg(deb)).stdout_str();
    list.lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|p| !p.ends_with('/') || p.contains("/objcache/"))
        .map(|p| PathBuf::from(p.trim_start_matches('.')))
        .collect()
}

#[test]
fn the_debian_package_installs_caches_and_uninstalls() {
    if !is_root() || !have("dpkg-deb") {
        eprintln!("SKIPPED the_debian_package_installs_caches_and_uninstalls: needs root and dpkg");
        return;
    }
    if installed() {
        eprintln!(
            "SKIPPED the_debian_package_installs_caches_and_uninstalls: the {PACKAGE} package \
             is installed here; remove it first (dpkg -r {PACKAGE})"
        );
        return;
    }
    for tool in ["gcc", "make", "cmake", "man"] {
        require(tool);
    }
    let env = TestEnv::new();
    let deb = build_deb(&env);
    let paths = package_paths(&deb);
    let _purge = Purge;
    let mut install = Command::new("dpkg");
    run_ok(install.arg("-i").arg(&deb));
    assert!(installed());

    let gcc_link = Path::new(LINKS).join("gcc");
    let target = fs::read_link(&gcc_link).expect("postinst makes /usr/lib/objcache/gcc");
    assert_eq!(target, Path::new("/usr/bin/objcache"));
    assert!(Path::new(LINKS).join("cc").is_symlink());
    let mut man = Command::new("man");
    clean_env(&mut man);
    let page = run_ok(man.args(["-w", PACKAGE])).stdout_str();
    assert_eq!(page.trim(), "/usr/share/man/man1/objcache.1.gz");
    for completion in [
        "/usr/share/bash-completion/completions/objcache",
        "/usr/share/zsh/vendor-completions/_objcache",
        "/usr/share/fish/vendor_completions.d/objcache.fish",
    ] {
        let text = String::from_utf8(read(Path::new(completion))).unwrap();
        assert!(text.contains("show-stats"), "{completion}: {text}");
    }
    assert!(Path::new("/usr/share/doc/objcache/copyright").is_file());

    twice_all_hits(
        make_through_links,
        "make with /usr/lib/objcache first in PATH",
    );
    twice_all_hits(cmake_with_launcher, "CMAKE_C_COMPILER_LAUNCHER=objcache");

    let mut remove = Command::new("dpkg");
    run_ok(remove.args(["-r", PACKAGE]));
    assert!(!installed());
    for path in paths.iter().chain([&PathBuf::from(LINKS)]) {
        assert!(
            fs::symlink_metadata(path).is_err(),
            "{} is left after dpkg -r",
            path.display()
        );
    }
}
