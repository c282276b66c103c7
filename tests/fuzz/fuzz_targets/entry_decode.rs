//! Result entries (src/disk/entry.rs): `ResultEntry::decode` and the
//! streaming `ResultStream` on arbitrary bytes and on sealed containers
//! around fuzzer payloads. Never a panic, never an allocation sized from a
//! declared length rather than from the data (libFuzzer's
//! `-malloc_limit_mb`, set by scripts/fuzz.sh, turns one into a crash).
#![no_main]

use libfuzzer_sys::fuzz_target;
use objcache::disk::entry::{FileKind, ResultEntry, ResultStream, MAGIC, VERSIONS};

fuzz_target!(|data: &[u8]| {
    let key = objcache_fuzz::key();
    let bytes = objcache_fuzz::container(data, MAGIC, VERSIONS[0]);
    let decoded = ResultEntry::decode(&bytes, &key);
    let _ = objcache::disk::container::peek_namespace(&bytes);

    let streamed = stream(&bytes);
    // The two readers agree on what a valid entry holds.
    if let (Ok(entry), Ok(files)) = (&decoded, &streamed) {
        let digests: Vec<_> = entry
            .files
            .iter()
            .map(|(kind, data)| (*kind, blake3::hash(data)))
            .collect();
        assert_eq!(&digests, files);
    }
    if let Ok(entry) = decoded {
        // A decoded entry encodes to one that decodes the same.
        for level in [None, Some(1)] {
            let again = entry.encode(&key, "ns", level).unwrap();
            assert_eq!(ResultEntry::decode(&again, &key).unwrap(), entry);
        }
    }
});

/// Reads an entry the way a hit does: the object through `copy_to` (into
/// a hasher, as it would go to a file: a small frame may hold 100 MiB of
/// zeros), the rest with `read_small`. Each file as its BLAKE3 digest.
fn stream(bytes: &[u8]) -> Result<Vec<(FileKind, blake3::Hash)>, String> {
    let mut s = ResultStream::open(bytes, &objcache_fuzz::key())?;
    let mut files = Vec::new();
    while let Some((kind, len)) = s.next_file()? {
        let digest = if kind == FileKind::Object {
            let mut out = blake3::Hasher::new();
            s.copy_to(len, &mut out).map_err(|e| format!("{e:?}"))?;
            out.finalize()
        } else {
            blake3::hash(&s.read_small(len)?)
        };
        files.push((kind, digest));
    }
    s.finish()?;
    Ok(files)
}
