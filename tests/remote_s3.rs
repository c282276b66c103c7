//! The S3 backend (`s3://BUCKET/PREFIX`) against S3-compatible servers the
//! tests start on 127.0.0.1: moto's server mode, and s3s-fs, which checks
//! SigV4 signatures (moto does not check a presigned URL's), for what
//! depends on the secret. Every failure must end in a plain compile with a
//! counted remote error or timeout, never a broken build nor an entry
//! served that the server did not have for that key.

use crate::common::servers::*;
use crate::common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One CI machine: its own cache, a `HOME` of its own (no `~/.aws` of the
/// machine running the tests), no AWS variables but the test's (an empty
/// one counts as unset), and `remote_storage` = `remote`.
struct Runner {
    env: TestEnv,
    vars: Vec<(String, String)>,
}

const AWS_VARIABLES: [&str; 11] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
];

impl Runner {
    fn new(remote: &str) -> Runner {
        let env = TestEnv::new();
        let home = env.dir("home").display().to_string();
        let mut vars = vec![
            ("CCACHE_REMOTE_STORAGE".to_string(), remote.to_string()),
            ("HOME".to_string(), home),
        ];
        vars.extend(AWS_VARIABLES.iter().map(|v| (v.to_string(), String::new())));
        Runner { env, vars }
    }

    fn with(mut self, key: &str, value: &str) -> Runner {
        self.vars.push((key.into(), value.into()));
        self
    }

    /// With the key pair s3s-fs accepts, or `secret` instead of its secret.
    fn with_keys(self, secret: &str) -> Runner {
        self.with("AWS_ACCESS_KEY_ID", S3S_KEY.0)
            .with("AWS_SECRET_ACCESS_KEY", secret)
    }

    fn home(&self) -> PathBuf {
        self.env.root().join("home")
    }

    /// Compiles; the object must be `expected`. Returns the wall time.
    #[track_caller]
    fn compile(&self, proj: &Path, a: &[String], expected: &[u8]) -> Duration {
        Compile::new(proj, "gcc", a, "out.o")
            .envs(&self.vars)
            .check_obj(&self.env, expected)
            .took
    }

    fn stat(&self, name: &str) -> u64 {
        self.env.stat(name)
    }

    #[track_caller]
    fn assert_remote(&self, hit: u64, error: u64, timeout: u64) {
        let s = self.env.stats();
        let got = (
            get(&s, "remote_storage_hit"),
            get(&s, "remote_storage_error"),
            get(&s, "remote_storage_timeout"),
        );
        assert_eq!(got, (hit, error, timeout), "(hit, error, timeout): {s:?}");
    }
}

/// The project, the arguments compiling `src/util.c`, and the plain object.
fn project() -> (TestEnv, PathBuf, Vec<String>, Vec<u8>) {
    let (env, proj) = proj_fixture();
    let a = args(&["-c", "src/util.c", "-o", "out.o", "-I", "include"]);
    let expected = plain_object("gcc", &proj, &a, "out.o");
    (env, proj, a, expected)
}

/// `s3://PATH` on `server`, with timeouts that a loaded machine running the
/// suite in parallel never reaches (a slow answer is not what is tested).
fn s3_url(server: &S3Server, path: &str) -> String {
    format!(
        "s3://{path} endpoint={} connect-timeout=2s data-timeout=10s",
        server.endpoint()
    )
}

fn s3s_with_bucket() -> S3Server {
    let server = S3Server::start(S3Kind::S3s);
    server.create_bucket("cache");
    server
}

/// A second machine with an empty local cache gets the first one's
/// entries from the bucket, under the prefix only, and writes what a
/// plain compile writes; another prefix is another cache.
#[test]
fn remote_hits_under_the_prefix_equal_a_plain_compile() {
    for kind in [S3Kind::Moto, S3Kind::S3s] {
        let server = S3Server::start(kind);
        server.create_bucket("cache");
        let (_penv, proj, a, expected) = project();
        let url = s3_url(&server, "cache/ci/objcache");
        let first = Runner::new(&url).with_keys(S3S_KEY.1);
        first.compile(&proj, &a, &expected);
        assert!(first.stat("remote_storage_write") >= 2, "{kind:?}");
        let keys = server.keys("cache");
        assert!(keys.len() >= 2, "{kind:?}: {keys:?}");
        for k in &keys {
            let name = k.strip_prefix("ci/objcache/").unwrap_or_else(|| {
                panic!("{kind:?}: key {k} is not under the prefix");
            });
            assert!(name.ends_with(['R', 'M']), "{kind:?}: {k}");
        }
        let second = Runner::new(&url).with_keys(S3S_KEY.1);
        second.compile(&proj, &a, &expected);
        second.assert_remote(1, 0, 0);
        assert_eq!(second.env.hits(), 1, "{kind:?}");
        let other = s3_url(&server, "cache/other");
        let third = Runner::new(&other).with_keys(S3S_KEY.1);
        third.compile(&proj, &a, &expected);
        third.assert_remote(0, 0, 0);
        assert_eq!(third.stat("remote_storage_miss"), 1, "{kind:?}");
    }
}

