//! Stored dependency files (src/depfile.rs): `StoredDepfile::decode`, `render` and
//! `map_back` on fuzzer bytes, and the round trip
//! `StoredDepfile::new(body, cwd, targets, family).encode()` → `decode`.
//!
//! Input: a flag byte (bit 0: clang, bit 1: a base_dir of `/`), then
//! `cwd \0 targets \0 body`, the targets separated by 0x01.
#![no_main]

use libfuzzer_sys::fuzz_target;
use objcache::compiler::Family;
use objcache::depfile::{map_back, StoredDepfile};
use objcache::paths::BaseDirs;

fuzz_target!(|data: &[u8]| {
    let base = BaseDirs::one("/");
    if let Some(stored) = StoredDepfile::decode(data) {
        let again = StoredDepfile::decode(&stored.encode()).expect("an encoded .d decodes");
        assert_eq!(again, stored);
        let _ = stored.render("/elsewhere/dir", &["x.o".to_string()], Some(&base));
    }

    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let family = if flags & 1 == 0 {
        Family::Gcc
    } else {
        Family::Clang
    };
    let base_dir = (flags & 2 != 0).then_some(&base);
    let mut parts = rest.splitn(3, |&b| b == 0);
    let cwd = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let targets: Vec<String> = parts
        .next()
        .unwrap_or_default()
        .split(|&b| b == 1)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
    let body = parts.next().unwrap_or_default().to_vec();

    let stored = StoredDepfile::new(body.clone(), &cwd, &targets, family);
    let decoded = StoredDepfile::decode(&stored.encode()).expect("an encoded .d decodes");
    assert_eq!(decoded, stored, "the .d read back is the one stored");
    // Where and for what it was written, the stored bytes come back as they were.
    assert_eq!(decoded.render(&cwd, &targets, base_dir), Some(body.clone()));
    let _ = decoded.render("/other/checkout", &targets, base_dir);
    let _ = decoded.render(&cwd, &["other.o".to_string()], base_dir);

    // Nothing mapped: nothing changes.
    assert_eq!(map_back(&body, family, |_| None), None);
    let _ = map_back(&body, family, |d| {
        d.strip_prefix("rel/").map(|r| format!("/abs/dir/{r}"))
    });
});
