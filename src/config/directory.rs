//! ccache 4.13's directory-specific configuration file: a `ccache.conf` in
//! the working directory or one of its parents, for settings a project
//! (or a checkout) wants without touching the user's own configuration.
//!
//! The search runs on every compile, hits included, so it costs at most
//! three `stat`s per directory and stops early: at a ceiling directory
//! (the home directory unless `ceiling_dirs` says otherwise), after a
//! directory holding a ceiling marker (`.git`), at a directory that is
//! not the user's or that everyone (`/tmp`) or a group the user is not in
//! can write, and at a file system boundary. The file found must be the
//! user's and not writable by everyone or such a group; it may make
//! unsafe settings only where `safe_dirs` lists its directory.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use std::collections::HashMap;

use super::trust::Me;
use super::{Config, ConfigError};

/// The name looked for in each directory.
const NAME: &str = "ccache.conf";

/// What the search for a directory's ccache.conf goes by.
pub(super) struct Search<'a> {
    /// Directories not searched, nor anything above them.
    pub ceilings: &'a [PathBuf],
    /// Names that make the directory holding one the last one searched.
    pub markers: &'a [String],
}

/// The `ccache.conf` that applies to `cwd` (a physical path, as `getcwd`
/// gives it), if any: the first one found from `cwd` up, with what `stat`
/// says of it. A directory named so is no configuration file and is
/// passed by; anything else there (a FIFO, a link that goes nowhere) is
/// found, and reported.
pub(super) fn find(cwd: &Path, search: &Search) -> Option<(PathBuf, io::Result<fs::Metadata>)> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mut device = None;
    let mut groups = Groups::default();
    // Device and inode of each directory searched, for the ceilings.
    let mut walked = Vec::new();
    // Whether a directory is searched at all: the user's, writable by no
    // one else but the user's groups, on the working directory's file
    // system. A group the user is not in is as foreign as everyone: any
    // member may put a file, or a link to a root file whose text they
    // chose, in it.
    let mut searched = |dir: &Path| {
        fs::metadata(dir).is_ok_and(|meta| {
            let dev = *device.get_or_insert(meta.dev());
            walked.push((meta.dev(), meta.ino()));
            let mode = meta.mode();
            meta.uid() == me
                && mode & 0o002 == 0
                && meta.dev() == dev
                && (mode & 0o020 == 0 || groups.trust(meta.gid()))
        })
    };
    // The directories' own stats are taken only when a file is found: a
    // directory not searched ends the search, so each one from `cwd` up to
    // the file's must be. Without a file (most calls) the search passes
    // directories that would have ended it, asking only whether a file or
    // a marker is there: the same answer, a `stat` fewer per level.
    let mut passed: Vec<&Path> = Vec::new();
    let mut dir = cwd;
    loop {
        if search.ceilings.iter().any(|c| c == dir) {
            return None;
        }
        let conf = dir.join(NAME);
        match fs::metadata(&conf) {
            Ok(m) if m.is_dir() => {}
            Err(e) if is_absent(&e) => {}
            stat => {
                let found = passed.iter().chain([&dir]).all(|d| searched(d))
                    && !below_ceiling(cwd, search.ceilings, &walked);
                return found.then_some((conf, stat));
            }
        }
        let marked = search
            .markers
            .iter()
            .any(|m| fs::symlink_metadata(dir.join(m)).is_ok());
        if marked {
            return None;
        }
        passed.push(dir);
        dir = dir.parent()?;
    }
}

/// Whether a ceiling is one of the directories `walked` from `cwd` under
/// another name (`HOME=/home/me` where `/home` is a link to `/var/home`):
/// the search compares names, with the physical ones `getcwd` gives, and
/// would pass it. Asked only when a file is found, of the ceilings that
/// are not a prefix of `cwd` as written (those the names catch).
fn below_ceiling(cwd: &Path, ceilings: &[PathBuf], walked: &[(u64, u64)]) -> bool {
    ceilings
        .iter()
        .filter(|c| !cwd.starts_with(c))
        .filter_map(|c| fs::metadata(c).ok())
        .any(|m| walked.contains(&(m.dev(), m.ino())))
}

/// The user's groups, asked for at the first directory a group may write
/// (most have none), and all of them only when that group is not the
/// effective one (a user's own group, which `umask 002` lets write).
#[derive(Default)]
struct Groups {
    egid: Option<u32>,
    all: Option<Me>,
}

impl Groups {
    /// Whether members of `gid` may write what the user trusts.
    fn trust(&mut self, gid: u32) -> bool {
        // SAFETY: getegid has no preconditions and cannot fail.
        let egid = *self.egid.get_or_insert_with(|| unsafe { libc::getegid() });
        gid == egid || self.all.get_or_insert_with(Me::now).trusts_group(gid)
    }
}

