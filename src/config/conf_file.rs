//! Reading and rewriting a configuration file, which may be planted by
//! anyone who can write the directory that holds it (a shared cache dir):
//! a FIFO, a device or a huge file in its place never hangs a call or
//! takes its memory, and `-o` writes through no one else's symlink.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Symlinks followed at most, as the kernel does (`ELOOP`).
const MAX_LINKS: usize = 40;

/// The text of the configuration file at `path` and the metadata of the
/// file read: `files::read_config_file_and_meta` (never blocking, bounded).
pub(super) fn read_config(path: &Path) -> io::Result<(Vec<u8>, fs::Metadata)> {
    crate::files::read_config_file_and_meta(path)
}

/// The text and metadata of the regular file `path` names itself (not
/// through a symlink), to be rewritten; `None` for anything else there,
/// which holds no settings and is replaced.
fn read_for_rewrite(path: &Path) -> io::Result<Option<(Vec<u8>, fs::Metadata)>> {
    use crate::files::{open_cache_file_bounded, read_at_most, MAX_CONFIG_FILE};
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    // A file swapped in since is refused by the open (no link followed,
    // regular files only), as is one too large.
    let (file, len) = open_cache_file_bounded(path, MAX_CONFIG_FILE)?;
    let meta = file.metadata()?;
    Ok(Some((read_at_most(file, len, MAX_CONFIG_FILE)?, meta)))
}

/// Writes `key = value` into a config file, replacing an existing line for the key.
pub fn write_setting(path: &Path, key: &str, value: &str) -> io::Result<()> {
    let path = &setting_target(path);
    // Not through a symlink (one that appeared since, too): the text, mode
    // and owner kept are those of the file read.
    let (old, meta) = match read_for_rewrite(path)? {
        Some((text, meta)) => (text, Some(meta)),
        None => (Vec::new(), None),
    };
    let old = String::from_utf8(old).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let out = with_setting(&old, key, value);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    // The new file keeps the old one's mode and owner: a 0600 config with
    // a password must not become readable by everyone.
    let mut tmp = crate::files::temp_file_for(path)?;
    if let Some(meta) = meta {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        // Only root can give a file away; anyone else keeps at least the
        // group, which decides whether the group's other members still
        // take its unsafe settings (trust.rs) after one of them ran `-o`.
        let file = tmp.as_file();
        if std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).is_err() {
            let _ = std::os::unix::fs::fchown(file, None, Some(meta.gid()));
        }
    }
    io::Write::write_all(&mut tmp, out.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The file `-o` rewrites for `path`: through the symlinks the user or
/// root made (a config kept with dotfiles stays linked), not through one
/// of anyone else, which is replaced: such a link in a shared cache dir
/// would have root's `-M` rewrite a file of root's that the link's maker
/// chose.
fn setting_target(path: &Path) -> PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() && (m.uid() == me || m.uid() == 0) => {
                let Ok(target) = fs::read_link(&at) else {
                    break;
                };
                at = at.parent().unwrap_or(Path::new("")).join(target);
            }
            _ => break,
        }
    }
    at
}

/// `old`, a config file's text, with `key = value` in place of the key's
/// line (and its continuation lines, and any later line of the key), or
/// after the rest.
fn with_setting(old: &str, key: &str, value: &str) -> String {
    let mut out = String::new();
    let mut replaced = false;
    // In the continuation lines of a value being replaced.
    let mut continuation = false;
    for line in old.lines() {
        if line.starts_with([' ', '\t']) || line.trim().is_empty() {
            if !continuation || line.trim().is_empty() {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        let is_key = line
            .split_once('=')
            .is_some_and(|(k, _)| k.trim() == key && !line.trim_start().starts_with('#'));
        continuation = is_key;
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded_and_never_block() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Not a file of settings, with or without a writer: an error, at once.
        assert!(read_config(&fifo).is_err());
        let _writer = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .unwrap();
        assert!(read_config(&fifo).is_err());
        assert!(read_config(Path::new("/dev/zero")).is_err());
        assert_eq!(read_config(Path::new("/dev/null")).unwrap().0, b"");
        let big = dir.path().join("big");
        fs::File::create(&big).unwrap().set_len(8 << 30).unwrap();
        assert!(read_config(&big).is_err());
        let small = dir.path().join("small");
        fs::write(&small, "max_size = 1G\n").unwrap();
        assert_eq!(read_config(&small).unwrap().0, b"max_size = 1G\n");
    }

    #[test]
    fn own_links_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles.conf");
        fs::write(&real, "max_size = 1G\n").unwrap();
        let link = dir.path().join("ccache.conf");
        std::os::unix::fs::symlink("dotfiles.conf", &link).unwrap();
        write_setting(&link, "max_files", "5").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        let text = fs::read_to_string(&real).unwrap();
        assert_eq!(text, "max_size = 1G\nmax_files = 5\n");
    }
}
