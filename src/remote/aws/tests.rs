use super::*;
use std::collections::HashMap;

fn spec(attrs: &[(&str, &str)]) -> BackendSpec {
    BackendSpec {
        url: "s3://bucket".into(),
        attrs: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

fn resolve_with(attrs: &[(&str, &str)], vars: &[(&str, &str)]) -> Result<Settings, String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve(&spec(attrs), &|name| vars.get(name).cloned())
}

#[test]
fn defaults_are_anonymous_us_east_1_on_aws() {
    let s = resolve_with(&[], &[("HOME", "/nonexistent")]).unwrap();
    assert_eq!(s.region, "us-east-1");
    assert_eq!(s.endpoint, "https://s3.us-east-1.amazonaws.com");
    assert_eq!(s.credentials, None);
}

#[test]
fn attributes_win_over_environment() {
    let env = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-2"),
        ("AWS_ENDPOINT_URL", "http://env:1"),
        ("AWS_ACCESS_KEY_ID", "ENVKEY"),
        ("AWS_SECRET_ACCESS_KEY", "ENVSECRET"),
    ];
    let s = resolve_with(&[], &env).unwrap();
    assert_eq!(s.region, "eu-west-1");
    assert_eq!(s.endpoint, "http://env:1");
    assert_eq!(s.credentials.as_ref().unwrap().key, "ENVKEY");
    assert_eq!(s.credentials.unwrap().token, None);
    let s = resolve_with(
        &[
            ("region", "ap-south-1"),
            ("endpoint", "http://attr:2"),
            ("access-key-id", "AK"),
            ("secret-access-key", "SK"),
            ("session-token", "TK"),
        ],
        &env,
    )
    .unwrap();
    assert_eq!(s.region, "ap-south-1");
    assert_eq!(s.endpoint, "http://attr:2");
    let c = s.credentials.unwrap();
    assert_eq!((c.key.as_str(), c.token.as_deref()), ("AK", Some("TK")));
    // The S3-specific endpoint variable wins over the general one.
    let s = resolve_with(&[], &[("AWS_ENDPOINT_URL_S3", "http://s3:3"), env[2]]).unwrap();
    assert_eq!(s.endpoint, "http://s3:3");
    let s = resolve_with(
        &[],
        &[env[2], ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")],
    )
    .unwrap();
    assert_eq!(s.endpoint, "https://s3.us-east-1.amazonaws.com");
}

#[test]
fn half_a_key_pair_is_an_error_without_the_secret() {
    let e = resolve_with(&[], &[("AWS_SECRET_ACCESS_KEY", "Sekrit")]).unwrap_err();
    assert!(
        e.contains("AWS_SECRET_ACCESS_KEY without AWS_ACCESS_KEY_ID"),
        "{e}"
    );
    let e = resolve_with(&[("secret-access-key", "Sekrit")], &[]).unwrap_err();
    assert!(!e.contains("Sekrit"), "{e}");
}

#[test]
fn profiles_from_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    let config = dir.path().join("config");
    std::fs::write(
        &creds,
        "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = DEFSECRET\n\
         # a comment\n[ci]\naws_access_key_id=CIKEY\naws_secret_access_key=CI/SECRET+=\n",
    )
    .unwrap();
    std::fs::write(
        &config,
        "[default]\nregion = eu-north-1\n[profile ci]\nregion = sa-east-1\n\
         s3 =\n  endpoint_url = http://nested:1\nendpoint_url = http://ci:9000\n\
         [profile other]\naws_access_key_id = OK\naws_secret_access_key = OS\n",
    )
    .unwrap();
    let (c, f) = (creds.to_str().unwrap(), config.to_str().unwrap());
    let files = [("AWS_SHARED_CREDENTIALS_FILE", c), ("AWS_CONFIG_FILE", f)];
    let s = resolve_with(&[], &files).unwrap();
    assert_eq!(s.region, "eu-north-1");
    assert_eq!(s.credentials.unwrap().key, "DEFKEY");
    let with = |extra: (&'static str, &'static str)| {
        let mut v = files.to_vec();
        v.push(extra);
        v
    };
    let s = resolve_with(&[], &with(("AWS_PROFILE", "ci"))).unwrap();
    assert_eq!(s.region, "sa-east-1");
    assert_eq!(s.endpoint, "http://ci:9000");
    let c = s.credentials.unwrap();
    assert_eq!(
        (c.key.as_str(), c.secret.as_str()),
        ("CIKEY", "CI/SECRET+=")
    );
    // Credentials in the config file count too.
    let s = resolve_with(&[("profile", "other")], &files).unwrap();
    assert_eq!(s.credentials.unwrap().key, "OK");
    // The environment's keys win over a profile the environment names,
    // a profile named by an attribute over the environment's keys.
    let mut env = with(("AWS_PROFILE", "ci"));
    env.extend([("AWS_ACCESS_KEY_ID", "EK"), ("AWS_SECRET_ACCESS_KEY", "ES")]);
    let s = resolve_with(&[], &env).unwrap();
    assert_eq!(s.credentials.unwrap().key, "EK");
    let s = resolve_with(&[("profile", "ci")], &env).unwrap();
    assert_eq!(s.credentials.unwrap().key, "CIKEY");
    let e = resolve_with(&[("profile", "nope")], &files).unwrap_err();
    assert!(e.contains("\"nope\" is in neither"), "{e}");
}

#[test]
fn a_fifo_for_a_profile_file_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("credentials");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = resolve_with(
        &[],
        &[("AWS_SHARED_CREDENTIALS_FILE", fifo.to_str().unwrap())],
    )
    .unwrap_err();
    assert!(e.contains("not a regular file"), "{e}");
}
