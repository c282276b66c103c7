//! ccache's storage helper protocol, version 1, client side
//! (remote_storage_helper_spec): a greeting, then get, put, remove and stop
//! requests on one Unix socket, integers in host byte order.
//!
//! Every wait is bounded: a read or write waits at most `data-timeout`, a
//! whole request at most `request-timeout`, and a helper that says a value
//! is longer than [`MAX_ENTRY`] is not read at all.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::remote::{RemoteError, Timeouts, MAX_ENTRY};

const PROTOCOL_VERSION: u8 = 1;
/// The capability of get, put, remove and stop.
const CAP_GET_PUT_REMOVE: u8 = 0;

const REQ_GET: u8 = 0;
const REQ_PUT: u8 = 1;
const REQ_REMOVE: u8 = 2;
const REQ_STOP: u8 = 3;

const OK: u8 = 0;
const NOOP: u8 = 1;
const ERR: u8 = 2;

/// Why connecting failed: nobody listens (a helper may be started), or
/// something else (a path that is no socket, no permission, a full queue).
#[derive(Debug)]
pub enum ConnectError {
    NoListener(String),
    Other(RemoteError),
}

/// One connection to a helper that has greeted with protocol 1.
pub struct Conn {
    stream: UnixStream,
    timeouts: Timeouts,
    /// The end of the current request.
    deadline: Instant,
}

impl Conn {
    /// Connects to `path` and reads the greeting. A listener whose queue
    /// is full is retried until `connect-timeout`, never waited on blindly.
    pub fn open(path: &Path, timeouts: Timeouts) -> Result<Conn, ConnectError> {
        let stream = connect(path, timeouts.connect)?;
        let mut conn = Conn {
            stream,
            timeouts,
            deadline: Instant::now() + timeouts.request,
        };
        conn.greeting().map_err(ConnectError::Other)?;
        Ok(conn)
    }

