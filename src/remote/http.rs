//! HTTP servers with GET/PUT (nginx with WebDAV, bazel-remote, …):
//! `http[s]://[USER:PASSWORD@]HOST[:PORT][/PATH]` with
//! `layout=subdirs|flat|bazel`, `bearer-token=TOKEN`, `header=NAME=VALUE`,
//! `keep-alive` and, for `https://`, `ca-file=PATH` (see `tls`).

use super::{Backend, BackendSpec, RemoteError, Timeouts, MAX_ENTRY};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Subdirs,
    Flat,
    Bazel,
}

pub struct HttpBackend {
    agent: ureq::Agent,
    base: String,
    layout: Layout,
    headers: Vec<(String, String)>,
}

impl HttpBackend {
    pub fn new(url: &str, spec: &BackendSpec, timeouts: Timeouts) -> Result<HttpBackend, String> {
        let layout = match spec.attr("layout") {
            None | Some("subdirs") => Layout::Subdirs,
            Some("flat") => Layout::Flat,
            Some("bazel") => Layout::Bazel,
            Some(other) => {
                return Err(format!(
                    "{}: unknown layout \"{other}\" (subdirs, flat or bazel)",
                    super::mask_url(url)
                ))
            }
        };
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (userinfo, host) = match rest[..authority_end].rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, &rest[..authority_end]),
        };
        let path = rest[authority_end..].trim_end_matches('/');
        let mut headers = Vec::new();
        // One Authorization header: a bearer token wins over URL credentials.
        if let (Some(u), None) = (userinfo, spec.attr("bearer-token")) {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            let plain = format!(
                "{}:{}",
                super::percent_decode(user),
                super::percent_decode(password)
            );
            headers.push((
                "Authorization".to_string(),
                format!("Basic {}", base64(plain.as_bytes())),
            ));
        }
        if let Some(token) = spec.attr("bearer-token") {
            headers.push(("Authorization".to_string(), format!("Bearer {token}")));
        }
        for (k, v) in &spec.attrs {
            if k == "header" {
                // Not even the name is shown: without its `=`, where it
                // ends is unknown (`X-Token:SECRET`, `SECRET`).
                let (name, value) = v.split_once('=').ok_or_else(|| {
                    "header: expected NAME=VALUE, found no \"=\" (the value is not shown)"
                        .to_string()
                })?;
                headers.push((name.to_string(), value.to_string()));
            }
        }
        // ccache 4.13's default: the manifest and the result (and on a miss
        // their uploads) share one connection instead of one each.
        if spec.attr("keep-alive") == Some("false") {
            headers.push(("Connection".to_string(), "close".to_string()));
        }
        Ok(HttpBackend {
            agent: agent(timeouts, spec, scheme == "https", url)?,
            base: format!("{scheme}://{host}{path}"),
            layout,
            headers,
        })
    }

    fn url(&self, name: &str) -> String {
        match self.layout {
            Layout::Subdirs => format!("{}/{}/{}", self.base, &name[..2], &name[2..]),
            Layout::Flat => format!("{}/{name}", self.base),
            // bazel-remote's action cache wants 64 hex digits.
            Layout::Bazel => format!(
                "{}/ac/{}",
                self.base,
                blake3::hash(name.as_bytes()).to_hex()
            ),
        }
    }
}

/// The client every HTTP-based backend (HTTP, S3) uses; over TLS when
/// `https`, with the system's roots and `ca-file`'s (see `tls`). ureq
/// bounds whole phases, not single reads: the data timeout bounds the wait
/// for the response to start, the request timeout everything, so a large
/// entry arriving steadily is never cut off early. Statuses are the
/// backend's to judge, and a redirect would take the entry, and any
/// secret, elsewhere.
pub(super) fn agent(
    timeouts: Timeouts,
    spec: &BackendSpec,
    https: bool,
    url: &str,
) -> Result<ureq::Agent, String> {
    let mut config = ureq::Agent::config_builder();
    if https {
        config = config.tls_config(tls_config(spec)?);
    } else if spec.attr(super::tls::CA_FILE).is_some() {
        return Err(format!(
            "{}: {} is for https:// only",
            super::mask_url(url),
            super::tls::CA_FILE
        ));
    }
    // The host name's lookup is part of connecting: a name server that
    // does not answer would otherwise cost every compile the resolver's
    // own retries (10 s with glibc's defaults) up to `request-timeout`.
    // Not under `data-timeout`: a loaded machine may take 100 ms to read
    // /etc/hosts in a new thread.
    Ok(config
        .timeout_resolve(Some(timeouts.connect.max(timeouts.data)))
        .timeout_connect(Some(timeouts.connect))
        .timeout_recv_response(Some(timeouts.data))
        .timeout_global(Some(timeouts.request))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into())
}

/// Rustls with the system's roots and `ca-file`'s (see `tls`).
fn tls_config(spec: &BackendSpec) -> Result<ureq::tls::TlsConfig, String> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
    let roots: Vec<Certificate<'static>> = super::tls::roots(spec)?
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(super::tls::provider())
        .root_certs(RootCerts::new_with_certs(&roots))
        .build())
}

/// An entry's body, at most `MAX_ENTRY` bytes: a huge or endless answer
/// must not fill the memory of every compile of a parallel build.
pub(super) fn read_entry(
    resp: &mut ureq::http::Response<ureq::Body>,
) -> Result<Vec<u8>, RemoteError> {
    resp.body_mut()
        .with_config()
        .limit(MAX_ENTRY)
        .read_to_vec()
        .map_err(error)
}

pub(super) fn error(e: ureq::Error) -> RemoteError {
    match e {
        ureq::Error::Timeout(t) => RemoteError::Timeout(format!("HTTP {t}")),
        other => RemoteError::Other(format!("HTTP: {other}")),
    }
}

impl Backend for HttpBackend {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let mut req = self.agent.get(&self.url(name));
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let mut resp = req.call().map_err(error)?;
        match resp.status().as_u16() {
            200 => read_entry(&mut resp).map(Some),
            404 => Ok(None),
            s => Err(RemoteError::Other(format!("HTTP GET: status code: {s}"))),
        }
    }

    fn put(&self, name: &str, data: &[u8]) -> Result<(), RemoteError> {
        let mut req = self.agent.put(&self.url(name));
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let resp = req
            .header("Content-Type", "application/octet-stream")
            .send(data)
            .map_err(error)?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            s => Err(RemoteError::Other(format!("HTTP PUT: status code: {s}"))),
        }
    }

    fn remove(&self, name: &str) -> Result<bool, RemoteError> {
        let mut req = self.agent.delete(&self.url(name));
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        let resp = req.call().map_err(error)?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            s => Err(RemoteError::Other(format!("HTTP DELETE: status code: {s}"))),
        }
    }
}

/// Standard base64, for HTTP basic authentication and PEM.
pub(super) fn base64(data: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"user:pass"), "dXNlcjpwYXNz");
    }
}
