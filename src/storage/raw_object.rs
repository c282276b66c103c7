//! Raw objects (`hard_link`, `file_clone`): a result's object kept as a
//! plain file beside it (`<key>W`), the result holding a `RawObjectRef`
//! (its digest and length) in its place, and put in place on a hit as a
//! hard link, a clone or a copy. The digest and length are checked on the
//! very file that becomes the output: another process may replace the raw
//! file (a sync tool renaming its copy over it) or rewrite it at any
//! moment, and a check of the name followed by a link of the name could
//! hand out a file never checked.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::Storage;
use crate::disk::entry::{FileKind, RawObjectRef, ResultEntry};
use crate::disk::{self, EntryKind};
use crate::key::Key;
use crate::stats::Counter;

impl Storage {
    /// Raw objects live beside the local entry; remote storage needs
    /// self-contained entries.
    pub(super) fn keeps_raw_objects(&self) -> bool {
        !self.policy.remote_only && !self.has_remotes() && !self.policy.read_only()
    }

    /// With `hard_link` or `file_clone` (and a policy that keeps raw
    /// objects), stores the object of `entry` as a plain file beside the
    /// entry and returns the entry that refers to it. With `hard_link`,
    /// `written` (the file the compiler wrote the object to) becomes that
    /// file when it can (see `link_written`).
    pub(super) fn put_raw_object_of(
        &mut self,
        key: &Key,
        entry: &ResultEntry,
        written: Option<&Path>,
    ) -> Option<ResultEntry> {
        if !(self.hard_link || self.file_clone) || !self.keeps_raw_objects() {
            return None;
        }
        let (_, object) = entry.files.iter().find(|(k, _)| *k == FileKind::Object)?;
        let linked = written.is_some_and(|w| self.link_written(key, object, w));
        if !linked && !self.put_raw_object(key, object) {
            return None;
        }
        let reference = RawObjectRef::of(object).encode();
        let files = entry
            .files
            .iter()
            .map(|(k, v)| match k {
                FileKind::Object => (FileKind::RawObject, reference.clone()),
                _ => (*k, v.clone()),
            })
            .collect();
        Some(ResultEntry { files })
    }

    /// With `hard_link`, the compiler's output `written` hard-linked into
    /// the cache as the raw object of `key`, as ccache does on a miss: the
    /// two are then one file, as after a hard-linked hit. Only a plain file
    /// of its own (one link), with the permissions a cache file would get
    /// (no `umask` of the cache's), and only if the linked file still holds
    /// exactly `object`: the build may rewrite its output at any moment.
    /// A later write into the output is caught by the digest every hit
    /// checks. `false`: not linked, the bytes are stored instead.
    fn link_written(&mut self, key: &Key, object: &[u8], written: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let own = fs::symlink_metadata(written).is_ok_and(|m| m.is_file() && m.nlink() == 1);
        if !self.hard_link || !own || crate::files::user_umask().is_some() {
            return false;
        }
        let reference = RawObjectRef::of(object);
        match self
            .local
            .put_link(key, EntryKind::RawObject, written, |f| holds(f, reference))
        {
            Ok(Some(_)) => {
                self.wrote(key);
                true
            }
            Ok(None) => false,
            Err(e) => {
                self.log
                    .note(format!("could not link the output into the cache: {e}"));
                false
            }
        }
    }

    pub(super) fn put_raw_object(&mut self, key: &Key, object: &[u8]) -> bool {
        match self.local.put(key, EntryKind::RawObject, object) {
            Ok(_) => {
                self.wrote(key);
                true
            }
            Err(e) => {
                self.log
                    .note(format!("could not store the raw object: {e}"));
                false
            }
        }
    }

    /// Puts the raw object of `key` that `reference` describes at `output`,
    /// as `hard_link` and `file_clone` say, and marks it used. `Ok(false)`:
    /// it is missing (evicted) or does not match its reference; nothing was
    /// put in place, and the result and what is left of its object are
    /// removed (and counted).
    pub fn install_raw_object(
        &mut self,
        key: &Key,
        reference: RawObjectRef,
        output: &Path,
    ) -> io::Result<bool> {
        let raw = self.raw_object_path(key);
        let installed = if self.hard_link {
            link_checked(&raw, reference, output)?
        } else {
            None
        };
        let installed = match installed {
            Some(outcome) => outcome,
            None if self.file_clone => match clone_checked(&raw, reference, output)? {
                Some(outcome) => outcome,
                None => self.copy_checked(key, reference, output)?,
            },
            None => self.copy_checked(key, reference, output)?,
        };
        let Some(counter) = installed else {
            // Read-only or not: with `hard_link` the output shares its
            // inode, and a fresh mtime keeps make from seeing an object
            // older than its source.
            self.local.touch(key, EntryKind::RawObject);
            return Ok(true);
        };
        let hex = key.to_hex();
        self.log
            .note(format!("raw object of {hex} is missing or damaged"));
        self.count(counter);
        if !self.policy.read_only() {
            self.local.remove(key, EntryKind::Result);
            self.local.remove(key, EntryKind::RawObject);
        }
        Ok(false)
    }

