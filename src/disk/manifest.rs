//! The manifest (direct mode): under a key made from the source and the
//! arguments, the results stored for it, each with the include files its
//! compile read (path, content hash and stat) and the directories where a
//! new header would have shadowed one of them.
//!
//! ```text
//! payload  = count u32 | result*
//! result   = result_key [32] | n u32 | include{n} | m u32 | probe{m} | section
//! include  = path | digest [32] | size u64 | mtime_ns i64 | ctime_ns i64 | ino u64
//! probe    = path | present u8 | size u64 | mtime_ns i64 | ctime_ns i64 | ino u64
//! section  = bytes                        (the candidate names: `probes`)
//! path     = 0 u8 | bytes                 (as spelled)
//!          | 1 u8 | up u32 | bytes        (under base_dir: relative to the cwd)
//! ```
//!
//! Format 4, still read, kept the candidate names in the result itself
//! (`result_key | n | include{n} | t u32 | names | m | (probe | k u32 |
//! name_index u32{k}){m}`), so every lookup decompressed and decoded them.

mod probes;

use std::borrow::Cow;

use super::container::{Format, Reader, Writer};
use crate::key::Key;
use crate::paths;
use probes::{read_indices, unpacked_len};
pub use probes::{Candidates, ProbeDir, Probes};

/// The first bytes of every such file.
pub const MAGIC: &[u8; 4] = b"OCMF";

/// The versions read, newest (the one written) first.
pub const VERSIONS: [u16; 2] = [5, 4];

const FORMAT: Format = Format {
    magic: MAGIC,
    version: VERSIONS[0],
    max_payload: MAX_PAYLOAD,
};

/// The format before the candidate names had a section of their own:
/// read, so that an upgrade keeps every manifest, and rewritten as 5.
const FORMAT_4: Format = Format {
    version: VERSIONS[1],
    ..FORMAT
};

/// The largest manifest: one result of a translation unit with 840
/// headers and 5 include directories takes 290 KiB, so 16 results of far
/// larger ones fit. Decoded, a manifest takes about 2.5 times its payload
/// in memory (more for one made of millions of tiny records, as only a
/// forged one is); the oldest results are dropped from one that would be
/// larger, and one claiming more is refused before it is decompressed.
pub const MAX_PAYLOAD: u64 = 32 << 20;

/// At most this many results per manifest; the oldest go first.
pub const MAX_RESULTS: usize = 16;

/// A path as recorded: literal, or related to the working directory when it
/// lies under base_dir, so relocated checkouts resolve it to their own files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredPath {
    Literal(String),
    Relative { up: u32, rest: String },
}

impl StoredPath {
    pub fn new(path: &str, cwd: &str, base_dir: Option<&paths::BaseDirs>) -> StoredPath {
        match paths::relate(path, cwd, base_dir) {
            Some(rel) => StoredPath::Relative {
                up: rel.up as u32,
                rest: rel.rest.to_string(),
            },
            None => StoredPath::Literal(path.to_string()),
        }
    }

    /// The path to look at from `cwd`: a literal one as it is stored,
    /// without a copy (a lookup resolves every header's).
    pub fn resolve(&self, cwd: &str) -> Option<Cow<'_, str>> {
        match self {
            StoredPath::Literal(p) => Some(Cow::Borrowed(p)),
            StoredPath::Relative { up, rest } => paths::Relation {
                up: *up as usize,
                rest,
            }
            .resolve(cwd)
            .map(Cow::Owned),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            StoredPath::Literal(p) => {
                w.u8(0);
                w.bytes(p.as_bytes());
            }
            StoredPath::Relative { up, rest } => {
                w.u8(1);
                w.u32(*up);
                w.bytes(rest.as_bytes());
            }
        }
    }

    fn read(r: &mut Reader) -> Result<StoredPath, String> {
        match r.u8()? {
            0 => Ok(StoredPath::Literal(r.string()?)),
            1 => Ok(StoredPath::Relative {
                up: r.u32()?,
                rest: r.string()?,
            }),
            k => Err(format!("unknown path kind {k}")),
        }
    }
}

