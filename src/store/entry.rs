//! The result entry: one cached compile, as stored on disk.
//!
//! Layout (version 1, all integers little-endian); docs/formats.md has the
//! grammar:
//!
//! ```text
//! entry    = magic "OCRS" | version u16 | compression u8 | reserved u8
//!            | key [32] | payload_len u64 | payload | checksum [32]
//! payload  = count u32 | file*        (zstd-compressed when compression = 1)
//! file     = kind u8 | len u64 | bytes[len]
//! checksum = blake3 of every byte before it
//! ```
//!
//! The key is stored inside the entry so that an entry served for the wrong
//! key (a renamed file, a confused remote) is rejected like a corrupt one.

use crate::hash::Key;

const MAGIC: &[u8; 4] = b"OCRS";
const VERSION: u16 = 1;
const HEADER_LEN: usize = 4 + 2 + 1 + 1 + 32 + 8;
const CHECKSUM_LEN: usize = 32;
/// Refuse absurd sizes even in a verified header, so a bug can never ask for
/// terabytes of memory.
const MAX_PAYLOAD: u64 = 4 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Object = 1,
    Dependency = 2,
    Stderr = 3,
}

impl FileKind {
    fn from_u8(v: u8) -> Option<FileKind> {
        match v {
            1 => Some(FileKind::Object),
            2 => Some(FileKind::Dependency),
            3 => Some(FileKind::Stderr),
            _ => None,
        }
    }
}

#[derive(Debug, Default, PartialEq)]
pub struct ResultEntry {
    pub files: Vec<(FileKind, Vec<u8>)>,
}

impl ResultEntry {
    pub fn get(&self, kind: FileKind) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| v.as_slice())
    }

    /// Serialises the entry; `level` is a zstd level, `None` stores it uncompressed.
    pub fn encode(&self, key: &Key, level: Option<i32>) -> std::io::Result<Vec<u8>> {
        let mut payload =
            Vec::with_capacity(4 + self.files.iter().map(|(_, d)| 9 + d.len()).sum::<usize>());
        payload.extend_from_slice(&(self.files.len() as u32).to_le_bytes());
        for (kind, data) in &self.files {
            payload.push(*kind as u8);
            payload.extend_from_slice(&(data.len() as u64).to_le_bytes());
            payload.extend_from_slice(data);
        }
        let payload_len = payload.len() as u64;
        let (compression, body) = match level {
            Some(level) => (1u8, zstd::bulk::compress(&payload, level)?),
            None => (0u8, payload),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + body.len() + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.push(compression);
        out.push(0);
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&payload_len.to_le_bytes());
        out.extend_from_slice(&body);
        let checksum = blake3::hash(&out);
        out.extend_from_slice(checksum.as_bytes());
        Ok(out)
    }

    /// Verifies and decodes an entry read for `key`. Any mismatch is an error:
    /// the caller treats it as a miss and never writes from it.
    pub fn decode(bytes: &[u8], key: &Key) -> Result<ResultEntry, String> {
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(format!("truncated entry ({} bytes)", bytes.len()));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if blake3::hash(body).as_bytes() != checksum {
            return Err("checksum mismatch".into());
        }
        if &body[..4] != MAGIC {
            return Err("bad magic".into());
        }
        let version = u16::from_le_bytes([body[4], body[5]]);
        if version != VERSION {
            return Err(format!("unsupported entry version {version}"));
        }
        if &body[8..40] != key.as_bytes() {
            return Err("entry belongs to another key".into());
        }
        let payload_len = u64::from_le_bytes(body[40..48].try_into().unwrap());
        if payload_len > MAX_PAYLOAD {
            return Err(format!("payload too large ({payload_len} bytes)"));
        }
        let stored = &body[HEADER_LEN..];
        let decompressed;
        let payload: &[u8] = match body[6] {
            0 => stored,
            1 => {
                decompressed = zstd::bulk::decompress(stored, payload_len as usize)
                    .map_err(|e| format!("decompression failed: {e}"))?;
                &decompressed
            }
            c => return Err(format!("unknown compression {c}")),
        };
        if payload.len() as u64 != payload_len {
            return Err("payload length mismatch".into());
        }
        parse_payload(payload)
    }
}

fn parse_payload(payload: &[u8]) -> Result<ResultEntry, String> {
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let end = pos.checked_add(n).filter(|&e| e <= payload.len());
        let end = end.ok_or_else(|| "payload truncated".to_string())?;
        let s = &payload[pos..end];
        pos = end;
        Ok(s)
    };
    let count = u32::from_le_bytes(take(4)?.try_into().unwrap());
    let mut files = Vec::with_capacity(count.min(16) as usize);
    for _ in 0..count {
        let kind = take(1)?[0];
        let kind = FileKind::from_u8(kind).ok_or_else(|| format!("unknown file kind {kind}"))?;
        let len = u64::from_le_bytes(take(8)?.try_into().unwrap());
        let len = usize::try_from(len).map_err(|_| "file too large".to_string())?;
        files.push((kind, take(len)?.to_vec()));
    }
    if pos != payload.len() {
        return Err("trailing bytes in payload".into());
    }
    Ok(ResultEntry { files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ResultEntry {
        ResultEntry {
            files: vec![
                (FileKind::Object, b"\x7fELF object bytes".to_vec()),
                (FileKind::Stderr, b"warning: x\n".to_vec()),
            ],
        }
    }

    #[test]
    fn round_trips_with_and_without_compression() {
        let key = Key::of(b"k");
        for level in [None, Some(1), Some(19)] {
            let bytes = sample().encode(&key, level).unwrap();
            assert_eq!(ResultEntry::decode(&bytes, &key).unwrap(), sample());
        }
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let key = Key::of(b"k");
        let bytes = sample().encode(&key, Some(1)).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(ResultEntry::decode(&bad, &key).is_err(), "byte {i}");
        }
        assert!(ResultEntry::decode(&bytes[..bytes.len() - 1], &key).is_err());
        assert!(ResultEntry::decode(&bytes, &Key::of(b"other")).is_err());
    }
}
