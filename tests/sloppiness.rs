//! The `sloppiness` values and keys that trade exactness for hits, as
//! ccache 4.13 defines them: `locale`, `random_seed`, `ivfsoverlay`,
//! `modules`, and `ignore_headers_in_manifest`. Each is tested both ways:
//! without it the difference is a miss (or the call is not cached), with
//! it a hit, and the object is the compiler's.

use std::fs;

use crate::common::*;

/// `t.c` including `inc/foo.h` in a fresh project.
fn project() -> (TestEnv, std::path::PathBuf) {
    let env = TestEnv::new();
    let dir = env.dir("p");
    fs::create_dir_all(dir.join("inc")).unwrap();
    fs::write(
        dir.join("inc/foo.h"),
        "static inline int foo(void) { return 41; }\n",
    )
    .unwrap();
    fs::write(
        dir.join("t.c"),
        "#include \"foo.h\"\nint main(void) { return foo(); }\n",
    )
    .unwrap();
    (env, dir)
}

/// Hits and misses of the calls so far.
fn hits_misses(env: &TestEnv) -> (u64, u64) {
    (env.hits(), env.misses())
}

#[test]
fn locale_leaves_the_language_of_diagnostics_out_of_the_key() {
    for (sloppy, second) in [("", (0, 2)), ("locale", (1, 1))] {
        let (env, dir) = project();
        let call = |lang: &str| {
            Compile::new(&dir, "gcc", &["-Iinc", "-c", "t.c", "-o", "t.o"], "t.o")
                .env("CCACHE_SLOPPINESS", sloppy)
                .env("LANG", lang)
        };
        call("C").check(&env);
        call("C.UTF-8").check(&env);
        assert_eq!(hits_misses(&env), second, "sloppiness \"{sloppy}\"");
    }
}

#[test]
fn random_seed_leaves_frandom_seed_out_of_the_key() {
    for (sloppy, second) in [("", (0, 2)), ("random_seed", (1, 1))] {
        let (env, dir) = project();
        for seed in ["-frandom-seed=one", "-frandom-seed=two"] {
            Compile::new(&dir, "gcc", &["-Iinc", seed, "-c", "t.c"], "t.o")
                .env("CCACHE_SLOPPINESS", sloppy)
                .check(&env);
        }
        assert_eq!(hits_misses(&env), second, "sloppiness \"{sloppy}\"");
    }
}

#[test]
fn ivfsoverlay_is_cached_only_when_sloppy() {
    let (env, dir) = project();
    for name in ["a.yaml", "b.yaml"] {
        fs::write(dir.join(name), "{ 'version': 0, 'roots': [] }\n").unwrap();
    }
    let call = |overlay: &str, sloppy: &str| {
        Compile::new(
            &dir,
            "clang",
            &["-ivfsoverlay", overlay, "-Iinc", "-c", "t.c", "-o", "t.o"],
            "t.o",
        )
        .env("CCACHE_SLOPPINESS", sloppy)
    };
    call("a.yaml", "").check(&env);
    call("a.yaml", "").check(&env);
    assert_eq!(env.stat("unsupported_compiler_option"), 2);
    assert_eq!(hits_misses(&env), (0, 0));
    call("a.yaml", "ivfsoverlay").check(&env);
    call("b.yaml", "ivfsoverlay").check(&env);
    assert_eq!(hits_misses(&env), (1, 1));
}

#[test]
fn clang_modules_need_sloppiness_direct_and_depend_mode() {
    let (env, dir) = project();
    fs::write(
        dir.join("inc/module.modulemap"),
        "module foo { header \"foo.h\" export * }\n",
    )
    .unwrap();
    let args = [
        "-fmodules",
        "-fmodules-cache-path=mc",
        "-Iinc",
        "-MD",
        "-c",
        "t.c",
        "-o",
        "t.o",
    ];
    let call = |vars: &[(&str, &str)]| Compile::new(&dir, "clang", &args, "t.o").envs(vars);
    call(&[]).check(&env);
    call(&[("CCACHE_DEPEND", "1")]).check(&env);
    call(&[("CCACHE_SLOPPINESS", "modules")]).check(&env);
    assert_eq!(env.stat("could_not_use_modules"), 3);
    assert_eq!(hits_misses(&env), (0, 0));
    let cached = [("CCACHE_SLOPPINESS", "modules"), ("CCACHE_DEPEND", "1")];
    call(&cached).check(&env);
    call(&cached).check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);
    // A header behind the module changes: the .d named it.
    fs::write(
        dir.join("inc/foo.h"),
        "static inline int foo(void) { return 42; }\n",
    )
    .unwrap();
    call(&cached).check(&env);
    assert_eq!(hits_misses(&env), (1, 2));
}

#[test]
fn ignored_headers_do_not_invalidate_direct_hits() {
    let (env, dir) = project();
    fs::create_dir_all(dir.join("sdk")).unwrap();
    fs::write(dir.join("sdk/ver.h"), "#define VER 1\n").unwrap();
    fs::write(
        dir.join("t.c"),
        "#include \"foo.h\"\n#include \"ver.h\"\nint main(void) { return foo() + VER; }\n",
    )
    .unwrap();
    let ignored = format!("{}/sdk/", dir.display());
    let call = Compile::new(&dir, "gcc", &["-Iinc", "-Isdk", "-c", "t.c"], "t.o")
        .env("CCACHE_IGNOREHEADERS", &ignored);
    let first = call.check(&env);
    // ccache's semantics: a change to an ignored header is not seen by
    // direct mode, so the earlier object is served.
    fs::write(dir.join("sdk/ver.h"), "#define VER 22\n").unwrap();
    call.check_obj(&env, &first.obj);
    assert_eq!(env.stat("direct_cache_hit"), 1);
    // Any other header still counts.
    fs::write(
        dir.join("inc/foo.h"),
        "static inline int foo(void) { return 40; }\n",
    )
    .unwrap();
    call.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);
    // Without the key, the ignored header's change is a miss again.
    fs::write(dir.join("sdk/ver.h"), "#define VER 3\n").unwrap();
    Compile::new(&dir, "gcc", &["-Iinc", "-Isdk", "-c", "t.c"], "t.o").check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);
}

/// A record that leaves files unchecked (system headers here) serves only
/// calls that accept as much: a strict call looks up records of its own.
#[test]
fn a_strict_call_never_takes_a_lax_record() {
    let (env, dir) = project();
    fs::write(
        dir.join("t.c"),
        "#include <stdio.h>\n#include \"foo.h\"\nint main(void) { return foo(); }\n",
    )
    .unwrap();
    let call = |sloppy: &str| {
        Compile::new(&dir, "gcc", &["-Iinc", "-c", "t.c"], "t.o").env("CCACHE_SLOPPINESS", sloppy)
    };
    call("system_headers").check(&env);
    call("system_headers").check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);
    call("").check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1);
    assert_eq!(env.stat("preprocessed_cache_hit"), 1);
    call("").check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 2);
}
