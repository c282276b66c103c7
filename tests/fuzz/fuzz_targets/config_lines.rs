//! The config file parser (`Config::parse_text`, what `load` runs on each
//! file) and `config::validate` (`-o KEY=VALUE`). Never a panic; and a
//! `remote_storage` value with passwords and tokens in it never shows any
//! part of them through `-p`/`-k` (`Config::entries`/`get`, which use
//! `remote::mask_config_value`) or in a configuration error.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use objcache::config::{keys::KEYS, validate, Config};
use objcache_fuzz::{assert_no_secret, value_with_secrets};

fuzz_target!(|data: &[u8]| {
    // The bytes as a whole config file.
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/fuzz/ccache.conf");
    let mut config = Config::default();
    let mut errors = Vec::new();
    config.parse_text(&text, path, &mut errors);
    for e in &errors {
        let _ = e.to_string();
    }
    for (_, value, origin) in config.entries() {
        let _ = (value.len(), origin.to_string());
    }
    let _ = (
        config.max_size_bytes(),
        config
            .sloppiness
            .has(objcache::config::Sloppiness::TimeMacros),
    );

    // Each line as `-o key=value`, and as the value of some key (each
    // `validate` builds a whole default Config: a few per input, not all
    // keys for every line, keep the target fast).
    let first = data.first().copied().unwrap_or_default() as usize;
    for (i, line) in text.lines().take(8).enumerate() {
        if let Some((k, v)) = line.split_once('=') {
            let _ = validate(k.trim(), v.trim());
        }
        let _ = validate(KEYS[(first + i) % KEYS.len()].name, line.trim());
    }

    // Secrets: the value alone, and as the file's remote_storage line. The
    // fuzzer's newlines are left out: one would put the secret that follows
    // on a line of its own, as the value of another key (`umask = x
    // bearer-token=…`), which an error may quote. The value's own line
    // breaks (`\nredis://:…@cache`) stay: that line has no key.
    let one_line: Vec<u8> = data.iter().copied().filter(|&b| b != b'\n').collect();
    let value = value_with_secrets(&one_line);
    assert_no_secret(
        "mask_config_value",
        &value,
        &objcache::remote::mask_config_value(&value),
    );
    let mut config = Config::default();
    let mut errors = Vec::new();
    let file = format!("max_size = 1G\nremote_storage = {value}\n");
    config.parse_text(&file, path, &mut errors);
    for e in &errors {
        assert_no_secret("a configuration error", &value, &e.to_string());
    }
    assert_no_secret("-k", &value, &config.get("remote_storage").unwrap());
    if let Err(e) = validate("remote_storage", &value) {
        assert_no_secret("-o's error", &value, &e);
    }
});
