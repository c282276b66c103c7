//! The cache as one compile sees it: the local store and the remote
//! backends behind one policy (`read_only`, `read_only_direct`,
//! `remote_only`, `reshare`, `recache`), as ccache's manual describes them.
//! A local miss asks the remotes in order; a valid remote entry is copied
//! into the local store; a new entry goes to the local store and every
//! writable remote; a local hit never touches a remote unless `reshare`.
//!
//! Every outcome is counted here (the `*_storage_*` counters) and handed to
//! the caller with `take_changes`, so the policy is tested without a compiler.
//!
//! Every cache file a compile reads or writes goes through here: entries
//! (encoded here, with the configuration's namespace and compression),
//! raw objects (`raw_object`), miss inputs, the memos, the statistics
//! shards and the cleanup that keeps the cache within its limits.

pub mod large;
mod merge;
mod raw_object;
pub mod remote_status;
mod remotes;
pub use remotes::helper_search;

use crate::config::Config;
use crate::disk::cleanup::{self, Limits};
use crate::disk::entry::{FileKind, ResultEntry};
use crate::disk::inode_memo::InodeMemo;
use crate::disk::inputs::{self, MissInputs};
use crate::disk::manifest::{Manifest, ManifestResult};
use crate::disk::{EntryKind, LocalStore};
use crate::key::{DigestMemo, Key, MemoKind};
use crate::log::Log;
use crate::remote::Remote;
use crate::stats::{self, Counter};

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
    /// How entries are written: the configuration's `namespace`, and the
    /// zstd level (`None`: uncompressed).
    namespace: String,
    level: Option<i32>,
    /// The level is objcache's to choose (`compression_level = 0`): large
    /// results are kept uncompressed locally (see `large`).
    auto_level: bool,
    /// `hard_link` and `file_clone`: how a result's object is kept and
    /// put in place (see `raw_object`).
    hard_link: bool,
    file_clone: bool,
    /// `max_size`, `max_files` and the rest, enforced after a write.
    limits: Limits,
    /// `stats`: whether calls are counted in the statistics shards.
    stats: bool,
    /// The `remote_storage` value; the backends are opened on first use.
    remote_spec: String,
    /// Where storage helper programs are looked for (`libexec_dirs`).
    helper_search: crate::remote::HelperSearch,
    remotes: Option<Vec<Remote>>,
    /// What this call learned about its remotes, for `remote_status`.
    remote_outcome: remote_status::Outcome,
    /// How many of `remote_outcome.failed` came before or during a lookup.
    lookup_failures: usize,
    log: Log,
    changes: Vec<(Counter, i64)>,
    /// The level-1 directories (bit `x` for `<x>/`) written to in the
    /// local store: their shares of the size limits may need enforcing.
    wrote_shards: u16,
    /// Reads are not counted (`reread`): ccache reads a manifest once per call.
    quiet: bool,
    /// `inode_cache`: header digests by file identity, opened on first use.
    inode_memo: Option<std::rc::Rc<InodeMemo>>,
}

/// The zstd level entries are written with (`None`: uncompressed).
fn compression_level(config: &Config) -> Option<i32> {
    config
        .compression
        .then_some(match config.compression_level {
            0 => 1,
            l => l,
        })
}

impl Storage {
    /// The cache as `config` describes it. Nothing is opened yet.
    pub fn new(config: &Config, log: Log) -> Storage {
        Storage {
            local: LocalStore::new(&config.cache_dir),
            policy: Policy::of(config),
            namespace: config.namespace.clone(),
            level: compression_level(config),
            auto_level: config.compression && config.compression_level == 0,
            hard_link: config.hard_link,
            file_clone: config.file_clone,
            limits: Limits::from_config(config),
            stats: config.stats,
            remote_spec: config.remote_storage.clone(),
            helper_search: remotes::helper_search(config),
            remotes: None,
            remote_outcome: remote_status::Outcome::default(),
            lookup_failures: 0,
            log,
            changes: Vec::new(),
            wrote_shards: 0,
            quiet: false,
            inode_memo: config.inode_cache.then(|| {
                let writable = !Policy::of(config).read_only();
                std::rc::Rc::new(InodeMemo::new(&config.cache_dir, writable))
            }),
        }
    }

    /// The inode memo, when `inode_cache` is on. Like the other memos it
    /// lives in the local cache dir whatever the policy but `read_only`
    /// (read, never written), and is never sent to a remote.
    pub fn inode_memo(&self) -> Option<std::rc::Rc<InodeMemo>> {
        self.inode_memo.clone()
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
        self.wrote_shards != 0
    }

    /// Notes that `key`'s level-1 directory was written to.
    fn wrote(&mut self, key: &Key) {
        self.wrote_shards |= 1 << crate::disk::LocalStore::shard_of(key);
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
        self.get_as(key, kind, verify, |local| local.get(key, kind), |b| b, true)
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
        self.get_as(key, kind, verify, local, StoredResult::Bytes, true)
    }

