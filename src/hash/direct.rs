//! Direct mode: recording which files a compile read, and checking on a
//! later call that none of them changed and no new header would shadow one.
//!
//! Two traps decide the design:
//! - a file modified while the recording compile ran would be recorded with
//!   content the object was not built from. Files whose mtime or ctime is not
//!   older than the start of the call are not recorded (ccache's rule);
//! - a header created in a directory searched before the one an include was
//!   found in changes what the compiler reads. For each include the earlier
//!   candidates are recorded as probe directories: on lookup an unchanged
//!   directory stamp proves no file appeared; otherwise each candidate must
//!   still be absent.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::Path;

use super::has_include::{self, HasInclude};
use crate::store::manifest::{IncludeRecord, ManifestResult, Probes, Stamp, StoredPath};

/// Now by the kernel's coarse clock (nanoseconds), the clock file times come from.
pub fn coarse_now_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe {
        libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts);
    }
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// `__DATE__`, `__TIME__` or `__TIMESTAMP__`: the output depends on when or
/// from which file version it was compiled, not only on the file's content.
pub fn has_time_macros(content: &[u8]) -> bool {
    content
        .windows(8)
        .any(|w| w == b"__DATE__" || w == b"__TIME__" || w == b"__TIMEST")
}

/// `__FILE__` or `__BASE_FILE__`: the output names the file's path as given.
pub fn has_file_macro(content: &[u8]) -> bool {
    content
        .windows(8)
        .any(|w| w == b"__FILE__" || w == b"__BASE_F")
}

/// Where the compiler searches for headers, from its `-v` output.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SearchDirs {
    pub quote: Vec<String>,
    pub bracket: Vec<String>,
    /// Directories named on the command line that did not exist: one
    /// appearing later could shadow anything.
    pub missing: Vec<String>,
    /// The compiler's list was found and read (its wording is English only
    /// in an English locale).
    pub parsed: bool,
}

pub fn parse_search_dirs(stderr: &[u8]) -> SearchDirs {
    let text = String::from_utf8_lossy(stderr);
    let mut dirs = SearchDirs::default();
    let mut section = 0;
    for line in text.lines() {
        if line.starts_with("#include \"...\" search starts here") {
            section = 1;
        } else if line.starts_with("#include <...> search starts here") {
            section = 2;
        } else if line.starts_with("End of search list") {
            section = 0;
            dirs.parsed = true;
        } else if let Some(rest) = line.strip_prefix("ignoring nonexistent directory \"") {
            dirs.missing.push(rest.trim_end_matches('"').to_string());
        } else if section > 0 && line.starts_with(' ') {
            let dir = line
                .trim()
                .trim_end_matches(" (framework directory)")
                .trim_end_matches('/')
                .to_string();
            if section == 1 {
                dirs.quote.push(dir);
            } else {
                dirs.bracket.push(dir);
            }
        }
    }
    dirs
}

/// One file the compile read, as the preprocessor spelled it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadFile {
    pub path: String,
    /// The file that included it, when known.
    pub includer: Option<String>,
    /// In a system directory (line marker flag 3).
    pub system: bool,
}

/// The include files named by the line markers of preprocessed output, in
/// order of first appearance, without the source itself and pseudo-files.
pub fn includes_from_preprocessed(output: &[u8], input: &str) -> Vec<ReadFile> {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for marker in super::preprocessor::line_markers(output) {
        let raw = &output[marker.path.0..marker.path.1];
        let Some(path) = unescape(raw) else {
            continue;
        };
        let flags: Vec<u32> = String::from_utf8_lossy(marker.flags)
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let entering = flags.contains(&1);
        let returning = flags.contains(&2);
        if returning {
            while stack.last().is_some_and(|top| *top != path) {
                stack.pop();
            }
            if stack.is_empty() {
                stack.push(path.clone());
            }
            continue;
        }
        let includer = if entering {
            stack.last().cloned()
        } else {
            None
        };
        if entering {
            stack.push(path.clone());
        } else if let Some(top) = stack.last_mut() {
            // A plain marker renumbers lines of the current file.
            *top = path.clone();
        } else {
            stack.push(path.clone());
        }
        if path == input
            || path.starts_with('<')
            || path.ends_with("//")
            || path.is_empty()
            || !seen.insert(path.clone())
        {
            continue;
        }
        files.push(ReadFile {
            path,
            includer: includer.filter(|i| !i.starts_with('<')),
            system: flags.contains(&3),
        });
    }
    files
}

