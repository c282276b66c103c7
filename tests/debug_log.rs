//! `debug = true`: the call's own log `<object>.<timestamp>.ccache-log`
//! has what scripts (and ccache's own test suite) look for: a
//! `Result: COUNTER` line per counter the call added to, one
//! `Compiler type: X` line, the status code of a refusing HTTP server; a
//! call objcache does not cache leaves one too; under `debug_dir` it sits
//! at the object's physical path.

use crate::common::servers::{Behaviour, FakeServer};
use crate::common::*;
use std::path::{Path, PathBuf};

/// The `.ccache-log` files in `dir` whose names start with `object.`.
fn logs(dir: &Path, object: &str) -> Vec<PathBuf> {
    let prefix = format!("{object}.");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.retain(|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        name.starts_with(&prefix) && name.ends_with(".ccache-log")
    });
    found.sort();
    found
}

/// The one debug log of `object` in `dir`, read and then removed, so the
/// next call's is the only one again.
#[track_caller]
fn take_log(dir: &Path, object: &str) -> String {
    let found = logs(dir, object);
    assert_eq!(found.len(), 1, "one debug log of {object}: {found:?}");
    let text = String::from_utf8_lossy(&read(&found[0])).into_owned();
    rm(&found[0]);
    text
}

/// `objcache gcc ARGS` in `dir` with `debug = true` and `vars`.
fn debug_call(env: &TestEnv, dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Out {
    let mut cmd = env.objcache_in(dir, ["gcc"]);
    cmd.args(args).env("CCACHE_DEBUG", "1");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// The values of the `Compiler type: X` lines.
fn compiler_types(log: &str) -> Vec<&str> {
    log.lines()
        .filter_map(|l| l.split_once("Compiler type: ").map(|(_, t)| t))
        .collect()
}

#[test]
fn the_log_names_each_result_and_the_compiler_type() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(&dir.join("test1.c"), "int x;\n");
    let log_file = env.root().join("objcache.log");
    let log_var = log_file.to_str().unwrap();

    let out = debug_call(
        &env,
        &dir,
        &["-c", "test1.c"],
        &[("CCACHE_LOGFILE", log_var)],
    );
    assert!(out.success(), "{}", out.dump());
    let miss = take_log(&dir, "test1.o");
    assert!(miss.contains("Result: cache_miss\n"), "{miss}");
    assert_eq!(compiler_types(&miss), ["gcc"], "{miss}");
    // The log_file has the same lines.
    let shared = std::fs::read_to_string(&log_file).unwrap();
    assert!(shared.contains("Result: cache_miss\n"), "{shared}");

    let out = debug_call(&env, &dir, &["-c", "test1.c"], &[]);
    assert!(out.success(), "{}", out.dump());
    let hit = take_log(&dir, "test1.o");
    assert_eq!(env.hits(), 1);
    assert!(hit.contains("Result: direct_cache_hit\n"), "{hit}");
    assert!(!hit.contains("Result: cache_miss"), "{hit}");

    // compiler_type as configured, not as guessed from the name.
    let vars = [("CCACHE_COMPILERTYPE", "clang")];
    let out = debug_call(&env, &dir, &["-c", "test1.c"], &vars);
    assert!(out.success(), "{}", out.dump());
    assert_eq!(compiler_types(&take_log(&dir, "test1.o")), ["clang"]);
}

#[test]
fn an_uncached_call_leaves_its_log() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(&dir.join("test1.c"), "int main(void) { return 0; }\n");
    let out = debug_call(&env, &dir, &["-c", "test1.c", "-save-temps"], &[]);
    assert!(out.success(), "{}", out.dump());
    assert_eq!(env.stat("unsupported_compiler_option"), 1);
    let log = take_log(&dir, "test1.o");
    assert!(
        log.contains("Result: unsupported_compiler_option\n"),
        "{log}"
    );
    // Nothing was hashed: no input files beside the log.
    let inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".ccache-input"))
        .collect();
    assert!(inputs.is_empty(), "{inputs:?}");

    // Named by `-o`, for a link too.
    let out = debug_call(&env, &dir, &["test1.o", "-o", "prog"], &[]);
    assert!(out.success(), "{}", out.dump());
    assert!(take_log(&dir, "prog").contains("Result: called_for_link\n"));
}

#[test]
fn debug_dir_mirrors_the_physical_path() {
    require("gcc");
    let env = TestEnv::new();
    let real = env.dir("real");
    let link = env.root().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write_file(&real.join("test1.c"), "int x;\n");
    let debug_dir = env.root().join("dbg");
    // Called from the symlinked spelling of the directory, as a shell
    // that `cd`s through the link leaves it in `PWD`.
    let vars = [
        ("CCACHE_DEBUGDIR", debug_dir.to_str().unwrap()),
        ("PWD", link.to_str().unwrap()),
    ];
    let out = debug_call(&env, &link, &["-c", "test1.c"], &vars);
    assert!(out.success(), "{}", out.dump());
    let physical = std::fs::canonicalize(&real).unwrap();
    let mirrored = debug_dir.join(physical.strip_prefix("/").unwrap());
    let log = take_log(&mirrored, "test1.o");
    assert!(log.contains("Result: cache_miss\n"), "{log}");
    let logical = debug_dir.join(link.strip_prefix("/").unwrap());
    assert!(
        !logical.exists() || logs(&logical, "test1.o").is_empty(),
        "a second set under the link's spelling"
    );
}

#[test]
fn a_refusing_http_server_is_logged_with_its_status_code() {
    require("gcc");
    let refusal = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let server = FakeServer::start(Behaviour::Http {
        get: refusal.to_vec(),
        put: refusal.to_vec(),
    });
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(&dir.join("test.c"), "int x;\n");
    let url = format!("http://127.0.0.1:{}/cache", server.port);
    let vars = [("CCACHE_REMOTE_STORAGE", url.as_str())];
    let out = debug_call(&env, &dir, &["-c", "test.c"], &vars);
    assert!(out.success(), "{}", out.dump());
    let log = take_log(&dir, "test.o");
    assert!(log.contains("status code: 401"), "{log}");
    assert!(env.stat("remote_storage_error") >= 1);
}
