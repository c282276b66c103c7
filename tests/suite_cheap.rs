//! Deviations from ccache's own test suite given up because nothing was
//! gained by them: Redis keys under ccache's `ccache:` prefix (and ccache's
//! `redis://PASSWORD@HOST` form).

use crate::common::servers::*;
use crate::common::*;

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
