//! A hostile review of the timestamp-string rule, the precompiled-header
//! search, `-z`'s stamp, the memo trimming and the bookkeeping line of
//! `--show-usage`: each test is a way one of them gave a wrong object or a
//! wrong figure.

use crate::common::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A header that pastes `__TIMESTAMP__` together (direct mode sees no
/// name) gives its own mtime: a preprocessed hit, like a miss, must not
/// record such a compile for direct mode, or a later call with the header
/// touched to another time replays the old stamp.
#[test]
fn a_preprocessed_hit_records_no_compile_that_shows_a_timestamp() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(
        &dir.join("stamp.h"),
        "#define CAT(a, b) a##b\nconst char *stamp = CAT(__TIME, STAMP__);\n",
    );
    write_file(
        &dir.join("a.c"),
        "#include \"stamp.h\"\nint f(void) { return 1; }\n",
    );
    // An hour old: no "time of day within the last ten minutes".
    set_age(&dir.join("stamp.h"), 3600);
    set_age(&dir.join("a.c"), 3600);
    let c = Compile::new(&dir, "gcc", &["-c", "a.c", "-o", "a.o"], "a.o");
    c.check(&env);
    c.check(&env);
    assert_eq!(env.stat("preprocessed_cache_hit"), 1, "{:?}", env.stats());
    set_age(&dir.join("stamp.h"), 7200);
    c.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 0, "{:?}", env.stats());
}

/// A header whose name is not UTF-8 is still a header the compile read:
/// direct mode must not record the compile without it (it did, so an
/// edit of the header was a direct hit with the old object).
#[test]
fn a_header_whose_name_is_not_utf8_is_never_left_out() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    let dir = env.dir("w");
    let header = dir.join(std::ffi::OsStr::from_bytes(b"h\xff.h"));
    fs::write(&header, "int v = 1;\n").unwrap();
    fs::write(
        dir.join("a.c"),
        b"#include \"h\xff.h\"\nint f(void) { return v; }\n",
    )
    .unwrap();
    set_age(&header, 3600);
    set_age(&dir.join("a.c"), 3600);
    let c = Compile::new(&dir, "gcc", &["-c", "a.c", "-o", "a.o"], "a.o");
    c.check(&env);
    c.check(&env);
    fs::write(&header, "int v = 2;\n").unwrap();
    set_age(&header, 1800);
    c.check(&env);
}

/// Builds a precompiled header defining `V` as `value` at `gch`.
fn pch(dir: &Path, value: u32, gch: &Path) {
    let text = dir.join("pch-source.h");
    fs::write(&text, format!("#define V {value}\n")).unwrap();
    let out = run(Command::new("gcc")
        .current_dir(dir)
        .args(["-x", "c-header"])
        .arg(&text)
        .arg("-o")
        .arg(gch));
    assert!(out.success(), "building {}: {}", gch.display(), out.dump());
}

/// `a.c` (`preamble`, then a use of `V`) compiled with `options`: a miss,
/// a hit, and after the precompiled header at `gch` is rebuilt with
/// another value, the object gcc then writes.
fn compiled_around_a_rebuilt_pch(
    env: &TestEnv,
    dir: &Path,
    preamble: &str,
    options: &[&str],
    gch: &Path,
) {
    write_file(
        &dir.join("a.c"),
        &format!("{preamble}int f(void) {{ return V; }}\n"),
    );
    set_age(&dir.join("a.c"), 3600);
    let mut args: Vec<&str> = options.to_vec();
    args.extend(["-c", "a.c", "-o", "a.o"]);
    let c = Compile::new(dir, "gcc", &args, "a.o");
    c.check(env);
    c.check(env);
    pch(dir, 3, gch);
    c.check(env);
}

/// gcc searches include directories by chain, not in the options' order:
/// `-iquote` only for `"…"`, `-I` before `-isystem`, and after `-I-` the
/// `-I`s before it for `"…"` only, never the source's own directory. The
/// search for `.gch` files that stopped at the first directory holding the
/// header, in the options' order, stopped before the `.gch` gcc read, so
/// a rebuilt precompiled header was a hit with the old object.
#[test]
fn a_gch_gcc_finds_before_the_header_is_hashed_whatever_the_option_order() {
    let cases: [(&[&str], &str, &str); 3] = [
        (&["-iquote", "q", "-I", "i"], "<h.h>", "i"),
        (&["-isystem", "q", "-I", "i"], "<h.h>", "i"),
        (&["-Ii", "-I-", "-Iq"], "\"h.h\"", "i"),
    ];
    for (options, include, gch_dir) in cases {
        let env = TestEnv::new();
        let dir = env.dir("w");
        for d in ["q", "i", "."] {
            write_file(&dir.join(d).join("h.h"), "#define V 1\n");
            set_age(&dir.join(d).join("h.h"), 3600);
        }
        let gch = dir.join(gch_dir).join("h.h.gch");
        pch(&dir, 2, &gch);
        compiled_around_a_rebuilt_pch(&env, &dir, &format!("#include {include}\n"), options, &gch);
    }
}

