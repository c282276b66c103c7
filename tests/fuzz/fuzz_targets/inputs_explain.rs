//! Miss inputs and miss explanations (src/disk/inputs.rs,
//! src/explain.rs): `MissInputs::decode` on sealed containers around
//! fuzzer payloads, and `explain` comparing any two field lists, as a miss
//! does with miss inputs read from the cache. Never a panic or an absurd
//! allocation; miss inputs that decode encode to ones that decode equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use objcache::explain::{explain, Context};
use objcache::disk::inputs::{MissInputs, MAGIC, VERSIONS};

fuzz_target!(|data: &[u8]| {
    let key = objcache_fuzz::key();
    // The first byte chooses the version read (the one written, or an
    // older one still read).
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let version = VERSIONS[which as usize % VERSIONS.len()];
    let bytes = objcache_fuzz::container(data, MAGIC, version);
    let Ok(inputs) = MissInputs::decode(&bytes, &key) else {
        return;
    };
    for level in [None, Some(1)] {
        let again = inputs.encode(&key, "ns", level).unwrap();
        assert_eq!(MissInputs::decode(&again, &key).unwrap(), inputs);
    }
    // The fields against themselves, against its second half, and reversed.
    let base = objcache::paths::BaseDirs::parse("/work").ok().flatten();
    let ctx = Context {
        base_dir: base.as_ref(),
        compiler_check: "mtime",
        time_macro: Some("__DATE__"),
        direct_miss: None,
    };
    let fields = &inputs.fields;
    let half = &fields[fields.len() / 2..];
    let reversed: Vec<_> = fields.iter().rev().cloned().collect();
    for other in [&fields[..], half, &reversed[..]] {
        let e = explain(fields, other, &ctx);
        assert!(!e.text.is_empty());
    }
});
