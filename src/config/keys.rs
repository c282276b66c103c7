//! Every configuration key, defined once as a row of one table: its name in
//! `ccache.conf`, the `CCACHE_*` variables that set it, its default, the
//! parser that checks and converts its text, how `-p` and `-k` show it, and
//! the `Config` field(s) it sets. The `Config` struct, its defaults, file and
//! environment parsing, `-o` validation, `-p` and `-k` all come from here.

use std::borrow::Cow;
use std::path::PathBuf;

use super::values;
use super::Origin;

#[derive(Debug)]
pub struct KeyDef {
    pub name: &'static str,
    /// Variable names without the `CCACHE_` prefix; the first one set wins.
    pub vars: &'static [&'static str],
    pub default: &'static str,
    /// Parsed by `values::flag`: `CCACHE_NO<first var>` also sets it, to false.
    pub boolean: bool,
    /// Shown masked by `values::masked`: its value may hold passwords, so
    /// no message quotes any part of it unmasked.
    pub secret: bool,
    /// It sets a `Config` field. A key without one is accepted, so a
    /// ccache.conf keeps working, but `-p` does not list it.
    pub effective: bool,
    /// Parses `text`, stores the value in the config if there is one, and
    /// returns what `-p` shows (borrowed from `text` where it is `text`:
    /// the defaults are then shown without a copy each). `None` only
    /// checks, for `-o`.
    pub(super) apply: for<'t> fn(&'t str, Option<&mut Config>) -> Result<Cow<'t, str>, String>,
}

/// Whether a key's parser is `flag`, the one parser of boolean keys.
macro_rules! is_flag {
    (flag) => {
        true
    };
    ($parser:ident) => {
        false
    };
}

/// Whether a key's rendering is `masked`, the one rendering of values
/// that may hold secrets.
macro_rules! is_masked {
    (masked) => {
        true
    };
    ($show:ident) => {
        false
    };
}

