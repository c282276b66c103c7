//! Amazon S3 and S3-compatible object stores (MinIO, Ceph, R2, …):
//! `s3://BUCKET[/PREFIX]`, an entry per object `PREFIX/NAME`. Attributes:
//! `region`, `endpoint` (an S3-compatible store's URL), `path-style`,
//! `profile`, and credentials `access-key-id`, `secret-access-key`,
//! `session-token`; anything not given comes from the AWS environment
//! variables and profile files ([`super::aws`]), and no credentials at all
//! means anonymous requests. docs/remote-storage.md has the details.
//!
//! Requests are signed (SigV4) by `rusty-s3`, which only builds presigned
//! URLs: no I/O, no async runtime, no client of its own, a handful of small
//! crates (hmac, sha2, jiff) beside the `url` that ureq already brings, and
//! nothing done before the first request. AWS's own `aws-sigv4` would bring
//! the Smithy runtime types, `http`, `tracing` and tokio into every build
//! for the same signature. The requests go through the same ureq agent, with
//! the same bounded timeouts, as the HTTP backend's.
//!
//! S3 answers a missing object with 404 `NoSuchKey`, and a missing bucket,
//! a wrong secret or a wrong region with an error code: those are remote
//! errors (counted, the remote left alone for the rest of the compile),
//! never misses, so a broken setup does not pass for a cold cache.

use super::aws::{self, Settings};
use super::http::{agent, error, read_entry};
use super::{Backend, BackendSpec, RemoteError, Timeouts};
use rusty_s3::actions::{DeleteObject, GetObject, HeadObject, PutObject};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::time::Duration;

/// How long a signed URL is valid. It is used at once, so this only
/// decides how far the client's clock may be behind the server's.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);

/// The most of an error answer read, for its code and message.
const MAX_ERROR_BODY: u64 = 64 << 10;

pub struct S3Backend {
    agent: ureq::Agent,
    bucket: Bucket,
    credentials: Option<Credentials>,
    /// Empty, or ending in `/`.
    prefix: String,
}

impl S3Backend {
    pub fn new(url: &str, spec: &BackendSpec, timeouts: Timeouts) -> Result<S3Backend, String> {
        let env = |name: &str| std::env::var(name).ok();
        let settings = aws::resolve(spec, &env)?;
        Self::with_settings(url, spec, timeouts, settings)
    }

