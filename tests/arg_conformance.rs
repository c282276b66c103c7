//! Arguments ccache reads in a way of its own, as its test suite checks
//! them: what is keyed, what is refused, what is cached, and that every
//! object, `.d` and listing is the compiler's for the call's inputs.

use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const CALL: &str = "int f(void)\n{\n  return 1;\n}\n";
/// The same code with other line numbers.
const CALL_MOVED: &str = "int f(void)\n{\n\n\n  return 1;\n}\n";

/// `gcc args` through objcache in `dir` with the variables `vars`.
#[track_caller]
fn cached(env: &TestEnv, dir: &Path, a: &[&str], vars: &[(&str, &str)]) -> Out {
    let mut cmd = env.objcache_in(dir, std::iter::once("gcc").chain(a.iter().copied()));
    cmd.envs(vars.iter().copied());
    run_ok(&mut cmd)
}

/// The counters `names` of `env`, in order.
#[track_caller]
fn counters(env: &TestEnv, names: &[&str]) -> Vec<u64> {
    let s = env.stats();
    names.iter().map(|n| get(&s, n)).collect()
}

const HITS_AND_MISSES: &[&str] = &["direct_cache_hit", "preprocessed_cache_hit", "cache_miss"];

/// `-P` and its other spellings drop the line markers from the
/// preprocessor's text, and `-dM` prints only macros: a key made from that
/// text took the same code in another line layout (or another body) for
/// the same, and a hit gave the old object (another line table with `-g`).
#[test]
fn preprocessor_output_options_do_not_hide_the_code_from_the_key() {
    let forms: &[&[&str]] = &[
        &["-P"],
        &["-Wp,-P"],
        &["-Xpreprocessor", "-P"],
        &["--no-line-commands"],
        &["-dM"],
    ];
    for form in forms {
        for direct in [true, false] {
            let env = TestEnv::new();
            let dir = env.dir("src");
            let mut a: Vec<&str> = vec!["-g", "-c", "t.c", "-o", "t.o"];
            a.extend_from_slice(form);
            let mode = if direct {
                "CCACHE_DIRECT"
            } else {
                "CCACHE_NODIRECT"
            };
            let call = Compile::new(&dir, "gcc", &a, "t.o").env(mode, "1");
            write_file(&dir.join("t.c"), CALL);
            call.check(&env);
            write_file(&dir.join("t.c"), CALL_MOVED);
            call.check(&env);
            assert_eq!(env.misses(), 2, "{form:?}, direct mode {direct}");
            // The unchanged file still hits.
            call.check(&env);
            assert_eq!(env.hits(), 1, "{form:?}, direct mode {direct}");
        }
    }
}

/// Direct mode learns the headers from the preprocessor's line markers:
/// with `-P` it learnt none, and a changed header was a hit.
#[test]
fn headers_are_followed_with_p() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(
        &dir.join("t.c"),
        "#include \"h.h\"\nint f(void) { return V; }\n",
    );
    let call = Compile::new(&dir, "gcc", &["-P", "-c", "t.c"], "t.o");
    for v in ["1", "2"] {
        write_file(&dir.join("h.h"), &format!("#define V {v}\n"));
        call.check(&env);
        call.check(&env);
    }
    assert_eq!(counters(&env, HITS_AND_MISSES), [2, 0, 2]);
}

/// `-P` among other `-Wp,` options is refused, as in ccache.
#[test]
fn wp_p_with_other_options_is_refused() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), CALL);
    for option in ["-Wp,-P,-DFOO", "-Wp,-DFOO,-P"] {
        Compile::new(&dir, "gcc", &["-c", option, "t.c"], "t.o").check(&env);
    }
    let names = ["unsupported_compiler_option", "cache_miss"];
    assert_eq!(counters(&env, &names), [2, 0]);
}

