//! Finding a helper program, and starting one so that concurrent compiles
//! end up with one helper, all connected to it.

use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::wire::{Conn, ConnectError};
use crate::remote::{RemoteError, Timeouts};

/// Where helper programs are looked for besides the `helper` property:
/// `libexec_dirs`, then the directory of the objcache executable, then
/// `PATH`.
#[derive(Clone, Debug, Default)]
pub struct HelperSearch {
    pub libexec_dirs: Vec<PathBuf>,
}

impl HelperSearch {
    /// The program for `scheme` (or named by the `helper` property), as
    /// ccache finds it; `None` when there is none, or `helper=_builtin_`.
    pub fn find(&self, scheme: &str, helper: Option<&str>) -> Option<PathBuf> {
        let name = match helper {
            Some("_builtin_") => return None,
            Some(h) if !h.is_empty() => h.to_string(),
            _ => format!("ccache-storage-{scheme}"),
        };
        if name.contains('/') {
            let path = PathBuf::from(name);
            return is_program(&path).then_some(path);
        }
        let beside_exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let path_dirs = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default();
        self.libexec_dirs
            .iter()
            .cloned()
            .chain(beside_exe)
            .chain(path_dirs)
            .filter(|d| !d.as_os_str().is_empty())
            .map(|d| d.join(&name))
            .find(|p| is_program(p))
    }
}

fn is_program(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The directory of helper sockets, private to the user, as ccache picks
/// it: `$XDG_RUNTIME_DIR/ccache-tmp` (when the user owns
/// `XDG_RUNTIME_DIR`), else `/tmp/ccache-tmp-<uid>`. One
/// that someone else owns, or a symlink, is refused: whoever controls it
/// could stand in for a helper and serve any entry.
pub fn ipc_dir() -> Result<PathBuf, String> {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    // Another user's runtime dir (root after `sudo -E`) is theirs to
    // swap a directory in, and the helpers' directory root left there
    // would lock them out of their own.
    let dir = match std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .filter(|d| fs::metadata(d).is_ok_and(|m| m.uid() == uid))
    {
        Some(d) => PathBuf::from(d).join("ccache-tmp"),
        None => PathBuf::from(format!("/tmp/ccache-tmp-{uid}")),
    };
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("storage helper directory {}: {e}", dir.display())),
    }
    let meta = fs::symlink_metadata(&dir)
        .map_err(|e| format!("storage helper directory {}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid {
        return Err(format!(
            "storage helper directory {} is not a directory of this user's (owner uid {}); not used",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("making {} private: {e}", dir.display()))?;
    }
    Ok(dir)
}

/// What starting a helper takes.
pub struct Launch<'a> {
    pub program: &'a Path,
    pub socket: &'a Path,
    pub url: &'a str,
    pub attrs: &'a [(String, String)],
    pub idle: Duration,
}

/// How long a helper just started may take to listen: as in ccache
/// 4.13.5, `data-timeout` but at least 10 s, for an interpreter starting
/// on a loaded machine. A helper that exits is noticed at once.
fn start_limit(t: Timeouts) -> Duration {
    t.data.max(Duration::from_secs(10))
}

/// Connects to the running helper, or starts one and connects. Starting
/// is serialized by a lock beside the socket: of several processes that
/// find no helper, one starts it and the others wait for it, then connect.
pub fn connect_or_spawn(launch: &Launch, timeouts: Timeouts) -> Result<Conn, RemoteError> {
    match Conn::open(launch.socket, timeouts) {
        Ok(c) => return Ok(c),
        Err(ConnectError::Other(e)) => return Err(e),
        Err(ConnectError::NoListener(_)) => {}
    }
    let limit = start_limit(timeouts);
    let _lock = SpawnLock::take(launch.socket, limit)?;
    // Another process may have started it while this one waited.
    match Conn::open(launch.socket, timeouts) {
        Ok(c) => return Ok(c),
        Err(ConnectError::Other(e)) => return Err(e),
        Err(ConnectError::NoListener(_)) => {}
    }
    // A helper started earlier that never listened: starting another
    // would only wait as long again, and leave one more behind.
    if let Some(pid) = stuck_helper(launch.socket) {
        return Err(RemoteError::Other(format!(
            "storage helper {} (pid {pid}) was started and never listened on {}; not starting another",
            launch.program.display(),
            launch.socket.display()
        )));
    }
    // Nobody listens: what is there is left by a helper that died (a
    // socket), and the directory is the user's own; a helper cannot bind
    // over it.
    if let Ok(meta) = fs::symlink_metadata(launch.socket) {
        if meta.is_dir() {
            return Err(RemoteError::Other(format!(
                "{} is a directory, not a helper's socket",
                launch.socket.display()
            )));
        }
        let _ = fs::remove_file(launch.socket);
    }
    let mut child = start(launch)?;
    let r = wait_listening(launch, &mut child, timeouts, limit);
    let marker = stuck_marker(launch.socket);
    match &r {
        Err(RemoteError::Timeout(_)) => {
            let _ = crate::files::atomic_write(&marker, child.id().to_string().as_bytes());
        }
        _ => {
            let _ = fs::remove_file(&marker);
        }
    }
    r
}

