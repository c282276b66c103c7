//! Configuration with ccache's sources and precedence:
//! built-in defaults < system config < primary config (`$CCACHE_DIR/ccache.conf`
//! or `CCACHE_CONFIGPATH`) < a directory's ccache.conf (directory.rs) <
//! `CCACHE_*` environment variables < a call's `KEY=VALUE` settings.

mod choices;
mod conf_file;
mod directory;
pub mod key_docs;
pub mod keys;
mod locations;
mod primary;
pub mod size;
mod trust;
mod values;

use locations::{filesystem_size, system_config_path, Places};

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

pub use choices::{CompilerType, ResponseFormat, Sloppiness, SloppinessSet};
pub use conf_file::write_setting;
pub use keys::Config;
use keys::KEYS;
pub use trust::Refused;
use trust::Trust;

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

/// The errors a warning or an error message shows: the first few, each
/// cut to a line's length, and how many more there are. A config file of
/// 500,000 bad lines made a 48 MB warning on every compile, and a bad
/// value of 4 MiB a 4 MiB one.
pub fn shown_errors(errors: &[ConfigError]) -> Vec<String> {
    const SHOWN: usize = 3;
    let mut shown: Vec<String> = errors
        .iter()
        .take(SHOWN)
        .map(|e| shortened(e.to_string()))
        .collect();
    if errors.len() > SHOWN {
        shown.push(format!("and {} more", errors.len() - SHOWN));
    }
    shown
}

/// `text` cut to 300 bytes or so: its start and its end, which says why
/// (a file at a long path left nothing but path in its first 300).
fn shortened(text: String) -> String {
    const HALF: usize = 150;
    if text.len() <= 2 * HALF {
        return text;
    }
    let mut head = HALF;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - HALF;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}...{}", &text[..head], &text[tail..])
}

/// Where the configuration is read from; manager options `--dir` and
/// `--config-path` override the environment here.
#[derive(Default, Clone)]
pub struct Locations {
    pub cache_dir_override: Option<PathBuf>,
    pub config_path_override: Option<PathBuf>,
    /// A call's `KEY=VALUE` settings, which the caller applies over the
    /// configuration loaded; loading takes from them only what decides
    /// which directory's ccache.conf is read and what it may set
    /// (`ceiling_dirs`, `ceiling_markers`, `safe_dirs`).
    pub command_line: Vec<(String, String)>,
    /// Where the search for a directory's ccache.conf starts, instead of
    /// the working directory (tests).
    pub work_dir: Option<PathBuf>,
}

impl Default for Config {
    /// Every key at its default, no file or variable read.
    fn default() -> Config {
        let mut c = Config::defaults();
        c.set_default_cache_dir(&Places::default());
        c
    }
}

impl Config {
    fn defaults() -> Config {
        let mut c = Config::blank();
        c.origins = vec![Origin::Default; KEYS.len()];
        c.raw = Vec::with_capacity(KEYS.len());
        for k in KEYS {
            // Shown as written (most are): no copy of the default's text.
            let shown = (k.apply)(k.default, Some(&mut c));
            c.raw
                .push(shown.expect("built-in defaults are valid values"));
        }
        c
    }

    /// The default cache dir where no file or variable set one (or one set
    /// it empty); `-p` and `-k` show which.
    fn set_default_cache_dir(&mut self, places: &Places) {
        if self.cache_dir.as_os_str().is_empty() {
            self.cache_dir = places.cache_dir().unwrap_or_default();
        }
        let i = keys::lookup("cache_dir").unwrap();
        if self.raw[i].is_empty() {
            self.raw[i] = Cow::Owned(self.cache_dir.display().to_string());
        }
    }

    /// Loads the configuration. Bad lines are skipped and returned as errors, so
    /// a wrapped compile can warn and go on while the cache manager can refuse.
    pub fn load(locations: &Locations) -> (Config, Vec<ConfigError>) {
        // The prefix first: the other variables are not checked as text.
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter(|(k, _)| k.as_encoded_bytes().starts_with(b"CCACHE_"))
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let env_map: HashMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Self::load_from(locations, &env_map)
    }