/// A wrapper `gcc` that, for the compile (not `-E`, not `-v`), writes
/// `started` and waits (up to 30 s) for `go` before running gcc: a test
/// changes files while the compiler runs.
fn paused_gcc(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\ncase \" $* \" in *\" -E \"*|*\" -v \"*) ;; *)\n  touch '{d}/started'\n  n=0\n  while [ ! -e '{d}/go' ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n+1)); done;;\nesac\nexec gcc \"$@\"\n",
        d = dir.display()
    );
    let gcc = bin.join("gcc");
    fs::write(&gcc, script).unwrap();
    fs::set_permissions(&gcc, fs::Permissions::from_mode(0o755)).unwrap();
    gcc
}

/// Waits (up to 30 s) for `path` to exist.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A `.gch` that a parallel job writes while the compiler runs is read by
/// the compile, after objcache made the key without it: such a compile
/// must not be stored, or once the `.gch` is gone again the key without it
/// serves an object built from it.
#[test]
fn a_gch_written_while_the_compiler_runs_keeps_the_result_out() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    write_file(&dir.join("pch.h"), "#define V 1\n");
    write_file(
        &dir.join("a.c"),
        "#include \"pch.h\"\nint f(void) { return V; }\n",
    );
    set_age(&dir.join("pch.h"), 3600);
    set_age(&dir.join("a.c"), 3600);
    let gcc = paused_gcc(&dir);
    let gcc = gcc.to_str().unwrap();
    let mut call = env.objcache_in(&dir, [gcc, "-c", "a.c", "-o", "a.o"]);
    let child = call.spawn().unwrap();
    wait_for(&dir.join("started"));
    pch(&dir, 2, &dir.join("pch.h.gch"));
    fs::write(dir.join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    fs::remove_file(dir.join("pch.h.gch")).unwrap();
    let c = Compile::new(&dir, "gcc", &["-c", "a.c", "-o", "a.o"], "a.o");
    let expected = c.plain().obj;
    let cached = Compile::new(&dir, gcc, &["-c", "a.c", "-o", "a.o"], "a.o");
    cached.check_obj(&env, &expected);
    assert_eq!(env.stat("modified_input_file"), 1, "{:?}", env.stats());
}

