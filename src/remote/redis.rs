//! Redis: `redis://[[USER:]PASSWORD@]HOST[:PORT][/DB]`, the same over TLS
//! as `rediss://…` (with `ca-file=PATH`, see `tls`), and
//! `redis+unix:SOCKET[?db=N]`. Entries are plain string values under
//! `ccache:<name>`; the connection is opened on first use.

use std::cell::RefCell;
use std::sync::mpsc;

use super::{Backend, BackendSpec, RemoteError, Timeouts, MAX_ENTRY};

/// ccache's prefix, so a ccache user's Redis tooling (`ccache:*` in
/// monitoring, eviction or cleanup scripts) carries over. The two tools'
/// keys cannot collide: ccache's are 33 characters of `[0-9a-v]`
/// (base16 then base32hex of a 20-byte digest), objcache's names are 64
/// hex digits and an upper-case kind letter.
pub const KEY_PREFIX: &str = "ccache:";

/// What the first read of an entry asks for: more than most entries.
const FIRST_READ: u64 = 512 << 10;

pub struct RedisBackend {
    client: redis::Client,
    timeouts: Timeouts,
    connection: RefCell<Option<redis::Connection>>,
}

fn error(e: redis::RedisError) -> RemoteError {
    if e.is_timeout() {
        RemoteError::Timeout(e.to_string())
    } else {
        RemoteError::Other(e.to_string())
    }
}

impl RedisBackend {
    pub fn new(url: &str, spec: &BackendSpec, timeouts: Timeouts) -> Result<RedisBackend, String> {
        // ccache writes `redis+unix:/path?db=N`; the client wants `redis+unix:///path?db=N`.
        let url = match url.strip_prefix("redis+unix:") {
            Some(rest) if !rest.starts_with("//") => format!("redis+unix://{rest}"),
            _ => url.to_string(),
        };
        let shown = || super::mask_url(&url);
        let client = if url.starts_with("rediss://") {
            tls_client(&url, spec).map_err(|e| format!("{}: {e}", shown()))?
        } else if spec.attr(super::tls::CA_FILE).is_some() {
            return Err(format!(
                "{}: {} is for rediss:// only",
                shown(),
                super::tls::CA_FILE
            ));
        } else {
            connection_info(&url)
                .and_then(|info| redis::Client::open(info).map_err(|e| e.to_string()))
                .map_err(|e| format!("{}: {e}", shown()))?
        };
        Ok(RedisBackend {
            client,
            timeouts,
            connection: RefCell::new(None),
        })
    }

    /// Runs `f` on the connection within the request timeout: every read
    /// has the data timeout, but a server answering one byte at a time
    /// would pass each of those, so the whole call runs on a helper thread
    /// and is given up (and the connection with it) at the deadline.
    fn with_connection<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T> + Send + 'static,
    ) -> Result<T, RemoteError> {
        let mut slot = self.connection.borrow_mut();
        let mut con = match slot.take() {
            Some(con) => con,
            None => {
                let con = self
                    .client
                    .get_connection_with_timeout(self.timeouts.connect)
                    .map_err(error)?;
                con.set_read_timeout(Some(self.timeouts.data))
                    .map_err(error)?;
                con.set_write_timeout(Some(self.timeouts.data))
                    .map_err(error)?;
                con
            }
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let result = f(&mut con);
            let _ = tx.send((result, con));
        });
        match rx.recv_timeout(self.timeouts.request) {
            Ok((result, con)) => {
                // A broken connection is not reused.
                if result.is_ok() {
                    *slot = Some(con);
                }
                result.map_err(error)
            }
            Err(_) => Err(RemoteError::Timeout(format!(
                "Redis: no whole answer within {} ms",
                self.timeouts.request.as_millis()
            ))),
        }
    }
}

