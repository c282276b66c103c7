//! Manifests (src/disk/manifest.rs): `Manifest::decode` on arbitrary
//! bytes and on sealed containers around fuzzer payloads. Never a panic or
//! an absurd allocation; a manifest that decodes encodes to one that
//! decodes equal, and its probe names can be listed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use objcache::disk::manifest::{Manifest, MAGIC};

fuzz_target!(|data: &[u8]| {
    let key = objcache_fuzz::key();
    let bytes = objcache_fuzz::container(data, MAGIC, 3);
    let Ok(manifest) = Manifest::decode(&bytes, &key) else {
        return;
    };
    for result in &manifest.results {
        // Indices were checked at decode time: listing them cannot panic.
        let table = result.probes.name_table();
        for dir in &result.probes.dirs {
            let _ = result.probes.names_of(dir, &table).count();
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
