//! Preprocessor mode: the preprocessed source goes into the key, with paths
//! in line markers (`# 12 "/abs/path.h" 2`) related to the working directory
//! when they lie under base_dir, so relocated checkouts produce one key.

use crate::key::KeyHasher;
use crate::paths;

/// `without_cwd`: leave out the working directory gcc names for debug
/// information (`# 1 "/build/dir//"`), as `hash_dir = false` asks.
/// `spelled`: whether the object names a path under base_dir as it is
/// written (debug information the prefix maps do not map): such a path is
/// hashed as written, not related.
pub fn hash_preprocessed(
    h: &mut KeyHasher,
    output: &[u8],
    cwd: &str,
    base_dir: Option<&paths::BaseDirs>,
    without_cwd: bool,
    spelled: &dyn Fn(&str) -> bool,
) {
    h.begin("preprocessed");
    if base_dir.is_none() && !without_cwd {
        h.part(output);
        h.end();
        return;
    }
    let mut pending = 0; // start of bytes not yet fed to the hasher
    for marker in line_markers(output) {
        let (path_start, path_end) = marker.path;
        if without_cwd && output[path_start..path_end].ends_with(b"//") {
            h.part(&output[pending..path_start]);
            pending = path_end;
            continue;
        }
        if let Ok(path) = std::str::from_utf8(&output[path_start..path_end]) {
            let base = base_dir.filter(|_| !spelled(path));
            if let Some((rel, base)) =
                base.and_then(|b| Some((paths::relate(path, cwd, Some(b))?, b)))
            {
                h.part(&output[pending..path_start]);
                h.part(rel.hash_form_under(base, path).as_bytes());
                pending = path_end;
            }
        }
    }
    h.part(&output[pending..]);
    h.end();
}

/// Does preprocessed text hold a string that `__DATE__` (`"Dec  6 2026"`),
/// `__TIME__` (`"10:21:33"`) or `__TIMESTAMP__` (`"Sun Dec  6 10:21:33
/// 2026"`) expands to, also stringified again (`"\"10:21:33\""`)? A
/// source can spell those names so that no text names them: pasted with
/// `##` from pieces, or split by a backslash-newline. Any string of that
/// shape counts, whatever the date.
pub fn shows_time_macro(text: &[u8]) -> bool {
    let shown = time_strings(text, &|_| true);
    shown.date || shown.clock
}

/// Which of the strings of `shows_time_macro` preprocessed text holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeStrings {
    /// A date as `__DATE__` gives it (`"Dec  6 2026"`).
    pub date: bool,
    /// A time or a timestamp, as `__TIME__` and `__TIMESTAMP__` give them.
    pub clock: bool,
}

/// `could_be_stamp`: whether a string of `__TIMESTAMP__`'s form could be
/// what a macro gave this compile (a file's time, the time of the call);
/// a string that cannot is text like any other (a mail's `From` line).
pub fn time_strings(text: &[u8], could_be_stamp: &dyn Fn(&[u8]) -> bool) -> TimeStrings {
    let mut shown = TimeStrings::default();
    let quotes = text.iter().enumerate().filter(|(_, b)| **b == b'"');
    for (at, _) in quotes {
        let rest = &text[at + 1..];
        for len in [11, 8, 24] {
            if rest.len() > len && matches!(rest[len], b'"' | b'\\') && time_string(&rest[..len]) {
                match len {
                    11 => shown.date = true,
                    24 if !could_be_stamp(&rest[..len]) => {}
                    _ => shown.clock = true,
                }
            }
        }
        if shown.clock {
            break;
        }
    }
    shown
}

/// Is `s` what one of the time macros expands to (or `?`s where the
/// compiler did not know the time)?
fn time_string(s: &[u8]) -> bool {
    const MONTHS: &[&[u8]] = &[
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec", b"???",
    ];
    const DAYS: &[&[u8]] = &[
        b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"???",
    ];
    let digits = |t: &[u8]| t.iter().all(|b| b.is_ascii_digit() || *b == b'?');
    let day = |t: &[u8]| (t[0] == b' ' || digits(&t[..1])) && digits(&t[1..]);
    let time = |t: &[u8]| {
        digits(&t[0..2]) && t[2] == b':' && digits(&t[3..5]) && t[5] == b':' && digits(&t[6..8])
    };
    let month_day = |t: &[u8]| MONTHS.contains(&&t[..3]) && t[3] == b' ' && day(&t[4..6]);
    match s.len() {
        // `Mmm dd yyyy`
        11 => month_day(s) && s[6] == b' ' && digits(&s[7..]),
        8 => time(s),
        // `Www Mmm dd hh:mm:ss yyyy`
        24 => {
            DAYS.contains(&&s[..3])
                && s[3] == b' '
                && month_day(&s[4..10])
                && s[10] == b' '
                && time(&s[11..19])
                && s[19] == b' '
                && digits(&s[20..])
        }
        _ => false,
    }
}

/// A line marker of preprocessed output: `# <digits> "<path>" <flags>`
/// (or `#line <digits> "<path>"`).
pub struct Marker<'a> {
    /// Byte range of the path as written (escapes not resolved).
    pub path: (usize, usize),
    /// What follows the closing quote: the flags (1 enter, 2 return, 3 system).
    pub flags: &'a [u8],
}

