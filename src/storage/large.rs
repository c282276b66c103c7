//! Large results kept uncompressed in the local store. With the level left
//! to objcache (`compression_level = 0`, "a suitable level" in ccache's
//! words), a result whose files add up to `UNCOMPRESSED_FROM` or more is
//! stored locally without compression: its hit then reads the entry,
//! checks its BLAKE3 checksum and writes the object in one pass, as the
//! stream of any entry does, instead of spending most of the hit in zstd
//! (docs/benchmarks.md, "Large objects"). The checksum is the same, so is
//! every check of the entry; only the disk cost grows (about 3 to 4 times
//! for such objects). Remotes still get entries compressed at the
//! configured level: their cost is the network, and other machines may
//! use them through a slower link.

use std::borrow::Cow;

use super::Storage;
use crate::disk::container::{peek_body, peek_namespace};
use crate::disk::entry::ResultEntry;
use crate::disk::EntryKind;
use crate::key::Key;
use crate::stats::Counter;

/// The size of a result's files from which the local store keeps it
/// uncompressed, when `compression_level` is 0. zstd costs a hit about
/// 1 ms per MB of object (bench/large.py): below this it is a small part of
/// the hit, and such entries, most of a C cache, keep 3 to 5 times as many
/// in the same space compressed.
pub const UNCOMPRESSED_FROM: u64 = 1 << 20;

/// A result is kept raw only while it is at most this share of `max_size`.
/// Raw, it takes 3 to 5 times the space (far more for objects of mostly
/// zeros): a limit that held such results compressed would otherwise evict
/// each one in the cleanup right after its miss, and never hit again.
const RAW_SHARE_OF_MAX_SIZE: u64 = 16;

/// The level objcache chooses (`compression_level = 0`) for a result whose
/// files add up to `size` bytes in a cache limited to `max_kib` (0: no
/// limit): none from `UNCOMPRESSED_FROM` up to a sixteenth of the limit,
/// else 1.
pub fn chosen_level(size: u64, max_kib: u64) -> Option<i32> {
    let fits = max_kib == 0 || size <= max_kib.saturating_mul(1024) / RAW_SHARE_OF_MAX_SIZE;
    (size < UNCOMPRESSED_FROM || !fits).then_some(1)
}

/// The largest payload rewritten at another level on its way between the
/// local store and a remote: the rewrite holds it in memory about three
/// times, and a remote's 128 MiB answer may declare gigabytes. A larger one
/// is stored or sent as it is, a valid entry either way.
const REENCODE_AT_MOST: u64 = 64 << 20;

impl Storage {
    /// Stores `entry` locally and remotely; a large one (see
    /// `local_level`) is kept uncompressed here and sent compressed.
    pub(super) fn put_result_entry(&mut self, key: &Key, entry: &ResultEntry) -> bool {
        let local_level = self.local_level(entry);
        if local_level == self.level || self.policy.remote_only {
            let Some(bytes) = self.encode_result(key, entry, self.level) else {
                return false;
            };
            return self.put(key, EntryKind::Result, &bytes);
        }
        let kept = (self.encode_result(key, entry, local_level))
            .is_some_and(|bytes| self.put_local(key, EntryKind::Result, &bytes));
        let published = self.has_remotes()
            && (self.encode_result(key, entry, self.level))
                .is_some_and(|bytes| self.publish(key, EntryKind::Result, &bytes));
        kept || published
    }

