//! ccache 4.13's storage helpers: programs named `ccache-storage-<scheme>`
//! that talk to a remote server and serve compiles over a Unix socket
//! (`wire`). A helper is started on first use, shared by every process
//! with the same URL and attributes (the socket's name is derived from
//! them and the user), and exits on its own after `idle-timeout`.
//! `crsh:SOCKET` connects to a helper started by someone else.

mod spawn;
mod wire;

pub use spawn::{ipc_dir, stuck_helper, HelperSearch};

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Backend, BackendSpec, RemoteError, Timeouts};
use wire::{Conn, ConnectError};

/// `remote_storage` properties: everything else is a custom attribute,
/// passed to the helper. ccache's older attributes written without `@`
/// (`layout`, `bearer-token` …) are custom attributes too, as in ccache.
const PROPERTIES: &[&str] = &[
    "backfill",
    "data-timeout",
    "helper",
    "idle-timeout",
    "read-only",
    "request-timeout",
    "shards",
];

/// ccache's default `idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// How a helper is reached.
enum Endpoint {
    /// `crsh:SOCKET`: started by someone else; never started here.
    External(PathBuf),
    /// Started here when nobody listens on the socket yet.
    Spawned {
        program: PathBuf,
        socket: PathBuf,
        url: String,
        attrs: Vec<(String, String)>,
        idle: Duration,
    },
}

pub struct HelperBackend {
    endpoint: Endpoint,
    timeouts: Timeouts,
    /// The connection, made on the first request and kept for the
    /// process's later ones; an error is kept too, so a dead helper is
    /// not waited for twice.
    conn: RefCell<Option<Result<Conn, RemoteError>>>,
}

/// A copy of `e`, of the same kind (a timeout stays a timeout).
fn same(e: &RemoteError) -> RemoteError {
    match e {
        RemoteError::Timeout(m) => RemoteError::Timeout(m.clone()),
        RemoteError::Other(m) => RemoteError::Other(m.clone()),
    }
}

/// The custom attributes of `spec`, in the order written, values
/// percent-decoded: what a helper gets as `CRSH_ATTR_*`.
pub fn custom_attributes(spec: &BackendSpec) -> Vec<(String, String)> {
    spec.attrs
        .iter()
        .filter(|(k, _)| !PROPERTIES.contains(&k.as_str()))
        .cloned()
        .collect()
}

impl HelperBackend {
    /// `crsh:SOCKET`.
    pub fn external(url: &str, spec: &BackendSpec) -> Result<HelperBackend, String> {
        let path = url.strip_prefix("crsh:").unwrap_or(url);
        let path = super::percent_decode(path.strip_prefix("//").unwrap_or(path));
        if path.is_empty() {
            return Err("crsh: needs the path of a helper's socket (crsh:/path/to.sock)".into());
        }
        Ok(HelperBackend {
            endpoint: Endpoint::External(PathBuf::from(path)),
            timeouts: spec.timeouts()?,
            conn: RefCell::new(None),
        })
    }

    /// A helper program for `url`, started when none is running.
    pub fn spawning(
        program: PathBuf,
        url: &str,
        spec: &BackendSpec,
    ) -> Result<HelperBackend, String> {
        let attrs = custom_attributes(spec);
        let socket = ipc_dir()?.join(endpoint_name(url, &attrs));
        Ok(HelperBackend {
            endpoint: Endpoint::Spawned {
                program,
                socket,
                url: url.to_string(),
                attrs,
                idle: spec.idle_timeout()?,
            },
            timeouts: spec.timeouts()?,
            conn: RefCell::new(None),
        })
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, RemoteError>,
    ) -> Result<T, RemoteError> {
        let mut slot = self.conn.borrow_mut();
        if slot.is_none() {
            *slot = Some(self.connect());
        }
        match slot.as_mut().expect("set above") {
            Ok(conn) => {
                let r = f(conn);
                if let Err(e) = &r {
                    // A connection that failed mid-request is out of step.
                    *slot = Some(Err(same(e)));
                }
                r
            }
            Err(e) => Err(same(e)),
        }
    }

    fn connect(&self) -> Result<Conn, RemoteError> {
        match &self.endpoint {
            Endpoint::External(path) => {
                let conn = Conn::open(path, self.timeouts).map_err(|e| match e {
                    ConnectError::NoListener(m) => {
                        RemoteError::Other(format!("no storage helper listens on {m}"))
                    }
                    ConnectError::Other(e) => e,
                })?;
                trust_listener(path, conn.peer_uid()?)?;
                Ok(conn)
            }
            Endpoint::Spawned {
                program,
                socket,
                url,
                attrs,
                idle,
            } => spawn::connect_or_spawn(
                &spawn::Launch {
                    program,
                    socket,
                    url,
                    attrs,
                    idle: *idle,
                },
                self.timeouts,
            ),
        }
    }
}

/// Whether the helper at `path`, run as `peer`, is the one the user
/// named. The user's own, root's, or a service's in a directory of its
/// own are; another user's in a directory others could bind in (/tmp) is
/// not: whoever got there first would receive every entry and could
/// serve any object (an entry's checksum is no signature).
fn trust_listener(path: &Path, peer: u32) -> Result<(), RemoteError> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid cannot fail.
    let me = unsafe { libc::getuid() };
    if peer == me || peer == 0 {
        return Ok(());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let meta = std::fs::metadata(dir)
        .map_err(|e| RemoteError::Other(format!("{}: {e}", dir.display())))?;
    let owner_ok = [me, 0, peer].contains(&meta.uid());
    if owner_ok && meta.mode() & 0o002 == 0 {
        return Ok(());
    }
    Err(RemoteError::Other(format!(
        "the storage helper on {} runs as another user (uid {peer}) in {}, a directory \
         others can create sockets in: anyone could stand in for the helper there; not used \
         (put the socket in a directory of your own or of the helper's user)",
        path.display(),
        dir.display()
    )))
}

