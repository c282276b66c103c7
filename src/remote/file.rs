//! A shared directory (NFS and the like): `file:DIR` or `file:///DIR`, with
//! `layout=subdirs|flat`, `umask=OCTAL` and `update-mtime`.

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
}

impl FileBackend {
    pub fn new(url: &str, spec: &BackendSpec) -> Result<FileBackend, String> {
        let path = url
            .strip_prefix("file://")
            .or_else(|| url.strip_prefix("file:"))
            .unwrap_or(url);
        if !path.starts_with('/') {
            return Err(format!("{url}: the directory must be an absolute path"));
        }
        let flat = match spec.attr("layout") {
            None | Some("subdirs") => false,
            Some("flat") => true,
            Some(other) => {
                return Err(format!(
                    "{url}: unknown layout \"{other}\" (subdirs or flat)"
                ))
            }
        };
        let umask = match spec.attr("umask") {
            None => 0o022,
            Some(v) => {
                u32::from_str_radix(v, 8).map_err(|_| format!("{url}: invalid umask \"{v}\""))?
            }
        };
        Ok(FileBackend {
            dir: PathBuf::from(super::percent_decode(path)),
            flat,
            umask,
            update_mtime: matches!(spec.attr("update-mtime"), Some("" | "true")),
        })
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
        match fs::read(&path) {
            Ok(data) => {
                if self.update_mtime {
                    if let Ok(f) = fs::File::options().write(true).open(&path) {
                        let _ = f.set_modified(std::time::SystemTime::now());
                    }
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
        fs::create_dir_all(dir).map_err(io_error)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".objcache-tmp.")
            .tempfile_in(dir)
            .map_err(io_error)?;
        tmp.write_all(data).map_err(io_error)?;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o666 & !self.umask))
            .map_err(io_error)?;
        tmp.persist(&path).map_err(|e| io_error(e.error))?;
        Ok(())
    }
}
