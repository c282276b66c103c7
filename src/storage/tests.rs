//! The policy against a real local store and a real `file:` remote.

use super::*;
use crate::disk::{entry, manifest};
use std::path::Path;

struct Fixture {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    local: std::path::PathBuf,
    remote: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    Fixture {
        local: local.path().to_path_buf(),
        remote: remote.path().to_path_buf(),
        _dirs: (local, remote),
    }
}

impl Fixture {
    fn storage(&self, policy: Policy, remote: &str) -> Storage {
        let spec = match remote {
            "" => String::new(),
            attrs => format!("file:{}{attrs}", self.remote.display()),
        };
        Storage::new(&self.config(policy, &spec), Log::new(None))
    }

    /// The configuration that gives `policy` and the remotes `spec`.
    fn config(&self, policy: Policy, spec: &str) -> Config {
        let mut config = Config::default();
        config.cache_dir = self.local.clone();
        config.remote_storage = spec.to_string();
        config.read_only = policy.read_only;
        config.read_only_direct = policy.read_only_direct;
        config.remote_only = policy.remote_only;
        config.reshare = policy.reshare;
        config.recache = policy.recache;
        assert_eq!(Policy::of(&config), policy);
        config
    }

    fn with_remote(&self, policy: Policy) -> Storage {
        self.storage(policy, "|layout=flat")
    }

    fn in_remote(&self, key: &Key, kind: EntryKind) -> bool {
        self.remote.join(kind.file_name(key)).exists()
    }

    fn in_local(&self, key: &Key, kind: EntryKind) -> bool {
        LocalStore::new(&self.local).path(key, kind).exists()
    }
}

fn result_bytes() -> Vec<u8> {
    let mut b = entry::MAGIC.to_vec();
    b.extend_from_slice(b"payload");
    b
}

fn manifest_bytes() -> Vec<u8> {
    let mut b = manifest::MAGIC.to_vec();
    b.extend_from_slice(b"payload");
    b
}

fn count(changes: &[(Counter, i64)], counter: Counter) -> i64 {
    changes
        .iter()
        .filter(|(c, _)| *c == counter)
        .map(|(_, d)| d)
        .sum()
}

fn accept(_: &[u8]) -> Result<(), String> {
    Ok(())
}

const R: EntryKind = EntryKind::Result;
const M: EntryKind = EntryKind::Manifest;

#[test]
fn put_stores_locally_and_remotely() {
    let f = fixture();
    let mut s = f.with_remote(Policy::default());
    let key = Key::of(b"a");
    assert!(s.put(&key, R, &result_bytes()));
    assert!(f.in_local(&key, R) && f.in_remote(&key, R));
    assert!(s.wrote_locally());
    let changes = s.take_changes();
    assert_eq!(count(&changes, Counter::LocalStorageWrite), 1);
    assert_eq!(count(&changes, Counter::RemoteStorageWrite), 1);
    let (_, source) = s.get(&key, R, &accept).unwrap();
    assert_eq!(source, Source::Local);
}

#[test]
fn read_only_writes_nothing_anywhere() {
    let f = fixture();
    let key = Key::of(b"a");
    let mut s = f.with_remote(Policy {
        read_only: true,
        ..Policy::default()
    });
    assert!(!s.put(&key, R, &result_bytes()));
    assert!(!f.in_local(&key, R) && !f.in_remote(&key, R));
    // A remote hit is served but not copied into the local store.
    f.with_remote(Policy::default())
        .publish(&key, R, &result_bytes());
    let (_, source) = s.get(&key, R, &accept).unwrap();
    assert_eq!(source, Source::Remote);
    assert!(!f.in_local(&key, R));
    assert!(!s.wrote_locally());
    // Nor is a bad local entry removed.
    std::fs::create_dir_all(LocalStore::new(&f.local).path(&key, M).parent().unwrap()).unwrap();
    std::fs::write(LocalStore::new(&f.local).path(&key, M), manifest_bytes()).unwrap();
    s.discard(&key, M, Source::Local);
    assert!(f.in_local(&key, M));
    assert_eq!(count(&s.take_changes(), Counter::CorruptCacheEntry), 1);
}