/// Keys from the environment and from a profile in the shared credentials
/// file (with the region and endpoint from the config file) sign requests
/// the server accepts.
#[test]
fn credentials_from_the_environment_and_a_profile() {
    let server = s3s_with_bucket();
    let (_penv, proj, a, expected) = project();
    let url = s3_url(&server, "cache");
    Runner::new(&url)
        .with_keys(S3S_KEY.1)
        .with("AWS_REGION", "eu-central-1")
        .compile(&proj, &a, &expected);
    // The endpoint from the profile's config, not an attribute.
    let r = Runner::new("s3://cache").with("AWS_PROFILE", "ci");
    let aws = r.home().join(".aws");
    write_file(
        &aws.join("credentials"),
        &format!(
            "[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n\
             [ci]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            S3S_KEY.0, S3S_KEY.1
        ),
    );
    write_file(
        &aws.join("config"),
        &format!(
            "[profile ci]\nregion = eu-west-3\nendpoint_url = {}\n",
            server.endpoint()
        ),
    );
    r.compile(&proj, &a, &expected);
    r.assert_remote(1, 0, 0);
    // The same from files named by the variables, the profile by attribute.
    let moved = r.env.dir("elsewhere");
    std::fs::rename(aws.join("credentials"), moved.join("creds")).unwrap();
    std::fs::rename(aws.join("config"), moved.join("conf")).unwrap();
    let r2 = Runner::new("s3://cache profile=ci")
        .with(
            "AWS_SHARED_CREDENTIALS_FILE",
            moved.join("creds").to_str().unwrap(),
        )
        .with("AWS_CONFIG_FILE", moved.join("conf").to_str().unwrap());
    r2.compile(&proj, &a, &expected);
    r2.assert_remote(1, 0, 0);
}

/// A wrong secret, an unknown key and no credentials at all are each a
/// counted remote error and a plain compile, also when the bucket holds
/// the entry.
#[test]
fn a_wrong_secret_is_a_counted_error() {
    let server = s3s_with_bucket();
    let (_penv, proj, a, expected) = project();
    let url = s3_url(&server, "cache");
    Runner::new(&url)
        .with_keys(S3S_KEY.1)
        .compile(&proj, &a, &expected);
    let stored = server.keys("cache");
    assert!(stored.len() >= 2, "{stored:?}");
    let wrong = Runner::new(&url).with_keys("not-the-secret");
    let unknown = Runner::new(&url)
        .with("AWS_ACCESS_KEY_ID", "SOMEONEELSE")
        .with("AWS_SECRET_ACCESS_KEY", S3S_KEY.1);
    let anonymous = Runner::new(&url);
    let cases = [
        (wrong, "403 SignatureDoesNotMatch"),
        (unknown, "403 "),
        (anonymous, "the request was anonymous"),
    ];
    for (r, why) in cases {
        let log = r.env.root().join("objcache.log");
        let r = r.with("CCACHE_LOGFILE", log.to_str().unwrap());
        r.compile(&proj, &a, &expected);
        r.assert_remote(0, 1, 0);
        assert_eq!(r.env.hits(), 0);
        assert_eq!(r.stat("remote_storage_write"), 0);
        let text = std::fs::read_to_string(&log).unwrap();
        let line = text
            .lines()
            .find(|l| l.contains("remote storage s3://cache: S3 GET: status code"))
            .unwrap_or_else(|| panic!("no S3 error in the log:\n{text}"));
        assert!(line.contains(why), "{why} not in {line}");
        assert!(!text.contains("not-the-secret") && !text.contains(S3S_KEY.1));
    }
    assert_eq!(
        server.keys("cache"),
        stored,
        "nothing written without the key"
    );
}

/// A bucket that does not exist is an error, not a cold cache.
#[test]
fn a_missing_bucket_is_a_counted_error() {
    let server = S3Server::start(S3Kind::Moto);
    server.create_bucket("cache");
    let (_penv, proj, a, expected) = project();
    let r = Runner::new(&s3_url(&server, "no-such-bucket/x"));
    r.compile(&proj, &a, &expected);
    r.assert_remote(0, 1, 0);
    assert_eq!(r.stat("remote_storage_read_miss"), 0, "not a cold cache");
    assert!(server.keys("cache").is_empty());
}

/// A server that accepts and never answers costs the data timeout once
/// per compile, counted as a timeout.
#[test]
fn a_stalled_server_times_out() {
    let server = FakeServer::start(Behaviour::Silent);
    let (_penv, proj, a, expected) = project();
    let url = format!(
        "s3://cache endpoint=http://127.0.0.1:{} data-timeout=300ms",
        server.port
    );
    let r = Runner::new(&url).with_keys(S3S_KEY.1);
    let took = r.compile(&proj, &a, &expected);
    r.assert_remote(0, 0, 1);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(
        server.accepted(),
        1,
        "the remote is left alone after it failed"
    );
}