/// Every line marker in `output`, in order.
pub fn line_markers(output: &[u8]) -> impl Iterator<Item = Marker<'_>> {
    let mut start = 0;
    std::iter::from_fn(move || {
        while start < output.len() {
            let line_start = start;
            let end = output[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(output.len(), |p| start + p);
            start = end + 1;
            if output[line_start] != b'#' {
                continue;
            }
            if let Some(path) = line_marker_path(output, line_start, end) {
                return Some(Marker {
                    path,
                    flags: &output[(path.1 + 1).min(end)..end],
                });
            }
        }
        None
    })
}

/// For a line `# <digits> "<path>"...` (or `#line <digits> "<path>"`), the
/// byte range of the path.
fn line_marker_path(buf: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let line = &buf[start..end];
    let rest = line
        .strip_prefix(b"# ")
        .or_else(|| line.strip_prefix(b"#line "))?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits..digits + 2) != Some(b" \"") {
        return None;
    }
    let path_start = end - rest.len() + digits + 2;
    let mut i = path_start;
    while i < end {
        match buf[i] {
            b'\\' => i += 2,
            b'"' => return Some((path_start, i)),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str, cwd: &str) -> crate::key::Key {
        key_spelled(text, cwd, &|_| false)
    }

    fn key_spelled(text: &str, cwd: &str, spelled: &dyn Fn(&str) -> bool) -> crate::key::Key {
        let mut h = KeyHasher::new(false);
        let base = crate::paths::BaseDirs::one("/ci");
        hash_preprocessed(&mut h, text.as_bytes(), cwd, Some(&base), false, spelled);
        h.finish().0
    }

    #[test]
    fn line_markers_under_base_dir_are_normalised() {
        let a =
            "# 1 \"/ci/a/src/x.c\"\n# 1 \"/ci/a//\"\nint x;\n# 3 \"/usr/include/stdio.h\" 3 4\n";
        let b = a.replace("/ci/a", "/ci/bbb");
        assert_eq!(key(a, "/ci/a"), key(&b, "/ci/bbb"));
        // Code (not a marker) that names the path is not rewritten: it is real content.
        let c = format!("{a}const char *f = \"/ci/a/src/x.c\";\n");
        let d = c.replace("/ci/a", "/ci/bbb");
        assert_ne!(key(&c, "/ci/a"), key(&d, "/ci/bbb"));
        // Paths outside base_dir stay as they are.
        let e = a.replace("/usr/include", "/opt/include");
        assert_ne!(key(a, "/ci/a"), key(&e, "/ci/a"));
        // Nor those the object names as written.
        let spelled = |p: &str| p.contains("/src/");
        assert_ne!(
            key_spelled(a, "/ci/a", &spelled),
            key_spelled(&b, "/ci/bbb", &spelled)
        );
    }

    #[test]
    fn time_macro_expansions_are_seen() {
        for text in [
            "const char *d = \"Dec  6 2026\";",
            "const char *t = \"10:21:33\";",
            "const char *s = \"Sun Dec 16 10:21:33 2026\";",
            "const char *q = \"\\\"Jan 12 1970\\\"\";",
            "const char *u = \"??:??:??\";",
        ] {
            assert!(shows_time_macro(text.as_bytes()), "{text}");
        }
        for text in [
            "const char *d = \"Dec  6 2026 \";",
            "const char *t = \"10:21\";",
            "const char *m = \"Foo  6 2026\";",
            "int x = 10 ? 20:30;",
            "\"",
        ] {
            assert!(!shows_time_macro(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn dates_are_told_from_times() {
        let any = &|_: &[u8]| true;
        let date = time_strings(b"const char *d = \"Dec  6 2026\";", any);
        assert_eq!((date.date, date.clock), (true, false));
        let both = time_strings(b"\"Dec  6 2026\" \"10:21:33\"", any);
        assert_eq!((both.date, both.clock), (true, true));
        let stamp = time_strings(b"\"Sun Dec 16 10:21:33 2026\"", any);
        assert_eq!((stamp.date, stamp.clock), (false, true));
        // A string of the form no macro of this compile could have given.
        let none = &|_: &[u8]| false;
        let text = time_strings(b"\"Mon Sep 17 00:00:00 2001\"", none);
        assert_eq!((text.date, text.clock), (false, false));
        let time = time_strings(b"\"Mon Sep 17 00:00:00 2001\" \"10:21:33\"", none);
        assert!(time.clock, "a time is a time whatever the stamps");
    }

    #[test]
    fn without_cwd_the_working_directory_marker_is_left_out() {
        let key = |text: &str, without_cwd| {
            let mut h = KeyHasher::new(false);
            hash_preprocessed(&mut h, text.as_bytes(), "/x", None, without_cwd, &|_| false);
            h.finish().0
        };
        let a = "# 1 \"t.c\"\n# 1 \"/tmp/dir1//\"\nint x;\n";
        let b = a.replace("dir1", "dir2");
        assert_eq!(key(a, true), key(&b, true));
        assert_ne!(key(a, false), key(&b, false));
        assert_ne!(key(a, true), key(&a.replace("int", "long"), true));
    }
}
