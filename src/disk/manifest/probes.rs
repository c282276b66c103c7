//! The probe directories of a manifest result and their candidate names.
//!
//! A lookup needs the candidates only when a probe directory's stamp
//! changed, which most lookups never see; yet they are most of a
//! manifest (rocksdb's `block.cc`: 3,000 distinct names and 6,400
//! indices, 135 of its 190 KB). So they are kept apart, in a section
//! compressed on its own and unpacked (and verified) on first use: a
//! lookup that finds every directory as recorded neither decompresses
//! nor decodes them, and a manifest rewritten with another result copies
//! them as stored.
//!
//! ```text
//! section    = compression u8 (0 none, 1 zstd) | len u64 | body
//! candidates = t u32 | bytes (t names, each ended by NUL)
//!              | m u32 | (k u32 | name_index u32 {k}){m}   one list per probe directory
//! ```

use std::cell::OnceCell;
use std::path::Path;

use super::super::container::{decompress_exact, Reader, Writer};
use super::{Stamp, StoredPath, MAX_PAYLOAD};

/// A directory searched before the one a header was found in: if one of
/// its candidate names appeared there, it would be included instead.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeDir {
    pub path: StoredPath,
    /// `None`: the directory did not exist.
    pub stamp: Option<Stamp>,
}

/// The candidate names of every probe directory of a result, each name
/// kept once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidates {
    name_count: u32,
    /// Every name followed by a NUL (paths cannot contain one).
    names: Vec<u8>,
    /// Per probe directory, in order: indices into the names.
    per_dir: Vec<Vec<u32>>,
}

impl Candidates {
    /// The names split up, for `names_of`: done only when needed.
    pub fn table(&self) -> Vec<&[u8]> {
        let mut table: Vec<&[u8]> = self.names.split(|&b| b == 0).collect();
        table.pop(); // after the last NUL
        table
    }

    /// The candidate names of the `dir`th probe directory, from `table`.
    pub fn names_of<'a>(
        &'a self,
        dir: usize,
        table: &'a [&'a [u8]],
    ) -> impl Iterator<Item = &'a Path> + 'a {
        use std::os::unix::ffi::OsStrExt;
        // Indices were checked against the table when unpacked or built.
        self.per_dir[dir]
            .iter()
            .map(|&i| Path::new(std::ffi::OsStr::from_bytes(table[i as usize])))
    }

    /// How many candidates the `dir`th probe directory has.
    pub fn count_of(&self, dir: usize) -> usize {
        self.per_dir.get(dir).map_or(0, Vec::len)
    }

    #[cfg(test)]
    pub(super) fn set_index_for_test(&mut self, dir: usize, at: usize, index: u32) {
        self.per_dir[dir][at] = index;
    }

    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(self.name_count);
        w.bytes(&self.names);
        w.u32(self.per_dir.len() as u32);
        for list in &self.per_dir {
            w.u32(list.len() as u32);
            for &i in list {
                w.u32(i);
            }
        }
        w.0
    }

    /// Reads `t | names | m | lists` (the fields of format 4 and of a
    /// section's body) and checks them: names NUL-ended, `m == dirs`,
    /// every index in range.
    pub(super) fn read(r: &mut Reader, dirs: usize) -> Result<Candidates, String> {
        let t = r.u32()?;
        let names = r.bytes()?;
        Self::read_lists(r, t, names, dirs)
    }

    /// The rest of `read`, once `t` and the names are known (format 4
    /// puts the directories between them and their lists).
    pub(super) fn check_names(t: u32, names: &[u8]) -> Result<(), String> {
        // Counted as a sum, which the compiler vectorises.
        let nuls: usize = names.iter().map(|&b| usize::from(b == 0)).sum();
        if names.last().is_some_and(|&b| b != 0) || nuls != t as usize {
            return Err("bad probe name table".into());
        }
        Ok(())
    }

    fn read_lists(r: &mut Reader, t: u32, names: &[u8], dirs: usize) -> Result<Candidates, String> {
        Self::check_names(t, names)?;
        let m = r.u32()? as usize;
        if m != dirs {
            return Err(format!("{m} candidate lists for {dirs} probe directories"));
        }
        let mut per_dir = Vec::with_capacity(m);
        for _ in 0..m {
            per_dir.push(read_indices(r, t)?);
        }
        Ok(Candidates {
            name_count: t,
            names: names.to_vec(),
            per_dir,
        })
    }

    /// Format 4's candidates: the table, then each directory's list read
    /// by `read_dir_list` where the directories are.
    pub(super) fn from_parts(t: u32, names: &[u8], per_dir: Vec<Vec<u32>>) -> Candidates {
        Candidates {
            name_count: t,
            names: names.to_vec(),
            per_dir,
        }
    }
}

/// `k u32 | index u32{k}`, each index below `t`.
pub(super) fn read_indices(r: &mut Reader, t: u32) -> Result<Vec<u32>, String> {
    let k = r.u32()? as usize;
    let mut indices = Vec::with_capacity(k.min(4096));
    for _ in 0..k {
        let i = r.u32()?;
        if i >= t {
            return Err(format!("name index {i} out of range"));
        }
        indices.push(i);
    }
    Ok(indices)
}