/// A line marker's path with its `\\` escapes resolved.
fn unescape(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut it = raw.iter();
    while let Some(&b) = it.next() {
        out.push(if b == b'\\' { *it.next()? } else { b });
    }
    String::from_utf8(out).ok()
}

/// The dependencies a compiler wrote into a `.d` file (depend mode), without the source.
pub fn includes_from_depfile(body: &[u8], input: &str) -> Option<Vec<ReadFile>> {
    let text = std::str::from_utf8(body).ok()?;
    if text.contains(['$', '#']) || text.contains("\\ ") {
        return None;
    }
    let rule_end = text
        .split_inclusive('\n')
        .scan(0, |len, l| {
            *len += l.len();
            Some((*len, l.ends_with("\\\n")))
        })
        .find(|(_, cont)| !cont)
        .map_or(text.len(), |(len, _)| len);
    let rule = &text[..rule_end];
    let colon = rule.find(": ").or_else(|| rule.find(":\n"))?;
    let mut seen = HashSet::new();
    Some(
        rule[colon + 1..]
            .split_whitespace()
            .filter(|t| *t != "\\" && *t != input && seen.insert(t.to_string()))
            .map(|t| ReadFile {
                path: t.to_string(),
                includer: None,
                system: false,
            })
            .collect(),
    )
}

pub struct RecordContext<'a> {
    pub cwd: &'a str,
    pub base_dir: Option<&'a crate::paths::BaseDirs>,
    pub start_ns: i64,
    pub input: &'a str,
    pub time_macros_sloppy: bool,
    /// The input is an absolute path under base_dir (see `has_file_macro`).
    pub file_macro_sensitive: bool,
    pub skip_system_headers: bool,
    /// A `-D` value on the command line mentions `__has_include`.
    pub command_line_tests: bool,
    pub mtime_sloppy: bool,
    pub ctime_sloppy: bool,
}

/// Was a file with this stamp modified at or after `start_ns`? Such a file
/// may have changed while the compile read it.
pub fn modified_since(
    stamp: &Stamp,
    start_ns: i64,
    mtime_sloppy: bool,
    ctime_sloppy: bool,
) -> bool {
    (!mtime_sloppy && stamp.mtime_ns >= start_ns) || (!ctime_sloppy && stamp.ctime_ns >= start_ns)
}

/// `path` as seen from `cwd`.
pub fn resolve_in(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{cwd}/{path}")
    }
}

