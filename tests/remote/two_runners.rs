//! Two CI runners sharing one backend (redis, nginx WebDAV in each layout,
//! a shared directory): the second runner hits what the first stored.

use super::*;

// ---------------------------------------------------------------------------
// Two CI runners sharing one backend
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
    let (_penv, proj) = proj_fixture();
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
                .strip_prefix("ccache:")
                .unwrap_or_else(|| panic!("redis key {k:?} lacks the ccache: prefix"));
            let (hex, kind) = name.split_at(name.len() - 1);
            assert!(
                is_hex64(hex) && (kind == "R" || kind == "M"),
                "redis key {k:?} is not ccache:<64 hex><R|M>"
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
    let (_penv, proj) = proj_fixture();
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