    /// Where the raw object of `key` lives.
    pub(super) fn raw_object_path(&self, key: &Key) -> PathBuf {
        self.local.path(key, EntryKind::RawObject)
    }

    /// The raw object of `key` opened for reading, and its length: refused
    /// unread when it is longer than the `size` its result holds (see
    /// `crate::files::open_cache_file_bounded`).
    pub(super) fn open_raw_object(&self, key: &Key, size: u64) -> io::Result<(fs::File, u64)> {
        crate::files::open_cache_file_bounded(&self.raw_object_path(key), size)
    }

    /// Copies the raw object to `output`, hashed as it is copied; the
    /// output is confirmed only if it matched.
    fn copy_checked(
        &self,
        key: &Key,
        reference: RawObjectRef,
        output: &Path,
    ) -> io::Result<Option<Counter>> {
        let size = reference.size;
        let (file, len) = match self.open_raw_object(key, size) {
            Ok(opened) => opened,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Some(Counter::MissingCacheFile))
            }
            Err(_) => return Ok(Some(Counter::CorruptCacheEntry)),
        };
        if len != size {
            return Ok(Some(Counter::CorruptCacheEntry));
        }
        let mut out = disk::OutputFile::create(output, disk::Symlink::Replace)?;
        let mut hasher = blake3::Hasher::new();
        let mut tee = Tee {
            hasher: &mut hasher,
            out: &mut out,
        };
        io::copy(&mut file.take(size + 1), &mut tee)?;
        if !matches(&hasher, reference) {
            // Dropped unfinished: the output is removed.
            return Ok(Some(Counter::CorruptCacheEntry));
        }
        out.finish()?;
        Ok(None)
    }
}

/// Hard-links the raw object to a temp name beside `output`, checks the
/// linked file and renames it into place. `None`: no link can be made
/// here (another file system, an output that is not a file), the caller
/// copies instead.
fn link_checked(
    raw: &Path,
    reference: RawObjectRef,
    output: &Path,
) -> io::Result<Option<Option<Counter>>> {
    let replaceable = match fs::symlink_metadata(output) {
        Ok(m) => m.is_file() || m.is_symlink(),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    };
    if !replaceable {
        return Ok(None);
    }
    let linked = crate::files::temp_name_for(output, |tmp| {
        fs::hard_link(raw, tmp)?;
        let opened = crate::files::open_cache_file_bounded(tmp, reference.size);
        if opened.is_err() {
            let _ = fs::remove_file(tmp);
        }
        opened.map(|(file, _)| file)
    });
    let mut tmp = match linked {
        Ok(tmp) => tmp,
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Ok(Some(Some(Counter::CorruptCacheEntry)))
        }
        Err(_) => return Ok(None),
    };
    if !holds(tmp.as_file_mut(), reference)? {
        return Ok(Some(Some(Counter::CorruptCacheEntry)));
    }
    disk::install_output(tmp, output, disk::Symlink::Replace)?;
    Ok(Some(None))
}

/// Clones the raw object into a temp file beside `output` (btrfs, XFS),
/// checks the clone and renames it into place. `None`: the file system
/// cannot clone, the caller copies instead.
fn clone_checked(
    raw: &Path,
    reference: RawObjectRef,
    output: &Path,
) -> io::Result<Option<Option<Counter>>> {
    let mut tmp = crate::files::temp_file_for(output)?;
    if !disk::clone_file(raw, tmp.as_file()) {
        return Ok(None);
    }
    if !holds(tmp.as_file_mut(), reference)? {
        return Ok(Some(Some(Counter::CorruptCacheEntry)));
    }
    disk::install_output(tmp, output, disk::Symlink::Replace)?;
    Ok(Some(None))
}

/// Whether `file`, just opened or created (read from its start), holds
/// exactly the object `reference` describes; never more than its size
/// and one byte are read.
fn holds(file: &mut fs::File, reference: RawObjectRef) -> io::Result<bool> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file.take(reference.size + 1))?;
    Ok(matches(&hasher, reference))
}

fn matches(hasher: &blake3::Hasher, reference: RawObjectRef) -> bool {
    hasher.count() == reference.size && hasher.finalize().as_bytes() == &reference.digest
}

/// Writes what it is given to `out` and hashes it.
struct Tee<'a, W> {
    hasher: &'a mut blake3::Hasher,
    out: &'a mut W,
}

impl<W: io::Write> io::Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
