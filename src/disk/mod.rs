//! The local store: entries content-addressed by key under the cache dir,
//! fanned out as `<cache_dir>/<k0>/<k1>/<key>R`, written atomically.

pub mod cleanup;
pub mod container;
pub mod digests;
pub mod entry;
pub mod inode_memo;
pub mod inputs;
pub mod manifest;
pub mod output;

pub use output::{clone_file, install_output, write_output, OutputFile, Symlink};
pub mod usage;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::files::{disk_kib, no_symlink_below, temp_file_in};
use crate::key::{DigestMemo, Key, MemoKind};
use crate::stats::{self, Counter};

/// What a stored file is; the letter ends its file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Result,
    Manifest,
    /// A plain object file for `hard_link`/`file_clone`, described by its result.
    RawObject,
    /// What went into the keys of an output's last miss (`inputs::MissInputs`).
    Inputs,
}

impl EntryKind {
    const ALL: [EntryKind; 4] = [
        EntryKind::Result,
        EntryKind::Manifest,
        EntryKind::RawObject,
        EntryKind::Inputs,
    ];

    fn suffix(self) -> char {
        match self {
            EntryKind::Result => 'R',
            EntryKind::Manifest => 'M',
            EntryKind::RawObject => 'W',
            EntryKind::Inputs => 'X',
        }
    }

    /// The largest file of this kind that is read: a result or raw object
    /// may be as large as an object gets, a manifest or miss inputs hold
    /// at most their kind's payload (`manifest::MAX_PAYLOAD`,
    /// `inputs::MAX_PAYLOAD`), with room for the header and for zstd's
    /// overhead on data it cannot compress. A larger file is refused before
    /// it is read.
    pub fn max_len(self) -> u64 {
        const ENVELOPE: u64 = 1 << 20;
        match self {
            EntryKind::Result | EntryKind::RawObject => crate::files::MAX_CACHE_FILE,
            EntryKind::Manifest => manifest::MAX_PAYLOAD + ENVELOPE,
            EntryKind::Inputs => inputs::MAX_PAYLOAD + ENVELOPE,
        }
    }

    /// What a file of this kind starts with (a raw object is the compiler's).
    fn magic(self) -> Option<&'static [u8; 4]> {
        match self {
            EntryKind::Result => Some(entry::MAGIC),
            EntryKind::Manifest => Some(manifest::MAGIC),
            EntryKind::Inputs => Some(inputs::MAGIC),
            EntryKind::RawObject => None,
        }
    }

    /// The entry's file name, in the local store and on every remote.
    pub fn file_name(self, key: &Key) -> String {
        format!("{}{}", key.to_hex(), self.suffix())
    }

    /// The kind and key a file name stands for, if it names an entry.
    pub fn parse_file_name(name: &str) -> Option<(EntryKind, Key)> {
        let suffix = name.chars().last()?;
        let kind = EntryKind::ALL.into_iter().find(|k| k.suffix() == suffix)?;
        let key = Key::from_hex(&name[..name.len() - 1])?;
        Some((kind, key))
    }
}

pub struct LocalStore {
    root: PathBuf,
}

/// What a `put` changed in the size accounting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PutOutcome {
    pub kib_delta: i64,
    pub files_delta: i64,
}

impl LocalStore {
    pub fn new(cache_dir: &Path) -> LocalStore {
        LocalStore {
            root: cache_dir.to_path_buf(),
        }
    }

