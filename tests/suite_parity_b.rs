//! Cases from ccache 4.7.5's own test suite that objcache used to run
//! uncached or without direct mode, each checked for the object the
//! compiler writes: a forced include of which only the precompiled header
//! is there (pch 13, 14, 16), `__DATE__` in direct mode (direct 58,
//! source_date_epoch 2) and remote manifests (remote_file 8, 10, 11).

use crate::common::*;
use std::fs;
use std::path::Path;

mod date;
mod remote_manifest;

const HEADER_1: &str =
    "#include <stdlib.h>\n#define VALUE 1\nstatic inline int value(void) { return VALUE; }\n";
const HEADER_2: &str =
    "#include <stdlib.h>\n#define VALUE 2\nstatic inline int value(void) { return VALUE * 10; }\n";
const HEADER_3: &str =
    "#include <stdlib.h>\n#define VALUE 3\nstatic inline int value(void) { return VALUE + 7; }\n";
const USER: &str = "int main(void) { void *p = NULL; (void)p; return value(); }\n";

/// The modes a compile is served in.
const MODES: [(&str, &[(&str, &str)]); 3] = [
    ("direct", &[]),
    ("preprocessor", &[("CCACHE_NODIRECT", "1")]),
    ("depend", &[("CCACHE_DEPEND", "1")]),
];

/// Runs `compile` through objcache after the plain compiler: the object
/// must be the compiler's, and a hit when `hit`.
#[track_caller]
fn served(env: &TestEnv, compile: &Compile, hit: bool) {
    let hits = env.hits();
    compile.check(env);
    assert_eq!(
        env.hits() - hits,
        u64::from(hit),
        "{}: {:?}",
        compile.describe(),
        env.stats()
    );
}

/// Makes `pch` (a `.gch`) from `header_text` with `flags`, written through
/// a scratch header so that only the `.gch` is left where the test wants.
fn make_gch(dir: &Path, header_text: &str, flags: &[&str], pch: &str) {
    let scratch = dir.join("scratch-pch.h");
    fs::write(&scratch, header_text).unwrap();
    let mut args = flags.to_vec();
    args.extend(["-c", "scratch-pch.h", "-o", pch]);
    let out = plain("gcc", dir, &args);
    assert!(out.success(), "making {pch}: {}", out.dump());
    rm(&scratch);
}

/// ccache's pch 13, 14 and 16: `-include dir/pch.h` (or `-include pch.h`)
/// where only the `.gch` exists. gcc compiles with it; its `-E` alone
/// fails for want of the header, so objcache gives the preprocessor
/// `-fpch-preprocess`. Each object is gcc's for the `.gch` there is: a
/// rebuilt `.gch` is a miss, in every mode.
#[test]
fn gcc_forced_include_of_a_lone_gch() {
    require("gcc");
    for (mode, vars) in MODES {
        for (include, gch) in [("dir/pch.h", "dir/pch.h.gch"), ("pch.h", "pch.h.gch")] {
            let env = TestEnv::new();
            let dir = env.dir("p");
            fs::create_dir_all(dir.join("dir")).unwrap();
            fs::write(dir.join("t.c"), USER).unwrap();
            make_gch(&dir, HEADER_1, &["-O2"], gch);
            let args = ["-O2", "-MD", "-c", "-include", include, "t.c", "-o", "t.o"];
            let compile = Compile::new(&dir, "gcc", &args, "t.o")
                .dep("t.d")
                .envs(vars);
            served(&env, &compile, false);
            assert_eq!(env.stat("preprocessor_error"), 0, "{mode} {include}");
            served(&env, &compile, true);
            make_gch(&dir, HEADER_2, &["-O2"], gch);
            served(&env, &compile, false);
            served(&env, &compile, true);
        }
    }
}

/// With `-fpch-preprocess` the preprocessor judges the `.gch` as the
/// compile does: one gcc refuses (made without optimisation, used with
/// `-O2`) leaves the header's text in the key, so editing the header is a
/// miss and the object is gcc's for the new header.
#[test]
fn gcc_forced_include_of_a_refused_gch_keys_the_header() {
    require("gcc");
    for (mode, vars) in MODES {
        let env = TestEnv::new();
        let dir = env.dir("p");
        fs::write(dir.join("t.c"), USER).unwrap();
        make_gch(&dir, HEADER_1, &["-O0"], "pch.h.gch");
        fs::write(dir.join("pch.h"), HEADER_2).unwrap();
        let args = ["-O2", "-c", "-include", "pch.h", "t.c", "-o", "t.o"];
        let compile = Compile::new(&dir, "gcc", &args, "t.o").envs(vars);
        served(&env, &compile, false);
        served(&env, &compile, true);
        fs::write(dir.join("pch.h"), HEADER_3).unwrap();
        served(&env, &compile, false);
        served(&env, &compile, true);
        assert_eq!(env.stat("preprocessor_error"), 0, "{mode}");
    }
}

/// clang's `-E` reads the PCH for `-include dir/pch.h` itself: a
/// `dir/pch.h.pch` (or a clang `.gch`) without `dir/pch.h` is cached, and
/// a rebuilt one is a miss with clang's object. (clang checks the header
/// the PCH was made from, so that one stays.)
#[test]
fn clang_forced_include_of_a_lone_pch() {
    require("clang");
    for (mode, vars) in MODES {
        for suffix in [".pch", ".gch"] {
            let env = TestEnv::new();
            let dir = env.dir("p");
            fs::create_dir_all(dir.join("dir")).unwrap();
            fs::write(dir.join("t.c"), USER).unwrap();
            let pch = format!("dir/pch.h{suffix}");
            let make = |text: &str| {
                fs::write(dir.join("pch.h"), text).unwrap();
                let args = ["-x", "c-header", "-c", "pch.h", "-o", &pch];
                let out = plain("clang", &dir, args);
                assert!(out.success(), "making {pch}: {}", out.dump());
            };
            make(HEADER_1);
            let args = ["-c", "-include", "dir/pch.h", "t.c", "-o", "t.o"];
            let compile = Compile::new(&dir, "clang", &args, "t.o").envs(vars);
            served(&env, &compile, false);
            served(&env, &compile, true);
            make(HEADER_2);
            served(&env, &compile, false);
            served(&env, &compile, true);
            assert_eq!(env.stat("preprocessor_error"), 0, "{mode} {suffix}");
        }
    }
}
