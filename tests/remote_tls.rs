//! Remote storage over TLS: `https://` against nginx and `rediss://`
//! against redis-server, both on 127.0.0.1 with certificates made here by
//! the openssl command (only the servers' side uses OpenSSL). Hits go
//! through; a certificate from another CA, one for another host name, a
//! `ca-file` that is missing or holds no certificate, and a URL asking not
//! to verify are each a remote error: the compile succeeds with the plain
//! compiler's object and no entry is served.

use crate::common::servers::*;
use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `openssl args` in `dir`; panics with its output on failure.
fn openssl(dir: &Path, args: &[&str]) {
    require("openssl");
    let out = run(Command::new("openssl").current_dir(dir).args(args));
    assert!(out.success(), "openssl {args:?}\n{}", out.dump());
}

/// Certificates made for one test: a CA, and server certificates.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(env: &TestEnv) -> Pki {
        let dir = env.dir("pki");
        fs::create_dir_all(&dir).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A CA `name`: `name.pem` and `name.key`.
    fn ca(&self, name: &str) -> PathBuf {
        let (pem, key) = (format!("{name}.pem"), format!("{name}.key"));
        openssl(
            &self.dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &pem,
                "-days",
                "2",
                "-subj",
                &format!("/CN=objcache test {name}"),
            ],
        );
        self.path(&pem)
    }

    /// A server certificate `name.pem` (key `name.key`) signed by CA `ca`,
    /// for the subject alternative names `san` (`IP:127.0.0.1,DNS:localhost`).
    fn server(&self, name: &str, ca: &str, san: &str) -> (PathBuf, PathBuf) {
        let (pem, key, csr, ext) = (
            format!("{name}.pem"),
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.ext"),
        );
        fs::write(
            self.path(&ext),
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\n\
                 keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .unwrap();
        openssl(
            &self.dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &format!("{ca}.pem"),
                "-CAkey",
                &format!("{ca}.key"),
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
        (self.path(&pem), self.path(&key))
    }
}

/// The test's CA (`ca.pem`) and, signed by `signer`, a server certificate
/// for `san`.
fn pki_with_server(env: &TestEnv, signer: &str, san: &str) -> (Pki, PathBuf, PathBuf, PathBuf) {
    let pki = Pki::new(env);
    let ca = pki.ca("ca");
    if signer != "ca" {
        pki.ca(signer);
    }
    let (cert, key) = pki.server("server", signer, san);
    (pki, ca, cert, key)
}

const LOCAL_NAMES: &str = "IP:127.0.0.1,DNS:localhost";

/// The source compiled, its arguments and the plain compiler's object.
fn unit(proj: &Path) -> (Vec<String>, Vec<u8>) {
    let a = args(&["-c", "src/util.c", "-o", "out.o", "-I", "include"]);
    let expected = plain_object("gcc", proj, &a, "out.o");
    (a, expected)
}

/// Compiles with `vars` in a fresh cache; the object must be `expected`.
/// Returns the statistics and the log.
#[track_caller]
fn compile(proj: &Path, a: &[String], expected: &[u8], vars: &[(&str, &str)]) -> (Stats, String) {
    let env = TestEnv::new();
    let log = env.root().join("objcache.log");
    let log_s = log.display().to_string();
    let mut all: Vec<(&str, &str)> = vars.to_vec();
    all.push(("CCACHE_LOGFILE", &log_s));
    Compile::new(proj, "gcc", a, "out.o")
        .envs(&all)
        .check_obj(&env, expected);
    (env.stats(), fs::read_to_string(&log).unwrap_or_default())
}

/// A second compile from an empty local cache was served by the remote.
#[track_caller]
fn assert_remote_hit(s: &Stats, log: &str, what: &str) {
    assert_eq!(
        (
            hits(s),
            get(s, "remote_storage_hit"),
            get(s, "remote_storage_error")
        ),
        (1, 1, 0),
        "{what}: {s:?}\n{log}"
    );
}

/// The remote was not usable: one error, nothing served, nothing stored.
#[track_caller]
fn assert_remote_error(s: &Stats, log: &str, why: &str, what: &str) {
    assert_eq!(
        (
            hits(s),
            get(s, "remote_storage_hit"),
            get(s, "remote_storage_read_hit"),
            get(s, "remote_storage_write"),
            get(s, "remote_storage_error"),
        ),
        (0, 0, 0, 0, 1),
        "{what}: {s:?}\n{log}"
    );
    assert!(
        log.to_lowercase().contains(&why.to_lowercase()),
        "{what}: the log should say \"{why}\":\n{log}"
    );
}

/// Timeouts for the tests that expect a handshake to finish: a loaded
/// machine (the whole suite runs in parallel) can take longer than the
/// 100 ms default to connect and shake hands.
const SLOW_OK: &str = "connect-timeout=5s data-timeout=5s";

#[test]
fn https_and_rediss_hits_with_a_private_ca() {
    let (penv, proj) = proj_fixture();
    let (_pki, ca, cert, key) = pki_with_server(&penv, "ca", LOCAL_NAMES);
    let nginx = NginxTls::start(&cert, &key);
    let redis = RedisTls::start(&cert, &key, &ca);
    let (a, expected) = unit(&proj);
    // A TLS handshake on a loaded machine can take longer than the
    // default 100 ms connect timeout; these tests are about trust.
    let ca_attr = format!("@ca-file={} {SLOW_OK}", ca.display());
    for url in [
        nginx.url("127.0.0.1", "/cache"),
        nginx.url("localhost", "/named"),
        redis.url("127.0.0.1"),
        // Another database: the first one holds the entries already.
        format!("{}/1", redis.url("localhost")),
    ] {
        let remote = format!("{url} {ca_attr}");
        let vars = [("CCACHE_REMOTE_STORAGE", remote.as_str())];
        let (s, log) = compile(&proj, &a, &expected, &vars);
        assert!(get(&s, "remote_storage_write") >= 1, "{url}: {s:?}\n{log}");
        assert_eq!(get(&s, "remote_storage_error"), 0, "{url}: {s:?}\n{log}");
        let (s, log) = compile(&proj, &a, &expected, &vars);
        assert_remote_hit(&s, &log, &url);
    }
    // The entries are on the servers, put there over TLS.
    assert!(walk_files(&nginx.nginx.www.join("cache")).len() >= 2);
    assert!(walk_files(&nginx.nginx.www.join("named")).len() >= 2);
    assert!(!redis.redis.keys("ccache:*").is_empty());
}

/// Both servers hold the entries (stored over their plain ports); asked
/// over TLS with `vars`, each must fail with `why` in the log.
#[track_caller]
fn assert_tls_refused(cert: &Path, key: &Path, ca: &Path, remote_attrs: &str, why: &str) {
    let (_env, proj) = proj_fixture();
    let nginx = NginxTls::start(cert, key);
    let redis = RedisTls::start(cert, key, ca);
    let (a, expected) = unit(&proj);
    for (plain, tls) in [
        (nginx.nginx.url("/c"), nginx.url("127.0.0.1", "/c")),
        (redis.redis.url(), redis.url("127.0.0.1")),
    ] {
        let (s, log) = compile(&proj, &a, &expected, &[("CCACHE_REMOTE_STORAGE", &plain)]);
        assert!(
            get(&s, "remote_storage_write") >= 1,
            "{plain}: {s:?}\n{log}"
        );
        let remote = format!("{tls} {remote_attrs}");
        let (s, log) = compile(&proj, &a, &expected, &[("CCACHE_REMOTE_STORAGE", &remote)]);
        assert_remote_error(&s, &log, why, &remote);
    }
}

#[test]
fn a_certificate_from_another_ca_is_a_remote_error() {
    let env = TestEnv::new();
    let (_pki, ca, cert, key) = pki_with_server(&env, "rogue", LOCAL_NAMES);
    let attrs = format!("ca-file={} {SLOW_OK}", ca.display());
    assert_tls_refused(&cert, &key, &ca, &attrs, "UnknownIssuer");
    // Without ca-file, the system's roots do not know the test's CA either.
    assert_tls_refused(&cert, &key, &ca, "", "UnknownIssuer");
}

#[test]
fn a_certificate_for_another_host_is_a_remote_error() {
    let env = TestEnv::new();
    let (_pki, ca, cert, key) = pki_with_server(&env, "ca", "DNS:cache.example.org");
    let attrs = format!("ca-file={} {SLOW_OK}", ca.display());
    assert_tls_refused(&cert, &key, &ca, &attrs, "not valid for name");
}

#[test]
fn a_bad_ca_file_is_a_remote_error() {
    let env = TestEnv::new();
    let (pki, ca, cert, key) = pki_with_server(&env, "ca", LOCAL_NAMES);
    let garbage = pki.path("garbage.pem");
    fs::write(&garbage, "-----BEGIN NOTHING-----\nnot base64\n").unwrap();
    let missing = pki.path("missing.pem");
    for (file, why) in [(&missing, "missing.pem"), (&garbage, "garbage.pem")] {
        let attrs = format!("ca-file={} {SLOW_OK}", file.display());
        assert_tls_refused(&cert, &key, &ca, &attrs, why);
    }
}

/// `rediss://…#insecure` would have the Redis client accept any
/// certificate: it is refused, and so the wrong CA's server is not used.
#[test]
fn no_url_turns_verification_off() {
    let env = TestEnv::new();
    let (_pki, ca, cert, key) = pki_with_server(&env, "rogue", LOCAL_NAMES);
    let (_penv, proj) = proj_fixture();
    let redis = RedisTls::start(&cert, &key, &ca);
    let (a, expected) = unit(&proj);
    let (s, _) = compile(
        &proj,
        &a,
        &expected,
        &[("CCACHE_REMOTE_STORAGE", &redis.redis.url())],
    );
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}");
    for fragment in ["#insecure", "/#insecure"] {
        let remote = format!("{}{fragment}", redis.url("127.0.0.1"));
        let (s, log) = compile(&proj, &a, &expected, &[("CCACHE_REMOTE_STORAGE", &remote)]);
        assert_remote_error(&s, &log, "certificates are always verified", &remote);
    }
}

