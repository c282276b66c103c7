//! The cache as one compile sees it: the local store and the remote
//! backends behind one policy (`read_only`, `read_only_direct`,
//! `remote_only`, `reshare`, `recache`), as ccache's manual describes them.
//! A local miss asks the remotes in order; a valid remote entry is copied
//! into the local store; a new entry goes to the local store and every
//! writable remote; a local hit never touches a remote unless `reshare`.
//!
//! Every outcome is counted here (the `*_storage_*` counters) and handed to
//! the caller with `take_changes`, so the policy is tested without a compiler.

use crate::config::Config;
use crate::key::{DigestMemo, Key, MemoKind};
use crate::log::Log;
use crate::remote::{self, Remote};
use crate::stats::Counter;
use crate::store::entry::{FileKind, ResultEntry};
use crate::store::inputs::{self, MissInputs};
use crate::store::manifest::{Manifest, ManifestResult};
use crate::store::{EntryKind, LocalStore};

/// Results from this size on are streamed from their file rather than
/// read whole: below it one read is as cheap.
const STREAM_FROM: u64 = 64 * 1024;

/// A result entry as `Storage::get_result` hands it out.
pub enum StoredResult {
    Bytes(Vec<u8>),
    /// A local entry file opened for reading, and its length.
    File(std::fs::File, u64),
}

/// Where an entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Local,
    Remote,
}

/// What the configuration allows the cache to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Read, never write (neither local nor remote, not even `touch`).
    pub read_only: bool,
    /// As `read_only`, and results are only looked up through direct
    /// mode's manifests (the caller skips preprocessor-mode lookups).
    pub read_only_direct: bool,
    /// The remotes only: the local store is neither read nor written.
    pub remote_only: bool,
    /// A local hit is also sent to the remotes.
    pub reshare: bool,
    /// Never serve a stored entry; store new ones as usual.
    pub recache: bool,
}

impl Policy {
    pub fn of(config: &Config) -> Policy {
        Policy {
            read_only: config.read_only,
            read_only_direct: config.read_only_direct,
            remote_only: config.remote_only,
            reshare: config.reshare,
            recache: config.recache,
        }
    }

    /// Nothing is written anywhere, not even a `touch`.
    fn read_only(&self) -> bool {
        self.read_only || self.read_only_direct
    }
}

pub struct Storage {
    local: LocalStore,
    policy: Policy,
    /// The `remote_storage` value; the backends are opened on first use.
    remote_spec: String,
    remotes: Option<Vec<Remote>>,
    log: Log,
    changes: Vec<(Counter, i64)>,
    /// Something was written to the local store: its size limits may need
    /// enforcing.
    wrote_locally: bool,
    /// Reads are not counted (`reread`): ccache reads a manifest once per call.
    quiet: bool,
}

