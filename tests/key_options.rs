//! Options the key holds by name only, or not at all, as ccache's does:
//! `-MT`/`-MQ` (their presence and order, never their targets, which a
//! hit writes into the `.d` for its own call) and, with `sloppiness =
//! clang_index_store`, `-index-store-path DIR` (dropped from the compile
//! too). Every object and `.d` is the compiler's own for the call.

use crate::common::*;
use std::path::Path;

const SOURCE: &str = "#include \"h.h\"\nint f(void) { return H; }\n";

/// A source and its header in `<tmp>/src`, older than the calls.
fn project(env: &TestEnv) -> std::path::PathBuf {
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), SOURCE);
    write_file(&dir.join("h.h"), "#define H 1\n");
    for f in ["t.c", "h.h"] {
        set_age(&dir.join(f), 3600);
    }
    dir
}

/// `direct_cache_hit + preprocessed_cache_hit` and `cache_miss`.
fn hits_and_misses(env: &TestEnv) -> (u64, u64) {
    let s = env.stats();
    (hits(&s), get(&s, "cache_miss"))
}

/// Each call with its dependency options, and whether it hits an entry
/// of a call before it: a call misses when it names other `-MT`/`-MQ`
/// options (or the same in another order), and hits when only their
/// targets differ. gcc writes the `-MT` targets first and moves the `-MQ`
/// ones among themselves (`-MQ a -MQ b -MT c` gives `c b a`): the hit
/// writes its own targets in those places.
const CALLS: &[(&[&str], bool)] = &[
    (&["-MMD"], false),
    (&["-MMD"], true),
    (&["-MMD", "-MQ", "$a"], false),
    (&["-MMD", "-MQ", "$b"], true),
    (&["-MMD", "-MQjoined"], true),
    (&["-MMD", "-MT", "t1"], false),
    (&["-MMD", "-MTt2"], true),
    (&["-MMD", "-MQ", "q1", "-MT", "t1"], false),
    (&["-MMD", "-MQ", "q2", "-MT", "t2"], true),
    (&["-MMD", "-MT", "t2", "-MQ", "q2"], false),
    (&["-MMD", "-MQ", "a", "-MQ", "b", "-MT", "c"], false),
    (&["-MMD", "-MQ", "x", "-MQ", "y", "-MT", "z"], true),
    (&["-MMD", "-MQ", "x", "-MQ", "y", "-MT", "z"], true),
];

/// The calls of `CALLS` through `cc` in `dir`, each checked against the
/// plain compiler's object, `.d` and stderr, with the counters after each.
fn dependency_targets(cc: &str, vars: &[(&str, &str)]) {
    require(cc);
    let env = TestEnv::new();
    let dir = project(&env);
    let (mut hits, mut misses) = (0, 0);
    for (options, hit) in CALLS {
        let mut a: Vec<&str> = options.to_vec();
        a.extend(["-c", "t.c"]);
        let call = Compile::new(&dir, cc, &a, "t.o").dep("t.d").envs(vars);
        call.check(&env);
        match hit {
            true => hits += 1,
            false => misses += 1,
        }
        assert_eq!(
            hits_and_misses(&env),
            (hits, misses),
            "{cc} {vars:?} after `{}`: {:?}",
            a.join(" "),
            env.stats()
        );
    }
}

#[test]
fn dependency_targets_are_keyed_by_their_options_in_direct_mode() {
    for cc in ["gcc", "clang"] {
        dependency_targets(cc, &[]);
    }
}

#[test]
fn dependency_targets_are_keyed_by_their_options_in_preprocessor_mode() {
    for cc in ["gcc", "clang"] {
        dependency_targets(cc, &[("CCACHE_NODIRECT", "1")]);
    }
}

#[test]
fn dependency_targets_are_keyed_by_their_options_in_depend_mode() {
    for cc in ["gcc", "clang"] {
        dependency_targets(cc, &[("CCACHE_DEPEND", "1")]);
    }
}

