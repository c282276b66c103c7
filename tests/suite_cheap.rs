//! Deviations from ccache's own test suite given up because nothing was
//! gained by them: Redis keys under ccache's `ccache:` prefix (and ccache's
//! `redis://PASSWORD@HOST` form), and an already-preprocessed input
//! (`.s`, `.i`, `.ii`) counted as a direct-mode lookup, as ccache counts it.

use crate::common::servers::*;
use crate::common::*;
use std::process::Command;

// ---------------------------------------------------------------------------
// Redis keys
// ---------------------------------------------------------------------------

fn c_unit(env: &TestEnv) -> (std::path::PathBuf, Compile) {
    let dir = env.dir("src");
    write_file(&dir.join("t.c"), "int f(void) { return 41 + 1; }\n");
    (
        dir.clone(),
        Compile::new(&dir, "gcc", &["-c", "t.c"], "t.o"),
    )
}

#[test]
fn redis_keys_have_ccache_prefix() {
    let redis = RedisServer::start(&[]);
    let env = TestEnv::new();
    let (_dir, call) = c_unit(&env);
    call.clone()
        .env("CCACHE_REMOTE_STORAGE", &redis.url())
        .check(&env);
    let all = redis.keys("*");
    assert_eq!(redis.keys("ccache:*"), all, "every key is ccache:-prefixed");
    assert_eq!(all.len(), 2, "result and manifest: {all:?}");
}

/// Entries an older objcache wrote under `objcache:` are not read: a miss
/// (never an error), after which the entry is stored under `ccache:`.
#[test]
fn redis_entries_under_old_prefix_are_a_miss() {
    let redis = RedisServer::start(&[]);
    let first = TestEnv::new();
    let (_dir, call) = c_unit(&first);
    let call = call.env("CCACHE_REMOTE_STORAGE", &redis.url());
    call.check(&first);
    let mut client = redis.client();
    for key in redis.keys("ccache:*") {
        let old = key.replacen("ccache:", "objcache:", 1);
        client.cmd(&[b"RENAME", key.as_bytes(), old.as_bytes()]);
    }
    assert!(redis.keys("ccache:*").is_empty());

    let second = TestEnv::new();
    call.check(&second);
    let s = second.stats();
    assert_eq!(
        (hits(&s), get(&s, "cache_miss")),
        (0, 1),
        "an old-prefix entry is not seen: {s:?}"
    );
    assert_eq!(get(&s, "remote_storage_error"), 0, "{s:?}");
    assert!(get(&s, "remote_storage_miss") >= 1, "{s:?}");
    assert_eq!(
        redis.keys("ccache:*").len(),
        2,
        "stored again under ccache:"
    );
}

/// ccache's `redis://PASSWORD@HOST` (user information without a `:`) is a
/// password, over TCP and on a Unix socket (`redis+unix://PASSWORD@localhost/SOCKET`).
#[test]
fn redis_password_without_user() {
    const PW: &str = "secret123";
    let tmp = TestEnv::new();
    let sock = tmp.root().join("redis.sock");
    let sock_s = sock.display().to_string();
    let redis = RedisServer::start(&["--requirepass", PW, "--unixsocket", &sock_s]);
    let tcp = format!("redis://{PW}@127.0.0.1:{}", redis.port);
    let unix = format!("redis+unix://{PW}@localhost{sock_s}?db=1");
    for url in [tcp, unix] {
        let (writer, reader) = (TestEnv::new(), TestEnv::new());
        let (_dir, call) = c_unit(&writer);
        let call = call.env("CCACHE_REMOTE_STORAGE", &url);
        let out = call.check(&writer).out;
        let s = writer.stats();
        assert_eq!(get(&s, "remote_storage_error"), 0, "{url}: {s:?}");
        assert!(get(&s, "remote_storage_write") >= 1, "{url}: {s:?}");
        assert!(!out.stderr_str().contains(PW), "{url}: {}", out.dump());
        call.check(&reader);
        let s = reader.stats();
        assert_eq!(get(&s, "remote_storage_hit"), 1, "{url}: {s:?}");
    }
}

// ---------------------------------------------------------------------------
// Already-preprocessed inputs
// ---------------------------------------------------------------------------

/// `t.s`, `t.i` and `t.ii` made from one C source, in `dir`.
fn preprocessed_inputs(env: &TestEnv) -> std::path::PathBuf {
    let dir = env.dir("src");
    write_file(
        &dir.join("t.c"),
        "#include <stddef.h>\nsize_t f(void) { return sizeof(int); }\n",
    );
    run_ok(Command::new("gcc").current_dir(&dir).args(["-S", "t.c"]));
    let out = run_ok(Command::new("gcc").current_dir(&dir).args(["-E", "t.c"]));
    std::fs::write(dir.join("t.i"), &out.stdout).unwrap();
    std::fs::write(dir.join("t.ii"), &out.stdout).unwrap();
    dir
}

const COUNTED: [&str; 5] = [
    "direct_cache_hit",
    "direct_cache_miss",
    "preprocessed_cache_hit",
    "preprocessed_cache_miss",
    "cache_miss",
];

fn counted(env: &TestEnv) -> Vec<u64> {
    let s = env.stats();
    COUNTED.iter().map(|n| get(&s, n)).collect()
}

/// As ccache 4.7.5 counts them: a miss is a direct and a preprocessed miss,
/// a hit a direct hit; with `-MD` too (the assembler writes no `.d`).
#[test]
fn preprocessed_inputs_hit_in_direct_mode() {
    let env = TestEnv::new();
    let dir = preprocessed_inputs(&env);
    let calls = [
        ("gcc", vec!["-c", "t.s"]),
        ("gcc", vec!["-c", "-MD", "t.s"]),
        ("gcc", vec!["-c", "t.i"]),
        ("g++", vec!["-c", "t.ii"]),
    ];
    for (cc, a) in calls {
        let env = TestEnv::new();
        let call = Compile::new(&dir, cc, &a, "t.o");
        call.check(&env);
        assert_eq!(counted(&env), [0, 1, 0, 1, 1], "{cc} {a:?}: {COUNTED:?}");
        call.check(&env);
        assert_eq!(counted(&env), [1, 1, 0, 1, 1], "{cc} {a:?}: {COUNTED:?}");
        assert!(!dir.join("t.d").exists(), "{cc} {a:?} wrote a .d");
    }
}

/// Without direct mode, the same lookup is preprocessor mode's; with
/// `read_only_direct`, an assembler source hits (as in ccache) and a miss
/// stores nothing.
#[test]
fn preprocessed_inputs_without_direct_mode_and_read_only_direct() {
    let env = TestEnv::new();
    let dir = preprocessed_inputs(&env);
    let call = Compile::new(&dir, "gcc", &["-c", "t.s"], "t.o");
    let nodirect = call.clone().env("CCACHE_NODIRECT", "1");
    nodirect.check(&env);
    nodirect.check(&env);
    assert_eq!(counted(&env), [0, 0, 1, 1, 1], "{COUNTED:?}");

    let env = TestEnv::new();
    let read_only_direct = call.clone().env("CCACHE_READONLY_DIRECT", "1");
    read_only_direct.check(&env);
    assert_eq!(
        env.stat("files_in_cache"),
        0,
        "read_only_direct stores nothing"
    );
    call.check(&env);
    read_only_direct.check(&env);
    assert_eq!(env.stat("direct_cache_hit"), 1, "{:?}", env.stats());
}
