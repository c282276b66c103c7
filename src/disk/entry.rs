//! The result entry: one cached compile (object, stored `.d`, the
//! compiler's stderr), inside the checksummed container of `container.rs`.
//!
//! ```text
//! payload = count u32 | file*
//! file    = kind u8 | len u64 | bytes[len]
//! ```

use super::container::{CopyError, Format, Reader, Stream, Writer};
use crate::key::Key;

/// The first bytes of every such file.
pub const MAGIC: &[u8; 4] = b"OCRS";

/// The versions read (only the one written).
pub const VERSIONS: [u16; 1] = [2];

const FORMAT: Format = Format {
    magic: MAGIC,
    version: VERSIONS[0],
    max_payload: super::container::MAX_PAYLOAD,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Object = 1,
    Dependency = 2,
    Stderr = 3,
    /// `hard_link`/`file_clone`: the object lives in its own raw file beside
    /// the entry (`<key>W`); this holds its BLAKE3 digest and length.
    RawObject = 4,
    /// The working directory of the compile, kept when its stderr names
    /// files under base_dir, so a relocated hit can name this checkout's.
    WorkingDir = 5,
    /// The `.dwo` file of a `-gsplit-dwarf` compile.
    SplitDwarf = 6,
    /// The compiler's stderr, captured with colours on (instead of kind 3).
    ColouredStderr = 7,
    /// The `.gcno` of a coverage compile.
    CoverageNotes = 8,
    /// The `.su` of `-fstack-usage`.
    StackUsage = 9,
    /// The `.ci` of `-fcallgraph-info`.
    CallGraph = 10,
    /// The assembler listing of `-Wa,-a…=FILE`.
    Listing = 11,
    /// What the compiler wrote to stdout.
    Stdout = 12,
}

impl FileKind {
    /// Two files of one entry may not play the same part.
    fn same_role(self, other: FileKind) -> bool {
        let role = |k: FileKind| match k {
            FileKind::RawObject => FileKind::Object,
            FileKind::ColouredStderr => FileKind::Stderr,
            k => k,
        };
        role(self) == role(other)
    }

    fn from_u8(v: u8) -> Option<FileKind> {
        match v {
            1 => Some(FileKind::Object),
            2 => Some(FileKind::Dependency),
            3 => Some(FileKind::Stderr),
            4 => Some(FileKind::RawObject),
            5 => Some(FileKind::WorkingDir),
            6 => Some(FileKind::SplitDwarf),
            7 => Some(FileKind::ColouredStderr),
            8 => Some(FileKind::CoverageNotes),
            9 => Some(FileKind::StackUsage),
            10 => Some(FileKind::CallGraph),
            11 => Some(FileKind::Listing),
            12 => Some(FileKind::Stdout),
            _ => None,
        }
    }
}

#[derive(Debug, Default, PartialEq)]
pub struct ResultEntry {
    pub files: Vec<(FileKind, Vec<u8>)>,
}

impl ResultEntry {
    /// The bytes of all its files together.
    pub fn files_size(&self) -> u64 {
        self.files.iter().map(|(_, data)| data.len() as u64).sum()
    }

    /// Serialises the entry; `level` is a zstd level, `None` stores it uncompressed.
    pub fn encode(
        &self,
        key: &Key,
        namespace: &str,
        level: Option<i32>,
    ) -> std::io::Result<Vec<u8>> {
        let small: u64 = (self.files.iter())
            .filter(|(kind, _)| *kind != FileKind::Object)
            .map(|(_, data)| data.len() as u64)
            .sum();
        if small > MAX_SMALL_FILES {
            // A hit would refuse it.
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{small} bytes besides the object, more than {MAX_SMALL_FILES}"),
            ));
        }
        let mut w = Writer::default();
        w.u32(self.files.len() as u32);
        for (kind, data) in &self.files {
            w.u8(*kind as u8);
            w.bytes(data);
        }
        FORMAT.encode(key, namespace, &w.0, level)
    }

    /// Verifies and decodes an entry read for `key`. Any mismatch is an error:
    /// the caller treats it as a miss and never writes from it.
    pub fn decode(bytes: &[u8], key: &Key) -> Result<ResultEntry, String> {
        let payload = FORMAT.decode(bytes, key)?;
        let mut r = Reader::new(&payload);
        let count = r.u32()?;
        let mut files: Vec<(FileKind, Vec<u8>)> = Vec::with_capacity(count.min(16) as usize);
        for _ in 0..count {
            let kind = r.u8()?;
            let kind =
                FileKind::from_u8(kind).ok_or_else(|| format!("unknown file kind {kind}"))?;
            if files.iter().any(|(k, _)| k.same_role(kind)) {
                return Err(format!("{kind:?} stored twice"));
            }
            files.push((kind, r.bytes()?.to_vec()));
        }
        r.finish()?;
        Ok(ResultEntry { files })
    }
}

