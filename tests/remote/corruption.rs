//! Corrupted and misplaced entries on the server are rejected, and the
//! real compiler runs.

use super::*;

// ---------------------------------------------------------------------------
// corrupted and misplaced entries on the server
// ---------------------------------------------------------------------------

fn flip_middle_byte(data: &mut [u8]) {
    let i = data.len() / 2;
    data[i] ^= 0x40;
}

/// Runner 1 stores `src/util.c`; `tamper` damages the server; runner 2 must
/// miss, compile a correct object and count an error.
fn corrupted_redis(tamper: &dyn Fn(&RedisServer)) {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    let r1 = Runner::new(&redis.url());
    r1.compile(&proj, &a, "out.o", &expected);
    assert!(!redis.keys("ccache:*R").is_empty());
    tamper(&redis);

    let r2 = Runner::new(&redis.url());
    r2.compile(&proj, &a, "out.o", &expected);
    let s = r2.stats();
    assert_eq!(hits(&s), 0, "a damaged remote entry must not hit: {s:?}");
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_hit"), 0, "{s:?}");
    assert!(
        get(&s, "remote_storage_error") >= 1,
        "a damaged remote entry is an error: {s:?}"
    );
    // Runner 2 then publishes a good entry; a third runner hits.
    let r3 = Runner::new(&redis.url());
    r3.compile(&proj, &a, "out.o", &expected);
    let s = r3.stats();
    assert_eq!((hits(&s), get(&s, "remote_storage_hit")), (1, 1), "{s:?}");
}

#[test]
fn redis_garbage_result_is_rejected() {
    corrupted_redis(&|redis| {
        for k in redis.keys("ccache:*R") {
            redis.set(&k, b"this is not an objcache entry at all");
        }
    });
}

#[test]
fn redis_flipped_byte_in_result_is_rejected() {
    corrupted_redis(&|redis| {
        for k in redis.keys("ccache:*R") {
            let mut v = redis.get(&k).unwrap();
            flip_middle_byte(&mut v);
            redis.set(&k, &v);
        }
    });
}

#[test]
fn redis_truncated_result_is_rejected() {
    corrupted_redis(&|redis| {
        for k in redis.keys("ccache:*R") {
            let v = redis.get(&k).unwrap();
            redis.set(&k, &v[..v.len() - 1]);
        }
    });
}

#[test]
fn redis_flipped_byte_everywhere_is_rejected() {
    corrupted_redis(&|redis| {
        for k in redis.keys("ccache:*") {
            let mut v = redis.get(&k).unwrap();
            flip_middle_byte(&mut v);
            redis.set(&k, &v);
        }
    });
}

#[test]
fn redis_valid_entry_under_another_key_is_rejected() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected_a) = unit(&proj, "src/util.c");
    let (b, expected_b) = unit(&proj, "src/math.c");
    let r1 = Runner::new(&redis.url());
    r1.compile(&proj, &a, "out.o", &expected_a);
    let keys_a = redis.keys("ccache:*R");
    assert_eq!(keys_a.len(), 1);
    r1.compile(&proj, &b, "out.o", &expected_b);
    let key_b: Vec<String> = redis
        .keys("ccache:*R")
        .into_iter()
        .filter(|k| !keys_a.contains(k))
        .collect();
    assert_eq!(key_b.len(), 1);
    // A's result key now holds B's (valid, checksummed) result.
    let b_bytes = redis.get(&key_b[0]).unwrap();
    redis.set(&keys_a[0], &b_bytes);

    let r2 = Runner::new(&redis.url());
    r2.compile(&proj, &a, "out.o", &expected_a);
    let s = r2.stats();
    assert_eq!(
        hits(&s),
        0,
        "an entry stored under the wrong key must be rejected: {s:?}"
    );
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
    // B itself still hits.
    r2.compile(&proj, &b, "out.o", &expected_b);
    assert_eq!(get(&r2.stats(), "remote_storage_hit"), 1);
}

#[test]
fn redis_valid_manifest_under_another_key_is_rejected() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = proj_fixture();
    let (a, expected_a) = unit(&proj, "src/util.c");
    let (b, expected_b) = unit(&proj, "src/math.c");
    let r1 = Runner::new(&redis.url());
    r1.compile(&proj, &a, "out.o", &expected_a);
    let keys_a = redis.keys("ccache:*");
    r1.compile(&proj, &b, "out.o", &expected_b);
    let new: Vec<String> = redis
        .keys("ccache:*")
        .into_iter()
        .filter(|k| !keys_a.contains(k))
        .collect();
    let m_a: Vec<&String> = keys_a.iter().filter(|k| k.ends_with('M')).collect();
    let m_b: Vec<&String> = new.iter().filter(|k| k.ends_with('M')).collect();
    assert_eq!((m_a.len(), m_b.len()), (1, 1), "{keys_a:?} {new:?}");
    // Plant B's manifest and B's result under A's names.
    redis.set(m_a[0], &redis.get(m_b[0]).unwrap());
    let r_a = keys_a.iter().find(|k| k.ends_with('R')).unwrap();
    let r_b = new.iter().find(|k| k.ends_with('R')).unwrap();
    redis.set(r_a, &redis.get(r_b).unwrap());

    let r2 = Runner::new(&redis.url());
    r2.compile(&proj, &a, "out.o", &expected_a);
    let s = r2.stats();
    assert_eq!((hits(&s), get(&s, "cache_miss")), (0, 1), "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}

fn corrupted_http(layout: &str, tamper: fn(&Path)) {
    let nginx = Nginx::start();
    let url = format!("{}|layout={layout}", nginx.url("/objcache"));
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/main.c");
    Runner::new(&url).compile(&proj, &a, "out.o", &expected);
    let files = walk_files(&nginx.www);
    assert!(!files.is_empty());
    for f in &files {
        tamper(f);
    }
    let r2 = Runner::new(&url);
    r2.compile(&proj, &a, "out.o", &expected);
    let s = r2.stats();
    assert_eq!((hits(&s), get(&s, "cache_miss")), (0, 1), "{s:?}");
    assert_eq!(get(&s, "remote_storage_hit"), 0, "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}

#[test]
fn http_flipped_byte_is_rejected() {
    corrupted_http("subdirs", |f| {
        let mut v = read(f);
        flip_middle_byte(&mut v);
        fs::write(f, v).unwrap();
    });
}

#[test]
fn http_garbage_is_rejected_bazel() {
    corrupted_http("bazel", |f| fs::write(f, b"garbage").unwrap());
}

#[test]
fn http_empty_file_is_rejected_flat() {
    corrupted_http("flat", |f| fs::write(f, b"").unwrap());
}

#[test]
fn file_backend_flipped_byte_is_rejected() {
    let shared = TestEnv::new();
    let dir = shared.dir("shared");
    let url = format!("file:{}", dir.display());
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj, "src/util.c");
    Runner::new(&url).compile(&proj, &a, "out.o", &expected);
    for f in walk_files(&dir) {
        let mut v = read(&f);
        flip_middle_byte(&mut v);
        fs::write(&f, v).unwrap();
    }
    let r2 = Runner::new(&url);
    r2.compile(&proj, &a, "out.o", &expected);
    let s = r2.stats();
    assert_eq!((hits(&s), get(&s, "cache_miss")), (0, 1), "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}
