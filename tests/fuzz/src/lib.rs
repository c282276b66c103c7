//! Helpers shared by the fuzz targets in `fuzz_targets/`.
//!
//! Stored files end in a BLAKE3 checksum of everything before it, so bytes
//! mutated at random almost never get past `Format::verify`. `container`
//! wraps fuzzer bytes in a valid envelope instead (the checksum is not a
//! signature: a confused or hostile remote can do the same), honestly or
//! with a header that lies about the payload, so the fuzzer reaches the
//! payload decoders and the decompression paths.

use objcache::key::Key;

/// The key every fuzzed container is sealed for.
pub fn key() -> Key {
    Key::of(b"objcache-fuzz")
}

const HEADER_LEN: usize = 4 + 2 + 1 + 1 + 32 + 8;

/// `Format`'s limit on the payload a file of `magic` declares.
fn max_payload(magic: &[u8; 4]) -> u64 {
    use objcache::disk::{container, inputs, manifest};
    match magic {
        m if m == manifest::MAGIC => manifest::MAX_PAYLOAD,
        m if m == inputs::MAGIC => inputs::MAX_PAYLOAD,
        _ => container::MAX_PAYLOAD,
    }
}

/// The envelope of src/disk/container.rs (docs/formats.md):
/// `magic | version u16 | compression u8 | ns_len u8 | key [32] |
/// payload_len u64 | namespace | body | blake3 of all before it`.
pub fn seal(
    magic: &[u8; 4],
    version: u16,
    compression: u8,
    namespace: &[u8],
    key: &Key,
    payload_len: u64,
    body: &[u8],
) -> Vec<u8> {
    let namespace = &namespace[..namespace.len().min(255)];
    let mut out = Vec::with_capacity(HEADER_LEN + namespace.len() + body.len() + 32);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.push(compression);
    out.push(namespace.len() as u8);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&payload_len.to_le_bytes());
    out.extend_from_slice(namespace);
    out.extend_from_slice(body);
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

fn u64_at(data: &[u8]) -> (u64, &[u8]) {
    let mut b = [0u8; 8];
    let n = data.len().min(8);
    b[..n].copy_from_slice(&data[..n]);
    (u64::from_le_bytes(b), &data[n..])
}

/// A hand-made zstd frame that declares `content_size` (single segment,
/// 8-byte frame content size) followed by `blocks` as the fuzzer wrote
/// them: the fuzzer then controls what the frame claims and what its
/// blocks really produce.
pub fn zstd_frame(content_size: u64, blocks: &[u8]) -> Vec<u8> {
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD, 0xE0];
    out.extend_from_slice(&content_size.to_le_bytes());
    out.extend_from_slice(blocks);
    out
}

/// A sealed container of `magic`/`version` built from fuzzer bytes. The
/// first byte chooses how (low 3 bits) and the namespace length (high bits):
///
/// - 0: the rest is the payload, stored uncompressed;
/// - 1: the rest is the payload, zstd-compressed;
/// - 2: a compression byte and a declared payload length from the fuzzer,
///   then the stored body as it is (the header lies at will);
/// - 3: a declared length from the fuzzer, then the payload, compressed
///   (the frame and the header disagree);
/// - 4: a declared length, then zstd blocks under a frame header that
///   declares the same length (a tiny frame claiming gigabytes);
/// - otherwise: the bytes themselves, unsealed (a checksum mismatch, or
///   a short or foreign file).
pub fn container(data: &[u8], magic: &[u8; 4], version: u16) -> Vec<u8> {
    let Some((&mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    let namespace = vec![b'n'; (mode >> 3) as usize];
    let key = key();
    let seal = |compression, len, body: &[u8]| {
        seal(magic, version, compression, &namespace, &key, len, body)
    };
    match mode & 7 {
        0 => seal(0, rest.len() as u64, rest),
        1 => seal(1, rest.len() as u64, &compress(rest)),
        2 => {
            let (&compression, rest) = rest.split_first().unwrap_or((&0, &[]));
            let (len, body) = u64_at(rest);
            seal(compression, len, body)
        }
        3 => {
            let (len, payload) = u64_at(rest);
            seal(1, len, &compress(payload))
        }
        4 => {
            let (len, blocks) = u64_at(rest);
            // Half the time within Format's limit, so the frame is opened.
            let len = if len & 1 == 0 {
                len % (max_payload(magic) + 1)
            } else {
                len
            };
            seal(1, len, &zstd_frame(len, blocks))
        }
        _ => rest.to_vec(),
    }
}

fn compress(payload: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(payload, 1).expect("zstd compresses any input")
}

/// Fuzzer bytes as text, split on NUL (what an argument or a path can
/// never contain).
pub fn nul_split(data: &[u8]) -> Vec<String> {
    data.split(|&b| b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// The password and token the masking property looks for. `~` is removed
/// from all fuzzer text around them, so any `~` in masked output is (part
/// of) the secret leaking.
pub const SECRET: &str = "Sekr1t~Pw";

/// Ways a secret stands in a `remote_storage` value; `{}` is the secret.
/// Each starts a new word or attribute, so fuzzer text before it cannot
/// turn it into something else (the value of a plain attribute).
const SECRET_FORMS: &[&str] = &[
    " redis://:{}@cache:6379",
    " redis://user:{}@cache/1",
    " @redis://:{}@cache",
    "\nredis://:{}@cache",
    " redis+unix:/run/redis.sock?db=1&pass={}",
    " redis+unix:///run/redis.sock?pass={}&db=2",
    " http://user:{}@cache/objcache",
    "|bearer-token={}",
    "|@bearer-token={}",
    " bearer-token={}",
    " @bearer-token={}",
    "|header=Authorization={}",
    "|header=X-Token:{}",
    // Passwords as a user writes them without percent-encoding: a bad
    // port after them, a space, `/`, `#`, `?`, `|` or `&` inside them, a
    // token as the user name, `${…}` taken for a variable.
    " http://user:{}@cache:x/c",
    " http://user:{} x@cache/c",
    " http://user:x {}@cache/c",
    " http://user:a/{}@cache:1/c",
    " http://user:a#{}@cache/c",
    " http://user:a?{}@cache/c",
    " http://user:a|{}@cache/c",
    " http://{}@cache/c",
    " redis+unix:/run/redis.sock?pass=a&{}",
    " redis://:a${{}}@cache",
];

/// A `remote_storage` value made of fuzzer text with secrets embedded:
/// the text is cut at each 0x01 byte, and a secret form from
/// `SECRET_FORMS` goes into each cut (the first byte picks where in the
/// list to start).
pub fn value_with_secrets(data: &[u8]) -> String {
    let (start, text) = match data.split_first() {
        Some((&b, rest)) => (b as usize, rest),
        None => (0, data),
    };
    let text = String::from_utf8_lossy(text).replace('~', "");
    let mut out = String::new();
    for (i, piece) in text.split('\u{1}').enumerate() {
        if i > 0 {
            let form = SECRET_FORMS[(start + i - 1) % SECRET_FORMS.len()];
            out.push_str(&form.replace("{}", SECRET));
        }
        out.push_str(piece);
    }
    out
}

/// Panics when `shown` (masked output) shows any part of the secret.
pub fn assert_no_secret(what: &str, value: &str, shown: &str) {
    assert!(
        !shown.contains('~'),
        "{what} leaks the secret\n value: {value:?}\n shown: {shown:?}"
    );
}
