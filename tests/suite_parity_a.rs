//! Tests of ccache 4.7.5's own suite that objcache now passes, each with
//! the correctness it rests on:
//!
//! - depend mode and `.d` relocation with file names in make's escaping
//!   (`\ `, `$$`, `\#`): the files the `.d` names are the files hashed, and
//!   the `.d` written is the plain compiler's (depend 7);
//! - `UNCACHED_ERR_FD`: what the preprocessor and compiler write to it
//!   reaches the user at once and is never replayed (base 91, nocpp2 91).

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
    let script = dir.join("compiler.sh");
    fs::write(
        &script,
        "#!/bin/sh\n\
         if [ \"$1\" = \"-E\" ]; then\n\
         echo preprocessed\n\
         printf ${N}Pu >&$UNCACHED_ERR_FD\n\
         else\n\
         echo compiled >t.o\n\
         printf ${N}Cc >&2\n\
         printf ${N}Cu >&$UNCACHED_ERR_FD\n\
         fi\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
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
