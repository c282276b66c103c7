//! Tests of ccache 4.7.5's own suite that objcache now passes, each with
//! the correctness it rests on:
//!
//! - depend mode and `.d` relocation with file names in make's escaping
//!   (`\ `, `$$`, `\#`): the files the `.d` names are the files hashed, and
//!   the `.d` written is the plain compiler's (depend 7);
//! - `UNCACHED_ERR_FD`: what the preprocessor and compiler write to it
//!   reaches the user at once and is never replayed (base 91, nocpp2 91);
//! - `hard_link` links the compiler's output into the cache on a miss
//!   (hardlink 1); whatever later writes into the output, no hit serves
//!   other bytes than the compiler's and no compile writes into the cache;
//! - `recache` leaves a manifest that already leads to the recompiled
//!   result byte for byte, and adds to it when the inputs differ (direct 69);
//! - a bad `remote_storage` URL is named with the fragment of ccache's
//!   message that users and scripts look for, secrets masked, and the
//!   compile still succeeds (remote_url 3-6).

use crate::common::direct_mode::settle;
use crate::common::*;
use std::fs;
use std::path::Path;

const SPECIAL: &str = "file with$special#characters";

/// `name` holding `int v_<name's letters> = value;`.
fn header(dir: &Path, name: &str, value: u32) {
    let var: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    fs::write(dir.join(name), format!("int v_{var} = {value};\n")).unwrap();
}

/// Depend mode reads the `.d` of a source and a header whose names need
/// make's escapes; the header's content is in the key: a changed header
/// misses and gives the plain compiler's object.
#[test]
fn depend_mode_reads_escaped_names() {
    for cc in ["gcc", "clang"] {
        if !have(cc) {
            eprintln!("skipping {cc}: not installed");
            continue;
        }
        let env = TestEnv::new();
        let dir = env.dir("w");
        header(&dir, "sp ace$#.h", 1);
        fs::write(
            dir.join(format!("{SPECIAL}.c")),
            "#include \"sp ace$#.h\"\nint main(void) { return 0; }\n",
        )
        .unwrap();
        let src = format!("{SPECIAL}.c");
        let u = Compile::new(&dir, cc, &["-MMD", "-c", &src], &format!("{SPECIAL}.o"))
            .dep(&format!("{SPECIAL}.d"))
            .env("CCACHE_DEPEND", "1");
        settle();
        u.check(&env);
        assert_eq!((env.hits(), env.misses()), (0, 1), "{cc}: first call");
        assert_eq!(env.stat("bad_input_file"), 0, "{cc}");
        settle();
        u.check(&env);
        assert_eq!((env.hits(), env.misses()), (1, 1), "{cc}: second call");
        header(&dir, "sp ace$#.h", 2);
        settle();
        u.check(&env);
        assert_eq!(
            (env.hits(), env.misses()),
            (1, 2),
            "{cc}: the header with the escaped name is in the key"
        );
    }
}

/// gcc writes a header named `tr\` followed by the next name `x.h` as
/// `tr\ x.h`, the same bytes as the name `tr x.h`. With all three files
/// there, depend mode must not take `tr x.h` for what was read: a change
/// to `tr\` must never hit.
#[test]
fn depend_mode_never_misreads_a_name_ending_in_a_backslash() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    header(&dir, "tr\\", 1);
    header(&dir, "x.h", 1);
    header(&dir, "tr x.h", 1);
    fs::write(
        dir.join("t.c"),
        "#include \"tr\\\"\n#include \"x.h\"\nint main(void) { return 0; }\n",
    )
    .unwrap();
    let u = Compile::new(&dir, "gcc", &["-MMD", "-c", "t.c"], "t.o")
        .dep("t.d")
        .env("CCACHE_DEPEND", "1");
    settle();
    u.check(&env);
    header(&dir, "tr\\", 2);
    settle();
    u.check(&env);
    assert_eq!(env.hits(), 0, "the changed `tr\\` was not in the key");
}

/// A checkout in a directory whose name needs make's escapes, copied to
/// another such directory under base_dir: a direct hit there, with the
/// `.d` the plain compiler writes for the user's absolute `-I` and `-MF`
/// (the compiler, given relative paths, wrote names without escapes for
/// `inc`; the user's spelling needs them).
#[test]
fn relocated_depfile_with_escaped_names() {
    for (cc, inc_dir) in [
        ("gcc", "in c"),
        ("gcc", "inc"),
        ("clang", "in c"),
        ("clang", "inc"),
    ] {
        if !have(cc) {
            eprintln!("skipping {cc}: not installed");
            continue;
        }
        let env = TestEnv::new();
        let root = env.root().canonicalize().unwrap();
        for (n, tree) in ["a one$#", "b two$#"].iter().enumerate() {
            let proj = root.join(tree);
            fs::create_dir_all(proj.join(inc_dir)).unwrap();
            header(&proj.join(inc_dir), "h 1.h", 1);
            fs::write(
                proj.join("m.c"),
                "#include \"h 1.h\"\nint main(void) { return 0; }\n",
            )
            .unwrap();
            let inc = format!("-I{}", proj.join(inc_dir).display());
            let dep = proj.join("m.d").display().to_string();
            let u = Compile::new(&proj, cc, &[&inc, "-MMD", "-MF", &dep, "-c", "m.c"], "m.o")
                .dep("m.d")
                .env("CCACHE_BASEDIR", root.to_str().unwrap());
            settle();
            u.check(&env);
            assert_eq!(
                (env.hits(), env.misses()),
                (n as u64, 1),
                "{cc}: call in {tree}/{inc_dir}"
            );
        }
    }
}