/// The system's trust store is read as OpenSSL reads it: a CA in the file
/// `SSL_CERT_FILE` or the directory `SSL_CERT_DIR` names is trusted.
#[test]
fn the_system_trust_store_is_honoured() {
    let env = TestEnv::new();
    let (pki, ca, cert, key) = pki_with_server(&env, "ca", LOCAL_NAMES);
    let dir = pki.path("certs");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(&ca, dir.join("objcache-test-ca.pem")).unwrap();
    let (_penv, proj) = proj_fixture();
    let nginx = NginxTls::start(&cert, &key);
    let redis = RedisTls::start(&cert, &key, &ca);
    let (a, expected) = unit(&proj);
    let ca_s = ca.display().to_string();
    let dir_s = dir.display().to_string();
    for url in [nginx.url("localhost", "/c"), redis.url("localhost")] {
        let remote = format!("{url} {SLOW_OK}");
        for store in [("SSL_CERT_FILE", &ca_s), ("SSL_CERT_DIR", &dir_s)] {
            let vars = [
                ("CCACHE_REMOTE_STORAGE", remote.as_str()),
                (store.0, store.1),
            ];
            let (s, log) = compile(&proj, &a, &expected, &vars);
            assert_eq!(
                get(&s, "remote_storage_error"),
                0,
                "{url} {store:?}: {s:?}\n{log}"
            );
            let (s, log) = compile(&proj, &a, &expected, &vars);
            assert_remote_hit(&s, &log, &format!("{url} {store:?}"));
        }
    }
}

