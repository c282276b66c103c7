//! Where configuration and cache live by default, and facts about the file
//! system that holds them.

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

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

pub(super) fn expand_home(value: &str) -> PathBuf {
    match value.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None => PathBuf::from(value),
    }
}

pub(super) fn default_cache_dir() -> PathBuf {
    match std::env::var_os("XDG_CACHE_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x).join("objcache"),
        _ => home().join(".cache").join("objcache"),
    }
}

pub(super) fn default_config_dir() -> PathBuf {
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x).join("objcache"),
        _ => home().join(".config").join("objcache"),
    }
}

/// `/etc/ccache.conf`, or the file `OBJCACHE_SYSTEM_CONFIG` names (an objcache
/// extension so tests and packagers can point elsewhere).
pub(super) fn system_config_path() -> PathBuf {
    std::env::var_os("OBJCACHE_SYSTEM_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ccache.conf"))
}
