//! Reading and writing entries through the local store and the remote
//! backends, as ccache's manual describes: a local miss asks the remotes in
//! order; a valid remote entry is copied into the local store; a new entry
//! goes to the local store and every writable remote. A local hit never
//! touches a remote (unless `reshare`).

use super::Session;
use crate::hash::Key;
use crate::remote::{self, Remote};
use crate::stats::Counter;
use crate::store::mapped::EntryBytes;
use crate::store::{EntryKind, LocalStore};

/// Where an entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    Local,
    Remote,
}

fn name(key: &Key, kind: EntryKind) -> String {
    let suffix = match kind {
        EntryKind::Result => 'R',
        EntryKind::Manifest => 'M',
        EntryKind::RawObject => 'W',
    };
    format!("{}{suffix}", key.to_hex())
}

impl Session {
    /// The configured remotes, opened on first use. A backend that cannot
    /// be set up is logged, counted and left out.
    fn remotes(&mut self) -> &[Remote] {
        if self.remotes.is_none() {
            let mut opened = Vec::new();
            match remote::parse(&self.config.remote_storage) {
                Ok(specs) => {
                    for spec in specs {
                        match Remote::open(&spec) {
                            Ok(r) => opened.push(r),
                            Err(e) => {
                                self.log
                                    .note(format!("remote storage: {}", remote::mask_secrets(&e)));
                                self.changes.push((Counter::RemoteStorageError, 1));
                            }
                        }
                    }
                }
                Err(e) => self
                    .log
                    .note(format!("remote storage: {}", remote::mask_secrets(&e))),
            }
            self.remotes = Some(opened);
        }
        self.remotes.as_deref().unwrap_or_default()
    }

    pub(super) fn has_remotes(&self) -> bool {
        !self.config.remote_storage.trim().is_empty()
    }

    /// The bytes stored under `key`: local first, then each remote. Remote
    /// bytes are returned only when `verify` accepts them, and are then kept
    /// in the local store. Local bytes are the caller's to verify.
    pub(super) fn fetch(
        &mut self,
        store: &LocalStore,
        key: &Key,
        kind: EntryKind,
        verify: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Option<(EntryBytes, Source)> {
        if !self.config.remote_only {
            match store.get(key, kind) {
                Ok(Some(bytes)) => return Some((bytes, Source::Local)),
                Ok(None) => {}
                Err(e) => {
                    let path = store.path(key, kind);
                    self.log.note(format!("reading {}: {e}", path.display()));
                    if e.kind() == std::io::ErrorKind::InvalidData && !self.config.read_only {
                        // A symlink, FIFO or device planted where an entry
                        // belongs: never read, removed (not followed).
                        let _ = std::fs::remove_file(&path);
                        self.changes.push((Counter::CorruptCacheEntry, 1));
                    }
                }
            }
        }
        if !self.has_remotes() {
            return None;
        }
        let entry_name = name(key, kind);
        let mut found = None;
        let mut notes = Vec::new();
        let mut changes = Vec::new();
        for r in self.remotes().iter().filter(|r| r.usable()) {
            match r.get(&entry_name) {
                Ok(Some(bytes)) => match verify(&bytes) {
                    Ok(()) => {
                        changes.push((Counter::RemoteStorageReadHit, 1));
                        notes.push(format!("remote hit for {entry_name} on {}", r.label));
                        found = Some(bytes);
                        break;
                    }
                    Err(why) => {
                        notes.push(format!("bad entry {entry_name} on {}: {why}", r.label));
                        changes.push((Counter::RemoteStorageError, 1));
                    }
                },
                Ok(None) => changes.push((Counter::RemoteStorageReadMiss, 1)),
                Err(f) => {
                    notes.push(f.message);
                    changes.push((f.counter, 1));
                }
            }
        }
        for n in notes {
            self.log.note(n);
        }
        self.changes.extend(changes);
        let bytes = found?;
        if !self.config.remote_only && !self.config.read_only {
            if let Err(e) = store.put(key, kind, &bytes) {
                self.log
                    .note(format!("keeping a remote entry locally: {e}"));
            } else {
                self.stored = true;
            }
        }
        Some((EntryBytes::Owned(bytes), Source::Remote))
    }

    /// Sends an entry to every writable remote.
    pub(super) fn publish(&mut self, key: &Key, kind: EntryKind, bytes: &[u8]) {
        if !self.has_remotes() || self.config.read_only {
            return;
        }
        let entry_name = name(key, kind);
        let mut notes = Vec::new();
        let mut changes = Vec::new();
        for r in self.remotes().iter().filter(|r| r.usable() && !r.read_only) {
            match r.put(&entry_name, bytes) {
                Ok(()) => changes.push((Counter::RemoteStorageWrite, 1)),
                Err(f) => {
                    notes.push(f.message);
                    changes.push((f.counter, 1));
                }
            }
        }
        for n in notes {
            self.log.note(n);
        }
        self.changes.extend(changes);
    }

    /// Stores an entry locally (unless `remote_only`) and remotely; `true`
    /// when it is stored somewhere.
    pub(super) fn keep(
        &mut self,
        store: &LocalStore,
        key: &Key,
        kind: EntryKind,
        bytes: &[u8],
    ) -> bool {
        if self.config.read_only {
            return false;
        }
        let mut kept = false;
        if !self.config.remote_only {
            match store.put(key, kind, bytes) {
                Ok(_) => {
                    self.stored = true;
                    kept = true;
                    if kind == EntryKind::Result {
                        self.changes.push((Counter::LocalStorageWrite, 1));
                    }
                }
                Err(e) => {
                    self.log.note(format!(
                        "could not store {}: {e}",
                        store.path(key, kind).display()
                    ));
                    self.changes.push((Counter::InternalError, 1));
                    // A full disk may be full of cache: let the limits be checked.
                    self.stored = true;
                }
            }
        }
        if self.has_remotes() {
            let writes_before = self.count_of(Counter::RemoteStorageWrite);
            self.publish(key, kind, bytes);
            kept |= self.count_of(Counter::RemoteStorageWrite) > writes_before;
        }
        kept
    }

    fn count_of(&self, counter: Counter) -> i64 {
        self.changes
            .iter()
            .filter(|(c, _)| *c == counter)
            .map(|(_, d)| d)
            .sum()
    }
}
