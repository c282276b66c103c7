//! Precompiled headers: creating them is cached, and a compile that uses
//! one is keyed by its content, so removing, rebuilding or leaving a stale
//! `.gch` never serves an object built against another one.

use crate::common::*;
use std::fs;
use std::path::Path;

const HEADER_1: &str =
    "#include <stdio.h>\n#define VALUE 1\nstatic inline int value(void) { return VALUE; }\n";
const HEADER_2: &str =
    "#include <stdio.h>\n#define VALUE 2\nstatic inline int value(void) { return VALUE * 10; }\n";
const SOURCE: &str =
    "#include \"pch.h\"\nint main(void) { printf(\"%d\\n\", value()); return 0; }\n";

/// The modes a compile that uses a PCH is served in.
const MODES: [(&str, &[(&str, &str)]); 3] = [
    ("direct", &[]),
    ("preprocessor", &[("CCACHE_NODIRECT", "1")]),
    ("depend", &[("CCACHE_DEPEND", "1")]),
];

fn objcache(env: &TestEnv, dir: &Path, call: &[&str], vars: &[(&str, &str)]) -> Out {
    let mut cmd = env.objcache_in(dir, call);
    cmd.envs(vars.iter().copied());
    let out = run(&mut cmd);
    assert!(out.success(), "{call:?}: {}", out.dump());
    out
}

/// Runs `call` through objcache after the plain compiler, and checks that
/// the output is the compiler's and whether it was a hit.
#[track_caller]
fn check(env: &TestEnv, dir: &Path, call: &[&str], output: &str, vars: &[(&str, &str)], hit: bool) {
    let expected = plain_object(call[0], dir, &call[1..], output);
    let hits = env.hits();
    objcache(env, dir, call, vars);
    assert_bytes_eq(
        &read(&dir.join(output)),
        &expected,
        &format!("{call:?} {vars:?}"),
    );
    assert_eq!(
        env.hits() - hits,
        u64::from(hit),
        "{call:?} {vars:?}: {:?}",
        env.stats()
    );
}

/// Makefile style: `gcc pch.h` writes `pch.h.gch` beside it, and the
/// source's `#include "pch.h"` uses it. Each object is the one gcc writes
/// for the `.gch` there is (or is not), in every mode.
#[test]
fn gcc_include_of_a_precompiled_header() {
    require("gcc");
    for (mode, vars) in MODES {
        let env = TestEnv::new();
        let dir = env.dir("p");
        fs::write(dir.join("pch.h"), HEADER_1).unwrap();
        fs::write(dir.join("t.c"), SOURCE).unwrap();
        let make_pch = ["gcc", "-O2", "pch.h"];
        let compile = ["gcc", "-O2", "-MD", "-c", "t.c", "-o", "t.o"];
        // Creating: cached, with and without -c/-o.
        objcache(&env, &dir, &make_pch, vars);
        assert!(dir.join("pch.h.gch").is_file());
        check(&env, &dir, &compile, "t.o", vars, false);
        check(&env, &dir, &compile, "t.o", vars, true);
        rm(&dir.join("pch.h.gch"));
        let hits = env.hits();
        objcache(
            &env,
            &dir,
            &["gcc", "-O2", "-c", "pch.h", "-o", "pch.h.gch"],
            vars,
        );
        assert_eq!(env.hits(), hits, "{mode}: another command line");
        objcache(&env, &dir, &make_pch, vars);
        assert_eq!(env.hits(), hits + 1, "{mode}: the PCH from the cache");
        check(&env, &dir, &compile, "t.o", vars, true);

        // No .gch at all: the header is read as text.
        rm(&dir.join("pch.h.gch"));
        check(&env, &dir, &compile, "t.o", vars, false);
        check(&env, &dir, &compile, "t.o", vars, true);

        // A stale .gch (the header changed, the PCH was not rebuilt): gcc
        // uses it, and so must the object. (Depend mode knows the header
        // only from gcc's `.d`, which leaves it out when the PCH is used:
        // its hit is the object of the first round, built from this PCH.)
        objcache(&env, &dir, &make_pch, vars);
        fs::write(dir.join("pch.h"), HEADER_2).unwrap();
        check(&env, &dir, &compile, "t.o", vars, mode == "depend");
        // Rebuilt: another object again.
        objcache(&env, &dir, &make_pch, vars);
        check(&env, &dir, &compile, "t.o", vars, false);
        check(&env, &dir, &compile, "t.o", vars, true);
        plain("gcc", &dir, ["t.o", "-o", "t"]);
        let ran = run(&mut std::process::Command::new(dir.join("t")));
        assert_eq!(ran.stdout_str(), "20\n", "{mode}");
    }
}

