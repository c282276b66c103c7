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

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

use crate::key::Key;

const HEADER_LEN: usize = 4 + 2 + 1 + 1 + 32 + 8;
const CHECKSUM_LEN: usize = 32;
/// Refuse absurd sizes even in a verified header, so a bug can never ask for
/// terabytes of memory.
pub const MAX_PAYLOAD: u64 = 4 << 30;

pub struct Format {
    pub magic: &'static [u8; 4],
    pub version: u16,
    /// The largest payload a file of this format holds (at most
    /// `MAX_PAYLOAD`), checked in the header before anything is
    /// decompressed: the bound of a file's length alone lets a small
    /// compressed file inflate to gigabytes in memory.
    pub max_payload: u64,
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
        if payload.len() as u64 > self.max_payload.min(MAX_PAYLOAD) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "a payload of {} bytes, more than such a file holds",
                    payload.len()
                ),
            ));
        }
        // Uncompressed, the payload is copied once, into `out`: a large
        // result's miss holds its object a third time at most.
        let (compression, body) = match level {
            Some(level) => (1u8, Cow::Owned(zstd::bulk::compress(payload, level)?)),
            None => (0u8, Cow::Borrowed(payload)),
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
        let (compression, payload_len) = self.check_header(&body[..HEADER_LEN], key)?;
        let stored = body
            .get(HEADER_LEN + body[7] as usize..)
            .ok_or_else(|| "truncated header".to_string())?;
        Ok((stored, compression, payload_len))
    }

    /// Checks the fixed header (magic, version, key, length, compression)
    /// and returns the compression and the payload's length.
    fn check_header(&self, head: &[u8], key: &Key) -> Result<(u8, u64), String> {
        if &head[..4] != self.magic {
            return Err("bad magic".into());
        }
        let version = u16::from_le_bytes([head[4], head[5]]);
        if version != self.version {
            return Err(format!("unsupported version {version}"));
        }
        if &head[8..40] != key.as_bytes() {
            return Err("stored for another key".into());
        }
        let payload_len = u64::from_le_bytes(head[40..48].try_into().unwrap());
        if payload_len > self.max_payload.min(MAX_PAYLOAD) {
            return Err(format!("payload too large ({payload_len} bytes)"));
        }
        if head[6] > 1 {
            return Err(format!("unknown compression {}", head[6]));
        }
        Ok((head[6], payload_len))
    }

    /// Verifies `bytes` as a file of this format stored under `key` and returns
    /// the payload. Any mismatch is an error, never a partial result.
    pub fn decode(&self, bytes: &[u8], key: &Key) -> Result<Vec<u8>, String> {
        let (stored, compression, payload_len) = self.verify(bytes, key)?;
        let payload = match compression {
            0 => stored.to_vec(),
            _ => decompress_exact(stored, payload_len)?,
        };
        if payload.len() as u64 != payload_len {
            return Err("payload length mismatch".into());
        }
        Ok(payload)
    }

    /// Verifies the envelope and opens the payload: one of ordinary size
    /// decompressed whole, a large one streamed, so that it goes to its
    /// output through a small buffer instead of a second full copy.
    pub fn open<'a>(&self, bytes: &'a [u8], key: &Key) -> Result<Stream<'a>, String> {
        let (stored, compression, payload_len) = self.verify(bytes, key)?;
        let inner = match compression {
            0 if stored.len() as u64 != payload_len => return Err("payload length mismatch".into()),
            0 => Payload::Memory(Cow::Borrowed(stored)),
            // A payload of ordinary size is decompressed in one pass into
            // its own buffer: no stream window to allocate and fill (fresh
            // pages each hit), and no copy out of it.
            _ if payload_len <= WHOLE_PAYLOAD_MAX => {
                Payload::Memory(Cow::Owned(decompress_exact(stored, payload_len)?))
            }
            _ => Payload::Reader(Box::new(
                zstd::stream::read::Decoder::with_buffer(stored)
                    .map_err(|e| format!("decompression failed: {e}"))?,
            )),
        };
        Ok(Stream {
            inner,
            left: payload_len,
            unverified: None,
        })
    }

    /// Streams the payload of the `len`-byte file `file`, read once through
    /// a small buffer: the checksum is computed on the way and compared by
    /// `Stream::finish`, so what was read before it is unverified (written
    /// only to an output that is confirmed after `finish`). The file is
    /// read, never mapped, and whatever another process does to it while it
    /// is read makes at worst a checksum mismatch.
    pub fn open_file<'a>(
        &self,
        file: &'a std::fs::File,
        len: u64,
        key: &Key,
    ) -> Result<Stream<'a>, String> {
        let Some(body_len) = len.checked_sub((HEADER_LEN + CHECKSUM_LEN) as u64) else {
            return Err(format!("truncated ({len} bytes)"));
        };
        let hashed = Rc::new(RefCell::new(Hashed {
            file,
            hasher: blake3::Hasher::new(),
            left: body_len + HEADER_LEN as u64,
        }));
        let mut reader = HashedReader(hashed.clone());
        let mut head = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut head)
            .map_err(|e| format!("header: {e}"))?;
        let (compression, payload_len) = self.check_header(&head, key)?;
        let mut namespace = vec![0u8; head[7] as usize];
        reader
            .read_exact(&mut namespace)
            .map_err(|_| "truncated header".to_string())?;
        let inner: Box<dyn Read + 'a> = match compression {
            0 => Box::new(reader),
            _ => Box::new(
                zstd::stream::read::Decoder::new(reader)
                    .map_err(|e| format!("decompression failed: {e}"))?,
            ),
        };
        Ok(Stream {
            inner: Payload::Reader(inner),
            left: payload_len,
            unverified: Some(hashed),
        })
    }
}

