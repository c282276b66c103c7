//! Options the key holds by name only, as ccache's does: `-MT`/`-MQ`
//! (their presence and order, never their targets, which a hit writes
//! into the `.d` for its own call). Every object and `.d` is the
//! compiler's own for the call.

use crate::common::*;

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
