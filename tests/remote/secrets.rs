//! Credentials: a wrong redis password is an error, and no password, token
//! or user shows in `-p`, the log or any message.

use super::*;

// ---------------------------------------------------------------------------
// wrong password, credentials never shown
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
    let (_penv, proj) = proj_fixture();
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
    let (_penv, proj) = proj_fixture();
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
// -p masks credentials
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
    let (_penv, proj) = proj_fixture();
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
    let (_penv, proj) = proj_fixture();
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
