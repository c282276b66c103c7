//! The cache-specific configuration file, ccache's "primary" one: where
//! it is, ccache's user-level file read in place of objcache's own when
//! that does not exist, and writing a setting into it (`-o`, `-M`, `-F`).

use std::path::{Path, PathBuf};

use super::locations::{self, default_config_dir};
use super::{conf_file, keys, Config, ConfigError, Origin, CACHE_DIR_IN_CCACHES};

impl Config {
    /// Reads the cache-specific configuration file, ccache's primary one:
    /// the file `CCACHE_CONFIGPATH` names, else the one in `CCACHE_DIR`,
    /// else the one in the system configuration's `cache_dir`, else
    /// objcache's own in the user's configuration directory, or, when
    /// that one does not exist, ccache's (see `read_ccache_user_config`).
    pub(super) fn read_primary(
        &mut self,
        config_path_env: Option<PathBuf>,
        dir_env: Option<&Path>,
        errors: &mut Vec<ConfigError>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) {
        let mut own_default = false;
        let primary = if let Some(p) = config_path_env {
            p
        } else if let Some(dir) = dir_env {
            dir.join("ccache.conf")
        } else if self.origin_of("cache_dir") != &Origin::Default {
            self.cache_dir.join("ccache.conf")
        } else if let Some(dir) = default_config_dir() {
            own_default = true;
            dir.join("ccache.conf")
        } else if !self.cache_dir.as_os_str().is_empty() {
            // No home directory, but XDG_CACHE_HOME: the cache dir's file,
            // as with CCACHE_DIR.
            self.cache_dir.join("ccache.conf")
        } else {
            PathBuf::new()
        };
        let found = !primary.as_os_str().is_empty() && self.read_file(&primary, errors, lookup);
        self.primary_config_path = primary;
        if own_default && !found {
            self.read_ccache_user_config(errors, lookup);
        }
    }

    /// Reads ccache's user-level configuration file in place of objcache's
    /// own, which does not exist. A `cache_dir` it sets is ccache's cache,
    /// whose layout objcache must not write into: objcache keeps its own
    /// cache in the directory `objcache` inside it.
    fn read_ccache_user_config(
        &mut self,
        errors: &mut Vec<ConfigError>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) {
        let Some(path) = locations::ccache_user_config() else {
            return;
        };
        if !self.read_file(&path, errors, lookup) {
            return;
        }
        let set_here = self.origin_of("cache_dir") == &Origin::File(path.clone());
        if set_here && self.get("cache_dir").is_some_and(|v| !v.is_empty()) {
            let own = self.cache_dir.join(CACHE_DIR_IN_CCACHES);
            let i = keys::lookup("cache_dir").unwrap();
            let _ = self.set(i, &own.display().to_string(), Origin::File(path.clone()));
        }
        self.ccache_user_config = Some(path);
    }

    /// Writes `key = value` into the primary configuration file (`-o`,
    /// `-M`, `-F`). When that file is objcache's own and does not exist
    /// yet, the settings of ccache's user-level file read in its place
    /// are written into it first: it replaces that file from then on, and
    /// none of them may get lost. ccache's file is never written.
    pub fn write_primary_setting(&self, key: &str, value: &str) -> std::io::Result<()> {
        let mut seed = String::new();
        if let Some(ccache_file) = &self.ccache_user_config {
            if let Ok((text, _)) = conf_file::read_config(ccache_file) {
                seed = String::from_utf8_lossy(&text).into_owned();
            }
            // What it was not trusted to set must not become a setting of
            // the user's own file.
            for refused in self.refused.iter().filter(|r| &r.file == ccache_file) {
                seed = conf_file::without_setting(&seed, &refused.key);
                if refused.key == "remote_storage" {
                    seed = conf_file::without_setting(&seed, "secondary_storage");
                }
            }
            // Its cache_dir is ccache's cache; the value in effect is
            // objcache's own place in it.
            if self.origin_of("cache_dir") == &Origin::File(ccache_file.clone()) {
                let own = self.cache_dir.display().to_string();
                seed = conf_file::with_setting(&seed, "cache_dir", &own);
            }
        }
        conf_file::write_setting_over(&self.primary_config_path, seed.as_bytes(), key, value)
    }
}