    /// The cache dir the store lives in.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    pub fn shard_of(key: &Key) -> u8 {
        key.as_bytes()[0] >> 4
    }

    pub fn path(&self, key: &Key, kind: EntryKind) -> PathBuf {
        let name = kind.file_name(key);
        self.root.join(&name[0..1]).join(&name[1..2]).join(name)
    }

    /// The stored bytes, or `None` when there is no entry. Verification is the
    /// caller's: the store only moves bytes.
    pub fn get(&self, key: &Key, kind: EntryKind) -> io::Result<Option<Vec<u8>>> {
        let Some((file, len)) = self.open(key, kind)? else {
            return Ok(None);
        };
        crate::files::read_at_most(file, len, kind.max_len()).map(Some)
    }

    /// The entry file opened for reading and its length, or `None` when
    /// there is none. It must start with the kind's magic: anything else (a
    /// huge sparse file planted there) is refused before it is read (see
    /// also `files::open_cache_file_bounded`).
    ///
    /// Entries are read, never mapped: another process may truncate and
    /// rewrite one in place (a `cp` over a live cache, a sync tool, a
    /// writer of a shared cache that does not rename), and touching a
    /// mapped page past the new end kills the call with SIGBUS, while a
    /// page rewritten after the checksum was verified would reach the
    /// output unverified. What is read is checked by its checksum.
    pub fn open(&self, key: &Key, kind: EntryKind) -> io::Result<Option<(fs::File, u64)>> {
        use std::os::unix::fs::FileExt;
        let path = self.path(key, kind);
        let (file, len) = match crate::files::open_cache_file_bounded(&path, kind.max_len()) {
            Ok(opened) => opened,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Some(magic) = kind.magic() {
            let mut start = [0u8; 4];
            let n = file.read_at(&mut start, 0)?;
            if n < 4 || &start != magic {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "not an objcache entry",
                ));
            }
        }
        Ok(Some((file, len)))
    }

    /// Marks an entry as just used, for least-recently-used eviction.
    pub fn touch(&self, key: &Key, kind: EntryKind) {
        use std::os::unix::ffi::OsStrExt;
        let path = self.path(key, kind);
        let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return;
        };
        // One syscall on the hit path instead of open, futimens and close;
        // a symlink planted in the cache is not followed.
        // SAFETY: a NUL-terminated path and a null `times` (= now).
        unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c_path.as_ptr(),
                std::ptr::null(),
                libc::AT_SYMLINK_NOFOLLOW,
            );
        }
    }

    /// Stores an entry and accounts for it in its shard, under the shard's
    /// lock, so a cleanup walking the same directory never counts it twice.
    /// A new entry is linked into place, so that of two processes storing the
    /// same key only one counts a new file; a replacement counts the size change.
    pub fn put(&self, key: &Key, kind: EntryKind, bytes: &[u8]) -> io::Result<PutOutcome> {
        let path = self.entry_path_ready(key, kind)?;
        let mut tmp = temp_file_in(path.parent().expect("entry paths have a parent"))?;
        tmp.write_all(bytes)?;
        self.place(key, kind, tmp.path())
    }

    /// `put` of the file at `source` itself, hard-linked into place (the
    /// compiler's output, for `hard_link`), if `check` finds the linked
    /// file (opened as a cache file is) to hold what it must. `Ok(None)`:
    /// nothing stored, the caller writes the bytes instead.
    pub fn put_link(
        &self,
        key: &Key,
        kind: EntryKind,
        source: &Path,
        check: impl FnOnce(&mut fs::File) -> io::Result<bool>,
    ) -> io::Result<Option<PutOutcome>> {
        let path = self.entry_path_ready(key, kind)?;
        let linked = crate::files::temp_name_for(&path, |tmp| {
            fs::hard_link(source, tmp)?;
            let opened = crate::files::open_cache_file_bounded(tmp, kind.max_len());
            if opened.is_err() {
                let _ = fs::remove_file(tmp);
            }
            opened.map(|(file, _)| file)
        });
        let Ok(mut tmp) = linked else {
            return Ok(None);
        };
        if !check(tmp.as_file_mut())? {
            return Ok(None);
        }
        self.place(key, kind, tmp.path()).map(Some)
    }

    /// The path of an entry, its directory created (never through a symlink).
    fn entry_path_ready(&self, key: &Key, kind: EntryKind) -> io::Result<PathBuf> {
        let path = self.path(key, kind);
        let dir = path.parent().expect("entry paths have a parent");
        no_symlink_below(&self.root, dir)?;
        fs::create_dir_all(dir)?;
        no_symlink_below(&self.root, dir)?;
        Ok(path)
    }

    /// Links the complete file `tmp` into place as the entry and accounts
    /// for it (see `put`).
    fn place(&self, key: &Key, kind: EntryKind, tmp: &Path) -> io::Result<PutOutcome> {
        let path = self.path(key, kind);
        let new_kib = disk_kib(&fs::symlink_metadata(tmp)?);
        let bucket = key.as_bytes()[0];
        let link = || -> io::Result<PutOutcome> {
            match fs::hard_link(tmp, &path) {
                Ok(()) => Ok(PutOutcome {
                    kib_delta: new_kib as i64,
                    files_delta: 1,
                }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let old_kib = fs::symlink_metadata(&path)
                        .map(|m| disk_kib(&m))
                        .unwrap_or(0);
                    fs::rename(tmp, &path)?;
                    Ok(PutOutcome {
                        kib_delta: new_kib as i64 - old_kib as i64,
                        files_delta: 0,
                    })
                }
                Err(e) => Err(e),
            }
        };
        let linked = std::cell::Cell::new(None);
        let accounted = stats::modify(&self.root, bucket >> 4, |c| {
            if !c.inputs_apart {
                // Best effort: a shard that cannot be counted now is
                // counted by the next store or cleanup walk.
                let _ = cleanup::recount_shard(&self.root, bucket >> 4, c);
            }
            let outcome = link()?;
            linked.set(Some(outcome));
            account(c, bucket, kind, outcome.kib_delta, outcome.files_delta);
            Ok(outcome)
        });
        match (accounted, linked.get()) {
            (Ok(result), _) => result,
            // The shard's stats file is held past the wait or cannot be
            // written (another user's, say): the entry is not stored.
            // Stored unaccounted, it would make the cache grow unseen, past
            // every limit (a cleanup that cannot write the shard cannot
            // account it either). A new file linked before the write failed
            // is taken back; a replaced one keeps its old accounting, off by
            // the difference in size only.
            (Err(e), Some(outcome)) => {
                if outcome.files_delta == 1 {
                    let _ = fs::remove_file(&path);
                }
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// Removes a bad entry and its accounting.
    pub fn remove(&self, key: &Key, kind: EntryKind) {
        let path = self.path(key, kind);
        let bucket = key.as_bytes()[0];
        let _ = stats::modify(&self.root, bucket >> 4, |c| {
            if let Ok(meta) = fs::metadata(&path) {
                if fs::remove_file(&path).is_ok() {
                    account(c, bucket, kind, -(disk_kib(&meta) as i64), -1);
                }
            }
        });
    }
}

/// Memos live beside the buckets, one small file each:
/// `<cache_dir>/<kind's directory>/<BLAKE3 of the id>`. They are not
/// entries: outside the size accounting, never sent to a remote.
impl DigestMemo for LocalStore {
    /// Anything but a small regular file (a FIFO, a link to /dev/zero) is
    /// not read; the caller computes the digest and remembers it over it.
    fn recall(&self, kind: MemoKind, id: &[u8]) -> Option<Vec<u8>> {
        let path = self.memo_path(kind, id);
        crate::files::read_cache_file_bounded(&path, crate::files::MAX_MEMO_FILE).ok()
    }

    /// Never through a symlinked directory (`files::atomic_write_below`).
    fn remember(&self, kind: MemoKind, id: &[u8], content: &[u8]) {
        let path = self.memo_path(kind, id);
        let _ = crate::files::atomic_write_below(&self.root, &path, content);
    }
}

impl LocalStore {
    fn memo_path(&self, kind: MemoKind, id: &[u8]) -> PathBuf {
        let name = blake3::hash(id).to_hex();
        self.root.join(kind.dir_name()).join(name.as_str())
    }
}

/// Applies a size change of `files` files of `kind` to a shard's totals
/// and to the bucket's usage. Miss inputs are counted apart from the files
/// `files_in_cache` counts (ccache's count, which `max_files` limits); their
/// size counts like any entry's.
pub fn account(c: &mut stats::Counters, bucket: u8, kind: EntryKind, kib: i64, files: i64) {
    let total_kib = c.get(Counter::CacheSizeKibibyte).saturating_add_signed(kib);
    c.set(Counter::CacheSizeKibibyte, total_kib);
    let counter = match kind {
        EntryKind::Inputs => Counter::MissInputsInCache,
        _ => Counter::FilesInCache,
    };
    c.set(counter, c.get(counter).saturating_add_signed(files));
    let b = &mut c.buckets[usize::from(bucket & 0xf)];
    b.kib = b.kib.saturating_add_signed(kib);
    match kind {
        EntryKind::Inputs => b.inputs = b.inputs.saturating_add_signed(files),
        _ => b.files = b.files.saturating_add_signed(files),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_and_accounting() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let key = Key::of(b"x");
        let r = EntryKind::Result;
        assert!(store.get(&key, r).unwrap().is_none());
        let mut entry = entry::MAGIC.to_vec();
        entry.resize(10000, 7);
        let first = store.put(&key, r, &entry).unwrap();
        assert_eq!(first.files_delta, 1);
        assert!(first.kib_delta >= 8);
        let again = store.put(&key, r, &entry).unwrap();
        assert_eq!((again.files_delta, again.kib_delta), (0, 0));
        assert_eq!(store.get(&key, r).unwrap().unwrap().len(), 10000);
        assert!(store.get(&key, EntryKind::Manifest).unwrap().is_none());
        let shard = stats::read_total(dir.path());
        assert_eq!(shard.get(Counter::FilesInCache), 1);
        store.remove(&key, r);
        assert!(store.get(&key, r).unwrap().is_none());
        let shard = stats::read_total(dir.path());
        assert_eq!(shard.get(Counter::FilesInCache), 0);
        assert_eq!(shard.get(Counter::CacheSizeKibibyte), 0);
    }

    #[test]
    fn planted_entry_files_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let key = Key::of(b"x");
        let plant = |kind: EntryKind, len: u64, start: &[u8]| {
            let path = store.path(&key, kind);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let _ = fs::remove_file(&path);
            let mut f = fs::File::create(&path).unwrap();
            f.write_all(start).unwrap();
            f.set_len(len).unwrap();
        };
        let refused = |kind| store.get(&key, kind).map(|_| ()).unwrap_err().kind();
        // Starting as an entry of its kind, but larger than one can be.
        plant(
            EntryKind::Manifest,
            EntryKind::Manifest.max_len() + 1,
            manifest::MAGIC,
        );
        assert_eq!(refused(EntryKind::Manifest), io::ErrorKind::InvalidData);
        plant(
            EntryKind::Inputs,
            EntryKind::Inputs.max_len() + 1,
            inputs::MAGIC,
        );
        assert_eq!(refused(EntryKind::Inputs), io::ErrorKind::InvalidData);
        // Not an entry at all.
        plant(EntryKind::Result, 1 << 30, b"\0\0\0\0");
        assert_eq!(refused(EntryKind::Result), io::ErrorKind::InvalidData);
        let path = store.path(&key, EntryKind::Result);
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        assert_eq!(refused(EntryKind::Result), io::ErrorKind::InvalidData);
        let (file, len) = {
            fs::remove_file(&path).unwrap();
            plant(EntryKind::Result, 100, entry::MAGIC);
            store.open(&key, EntryKind::Result).unwrap().unwrap()
        };
        assert_eq!((file.metadata().unwrap().len(), len), (100, 100));
        assert!(store
            .get(&Key::of(b"y"), EntryKind::Result)
            .unwrap()
            .is_none());
    }

    #[test]
    fn entry_file_names_round_trip() {
        let key = Key::of(b"x");
        for kind in EntryKind::ALL {
            let name = kind.file_name(&key);
            assert_eq!(name.len(), 65);
            assert_eq!(EntryKind::parse_file_name(&name), Some((kind, key)));
        }
        assert_eq!(
            EntryKind::parse_file_name(&format!("{}Q", key.to_hex())),
            None
        );
        assert_eq!(EntryKind::parse_file_name("R"), None);
        assert_eq!(EntryKind::parse_file_name(".objcache-tmp.aR"), None);
    }
}
