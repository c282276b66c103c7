//! Redis: `redis://[[USER:]PASSWORD@]HOST[:PORT][/DB]` and
//! `redis+unix:SOCKET[?db=N]`. Entries are plain string values under
//! `objcache:<name>`; the connection is opened on first use.

use std::cell::RefCell;

use super::{Backend, RemoteError, Timeouts};

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
    pub fn new(url: &str, timeouts: Timeouts) -> Result<RedisBackend, String> {
        // ccache writes `redis+unix:/path?db=N`; the client wants `redis+unix:///path?db=N`.
        let url = match url.strip_prefix("redis+unix:") {
            Some(rest) if !rest.starts_with("//") => format!("redis+unix://{rest}"),
            _ => url.to_string(),
        };
        let client = redis::Client::open(url.as_str())
            .map_err(|e| format!("{}: {e}", super::mask_url(&url)))?;
        Ok(RedisBackend {
            client,
            timeouts,
            connection: RefCell::new(None),
        })
    }

    fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, RemoteError> {
        let mut slot = self.connection.borrow_mut();
        if slot.is_none() {
            let con = self
                .client
                .get_connection_with_timeout(self.timeouts.connect)
                .map_err(error)?;
            con.set_read_timeout(Some(self.timeouts.data))
                .map_err(error)?;
            con.set_write_timeout(Some(self.timeouts.data))
                .map_err(error)?;
            *slot = Some(con);
        }
        let result = f(slot.as_mut().expect("connected above"));
        if result.is_err() {
            // A broken connection is not reused.
            *slot = None;
        }
        result.map_err(error)
    }
}

impl Backend for RedisBackend {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        self.with_connection(|con| {
            redis::cmd("GET")
                .arg(format!("objcache:{name}"))
                .query::<Option<Vec<u8>>>(con)
        })
    }

    fn put(&self, name: &str, data: &[u8]) -> Result<(), RemoteError> {
        self.with_connection(|con| {
            redis::cmd("SET")
                .arg(format!("objcache:{name}"))
                .arg(data)
                .query::<()>(con)
        })
    }
}
