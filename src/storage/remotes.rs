//! The remote backends behind the local store: opened on first use,
//! asked in order on a local miss, sent what `Storage` publishes (new
//! entries, and local hits with `reshare`).

use super::{remote_status, Storage};
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
                                let e = remote::mask_secrets(&e);
                                self.log.note(format!("remote storage: {e}"));
                                self.changes.push((Counter::RemoteStorageError, 1));
                                self.remote_trouble(remote::mask_url(&spec.url), e);
                            }
                        }
                    }
                }
                Err(e) => {
                    let e = remote::mask_secrets(&e);
                    self.log.note(format!("remote storage: {e}"));
                    let value = remote::mask_config_value(&self.remote_spec);
                    self.remote_trouble(value, e);
                }
            }
            self.remotes = Some(opened);
        }
        self.remotes.as_deref().unwrap_or_default()
    }

    /// A backend that could not be used: for `remote-status` and for the
    /// explanation of this call's miss, if it misses.
    fn remote_trouble(&mut self, url: String, reason: String) {
        self.remote_outcome.failed.push((url, reason));
    }

    fn remote_answered(&mut self, url: &str) {
        if !self.remote_outcome.answered.iter().any(|u| u == url) {
            self.remote_outcome.answered.push(url.to_string());
        }
    }

    /// The backends that could not be asked for this call's entries, as
    /// `URL (reason)`: what made a miss if the entry was there.
    pub fn unasked_remotes(&self) -> Vec<String> {
        let failed = &self.remote_outcome.failed;
        failed[..self.lookup_failures.min(failed.len())]
            .iter()
            .map(|(url, why)| format!("{url} ({why})"))
            .collect()
    }

    /// Records in the cache dir what this call learned about its remotes
    /// (`remote_status`); the line to print on stderr, when there is one.
    /// `terminal` is asked only then (a call without remotes makes no
    /// system call here).
    pub fn record_remote_outcome(&mut self, terminal: impl FnOnce() -> bool) -> Option<String> {
        let outcome = std::mem::take(&mut self.remote_outcome);
        // `read_only` writes nothing to the cache dir, not even this.
        let nothing = outcome.failed.is_empty() && outcome.answered.is_empty();
        if nothing || self.policy.read_only() {
            return None;
        }
        let terminal = !outcome.failed.is_empty() && terminal();
        let now = crate::clock::now_ns() / 1_000_000_000;
        remote_status::record(self.local.dir(), &outcome, terminal, now)
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
        let mut failed = Vec::new();
        let mut answered = Vec::new();
        for r in self.remotes().iter().filter(|r| r.usable()) {
            let got = r.get(&entry_name);
            if got.is_ok() {
                answered.push(r.label.clone());
            }
            match got {
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
                    failed.push((r.label.clone(), f.reason.clone()));
                    notes.push(f.message);
                    changes.push((f.counter, 1));
                }
            }
        }
        for n in notes {
            self.log.note(n);
        }
        self.changes.extend(changes);
        self.remote_outcome.failed.extend(failed);
        for url in answered {
            self.remote_answered(&url);
        }
        // Every failure so far kept this call from asking a remote.
        self.lookup_failures = self.remote_outcome.failed.len();
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
        let mut failed = Vec::new();
        let mut answered = Vec::new();
        for r in self.remotes().iter().filter(|r| r.usable() && !r.read_only) {
            match r.put(&entry_name, bytes) {
                Ok(()) => {
                    changes.push((Counter::RemoteStorageWrite, 1));
                    answered.push(r.label.clone());
                }
                Err(f) => {
                    failed.push((r.label.clone(), f.reason.clone()));
                    notes.push(f.message);
                    changes.push((f.counter, 1));
                }
            }
        }
        for n in notes {
            self.log.note(n);
        }
        self.remote_outcome.failed.extend(failed);
        for url in answered {
            self.remote_answered(&url);
        }
        let published = changes
            .iter()
            .any(|(c, _)| *c == Counter::RemoteStorageWrite);
        self.changes.extend(changes);
        published
    }
}
