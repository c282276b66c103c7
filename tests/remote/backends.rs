//! More backends and configurations: big objects, redis over a unix socket,
//! `secondary_storage`, the config file, backend order, the file backend's
//! umask, odd attribute values.

use super::*;

// ---------------------------------------------------------------------------
// More backends and configurations
// ---------------------------------------------------------------------------

#[test]
fn big_objects_through_redis_and_http() {
    let redis = RedisServer::start(&[]);
    let nginx = Nginx::start();
    let (_penv, proj) = proj_fixture();
    write_big_source(&proj.join("src/big.c"), 3 << 20, 7);
    let a = args(&["-c", "src/big.c", "-o", "big.o"]);
    let expected = plain_object("gcc", &proj, &a, "big.o");
    assert!(expected.len() > 3 << 20);
    for url in [redis.url(), nginx.url("/big")] {
        let r1 = Runner::new(&url);
        r1.compile(&proj, &a, "big.o", &expected);
        let s = r1.stats();
        assert!(get(&s, "remote_storage_write") >= 1, "{url}: {s:?}");
        let r2 = Runner::new(&url);
        r2.compile(&proj, &a, "big.o", &expected);
        let s = r2.stats();
        assert_eq!(
            (hits(&s), get(&s, "remote_storage_hit")),
            (1, 1),
            "{url}: {s:?}"
        );
        assert_eq!(get(&s, "remote_storage_error"), 0, "{url}: {s:?}");
    }
}

#[test]
fn redis_unix_socket_with_db() {
    let tmp = TestEnv::new();
    let sock = tmp.root().join("redis.sock");
    let sock_s = sock.display().to_string();
    let redis = RedisServer::start(&["--unixsocket", &sock_s]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    let url = format!("redis+unix:{sock_s}?db=2");
    Runner::new(&url).compile(&proj, &a, "out.o", &expected);
    let mut c = redis.client();
    assert_eq!(c.cmd(&[b"DBSIZE"]), Reply::Int(0), "db 0 must stay empty");
    c.cmd(&[b"SELECT", b"2"]);
    assert!(
        matches!(c.cmd(&[b"DBSIZE"]), Reply::Int(n) if n >= 2),
        "result and manifest belong in db 2"
    );
    let r2 = Runner::new(&format!("redis+unix://{sock_s}?db=2"));
    r2.compile(&proj, &a, "out.o", &expected);
    let s = r2.stats();
    assert_eq!((hits(&s), get(&s, "remote_storage_hit")), (1, 1), "{s:?}");
}

#[test]
fn secondary_storage_is_an_alias() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    let r = Runner {
        env: TestEnv::new(),
        vars: vec![("CCACHE_SECONDARY_STORAGE".into(), redis.url())],
    };
    r.compile(&proj, &a, "out.o", &expected);
    assert!(get(&r.stats(), "remote_storage_write") >= 1);
    assert!(redis.dbsize() >= 1);
}

#[test]
fn remote_storage_from_the_config_file() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    let r = Runner {
        env: TestEnv::new(),
        vars: vec![],
    };
    fs::create_dir_all(&r.env.cache_dir).unwrap();
    fs::write(
        r.env.cache_dir.join("ccache.conf"),
        format!(
            "remote_storage = {}|connect-timeout=500 @data-timeout=2000\n",
            redis.url()
        ),
    )
    .unwrap();
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}");
    assert!(redis.dbsize() >= 1);
}

#[test]
fn backends_are_asked_in_order() {
    let empty = RedisServer::start(&[]);
    let full = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    Runner::new(&full.url()).compile(&proj, &a, "out.o", &expected);
    let stored = full.dbsize();
    assert!(stored >= 2);

    let r = Runner::new(&format!("{} {}", empty.url(), full.url()));
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!((hits(&s), get(&s, "remote_storage_hit")), (1, 1), "{s:?}");
    assert!(
        get(&s, "remote_storage_read_miss") >= 1,
        "the first was asked: {s:?}"
    );
    assert!(get(&s, "remote_storage_read_hit") >= 1, "{s:?}");
    assert_eq!(
        get(&s, "remote_storage_write"),
        0,
        "a hit writes nothing: {s:?}"
    );
    assert_eq!(empty.dbsize(), 0);

    // A miss is written to every writable backend, not to read-only ones.
    let third = RedisServer::start(&[]);
    let (b, expected_b) = unit(&proj, "src/math.c");
    let r = Runner::new(&format!(
        "{} {} {}|read-only",
        empty.url(),
        full.url(),
        third.url()
    ));
    r.compile(&proj, &b, "out.o", &expected_b);
    assert!(empty.dbsize() >= 2);
    assert_eq!(full.dbsize(), stored + empty.dbsize());
    assert_eq!(third.dbsize(), 0);

    // A dead first backend: an error, and the second still serves.
    let dead = free_port();
    let r = Runner::new(&format!("redis://127.0.0.1:{dead} {}", full.url()));
    let (_, took) = r.compile(&proj, &a, "out.o", &expected);
    assert!(took < Duration::from_secs(5), "{took:?}");
    let s = r.stats();
    assert_eq!((hits(&s), get(&s, "remote_storage_hit")), (1, 1), "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}

#[test]
fn file_backend_umask() {
    use std::os::unix::fs::PermissionsExt;
    let shared = TestEnv::new();
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    for (umask, mode) in [(None, 0o644), (Some("077"), 0o600), (Some("002"), 0o664)] {
        let dir = shared.dir(&format!("shared-{}", umask.unwrap_or("default")));
        let mut url = format!("file://{}", dir.display());
        if let Some(u) = umask {
            url.push_str(&format!("|umask={u}"));
        }
        Runner::new(&url).compile(&proj, &a, "out.o", &expected);
        let files = walk_files(&dir);
        assert!(files.len() >= 2, "{files:?}");
        for f in files {
            let m = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, mode, "{} with umask {umask:?}: {m:o}", f.display());
        }
    }
}

/// Bug: `percent_decode` slices the string at `%` + 2 bytes; a non-ASCII
/// character right after a `%` is not on a char boundary and objcache
/// panics (exit 101) instead of compiling, on every call.
#[test]
fn percent_followed_by_non_ascii_does_not_crash() {
    let shared = TestEnv::new();
    let dir = shared.dir("shared");
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    // A header value: plain text with a `%` that is no escape.
    let r = Runner::new(&format!("file:{}|header=X-Note=50%aé", dir.display()));
    r.compile(&proj, &a, "out.o", &expected);
    let mut cmd = r.objcache_in(&proj, &args(&["-p"]));
    run_ok(&mut cmd);
}