    /// `keep`: a remote entry is kept in the local store.
    fn get_as<T>(
        &mut self,
        key: &Key,
        kind: EntryKind,
        verify: &dyn Fn(&[u8]) -> Result<(), String>,
        local: impl FnOnce(&LocalStore) -> std::io::Result<Option<T>>,
        remote: impl FnOnce(Vec<u8>) -> T,
        keep: bool,
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
        if keep && !self.policy.remote_only && !self.policy.read_only() {
            let local = match kind {
                EntryKind::Result => self.local_form(key, &bytes),
                _ => std::borrow::Cow::Borrowed(&bytes[..]),
            };
            match self.local.put(key, kind, &local) {
                Ok(_) => {
                    self.wrote(key);
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

    /// Stores a new entry locally (unless `remote_only`) and remotely;
    /// `true` when it is stored somewhere.
    fn put(&mut self, key: &Key, kind: EntryKind, bytes: &[u8]) -> bool {
        if self.policy.read_only() {
            return false;
        }
        let kept = !self.policy.remote_only && self.put_local(key, kind, bytes);
        let published = self.publish(key, kind, bytes);
        kept || published
    }

    fn put_local(&mut self, key: &Key, kind: EntryKind, bytes: &[u8]) -> bool {
        // A full disk may be full of cache: a failed write checks the limits too.
        self.wrote(key);
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
        self.manifest_read(key, again, true).map(|(m, _)| m)
    }

    /// `manifest`, and where it came from; `keep`: a remote one is kept in
    /// the local store.
    fn manifest_read(&mut self, key: &Key, again: bool, keep: bool) -> Option<(Manifest, Source)> {
        let verify = |b: &[u8]| Manifest::decode(b, key).map(|_| ());
        let kind = EntryKind::Manifest;
        self.quiet = again;
        let got = self.get_as(key, kind, &verify, |l| l.get(key, kind), |b| b, keep);
        self.quiet = false;
        let (bytes, source) = got?;
        match Manifest::decode(&bytes, key) {
            Ok(m) => {
                // With `reshare`, as ccache does, a local manifest goes to
                // the remotes with the result it leads to: without it,
                // other machines get no direct hits from them.
                if self.policy.reshare && source == Source::Local && !again {
                    self.publish(key, EntryKind::Manifest, &bytes);
                }
                Some((m, source))
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
    pub fn add_to_manifest(&mut self, key: &Key, result: ManifestResult) {
        if !self.may_write() {
            return;
        }
        let mut manifest = self.manifest_to_update(key).unwrap_or_default();
        if self.policy.recache && !self.has_remotes() && manifest.has_equivalent(&result) {
            // As in ccache: the recompiled result replaced its entry, and the
            // manifest (local: no remotes) already leads to it; it is left
            // byte for byte.
            return;
        }
        manifest.add(result);
        match manifest.encode(key, &self.namespace, self.level) {
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
    /// miss started (see `disk::inputs`): in the size counters like any
    /// entry, but not one of ccache's storage writes, and never sent to a
    /// remote.
    pub fn put_miss_inputs(&mut self, key: &Key, inputs: &MissInputs) {
        if self.policy.read_only() || self.policy.remote_only {
            return;
        }
        let kind = EntryKind::Inputs;
        let path = self.local.path(key, kind);
        let stored = inputs
            .encode(key, &self.namespace, self.level)
            .map_err(|e| format!("could not encode the miss inputs: {e}"))
            .and_then(|bytes| {
                (self.local.put(key, kind, &bytes))
                    .map_err(|e| format!("could not write {}: {e}", path.display()))
            });
        match stored {
            Ok(_) => {
                self.wrote(key);
                let _ = inputs::stamp_missed_at(&path, inputs);
            }
            Err(e) => self.log.note(e),
        }
    }

    /// Stores a result (locally and remotely), its object as a raw file
    /// beside it when `hard_link` or `file_clone` ask for one and the
    /// policy allows (see `raw_object`; `written`: the file the compiler
    /// wrote the object to), a large one uncompressed locally (`large`);
    /// `true` when it is stored somewhere.
    pub fn put_result(
        &mut self,
        key: &Key,
        entry: &ResultEntry,
        written: Option<&std::path::Path>,
    ) -> bool {
        if !self.may_write() {
            return false;
        }
        let with_raw = self.put_raw_object_of(key, entry, written);
        let entry = with_raw.as_ref().unwrap_or(entry);
        self.put_result_entry(key, entry)
    }

    /// Replaces a manifest in the local store only (one merged with a
    /// remote one, or one with a new record: a hit sends nothing to the
    /// remotes).
    pub fn update_local_manifest(&mut self, key: &Key, manifest: &Manifest) {
        if self.policy.read_only() || self.policy.remote_only {
            return;
        }
        let bytes = match manifest.encode(key, &self.namespace, self.level) {
            Ok(bytes) => bytes,
            Err(e) => {
                let hex = key.to_hex();
                self.log
                    .note(format!("could not update manifest {hex}: {e}"));
                return;
            }
        };
        let kind = EntryKind::Manifest;
        match self.local.put(key, kind, &bytes) {
            Ok(_) => {
                self.wrote(key);
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
                        let sent = self.remote_form(key, bytes);
                        self.publish(key, EntryKind::Result, &sent);
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

    /// After a call that wrote to the local store: enforces the size
    /// limits, evicting the least recently used entries when the cache is
    /// over one (`disk::cleanup`). What it did, or why it could not, goes
    /// to the log.
    pub fn clean_up(&self) {
        if self.wrote_shards == 0 {
            return;
        }
        match cleanup::enforce_if_needed(self.local.dir(), &self.limits, self.wrote_shards) {
            Ok(Some(swept)) => self.log.note(format!(
                "cleanup: removed {} files ({} KiB)",
                swept.files, swept.kib
            )),
            Ok(None) => {}
            Err(e) => self.log.note(format!("cleanup failed: {e}")),
        }
    }

    /// Adds a call's counter changes to the statistics shard `shard`
    /// (not with `stats = false`, nor without a cache dir).
    pub fn add_to_stats(&self, shard: u8, changes: &[(Counter, i64)]) {
        let dir = self.local.dir();
        if !self.stats || changes.is_empty() || dir.as_os_str().is_empty() {
            return;
        }
        if let Err(e) = stats::update(dir, shard, &self.namespace, changes) {
            let dir = dir.display();
            self.log
                .note(format!("could not update statistics in {dir}: {e}"));
        }
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