    fn encode_result(
        &mut self,
        key: &Key,
        entry: &ResultEntry,
        level: Option<i32>,
    ) -> Option<Vec<u8>> {
        match entry.encode(key, &self.namespace, level) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                let hex = key.to_hex();
                self.log.note(format!("could not encode result {hex}: {e}"));
                self.count(Counter::InternalError);
                None
            }
        }
    }

    /// The zstd level a result is stored with locally (`None`:
    /// uncompressed).
    pub(super) fn local_level(&self, entry: &ResultEntry) -> Option<i32> {
        match self.auto_level {
            true => chosen_level(entry.files_size(), self.limits.max_kib),
            false => self.level,
        }
    }

    /// A result from a remote (verified) as the local store keeps it: a
    /// large compressed one is rewritten uncompressed, so that its next
    /// hits are as cheap as those of a result compiled here.
    pub(super) fn local_form<'a>(&self, key: &Key, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match peek_body(bytes) {
            Some((true, len))
                if self.auto_level && chosen_level(len, self.limits.max_kib).is_none() =>
            {
                self.reencoded(key, bytes, None)
            }
            _ => Cow::Borrowed(bytes),
        }
    }

    /// A local result (verified) as the remotes get it: one kept
    /// uncompressed because it is large is compressed at the configured
    /// level.
    pub(super) fn remote_form<'a>(&self, key: &Key, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match peek_body(bytes) {
            Some((false, _)) if self.auto_level => self.reencoded(key, bytes, self.level),
            _ => Cow::Borrowed(bytes),
        }
    }

    /// `bytes` at `level`, with the namespace it was stored with; as it was
    /// if it cannot be decoded (the caller verified it) or encoded, or if
    /// its payload is over `REENCODE_AT_MOST`.
    fn reencoded<'a>(&self, key: &Key, bytes: &'a [u8], level: Option<i32>) -> Cow<'a, [u8]> {
        if peek_body(bytes).is_none_or(|(_, len)| len > REENCODE_AT_MOST) {
            return Cow::Borrowed(bytes);
        }
        let namespace = peek_namespace(bytes).unwrap_or_default();
        let encoded = ResultEntry::decode(bytes, key)
            .ok()
            .and_then(|entry| entry.encode(key, &namespace, level).ok());
        match encoded {
            Some(encoded) => Cow::Owned(encoded),
            None => Cow::Borrowed(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::disk::entry::FileKind;
    use crate::log::Log;

    fn storage(level: i32) -> Storage {
        let mut config = Config::default();
        config.compression_level = level;
        config.max_size = 0;
        Storage::new(&config, Log::new(None))
    }

    fn result(object_len: usize) -> ResultEntry {
        ResultEntry {
            files: vec![(FileKind::Object, vec![1u8; object_len])],
        }
    }

    fn compressed(bytes: &[u8]) -> bool {
        peek_body(bytes).unwrap().0
    }

    #[test]
    fn only_large_results_are_kept_raw_and_only_with_the_level_left_to_us() {
        let (auto, one) = (storage(0), storage(1));
        let large = result(UNCOMPRESSED_FROM as usize);
        assert_eq!(auto.local_level(&large), None);
        assert_eq!(auto.local_level(&result(1000)), Some(1));
        assert_eq!(one.local_level(&large), Some(1));
    }

    #[test]
    fn a_large_result_is_kept_raw_only_within_a_share_of_max_size() {
        let mib = 1 << 20;
        assert_eq!(chosen_level(3 * mib, 0), None, "no limit");
        assert_eq!(chosen_level(3 * mib, 48 * 1024), None, "a sixteenth");
        assert_eq!(chosen_level(3 * mib + 1, 48 * 1024), Some(1));
        assert_eq!(chosen_level(3 * mib, 4 * 1024), Some(1), "-M 4M");
        assert_eq!(chosen_level(mib - 1, 0), Some(1), "small");
    }

    #[test]
    fn entries_are_rewritten_between_local_and_remote_forms_within_bounds() {
        let s = storage(0);
        let key = Key::of(b"k");
        let encode = |e: &ResultEntry, level| e.encode(&key, "ns", level).unwrap();
        let large = result(2 << 20);
        let fetched = encode(&large, Some(1));
        let local = s.local_form(&key, &fetched);
        assert!(!compressed(&local), "a large remote entry is kept raw");
        assert_eq!(
            ResultEntry::decode(&local, &key).unwrap().files,
            large.files
        );
        assert_eq!(peek_namespace(&local).as_deref(), Some("ns"));
        let sent = s.remote_form(&key, &local);
        assert!(compressed(&sent), "and sent compressed");
        assert_eq!(ResultEntry::decode(&sent, &key).unwrap().files, large.files);
        let small = encode(&result(1000), Some(1));
        assert!(matches!(s.local_form(&key, &small), Cow::Borrowed(_)));
        // Past the bound, as it came: no gigabytes in memory for a rewrite.
        let huge = encode(&result(REENCODE_AT_MOST as usize + 1), Some(1));
        assert!(matches!(s.local_form(&key, &huge), Cow::Borrowed(_)));
        assert!(matches!(
            storage(1).local_form(&key, &fetched),
            Cow::Borrowed(_)
        ));
    }
}
