//! The directories and symlinks on a configuration file's path: whoever
//! can write one of them could have put another file, or a symlink to
//! one, in the file's place.

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path};

use super::Me;

/// Symlinks followed at most, as the kernel does (`ELOOP`).
const MAX_LINKS: usize = 40;
const STICKY: u32 = 0o1000;
const SETGID: u32 = 0o2000;

/// Why someone the user does not trust could have made `path` name another
/// file than `file` (the metadata of the file read); `None` when no one
/// could. The path is walked as the open resolved it, a component at a
/// time, through its symlinks. A race gains nothing: where the open and
/// the walk parted, a directory's entry changed, which only the
/// directory's writers can do, and the walk finds them trusted or says no.
pub(super) fn distrust(path: &Path, file: &Metadata, me: &Me) -> Option<String> {
    walk(path, file, me).err()
}

fn walk(path: &Path, file: &Metadata, me: &Me) -> Result<(), String> {
    let start = if path.is_absolute() {
        path.to_path_buf()
    } else {
        let cwd = std::env::current_dir().map_err(|e| format!("cannot check its path: {e}"))?;
        cwd.join(path)
    };
    let mut todo = Vec::new();
    push_components(&mut todo, &start);
    let root = Path::new("/");
    let root_meta = lstat(root)?;
    dir_writers(&root_meta, root, me)?;
    let mut dirs = vec![(root.to_path_buf(), root_meta)];
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            // Every directory walked into is symlink-free by then.
            if dirs.len() > 1 {
                dirs.pop();
            }
            continue;
        }
        let (dir, dir_meta) = dirs.last().cloned().expect("the root stays");
        let entry = dir.join(&name);
        let meta = lstat(&entry)?;
        placed_by_trusted(&meta, &entry, &dir_meta, &dir, me)?;
        if meta.file_type().is_symlink() {
            links += 1;
            let target = fs::read_link(&entry).map_err(|e| cannot(&entry, e))?;
            if links > MAX_LINKS {
                return Err(format!("{}: too many symlinks", entry.display()));
            }
            if target.is_absolute() {
                dirs.truncate(1);
            }
            push_components(&mut todo, &target);
        } else if todo.is_empty() {
            // In a directory everyone can write, the owner checked is the
            // entry's now, which must be the file read.
            if dir_meta.mode() & 0o002 != 0 && (meta.dev(), meta.ino()) != (file.dev(), file.ino())
            {
                return Err(format!("{} was replaced as it was read", entry.display()));
            }
            return Ok(());
        } else if meta.is_dir() {
            dir_writers(&meta, &entry, me)?;
            dirs.push((entry, meta));
        } else {
            return Err(format!("{} is not a directory", entry.display()));
        }
    }
    Err(format!("{} names a directory", path.display()))
}

/// Pushes the parts of `path` onto `todo`, a stack: the first on top.
fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    let parts = path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some("..".into()),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    });
    let parts: Vec<OsString> = parts.collect();
    todo.extend(parts.into_iter().rev());
}

fn lstat(path: &Path) -> Result<Metadata, String> {
    fs::symlink_metadata(path).map_err(|e| cannot(path, e))
}

fn cannot(path: &Path, e: std::io::Error) -> String {
    format!("cannot check {}: {e}", path.display())
}

/// Fails unless everyone who can add, remove or rename entries of the
/// directory `dir` is trusted: its owner (who can always chmod it), its
/// group if the group may write it, and no one else, unless the sticky bit
/// keeps everyone to their own entries (as in /tmp).
fn dir_writers(meta: &Metadata, dir: &Path, me: &Me) -> Result<(), String> {
    let mode = meta.mode();
    if mode & 0o002 != 0 && mode & STICKY == 0 {
        return Err(format!("everyone can write directory {}", dir.display()));
    }
    if mode & 0o020 != 0 && !me.trusts_group(meta.gid()) {
        return Err(format!(
            "group {} can write directory {}, and it is not yours",
            meta.gid(),
            dir.display()
        ));
    }
    if !me.is_me_or_root(meta.uid()) && !me.in_groups(meta.gid()) {
        return Err(format!(
            "directory {} belongs to user {} and group {}, neither of them yours",
            dir.display(),
            meta.uid(),
            meta.gid()
        ));
    }
    Ok(())
}

/// Fails if `entry` may have been made by someone the user does not trust:
/// in a directory everyone can write (sticky, or `dir_writers` said no
/// already), anyone may have made it, and the entry is theirs. Another
/// user's entry whose group is one of the user's was made by a member of
/// that group, unless the directory gave it its group (setgid). A file
/// with other hard links there may be anyone's link to a file of root's
/// or the user's whose text they chose (where `protected_hardlinks` is
/// off).
fn placed_by_trusted(
    meta: &Metadata,
    entry: &Path,
    dir_meta: &Metadata,
    dir: &Path,
    me: &Me,
) -> Result<(), String> {
    if dir_meta.mode() & 0o002 == 0 {
        return Ok(());
    }
    let everyone = format!("in a directory everyone can write ({})", dir.display());
    if meta.is_file() && meta.nlink() > 1 {
        return Err(format!(
            "{} has other hard links, {everyone}",
            entry.display()
        ));
    }
    if me.is_me_or_root(meta.uid()) {
        return Ok(());
    }
    if me.in_groups(meta.gid()) && dir_meta.mode() & SETGID == 0 {
        return Ok(());
    }
    Err(format!(
        "{} belongs to user {}, {everyone}",
        entry.display(),
        meta.uid(),
    ))
}