/// `kind_bookkeeping_files` and `_kibibyte` of `--print-usage`, against a
/// walk of every regular file outside the buckets `<x>/<y>/` that is no
/// temp file, with its disk space as `du` counts it (the cache dir holds
/// only objcache's and ccache's directories).
fn bookkeeping_against_a_walk(env: &TestEnv, when: &str) {
    use std::os::unix::fs::MetadataExt;
    let out = run_ok(env.objcache().arg("--print-usage"));
    let usage = parse_print_stats(&out.stdout_str());
    let shown = (
        get(&usage, "kind_bookkeeping_files"),
        get(&usage, "kind_bookkeeping_kibibyte"),
    );
    let hex = |s: &std::ffi::OsStr| {
        let s = s.to_string_lossy();
        s.len() == 1 && s.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let mut walked = (0, 0);
    for path in walk_files(&env.cache_dir) {
        let rel = path.strip_prefix(&env.cache_dir).unwrap();
        let parts: Vec<_> = rel.iter().collect();
        let in_bucket = parts.len() > 2 && hex(parts[0]) && hex(parts[1]);
        let name = rel.file_name().unwrap().to_string_lossy();
        if in_bucket || name.starts_with(".objcache-tmp.") {
            continue;
        }
        walked.0 += 1;
        walked.1 += fs::metadata(&path).unwrap().blocks() * 512 / 1024;
    }
    assert_eq!(
        shown,
        walked,
        "bookkeeping (files, KiB) {when}:\n{}",
        out.stdout_str()
    );
}

/// The "bookkeeping (no limit)" line is there so that the usage report adds
/// up to what the cache dir takes. A ccache sharing the directory keeps
/// files outside the buckets too (`<x>/stats`, `<x>/CACHEDIR.TAG`,
/// `tmp/`, `lock/`), which the line left out; it now holds them, after
/// compiles, `-z`, `-c` and `-C` alike.
#[test]
fn the_bookkeeping_line_holds_every_file_outside_the_buckets() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    for i in 0..3 {
        write_file(
            &dir.join(format!("a{i}.c")),
            &format!("int f{i}(void) {{ return {i}; }}\n"),
        );
        let obj = format!("a{i}.o");
        Compile::new(&dir, "gcc", &["-c", &format!("a{i}.c"), "-o", &obj], &obj).check(&env);
    }
    bookkeeping_against_a_walk(&env, "after compiles");
    // What ccache 4.7.5 leaves outside the buckets of a directory it shares.
    let c = &env.cache_dir;
    write_file(&c.join("5/stats"), "0\n0\n0\n0\n0\n0\n0\n0\n0\n0\n");
    write_file(
        &c.join("5/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    );
    write_file(&c.join("tmp/.cleaned"), "");
    write_file(&c.join("lock/auto_cleanup.lock"), "x");
    bookkeeping_against_a_walk(&env, "beside ccache's files");
    for (what, arg) in [("after -z", "-z"), ("after -c", "-c"), ("after -C", "-C")] {
        run_ok(env.objcache().arg(arg));
        bookkeeping_against_a_walk(&env, what);
    }
}

/// gcc's and clang's long spellings of `-include` and `-I`
/// (`--include=pch.h`, `--include-directory=i`) were options objcache did
/// not know: the `.gch` they lead gcc to was never hashed, so a rebuilt
/// one was a hit with the old object.
#[test]
fn a_gch_found_through_the_long_option_spellings_is_hashed() {
    let cases: [(&[&str], &str, &str); 3] = [
        (&["--include=pch.h"], "", "pch.h.gch"),
        (&["--include", "pch.h"], "", "pch.h.gch"),
        (&["--include-directory=i"], "#include <h.h>\n", "i/h.h.gch"),
    ];
    for (options, include, gch) in cases {
        let env = TestEnv::new();
        let dir = env.dir("w");
        for header in ["pch.h", "i/h.h"] {
            write_file(&dir.join(header), "#define V 1\n");
            set_age(&dir.join(header), 3600);
        }
        let gch = dir.join(gch);
        pch(&dir, 2, &gch);
        compiled_around_a_rebuilt_pch(&env, &dir, include, options, &gch);
        assert!(env.hits() >= 1, "{options:?} never hit: {:?}", env.stats());
    }
}

/// gcc uses a precompiled header for an `#include` before the first token
/// whatever spells its name: a macro from `-D`, a `#define` before it, a
/// function-like macro. Only literal names were searched, so a rebuilt
/// `.gch` named through a macro was a hit with the old object.
#[test]
fn a_gch_named_through_a_macro_is_hashed() {
    let cases: [(&[&str], &str); 3] = [
        (&["-DPCH=\"pch.h\""], "#include PCH\n"),
        (&[], "#define PCH \"pch.h\"\n#include PCH\n"),
        (
            &[],
            "#define Q(x) #x\n#define NAME(x) Q(x.h)\n#include NAME(pch)\n",
        ),
    ];
    for (options, preamble) in cases {
        let env = TestEnv::new();
        let dir = env.dir("w");
        write_file(&dir.join("pch.h"), "#define V 1\n");
        set_age(&dir.join("pch.h"), 3600);
        pch(&dir, 2, &dir.join("pch.h.gch"));
        compiled_around_a_rebuilt_pch(&env, &dir, preamble, options, &dir.join("pch.h.gch"));
    }
}

/// The object of `gcc -c a.c -o a.o` in `dir` with `var=value`, plain.
fn plain_with(dir: &Path, var: &str, value: &Path) -> Vec<u8> {
    let mut cmd = Command::new("gcc");
    clean_env(&mut cmd).env(var, value);
    let out = run(cmd.current_dir(dir).args(["-c", "a.c", "-o", "a.o"]));
    assert!(out.success(), "{}", out.dump());
    let obj = read(&dir.join("a.o"));
    rm(&dir.join("a.o"));
    obj
}

/// gcc searches the directories of `CPATH` (as `-I`s) and
/// `C_INCLUDE_PATH` (as `-isystem`s) too, `.gch` files included: those
/// were never hashed, so a rebuilt one was a hit with the old object.
#[test]
fn a_gch_in_a_directory_of_cpath_is_hashed() {
    for var in ["CPATH", "C_INCLUDE_PATH"] {
        let env = TestEnv::new();
        let dir = env.dir("w");
        let inc = dir.join("inc");
        write_file(&inc.join("h.h"), "#define V 1\n");
        set_age(&inc.join("h.h"), 3600);
        let gch = inc.join("h.h.gch");
        pch(&dir, 2, &gch);
        write_file(
            &dir.join("a.c"),
            "#include <h.h>\nint f(void) { return V; }\n",
        );
        set_age(&dir.join("a.c"), 3600);
        let c = Compile::new(&dir, "gcc", &["-c", "a.c", "-o", "a.o"], "a.o")
            .env(var, inc.to_str().unwrap());
        for round in 0..3 {
            if round == 2 {
                pch(&dir, 3, &gch);
            }
            let expected = plain_with(&dir, var, &inc);
            c.check_obj(&env, &expected);
        }
        assert!(env.hits() >= 1, "{var}: never a hit: {:?}", env.stats());
    }
}