/// The server and credentials of a URL, read as ccache reads them: user
/// information without a `:` is a password (`redis://PASSWORD@HOST`, the
/// form ccache's manual shows), where the client would take it for a user
/// name and never authenticate; and a Unix socket's URL may carry them too
/// (`redis+unix://[USER:]PASSWORD@localhost/SOCKET`), where the client
/// reads them only from the query (`?user=…&pass=…`).
fn connection_info(url: &str) -> Result<redis::ConnectionInfo, String> {
    use redis::IntoConnectionInfo;
    let mut parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    let user = super::percent_decode(parsed.username());
    let password = parsed.password().map(super::percent_decode);
    let (user, password) = match password {
        None if !user.is_empty() => (String::new(), Some(user)),
        password => (user, password),
    };
    if parsed.scheme() == "redis+unix" {
        if parsed
            .host_str()
            .is_some_and(|h| !h.is_empty() && h != "localhost")
        {
            return Err("a Unix socket's URL names no host other than localhost".to_string());
        }
        // Only the socket's path: the client takes no host or user here.
        parsed = url::Url::parse(&format!(
            "redis+unix://{}{}",
            parsed.path(),
            parsed.query().map(|q| format!("?{q}")).unwrap_or_default()
        ))
        .map_err(|e| e.to_string())?;
    } else {
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
    }
    let info = parsed.into_connection_info().map_err(|e| e.to_string())?;
    let mut settings = info.redis_settings().clone();
    if !user.is_empty() {
        settings = settings.set_username(user);
    }
    if let Some(password) = password {
        settings = settings.set_password(password);
    }
    Ok(info.set_redis_settings(settings))
}

/// A client for `rediss://`, given the trust roots (`tls::roots`): the
/// client's own would be read again at every connection, within the
/// connect timeout.
fn tls_client(url: &str, spec: &BackendSpec) -> Result<redis::Client, String> {
    // The client reads `#insecure` as "accept any certificate".
    if url.contains('#') {
        return Err("a URL fragment (such as #insecure) is not accepted: \
                    certificates are always verified"
            .to_string());
    }
    let info = connection_info(url)?;
    super::tls::install_provider();
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(super::tls::to_pem(&super::tls::roots(spec)?)),
    };
    redis::Client::build_with_tls(info, certificates).map_err(|e| e.to_string())
}

impl Backend for RedisBackend {
    /// Most entries take one round trip: the first `FIRST_READ` bytes.
    /// Only a value that fills them is measured (`STRLEN`) and, within
    /// `MAX_ENTRY`, read to its end, so a huge value is never transferred.
    /// A value replaced between the commands fails the entry's checksum.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let key = format!("{KEY_PREFIX}{name}");
        let (len, data) = self.with_connection(move |con| {
            let mut data: Vec<u8> = redis::cmd("GETRANGE")
                .arg(&key)
                .arg(0)
                .arg(FIRST_READ - 1)
                .query(con)?;
            if (data.len() as u64) < FIRST_READ {
                return Ok((data.len() as u64, data));
            }
            let len: u64 = redis::cmd("STRLEN").arg(&key).query(con)?;
            if len > FIRST_READ && len <= MAX_ENTRY {
                let rest: Vec<u8> = redis::cmd("GETRANGE")
                    .arg(&key)
                    .arg(FIRST_READ)
                    .arg(len - 1)
                    .query(con)?;
                data.extend_from_slice(&rest);
            }
            Ok((len, data))
        })?;
        if len > MAX_ENTRY {
            return Err(RemoteError::Other(format!(
                "Redis: an entry of {len} bytes, more than the {MAX_ENTRY} taken"
            )));
        }
        // A missing key reads as empty, and an entry is never empty.
        Ok((len > 0 && data.len() as u64 == len).then_some(data))
    }

    fn put(&self, name: &str, data: &[u8]) -> Result<(), RemoteError> {
        let key = format!("{KEY_PREFIX}{name}");
        let data = data.to_vec();
        self.with_connection(move |con| redis::cmd("SET").arg(key).arg(data).query::<()>(con))
    }

    fn remove(&self, name: &str) -> Result<bool, RemoteError> {
        let key = format!("{KEY_PREFIX}{name}");
        let removed: u64 =
            self.with_connection(move |con| redis::cmd("DEL").arg(key).query(con))?;
        Ok(removed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::connection_info;

    fn credentials(url: &str) -> (Option<String>, Option<String>, i64) {
        let info = connection_info(url).unwrap();
        let r = info.redis_settings();
        (
            r.username().map(str::to_string),
            r.password().map(str::to_string),
            r.db(),
        )
    }

    #[test]
    fn user_information_read_as_ccache_reads_it() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(credentials("redis://pw@h:1/2"), (None, some("pw"), 2));
        assert_eq!(credentials("redis://:pw@h"), (None, some("pw"), 0));
        assert_eq!(
            credentials("redis://u:p%40w@h"),
            (some("u"), some("p@w"), 0)
        );
        assert_eq!(credentials("redis://h"), (None, None, 0));
        let unix = "redis+unix://u:pw@localhost/run/r.sock?db=3";
        assert_eq!(credentials(unix), (some("u"), some("pw"), 3));
        assert_eq!(credentials("redis+unix:///r.sock"), (None, None, 0));
        assert!(connection_info("redis+unix://pw@elsewhere/r.sock").is_err());
    }
}
