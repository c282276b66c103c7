//! A hostile reviewer's wrong objects and wrong diagnostics after the
//! colour, argument and relocation changes (issue 23): every hit must
//! write exactly what the plain compiler writes for the same call, in the
//! same environment, and show exactly its stderr.
//!
//! - gcc's colours as `GCC_COLORS` sets them, and an empty one, which
//!   turns them off even where an option asks for them;
//! - colour, line-length and command-line-recording options that come
//!   from a response file;
//! - `CCC_OVERRIDE_OPTIONS`, with which clang edits its own arguments;
//! - `__DATE__` spelled so that no file names it (pasted with `##`, split
//!   by a backslash-newline) under different `SOURCE_DATE_EPOCH`s;
//! - a prefix map whose OLD ends in `/`, which does not map the working
//!   directory itself;
//! - under base_dir with `-g` and the working directory mapped away, paths
//!   the compiler is given absolute (`--sysroot`, `CPATH`, a rewrite
//!   base_dir declines), which the debug information names as spelled.

use crate::common::*;
use std::path::Path;

/// A call's arguments and the variables it runs with.
type Call<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

/// `cc args` in `dir` with `vars`: through objcache (with `env`'s cache)
/// or, without `env`, the plain compiler.
fn call(env: Option<&TestEnv>, dir: &Path, cc: &str, args: &[&str], vars: &[(&str, &str)]) -> Out {
    require(cc);
    let mut cmd = match env {
        Some(env) => {
            let mut cmd = env.objcache_in(dir, [cc]);
            cmd.args(args);
            cmd
        }
        None => {
            let mut cmd = std::process::Command::new(cc);
            clean_env(&mut cmd);
            cmd.current_dir(dir).args(args);
            cmd
        }
    };
    cmd.envs(vars.iter().copied());
    let out = run(&mut cmd);
    assert!(out.success(), "{cc} {args:?} {vars:?}\n{}", out.dump());
    out
}

/// The object `obj` and the stderr of `cc args` with `vars`, through
/// objcache or plain (see `call`); the object is removed afterwards.
fn compiled(
    env: Option<&TestEnv>,
    dir: &Path,
    cc: &str,
    args: &[&str],
    vars: &[(&str, &str)],
    obj: &str,
) -> (Vec<u8>, Vec<u8>) {
    let out = call(env, dir, cc, args, vars);
    let path = dir.join(obj);
    let data = read(&path);
    rm(&path);
    (data, out.stderr)
}

/// Stores `first` (its own variables) through objcache, then checks that
/// objcache gives `second` exactly the plain compiler's object and stderr;
/// returns the statistics.
fn stored_then_checked(env: &TestEnv, dir: &Path, cc: &str, first: Call, second: Call) -> Stats {
    let (expected, expected_err) = compiled(None, dir, cc, second.0, second.1, "t.o");
    compiled(Some(env), dir, cc, first.0, first.1, "t.o");
    let (got, got_err) = compiled(Some(env), dir, cc, second.0, second.1, "t.o");
    let what = format!(
        "{cc} {:?} {:?} after {:?} {:?}",
        second.0, second.1, first.0, first.1
    );
    assert_bytes_eq(&got, &expected, &format!("object of {what}"));
    assert_bytes_eq(&got_err, &expected_err, &format!("stderr of {what}"));
    env.stats()
}

const WARNS: &str = "int f(int x) { int unused; return x; }\n";

#[test]
fn gcc_colours_are_those_gcc_colors_sets() {
    let always = [
        "-Wall",
        "-fdiagnostics-color=always",
        "-c",
        "t.c",
        "-o",
        "t.o",
    ];
    let auto = ["-Wall", "-c", "t.c", "-o", "t.o"];
    let none: &[(&str, &str)] = &[];
    let cyan: &[(&str, &str)] = &[("GCC_COLORS", "warning=01;36")];
    let empty: &[(&str, &str)] = &[("GCC_COLORS", "")];
    // (stored by, then served to): other colours, and none at all although
    // the option asks for them, each way round.
    for (first, second) in [
        ((&auto[..], cyan), (&always[..], none)),
        ((&auto[..], none), (&always[..], cyan)),
        ((&auto[..], none), (&always[..], empty)),
        ((&auto[..], empty), (&always[..], none)),
        ((&always[..], empty), (&always[..], empty)),
    ] {
        let env = TestEnv::new();
        let dir = env.dir("w");
        write_file(&dir.join("t.c"), WARNS);
        stored_then_checked(&env, &dir, "gcc", first, second);
    }
}