    /// The user the listening process ran as when it bound the socket.
    pub fn peer_uid(&self) -> Result<u32, RemoteError> {
        use std::os::fd::AsRawFd;
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `cred`.
        let r = unsafe {
            libc::getsockopt(
                self.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        if r != 0 {
            return Err(RemoteError::Other(format!(
                "storage helper: who listens: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(cred.uid)
    }

    fn greeting(&mut self) -> Result<(), RemoteError> {
        let mut head = [0u8; 2];
        self.read_exact(&mut head)?;
        if head[0] != PROTOCOL_VERSION {
            return Err(RemoteError::Other(format!(
                "storage helper speaks protocol version {}, not {PROTOCOL_VERSION}",
                head[0]
            )));
        }
        let mut caps = vec![0u8; head[1] as usize];
        self.read_exact(&mut caps)?;
        if !caps.contains(&CAP_GET_PUT_REMOVE) {
            return Err(RemoteError::Other(
                "storage helper lacks the get/put/remove capability".into(),
            ));
        }
        Ok(())
    }

    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, RemoteError> {
        self.begin();
        self.write_all(&keyed(REQ_GET, key)?)?;
        if self.status()? == NOOP {
            return Ok(None);
        }
        let len = self.read_u64()?;
        if len > MAX_ENTRY {
            return Err(RemoteError::Other(format!(
                "storage helper announced a value of {len} bytes, over the {MAX_ENTRY} limit"
            )));
        }
        Ok(Some(self.read_value(len as usize)?))
    }

    /// Stores `value`, overwriting; `false` when the helper did not store it.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<bool, RemoteError> {
        self.begin();
        let mut head = keyed(REQ_PUT, key)?;
        head.push(1); // overwrite
        head.extend_from_slice(&(value.len() as u64).to_ne_bytes());
        self.write_all(&head)?;
        self.write_all(value)?;
        Ok(self.status()? == OK)
    }

    pub fn remove(&mut self, key: &[u8]) -> Result<bool, RemoteError> {
        self.begin();
        self.write_all(&keyed(REQ_REMOVE, key)?)?;
        Ok(self.status()? == OK)
    }

    /// Asks the helper to exit. It may close the connection before
    /// answering, which is success too.
    pub fn stop(&mut self) -> Result<(), RemoteError> {
        self.begin();
        self.write_all(&[REQ_STOP])?;
        let mut b = [0u8; 1];
        match self.read_exact(&mut b) {
            Ok(()) if b[0] == OK => Ok(()),
            Ok(()) => Err(RemoteError::Other(format!(
                "storage helper answered stop with byte {:#04x}",
                b[0]
            ))),
            Err(RemoteError::Other(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn begin(&mut self) {
        self.deadline = Instant::now() + self.timeouts.request;
    }

    /// `<ok>` or `<noop>`; `<err>` with its message, or anything else, is
    /// an error.
    fn status(&mut self) -> Result<u8, RemoteError> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        match b[0] {
            OK | NOOP => Ok(b[0]),
            ERR => {
                let mut len = [0u8; 1];
                self.read_exact(&mut len)?;
                let mut msg = vec![0u8; len[0] as usize];
                self.read_exact(&mut msg)?;
                let msg: String = String::from_utf8_lossy(&msg)
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                Err(RemoteError::Other(format!("storage helper: {msg}")))
            }
            other => Err(RemoteError::Other(format!(
                "storage helper answered with status byte {other:#04x}, not 0, 1 or 2"
            ))),
        }
    }

    fn read_u64(&mut self) -> Result<u64, RemoteError> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_ne_bytes(b))
    }

    /// `len` bytes, the buffer grown as they arrive: a helper that
    /// announces much and sends little costs little memory.
    fn read_value(&mut self, len: usize) -> Result<Vec<u8>, RemoteError> {
        const CHUNK: usize = 1 << 20;
        let mut out = Vec::with_capacity(len.min(CHUNK));
        while out.len() < len {
            let start = out.len();
            let end = len.min(start + CHUNK);
            out.resize(end, 0);
            self.read_exact(&mut out[start..end])?;
        }
        Ok(out)
    }

    /// The time one wait may take: `data-timeout`, cut to what is left of
    /// the request.
    fn wait(&self) -> Result<Duration, RemoteError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(RemoteError::Timeout(format!(
                "storage helper request not done within request-timeout {:?}",
                self.timeouts.request
            )));
        }
        Ok(left.min(self.timeouts.data).max(Duration::from_micros(1)))
    }

    fn timed_out(&self, e: std::io::Error, what: &str) -> RemoteError {
        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) {
            if self.deadline <= Instant::now() {
                return RemoteError::Timeout(format!(
                    "storage helper request not done within request-timeout {:?}",
                    self.timeouts.request
                ));
            }
            return RemoteError::Timeout(format!(
                "storage helper: nothing to {what} for data-timeout {:?}",
                self.timeouts.data
            ));
        }
        RemoteError::Other(format!("storage helper connection: {what}: {e}"))
    }

    fn read_exact(&mut self, mut buf: &mut [u8]) -> Result<(), RemoteError> {
        while !buf.is_empty() {
            let wait = self.wait()?;
            let _ = self.stream.set_read_timeout(Some(wait));
            match self.stream.read(buf) {
                Ok(0) => {
                    return Err(RemoteError::Other(
                        "storage helper closed the connection mid-answer".into(),
                    ))
                }
                Ok(n) => buf = &mut buf[n..],
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.timed_out(e, "read")),
            }
        }
        Ok(())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> Result<(), RemoteError> {
        while !buf.is_empty() {
            let wait = self.wait()?;
            let _ = self.stream.set_write_timeout(Some(wait));
            match self.stream.write(buf) {
                Ok(0) => return Err(RemoteError::Other("storage helper stopped reading".into())),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.timed_out(e, "write")),
            }
        }
        Ok(())
    }
}

/// A request's opcode and `<key>`.
fn keyed(op: u8, key: &[u8]) -> Result<Vec<u8>, RemoteError> {
    let len = u8::try_from(key.len())
        .map_err(|_| RemoteError::Other(format!("key of {} bytes is over 255", key.len())))?;
    let mut out = Vec::with_capacity(2 + key.len() + 9);
    out.push(op);
    out.push(len);
    out.extend_from_slice(key);
    Ok(out)
}

/// A non-blocking connect, retried while the listener's queue is full
/// (`EAGAIN`) until `limit`; the stream returned blocks (with timeouts).
fn connect(path: &Path, limit: Duration) -> Result<UnixStream, ConnectError> {
    let shown = path.display();
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; zeroed is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(ConnectError::Other(RemoteError::Other(format!(
            "socket path {shown} is too long for a Unix socket ({} bytes, at most {})",
            bytes.len(),
            addr.sun_path.len() - 1
        ))));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    // SAFETY: a plain socket(2) call; the fd is owned right away.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return Err(ConnectError::Other(RemoteError::Other(format!(
            "socket for {shown}: {e}"
        ))));
    }
    // SAFETY: fd is a new, valid descriptor owned by nobody else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let end = Instant::now() + limit;
    loop {
        // SAFETY: addr is a valid sockaddr_un of the size given.
        let r = unsafe {
            libc::connect(
                fd,
                &addr as *const libc::sockaddr_un as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            )
        };
        if r == 0 {
            break;
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) if Instant::now() < end => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Some(libc::EAGAIN) => {
                return Err(ConnectError::Other(RemoteError::Timeout(format!(
                "storage helper at {shown} accepted no connection within connect-timeout {limit:?}"
            ))))
            }
            Some(libc::ENOENT | libc::ECONNREFUSED) => {
                return Err(ConnectError::NoListener(format!("{shown}: {e}")))
            }
            _ => {
                return Err(ConnectError::Other(RemoteError::Other(format!(
                    "connecting to storage helper at {shown}: {e}"
                ))))
            }
        }
    }
    let stream = UnixStream::from(owned);
    stream
        .set_nonblocking(false)
        .map_err(|e| ConnectError::Other(RemoteError::Other(format!("socket for {shown}: {e}"))))?;
    Ok(stream)
}
