//! What goes where: read-only backends, `remote_only`, `reshare` and
//! entries sharded over several servers.

use super::*;

// ---------------------------------------------------------------------------
// read-only backends
// ---------------------------------------------------------------------------

/// `count()` says how many entries the server holds.
fn read_only_backend(url: &str, count: &dyn Fn() -> usize) {
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/main.c");
    let ro = format!("{url}|read-only");

    // Read-only on an empty server: a miss, and nothing is written.
    let r1 = Runner::new(&ro);
    r1.compile(&proj, &a, "out.o", &expected);
    let s = r1.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_write"), 0, "{s:?}");
    assert_eq!(get(&s, "remote_storage_error"), 0, "{s:?}");
    assert_eq!(count(), 0, "a read-only backend must not be written to");
    assert!(
        !r1.local_entries().is_empty(),
        "read-only is about the remote; the local cache is still written"
    );

    // A writable runner populates it.
    let writer = Runner::new(url);
    writer.compile(&proj, &a, "out.o", &expected);
    let s = writer.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}");
    let stored = count();
    assert!(stored >= 1, "the writable runner stored nothing");

    // A read-only runner gets a remote hit and writes nothing.
    let r2 = Runner::new(&ro);
    r2.compile(&proj, &a, "out.o", &expected);
    let s = r2.stats();
    assert_eq!((hits(&s), get(&s, "cache_miss")), (1, 0), "{s:?}");
    assert_eq!(get(&s, "remote_storage_hit"), 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_write"), 0, "{s:?}");
    assert_eq!(count(), stored);

    // A read-only runner missing on another source writes nothing either.
    let (b, expected_b) = unit(&proj, "src/math.c");
    r2.compile(&proj, &b, "out.o", &expected_b);
    let s = r2.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_write"), 0, "{s:?}");
    assert_eq!(count(), stored, "read-only: the miss must not be published");
}

#[test]
fn read_only_redis() {
    let redis = RedisServer::start(&[]);
    read_only_backend(&redis.url(), &|| redis.dbsize() as usize);
}

#[test]
fn read_only_http() {
    let nginx = Nginx::start();
    let www = nginx.www.clone();
    read_only_backend(&nginx.url("/c"), &|| walk_files(&www).len());
}

#[test]
fn read_only_attribute_with_at_and_space_syntax() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    // `URL @read-only` as a separate, space-separated attribute.
    let r1 = Runner::new(&format!("{} @read-only", redis.url()));
    r1.compile(&proj, &a, "out.o", &expected);
    assert_eq!(get(&r1.stats(), "cache_miss"), 1);
    assert_eq!(redis.dbsize(), 0, "@read-only must not write");
    let r2 = Runner::new(&format!("{} read-only=false", redis.url()));
    r2.compile(&proj, &a, "out.o", &expected);
    assert!(redis.dbsize() >= 1, "read-only=false writes");
}

// ---------------------------------------------------------------------------
// remote_only
// ---------------------------------------------------------------------------

#[test]
fn remote_only_keeps_nothing_locally() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    let r = Runner::new(&redis.url()).with("CCACHE_REMOTE_ONLY", "1");

    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}");
    assert!(
        redis.dbsize() >= 1,
        "remote_only must still write the remote"
    );
    assert_eq!(
        r.local_entries(),
        Vec::<PathBuf>::new(),
        "remote_only: no entries in the local cache"
    );

    // The same runner hits, served from the remote.
    let before = redis.dbsize();
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!((hits(&s), get(&s, "cache_miss")), (1, 1), "{s:?}");
    assert_eq!(get(&s, "remote_storage_hit"), 1, "{s:?}");
    assert_eq!(
        r.local_entries(),
        Vec::<PathBuf>::new(),
        "remote_only: a remote hit is not kept locally"
    );
    assert_eq!(redis.dbsize(), before);

    // And a third time (nothing local can be serving it).
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!(get(&s, "remote_storage_hit"), 2, "{s:?}");
    assert_eq!(r.local_entries(), Vec::<PathBuf>::new());
}

