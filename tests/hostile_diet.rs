//! The hit path's fast parsers and its reused zstd context, attacked as a
//! hostile neighbour would: stats shards other writers left behind, `.d`
//! files whose names need escaping only once relocated, odd `CCACHE_`
//! variables, and corrupt entries read with the thread's one context.
//! Each result is compared with plain gcc's output, or with what the
//! readers before the rewrite made of the same bytes.

use crate::common::*;
use std::fs;
use std::path::Path;

const SOURCE: &str = "#include \"h.h\"\n#include \"./h.h\"\nint f(void) { return H; }\n";
const HEADER: &str = "#ifndef H\n#define H 7\n#endif\n";

fn project(dir: &Path) {
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("src/main.c"), SOURCE).unwrap();
    fs::write(dir.join("src/h.h"), HEADER).unwrap();
}

fn shard(env: &TestEnv, i: u8) -> std::path::PathBuf {
    let dir = env.cache_dir.join("objcache-stats");
    fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{i:x}"))
}

/// Shards in the forms other writers leave: each counts what the reader
/// before the one-pass parser counted (a damaged file still counts its
/// good lines), and a hit adds exactly one.
#[test]
fn shards_of_other_writers_count_what_they_say_and_a_hit_adds_one() {
    let env = TestEnv::new();
    let long = format!("direct_cache_hit 5\n{}\n", "x".repeat(20_000));
    let texts: [(&[u8], u64); 8] = [
        // CRLF: `end\r` is not the end line; the counts stand.
        (b"direct_cache_hit 3\r\nend\r\n", 3),
        // ccache's own format: numbers, one a line.
        (b"0\n0\n7\n0\n12\n", 0),
        (b"direct_cache_hit 2\nna\0me 1\nend\n", 2),
        (b"direct_cache_hit 00000000000000000000000000004\nend\n", 4),
        (
            b"compile_failed 18446744073709551615\ndirect_cache_hit 1\nend\n",
            1,
        ),
        (long.as_bytes(), 5),
        // Cut mid-line by a writer that died.
        (b"direct_cache_hit 6\ncache_mi", 6),
        (b"direct_cache_hit\t+8 \nend\n", 8),
    ];
    for (i, (text, _)) in texts.iter().enumerate() {
        fs::write(shard(&env, i as u8), text).unwrap();
    }
    let said: u64 = texts.iter().map(|(_, n)| n).sum();
    assert_eq!(env.stat("direct_cache_hit"), said);
    assert_eq!(env.stat("compile_failed"), u64::MAX);

    let dir = env.dir("p");
    project(&dir);
    let unit = Compile::new(&dir, "gcc", &["-c", "src/main.c", "-o", "main.o"], "main.o");
    unit.check(&env);
    unit.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), said + 1);
    assert_eq!(env.stat("cache_miss"), 1);
    assert_eq!(env.stat("compile_failed"), u64::MAX);
}

