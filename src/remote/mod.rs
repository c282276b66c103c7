//! Remote storage shared between machines: one small trait, one file per
//! backend (Redis, HTTP, S3, a directory), sharding and read-only as decorators.
//!
//! Configuration follows ccache's `remote_storage`: space-separated backends,
//! each a URL followed by attributes `key=value` (or `@key=value`; `|`
//! separates them too, and values are percent-decoded):
//!
//! ```text
//! remote_storage = redis://:secret@cache:6379 connect-timeout=50
//!                  http://cache/objcache|layout=bazel|read-only
//!                  s3://bucket/objcache region=eu-west-1
//! ```
//!
//! Nothing here runs on a local hit: backends connect on first use.

mod aws;
pub mod file;
pub mod helper;
pub mod http;
mod mask;
pub mod redis;
pub mod s3;
pub mod tls;

pub use helper::HelperSearch;
use mask::is_scheme;
pub use mask::{mask_config_value, mask_secrets, mask_url};

use std::cell::Cell;
use std::time::Duration;

/// What went wrong talking to a backend.
#[derive(Debug)]
pub enum RemoteError {
    Timeout(String),
    Other(String),
}

impl std::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteError::Timeout(m) => write!(f, "timeout: {m}"),
            RemoteError::Other(m) => write!(f, "{m}"),
        }
    }
}

/// One storage server. `name` is an entry's file name: the key in hex and
/// a kind letter (`R` result, `M` manifest).
pub trait Backend {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError>;
    fn put(&self, name: &str, data: &[u8]) -> Result<(), RemoteError>;
    /// Deletes an entry; `false` when there was none. Only the remote
    /// check's probe entry is ever removed: objcache never cleans a server.
    fn remove(&self, name: &str) -> Result<bool, RemoteError>;
}

/// The largest entry taken from a server: a huge or endless answer must not
/// fill the memory of every compile of a parallel build.
pub const MAX_ENTRY: u64 = 128 << 20;

/// Timeouts, with bounded defaults (docs/remote-storage.md).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeouts {
    pub connect: Duration,
    /// One read or write on an open connection.
    pub data: Duration,
    /// A whole request (HTTP, Redis).
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_millis(100),
            data: Duration::from_millis(1000),
            request: Duration::from_millis(10_000),
        }
    }
}

/// One configured backend: its URL and attributes, as written.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendSpec {
    pub url: String,
    pub attrs: Vec<(String, String)>,
}

impl BackendSpec {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> Result<bool, String> {
        match self.attr(key) {
            None | Some("false") => Ok(false),
            Some("" | "true") => Ok(true),
            Some(v) => Err(format!("{key}: expected true or false, got \"{v}\"")),
        }
    }

    fn duration(&self, key: &str, default: Duration) -> Result<Duration, String> {
        match self.attr(key) {
            None => Ok(default),
            Some(v) => parse_duration(v).map_err(|e| format!("{key}: {e}")),
        }
    }

    pub fn timeouts(&self) -> Result<Timeouts, String> {
        let d = Timeouts::default();
        self.idle_timeout()?;
        let data = self.duration("data-timeout", self.duration("operation-timeout", d.data)?)?;
        // Connecting over TLS includes the handshake: round trips and
        // certificate checks that a server in another region, or a busy
        // build machine, does not finish within a LAN's 100 ms. Unless
        // set, it gets the data timeout on top.
        let connect_default = if self.is_tls() {
            d.connect + data
        } else {
            d.connect
        };
        Ok(Timeouts {
            connect: self.duration("connect-timeout", connect_default)?,
            data,
            request: self.duration("request-timeout", d.request)?,
        })
    }

    /// Whether connecting includes a TLS handshake: `https://`,
    /// `rediss://`, and `s3://` unless its endpoint attribute is plain
    /// HTTP (AWS's endpoints are HTTPS).
    fn is_tls(&self) -> bool {
        self.url.starts_with("https://")
            || self.url.starts_with("rediss://")
            || (self.url.starts_with("s3://")
                && !self
                    .attr("endpoint")
                    .is_some_and(|e| e.starts_with("http://")))
    }

    pub fn read_only(&self) -> Result<bool, String> {
        self.flag("read-only")
    }

    /// How long a storage helper started for this backend stays up
    /// without clients (0: for ever).
    pub fn idle_timeout(&self) -> Result<Duration, String> {
        self.duration("idle-timeout", helper::DEFAULT_IDLE_TIMEOUT)
    }

    /// One backend per shard of a sharded backend (`*` in the URL and
    /// `shards`), to check each; any other backend is its own.
    pub fn each_shard(&self) -> Result<Vec<BackendSpec>, String> {
        match self.attr("shards") {
            Some(list) if self.url.contains('*') => Ok(parse_shards(list)?
                .into_iter()
                .map(|(name, _)| BackendSpec {
                    url: self.url.replace('*', &name),
                    attrs: self
                        .attrs
                        .iter()
                        .filter(|(k, _)| k != "shards")
                        .cloned()
                        .collect(),
                })
                .collect()),
            _ => Ok(vec![self.clone()]),
        }
    }
}