/// What a result holds in place of its object when the object is kept
/// as a raw file beside it (`FileKind::RawObject`, `<key>W`): the
/// object's BLAKE3 digest and length, checked on every hit against the
/// very file that becomes the output.
///
/// ```text
/// reference = digest:[32] | size:u64
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawObjectRef {
    pub digest: [u8; 32],
    pub size: u64,
}

impl RawObjectRef {
    const LEN: usize = 32 + 8;

    /// The reference to a raw file holding `object`.
    pub fn of(object: &[u8]) -> RawObjectRef {
        RawObjectRef {
            digest: *blake3::hash(object).as_bytes(),
            size: object.len() as u64,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(Self::LEN);
        bytes.extend_from_slice(&self.digest);
        bytes.extend_from_slice(&self.size.to_le_bytes());
        bytes
    }

    /// Anything but exactly a digest and a length is a bad entry.
    pub fn decode(bytes: &[u8]) -> Result<RawObjectRef, String> {
        if bytes.len() != Self::LEN {
            let len = bytes.len();
            return Err(format!(
                "bad raw object reference ({len} bytes, not {})",
                Self::LEN
            ));
        }
        let (digest, size) = bytes.split_at(32);
        Ok(RawObjectRef {
            digest: digest.try_into().expect("32 of 40 bytes"),
            size: u64::from_le_bytes(size.try_into().expect("8 of 40 bytes")),
        })
    }
}

/// A result entry read file by file: the object can be copied to its output
/// without holding it in memory.
pub struct ResultStream<'a> {
    stream: Stream<'a>,
    files_left: u32,
    /// What `read_small` may still read.
    small_left: u64,
}

/// Files other than the object are small and read into memory: more than
/// this together means a bad entry. Bounded each but not together, nine
/// kinds of them took 2.4 GB for an 82 KB compressed entry.
const MAX_SMALL_FILES: u64 = 256 << 20;

