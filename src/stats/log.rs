//! The `stats_log` file as ccache keeps it: for each call a comment line
//! `# <what was compiled>` followed by the names of the counters the call
//! incremented, one a line. `--show-log-stats` and `--print-log-stats`
//! add them up.

use super::{Counter, Counters};

/// The counters a stats log adds up to; a name objcache does not know (a
/// newer ccache's) is skipped.
pub fn parse(text: &str) -> Counters {
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
}