/// A file being read for `Format::open_file`, hashed as it goes.
struct Hashed<'a> {
    file: &'a std::fs::File,
    hasher: blake3::Hasher,
    /// Bytes before the checksum not read yet.
    left: u64,
}

impl Hashed<'_> {
    /// Reads what is left before the checksum, then the checksum, and
    /// compares it with the hash of everything read.
    fn verify(this: &Rc<RefCell<Hashed<'_>>>) -> Result<(), String> {
        std::io::copy(&mut HashedReader(this.clone()), &mut std::io::sink())
            .map_err(|e| format!("payload truncated: {e}"))?;
        let mut h = this.borrow_mut();
        let mut checksum = [0u8; CHECKSUM_LEN];
        h.file
            .read_exact(&mut checksum)
            .map_err(|_| "truncated checksum".to_string())?;
        if h.hasher.finalize().as_bytes() != &checksum {
            return Err("checksum mismatch".into());
        }
        Ok(())
    }
}

/// The reading end of a `Hashed`, shared with the decompressor.
struct HashedReader<'a>(Rc<RefCell<Hashed<'a>>>);

impl Read for HashedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut h = self.0.borrow_mut();
        let want = buf.len().min(usize::try_from(h.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = h.file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file ended early",
            ));
        }
        h.hasher.update(&buf[..n]);
        h.left -= n as u64;
        Ok(n)
    }
}

/// Why copying out of a payload stopped: the stored data, or the destination.
#[derive(Debug)]
pub enum CopyError {
    Corrupt(String),
    Write(std::io::Error),
}

/// Payloads up to this size are decompressed whole by `Format::open`,
/// larger ones streamed (the memory a hit holds stays bounded).
const WHOLE_PAYLOAD_MAX: u64 = 4 << 20;

/// Where a payload's bytes come from.
enum Payload<'a> {
    /// All of it in memory, exactly the length the header says;
    /// `Stream::left` says how much of its end is still to be read.
    Memory(Cow<'a, [u8]>),
    Reader(Box<dyn Read + 'a>),
}

/// A payload being read; `finish` checks it ended where the header said
/// and, for a file read by `Format::open_file`, its checksum.
pub struct Stream<'a> {
    inner: Payload<'a>,
    left: u64,
    unverified: Option<Rc<RefCell<Hashed<'a>>>>,
}

