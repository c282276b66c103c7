//! The envelope against forged and damaged entries.

use super::*;

const TEST: Format = Format {
    magic: b"TEST",
    version: 1,
    max_payload: MAX_PAYLOAD,
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
fn peek_body_reads_the_compression_and_length_of_the_header() {
    let key = Key::of(b"k");
    for level in [None, Some(1)] {
        let bytes = TEST.encode(&key, "ns", &[7u8; 5000], level).unwrap();
        assert_eq!(peek_body(&bytes), Some((level.is_some(), 5000)));
    }
    assert_eq!(peek_body(&[0u8; 47]), None);
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

/// Writes `bytes` to a file and streams its payload back with
/// `open_file`: the payload read and what `finish` says.
fn stream_file(bytes: &[u8], key: &Key, cut_to: Option<u64>) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("entry");
    std::fs::write(&path, bytes).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let len = bytes.len() as u64;
    if let Some(cut) = cut_to {
        // Shortened by another process after it was opened.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(cut)
            .unwrap();
    }
    let mut stream = TEST.open_file(&file, len, key)?;
    let mut payload = Vec::new();
    let left = stream.left;
    stream
        .copy_to(left, &mut payload)
        .map_err(|e| format!("{e:?}"))?;
    stream.finish()?;
    Ok(payload)
}

#[test]
fn a_streamed_file_is_checked_when_finished() {
    let key = Key::of(b"k");
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 253) as u8).collect();
    for level in [None, Some(1)] {
        let bytes = TEST.encode(&key, "ns", &payload, level).unwrap();
        assert_eq!(stream_file(&bytes, &key, None).unwrap(), payload);
        // Every byte counts, the namespace and the checksum included.
        for at in [40, HEADER_LEN + 1, bytes.len() / 2, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            assert!(stream_file(&bad, &key, None).is_err(), "{level:?} {at}");
        }
        assert!(stream_file(&bytes, &Key::of(b"other"), None).is_err());
        for cut in [0, 10, bytes.len() as u64 / 2, bytes.len() as u64 - 1] {
            assert!(stream_file(&bytes, &key, Some(cut)).is_err(), "{cut}");
        }
    }
}

/// `open`: an ordinary payload in memory, a large one streamed; either
/// way it reads back exactly, in pieces as a hit reads it, and `finish`
/// refuses one read short or a raw payload of another length than its
/// header says.
#[test]
fn an_opened_payload_reads_back_exactly_in_pieces() {
    let key = Key::of(b"k");
    let ordinary: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let large: Vec<u8> = (0..(WHOLE_PAYLOAD_MAX as u32 + 5))
        .map(|i| (i % 7) as u8)
        .collect();
    for payload in [&ordinary, &large] {
        for level in [None, Some(1)] {
            let bytes = TEST.encode(&key, "", payload, level).unwrap();
            let mut s = TEST.open(&bytes, &key).unwrap();
            let mut head = [0u8; 3];
            s.read_exact(&mut head).unwrap();
            let mut rest = Vec::new();
            s.copy_to(s.left - 1, &mut rest).unwrap();
            let mut last = [0u8; 1];
            s.read_exact(&mut last).unwrap();
            assert!(s.read_exact(&mut last).is_err(), "past the end");
            s.finish().unwrap();
            let read: Vec<u8> = head.iter().chain(&rest).chain(&last).copied().collect();
            assert!(read == *payload, "{} bytes, level {level:?}", payload.len());

            let mut short = TEST.open(&bytes, &key).unwrap();
            short.copy_to(10, &mut std::io::sink()).unwrap();
            assert!(short.finish().is_err());
        }
    }
    // A raw payload one byte longer than its header says, re-sealed.
    let mut bad = TEST.encode(&key, "", b"raw payload", None).unwrap();
    bad[40..48].copy_from_slice(&10u64.to_le_bytes());
    assert!(TEST.open(&reseal(bad), &key).is_err());
}

/// Re-seals `payload` as a compressed container whose body is `body`
/// and whose header claims `claimed` bytes.
fn forged(key: &Key, compression: u8, claimed: u64, body: &[u8]) -> Vec<u8> {
    let mut bytes = TEST.encode(key, "", b"", None).unwrap();
    bytes.truncate(HEADER_LEN);
    bytes[6] = compression;
    bytes[40..48].copy_from_slice(&claimed.to_le_bytes());
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(&[0; CHECKSUM_LEN]);
    reseal(bytes)
}

/// Opens `bytes` and reads all the payload its header claims, in
/// pieces as a hit does: `Some` only when `open`, every read and
/// `finish` succeeded.
fn read_opened(bytes: &[u8], key: &Key) -> Option<Vec<u8>> {
    let mut s = TEST.open(bytes, key).ok()?;
    let mut out = Vec::new();
    let mut first = [0u8; 1];
    if s.left > 0 {
        s.read_exact(&mut first).ok()?;
        out.push(first[0]);
    }
    let left = s.left;
    s.copy_to(left / 2, &mut out).ok()?;
    let left = s.left;
    s.copy_to(left, &mut out).ok()?;
    s.finish().ok()?;
    Some(out)
}

