//! Configuration keys that change how a call is keyed or run:
//! ignore_options, compiler_type, compiler_check, keep_comments_cpp,
//! prefix_command(_cpp) and response_file_format, each through its
//! `CCACHE_*` variable, against the real compilers.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::direct_mode::outcomes;
use crate::common::*;

/// An executable shell script `dir/name`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `cc ARGS -c x.c -o x.o` in `dir`, through objcache with `vars`.
fn compile(env: &TestEnv, dir: &Path, cc: &str, args: &[&str], vars: &[(&str, &str)]) -> Out {
    let mut cmd = env.objcache_in(dir, [cc]);
    cmd.args(args).args(["-c", "x.c", "-o", "x.o"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
    out
}

/// A directory with `x.c`, older than the calls so direct mode records it.
fn project(env: &TestEnv, source: &str) -> PathBuf {
    let dir = env.dir("p");
    write_old(&dir.join("x.c"), source);
    dir
}

fn write_old(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    set_age(path, 3600);
}

/// An ignored option changes neither key: a call that differs from an
/// earlier one only by such options is a direct hit; a `*` matches a prefix.
#[test]
fn ignored_options_are_left_out_of_the_key() {
    let env = TestEnv::new();
    let dir = project(&env, "int f(int x) { return x + 1; }\n");
    let ignore = [("CCACHE_IGNOREOPTIONS", "-Wall -fmessage-length=*")];
    compile(&env, &dir, "gcc", &["-fmessage-length=0"], &ignore);
    compile(
        &env,
        &dir,
        "gcc",
        &["-Wall", "-fmessage-length=80"],
        &ignore,
    );
    assert_eq!(outcomes(&env), (1, 0, 1), "{:?}", env.stats());
    // Not ignored: the same two calls miss.
    compile(&env, &dir, "gcc", &["-Wextra", "-fmessage-length=0"], &[]);
    compile(&env, &dir, "gcc", &["-Wextra", "-fmessage-length=80"], &[]);
    assert_eq!(outcomes(&env), (1, 0, 3), "{:?}", env.stats());
    // Only a trailing `*` is a wildcard, and only a whole option matches.
    let exact = [("CCACHE_IGNOREOPTIONS", "-fmessage-length -Wextr")];
    compile(
        &env,
        &dir,
        "gcc",
        &["-Wextra", "-fmessage-length=7"],
        &exact,
    );
    assert_eq!(outcomes(&env).2, 4, "{:?}", env.stats());
}

/// The preprocessor still gets an ignored option: in preprocessor mode a
/// `-D` that changes the source's meaning misses and builds the right object.
#[test]
fn ignored_options_still_reach_the_preprocessor_and_compiler() {
    let env = TestEnv::new();
    let dir = project(&env, "int value = VALUE;\n");
    let vars = [
        ("CCACHE_IGNOREOPTIONS", "-DVALUE=*"),
        ("CCACHE_NODIRECT", "1"),
    ];
    for (n, value) in ["-DVALUE=1", "-DVALUE=2"].iter().enumerate() {
        compile(&env, &dir, "gcc", &[value], &vars);
        let expected = plain_object("gcc", &dir, [*value, "-c", "x.c", "-o", "ref.o"], "ref.o");
        assert_bytes_eq(&read(&dir.join("x.o")), &expected, value);
        assert_eq!(outcomes(&env), (0, 0, n as u64 + 1), "{:?}", env.stats());
    }
    // Preprocessing alike, the ignored option's difference is no miss.
    fs::write(dir.join("x.c"), "int value = 3;\n").unwrap();
    compile(&env, &dir, "gcc", &["-DVALUE=1"], &vars);
    compile(&env, &dir, "gcc", &["-DVALUE=9"], &vars);
    assert_eq!(outcomes(&env), (0, 1, 3), "{:?}", env.stats());
}

/// The file an ignored option names is not in the key either: a changed
/// specs file behind an ignored `-specs=` is a hit, and a miss otherwise.
#[test]
fn files_named_by_ignored_options_are_not_hashed() {
    let env = TestEnv::new();
    let dir = project(&env, "int f(void) { return 7; }\n");
    let specs = dir.join("my.specs");
    let args = ["-specs=my.specs"];
    for (i, (ignore, misses)) in [("-specs=*", 1), ("-Wall", 2)].into_iter().enumerate() {
        let vars = [("CCACHE_IGNOREOPTIONS", ignore)];
        let before = env.misses();
        fs::write(&specs, "").unwrap();
        compile(&env, &dir, "gcc", &args, &vars);
        fs::write(&specs, format!("*unused{i}:\n-O0\n\n")).unwrap();
        compile(&env, &dir, "gcc", &args, &vars);
        assert_eq!(env.misses() - before, misses, "{ignore}: {:?}", env.stats());
    }
}

/// A compiler type objcache cannot analyse runs uncached, whether given
/// or guessed from the name (also through a symlink called `nvcc`).
#[test]
fn unsupported_compiler_types_run_uncached() {
    let env = TestEnv::new();
    let dir = project(&env, "int f(void) { return 1; }\n");
    let bin = env.dir("bin");
    std::os::unix::fs::symlink(which("gcc").unwrap(), bin.join("nvcc")).unwrap();
    let nvcc = bin.join("nvcc").display().to_string();
    for (cc, vars) in [
        ("gcc", vec![("CCACHE_COMPILERTYPE", "msvc")]),
        ("gcc", vec![("CCACHE_COMPILERTYPE", "clang-cl")]),
        (nvcc.as_str(), vec![]),
    ] {
        compile(&env, &dir, cc, &[], &vars);
        compile(&env, &dir, cc, &[], &vars);
        assert!(dir.join("x.o").exists());
    }
    let s = env.stats();
    assert_eq!(get(&s, "unsupported_compiler_option"), 6, "{s:?}");
    assert_eq!((get(&s, "cache_miss"), hits(&s)), (0, 0), "{s:?}");
    // As in ccache, a type it does not know is `auto`: not bad configuration.
    compile(
        &env,
        &dir,
        "gcc",
        &[],
        &[("CCACHE_COMPILERTYPE", "future-cc")],
    );
    assert_eq!(env.stat("bad_config"), 0, "{:?}", env.stats());
    assert_eq!(env.misses(), 1, "{:?}", env.stats());
    // An explicit supported type caches a compiler named like another.
    compile(&env, &dir, &nvcc, &[], &[("CCACHE_COMPILERTYPE", "gcc")]);
    compile(&env, &dir, &nvcc, &[], &[("CCACHE_COMPILERTYPE", "gcc")]);
    assert_eq!(outcomes(&env), (1, 0, 2), "{:?}", env.stats());
}

/// A clang behind a wrapper script whose name says nothing is keyed as
/// gcc unless compiler_type says clang: then the clang-only profile it
/// reads (`-fprofile-instr-use`) is in the key.
#[test]
fn explicit_compiler_type_overrides_the_guess() {
    require("clang");
    require("llvm-profdata");
    let env = TestEnv::new();
    let dir = project(&env, "int f(int x) { return x * 2; }\n");
    let bin = env.dir("bin");
    let mycc = script(&bin, "mycc", "exec clang \"$@\"\n");
    let mycc = mycc.display().to_string();
    let profile = |count: u32| {
        let text = format!("f\n# Func Hash:\n1\n# Num Counters:\n1\n# Counter Values:\n{count}\n");
        fs::write(dir.join("p.proftext"), text).unwrap();
        let out = plain(
            "llvm-profdata",
            &dir,
            ["merge", "-o", "p.profdata", "p.proftext"],
        );
        assert!(out.success(), "{}", out.dump());
    };
    let args = [
        "-fprofile-instr-use=p.profdata",
        "-Wno-profile-instr-out-of-date",
    ];
    let clang = [("CCACHE_COMPILERTYPE", "clang")];
    profile(1);
    compile(&env, &dir, &mycc, &args, &clang);
    compile(&env, &dir, &mycc, &args, &clang);
    assert_eq!(outcomes(&env), (1, 0, 1), "{:?}", env.stats());
    profile(500);
    compile(&env, &dir, &mycc, &args, &clang);
    assert_eq!(
        outcomes(&env),
        (1, 0, 2),
        "another profile: {:?}",
        env.stats()
    );
}

/// A compiler_check command runs once per compiler install, not per
/// compile; a new install (mtime) runs it again, and what it prints is in
/// the key.
#[test]
fn compiler_check_command_runs_once_per_compiler() {
    let env = TestEnv::new();
    let dir = project(&env, "int f(void) { return 2; }\n");
    let bin = env.dir("bin");
    let mygcc = script(&bin, "mygcc", "exec gcc \"$@\"\n");
    let ran = bin.join("ran");
    let version = bin.join("version");
    fs::write(&version, "1.0\n").unwrap();
    let check = script(
        &bin,
        "check.sh",
        &format!(
            "echo \"$1\" >> {}\ncat {}\n",
            ran.display(),
            version.display()
        ),
    );
    let check = format!("{} %compiler%", check.display());
    let vars = [("CCACHE_COMPILERCHECK", check.as_str())];
    let cc = mygcc.display().to_string();
    for _ in 0..3 {
        compile(&env, &dir, &cc, &[], &vars);
    }
    assert_eq!(outcomes(&env), (2, 0, 1), "{:?}", env.stats());
    let lines = fs::read_to_string(&ran).unwrap();
    assert_eq!(
        lines,
        format!("{cc}\n"),
        "the command ran once, given the compiler"
    );
    // A new install of the compiler, which reports another version.
    fs::write(&version, "2.0\n").unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(10);
    fs::File::options()
        .write(true)
        .open(&mygcc)
        .unwrap()
        .set_modified(later)
        .unwrap();
    compile(&env, &dir, &cc, &[], &vars);
    compile(&env, &dir, &cc, &[], &vars);
    assert_eq!(outcomes(&env), (3, 0, 2), "{:?}", env.stats());
    assert_eq!(fs::read_to_string(&ran).unwrap().lines().count(), 2);
}

/// `string:VALUE` is the compiler's identity: a new value misses. A
/// failing command is counted, and the call compiles uncached.
#[test]
fn compiler_check_string_and_failing_command() {
    let env = TestEnv::new();
    let dir = project(&env, "int f(void) { return 3; }\n");
    for value in ["string:1", "string:1", "string:2"] {
        compile(&env, &dir, "gcc", &[], &[("CCACHE_COMPILERCHECK", value)]);
    }
    assert_eq!(outcomes(&env), (1, 0, 2), "{:?}", env.stats());
    rm(&dir.join("x.o"));
    compile(&env, &dir, "gcc", &[], &[("CCACHE_COMPILERCHECK", "false")]);
    assert!(dir.join("x.o").exists());
    assert_eq!(env.stat("compiler_check_failed"), 1, "{:?}", env.stats());
    assert_eq!(outcomes(&env), (1, 0, 2), "{:?}", env.stats());
}

/// keep_comments_cpp: the preprocessor keeps comments, so a comment-only
/// change misses in preprocessor mode, and clang's -Wdocumentation
/// warnings about a doc comment are those of the comment as it is.
#[test]
fn kept_comments_are_in_the_preprocessed_key() {
    require("clang");
    let env = TestEnv::new();
    let dir = project(&env, "/** \\param x the value */\nint f(int x);\n");
    let call = Compile::new(
        &dir,
        "clang",
        &["-Wdocumentation", "-c", "x.c", "-o", "x.o"],
        "x.o",
    )
    .env("CCACHE_NODIRECT", "1")
    .env("CCACHE_COMMENTS", "1");
    call.check(&env);
    write_old(
        &dir.join("x.c"),
        "/** \\param y the value */\nint f(int x);\n",
    );
    let got = call.check(&env);
    assert!(
        got.out.stderr_str().contains("-Wdocumentation"),
        "{}",
        got.out.dump()
    );
    assert_eq!(outcomes(&env), (0, 0, 2), "{:?}", env.stats());
    // Without it, comments are not in the key.
    let plain_call =
        Compile::new(&dir, "clang", &["-c", "x.c", "-o", "x.o"], "x.o").env("CCACHE_NODIRECT", "1");
    plain_call.check(&env);
    write_old(&dir.join("x.c"), "/** another comment */\nint f(int x);\n");
    plain_call.check(&env);
    assert_eq!(outcomes(&env), (0, 1, 3), "{:?}", env.stats());
}

/// prefix_command: each word a prefix, run in order before the compiler;
/// the first is looked up in the `path` key's directories. A hit runs none.
#[test]
fn prefix_commands_run_in_order() {
    let env = TestEnv::new();
    let dir = project(&env, "int f(void) { return 4; }\n");
    let bin = env.dir("bin");
    let log = bin.join("log");
    let logged = |name: &str| format!("echo \"{name} $*\" >> {}\nexec \"$@\"\n", log.display());
    script(&bin, "first", &logged("first"));
    let second = script(&bin, "second", &logged("second"));
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let prefix = format!("first {}", second.display());
    let vars = [
        ("CCACHE_PREFIX", prefix.as_str()),
        ("CCACHE_PATH", path.as_str()),
    ];
    compile(&env, &dir, "gcc", &[], &vars);
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with(&format!("first {} /usr/bin/gcc", second.display())),
        "{text}"
    );
    assert!(lines[1].starts_with("second /usr/bin/gcc "), "{text}");
    assert!(!lines.iter().any(|l| l.contains(" -E")), "{text}");
    compile(&env, &dir, "gcc", &[], &vars);
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        text,
        "a hit runs no prefix"
    );
    // A first prefix that is nowhere fails a call that has to compile, as
    // in ccache.
    let mut cmd = env.objcache_in(&dir, ["gcc", "-O1", "-c", "x.c", "-o", "y.o"]);
    cmd.env("CCACHE_PREFIX", "no-such-prefix-xyz");
    let out = run(&mut cmd);
    assert_eq!(out.code(), Some(1), "{}", out.dump());
    assert!(
        out.stderr_str().contains("no-such-prefix-xyz"),
        "{}",
        out.dump()
    );
}

