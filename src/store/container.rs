//! The envelope every stored file shares (results and manifests): magic,
//! version, the key it belongs to, an optionally zstd-compressed payload and a
//! BLAKE3 checksum over all of it. docs/formats.md has the grammar:
//!
//! ```text
//! file     = magic [4] | version u16 | compression u8 | ns_len u8
//!            | key [32] | payload_len u64 | namespace [ns_len] | body | checksum [32]
//! body     = payload, zstd-compressed when compression = 1
//! checksum = blake3 of every byte before it
//! ```
//!
//! The key is stored inside so that a file served for the wrong key (a
//! renamed file, a confused remote) is rejected like a corrupt one.

use std::io::Read;

use crate::key::Key;

const HEADER_LEN: usize = 4 + 2 + 1 + 1 + 32 + 8;
const CHECKSUM_LEN: usize = 32;
/// Refuse absurd sizes even in a verified header, so a bug can never ask for
/// terabytes of memory.
const MAX_PAYLOAD: u64 = 4 << 30;

pub struct Format {
    pub magic: &'static [u8; 4],
    pub version: u16,
}

impl Format {
    /// Wraps `payload`; `level` is a zstd level, `None` stores it uncompressed.
    /// The namespace (`namespace` config) is kept in the clear so that
    /// `--evict-namespace` and `--show-usage` can read it from the header.
    pub fn encode(
        &self,
        key: &Key,
        namespace: &str,
        payload: &[u8],
        level: Option<i32>,
    ) -> std::io::Result<Vec<u8>> {
        let (compression, body) = match level {
            Some(level) => (1u8, zstd::bulk::compress(payload, level)?),
            None => (0u8, payload.to_vec()),
        };
        let mut out = Vec::with_capacity(HEADER_LEN + body.len() + CHECKSUM_LEN);
        out.extend_from_slice(self.magic);
        out.extend_from_slice(&self.version.to_le_bytes());
        let namespace = truncate_namespace(namespace);
        out.push(compression);
        out.push(namespace.len() as u8);
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(namespace.as_bytes());
        out.extend_from_slice(&body);
        let checksum = blake3::hash(&out);
        out.extend_from_slice(checksum.as_bytes());
        Ok(out)
    }

    /// Verifies the envelope (checksum, magic, version, key, length) and
    /// returns the stored body, its compression and the payload's length.
    fn verify<'a>(&self, bytes: &'a [u8], key: &Key) -> Result<(&'a [u8], u8, u64), String> {
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(format!("truncated ({} bytes)", bytes.len()));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if blake3::hash(body).as_bytes() != checksum {
            return Err("checksum mismatch".into());
        }
        if &body[..4] != self.magic {
            return Err("bad magic".into());
        }
        let version = u16::from_le_bytes([body[4], body[5]]);
        if version != self.version {
            return Err(format!("unsupported version {version}"));
        }
        if &body[8..40] != key.as_bytes() {
            return Err("stored for another key".into());
        }
        let payload_len = u64::from_le_bytes(body[40..48].try_into().unwrap());
        if payload_len > MAX_PAYLOAD {
            return Err(format!("payload too large ({payload_len} bytes)"));
        }
        let stored = body
            .get(HEADER_LEN + body[7] as usize..)
            .ok_or_else(|| "truncated header".to_string())?;
        if body[6] > 1 {
            return Err(format!("unknown compression {}", body[6]));
        }
        Ok((stored, body[6], payload_len))
    }

    /// Verifies `bytes` as a file of this format stored under `key` and returns
    /// the payload. Any mismatch is an error, never a partial result.
    pub fn decode(&self, bytes: &[u8], key: &Key) -> Result<Vec<u8>, String> {
        let (stored, compression, payload_len) = self.verify(bytes, key)?;
        let payload = match compression {
            0 => stored.to_vec(),
            // Into a buffer sized from the header rather than a growing
            // stream, as long as the frame itself declares that size: a tiny
            // frame whose header claims gigabytes (the checksum is not a
            // signature) must not make us reserve them up front.
            _ => {
                let declared = zstd::zstd_safe::get_frame_content_size(stored)
                    .map_err(|_| "bad compressed frame".to_string())?;
                if declared != Some(payload_len) {
                    return Err("compressed frame does not match the payload length".into());
                }
                if payload_len <= stored.len() as u64 * 64 {
                    zstd::bulk::decompress(stored, payload_len as usize)
                        .map_err(|e| format!("decompression failed: {e}"))?
                } else {
                    // An extreme ratio: let the buffer grow with what the
                    // frame really produces.
                    let mut out = Vec::new();
                    zstd::stream::read::Decoder::with_buffer(stored)
                        .map_err(|e| format!("decompression failed: {e}"))?
                        .take(payload_len + 1)
                        .read_to_end(&mut out)
                        .map_err(|e| format!("decompression failed: {e}"))?;
                    out
                }
            }
        };
        if payload.len() as u64 != payload_len {
            return Err("payload length mismatch".into());
        }
        Ok(payload)
    }

    /// Verifies the envelope and streams the payload, so a large object goes
    /// to its output through a small buffer instead of a second full copy.
    pub fn open<'a>(&self, bytes: &'a [u8], key: &Key) -> Result<Stream<'a>, String> {
        let (stored, compression, payload_len) = self.verify(bytes, key)?;
        let inner: Box<dyn Read + 'a> = match compression {
            0 => Box::new(stored),
            _ => Box::new(
                zstd::stream::read::Decoder::with_buffer(stored)
                    .map_err(|e| format!("decompression failed: {e}"))?,
            ),
        };
        Ok(Stream {
            inner,
            left: payload_len,
        })
    }
}

