//! Direct mode's lookup: does everything a manifest recorded for a result
//! (see `record`) still hold in this checkout? A header created in a
//! directory searched before the one an include was found in changes what
//! the compiler reads, so on lookup an unchanged probe directory stamp
//! proves no file appeared; otherwise each candidate must still be absent.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use super::includes::is_header_file;
use crate::disk::manifest::{ManifestResult, Stamp};
use crate::paths::resolve_in;

/// Content hashes of files computed during one lookup, shared by the
/// results of a manifest that list the same headers.
#[derive(Default)]
pub struct DigestCache(HashMap<String, Option<[u8; 32]>>);

impl DigestCache {
    fn digest(&mut self, path: &str) -> Option<[u8; 32]> {
        if let Some(d) = self.0.get(path) {
            return *d;
        }
        let d = crate::key::hash_file_content(Path::new(path)).ok();
        self.0.insert(path.to_string(), d);
        d
    }
}

/// Does everything recorded for `result` still hold in `cwd`? `Err` says
/// what changed, for the log: the first thing that did. `Ok(Some(restamp))`:
/// it holds, but some headers had to be hashed or some probe directories
/// checked name by name because their stamps differ (another checkout, a
/// fresh clone); these are their stamps now, so the manifest can learn them
/// and the next lookup takes the fast path.
///
/// `mapped_dirs`: directories the call's prefix maps name by their place in
/// the working directory (`ArgsAnalysis::cwd_mapped_dirs`); a header
/// recorded by an absolute path under one was not mapped in the compile
/// that recorded it (it is never recorded where it was), but would be here.
pub fn still_valid(
    result: &ManifestResult,
    cwd: &str,
    mapped_dirs: &[String],
    digests: &mut DigestCache,
) -> Result<Option<Restamp>, String> {
    let mut current = Vec::with_capacity(result.includes.len());
    let mut changed_dirs = Vec::new();
    let mut hashed = false;
    for inc in &result.includes {
        let Some(path) = inc.path.resolve(cwd) else {
            return Err(format!("{:?} cannot be resolved from {cwd}", inc.path));
        };
        let mapped_here = |d: &String| crate::paths::strip_dir(&path, d).is_some();
        if path.starts_with('/') && mapped_dirs.iter().any(mapped_here) {
            return Err(format!("{path} lies under a directory a prefix map names"));
        }
        let path = resolve_in(cwd, &path);
        let Ok(meta) = fs::metadata(&path) else {
            return Err(format!("{path} is gone"));
        };
        let stamp = Stamp::of(&meta);
        if stamp.size != inc.stamp.size {
            return Err(format!("{path} changed (size)"));
        }
        // Same size, mtime, ctime and inode as when recorded (a stamp is
        // recorded only once its tick is over): unchanged. Otherwise compare the content.
        if stamp != inc.stamp {
            if digests.digest(&path) != Some(inc.digest) {
                return Err(format!("{path} changed (content)"));
            }
            hashed = true;
        }
        current.push(stamp);
    }
    // Split only if a directory changed: most lookups never need the names.
    let mut names = None;
    for (i, probe) in result.probes.dirs.iter().enumerate() {
        let Some(dir) = probe.path.resolve(cwd) else {
            return Err(format!("{:?} cannot be resolved from {cwd}", probe.path));
        };
        let dir = resolve_in(cwd, if dir.is_empty() { "." } else { &dir });
        match (fs::metadata(&dir), probe.stamp) {
            (Err(_), _) => continue,
            (Ok(m), Some(recorded))
                if Stamp {
                    size: 0,
                    ..Stamp::of(&m)
                } == recorded =>
            {
                continue
            }
            (Ok(m), _) => {
                let table = names.get_or_insert_with(|| result.probes.name_table());
                let candidates = result.probes.names_of(probe, table);
                if let Some(n) = first_present(Path::new(&dir), candidates, probe.names.len()) {
                    return Err(format!(
                        "{dir}/{} appeared and would be included instead",
                        n.display()
                    ));
                }
                changed_dirs.push((
                    i,
                    Stamp {
                        size: 0,
                        ..Stamp::of(&m)
                    },
                ));
            }
        }
    }
    // Only when headers had to be hashed (another checkout, a fresh clone):
    // a directory that changes on its own (objects written beside sources)
    // would otherwise have the manifest rewritten on every hit.
    Ok(hashed.then_some(Restamp {
        includes: current,
        dirs: changed_dirs,
    }))
}

