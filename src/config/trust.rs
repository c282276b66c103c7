//! Which configuration files may set the options that run programs, write
//! files outside the cache or send data elsewhere ("unsafe options", as
//! ccache 4.13 calls them for its directory-specific files).
//!
//! A file is trusted when everyone who can write it is: its owner is the
//! user or root, its group (if the group may write it) is one of the
//! user's, and it is not writable by everyone. A file owned by someone else
//! is trusted when its group is one of the user's and its directory is not
//! writable by everyone: that is the cache ccache's manual tells a team to
//! share (one group, setgid directories, `umask = 002`), whose ccache.conf
//! belongs to whichever member created or last rewrote it (`-o`, `-M`).
//! Nor may anyone else have put it, or a link to another file, in its place
//! (path.rs). Anyone else's file may still set every other option, without
//! `$VARIABLES`: the user's environment is not theirs to read.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::Config;

mod path;

/// An unsafe setting (one that runs a program, writes files outside the
/// cache or sends data elsewhere), or a value with a variable in it, that
/// was not applied, because its file may be written by someone the user
/// does not trust.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub file: PathBuf,
    pub line: usize,
    pub key: String,
    /// Why the file is not trusted.
    pub why: String,
    /// The file is a directory's ccache.conf, which `safe_dirs` decides on.
    pub directory: bool,
}

impl Config {
    /// What to tell the user about settings left out (one line, without
    /// the `objcache: warning: ` before it), or `None` when there are none.
    pub fn refused_warning(&self) -> Option<String> {
        let first = self.refused.first()?;
        let mut keys: Vec<&str> = Vec::new();
        for r in &self.refused {
            if !keys.contains(&r.key.as_str()) {
                keys.push(&r.key);
            }
        }
        let files: std::collections::BTreeSet<String> = self
            .refused
            .iter()
            .map(|r| r.file.display().to_string())
            .collect();
        let files: Vec<String> = files.into_iter().collect();
        let from = if first.directory {
            "from a directory's ccache.conf only where safe_dirs lists its directory and no one \
             outside your groups can write a directory on its path"
        } else {
            "only from a file that you, root or your group control"
        };
        Some(format!(
            "ignoring {} from {}: {}; options that run programs, write files or use remote \
             storage, and values with $VARIABLES, are taken {from}",
            keys.join(", "),
            files.join(", "),
            first.why,
        ))
    }
}

/// Who decides whether a file's text may make unsafe settings.
pub(super) enum Trust<'a> {
    /// The command line's `KEY=VALUE` settings: always.
    Always,
    /// A configuration file, with the metadata of the file read: whoever
    /// can write it ([`distrust`]).
    File(&'a Metadata),
    /// A directory's ccache.conf, with the `safe_dirs` entries and the
    /// metadata of the file read: whether they list its directory (its
    /// owner was checked when it was found), and, as for a `File`, whether
    /// anyone else could have put another file in its place: a writer of
    /// a directory above could swap the listed directory for one of
    /// theirs between the search and the read.
    Directory(&'a [String], &'a Metadata),
}

impl Trust<'_> {
    /// Why the file `path` may not make unsafe settings; `None` when it may.
    pub(super) fn distrust(&self, path: &Path) -> Option<String> {
        match self {
            Trust::Always => None,
            Trust::File(meta) => distrust(meta, path),
            Trust::Directory(safe_dirs, meta) => {
                let dir = path.parent().unwrap_or(Path::new("/"));
                if !super::directory::is_safe(dir, safe_dirs) {
                    return Some(format!("safe_dirs does not list {}", dir.display()));
                }
                path::distrust(path, meta, &Me::now())
            }
        }
    }

    pub(super) fn is_directory(&self) -> bool {
        matches!(self, Trust::Directory(..))
    }
}

/// Options that run a program (or decide which one), write files outside
/// the cache (or decide with which permissions), or send data elsewhere.
const UNSAFE_KEYS: &[&str] = &[
    "cache_dir",
    "compiler",
    "debug",
    "debug_dir",
    "hard_link",
    // Decides which storage helper program runs.
    "libexec_dirs",
    "log_file",
    "path",
    "prefix_command",
    "prefix_command_cpp",
    "remote_storage",
    // Sends local hits to the remotes: entries of the local cache, which
    // its other writers can forge, to a remote they cannot write.
    "reshare",
    // Lets a directory's ccache.conf make every setting above.
    "safe_dirs",
    "stats_log",
    "temporary_dir",
    "umask",
];

/// Whether `key = value` is an unsafe setting. Turning an option off
/// (an empty value, `false` for a boolean one) is not, nor a
/// `compiler_check` that runs no command. For any other key `false` is a
/// name: `prefix_command = false` runs the program `false` before each
/// compile, `log_file = false` writes the file `./false`.
pub(super) fn is_unsafe(key: &str, value: &str) -> bool {
    let boolean = super::keys::lookup(key).is_some_and(|i| super::keys::KEYS[i].boolean);
    if value.is_empty() || (boolean && value == "false") {
        return false;
    }
    match key {
        "compiler_check" => {
            !matches!(value, "content" | "mtime" | "none") && !value.starts_with("string:")
        }
        _ => UNSAFE_KEYS.contains(&key),
    }
}