impl Storage {
    pub fn new(local: LocalStore, policy: Policy, remote_spec: &str, log: Log) -> Storage {
        Storage {
            local,
            policy,
            remote_spec: remote_spec.to_string(),
            remotes: None,
            log,
            changes: Vec::new(),
            wrote_locally: false,
            quiet: false,
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn has_remotes(&self) -> bool {
        !self.remote_spec.trim().is_empty()
    }

    /// The counter changes so far, handed over once.
    pub fn take_changes(&mut self) -> Vec<(Counter, i64)> {
        std::mem::take(&mut self.changes)
    }

    pub fn wrote_locally(&self) -> bool {
        self.wrote_locally
    }

    /// May entries be written? Callers ask before preparing one; `put` and
    /// `update_local` ask again.
    pub fn may_write(&self) -> bool {
        !self.policy.read_only()
    }

    fn count(&mut self, counter: Counter) {
        self.changes.push((counter, 1));
    }

    /// Counts one read of an entry file, as ccache does: every manifest and
    /// result looked up is a read hit or a read miss.
    fn count_read(&mut self, counter: Counter) {
        if !self.quiet {
            self.count(counter);
        }
    }

    /// The configured remotes, opened on first use. A backend that cannot
    /// be set up is logged, counted and left out.
    fn remotes(&mut self) -> &[Remote] {
        if self.remotes.is_none() {
            let mut opened = Vec::new();
            match remote::parse(&self.remote_spec) {
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

    /// The bytes stored under `key`: local first, then each remote. Remote
    /// bytes are returned only when `verify` accepts them, and are then kept
    /// in the local store. Local bytes are the caller's to verify (and to
    /// `discard` when bad).
    pub fn get(
        &mut self,
        key: &Key,
        kind: EntryKind,
        verify: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Option<(Vec<u8>, Source)> {
        self.get_as(key, kind, verify, |local| local.get(key, kind), |b| b)
    }

    /// A result as `get` finds it, a large local one left open to be
    /// streamed and checked as it is read (`ResultStream::open_file`): a
    /// hit then never holds the whole object in memory. With `reshare` it
    /// is read whole, to be sent to the remotes.
    pub fn get_result(
        &mut self,
        key: &Key,
        verify: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Option<(StoredResult, Source)> {
        let kind = EntryKind::Result;
        let stream = !self.policy.reshare;
        let local = |local: &LocalStore| match local.open(key, kind)? {
            Some((file, len)) if stream && len >= STREAM_FROM => {
                Ok(Some(StoredResult::File(file, len)))
            }
            Some((file, len)) => crate::files::read_at_most(file, len, kind.max_len())
                .map(|b| Some(StoredResult::Bytes(b))),
            None => Ok(None),
        };
        self.get_as(key, kind, verify, local, StoredResult::Bytes)
    }

    fn get_as<T>(
        &mut self,
        key: &Key,
        kind: EntryKind,
        verify: &dyn Fn(&[u8]) -> Result<(), String>,
        local: impl FnOnce(&LocalStore) -> std::io::Result<Option<T>>,
        remote: impl FnOnce(Vec<u8>) -> T,
    ) -> Option<(T, Source)> {
        if !self.policy.remote_only {
            match local(&self.local) {
                Ok(Some(bytes)) => {
                    self.count_read(Counter::LocalStorageReadHit);
                    if kind == EntryKind::Result && !self.quiet {
                        self.count(Counter::LocalStorageHit);
                    }
                    return Some((bytes, Source::Local));
                }
                Ok(None) => self.count_read(Counter::LocalStorageReadMiss),
                Err(e) => {
                    self.count_read(Counter::LocalStorageReadMiss);
                    let path = self.local.path(key, kind);
                    self.log.note(format!("reading {}: {e}", path.display()));
                    if e.kind() == std::io::ErrorKind::InvalidData && !self.policy.read_only() {
                        // A symlink, FIFO or device planted where an entry
                        // belongs: never read, removed (not followed).
                        let _ = std::fs::remove_file(&path);
                        self.count(Counter::CorruptCacheEntry);
                    }
                }
            }
        }
        let bytes = self.get_remote(key, kind, verify)?;
        if !self.policy.remote_only && !self.policy.read_only() {
            match self.local.put(key, kind, &bytes) {
                Ok(_) => {
                    self.wrote_locally = true;
                    self.count(Counter::LocalStorageWrite);
                }
                Err(e) => self
                    .log
                    .note(format!("keeping a remote entry locally: {e}")),
            }
        }
        Some((remote(bytes), Source::Remote))
    }

    /// `get` without counting the reads: the same entry read a second time
    /// in one call (a manifest merged before it is rewritten).
    pub fn reread(
        &mut self,
        key: &Key,
        kind: EntryKind,
        verify: &dyn Fn(&[u8]) -> Result<(), String>,
    ) -> Option<(Vec<u8>, Source)> {
        self.quiet = true;
        let got = self.get(key, kind, verify);
        self.quiet = false;
        got
    }

    fn get_remote(
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
    fn publish(&mut self, key: &Key, kind: EntryKind, bytes: &[u8]) -> bool {
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

    /// Stores a new entry locally (unless `remote_only`) and remotely;
    /// `true` when it is stored somewhere.
    pub fn put(&mut self, key: &Key, kind: EntryKind, bytes: &[u8]) -> bool {
        if self.policy.read_only() {
            return false;
        }
        let kept = !self.policy.remote_only && self.put_local(key, kind, bytes);
        let published = self.publish(key, kind, bytes);
        kept || published
    }

    fn put_local(&mut self, key: &Key, kind: EntryKind, bytes: &[u8]) -> bool {
        // A full disk may be full of cache: a failed write checks the limits too.
        self.wrote_locally = true;
        match self.local.put(key, kind, bytes) {
            Ok(_) => {
                // Manifests count as well: every entry file written.
                self.count(Counter::LocalStorageWrite);
                true
            }
            Err(e) => {
                self.log.note(format!(
                    "could not store {}: {e}",
                    self.local.path(key, kind).display()
                ));
                // A stats lock held by another process is counted as such.
                if !crate::stats::is_locked(&e) {
                    self.count(Counter::InternalError);
                }
                false
            }
        }
    }

    /// The manifest stored under `key`; a corrupt one is removed and
    /// counted. `again`: this call read it before, so the read is not
    /// counted a second time (nor reshared).
    pub fn manifest(&mut self, key: &Key, again: bool) -> Option<Manifest> {
        let verify = |b: &[u8]| Manifest::decode(b, key).map(|_| ());
        let (bytes, source) = if again {
            self.reread(key, EntryKind::Manifest, &verify)?
        } else {
            self.get(key, EntryKind::Manifest, &verify)?
        };
        match Manifest::decode(&bytes, key) {
            Ok(m) => {
                // With `reshare`, as ccache does, a local manifest goes to
                // the remotes with the result it leads to: without it,
                // other machines get no direct hits from them.
                if self.policy.reshare && source == Source::Local && !again {
                    self.publish(key, EntryKind::Manifest, &bytes);
                }
                Some(m)
            }
            Err(why) => {
                let hex = key.to_hex();
                self.log
                    .note(format!("corrupt manifest {hex} ({why}): removed"));
                self.discard(key, EntryKind::Manifest, source);
                None
            }
        }
    }

    /// Adds `result` to the manifest under `key` as it is stored now
    /// (another call may have added to it since this one read it), locally
    /// and remotely.
    pub fn add_to_manifest(
        &mut self,
        key: &Key,
        result: ManifestResult,
        namespace: &str,
        level: Option<i32>,
    ) {
        if !self.may_write() {
            return;
        }
        let mut manifest = self.manifest(key, true).unwrap_or_default();
        manifest.add(result);
        match manifest.encode(key, namespace, level) {
            Ok(bytes) => {
                self.put(key, EntryKind::Manifest, &bytes);
            }
            Err(e) => {
                let hex = key.to_hex();
                self.log
                    .note(format!("could not encode manifest {hex}: {e}"));
                self.count(Counter::InternalError);
            }
        }
    }

    /// The miss inputs kept under `key` in the local store, if there are
    /// valid ones. Reads of objcache's own bookkeeping are not counted.
    pub fn miss_inputs(&self, key: &Key) -> Option<MissInputs> {
        let bytes = self.local.get(key, EntryKind::Inputs).ok()??;
        MissInputs::decode(&bytes, key).ok()
    }

    /// Stores a miss's inputs locally, stamped with the moment the
    /// miss started (see `store::inputs`): in the size counters like any
    /// entry, but not one of ccache's storage writes, and never sent to a
    /// remote.
    pub fn put_miss_inputs(
        &mut self,
        key: &Key,
        inputs: &MissInputs,
        namespace: &str,
        level: Option<i32>,
    ) {
        if self.policy.read_only() || self.policy.remote_only {
            return;
        }
        let kind = EntryKind::Inputs;
        let path = self.local.path(key, kind);
        let stored = inputs
            .encode(key, namespace, level)
            .map_err(|e| format!("could not encode the miss inputs: {e}"))
            .and_then(|bytes| {
                (self.local.put(key, kind, &bytes))
                    .map_err(|e| format!("could not write {}: {e}", path.display()))
            });
        match stored {
            Ok(_) => {
                self.wrote_locally = true;
                let _ = inputs::stamp_missed_at(&path, inputs);
            }
            Err(e) => self.log.note(e),
        }
    }

    /// Replaces an entry in the local store only (a manifest that learned
    /// new stamps on a hit: a hit sends nothing to the remotes).
    pub fn update_local(&mut self, key: &Key, kind: EntryKind, bytes: &[u8]) {
        if self.policy.read_only() || self.policy.remote_only {
            return;
        }
        match self.local.put(key, kind, bytes) {
            Ok(_) => {
                self.wrote_locally = true;
                self.count(Counter::LocalStorageWrite);
            }
            Err(e) => self.log.note(format!(
                "could not update {}: {e}",
                self.local.path(key, kind).display()
            )),
        }
    }

    /// Marks a local entry as just used, for least-recently-used eviction.
    pub fn touch(&self, key: &Key, kind: EntryKind) {
        if !self.policy.read_only() {
            self.local.touch(key, kind);
        }
    }

    /// Marks a served result used; with `reshare`, a local hit is also sent
    /// to the remotes. A local result was counted as a local storage hit
    /// when it was read; a remote one is a remote hit and, as in ccache, a
    /// local storage miss (unless the local store is not used).
    pub fn served(&mut self, key: &Key, source: Source, stored: &StoredResult) {
        match source {
            Source::Local => {
                self.touch(key, EntryKind::Result);
                // `get_result` read the whole entry to reshare it; one whose
                // object is a raw file beside it is no use elsewhere.
                if let (true, StoredResult::Bytes(bytes)) = (self.policy.reshare, stored) {
                    let raw = |e: ResultEntry| e.files.iter().any(|f| f.0 == FileKind::RawObject);
                    if ResultEntry::decode(bytes, key).is_ok_and(|e| !raw(e)) {
                        self.publish(key, EntryKind::Result, bytes);
                    }
                }
            }
            Source::Remote => {
                self.count(Counter::RemoteStorageHit);
                if !self.policy.remote_only {
                    self.count(Counter::LocalStorageMiss);
                }
            }
        }
    }

    /// Counts a call that missed (once per call, as ccache does): a miss
    /// of the local store unless it is not used, and of the remotes.
    pub fn missed(&mut self) {
        if self.has_remotes() {
            self.count(Counter::RemoteStorageMiss);
        }
        if !self.policy.remote_only {
            self.count(Counter::LocalStorageMiss);
        }
    }

    /// An entry that failed to decode: counted, and removed when it came
    /// from the local store (a remote's is only skipped).
    pub fn discard(&mut self, key: &Key, kind: EntryKind, source: Source) {
        self.count(Counter::CorruptCacheEntry);
        if !self.policy.read_only() && source == Source::Local {
            self.local.remove(key, kind);
        }
    }

    /// Raw objects (`hard_link`/`file_clone`) live beside the local entry;
    /// remote storage needs self-contained entries.
    pub fn keeps_raw_objects(&self) -> bool {
        !self.policy.remote_only && !self.has_remotes() && !self.policy.read_only()
    }

    pub fn put_raw_object(&mut self, key: &Key, object: &[u8]) -> bool {
        match self.local.put(key, EntryKind::RawObject, object) {
            Ok(_) => {
                self.wrote_locally = true;
                true
            }
            Err(e) => {
                self.log
                    .note(format!("could not store the raw object: {e}"));
                false
            }
        }
    }

    /// Where the raw object of `key` lives.
    pub fn raw_object_path(&self, key: &Key) -> std::path::PathBuf {
        self.local.path(key, EntryKind::RawObject)
    }

    /// A result whose raw object is missing or damaged: counted; the result
    /// and what is left of its object are removed.
    pub fn discard_raw_object(&mut self, key: &Key, counter: Counter) {
        self.count(counter);
        if !self.policy.read_only() {
            self.local.remove(key, EntryKind::Result);
            self.local.remove(key, EntryKind::RawObject);
        }
    }

    /// Marks a raw object used after a hit put it in place, read-only or
    /// not: with `hard_link` the output shares its inode, and a fresh mtime
    /// keeps make from seeing an object older than its source.
    pub fn touch_raw_object(&self, key: &Key) {
        self.local.touch(key, EntryKind::RawObject);
    }

    /// The raw object of `key` opened for reading, and its length: refused
    /// unread when it is longer than the `size` its result records (see
    /// `crate::files::open_cache_file_bounded`).
    pub fn open_raw_object(&self, key: &Key, size: u64) -> std::io::Result<(std::fs::File, u64)> {
        crate::files::open_cache_file_bounded(&self.raw_object_path(key), size)
    }
}

/// The memos of the compiler's identity and of precompiled headers live
/// in the local store's directory, whatever the policy: they are no
/// entries, and a remote has no use for them.
impl DigestMemo for Storage {
    fn recall(&self, kind: MemoKind, id: &[u8]) -> Option<Vec<u8>> {
        self.local.recall(kind, id)
    }

    fn remember(&self, kind: MemoKind, id: &[u8], content: &[u8]) {
        self.local.remember(kind, id, content)
    }
}

#[cfg(test)]
mod tests;