/// A timeout as ccache 4.13 writes one: a number with `ms`, `s`, `m`, `h`
/// or `d` (`500ms`, `10s`, `1.5s`, `10m`); a bare number is milliseconds,
/// as in older ccache versions.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration \"{text}\" (use e.g. 500ms, 10s, 10m)");
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "" | "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        "d" => 86400e3,
        _ => return Err(bad()),
    };
    let ms = n * unit_ms;
    if !ms.is_finite() || ms > 1e15 {
        return Err(bad());
    }
    Ok(Duration::from_micros((ms * 1000.0).round() as u64))
}

/// Whether a word of `remote_storage` starts a backend: a URL with `://`
/// (an empty or bad scheme too, so that `parse` can say what is wrong with
/// it; not after an `=`: `header=Referer=http://x` is an attribute), or
/// one of the `//`-less forms `file:`, `redis+unix:` and `crsh:`. Any other
/// `word:rest` is an attribute: it may be part of a header value cut apart
/// at a space (`user:password`), never to be shown as a URL.
fn is_url_start(token: &str) -> bool {
    if token.starts_with('@') {
        return false;
    }
    if let Some((before, _)) = token.split_once("://") {
        return !before.contains('=');
    }
    ["file:", "redis+unix:", "crsh:"]
        .iter()
        .any(|p| token.starts_with(p))
}

/// Checks a backend's URL as ccache does, with its messages; the URL
/// shown is masked.
fn check_url(url: &str) -> Result<(), String> {
    let shown = mask_url(url);
    // `*`, which `shards` replaces by each shard's name, stands for a
    // name here (`redis://127.0.0.1:*`, `http://cache-*.example.com`).
    let url = &url.replace('*', "0");
    // The fragments ccache's messages share ("Cannot parse URL", ...) are
    // kept: scripts and users search for them.
    let cannot = |why: &str| Err(format!("Cannot parse URL \"{shown}\": {why}"));
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(no_scheme(url));
    };
    if scheme.is_empty() {
        // Masked as if it had one.
        let shown = &mask_url(&format!("x{url}"))[1..];
        return Err(format!(
            "Cannot parse URL \"{shown}\": nothing before the colon that ends the scheme"
        ));
    }
    if !is_scheme(scheme) {
        return cannot("bad scheme");
    }
    if url.chars().any(|c| c.is_control() || c == ' ') {
        return cannot("control character or space");
    }
    let Some(after) = rest.strip_prefix("//") else {
        // `file:dir` names a relative path, whose first segment cannot
        // hold a colon in a URL (it would read as a scheme).
        if !rest.starts_with('/') && rest.split('/').next().is_some_and(|s| s.contains(':')) {
            return cannot("The first segment of the relative path can't contain ':'");
        }
        return Ok(());
    };
    let authority = &after[..after.find(['/', '?', '#']).unwrap_or(after.len())];
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) if p.is_empty() || p.starts_with(':') => (h, p.strip_prefix(':')),
            _ => return cannot("unbalanced [ in host"),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if let Some(p) = port {
        if !p.is_empty() && p.parse::<u16>().is_err() {
            return cannot("bad port");
        }
    }
    if host.is_empty() && userinfo.is_some() {
        return cannot("User info defined, but host is empty");
    }
    if host.is_empty() && port.is_some_and(|p| !p.is_empty()) {
        return cannot("a port but no host");
    }
    if host.is_empty() && matches!(scheme, "http" | "https") {
        return cannot("no host");
    }
    Ok(())
}