/// Why the file `path`, with metadata `meta` (of the file read), may not
/// set unsafe options; `None` when it may. Everyone who could have chosen
/// its text must be trusted: who can write the file, and who can write a
/// directory on its path or make a symlink there, or replace one that is
/// (through any of them, the path may name a root-owned file whose text
/// someone else chose: `/proc/PID/cmdline` of a setuid program they run).
pub(super) fn distrust(meta: &Metadata, path: &Path) -> Option<String> {
    let me = Me::now();
    file_distrust(meta, &me).or_else(|| path::distrust(path, meta, &me))
}

/// Why the writers of the file itself are not all trusted.
fn file_distrust(meta: &Metadata, me: &Me) -> Option<String> {
    let mode = meta.mode();
    if mode & 0o002 != 0 {
        return Some("everyone can write it".into());
    }
    if me.is_me_or_root(meta.uid()) {
        if mode & 0o020 != 0 && !me.trusts_group(meta.gid()) {
            return Some(format!(
                "group {} can write it, and it is not yours",
                meta.gid()
            ));
        }
        return None;
    }
    if !me.in_groups(meta.gid()) {
        return Some(format!(
            "it belongs to user {} and group {}, neither of them yours",
            meta.uid(),
            meta.gid()
        ));
    }
    None
}

/// The user, as the trust rule asks: effective uid and groups.
pub(super) struct Me {
    uid: u32,
    groups: Vec<u32>,
}

impl Me {
    /// No user database lookups: a compile must not wait on a directory
    /// service.
    pub(super) fn now() -> Me {
        // SAFETY: geteuid and getegid have no preconditions and cannot
        // fail. With a zero size getgroups only returns the count; the
        // second call writes at most `groups.len()` entries into the
        // buffer we own.
        unsafe {
            let mut groups = vec![libc::getegid()];
            let n = libc::getgroups(0, std::ptr::null_mut());
            if n > 0 {
                let mut more = vec![0 as libc::gid_t; n as usize];
                let n = libc::getgroups(n, more.as_mut_ptr());
                groups.extend(more.iter().take(n.max(0) as usize));
            }
            Me {
                uid: libc::geteuid(),
                groups,
            }
        }
    }

    fn is_me_or_root(&self, uid: u32) -> bool {
        uid == self.uid || uid == 0
    }

    /// Whether `gid` is this process's effective group or one of its
    /// supplementary groups.
    fn in_groups(&self, gid: u32) -> bool {
        self.groups.contains(&gid)
    }

    /// Whether members of `gid` may write what the user trusts.
    pub(super) fn trusts_group(&self, gid: u32) -> bool {
        gid == 0 || self.in_groups(gid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_settings() {
        for (key, value) in [
            ("prefix_command", "distcc"),
            ("compiler_check", "%compiler% -v"),
            ("remote_storage", "redis://h"),
            ("libexec_dirs", "/tmp/helpers"),
            ("umask", "002"),
            ("hard_link", "true"),
            ("log_file", "/tmp/log"),
            ("reshare", "true"),
            ("prefix_command", "false"),
            ("log_file", "false"),
            ("compiler_check", "false"),
        ] {
            assert!(is_unsafe(key, value), "{key} = {value}");
        }
        for (key, value) in [
            ("prefix_command", ""),
            ("compiler_check", "content"),
            ("compiler_check", "string:gcc-13"),
            ("hard_link", "false"),
            ("max_size", "1G"),
            ("sloppiness", "time_macros"),
        ] {
            assert!(!is_unsafe(key, value), "{key} = {value}");
        }
    }

    #[test]
    fn one_warning_names_each_key_once() {
        let mut config = Config::default();
        assert_eq!(config.refused_warning(), None);
        for (file, key) in [("/a", "umask"), ("/b", "prefix_command"), ("/b", "umask")] {
            config.refused.push(Refused {
                file: file.into(),
                line: 1,
                key: key.into(),
                why: "everyone can write it".into(),
                directory: false,
            });
        }
        let warning = config.refused_warning().unwrap();
        assert!(
            warning
                .starts_with("ignoring umask, prefix_command from /a, /b: everyone can write it;"),
            "{warning}"
        );
    }

    #[test]
    fn every_directory_and_link_on_the_path_counts() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("a/b");
        std::fs::create_dir_all(&real).unwrap();
        let path = real.join("ccache.conf");
        std::fs::write(&path, "").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let link = dir.path().join("c");
        std::os::unix::fs::symlink("a/b/../b/ccache.conf", &link).unwrap();
        assert_eq!(distrust(&meta, &link), None);
        let a = dir.path().join("a");
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = distrust(&meta, &link).unwrap();
        assert!(why.starts_with("everyone can write directory"), "{why}");
        // Sticky, as /tmp: everyone keeps to their own entries.
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(distrust(&meta, &link), None);
        std::fs::hard_link(&path, real.join("other")).unwrap();
        assert_eq!(
            distrust(&meta, &link),
            None,
            "not in a directory everyone can write"
        );
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let why = distrust(&meta, &link).unwrap();
        assert!(why.contains("has other hard links"), "{why}");
    }

    #[test]
    fn own_files_are_trusted_and_world_writable_ones_are_not() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ccache.conf");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(distrust(&meta, &path), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert!(distrust(&meta, &path).is_some());
    }
}
