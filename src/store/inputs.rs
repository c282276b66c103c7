//! The input record of a compile: what went into its keys, field by field
//! and compactly (see `key::KeyHasher::take_fields`), kept per output file
//! so that the next miss for that output can be explained by comparing the
//! two. Stored as an entry of its own kind (`X`) with the call's namespace,
//! so it counts toward the cache size and is evicted like any other entry;
//! never sent to a remote.
//!
//! ```text
//! payload = time_ns u64 | output str | source str | explanation str
//!           | field_count u32 | (label str | value str) * field_count
//! str     = len u64 | UTF-8 bytes
//! ```
//!
//! The record file's mtime says whether the output hit since its last
//! miss: the miss stores the record stamped with the moment it started
//! (`stamp_missed_at`), and a hit touches the record as it touches its
//! entries, leaving a newer mtime (`hit_since`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::container::{Format, Reader, Writer};
use crate::key::Key;

pub const MAGIC: &[u8; 4] = b"OBJX";
const FORMAT: Format = Format {
    magic: MAGIC,
    version: 1,
    max_payload: MAX_PAYLOAD,
};

/// The largest record: a record only explains a miss, and its fields (the
/// arguments, the compiler, the headers' digests) take a few hundred KiB
/// at most. A larger one is not stored, and one claiming more is refused
/// before it is decompressed.
pub const MAX_PAYLOAD: u64 = 16 << 20;

/// At most this many fields are stored (the rest are dropped, and a
/// decoded record claiming more is refused): a record only explains a miss.
pub const MAX_FIELDS: usize = 20_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputRecord {
    /// When the compile started (ns since the epoch).
    pub time_ns: u64,
    /// The output and the source as the call named them.
    pub output: String,
    pub source: String,
    /// Why this compile missed, in words ("" for the first of its output).
    pub explanation: String,
    pub fields: Vec<(String, String)>,
}

impl InputRecord {
    /// The key a record is kept under: the output relative to base_dir or
    /// the working directory where it can be, the source's file name and
    /// the namespace, so the same object in another checkout finds the
    /// record of this one.
    pub fn key_for(output: &str, source_name: &str, namespace: &str) -> Key {
        let mut text = b"objcache-inputs-1\0".to_vec();
        for part in [output, source_name, namespace] {
            text.extend_from_slice(part.as_bytes());
            text.push(0);
        }
        Key::of(&text)
    }

    /// `namespace`: the call's, so `--evict-namespace` takes the record too.
    pub fn encode(
        &self,
        key: &Key,
        namespace: &str,
        level: Option<i32>,
    ) -> std::io::Result<Vec<u8>> {
        let mut w = Writer::default();
        w.u64(self.time_ns);
        for s in [&self.output, &self.source, &self.explanation] {
            w.bytes(s.as_bytes());
        }
        let fields = &self.fields[..self.fields.len().min(MAX_FIELDS)];
        w.u32(fields.len() as u32);
        for (label, value) in fields {
            w.bytes(label.as_bytes());
            w.bytes(value.as_bytes());
        }
        FORMAT.encode(key, namespace, &w.0, level)
    }

    pub fn decode(bytes: &[u8], key: &Key) -> Result<InputRecord, String> {
        let payload = FORMAT.decode(bytes, key)?;
        let mut r = Reader::new(&payload);
        let time_ns = r.u64()?;
        let output = r.string()?;
        let source = r.string()?;
        let explanation = r.string()?;
        let n = r.u32()? as usize;
        if n > MAX_FIELDS {
            return Err(format!("{n} fields"));
        }
        let mut fields = Vec::with_capacity(n);
        for _ in 0..n {
            fields.push((r.string()?, r.string()?));
        }
        r.finish()?;
        Ok(InputRecord {
            time_ns,
            output,
            source,
            explanation,
            fields,
        })
    }
}

/// When the record's miss started, as a file time.
fn missed_at(record: &InputRecord) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(record.time_ns)
}

/// Sets a freshly stored record's mtime to the moment its miss started,
/// so any later hit, which touches it, leaves a newer one. A symlink
/// planted there is not followed.
pub fn stamp_missed_at(path: &Path, record: &InputRecord) -> std::io::Result<()> {
    crate::files::set_mtime(path, missed_at(record))
}

/// Whether a hit has touched the record at `path` since its miss stamped
/// it; `None` when the file's time cannot be read.
pub fn hit_since(path: &Path, record: &InputRecord) -> Option<bool> {
    let modified = std::fs::symlink_metadata(path).ok()?.modified().ok()?;
    Some(modified > missed_at(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_key_check() {
        let key = InputRecord::key_for("build/t.o", "t.c", "");
        let rec = InputRecord {
            time_ns: 7,
            output: "build/t.o".into(),
            source: "/src/t.c".into(),
            explanation: "source changed".into(),
            fields: vec![("arg".into(), "-O2".into()), ("cwd".into(), "/a".into())],
        };
        let bytes = rec.encode(&key, "ns", Some(1)).unwrap();
        assert_eq!(InputRecord::decode(&bytes, &key).unwrap(), rec);
        let other = InputRecord::key_for("build/u.o", "t.c", "");
        assert!(InputRecord::decode(&bytes, &other).is_err());
    }

    #[test]
    fn the_stamp_tells_a_later_touch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r");
        std::fs::write(&path, b"x").unwrap();
        let rec = InputRecord {
            time_ns: 1_000_000_000_123,
            ..InputRecord::default()
        };
        stamp_missed_at(&path, &rec).unwrap();
        assert_eq!(hit_since(&path, &rec), Some(false));
        crate::files::set_mtime(&path, SystemTime::now()).unwrap();
        assert_eq!(hit_since(&path, &rec), Some(true));
        assert_eq!(hit_since(&dir.path().join("gone"), &rec), None);
    }
}
