//! Recording, after a compile, what direct mode must check on a later
//! call: each file read with its stamp and digest, the places searched
//! before each include (probes), and what `__has_include` tests answered.
//!
//! A file modified while the recording compile ran would be recorded with
//! content the object was not built from: a compile that read a file whose
//! mtime or ctime lies in the timestamp tick of the call's start or later
//! is not recorded (ccache's rule, at the stamps' own granularity). A stamp
//! recorded while its tick still runs would match a rewrite in that tick:
//! such a file (let through by `include_file_mtime`/`include_file_ctime`)
//! is recorded unproven, so lookups compare its content.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::Path;

use super::has_include::{self, candidates, scan, HasInclude};
use super::includes::{includer_dirs, is_header_file, ReadFile, SearchDirs};
use crate::disk::manifest::{IncludeRecord, Probes, Stamp, StoredPath};
use crate::paths::{dirname, join, resolve_in, strip_dir};

/// `__DATE__`, `__TIME__` or `__TIMESTAMP__`: the output depends on when or
/// from which file version it was compiled, not only on the file's content.
pub fn has_time_macros(content: &[u8]) -> bool {
    let names = time_names(content);
    names.date || names.clock
}

/// Which time macros a text names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeNames {
    /// `__DATE__`: the output depends on the day of the compile, which
    /// direct mode keys (see `hash::dated`).
    pub date: bool,
    /// `__TIME__` or `__TIMESTAMP__`: the output depends on the moment of
    /// the compile (or the file's mtime), which no key can hold.
    pub clock: bool,
}

impl TimeNames {
    pub fn or(self, other: TimeNames) -> TimeNames {
        TimeNames {
            date: self.date || other.date,
            clock: self.clock || other.clock,
        }
    }
}

/// The time macros `content` names, in one pass.
pub fn time_names(content: &[u8]) -> TimeNames {
    scan_macros(content, |names, _| names.date && names.clock).0
}

/// `time_names` and `has_file_macro` of `content`, in one pass.
pub fn source_macros(content: &[u8]) -> (TimeNames, bool) {
    scan_macros(content, |names, file| names.date && names.clock && file)
}

/// `__FILE__` or `__BASE_FILE__`: the output names the file's path as given.
pub fn has_file_macro(content: &[u8]) -> bool {
    scan_macros(content, |_, file| file).1
}

/// The time macros and whether `__FILE__` or `__BASE_FILE__` is named,
/// scanning until `enough` says what was found is all the caller needs.
fn scan_macros(content: &[u8], enough: fn(&TimeNames, bool) -> bool) -> (TimeNames, bool) {
    let (mut names, mut file) = (TimeNames::default(), false);
    each_double_underscore(content, |at| {
        let w = &content[at..];
        if w.starts_with(b"__DATE__") {
            names.date = true;
        } else if w.starts_with(b"__TIME__") || w.starts_with(b"__TIMEST") {
            names.clock = true;
        } else if w.starts_with(b"__FILE__") || w.starts_with(b"__BASE_F") {
            file = true;
        }
        enough(&names, file)
    });
    (names, file)
}

/// Calls `at` with each position of `__` in `content`, in order, until it
/// returns true. Every macro name looked for starts so, and a pair is rare
/// in source text, so eight bytes are tested at a time (every hit scans
/// its source).
fn each_double_underscore(content: &[u8], mut at: impl FnMut(usize) -> bool) {
    const UNDERSCORES: u64 = u64::from_ne_bytes([b'_'; 8]);
    const LOW7: u64 = u64::from_ne_bytes([0x7f; 8]);
    // The high bit of each byte of `word` that is `_`, and no other bit.
    let marks = |word: &[u8]| {
        let x = u64::from_le_bytes(word.try_into().unwrap()) ^ UNDERSCORES;
        !((((x & LOW7) + LOW7) | x) | LOW7)
    };
    let words = content.chunks_exact(8);
    let tail = words.remainder().len();
    let mut words = words.enumerate().peekable();
    while let Some((n, word)) = words.next() {
        let this = marks(word);
        if this == 0 {
            continue;
        }
        let next = words.peek().map_or(0, |(_, w)| marks(w));
        // Byte k set: bytes k and k+1 of the text from here are both `_`.
        let mut pairs = this & ((this >> 8) | (next << 56));
        while pairs != 0 {
            if at(n * 8 + pairs.trailing_zeros() as usize / 8) {
                return;
            }
            pairs &= pairs - 1;
        }
    }
    // The last word's pair with the first byte after it, and the rest.
    let from = (content.len() - tail).saturating_sub(1);
    for j in from..content.len().saturating_sub(1) {
        if content[j] == b'_' && content[j + 1] == b'_' && at(j) {
            return;
        }
    }
}

