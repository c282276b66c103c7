//! Where configuration and cache live by default, and facts about the file
//! system that holds them.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

/// Total bytes of the file system holding `path` (or its nearest existing ancestor).
pub(super) fn filesystem_size(path: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path;
    loop {
        if p.exists() {
            break;
        }
        match p.parent() {
            Some(parent) => p = parent,
            None => return 0,
        }
    }
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs fills the struct we own from a NUL-terminated path.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return 0;
        }
        st.f_blocks as u64 * st.f_frsize as u64
    }
}

/// The user's home directory: `HOME` when it is set and not empty, else
/// the home directory of the user's entry in the passwd database (as ccache
/// and most tools take it: `HOME` is missing under some init systems, cron
/// jobs and `env -i`); `None` when neither gives one.
pub(super) fn home() -> Option<PathBuf> {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Some(PathBuf::from(home)),
        _ => passwd_home(),
    }
}

/// The home directory of the real user's passwd entry.
fn passwd_home() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: getpwuid_r fills `entry` with pointers into `buf`, which
        // outlives every use of them below; a null `found` means no entry.
        unsafe {
            let mut entry: libc::passwd = std::mem::zeroed();
            let mut found: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwuid_r(
                libc::getuid(),
                &mut entry,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            );
            if rc == libc::ERANGE && buf.len() < 1 << 20 {
                buf.resize(buf.len() * 2, 0);
                continue;
            }
            if rc != 0 || found.is_null() || entry.pw_dir.is_null() {
                return None;
            }
            let dir = std::ffi::CStr::from_ptr(entry.pw_dir).to_bytes();
            return (!dir.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(dir)));
        }
    }
}

/// Why there is no home directory, for the error that asks for a cache dir.
pub(super) fn no_home() -> String {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    format!(
        "no home directory to put the cache in: HOME is unset and user {uid} has no home \
         directory in the passwd database; set CCACHE_DIR (or cache_dir in /etc/ccache.conf)"
    )
}

/// `~/REST` in the home directory.
pub(super) fn expand_home(value: &str) -> Result<PathBuf, String> {
    match value.strip_prefix("~/") {
        Some(rest) => match home() {
            Some(home) => Ok(home.join(rest)),
            None => Err(format!("cannot expand {value}: {}", no_home())),
        },
        None => Ok(PathBuf::from(value)),
    }
}

/// An XDG base directory variable: used only when it is an absolute path,
/// as the XDG Base Directory Specification asks (empty or relative: unset).
fn xdg_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// The default places of the cache and of the primary configuration file,
/// ccache 4.13's, with objcache's former defaults kept while they exist
/// (as ccache keeps its legacy `~/.ccache`). Each is found at most once
/// per load: the home directory may take a passwd lookup and the legacy
/// directory a `stat`, and both orders ask for them.
#[derive(Default)]
pub(super) struct Places {
    home: OnceCell<Option<PathBuf>>,
    legacy: OnceCell<Option<PathBuf>>,
}

impl Places {
    fn home(&self) -> Option<&Path> {
        self.home.get_or_init(home).as_deref()
    }

    /// ccache's legacy directory `~/.ccache`, when it exists: then both
    /// the cache and its configuration file are there.
    fn legacy(&self) -> Option<&Path> {
        let legacy = || Some(self.home()?.join(".ccache")).filter(|dir| dir.is_dir());
        self.legacy.get_or_init(legacy).as_deref()
    }

    /// `$VAR` when it is an absolute path, else `~/REST`.
    fn base(&self, var: &str, rest: &str) -> Option<PathBuf> {
        xdg_dir(var).or_else(|| Some(self.home()?.join(rest)))
    }

    /// objcache's former default configuration file,
    /// `$XDG_CONFIG_HOME/objcache/ccache.conf` or
    /// `~/.config/objcache/ccache.conf`: while it exists it stays the
    /// primary one, ahead of ccache's places.
    pub(super) fn former_config(&self) -> Option<PathBuf> {
        let dir = self.base("XDG_CONFIG_HOME", ".config")?;
        Some(dir.join("objcache").join("ccache.conf"))
    }

    /// ccache's user-level configuration file, the primary one when
    /// neither `CCACHE_CONFIGPATH`, `CCACHE_DIR`, the system
    /// configuration's `cache_dir` nor objcache's former file names
    /// another: `~/.ccache/ccache.conf` when `~/.ccache` exists, else
    /// `$XDG_CONFIG_HOME/ccache/ccache.conf`, else
    /// `~/.config/ccache/ccache.conf`; `None` without a home directory or
    /// `XDG_CONFIG_HOME`.
    pub(super) fn ccache_config(&self) -> Option<PathBuf> {
        if let Some(legacy) = self.legacy() {
            return Some(legacy.join("ccache.conf"));
        }
        let dir = self.base("XDG_CONFIG_HOME", ".config")?;
        Some(dir.join("ccache").join("ccache.conf"))
    }

    /// The cache directory when no `CCACHE_DIR` or `cache_dir` names one:
    /// objcache's former default (`$XDG_CACHE_HOME/objcache`, else
    /// `~/.cache/objcache`) while that directory exists, else ccache's:
    /// `~/.ccache` when it exists, else `$XDG_CACHE_HOME/ccache`, else
    /// `~/.cache/ccache`; `None` without a home directory or
    /// `XDG_CACHE_HOME`.
    pub(super) fn cache_dir(&self) -> Option<PathBuf> {
        let base = self.base("XDG_CACHE_HOME", ".cache");
        let former = base.as_ref().map(|b| b.join("objcache"));
        if let Some(former) = former.filter(|dir| dir.is_dir()) {
            return Some(former);
        }
        if let Some(legacy) = self.legacy() {
            return Some(legacy.to_path_buf());
        }
        Some(base?.join("ccache"))
    }
}

/// `/etc/ccache.conf`, or the file `OBJCACHE_SYSTEM_CONFIG` names (an objcache
/// extension so tests and packagers can point elsewhere).
pub(super) fn system_config_path() -> PathBuf {
    std::env::var_os("OBJCACHE_SYSTEM_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ccache.conf"))
}
