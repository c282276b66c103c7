//! Hits and misses per `namespace`: a dimension of the shard a call counts
//! in, not a file of its own, so a compile writes the same one file as
//! without namespaces. A namespaced call adds its hits or misses to its
//! namespace's lines in that shard as well as to the totals, which stay
//! what they were.
//!
//! In the shard file, one line per counter that is not zero:
//! `namespace.NAME.COUNTER value`, NAME percent-encoded (every byte but
//! `A-Z a-z 0-9 _ . + -`), so a name with spaces, newlines or bytes that
//! are not UTF-8 stays one word. An objcache that does not know these
//! lines skips them (and drops them when it rewrites the shard); the
//! totals never depended on them.
//!
//! A shard keeps at most `BUDGET` bytes of such lines (counting every
//! value at its longest), so a shard stays far below `MAX_STATS_FILE`
//! with any number of namespaces: a namespace new to a full shard counts
//! under `OTHER`.

use std::collections::BTreeMap;

use super::Counter;

/// The counters kept per namespace: enough for a hit rate.
pub const NAMESPACED: [Counter; N] = [
    Counter::DirectCacheHit,
    Counter::PreprocessedCacheHit,
    Counter::CacheMiss,
];

const N: usize = 3;

/// Where namespaces count that no longer fit in a full shard. Never an
/// encoded name: `*` is always encoded.
pub const OTHER: &str = "*";

/// The bytes of namespace lines a shard may hold, each value counted at
/// 20 digits: with the rest at its largest (under 6 KiB), the shard stays
/// under `MAX_STATS_FILE`.
const BUDGET: usize = 8 << 10;

/// The line names' prefix.
const PREFIX: &str = "namespace.";

/// Each namespace's counts, by encoded name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Namespaces(pub BTreeMap<String, [u64; N]>);

