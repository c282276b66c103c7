//! `umask`: the file creation mask of the cache's own files and
//! directories. It is the process's mask while objcache runs, so every
//! file of the cache gets it wherever it is created; the user's mask is
//! kept for what is the user's: the compiler objcache runs, and the
//! outputs a hit writes, get the permissions the compiler would give them.

use std::sync::atomic::{AtomicU32, Ordering};

/// The mask the process had before `set_cache_umask` replaced it
/// (`NOT_SET`: not replaced).
static USER_UMASK: AtomicU32 = AtomicU32::new(NOT_SET);
const NOT_SET: u32 = u32::MAX;

/// Makes `mask` the process's file creation mask, for the cache's files;
/// the user's mask is kept for `user_umask` and `UserUmask`.
pub fn set_cache_umask(mask: u32) {
    // SAFETY: umask only changes this process's file creation mask.
    let before = unsafe { libc::umask(mask as libc::mode_t) };
    // Set again (a second load of the configuration): the mask from before
    // the first is still the user's.
    let _ =
        USER_UMASK.compare_exchange(NOT_SET, before as u32, Ordering::Relaxed, Ordering::Relaxed);
}

/// The user's file creation mask, when the cache's replaced it: what a
/// command run for the user (the compiler) must get back.
pub fn user_umask() -> Option<u32> {
    Some(USER_UMASK.load(Ordering::Relaxed)).filter(|m| *m != NOT_SET)
}

/// While it lives, files are created with the user's mask: the outputs of
/// a hit. Nothing changes (no system call) when `umask` is not set.
pub struct UserUmask {
    cache: Option<libc::mode_t>,
}

impl UserUmask {
    pub fn enter() -> UserUmask {
        // SAFETY: umask only changes this process's file creation mask.
        let cache = user_umask().map(|user| unsafe { libc::umask(user as libc::mode_t) });
        UserUmask { cache }
    }
}

impl Drop for UserUmask {
    fn drop(&mut self) {
        if let Some(cache) = self.cache {
            // SAFETY: as above; the cache's mask is put back.
            unsafe { libc::umask(cache) };
        }
    }
}
