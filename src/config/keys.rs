//! Every configuration key, defined once as data: its name in `ccache.conf`,
//! the `CCACHE_*` variable that overrides it, its kind and its default.
//! Parsing, `-p`, `-k` and the environment lookup are all driven by this table.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Str,
    Size,
    Uint,
    Float,
    Octal,
}

#[derive(Debug)]
pub struct KeyDef {
    pub name: &'static str,
    /// Variable name without the `CCACHE_` prefix; booleans also accept `CCACHE_NO<env>`.
    pub env: &'static str,
    pub kind: Kind,
    pub default: &'static str,
}

const fn key(name: &'static str, env: &'static str, kind: Kind, default: &'static str) -> KeyDef {
    KeyDef {
        name,
        env,
        kind,
        default,
    }
}

use Kind::*;

/// Sorted by name, which is the order `-p` prints them in.
pub const KEYS: &[KeyDef] = &[
    key("absolute_paths_in_stderr", "ABSSTDERR", Bool, "false"),
    key("base_dir", "BASEDIR", Str, ""),
    key("cache_dir", "DIR", Str, ""),
    key("compiler", "COMPILER", Str, ""),
    key("compiler_check", "COMPILERCHECK", Str, "content"),
    key("compiler_type", "COMPILERTYPE", Str, "auto"),
    key("compression", "COMPRESS", Bool, "true"),
    key("compression_level", "COMPRESSLEVEL", Str, "0"),
    key("cpp_extension", "EXTENSION", Str, ""),
    key("debug", "DEBUG", Bool, "false"),
    key("debug_dir", "DEBUGDIR", Str, ""),
    key("depend_mode", "DEPEND", Bool, "false"),
    key("direct_mode", "DIRECT", Bool, "true"),
    key("disable", "DISABLE", Bool, "false"),
    key("extra_files_to_hash", "EXTRAFILES", Str, ""),
    key("file_clone", "FILECLONE", Bool, "false"),
    key("hard_link", "HARDLINK", Bool, "false"),
    key("hash_dir", "HASHDIR", Bool, "true"),
    key("ignore_headers_in_manifest", "IGNOREHEADERS", Str, ""),
    key("ignore_options", "IGNOREOPTIONS", Str, ""),
    key("inode_cache", "INODECACHE", Bool, "true"),
    key("keep_comments_cpp", "COMMENTS", Bool, "false"),
    key("limit_multiple", "LIMIT_MULTIPLE", Float, "0.9"),
    key("log_file", "LOGFILE", Str, ""),
    key("max_age", "MAXAGE", Str, ""),
    key("max_files", "MAXFILES", Uint, "0"),
    key("max_size", "MAXSIZE", Size, "5G"),
    key(
        "msvc_dep_prefix",
        "MSVC_DEP_PREFIX",
        Str,
        "Note: including file:",
    ),
    key("namespace", "NAMESPACE", Str, ""),
    key("path", "PATH", Str, ""),
    key("pch_external_checksum", "PCH_EXTSUM", Bool, "false"),
    key("prefix_command", "PREFIX", Str, ""),
    key("prefix_command_cpp", "PREFIX_CPP", Str, ""),
    key("read_only", "READONLY", Bool, "false"),
    key("read_only_direct", "READONLY_DIRECT", Bool, "false"),
    key("recache", "RECACHE", Bool, "false"),
    key("remote_only", "REMOTE_ONLY", Bool, "false"),
    key("remote_storage", "REMOTE_STORAGE", Str, ""),
    key("reshare", "RESHARE", Bool, "false"),
    key("run_second_cpp", "CPP2", Bool, "true"),
    key("sloppiness", "SLOPPINESS", Str, ""),
    key("stats", "STATS", Bool, "true"),
    key("stats_log", "STATSLOG", Str, ""),
    key("temporary_dir", "TEMPDIR", Str, ""),
    key("umask", "UMASK", Octal, ""),
];

pub fn lookup(name: &str) -> Option<usize> {
    KEYS.binary_search_by(|k| k.name.cmp(name)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(KEYS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(lookup("max_size").map(|i| KEYS[i].env), Some("MAXSIZE"));
        assert_eq!(lookup("nonsense"), None);
    }
}