/// Why a compile is not recorded for direct mode.
#[derive(Debug)]
pub enum Unrecorded {
    /// Direct mode cannot check this compile (why, for the log); its
    /// result is sound.
    Unsuitable(String),
    /// A header that would shadow one the compile read (or change what a
    /// `__has_include` answered) appeared or changed in the timestamp tick
    /// of the call's start or later: the compile may have read it after
    /// the preprocessor did not, so its result may not belong to the key
    /// either.
    Appeared(String),
}

impl From<String> for Unrecorded {
    fn from(why: String) -> Unrecorded {
        Unrecorded::Unsuitable(why)
    }
}

impl Unrecorded {
    pub fn why(&self) -> &str {
        match self {
            Unrecorded::Unsuitable(why) | Unrecorded::Appeared(why) => why,
        }
    }
}

pub struct RecordContext<'a> {
    pub cwd: &'a str,
    pub base_dir: Option<&'a crate::paths::BaseDirs>,
    /// The call's start by the coarse clock, read before any file's `stat`.
    pub coarse_start_ns: i64,
    pub input: &'a str,
    pub time_macros_sloppy: bool,
    /// `__DATE__` may be recorded: the caller keys the date (see
    /// `hash::dated`).
    pub date_keyed: bool,
    /// The input is an absolute path under base_dir (see `has_file_macro`).
    pub file_macro_sensitive: bool,
    pub skip_system_headers: bool,
    /// A `-D` value on the command line mentions `__has_include`.
    pub command_line_tests: bool,
    pub mtime_sloppy: bool,
    pub ctime_sloppy: bool,
    /// `ignore_headers_in_manifest`: files (or directories: everything
    /// below) that are checked like any other but left out of the record,
    /// so a change to them does not make a direct-mode miss.
    pub ignored_headers: &'a [String],
}

/// Whether `path` is `entry` or lies below it, as ccache matches
/// `ignore_headers_in_manifest` entries.
pub fn matches_path_entry(path: &str, entry: &str) -> bool {
    let entry = if entry.len() > 1 {
        entry.trim_end_matches('/')
    } else {
        entry
    };
    match path.strip_prefix(entry) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || entry.ends_with('/'),
        None => false,
    }
}

/// The `__has_include` tests found in a compile's files so far, and the
/// macros that alias the operator.
struct HasIncludeFinds {
    operators: Vec<(String, bool)>,
    aliases: Vec<(String, bool)>,
    tests: Vec<HasInclude>,
}

impl HasIncludeFinds {
    fn new() -> Self {
        HasIncludeFinds {
            operators: has_include::operators(),
            aliases: Vec::new(),
            tests: Vec::new(),
        }
    }

    /// Notes the tests in `content`, the text of the file `name`. One
    /// search first: most files never name the operator.
    fn note(&mut self, content: &[u8], name: &str) -> Result<(), Unrecorded> {
        if has_include::mentions_operator(content) {
            self.aliases
                .extend(has_include::aliases(content, &self.operators));
            self.tests.extend(
                has_include::scan(content, &self.operators).map_err(|e| format!("{name}: {e}"))?,
            );
        }
        Ok(())
    }
}