/// The key a helper gets for an entry name (64 hex digits and a kind
/// letter): the 32 bytes of the key and the letter, so a helper that
/// writes keys in hex (most do) names entries as objcache does, and no
/// key can be one of ccache's (20 bytes).
pub fn helper_key(name: &str) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let (digits, kind) = name.split_at(name.len().saturating_sub(1));
    if digits.len() % 2 == 0 {
        let bytes: Option<Vec<u8>> = digits
            .as_bytes()
            .chunks(2)
            .map(|p| Some(hex(p[0])? << 4 | hex(p[1])?))
            .collect();
        if let Some(mut key) = bytes {
            key.extend_from_slice(kind.as_bytes());
            return key;
        }
    }
    name.as_bytes().to_vec()
}

impl Backend for HelperBackend {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        self.with_conn(|c| c.get(&helper_key(name)))
    }
    fn put(&self, name: &str, data: &[u8]) -> Result<(), RemoteError> {
        // `noop` (not stored) is no failure: another writer may have it.
        self.with_conn(|c| c.put(&helper_key(name), data).map(|_| ()))
    }
    fn remove(&self, name: &str) -> Result<bool, RemoteError> {
        self.with_conn(|c| c.remove(&helper_key(name)))
    }
}

/// The socket's file name for a helper of `url` with `attrs`, as ccache
/// derives it: `storage-<scheme>-<hash>` of the user, the URL and the
/// custom attributes, so every process of this user with the same remote
/// settings finds the same helper, and nobody else's.
pub fn endpoint_name(url: &str, attrs: &[(String, String)]) -> String {
    let scheme = url.split(':').next().unwrap_or_default();
    let mut h = blake3::Hasher::new();
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() } as i64;
    h.update(&uid.to_le_bytes());
    h.update(&[0]);
    h.update(url.as_bytes());
    for (k, v) in attrs {
        h.update(&[0]);
        h.update(k.as_bytes());
        h.update(&[0]);
        h.update(v.as_bytes());
    }
    let hex = h.finalize().to_hex();
    format!("storage-{scheme}-{}", &hex[..40])
}

/// Asks the helpers at these sockets to stop, and waits (at most a second
/// each) until they no longer listen. Returns one line per helper that
/// was running: what happened.
pub fn stop(sockets: &[PathBuf]) -> Vec<String> {
    let timeouts = Timeouts {
        connect: Duration::from_millis(500),
        data: Duration::from_secs(1),
        request: Duration::from_secs(2),
    };
    let mut lines = Vec::new();
    for socket in sockets {
        if let Some(pid) = stuck_helper(socket) {
            // Started, never listened: no request reaches it.
            // SAFETY: kill signals the helper process identified above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            lines.push(format!(
                "{}: killed pid {pid}, which never listened",
                socket.display()
            ));
            continue;
        }
        let mut conn = match Conn::open(socket, timeouts) {
            Ok(c) => c,
            Err(ConnectError::NoListener(_)) => continue,
            Err(ConnectError::Other(e)) => {
                lines.push(format!("{}: {e}", socket.display()));
                continue;
            }
        };
        match conn.stop() {
            Ok(()) => {
                drop(conn);
                let gone = wait_gone(socket, Duration::from_secs(1));
                lines.push(format!(
                    "{}: {}",
                    socket.display(),
                    if gone { "stopped" } else { "asked to stop" }
                ));
            }
            Err(e) => lines.push(format!("{}: {e}", socket.display())),
        }
    }
    lines
}

/// Whether nobody listens on `socket` any more, waiting up to `limit`.
fn wait_gone(socket: &Path, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    let probe = Timeouts {
        connect: Duration::from_millis(50),
        data: Duration::from_millis(200),
        request: Duration::from_millis(200),
    };
    loop {
        if let Err(ConnectError::NoListener(_)) = Conn::open(socket, probe) {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The sockets `specs` reach helpers at: `crsh:` paths, and for every
/// other scheme but `file` (each shard's URL on its own) the socket a
/// helper started for it listens on.
pub fn configured_sockets(specs: &[BackendSpec]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for spec in specs {
        let urls: Vec<String> = match spec.attr("shards") {
            Some(list) if spec.url.contains('*') => super::parse_shards(list)
                .unwrap_or_default()
                .into_iter()
                .map(|(name, _)| spec.url.replace('*', &name))
                .collect(),
            _ => vec![spec.url.clone()],
        };
        for url in urls {
            match url.split(':').next().unwrap_or_default() {
                "file" => {}
                "crsh" => {
                    if let Ok(HelperBackend {
                        endpoint: Endpoint::External(path),
                        ..
                    }) = HelperBackend::external(&url, spec)
                    {
                        out.push(path);
                    }
                }
                _ => {
                    if let Ok(dir) = ipc_dir() {
                        out.push(dir.join(endpoint_name(&url, &custom_attributes(spec))));
                    }
                }
            }
        }
    }
    out
}

/// The sockets of the helpers this user's objcache or ccache would have
/// started: every `storage-*` in [`ipc_dir`].
pub fn running_sockets() -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(dir) = ipc_dir() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("storage-"))
        .filter_map(|e| {
            let path = e.path();
            if e.file_type().is_ok_and(|t| t.is_socket()) {
                return Some(path);
            }
            // A helper that never listened is known by its marker.
            let name = path.to_str()?.strip_suffix(".stuck")?;
            Some(PathBuf::from(name))
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests;