/// N hits at once, many on the same shard: N more hits counted.
#[test]
fn parallel_hits_add_up() {
    let env = TestEnv::new();
    let dir = env.dir("p");
    project(&dir);
    let a = args(&["-c", "src/main.c", "-o", "main.o"]);
    let want = plain_object("gcc", &dir, &a, "main.o");
    Compile::new(&dir, "gcc", &a, "main.o").check_obj(&env, &want);
    const N: usize = 12;
    let outs: Vec<Out> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let env = &env;
                let dir = &dir;
                s.spawn(move || {
                    let obj = format!("m{i}.o");
                    let mut cmd =
                        env.objcache_in(dir, ["gcc", "-c", "src/main.c", "-o", obj.as_str()]);
                    run(&mut cmd)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, out) in outs.iter().enumerate() {
        assert!(out.success(), "{}", out.dump());
        assert_bytes_eq(&read(&dir.join(format!("m{i}.o"))), &want, "parallel hit");
    }
    assert_eq!(env.hits(), N as u64);
    assert_eq!(env.misses(), 1);
    assert_eq!(env.stat("corrupt_stats_file"), 0);
}

/// The args of a compile of `tree` with absolute paths (given to the
/// compiler absolute when they need quoting in a `.d`), a `.d` with phony
/// targets, a header included by two spellings and a quoted target.
fn dep_args(tree: &Path) -> Vec<String> {
    let t = tree.to_str().unwrap();
    vec![
        "-c".into(),
        format!("{t}/src/main.c"),
        "-o".into(),
        "main.o".into(),
        format!("-I{t}/src"),
        "-MD".into(),
        "-MP".into(),
        "-MF".into(),
        "main.d".into(),
        "-MQ".into(),
        "q$ x.o".into(),
    ]
}

/// The call building `tree` in `tree/out` with base_dir `base`.
fn dep_build(tree: &Path, base: &Path) -> Compile {
    let out = tree.join("out");
    fs::create_dir_all(&out).unwrap();
    Compile::new(&out, "gcc", &dep_args(tree), "main.o")
        .dep("main.d")
        .env("CCACHE_BASEDIR", base.to_str().unwrap())
}

/// A tree under base_dir whose path needs quoting in a `.d` (so the
/// compiler is given it absolute), copied to another such path under the
/// same base_dir: the hit's `.d` is gcc's own for the new tree.
#[test]
fn relocated_depfile_with_names_needing_escapes_is_gccs() {
    require("gcc");
    let env = TestEnv::new();
    let base = env.dir("ws");
    let first = base.join("a #1");
    project(&first);
    dep_build(&first, &base).check(&env);
    let moved = base.join("b #2");
    copy_dir(&first, &moved);
    let got = dep_build(&moved, &base).check(&env);
    let dep = String::from_utf8(got.dep.unwrap()).unwrap();
    assert!(dep.contains("b\\ \\#2/src/h.h"), "{dep}");
    assert_eq!(env.hits(), 1, "the moved tree hits");
}

/// The CI case with a base_dir per workspace: the workspace restored at
/// another path, base_dir its new path. Had the two calls shared a key,
/// the hit's `.d` would name the old workspace's files (not under this
/// call's base_dir, so not re-rooted), which make then looks for.
#[test]
fn a_workspace_with_its_own_base_dir_elsewhere_gets_its_own_depfile() {
    require("gcc");
    let env = TestEnv::new();
    let first = env.dir("r/a b/ws");
    project(&first);
    dep_build(&first, &first).check(&env);
    let moved = env.dir("r/c d/ws");
    copy_dir(&first, &moved);
    let got = dep_build(&moved, &moved).check(&env);
    let dep = String::from_utf8(got.dep.unwrap()).unwrap();
    assert!(!dep.contains("a\\ b"), "{dep}");
}

/// A result entry whose frame fails to decompress, read after a good
/// manifest with the thread's one zstd context: a miss that compiles,
/// and the entry it stores then hits with the same context.
#[test]
fn a_failed_frame_does_not_poison_the_next_decompression() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("p");
    project(&dir);
    let a = args(&["-c", "src/main.c", "-o", "main.o", "-MD", "-MP"]);
    let unit = Compile::new(&dir, "gcc", &a, "main.o").dep("main.d");
    unit.check(&env);
    // Damage every result entry (not the manifests): the call reads a
    // good manifest, fails on the result's frame, compiles, and the
    // next call decompresses both with the same thread's context.
    let mut damaged = 0;
    for f in cache_entry_files(&env.cache_dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with('R') {
            let mut bytes = read(&f);
            let n = bytes.len();
            for b in &mut bytes[n / 2..] {
                *b ^= 0x5a;
            }
            fs::write(&f, bytes).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0, "no result entry found");
    unit.check(&env);
    unit.check(&env);
    assert_eq!(env.hits(), 1);
    assert_eq!(env.misses(), 2);
}

/// `-p`'s lines other than the defaults, with `vars` set.
fn shown(env: &TestEnv, vars: &[(&std::ffi::OsStr, &std::ffi::OsStr)]) -> Vec<String> {
    let mut cmd = env.objcache();
    cmd.arg("-p").envs(vars.iter().copied());
    let out = run_ok(&mut cmd);
    let text = out.stdout_str();
    text.lines()
        .filter(|l| !l.starts_with("(default)"))
        .map(str::to_string)
        .collect()
}

/// `CCACHE_` variables around the ends of the sorted list of known names
/// (`ABSSTDERR` first, `UMASK` last), in odd case, negated, empty or not
/// text: read as 575ead9 read them (its `-p` printed these very lines).
#[test]
fn variables_at_the_edges_of_the_lookup_are_read_as_before() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    let dir = env.cache_dir.to_str().unwrap().to_string();
    let s = |t: &'static str| OsStr::new(t);
    let got = shown(
        &env,
        &[
            (s("CCACHE_AAAA"), s("1")),
            (s("CCACHE_ABSSTDERR"), s("yes")),
            (s("CCACHE_ABSSTDERRX"), s("1")),
            (s("CCACHE_UMASK"), s("027")),
            (s("CCACHE_UMASKZ"), s("1")),
            (s("CCACHE_ZZZZ"), s("1")),
            (s("CCACHE_umask"), s("000")),
            (s("ccache_umask"), s("000")),
            (s("ccache_dir"), s("/nonexistent/x")),
            (s("CCACHE_NOUMASK"), s("1")),
            (s("CCACHE_BASEDIR"), OsStr::from_bytes(b"/a\xff")),
            (OsStr::from_bytes(b"CCACHE_\xffX"), s("1")),
        ],
    );
    assert_eq!(
        got,
        [
            "(environment) absolute_paths_in_stderr = true".to_string(),
            format!("(environment) cache_dir = {dir}"),
            "(environment) umask = 027".to_string(),
        ]
    );
    let got = shown(
        &env,
        &[
            (s("CCACHE_NOABSSTDERR"), s("")),
            (s("CCACHE_ABSSTDERR"), s("")),
            (s("CCACHE_UMASK"), s("")),
            (s("CCACHE_NODIRECT"), s("1")),
            (s("CCACHE_DIRECT"), s("1")),
            (s("CCACHE_NODEPEND"), s("")),
        ],
    );
    assert_eq!(
        got,
        [
            "(environment) absolute_paths_in_stderr = false".to_string(),
            format!("(environment) cache_dir = {dir}"),
            "(environment) depend_mode = false".to_string(),
            "(environment) direct_mode = false".to_string(),
            "(environment) umask = ".to_string(),
        ]
    );
}