/// A forged body (trailing garbage, frames appended or prepended, a
/// header length one off) either fails somewhere between `open` and
/// `finish` or reads back exactly the payload, at every size either
/// side of the in-memory bound, without a panic.
#[test]
fn a_forged_body_never_reads_back_other_bytes() {
    let key = Key::of(b"k");
    let skippable: &[u8] = &[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
    let empty = zstd::bulk::compress(b"", 1).unwrap();
    let more = zstd::bulk::compress(b"more", 1).unwrap();
    let max = WHOLE_PAYLOAD_MAX as usize;
    for len in [0, 1, 5000, max - 1, max, max + 1] {
        // Compressible ones take the decoder's extreme-ratio path.
        for zeros in [false, true] {
            let payload: Vec<u8> = (0..len)
                .map(|i| if zeros { 0 } else { (i * 31 % 251) as u8 })
                .collect();
            let frame = zstd::bulk::compress(&payload, 1).unwrap();
            let n = len as u64;
            let cat = |parts: &[&[u8]]| parts.concat();
            let cases: Vec<(&str, u8, u64, Vec<u8>)> = vec![
                ("as written", 1, n, frame.clone()),
                ("1 byte of garbage", 1, n, cat(&[&frame, b"x"])),
                ("4 bytes of garbage", 1, n, cat(&[&frame, b"xxxx"])),
                ("16 bytes of garbage", 1, n, cat(&[&frame, &[7; 16]])),
                ("an empty frame after", 1, n, cat(&[&frame, &empty])),
                ("a frame after", 1, n, cat(&[&frame, &more])),
                ("a skippable frame after", 1, n, cat(&[&frame, skippable])),
                ("a skippable frame before", 1, n, cat(&[skippable, &frame])),
                ("claiming one less", 1, n.wrapping_sub(1), frame.clone()),
                ("claiming one more", 1, n + 1, frame.clone()),
                ("raw", 0, n, payload.clone()),
                (
                    "raw claiming one less",
                    0,
                    n.wrapping_sub(1),
                    payload.clone(),
                ),
                ("raw claiming one more", 0, n + 1, payload.clone()),
            ];
            for (what, compression, claimed, body) in cases {
                if claimed > TEST.max_payload {
                    continue;
                }
                let bytes = forged(&key, compression, claimed, &body);
                if let Some(read) = read_opened(&bytes, &key) {
                    assert!(read == payload, "{len} bytes, zeros {zeros}: {what}");
                }
                if let Ok(decoded) = TEST.decode(&bytes, &key) {
                    assert!(decoded == payload, "decode {len}, {zeros}: {what}");
                }
            }
            let bytes = forged(&key, 1, n, &frame);
            assert_eq!(read_opened(&bytes, &key), Some(payload), "{len} bytes");
        }
    }
}

/// A frame whose header declares one content size while its blocks
/// hold another (the container's header agreeing with the frame's):
/// refused, never read short or long.
#[test]
fn a_frame_declaring_a_size_its_blocks_do_not_hold_is_refused() {
    let key = Key::of(b"k");
    let payload: Vec<u8> = (0..200u32).map(|i| (i * 7 % 13) as u8).collect();
    let frame = zstd::bulk::compress(&payload, 1).unwrap();
    // A single-segment frame of under 256 bytes: the descriptor byte
    // says so and the one-byte content size follows it.
    assert_eq!(frame[4] & 0xe0, 0x20, "descriptor {:#x}", frame[4]);
    assert_eq!(frame[5] as usize, payload.len());
    for declared in [1u8, 100, 199, 201, 255] {
        let mut bad = frame.clone();
        bad[5] = declared;
        let bytes = forged(&key, 1, declared as u64, &bad);
        assert_eq!(read_opened(&bytes, &key), None, "declares {declared}");
        assert!(TEST.decode(&bytes, &key).is_err(), "declares {declared}");
    }
}

/// `read_onto` appends exactly the next bytes, from memory or from a
/// stream, and never past the payload's end.
#[test]
fn reading_onto_a_buffer_appends_the_next_bytes() {
    let key = Key::of(b"k");
    let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    for level in [None, Some(1)] {
        let bytes = TEST.encode(&key, "", &payload, level).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry");
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let streams = [
            TEST.open(&bytes, &key).unwrap(),
            TEST.open_file(&file, bytes.len() as u64, &key).unwrap(),
        ];
        for mut s in streams {
            let mut buf = b"head".to_vec();
            s.read_onto(&mut buf, 1000).unwrap();
            s.read_onto(&mut buf, 3999).unwrap();
            assert!(s.read_onto(&mut buf, 2).is_err());
            assert_eq!(buf.len(), 4 + 4999);
            s.read_onto(&mut buf, 1).unwrap();
            assert_eq!(&buf[..4], b"head");
            assert_eq!(&buf[4..], &payload[..]);
            s.finish().unwrap();
        }
    }
}

/// The thread's one decompression context serves frame after frame, one
/// that failed halfway among them, as a fresh one would.
#[test]
fn one_context_decompresses_every_frame_afresh() {
    let frames: Vec<Vec<u8>> = (0..4u32)
        .map(|n| {
            (0..20_000 + n * 777)
                .map(|i| (i * (n + 3) % 241) as u8)
                .collect()
        })
        .collect();
    for (n, payload) in frames.iter().enumerate() {
        let frame = zstd::bulk::compress(payload, 1 + n as i32).unwrap();
        let cut = &frame[..frame.len() / 2];
        assert!(decompress_exact(cut, payload.len() as u64).is_err());
        let mut bad = frame.clone();
        let at = bad.len() - 3;
        bad[at] ^= 0xff;
        let _ = decompress_exact(&bad, payload.len() as u64);
        assert_eq!(
            decompress_exact(&frame, payload.len() as u64).unwrap(),
            *payload
        );
    }
    let made = std::thread::spawn(|| {
        let frame = zstd::bulk::compress(b"some payload", 1).unwrap();
        for _ in 0..3 {
            decompress_exact(&frame, 12).unwrap();
        }
        CONTEXTS_MADE.with(|n| n.get())
    });
    assert_eq!(made.join().unwrap(), 1);
}
