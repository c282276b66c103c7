//! Cache keys: BLAKE3 digests of delimited fields, the hasher that
//! builds them, and the memo of digests worth keeping between calls. A
//! leaf module: the store names entries by key, the hash module's recipe
//! (`hash::recipe`) computes them, and neither needs the other for it.

use std::fmt;

/// Bump whenever the meaning of a key or of an entry changes, so old entries
/// can never be served under new rules.
pub const FORMAT_VERSION: &str = "objcache-key-5";

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    pub fn of(data: &[u8]) -> Key {
        Key(*blake3::hash(data).as_bytes())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        Key(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// The key spelled as 64 lowercase hex digits (as in entry file names).
    pub fn from_hex(hex: &str) -> Option<Key> {
        // blake3 also takes uppercase digits; file names never have them.
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        blake3::Hash::from_hex(hex).ok().map(|h| Key(*h.as_bytes()))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.to_hex())
    }
}

/// A hasher whose fields are delimited (label and length before each value),
/// so that `["ab", "c"]` and `["a", "bc"]` never hash alike. With `debug` on it
/// also keeps a readable transcript of what went in, for `debug = true`.
pub struct KeyHasher {
    hasher: blake3::Hasher,
    field_len: u64,
    transcript: Option<Vec<u8>>,
    /// Each field by label, compactly (see `FieldValue`), so a miss can be
    /// explained by comparing a call's fields with an earlier call's.
    fields: Vec<(String, String)>,
    current: FieldValue,
}

/// A field's value as a miss explanation shows it: up to `SHORT` bytes of
/// UTF-8 as they are, anything else as `#` and the first 16 hex digits of
/// its BLAKE3 digest (enough to tell a change; the key has the full digest).
#[derive(Default)]
struct FieldValue {
    label: String,
    head: Vec<u8>,
    /// Only once the value outgrows `head`.
    long: Option<Box<blake3::Hasher>>,
}

impl FieldValue {
    const SHORT: usize = 160;

    fn feed(&mut self, value: &[u8]) {
        if let Some(h) = &mut self.long {
            h.update(value);
        } else if self.head.len() + value.len() <= Self::SHORT {
            self.head.extend_from_slice(value);
        } else {
            let mut h = Box::new(blake3::Hasher::new());
            h.update(&self.head);
            h.update(value);
            self.long = Some(h);
        }
    }

    fn take(&mut self) -> (String, String) {
        let label = std::mem::take(&mut self.label);
        let head = std::mem::take(&mut self.head);
        let digest = |h: blake3::Hash| format!("#{}", &h.to_hex()[..16]);
        let text = match (self.long.take(), String::from_utf8(head)) {
            (None, Ok(text)) if !text.contains('\n') => text,
            (None, Ok(text)) => digest(blake3::hash(text.as_bytes())),
            (None, Err(e)) => digest(blake3::hash(e.as_bytes())),
            (Some(h), _) => digest(h.finalize()),
        };
        (label, text)
    }
}

impl KeyHasher {
    pub fn new(debug: bool) -> KeyHasher {
        let mut h = KeyHasher {
            hasher: blake3::Hasher::new(),
            field_len: 0,
            transcript: debug.then(Vec::new),
            fields: Vec::new(),
            current: FieldValue::default(),
        };
        h.field("format", FORMAT_VERSION.as_bytes());
        h
    }

    pub fn field(&mut self, label: &str, value: &[u8]) {
        self.begin(label);
        self.part(value);
        self.end();
    }

    /// Starts a field that is then fed with `part` calls and closed by `end`.
    /// The field's length goes in after it, which keeps streamed fields delimited.
    pub fn begin(&mut self, label: &str) {
        self.hasher.update(label.as_bytes());
        self.hasher.update(&[0]);
        self.field_len = 0;
        self.current.label.push_str(label);
        if let Some(t) = &mut self.transcript {
            t.extend_from_slice(format!("### {label}\n").as_bytes());
        }
    }

    pub fn part(&mut self, value: &[u8]) {
        self.hasher.update(value);
        self.field_len += value.len() as u64;
        self.current.feed(value);
        if let Some(t) = &mut self.transcript {
            t.extend_from_slice(value);
        }
    }

    pub fn end(&mut self) {
        self.hasher.update(&self.field_len.to_le_bytes());
        let field = self.current.take();
        self.fields.push(field);
        if let Some(t) = &mut self.transcript {
            t.push(b'\n');
        }
    }