#[derive(Clone, Debug)]
enum Store {
    /// Made by a recording compile (or read from format 4).
    Built(Candidates),
    /// As read from a manifest: unpacked on first use.
    Packed {
        section: Vec<u8>,
        unpacked: OnceCell<Result<Candidates, String>>,
    },
}

/// The probe directories of one result and their candidate names.
#[derive(Clone, Debug)]
pub struct Probes {
    pub dirs: Vec<ProbeDir>,
    store: Store,
}

impl Default for Probes {
    fn default() -> Probes {
        Probes {
            dirs: Vec::new(),
            store: Store::Built(Candidates::default()),
        }
    }
}

impl PartialEq for Probes {
    fn eq(&self, other: &Probes) -> bool {
        self.dirs == other.dirs && self.candidates() == other.candidates()
    }
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
        // Unpacked before the directory is added: a section holds one list
        // per directory it was stored with. One that does not unpack keeps
        // its error: any directory of this result found changed is then a
        // miss, never a pass without its candidates checked.
        let usable = self.built().is_some();
        self.dirs.push(ProbeDir { path, stamp });
        let (true, Store::Built(c)) = (usable, &mut self.store) else {
            return;
        };
        let list = names
            .iter()
            .map(|n| {
                *index.entry(n.clone()).or_insert_with(|| {
                    c.names.extend_from_slice(n.as_bytes());
                    c.names.push(0);
                    c.name_count += 1;
                    c.name_count - 1
                })
            })
            .collect();
        c.per_dir.push(list);
    }

    /// The candidates in a form that can grow (a stored section unpacked);
    /// `None` when the section does not unpack.
    fn built(&mut self) -> Option<&mut Candidates> {
        if let Store::Packed { .. } = self.store {
            let c = self.candidates().ok()?.clone();
            self.store = Store::Built(c);
        }
        match &mut self.store {
            Store::Built(c) => Some(c),
            Store::Packed { .. } => None,
        }
    }

    /// The candidate names, unpacked and checked on first use. An error
    /// (a section that does not decompress or verify) means the result
    /// cannot be checked.
    pub fn candidates(&self) -> Result<&Candidates, String> {
        match &self.store {
            Store::Built(c) => Ok(c),
            Store::Packed { section, unpacked } => unpacked
                .get_or_init(|| unpack(section, self.dirs.len()))
                .as_ref()
                .map_err(|e| format!("probe candidates: {e}")),
        }
    }

    /// What the candidates take unpacked, as far as a stored section
    /// declares it (0 once built: they are in memory already).
    pub(super) fn unpacked_len(&self) -> u64 {
        match &self.store {
            Store::Packed { section, .. } => unpacked_len(section),
            Store::Built(_) => 0,
        }
    }

    /// Unpacks a stored section, so that the next encoding compresses it
    /// afresh (at another level); one that does not unpack stays as it is.
    pub fn unpack(&mut self) {
        if let Ok(c) = self.candidates() {
            self.store = Store::Built(c.clone());
        }
    }

    /// Format 4: candidates read with the rest.
    pub(super) fn from_built(dirs: Vec<ProbeDir>, candidates: Candidates) -> Probes {
        Probes {
            dirs,
            store: Store::Built(candidates),
        }
    }

    /// Format 5: the section as stored, unpacked when first needed.
    pub(super) fn from_section(dirs: Vec<ProbeDir>, section: &[u8]) -> Probes {
        Probes {
            dirs,
            store: Store::Packed {
                section: section.to_vec(),
                unpacked: OnceCell::new(),
            },
        }
    }

    /// The section to store: compressed at `level` (`None`: not at all);
    /// one read from a manifest goes back as it was.
    pub(super) fn section(&self, level: Option<i32>) -> Vec<u8> {
        let c = match &self.store {
            Store::Packed { section, .. } => return section.clone(),
            Store::Built(c) => c,
        };
        let body = c.encode();
        let mut w = Writer::default();
        let packed = level.and_then(|l| zstd::bulk::compress(&body, l).ok());
        w.u8(u8::from(packed.is_some()));
        w.u64(body.len() as u64);
        w.raw(packed.as_deref().unwrap_or(&body));
        w.0
    }
}

/// The unpacked length a section declares (0 for one too short to say):
/// what it will take in memory, counted against the manifest's bound.
pub(super) fn unpacked_len(section: &[u8]) -> u64 {
    section
        .get(1..9)
        .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
}

fn unpack(section: &[u8], dirs: usize) -> Result<Candidates, String> {
    let mut r = Reader::new(section);
    let compression = r.u8()?;
    let len = r.u64()?;
    if len > MAX_PAYLOAD {
        return Err(format!("{len} bytes, more than a manifest holds"));
    }
    let rest = r.take(section.len() - 9)?;
    let body = match compression {
        0 if rest.len() as u64 == len => rest.to_vec(),
        0 => return Err("length mismatch".into()),
        1 => decompress_exact(rest, len)?,
        k => return Err(format!("unknown compression {k}")),
    };
    let mut r = Reader::new(&body);
    let c = Candidates::read(&mut r, dirs)?;
    r.finish()?;
    Ok(c)
}