#[test]
fn colour_and_line_length_options_in_a_response_file_count() {
    for cc in ["gcc", "clang"] {
        let env = TestEnv::new();
        let dir = env.dir("w");
        write_file(&dir.join("t.c"), WARNS);
        write_file(&dir.join("narrow.rsp"), "-fmessage-length=30\n");
        let plain_call = ["-Wall", "-c", "t.c", "-o", "t.o"];
        let narrow = ["@narrow.rsp", "-Wall", "-c", "t.c", "-o", "t.o"];
        // Wrapped where the compiler wraps the plain text, on the miss and
        // on the hit.
        stored_then_checked(&env, &dir, cc, (&narrow, &[]), (&narrow, &[]));
        stored_then_checked(&env, &dir, cc, (&plain_call, &[]), (&narrow, &[]));
    }
}

#[test]
fn clang_recording_its_command_line_from_a_response_file_gets_no_added_option() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(&dir.join("t.c"), WARNS);
    // clang takes gcc's spelling as -grecord-command-line: the debug
    // information holds the command line, and objcache's colour option
    // must not be in it.
    write_file(&dir.join("record.rsp"), "-grecord-gcc-switches\n");
    let args = ["-g", "@record.rsp", "-c", "t.c", "-o", "t.o"];
    let stats = stored_then_checked(&env, &dir, "clang", (&args, &[]), (&args, &[]));
    assert_eq!(hits(&stats), 1, "{stats:?}");
}

#[test]
fn clang_editing_its_own_arguments_is_not_cached() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(&dir.join("t.c"), WARNS);
    let args = ["-c", "t.c", "-o", "t.o"];
    for edit in ["+-frecord-command-line", "+-MD"] {
        let vars: &[(&str, &str)] = &[("CCC_OVERRIDE_OPTIONS", edit)];
        stored_then_checked(&env, &dir, "clang", (&args, vars), (&args, vars));
        // The `.d` clang was told to write is clang's own, on every call.
        assert_eq!(edit == "+-MD", dir.join("t.d").exists(), "{edit}");
        rm(&dir.join("t.d"));
    }
    let stats = env.stats();
    assert_eq!(hits(&stats), 0, "{stats:?}");
    assert_eq!(get(&stats, "unsupported_environment_variable"), 4);
}

#[test]
fn a_time_macro_no_file_names_is_never_replayed_from_another_time() {
    let sources = [
        (
            "paste.c",
            "#define CAT(a, b) a##b\nconst char *d = CAT(__DA, TE__);\n",
        ),
        ("splice.c", "const char *d = __DA\\\nTE__;\n"),
        ("stamp.c", "const char *t = STAMP;\n"),
    ];
    for (name, text) in sources {
        let env = TestEnv::new();
        let dir = env.dir("w");
        write_file(&dir.join(name), text);
        let mut args = vec!["-c", name, "-o", "t.o"];
        if name == "stamp.c" {
            args.extend(["-DCAT(a,b)=a##b", "-DSTAMP=CAT(__TI,ME__)"]);
        }
        let then: &[(&str, &str)] = &[("SOURCE_DATE_EPOCH", "0")];
        let now: &[(&str, &str)] = &[("SOURCE_DATE_EPOCH", "100000000")];
        let stats = stored_then_checked(&env, &dir, "gcc", (&args, then), (&args, now));
        assert_eq!(hits(&stats), 0, "{name}: {stats:?}");
        // The same time still hits: a date from the record kept under it
        // (`hash::dated`), a time from the preprocessed text.
        let stats = stored_then_checked(&env, &dir, "gcc", (&args, now), (&args, now));
        let by_text = get(&stats, "preprocessed_cache_hit");
        assert!(hits(&stats) >= 1, "{name}: {stats:?}");
        assert_eq!(by_text >= 1, name == "stamp.c", "{name}: {stats:?}");
    }
}

#[test]
fn a_prefix_map_ending_in_a_slash_does_not_map_the_working_directory() {
    for cc in ["gcc", "clang"] {
        let env = TestEnv::new();
        let dir = env.dir("w");
        write_file(&dir.join("t.c"), WARNS);
        let cwd = dir.to_str().unwrap();
        let map = format!("-fdebug-prefix-map={cwd}=.");
        let slash = format!("-fdebug-prefix-map={cwd}/=.");
        let args = |map: &str| ["-g", map, "-c", "t.c", "-o", "t.o"].map(String::from);
        let (first, second) = (args(&map), args(&slash));
        let first: Vec<&str> = first.iter().map(String::as_str).collect();
        let second: Vec<&str> = second.iter().map(String::as_str).collect();
        stored_then_checked(&env, &dir, cc, (&first, &[]), (&second, &[]));
    }
}

