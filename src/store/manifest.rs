//! The manifest (direct mode): under a key made from the source and the
//! arguments, the results stored for it, each with the include files its
//! compile read (path, content hash and stat) and the directories where a
//! new header would have shadowed one of them.
//!
//! ```text
//! payload  = count u32 | result*
//! result   = result_key [32] | n u32 | include{n} | m u32 | probe{m}
//! include  = path | digest [32] | size u64 | mtime_ns i64 | ctime_ns i64
//! probe    = path | present u8 | mtime_ns i64 | ctime_ns i64 | k u32 | name{k}
//! path     = 0 u8 | bytes                 (as spelled)
//!          | 1 u8 | up u32 | bytes        (under base_dir: relative to the cwd)
//! ```

use super::container::{Format, Reader, Writer};
use crate::hash::Key;
use crate::paths;

const FORMAT: Format = Format {
    magic: b"OCMF",
    version: 2,
};

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
    pub fn new(path: &str, cwd: &str, base_dir: Option<&std::path::Path>) -> StoredPath {
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
/// long as the file was not modified during the compile that recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
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
/// the files that, if they appeared there, would be included instead.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeDir {
    pub path: StoredPath,
    /// `None`: the directory did not exist.
    pub stamp: Option<Stamp>,
    pub names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ManifestResult {
    pub result_key: Key,
    pub includes: Vec<IncludeRecord>,
    pub probes: Vec<ProbeDir>,
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
        self.results.retain(|r| {
            !(r.result_key == result.result_key
                && r.includes.len() == result.includes.len()
                && r.includes
                    .iter()
                    .zip(&result.includes)
                    .all(|(a, b)| a.path == b.path && a.digest == b.digest))
        });
        self.results.push(result);
        if self.results.len() > MAX_RESULTS {
            let excess = self.results.len() - MAX_RESULTS;
            self.results.drain(..excess);
        }
    }

    pub fn encode(
        &self,
        key: &Key,
        namespace: &str,
        level: Option<i32>,
    ) -> std::io::Result<Vec<u8>> {
        let mut w = Writer::default();
        w.u32(self.results.len() as u32);
        for res in &self.results {
            w.raw(res.result_key.as_bytes());
            w.u32(res.includes.len() as u32);
            for inc in &res.includes {
                inc.path.write(&mut w);
                w.raw(&inc.digest);
                write_stamp(&mut w, &inc.stamp);
            }
            w.u32(res.probes.len() as u32);
            for probe in &res.probes {
                probe.path.write(&mut w);
                w.u8(u8::from(probe.stamp.is_some()));
                write_stamp(
                    &mut w,
                    &probe.stamp.unwrap_or(Stamp {
                        size: 0,
                        mtime_ns: 0,
                        ctime_ns: 0,
                    }),
                );
                w.u32(probe.names.len() as u32);
                for name in &probe.names {
                    w.bytes(name.as_bytes());
                }
            }
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
            let m = r.u32()? as usize;
            let mut probes = Vec::with_capacity(m.min(4096));
            for _ in 0..m {
                let path = StoredPath::read(&mut r)?;
                let present = r.u8()? != 0;
                let stamp = read_stamp(&mut r)?;
                let k = r.u32()? as usize;
                let mut names = Vec::with_capacity(k.min(4096));
                for _ in 0..k {
                    names.push(r.string()?);
                }
                probes.push(ProbeDir {
                    path,
                    stamp: present.then_some(stamp),
                    names,
                });
            }
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

fn write_stamp(w: &mut Writer, s: &Stamp) {
    w.u64(s.size);
    w.i64(s.mtime_ns);
    w.i64(s.ctime_ns);
}

fn read_stamp(r: &mut Reader) -> Result<Stamp, String> {
    Ok(Stamp {
        size: r.u64()?,
        mtime_ns: r.i64()?,
        ctime_ns: r.i64()?,
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
                },
            }],
            probes: vec![ProbeDir {
                path: StoredPath::Literal("include".into()),
                stamp: None,
                names: vec!["x.h".into()],
            }],
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
}
