//! Direct mode's lookup: does everything a manifest recorded for a result
//! (see `record`) still hold in this checkout? A header created in a
//! directory searched before the one an include was found in changes what
//! the compiler reads, so on lookup an unchanged probe directory stamp
//! proves no file appeared; otherwise each candidate must still be absent.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use super::includes::is_header_file;
use crate::disk::inode_memo::{same_identity, settled, Identity, InodeMemo};
use crate::disk::manifest::{ManifestResult, Stamp};
use crate::paths::resolve_in;

/// Content digests of files during one lookup, shared by the results of a
/// manifest that list the same headers, and the inode memo behind them
/// (`None`: `inode_cache` is off).
#[derive(Default)]
pub struct DigestCache<'m> {
    seen: HashMap<String, Option<[u8; 32]>>,
    memo: Option<&'m InodeMemo>,
    /// The call's start by the coarse clock: only what is settled then is
    /// remembered.
    coarse_start_ns: i64,
    /// How many digests the memo gave, and how many files were hashed.
    pub recalled: usize,
    pub hashed: usize,
}

impl<'m> DigestCache<'m> {
    pub fn new(memo: Option<&'m InodeMemo>, coarse_start_ns: i64) -> DigestCache<'m> {
        DigestCache {
            memo,
            coarse_start_ns,
            ..DigestCache::default()
        }
    }

    /// The digest of the file at `path`, which `meta` describes: from the
    /// memo when it knows that identity, else hashed (and remembered when
    /// the file stayed the same while it was read and is settled).
    fn digest(&mut self, path: &str, meta: &fs::Metadata) -> Option<[u8; 32]> {
        if let Some(d) = self.seen.get(path) {
            return *d;
        }
        let id = self.memo.map(|_| Identity::of(meta, None));
        let recalled = self.memo.zip(id.as_ref()).and_then(|(m, id)| m.recall(id));
        let d = match recalled {
            Some(d) => {
                self.recalled += 1;
                Some(d)
            }
            None => {
                self.hashed += 1;
                self.hash_and_remember(Path::new(path))
            }
        };
        self.seen.insert(path.to_string(), d);
        d
    }

    /// Hashes the file through one open descriptor; its identity before and
    /// after the read is the one the digest is remembered under.
    fn hash_and_remember(&self, path: &Path) -> Option<[u8; 32]> {
        let Some(memo) = self.memo else {
            return crate::key::hash_file_content(path).ok();
        };
        let (file, _) = crate::files::open_regular_file(path).ok()?;
        let before = file.metadata().ok()?;
        let digest = crate::key::hash_open_file(&file, before.len()).ok()?;
        let after = file.metadata().ok()?;
        if same_identity(&before, &after) && settled(&after, self.coarse_start_ns) {
            memo.remember(&Identity::of(&after, None), &digest);
        }
        Some(digest)
    }

    /// Did the memo find no candidate in the directory `meta` describes,
    /// with these names (their digest)?
    fn recalls_absent(&self, meta: &fs::Metadata, names: &[u8; 32]) -> bool {
        self.memo
            .is_some_and(|m| m.recall(&Identity::of(meta, Some(names))) == Some(*names))
    }

    /// Remembers that none of `names` was in `dir`, if the directory, as
    /// `before` describes it, stayed the same while it was checked and is
    /// settled: a file added later changes its stamps.
    fn remember_absent(&self, dir: &str, before: &fs::Metadata, names: &[u8; 32]) {
        let Some(memo) = self.memo else {
            return;
        };
        let Ok(after) = fs::metadata(dir) else {
            return;
        };
        if same_identity(before, &after) && settled(&after, self.coarse_start_ns) {
            memo.remember(&Identity::of(&after, Some(names)), names);
        }
    }
}

/// Does everything recorded for `result` still hold in `cwd`? `Err` says
/// what changed, for the log: the first thing that did. A header whose
/// stamp differs from its record (another checkout, a fresh clone, a
/// restored cache) is judged by its content digest, which `digests` takes
/// from the inode memo or computes; a probe directory whose stamp differs
/// is checked name by name unless the memo knows it without them. The
/// manifest is never rewritten for such stamps: another checkout would
/// only rewrite it back.
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
) -> Result<(), String> {
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
        if stamp != inc.stamp && digests.digest(&path, &meta) != Some(inc.digest) {
            return Err(format!("{path} changed (content)"));
        }
    }
    // Unpacked and split only if a directory changed: most lookups never
    // need the names.
    let mut table = None;
    for (i, probe) in result.probes.dirs.iter().enumerate() {
        let Some(dir) = probe.path.resolve(cwd) else {
            return Err(format!("{:?} cannot be resolved from {cwd}", probe.path));
        };
        let dir = resolve_in(cwd, if dir.is_empty() { "." } else { &dir });
        let Ok(meta) = fs::metadata(&dir) else {
            continue;
        };
        if probe.stamp
            == Some(Stamp {
                size: 0,
                ..Stamp::of(&meta)
            })
        {
            continue;
        }
        let candidates = result.probes.candidates()?;
        let table = table.get_or_insert_with(|| candidates.table());
        let names_digest = digest_of_names(candidates.names_of(i, table));
        if digests.recalls_absent(&meta, &names_digest) {
            continue;
        }
        let names = candidates.names_of(i, table);
        match first_present(Path::new(&dir), names, candidates.count_of(i)) {
            Probed::Present(n) => {
                return Err(format!(
                    "{dir}/{} appeared and would be included instead",
                    n.display()
                ));
            }
            Probed::Absent { covered: true } => digests.remember_absent(&dir, &meta, &names_digest),
            Probed::Absent { covered: false } => {}
        }
    }
    Ok(())
}