    fn load_from(locations: &Locations, env: &HashMap<&str, &str>) -> (Config, Vec<ConfigError>) {
        let mut config = Config::defaults();
        let mut errors = Vec::new();
        // `$VAR` in a file: the variables given, then the rest of the
        // process environment (`load` gives only the `CCACHE_*` ones).
        let lookup = |name: &str| {
            env.get(name)
                .map(|v| v.to_string())
                .or_else(|| std::env::var(name).ok())
        };

        let config_path_env = locations
            .config_path_override
            .clone()
            .or_else(|| env.get("CCACHE_CONFIGPATH").map(PathBuf::from));
        // `CCACHE_DIR=` (set but empty) is no directory, as in ccache: it
        // asks for the default places, whatever cache_dir the system
        // config sets, and never means `./ccache.conf`.
        let dir_env = locations.cache_dir_override.clone().or_else(|| {
            let dir = env.get("CCACHE_DIR").filter(|d| !d.is_empty());
            dir.map(PathBuf::from)
        });
        let dir_env = match dir_env {
            Some(dir) => primary::DirEnv::Set(dir),
            None if env.contains_key("CCACHE_DIR") => primary::DirEnv::Empty,
            None => primary::DirEnv::Unset,
        };
        let places = Places::default();

        let only_file = config_path_env.is_some();
        if !only_file {
            let system = system_config_path();
            config.read_file(&system, &mut errors, &lookup);
            config.system_config_path = Some(system);
        }
        config.read_primary(config_path_env, &dir_env, &places, &mut errors, &lookup);
        // CCACHE_CONFIGPATH names the only file read.
        if !only_file {
            let cwd = locations
                .work_dir
                .clone()
                .or_else(|| std::env::current_dir().ok());
            if let Some(cwd) = cwd {
                let command_line = &locations.command_line;
                let search = directory::SearchKeys::of(&config, command_line, env, &lookup);
                config.read_directory_config(&cwd, &search, &mut errors, &lookup);
            }
        }

        config.apply_env(env, &mut errors);
        if let Some(dir) = &locations.cache_dir_override {
            let i = keys::lookup("cache_dir").unwrap();
            let _ = config.set(i, &dir.display().to_string(), Origin::Environment);
        }
        config.set_default_cache_dir(&places);
        if config.cache_dir.as_os_str().is_empty() {
            errors.push(ConfigError {
                file: None,
                line: 0,
                key: "cache_dir".into(),
                message: locations::no_home(),
            });
        }
        (config, errors)
    }

