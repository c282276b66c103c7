//! Configuration with ccache's sources and precedence:
//! built-in defaults < system config < primary config (`$CCACHE_DIR/ccache.conf`
//! or `CCACHE_CONFIGPATH`) < `CCACHE_*` environment variables.

pub mod keys;
mod locations;
pub mod size;

use locations::{
    default_cache_dir, default_config_dir, expand_home, filesystem_size, system_config_path,
};

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use keys::{Kind, KEYS};

/// Where a key's value came from, as `-p` reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Environment,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => write!(f, "default"),
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Environment => write!(f, "environment"),
        }
    }
}

/// A configuration problem, located as precisely as we can.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) if self.line > 0 => write!(f, "{}:{}: ", file.display(), self.line)?,
            Some(file) => write!(f, "{}: ", file.display())?,
            None => write!(f, "environment: ")?,
        }
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Where the configuration is read from; manager options `--dir` and
/// `--config-path` override the environment here.
#[derive(Default, Clone)]
pub struct Locations {
    pub cache_dir_override: Option<PathBuf>,
    pub config_path_override: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Config {
    raw: Vec<String>,
    origins: Vec<Origin>,
    /// The file `-o` writes to and `-s` reports.
    pub primary_config_path: PathBuf,
    /// `None` when `CCACHE_CONFIGPATH` disables the system config.
    pub system_config_path: Option<PathBuf>,

    pub base_dir: Option<crate::paths::BaseDirs>,
    /// `absolute_paths_in_stderr`: diagnostics name this checkout's absolute
    /// paths instead of the base_dir-relative ones the compiler was given.
    pub absolute_paths_in_stderr: bool,
    pub cache_dir: PathBuf,
    pub compiler: String,
    pub compiler_check: String,
    pub compression: bool,
    pub compression_level: i32,
    pub debug: bool,
    pub depend_mode: bool,
    pub direct_mode: bool,
    pub disable: bool,
    /// `extra_files_to_hash`: files whose content goes into every key.
    pub extra_files_to_hash: Vec<String>,
    pub file_clone: bool,
    pub hard_link: bool,
    pub hash_dir: bool,
    pub limit_multiple: f64,
    pub log_file: Option<PathBuf>,
    pub max_age_secs: Option<u64>,
    pub max_files: u64,
    /// Bytes; see `max_size_bytes` for the `N%` form.
    pub max_size: u64,
    /// `max_size = 20%`: a share of the file system holding the cache.
    pub max_size_percent: Option<f64>,
    pub namespace: String,
    pub path: String,
    pub prefix_command: String,
    pub read_only: bool,
    pub recache: bool,
    pub remote_only: bool,
    pub remote_storage: String,
    pub reshare: bool,
    pub run_second_cpp: bool,
    pub sloppiness: Vec<String>,
    pub stats: bool,
    pub temporary_dir: Option<PathBuf>,
    pub umask: Option<u32>,
}

impl Default for Config {
    /// Every key at its default, no file or variable read.
    fn default() -> Config {
        Config::defaults()
    }
}

impl Config {
    fn defaults() -> Config {
        let mut c = Config {
            raw: vec![String::new(); KEYS.len()],
            origins: vec![Origin::Default; KEYS.len()],
            primary_config_path: PathBuf::new(),
            system_config_path: None,
            base_dir: None,
            absolute_paths_in_stderr: false,
            cache_dir: default_cache_dir(),
            compiler: String::new(),
            compiler_check: String::new(),
            compression: true,
            compression_level: 0,
            debug: false,
            depend_mode: false,
            direct_mode: true,
            disable: false,
            extra_files_to_hash: Vec::new(),
            file_clone: false,
            hard_link: false,
            hash_dir: true,
            limit_multiple: 0.9,
            log_file: None,
            max_age_secs: None,
            max_files: 0,
            max_size: 0,
            max_size_percent: None,
            namespace: String::new(),
            path: String::new(),
            prefix_command: String::new(),
            read_only: false,
            recache: false,
            remote_only: false,
            remote_storage: String::new(),
            reshare: false,
            run_second_cpp: true,
            sloppiness: Vec::new(),
            stats: true,
            temporary_dir: None,
            umask: None,
        };
        for (i, k) in KEYS.iter().enumerate() {
            c.apply(i, k.default)
                .expect("built-in defaults are valid values");
        }
        c.raw[keys::lookup("cache_dir").unwrap()] = c.cache_dir.display().to_string();
        c
    }