/// What a direct hit found different from the record although the inputs
/// were the same: in another checkout every stamp differs. Learning them
/// lets the next lookup here decide by `stat` alone.
#[derive(Debug)]
pub struct Restamp {
    /// The current stamp of every include, in the record's order.
    pub includes: Vec<Stamp>,
    /// Probe directories (index, current stamp) whose stamp changed while
    /// none of their candidates appeared.
    pub dirs: Vec<(usize, Stamp)>,
}

impl Restamp {
    /// The record with the stamps that are settled at `coarse_start_ns` (the
    /// call's start by the coarse clock, read before they were taken), or
    /// `None` when none is. A stamp taken while its tick still runs would
    /// match a rewrite later in that tick: its file keeps the recorded stamp
    /// and is compared by content again. No sloppiness applies: a record
    /// trusts a stamp only while it proves the content.
    pub fn apply(&self, result: &ManifestResult, coarse_start_ns: i64) -> Option<ManifestResult> {
        let mut updated = result.clone();
        let mut learned = false;
        for (inc, stamp) in updated.includes.iter_mut().zip(&self.includes) {
            if inc.stamp != *stamp && stamp.settled_at(coarse_start_ns) {
                inc.stamp = *stamp;
                learned = true;
            }
        }
        for (i, stamp) in &self.dirs {
            // A directory changed in this tick could still gain a file
            // without its stamp changing: leave it to be checked by name.
            if stamp.settled_at(coarse_start_ns) {
                updated.probes.dirs[*i].stamp = Some(*stamp);
                learned = true;
            }
        }
        learned.then_some(updated)
    }
}