    /// Reads the configuration file `path`, if there is one; whether there
    /// is (a file that cannot be read is one, and an error).
    fn read_file(
        &mut self,
        path: &Path,
        errors: &mut Vec<ConfigError>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> bool {
        // The metadata of the file read, not of whatever the path names a
        // moment later: its owner decides which settings it may make.
        let (text, meta) = match conf_file::read_config(path) {
            Ok((bytes, meta)) => (String::from_utf8_lossy(&bytes).into_owned(), meta),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return false,
            Err(e) => {
                errors.push(ConfigError {
                    file: Some(path.to_path_buf()),
                    line: 0,
                    key: String::new(),
                    message: format!("cannot read: {e}"),
                });
                return true;
            }
        };
        self.parse_text_with(&text, path, &Trust::File(&meta), errors, lookup);
        use std::os::unix::fs::MetadataExt;
        self.files_read.push((meta.dev(), meta.ino()));
        true
    }

    /// Applies the `key = value` lines of a config file's `text`, read from
    /// `path` (which only locates errors and becomes the values' origin).
    /// Bad lines are skipped and pushed to `errors`. Public for the fuzz
    /// targets (tests/fuzz); `load` is the way in otherwise.
    pub fn parse_text(&mut self, text: &str, path: &Path, errors: &mut Vec<ConfigError>) {
        let lookup = |name: &str| std::env::var(name).ok();
        self.parse_text_with(text, path, &Trust::Always, errors, &lookup);
    }

    /// `parse_text`, with `$VAR`s looked up by `lookup`. `trust` decides
    /// whether the file may make unsafe settings.
    fn parse_text_with(
        &mut self,
        text: &str,
        path: &Path,
        trust: &Trust,
        errors: &mut Vec<ConfigError>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) {
        // Asked only at the first unsafe setting or variable: most files
        // have none.
        let mut distrust: Option<Option<String>> = None;
        for (n, line) in logical_lines(text) {
            let err = |key: &str, message: String| ConfigError {
                file: Some(path.to_path_buf()),
                line: n,
                key: key.to_string(),
                message,
            };
            let Some((key, value)) = line.split_once('=') else {
                // Not a word of it: such a line is often the rest of a
                // value above it (`remote_storage` continued without
                // indentation), so any word may be a password or token.
                errors.push(err(
                    "",
                    "expected \"key = value\" (the line is not shown: it may hold a secret)"
                        .to_string(),
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
            // Whether the value names a variable: a file someone else may
            // have written must not read the user's environment into any
            // setting (`namespace = $TOKEN` is stored in the header of
            // every entry, which that someone can read).
            let named = std::cell::Cell::new(false);
            let expanded = expand_value(i, value.trim(), &|name| {
                named.set(true);
                lookup(name)
            });
            let needs_trust =
                named.get() || expanded.as_ref().is_ok_and(|v| trust::is_unsafe(key, v));
            if needs_trust {
                if let Some(why) = distrust.get_or_insert_with(|| trust.distrust(path)) {
                    let why = why.clone();
                    self.refused.push(Refused {
                        file: path.to_path_buf(),
                        line: n,
                        key: key.to_string(),
                        why,
                        directory: trust.is_directory(),
                    });
                    continue;
                }
            }
            let result = expanded.and_then(|v| self.set(i, &v, Origin::File(path.to_path_buf())));
            if let Err(message) = result {
                errors.push(err(key, message));
            }
        }
    }

    fn apply_env(&mut self, env: &HashMap<&str, &str>, errors: &mut Vec<ConfigError>) {
        // By the name after `CCACHE_`: every call looks up each key's
        // variables, most of which are not set.
        // Sorted, for a binary search: a handful of names, looked up for
        // every key, where hashing each costs more.
        let mut by_var: Vec<(&str, &str)> = env
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("CCACHE_")?, *v)))
            .collect();
        if by_var.is_empty() {
            return;
        }
        by_var.sort_unstable();
        let get = |var: &str| {
            let at = by_var.binary_search_by(|(k, _)| (*k).cmp(var)).ok()?;
            Some(by_var[at].1)
        };
        for (i, k) in KEYS.iter().enumerate() {
            let name = || format!("CCACHE_{}", k.vars[0]);
            let mut value: Option<String> = k
                .vars
                .iter()
                .find_map(|var| get(var))
                .map(|v| v.to_string());
            if k.boolean {
                let negated = |var: &&str| var.strip_prefix("NO") == Some(k.vars[0]);
                if by_var.iter().map(|(k, _)| k).any(negated) {
                    value = Some("false".into());
                } else if let Some(v) = &value {
                    if matches!(
                        v.to_ascii_lowercase().as_str(),
                        "0" | "false" | "disable" | "no"
                    ) {
                        errors.push(ConfigError {
                            file: None,
                            line: 0,
                            key: name(),
                            message: format!(
                                "invalid boolean value \"{v}\" (set CCACHE_NO{} to negate)",
                                k.vars[0]
                            ),
                        });
                        continue;
                    }
                    value = Some("true".into());
                }
            }
            if let Some(v) = value {
                let expanded = expand_value(i, &v, &|name| {
                    env.get(name)
                        .map(|v| v.to_string())
                        .or_else(|| std::env::var(name).ok())
                });
                if let Err(message) = expanded.and_then(|v| self.set(i, &v, Origin::Environment)) {
                    errors.push(ConfigError {
                        file: None,
                        line: 0,
                        key: name(),
                        message,
                    });
                }
            }
        }
    }

    /// Validates and stores one value, and what `-p`/`-k` print for it.
    fn set(&mut self, index: usize, value: &str, origin: Origin) -> Result<(), String> {
        self.raw[index] = Cow::Owned((KEYS[index].apply)(value, Some(self))?.into_owned());
        self.origins[index] = origin;
        Ok(())
    }

    /// What sets `key` here over the primary configuration file, which
    /// `-o` writes: a `CCACHE_*` variable or the directory's ccache.conf;
    /// `None` when the value written there is the one that applies.
    pub fn overrides_primary(&self, key: &str) -> Option<String> {
        let i = keys::lookup(key)?;
        match &self.origins[i] {
            Origin::Environment => {
                let vars = KEYS[i].vars.iter().map(|v| format!("CCACHE_{v}"));
                let mut set = vars.filter(|v| std::env::var_os(v).is_some());
                // Else `--dir`, the one other setting shown as the
                // environment's.
                Some(set.next().unwrap_or_else(|| "--dir".into()))
            }
            Origin::File(p) if Some(p) == self.directory_config_path.as_ref() => {
                Some(p.display().to_string())
            }
            _ => None,
        }
    }

    pub fn origin_of(&self, name: &str) -> &Origin {
        &self.origins[keys::lookup(name).expect("known key")]
    }

    /// The value as `-k` prints it (credentials masked, as in `-p`), or
    /// `None` for an unknown key.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        let i = keys::lookup(name)?;
        Some(Cow::Borrowed(&self.raw[i]))
    }

