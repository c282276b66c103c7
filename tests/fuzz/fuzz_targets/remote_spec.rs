//! The `remote_storage` parser and the maskers (src/remote/mod.rs):
//! `parse`, `mask_config_value`, `mask_url`, `mask_secrets` and
//! `percent_decode`, and `Remote::open`. Never a panic; masking never
//! shows any part of a password or token the value embeds, in masked
//! values, masked URLs, parse errors, errors opening a backend or masked
//! error messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use objcache::remote::{
    mask_config_value, mask_secrets, mask_url, parse, percent_decode, Remote,
};
use objcache_fuzz::{assert_no_secret, value_with_secrets};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(specs) = parse(&text) {
        for spec in &specs {
            let _ = (spec.timeouts(), spec.read_only(), spec.attr("layout"));
        }
    }
    let _ = (
        mask_config_value(&text),
        mask_url(&text),
        mask_secrets(&text),
    );
    let decoded = percent_decode(&text);
    if !text.contains('%') {
        assert_eq!(decoded, text);
    }

    let value = value_with_secrets(data);
    assert_no_secret("mask_config_value", &value, &mask_config_value(&value));
    match parse(&value) {
        Err(e) => assert_no_secret("parse's error", &value, &e),
        Ok(specs) => {
            for spec in &specs {
                // What `Remote::open` labels the backend with.
                assert_no_secret("mask_url", &value, &mask_url(&spec.url));
                if let Err(e) = spec.timeouts() {
                    assert_no_secret("a timeout error", &value, &e);
                }
                // Opening connects to nothing and creates nothing; its
                // errors are logged through `mask_secrets`.
                if let Err(e) = Remote::open(spec) {
                    assert_no_secret("Remote::open's error", &value, &mask_secrets(&e));
                }
            }
        }
    }
    // Error messages from backends name the URL they failed on.
    for word in value.split_whitespace() {
        let url = word.split('|').next().unwrap_or_default();
        if url.contains("://") && url.split("://").next().unwrap().ends_with("redis") {
            let message = format!("failed to connect to {url}: refused");
            assert_no_secret("mask_secrets", &value, &mask_secrets(&message));
        }
    }
});