    /// Loads the configuration. Bad lines are skipped and returned as errors, so
    /// a wrapped compile can warn and go on while the cache manager can refuse.
    pub fn load(locations: &Locations) -> (Config, Vec<ConfigError>) {
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with("CCACHE_"))
            .collect();
        let env_map: HashMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self::load_from(locations, &env_map)
    }

    fn load_from(locations: &Locations, env: &HashMap<&str, &str>) -> (Config, Vec<ConfigError>) {
        let mut config = Config::defaults();
        let mut errors = Vec::new();

        let config_path_env = locations
            .config_path_override
            .clone()
            .or_else(|| env.get("CCACHE_CONFIGPATH").map(PathBuf::from));
        let dir_env = locations
            .cache_dir_override
            .clone()
            .or_else(|| env.get("CCACHE_DIR").map(PathBuf::from));

        if config_path_env.is_none() {
            let system = system_config_path();
            config.read_file(&system, &mut errors);
            config.system_config_path = Some(system);
        }
        let primary = if let Some(p) = config_path_env {
            p
        } else if let Some(dir) = &dir_env {
            dir.join("ccache.conf")
        } else if config.origin_of("cache_dir") != &Origin::Default {
            config.cache_dir.join("ccache.conf")
        } else {
            default_config_dir().join("ccache.conf")
        };
        config.read_file(&primary, &mut errors);
        config.primary_config_path = primary;

        config.apply_env(env, &mut errors);
        if let Some(dir) = &locations.cache_dir_override {
            let i = keys::lookup("cache_dir").unwrap();
            let _ = config.set(i, &dir.display().to_string(), Origin::Environment);
        }
        (config, errors)
    }