/// `-gz` compresses debug sections; alone it asks for none, so the
/// working directory is not keyed and another directory hits.
#[test]
fn gz_is_not_debug_information() {
    let env = TestEnv::new();
    for (i, dir) in ["d1", "d2", "d3", "d4"].iter().enumerate() {
        let dir = env.dir(dir);
        write_file(&dir.join("t.c"), CALL);
        let call = |a: &[&str]| Compile::new(&dir, "gcc", a, "t.o").env("CCACHE_NODIRECT", "1");
        call(&["-c", "t.c", "-gz"]).check(&env);
        call(&["-c", "t.c", "-gz=zlib"]).check(&env);
        // With -g the object names the directory.
        call(&["-g", "-gz", "-c", "t.c"]).check(&env);
        assert_eq!(env.hits(), 2 * i as u64, "{}", dir.display());
    }
}

/// `-fsyntax-only` with and without `-c` makes the same diagnostics, and
/// `-S` with and without it the same assembly: one result each, as in
/// ccache.
#[test]
fn c_is_not_keyed_where_it_changes_nothing() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("w.c"), "#warning a compiler warning\nint x;\n");
    let vars = [("CCACHE_NODIRECT", "1")];
    let p = plain("gcc", &dir, ["-Wall", "w.c", "-fsyntax-only"]);
    for a in [
        &["-Wall", "w.c", "-fsyntax-only"][..],
        &["-Wall", "-c", "w.c", "-fsyntax-only"],
    ] {
        let out = cached(&env, &dir, a, &vars);
        assert_bytes_eq(&out.stderr, &p.stderr, "diagnostics");
    }
    for a in [&["-S", "w.c"][..], &["-c", "-S", "w.c"]] {
        Compile::new(&dir, "gcc", a, "w.s").envs(&vars).check(&env);
    }
    assert_eq!(counters(&env, HITS_AND_MISSES), [0, 2, 2]);
    assert!(!dir.join("w.o").exists());
}

/// `compiler_check` commands are hashed by what they print together, as
/// one script printing it would; what goes to stderr stays apart.
#[test]
fn check_commands_are_hashed_as_one_script() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), CALL);
    let script = |name: &str, body: &str| {
        write_file(&dir.join(name), &format!("#!/bin/sh\n{body}\n"));
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir.join(name), fs::Permissions::from_mode(0o755)).unwrap();
    };
    script("foobar.sh", "echo foo\necho bar");
    script("foo_err.sh", "echo foo >&2\necho bar");
    let check = |command: &str| {
        let vars = [("CCACHE_COMPILERCHECK", command), ("CCACHE_NODIRECT", "1")];
        Compile::new(&dir, "gcc", &["-c", "t.c"], "t.o")
            .envs(&vars)
            .check(&env);
    };
    check("./foobar.sh");
    check("echo foo; echo bar");
    check("echo foo;echo bar");
    assert_eq!(counters(&env, HITS_AND_MISSES), [0, 2, 1]);
    check("./foo_err.sh");
    assert_eq!(env.misses(), 2);
}

/// `-Wp,-MMD,FILE` is written whatever `-MF` says: refused, as in ccache,
/// never a wait for the `-MF` file gcc does not write.
#[test]
fn wp_mmd_with_mf_is_refused() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), CALL);
    for a in [
        &["-c", "t.c", "-Wp,-MMD,wp.d", "-MF", "mf.d"][..],
        &["-c", "t.c", "-MF", "mf.d", "-Wp,-MMD,wp.d"],
        &["-c", "t.c", "-MT", "x", "-Wp,-MMD,wp.d,-MT,y"],
    ] {
        Compile::new(&dir, "gcc", a, "t.o").dep("wp.d").check(&env);
        assert!(!dir.join("mf.d").exists());
    }
    let names = [
        "unsupported_compiler_option",
        "cache_miss",
        "compiler_produced_no_output",
    ];
    assert_eq!(counters(&env, &names), [3, 0, 0]);
}

/// `-Wp,-MMD,FILE,-MT,TARGET`: the `.d` and its targets are read from the
/// list, cached in preprocessor mode (direct mode off), as in ccache.
#[test]
fn wp_mmd_with_more_options_is_cached() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), CALL);
    for option in ["-Wp,-MMD,t.d,-MT,t.o", "-Wp,-MMD,t.d,-MP,-MQ,$x,-MT,y"] {
        let call = Compile::new(&dir, "gcc", &["-c", option, "t.c"], "t.o").dep("t.d");
        call.check(&env);
        call.check(&env);
    }
    assert_eq!(counters(&env, HITS_AND_MISSES), [0, 2, 2]);
}

