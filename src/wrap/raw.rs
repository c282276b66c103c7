//! A hit's raw object (`hard_link`, `file_clone`): the object kept as a
//! plain file beside its result (`<key>W`), put in place as a hard link, a
//! clone or a copy. Its digest and length, recorded in the result, are
//! checked on the very file that becomes the output: another process may
//! replace the raw file (a sync tool renaming its copy over it) or rewrite
//! it at any moment, and a check of the name followed by a link of the
//! name could hand out a file never checked.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

use crate::config::Config;
use crate::key::Key;
use crate::stats::Counter;
use crate::storage::Storage;
use crate::store;

/// Puts the raw object of `key` (`digest`, `size` bytes) at `output`, as
/// `hard_link` and `file_clone` say. `Ok(Some(counter))`: it is missing
/// (evicted) or does not match the digest and size its result holds, and
/// nothing was put in place.
pub(super) fn install_raw(
    storage: &Storage,
    config: &Config,
    key: &Key,
    (digest, size): ([u8; 32], u64),
    output: &Path,
) -> io::Result<Option<Counter>> {
    let raw = storage.raw_object_path(key);
    let installed = if config.hard_link {
        link_checked(&raw, digest, size, output)?
    } else {
        None
    };
    let installed = match installed {
        Some(outcome) => outcome,
        None if config.file_clone => match clone_checked(&raw, digest, size, output)? {
            Some(outcome) => outcome,
            None => copy_checked(storage, key, digest, size, output)?,
        },
        None => copy_checked(storage, key, digest, size, output)?,
    };
    if installed.is_none() {
        storage.touch_raw_object(key);
    }
    Ok(installed)
}

/// Copies the raw object to `output`, hashed as it is copied; the
/// output is confirmed only if it matched.
fn copy_checked(
    storage: &Storage,
    key: &Key,
    digest: [u8; 32],
    size: u64,
    output: &Path,
) -> io::Result<Option<Counter>> {
    let (file, len) = match storage.open_raw_object(key, size) {
        Ok(opened) => opened,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Some(Counter::MissingCacheFile))
        }
        Err(_) => return Ok(Some(Counter::CorruptCacheEntry)),
    };
    if len != size {
        return Ok(Some(Counter::CorruptCacheEntry));
    }
    let mut out = store::OutputFile::create(output, store::Symlink::Replace)?;
    let mut hasher = blake3::Hasher::new();
    let mut tee = Tee {
        hasher: &mut hasher,
        out: &mut out,
    };
    io::copy(&mut file.take(size + 1), &mut tee)?;
    if !matches(&hasher, digest, size) {
        // Dropped unfinished: the output is removed.
        return Ok(Some(Counter::CorruptCacheEntry));
    }
    out.finish()?;
    Ok(None)
}

/// Hard-links the raw object to a temp name beside `output`, checks the
/// linked file and renames it into place. `None`: no link can be made
/// here (another file system, an output that is not a file), the caller
/// copies instead.
fn link_checked(
    raw: &Path,
    digest: [u8; 32],
    size: u64,
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
        let opened = crate::files::open_cache_file_bounded(tmp, size);
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
    if !holds(tmp.as_file_mut(), digest, size)? {
        return Ok(Some(Some(Counter::CorruptCacheEntry)));
    }
    store::install_output(tmp, output, store::Symlink::Replace)?;
    Ok(Some(None))
}

/// Clones the raw object into a temp file beside `output` (btrfs, XFS),
/// checks the clone and renames it into place. `None`: the file system
/// cannot clone, the caller copies instead.
fn clone_checked(
    raw: &Path,
    digest: [u8; 32],
    size: u64,
    output: &Path,
) -> io::Result<Option<Option<Counter>>> {
    let mut tmp = crate::files::temp_file_for(output)?;
    if !store::clone_file(raw, tmp.as_file()) {
        return Ok(None);
    }
    if !holds(tmp.as_file_mut(), digest, size)? {
        return Ok(Some(Some(Counter::CorruptCacheEntry)));
    }
    store::install_output(tmp, output, store::Symlink::Replace)?;
    Ok(Some(None))
}

/// Whether `file`, just opened or created (read from its start), holds
/// exactly `size` bytes of the given digest; never more than `size + 1`
/// bytes are read.
fn holds(file: &mut fs::File, digest: [u8; 32], size: u64) -> io::Result<bool> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file.take(size + 1))?;
    Ok(matches(&hasher, digest, size))
}

fn matches(hasher: &blake3::Hasher, digest: [u8; 32], size: u64) -> bool {
    hasher.count() == size && hasher.finalize().as_bytes() == &digest
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