/// The error for a URL with no scheme at all (`/var/cache`), masked as if
/// it had one: `//user:password@host` is a URL without its scheme too.
fn no_scheme(url: &str) -> String {
    let shown = mask_url(&format!("x:{url}"));
    format!("URL scheme must not be empty: \"{}\"", &shown[2..])
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a `remote_storage` value.
pub fn parse(value: &str) -> Result<Vec<BackendSpec>, String> {
    let mut specs: Vec<BackendSpec> = Vec::new();
    for token in value.split_whitespace() {
        let mut parts = token.split('|');
        let first = parts.next().unwrap_or_default();
        if is_url_start(first) {
            specs.push(BackendSpec {
                url: first.to_string(),
                attrs: Vec::new(),
            });
        } else if !first.is_empty() {
            push_attr(&mut specs, first)?;
        } else if specs.is_empty() {
            // `|read-only`: a backend without its URL.
            push_attr(&mut specs, "")?;
        }
        for attr in parts.filter(|p| !p.is_empty()) {
            push_attr(&mut specs, attr)?;
        }
    }
    for spec in &specs {
        check_url(&spec.url)?;
        spec.timeouts()?;
        spec.read_only()?;
        // A scheme objcache has no backend for (`s3:`, a storage
        // helper's) is valid configuration: the backend is left out when
        // it is opened, with the reason in the log; the local cache works.
    }
    Ok(specs)
}

fn push_attr(specs: &mut [BackendSpec], attr: &str) -> Result<(), String> {
    let Some(spec) = specs.last_mut() else {
        if attr.starts_with('/') {
            // A path given for a URL, not an attribute.
            return Err(no_scheme(attr));
        }
        // Only the name of an attribute objcache knows: a URL without its
        // scheme may start with a token (`TOKEN@host/c`, `TOKEN:x@host`).
        let name = attr
            .trim_start_matches('@')
            .split([':', '=', '@'])
            .next()
            .unwrap_or_default();
        let shown = if mask::is_attribute(name) {
            format!("\"{name}…\" is an attribute")
        } else {
            "a word that is no URL (not shown: it may hold a secret)".to_string()
        };
        return Err(format!(
            "must provide a URL: {shown} with no backend before it \
             (redis://, redis+unix:, http://, s3://, file:)"
        ));
    };
    let attr = attr.strip_prefix('@').unwrap_or(attr);
    let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
    spec.attrs.push((k.to_string(), percent_decode(v)));
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Redis,
    Http,
    S3,
    File,
}

fn scheme_of(url: &str) -> Result<Scheme, String> {
    if ["redis://", "rediss://", "redis+unix:"]
        .iter()
        .any(|p| url.starts_with(p))
    {
        Ok(Scheme::Redis)
    } else if url.starts_with("http://") || url.starts_with("https://") {
        Ok(Scheme::Http)
    } else if url.starts_with("s3://") {
        Ok(Scheme::S3)
    } else if url.starts_with("file:") {
        Ok(Scheme::File)
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        Err(format!(
            "unsupported remote storage URL \"{}\": no storage helper ccache-storage-{scheme} \
             found (helper property, libexec_dirs, beside objcache, PATH), and objcache's own \
             backends are redis://, rediss://, redis+unix:, http://, https://, s3:// and file:; left out",
            mask_url(url)
        ))
    }
}

/// The backend for one URL: `crsh:` connects to a running helper; for any
/// other scheme but `file`, a storage helper program found as ccache finds
/// one takes precedence over objcache's own backend for that scheme.
fn open_one(
    url: &str,
    spec: &BackendSpec,
    search: &HelperSearch,
) -> Result<Box<dyn Backend>, String> {
    let scheme = url.split(':').next().unwrap_or_default();
    if scheme == "crsh" {
        return Ok(Box::new(helper::HelperBackend::external(url, spec)?));
    }
    if scheme != "file" {
        if let Some(program) = search.find(scheme, spec.attr("helper")) {
            return Ok(Box::new(helper::HelperBackend::spawning(
                program, url, spec,
            )?));
        }
    }
    let timeouts = spec.timeouts()?;
    Ok(match scheme_of(url)? {
        Scheme::Redis => Box::new(redis::RedisBackend::new(url, spec, timeouts)?),
        Scheme::Http => Box::new(http::HttpBackend::new(url, spec, timeouts)?),
        Scheme::S3 => Box::new(s3::S3Backend::new(url, spec, timeouts)?),
        Scheme::File => Box::new(file::FileBackend::new(url, spec)?),
    })
}

/// A note for each attribute of `spec` that objcache's own backend does
/// not read (`cafile`, `endpoint_url`): accepted, as ccache accepts them,
/// but a typo otherwise sends a build to the wrong server in silence. A
/// backend served by a storage helper takes any attribute.
pub fn unknown_attributes(spec: &BackendSpec, search: &HelperSearch) -> Vec<String> {
    let scheme = spec.url.split(':').next().unwrap_or_default();
    let helper = scheme != "file" && search.find(scheme, spec.attr("helper")).is_some();
    if scheme == "crsh" || helper {
        return Vec::new();
    }
    let squash = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    let mut notes = Vec::new();
    for (name, _) in &spec.attrs {
        if mask::known_attributes().any(|k| k == name) || name == "shards" {
            continue;
        }
        let guess = mask::known_attributes()
            .find(|k| squash(name) == squash(k) || squash(name).starts_with(&squash(k)));
        // Only a name like a known one is shown: another word may be a
        // piece of a secret cut apart at a space.
        notes.push(match guess {
            Some(k) => {
                let shown: String = name.chars().filter(|c| !c.is_control()).take(40).collect();
                format!("attribute \"{shown}\" is unknown and ignored; did you mean \"{k}\"?")
            }
            None => "an attribute objcache does not know is ignored (not shown: it may be \
                     part of a value cut at a space)"
                .to_string(),
        });
    }
    notes
}

/// Spreads names over shards by weighted rendezvous hashing: every process
/// picks the same shard for a name, and adding a shard moves few names.
struct Sharded {
    shards: Vec<(String, f64, Box<dyn Backend>)>,
}

impl Sharded {
    fn pick(&self, name: &str) -> &dyn Backend {
        self.shards[self.pick_index(name)].2.as_ref()
    }

    fn pick_index(&self, name: &str) -> usize {
        let score = |shard: &str, weight: f64| {
            let h = blake3::hash(format!("{shard}\0{name}").as_bytes());
            let x = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap());
            let unit = (x as f64 + 1.0) / (u64::MAX as f64 + 2.0);
            -weight / ln(unit)
        };
        (0..self.shards.len())
            .max_by(|&a, &b| {
                let (sa, sb) = (&self.shards[a], &self.shards[b]);
                score(&sa.0, sa.1).total_cmp(&score(&sb.0, sb.1))
            })
            .expect("at least one shard")
    }
}

