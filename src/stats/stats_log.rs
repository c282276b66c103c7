//! The `stats_log` file as ccache keeps it: for each call a comment line
//! `# <what was compiled>` followed by the names of the counters the call
//! incremented, one a line. Compiles append to it (`append`);
//! `--show-log-stats` and `--print-log-stats` add it up (`add_up`). Both
//! are handed the path as the configuration resolved it
//! (`Config::stats_log`).

use std::io::{self, Read, Write};
use std::path::Path;

use super::{Counter, Counters};

/// Appends one call: `# WHAT`, then the name of each counter the call
/// incremented, once per increment, sorted by name as ccache writes them
/// (scripts compare a call's lines whole). Why a miss missed
/// (`miss_reason_*`, objcache's own) is left out: it would be a line
/// ccache never writes after every miss; `-s -v` counts the reasons.
pub fn append(path: &Path, what: &str, changes: &[(Counter, i64)]) -> io::Result<()> {
    let mut text = format!("# {what}\n");
    let mut changes: Vec<(Counter, i64)> = changes
        .iter()
        .copied()
        .filter(|(c, _)| c.def().section != super::counters::Section::MissReason)
        .collect();
    // The counters are declared in name order.
    changes.sort_by_key(|(c, _)| *c);
    for (counter, delta) in changes {
        for _ in 0..delta {
            text.push_str(counter.name());
            text.push('\n');
        }
    }
    // One write per call, so lines of concurrent calls do not interleave;
    // never blocking on a FIFO with no reader or one that reads nothing.
    crate::files::open_for_append(path).and_then(|mut f| f.write_all(text.as_bytes()))
}

/// Adds up a stats log a chunk of whole lines at a time: the log only
/// grows (ccache never trims it), so it is never held whole in memory. It
/// is read up to its length when opened, as calls may append meanwhile.
pub fn add_up(path: &Path) -> io::Result<Counters> {
    const CHUNK: usize = 1 << 20;
    let (file, len) = crate::files::open_regular_file(path)?;
    let mut file = file.take(len);
    let mut total = Counters::default();
    let mut buf = Vec::with_capacity(2 * CHUNK);
    // In a line longer than a chunk: it names no counter and is dropped.
    let mut in_long_line = false;
    loop {
        let start = buf.len();
        buf.resize(start + CHUNK, 0);
        let n = file.read(&mut buf[start..])?;
        buf.truncate(start + n);
        let cut = match buf.iter().rposition(|&b| b == b'\n') {
            _ if n == 0 => buf.len(),
            Some(i) => i + 1,
            None if buf.len() >= CHUNK => {
                buf.clear();
                in_long_line = true;
                continue;
            }
            None => continue,
        };
        let mut lines = &buf[..cut];
        if std::mem::take(&mut in_long_line) {
            let end = lines
                .iter()
                .position(|&b| b == b'\n')
                .map_or(cut, |i| i + 1);
            lines = &lines[end..];
        }
        let part = parse(&String::from_utf8_lossy(lines));
        for &counter in super::counters::ALL {
            total.set(counter, total.get(counter) + part.get(counter));
        }
        buf.drain(..cut);
        if n == 0 {
            return Ok(total);
        }
    }
}

/// The counters a stats log adds up to; a name objcache does not know (a
/// newer ccache's) is skipped.
fn parse(text: &str) -> Counters {
    let mut c = Counters::default();
    for line in text.lines() {
        let name = line.trim();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        if let Some(k) = Counter::from_name(name) {
            c.set(k, c.get(k) + 1);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_named_counter() {
        let c = parse("# a.c\ncache_miss\n# b.c\ndirect_cache_hit\n# c.c\ncache_miss\nnew_one\n");
        assert_eq!(c.get(Counter::CacheMiss), 2);
        assert_eq!(c.get(Counter::DirectCacheHit), 1);
    }

    #[test]
    fn what_is_appended_is_added_up() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stats.log");
        let miss = [(Counter::MissReasonNewOutput, 1), (Counter::CacheMiss, 1)];
        append(&log, "a.c", &miss).unwrap();
        append(&log, "b.c", &[(Counter::DirectCacheHit, 2)]).unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            text,
            "# a.c\ncache_miss\n# b.c\ndirect_cache_hit\ndirect_cache_hit\n"
        );
        let c = add_up(&log).unwrap();
        assert_eq!(c.get(Counter::CacheMiss), 1);
        assert_eq!(c.get(Counter::DirectCacheHit), 2);
    }

    #[test]
    fn a_stats_log_is_added_up_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stats.log");
        let mut text = String::new();
        for _ in 0..150_000 {
            text.push_str("# a.c\ncache_miss\n");
        }
        // A comment line longer than a chunk, ending in a counter's name.
        text.push_str(&"#".repeat(3 << 20));
        text.push_str("cache_miss\ndirect_cache_hit\n");
        std::fs::write(&log, &text).unwrap();
        let c = add_up(&log).unwrap();
        assert_eq!(c.get(Counter::CacheMiss), 150_000);
        assert_eq!(c.get(Counter::DirectCacheHit), 1);
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(add_up(&zero).is_err());
    }
}