/// Why copying out of a payload stopped: the stored data, or the destination.
#[derive(Debug)]
pub enum CopyError {
    Corrupt(String),
    Write(std::io::Error),
}

/// A verified payload being read; `finish` checks it ended where the header said.
pub struct Stream<'a> {
    inner: Box<dyn Read + 'a>,
    left: u64,
}

impl Stream<'_> {
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), String> {
        if buf.len() as u64 > self.left {
            return Err("payload truncated".into());
        }
        self.inner
            .read_exact(buf)
            .map_err(|e| format!("payload truncated: {e}"))?;
        self.left -= buf.len() as u64;
        Ok(())
    }

    pub fn u8(&mut self) -> Result<u8, String> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    pub fn u32(&mut self) -> Result<u32, String> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Copies `len` payload bytes to `out` through a fixed buffer.
    pub fn copy_to(&mut self, len: u64, out: &mut dyn std::io::Write) -> Result<(), CopyError> {
        if len > self.left {
            return Err(CopyError::Corrupt("payload truncated".into()));
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut todo = len;
        while todo > 0 {
            let n = todo.min(buf.len() as u64) as usize;
            self.read_exact(&mut buf[..n]).map_err(CopyError::Corrupt)?;
            out.write_all(&buf[..n]).map_err(CopyError::Write)?;
            todo -= n as u64;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<(), String> {
        let mut probe = [0u8; 1];
        match self.inner.read(&mut probe) {
            Ok(0) if self.left == 0 => Ok(()),
            _ => Err("payload length mismatch".into()),
        }
    }
}

/// At most 255 bytes, cut at a character boundary.
fn truncate_namespace(ns: &str) -> &str {
    let mut end = ns.len().min(255);
    while !ns.is_char_boundary(end) {
        end -= 1;
    }
    &ns[..end]
}

/// The namespace in a file's header, read without verifying the file: only
/// for choosing what to evict or report, never for producing output.
pub fn peek_namespace(head: &[u8]) -> Option<String> {
    let len = *head.get(7)? as usize;
    let ns = head.get(HEADER_LEN..HEADER_LEN + len)?;
    String::from_utf8(ns.to_vec()).ok()
}

/// Bytes to read from a file's start for `peek_namespace`.
pub const PEEK_LEN: usize = HEADER_LEN + 255;

/// Little-endian field writer for payloads.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn raw(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.raw(v);
    }
}

/// The matching reader: every read is bounds-checked.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| "payload truncated".to_string())?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = usize::try_from(self.u64()?).map_err(|_| "length too large".to_string())?;
        self.take(len)
    }
    pub fn string(&mut self) -> Result<String, String> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| "invalid UTF-8".to_string())
    }
    pub fn finish(self) -> Result<(), String> {
        if self.pos == self.data.len() {
            Ok(())
        } else {
            Err("trailing bytes in payload".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: Format = Format {
        magic: b"TEST",
        version: 1,
    };

    /// Re-seals `bytes` after an edit, as a server could (the checksum is
    /// not a signature).
    fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
        let end = bytes.len() - CHECKSUM_LEN;
        let sum = blake3::hash(&bytes[..end]);
        bytes[end..].copy_from_slice(sum.as_bytes());
        bytes
    }

    #[test]
    fn compressible_and_ordinary_payloads_round_trip() {
        let key = Key::of(b"k");
        let ordinary: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for payload in [vec![0u8; 4 << 20], ordinary] {
            let bytes = TEST.encode(&key, "", &payload, Some(1)).unwrap();
            assert_eq!(TEST.decode(&bytes, &key).unwrap(), payload);
        }
    }

    #[test]
    fn a_header_length_the_frame_does_not_declare_is_rejected() {
        let key = Key::of(b"k");
        let bytes = TEST.encode(&key, "", b"small payload", Some(1)).unwrap();
        for claimed in [12u64, 14, 3 << 30] {
            let mut bad = bytes.clone();
            bad[40..48].copy_from_slice(&claimed.to_le_bytes());
            let err = TEST.decode(&reseal(bad), &key).unwrap_err();
            assert!(err.contains("does not match"), "{claimed}: {err}");
        }
    }
}