/// A namespace as the stats files and `--print-stats` spell it.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The namespace an encoded name stands for, as text (bytes that are not
/// UTF-8 replaced); `OTHER` and anything that is no encoding stay as they are.
pub fn decode(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A namespace as `-s` shows it: its name, unless that has control
/// characters (then as encoded), `OTHER` in words.
pub fn label(encoded: &str) -> String {
    if encoded == OTHER {
        return "(namespaces a full stats file had no room for)".into();
    }
    let name = decode(encoded);
    if name.chars().any(char::is_control) {
        encoded.to_string()
    } else {
        name
    }
}

fn slot(c: Counter) -> Option<usize> {
    NAMESPACED.iter().position(|&n| n == c)
}

/// The bytes a namespace's lines may take at most.
fn cost(encoded: &str) -> usize {
    NAMESPACED
        .iter()
        .map(|c| PREFIX.len() + encoded.len() + 1 + c.name().len() + 1 + 20 + 1)
        .sum()
}

impl Namespaces {
    pub fn get(&self, encoded: &str, c: Counter) -> u64 {
        match (self.0.get(encoded), slot(c)) {
            (Some(values), Some(i)) => values[i],
            _ => 0,
        }
    }

    /// Takes a `namespace.NAME.COUNTER value` line's name and value;
    /// `false` if the name is no such line's.
    pub fn set_line(&mut self, name: &str, value: u64) -> bool {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            return false;
        };
        let Some((encoded, counter)) = rest.rsplit_once('.') else {
            return false;
        };
        // A counter this version does not keep per namespace: skipped.
        if let Some(i) = Counter::from_name(counter).and_then(slot) {
            self.0.entry(encoded.to_string()).or_default()[i] = value;
        }
        true
    }

    /// Counts `delta` of `c` for namespace `name` (not encoded) in a shard,
    /// under `OTHER` when the shard has no room left for a new namespace.
    pub fn apply(&mut self, name: &str, c: Counter, delta: i64) {
        let Some(i) = slot(c) else { return };
        let mut encoded = encode(name);
        if !self.0.contains_key(&encoded) {
            let used: usize = self.0.keys().map(|k| cost(k)).sum();
            let needs = cost(&encoded)
                + if self.0.contains_key(OTHER) {
                    0
                } else {
                    cost(OTHER)
                };
            if used + needs > BUDGET {
                encoded = OTHER.to_string();
            }
        }
        let v = &mut self.0.entry(encoded).or_default()[i];
        *v = v.saturating_add_signed(delta);
    }

    /// Folds into `OTHER` the namespaces past the budget, as `apply`
    /// would have counted them: a shard read with more (hand-edited, or a
    /// name kilobytes long) would otherwise be rewritten past
    /// `MAX_STATS_FILE`, cut on every read and counted corrupt forever.
    pub fn fit(&mut self) {
        let mut used = cost(OTHER);
        let mut over = Vec::new();
        for name in self.0.keys().filter(|k| *k != OTHER) {
            used += cost(name);
            if used > BUDGET {
                over.push(name.clone());
            }
        }
        for name in over {
            if let Some(values) = self.0.remove(&name) {
                let other = self.0.entry(OTHER.to_string()).or_default();
                for (o, v) in other.iter_mut().zip(values) {
                    *o = o.saturating_add(v);
                }
            }
        }
    }

    pub fn merge(&mut self, other: &Namespaces) {
        for (name, values) in &other.0 {
            let mine = self.0.entry(name.clone()).or_default();
            for (m, o) in mine.iter_mut().zip(values) {
                *m = m.saturating_add(*o);
            }
        }
    }

    /// The shard file's lines, those of zero counters left out.
    pub fn serialize_into(&self, out: &mut Vec<u8>) {
        for (encoded, values) in &self.0 {
            for (c, &v) in NAMESPACED.iter().zip(values) {
                if v != 0 {
                    let name = [
                        PREFIX.as_bytes(),
                        encoded.as_bytes(),
                        b".",
                        c.name().as_bytes(),
                    ];
                    super::text::push_line(out, &name, v);
                }
            }
        }
    }

    /// `--print-stats`'s names and values: those of the shard file.
    pub fn print_lines(&self) -> Vec<(String, u64)> {
        let mut lines = Vec::new();
        for (encoded, values) in self.counted() {
            for (c, v) in NAMESPACED.iter().zip(values) {
                lines.push((format!("{PREFIX}{encoded}.{}", c.name()), *v));
            }
        }
        lines
    }

    /// The namespaces that counted anything, by encoded name.
    pub fn counted(&self) -> impl Iterator<Item = (&str, &[u64; N])> {
        self.0
            .iter()
            .filter(|(_, v)| v.iter().any(|&x| x > 0))
            .map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_as_one_word() {
        for name in ["proj-a", "a b\nc\"d", "naïve", "100%", "*", "a.b"] {
            let e = encode(name);
            assert!(!e.contains(char::is_whitespace) && e != OTHER, "{e}");
            assert_eq!(decode(&e), name);
        }
        assert_eq!(encode("a b"), "a%20b");
    }

    #[test]
    fn a_full_shard_counts_new_namespaces_as_other() {
        let mut n = Namespaces::default();
        for i in 0..1000 {
            n.apply(&format!("namespace-{i}"), Counter::CacheMiss, 1);
        }
        let mut out = Vec::new();
        n.serialize_into(&mut out);
        assert!(out.len() <= BUDGET, "{}", out.len());
        assert!(n.get(OTHER, Counter::CacheMiss) > 900);
        let total: u64 = n.0.values().map(|v| v[2]).sum();
        assert_eq!(total, 1000);
        // A namespace already in the shard still counts under its name.
        n.apply("namespace-0", Counter::DirectCacheHit, 2);
        assert_eq!(n.get("namespace-0", Counter::DirectCacheHit), 2);
    }

    #[test]
    fn lines_are_read_back() {
        let mut n = Namespaces::default();
        assert!(n.set_line("namespace.a%20b.cache_miss", 4));
        assert!(n.set_line("namespace.x.y.direct_cache_hit", 2));
        assert!(n.set_line("namespace.x.no_such_counter", 2));
        assert!(!n.set_line("cache_miss", 1));
        assert_eq!(n.get("a%20b", Counter::CacheMiss), 4);
        assert_eq!(n.get("x.y", Counter::DirectCacheHit), 2);
    }
}