    fn with_settings(
        url: &str,
        spec: &BackendSpec,
        timeouts: Timeouts,
        settings: Settings,
    ) -> Result<S3Backend, String> {
        let rest = url.strip_prefix("s3://").unwrap_or(url);
        let (bucket_name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket_name.is_empty() {
            return Err(format!("{}: no bucket name", super::mask_url(url)));
        }
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let shown_endpoint = super::mask_url(&settings.endpoint);
        let endpoint: url::Url = settings
            .endpoint
            .parse()
            .map_err(|e| format!("endpoint \"{shown_endpoint}\": {e}"))?;
        let style = if spec.flag("path-style")? || needs_path_style(&endpoint) {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let https = endpoint.scheme() == "https";
        let bucket = Bucket::new(endpoint, style, bucket_name.to_string(), settings.region)
            .map_err(|e| format!("bucket \"{bucket_name}\" at \"{shown_endpoint}\": {e:?}"))?;
        let credentials = settings.credentials.map(|c| match c.token {
            Some(token) => Credentials::new_with_token(c.key, c.secret, token),
            None => Credentials::new(c.key, c.secret),
        });
        Ok(S3Backend {
            agent: agent(timeouts, spec, https, url)?,
            bucket,
            credentials,
            prefix,
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

/// A bucket's name cannot go in front of an IP address, and `localhost`
/// (a MinIO on a laptop) has no names below it.
fn needs_path_style(endpoint: &url::Url) -> bool {
    match endpoint.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(_) => true,
        None => false,
    }
}

/// An S3 error answer as a remote error: status, code, message, and
/// what usually causes it.
fn failure(op: &str, mut resp: ureq::http::Response<ureq::Body>, anonymous: bool) -> RemoteError {
    let status = resp.status().as_u16();
    let body = read_error_body(&mut resp);
    let code = xml_element(&body, "Code").unwrap_or_default();
    let message = match xml_element(&body, "Message") {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    };
    let hint = match (status, code.as_str()) {
        (301 | 307 | 400, "PermanentRedirect" | "AuthorizationHeaderMalformed") => {
            " (wrong region? set region= or AWS_REGION)"
        }
        (401 | 403, _) if anonymous => {
            " (no credentials found: the request was anonymous; see AWS_ACCESS_KEY_ID, AWS_PROFILE)"
        }
        (403, "AccessDenied") if op == "GET" => {
            " (without s3:ListBucket, S3 answers so for a missing object too)"
        }
        _ => "",
    };
    RemoteError::Other(format!(
        "S3 {op}: status code {status} {code}{message}{hint}"
    ))
}

fn read_error_body(resp: &mut ureq::http::Response<ureq::Body>) -> String {
    resp.body_mut()
        .with_config()
        .limit(MAX_ERROR_BODY)
        .read_to_vec()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// The text of the first `<tag>…</tag>`, enough for S3's flat error
/// documents (`<Error><Code>NoSuchKey</Code>…`).
fn xml_element(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..end].trim().to_string())
}

impl Backend for S3Backend {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let key = self.key(name);
        let url = GetObject::new(&self.bucket, self.credentials.as_ref(), &key).sign(SIGNED_FOR);
        let mut resp = self.agent.get(url.as_str()).call().map_err(error)?;
        match resp.status().as_u16() {
            200 => read_entry(&mut resp).map(Some),
            404 => {
                let body = read_error_body(&mut resp);
                match xml_element(&body, "Code").as_deref() {
                    Some("NoSuchKey") | None => Ok(None),
                    Some(code) => Err(RemoteError::Other(format!(
                        "S3 GET: status code 404 {code} (bucket \"{}\")",
                        self.bucket.name()
                    ))),
                }
            }
            _ => Err(failure("GET", resp, self.credentials.is_none())),
        }
    }

    fn put(&self, name: &str, data: &[u8]) -> Result<(), RemoteError> {
        let key = self.key(name);
        let url = PutObject::new(&self.bucket, self.credentials.as_ref(), &key).sign(SIGNED_FOR);
        let resp = self
            .agent
            .put(url.as_str())
            .header("Content-Type", "application/octet-stream")
            .send(data)
            .map_err(error)?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            _ => Err(failure("PUT", resp, self.credentials.is_none())),
        }
    }

    /// S3 deletes a missing object with success too: a HEAD first tells
    /// whether there was one.
    fn remove(&self, name: &str) -> Result<bool, RemoteError> {
        let key = self.key(name);
        let creds = self.credentials.as_ref();
        let url = HeadObject::new(&self.bucket, creds, &key).sign(SIGNED_FOR);
        let resp = self.agent.head(url.as_str()).call().map_err(error)?;
        match resp.status().as_u16() {
            200 => {}
            404 => return Ok(false),
            _ => return Err(failure("HEAD", resp, creds.is_none())),
        }
        let url = DeleteObject::new(&self.bucket, creds, &key).sign(SIGNED_FOR);
        let resp = self.agent.delete(url.as_str()).call().map_err(error)?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            _ => Err(failure("DELETE", resp, creds.is_none())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(url: &str, endpoint: &str, attrs: &[(&str, &str)]) -> S3Backend {
        let spec = BackendSpec {
            url: url.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let settings = Settings {
            region: "eu-west-1".into(),
            endpoint: endpoint.into(),
            credentials: None,
        };
        S3Backend::with_settings(url, &spec, Timeouts::default(), settings).unwrap()
    }

    fn object_url(b: &S3Backend, name: &str) -> String {
        b.bucket.object_url(&b.key(name)).to_string()
    }

    #[test]
    fn addressing_style_follows_the_endpoint() {
        let aws = "https://s3.eu-west-1.amazonaws.com";
        let b = backend("s3://bkt/a/b/", aws, &[]);
        assert_eq!(
            object_url(&b, "00R"),
            "https://bkt.s3.eu-west-1.amazonaws.com/a/b/00R"
        );
        let b = backend("s3://bkt", aws, &[("path-style", "")]);
        assert_eq!(
            object_url(&b, "00R"),
            "https://s3.eu-west-1.amazonaws.com/bkt/00R"
        );
        for endpoint in [
            "http://127.0.0.1:9000",
            "http://[::1]:9000",
            "http://LocalHost:9000",
        ] {
            let b = backend("s3://bkt/p", endpoint, &[]);
            assert!(object_url(&b, "x").ends_with(":9000/bkt/p/x"), "{endpoint}");
        }
    }

    #[test]
    fn reads_s3_error_codes() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code>\
                    <Message>The specified bucket does not exist</Message></Error>";
        assert_eq!(xml_element(body, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml_element("<Code>x", "Code"), None);
    }
}