/// A compiler script writing to stderr (stored, replayed on hits) and to
/// `UNCACHED_ERR_FD` (shown once, never stored), as ccache's suite does.
#[test]
fn uncached_err_fd_reaches_the_user_and_is_not_stored() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    executable(
        &dir.join("compiler.sh"),
        "#!/bin/sh\n\
         if [ \"$1\" = \"-E\" ]; then\n\
         echo preprocessed\n\
         printf ${N}Pu >&$UNCACHED_ERR_FD\n\
         else\n\
         echo compiled >t.o\n\
         printf ${N}Cc >&2\n\
         printf ${N}Cu >&$UNCACHED_ERR_FD\n\
         fi\n",
    );
    fs::write(dir.join("t.c"), "int x;\n").unwrap();
    for (n, expected) in [("1", "1Pu1Cu1Cc"), ("2", "2Pu1Cc")] {
        settle();
        let out = run(env
            .objcache_in(&dir, ["./compiler.sh", "-c", "t.c"])
            .env("CCACHE_NODIRECT", "1")
            .env("N", n));
        assert!(out.success(), "{}", out.dump());
        assert_eq!(out.stderr_str(), expected, "call {n}: {}", out.dump());
    }
    assert_eq!((env.hits(), env.misses()), (1, 1));
    // Not for a command run as it is, uncached.
    let out = run(&mut env.objcache_in(&dir, ["bash", "-c", "echo \"[$UNCACHED_ERR_FD]\""]));
    assert_eq!(out.stdout_str(), "[]\n", "{}", out.dump());
}

/// `gcc -c t.c` through objcache in `dir`, with `vars`.
fn compile_t(env: &TestEnv, dir: &Path, vars: &[(&str, &str)]) {
    let mut cmd = env.objcache_in(dir, ["gcc", "-c", "t.c"]);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    settle();
    let out = run(&mut cmd);
    assert!(out.success(), "{}", out.dump());
}

fn ino(p: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(p).unwrap();
    (m.ino(), m.nlink())
}

const HARD: [(&str, &str); 1] = [("CCACHE_HARDLINK", "1")];

/// ccache's hardlink 1: the object of a miss is the cache's file, and the
/// next hard-linked hit hands out that same file.
#[test]
fn hard_link_miss_links_the_output_into_the_cache() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), "int t = 1;\n").unwrap();
    let expected = plain_object("gcc", &dir, ["-c", "t.c"], "t.o");
    rm(&dir.join("t.o"));
    compile_t(&env, &dir, &HARD);
    let (miss_ino, links) = ino(&dir.join("t.o"));
    assert_eq!(links, 2, "the output is linked into the cache");
    assert_bytes_eq(&read(&dir.join("t.o")), &expected, "object of the miss");
    fs::rename(dir.join("t.o"), dir.join("t.o.saved")).unwrap();
    compile_t(&env, &dir, &HARD);
    assert_eq!((env.hits(), env.misses()), (1, 1));
    assert_eq!(
        ino(&dir.join("t.o")).0,
        miss_ino,
        "the hit links the same file"
    );
    // Without hard_link a hit is a file of its own.
    compile_t(&env, &dir, &[]);
    assert_eq!(env.hits(), 2);
    assert_ne!(ino(&dir.join("t.o")).0, miss_ino);
    assert_bytes_eq(&read(&dir.join("t.o")), &expected, "copied object");
}

/// The user's build writes into the output the miss linked: the cache
/// file changes with it, and no hit, linked or copied, serves it.
#[test]
fn hard_link_miss_output_rewritten_in_place_is_never_served() {
    for later in [&HARD[..], &[]] {
        let env = TestEnv::new();
        let dir = env.dir("w");
        fs::write(dir.join("t.c"), "int t = 1;\n").unwrap();
        let expected = plain_object("gcc", &dir, ["-c", "t.c"], "t.o");
        rm(&dir.join("t.o"));
        compile_t(&env, &dir, &HARD);
        let mut damaged = read(&dir.join("t.o"));
        damaged.extend_from_slice(b"tail");
        fs::write(dir.join("t.o"), &damaged).unwrap();
        rm(&dir.join("t.o"));
        compile_t(&env, &dir, later);
        assert_eq!(env.hits(), 0, "{later:?}: {:?}", env.stats());
        assert_eq!(env.stat("corrupt_cache_entry"), 1, "{later:?}");
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, "object after it");
    }
}