/// prefix_command_cpp prefixes the preprocessor runs only.
#[test]
fn prefix_command_cpp_wraps_only_the_preprocessor() {
    let env = TestEnv::new();
    let dir = project(&env, "int f(void) { return 5; }\n");
    let bin = env.dir("bin");
    let log = bin.join("log");
    let body = format!("echo \"cpp $*\" >> {}\nexec \"$@\"\n", log.display());
    let pcpp = script(&bin, "pcpp", &body).display().to_string();
    let vars = [
        ("CCACHE_PREFIX_CPP", pcpp.as_str()),
        ("CCACHE_NODIRECT", "1"),
    ];
    compile(&env, &dir, "gcc", &[], &vars);
    let text = fs::read_to_string(&log).unwrap();
    assert!(!text.is_empty());
    let gcc = which("gcc").unwrap().display().to_string();
    for line in text.lines() {
        assert!(
            line.starts_with(&format!("cpp {gcc} ")) && line.contains(" -E"),
            "{text}"
        );
    }
    assert!(dir.join("x.o").exists());
}

/// response_file_format: how `@file` is split decides the key. The two
/// files below are the same arguments for gcc (POSIX quoting) but not
/// with Windows quoting, where a backslash before a letter is kept.
#[test]
fn response_file_format_decides_how_files_are_split() {
    let env = TestEnv::new();
    let dir = project(&env, "int f(void) { return 6; }\n");
    let run_with = |text: &str, format: Option<&str>| {
        fs::write(dir.join("args.rsp"), text).unwrap();
        let vars: Vec<(&str, &str)> = format
            .map(|f| vec![("CCACHE_RESPONSE_FILE_FORMAT", f)])
            .unwrap_or_default();
        compile(&env, &dir, "gcc", &["@args.rsp"], &vars);
    };
    for (i, format) in [None, Some("posix")].into_iter().enumerate() {
        let before = env.stat("direct_cache_hit");
        run_with(&format!("-DA{i}=x\\y -DB='b c'"), format);
        run_with(&format!("-DA{i}=xy -DB=\"b c\""), format);
        assert_eq!(env.stat("direct_cache_hit"), before + 1, "{format:?}");
    }
    let before = outcomes(&env);
    run_with("-DA=x\\y", Some("windows"));
    run_with("-DA=xy", Some("windows"));
    let after = outcomes(&env);
    assert_eq!(after.0, before.0, "no direct hit: {:?}", env.stats());
}

