//! The manifest (direct mode): under a key made from the source and the
//! arguments, the results stored for it, each with the include files its
//! compile read (path, content hash and stat) and the directories where a
//! new header would have shadowed one of them.
//!
//! ```text
//! payload  = count u32 | result*
//! result   = result_key [32] | n u32 | include{n} | names | m u32 | probe{m}
//! include  = path | digest [32] | size u64 | mtime_ns i64 | ctime_ns i64 | ino u64
//! names    = t u32 | bytes                (t candidate paths, each ended by NUL)
//! probe    = path | present u8 | size u64 | mtime_ns i64 | ctime_ns i64 | ino u64
//!            | k u32 | name_index u32 {k}  (indices into the result's names)
//! path     = 0 u8 | bytes                 (as spelled)
//!          | 1 u8 | up u32 | bytes        (under base_dir: relative to the cwd)
//! ```
//!
//! The same candidate name recurs in every directory searched before its
//! header's own, so each result keeps its names once, in one block that a
//! lookup splits only when a probe directory's stamp changed: decoding a
//! manifest on every direct lookup then costs a copy of that block instead
//! of thousands of small strings (a TU with 400 headers has about 6,000
//! candidates, 3,000 of them distinct).

use super::container::{Format, Reader, Writer};
use crate::key::Key;
use crate::paths;

/// The first bytes of every such file.
pub const MAGIC: &[u8; 4] = b"OCMF";

const FORMAT: Format = Format {
    magic: MAGIC,
    version: 4,
    max_payload: MAX_PAYLOAD,
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

    /// The path to look at from `cwd`.
    pub fn resolve(&self, cwd: &str) -> Option<String> {
        match self {
            StoredPath::Literal(p) => Some(p.clone()),
            StoredPath::Relative { up, rest } => paths::Relation {
                up: *up as usize,
                rest,
            }
            .resolve(cwd),
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

/// A directory searched before the one a header was found in. `names` are
/// the files that, if they appeared there, would be included instead (as
/// indices into `Probes::names`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeDir {
    pub path: StoredPath,
    /// `None`: the directory did not exist.
    pub stamp: Option<Stamp>,
    pub names: Vec<u32>,
}

/// The probe directories of one result and the candidate names they share.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probes {
    pub dirs: Vec<ProbeDir>,
    /// How many names `names` holds.
    name_count: u32,
    /// Every name followed by a NUL (paths cannot contain one).
    names: Vec<u8>,
}

impl Probes {
    /// Adds a directory with its candidate names, sharing names already known.
    pub fn push(
        &mut self,
        path: StoredPath,
        stamp: Option<Stamp>,
        names: &[String],
        index: &mut std::collections::HashMap<String, u32>,
    ) {
        let names = names
            .iter()
            .map(|n| {
                *index.entry(n.clone()).or_insert_with(|| {
                    self.names.extend_from_slice(n.as_bytes());
                    self.names.push(0);
                    self.name_count += 1;
                    self.name_count - 1
                })
            })
            .collect();
        self.dirs.push(ProbeDir { path, stamp, names });
    }

    /// The name table split up, for `names_of`: done only when needed.
    pub fn name_table(&self) -> Vec<&[u8]> {
        let mut table: Vec<&[u8]> = self.names.split(|&b| b == 0).collect();
        table.pop(); // after the last NUL
        table
    }

    /// The candidate names of `dir`, from `table` (see `name_table`).
    pub fn names_of<'a>(
        &self,
        dir: &'a ProbeDir,
        table: &'a [&'a [u8]],
    ) -> impl Iterator<Item = &'a std::path::Path> + 'a {
        use std::os::unix::ffi::OsStrExt;
        // Indices were checked against the table when the manifest was decoded.
        dir.names
            .iter()
            .map(|&i| std::path::Path::new(std::ffi::OsStr::from_bytes(table[i as usize])))
    }
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
            a.names == b.names
                && a.dirs.len() == b.dirs.len()
                && a.dirs.iter().zip(&b.dirs).all(|(x, y)| {
                    x.path == y.path && x.names == y.names && x.stamp.is_some() == y.stamp.is_some()
                })
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
        let parts: Vec<Vec<u8>> = self.results.iter().map(encode_result).collect();
        let mut kept = 0;
        let mut len = 4;
        for part in parts.iter().rev() {
            if (len + part.len()) as u64 > MAX_PAYLOAD {
                break;
            }
            len += part.len();
            kept += 1;
        }
        let mut w = Writer(Vec::with_capacity(len));
        w.u32(kept as u32);
        for part in &parts[parts.len() - kept..] {
            w.raw(part);
        }
        FORMAT.encode(key, namespace, &w.0, level)
    }

    pub fn decode(bytes: &[u8], key: &Key) -> Result<Manifest, String> {
        let payload = FORMAT.decode(bytes, key)?;
        let mut r = Reader::new(&payload);
        let count = r.u32()? as usize;
        let mut results = Vec::with_capacity(count.min(MAX_RESULTS));
        for _ in 0..count {
            let result_key = Key::from_bytes(r.take(32)?.try_into().unwrap());
            let n = r.u32()? as usize;
            let mut includes = Vec::with_capacity(n.min(4096));
            for _ in 0..n {
                let path = StoredPath::read(&mut r)?;
                let digest: [u8; 32] = r.take(32)?.try_into().unwrap();
                includes.push(IncludeRecord {
                    path,
                    digest,
                    stamp: read_stamp(&mut r)?,
                });
            }
            let t = r.u32()?;
            let names = r.bytes()?;
            if names.last().is_some_and(|&b| b != 0)
                || names.iter().filter(|&&b| b == 0).count() != t as usize
            {
                return Err("bad probe name table".into());
            }
            let m = r.u32()? as usize;
            let mut dirs = Vec::with_capacity(m.min(4096));
            for _ in 0..m {
                let path = StoredPath::read(&mut r)?;
                let present = r.u8()? != 0;
                let stamp = read_stamp(&mut r)?;
                let k = r.u32()? as usize;
                let mut indices = Vec::with_capacity(k.min(4096));
                for _ in 0..k {
                    let i = r.u32()?;
                    if i >= t {
                        return Err(format!("name index {i} out of range"));
                    }
                    indices.push(i);
                }
                dirs.push(ProbeDir {
                    path,
                    stamp: present.then_some(stamp),
                    names: indices,
                });
            }
            let probes = Probes {
                dirs,
                name_count: t,
                names: names.to_vec(),
            };
            results.push(ManifestResult {
                result_key,
                includes,
                probes,
            });
        }
        r.finish()?;
        Ok(Manifest { results })
    }
}