impl RecordContext<'_> {
    fn too_new(&self, stamp: &Stamp) -> bool {
        stamp.unsettled_at(self.coarse_start_ns, self.mtime_sloppy, self.ctime_sloppy)
    }

    /// Whether `path` may have appeared or changed at or after the call's
    /// start: its ctime (set when it was created, renamed or written) is
    /// not settled. Sloppiness does not apply: the preprocessor did not
    /// see this file, so nothing vouches for it.
    fn changed_since_start(&self, path: &Path) -> bool {
        fs::metadata(path)
            .is_ok_and(|m| Stamp::of(&m).unsettled_at(self.coarse_start_ns, true, false))
    }

    /// The stamp to record: a sloppiness may let through one that can still
    /// change unseen, which must then never match.
    fn trusted(&self, stamp: Stamp) -> Stamp {
        if stamp.settled_at(self.coarse_start_ns) {
            stamp
        } else {
            Stamp::unproven(stamp.size)
        }
    }

    /// Records the files a compile read and the shadowing probes, or says why
    /// the compile cannot be recorded for direct mode.
    pub fn record(
        &self,
        files: &[ReadFile],
        search: &SearchDirs,
    ) -> Result<(Vec<IncludeRecord>, Probes), Unrecorded> {
        if !search.parsed {
            // Without it no shadowing header could be noticed.
            return Err(Unrecorded::Unsuitable(
                "the compiler's header search list could not be read".into(),
            ));
        }
        let input_content = self.settled_input()?;
        // `__has_include` tests anywhere in the compile's files.
        let mut finds = HasIncludeFinds::new();
        finds.note(&input_content, self.input)?;
        if self.command_line_tests {
            return Err(Unrecorded::Unsuitable(
                "__has_include in a macro defined on the command line".into(),
            ));
        }
        if self.file_macro_sensitive && self.skip_system_headers {
            self.refuse_file_macro_in_system_headers(files)?;
        }
        let mut includes = Vec::with_capacity(files.len());
        for f in files
            .iter()
            .filter(|f| !(self.skip_system_headers && f.system))
        {
            includes.extend(self.include_record(f, &mut finds)?);
        }
        let HasIncludeFinds {
            aliases, mut tests, ..
        } = finds;
        if !aliases.is_empty() {
            tests.extend(self.alias_tests(aliases, files)?);
        }
        let (found, absent) = self.has_include_answers(&tests, files, search, &mut includes)?;
        let all: Vec<ReadFile>;
        let files = if found.is_empty() {
            files
        } else {
            all = files.iter().cloned().chain(found).collect();
            &all
        };
        let probes = self.probes(files, search, &absent)?;
        Ok((includes, probes))
    }

    /// The source's content, unless it was modified during the compile.
    fn settled_input(&self) -> Result<Vec<u8>, Unrecorded> {
        let input_meta = fs::metadata(resolve_in(self.cwd, self.input))
            .map_err(|e| format!("{}: {e}", self.input))?;
        if self.too_new(&Stamp::of(&input_meta)) {
            return Err(format!("{} was modified during the compile", self.input).into());
        }
        fs::read(resolve_in(self.cwd, self.input))
            .map_err(|e| format!("{}: {e}", self.input).into())
    }

    /// System headers are left out of the record, but a macro of theirs
    /// (assert) can still expand `__FILE__` in the source.
    fn refuse_file_macro_in_system_headers(&self, files: &[ReadFile]) -> Result<(), Unrecorded> {
        for f in files.iter().filter(|f| f.system) {
            if fs::read(resolve_in(self.cwd, &f.path)).is_ok_and(|c| has_file_macro(&c)) {
                return Err(format!("{} uses __FILE__", f.path).into());
            }
        }
        Ok(())
    }

    /// The record of one file the compile read (`None` for a directory or
    /// an ignored header), noting its `__has_include` tests in `finds`; `Err`
    /// when the file keeps the compile from being recorded.
    fn include_record(
        &self,
        f: &ReadFile,
        finds: &mut HasIncludeFinds,
    ) -> Result<Option<IncludeRecord>, Unrecorded> {
        let real = resolve_in(self.cwd, &f.path);
        let meta = fs::metadata(&real).map_err(|e| format!("{}: {e}", f.path))?;
        if meta.is_dir() {
            return Ok(None);
        }
        let stamp = Stamp::of(&meta);
        if self.too_new(&stamp) {
            return Err(format!("include file {} is too new", f.path).into());
        }
        let content = fs::read(&real).map_err(|e| format!("{}: {e}", f.path))?;
        let names = match self.time_macros_sloppy {
            true => TimeNames::default(),
            false => time_names(&content),
        };
        if names.clock {
            return Err(format!("include file {} uses __TIME__ or __TIMESTAMP__", f.path).into());
        }
        if names.date && !self.date_keyed {
            return Err(format!("include file {} uses __DATE__", f.path).into());
        }
        // A macro in a header may expand `__FILE__` in the source (assert),
        // or name the header's own absolute path: then the object differs
        // between checkouts that share this manifest's key.
        let absolute_under_base =
            f.path.starts_with('/') && self.base_dir.is_some_and(|b| b.contains(&f.path));
        if (self.file_macro_sensitive || absolute_under_base) && has_file_macro(&content) {
            return Err(format!(
                "{} uses __FILE__ and paths under base_dir are absolute",
                f.path
            )
            .into());
        }
        finds.note(&content, &f.path)?;
        if self
            .ignored_headers
            .iter()
            .any(|e| matches_path_entry(&real, e) || matches_path_entry(&f.path, e))
        {
            return Ok(None);
        }
        Ok(Some(IncludeRecord {
            path: StoredPath::new(&f.path, self.cwd, self.base_dir),
            digest: *blake3::hash(&content).as_bytes(),
            stamp: self.trusted(stamp),
        }))
    }

    /// For every include, the places searched before the one it was found
    /// in, grouped by directory. Where it is unclear which search directory
    /// (or includer) applied, every reading is taken: more probes, never fewer.
    /// `extra`: further paths that must stay absent (`__has_include`).
    fn probes(
        &self,
        files: &[ReadFile],
        search: &SearchDirs,
        extra: &[String],
    ) -> Result<Probes, Unrecorded> {
        let read: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let candidates = self.shadowing_candidates(files, search, extra);
        let by_dir = self.by_deepest_existing_dir(candidates, &read);
        // A directory changed in the current timestamp tick could still gain
        // a file without its stamp changing: record it unstamped, so every
        // lookup checks its candidate names one by one. Now, not the call's
        // start: objects written beside the sources during the compile must
        // not cost every later hit a check by name.
        let now = crate::clock::coarse_now_ns();
        let mut probes = Probes::default();
        let mut name_index = HashMap::new();
        for (dir, mut names) in by_dir {
            names.sort_unstable();
            names.dedup();
            let stamp = self.probe_stamp(&dir, &mut names, now)?;
            probes.push(
                StoredPath::new(&dir, self.cwd, self.base_dir),
                stamp,
                &names,
                &mut name_index,
            );
        }
        Ok(probes)
    }

    /// Every path that, had it existed, would have been found before a file
    /// the compile read: `extra` and, for each include, the same name in
    /// each search directory before its own and in its includers' ones.
    fn shadowing_candidates(
        &self,
        files: &[ReadFile],
        search: &SearchDirs,
        extra: &[String],
    ) -> Vec<String> {
        let all_includer_dirs = includer_dirs(self.input, files);
        let mut candidates: Vec<String> = extra.to_vec();
        for f in files
            .iter()
            .filter(|f| !(self.skip_system_headers && f.system))
        {
            let includers: Vec<&str> = match &f.includer {
                Some(i) => vec![dirname(i)],
                None => all_includer_dirs.clone(),
            };
            let mut order: Vec<&str> = search.missing.iter().map(String::as_str).collect();
            let first_search = order.len();
            order.extend(search.quote.iter().map(String::as_str));
            order.extend(search.bracket.iter().map(String::as_str));
            for (k, dir) in order.iter().enumerate().skip(first_search) {
                let Some(rel) = strip_dir(&f.path, dir) else {
                    continue;
                };
                candidates.extend(order[..k].iter().map(|d| join(d, rel)));
                candidates.extend(includers.iter().map(|d| join(d, rel)));
            }
        }
        candidates
    }

    /// The `candidates` not `read`, as names under the deepest directory of
    /// each that exists.
    fn by_deepest_existing_dir(
        &self,
        candidates: Vec<String>,
        read: &HashSet<&str>,
    ) -> BTreeMap<String, Vec<String>> {
        let mut by_dir: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut dir_exists: HashMap<String, bool> = HashMap::new();
        for c in candidates {
            if read.contains(c.as_str()) {
                continue;
            }
            // Probe the deepest directory that exists: for a missing `a/b/x.h`
            // an unchanged stamp of `a` proves `b/x.h` is still absent, so
            // many absent paths share one stamped directory.
            let mut missing = c.as_str();
            loop {
                let parent = dirname(missing);
                let exists = *dir_exists.entry(parent.to_string()).or_insert_with(|| {
                    Path::new(&resolve_in(
                        self.cwd,
                        if parent.is_empty() { "." } else { parent },
                    ))
                    .is_dir()
                });
                if exists || parent.is_empty() || parent == "/" {
                    // The whole rest of the path: when the directory's stamp
                    // changes, the lookup checks exactly this file.
                    let name = c[parent.len()..].trim_start_matches('/').to_string();
                    by_dir.entry(parent.to_string()).or_default().push(name);
                    break;
                }
                missing = parent;
            }
        }
        by_dir
    }

    /// The stamp to record for the probe directory `dir` (`None`: it does
    /// not exist), dropping from `names` the headers that exist there.
    fn probe_stamp(
        &self,
        dir: &str,
        names: &mut Vec<String>,
        now: i64,
    ) -> Result<Option<Stamp>, Unrecorded> {
        let real = resolve_in(self.cwd, if dir.is_empty() { "." } else { dir });
        let Ok(m) = fs::metadata(&real) else {
            return Ok(None);
        };
        let s = Stamp {
            size: 0,
            ..Stamp::of(&m)
        };
        // A candidate that exists but was not read was never searched
        // (`#include_next`, or an angle include skipping the includer's
        // directory): it cannot shadow anything. Unless it appeared
        // after the call started: then the compile may have read it.
        for name in names.iter() {
            let path = Path::new(&real).join(name);
            if is_header_file(&path) && self.changed_since_start(&path) {
                return Err(Unrecorded::Appeared(path.display().to_string()));
            }
        }
        names.retain(|name| !is_header_file(&Path::new(&real).join(name)));
        // A name behind a symlink (`sub` a dangling link for `sub/x.h`)
        // can appear when the link's target does, without this
        // directory's stamps changing: such a directory is checked by name.
        let behind_symlink = names.iter().any(|name| {
            let first = name.split('/').next().unwrap_or_default();
            fs::symlink_metadata(Path::new(&real).join(first)).is_ok_and(|m| m.is_symlink())
        });
        Ok(Some(if s.settled_at(now) && !behind_symlink {
            s
        } else {
            UNSTAMPED
        }))
    }

    /// The tests made through `aliases` anywhere in the compile: an alias
    /// may be used before or after the file that defines it, and aliases of
    /// aliases are followed until no new one appears.
    fn alias_tests(
        &self,
        mut aliases: Vec<(String, bool)>,
        files: &[ReadFile],
    ) -> Result<Vec<HasInclude>, String> {
        let sources = std::iter::once(self.input).chain(
            files
                .iter()
                .filter(|f| !(self.skip_system_headers && f.system))
                .map(|f| f.path.as_str()),
        );
        let mut contents = Vec::new();
        for path in sources {
            let content =
                fs::read(resolve_in(self.cwd, path)).map_err(|e| format!("{path}: {e}"))?;
            contents.push((path, content));
        }
        loop {
            let mut new: Vec<(String, bool)> = Vec::new();
            for (_, content) in &contents {
                for alias in has_include::aliases(content, &aliases) {
                    if !aliases.contains(&alias) && !new.contains(&alias) {
                        new.push(alias);
                    }
                }
            }
            if new.is_empty() {
                break;
            }
            aliases.extend(new);
        }
        let mut tests = Vec::new();
        for (path, content) in &contents {
            tests.extend(scan(content, &aliases).map_err(|e| format!("{path}: {e}"))?);
        }
        Ok(tests)
    }

    /// What each test answered, which must still hold for a direct hit: the
    /// header it found is recorded like an include (appended to `includes`
    /// and returned as a file read, so its own shadowing is probed), and the
    /// places tried before it, all of them if none was found, are returned
    /// to be probed as absent.
    fn has_include_answers(
        &self,
        tests: &[HasInclude],
        files: &[ReadFile],
        search: &SearchDirs,
        includes: &mut Vec<IncludeRecord>,
    ) -> Result<(Vec<ReadFile>, Vec<String>), Unrecorded> {
        let mut found: Vec<ReadFile> = Vec::new();
        let mut absent: Vec<String> = Vec::new();
        let read: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let dirs = includer_dirs(self.input, files);
        for test in tests {
            for candidate in candidates(test, &dirs, search) {
                let real = resolve_in(self.cwd, &candidate);
                if !is_header_file(Path::new(&real)) {
                    absent.push(candidate);
                    continue;
                }
                if !read.contains(candidate.as_str()) && !found.iter().any(|f| f.path == candidate)
                {
                    let meta = fs::metadata(&real).map_err(|e| format!("{candidate}: {e}"))?;
                    let stamp = Stamp::of(&meta);
                    if self.too_new(&stamp) {
                        return Err(Unrecorded::Appeared(format!(
                            "{candidate} (found by __has_include)"
                        )));
                    }
                    let content = fs::read(&real).map_err(|e| format!("{candidate}: {e}"))?;
                    includes.push(IncludeRecord {
                        path: StoredPath::new(&candidate, self.cwd, self.base_dir),
                        digest: *blake3::hash(&content).as_bytes(),
                        stamp: self.trusted(stamp),
                    });
                    found.push(ReadFile {
                        path: candidate,
                        includer: None,
                        system: false,
                    });
                }
                // `__has_include_next` starts after a directory that is not
                // known here: every candidate counts, present or absent.
                if !test.next {
                    break;
                }
            }
        }
        Ok((found, absent))
    }
}

