//! objcache: a fast, ccache-compatible compiler cache.
//!
//! Rooms: `config` (ccache.conf and `CCACHE_*`), `compiler` (finding the real
//! compiler, argument analysis), `hash` (the key), `store` (entries on disk),
//! `stats` (counters), `depfile` (`.d` files on a hit), `wrap` (one cached
//! compile) and `manage` (the cache-manager options).

pub mod compiler;
pub mod config;
pub mod depfile;
pub mod hash;
pub mod log;
pub mod manage;
pub mod paths;
pub mod remote;
pub mod stats;
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