/// Two checkouts under `root`, each with `build/` (the working
/// directory), `src/t.c` including `h.h` from `inc/`, and a sysroot
/// `sdk/` whose `<s.h>` `src/u.c` includes.
fn checkouts(root: &Path) {
    for name in ["one", "two"] {
        let co = root.join(name);
        std::fs::create_dir_all(co.join("build")).unwrap();
        write_file(
            &co.join("inc/h.h"),
            "static inline int h(void) { return 1; }\n",
        );
        write_file(
            &co.join("sdk/usr/include/s.h"),
            "static inline int s(void) { return 2; }\n",
        );
        write_file(
            &co.join("src/t.c"),
            "#include \"h.h\"\nint f(void) { return h(); }\n",
        );
        write_file(
            &co.join("src/u.c"),
            "#include <s.h>\nint f(void) { return s(); }\n",
        );
    }
}

#[test]
fn under_base_dir_paths_the_debug_information_names_as_spelled_are_keyed() {
    for cc in ["gcc", "clang"] {
        let env = TestEnv::new();
        let root = env.dir("ci");
        checkouts(&root);
        let base = root.to_str().unwrap().to_string();
        // (arguments, variables) with CO for the checkout: the header's or
        // the source's directory reaches the compiler absolute.
        let cases: [Call; 3] = [
            (&["--sysroot=CO/sdk", "-c", "../src/u.c"], &[]),
            (&["-c", "../src/t.c"], &[("CPATH", "CO/inc")]),
            // The user's own `../inc` would look like the rewritten
            // `-ICO/inc`: base_dir's rewrite is declined.
            (&["-I../inc", "-ICO/inc", "-c", "CO/src/t.c"], &[]),
        ];
        for (args, vars) in cases {
            for name in ["one", "two"] {
                let co = root.join(name);
                let co = co.to_str().unwrap();
                let map = format!("-fdebug-prefix-map={co}/build=.");
                let mut all = vec!["-g".to_string(), map];
                all.extend(args.iter().map(|a| a.replace("CO", co)));
                all.extend(["-o".to_string(), "t.o".to_string()]);
                let all: Vec<&str> = all.iter().map(String::as_str).collect();
                let vars: Vec<(String, String)> = vars
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.replace("CO", co)))
                    .chain([("CCACHE_BASEDIR".to_string(), base.clone())])
                    .collect();
                let vars: Vec<(&str, &str)> =
                    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let dir = root.join(name).join("build");
                let (expected, _) = compiled(None, &dir, cc, &all, &vars, "t.o");
                let (got, _) = compiled(Some(&env), &dir, cc, &all, &vars, "t.o");
                let what = format!("{cc} {all:?} {vars:?} in {name}");
                assert_bytes_eq(&got, &expected, &what);
            }
        }
        let stats = env.stats();
        assert_eq!(hits(&stats), 0, "{cc}: {stats:?}");
    }
}

#[test]
fn under_base_dir_a_mapped_sysroot_still_hits_from_another_checkout() {
    let env = TestEnv::new();
    let root = env.dir("ci");
    checkouts(&root);
    let base = root.to_str().unwrap().to_string();
    for name in ["one", "two"] {
        let co = root.join(name);
        let co = co.to_str().unwrap();
        let args = [
            "-g".to_string(),
            format!("-fdebug-prefix-map={co}/build=."),
            format!("-fdebug-prefix-map={co}/sdk=/sdk"),
            format!("--sysroot={co}/sdk"),
        ];
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(["-c", "../src/u.c", "-o", "t.o"]);
        let vars = [("CCACHE_BASEDIR", base.as_str())];
        let dir = root.join(name).join("build");
        let (expected, _) = compiled(None, &dir, "gcc", &all, &vars, "t.o");
        let (got, _) = compiled(Some(&env), &dir, "gcc", &all, &vars, "t.o");
        assert_bytes_eq(&got, &expected, name);
    }
    let stats = env.stats();
    assert_eq!(get(&stats, "direct_cache_hit"), 1, "{stats:?}");
}