    fn read_file(&mut self, path: &Path, errors: &mut Vec<ConfigError>) {
        let text = match fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return,
            Err(e) => {
                errors.push(ConfigError {
                    file: Some(path.to_path_buf()),
                    line: 0,
                    key: String::new(),
                    message: format!("cannot read: {e}"),
                });
                return;
            }
        };
        self.parse_text(&text, path, errors);
    }

    /// Applies the `key = value` lines of a config file's `text`, read from
    /// `path` (which only locates errors and becomes the values' origin).
    /// Bad lines are skipped and pushed to `errors`. Public for the fuzz
    /// targets (tests/fuzz); `load` is the way in otherwise.
    pub fn parse_text(&mut self, text: &str, path: &Path, errors: &mut Vec<ConfigError>) {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |key: &str, message: String| ConfigError {
                file: Some(path.to_path_buf()),
                line: n + 1,
                key: key.to_string(),
                message,
            };
            let Some((key, value)) = line.split_once('=') else {
                // Only the first word: the rest may be a password. The word
                // itself may be a URL with one (a remote_storage value
                // continued on the next line), so it is masked too.
                let first =
                    crate::remote::mask_secrets(line.split_whitespace().next().unwrap_or_default());
                errors.push(err(
                    "",
                    format!("expected \"key = value\", found a line starting \"{first}\""),
                ));
                continue;
            };
            let key = match key.trim() {
                // ccache's old name, still accepted in files.
                "secondary_storage" => "remote_storage",
                k => k,
            };
            let Some(i) = keys::lookup(key) else {
                // As ccache does: a key from a newer (or other) version is
                // no reason to stop caching.
                continue;
            };
            if let Err(message) = self.set(i, value.trim(), Origin::File(path.to_path_buf())) {
                errors.push(err(key, message));
            }
        }
    }

    fn apply_env(&mut self, env: &HashMap<&str, &str>, errors: &mut Vec<ConfigError>) {
        for (i, k) in KEYS.iter().enumerate() {
            let name = format!("CCACHE_{}", k.env);
            let mut value: Option<String> = env.get(name.as_str()).map(|v| v.to_string());
            if k.name == "compiler" && value.is_none() {
                value = env.get("CCACHE_CC").map(|v| v.to_string());
            }
            if k.name == "remote_storage" && value.is_none() {
                value = env.get("CCACHE_SECONDARY_STORAGE").map(|v| v.to_string());
            }
            if k.kind == Kind::Bool {
                if env.contains_key(format!("CCACHE_NO{}", k.env).as_str()) {
                    value = Some("false".into());
                } else if let Some(v) = &value {
                    if matches!(
                        v.to_ascii_lowercase().as_str(),
                        "0" | "false" | "disable" | "no"
                    ) {
                        errors.push(ConfigError {
                            file: None,
                            line: 0,
                            key: name.clone(),
                            message: format!(
                                "invalid boolean value \"{v}\" (set CCACHE_NO{} to negate)",
                                k.env
                            ),
                        });
                        continue;
                    }
                    value = Some("true".into());
                }
            }
            if let Some(v) = value {
                if let Err(message) = self.set(i, &v, Origin::Environment) {
                    errors.push(ConfigError {
                        file: None,
                        line: 0,
                        key: name,
                        message,
                    });
                }
            }
        }
    }

    /// Validates and stores one value; the raw text is what `-p`/`-k` print.
    fn set(&mut self, index: usize, value: &str, origin: Origin) -> Result<(), String> {
        self.apply(index, value)?;
        self.origins[index] = origin;
        Ok(())
    }

    fn apply(&mut self, index: usize, value: &str) -> Result<(), String> {
        let def = &KEYS[index];
        let boolean = || match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!(
                "invalid boolean \"{value}\" (expected true or false)"
            )),
        };
        let normalized = match def.kind {
            Kind::Bool => boolean()?.to_string(),
            Kind::Size => {
                if let Some(p) = value.strip_suffix('%') {
                    p.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|p| *p > 0.0 && *p <= 100.0)
                        .ok_or_else(|| format!("invalid share \"{value}\" (use e.g. 20%)"))?;
                    value.trim().to_string()
                } else {
                    // Shown normalised, as ccache shows it (`3000M` → `3.0G`).
                    size::format_parsable(size::parse_size(value)?)
                }
            }
            Kind::Uint => value
                .parse::<u64>()
                .map_err(|_| format!("invalid unsigned integer \"{value}\""))?
                .to_string(),
            Kind::Float => {
                let f: f64 = value
                    .parse()
                    .map_err(|_| format!("invalid number \"{value}\""))?;
                if !(0.0..=1.0).contains(&f) {
                    return Err(format!("\"{value}\" is not between 0.0 and 1.0"));
                }
                value.to_string()
            }
            Kind::Octal => {
                if !value.is_empty() {
                    u32::from_str_radix(value, 8)
                        .map_err(|_| format!("invalid octal umask \"{value}\""))?;
                }
                value.to_string()
            }
            Kind::Str => value.to_string(),
        };
        match def.name {
            "absolute_paths_in_stderr" => self.absolute_paths_in_stderr = boolean()?,
            "base_dir" => self.base_dir = crate::paths::BaseDirs::parse(value)?,
            "cache_dir" => {
                self.cache_dir = if value.is_empty() {
                    default_cache_dir()
                } else {
                    expand_home(value)
                }
            }
            "compiler" => self.compiler = value.to_string(),
            "compiler_check" => self.compiler_check = value.to_string(),
            "compression" => self.compression = boolean()?,
            "compression_level" => {
                self.compression_level =
                    value
                        .parse()
                        .ok()
                        .filter(|l| (-131072..=22).contains(l))
                        .ok_or_else(|| format!("invalid compression level \"{value}\""))?
            }
            "debug" => self.debug = boolean()?,
            "depend_mode" => self.depend_mode = boolean()?,
            "direct_mode" => self.direct_mode = boolean()?,
            "disable" => self.disable = boolean()?,
            "file_clone" => self.file_clone = boolean()?,
            "hard_link" => self.hard_link = boolean()?,
            "hash_dir" => self.hash_dir = boolean()?,
            "limit_multiple" => self.limit_multiple = value.parse().unwrap_or(0.9),
            "log_file" => self.log_file = (!value.is_empty()).then(|| expand_home(value)),
            "max_files" => self.max_files = value.parse().unwrap_or(0),
            "extra_files_to_hash" => {
                self.extra_files_to_hash = value
                    .split(':')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "max_age" => {
                self.max_age_secs = if value.is_empty() || value == "0" {
                    None
                } else {
                    Some(crate::store::cleanup::parse_age(value)?)
                }
            }
            "max_size" => match value.strip_suffix('%') {
                Some(p) => {
                    self.max_size_percent = p.trim().parse().ok();
                    self.max_size = 0;
                }
                None => {
                    self.max_size_percent = None;
                    self.max_size = size::parse_size(value)?;
                }
            },
            "namespace" => self.namespace = value.to_string(),
            "path" => self.path = value.to_string(),
            "prefix_command" => self.prefix_command = value.to_string(),
            "read_only" => self.read_only = boolean()?,
            "recache" => self.recache = boolean()?,
            "remote_only" => self.remote_only = boolean()?,
            "remote_storage" => {
                crate::remote::parse(value)?;
                self.remote_storage = value.to_string();
            }
            "reshare" => self.reshare = boolean()?,
            "run_second_cpp" => self.run_second_cpp = boolean()?,
            "sloppiness" => {
                self.sloppiness = value
                    .split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            "stats" => self.stats = boolean()?,
            "temporary_dir" => self.temporary_dir = (!value.is_empty()).then(|| expand_home(value)),
            "umask" => self.umask = u32::from_str_radix(value, 8).ok(),
            _ => {}
        }
        self.raw[index] = normalized;
        Ok(())
    }

    pub fn origin_of(&self, name: &str) -> &Origin {
        &self.origins[keys::lookup(name).expect("known key")]
    }

    /// The value as `-k` prints it (credentials masked, as in `-p`), or
    /// `None` for an unknown key.
    pub fn get(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        let i = keys::lookup(name)?;
        Some(if KEYS[i].name == "remote_storage" {
            std::borrow::Cow::Owned(crate::remote::mask_config_value(&self.raw[i]))
        } else {
            std::borrow::Cow::Borrowed(self.raw[i].as_str())
        })
    }

    /// `(origin) key = value` lines for `-p`; credentials are masked.
    pub fn entries(
        &self,
    ) -> impl Iterator<Item = (&'static str, std::borrow::Cow<'_, str>, &Origin)> {
        KEYS.iter().enumerate().map(|(i, k)| {
            let value = if k.name == "remote_storage" {
                std::borrow::Cow::Owned(crate::remote::mask_config_value(&self.raw[i]))
            } else {
                std::borrow::Cow::Borrowed(self.raw[i].as_str())
            };
            (k.name, value, &self.origins[i])
        })
    }

    /// The size limit in bytes (0 = none). `N%` is taken from the size of the
    /// file system that holds the cache, read now: runners' disks differ.
    pub fn max_size_bytes(&self) -> u64 {
        match self.max_size_percent {
            None => self.max_size,
            Some(p) => (filesystem_size(&self.cache_dir) as f64 * p / 100.0) as u64,
        }
    }

    /// Sets the process's file creation mask to `umask`, if configured:
    /// for compiles and manager commands alike, so a cache shared by a
    /// group stays writable whoever created a directory or stats file.
    pub fn apply_umask(&self) {
        if let Some(mask) = self.umask {
            // SAFETY: umask only changes this process's file creation mask.
            unsafe {
                libc::umask(mask as libc::mode_t);
            }
        }
    }

    pub fn has_sloppiness(&self, name: &str) -> bool {
        self.sloppiness.iter().any(|s| s == name)
    }
}