/// `-Wp,-DX` is `-DX`: the same key, direct mode kept.
#[test]
fn wp_d_is_a_define() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), "int x = FOO;\n");
    for define in ["-Wp,-DFOO=1", "-DFOO=1", "-Wp,-DFOO=2"] {
        Compile::new(&dir, "gcc", &["-c", define, "t.c"], "t.o").check(&env);
    }
    assert_eq!(counters(&env, HITS_AND_MISSES), [1, 0, 2]);
}

/// The listing `-Wa,-a=FILE` names is an output, stored and written to the
/// call's FILE on a hit, and never names itself: FILE is not keyed. Two
/// listing options are refused, as in ccache.
#[test]
fn listing_names_are_not_keyed() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), CALL);
    let vars = [("CCACHE_NODIRECT", "1")];
    for (a, listing) in [
        (&["-c", "-Wa,-a=t1.lst,-L", "t.c"][..], "t1.lst"),
        (&["-c", "-Wa,-a=t2.lst,-L", "t.c"], "t2.lst"),
        (&["-c", "-Xassembler", "-a=t3.lst", "t.c"], "t3.lst"),
        (&["-c", "-Xassembler", "-a=t4.lst", "t.c"], "t4.lst"),
        // Other listing flags are another listing.
        (&["-c", "-Wa,-as=t1.lst", "t.c"], "t1.lst"),
    ] {
        cached(&env, &dir, a, &vars);
        let text = fs::read_to_string(dir.join(listing)).unwrap();
        assert!(text.contains("GAS LISTING"), "{listing}: {text}");
        rm(&dir.join(listing));
    }
    assert_eq!(counters(&env, HITS_AND_MISSES), [0, 2, 3]);
    cached(
        &env,
        &dir,
        &["-c", "-Wa,-a=t1.lst", "-Wa,-as=t2.lst", "t.c"],
        &vars,
    );
    assert_eq!(env.stat("unsupported_compiler_option"), 1);
}

/// An assembler source is not preprocessed: `-MD` makes no `.d`, so none
/// is waited for or written (a stale one stays the user's), and the
/// options clang warns about are keyed.
#[test]
fn assembler_sources_have_no_depfile() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), CALL);
    run_ok(Command::new("gcc").current_dir(&dir).args(["-S", "t.c"]));
    let call = Compile::new(&dir, "gcc", &["-c", "-MD", "t.s"], "t.o");
    call.check(&env);
    write_file(&dir.join("t.d"), "foo\n");
    call.check(&env);
    assert_eq!(fs::read_to_string(dir.join("t.d")).unwrap(), "foo\n");
    rm(&dir.join("t.d"));
    call.check(&env);
    assert!(!dir.join("t.d").exists());
    assert_eq!(counters(&env, &["cache_miss", "direct_cache_hit"]), [1, 2]);
    if have("clang") {
        for dep in ["x.d", "y.d"] {
            let a = ["-c", "-MD", "-MF", dep, "t.s"];
            Compile::new(&dir, "clang", &a, "t.o").check(&env);
        }
        assert_eq!(env.misses(), 3, "the warning names the file");
    }
}

/// `-MF /dev/null`: the `.d` goes nowhere, so the call is cached without
/// one, in depend mode too (which then learns the headers from the
/// preprocessor, since no `.d` names them).
#[test]
fn depfile_to_dev_null_is_cached() {
    for depend in [false, true] {
        let env = TestEnv::new();
        let dir = env.dir("src");
        write_file(
            &dir.join("t.c"),
            "#include \"h.h\"\nint f(void) { return V; }\n",
        );
        let a = ["-MP", "-MMD", "-MF", "/dev/null", "-c", "t.c"];
        let mode = if depend {
            "CCACHE_DEPEND"
        } else {
            "CCACHE_NODEPEND"
        };
        let call = Compile::new(&dir, "gcc", &a, "t.o").env(mode, "1");
        for v in ["1", "2"] {
            write_file(&dir.join("h.h"), &format!("#define V {v}\n"));
            call.check(&env);
            call.check(&env);
        }
        let names = [
            "direct_cache_hit",
            "cache_miss",
            "compiler_produced_no_output",
        ];
        assert_eq!(counters(&env, &names), [2, 2, 0], "depend mode {depend}");
    }
}

