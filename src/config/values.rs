//! The parsers and `-p` renderings that the key table (keys.rs) names.
//!
//! A parser checks a value's text and converts it to the type of the key's
//! `Config` field; its error is the message a bad line or variable reports.
//! A rendering turns the text (and what it parsed to) into what `-p` and
//! `-k` print.

use std::borrow::Cow;
use std::path::PathBuf;

use super::locations::expand_home;
use super::size::{format_parsable, parse_age, parse_size};
use crate::paths::BaseDirs;

/// A boolean as files and `-o` write one; the environment's forms
/// (`CCACHE_NO<var>`, any value meaning true) become one of these first.
pub fn flag(text: &str) -> Result<bool, String> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!(
            "invalid boolean \"{text}\" (expected true or false)"
        )),
    }
}

pub fn text(text: &str) -> Result<String, String> {
    Ok(text.to_string())
}

pub fn base_dirs(text: &str) -> Result<Option<BaseDirs>, String> {
    BaseDirs::parse(text)
}

/// Empty means the default location, an empty path until loading ends
/// and finds it (the default depends on which directories exist, asked
/// once, whatever files and variables set on the way).
pub fn cache_dir(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        Ok(PathBuf::new())
    } else {
        expand_home(text)
    }
}

/// Empty means none.
pub fn optional_path(text: &str) -> Result<Option<PathBuf>, String> {
    (!text.is_empty()).then(|| expand_home(text)).transpose()
}

/// zstd's range, negative levels included.
pub fn compression_level(text: &str) -> Result<i32, String> {
    text.parse()
        .ok()
        .filter(|l| (-131072..=22).contains(l))
        .ok_or_else(|| format!("invalid compression level \"{text}\""))
}

/// A number from 0.0 to 1.0.
pub fn fraction(text: &str) -> Result<f64, String> {
    let f: f64 = text
        .parse()
        .map_err(|_| format!("invalid number \"{text}\""))?;
    if !(0.0..=1.0).contains(&f) {
        return Err(format!("\"{text}\" is not between 0.0 and 1.0"));
    }
    Ok(f)
}

pub fn count(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| format!("invalid unsigned integer \"{text}\""))
}

/// Seconds; empty or `0` means no age limit.
pub fn age(text: &str) -> Result<Option<u64>, String> {
    if text.is_empty() || text == "0" {
        Ok(None)
    } else {
        parse_age(text).map(Some)
    }
}

/// `(bytes, None)`, or `(0, Some(percent))` for `N%`, a share of the file
/// system holding the cache.
pub fn size_limit(text: &str) -> Result<(u64, Option<f64>), String> {
    match text.strip_suffix('%') {
        Some(p) => {
            let percent = p
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|p| *p > 0.0 && *p <= 100.0)
                .ok_or_else(|| format!("invalid share \"{text}\" (use e.g. 20%)"))?;
            Ok((0, Some(percent)))
        }
        None => Ok((parse_size(text)?, None)),
    }
}

/// Checked now, so that a bad URL is reported where it was written rather
/// than at the first compile that tries the backend.
pub fn remote_storage(text: &str) -> Result<String, String> {
    crate::remote::parse(text)?;
    Ok(text.to_string())
}

/// `:`-separated, as `PATH` is.
pub fn path_list(text: &str) -> Result<Vec<String>, String> {
    Ok(listed(text).map(str::to_string).collect())
}

/// `:`-separated absolute directories (`~/` is the home directory), for
/// `ceiling_dirs`.
pub fn dir_list(text: &str) -> Result<Vec<PathBuf>, String> {
    listed(text)
        .map(|d| {
            let path = expand_home(d)?;
            if path.is_absolute() {
                Ok(path)
            } else {
                Err(format!("\"{d}\" is not an absolute path"))
            }
        })
        .collect()
}

/// `:`-separated names of files or directories, for `ceiling_markers`.
pub fn marker_list(text: &str) -> Result<Vec<String>, String> {
    listed(text)
        .map(|name| match name {
            "." | ".." => Err(format!("\"{name}\" is not a file name")),
            _ if name.contains('/') => Err(format!("\"{name}\" is not a file name (it has a /)")),
            _ => Ok(name.to_string()),
        })
        .collect()
}

/// `:`-separated `*`, `/abs/*` or `/abs`, for `safe_dirs`.
pub fn safe_dir_list(text: &str) -> Result<Vec<String>, String> {
    listed(text)
        .map(|entry| {
            if entry == "*" || entry.starts_with('/') {
                Ok(entry.to_string())
            } else {
                Err(format!(
                    "\"{entry}\" is neither * nor an absolute path (/dir or /dir/*)"
                ))
            }
        })
        .collect()
}

/// The non-empty entries of a `:`-separated list, trimmed.
fn listed(text: &str) -> impl Iterator<Item = &str> {
    text.split(':').map(str::trim).filter(|e| !e.is_empty())
}

/// Never an error: ccache ignores the values it does not know, and `-p`
/// shows them as written.
pub fn sloppiness(text: &str) -> Result<super::SloppinessSet, String> {
    Ok(super::SloppinessSet::parse(text))
}

/// Separated by spaces (and tabs), as ccache splits ignore_options.
pub fn space_list(text: &str) -> Result<Vec<String>, String> {
    Ok(text.split_whitespace().map(str::to_string).collect())
}

/// As in ccache, a value it does not know means `auto` (for values a later
/// version may add), so only the known names pick a type.
pub fn compiler_type(text: &str) -> Result<Option<super::CompilerType>, String> {
    Ok(super::CompilerType::parse(text))
}

/// `posix` or `windows`; anything else, as in ccache, means `auto`.
pub fn response_file_format(text: &str) -> Result<Option<super::ResponseFormat>, String> {
    use super::ResponseFormat;
    Ok(match text {
        "posix" => Some(ResponseFormat::Posix),
        "windows" => Some(ResponseFormat::Windows),
        _ => None,
    })
}

/// Octal; empty means the process's umask is left alone.
pub fn umask(text: &str) -> Result<Option<u32>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    u32::from_str_radix(text, 8)
        .map(Some)
        .map_err(|_| format!("invalid octal umask \"{text}\""))
}

/// `-p` shows the text as written.
pub fn as_given<'t, T>(text: &'t str, _: &T) -> Cow<'t, str> {
    Cow::Borrowed(text)
}

/// `-p` shows the parsed value: `true`, not whatever spelled it.
pub fn canonical<T: Canonical>(_: &str, value: &T) -> Cow<'static, str> {
    value.canonical()
}

/// A value as `-p` shows it whatever spelled it.
pub trait Canonical {
    fn canonical(&self) -> Cow<'static, str>;
}

impl Canonical for bool {
    fn canonical(&self) -> Cow<'static, str> {
        Cow::Borrowed(if *self { "true" } else { "false" })
    }
}

impl Canonical for u64 {
    fn canonical(&self) -> Cow<'static, str> {
        Cow::Owned(self.to_string())
    }
}

/// Normalised as ccache shows a size (`3000M` is `3.0G`); a share as written.
pub fn size_text<'t>(text: &'t str, &(bytes, percent): &(u64, Option<f64>)) -> Cow<'t, str> {
    match percent {
        Some(_) => Cow::Borrowed(text.trim()),
        None => Cow::Owned(format_parsable(bytes)),
    }
}

/// Passwords and tokens never reach `-p` or `-k`.
pub fn masked<T>(text: &str, _: &T) -> Cow<'static, str> {
    Cow::Owned(crate::remote::mask_config_value(text))
}
