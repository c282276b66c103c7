//! Redis: `redis://[[USER:]PASSWORD@]HOST[:PORT][/DB]`, the same over TLS
//! as `rediss://…` (with `ca-file=PATH`, see `tls`), and
//! `redis+unix:SOCKET[?db=N]`. Entries are plain string values under
//! `objcache:<name>`; the connection is opened on first use.

use std::cell::RefCell;
use std::sync::mpsc;

use super::{Backend, BackendSpec, RemoteError, Timeouts, MAX_ENTRY};

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
            redis::Client::open(url.as_str()).map_err(|e| format!("{}: {e}", shown()))?
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
    super::tls::install_provider();
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(super::tls::to_pem(&super::tls::roots(spec)?)),
    };
    redis::Client::build_with_tls(url, certificates).map_err(|e| e.to_string())
}

impl Backend for RedisBackend {
    /// Most entries take one round trip: the first `FIRST_READ` bytes.
    /// Only a value that fills them is measured (`STRLEN`) and, within
    /// `MAX_ENTRY`, read to its end, so a huge value is never transferred.
    /// A value replaced between the commands fails the entry's checksum.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let key = format!("objcache:{name}");
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
        let key = format!("objcache:{name}");
        let data = data.to_vec();
        self.with_connection(move |con| redis::cmd("SET").arg(key).arg(data).query::<()>(con))
    }

    fn remove(&self, name: &str) -> Result<bool, RemoteError> {
        let key = format!("objcache:{name}");
        let removed: u64 =
            self.with_connection(move |con| redis::cmd("DEL").arg(key).query(con))?;
        Ok(removed > 0)
    }
}