#[test]
fn remote_only_skips_the_local_store() {
    let f = fixture();
    let key = Key::of(b"a");
    let mut s = f.with_remote(Policy {
        remote_only: true,
        ..Policy::default()
    });
    assert!(s.put(&key, R, &result_bytes()), "stored remotely counts");
    assert!(!f.in_local(&key, R) && f.in_remote(&key, R));
    let (_, source) = s.get(&key, R, &accept).unwrap();
    assert_eq!(source, Source::Remote);
    assert!(!f.in_local(&key, R), "not copied locally");
    assert!(!s.keeps_raw_objects());
    let changes = s.take_changes();
    assert_eq!(count(&changes, Counter::LocalStorageWrite), 0);
    assert_eq!(count(&changes, Counter::RemoteStorageReadHit), 1);
}

#[test]
fn a_remote_hit_is_verified_and_kept_locally() {
    let f = fixture();
    let key = Key::of(b"a");
    f.with_remote(Policy {
        remote_only: true,
        ..Policy::default()
    })
    .put(&key, R, &result_bytes());
    let mut s = f.with_remote(Policy::default());
    let reject = |_: &[u8]| Err("bad".to_string());
    assert!(s.get(&key, R, &reject).is_none());
    assert_eq!(count(&s.take_changes(), Counter::RemoteStorageError), 1);
    assert!(!f.in_local(&key, R));
    let (bytes, source) = s.get(&key, R, &accept).unwrap();
    assert_eq!((&bytes[..], source), (&result_bytes()[..], Source::Remote));
    assert!(f.in_local(&key, R) && s.wrote_locally());
    let (_, again) = s.get(&key, R, &accept).unwrap();
    assert_eq!(again, Source::Local);
    assert_eq!(count(&s.take_changes(), Counter::RemoteStorageReadHit), 1);
}

#[test]
fn a_remote_miss_is_counted_per_backend() {
    let f = fixture();
    let other = tempfile::tempdir().unwrap();
    let spec = format!(
        "file:{} file:{}",
        f.remote.display(),
        other.path().display()
    );
    let mut s = Storage::new(&f.config(Policy::default(), &spec), Log::new(None));
    assert!(s.get(&Key::of(b"x"), R, &accept).is_none());
    s.missed();
    let changes = s.take_changes();
    assert_eq!(count(&changes, Counter::RemoteStorageReadMiss), 2);
    assert_eq!(count(&changes, Counter::RemoteStorageMiss), 1);
    assert_eq!(count(&changes, Counter::LocalStorageMiss), 1);
}

#[test]
fn reshare_sends_local_hits_to_the_remotes() {
    let f = fixture();
    let key = Key::of(b"a");
    // Large enough to be streamed from its file unless it is reshared,
    // and a valid entry holding its object (a raw one is not reshared).
    let object = (entry::FileKind::Object, vec![7; 200_000]);
    let large = (entry::ResultEntry {
        files: vec![object],
    })
    .encode(&key, "", None)
    .unwrap();
    f.storage(Policy::default(), "").put(&key, R, &large);
    for reshare in [false, true] {
        let mut s = f.with_remote(Policy {
            reshare,
            ..Policy::default()
        });
        let (stored, source) = s.get_result(&key, &accept).unwrap();
        match &stored {
            StoredResult::Bytes(bytes) => assert!(reshare && bytes == &large),
            StoredResult::File(_, len) => assert!(!reshare && *len == large.len() as u64),
        }
        s.served(&key, source, &stored);
        assert_eq!(f.in_remote(&key, R), reshare);
        let changes = s.take_changes();
        assert_eq!(count(&changes, Counter::LocalStorageHit), 1);
        assert_eq!(
            count(&changes, Counter::RemoteStorageWrite),
            i64::from(reshare)
        );
    }
}