/// gcc takes a `.gch` only for the first file a source opens. An include
/// inside a conditional before the first unconditional one may be that
/// file (here with `-DFIRST`): its PCH is an input, and a rebuilt one is
/// never served the object of the old.
#[test]
fn gcc_first_include_inside_a_conditional() {
    require("gcc");
    for (mode, vars) in MODES {
        let env = TestEnv::new();
        let dir = env.dir("p");
        fs::write(dir.join("pch.h"), HEADER_1).unwrap();
        fs::write(dir.join("other.h"), "#define OTHER 1\n").unwrap();
        fs::write(
            dir.join("t.c"),
            "#if defined(FIRST) || \\\n    defined(ALSO) /* a comment\n spanning lines */\n\
             #include \"pch.h\"\n#endif\n#include \"other.h\"\n#include <stdio.h>\n\
             int main(void) { printf(\"%d\\n\", value()); return 0; }\n",
        )
        .unwrap();
        let compile = ["gcc", "-DFIRST", "-O2", "-c", "t.c", "-o", "t.o"];
        objcache(&env, &dir, &["gcc", "-O2", "pch.h"], vars);
        check(&env, &dir, &compile, "t.o", vars, false);
        check(&env, &dir, &compile, "t.o", vars, true);
        // The header's text changes; the stale PCH stays what gcc reads
        // (a hit or not, as gcc's `.d` decides in depend mode).
        fs::write(dir.join("pch.h"), HEADER_2).unwrap();
        let expected = plain_object("gcc", &dir, &compile[1..], "t.o");
        objcache(&env, &dir, &compile, vars);
        assert_bytes_eq(&read(&dir.join("t.o")), &expected, mode);
        // Rebuilt: gcc now reads another PCH, so another object.
        objcache(&env, &dir, &["gcc", "-O2", "pch.h"], vars);
        check(&env, &dir, &compile, "t.o", vars, false);
        check(&env, &dir, &compile, "t.o", vars, true);
    }
}

/// `-include pch.h` with the `.gch` found in another directory (`-I`),
/// with `-fpch-preprocess`, and a `.gch` directory of variants.
#[test]
fn gcc_forced_include_and_gch_directories() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("p");
    fs::create_dir_all(dir.join("pchdir")).unwrap();
    fs::write(dir.join("pch.h"), HEADER_1).unwrap();
    fs::write(
        dir.join("t.c"),
        "int main(void) { printf(\"%d\\n\", value()); return 0; }\n",
    )
    .unwrap();
    // Only the .gch in pchdir/: gcc finds it for -include through -I.
    let out = plain(
        "gcc",
        &dir,
        ["-O2", "-x", "c-header", "pch.h", "-o", "pchdir/pch.h.gch"],
    );
    assert!(out.success(), "{}", out.dump());
    let call = [
        "gcc",
        "-O2",
        "-fpch-preprocess",
        "-Ipchdir",
        "-include",
        "pch.h",
        "-c",
        "t.c",
        "-o",
        "t.o",
    ];
    check(&env, &dir, &call, "t.o", &[], false);
    check(&env, &dir, &call, "t.o", &[], true);
    fs::write(dir.join("pch.h"), HEADER_2).unwrap();
    let out = plain(
        "gcc",
        &dir,
        ["-O2", "-x", "c-header", "pch.h", "-o", "pchdir/pch.h.gch"],
    );
    assert!(out.success(), "{}", out.dump());
    check(&env, &dir, &call, "t.o", &[], false);

    // A .gch directory: gcc takes the first member that fits the options.
    let gchdir = dir.join("v/pch.h.gch");
    fs::create_dir_all(&gchdir).unwrap();
    fs::copy(dir.join("pch.h"), dir.join("v/pch.h")).unwrap();
    for (name, opt) in [("O0.gch", "-O0"), ("O2.gch", "-O2")] {
        let out = plain(
            "gcc",
            &dir,
            [
                opt,
                "-x",
                "c-header",
                "v/pch.h",
                "-o",
                &format!("v/pch.h.gch/{name}"),
            ],
        );
        assert!(out.success(), "{}", out.dump());
    }
    let call = [
        "gcc", "-O2", "-include", "v/pch.h", "-c", "t.c", "-o", "u.o",
    ];
    check(&env, &dir, &call, "u.o", &[], false);
    check(&env, &dir, &call, "u.o", &[], true);
    fs::write(dir.join("v/pch.h"), HEADER_1).unwrap();
    let out = plain(
        "gcc",
        &dir,
        [
            "-O2",
            "-x",
            "c-header",
            "v/pch.h",
            "-o",
            "v/pch.h.gch/O2.gch",
        ],
    );
    assert!(out.success(), "{}", out.dump());
    check(&env, &dir, &call, "u.o", &[], false);
}

