//! `debug = true`: the files ccache writes beside the object (or under
//! `debug_dir`), under ccache's names, so scripts and CI steps that collect
//! `**/*.ccache-*` find objcache's too:
//!
//! - `<object>.<timestamp>.ccache-input-c`: what both modes hash (compiler,
//!   arguments, language, environment);
//! - `.ccache-input-d`: what only the direct mode's manifest key hashes
//!   (and depend mode's result key);
//! - `.ccache-input-p`: what only the preprocessor mode's result key hashes;
//! - `.ccache-input-text`: the three above under `=== COMMON ===`,
//!   `=== DIRECT MODE ===` and `=== PREPROCESSOR MODE ===`;
//! - `.ccache-log`: this call's log, with a `Result: COUNTER` line for
//!   each counter the call added to; written for a call objcache does not
//!   cache too (`-save-temps`), named after the object it writes.
//!
//! Under `debug_dir` the files mirror the object's physical path (symlinks
//! in the working directory resolved), as ccache's do.
//!
//! The timestamp (local time of the call's start) is ccache's
//! `<year><month><day>_<hour><minute><second>_<microsecond>`, so two builds
//! of one object leave two sets to diff. `debug_level = 1` writes only the
//! log. objcache's input files hold each hashed field as `### label`, then
//! its value; `-text` shows a value that is not text (a digest) in hex.

use std::path::{Path, PathBuf};

use crate::compiler::args;
use crate::compiler::lang::{self, InputKind};
use crate::config::Config;
use crate::hash::recipe::Part;
use crate::log::Log;
use crate::paths::WorkingDir;

pub(super) struct DebugFiles {
    /// `<object>.<timestamp>.ccache-`, to which each file's suffix is added.
    prefix: PathBuf,
    /// Under `debug_dir`, whose subdirectories are created as needed (the
    /// object's own directory never is).
    mirrored: bool,
    level: u64,
    inputs: [Vec<u8>; 3],
}

impl DebugFiles {
    /// The files for a call writing `output`, when `debug` is set.
    /// Under `debug_dir` they mirror the output's physical path (the one
    /// `pwd -P` gives), as ccache's do.
    pub(super) fn for_call(
        config: &Config,
        output: &str,
        dirs: &WorkingDir,
        start_ns: i64,
    ) -> Option<DebugFiles> {
        config.debug.then(|| {
            let dir = config.debug_dir.as_deref();
            DebugFiles::new(output, &dirs.physical, dir, config.debug_level, start_ns)
        })
    }

    /// The files for `output` (as the call names it, relative to `cwd`),
    /// beside it or under `debug_dir` at its absolute path.
    pub(super) fn new(
        output: &str,
        cwd: &str,
        debug_dir: Option<&Path>,
        level: u64,
        start_ns: i64,
    ) -> DebugFiles {
        let object = match debug_dir {
            None => PathBuf::from(output),
            Some(dir) => {
                let absolute = crate::paths::resolve_in(cwd, output);
                dir.join(absolute.trim_start_matches('/'))
            }
        };
        let mut prefix = object.into_os_string();
        prefix.push(format!(".{}.ccache-", timestamp(start_ns)));
        DebugFiles {
            prefix: PathBuf::from(prefix),
            mirrored: debug_dir.is_some(),
            level,
            inputs: Default::default(),
        }
    }

    pub(super) fn add(&mut self, part: Part, transcript: &[u8]) {
        self.inputs[part as usize].extend_from_slice(transcript);
    }

    /// The path of one file, `suffix` being e.g. `input-text`.
    pub(super) fn path(&self, suffix: &str) -> PathBuf {
        let mut p = self.prefix.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    }

    /// Writes the files; a file that cannot be written is noted in the log
    /// (and its own debug log, when that one can be).
    pub(super) fn write(self, log: &Log) {
        let parent = self.prefix.parent().filter(|_| self.mirrored);
        if let Some(parent) = parent {
            if let Err(e) = std::fs::create_dir_all(parent) {
                log.note(format!("debug: could not create {}: {e}", parent.display()));
            }
        }
        let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
        // A call that ended before any key was hashed has only its log.
        if self.level >= 2 && self.inputs.iter().any(|i| !i.is_empty()) {
            let [common, direct, preprocessor] = &self.inputs;
            let mut text = Vec::new();
            for (title, body) in [
                ("COMMON", common),
                ("DIRECT MODE", direct),
                ("PREPROCESSOR MODE", preprocessor),
            ] {
                text.extend_from_slice(format!("=== {title} ===\n").as_bytes());
                readable(body, &mut text);
            }
            for (suffix, body) in [
                ("input-c", common),
                ("input-d", direct),
                ("input-p", preprocessor),
            ] {
                if !body.is_empty() {
                    files.push((suffix, body.clone()));
                }
            }
            files.push(("input-text", text));
        }
        for (suffix, body) in files {
            let path = self.path(suffix);
            if let Err(e) = std::fs::write(&path, body) {
                log.note(format!("debug: could not write {}: {e}", path.display()));
            }
        }
        let path = self.path("log");
        if let Err(e) = std::fs::write(&path, log.kept().unwrap_or_default()) {
            log.note(format!("debug: could not write {}: {e}", path.display()));
        }
    }
}