/// `-Wp,-MMD,FILE` asks for the `.d` by another option than `-MMD` (as
/// in ccache's key); the file's name is not keyed either way.
#[test]
fn the_option_asking_for_the_dependency_file_is_keyed_by_name() {
    let env = TestEnv::new();
    let dir = project(&env);
    for (a, dep, hit) in [
        (&["-Wp,-MMD,a.d", "-c", "t.c"][..], "a.d", false),
        (&["-Wp,-MMD,b.d", "-c", "t.c"], "b.d", true),
        (&["-MMD", "-MF", "b.d", "-c", "t.c"], "b.d", false),
        (&["-MMD", "-MF", "c.d", "-c", "t.c"], "c.d", true),
    ] {
        let before = env.hits();
        Compile::new(&dir, "gcc", a, "t.o").dep(dep).check(&env);
        assert_eq!(env.hits(), before + hit as u64, "{a:?}: {:?}", env.stats());
    }
    assert_eq!(env.misses(), 2);
}

/// `gcc ARGS` through objcache in `dir` with `vars`.
fn cached(env: &TestEnv, dir: &Path, a: &[&str], vars: &[(&str, &str)]) -> Out {
    let mut cmd = env.objcache_in(dir, std::iter::once("gcc").chain(a.iter().copied()));
    cmd.envs(vars.iter().copied());
    run(&mut cmd)
}

/// With `clang_index_store`, `-index-store-path DIR` (Xcode's, with a
/// UUID in DIR) is neither keyed nor given to the compiler, as in ccache:
/// calls differing only there share an entry, and gcc, which does not
/// know the option, compiles. In a response file too, where the compiler
/// then gets the arguments expanded.
#[test]
fn index_store_path_is_dropped_with_its_sloppiness() {
    let env = TestEnv::new();
    let dir = project(&env);
    write_file(&dir.join("args.rsp"), "-index-store-path /idx/C -c\n");
    let plain = plain_object("gcc", &dir, ["-c", "t.c"], "t.o");
    let sloppy = ("CCACHE_SLOPPINESS", "clang_index_store");
    let preprocessor_mode = ("CCACHE_NODIRECT", "1");
    let calls: [(&[&str], _); 4] = [
        (&["-index-store-path", "/idx/A", "-c", "t.c"], None),
        (&["-c", "-index-store-path", "/idx/B", "t.c"], None),
        (&["@args.rsp", "t.c"], None),
        (
            &["-c", "-index-store-path", "/idx/D", "t.c"],
            Some(preprocessor_mode),
        ),
    ];
    for (i, (a, mode)) in calls.iter().enumerate() {
        rm(&dir.join("t.o"));
        let vars: Vec<(&str, &str)> = std::iter::once(sloppy).chain(*mode).collect();
        let out = cached(&env, &dir, a, &vars);
        assert!(out.success(), "{a:?}: {}", out.dump());
        assert_bytes_eq(&read(&dir.join("t.o")), &plain, &format!("object of {a:?}"));
        assert_eq!(
            hits_and_misses(&env),
            (i as u64, 1),
            "{a:?}: {:?}",
            env.stats()
        );
    }
}

/// Without the sloppiness the option is the compile's, keyed and given
/// to the compiler: gcc rejects it, and the call fails as gcc does.
#[test]
fn index_store_path_without_its_sloppiness_reaches_the_compiler() {
    let env = TestEnv::new();
    let dir = project(&env);
    let a = ["-index-store-path", "/idx/A", "-c", "t.c"];
    let want = plain("gcc", &dir, a);
    assert!(!want.success());
    let got = cached(&env, &dir, &a, &[]);
    assert_eq!(got.code(), want.code(), "{}", got.dump());
    assert!(
        got.stderr_str().contains("-index-store-path"),
        "{}",
        got.dump()
    );
    assert_eq!(hits_and_misses(&env), (0, 0));
}
