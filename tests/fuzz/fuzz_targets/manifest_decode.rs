//! Manifests (src/disk/manifest.rs): `Manifest::decode` on arbitrary
//! bytes and on sealed containers around fuzzer payloads. Never a panic or
//! an absurd allocation; a manifest that decodes encodes to one that
//! decodes equal, and its probe names can be listed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use objcache::disk::manifest::{Manifest, MAGIC, VERSIONS};

fuzz_target!(|data: &[u8]| {
    let key = objcache_fuzz::key();
    // The first byte chooses the version read (the one written, or an
    // older one still read).
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let version = VERSIONS[which as usize % VERSIONS.len()];
    let bytes = objcache_fuzz::container(data, MAGIC, version);
    let Ok(manifest) = Manifest::decode(&bytes, &key) else {
        return;
    };
    for result in &manifest.results {
        // Indices are checked when the candidates are unpacked: listing
        // them cannot panic.
        if let Ok(candidates) = result.probes.candidates() {
            let table = candidates.table();
            for i in 0..result.probes.dirs.len() {
                let _ = candidates.names_of(i, &table).count();
            }
        }
        for dir in &result.probes.dirs {
            let _ = dir.path.resolve("/work/dir");
        }
        for inc in &result.includes {
            let _ = inc.path.resolve("/work/dir");
        }
    }
    for level in [None, Some(1)] {
        let again = manifest.encode(&key, "ns", level).unwrap();
        assert_eq!(Manifest::decode(&again, &key).unwrap(), manifest);
    }
});
