use super::*;

#[test]
fn parses_ccache_syntax() {
    let specs = parse(
        "redis://:pw@localhost:6379 connect-timeout=50 @read-only http://h/c|layout=bazel|header=X-A=b%20c file:/tmp/x",
    )
    .unwrap();
    assert_eq!(specs.len(), 3);
    assert_eq!(specs[0].attr("connect-timeout"), Some("50"));
    assert!(specs[0].read_only().unwrap());
    assert_eq!(
        specs[0].timeouts().unwrap().connect,
        Duration::from_millis(50)
    );
    assert_eq!(specs[1].attr("layout"), Some("bazel"));
    assert_eq!(specs[1].attr("header"), Some("X-A=b c"));
    assert!(!specs[2].read_only().unwrap());
    assert!(parse("read-only").is_err());
    let typo = parse("redis:/:Secret@h").unwrap_err();
    assert!(!typo.contains("Secret"), "{typo}");
    assert_eq!(percent_decode("50%aé%41%4"), "50%aéA%4");
    // No backend for it, but valid: left out when opened, not an error
    // that would turn the local cache off too.
    assert!(parse("ftp://x https://h/c").is_ok());
    assert!(parse("redis://x connect-timeout=soon").is_err());
}

#[test]
fn ln_matches_the_real_one() {
    for x in [1e-12, 0.001, 0.1, 0.3, 0.5, 0.75, 0.999_999, 1.0] {
        let want = f64::ln(x);
        assert!((ln(x) - want).abs() < 1e-9 * want.abs().max(1.0), "{x}");
    }
}

#[test]
fn masks_urls_anywhere_in_a_word() {
    for message in [
        "failed to connect to @redis://:pw~@cache:6379: refused",
        "bad (redis://u:pw~@h) and \"http://u:pw~@h/c\",",
        "x=redis://:pw~@a,http://u:pw~@b|read-only",
        "redis+unix:/s?pass=pw~ file://u:pw~@h/d",
        "é€redis://:pw~@h ü://:pw~@h",
    ] {
        let shown = mask_secrets(message);
        assert!(!shown.contains("pw~"), "{message} -> {shown}");
    }
    assert_eq!(
        mask_secrets("to @redis://:pw@h: refused"),
        "to @redis://:********@h: refused"
    );
}

#[test]
fn masks_credentials() {
    assert_eq!(mask_url("redis://:secret@h:1/2"), "redis://:********@h:1/2");
    assert_eq!(mask_url("http://u:p@h/x"), "http://u:********@h/x");
    // An `@` in the path may end a password with a `/` in it.
    assert_eq!(mask_url("http://h/x@y"), "http://********@y");
    assert_eq!(mask_url("http://h:8080/c"), "http://h:8080/c");
    assert_eq!(mask_url("redis://[::1]:6379/0"), "redis://[::1]:6379/0");
    assert_eq!(mask_url("redis://127.0.0.1:*"), "redis://127.0.0.1:*");
    let v = mask_config_value(
        "http://u:p@h|bearer-token=abc|@header=Authorization=Basic%20x redis://h",
    );
    assert!(
        !v.contains("abc") && !v.contains(":p@") && !v.contains("Basic"),
        "{v}"
    );
    assert!(mask_secrets("failed to connect to redis://:pw@h").contains("********"));
    // A header value with a space cuts the value in two words.
    let v = mask_config_value("http://h/c|header=Authorization:Bearer s3cr3t|layout=flat");
    assert!(!v.contains("s3cr3t") && !v.contains("Bearer"), "{v}");
    let v = mask_config_value("http://h/c|layout=flat|data-timeout=5|password=pw");
    assert_eq!(v, "http://h/c|layout=flat|data-timeout=5|password=********");
}