/// The object a call writes, for the debug log of a call whose arguments
/// were not analysed (one objcache does not cache): the value of the last
/// `-o`, else the last source's file name with `.o` (`.s` with `-S`), as
/// the compiler names it. `None` when the call names no source.
pub(super) fn guessed_output(args: &[String]) -> Option<String> {
    let mut output = None;
    let mut source = None;
    let mut assembly = false;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        match arg {
            "-o" => {
                output = args.get(i + 1).cloned();
                i += 1;
            }
            "-S" => assembly = true,
            _ if arg.starts_with("-o") => output = Some(arg[2..].to_string()),
            // The value of `-x c`, `-MF dep.d` and the like is no source.
            _ if arg.starts_with('-') && args::takes_separate_value(arg) => i += 1,
            _ if arg.starts_with('-') => {}
            _ if matches!(lang::classify_by_extension(arg), InputKind::Source(_)) => {
                source = Some(arg)
            }
            _ => {}
        }
        i += 1;
    }
    output.or_else(|| {
        let file = source?.rsplit('/').next()?;
        let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
        Some(format!("{stem}.{}", if assembly { "s" } else { "o" }))
    })
}

/// `input` for the `-text` file: a line that is not printable text (a
/// digest's raw bytes) is written as `hex:` and its bytes in hex, so the
/// file reads and diffs as text.
fn readable(input: &[u8], out: &mut Vec<u8>) {
    for line in input.split_inclusive(|b| *b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let printable = std::str::from_utf8(body)
            .is_ok_and(|t| !t.chars().any(|c| c.is_control() && c != '\t'));
        if printable {
            out.extend_from_slice(body);
        } else {
            out.extend_from_slice(b"hex:");
            for b in body {
                out.extend_from_slice(format!("{b:02x}").as_bytes());
            }
        }
        if line.len() > body.len() {
            out.push(b'\n');
        }
    }
}

/// ccache's debug file timestamp, in local time.
fn timestamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000) as libc::time_t;
    let micros = ns.rem_euclid(1_000_000_000) / 1000;
    // SAFETY: localtime_r only writes the `tm` it is given.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return format!("{secs}_{micros:06}");
    }
    format!(
        "{:04}{:02}{:02}_{:02}{:02}{:02}_{micros:06}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_shows_raw_bytes_in_hex() {
        let mut out = Vec::new();
        readable(b"### arg\n-c\n### digest\n\x00\xff\n", &mut out);
        assert_eq!(out, b"### arg\n-c\n### digest\nhex:00ff\n");
    }

    #[test]
    fn the_output_of_an_unanalysed_call_is_guessed_as_the_compiler_names_it() {
        let guess =
            |a: &[&str]| guessed_output(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            guess(&["-c", "src/t.c", "-save-temps"]).as_deref(),
            Some("t.o")
        );
        assert_eq!(guess(&["-S", "t.cpp"]).as_deref(), Some("t.s"));
        assert_eq!(
            guess(&["-c", "t.c", "-o", "obj/x.o"]).as_deref(),
            Some("obj/x.o")
        );
        assert_eq!(guess(&["t.o", "-oprog"]).as_deref(), Some("prog"));
        // The value of `-MF` is no source.
        assert_eq!(guess(&["-c", "t.c", "-MF", "x.c"]).as_deref(), Some("t.o"));
        assert_eq!(guess(&["--version"]), None);
    }

    #[test]
    fn names_follow_ccache() {
        let t = timestamp(1_700_000_000_123_456_789);
        assert_eq!(t.len(), "20231114_221320_123456".len(), "{t}");
        assert!(t.ends_with("_123456"), "{t}");
        let beside = DebugFiles::new("obj/a.o", "/w", None, 2, 0);
        let name = beside.path("log").to_string_lossy().into_owned();
        assert!(
            name.starts_with("obj/a.o.") && name.ends_with(".ccache-log"),
            "{name}"
        );
        let under = DebugFiles::new("obj/a.o", "/w", Some(Path::new("/dbg")), 2, 0);
        let name = under.path("input-c").to_string_lossy().into_owned();
        assert!(name.starts_with("/dbg/w/obj/a.o."), "{name}");
        assert!(name.ends_with(".ccache-input-c"), "{name}");
    }
}