/// A stamp no directory has: its candidates are always checked by name.
const UNSTAMPED: Stamp = Stamp {
    size: u64::MAX,
    mtime_ns: -1,
    ctime_ns: -1,
    ino: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_macros() {
        assert!(has_time_macros(b"const char *d = __DATE__;"));
        assert!(has_time_macros(b"__TIMESTAMP__"));
        assert!(!has_time_macros(b"int date_time;"));
    }

    #[test]
    fn the_word_scan_finds_what_a_byte_scan_finds() {
        let naive = |c: &[u8]| {
            let mut n = TimeNames::default();
            for w in c.windows(8) {
                match w {
                    b"__DATE__" => n.date = true,
                    b"__TIME__" | b"__TIMEST" => n.clock = true,
                    _ => {}
                }
            }
            let file = c.windows(8).any(|w| w == b"__FILE__" || w == b"__BASE_F");
            (n, file)
        };
        let words: [&[u8]; 8] = [
            b"__DATE__",
            b"__TIME__",
            b"__TIMESTAMP__",
            b"__FILE__",
            b"__BASE_FILE__",
            b"_",
            b"x",
            b"__",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..3000 {
            let mut text = Vec::new();
            for _ in 0..(seed % 12) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.extend_from_slice(words[(seed >> 33) as usize % words.len()]);
            }
            seed = seed.wrapping_add(1);
            let got = (time_names(&text), has_file_macro(&text));
            assert_eq!(got, naive(&text), "{}", String::from_utf8_lossy(&text));
            assert_eq!(
                source_macros(&text),
                got,
                "{}",
                String::from_utf8_lossy(&text)
            );
        }
    }

    #[test]
    fn path_entries_match_the_file_or_what_is_below() {
        assert!(matches_path_entry("/opt/sdk/a.h", "/opt/sdk"));
        assert!(matches_path_entry("/opt/sdk/a.h", "/opt/sdk/"));
        assert!(matches_path_entry("/opt/sdk/a.h", "/opt/sdk/a.h"));
        assert!(!matches_path_entry("/opt/sdkx/a.h", "/opt/sdk"));
        assert!(!matches_path_entry("/opt/sdk/a.h", "/opt/sdk/a"));
        assert!(matches_path_entry("/x", "/"));
    }
}
