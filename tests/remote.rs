//! Remote storage (`remote_storage`, `remote_only`, `reshare`) against real
//! servers started by the tests on 127.0.0.1: redis-server, nginx with
//! WebDAV, a shared directory, and fake TCP servers that stay silent, send
//! garbage or close mid-transfer.
//!
//! A "runner" is one CI machine: its own cache directory, the same project
//! directory and the same remote backend as the other runners.

use crate::common::servers::*;
use crate::common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const REMOTE_COUNTERS: [&str; 7] = [
    "remote_storage_hit",
    "remote_storage_miss",
    "remote_storage_read_hit",
    "remote_storage_read_miss",
    "remote_storage_write",
    "remote_storage_error",
    "remote_storage_timeout",
];

/// One CI runner: a private cache directory and a `CCACHE_*` environment.
struct Runner {
    env: TestEnv,
    vars: Vec<(String, String)>,
}

impl Runner {
    /// A runner whose `CCACHE_REMOTE_STORAGE` is `remote`.
    fn new(remote: &str) -> Runner {
        Runner {
            env: TestEnv::new(),
            vars: vec![("CCACHE_REMOTE_STORAGE".into(), remote.into())],
        }
    }

    fn with(mut self, key: &str, value: &str) -> Runner {
        self.vars.push((key.into(), value.into()));
        self
    }