/// Whether a `stat` error means there is no file to read: none there, or
/// a path longer than any path can be (a working directory within 12
/// bytes of `PATH_MAX`), which names no file anyone could read.
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    ) || e.raw_os_error() == Some(libc::ENAMETOOLONG)
}

/// Whether `dir`, the directory of a directory's ccache.conf, is one the
/// `safe_dirs` entries list: `*` lists every directory, `/abs/*` those
/// below `/abs` at any depth, `/abs` that one. An entry is compared as
/// written and, in case it names a symlink, as its real path (`dir` is a
/// real path already: the search walks up from `getcwd`). Asked only when
/// the file makes an unsafe setting, so the common case costs nothing.
pub(super) fn is_safe(dir: &Path, safe_dirs: &[String]) -> bool {
    safe_dirs.iter().any(|entry| {
        if entry == "*" {
            return true;
        }
        let (base, below) = match entry.strip_suffix("/*") {
            Some("") => ("/", true),
            Some(base) => (base, true),
            None => (entry.as_str(), false),
        };
        let lists = |base: &Path| {
            if below {
                dir.starts_with(base) && dir != base
            } else {
                dir == base
            }
        };
        let base = Path::new(base);
        lists(base) || fs::canonicalize(base).is_ok_and(|real| lists(&real))
    })
}

impl Config {
    /// Reads the directory's ccache.conf that applies to `cwd` (unless
    /// there is none). `search` carries `ceiling_dirs`, `ceiling_markers`
    /// and `safe_dirs` as the environment and the command line set them
    /// over the files read so far.
    pub(super) fn read_directory_config(
        &mut self,
        cwd: &Path,
        search: &SearchKeys,
        errors: &mut Vec<ConfigError>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) {
        let home;
        let ceilings = if search.ceiling_dirs.is_empty() {
            home = super::locations::home().into_iter().collect::<Vec<_>>();
            &home
        } else {
            &search.ceiling_dirs
        };
        let found = find(
            cwd,
            &Search {
                ceilings,
                markers: &search.ceiling_markers,
            },
        );
        // A file read already (the cache's own, when the build runs in
        // the cache dir, whatever path `CCACHE_DIR` gives it) is read once,
        // as what it is.
        let read_before = |stat: &io::Result<fs::Metadata>| {
            stat.as_ref()
                .is_ok_and(|m| self.files_read.contains(&(m.dev(), m.ino())))
        };
        let Some((path, stat)) = found.filter(|(_, stat)| !read_before(stat)) else {
            return;
        };
        let fail = |message: String| ConfigError {
            file: Some(path.clone()),
            line: 0,
            key: String::new(),
            message,
        };
        // Anything but a file (a FIFO, a device) is never opened.
        if let Err(why) = stat
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|m| owned_by_me(&m))
        {
            return errors.push(fail(why));
        }
        let (bytes, meta) = match super::conf_file::read_config(&path) {
            Ok(read) => read,
            Err(e) => return errors.push(fail(format!("cannot read: {e}"))),
        };
        if let Err(why) = owned_by_me(&meta) {
            return errors.push(fail(why));
        }
        let text = String::from_utf8_lossy(&bytes);
        let trust = super::trust::Trust::Directory(&search.safe_dirs, &meta);
        self.parse_text_with(&text, &path, &trust, errors, lookup);
        self.directory_config_path = Some(path);
    }
}

/// Why a directory's ccache.conf with metadata `meta` may not be read at
/// all, as ccache 4.13 has it: it must be a file of the user's that not
/// everyone can write; nor, in objcache, a group the user is not in.
fn owned_by_me(meta: &fs::Metadata) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let rule = "a directory's ccache.conf must be a file of yours that only you and your \
                groups can write";
    if !meta.is_file() {
        return Err(format!("not a regular file; {rule}"));
    }
    if meta.uid() != me {
        return Err(format!(
            "it belongs to user {}, not to you (user {me}); {rule}",
            meta.uid()
        ));
    }
    if meta.mode() & 0o002 != 0 {
        return Err(format!("everyone can write it; {rule}"));
    }
    if meta.mode() & 0o020 != 0 && !Me::now().trusts_group(meta.gid()) {
        return Err(format!(
            "group {} can write it, and it is not yours; {rule}",
            meta.gid()
        ));
    }
    Ok(())
}