#[test]
fn read_only_direct_reads_and_writes_nothing() {
    let f = fixture();
    let key = Key::of(b"a");
    f.with_remote(Policy::default())
        .put(&key, M, &manifest_bytes());
    let mut s = f.with_remote(Policy {
        read_only_direct: true,
        ..Policy::default()
    });
    assert!(!s.may_write());
    assert!(!s.put(&key, R, &result_bytes()));
    s.update_local_manifest(&key, &Manifest::default());
    assert!(!f.in_local(&key, R) && !f.in_remote(&key, R));
    let (_, source) = s.get(&key, M, &accept).unwrap();
    assert_eq!(source, Source::Local);
    s.discard(&key, M, Source::Local);
    assert!(f.in_local(&key, M), "nothing removed either");
    assert!(!s.keeps_raw_objects());
}

#[test]
fn learned_stamps_stay_local() {
    let f = fixture();
    let key = Key::of(b"a");
    let mut s = f.with_remote(Policy::default());
    s.update_local_manifest(&key, &Manifest::default());
    assert!(f.in_local(&key, M) && !f.in_remote(&key, M));
    assert!(s.manifest(&key, false).is_some(), "encoded as a manifest");
    let mut remote_only = f.with_remote(Policy {
        remote_only: true,
        ..Policy::default()
    });
    let other = Key::of(b"b");
    remote_only.update_local_manifest(&other, &Manifest::default());
    assert!(!f.in_local(&other, M) && !f.in_remote(&other, M));
}

#[test]
fn a_bad_local_entry_is_removed_a_remote_one_kept() {
    let f = fixture();
    let key = Key::of(b"a");
    let mut s = f.with_remote(Policy::default());
    s.put(&key, R, &result_bytes());
    s.discard(&key, R, Source::Remote);
    assert!(f.in_local(&key, R) && f.in_remote(&key, R));
    s.discard(&key, R, Source::Local);
    assert!(!f.in_local(&key, R) && f.in_remote(&key, R));
    assert_eq!(count(&s.take_changes(), Counter::CorruptCacheEntry), 2);
}

#[test]
fn a_planted_symlink_is_removed_not_followed() {
    let f = fixture();
    let key = Key::of(b"a");
    let path = LocalStore::new(&f.local).path(&key, R);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let target = f.remote.join("target");
    std::fs::write(&target, result_bytes()).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let mut s = f.storage(Policy::default(), "");
    assert!(s.get(&key, R, &accept).is_none());
    assert!(std::fs::symlink_metadata(&path).is_err(), "link removed");
    assert!(Path::new(&target).exists(), "target untouched");
    assert_eq!(count(&s.take_changes(), Counter::CorruptCacheEntry), 1);
}

#[test]
fn an_unopenable_remote_is_counted_and_left_out() {
    let f = fixture();
    let config = f.config(Policy::default(), "file:relative/dir");
    let mut s = Storage::new(&config, Log::new(None));
    assert!(s.get(&Key::of(b"a"), R, &accept).is_none());
    assert_eq!(count(&s.take_changes(), Counter::RemoteStorageError), 1);
}

#[test]
fn raw_objects_only_without_remotes() {
    let f = fixture();
    assert!(f.storage(Policy::default(), "").keeps_raw_objects());
    assert!(!f.with_remote(Policy::default()).keeps_raw_objects());
    let key = Key::of(b"a");
    let mut s = f.storage(Policy::default(), "");
    assert!(s.put_raw_object(&key, b"object"));
    let (file, len) = s.open_raw_object(&key, 6).unwrap();
    assert_eq!(
        (crate::files::read_at_most(file, len, 6).unwrap(), len),
        (b"object".to_vec(), 6)
    );
    assert!(s.open_raw_object(&key, 5).is_err(), "longer than recorded");
}