/// What `stat` said about a file: equal stamps mean an unchanged file, as
/// long as the stamp was settled (see `settled_at`) when it was recorded.
/// The inode number is part of it: two files written within one tick with
/// the same size have equal times, and a symlink retargeted from one to the
/// other (or a directory swapped by renames) changes neither file's times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
}

impl Stamp {
    /// Could the file have changed at or after `coarse_start_ns` (a call's
    /// start by the coarse clock) without these times showing it? True when
    /// its mtime or ctime, those not made sloppy, lies in the timestamp tick
    /// of the start or later (`clock::stamp_settled`): such a file may have
    /// changed while the call read it.
    pub fn unsettled_at(
        &self,
        coarse_start_ns: i64,
        mtime_sloppy: bool,
        ctime_sloppy: bool,
    ) -> bool {
        let unsettled = |t| !crate::clock::stamp_settled(t, coarse_start_ns);
        (!mtime_sloppy && unsettled(self.mtime_ns)) || (!ctime_sloppy && unsettled(self.ctime_ns))
    }

    /// Will any change after `coarse_start_ns` give the file another stamp?
    /// Only then may a later lookup take an equal stamp for equal content.
    pub fn settled_at(&self, coarse_start_ns: i64) -> bool {
        !self.unsettled_at(coarse_start_ns, false, false)
    }

