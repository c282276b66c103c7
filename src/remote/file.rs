//! A shared directory (NFS and the like): `file:DIR` or `file:///DIR`, with
//! `layout=subdirs|flat`, `umask=OCTAL` and `update-mtime`. The directory
//! gets a `CACHEDIR.TAG`, so backup tools skip it as they skip a local cache.

use std::cell::Cell;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::{Backend, BackendSpec, RemoteError};

pub struct FileBackend {
    dir: PathBuf,
    flat: bool,
    umask: u32,
    update_mtime: bool,
    /// `CACHEDIR.TAG` is known to be there.
    tagged: Cell<bool>,
}

/// The Cache Directory Tagging Specification's file
/// (<https://bford.info/cachedir/>).
pub const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by objcache.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

impl FileBackend {
    pub fn new(url: &str, spec: &BackendSpec) -> Result<FileBackend, String> {
        let path = match url.strip_prefix("file://") {
            // `file://localhost/DIR`, as ccache takes it; another host
            // (a Windows share) is not reachable here.
            Some(rest) => rest.strip_prefix("localhost").unwrap_or(rest),
            None => url.strip_prefix("file:").unwrap_or(url),
        };
        if !path.starts_with('/') {
            return Err(format!(
                "{}: the directory must be an absolute path",
                super::mask_url(url)
            ));
        }
        let flat = match spec.attr("layout") {
            None | Some("subdirs") => false,
            Some("flat") => true,
            Some(other) => {
                return Err(format!(
                    "{}: unknown layout \"{other}\" (subdirs or flat)",
                    super::mask_url(url)
                ))
            }
        };
        let umask = match spec.attr("umask") {
            None => 0o022,
            Some(v) => u32::from_str_radix(v, 8)
                .map_err(|_| format!("{}: invalid umask \"{v}\"", super::mask_url(url)))?,
        };
        Ok(FileBackend {
            dir: PathBuf::from(super::percent_decode(path)),
            flat,
            umask,
            update_mtime: matches!(spec.attr("update-mtime"), Some("" | "true")),
            tagged: Cell::new(false),
        })
    }

    /// Creates `dir` and its missing parents with the backend's `umask`
    /// (not the process's), so a team's shared directory stays writable
    /// for the group whoever created a bucket first.
    fn create_dirs(&self, dir: &std::path::Path) -> std::io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            self.create_dirs(parent)?;
        }
        match fs::create_dir(dir) {
            Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o777 & !self.umask)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Writes `CACHEDIR.TAG` into the directory unless it is there: once
    /// per process, at its first write.
    fn tag(&self) -> std::io::Result<()> {
        if self.tagged.get() {
            return Ok(());
        }
        let path = self.dir.join("CACHEDIR.TAG");
        if !path.exists() {
            let mut tmp = tempfile::Builder::new()
                .prefix(".objcache-tmp.")
                .tempfile_in(&self.dir)?;
            tmp.write_all(CACHEDIR_TAG.as_bytes())?;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o666 & !self.umask))?;
            tmp.persist(&path).map_err(|e| e.error)?;
        }
        self.tagged.set(true);
        Ok(())
    }

    fn path(&self, name: &str) -> PathBuf {
        if self.flat {
            self.dir.join(name)
        } else {
            self.dir.join(&name[..2]).join(&name[2..])
        }
    }
}

fn io_error(e: std::io::Error) -> RemoteError {
    RemoteError::Other(e.to_string())
}