/// Found by the fuzzer (tests/fuzz, remote_spec): a word with `://`
/// after something that is no scheme was taken for a URL and shown whole.
#[test]
fn a_word_that_only_looks_like_a_url_is_masked() {
    let v = mask_config_value("\u{fffd} bearer-token=Sekr1t~Pw\u{fffd}://");
    assert_eq!(v, "******** bearer-token=********");
    let v = mask_config_value("file:/d @umask=002 read-only @bearer-token=t0k x");
    assert_eq!(
        v,
        "file:/d @umask=002 read-only @bearer-token=******** ********"
    );
    let e = parse("http://h Sekr1t~Pw://x").unwrap_err();
    assert!(!e.contains("Sekr1t"), "{e}");
    let specs = parse("http://h bearer-token=Sekr1t~Pw://x").unwrap();
    assert_eq!(specs[0].attr("bearer-token"), Some("Sekr1t~Pw://x"));
    assert_eq!(mask_url("redis+unix://u:p@h"), "redis+unix://u:********@h");
    assert_eq!(mask_url("x.y-z+1://h/a"), "x.y-z+1://h/a");
}

/// Passwords that are not percent-encoded: a `/`, `?`, `#` or `@` in
/// them, or a space, which cuts the value into two words (the first
/// then ends in `:PASS`, taken for a port).
#[test]
fn masks_unencoded_passwords() {
    for (url, shown) in [
        ("http://u:pa/ss~@h:1/c", "http://u:********@h:1/c"),
        ("http://u:pa?ss~@h/c", "http://u:********@h/c"),
        ("http://u:pa#ss~@h/c", "http://u:********@h/c"),
        ("http://u:pa@ss~@h/c", "http://u:********@h/c"),
        ("http://u:ss~", "http://u:********"),
        ("http://u:ss~/c", "http://u:********/c"),
        ("redis://:ss~", "redis://:********"),
        ("http://[::1]:ss~", "http://[::1]:********"),
        ("http://to/ken~@h", "http://********@h"),
    ] {
        assert_eq!(mask_url(url), shown, "{url}");
    }
    let e = parse("http://u:pA5 ss~@h:1/c").unwrap_err();
    assert!(!e.contains("pA5") && !e.contains('~'), "{e}");
    let v = mask_config_value("http://u:pA5 ss~@h:1/c");
    assert_eq!(v, "http://u:******** ********");
    // Found by the fuzzer (tests/fuzz, remote_spec): a piece with an `=`
    // in it was shown as an attribute's name; a header value with no name.
    let v = mask_config_value("http://u:x pA5=ss~@h/c|token=x|header=ss~");
    assert_eq!(v, "http://u:******** ********|********|header=********");
    // A `|` in a password cuts it into attributes.
    let v = mask_config_value("http://u:pA5|ss~@h/c|read-only");
    assert_eq!(v, "http://u:********|********|read-only");
    // An `&` in a Unix socket's password.
    let v = mask_url("redis+unix:/s?pass=pA5&ss~&db=1&ss~=x");
    assert_eq!(v, "redis+unix:/s?pass=********&********&db=1&********");
}

/// Found by the fuzzer (tests/fuzz, remote_spec): a Unix socket's
/// password, which the Redis client takes as `?pass=`, was shown by `-p`.
#[test]
fn masks_a_unix_socket_password() {
    let v = mask_config_value(" redis+unix:/run/redis.sock?db=1&pass=Sekr1t~Pw:");
    assert_eq!(v, "redis+unix:/run/redis.sock?db=1&pass=********");
    assert_eq!(
        mask_url("redis+unix:///run/r.sock?pass=pw&db=2"),
        "redis+unix:///run/r.sock?pass=********&db=2"
    );
    assert_eq!(
        mask_url("redis://u:pw@h/0?password=pw"),
        "redis://u:********@h/0?password=********"
    );
    assert_eq!(
        mask_url("redis+unix:/run/r.sock?db=1"),
        "redis+unix:/run/r.sock?db=1"
    );
    assert_eq!(
        mask_secrets("cannot connect to redis+unix:/s?pass=pw"),
        "cannot connect to redis+unix:/s?pass=********"
    );
    assert_eq!(
        mask_secrets("URL \"http://u:pw@h/c\": (redis://, file:)"),
        "URL \"http://u:********@h/c\": (redis://, file:)"
    );
}