/// With `hard_link`, a result stored keeps its object as a raw file and
/// refers to it; a hit puts it in place (here as a copy, for `file_clone`
/// on a file system that cannot clone). One that does not match its
/// reference, or is gone, is counted and removed with its result.
#[test]
fn a_raw_object_is_stored_beside_its_result_and_checked_on_a_hit() {
    let f = fixture();
    let key = Key::of(b"a");
    let object = (entry::FileKind::Object, b"object".to_vec());
    let result = entry::ResultEntry {
        files: vec![object],
    };
    for (hard_link, file_clone) in [(true, false), (false, true)] {
        let mut config = f.config(Policy::default(), "");
        (config.hard_link, config.file_clone) = (hard_link, file_clone);
        let mut s = Storage::new(&config, Log::new(None));
        assert!(s.put_result(&key, &result, None));
        let (bytes, _) = s.get(&key, R, &accept).unwrap();
        let stored = entry::ResultEntry::decode(&bytes, &key).unwrap();
        let reference = entry::RawObjectRef::of(b"object");
        let refers = (entry::FileKind::RawObject, reference.encode());
        assert_eq!(stored.files, [refers]);
        let output = f.remote.join("a.o");
        assert!(s.install_raw_object(&key, reference, &output).unwrap());
        assert_eq!(std::fs::read(&output).unwrap(), b"object");
        let other = entry::RawObjectRef::of(b"objecT");
        assert!(!s.install_raw_object(&key, other, &output).unwrap());
        assert!(!f.in_local(&key, R) && !f.in_local(&key, EntryKind::RawObject));
        assert!(!s.install_raw_object(&key, reference, &output).unwrap());
        let changes = s.take_changes();
        assert_eq!(count(&changes, Counter::CorruptCacheEntry), 1);
        assert_eq!(count(&changes, Counter::MissingCacheFile), 1);
    }
}

#[test]
fn every_entry_read_and_written_is_counted_once() {
    let f = fixture();
    let mut s = f.storage(Policy::default(), "");
    let (key, mkey) = (Key::of(b"r"), Key::of(b"m"));
    assert!(s.get(&mkey, M, &accept).is_none());
    assert!(s.get(&key, R, &accept).is_none());
    assert!(s.put(&key, R, &result_bytes()));
    assert!(s.put(&mkey, M, &manifest_bytes()));
    // The manifest merged before it is rewritten is not read a second time.
    assert!(s.reread(&mkey, M, &accept).is_some());
    s.missed();
    let changes = s.take_changes();
    assert_eq!(count(&changes, Counter::LocalStorageReadMiss), 2);
    assert_eq!(count(&changes, Counter::LocalStorageReadHit), 0);
    assert_eq!(count(&changes, Counter::LocalStorageWrite), 2);
    assert_eq!(count(&changes, Counter::LocalStorageMiss), 1);
    assert!(s.get(&mkey, M, &accept).is_some());
    assert!(s.get(&key, R, &accept).is_some());
    let changes = s.take_changes();
    assert_eq!(count(&changes, Counter::LocalStorageReadHit), 2);
    assert_eq!(count(&changes, Counter::LocalStorageHit), 1, "results only");
}

#[test]
fn miss_inputs_stay_local_stamped_and_untouched_when_read_only() {
    let f = fixture();
    let key = MissInputs::key_for("a.o", "a.c", "");
    let miss = |time_ns| MissInputs {
        time_ns,
        output: "/w/a.o".into(),
        ..MissInputs::default()
    };
    let mut s = f.with_remote(Policy::default());
    assert_eq!(s.miss_inputs(&key), None);
    s.put_miss_inputs(&key, &miss(5_000_000_000));
    assert_eq!(s.miss_inputs(&key), Some(miss(5_000_000_000)));
    assert!(!f.in_remote(&key, EntryKind::Inputs));
    // Bookkeeping: no ccache storage counter moves.
    assert!(s.take_changes().is_empty());
    let path = LocalStore::new(&f.local).path(&key, EntryKind::Inputs);
    assert_eq!(inputs::hit_since(&path, &miss(5_000_000_000)), Some(false));
    s.touch(&key, EntryKind::Inputs);
    assert_eq!(inputs::hit_since(&path, &miss(5_000_000_000)), Some(true));

    // Read-only: the old miss inputs are read, neither replaced nor restamped.
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut ro = f.storage(
        Policy {
            read_only: true,
            ..Policy::default()
        },
        "",
    );
    ro.put_miss_inputs(&key, &miss(6_000_000_000));
    assert_eq!(ro.miss_inputs(&key), Some(miss(5_000_000_000)));
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
}
