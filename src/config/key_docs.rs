//! One line on each configuration key, for the man page's CONFIGURATION
//! section; names, variables and defaults come from [`super::keys::KEYS`].
//! A test keeps the two tables row for row, so a key cannot be added to
//! one without the other. docs/configuration.md says more about each.

/// What the man page says about one key.
pub struct KeyDoc {
    pub name: &'static str,
    /// The default as the man page states it, where the table's is empty
    /// but objcache works one out (`cache_dir`) or empty needs words.
    pub default: Option<&'static str>,
    pub text: &'static str,
}

const fn doc(name: &'static str, text: &'static str) -> KeyDoc {
    KeyDoc {
        name,
        default: None,
        text,
    }
}

const fn computed(name: &'static str, default: &'static str, text: &'static str) -> KeyDoc {
    KeyDoc {
        name,
        default: Some(default),
        text,
    }
}

/// In the order of `KEYS` (sorted by name).
pub const KEY_DOCS: &[KeyDoc] = &[
    doc("absolute_paths_in_stderr", "Diagnostics name absolute paths where the compiler was given base_dir-relative ones."),
    computed("base_dir", "none", "Directories (separated by :) below which absolute paths are rewritten as relative ones before hashing, so that checkouts in different places share entries."),
    computed("cache_dir", "~/.ccache if it exists, else $XDG_CACHE_HOME/ccache, else ~/.cache/ccache", "Where the cache lives."),
    computed("ceiling_dirs", "the home directory", "Where the search for a directory's ccache.conf stops."),
    doc("ceiling_markers", "Names (separated by :) whose presence makes a directory the last one searched for a directory's ccache.conf."),
    computed("compiler", "none", "The compiler to run instead of the one named on the command line."),
    doc("compiler_check", "How the compiler's identity enters the key: content, mtime, none, string:VALUE, or commands separated by ; whose output is hashed (%compiler% is the compiler's path)."),
    doc("compiler_type", "The compiler's family: auto (guessed from its name), clang, gcc, icx, other; clang-cl, icl, icx-cl, msvc and nvcc run uncached."),
    doc("compression", "Compress the entries (zstd)."),
    doc("compression_level", "The zstd level; 0 is level 1 with results of 1 MiB or more kept uncompressed locally, negative levels are faster."),
    computed("cpp_extension", "none", "Accepted for ccache's configuration files; no effect."),
    doc("debug", "Write the inputs of each key and a log beside each object."),
    computed("debug_dir", "beside the object", "The directory the debug files go below."),
    doc("debug_level", "1 writes only the log of debug, 2 every debug file."),
    doc("depend_mode", "Take the headers from the compiler's .d file instead of running the preprocessor."),
    doc("direct_mode", "Look entries up by the source and its headers before running the preprocessor."),
    doc("disable", "Run the compiler uncached."),
    computed("extra_files_to_hash", "none", "Files (separated by :) whose content goes into every key."),
    doc("file_clone", "Keep objects as plain files and clone them (reflink) into place on a hit."),
    doc("hard_link", "Keep objects as plain files and hard-link them into place on a hit."),
    doc("hash_dir", "Hash the working directory when the object records it (with -g)."),
    computed("ignore_headers_in_manifest", "none", "Headers or directories (separated by :) direct mode does not record."),
    computed("ignore_options", "none", "Options (separated by spaces; a trailing * matches a prefix) left out of the keys."),
    doc("inode_cache", "Remember header digests by file identity (<cache_dir>/inode-memo) for lookups in other checkouts."),
    doc("keep_comments_cpp", "Keep comments in the preprocessed text (-C)."),
    doc("libexec_dirs", "Where storage helper programs (ccache-storage-SCHEME) are looked for first."),
    doc("limit_multiple", "A cleanup evicts down to this share of max_size and max_files."),
    computed("log_file", "none", "Append a line per step of each call to this file."),
    computed("max_age", "none", "Cleanups also remove entries unused for this long (14d, 12h)."),
    doc("max_files", "The most files the cache may hold; 0: no limit."),
    doc("max_size", "The most the cache may take on disk (10G, 500MiB, or N% of the file system); 0: no limit."),
    doc("msvc_dep_prefix", "Accepted for ccache's configuration files; no effect (MSVC is not cached)."),
    computed("namespace", "none", "A word hashed into every key, to keep caches of different builds apart in one directory."),
    computed("path", "PATH", "Where to look for the real compiler."),
    doc("pch_external_checksum", "A FILE.sum beside a precompiled header is hashed instead of the header."),
    computed("prefix_command", "none", "Commands (separated by spaces) run before the compiler, as distcc or icecc."),
    computed("prefix_command_cpp", "none", "As prefix_command, for the preprocessor runs only."),
    doc("read_only", "Serve hits, store nothing."),
    doc("read_only_direct", "As read_only, and serve only direct-mode hits."),
    doc("recache", "Compile even on a hit and overwrite the entry."),
    doc("remote_only", "Use the remote storage only, not the local cache."),
    computed("remote_storage", "none", "Remote storage backends (file:, http:, https:, redis:, rediss:, s3:, crsh:), separated by spaces."),
    doc("reshare", "Store results found in the local cache in the remote storage too."),
    doc("response_file_format", "How @file contents are split: auto, posix or windows."),
    doc("run_second_cpp", "Accepted; objcache always compiles the original source."),
    computed("safe_dirs", "none", "Directories whose ccache.conf may make unsafe settings."),
    computed("sloppiness", "none", "What the keys may leave out, separated by commas or spaces:"),
    doc("stats", "Count hits, misses and the rest."),
    computed("stats_log", "none", "Append the counters each call increments to this file."),
    computed("temporary_dir", "<cache_dir>/tmp", "Accepted and shown; objcache writes no temporary files there."),
    computed("umask", "the user's", "The umask for the files objcache creates in the cache."),
];

#[cfg(test)]
mod tests {
    use super::super::keys::KEYS;
    use super::*;

    /// Row for row with `KEYS`: a key added to one table needs its line
    /// in the other.
    #[test]
    fn every_key_has_its_line_in_order() {
        let keys: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        let documented: Vec<&str> = KEY_DOCS.iter().map(|d| d.name).collect();
        assert_eq!(documented, keys);
    }

    /// A computed default is for keys whose table default is empty; a
    /// stated one would contradict the table.
    #[test]
    fn computed_defaults_only_stand_for_empty_ones() {
        for (k, d) in KEYS.iter().zip(KEY_DOCS) {
            if d.default.is_some() {
                assert_eq!(k.default, "", "{}", k.name);
            }
        }
    }
}