impl Backend for FileBackend {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let path = self.path(name);
        // A symlinked bucket directory planted by anyone who can write the
        // shared directory is never followed out of it.
        crate::files::no_symlink_below(&self.dir, &path).map_err(io_error)?;
        // At most what an HTTP or Redis server may send: a huge file
        // planted in the shared directory is refused before it is read.
        match crate::files::read_cache_file_bounded(&path, super::MAX_ENTRY) {
            Ok(data) => {
                if self.update_mtime {
                    let _ = crate::files::set_mtime(&path, std::time::SystemTime::now());
                }
                Ok(Some(data))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RemoteError::Other(format!("{}: {e}", path.display()))),
        }
    }

    fn put(&self, name: &str, data: &[u8]) -> Result<(), RemoteError> {
        let path = self.path(name);
        let dir = path.parent().expect("entry paths have a parent");
        crate::files::no_symlink_below(&self.dir, dir).map_err(io_error)?;
        self.create_dirs(dir).map_err(io_error)?;
        crate::files::no_symlink_below(&self.dir, dir).map_err(io_error)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".objcache-tmp.")
            .tempfile_in(dir)
            .map_err(io_error)?;
        tmp.write_all(data).map_err(io_error)?;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o666 & !self.umask))
            .map_err(io_error)?;
        tmp.persist(&path).map_err(|e| io_error(e.error))?;
        self.tag().map_err(io_error)
    }

    fn remove(&self, name: &str) -> Result<bool, RemoteError> {
        let path = self.path(name);
        let dir = path.parent().expect("entry paths have a parent");
        crate::files::no_symlink_below(&self.dir, dir).map_err(io_error)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(RemoteError::Other(format!("{}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(dir: &std::path::Path, attrs: &[(&str, &str)]) -> FileBackend {
        let spec = BackendSpec {
            url: format!("file:{}", dir.display()),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        FileBackend::new(&spec.url, &spec).unwrap()
    }

    #[test]
    fn umask_covers_directories_too() {
        let root = tempfile::tempdir().unwrap();
        let b = backend(&root.path().join("shared"), &[("umask", "002")]);
        b.put("abcdef", b"entry").unwrap();
        let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.path().join("shared")), 0o775);
        assert_eq!(mode(&root.path().join("shared/ab")), 0o775);
        assert_eq!(mode(&root.path().join("shared/ab/cdef")), 0o664);
        let tag = root.path().join("shared/CACHEDIR.TAG");
        assert_eq!(fs::read_to_string(&tag).unwrap(), CACHEDIR_TAG);
        assert_eq!(mode(&tag), 0o664);
    }

    #[test]
    fn update_mtime_touches_entries_read() {
        let root = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
        let mtime = |p: &std::path::Path| fs::metadata(p).unwrap().modified().unwrap();
        for (attrs, touched) in [
            (&[][..], false),
            (&[("update-mtime", "false")][..], false),
            (&[("update-mtime", "true")][..], true),
            (&[("update-mtime", "")][..], true),
        ] {
            let b = backend(root.path(), attrs);
            b.put("abcdefR", b"entry").unwrap();
            let path = root.path().join("ab/cdefR");
            fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(old)
                .unwrap();
            assert_eq!(b.get("abcdefR").unwrap().as_deref(), Some(&b"entry"[..]));
            assert_eq!(mtime(&path) != old, touched, "{attrs:?}");
        }
    }

    #[test]
    fn file_urls_as_ccache_writes_them() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().display().to_string();
        for url in [
            format!("file:{dir}/a"),
            format!("file://{dir}/b"),
            format!("file://localhost{dir}/c%20d"),
        ] {
            let spec = BackendSpec {
                url: url.clone(),
                attrs: Vec::new(),
            };
            let b = FileBackend::new(&url, &spec).unwrap();
            b.put("abcdefR", b"x").unwrap();
        }
        assert!(root.path().join("c d/ab/cdefR").is_file());
        let spec = BackendSpec {
            url: "file://example.com/x".into(),
            attrs: Vec::new(),
        };
        assert!(FileBackend::new(&spec.url, &spec).is_err());
    }

    #[test]
    fn the_directory_is_tagged_once_and_kept() {
        let root = tempfile::tempdir().unwrap();
        let b = backend(root.path(), &[("layout", "flat")]);
        assert!(
            !root.path().join("CACHEDIR.TAG").exists(),
            "reads never tag"
        );
        assert_eq!(b.get("abcdefR").unwrap(), None);
        assert!(!root.path().join("CACHEDIR.TAG").exists());
        fs::write(
            root.path().join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\nmine\n",
        )
        .unwrap();
        b.put("abcdefR", b"entry").unwrap();
        let tag = fs::read_to_string(root.path().join("CACHEDIR.TAG")).unwrap();
        assert!(tag.ends_with("mine\n"), "an existing tag is left alone");
        assert!(CACHEDIR_TAG.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"));
    }

    #[test]
    fn planted_special_files_are_not_read() {
        let root = tempfile::tempdir().unwrap();
        let b = backend(root.path(), &[("layout", "flat")]);
        std::os::unix::fs::symlink("/dev/zero", root.path().join("zero")).unwrap();
        assert!(b.get("zero").is_err());
        let fifo = std::ffi::CString::new(root.path().join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        assert!(b.get("fifo").is_err());
    }

    /// A bucket directory that is a symlink out of the remote directory
    /// is neither written nor read through.
    #[test]
    fn a_symlinked_bucket_is_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let (remote, outside) = (root.path().join("remote"), root.path().join("outside"));
        fs::create_dir_all(&remote).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("cdefR"), b"planted").unwrap();
        std::os::unix::fs::symlink(&outside, remote.join("ab")).unwrap();
        let b = backend(&remote, &[("update-mtime", "true")]);
        assert!(b.get("abcdefR").is_err());
        assert!(b.put("abcdefR", b"entry").is_err());
        assert!(b.put("abxyzR", b"entry").is_err());
        let names: Vec<_> = fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["cdefR"]);
        assert_eq!(fs::read(outside.join("cdefR")).unwrap(), b"planted");
    }
}