/// With `pch_external_checksum` (a key, not a sloppiness), a `.sum` beside
/// the PCH stands for it.
#[test]
fn external_checksum_stands_for_the_pch() {
    require("gcc");
    let env = TestEnv::new();
    let dir = env.dir("p");
    fs::write(dir.join("pch.h"), HEADER_1).unwrap();
    fs::write(dir.join("t.c"), SOURCE).unwrap();
    let vars = [("CCACHE_PCH_EXTSUM", "1")];
    let out = plain("gcc", &dir, ["-O2", "pch.h"]);
    assert!(out.success(), "{}", out.dump());
    fs::write(dir.join("pch.h.gch.sum"), "one\n").unwrap();
    let call = ["gcc", "-O2", "-c", "t.c", "-o", "t.o"];
    check(&env, &dir, &call, "t.o", &vars, false);
    // A rebuilt PCH of the same header, same checksum: a hit.
    let out = plain("gcc", &dir, ["-O2", "pch.h"]);
    assert!(out.success(), "{}", out.dump());
    check(&env, &dir, &call, "t.o", &vars, true);
    fs::write(dir.join("pch.h"), HEADER_2).unwrap();
    let out = plain("gcc", &dir, ["-O2", "pch.h"]);
    assert!(out.success(), "{}", out.dump());
    fs::write(dir.join("pch.h.gch.sum"), "two\n").unwrap();
    check(&env, &dir, &call, "t.o", &vars, false);
}

/// clang as CMake drives it: `-Xclang -emit-pch` to create, `-Xclang
/// -include-pch` to use. With `-Xclang -fno-pch-timestamp` the PCH is
/// shared; without, it records the headers' mtimes, so a touched header is
/// a miss (a PCH with the old mtimes would make the next compile fail).
#[test]
fn clang_pch_as_cmake_builds_it() {
    require("clang");
    for timestamp in [false, true] {
        let env = TestEnv::new();
        let dir = env.dir("p");
        fs::write(dir.join("pch.h"), HEADER_1).unwrap();
        fs::write(dir.join("pch.c"), "/* generated */\n").unwrap();
        fs::write(
            dir.join("t.c"),
            "int main(void) { printf(\"%d\\n\", value()); return 0; }\n",
        )
        .unwrap();
        let mut make_pch = vec![
            "clang",
            "-O2",
            "-Xclang",
            "-emit-pch",
            "-Xclang",
            "-include",
            "-Xclang",
            "pch.h",
        ];
        if !timestamp {
            make_pch.extend(["-Xclang", "-fno-pch-timestamp"]);
        }
        make_pch.extend(["-x", "c-header", "-MD", "-o", "pch.h.pch", "-c", "pch.c"]);
        let compile = [
            "clang",
            "-O2",
            "-Xclang",
            "-include-pch",
            "-Xclang",
            "pch.h.pch",
            "-Xclang",
            "-include",
            "-Xclang",
            "pch.h",
            "-c",
            "t.c",
            "-o",
            "t.o",
        ];
        for round in 0..2 {
            rm(&dir.join("pch.h.pch"));
            let hits = env.hits();
            objcache(&env, &dir, &make_pch, &[]);
            assert_eq!(
                env.hits() - hits,
                round,
                "timestamp {timestamp} round {round}"
            );
            check(&env, &dir, &compile, "t.o", &[], round == 1);
        }
        // The header touched, its content unchanged.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        fs::File::options()
            .write(true)
            .open(dir.join("pch.h"))
            .unwrap()
            .set_modified(later)
            .unwrap();
        rm(&dir.join("pch.h.pch"));
        let hits = env.hits();
        objcache(&env, &dir, &make_pch, &[]);
        assert_eq!(
            env.hits() - hits,
            u64::from(!timestamp),
            "timestamp {timestamp}: after touch"
        );
        // Whatever it was, the PCH is usable.
        let used = plain("clang", &dir, &compile[1..]);
        assert!(used.success(), "timestamp {timestamp}: {}", used.dump());
    }
}