/// `ceiling_dirs`, `ceiling_markers` and `safe_dirs` as the search goes
/// by them: what the files read before it say, under the environment and
/// the command line (which are applied to the rest after the directory's
/// file, and win over it).
#[derive(Debug, Default)]
pub(super) struct SearchKeys {
    pub ceiling_dirs: Vec<PathBuf>,
    pub ceiling_markers: Vec<String>,
    pub safe_dirs: Vec<String>,
}

impl SearchKeys {
    /// The keys' values in `config`, replaced by those the command line's
    /// `KEY=VALUE` settings or else the environment give, `$VARIABLES`
    /// expanded by `lookup`. A value that does not parse is left to the
    /// loading that reports it.
    pub(super) fn of(
        config: &Config,
        command_line: &[(String, String)],
        env: &HashMap<&str, &str>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> SearchKeys {
        let value = |key: &str, var: &str| {
            let given = command_line.iter().rev().find(|(k, _)| k == key);
            let text = given
                .map(|(_, v)| v.clone())
                .or_else(|| env.get(var).map(|v| v.to_string()))?;
            super::expand_variables(&text, lookup).ok()
        };
        SearchKeys {
            ceiling_dirs: value("ceiling_dirs", "CCACHE_CEILING_DIRS")
                .and_then(|v| super::values::dir_list(&v).ok())
                .unwrap_or_else(|| config.ceiling_dirs.clone()),
            ceiling_markers: value("ceiling_markers", "CCACHE_CEILING_MARKERS")
                .and_then(|v| super::values::marker_list(&v).ok())
                .unwrap_or_else(|| config.ceiling_markers.clone()),
            safe_dirs: value("safe_dirs", "CCACHE_SAFE_DIRS")
                .and_then(|v| super::values::safe_dir_list(&v).ok())
                .unwrap_or_else(|| config.safe_dirs.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn search<'a>(ceilings: &'a [PathBuf], markers: &'a [String]) -> Search<'a> {
        Search { ceilings, markers }
    }

    #[test]
    fn the_nearest_file_below_a_ceiling_or_marker_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let deep = root.join("proj/build/sub");
        fs::create_dir_all(&deep).unwrap();
        let markers = vec![".git".to_string()];
        let under_root = [root.clone()];
        assert!(find(&deep, &search(&under_root, &markers)).is_none());
        fs::write(root.join("proj/ccache.conf"), "").unwrap();
        let found = find(&deep, &search(&under_root, &markers)).map(|f| f.0);
        assert_eq!(found, Some(root.join("proj/ccache.conf")));
        // A ceiling is not searched, nor above it.
        let ceiling = [root.join("proj")];
        assert!(find(&deep, &search(&ceiling, &markers)).is_none());
        // The marker's directory is the last one searched.
        fs::create_dir(root.join("proj/build/.git")).unwrap();
        assert!(find(&deep, &search(&under_root, &markers)).is_none());
        fs::write(root.join("proj/build/ccache.conf"), "").unwrap();
        let found = find(&deep, &search(&under_root, &markers)).map(|f| f.0);
        assert_eq!(found, Some(root.join("proj/build/ccache.conf")));
        // A directory of that name is passed by.
        fs::create_dir(deep.join(NAME)).unwrap();
        let found = find(&deep, &search(&under_root, &markers)).map(|f| f.0);
        assert_eq!(found, Some(root.join("proj/build/ccache.conf")));
        // Nor is a directory everyone can write searched, nor above it.
        fs::set_permissions(&deep, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(find(&deep, &search(&under_root, &markers)).is_none());
    }

    #[test]
    fn safe_dirs_entries() {
        let dir = Path::new("/src/proj");
        let safe = |entries: &[&str]| {
            let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
            is_safe(dir, &entries)
        };
        assert!(safe(&["*"]));
        assert!(safe(&["/src/proj"]));
        assert!(safe(&["/src/proj/"]));
        assert!(safe(&["/other", "/src/*"]));
        assert!(safe(&["/*"]));
        assert!(!safe(&["/src/proj/*"]), "below it, not itself");
        assert!(!safe(&["/src"]), "only that directory");
        assert!(!safe(&["/src/pro*"]));
        assert!(!safe(&[]));
    }

    #[test]
    fn only_the_users_own_file_that_others_cannot_write_is_read() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(NAME);
        fs::write(&path, "").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(owned_by_me(&fs::metadata(&path).unwrap()), Ok(()));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        let why = owned_by_me(&fs::metadata(&path).unwrap()).unwrap_err();
        assert!(why.starts_with("everyone can write it"), "{why}");
        let why = owned_by_me(&fs::metadata(tmp.path()).unwrap()).unwrap_err();
        assert!(why.starts_with("not a regular file"), "{why}");
    }
}