/// The first of `names` (relative to `dir`) that names a header file now.
/// With many names, one listing of `dir` rules out those whose first
/// component is not there, instead of a failed `stat` each (a relocated
/// checkout changes every probe directory's stamp).
fn first_present<'a>(
    dir: &Path,
    mut names: impl Iterator<Item = &'a Path>,
    count: usize,
) -> Option<&'a Path> {
    let listing: Option<HashSet<std::ffi::OsString>> = (count > 16)
        .then(|| fs::read_dir(dir).ok())
        .flatten()
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect()
        });
    names.find(|n| {
        if let (Some(listing), Some(std::path::Component::Normal(first))) =
            (&listing, n.components().next())
        {
            if !listing.contains(first) {
                return false;
            }
        }
        is_header_file(&dir.join(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::includes::{ReadFile, SearchDirs};
    use crate::hash::record::RecordContext;

    #[test]
    fn first_present_with_and_without_a_listing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d");
        fs::create_dir_all(d.join("sub/dir.h")).unwrap();
        fs::write(d.join("sub/y.h"), "").unwrap();
        fs::write(dir.path().join("up.h"), "").unwrap();
        let mut names: Vec<std::path::PathBuf> =
            (0..20).map(|i| format!("absent{i}.h").into()).collect();
        names.push("sub/dir.h".into()); // a directory is no header
        for (extra, want) in [("sub/y.h", "sub/y.h"), ("../up.h", "../up.h")] {
            let mut all = names.clone();
            all.push(extra.into());
            for count in [all.len(), 1] {
                let found = first_present(&d, all.iter().map(|p| p.as_path()), count);
                assert_eq!(found, Some(Path::new(want)), "{extra}, count {count}");
            }
        }
        assert_eq!(
            first_present(&d, names.iter().map(|p| p.as_path()), 99),
            None
        );
    }

    /// The record of a compile of `t.c` in `cwd` that read `inc2/x.h`,
    /// searched after the missing `inc0` and the empty `inc1`.
    fn record_x_h(cwd: &str) -> ManifestResult {
        let ctx = RecordContext {
            cwd,
            base_dir: None,
            coarse_start_ns: crate::clock::coarse_now_ns(),
            input: "t.c",
            time_macros_sloppy: false,
            date_keyed: false,
            file_macro_sensitive: false,
            skip_system_headers: false,
            command_line_tests: false,
            mtime_sloppy: false,
            ctime_sloppy: false,
            ignored_headers: &[],
        };
        let files = vec![ReadFile {
            path: "inc2/x.h".into(),
            includer: Some("t.c".into()),
            system: false,
        }];
        let search = SearchDirs {
            quote: vec![],
            bracket: vec!["inc1".into(), "inc2".into()],
            missing: vec!["inc0".into()],
            parsed: true,
        };
        let (includes, probes) = ctx.record(&files, &search).unwrap();
        ManifestResult {
            result_key: crate::key::Key::of(b"r"),
            includes,
            probes,
        }
    }

    #[test]
    fn probes_cover_earlier_search_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().to_str().unwrap();
        for d in ["inc1", "inc2"] {
            fs::create_dir(dir.path().join(d)).unwrap();
        }
        fs::write(dir.path().join("inc2/x.h"), "int x;\n").unwrap();
        fs::write(dir.path().join("t.c"), "#include \"x.h\"\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let result = record_x_h(cwd);
        let dirs: Vec<String> = result
            .probes
            .dirs
            .iter()
            .map(|p| p.path.resolve(cwd).unwrap())
            .collect();
        // The missing inc0 is probed from the cwd.
        assert_eq!(dirs, ["", "inc1"]);
        let table = result.probes.name_table();
        let names: Vec<&Path> = result
            .probes
            .names_of(&result.probes.dirs[0], &table)
            .collect();
        assert_eq!(names, [Path::new("inc0/x.h"), Path::new("x.h")]);
        let mut cache = DigestCache::default();
        assert!(still_valid(&result, cwd, &[], &mut cache).is_ok());
        // A header appearing earlier on the search path shadows the recorded one.
        fs::write(dir.path().join("inc1/x.h"), "int shadow;\n").unwrap();
        assert!(still_valid(&result, cwd, &[], &mut DigestCache::default()).is_err());
        fs::remove_file(dir.path().join("inc1/x.h")).unwrap();
        // inc1 changed and was checked name by name: alone, that is not
        // worth a manifest rewrite; with a header to restamp (a new
        // checkout), its stamp is learned once older than the clock tick.
        assert!(still_valid(&result, cwd, &[], &mut DigestCache::default())
            .unwrap()
            .is_none());
        fs::write(dir.path().join("inc2/x.h"), "int x;\n").unwrap();
        let restamp = still_valid(&result, cwd, &[], &mut DigestCache::default())
            .unwrap()
            .expect("x.h's and inc1's stamps changed");
        assert_eq!(restamp.dirs.iter().map(|d| d.0).collect::<Vec<_>>(), [1]);
        std::thread::sleep(std::time::Duration::from_millis(30));
        let learned = restamp
            .apply(&result, crate::clock::coarse_now_ns() + 2_000_000_000)
            .unwrap();
        assert!(still_valid(&learned, cwd, &[], &mut DigestCache::default())
            .unwrap()
            .is_none());
        // Nothing when everything changed at or after the call's start.
        assert!(restamp.apply(&result, 0).is_none());
        // A missing search directory that appears with the header shadows it too.
        fs::create_dir(dir.path().join("inc0")).unwrap();
        fs::write(dir.path().join("inc0/x.h"), "int shadow;\n").unwrap();
        assert!(still_valid(&result, cwd, &[], &mut DigestCache::default()).is_err());
        fs::remove_dir_all(dir.path().join("inc0")).unwrap();
        // A changed header is a mismatch even with the same size.
        fs::write(dir.path().join("inc2/x.h"), "int y;\n").unwrap();
        assert!(still_valid(&result, cwd, &[], &mut DigestCache::default()).is_err());
    }

    fn whole_second_result(stamp: Stamp) -> ManifestResult {
        use crate::disk::manifest::{IncludeRecord, Probes, StoredPath};
        ManifestResult {
            result_key: crate::key::Key::of(b"r"),
            includes: vec![IncludeRecord {
                path: StoredPath::Literal("h.h".into()),
                digest: [0; 32],
                stamp,
            }],
            probes: Probes::default(),
        }
    }

    #[test]
    fn stamps_are_learned_only_once_their_tick_is_over() {
        let second = 1_700_000_001_000_000_000_i64;
        let result = whole_second_result(Stamp::unproven(4));
        let learn = |now: Stamp, start| {
            let restamp = Restamp {
                includes: vec![now],
                dirs: vec![],
            };
            restamp.apply(&result, start).map(|r| r.includes[0].stamp)
        };
        let at = |mtime_ns, ctime_ns| Stamp {
            size: 4,
            mtime_ns,
            ctime_ns,
            ino: 1,
        };
        // A file system with 1-second stamps: a start later in the same
        // second could be followed by a rewrite that keeps the stamp.
        let coarse = at(second, second);
        assert_eq!(learn(coarse, second + 300_000_000), None);
        assert_eq!(learn(coarse, second + 1_000_000_000), Some(coarse));
        // A fine file system: the stamp is the coarse clock's reading when
        // the file was written; a start in the same coarse tick reads the
        // same value, the next tick (4 ms with HZ=250) a later one.
        let fine = at(second + 123_456_789, second + 123_456_789);
        assert_eq!(learn(fine, second + 123_456_789), None);
        assert_eq!(learn(fine, second + 127_456_789), Some(fine));
        // An old whole-second mtime (a tarball) with a fresh ctime: the
        // ctime decides.
        let unpacked = at(second - 86_400_000_000_000, second + 123_456_789);
        assert_eq!(learn(unpacked, second + 123_456_789), None);
        assert_eq!(learn(unpacked, second + 127_456_789), Some(unpacked));
    }

    #[test]
    fn a_header_in_the_starts_second_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().to_str().unwrap();
        fs::write(dir.path().join("t.c"), "#include \"x.h\"\n").unwrap();
        let header = dir.path().join("x.h");
        fs::write(&header, "#define VAL 111\n").unwrap();
        // Stamped as on a file system with 1-second stamps, in the second
        // the call starts in: a whole-second mtime, a ctime in that second.
        let second_ns = loop {
            let second = crate::clock::now_secs();
            let whole = std::time::UNIX_EPOCH + std::time::Duration::from_secs(second);
            let f = fs::File::options().write(true).open(&header).unwrap();
            f.set_modified(whole).unwrap();
            let ctime = Stamp::of(&fs::metadata(&header).unwrap()).ctime_ns;
            if ctime / 1_000_000_000 == second as i64 {
                break second as i64 * 1_000_000_000;
            }
        };
        let late = second_ns + 999_999_999;
        let ctx = |mtime_sloppy| RecordContext {
            cwd,
            base_dir: None,
            coarse_start_ns: late,
            input: "t.c",
            time_macros_sloppy: false,
            date_keyed: false,
            file_macro_sensitive: false,
            skip_system_headers: false,
            command_line_tests: false,
            mtime_sloppy,
            ctime_sloppy: false,
            ignored_headers: &[],
        };
        let files = vec![ReadFile {
            path: "x.h".into(),
            includer: Some("t.c".into()),
            system: false,
        }];
        let search = SearchDirs {
            parsed: true,
            ..SearchDirs::default()
        };
        let why = ctx(false).record(&files, &search).unwrap_err();
        let why = why.why();
        assert!(why.contains("x.h is too new"), "{why}");
        // include_file_mtime lets it through, unproven: a lookup compares
        // its content, and learns its stamp only after its second.
        let (includes, probes) = ctx(true).record(&files, &search).unwrap();
        assert_eq!(includes[0].stamp, Stamp::unproven(16));
        let result = ManifestResult {
            result_key: crate::key::Key::of(b"r"),
            includes,
            probes,
        };
        let restamp = still_valid(&result, cwd, &[], &mut DigestCache::default())
            .unwrap()
            .expect("compared by content");
        assert!(restamp.apply(&result, late).is_none());
        let learned = restamp.apply(&result, second_ns + 2_000_000_000).unwrap();
        assert_eq!(learned.includes[0].stamp, restamp.includes[0]);
    }
}