#[test]
fn remote_only_with_local_entries_ignores_them() {
    // A runner with a warm local cache switched to remote_only must neither
    // read nor write locally: with an empty remote it misses.
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    let local = Runner {
        env: TestEnv::new(),
        vars: vec![],
    };
    local.compile(&proj, &a, "out.o", &expected);
    let entries = local.local_entries();
    assert!(!entries.is_empty());
    let r = Runner {
        env: local.env,
        vars: vec![
            ("CCACHE_REMOTE_STORAGE".into(), redis.url()),
            ("CCACHE_REMOTE_ONLY".into(), "true".into()),
        ],
    };
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!(
        get(&s, "cache_miss"),
        2,
        "remote_only must not read locally: {s:?}"
    );
    assert_eq!(r.local_entries(), entries, "remote_only wrote locally");
}

// ---------------------------------------------------------------------------
// reshare
// ---------------------------------------------------------------------------

#[test]
fn reshare_pushes_local_hits_to_the_remote() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/math.c");
    // Warm a local cache without any remote.
    let local = Runner {
        env: TestEnv::new(),
        vars: vec![],
    };
    local.compile(&proj, &a, "out.o", &expected);
    let env = local.env;

    // Local hit with a remote, without reshare: nothing sent.
    let r = Runner {
        env,
        vars: vec![("CCACHE_REMOTE_STORAGE".into(), redis.url())],
    };
    r.compile(&proj, &a, "out.o", &expected);
    assert_eq!(
        redis.dbsize(),
        0,
        "a local hit without reshare sends nothing"
    );
    assert_eq!(get(&r.stats(), "remote_storage_write"), 0);

    // With reshare the hit is pushed.
    let r = r.with("CCACHE_RESHARE", "1");
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!(hits(&s), 2, "{s:?}");
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}");
    assert!(
        !redis.keys("ccache:*R").is_empty(),
        "reshare must push the result"
    );

    // Another runner now gets it from the remote.
    let r2 = Runner::new(&redis.url());
    r2.compile(&proj, &a, "out.o", &expected);
    let s = r2.stats();
    assert_eq!((hits(&s), get(&s, "cache_miss")), (1, 0), "{s:?}");
    assert_eq!(get(&s, "remote_storage_hit"), 1, "{s:?}");
}

// ---------------------------------------------------------------------------
// sharding
// ---------------------------------------------------------------------------

#[test]
fn shards_spread_over_two_redis_servers() {
    let s1 = RedisServer::start(&[]);
    let s2 = RedisServer::start(&[]);
    let url = format!("redis://127.0.0.1:*|shards={},{}", s1.port, s2.port);
    let (_penv, proj) = proj_fixture();
    let units = generated_units(&proj, 20);

    let r1 = Runner::new(&url);
    for (a, obj, expected) in &units {
        r1.compile(&proj, a, obj, expected);
    }
    let st = r1.stats();
    assert_eq!(get(&st, "cache_miss"), 20, "{st:?}");
    assert_eq!(get(&st, "remote_storage_error"), 0, "{st:?}");
    let written = get(&st, "remote_storage_write");
    let (k1, k2) = (s1.keys("*"), s2.keys("*"));
    assert!(
        !k1.is_empty() && !k2.is_empty(),
        "both shards must get keys: {} and {}",
        k1.len(),
        k2.len()
    );
    assert_eq!(
        (k1.len() + k2.len()) as u64,
        written,
        "every write lands on exactly one shard"
    );
    assert!(
        k1.iter().all(|k| !k2.contains(k)),
        "a key must live on one shard only"
    );
    let results = k1.iter().chain(&k2).filter(|k| k.ends_with('R')).count();
    assert_eq!(results, 20, "one result per source");

    // Runner 2 (same shard list) finds everything.
    let r2 = Runner::new(&url);
    for (a, obj, expected) in &units {
        r2.compile(&proj, a, obj, expected);
    }
    let st = r2.stats();
    assert_eq!((hits(&st), get(&st, "cache_miss")), (20, 0), "{st:?}");
    assert_eq!(get(&st, "remote_storage_hit"), 20, "{st:?}");
    assert_eq!(get(&st, "remote_storage_read_miss"), 0, "{st:?}");
    assert_eq!(get(&st, "remote_storage_write"), 0, "{st:?}");
}
