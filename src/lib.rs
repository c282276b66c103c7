//! objcache: a fast, ccache-compatible compiler cache.
//!
//! Rooms, each depending only on those listed before it:
//! - `clock`, `key` (cache keys and the hasher), `log`, `paths`: leaves;
//! - `config` (ccache.conf and `CCACHE_*`), `stats` (counters);
//! - `compiler` (finding the real compiler, argument analysis), `depfile`
//!   (`.d` files on a hit);
//! - `store` (entries on disk, cleanup), `remote` (remote backends);
//! - `hash` (what goes into the keys, direct mode's include records);
//! - `storage` (the local store and the remotes behind one policy);
//! - `wrap` (one cached compile) and `manage` (the cache-manager options).

pub mod clock;
pub mod compiler;
pub mod config;
pub mod depfile;
pub mod hash;
pub mod key;
pub mod log;
pub mod manage;
pub mod paths;
pub mod remote;
pub mod stats;
pub mod storage;
pub mod store;
pub mod wrap;

use std::ffi::OsString;
use std::path::Path;

/// Decides between the three ways objcache is called: as a masquerading
/// symlink (`gcc` → objcache), as a prefix (`objcache gcc …`), or as the
/// cache manager (`objcache -s`).
pub fn main_with_args(argv: Vec<OsString>) -> i32 {
    let mut argv = argv.into_iter();
    let argv0 = argv.next().unwrap_or_default();
    let rest: Vec<OsString> = argv.collect();
    let invoked_as = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !invoked_as.starts_with("objcache") && !invoked_as.is_empty() {
        return wrap::run(&invoked_as, rest);
    }
    match rest.first().map(|a| a.to_string_lossy().into_owned()) {
        None => {
            eprintln!(
                "Usage:\n    objcache [OPTIONS]\n    objcache COMPILER [COMPILER OPTIONS]\n\nRun objcache --help for the options."
            );
            2
        }
        Some(first) if first.starts_with('-') => manage::run(rest),
        Some(first) => wrap::run(&first, rest[1..].to_vec()),
    }
}