pub(super) fn dirname(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

impl RecordContext<'_> {
    pub(super) fn too_new(&self, stamp: &Stamp) -> bool {
        modified_since(stamp, self.start_ns, self.mtime_sloppy, self.ctime_sloppy)
    }

    /// Records the files a compile read and the shadowing probes, or says why
    /// the compile cannot be recorded for direct mode.
    pub fn record(
        &self,
        files: &[ReadFile],
        search: &SearchDirs,
    ) -> Result<(Vec<IncludeRecord>, Probes), String> {
        if !search.parsed {
            // Without it no shadowing header could be noticed.
            return Err("the compiler's header search list could not be read".into());
        }
        let input_meta = fs::metadata(resolve_in(self.cwd, self.input))
            .map_err(|e| format!("{}: {e}", self.input))?;
        if self.too_new(&Stamp::of(&input_meta)) {
            return Err(format!("{} was modified during the compile", self.input));
        }
        let mut includes = Vec::with_capacity(files.len());
        // `__has_include` tests anywhere in the compile's files.
        let mut tests: Vec<HasInclude> = Vec::new();
        let input_content = fs::read(resolve_in(self.cwd, self.input))
            .map_err(|e| format!("{}: {e}", self.input))?;
        let operators = has_include::operators();
        let mut aliases = Vec::new();
        // One search per file: most never name the operator.
        if has_include::mentions_operator(&input_content) {
            aliases.extend(has_include::aliases(&input_content, &operators));
            tests.extend(
                has_include::scan(&input_content, &operators)
                    .map_err(|e| format!("{}: {e}", self.input))?,
            );
        }
        if self.command_line_tests {
            return Err("__has_include in a macro defined on the command line".into());
        }
        if self.file_macro_sensitive && self.skip_system_headers {
            // System headers are left out of the record, but a macro of
            // theirs (assert) can still expand `__FILE__` in the source.
            for f in files.iter().filter(|f| f.system) {
                if fs::read(resolve_in(self.cwd, &f.path)).is_ok_and(|c| has_file_macro(&c)) {
                    return Err(format!("{} uses __FILE__", f.path));
                }
            }
        }
        for f in files
            .iter()
            .filter(|f| !(self.skip_system_headers && f.system))
        {
            let real = resolve_in(self.cwd, &f.path);
            let meta = fs::metadata(&real).map_err(|e| format!("{}: {e}", f.path))?;
            if meta.is_dir() {
                continue;
            }
            let stamp = Stamp::of(&meta);
            if self.too_new(&stamp) {
                return Err(format!("include file {} is too new", f.path));
            }
            let content = fs::read(&real).map_err(|e| format!("{}: {e}", f.path))?;
            if !self.time_macros_sloppy && has_time_macros(&content) {
                return Err(format!("include file {} uses a time macro", f.path));
            }
            // A macro in a header may expand `__FILE__` in the source (assert),
            // or name the header's own absolute path: then the object differs
            // between checkouts that share this manifest's key.
            let absolute_under_base = f.path.starts_with('/')
                && self
                    .base_dir
                    .is_some_and(|b| crate::paths::is_under(&f.path, b));
            if (self.file_macro_sensitive || absolute_under_base) && has_file_macro(&content) {
                return Err(format!(
                    "{} uses __FILE__ and paths under base_dir are absolute",
                    f.path
                ));
            }
            if has_include::mentions_operator(&content) {
                aliases.extend(has_include::aliases(&content, &operators));
                tests.extend(
                    has_include::scan(&content, &operators)
                        .map_err(|e| format!("{}: {e}", f.path))?,
                );
            }
            includes.push(IncludeRecord {
                path: StoredPath::new(&f.path, self.cwd, self.base_dir),
                digest: *blake3::hash(&content).as_bytes(),
                stamp,
            });
        }
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

    /// For every include, the places searched before the one it was found
    /// in, grouped by directory. Where it is unclear which search directory
    /// (or includer) applied, every reading is taken: more probes, never fewer.
    /// `extra`: further paths that must stay absent (`__has_include`).
    fn probes(
        &self,
        files: &[ReadFile],
        search: &SearchDirs,
        extra: &[String],
    ) -> Result<Probes, String> {
        let read: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
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
        // A directory changed in the current clock tick could still gain a file
        // in this tick without its stamp changing: record it unstamped, so every
        // lookup checks its candidate names one by one.
        let now = coarse_now_ns();
        let mut probes = Probes::default();
        let mut name_index = HashMap::new();
        for (dir, mut names) in by_dir {
            names.sort_unstable();
            names.dedup();
            let real = resolve_in(self.cwd, if dir.is_empty() { "." } else { &dir });
            let stamp = match fs::metadata(&real) {
                Ok(m) => {
                    let s = Stamp {
                        size: 0,
                        ..Stamp::of(&m)
                    };
                    // A candidate that exists but was not read was never searched
                    // (`#include_next`, or an angle include skipping the includer's
                    // directory): it cannot shadow anything.
                    names.retain(|name| !is_header_file(&Path::new(&real).join(name)));
                    Some(if s.mtime_ns >= now || s.ctime_ns >= now {
                        UNSTAMPED
                    } else {
                        s
                    })
                }
                Err(_) => None,
            };
            probes.push(
                StoredPath::new(&dir, self.cwd, self.base_dir),
                stamp,
                &names,
                &mut name_index,
            );
        }
        Ok(probes)
    }
}

/// The directories of the source and of every file read: where a quoted
/// include (or test) may have been looked up first.
pub(super) fn includer_dirs<'a>(input: &'a str, files: &'a [ReadFile]) -> Vec<&'a str> {
    let mut v: Vec<&str> = std::iter::once(input)
        .chain(files.iter().map(|f| f.path.as_str()))
        .map(dirname)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A stamp no directory has: its candidates are always checked by name.
const UNSTAMPED: Stamp = Stamp {
    size: u64::MAX,
    mtime_ns: -1,
    ctime_ns: -1,
};

/// Something the preprocessor would include: it skips directories.
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

pub(super) fn is_header_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| !m.is_dir())
}