/// Checks a value without loading anything, for `-o KEY=VALUE`.
pub fn validate(key: &str, value: &str) -> Result<(), String> {
    let i = keys::lookup(key).ok_or_else(|| format!("unknown configuration option \"{key}\""))?;
    Config::defaults().apply(i, value)
}

/// Writes `key = value` into a config file, replacing an existing line for the key.
pub fn write_setting(path: &Path, key: &str, value: &str) -> std::io::Result<()> {
    // A config kept elsewhere through a symlink (dotfiles) stays linked.
    let resolved = fs::canonicalize(path).ok();
    let path = resolved.as_deref().unwrap_or(path);
    let old = match fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut out = String::new();
    let mut replaced = false;
    for line in old.lines() {
        let is_key = line
            .split_once('=')
            .is_some_and(|(k, _)| k.trim() == key && !line.trim_start().starts_with('#'));
        if is_key && !replaced {
            out.push_str(&format!("{key} = {value}\n"));
            replaced = true;
        } else if !is_key {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        out.push_str(&format!("{key} = {value}\n"));
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    // The new file keeps the old one's mode and owner: a 0600 config with
    // a password must not become readable by everyone.
    let mut tmp = crate::store::temp_file_for(path)?;
    if let Ok(meta) = fs::metadata(path) {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        // Only root can give a file away; anyone else already owns it.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(meta.uid()), Some(meta.gid()));
    }
    std::io::Write::write_all(&mut tmp, out.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)], env: &[(&str, &str)]) -> (Config, Vec<ConfigError>, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            fs::write(dir.path().join(name), text).unwrap();
        }
        let path = dir.path().join("ccache.conf");
        let dir_s = dir.path().display().to_string();
        let mut env_map: HashMap<&str, &str> = env.iter().copied().collect();
        env_map.insert("CCACHE_DIR", &dir_s);
        let (c, e) = Config::load_from(&Locations::default(), &env_map);
        std::mem::forget(dir);
        (c, e, path)
    }

    #[test]
    fn file_then_environment_precedence() {
        let (c, e, path) = load(
            &[(
                "ccache.conf",
                "# comment\nmax_size = 10G\nhash_dir = false\n",
            )],
            &[("CCACHE_MAXSIZE", "2G")],
        );
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(c.max_size, 2_000_000_000);
        assert_eq!(c.origin_of("max_size"), &Origin::Environment);
        assert!(!c.hash_dir);
        assert_eq!(c.origin_of("hash_dir"), &Origin::File(path));
    }

    #[test]
    fn negated_booleans_and_errors() {
        let (c, e, _) = load(&[], &[("CCACHE_NOHASHDIR", "1"), ("CCACHE_DISABLE", "")]);
        assert!(e.is_empty());
        assert!(!c.hash_dir);
        assert!(c.disable);
        let (_, e, _) = load(&[], &[("CCACHE_READONLY", "false")]);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].key, "CCACHE_READONLY");
    }

    /// Found by the fuzzer (tests/fuzz, config_lines): a line without `=`
    /// (a remote_storage value continued on the next line) was quoted in
    /// the error with its URL's password.
    #[test]
    fn a_bad_line_never_quotes_a_password() {
        let (_, e, _) = load(
            &[(
                "ccache.conf",
                "remote_storage = http://h/c\n redis://:Sekr1t~Pw@cache:6379\0\n",
            )],
            &[],
        );
        assert_eq!(e.len(), 1, "{e:?}");
        let shown = e[0].to_string();
        assert!(!shown.contains("Sekr1t"), "{shown}");
        assert!(shown.contains("redis://:********@cache:6379"), "{shown}");
    }

    #[test]
    fn bad_lines_are_located() {
        let (c, e, path) = load(
            &[(
                "ccache.conf",
                "max_size = 1G\nmax_size = banana\nno equals\nfoo = 1\n",
            )],
            &[],
        );
        assert_eq!(
            c.max_size, 1_000_000_000,
            "bad line must not clobber the good one"
        );
        // An unknown key (line 4) is ignored, as ccache does.
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].line, e[0].key.as_str()), (2, "max_size"));
        assert_eq!(e[1].line, 3);
        assert!(e[0]
            .to_string()
            .starts_with(&format!("{}:2: max_size", path.display())));
    }
}