    /// `(origin) key = value` lines for `-p`, of every key that has an
    /// effect; credentials are masked.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, Cow<'_, str>, &Origin)> {
        KEYS.iter()
            .enumerate()
            .filter(|(_, k)| k.effective)
            .map(|(i, k)| {
                let value = Cow::Borrowed(&*self.raw[i]);
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

    /// The size limit in whole KiB, as cleanups count sizes (0 = none):
    /// rounded down, so the cache never grows past it, but a limit under
    /// 1 KiB is 1 KiB, not 0: it keeps nothing (an entry takes at least one
    /// block of the file system), as in ccache, instead of meaning no limit.
    pub fn max_size_kib(&self) -> u64 {
        match self.max_size_bytes() {
            0 => 0,
            bytes => (bytes / 1024).max(1),
        }
    }

    /// The units sizes are shown in: those `max_size` was written in.
    pub fn size_units(&self) -> size::SizeUnits {
        size::SizeUnits::of(&self.raw[keys::lookup("max_size").unwrap()])
    }

    /// What is wrong with a configured `temporary_dir`, for the log. objcache
    /// keeps what ccache writes there (the preprocessor's output, the
    /// compiler's stdout and stderr) in memory and writes every other temp
    /// file beside its target, for the rename; so the directory is never
    /// created or written, and an unusable one changes nothing.
    pub fn temporary_dir_problem(&self) -> Option<String> {
        let dir = self.temporary_dir.as_ref()?;
        let problem = match fs::metadata(dir) {
            Ok(m) if m.is_dir() => return None,
            Ok(_) => "not a directory".to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => e.to_string(),
        };
        Some(format!(
            "temporary_dir {}: {problem} (unused: objcache keeps temporary data in memory)",
            dir.display()
        ))
    }

    /// Sets the process's file creation mask to `umask`, if configured:
    /// for compiles and manager commands alike, so a cache shared by a
    /// group stays writable whoever created a directory or stats file.
    /// The user's mask is kept for the compiler and a hit's outputs
    /// (`files::UserUmask`).
    pub fn apply_umask(&self) {
        if let Some(mask) = self.umask {
            crate::files::set_cache_umask(mask);
        }
    }
}

/// Checks a value without loading anything, for `-o KEY=VALUE`. The value
/// is written as given; its `$VAR`s are expanded when it is read.
pub fn validate(key: &str, value: &str) -> Result<(), String> {
    let i = keys::lookup(key).ok_or_else(|| format!("unknown configuration option \"{key}\""))?;
    let value = expand_value(i, value, &|name| std::env::var(name).ok())?;
    (KEYS[i].apply)(&value, None).map(drop)
}

/// `KEY=VALUE` as a message about it may show it: a value that may hold
/// secrets masked as `-p` masks it, and none at all for an unknown key (a
/// misspelt `remote_storage` is one).
pub fn shown_setting(key: &str, value: &str) -> String {
    match keys::lookup(key) {
        Some(i) if KEYS[i].secret => format!("{key}={}", crate::remote::mask_config_value(value)),
        Some(_) => format!("{key}={value}"),
        None => format!("{key}=…"),
    }
}

/// `expand_variables` for the value of `KEYS[index]`. For a key whose
/// value may hold secrets the name of a variable that is not set is left
/// out: in `redis://:pa$word@h` it is the end of a password.
fn expand_value(
    index: usize,
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    expand_variables(value, lookup).map_err(|e| {
        if KEYS[index].secret {
            "a $VARIABLE in the value is not set (its name is not shown: it may be part of \
             a password; write $$ for a literal $)"
                .to_string()
        } else {
            e
        }
    })
}

/// A config file's `key = value` lines with their line numbers, comments
/// and blank lines left out. As in ccache 4.13, a line that starts with a
/// space or tab continues the value above it, joined with one space;
/// comments and blank lines between continuation lines are skipped.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    // Whether an indented line continues the last line of `out`.
    let mut open = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let indented = raw.starts_with([' ', '\t']);
        if line.is_empty() || (line.starts_with('#') && indented) {
            continue;
        }
        if line.starts_with('#') {
            open = false;
            continue;
        }
        match out.last_mut() {
            Some((_, value)) if indented && open => {
                value.push(' ');
                value.push_str(line);
            }
            _ => {
                out.push((n + 1, line.to_string()));
                open = true;
            }
        }
    }
    out
}

/// Expands `$VAR` and `${VAR}` with `lookup`, and `$$` to `$`, as ccache
/// does in every configuration value. A variable that is not set is an
/// error (as in ccache); a `$` before anything else stays as written.
pub fn expand_variables(
    value: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    if !value.contains('$') {
        return Ok(value.to_string());
    }
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| "syntax error: missing '}' after \"${\"".to_string())?;
            (&braced[..end], &braced[end + 1..])
        } else if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        } else {
            let end = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
            if end == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            (&after[..end], &after[end..])
        };
        let expanded =
            lookup(name).ok_or_else(|| format!("environment variable \"{name}\" not set"))?;
        out.push_str(&expanded);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests;