    /// The fields so far, by label, in order (the format marker first).
    pub fn take_fields(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.fields)
    }

    pub fn finish(self) -> (Key, Option<Vec<u8>>) {
        (Key(*self.hasher.finalize().as_bytes()), self.transcript)
    }
}

/// Largest file whose content goes into a key: larger than any source,
/// header, profile or compiler, and hashed within seconds.
pub const MAX_HASHED_FILE: u64 = 4 << 30;

/// The BLAKE3 digest of a regular file (a source, a header, a compiler,
/// an `extra_files_to_hash` file) of at most `MAX_HASHED_FILE` bytes, read
/// as a stream. Anything else is an error, never read: a FIFO would block
/// (a manifest may name any path as a header, and a header may have been
/// replaced), and a device such as `/dev/zero` or a huge sparse file would
/// hang every compile.
pub fn hash_file_content(path: &std::path::Path) -> std::io::Result<[u8; 32]> {
    let (file, len) = crate::files::open_regular_file(path)?;
    hash_open_file(&file, len)
}

/// `hash_file_content` of a regular file open at its start, `len` bytes long.
pub fn hash_open_file(file: &std::fs::File, len: u64) -> std::io::Result<[u8; 32]> {
    use std::io::{Error, ErrorKind, Read};
    if len > MAX_HASHED_FILE {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("{len} bytes, larger than 4 GiB"),
        ));
    }
    let mut hasher = blake3::Hasher::new();
    // Not past the bound if it grows meanwhile.
    hasher.update_reader(file.take(MAX_HASHED_FILE))?;
    Ok(*hasher.finalize().as_bytes())
}

/// Which digests a memo keeps: each kind in its own directory of the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoKind {
    /// What identifies a compiler (its content, a check command's output).
    Compiler,
    /// The content of a large input that rarely changes (a precompiled header).
    FileDigest,
}

impl MemoKind {
    pub const ALL: [MemoKind; 2] = [MemoKind::Compiler, MemoKind::FileDigest];

    /// The directory of the cache dir that holds this kind's memos.
    pub fn dir_name(self) -> &'static str {
        match self {
            MemoKind::Compiler => "compilers",
            MemoKind::FileDigest => "digests",
        }
    }
}

/// Digests remembered between calls, so that a hit need not compute them
/// again. The storage keeps them (`storage::Storage`), as small cache
/// files read and written safely; what a memo holds for an `id`, and when
/// it may be trusted, is the caller's to decide.
pub trait DigestMemo {
    /// What was remembered for `id`, if anything readable.
    fn recall(&self, kind: MemoKind, id: &[u8]) -> Option<Vec<u8>>;

    /// Remembers `content` for `id`. Best effort: a cache that cannot be
    /// written computes the digest again next time.
    fn remember(&self, kind: MemoKind, id: &[u8], content: &[u8]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_delimited() {
        let key = |parts: &[&[u8]]| {
            let mut h = KeyHasher::new(false);
            for p in parts {
                h.field("arg", p);
            }
            h.finish().0
        };
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        assert_eq!(key(&[b"ab", b"c"]), key(&[b"ab", b"c"]));
    }

    #[test]
    fn fields_are_kept_by_label_short_ones_as_text() {
        let mut h = KeyHasher::new(false);
        h.field("arg", b"-O2");
        h.begin("preprocessed");
        h.part(&[b'x'; 100]);
        h.part(&[b'y'; 100]);
        h.end();
        h.field("digest", &[0xff; 4]);
        let fields = h.take_fields();
        assert_eq!(fields[1], ("arg".to_string(), "-O2".to_string()));
        let mut long = [b'x'; 200];
        long[100..].fill(b'y');
        let want = format!("#{}", &blake3::hash(&long).to_hex()[..16]);
        assert_eq!(fields[2], ("preprocessed".to_string(), want));
        assert_eq!(
            fields[3].1,
            format!("#{}", &blake3::hash(&[0xff; 4]).to_hex()[..16])
        );
    }

    #[test]
    fn hex_round_trip() {
        let k = Key::of(b"x");
        let hex = k.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(Key::from_hex(&hex), Some(k));
        assert_eq!(Key::from_hex(&hex.to_uppercase()), None);
        assert_eq!(Key::from_hex(&hex[1..]), None);
        assert_eq!(Key::from_hex(&format!("{}g", &hex[1..])), None);
    }
}