#[test]
fn rendezvous_spreads_and_is_stable() {
    struct Null;
    impl Backend for Null {
        fn get(&self, _: &str) -> Result<Option<Vec<u8>>, RemoteError> {
            Ok(None)
        }
        fn put(&self, _: &str, _: &[u8]) -> Result<(), RemoteError> {
            Ok(())
        }
        fn remove(&self, _: &str) -> Result<bool, RemoteError> {
            Ok(false)
        }
    }
    let weights = parse_shards("a,b(3)").unwrap();
    let s = Sharded {
        shards: weights
            .into_iter()
            .map(|(n, w)| (n, w, Box::new(Null) as Box<dyn Backend>))
            .collect(),
    };
    let mut to_b = 0;
    for i in 0..4000 {
        let name = format!("{i:064x}R");
        let chosen = s.pick_index(&name);
        to_b += usize::from(chosen == 1);
        assert_eq!(chosen, s.pick_index(&name));
    }
    // Weight 3 of 4: about 3000 of 4000.
    assert!((2700..3300).contains(&to_b), "{to_b}");
}

#[test]
fn timeouts_take_ccache_4_13_units() {
    let ms = Duration::from_millis;
    for (text, want) in [
        ("250", ms(250)),
        ("500ms", ms(500)),
        ("10s", ms(10_000)),
        ("1.5s", ms(1500)),
        ("10m", ms(600_000)),
        ("1h", ms(3_600_000)),
        ("1d", ms(86_400_000)),
        ("0s", ms(0)),
    ] {
        assert_eq!(parse_duration(text), Ok(want), "{text}");
    }
    for bad in ["", "s", "10x", "-1s", "1e400s", "10 s"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
    let specs = parse(
        "redis://h data-timeout=10s connect-timeout=500ms idle-timeout=10m request-timeout=1m",
    )
    .unwrap();
    let t = specs[0].timeouts().unwrap();
    assert_eq!(
        (t.connect, t.data, t.request),
        (ms(500), ms(10_000), ms(60_000))
    );
    let e = parse("redis://h idle-timeout=soon").unwrap_err();
    assert!(e.starts_with("idle-timeout: invalid duration"), "{e}");
}

/// ccache's messages for a URL it cannot use, secrets masked.
#[test]
fn bad_urls_are_rejected_clearly() {
    let err = |v: &str| parse(v).unwrap_err();
    assert!(err("read-only").starts_with("must provide a URL"));
    assert!(err("|read-only").starts_with("must provide a URL"));
    assert!(err("@layout=flat http://h").starts_with("must provide a URL"));
    assert!(err("://h/c").starts_with("Cannot parse URL \"://h/c\""));
    assert_eq!(err("/c"), "URL scheme must not be empty: \"/c\"");
    assert_eq!(
        err("//u:Sekr1t@h/c"),
        "URL scheme must not be empty: \"//u:********@h/c\""
    );
    let e = err("http://u:Sekr1t@/c");
    assert!(
        e.starts_with("Cannot parse URL \"http://u:********@/c\""),
        "{e}"
    );
    assert!(e.contains("User info defined, but host is empty"), "{e}");
    assert!(err("redis://:Sekr1t@:6379").contains("host is empty"));
    assert!(err("redis://:6379").contains("a port but no host"));
    assert!(err("file:foo:bar").contains("first segment of the relative path"));
    assert!(parse("file:foo/b:c").is_ok() && parse("file:/a:b").is_ok());
    assert!(err("http://h:port/c").contains("bad port"));
    assert!(err("http://[::1/c").contains("Cannot parse URL"));
    assert!(err("http:///c").contains("no host"));
    for value in ["redis:/:Sekr1t@h", "Sekr1t@h/c", "Sekr1t:x@h", "Sekr1t"] {
        let e = err(value);
        assert!(
            e.starts_with("must provide a URL") && !e.contains("Sekr1t"),
            "{e}"
        );
    }
    assert!(err("read-only").contains("\"read-only…\""));
    // Part of a header value cut apart at a space, not a backend.
    let specs = parse("http://h|header=Authorization: Bearer us3r:s3cr3t").unwrap();
    assert_eq!(specs.len(), 1);
    for good in [
        "file:/shared/dir",
        "file:///shared/dir",
        "file://localhost/shared/dir",
        "redis://",
        "redis://[::1]:6379/2",
        "redis+unix:/run/redis.sock?db=1",
        "http://u:p@h:8080/c/",
        "redis://127.0.0.1:*",
        "http://cache-*.example.com/c",
    ] {
        assert!(parse(good).is_ok(), "{good}");
    }
}

#[test]
fn each_shard_is_a_backend_of_its_own() {
    let spec = &parse("redis://127.0.0.1:*|shards=6379,6380(2)|connect-timeout=50").unwrap()[0];
    let shards = spec.each_shard().unwrap();
    let urls: Vec<&str> = shards.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(urls, ["redis://127.0.0.1:6379", "redis://127.0.0.1:6380"]);
    assert!(shards.iter().all(|s| s.attr("shards").is_none()));
    assert_eq!(shards[0].attr("connect-timeout"), Some("50"));
    let plain = &parse("http://h/c").unwrap()[0];
    assert_eq!(plain.each_shard().unwrap(), vec![plain.clone()]);
}

#[test]
fn masks_s3_secrets_and_shows_its_settings() {
    let value = "s3://bkt/p endpoint=http://u:Pw~@minio:9000 region=eu-west-1 \
                 path-style profile=ci access-key-id=AKIDX secret-access-key=Sk~ \
                 session-token=Tk~";
    let shown = mask_config_value(value);
    for secret in ["Pw~", "AKIDX", "Sk~", "Tk~"] {
        assert!(!shown.contains(secret), "{shown}");
    }
    for plain in [
        "s3://bkt/p",
        "endpoint=http://u:********@minio:9000",
        "region=eu-west-1",
        "path-style",
        "profile=ci",
        "secret-access-key=********",
    ] {
        assert!(shown.contains(plain), "{plain} not in {shown}");
    }
    let specs = parse(value).unwrap();
    assert_eq!(specs[0].attr("endpoint"), Some("http://u:Pw~@minio:9000"));
}

/// Every `remote_storage =` line docs/remote-storage.md shows parses, and
/// each of its backends has a scheme objcache serves itself or through
/// `crsh:` (the lines with a `ca-file` name a file of the reader's own, so
/// only their parsing is checked here; tests/remote_tls.rs opens them).
#[test]
fn every_documented_remote_storage_line_is_valid() {
    let doc = include_str!("../../docs/remote-storage.md");
    let lines: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("remote_storage = "))
        .collect();
    assert!(lines.len() >= 8, "{lines:?}");
    for line in lines {
        let specs = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(!specs.is_empty(), "{line}");
        for spec in specs {
            if spec.url.starts_with("crsh:") {
                continue;
            }
            scheme_of(&spec.url).unwrap_or_else(|e| panic!("{line}: {e}"));
            if spec.attr(tls::CA_FILE).is_none() {
                Remote::open(&spec).unwrap_or_else(|e| panic!("{line}: {e}"));
            }
        }
    }
}

#[test]
fn a_tls_handshake_gets_the_data_timeout_on_top_of_connecting() {
    let connect = |v: &str| parse(v).unwrap()[0].timeouts().unwrap().connect;
    let ms = Duration::from_millis;
    assert_eq!(connect("http://h/c"), ms(100));
    assert_eq!(connect("redis://h"), ms(100));
    assert_eq!(connect("https://h/c"), ms(1100));
    assert_eq!(connect("rediss://h data-timeout=2s"), ms(2100));
    assert_eq!(connect("s3://b/p"), ms(1100));
    assert_eq!(connect("s3://b/p endpoint=http://127.0.0.1:9000"), ms(100));
    assert_eq!(connect("https://h/c connect-timeout=50"), ms(50));
}