impl Backend for Sharded {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        self.pick(name).get(name)
    }
    fn put(&self, name: &str, data: &[u8]) -> Result<(), RemoteError> {
        self.pick(name).put(name, data)
    }
    fn remove(&self, name: &str) -> Result<bool, RemoteError> {
        self.pick(name).remove(name)
    }
}

/// Natural logarithm for 0 < x ≤ 1, without libm (which every process that
/// links it pays to load): x = m·2^e with m in [1, 2), ln m by the atanh series.
fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let mut term = z;
    let mut sum = 0.0;
    for k in 0..12 {
        sum += term / (2 * k + 1) as f64;
        term *= z2;
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * sum
}

/// `shards=a,b(2),c` → names and weights.
fn parse_shards(value: &str) -> Result<Vec<(String, f64)>, String> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('(') {
            Some((name, w)) => w
                .strip_suffix(')')
                .and_then(|w| w.parse::<f64>().ok())
                .filter(|w| *w > 0.0)
                .map(|w| (name.to_string(), w))
                .ok_or_else(|| format!("shards: bad weight in \"{s}\"")),
            None => Ok((s.to_string(), 1.0)),
        })
        .collect()
}

/// A configured backend with what this process learned about it.
pub struct Remote {
    pub label: String,
    backend: Box<dyn Backend>,
    pub read_only: bool,
    /// Failed once: not tried again by this process.
    failed: Cell<bool>,
}

/// Why talking to a backend failed, and the counter that records it.
pub struct Failure {
    pub counter: crate::stats::Counter,
    /// What went wrong, masked, with the backend's URL.
    pub message: String,
    /// What went wrong, masked, without the URL.
    pub reason: String,
}

impl Remote {
    /// Opens `spec` finding storage helpers in the default places only
    /// (beside objcache, `PATH`), not in `libexec_dirs`.
    pub fn open(spec: &BackendSpec) -> Result<Remote, String> {
        Remote::open_with(spec, &HelperSearch::default())
    }

    pub fn open_with(spec: &BackendSpec, search: &HelperSearch) -> Result<Remote, String> {
        let backend: Box<dyn Backend> = match spec.attr("shards") {
            Some(list) if spec.url.contains('*') => {
                let shards = parse_shards(list)?
                    .into_iter()
                    .map(|(name, weight)| {
                        let url = spec.url.replace('*', &name);
                        Ok((name, weight, open_one(&url, spec, search)?))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                if shards.is_empty() {
                    return Err("shards: no shard given".into());
                }
                Box::new(Sharded { shards })
            }
            _ => open_one(&spec.url, spec, search)?,
        };
        Ok(Remote {
            label: mask_url(&spec.url),
            backend,
            read_only: spec.read_only()?,
            failed: Cell::new(false),
        })
    }

    pub fn usable(&self) -> bool {
        !self.failed.get()
    }

    fn outcome<T>(&self, r: Result<T, RemoteError>) -> Result<T, Failure> {
        r.map_err(|e| {
            self.failed.set(true);
            let (counter, message) = match e {
                RemoteError::Timeout(m) => (crate::stats::Counter::RemoteStorageTimeout, m),
                RemoteError::Other(m) => (crate::stats::Counter::RemoteStorageError, m),
            };
            let reason = mask_secrets(&message);
            Failure {
                counter,
                message: format!("remote storage {}: {reason}", self.label),
                reason,
            }
        })
    }

    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.outcome(self.backend.get(name))
    }

    pub fn put(&self, name: &str, data: &[u8]) -> Result<(), Failure> {
        self.outcome(self.backend.put(name, data))
    }

    pub fn remove(&self, name: &str) -> Result<bool, Failure> {
        self.outcome(self.backend.remove(name))
    }
}

#[cfg(test)]
mod tests;