    /// A stamp no file has, of a file `size` bytes long: a record holding it
    /// is compared by content on every lookup, until a hit learns a settled
    /// stamp.
    pub fn unproven(size: u64) -> Stamp {
        Stamp {
            size,
            mtime_ns: i64::MIN,
            ctime_ns: i64::MIN,
            ino: 0,
        }
    }

    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            size: meta.size(),
            mtime_ns: crate::clock::file_time_ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: crate::clock::file_time_ns(meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct IncludeRecord {
    pub path: StoredPath,
    pub digest: [u8; 32],
    pub stamp: Stamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ManifestResult {
    pub result_key: Key,
    pub includes: Vec<IncludeRecord>,
    pub probes: Probes,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    /// Oldest first.
    pub results: Vec<ManifestResult>,
}

impl Manifest {
    /// Adds a result (replacing one with the same key and include set) and
    /// drops the oldest beyond `MAX_RESULTS`, so manifests stay small.
    pub fn add(&mut self, result: ManifestResult) {
        self.results.retain(|r| !same_include_set(r, &result));
        self.results.push(result);
        if self.results.len() > MAX_RESULTS {
            let excess = self.results.len() - MAX_RESULTS;
            self.results.drain(..excess);
        }
    }

    /// Whether a result already held leads to `result`'s key from the same
    /// files with the same contents, probing the same names in the same
    /// directories, present or absent as then: `result` would bring no more
    /// than newer stamps, which the next hit learns anyway.
    pub fn has_equivalent(&self, result: &ManifestResult) -> bool {
        let same_probes = |a: &Probes, b: &Probes| {
            a.dirs.len() == b.dirs.len()
                && a.dirs
                    .iter()
                    .zip(&b.dirs)
                    .all(|(x, y)| x.path == y.path && x.stamp.is_some() == y.stamp.is_some())
                && a.candidates() == b.candidates()
        };
        self.results
            .iter()
            .any(|r| same_include_set(r, result) && same_probes(&r.probes, &result.probes))
    }

    /// Serialises the manifest; the oldest results are left out when all
    /// of them would not fit in `MAX_PAYLOAD`.
    pub fn encode(
        &self,
        key: &Key,
        namespace: &str,
        level: Option<i32>,
    ) -> std::io::Result<Vec<u8>> {
        let parts: Vec<(Vec<u8>, u64)> = self
            .results
            .iter()
            .map(|r| encode_result(r, level))
            .collect();
        // Each part weighs what it takes unpacked (its candidate section
        // as decompressed), so a manifest that decodes within the bound
        // also unpacks within it.
        let mut kept = 0;
        let mut weight: u64 = 4;
        let mut len = 4;
        for (part, unpacked) in parts.iter().rev() {
            if weight.saturating_add(*unpacked) > MAX_PAYLOAD {
                break;
            }
            weight += unpacked;
            len += part.len();
            kept += 1;
        }
        let mut w = Writer(Vec::with_capacity(len));
        w.u32(kept as u32);
        for (part, _) in &parts[parts.len() - kept..] {
            w.raw(part);
        }
        FORMAT.encode(key, namespace, &w.0, level)
    }

    pub fn decode(bytes: &[u8], key: &Key) -> Result<Manifest, String> {
        let (payload, read_result): (_, ReadResult) = match FORMAT.decode(bytes, key) {
            Err(e) if e == "unsupported version 4" => {
                (FORMAT_4.decode(bytes, key)?, decode_result_4)
            }
            got => (got?, decode_result),
        };
        let mut r = Reader::new(&payload);
        let count = r.u32()? as usize;
        let mut results = Vec::with_capacity(count.min(MAX_RESULTS));
        let mut weight = payload.len() as u64;
        for _ in 0..count {
            let result = read_result(&mut r)?;
            // Saturating: a section may declare any length, and a sum
            // that wrapped would let the next ones pass as light.
            weight = weight.saturating_add(result.probes.unpacked_len());
            if weight > MAX_PAYLOAD {
                return Err("candidate names larger than a manifest holds".into());
            }
            results.push(result);
        }
        r.finish()?;
        Ok(Manifest { results })
    }
}

/// How a result of one version is read.
type ReadResult = fn(&mut Reader) -> Result<ManifestResult, String>;

fn decode_includes(r: &mut Reader) -> Result<Vec<IncludeRecord>, String> {
    let n = r.u32()? as usize;
    let mut includes = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let path = StoredPath::read(r)?;
        let digest: [u8; 32] = r.take(32)?.try_into().unwrap();
        includes.push(IncludeRecord {
            path,
            digest,
            stamp: read_stamp(r)?,
        });
    }
    Ok(includes)
}

fn decode_probe_dir(r: &mut Reader) -> Result<ProbeDir, String> {
    let path = StoredPath::read(r)?;
    let present = r.u8()? != 0;
    let stamp = read_stamp(r)?;
    Ok(ProbeDir {
        path,
        stamp: present.then_some(stamp),
    })
}

fn decode_result(r: &mut Reader) -> Result<ManifestResult, String> {
    let result_key = Key::from_bytes(r.take(32)?.try_into().unwrap());
    let includes = decode_includes(r)?;
    let m = r.u32()? as usize;
    let mut dirs = Vec::with_capacity(m.min(4096));
    for _ in 0..m {
        dirs.push(decode_probe_dir(r)?);
    }
    let probes = Probes::from_section(dirs, r.bytes()?);
    Ok(ManifestResult {
        result_key,
        includes,
        probes,
    })
}

fn decode_result_4(r: &mut Reader) -> Result<ManifestResult, String> {
    let result_key = Key::from_bytes(r.take(32)?.try_into().unwrap());
    let includes = decode_includes(r)?;
    let t = r.u32()?;
    let names = r.bytes()?;
    Candidates::check_names(t, names)?;
    let m = r.u32()? as usize;
    let mut dirs = Vec::with_capacity(m.min(4096));
    let mut per_dir = Vec::with_capacity(m.min(4096));
    for _ in 0..m {
        dirs.push(decode_probe_dir(r)?);
        per_dir.push(read_indices(r, t)?);
    }
    let probes = Probes::from_built(dirs, Candidates::from_parts(t, names, per_dir));
    Ok(ManifestResult {
        result_key,
        includes,
        probes,
    })
}

/// One result of a manifest, serialised (see the grammar above).
/// The same result key from the same include files with the same contents.
fn same_include_set(a: &ManifestResult, b: &ManifestResult) -> bool {
    a.result_key == b.result_key
        && a.includes.len() == b.includes.len()
        && (a.includes.iter().zip(&b.includes))
            .all(|(x, y)| x.path == y.path && x.digest == y.digest)
}

/// The result's bytes and what they weigh unpacked.
fn encode_result(res: &ManifestResult, level: Option<i32>) -> (Vec<u8>, u64) {
    let mut w = Writer::default();
    w.raw(res.result_key.as_bytes());
    encode_includes(&mut w, &res.includes);
    w.u32(res.probes.dirs.len() as u32);
    for probe in &res.probes.dirs {
        probe.path.write(&mut w);
        w.u8(u8::from(probe.stamp.is_some()));
        write_stamp(
            &mut w,
            &probe.stamp.unwrap_or(Stamp {
                size: 0,
                mtime_ns: 0,
                ctime_ns: 0,
                ino: 0,
            }),
        );
    }
    let section = res.probes.section(level);
    let weight = ((w.0.len() + 8 + section.len()) as u64).saturating_add(unpacked_len(&section));
    w.bytes(&section);
    (w.0, weight)
}

/// `n u32 | include{n}`, as `decode_includes` reads it.
fn encode_includes(w: &mut Writer, includes: &[IncludeRecord]) {
    w.u32(includes.len() as u32);
    for inc in includes {
        inc.path.write(w);
        w.raw(&inc.digest);
        write_stamp(w, &inc.stamp);
    }
}

fn write_stamp(w: &mut Writer, s: &Stamp) {
    w.u64(s.size);
    w.i64(s.mtime_ns);
    w.i64(s.ctime_ns);
    w.u64(s.ino);
}

fn read_stamp(r: &mut Reader) -> Result<Stamp, String> {
    Ok(Stamp {
        size: r.u64()?,
        mtime_ns: r.i64()?,
        ctime_ns: r.i64()?,
        ino: r.u64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(n: u8) -> ManifestResult {
        ManifestResult {
            result_key: Key::of(&[n]),
            includes: vec![IncludeRecord {
                path: StoredPath::Relative {
                    up: 1,
                    rest: "/include/x.h".into(),
                },
                digest: [n; 32],
                stamp: Stamp {
                    size: 10,
                    mtime_ns: 5,
                    ctime_ns: 6,
                    ino: 7,
                },
            }],
            probes: {
                let mut p = Probes::default();
                let mut index = Default::default();
                p.push(
                    StoredPath::Literal("include".into()),
                    None,
                    &["x.h".into(), "sys/y.h".into()],
                    &mut index,
                );
                p.push(
                    StoredPath::Literal("/usr/include".into()),
                    Some(Stamp {
                        size: 0,
                        mtime_ns: 1,
                        ctime_ns: 2,
                        ino: 3,
                    }),
                    &["x.h".into()],
                    &mut index,
                );
                p
            },
        }
    }

    #[test]
    fn round_trip_and_cap() {
        let key = Key::of(b"m");
        let mut m = Manifest::default();
        for n in 0..(MAX_RESULTS as u8 + 3) {
            m.add(result(n));
        }
        m.add(result(MAX_RESULTS as u8 + 2));
        assert_eq!(m.results.len(), MAX_RESULTS);
        assert_eq!(
            m.results.last().unwrap().result_key,
            Key::of(&[MAX_RESULTS as u8 + 2])
        );
        assert_eq!(m.results[0].result_key, Key::of(&[3]));
        let bytes = m.encode(&key, "ns", Some(1)).unwrap();
        assert_eq!(Manifest::decode(&bytes, &key).unwrap(), m);
        let mut bad = bytes.clone();
        bad[50] ^= 1;
        assert!(Manifest::decode(&bad, &key).is_err());
    }

    #[test]
    fn the_oldest_results_are_left_out_of_a_manifest_too_large() {
        let key = Key::of(b"m");
        let mut m = Manifest::default();
        for n in 0..3u8 {
            let mut r = result(n);
            // A 12 MiB candidate name: two such results fit, three not.
            let name = String::from_utf8(vec![b'x'; 12 << 20]).unwrap();
            r.probes.push(
                StoredPath::Literal("big".into()),
                None,
                &[name],
                &mut Default::default(),
            );
            m.add(r);
        }
        let bytes = m.encode(&key, "", Some(1)).unwrap();
        let kept = Manifest::decode(&bytes, &key).unwrap();
        let keys: Vec<Key> = kept.results.iter().map(|r| r.result_key).collect();
        assert_eq!(keys, [Key::of(&[1]), Key::of(&[2])]);
    }

    /// Found by the fuzzer (tests/fuzz, manifest_decode): a section
    /// declaring an unpacked length near 2^64 overflowed the weight that
    /// bounds a manifest; wrapping (as a release build does) let results
    /// declaring gigabytes each pass as light. Refused, whatever they sum to.
    #[test]
    fn candidate_sections_declaring_huge_lengths_are_refused() {
        let key = Key::of(b"m");
        for declared in [
            [u64::MAX].as_slice(),
            &[1 << 63, 1 << 63],
            &[u64::MAX / 2 + 2; 2],
        ] {
            let mut w = Writer::default();
            w.u32(declared.len() as u32);
            for len in declared {
                w.raw(Key::of(b"r").as_bytes());
                w.u32(0);
                w.u32(0);
                let mut section = vec![1];
                section.extend_from_slice(&len.to_le_bytes());
                w.bytes(&section);
            }
            let bytes = FORMAT.encode(&key, "", &w.0, None).unwrap();
            let err = Manifest::decode(&bytes, &key).unwrap_err();
            assert!(err.contains("larger than a manifest holds"), "{err}");
        }
        // Written, such a section (kept from no manifest read) weighs too
        // much to be kept, not next to nothing.
        let mut r = result(1);
        r.probes = Probes::from_section(Vec::new(), &[1, 255, 255, 255, 255, 255, 255, 255, 255]);
        let m = Manifest { results: vec![r] };
        let written = Manifest::decode(&m.encode(&key, "", None).unwrap(), &key).unwrap();
        assert!(written.results.is_empty());
    }

    #[test]
    fn probe_names_are_shared_and_checked() {
        let key = Key::of(b"m");
        let m = Manifest {
            results: vec![result(1)],
        };
        let decoded = Manifest::decode(&m.encode(&key, "", Some(1)).unwrap(), &key).unwrap();
        let probes = decoded.results[0].probes.candidates().unwrap();
        let table = probes.table();
        assert_eq!(table, [&b"x.h"[..], b"sys/y.h"], "each name once");
        let names = |d: usize| -> Vec<String> {
            probes
                .names_of(d, &table)
                .map(|p| p.display().to_string())
                .collect()
        };
        assert_eq!(names(0), ["x.h", "sys/y.h"]);
        assert_eq!(names(1), ["x.h"]);

        // An index out of range fails the unpacking, which a lookup takes
        // as a result it cannot check.
        let mut bad = m.clone();
        let mut c = bad.results[0].probes.candidates().unwrap().clone();
        c.set_index_for_test(1, 0, 2);
        let dirs = bad.results[0].probes.dirs.clone();
        bad.results[0].probes = Probes::from_built(dirs, c);
        let bytes = bad.encode(&key, "", Some(1)).unwrap();
        let decoded = Manifest::decode(&bytes, &key).unwrap();
        let err = decoded.results[0].probes.candidates().unwrap_err();
        assert!(err.contains("out of range"), "{err}");
    }

    /// Format 4 as objcache wrote it before the candidates had a section.
    fn encode_4(m: &Manifest, key: &Key) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(m.results.len() as u32);
        for res in &m.results {
            w.raw(res.result_key.as_bytes());
            encode_includes(&mut w, &res.includes);
            let c = res.probes.candidates().unwrap();
            let table = c.table();
            w.u32(table.len() as u32);
            let names: Vec<u8> = table
                .iter()
                .flat_map(|n| n.iter().chain(b"\0"))
                .copied()
                .collect();
            w.bytes(&names);
            w.u32(res.probes.dirs.len() as u32);
            for (i, probe) in res.probes.dirs.iter().enumerate() {
                probe.path.write(&mut w);
                w.u8(u8::from(probe.stamp.is_some()));
                write_stamp(&mut w, &probe.stamp.unwrap_or(Stamp::unproven(0)));
                let idx: Vec<u32> = c
                    .names_of(i, &table)
                    .map(|p| {
                        table
                            .iter()
                            .position(|n| *n == p.as_os_str().as_encoded_bytes())
                            .unwrap() as u32
                    })
                    .collect();
                w.u32(idx.len() as u32);
                for i in idx {
                    w.u32(i);
                }
            }
        }
        FORMAT_4.encode(key, "", &w.0, Some(1)).unwrap()
    }

    #[test]
    fn format_4_is_still_read_and_rewritten_as_5() {
        let key = Key::of(b"m");
        let m = Manifest {
            results: vec![result(1), result(2)],
        };
        let old = encode_4(&m, &key);
        assert_eq!(&old[4..6], &4u16.to_le_bytes());
        let read = Manifest::decode(&old, &key).unwrap();
        assert_eq!(read, m);
        let new = read.encode(&key, "", Some(1)).unwrap();
        assert_eq!(&new[4..6], &5u16.to_le_bytes());
        assert_eq!(Manifest::decode(&new, &key).unwrap(), m);
    }

    #[test]
    fn candidates_are_unpacked_only_when_asked_for() {
        let key = Key::of(b"m");
        let m = Manifest {
            results: vec![result(1)],
        };
        let bytes = m.encode(&key, "", Some(1)).unwrap();
        let decoded = Manifest::decode(&bytes, &key).unwrap();
        let probes = &decoded.results[0].probes;
        // A section that does not unpack fails only its first use, and
        // goes back as stored when the manifest is rewritten.
        let broken = Probes::from_section(probes.dirs.clone(), &[1, 200, 0, 0, 0, 0, 0, 0, 0, 7]);
        assert!(broken.candidates().is_err());
        assert_eq!(broken.section(Some(1)), [1, 200, 0, 0, 0, 0, 0, 0, 0, 7]);
        let huge = Probes::from_section(probes.dirs.clone(), &[0, 0, 0, 0, 0, 0, 0, 0, 255]);
        let err = huge.candidates().unwrap_err();
        assert!(err.contains("more than a manifest holds"), "{err}");
        // Uncompressed manifests keep their sections uncompressed too.
        let raw = m.encode(&key, "", None).unwrap();
        assert_eq!(Manifest::decode(&raw, &key).unwrap(), m);
    }

    #[test]
    fn a_directory_added_to_stored_probes_keeps_every_check() {
        let key = Key::of(b"m");
        let m = Manifest {
            results: vec![result(1)],
        };
        let decoded = Manifest::decode(&m.encode(&key, "", Some(1)).unwrap(), &key).unwrap();
        let mut probes = decoded.results[0].probes.clone();
        let mut index = Default::default();
        probes.push(
            StoredPath::Literal("new".into()),
            None,
            &["z.h".into()],
            &mut index,
        );
        let c = probes.candidates().unwrap();
        let table = c.table();
        let names: Vec<_> = c.names_of(2, &table).collect();
        assert_eq!(names, [std::path::Path::new("z.h")]);
        // A section that does not unpack: the directory is kept, and the
        // candidates stay an error rather than a list without its checks.
        let dirs = decoded.results[0].probes.dirs.clone();
        let mut broken = Probes::from_section(dirs, &[1, 200, 0, 0, 0, 0, 0, 0, 0, 7]);
        broken.push(
            StoredPath::Literal("new".into()),
            None,
            &["z.h".into()],
            &mut index,
        );
        assert_eq!(broken.dirs.len(), 3);
        assert!(broken.candidates().is_err());
    }
}
