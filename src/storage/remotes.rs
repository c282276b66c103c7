//! The remote backends behind the local store: opened on first use,
//! asked in order on a local miss, sent what `Storage` publishes (new
//! entries, and local hits with `reshare`).

use super::Storage;
use crate::config::Config;
use crate::disk::EntryKind;
use crate::key::Key;
use crate::remote::{self, HelperSearch, Remote};
use crate::stats::Counter;

/// Where `config` says storage helper programs are looked for.
pub fn helper_search(config: &Config) -> HelperSearch {
    HelperSearch {
        libexec_dirs: config.libexec_dirs.iter().map(Into::into).collect(),
    }
}

impl Storage {
    /// The configured remotes, opened on first use. A backend that cannot
    /// be set up is logged, counted and left out.
    fn remotes(&mut self) -> &[Remote] {
        if self.remotes.is_none() {
            let mut opened = Vec::new();
            match remote::parse(&self.remote_spec) {
                Ok(specs) => {
                    for spec in specs {
                        match Remote::open_with(&spec, &self.helper_search) {
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

    pub(super) fn get_remote(
        &mut self,
        key: &Key,
        kind: EntryKind,
        verify: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Option<Vec<u8>> {
        if !self.has_remotes() {
            return None;
        }
        let entry_name = kind.file_name(key);
        let mut found = None;
        let mut notes = Vec::new();
        let mut changes = Vec::new();
        let quiet = self.quiet;
        for r in self.remotes().iter().filter(|r| r.usable()) {
            match r.get(&entry_name) {
                Ok(Some(bytes)) => match verify(&bytes) {
                    Ok(()) => {
                        if !quiet {
                            changes.push((Counter::RemoteStorageReadHit, 1));
                        }
                        notes.push(format!("remote hit for {entry_name} on {}", r.label));
                        found = Some(bytes);
                        break;
                    }
                    Err(why) => {
                        notes.push(format!("bad entry {entry_name} on {}: {why}", r.label));
                        changes.push((Counter::RemoteStorageError, 1));
                    }
                },
                Ok(None) => {
                    if !quiet {
                        changes.push((Counter::RemoteStorageReadMiss, 1));
                    }
                }
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
        found
    }

    /// Sends an entry to every writable remote; `true` when one took it.
    pub(super) fn publish(&mut self, key: &Key, kind: EntryKind, bytes: &[u8]) -> bool {
        if !self.has_remotes() || self.policy.read_only() {
            return false;
        }
        let entry_name = kind.file_name(key);
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
        let published = changes
            .iter()
            .any(|(c, _)| *c == Counter::RemoteStorageWrite);
        self.changes.extend(changes);
        published
    }
}