/// `path` = `dir` + "/" + rel → rel.
fn strip_dir<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    if dir.is_empty() {
        return (!path.starts_with('/')).then_some(path);
    }
    path.strip_prefix(dir)?
        .strip_prefix('/')
        .filter(|r| !r.is_empty())
}

pub(super) fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Content hashes of files computed during one lookup, shared by the
/// results of a manifest that list the same headers.
#[derive(Default)]
pub struct DigestCache(HashMap<String, Option<[u8; 32]>>);

impl DigestCache {
    fn digest(&mut self, path: &str) -> Option<[u8; 32]> {
        if let Some(d) = self.0.get(path) {
            return *d;
        }
        let d = crate::hash::hash_file_content(Path::new(path)).ok();
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
pub fn still_valid(
    result: &ManifestResult,
    cwd: &str,
    digests: &mut DigestCache,
) -> Result<Option<Restamp>, String> {
    let mut current = Vec::with_capacity(result.includes.len());
    let mut changed_dirs = Vec::new();
    let mut hashed = false;
    for inc in &result.includes {
        let Some(path) = inc.path.resolve(cwd) else {
            return Err(format!("{:?} cannot be resolved from {cwd}", inc.path));
        };
        let path = resolve_in(cwd, &path);
        let Ok(meta) = fs::metadata(&path) else {
            return Err(format!("{path} is gone"));
        };
        let stamp = Stamp::of(&meta);
        if stamp.size != inc.stamp.size {
            return Err(format!("{path} changed (size)"));
        }
        // Same size, mtime and ctime as when recorded (and it was not modified
        // during that compile): unchanged. Otherwise compare the content.
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
    /// The record with these stamps, or `None` when one of them may still
    /// change within the stamp's clock tick (the file or directory was
    /// modified at or after `start_ns`, or in the current tick).
    pub fn apply(
        &self,
        result: &ManifestResult,
        start_ns: i64,
        mtime_sloppy: bool,
        ctime_sloppy: bool,
    ) -> Option<ManifestResult> {
        if self
            .includes
            .iter()
            .any(|s| modified_since(s, start_ns, mtime_sloppy, ctime_sloppy))
        {
            return None;
        }
        let mut updated = result.clone();
        for (inc, stamp) in updated.includes.iter_mut().zip(&self.includes) {
            inc.stamp = *stamp;
        }
        let now = coarse_now_ns().min(start_ns);
        for (i, stamp) in &self.dirs {
            // A directory changed in this tick could still gain a file
            // without its stamp changing: leave it to be checked by name.
            if stamp.mtime_ns < now && stamp.ctime_ns < now {
                updated.probes.dirs[*i].stamp = Some(*stamp);
            }
        }
        Some(updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn time_macros() {
        assert!(has_time_macros(b"const char *d = __DATE__;"));
        assert!(has_time_macros(b"__TIMESTAMP__"));
        assert!(!has_time_macros(b"int date_time;"));
    }

    #[test]
    fn search_dirs_from_gcc_v() {
        let text = b"ignoring nonexistent directory \"q\"\n#include \"...\" search starts here:\n quote\n#include <...> search starts here:\n inc1\n /usr/include\nEnd of search list.\n";
        let d = parse_search_dirs(text);
        assert_eq!(d.quote, ["quote"]);
        assert_eq!(d.bracket, ["inc1", "/usr/include"]);
        assert_eq!(d.missing, ["q"]);
    }

    #[test]
    fn includes_with_their_includers() {
        let pp = b"# 0 \"t.c\"\n# 0 \"<built-in>\"\n# 0 \"<command-line>\"\n# 1 \"/usr/include/stdc-predef.h\" 1 3 4\n# 0 \"<command-line>\" 2\n# 1 \"t.c\"\n# 1 \"inc/x.h\" 1\n# 1 \"inc/y.h\" 1\n# 2 \"inc/x.h\" 2\n# 2 \"t.c\" 2\n";
        let files = includes_from_preprocessed(pp, "t.c");
        let names: Vec<(&str, Option<&str>, bool)> = files
            .iter()
            .map(|f| (f.path.as_str(), f.includer.as_deref(), f.system))
            .collect();
        assert_eq!(
            names,
            [
                ("/usr/include/stdc-predef.h", None, true),
                ("inc/x.h", Some("t.c"), false),
                ("inc/y.h", Some("inc/x.h"), false)
            ]
        );
    }

    #[test]
    fn depfile_dependencies() {
        let d = b"t.o: t.c inc/x.h \\\n inc/y.h\ninc/x.h:\n";
        let files = includes_from_depfile(d, "t.c").unwrap();
        assert_eq!(
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["inc/x.h", "inc/y.h"]
        );
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
        let ctx = RecordContext {
            cwd,
            base_dir: None,
            start_ns: coarse_now_ns(),
            input: "t.c",
            time_macros_sloppy: false,
            file_macro_sensitive: false,
            skip_system_headers: false,
            command_line_tests: false,
            mtime_sloppy: false,
            ctime_sloppy: false,
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
        let result = ManifestResult {
            result_key: crate::hash::Key::of(b"r"),
            includes,
            probes,
        };
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
        assert!(still_valid(&result, cwd, &mut cache).is_ok());
        // A header appearing earlier on the search path shadows the recorded one.
        fs::write(dir.path().join("inc1/x.h"), "int shadow;\n").unwrap();
        assert!(still_valid(&result, cwd, &mut DigestCache::default()).is_err());
        fs::remove_file(dir.path().join("inc1/x.h")).unwrap();
        // inc1 changed and was checked name by name: alone, that is not
        // worth a manifest rewrite; with a header to restamp (a new
        // checkout), its stamp is learned once older than the clock tick.
        assert!(still_valid(&result, cwd, &mut DigestCache::default())
            .unwrap()
            .is_none());
        fs::write(dir.path().join("inc2/x.h"), "int x;\n").unwrap();
        let restamp = still_valid(&result, cwd, &mut DigestCache::default())
            .unwrap()
            .expect("x.h's and inc1's stamps changed");
        assert_eq!(restamp.dirs.iter().map(|d| d.0).collect::<Vec<_>>(), [1]);
        std::thread::sleep(std::time::Duration::from_millis(30));
        let learned = restamp
            .apply(&result, coarse_now_ns() + 1_000_000_000, false, false)
            .unwrap();
        assert!(still_valid(&learned, cwd, &mut DigestCache::default())
            .unwrap()
            .is_none());
        // Not when the directory changed at or after the call's start.
        let too_new = restamp.apply(&result, 0, true, true).unwrap();
        assert_eq!(too_new.probes.dirs[1].stamp, result.probes.dirs[1].stamp);
        // A missing search directory that appears with the header shadows it too.
        fs::create_dir(dir.path().join("inc0")).unwrap();
        fs::write(dir.path().join("inc0/x.h"), "int shadow;\n").unwrap();
        assert!(still_valid(&result, cwd, &mut DigestCache::default()).is_err());
        fs::remove_dir_all(dir.path().join("inc0")).unwrap();
        // A changed header is a mismatch even with the same size.
        fs::write(dir.path().join("inc2/x.h"), "int y;\n").unwrap();
        assert!(still_valid(&result, cwd, &mut DigestCache::default()).is_err());
    }
}