    fn objcache_in(&self, cwd: &Path, argv: &[String]) -> std::process::Command {
        let mut cmd = self.env.objcache_in(cwd, argv);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// `objcache gcc <a>` in `cwd` with this runner's cache and variables:
    /// must succeed and write `output` byte-identical to `expected`.
    /// Returns the output and the wall time.
    #[track_caller]
    fn compile(&self, cwd: &Path, a: &[String], output: &str, expected: &[u8]) -> (Out, Duration) {
        let got = Compile::new(cwd, "gcc", a, output)
            .envs(&self.vars)
            .check_obj(&self.env, expected);
        (got.out, got.took)
    }

    fn stats(&self) -> Stats {
        self.env.stats()
    }

    /// Cache entry files in the local cache directory.
    fn local_entries(&self) -> Vec<PathBuf> {
        cache_entry_files(&self.env.cache_dir)
    }
}

/// The remote counters of a stats map (absent ones as 0).
fn remote_counters(s: &Stats) -> Vec<(&'static str, u64)> {
    REMOTE_COUNTERS.iter().map(|k| (*k, get(s, k))).collect()
}

/// A project with the `proj` fixture; returns (env holding it, project dir).
fn project() -> (TestEnv, PathBuf) {
    require("gcc");
    let env = TestEnv::new();
    let proj = env.copy_fixture("proj", "proj");
    (env, proj)
}

/// Arguments compiling `src` to `out.o`, and the plain gcc object.
fn unit(proj: &Path, src: &str) -> (Vec<String>, Vec<u8>) {
    let a = args(&["-c", src, "-o", "out.o", "-I", "include"]);
    let expected = plain_object("gcc", proj, &a, "out.o");
    (a, expected)
}

/// `n` small, different C sources `gen/uN.c` in `proj`, with their
/// arguments and plain objects (`uN.o`).
fn generated_units(proj: &Path, n: usize) -> Vec<(Vec<String>, String, Vec<u8>)> {
    fs::create_dir_all(proj.join("gen")).unwrap();
    (0..n)
        .map(|i| {
            let src = format!("gen/u{i}.c");
            fs::write(
                proj.join(&src),
                format!(
                    "#include \"util.h\"\nint gen_{i}(int x) {{ return x * {} + {i}; }}\n",
                    i + 3
                ),
            )
            .unwrap();
            let obj = format!("u{i}.o");
            let a = args(&["-c", &src, "-o", &obj, "-I", "include"]);
            let expected = plain_object("gcc", proj, &a, &obj);
            (a, obj, expected)
        })
        .collect()
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every file under `dir`, relative, sorted; a file backend's
/// `CACHEDIR.TAG` left out (config_parity tests it).
fn files_under(dir: &Path) -> Vec<String> {
    walk_files(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .filter(|f| f != "CACHEDIR.TAG")
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Two CI runners sharing one backend
// ---------------------------------------------------------------------------

/// The backend shared by the runners of [`two_runners`].
trait SharedBackend {
    /// The `remote_storage` value.
    fn url(&self) -> String;
    /// Checks what runner 1 stored (layout, key format).
    fn check_stored(&self);
    /// A count that grows with every request the server sees.
    fn traffic(&self) -> u64;
    /// Stops the server, leaving something that notices any later attempt.
    fn stop(&mut self);
    /// Attempts to reach the stopped server.
    fn attempts_after_stop(&self) -> u64;
}

/// Runner 1 misses and writes; runner 2 (another cache dir) hits from the
/// remote with an identical object; runner 2 again hits locally without any
/// remote traffic, also once the server is stopped.
fn two_runners(backend: &mut dyn SharedBackend) {
    let remote = backend.url();
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");

    let r1 = Runner::new(&remote);
    r1.compile(&proj, &a, "out.o", &expected);
    let s1 = r1.stats();
    assert_eq!(get(&s1, "cache_miss"), 1, "runner 1 must miss: {s1:?}");
    assert_eq!(hits(&s1), 0, "runner 1 must not hit: {s1:?}");
    assert!(
        get(&s1, "remote_storage_write") >= 1,
        "runner 1 must write to the remote: {s1:?}"
    );
    assert_eq!(
        get(&s1, "remote_storage_miss"),
        1,
        "a miss with remotes configured is a remote_storage_miss: {s1:?}"
    );
    assert!(
        get(&s1, "remote_storage_read_miss") >= 1,
        "runner 1 asked the remote and found nothing: {s1:?}"
    );
    assert_eq!(get(&s1, "remote_storage_error"), 0, "{s1:?}");
    assert_eq!(get(&s1, "remote_storage_timeout"), 0, "{s1:?}");
    backend.check_stored();

    let r2 = Runner::new(&remote);
    r2.compile(&proj, &a, "out.o", &expected);
    let s2 = r2.stats();
    assert_eq!(get(&s2, "cache_miss"), 0, "runner 2 must not miss: {s2:?}");
    assert_eq!(hits(&s2), 1, "runner 2 must hit: {s2:?}");
    assert_eq!(
        get(&s2, "direct_cache_hit"),
        1,
        "manifests go through the remote too, so runner 2 hits in direct mode: {s2:?}"
    );
    assert_eq!(
        get(&s2, "remote_storage_hit"),
        1,
        "the hit was served from the remote: {s2:?}"
    );
    assert!(
        get(&s2, "remote_storage_read_hit") >= 2,
        "manifest and result both read from the remote: {s2:?}"
    );
    assert_eq!(get(&s2, "remote_storage_write"), 0, "{s2:?}");
    assert_eq!(get(&s2, "remote_storage_error"), 0, "{s2:?}");
    assert!(
        !r2.local_entries().is_empty(),
        "a remote hit is kept in the local cache"
    );

    // Local hit: no remote traffic at all.
    let before = backend.traffic();
    r2.compile(&proj, &a, "out.o", &expected);
    let after = backend.traffic();
    let s3 = r2.stats();
    assert_eq!(hits(&s3), 2, "{s3:?}");
    assert_eq!(get(&s3, "cache_miss"), 0, "{s3:?}");
    assert_eq!(
        remote_counters(&s3),
        remote_counters(&s2),
        "a local hit must not touch the remote"
    );
    assert_eq!(after, before, "the server saw requests during a local hit");

    // Same with the server gone: still a hit, no error, no attempt.
    backend.stop();
    r2.compile(&proj, &a, "out.o", &expected);
    let s4 = r2.stats();
    assert_eq!(hits(&s4), 3, "{s4:?}");
    assert_eq!(get(&s4, "cache_miss"), 0, "{s4:?}");
    assert_eq!(
        remote_counters(&s4),
        remote_counters(&s2),
        "a local hit must not touch the (stopped) remote"
    );
    assert_eq!(
        backend.attempts_after_stop(),
        0,
        "a local hit tried to reach the stopped server"
    );
}

/// Listens where a stopped server was, to count connection attempts.
/// (nginx's killed workers may hold the port a moment longer.)
fn spy_on(port: u16) -> FakeServer {
    let start = Instant::now();
    loop {
        match FakeServer::start_on(port, Behaviour::Silent) {
            Ok(s) => return s,
            Err(e) if start.elapsed() > Duration::from_secs(5) => {
                panic!("cannot listen on the stopped server's port {port}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

struct SharedRedis {
    server: RedisServer,
    spy: Option<FakeServer>,
    /// Connections made by `traffic` itself.
    own: std::cell::Cell<u64>,
}

impl SharedBackend for SharedRedis {
    fn url(&self) -> String {
        self.server.url()
    }
    fn check_stored(&self) {
        let keys = self.server.keys("*");
        assert!(!keys.is_empty(), "runner 1 stored nothing in redis");
        for k in &keys {
            let name = k
                .strip_prefix("objcache:")
                .unwrap_or_else(|| panic!("redis key {k:?} lacks the objcache: prefix"));
            let (hex, kind) = name.split_at(name.len() - 1);
            assert!(
                is_hex64(hex) && (kind == "R" || kind == "M"),
                "redis key {k:?} is not objcache:<64 hex><R|M>"
            );
        }
        assert!(
            keys.iter().any(|k| k.ends_with('R')) && keys.iter().any(|k| k.ends_with('M')),
            "results and manifests both go to the remote: {keys:?}"
        );
    }
    fn traffic(&self) -> u64 {
        // Minus the connections of these calls.
        self.own.set(self.own.get() + 1);
        self.server.connections_received() - self.own.get()
    }
    fn stop(&mut self) {
        self.server.stop();
        self.spy = Some(spy_on(self.server.port));
    }
    fn attempts_after_stop(&self) -> u64 {
        self.spy.as_ref().unwrap().accepted() as u64
    }
}

#[test]
fn two_runners_redis() {
    two_runners(&mut SharedRedis {
        server: RedisServer::start(&[]),
        spy: None,
        own: Default::default(),
    });
}

struct SharedHttp {
    nginx: Nginx,
    layout: &'static str,
    check: fn(&[String]),
    spy: Option<FakeServer>,
}

impl SharedBackend for SharedHttp {
    fn url(&self) -> String {
        format!("{}|layout={}", self.nginx.url("/cache"), self.layout)
    }
    fn check_stored(&self) {
        let files = files_under(&self.nginx.www.join("cache"));
        assert!(!files.is_empty(), "runner 1 stored nothing over HTTP");
        (self.check)(&files);
    }
    fn traffic(&self) -> u64 {
        self.nginx.requests_served() as u64
    }
    fn stop(&mut self) {
        self.nginx.stop();
        self.spy = Some(spy_on(self.nginx.port));
    }
    fn attempts_after_stop(&self) -> u64 {
        self.spy.as_ref().unwrap().accepted() as u64
    }
}

fn two_runners_http(layout: &'static str, check: fn(&[String])) {
    two_runners(&mut SharedHttp {
        nginx: Nginx::start(),
        layout,
        check,
        spy: None,
    });
}

#[test]
fn two_runners_http_subdirs() {
    two_runners_http("subdirs", |files| {
        for f in files {
            let (dir, rest) = f.split_once('/').unwrap_or(("", f));
            let hex = format!("{dir}{}", &rest[..rest.len() - 1]);
            assert!(
                dir.len() == 2 && is_hex64(&hex) && (rest.ends_with('R') || rest.ends_with('M')),
                "subdirs layout wants <2 hex>/<62 hex><R|M>, got {f}"
            );
        }
    });
}

#[test]
fn two_runners_http_flat() {
    two_runners_http("flat", |files| {
        for f in files {
            assert!(
                !f.contains('/')
                    && is_hex64(&f[..f.len() - 1])
                    && (f.ends_with('R') || f.ends_with('M')),
                "flat layout wants <64 hex><R|M>, got {f}"
            );
        }
    });
}

#[test]
fn two_runners_http_bazel() {
    two_runners_http("bazel", |files| {
        for f in files {
            let hex = f
                .strip_prefix("ac/")
                .unwrap_or_else(|| panic!("bazel layout wants ac/<64 hex>, got {f}"));
            assert!(is_hex64(hex), "bazel layout wants ac/<64 hex>, got {f}");
        }
    });
}

/// A shared directory; "stopping" it replaces it by a file, so that any
/// later access fails (and would be counted as an error).
struct SharedDir {
    _tmp: TestEnv,
    dir: PathBuf,
}

impl SharedBackend for SharedDir {
    fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }
    fn check_stored(&self) {
        let files = files_under(&self.dir);
        assert!(
            !files.is_empty(),
            "runner 1 stored nothing in {}",
            self.dir.display()
        );
        for f in &files {
            let (d, rest) = f.split_once('/').unwrap_or(("", f));
            assert!(
                d.len() == 2 && is_hex64(&format!("{d}{}", &rest[..rest.len() - 1])),
                "file backend wants <2 hex>/<62 hex><R|M>, got {f}"
            );
        }
    }
    fn traffic(&self) -> u64 {
        // Reads leave no trace; writes change the listing.
        files_under(&self.dir).len() as u64
    }
    fn stop(&mut self) {
        fs::remove_dir_all(&self.dir).unwrap();
        fs::write(&self.dir, b"not a directory").unwrap();
    }
    fn attempts_after_stop(&self) -> u64 {
        0
    }
}

#[test]
fn two_runners_file_backend() {
    let tmp = TestEnv::new();
    let dir = tmp.dir("shared-cache");
    two_runners(&mut SharedDir { _tmp: tmp, dir });
}

#[test]
fn file_backend_plain_path_and_flat_layout() {
    let shared = TestEnv::new();
    let dir = shared.dir("flat-cache");
    let url = format!("file:{}|layout=flat", dir.display());
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/math.c");
    let r1 = Runner::new(&url);
    r1.compile(&proj, &a, "out.o", &expected);
    let files = files_under(&dir);
    assert!(!files.is_empty());
    for f in &files {
        assert!(!f.contains('/') && is_hex64(&f[..f.len() - 1]), "flat: {f}");
    }
    let r2 = Runner::new(&url);
    r2.compile(&proj, &a, "out.o", &expected);
    let s = r2.stats();
    assert_eq!((hits(&s), get(&s, "cache_miss")), (1, 0), "{s:?}");
    assert_eq!(get(&s, "remote_storage_hit"), 1, "{s:?}");
}

// ---------------------------------------------------------------------------
// 2. read-only backends
// ---------------------------------------------------------------------------

/// `count()` says how many entries the server holds.
fn read_only_backend(url: &str, count: &dyn Fn() -> usize) {
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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
// 3. remote_only
// ---------------------------------------------------------------------------

#[test]
fn remote_only_keeps_nothing_locally() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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
        !redis.keys("objcache:*R").is_empty(),
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
// 4. sharding
// ---------------------------------------------------------------------------

#[test]
fn shards_spread_over_two_redis_servers() {
    let s1 = RedisServer::start(&[]);
    let s2 = RedisServer::start(&[]);
    let url = format!("redis://127.0.0.1:*|shards={},{}", s1.port, s2.port);
    let (_penv, proj) = project();
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

// ---------------------------------------------------------------------------
// 5. server killed mid-build
// ---------------------------------------------------------------------------

#[test]
fn redis_killed_mid_build() {
    let mut redis = RedisServer::start(&[]);
    let (_penv, proj) = project();
    let units = generated_units(&proj, 6);
    let r = Runner::new(&redis.url());
    for (a, obj, expected) in &units[..3] {
        let (_, took) = r.compile(&proj, a, obj, expected);
        assert!(took < Duration::from_secs(5), "compile took {took:?}");
    }
    let s = r.stats();
    assert!(get(&s, "remote_storage_write") >= 3, "{s:?}");
    assert_eq!(get(&s, "remote_storage_error"), 0, "{s:?}");

    redis.stop();
    for (a, obj, expected) in &units[3..] {
        let (_, took) = r.compile(&proj, a, obj, expected);
        assert!(
            took < Duration::from_secs(5),
            "compile with a dead server took {took:?}"
        );
    }
    let s = r.stats();
    assert_eq!(get(&s, "cache_miss"), 6, "{s:?}");
    assert!(
        get(&s, "remote_storage_error") >= 1,
        "a dead server is an error: {s:?}"
    );

    // A second runner with the dead server still works (remote misses all).
    let r2 = Runner::new(&redis.url());
    for (a, obj, expected) in &units[..2] {
        let (_, took) = r2.compile(&proj, a, obj, expected);
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    let s = r2.stats();
    assert_eq!(get(&s, "cache_miss"), 2, "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 2, "{s:?}");
    // The first runner still hits locally.
    r.compile(&proj, &units[0].0, &units[0].1, &units[0].2);
    assert_eq!(r.env.hits(), 1);
}

#[test]
fn nginx_killed_mid_build() {
    let mut nginx = Nginx::start();
    let (_penv, proj) = project();
    let units = generated_units(&proj, 4);
    let r = Runner::new(&nginx.url("/c"));
    for (a, obj, expected) in &units[..2] {
        r.compile(&proj, a, obj, expected);
    }
    assert_eq!(get(&r.stats(), "remote_storage_error"), 0);
    nginx.stop();
    for (a, obj, expected) in &units[2..] {
        let (_, took) = r.compile(&proj, a, obj, expected);
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    let s = r.stats();
    assert_eq!(get(&s, "cache_miss"), 4, "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}

// ---------------------------------------------------------------------------
// 6. a server that never answers
// ---------------------------------------------------------------------------

fn silent_server(url_of: fn(u16) -> String) {
    let server = FakeServer::start(Behaviour::Silent);
    let url = format!(
        "{}|connect-timeout=200|data-timeout=300",
        url_of(server.port)
    );
    let (_penv, proj) = project();
    let units = generated_units(&proj, 2);
    let r = Runner::new(&url);
    let limit = Duration::from_millis(200 + 300) + Duration::from_secs(3);
    for (a, obj, expected) in &units {
        let (_, took) = r.compile(&proj, a, obj, expected);
        assert!(
            took < limit,
            "compile against a silent server took {took:?} (limit {limit:?})"
        );
    }
    let s = r.stats();
    assert_eq!(get(&s, "cache_miss"), 2, "{s:?}");
    assert!(
        get(&s, "remote_storage_timeout") >= 1,
        "a silent server is a timeout: {s:?}"
    );
    assert!(server.accepted() >= 1, "objcache never connected");
    // A failed backend is not retried in the same process: one timeout
    // per compile at most.
    assert!(
        get(&s, "remote_storage_timeout") + get(&s, "remote_storage_error") <= 2,
        "a backend that failed must not be retried in the same run: {s:?}"
    );
}

#[test]
fn silent_redis_server_times_out() {
    silent_server(|port| format!("redis://127.0.0.1:{port}"));
}

#[test]
fn silent_http_server_times_out() {
    silent_server(|port| format!("http://127.0.0.1:{port}/cache"));
}

#[test]
fn silent_server_default_timeouts_are_bounded() {
    // Defaults: connect 100 ms, data 1000 ms.
    let server = FakeServer::start(Behaviour::Silent);
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let r = Runner::new(&format!("redis://127.0.0.1:{}", server.port));
    let (_, took) = r.compile(&proj, &a, "out.o", &expected);
    assert!(
        took < Duration::from_millis(1100) + Duration::from_secs(3),
        "{took:?}"
    );
    assert!(get(&r.stats(), "remote_storage_timeout") >= 1);
}

// ---------------------------------------------------------------------------
// 7. wrong password, credentials never shown
// ---------------------------------------------------------------------------

const RIGHT_PW: &str = "R1ghtPassw0rdXyz";
const WRONG_PW: &str = "Wr0ngPassw0rdQrs";

#[track_caller]
fn assert_no_secret(text: &str, secrets: &[&str], what: &str) {
    for s in secrets {
        assert!(!text.contains(s), "{what} shows the secret {s:?}:\n{text}");
    }
}

#[test]
fn wrong_redis_password_is_an_error_and_never_shown() {
    let redis = RedisServer::start(&["--requirepass", RIGHT_PW]);
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let url = format!("redis://:{WRONG_PW}@127.0.0.1:{}", redis.port);
    let log = TestEnv::new();
    let logfile = log.root().join("objcache.log");
    let r = Runner::new(&url).with("CCACHE_LOGFILE", &logfile.display().to_string());

    let (out, _) = r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_write"), 0, "{s:?}");
    assert_eq!(redis.dbsize(), 0);
    assert_no_secret(&out.stderr_str(), &[WRONG_PW], "stderr");
    assert_no_secret(&out.stdout_str(), &[WRONG_PW], "stdout");
    let logtext = fs::read_to_string(&logfile).unwrap_or_default();
    assert!(
        logtext.contains("remote"),
        "the log should say what happened with the remote:\n{logtext}"
    );
    assert_no_secret(&logtext, &[WRONG_PW], "the log file");

    let mut cmd = r.objcache_in(proj.as_path(), &args(&["-p"]));
    let p = run_ok(&mut cmd).stdout_str();
    assert_no_secret(&p, &[WRONG_PW], "objcache -p");
    assert!(
        p.lines()
            .any(|l| l.contains("remote_storage") && l.contains(":********@")),
        "-p must show the masked URL:\n{p}"
    );

    // The right password works (and is not logged either).
    let url = format!("redis://:{RIGHT_PW}@127.0.0.1:{}", redis.port);
    let good = Runner::new(&url).with("CCACHE_LOGFILE", &logfile.display().to_string());
    good.compile(&proj, &a, "out.o", &expected);
    let s = good.stats();
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_error"), 0, "{s:?}");
    let good2 = Runner::new(&url).with("CCACHE_LOGFILE", &logfile.display().to_string());
    let (out, _) = good2.compile(&proj, &a, "out.o", &expected);
    assert_eq!(get(&good2.stats(), "remote_storage_hit"), 1);
    assert_no_secret(&out.stderr_str(), &[RIGHT_PW], "stderr");
    let logtext = fs::read_to_string(&logfile).unwrap_or_default();
    assert_no_secret(&logtext, &[WRONG_PW, RIGHT_PW], "the log file");
}

#[test]
fn redis_user_and_password_in_url() {
    // ACL user with its own password: redis://USER:PASSWORD@HOST:PORT/DB.
    let redis = RedisServer::start(&["--requirepass", RIGHT_PW]);
    redis.client().cmd(&[
        b"ACL",
        b"SETUSER",
        b"ci",
        b"on",
        format!(">{WRONG_PW}").as_bytes(),
        b"~*",
        b"+@all",
    ]);
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/math.c");
    let url = format!("redis://ci:{WRONG_PW}@127.0.0.1:{}/3", redis.port);
    let r = Runner::new(&url);
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!(get(&s, "remote_storage_error"), 0, "{s:?}");
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}");
    let mut c = redis.client();
    assert_eq!(c.cmd(&[b"DBSIZE"]), Reply::Int(0), "db 0 must stay empty");
    c.cmd(&[b"SELECT", b"3"]);
    assert!(
        matches!(c.cmd(&[b"DBSIZE"]), Reply::Int(n) if n >= 1),
        "entries belong in db 3"
    );
}

// ---------------------------------------------------------------------------
// 8. corrupted and misplaced entries on the server
// ---------------------------------------------------------------------------

fn flip_middle_byte(data: &mut [u8]) {
    let i = data.len() / 2;
    data[i] ^= 0x40;
}

/// Runner 1 stores `src/util.c`; `tamper` damages the server; runner 2 must
/// miss, compile a correct object and count an error.
fn corrupted_redis(tamper: &dyn Fn(&RedisServer)) {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let r1 = Runner::new(&redis.url());
    r1.compile(&proj, &a, "out.o", &expected);
    assert!(!redis.keys("objcache:*R").is_empty());
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
        for k in redis.keys("objcache:*R") {
            redis.set(&k, b"this is not an objcache entry at all");
        }
    });
}

#[test]
fn redis_flipped_byte_in_result_is_rejected() {
    corrupted_redis(&|redis| {
        for k in redis.keys("objcache:*R") {
            let mut v = redis.get(&k).unwrap();
            flip_middle_byte(&mut v);
            redis.set(&k, &v);
        }
    });
}

#[test]
fn redis_truncated_result_is_rejected() {
    corrupted_redis(&|redis| {
        for k in redis.keys("objcache:*R") {
            let v = redis.get(&k).unwrap();
            redis.set(&k, &v[..v.len() - 1]);
        }
    });
}

#[test]
fn redis_flipped_byte_everywhere_is_rejected() {
    corrupted_redis(&|redis| {
        for k in redis.keys("objcache:*") {
            let mut v = redis.get(&k).unwrap();
            flip_middle_byte(&mut v);
            redis.set(&k, &v);
        }
    });
}

#[test]
fn redis_valid_entry_under_another_key_is_rejected() {
    let redis = RedisServer::start(&[]);
    let (_penv, proj) = project();
    let (a, expected_a) = unit(&proj, "src/util.c");
    let (b, expected_b) = unit(&proj, "src/math.c");
    let r1 = Runner::new(&redis.url());
    r1.compile(&proj, &a, "out.o", &expected_a);
    let keys_a = redis.keys("objcache:*R");
    assert_eq!(keys_a.len(), 1);
    r1.compile(&proj, &b, "out.o", &expected_b);
    let key_b: Vec<String> = redis
        .keys("objcache:*R")
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
    let (_penv, proj) = project();
    let (a, expected_a) = unit(&proj, "src/util.c");
    let (b, expected_b) = unit(&proj, "src/math.c");
    let r1 = Runner::new(&redis.url());
    r1.compile(&proj, &a, "out.o", &expected_a);
    let keys_a = redis.keys("objcache:*");
    r1.compile(&proj, &b, "out.o", &expected_b);
    let new: Vec<String> = redis
        .keys("objcache:*")
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
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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

// ---------------------------------------------------------------------------
// 9. misbehaving HTTP servers
// ---------------------------------------------------------------------------

fn bad_http_server(reply: &[u8]) -> Stats {
    let server = FakeServer::start(Behaviour::Reply(reply.to_vec()));
    let (_penv, proj) = project();
    let units = generated_units(&proj, 2);
    let r = Runner::new(&format!(
        "http://127.0.0.1:{}/cache|data-timeout=500",
        server.port
    ));
    for (a, obj, expected) in &units {
        let (_, took) = r.compile(&proj, a, obj, expected);
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    assert!(server.accepted() >= 1, "objcache never connected");
    let s = r.stats();
    assert_eq!(get(&s, "cache_miss"), 2, "{s:?}");
    assert_eq!(hits(&s), 0, "{s:?}");
    assert_eq!(get(&s, "remote_storage_hit"), 0, "{s:?}");
    s
}

#[test]
fn http_connection_closed_mid_body() {
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
    reply.extend_from_slice(&[0x5a; 37]);
    let s = bad_http_server(&reply);
    assert!(
        get(&s, "remote_storage_error") + get(&s, "remote_storage_timeout") >= 1,
        "a truncated body is an error: {s:?}"
    );
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}

#[test]
fn http_garbage_status_line() {
    let s = bad_http_server(b"SPLAT 999 what\r\n\r\n\x00\x01\x02");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}

#[test]
fn http_server_error_status() {
    let s = bad_http_server(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}

#[test]
fn http_200_with_garbage_body() {
    let s = bad_http_server(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
}

#[test]
fn http_put_rejected() {
    // GET says 404 (a miss), PUT fails with 403: an error, not a write.
    let s = bad_http_server(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    assert!(get(&s, "remote_storage_read_miss") >= 1, "{s:?}");
    assert_eq!(get(&s, "remote_storage_write"), 0, "{s:?}");
    assert!(
        get(&s, "remote_storage_error") >= 1,
        "a refused PUT is an error: {s:?}"
    );
}

// ---------------------------------------------------------------------------
// 10. -p masks credentials
// ---------------------------------------------------------------------------

#[test]
fn show_config_masks_credentials() {
    let p1 = free_port();
    let value = format!(
        "redis://alice:Secret1Aa@127.0.0.1:{p1}/2 \
         redis://:Secret2Bb@127.0.0.1:{p1} \
         http://bob:Secret3Cc@127.0.0.1:{p1}/cache|bearer-token=Secret4Dd|header=X-Api-Key=Secret5Ee \
         http://127.0.0.1:{p1}/c @bearer-token=Secret6Ff @header=Authorization=Basic%20Secret7Gg"
    );
    let secrets = [
        "Secret1Aa",
        "Secret2Bb",
        "Secret3Cc",
        "Secret4Dd",
        "Secret5Ee",
        "Secret6Ff",
        "Secret7Gg",
    ];
    let env = TestEnv::new();
    // From the environment.
    let mut cmd = env.objcache();
    cmd.arg("-p").env("CCACHE_REMOTE_STORAGE", &value);
    let out = run_ok(&mut cmd).stdout_str();
    let line = out
        .lines()
        .find(|l| l.contains("remote_storage ="))
        .unwrap_or_else(|| panic!("no remote_storage line in -p:\n{out}"))
        .to_string();
    assert_no_secret(&out, &secrets, "objcache -p");
    for want in [
        "redis://alice:********@127.0.0.1",
        ":********@127.0.0.1",
        "http://bob:********@127.0.0.1",
        "bearer-token=********",
        "header=X-Api-Key=********",
    ] {
        assert!(line.contains(want), "-p line lacks {want:?}: {line}");
    }
    assert!(line.contains(&format!("127.0.0.1:{p1}/cache")), "{line}");

    // From the config file.
    fs::create_dir_all(&env.cache_dir).unwrap();
    fs::write(
        env.cache_dir.join("ccache.conf"),
        format!("remote_storage = {value}\n"),
    )
    .unwrap();
    let mut cmd = env.objcache();
    cmd.arg("-p");
    let out = run_ok(&mut cmd).stdout_str();
    assert_no_secret(&out, &secrets, "objcache -p (config file)");
    assert!(out.contains("********"), "{out}");

    // A compile against these (unreachable) backends: errors, and neither
    // stderr nor the log shows a secret.
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let logfile = env.root().join("log.txt");
    let r = Runner::new(&value).with("CCACHE_LOGFILE", &logfile.display().to_string());
    let (out, _) = r.compile(&proj, &a, "out.o", &expected);
    assert_no_secret(&out.stderr_str(), &secrets, "stderr");
    let log = fs::read_to_string(&logfile).unwrap_or_default();
    assert!(!log.is_empty(), "CCACHE_LOGFILE was not written");
    assert_no_secret(&log, &secrets, "the log file");
    assert!(get(&r.stats(), "remote_storage_error") >= 1);
}

fn log_masks_http_credentials(url_of: fn(u16) -> String, secrets: &[&str]) {
    let nginx = Nginx::start();
    let url = url_of(nginx.port);
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let tmp = TestEnv::new();
    let logfile = tmp.root().join("log.txt");
    let lf = logfile.display().to_string();
    Runner::new(&url)
        .with("CCACHE_LOGFILE", &lf)
        .compile(&proj, &a, "out.o", &expected);
    let r2 = Runner::new(&url).with("CCACHE_LOGFILE", &lf);
    let (out, _) = r2.compile(&proj, &a, "out.o", &expected);
    let log = fs::read_to_string(&logfile).unwrap();
    let s = r2.stats();
    assert_eq!(get(&s, "remote_storage_hit"), 1, "{s:?}\n{log}");
    assert!(log.contains("remote hit"), "{log}");
    assert_no_secret(&log, secrets, "the log file");
    assert_no_secret(&out.stderr_str(), secrets, "stderr");
}

#[test]
fn log_masks_http_basic_auth_and_header() {
    log_masks_http_credentials(
        |port| format!("http://u:HttpPw9Zz@127.0.0.1:{port}/c|header=X-K=Hdr9Xx"),
        &["HttpPw9Zz", "Hdr9Xx"],
    );
}

#[test]
fn log_masks_http_bearer_token() {
    log_masks_http_credentials(
        |port| format!("http://127.0.0.1:{port}/c|bearer-token=Tok9Yy"),
        &["Tok9Yy"],
    );
}

// ---------------------------------------------------------------------------
// HTTP requests on the wire
// ---------------------------------------------------------------------------

const HTTP_404: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
const HTTP_201: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";

/// Runs one miss against a recording HTTP server that answers every GET
/// with 404 and every PUT with 201; returns the requests.
fn recorded_requests(userinfo: &str, attrs: &str) -> Vec<Request> {
    let server = FakeServer::start(Behaviour::Http {
        get: HTTP_404.to_vec(),
        put: HTTP_201.to_vec(),
    });
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let url = format!("http://{userinfo}127.0.0.1:{}/base/{attrs}", server.port);
    let r = Runner::new(&url);
    r.compile(&proj, &a, "out.o", &expected);
    let s = r.stats();
    assert_eq!(get(&s, "remote_storage_error"), 0, "{s:?}");
    assert_eq!(
        get(&s, "remote_storage_write"),
        2,
        "result and manifest: {s:?}"
    );
    let reqs = server.requests();
    assert!(
        reqs.iter().any(|r| r.line().starts_with("GET "))
            && reqs.iter().any(|r| r.line().starts_with("PUT ")),
        "{reqs:#?}"
    );
    for r in reqs.iter().filter(|r| r.line().starts_with("PUT ")) {
        assert!(r.body_len > 0, "PUT without a body: {r:?}");
    }
    reqs
}

/// The paths (`/base/...`) of the requests, without method and version.
fn paths(reqs: &[Request]) -> Vec<String> {
    reqs.iter()
        .map(|r| r.line().split(' ').nth(1).unwrap_or_default().to_string())
        .collect()
}

#[test]
fn http_subdirs_requests_headers_and_auth() {
    let reqs = recorded_requests("ci:p%40ss@", "|header=X-Objcache-Test=b%20c");
    for p in paths(&reqs) {
        let rest = p
            .strip_prefix("/base/")
            .unwrap_or_else(|| panic!("path outside the base: {p}"));
        let (dir, name) = rest.split_once('/').unwrap_or_else(|| panic!("{p}"));
        assert!(
            dir.len() == 2 && is_hex64(&format!("{dir}{}", &name[..name.len() - 1])),
            "subdirs path: {p}"
        );
    }
    for r in &reqs {
        assert_eq!(
            r.headers("authorization"),
            vec!["Basic Y2k6cEBzcw==".to_string()],
            "basic auth of the percent-decoded user:password ci:p@ss: {r:?}"
        );
        assert_eq!(
            r.headers("x-objcache-test"),
            vec!["b c".to_string()],
            "{r:?}"
        );
        assert_eq!(
            r.headers("connection"),
            vec!["close".to_string()],
            "without keep-alive: {r:?}"
        );
    }
}

#[test]
fn http_flat_requests_with_bearer_token_and_keep_alive() {
    let reqs = recorded_requests("", "|layout=flat|bearer-token=tok%2Fen|keep-alive");
    for p in paths(&reqs) {
        let name = p.strip_prefix("/base/").unwrap_or_else(|| panic!("{p}"));
        assert!(
            is_hex64(&name[..name.len() - 1]) && (name.ends_with('R') || name.ends_with('M')),
            "flat path: {p}"
        );
    }
    for r in &reqs {
        assert_eq!(
            r.headers("authorization"),
            vec!["Bearer tok/en".to_string()],
            "{r:?}"
        );
        assert!(
            !r.headers("connection")
                .iter()
                .any(|v| v.eq_ignore_ascii_case("close")),
            "keep-alive: no Connection: close: {r:?}"
        );
    }
}

#[test]
fn http_bazel_requests() {
    let reqs = recorded_requests("", "|layout=bazel");
    let ps = paths(&reqs);
    for p in &ps {
        let hex = p
            .strip_prefix("/base/ac/")
            .unwrap_or_else(|| panic!("bazel path: {p}"));
        assert!(is_hex64(hex), "bazel path: {p}");
    }
    let distinct: std::collections::BTreeSet<&String> = ps.iter().collect();
    assert_eq!(distinct.len(), 2, "a result and a manifest: {ps:?}");
}

// ---------------------------------------------------------------------------
// More backends and configurations
// ---------------------------------------------------------------------------

#[test]
fn big_objects_through_redis_and_http() {
    let redis = RedisServer::start(&[]);
    let nginx = Nginx::start();
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
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
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    // A header value: plain text with a `%` that is no escape.
    let r = Runner::new(&format!("file:{}|header=X-Note=50%aé", dir.display()));
    r.compile(&proj, &a, "out.o", &expected);
    let mut cmd = r.objcache_in(&proj, &args(&["-p"]));
    run_ok(&mut cmd);
}

#[test]
fn http_slow_drip_is_cut_by_request_timeout() {
    // Every read gets a byte well within data-timeout; only the whole
    // request's timeout can end this.
    let server = FakeServer::start(Behaviour::Drip(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec(),
        Duration::from_millis(50),
    ));
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let r = Runner::new(&format!(
        "http://127.0.0.1:{}/c|data-timeout=500|request-timeout=1000",
        server.port
    ));
    let (_, took) = r.compile(&proj, &a, "out.o", &expected);
    assert!(
        took < Duration::from_millis(1000) + Duration::from_secs(3),
        "request-timeout did not bound a dripping server: {took:?}"
    );
    let s = r.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert!(
        get(&s, "remote_storage_timeout") >= 1,
        "a request over request-timeout is a timeout: {s:?}"
    );
}

/// Bug: `data-timeout` is documented (src/remote/mod.rs `Timeouts::data`)
/// as the limit for one read or write on an open connection, but the HTTP
/// backend passes it to ureq's `timeout_recv_body` / `timeout_send_body`,
/// which bound the whole body. A steady server sending an entry in pieces
/// 150 ms apart (1.5 s in all, default data-timeout 1 s, request-timeout
/// 10 s) is cut off: with the default timeouts any entry that takes more
/// than a second to download or upload can never be shared.
#[test]
fn http_slow_but_steady_download_is_not_a_timeout() {
    // Runner 1 stores into nginx (flat layout) to get valid entry bytes.
    let nginx = Nginx::start();
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    Runner::new(&format!("{}|layout=flat", nginx.url("/c"))).compile(&proj, &a, "out.o", &expected);
    let files: BTreeMap<String, Vec<u8>> = walk_files(&nginx.www.join("c"))
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (format!("/c/{name}"), read(&p))
        })
        .collect();
    assert_eq!(files.len(), 2, "{:?}", files.keys());
    let server = FakeServer::start(Behaviour::SlowFiles {
        files,
        chunks: 10,
        gap: Duration::from_millis(150),
    });
    let r2 = Runner::new(&format!("http://127.0.0.1:{}/c|layout=flat", server.port));
    r2.compile(&proj, &a, "out.o", &expected);
    let s = r2.stats();
    assert_eq!(get(&s, "remote_storage_timeout"), 0, "{s:?}");
    assert_eq!((hits(&s), get(&s, "remote_storage_hit")), (1, 1), "{s:?}");
}

/// A redirect is not followed: the entry (and any secret header) must not go
/// to another origin. It counts as an error, and the build goes on.
#[test]
fn http_redirect_is_not_followed() {
    let target = FakeServer::start(Behaviour::Http {
        get: b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        put: b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".to_vec(),
    });
    let reply = format!(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{}/elsewhere\r\nContent-Length: 0\r\n\r\n",
        target.port
    );
    let s = bad_http_server(reply.as_bytes());
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
    assert_eq!(target.accepted(), 0, "the redirect was followed");
}

/// A body announced larger than any entry is refused, not read into memory.
#[test]
fn http_huge_body_is_refused() {
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Length: 3221225472\r\n\r\n".to_vec();
    reply.extend_from_slice(&[0u8; 1024]);
    let s = bad_http_server(&reply);
    assert!(
        get(&s, "remote_storage_error") + get(&s, "remote_storage_timeout") >= 1,
        "{s:?}"
    );
}

/// A Redis that answers one byte at a time passes every read's
/// data-timeout; the request timeout ends it, and the compile goes on.
#[test]
fn redis_slow_drip_is_cut_by_request_timeout() {
    let server = FakeServer::start(Behaviour::Drip(
        b"$100000\r\n".to_vec(),
        Duration::from_millis(50),
    ));
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let r = Runner::new(&format!(
        "redis://127.0.0.1:{}|data-timeout=4000|request-timeout=1000",
        server.port
    ));
    let (_, took) = r.compile(&proj, &a, "out.o", &expected);
    assert!(
        took < Duration::from_secs(4),
        "request-timeout did not bound a dripping Redis: {took:?}"
    );
    let s = r.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert!(get(&s, "remote_storage_timeout") >= 1, "{s:?}");
}

/// A value larger than any entry objcache takes is not transferred: the
/// compile misses, and the server sends next to nothing.
#[test]
fn redis_oversized_value_is_not_downloaded() {
    let server = RedisServer::start(&[]);
    let (_penv, proj) = project();
    let (a, expected) = unit(&proj, "src/util.c");
    let writer = Runner::new(&server.url());
    writer.compile(&proj, &a, "out.o", &expected);
    let huge = vec![b'x'; 150 << 20];
    for key in server.keys("objcache:*") {
        server.set(&key, &huge);
    }
    let sent = server.bytes_sent();
    let reader = Runner::new(&server.url());
    reader.compile(&proj, &a, "out.o", &expected);
    let s = reader.stats();
    assert_eq!(get(&s, "cache_miss"), 1, "{s:?}");
    assert!(get(&s, "remote_storage_error") >= 1, "{s:?}");
    let transferred = server.bytes_sent() - sent;
    assert!(transferred < 1 << 20, "the server sent {transferred} bytes");
}