/// A `.d` written to the compiler's stdout (a link to `/proc/self/fd/1`,
/// as `-MF /dev/stdout` is) reaches the call's stdout: objcache does not
/// read its own stdout back, which took the text from the reader or
/// waited forever.
#[test]
fn depfile_to_stdout_is_passed_through() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), CALL);
    std::os::unix::fs::symlink("/proc/self/fd/1", dir.join("out")).unwrap();
    let mut cmd = env.objcache_in(&dir, ["gcc", "-MD", "-MF", "out", "-c", "t.c"]);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(30));
    assert!(out.success(), "{}", out.dump());
    assert!(out.stdout_str().starts_with("t.o: t.c"), "{}", out.dump());
    assert!(fs::symlink_metadata(dir.join("out")).unwrap().is_symlink());
}

/// `--ccache-skip` passes the next argument on uninterpreted; objcache
/// passed itself on too, and the compiler rejected it, cached or not.
#[test]
fn ccache_skip_is_not_given_to_the_compiler() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), "int main(void) { return 0; }\n");
    let object = plain_object("gcc", &dir, ["-O2", "-c", "t.c"], "t.o");
    let call = Compile::new(&dir, "gcc", &["--ccache-skip", "-O2", "-c", "t.c"], "t.o");
    call.check_obj(&env, &object);
    call.check_obj(&env, &object);
    assert_eq!(counters(&env, &["cache_miss"]), [1]);
    // Uncached: a link, and with the cache disabled.
    cached(
        &env,
        &dir,
        &["--ccache-skip", "-O2", "t.c", "-o", "app"],
        &[],
    );
    assert!(dir.join("app").exists());
    let vars = [("CCACHE_DISABLE", "1")];
    cached(&env, &dir, &["--ccache-skip", "-O2", "-c", "t.c"], &vars);
}

/// `SOURCE_DATE_EPOCH` sets what `__DATE__` and `__TIME__` say and nothing
/// else: keyed through the preprocessed text where they are used, and in
/// direct mode's key only with the date of a compile that names
/// `__DATE__` (through an argument too, `hash::dated`). One that uses
/// `__TIME__` takes no direct mode, unless `time_macros` sloppiness says
/// it does not matter.
#[test]
fn source_date_epoch_matters_only_through_time_macros() {
    let env = TestEnv::new();
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), "char x[] = STAMP;\n");
    write_file(&dir.join("u.c"), "char x[] = __TIME__;\n");
    let epoch = |e: &str, a: &[&str], extra: &[(&str, &str)]| {
        let mut vars = vec![("SOURCE_DATE_EPOCH", e)];
        vars.extend_from_slice(extra);
        cached(&env, &dir, a, &vars);
        let mut cmd = Command::new("gcc");
        clean_env(&mut cmd).env("SOURCE_DATE_EPOCH", e);
        let object = read(&dir.join("t.o"));
        run_ok(cmd.current_dir(&dir).args(a).args(["-o", "ref.o"]));
        object == read(&dir.join("ref.o"))
    };
    let plain_c = ["-DSTAMP=\"x\"", "-c", "t.c", "-o", "t.o"];
    for e in ["1", "1", "2"] {
        assert!(epoch(e, &plain_c, &[]));
    }
    assert_eq!(counters(&env, HITS_AND_MISSES), [2, 0, 1]);
    let dated = ["-DSTAMP=__DATE__", "-c", "t.c", "-o", "t.o"];
    for e in ["1", "1", "100000000"] {
        assert!(epoch(e, &dated, &[]), "the object of {e} has its date");
    }
    assert_eq!(counters(&env, HITS_AND_MISSES), [3, 0, 3]);
    let sloppy = [("CCACHE_SLOPPINESS", "time_macros")];
    let timed = ["-c", "u.c", "-o", "t.o"];
    for e in ["1", "1", "2"] {
        epoch(e, &timed, &sloppy);
    }
    assert_eq!(counters(&env, HITS_AND_MISSES), [5, 0, 4]);
}
