//! What a compile read, as the compiler tells it: the include files named
//! by the preprocessor's line markers or a `.d` file, the header search
//! list from `-v`, and the path arithmetic both direct mode and
//! `__has_include` use on them.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::paths::dirname;

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
///
/// Also the files whose names are not UTF-8, which a `ReadFile` cannot
/// hold: direct mode cannot record such a compile, whose record would
/// leave them out.
pub fn includes_from_preprocessed(output: &[u8], input: &str) -> (Vec<ReadFile>, Vec<PathBuf>) {
    let mut stack: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    let mut unnamed = Vec::new();
    for marker in super::preprocessor::line_markers(output) {
        let raw = &output[marker.path.0..marker.path.1];
        let path = match unescape(raw) {
            Ok(path) => path,
            Err(bytes) => {
                use std::os::unix::ffi::OsStringExt;
                let path = PathBuf::from(std::ffi::OsString::from_vec(bytes));
                if !unnamed.contains(&path) {
                    unnamed.push(path);
                }
                continue;
            }
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
    (files, unnamed)
}

/// A line marker's path with its `\\` escapes resolved; its bytes when
/// they are not UTF-8.
fn unescape(raw: &[u8]) -> Result<String, Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut it = raw.iter();
    while let Some(&b) = it.next() {
        out.push(match b {
            b'\\' => it.next().copied().unwrap_or(b),
            b => b,
        });
    }
    String::from_utf8(out).map_err(|e| e.into_bytes())
}

/// The dependencies a compiler wrote into a `.d` file (depend mode),
/// without the source; `None` when the file does not say for certain
/// which files they are (see `depfile::dependencies`; `phony`: `-MP`).
pub fn includes_from_depfile(body: &[u8], input: &str, phony: bool) -> Option<Vec<ReadFile>> {
    let mut seen = HashSet::new();
    Some(
        crate::depfile::dependencies(body, phony)?
            .into_iter()
            .filter(|t| t != input && seen.insert(t.clone()))
            .map(|path| ReadFile {
                path,
                includer: None,
                system: false,
            })
            .collect(),
    )
}

/// The directories of the source and of every file read: where a quoted
/// include (or test) may have been looked up first.
pub fn includer_dirs<'a>(input: &'a str, files: &'a [ReadFile]) -> Vec<&'a str> {
    let mut v: Vec<&str> = std::iter::once(input)
        .chain(files.iter().map(|f| f.path.as_str()))
        .map(dirname)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Something the preprocessor would include: it skips directories.
pub fn is_header_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| !m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (files, unnamed) = includes_from_preprocessed(pp, "t.c");
        assert!(unnamed.is_empty());
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
        let files = includes_from_depfile(d, "t.c", true).unwrap();
        assert_eq!(
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["inc/x.h", "inc/y.h"]
        );
        // Without -MP, `inc/x.h:` is the end of a name with a newline.
        assert!(includes_from_depfile(d, "t.c", false).is_none());
    }
}