/// `<socket>.stuck`: the pid of a helper started for `socket` that did
/// not listen in time.
fn stuck_marker(socket: &Path) -> PathBuf {
    let mut path = socket.as_os_str().to_owned();
    path.push(".stuck");
    PathBuf::from(path)
}

/// The pid of a helper started for `socket` that never listened and is
/// still running.
pub fn stuck_helper(socket: &Path) -> Option<i32> {
    let text = crate::files::read_cache_file_bounded(&stuck_marker(socket), 32).ok()?;
    let pid: i32 = std::str::from_utf8(&text).ok()?.trim().parse().ok()?;
    is_helper_of(pid, socket).then_some(pid)
}

/// Whether process `pid` is a helper started for `socket` (its
/// `CRSH_IPC_ENDPOINT` says so), not a process that got the pid later.
fn is_helper_of(pid: i32, socket: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let environ = format!("/proc/{pid}/environ");
    let Ok(env) = crate::files::read_cache_file_bounded(Path::new(&environ), 1 << 20) else {
        return false;
    };
    let mut want = b"CRSH_IPC_ENDPOINT=".to_vec();
    want.extend_from_slice(socket.as_os_str().as_bytes());
    env.split(|&b| b == 0).any(|var| var == want.as_slice())
}

fn wait_listening(
    launch: &Launch,
    child: &mut Child,
    timeouts: Timeouts,
    limit: Duration,
) -> Result<Conn, RemoteError> {
    let end = Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    loop {
        match Conn::open(launch.socket, timeouts) {
            Ok(c) => return Ok(c),
            Err(ConnectError::Other(e)) => return Err(e),
            Err(ConnectError::NoListener(_)) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            // One more try: it may have exited because another helper
            // (ccache's) took the socket first.
            return Conn::open(launch.socket, timeouts).map_err(|_| {
                RemoteError::Other(format!(
                    "storage helper {} exited ({status}) without listening on {}",
                    launch.program.display(),
                    launch.socket.display()
                ))
            });
        }
        if Instant::now() >= end {
            return Err(RemoteError::Timeout(format!(
                "storage helper {} not listening on {} within {limit:?}",
                launch.program.display(),
                launch.socket.display()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Starts the helper as the spec says (its settings in `CRSH_*`
/// variables), detached: its own session, stdin/stdout/stderr on
/// /dev/null and no other descriptor of this process, so it outlives the
/// compile and no build tool waits for it.
fn start(launch: &Launch) -> Result<Child, RemoteError> {
    let mut cmd = Command::new(launch.program);
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k.starts_with("CRSH_")) {
            cmd.env_remove(k);
        }
    }
    // Whole seconds; a non-zero timeout under a second is one second, not
    // the 0 that would keep the helper up for ever.
    let idle = match launch.idle.as_secs() {
        0 if !launch.idle.is_zero() => 1,
        s => s,
    };
    cmd.env("CRSH_IPC_ENDPOINT", launch.socket)
        .env("CRSH_URL", launch.url)
        .env("CRSH_IDLE_TIMEOUT", idle.to_string())
        .env("CRSH_NUM_ATTR", launch.attrs.len().to_string());
    for (i, (k, v)) in launch.attrs.iter().enumerate() {
        cmd.env(format!("CRSH_ATTR_KEY_{i}"), k)
            .env(format!("CRSH_ATTR_VALUE_{i}"), v);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls (setsid, close_range, fcntl)
    // run between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            detach_descriptors();
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| {
        RemoteError::Other(format!(
            "starting storage helper {}: {e}",
            launch.program.display()
        ))
    })
}

/// Marks every descriptor above stderr close-on-exec: a build tool's
/// pipes (make's jobserver, ninja's output) must not stay open in a
/// helper that lives on. Closing them here would also close the pipe the
/// standard library reports a failed exec through.
fn detach_descriptors() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range and fcntl only change descriptor flags.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) == 0 {
            return;
        }
        for fd in 3..4096 {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// An exclusive `flock` on `<socket>.lock`, released when dropped or when
/// the process dies, so a killed compile never leaves it held.
struct SpawnLock {
    _file: fs::File,
}

impl SpawnLock {
    fn take(socket: &Path, limit: Duration) -> Result<SpawnLock, RemoteError> {
        let mut path = socket.as_os_str().to_owned();
        path.push(".lock");
        // Never through a symlink, never blocking on a FIFO; the directory
        // is the user's own, so any file there is.
        let file = crate::files::open_cache_node(Path::new(&path), true).map_err(|e| {
            RemoteError::Other(format!(
                "storage helper lock {}: {e}",
                Path::new(&path).display()
            ))
        })?;
        let end = Instant::now() + limit;
        loop {
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(SpawnLock { _file: file });
            }
            if Instant::now() >= end {
                return Err(RemoteError::Timeout(format!(
                    "storage helper lock {} held by another process for {limit:?}",
                    Path::new(&path).display()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}