/// Each key is set by its variable and shown by `-p`; a bad boolean names
/// the key and where it was set.
#[test]
fn keys_show_their_values_and_origins() {
    let env = TestEnv::new();
    for (key, var, value) in [
        ("ignore_options", "CCACHE_IGNOREOPTIONS", "-Wall -f*"),
        ("compiler_type", "CCACHE_COMPILERTYPE", "clang"),
        ("compiler_check", "CCACHE_COMPILERCHECK", "%compiler% -v"),
        ("keep_comments_cpp", "CCACHE_COMMENTS", "true"),
        ("cpp_extension", "CCACHE_EXTENSION", "ii"),
        ("prefix_command", "CCACHE_PREFIX", "a b"),
        ("prefix_command_cpp", "CCACHE_PREFIX_CPP", "c"),
        (
            "response_file_format",
            "CCACHE_RESPONSE_FILE_FORMAT",
            "windows",
        ),
        ("msvc_dep_prefix", "CCACHE_MSVC_DEP_PREFIX", "Note:"),
    ] {
        let out = run_ok(env.objcache().env(var, value).arg("-p")).stdout_str();
        let line = format!("(environment) {key} = {value}");
        // Keys that change nothing are accepted (and `-k` shows them), but
        // `-p` lists only the keys in effect.
        let inert = matches!(key, "cpp_extension" | "msvc_dep_prefix");
        assert_eq!(out.lines().any(|l| l == line), !inert, "{line}:\n{out}");
        let k = run_ok(env.objcache().env(var, value).args(["-k", key])).stdout_str();
        assert_eq!(k.trim(), value, "-k {key}");
    }
    fs::create_dir_all(&env.cache_dir).unwrap();
    fs::write(
        env.cache_dir.join("ccache.conf"),
        "\nkeep_comments_cpp = yes\n",
    )
    .unwrap();
    let out = run(env.objcache().args(["-k", "keep_comments_cpp"]));
    assert!(!out.success());
    assert!(
        out.stderr_str()
            .contains("ccache.conf:2: keep_comments_cpp"),
        "{}",
        out.dump()
    );
}