/// Defines `Config` (the fields given first, then every field the keys
/// name, in table order), `Config::blank` and `KEYS`.
macro_rules! config_keys {
    (
        $(#[$attr:meta])*
        pub struct $config:ident {
            $($(#[$fattr:meta])* $fvis:vis $fname:ident: $fty:ty,)*
        }
        $(
            $key:literal: $($var:literal)|+, $default:literal, $parse:ident, $show:ident
                $(=> $($(#[$kattr:meta])* $field:ident: $ty:ty),+)?;
        )*
    ) => {
        $(#[$attr])*
        #[derive(Clone, Debug)]
        pub struct $config {
            $($(#[$fattr])* $fvis $fname: $fty,)*
            $($($($(#[$kattr])* pub $field: $ty,)+)?)*
        }

        impl $config {
            /// Every field at its type's default, not the keys': what
            /// `Config::defaults` starts from.
            pub(super) fn blank() -> Self {
                Self {
                    $($fname: Default::default(),)*
                    $($($($field: Default::default(),)+)?)*
                }
            }
        }

        /// Sorted by name, which is the order `-p` prints them in.
        pub const KEYS: &[KeyDef] = &[$(
            KeyDef {
                name: $key,
                vars: &[$($var),+],
                default: $default,
                boolean: is_flag!($parse),
                secret: is_masked!($show),
                effective: !<[&str]>::is_empty(&[$($(stringify!($field)),+)?]),
                apply: |text, _config| {
                    let value = values::$parse(text)?;
                    let shown = values::$show(text, &value);
                    $(if let Some(c) = _config {
                        ($(c.$field),+) = value;
                    })?
                    Ok(shown)
                },
            },
        )*];
    };
}

config_keys! {
    /// The configuration as loaded: every key's value in its field, and
    /// what `-p` reports about it.
    pub struct Config {
        /// What `-p`/`-k` print for each key, indexed like `KEYS`.
        pub(super) raw: Vec<Cow<'static, str>>,
        /// Where each key's value came from, indexed like `KEYS`.
        pub(super) origins: Vec<Origin>,
        /// The file `-o` writes to and `-s` reports.
        pub primary_config_path: PathBuf,
        /// `None` when `CCACHE_CONFIGPATH` disables the system config.
        pub system_config_path: Option<PathBuf>,
        /// Unsafe settings and values with variables left out: their file
        /// may be written by someone the user does not trust (trust.rs).
        pub refused: Vec<super::Refused>,
        /// The directory's ccache.conf read (directory.rs), if any.
        pub directory_config_path: Option<PathBuf>,
        /// Device and inode of each configuration file read, so that none
        /// is read twice under two names.
        pub(super) files_read: Vec<(u64, u64)>,
    }

    // name: CCACHE_ variable(s), default, parser, `-p` text => Config field(s);
    // a key without fields is accepted but changes nothing, and `-p` leaves
    // it out (docs/compatibility.md says why each one has no effect).
    "absolute_paths_in_stderr": "ABSSTDERR", "false", flag, canonical =>
        /// Diagnostics name this checkout's absolute paths instead of the
        /// base_dir-relative ones the compiler was given.
        absolute_paths_in_stderr: bool;
    "base_dir": "BASEDIR", "", base_dirs, as_given => base_dir: Option<crate::paths::BaseDirs>;
    "cache_dir": "DIR", "", cache_dir, as_given => cache_dir: PathBuf;
    "ceiling_dirs": "CEILING_DIRS", "", dir_list, as_given =>
        /// Where the search for a directory's ccache.conf stops (not
        /// searched); none given: the home directory.
        ceiling_dirs: Vec<PathBuf>;
    "ceiling_markers": "CEILING_MARKERS", ".git", marker_list, as_given =>
        /// Names whose presence in a directory makes it the last one
        /// searched for a directory's ccache.conf.
        ceiling_markers: Vec<String>;
    "compiler": "COMPILER" | "CC", "", text, as_given => compiler: String;
    "compiler_check": "COMPILERCHECK", "content", text, as_given => compiler_check: String;
    "compiler_type": "COMPILERTYPE", "auto", compiler_type, as_given =>
        /// `None`: guessed from the compiler's name (`auto`).
        compiler_type: Option<super::CompilerType>;
    "compression": "COMPRESS", "true", flag, canonical => compression: bool;
    "compression_level": "COMPRESSLEVEL", "0", compression_level, as_given =>
        compression_level: i32;
    // objcache never compiles a preprocessed file it wrote (see
    // docs/configuration.md), so there is no extension to choose.
    "cpp_extension": "EXTENSION", "", text, as_given;
    "debug": "DEBUG", "false", flag, canonical => debug: bool;
    "debug_dir": "DEBUGDIR", "", optional_path, as_given => debug_dir: Option<PathBuf>;
    "debug_level": "DEBUGLEVEL", "2", count, canonical => debug_level: u64;
    "depend_mode": "DEPEND", "false", flag, canonical => depend_mode: bool;
    "direct_mode": "DIRECT", "true", flag, canonical => direct_mode: bool;
    "disable": "DISABLE", "false", flag, canonical => disable: bool;
    "extra_files_to_hash": "EXTRAFILES", "", path_list, as_given =>
        /// Files whose content goes into every key.
        extra_files_to_hash: Vec<String>;
    "file_clone": "FILECLONE", "false", flag, canonical => file_clone: bool;
    "hard_link": "HARDLINK", "false", flag, canonical => hard_link: bool;
    "hash_dir": "HASHDIR", "true", flag, canonical => hash_dir: bool;
    "ignore_headers_in_manifest": "IGNOREHEADERS", "", path_list, as_given =>
        /// Headers (or directories of them) direct mode does not check.
        ignore_headers_in_manifest: Vec<String>;
    "ignore_options": "IGNOREOPTIONS", "", space_list, as_given =>
        /// Options left out of the keys; a trailing `*` matches a prefix.
        ignore_options: Vec<String>;
    "inode_cache": "INODECACHE", "true", flag, canonical =>
        /// Direct mode remembers header digests by file identity
        /// (`<cache_dir>/inode-memo`).
        inode_cache: bool;
    "keep_comments_cpp": "COMMENTS", "false", flag, canonical => keep_comments_cpp: bool;
    "libexec_dirs": "LIBEXEC_DIRS", "/usr/local/libexec/ccache:/usr/libexec/ccache", path_list,
        as_given =>
        /// Where storage helper programs (`ccache-storage-<scheme>`) are
        /// looked for first: ccache's libexec directory, for the usual
        /// install prefixes.
        libexec_dirs: Vec<String>;
    "limit_multiple": "LIMIT_MULTIPLE", "0.9", fraction, as_given => limit_multiple: f64;
    "log_file": "LOGFILE", "", optional_path, as_given => log_file: Option<PathBuf>;
    "max_age": "MAXAGE", "", age, as_given => max_age_secs: Option<u64>;
    "max_files": "MAXFILES", "0", count, canonical => max_files: u64;
    "max_size": "MAXSIZE", "5GiB", size_limit, size_text =>
        /// Bytes; see `max_size_bytes` for the `N%` form.
        max_size: u64,
        /// `max_size = 20%`: a share of the file system holding the cache.
        max_size_percent: Option<f64>;
    "msvc_dep_prefix": "MSVC_DEP_PREFIX", "Note: including file:", text, as_given;
    "namespace": "NAMESPACE", "", text, as_given => namespace: String;
    "path": "PATH", "", text, as_given => path: String;
    "pch_external_checksum": "PCH_EXTSUM", "false", flag, canonical =>
        /// A `FILE.sum` beside a precompiled header stands for its content.
        pch_external_checksum: bool;
    "prefix_command": "PREFIX", "", text, as_given => prefix_command: String;
    "prefix_command_cpp": "PREFIX_CPP", "", text, as_given => prefix_command_cpp: String;
    "read_only": "READONLY", "false", flag, canonical => read_only: bool;
    "read_only_direct": "READONLY_DIRECT", "false", flag, canonical => read_only_direct: bool;
    "recache": "RECACHE", "false", flag, canonical => recache: bool;
    "remote_only": "REMOTE_ONLY", "false", flag, canonical => remote_only: bool;
    // SECONDARY_STORAGE: ccache's old name, still accepted.
    "remote_storage": "REMOTE_STORAGE" | "SECONDARY_STORAGE", "", remote_storage, masked =>
        remote_storage: String;
    "reshare": "RESHARE", "false", flag, canonical => reshare: bool;
    "response_file_format": "RESPONSE_FILE_FORMAT", "auto", response_file_format, as_given =>
        /// `None`: as the compiler type says (`auto`).
        response_file_format: Option<super::ResponseFormat>;
    "run_second_cpp": "CPP2", "true", flag, canonical => run_second_cpp: bool;
    "safe_dirs": "SAFE_DIRS", "", safe_dir_list, as_given =>
        /// Directories whose ccache.conf may make unsafe settings: `*`,
        /// `/abs/*` (below it, any depth) or `/abs` (that one).
        safe_dirs: Vec<String>;
    "sloppiness": "SLOPPINESS", "", sloppiness, as_given => sloppiness: super::SloppinessSet;
    "stats": "STATS", "true", flag, canonical => stats: bool;
    "stats_log": "STATSLOG", "", optional_path, as_given => stats_log: Option<PathBuf>;
    "temporary_dir": "TEMPDIR", "", optional_path, as_given => temporary_dir: Option<PathBuf>;
    "umask": "UMASK", "", umask, as_given => umask: Option<u32>;
}

pub fn lookup(name: &str) -> Option<usize> {
    KEYS.binary_search_by(|k| k.name.cmp(name)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(KEYS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(
            lookup("max_size").map(|i| KEYS[i].vars),
            Some(&["MAXSIZE"][..])
        );
        assert_eq!(lookup("nonsense"), None);
    }

    #[test]
    fn every_default_is_valid() {
        for k in KEYS {
            assert!((k.apply)(k.default, None).is_ok(), "{}", k.name);
        }
    }

    /// Each of these has its reason in docs/compatibility.md; a new key
    /// without a field must be added here (and there) on purpose.
    #[test]
    fn the_keys_without_effect_are_the_documented_ones() {
        let inert: Vec<&str> = KEYS
            .iter()
            .filter(|k| !k.effective)
            .map(|k| k.name)
            .collect();
        assert_eq!(inert, ["cpp_extension", "msvc_dep_prefix"]);
    }

    /// `-p` lists only keys with an effect; the docs must not promise
    /// the others there.
    #[test]
    fn keys_without_effect_are_not_said_to_be_shown_by_p() {
        let doc = include_str!("../../docs/configuration.md");
        for k in KEYS.iter().filter(|k| !k.effective) {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` ", k.name)));
            if let Some(row) = row {
                assert!(!row.contains("shown by `-p`"), "{row}");
            }
            assert!(
                !doc.contains(&format!("`{}`) are accepted, shown by `-p`", k.name)),
                "{}",
                k.name
            );
        }
    }

    #[test]
    fn every_key_has_a_row_in_the_compatibility_table() {
        let doc = include_str!("../../docs/compatibility.md");
        for k in KEYS {
            let row = format!("| `{}` ", k.name);
            assert!(
                doc.contains(&row),
                "docs/compatibility.md has no row for {}",
                k.name
            );
        }
    }

    #[test]
    fn booleans_are_the_keys_parsed_by_flag() {
        let hash_dir = &KEYS[lookup("hash_dir").unwrap()];
        assert!(hash_dir.boolean);
        assert!(!KEYS[lookup("max_files").unwrap()].boolean);
        assert!((hash_dir.apply)("yes", None).is_err());
    }

    #[test]
    fn the_secret_keys_are_the_masked_ones() {
        let secret: Vec<&str> = KEYS.iter().filter(|k| k.secret).map(|k| k.name).collect();
        assert_eq!(secret, ["remote_storage"]);
    }
}