/// A server that accepts and never answers the TLS handshake ends in a
/// timeout within the configured bounds, not a hang.
#[test]
fn a_silent_tls_server_is_a_timeout() {
    let server = FakeServer::start(Behaviour::Silent);
    let (_penv, proj) = proj_fixture();
    let (a, expected) = unit(&proj);
    let attrs = "connect-timeout=200ms data-timeout=300ms request-timeout=1s";
    let limit = std::time::Duration::from_secs(1) + std::time::Duration::from_secs(3);
    for url in [
        format!("https://127.0.0.1:{}/c", server.port),
        format!("rediss://127.0.0.1:{}", server.port),
    ] {
        let remote = format!("{url} {attrs}");
        let start = std::time::Instant::now();
        let (s, log) = compile(&proj, &a, &expected, &[("CCACHE_REMOTE_STORAGE", &remote)]);
        let took = start.elapsed();
        assert!(took < limit, "{url}: {took:?}\n{log}");
        assert_eq!(hits(&s), 0, "{url}: {s:?}");
        assert_eq!(get(&s, "remote_storage_timeout"), 1, "{url}: {s:?}\n{log}");
    }
    assert!(server.accepted() >= 2, "objcache never connected");
}

/// `SSL_CERT_FILE` naming a FIFO (or a device) is passed over with the
/// reason in the log instead of being read, which would wait forever for
/// a writer: the remote is an error, the build goes on.
#[test]
fn a_fifo_as_ssl_cert_file_does_not_hang() {
    let env = TestEnv::new();
    let (_pki, ca, cert, key) = pki_with_server(&env, "ca", LOCAL_NAMES);
    let fifo = env.root().join("certs.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (_penv, proj) = proj_fixture();
    let nginx = NginxTls::start(&cert, &key);
    let redis = RedisTls::start(&cert, &key, &ca);
    let (a, expected) = unit(&proj);
    let fifo_s = fifo.display().to_string();
    for url in [nginx.url("localhost", "/c"), redis.url("localhost")] {
        let start = std::time::Instant::now();
        let vars = [
            ("CCACHE_REMOTE_STORAGE", url.as_str()),
            ("SSL_CERT_FILE", &fifo_s),
        ];
        let (s, log) = compile(&proj, &a, &expected, &vars);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{url}"
        );
        assert_remote_error(&s, &log, "not a regular file", &url);
    }
}