/// A compiler (a wrapper) that writes its `.d` with CRLF: a hit in the
/// same place gives it back as written; one in another checkout, which
/// cannot re-render it, compiles instead of writing a wrong one.
#[test]
fn a_depfile_written_with_crlf_is_given_back_as_written() {
    require("gcc");
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let bin = env.dir("bin");
    let real = which("gcc").unwrap();
    let wrapper = bin.join("gcc");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n{} \"$@\" || exit $?\n[ ! -f main.d ] || sed -i 's/\\r*$/\\r/' main.d\n",
            real.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let cc = wrapper.to_str().unwrap();
    let base = env.dir("ws");
    for (tree, hits) in [("a", 0), ("a", 1), ("b", 1)] {
        let root = base.join(tree);
        if !root.exists() {
            project(&root);
        }
        let a = args(&[
            "-c",
            "src/main.c",
            "-o",
            "main.o",
            "-MD",
            "-MP",
            "-MF",
            "main.d",
        ]);
        let unit = Compile::new(&root, cc, &a, "main.o")
            .dep("main.d")
            .env("CCACHE_BASEDIR", base.to_str().unwrap());
        let got = unit.check(&env);
        assert!(got.dep.unwrap().ends_with(b":\r\n"));
        assert_eq!(env.hits(), hits, "after {tree}: {:?}", env.stats());
    }
}

/// As above with plain paths: a `CPATH` directory under each workspace's
/// own base_dir puts its headers into the `.d` by absolute path, and the
/// preprocessed key related them to base_dir alone: the second workspace
/// hit in preprocessor mode and got the first one's `.d`.
#[test]
fn a_cpath_header_under_another_workspaces_base_dir_is_not_named() {
    require("gcc");
    let env = TestEnv::new();
    for ws in ["one/ws", "two/ws"] {
        let root = env.dir(ws);
        fs::create_dir_all(root.join("src")).unwrap();
        fs::create_dir_all(root.join("inc")).unwrap();
        fs::write(
            root.join("src/m.c"),
            "#include \"c.h\"\nint f(void) { return C; }\n",
        )
        .unwrap();
        fs::write(root.join("inc/c.h"), "#define C 3\n").unwrap();
        let a = args(&["-c", "src/m.c", "-o", "m.o", "-MD", "-MF", "m.d"]);
        let inc = root.join("inc");
        let got = Compile::new(&root, "gcc", &a, "m.o")
            .dep("m.d")
            .env("CCACHE_BASEDIR", root.to_str().unwrap())
            .env("CPATH", inc.to_str().unwrap());
        // The plain compiler sees CPATH too.
        let mut cmd = std::process::Command::new("gcc");
        clean_env(&mut cmd);
        cmd.current_dir(&root).args(&a).env("CPATH", &inc);
        let plain = run(&mut cmd);
        assert!(plain.success(), "{}", plain.dump());
        let want = read(&root.join("m.d"));
        let got = got.cached(&env);
        assert_bytes_eq(got.dep.as_ref().unwrap(), &want, &format!("the .d in {ws}"));
    }
}