/// A compile through objcache without hard_link, into an output a hard
/// link miss shared with the cache, writes a new file: the cache's stays
/// whole and the next hit serves it. gcc and clang replace their output;
/// this compiler writes into it, as a shell redirection does.
#[test]
fn a_compile_never_writes_into_a_linked_cache_file() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    executable(
        &dir.join("cc.sh"),
        "#!/bin/sh\nif [ \"$1\" = -E ]; then cat t.c; else cat t.c >t.o; fi\n",
    );
    let compile = |vars: &[(&str, &str)]| {
        let mut cmd = env.objcache_in(&dir, ["./cc.sh", "-c", "t.c"]);
        cmd.env("CCACHE_NODIRECT", "1").envs(vars.iter().copied());
        settle();
        let out = run(&mut cmd);
        assert!(out.success(), "{}", out.dump());
    };
    fs::write(dir.join("t.c"), "int t = 1;\n").unwrap();
    compile(&HARD);
    assert_eq!(ino(&dir.join("t.o")).1, 2, "linked into the cache");
    fs::write(dir.join("t.c"), "int t = 2;\n").unwrap();
    compile(&[]);
    fs::write(dir.join("t.c"), "int t = 1;\n").unwrap();
    compile(&HARD);
    assert_eq!((env.hits(), env.misses()), (1, 2), "{:?}", env.stats());
    assert_eq!(env.stat("corrupt_cache_entry"), 0);
    assert_eq!(read(&dir.join("t.o")), b"int t = 1;\n");
}

/// `path` written with `text` and made executable.
fn executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// With the cache's own `umask` (a shared cache), the output keeps the
/// user's permissions and is not linked: the cache gets a file of its own.
#[test]
fn hard_link_miss_does_not_link_under_the_caches_umask() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), "int t = 1;\n").unwrap();
    compile_t(&env, &dir, &[HARD[0], ("CCACHE_UMASK", "002")]);
    assert_eq!(ino(&dir.join("t.o")).1, 1);
}

/// The one manifest in `env`'s cache.
fn manifest(env: &TestEnv) -> Vec<u8> {
    let found: Vec<_> = walk_files(&env.cache_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with('M'))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    read(&found[0])
}

#[test]
fn recache_leaves_an_equivalent_manifest_byte_for_byte() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("h.h"), "int h = 1;\n").unwrap();
    fs::write(dir.join("t.c"), "#include \"h.h\"\nint t;\n").unwrap();
    let u = Compile::new(&dir, "gcc", &["-c", "t.c"], "t.o");
    let recache = u.clone().env("CCACHE_RECACHE", "1");
    settle();
    u.check(&env);
    let before = manifest(&env);
    // The working directory, a probed one, changes meanwhile.
    fs::write(dir.join("other"), "").unwrap();
    settle();
    recache.check(&env);
    assert_eq!(env.stat("recache"), 1);
    assert!(manifest(&env) == before, "the manifest was rewritten");
    settle();
    u.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);
    // Other header content: recache adds what it learned.
    fs::write(dir.join("h.h"), "int h = 2;\n").unwrap();
    settle();
    recache.check(&env);
    assert!(manifest(&env) != before);
    settle();
    u.check(&env);
    fs::write(dir.join("h.h"), "int h = 1;\n").unwrap();
    settle();
    u.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 3, "{:?}", env.stats());
}

#[test]
fn bad_remote_urls_carry_ccaches_message_fragments() {
    let env = TestEnv::new();
    let dir = env.dir("w");
    fs::write(dir.join("t.c"), "int t;\n").unwrap();
    for (url, fragment) in [
        ("://qwerty", "Cannot parse URL \"://qwerty\""),
        ("/qwerty", "URL scheme must not be empty: \"/qwerty\""),
        ("http://Sekr1t@", "User info defined, but host is empty"),
        (
            "file:foo:bar",
            "The first segment of the relative path can't contain ':'",
        ),
    ] {
        rm(&dir.join("t.o"));
        let mut cmd = env.objcache_in(&dir, ["gcc", "-c", "t.c"]);
        let out = run(cmd.env("CCACHE_REMOTE_STORAGE", url));
        assert!(
            out.success() && dir.join("t.o").exists(),
            "{url}: {}",
            out.dump()
        );
        let err = out.stderr_str();
        assert!(err.contains(fragment), "{url}: {err}");
        assert!(!err.contains("Sekr1t"), "{url}: {err}");
    }
}
