//! Manifests read to be updated or merged, as ccache reads them: a local
//! manifest none of whose records matches is merged with the remote one,
//! and the manifest a new record goes into is read as it is stored now.

use super::{Source, Storage};
use crate::disk::manifest::Manifest;
use crate::key::Key;

impl Storage {
    /// The manifest under `key` and where it came from (see `manifest`).
    pub fn manifest_and_source(&mut self, key: &Key) -> Option<(Manifest, Source)> {
        self.manifest_read(key, false, true)
    }

    /// `local` (a local manifest none of whose records matched) with the
    /// remote manifest's records added as the newest, or `None` when no
    /// remote has one. The caller keeps it locally (`update_local_manifest`)
    /// once it is used.
    pub fn merged_with_remote(&mut self, key: &Key, local: &Manifest) -> Option<Manifest> {
        if !self.has_remotes() || self.policy.remote_only {
            return None;
        }
        let verify = |b: &[u8]| Manifest::decode(b, key).map(|_| ());
        let bytes = self.get_remote(key, crate::disk::EntryKind::Manifest, &verify)?;
        let remote = Manifest::decode(&bytes, key).ok()?;
        let mut merged = local.clone();
        for result in remote.results {
            merged.add(result);
        }
        Some(merged)
    }

    /// The manifest a new record goes into, as stored now (another call
    /// may have added to it since this one read it). The read is counted
    /// when this call did not look the manifest up (`recache`), and a
    /// remote copy is not kept locally: the updated one is written next.
    pub(super) fn manifest_to_update(&mut self, key: &Key) -> Option<Manifest> {
        let again = !self.policy.recache;
        self.manifest_read(key, again, false).map(|(m, _)| m)
    }
}