/// A password travels inside TLS: the client authenticates while it
/// connects (a wrong one is a remote error, and never shown). The connect
/// timeout covers handshake and AUTH: raised here so that a loaded machine
/// running a debug build does not make it a timeout.
#[test]
fn rediss_with_a_password() {
    let env = TestEnv::new();
    let (_pki, ca, cert, key) = pki_with_server(&env, "ca", LOCAL_NAMES);
    let (_penv, proj) = proj_fixture();
    let redis = RedisTls::start_with(&cert, &key, &ca, &["--requirepass", "s3cret"]);
    let (a, expected) = unit(&proj);
    let url = format!("rediss://:s3cret@localhost:{}", redis.tls_port);
    let remote = format!("{url} ca-file={} connect-timeout=2s", ca.display());
    let vars = [("CCACHE_REMOTE_STORAGE", remote.as_str())];
    let (s, log) = compile(&proj, &a, &expected, &vars);
    assert!(get(&s, "remote_storage_write") >= 1, "{s:?}\n{log}");
    assert!(!log.contains("s3cret"), "{log}");
    let (s, log) = compile(&proj, &a, &expected, &vars);
    assert_remote_hit(&s, &log, &url);
    let wrong = remote.replace("s3cret", "wrong");
    let (s, log) = compile(&proj, &a, &expected, &[("CCACHE_REMOTE_STORAGE", &wrong)]);
    assert_remote_error(&s, &log, "authentication failed", "a wrong password");
}
