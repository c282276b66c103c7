//! An output's miss inputs: what went into the keys of its last miss,
//! field by field and compactly (see `key::KeyHasher::take_fields`), kept
//! per output file so that the next miss for that output can be explained
//! by comparing the two. Stored as an entry of its own kind (`X`) with the call's namespace,
//! so it counts toward the cache size and is evicted like any other entry;
//! never sent to a remote.
//!
//! ```text
//! payload = time_ns u64 | output str | source str | explanation str
//!           | reason str | field_count u32 | (label str | value str) * field_count
//! str     = len u64 | UTF-8 bytes
//! ```
//!
//! The file's mtime says whether the output hit since its last miss: the
//! miss stores its inputs stamped with the moment it started
//! (`stamp_missed_at`), and a hit touches them as it touches its entries,
//! leaving a newer mtime (`hit_since`).

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::container::{Format, Reader, Writer};
use crate::key::Key;

pub const MAGIC: &[u8; 4] = b"OBJX";
/// The versions read, newest (the one written) first.
pub const VERSIONS: [u16; 2] = [2, 1];

const FORMAT: Format = Format {
    magic: MAGIC,
    version: VERSIONS[0],
    max_payload: MAX_PAYLOAD,
};

/// Version 1 had no reason: still read, with an empty one.
const FORMAT_1: Format = Format {
    version: VERSIONS[1],
    ..FORMAT
};

/// The largest payload: miss inputs only explain a miss, and their fields (the
/// arguments, the compiler, the headers' digests) take a few hundred KiB
/// at most. A larger one is not stored, and one claiming more is refused
/// before it is decompressed.
pub const MAX_PAYLOAD: u64 = 16 << 20;

/// At most this many fields are stored (the rest are dropped, and a
/// decoded one claiming more is refused): miss inputs only explain a miss.
pub const MAX_FIELDS: usize = 20_000;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MissInputs {
    /// When the compile started (ns since the epoch).
    pub time_ns: u64,
    /// The output and the source as the call named them.
    pub output: String,
    pub source: String,
    /// Why this compile missed, in words ("" for the first of its output).
    pub explanation: String,
    /// The reason's name (`include`, `args` … as `miss_reason_*` counters
    /// say it); "" in a record of version 1.
    pub reason: String,
    pub fields: Vec<(String, String)>,
}

impl MissInputs {
    /// The key miss inputs are kept under: the output relative to base_dir
    /// or the working directory where it can be, the source's file name and
    /// the namespace, so the same object in another checkout finds the
    /// miss inputs of this one.
    pub fn key_for(output: &str, source_name: &str, namespace: &str) -> Key {
        let mut text = b"objcache-inputs-1\0".to_vec();
        for part in [output, source_name, namespace] {
            text.extend_from_slice(part.as_bytes());
            text.push(0);
        }
        Key::of(&text)
    }

    /// `namespace`: the call's, so `--evict-namespace` takes them too.
    pub fn encode(
        &self,
        key: &Key,
        namespace: &str,
        level: Option<i32>,
    ) -> std::io::Result<Vec<u8>> {
        let mut w = Writer::default();
        w.u64(self.time_ns);
        for s in [&self.output, &self.source, &self.explanation, &self.reason] {
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

    pub fn decode(bytes: &[u8], key: &Key) -> Result<MissInputs, String> {
        let (payload, has_reason) = match FORMAT.decode(bytes, key) {
            Ok(payload) => (payload, true),
            Err(e) => match FORMAT_1.decode(bytes, key) {
                Ok(payload) => (payload, false),
                Err(_) => return Err(e),
            },
        };
        let mut r = Reader::new(&payload);
        let time_ns = r.u64()?;
        let output = r.string()?;
        let source = r.string()?;
        let explanation = r.string()?;
        let reason = if has_reason {
            r.string()?
        } else {
            String::new()
        };
        let n = r.u32()? as usize;
        if n > MAX_FIELDS {
            return Err(format!("{n} fields"));
        }
        let mut fields = Vec::with_capacity(n);
        for _ in 0..n {
            fields.push((r.string()?, r.string()?));
        }
        r.finish()?;
        Ok(MissInputs {
            time_ns,
            output,
            source,
            explanation,
            reason,
            fields,
        })
    }
}

/// When the miss started, as a file time.
fn missed_at(inputs: &MissInputs) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(inputs.time_ns)
}

/// Sets the mtime of freshly stored miss inputs to the moment their miss
/// started, so any later hit, which touches them, leaves a newer one. A
/// symlink planted there is not followed.
pub fn stamp_missed_at(path: &Path, inputs: &MissInputs) -> std::io::Result<()> {
    crate::files::set_mtime(path, missed_at(inputs))
}

/// Whether a hit has touched the miss inputs at `path` since their miss
/// stamped them; `None` when the file's time cannot be read.
pub fn hit_since(path: &Path, inputs: &MissInputs) -> Option<bool> {
    let modified = std::fs::symlink_metadata(path).ok()?.modified().ok()?;
    Some(modified > missed_at(inputs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_key_check() {
        let key = MissInputs::key_for("build/t.o", "t.c", "");
        let inputs = MissInputs {
            time_ns: 7,
            output: "build/t.o".into(),
            source: "/src/t.c".into(),
            explanation: "source changed".into(),
            reason: "source".into(),
            fields: vec![("arg".into(), "-O2".into()), ("cwd".into(), "/a".into())],
        };
        let bytes = inputs.encode(&key, "ns", Some(1)).unwrap();
        assert_eq!(MissInputs::decode(&bytes, &key).unwrap(), inputs);
        let other = MissInputs::key_for("build/u.o", "t.c", "");
        assert!(MissInputs::decode(&bytes, &other).is_err());
    }

    #[test]
    fn version_1_is_read_without_a_reason() {
        let key = MissInputs::key_for("t.o", "t.c", "");
        let mut w = Writer::default();
        w.u64(7);
        for s in ["/b/t.o", "/b/t.c", "source changed"] {
            w.bytes(s.as_bytes());
        }
        w.u32(1);
        w.bytes(b"arg");
        w.bytes(b"-O2");
        let bytes = FORMAT_1.encode(&key, "", &w.0, None).unwrap();
        let read = MissInputs::decode(&bytes, &key).unwrap();
        assert_eq!(
            (read.explanation.as_str(), read.reason.as_str()),
            ("source changed", "")
        );
        assert_eq!(read.fields, vec![("arg".to_string(), "-O2".to_string())]);
    }

    #[test]
    fn the_stamp_tells_a_later_touch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r");
        std::fs::write(&path, b"x").unwrap();
        let inputs = MissInputs {
            time_ns: 1_000_000_000_123,
            ..MissInputs::default()
        };
        stamp_missed_at(&path, &inputs).unwrap();
        assert_eq!(hit_since(&path, &inputs), Some(false));
        crate::files::set_mtime(&path, SystemTime::now()).unwrap();
        assert_eq!(hit_since(&path, &inputs), Some(true));
        assert_eq!(hit_since(&dir.path().join("gone"), &inputs), None);
    }
}
