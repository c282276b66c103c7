//! The cache-specific configuration file, ccache's "primary" one: where
//! it is, in ccache 4.13's order, and writing a setting into it (`-o`,
//! `-M`, `-F`).

use std::path::PathBuf;

use super::locations::Places;
use super::{conf_file, Config, ConfigError, Origin};

/// What `CCACHE_DIR` (or `--dir`) says of the cache directory.
pub(super) enum DirEnv {
    Unset,
    /// Set but empty: the default places, whatever `cache_dir` the system
    /// configuration sets (as ccache's test suite `upgrade` has it).
    Empty,
    Set(PathBuf),
}

impl Config {
    /// Reads the cache-specific configuration file, ccache's primary one:
    /// the file `CCACHE_CONFIGPATH` names, else the one in `CCACHE_DIR`,
    /// else the one in the system configuration's `cache_dir`, else
    /// objcache's former default file while it exists, else ccache's
    /// user-level file (`Places::ccache_config`).
    pub(super) fn read_primary(
        &mut self,
        config_path_env: Option<PathBuf>,
        dir_env: &DirEnv,
        places: &Places,
        errors: &mut Vec<ConfigError>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) {
        // Set there and not empty: `cache_dir =` asks for the default.
        let system_cache_dir = matches!(dir_env, DirEnv::Unset)
            && self.origin_of("cache_dir") != &Origin::Default
            && !self.cache_dir.as_os_str().is_empty();
        let primary = if let Some(p) = config_path_env {
            p
        } else if let DirEnv::Set(dir) = dir_env {
            dir.join("ccache.conf")
        } else if system_cache_dir {
            self.cache_dir.join("ccache.conf")
        } else if let Some(former) = places
            .former_config()
            .filter(|p| self.read_file(p, errors, lookup))
        {
            // Read already: it exists.
            self.primary_config_path = former;
            return;
        } else if let Some(path) = places.ccache_config() {
            path
        } else if let Some(dir) = places.cache_dir() {
            // No home directory, but XDG_CACHE_HOME: the cache dir's file,
            // as with CCACHE_DIR.
            dir.join("ccache.conf")
        } else {
            PathBuf::new()
        };
        if !primary.as_os_str().is_empty() {
            self.read_file(&primary, errors, lookup);
        }
        self.primary_config_path = primary;
    }

    /// Writes `key = value` into the primary configuration file (`-o`,
    /// `-M`, `-F`).
    pub fn write_primary_setting(&self, key: &str, value: &str) -> std::io::Result<()> {
        conf_file::write_setting(&self.primary_config_path, key, value)
    }
}