impl ResultStream<'_> {
    pub fn open<'a>(bytes: &'a [u8], key: &Key) -> Result<ResultStream<'a>, String> {
        Self::start(FORMAT.open(bytes, key)?)
    }

    /// A result read from `file` (`len` bytes) as it is streamed, checked
    /// only by `finish` (see `Format::open_file`).
    pub fn open_file<'a>(
        file: &'a std::fs::File,
        len: u64,
        key: &Key,
    ) -> Result<ResultStream<'a>, String> {
        Self::start(FORMAT.open_file(file, len, key)?)
    }

    fn start(mut stream: Stream<'_>) -> Result<ResultStream<'_>, String> {
        let files_left = stream.u32()?;
        Ok(ResultStream {
            stream,
            files_left,
            small_left: MAX_SMALL_FILES,
        })
    }

    /// The next file's kind and length; its content must be read next.
    pub fn next_file(&mut self) -> Result<Option<(FileKind, u64)>, String> {
        if self.files_left == 0 {
            return Ok(None);
        }
        self.files_left -= 1;
        let kind = self.stream.u8()?;
        let kind = FileKind::from_u8(kind).ok_or_else(|| format!("unknown file kind {kind}"))?;
        Ok(Some((kind, self.stream.u64()?)))
    }

    /// Checks a whole entry in memory (one from a remote) as a hit reads
    /// it: a payload over 4 MiB is streamed, never held whole, and the
    /// files besides the object are bounded together as `read_small` bounds
    /// them. A 128 MiB answer could otherwise inflate to 4 GiB in memory.
    pub fn check(bytes: &[u8], key: &Key) -> Result<(), String> {
        let mut s = ResultStream::open(bytes, key)?;
        let mut seen: Vec<FileKind> = Vec::new();
        while let Some((kind, len)) = s.next_file()? {
            if seen.iter().any(|k| k.same_role(kind)) {
                return Err(format!("{kind:?} stored twice"));
            }
            seen.push(kind);
            if kind != FileKind::Object {
                s.count_small(len)?;
            }
            s.copy_to(len, &mut std::io::sink()).map_err(|e| match e {
                CopyError::Corrupt(why) => why,
                CopyError::Write(e) => e.to_string(),
            })?;
        }
        s.finish()
    }

    /// Takes `len` bytes from what files besides the object may hold.
    fn count_small(&mut self, len: u64) -> Result<(), String> {
        if len > self.small_left {
            return Err(format!(
                "file too large ({len} bytes, more than {MAX_SMALL_FILES} with the others)"
            ));
        }
        self.small_left -= len;
        Ok(())
    }

    pub fn read_small(&mut self, len: u64) -> Result<Vec<u8>, String> {
        self.count_small(len)?;
        // Grown with what the payload really holds, not sized from `len`:
        // a 25-byte entry declaring a 256 MiB stderr made us allocate 256 MiB
        // for nothing (found by the fuzzer, tests/fuzz entry_decode). A small
        // file, the usual one, is still read at once into its exact size.
        const STEP: u64 = 64 << 10;
        let mut buf = Vec::new();
        while (buf.len() as u64) < len {
            let step = (len - buf.len() as u64).min(STEP) as usize;
            self.stream.read_onto(&mut buf, step)?;
        }
        Ok(buf)
    }

    pub fn copy_to(&mut self, len: u64, out: &mut dyn std::io::Write) -> Result<(), CopyError> {
        self.stream.copy_to(len, out)
    }

    /// Checks that the entry ended exactly after its last file.
    pub fn finish(self) -> Result<(), String> {
        self.stream.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::container::Writer;
    use super::*;

    /// The container's fixed header: magic, version, compression,
    /// namespace length, key, payload length.
    const HEADER_LEN_FOR_TESTS: usize = 4 + 2 + 1 + 1 + 32 + 8;

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
            let bytes = sample().encode(&key, "ns", level).unwrap();
            assert_eq!(ResultEntry::decode(&bytes, &key).unwrap(), sample());
        }
    }

    #[test]
    fn streams_the_same_files() {
        let key = Key::of(b"k");
        for level in [None, Some(1)] {
            let bytes = sample().encode(&key, "", level).unwrap();
            let mut s = ResultStream::open(&bytes, &key).unwrap();
            let (kind, len) = s.next_file().unwrap().unwrap();
            assert_eq!(kind, FileKind::Object);
            let mut object = Vec::new();
            s.copy_to(len, &mut object).unwrap();
            assert_eq!(object, b"\x7fELF object bytes");
            let (kind, len) = s.next_file().unwrap().unwrap();
            assert_eq!(
                (kind, s.read_small(len).unwrap()),
                (FileKind::Stderr, b"warning: x\n".to_vec())
            );
            assert!(s.next_file().unwrap().is_none());
            s.finish().unwrap();
        }
    }

    #[test]
    fn a_file_kind_stored_twice_is_rejected() {
        let key = Key::of(b"k");
        for second in [FileKind::Object, FileKind::RawObject, FileKind::Stderr] {
            let mut entry = sample();
            entry.files.push((second, b"again".to_vec()));
            let bytes = entry.encode(&key, "", Some(1)).unwrap();
            assert!(ResultEntry::decode(&bytes, &key).is_err(), "{second:?}");
        }
    }

    /// Found by the fuzzer (tests/fuzz, entry_decode): a tiny entry that
    /// declares a 256 MiB file is refused without reserving 256 MiB.
    #[test]
    fn a_declared_length_is_not_allocated_up_front() {
        let key = Key::of(b"k");
        let mut payload = Writer::default();
        payload.u32(1);
        payload.u8(FileKind::Stderr as u8);
        payload.u64(MAX_SMALL_FILES);
        payload.raw(b"short");
        let bytes = FORMAT.encode(&key, "", &payload.0, None).unwrap();
        let mut s = ResultStream::open(&bytes, &key).unwrap();
        let (kind, len) = s.next_file().unwrap().unwrap();
        assert_eq!((kind, len), (FileKind::Stderr, MAX_SMALL_FILES));
        LARGEST.with(|l| l.set(0));
        assert!(s.read_small(len).is_err());
        let largest = LARGEST.with(|l| l.get());
        assert!(largest < 1 << 20, "allocated {largest} bytes at once");
    }

    thread_local! {
        /// The largest single allocation this thread made since reset.
        static LARGEST: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The system allocator, noting each thread's largest allocation for
    /// the test above (tests run on threads of their own).
    struct Counting;

    // SAFETY: every call goes to the system allocator unchanged.
    unsafe impl std::alloc::GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            LARGEST.with(|l| l.set(l.get().max(layout.size())));
            std::alloc::System.alloc(layout)
        }
        unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
            LARGEST.with(|l| l.set(l.get().max(layout.size())));
            std::alloc::System.alloc_zeroed(layout)
        }
        unsafe fn realloc(
            &self,
            ptr: *mut u8,
            layout: std::alloc::Layout,
            new_size: usize,
        ) -> *mut u8 {
            LARGEST.with(|l| l.set(l.get().max(new_size)));
            std::alloc::System.realloc(ptr, layout, new_size)
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            std::alloc::System.dealloc(ptr, layout)
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    /// An entry whose files besides the object hold more than
    /// `MAX_SMALL_FILES` together (each within it) is refused by a hit and
    /// by `check`, and never written.
    #[test]
    fn small_files_are_bounded_together() {
        use std::io::Write;
        let key = Key::of(b"k");
        let half = MAX_SMALL_FILES / 2 + 1;
        let mut head = Writer::default();
        head.u32(2);
        head.u8(FileKind::Stderr as u8);
        head.u64(half);
        let mut middle = Writer::default();
        middle.u8(FileKind::Stdout as u8);
        middle.u64(half);
        let payload_len = head.0.len() as u64 + middle.0.len() as u64 + 2 * half;
        let mut z = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        z.include_contentsize(true).unwrap();
        z.set_pledged_src_size(Some(payload_len)).unwrap();
        z.write_all(&head.0).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for part in [None, Some(&middle.0)] {
            if let Some(part) = part {
                z.write_all(part).unwrap();
            }
            let mut left = half;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                z.write_all(&zeros[..n]).unwrap();
                left -= n as u64;
            }
        }
        let body = z.finish().unwrap();
        let mut bytes = FORMAT.encode(&key, "", b"", Some(1)).unwrap();
        bytes.truncate(HEADER_LEN_FOR_TESTS);
        bytes[6] = 1;
        bytes[40..48].copy_from_slice(&payload_len.to_le_bytes());
        bytes.extend_from_slice(&body);
        let sum = blake3::hash(&bytes);
        bytes.extend_from_slice(sum.as_bytes());
        let err = ResultStream::check(&bytes, &key).unwrap_err();
        assert!(err.contains("too large"), "{err}");
        let mut s = ResultStream::open(&bytes, &key).unwrap();
        let (_, len) = s.next_file().unwrap().unwrap();
        assert_eq!(s.read_small(len).unwrap().len() as u64, half);
        let (_, len) = s.next_file().unwrap().unwrap();
        assert!(s.read_small(len).unwrap_err().contains("too large"));
        let entry = ResultEntry {
            files: vec![
                (FileKind::Stderr, vec![0; half as usize]),
                (FileKind::Stdout, vec![0; half as usize]),
            ],
        };
        assert!(entry.encode(&key, "", Some(1)).is_err());
    }

    #[test]
    fn raw_object_references_round_trip_and_are_exactly_40_bytes() {
        let reference = RawObjectRef::of(b"object");
        let bytes = reference.encode();
        assert_eq!(bytes.len(), 40);
        assert_eq!(&bytes[..32], blake3::hash(b"object").as_bytes());
        assert_eq!(RawObjectRef::decode(&bytes), Ok(reference));
        assert_eq!(reference.size, 6);
        for len in [0, 32, 39, 41] {
            let mut bad = bytes.clone();
            bad.resize(len, 0);
            assert!(RawObjectRef::decode(&bad).is_err(), "{len} bytes");
        }
    }

    #[test]
    fn check_accepts_what_decode_accepts() {
        let key = Key::of(b"k");
        let bytes = sample().encode(&key, "ns", Some(1)).unwrap();
        ResultStream::check(&bytes, &key).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(ResultStream::check(&bad, &key).is_err(), "byte {i}");
        }
        assert!(ResultStream::check(&bytes, &Key::of(b"other")).is_err());
        let mut twice = sample();
        twice.files.push((FileKind::RawObject, vec![0; 40]));
        let bytes = twice.encode(&key, "", None).unwrap();
        assert!(ResultStream::check(&bytes, &key).is_err());
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let key = Key::of(b"k");
        let bytes = sample().encode(&key, "ns", Some(1)).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(ResultEntry::decode(&bad, &key).is_err(), "byte {i}");
        }
        assert!(ResultEntry::decode(&bytes[..bytes.len() - 1], &key).is_err());
        assert!(ResultEntry::decode(&bytes, &Key::of(b"other")).is_err());
    }

    /// An entry whose single file is `declared` bytes long while the
    /// payload holds `held` bytes after its header, compressed or not.
    fn one_file_entry(key: &Key, declared: u64, held: usize, level: Option<i32>) -> Vec<u8> {
        let mut payload = Writer::default();
        payload.u32(1);
        payload.u8(FileKind::Object as u8);
        payload.u64(declared);
        payload.raw(&vec![0x5a; held]);
        FORMAT.encode(key, "", &payload.0, level).unwrap()
    }

    /// A file list that claims more than the payload holds writes nothing
    /// of it; one that claims less is refused by `finish`: at sizes either
    /// side of the in-memory bound, read by a hit and by `check`.
    #[test]
    fn a_file_list_longer_or_shorter_than_the_payload_is_refused() {
        let key = Key::of(b"k");
        let header = 4 + 1 + 8;
        for held in [0usize, 1, 4000, (4 << 20) - header, (4 << 20) - header + 1] {
            for level in [None, Some(1)] {
                for declared in [held as u64 + 1, held as u64 + 4096, u64::MAX] {
                    let bytes = one_file_entry(&key, declared, held, level);
                    let mut s = ResultStream::open(&bytes, &key).unwrap();
                    let (_, len) = s.next_file().unwrap().unwrap();
                    let mut out = Vec::new();
                    assert!(s.copy_to(len, &mut out).is_err(), "{held} {declared}");
                    assert!(out.is_empty(), "{held}: {} bytes written", out.len());
                    assert!(ResultStream::check(&bytes, &key).is_err());
                }
                if held > 0 {
                    let bytes = one_file_entry(&key, held as u64 - 1, held, level);
                    let mut s = ResultStream::open(&bytes, &key).unwrap();
                    let (_, len) = s.next_file().unwrap().unwrap();
                    s.copy_to(len, &mut std::io::sink()).unwrap();
                    assert!(s.next_file().unwrap().is_none());
                    assert!(s.finish().is_err(), "{held} {level:?}");
                    assert!(ResultStream::check(&bytes, &key).is_err());
                }
                let bytes = one_file_entry(&key, held as u64, held, level);
                ResultStream::check(&bytes, &key).unwrap();
            }
        }
    }

    /// `check` of a remote answer whose payload inflates far past the
    /// in-memory bound (64 MiB from a few KiB) never holds it whole.
    #[test]
    fn check_streams_a_payload_over_the_in_memory_bound() {
        let key = Key::of(b"k");
        let held = 64usize << 20;
        let bytes = one_file_entry(&key, held as u64, held, Some(1));
        assert!(bytes.len() < 1 << 20, "{} bytes compressed", bytes.len());
        LARGEST.with(|l| l.set(0));
        ResultStream::check(&bytes, &key).unwrap();
        let largest = LARGEST.with(|l| l.get());
        assert!(largest <= 4 << 20, "allocated {largest} bytes at once");
    }

    /// A payload at the in-memory bound is held in a buffer of its own
    /// length, also when it compresses so well (zeros) that its frame
    /// alone would not justify reserving it.
    #[test]
    fn an_in_memory_payload_takes_no_more_than_its_length() {
        let key = Key::of(b"k");
        let held = (4 << 20) - (4 + 1 + 8);
        let bytes = one_file_entry(&key, held as u64, held, Some(1));
        LARGEST.with(|l| l.set(0));
        let mut s = ResultStream::open(&bytes, &key).unwrap();
        let largest = LARGEST.with(|l| l.get());
        assert!(largest <= 4 << 20, "allocated {largest} bytes at once");
        let (_, len) = s.next_file().unwrap().unwrap();
        s.copy_to(len, &mut std::io::sink()).unwrap();
        s.finish().unwrap();
    }
}
