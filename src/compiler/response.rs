//! `@file` response files, expanded before the arguments are analysed.

use std::path::Path;

pub use crate::config::ResponseFormat;

/// Response files read for one call at most (gcc stops at 2000 too).
const MAX_RESPONSE_FILES: usize = 2000;
/// Bytes of response files read for one call at most.
const MAX_RESPONSE_BYTES: u64 = 16 << 20;

/// Expands `@file` response files with POSIX quoting; see
/// `expand_response_files_as`.
pub fn expand_response_files(args: &[String], cwd: &Path) -> Result<Vec<String>, String> {
    expand_response_files_as(args, cwd, ResponseFormat::Posix)
}

/// Expands `@file` response files, quoted as `format` says,
/// recursively. An unreadable one stays as it is, as gcc leaves it. `Err`
/// when the files are too many or too large to be real (a file naming
/// itself several times, `@/dev/zero`): the call then runs uncached.
pub fn expand_response_files_as(
    args: &[String],
    cwd: &Path,
    format: ResponseFormat,
) -> Result<Vec<String>, String> {
    struct Budget {
        files: usize,
        bytes: u64,
    }
    fn read_limited(path: &Path, budget: &mut Budget) -> Result<Option<String>, String> {
        use std::io::Read;
        // Only a plain file: a FIFO or device could block or never end.
        let Ok((file, _)) = crate::files::open_regular_file(path) else {
            return Ok(None);
        };
        budget.files += 1;
        if budget.files > MAX_RESPONSE_FILES {
            return Err(format!("more than {MAX_RESPONSE_FILES} response files"));
        }
        let mut text = Vec::new();
        let left = MAX_RESPONSE_BYTES - budget.bytes;
        file.take(left + 1)
            .read_to_end(&mut text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if text.len() as u64 > left {
            return Err(format!(
                "response files larger than {MAX_RESPONSE_BYTES} bytes"
            ));
        }
        budget.bytes += text.len() as u64;
        Ok(String::from_utf8(text).ok())
    }
    fn expand(
        args: &[String],
        cwd: &Path,
        depth: usize,
        budget: &mut Budget,
        out: &mut Vec<String>,
        format: ResponseFormat,
    ) -> Result<(), String> {
        for a in args {
            match a.strip_prefix('@') {
                Some(file) if depth < 10 => match read_limited(&cwd.join(file), budget)? {
                    Some(text) => {
                        let words = match format {
                            ResponseFormat::Posix => split_response_text(&text),
                            ResponseFormat::Windows => split_windows_response_text(&text),
                        };
                        expand(&words, cwd, depth + 1, budget, out, format)?
                    }
                    None => out.push(a.clone()),
                },
                _ => out.push(a.clone()),
            }
        }
        Ok(())
    }
    let mut out = Vec::with_capacity(args.len());
    let mut budget = Budget { files: 0, bytes: 0 };
    expand(args, cwd, 0, &mut budget, &mut out, format)?;
    Ok(out)
}

/// Splits a response file's text into arguments, with gcc's quoting
/// (quotes and backslashes). Public for the fuzz targets (tests/fuzz).
pub fn split_response_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_token = true;
            }
            (q, Some(open)) if q == open => quote = None,
            (_, Some(_)) => cur.push(c),
            ('\'' | '"', None) => {
                quote = Some(c);
                in_token = true;
            }
            (c, None) if c.is_whitespace() => {
                if in_token {
                    out.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            _ => {
                cur.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        out.push(cur);
    }
    out
}

/// Splits a response file's text with Microsoft's quoting: `"` opens and
/// closes a quoted part; `2n` backslashes before a `"` are `n` backslashes
/// and the quote still quotes, `2n+1` are `n` and a plain `"`; other
/// backslashes and `'` are plain; a `"` right after a closing one is plain.
pub fn split_windows_response_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut n = 1;
                while chars.next_if_eq(&'\\').is_some() {
                    n += 1;
                }
                if chars.peek() == Some(&'"') {
                    cur.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        cur.push('"');
                        chars.next();
                    }
                } else {
                    cur.extend(std::iter::repeat_n('\\', n));
                }
            }
            '"' if quoted => {
                quoted = false;
                if chars.next_if_eq(&'"').is_some() {
                    cur.push('"');
                }
            }
            '"' => quoted = true,
            ' ' | '\t' | '\n' | '\r' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_quoting() {
        assert_eq!(
            split_windows_response_text(
                "/Fo\"out dir\\x.obj\" C:\\src\\a.c -DA=\\\"q\\\" 'b c' \"e\\\\\" \"x\"\"y\r\n"
            ),
            [
                "/Foout dir\\x.obj",
                "C:\\src\\a.c",
                "-DA=\"q\"",
                "'b",
                "c'",
                "e\\",
                "x\"y",
            ]
        );
    }

    #[test]
    fn response_files() {
        assert_eq!(
            split_response_text("-DA='x y' \"-Ib c\" plain\\ esc\n-c"),
            ["-DA=x y", "-Ib c", "plain esc", "-c"]
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.rsp"), "-O2 -c\n").unwrap();
        let args = vec!["@r.rsp".to_string(), "a.c".into(), "@missing".into()];
        assert_eq!(
            expand_response_files(&args, dir.path()).unwrap(),
            ["-O2", "-c", "a.c", "@missing"]
        );
        // A file that names itself six times: 6^10 expansions without a bound.
        std::fs::write(dir.path().join("r6"), "@r6 @r6 @r6 @r6 @r6 @r6\n").unwrap();
        assert!(expand_response_files(&["@r6".to_string()], dir.path()).is_err());
        // A device or a FIFO (no writer: opening it blocked) is left to the
        // compiler, not read.
        let fifo = std::ffi::CString::new(dir.path().join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        for special in ["@/dev/zero", "@fifo"] {
            assert_eq!(
                expand_response_files(&[special.to_string()], dir.path()).unwrap(),
                [special]
            );
        }
        let huge = dir.path().join("huge");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(MAX_RESPONSE_BYTES + 10)
            .unwrap();
        assert!(expand_response_files(&["@huge".to_string()], dir.path()).is_err());
    }
}