/// What identifies a probe directory's candidate names in the memo.
fn digest_of_names<'a>(names: impl Iterator<Item = &'a Path>) -> [u8; 32] {
    // One update of the whole stream: thousands of tiny ones cost BLAKE3
    // more than the bytes do.
    let mut stream = Vec::with_capacity(4096);
    for n in names {
        let bytes = n.as_os_str().as_encoded_bytes();
        stream.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        stream.extend_from_slice(bytes);
    }
    *blake3::hash(&stream).as_bytes()
}

/// What checking a probe directory's candidate names found.
#[derive(Debug, PartialEq)]
enum Probed<'a> {
    /// This name is a header now.
    Present(&'a Path),
    /// None is; `covered`: the first component of every name is absent
    /// from the directory, so none can appear without the directory's own
    /// stamps changing. A name in an existing subdirectory (`sub/x.h` with
    /// `sub` there), through `..`, or behind a dangling symlink can: its
    /// absence says nothing about the directory's identity.
    Absent { covered: bool },
}

/// Checks `names` (relative to `dir`). With many names, one listing of
/// `dir` rules out those whose first component is not there, instead of a
/// failed `stat` each (a relocated checkout changes every probe
/// directory's stamp).
fn first_present<'a>(
    dir: &Path,
    names: impl Iterator<Item = &'a Path>,
    count: usize,
) -> Probed<'a> {
    // Sorted for binary search: cheaper than hashing each of hundreds of
    // names with SipHash, and no name can make a lookup slow.
    let listing: Option<Vec<std::ffi::OsString>> = (count > 16)
        .then(|| fs::read_dir(dir).ok())
        .flatten()
        .map(|entries| {
            let mut names: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect();
            names.sort_unstable();
            names
        });
    let mut covered = true;
    for n in names {
        let first = match n.components().next() {
            Some(std::path::Component::Normal(first)) => Some(first),
            _ => None,
        };
        let first_absent = match (&listing, first) {
            (Some(listing), Some(first)) => listing
                .binary_search_by(|n| n.as_os_str().cmp(first))
                .is_err(),
            (None, Some(first)) => dir.join(first).symlink_metadata().is_err(),
            (_, None) => false,
        };
        if first_absent {
            continue;
        }
        if is_header_file(&dir.join(n)) {
            return Probed::Present(n);
        }
        covered = false;
    }
    Probed::Absent { covered }
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
                assert_eq!(found, Probed::Present(Path::new(want)), "{extra}, {count}");
            }
        }
        // Only names whose first component is absent are covered by the
        // directory's stamps: not `sub/dir.h` (`sub` exists), `../x.h` or
        // a dangling symlink.
        std::os::unix::fs::symlink("nowhere.h", d.join("dangling.h")).unwrap();
        let absent: Vec<std::path::PathBuf> = (0..20).map(|i| format!("a{i}/x.h").into()).collect();
        for (extra, covered) in [
            (None, true),
            (Some("sub/dir.h"), false),
            (Some("../x.h"), false),
            (Some("dangling.h"), false),
        ] {
            let mut all = absent.clone();
            all.extend(extra.map(std::path::PathBuf::from));
            for count in [all.len(), 1] {
                let found = first_present(&d, all.iter().map(|p| p.as_path()), count);
                assert_eq!(found, Probed::Absent { covered }, "{extra:?}, {count}");
            }
        }
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
            .map(|p| p.path.resolve(cwd).unwrap().into_owned())
            .collect();
        // The missing inc0 is probed from the cwd.
        assert_eq!(dirs, ["", "inc1"]);
        let candidates = result.probes.candidates().unwrap();
        let table = candidates.table();
        let names: Vec<&Path> = candidates.names_of(0, &table).collect();
        assert_eq!(names, [Path::new("inc0/x.h"), Path::new("x.h")]);
        let mut cache = DigestCache::default();
        assert!(still_valid(&result, cwd, &[], &mut cache).is_ok());
        // A header appearing earlier on the search path shadows the recorded one.
        fs::write(dir.path().join("inc1/x.h"), "int shadow;\n").unwrap();
        assert!(still_valid(&result, cwd, &[], &mut DigestCache::default()).is_err());
        fs::remove_file(dir.path().join("inc1/x.h")).unwrap();
        // inc1 changed and was checked name by name; x.h rewritten with
        // the same content is compared by content. The memo learns both
        // once they are settled, and the next lookup neither hashes nor
        // lists.
        fs::write(dir.path().join("inc2/x.h"), "int x;\n").unwrap();
        let memo_dir = tempfile::tempdir().unwrap();
        let memo = InodeMemo::new(memo_dir.path(), true);
        let mut now = DigestCache::new(Some(&memo), 0);
        assert!(still_valid(&result, cwd, &[], &mut now).is_ok());
        assert_eq!((now.hashed, now.recalled), (1, 0));
        let later = crate::clock::coarse_now_ns() + 2_000_000_000;
        let mut cache = DigestCache::new(Some(&memo), later);
        assert!(still_valid(&result, cwd, &[], &mut cache).is_ok());
        assert_eq!((cache.hashed, cache.recalled), (1, 0));
        let mut cache = DigestCache::new(Some(&memo), later);
        assert!(still_valid(&result, cwd, &[], &mut cache).is_ok());
        assert_eq!((cache.hashed, cache.recalled), (0, 1));
        // The directory's memo does not hide a header that appears there.
        fs::write(dir.path().join("inc1/x.h"), "int shadow;\n").unwrap();
        let mut cache = DigestCache::new(Some(&memo), later);
        assert!(still_valid(&result, cwd, &[], &mut cache).is_err());
        fs::remove_file(dir.path().join("inc1/x.h")).unwrap();
        // A missing search directory that appears with the header shadows it too.
        fs::create_dir(dir.path().join("inc0")).unwrap();
        fs::write(dir.path().join("inc0/x.h"), "int shadow;\n").unwrap();
        assert!(still_valid(&result, cwd, &[], &mut DigestCache::default()).is_err());
        fs::remove_dir_all(dir.path().join("inc0")).unwrap();
        // A changed header is a mismatch even with the same size.
        fs::write(dir.path().join("inc2/x.h"), "int y;\n").unwrap();
        assert!(still_valid(&result, cwd, &[], &mut DigestCache::default()).is_err());
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
        // Compared by content, and remembered in the memo only after its
        // second.
        let memo_dir = tempfile::tempdir().unwrap();
        let memo = InodeMemo::new(memo_dir.path(), true);
        for (start, recalled) in [
            (late, 0),
            (late, 0),
            (second_ns + 2_000_000_000, 0),
            (late, 1),
        ] {
            let mut cache = DigestCache::new(Some(&memo), start);
            assert!(still_valid(&result, cwd, &[], &mut cache).is_ok());
            assert_eq!(cache.recalled, recalled, "start {start}");
        }
    }
}