/// One result of a manifest, serialised (see the grammar above).
/// The same result key from the same include files with the same contents.
fn same_include_set(a: &ManifestResult, b: &ManifestResult) -> bool {
    a.result_key == b.result_key
        && a.includes.len() == b.includes.len()
        && (a.includes.iter().zip(&b.includes))
            .all(|(x, y)| x.path == y.path && x.digest == y.digest)
}

fn encode_result(res: &ManifestResult) -> Vec<u8> {
    let mut w = Writer::default();
    w.raw(res.result_key.as_bytes());
    w.u32(res.includes.len() as u32);
    for inc in &res.includes {
        inc.path.write(&mut w);
        w.raw(&inc.digest);
        write_stamp(&mut w, &inc.stamp);
    }
    w.u32(res.probes.name_count);
    w.bytes(&res.probes.names);
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
        w.u32(probe.names.len() as u32);
        for &i in &probe.names {
            w.u32(i);
        }
    }
    w.0
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
            let mut names = vec![b'x'; 12 << 20];
            names.extend_from_slice(&r.probes.names);
            r.probes.names = names;
            m.add(r);
        }
        let bytes = m.encode(&key, "", Some(1)).unwrap();
        let kept = Manifest::decode(&bytes, &key).unwrap();
        let keys: Vec<Key> = kept.results.iter().map(|r| r.result_key).collect();
        assert_eq!(keys, [Key::of(&[1]), Key::of(&[2])]);
    }

    #[test]
    fn probe_names_are_shared_and_checked() {
        let key = Key::of(b"m");
        let m = Manifest {
            results: vec![result(1)],
        };
        let decoded = Manifest::decode(&m.encode(&key, "", Some(1)).unwrap(), &key).unwrap();
        let probes = &decoded.results[0].probes;
        let table = probes.name_table();
        assert_eq!(table, [&b"x.h"[..], b"sys/y.h"], "each name once");
        let names = |d: usize| -> Vec<String> {
            probes
                .names_of(&probes.dirs[d], &table)
                .map(|p| p.display().to_string())
                .collect()
        };
        assert_eq!(names(0), ["x.h", "sys/y.h"]);
        assert_eq!(names(1), ["x.h"]);

        let mut bad = m.clone();
        bad.results[0].probes.dirs[1].names = vec![2];
        let bytes = bad.encode(&key, "", Some(1)).unwrap();
        let err = Manifest::decode(&bytes, &key).unwrap_err();
        assert!(err.contains("out of range"), "{err}");
    }
}