impl Stream<'_> {
    /// The next `len` bytes of an in-memory payload (`len` ≤ `left`), or
    /// `None` when it is not in memory or ends early.
    fn memory_next(&self, len: usize) -> Option<&[u8]> {
        let Payload::Memory(data) = &self.inner else {
            return None;
        };
        let start = data.len().checked_sub(usize::try_from(self.left).ok()?)?;
        data.get(start..start.checked_add(len)?)
    }

    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), String> {
        if buf.len() as u64 > self.left {
            return Err("payload truncated".into());
        }
        match &mut self.inner {
            Payload::Memory(_) => {
                let next = self.memory_next(buf.len()).ok_or("payload truncated")?;
                buf.copy_from_slice(next);
            }
            Payload::Reader(r) => r
                .read_exact(buf)
                .map_err(|e| format!("payload truncated: {e}"))?,
        }
        self.left -= buf.len() as u64;
        Ok(())
    }

    /// Appends the next `len` bytes (`len` ≤ `left`) to `buf`: copied
    /// once from an in-memory payload, without zeroing `buf` first.
    pub fn read_onto(&mut self, buf: &mut Vec<u8>, len: usize) -> Result<(), String> {
        if len as u64 > self.left {
            return Err("payload truncated".into());
        }
        if let Some(next) = self.memory_next(len) {
            buf.extend_from_slice(next);
            self.left -= len as u64;
            return Ok(());
        }
        let start = buf.len();
        buf.resize(start + len, 0);
        self.read_exact(&mut buf[start..])
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

    /// Copies `len` payload bytes to `out`: straight from memory, or
    /// through a buffer of at most 64 KiB.
    pub fn copy_to(&mut self, len: u64, out: &mut dyn std::io::Write) -> Result<(), CopyError> {
        if len > self.left {
            return Err(CopyError::Corrupt("payload truncated".into()));
        }
        if let Payload::Memory(_) = self.inner {
            let n = usize::try_from(len).map_err(|_| CopyError::Corrupt("too long".into()))?;
            let next = self
                .memory_next(n)
                .ok_or_else(|| CopyError::Corrupt("payload truncated".into()))?;
            out.write_all(next).map_err(CopyError::Write)?;
            self.left -= len;
            return Ok(());
        }
        let mut buf = vec![0u8; len.min(64 * 1024) as usize];
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
        let ended = match &mut self.inner {
            Payload::Memory(_) => self.left == 0,
            Payload::Reader(r) => {
                let mut probe = [0u8; 1];
                matches!(r.read(&mut probe), Ok(0)) && self.left == 0
            }
        };
        if !ended {
            return Err("payload length mismatch".into());
        }
        match &self.unverified {
            Some(hashed) => Hashed::verify(hashed),
            None => Ok(()),
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

/// Whether a file's body is compressed, and its payload's length, from its
/// header, without verifying the file: only for choosing how to store or
/// send a file that is verified when it is read.
pub fn peek_body(head: &[u8]) -> Option<(bool, u64)> {
    let length = head.get(40..48)?.try_into().ok()?;
    Some((*head.get(6)? != 0, u64::from_le_bytes(length)))
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

/// Decompresses the zstd frame `stored`, which must hold exactly
/// `payload_len` bytes (checked by the caller against its bound). The
/// buffer is sized from that length only when the frame itself declares
/// it and the ratio is plausible or the length at most the in-memory
/// bound: a tiny frame whose header claims gigabytes (a checksum is not a
/// signature) must not make us reserve them, while growing the buffer for
/// a payload of a few MiB of zeros took twice its length and copies.
pub fn decompress_exact(stored: &[u8], payload_len: u64) -> Result<Vec<u8>, String> {
    let declared = zstd::zstd_safe::get_frame_content_size(stored)
        .map_err(|_| "bad compressed frame".to_string())?;
    if declared != Some(payload_len) {
        return Err("compressed frame does not match the payload length".into());
    }
    let out = if payload_len <= (stored.len() as u64 * 64).max(WHOLE_PAYLOAD_MAX) {
        decompress_in_one_pass(stored, payload_len as usize)
            .map_err(|e| format!("decompression failed: {e}"))?
    } else {
        // An extreme ratio: let the buffer grow with what the frame
        // really produces.
        let mut out = Vec::new();
        zstd::stream::read::Decoder::with_buffer(stored)
            .map_err(|e| format!("decompression failed: {e}"))?
            .take(payload_len + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("decompression failed: {e}"))?;
        out
    };
    if out.len() as u64 != payload_len {
        return Err("payload length mismatch".into());
    }
    Ok(out)
}

thread_local! {
    /// The context of every one-pass decompression of the thread (a hit
    /// has two: its manifest and its result). Creating one asks the CPU
    /// for its features, with `cpuid`, which a virtual machine traps, at
    /// several microseconds each; a one-pass decompression starts its
    /// frame afresh whatever the context did before, a failed one too.
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

#[cfg(test)]
thread_local! {
    static CONTEXTS_MADE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `zstd::bulk::decompress` with the thread's context.
fn decompress_in_one_pass(stored: &[u8], capacity: usize) -> std::io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|slot| {
        let mut slot = slot.borrow_mut();
        let decompressor = match &mut *slot {
            Some(d) => d,
            None => {
                #[cfg(test)]
                CONTEXTS_MADE.with(|n| n.set(n.get() + 1));
                slot.insert(zstd::bulk::Decompressor::new()?)
            }
        };
        decompressor.decompress(stored, capacity)
    })
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
mod tests;
