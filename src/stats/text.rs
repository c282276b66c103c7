//! A shard's text: a `name value` line for each counter that is not zero,
//! the namespaces' lines, the buckets' lines, then `end`. Every call
//! reads and rewrites one, so it is read from its bytes without a string
//! per line and written with no formatting machinery.

use super::counters::COUNTERS;
use super::{BucketUsage, Counter, Counters, BUCKET_PREFIX, INPUTS_APART_LINE, MAX_STATS_FILE};

impl Counters {
    /// The counters of a stats file's bytes, and what is wrong with the
    /// file if anything is: longer than `MAX_STATS_FILE`, a line before the
    /// `end` line that is not `name value` (not text, say), no `end` line.
    /// What is wrong never hides the lines that are right: a damaged file
    /// counts what it still says. Bytes after the `end` line are the tail
    /// of an older, longer version (the file is rewritten in place) and
    /// are ignored. An empty file is a new one.
    pub(super) fn parse(bytes: &[u8]) -> (Counters, Option<String>) {
        let mut c = Counters::default();
        if bytes.is_empty() {
            return (c, None);
        }
        c.inputs_apart = false;
        let cut = bytes.len().min(MAX_STATS_FILE as usize);
        let mut damage =
            (bytes.len() > cut).then(|| format!("longer than {} KiB", MAX_STATS_FILE / 1024));
        let text = bytes[..cut].strip_suffix(b"\n").unwrap_or(&bytes[..cut]);
        let mut ended = false;
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            if line == b"end" {
                ended = true;
                break;
            }
            if line == INPUTS_APART_LINE.as_bytes() {
                c.inputs_apart = true;
                continue;
            }
            if c.set_line(line).is_none() && damage.is_none() {
                damage = Some(format!("line {} is not `name value`", n + 1));
            }
        }
        if !ended && damage.is_none() {
            damage = Some("no `end` line".to_string());
        }
        c.namespaces.fit();
        (c, damage)
    }

    /// Takes one `name value` line; `None` if it is not one (not text,
    /// or not two words with a number second). A name this version does
    /// not know (a newer objcache's counter) is skipped.
    fn set_line(&mut self, line: &[u8]) -> Option<()> {
        let (name, v) = match plain_line(line) {
            Some(plain) => plain,
            None => {
                let (name, value) = two_words(line)?;
                (name, parse_number(value, 10)?)
            }
        };
        // Most of a shard's lines are its buckets': tried first, as no
        // counter's name starts so (a test checks).
        if let Some(rest) = name.strip_prefix(BUCKET_PREFIX.as_bytes()) {
            let at = rest.iter().position(|&b| b == b'_');
            let (index, field) = at.map_or((&b""[..], &b""[..]), |i| (&rest[..i], &rest[i + 1..]));
            let bucket = parse_number(index, 16).and_then(|i| self.buckets.get_mut(i as usize));
            if let Some(b) = bucket {
                match field {
                    b"kib" => b.kib = v,
                    b"files" => b.files = v,
                    b"inputs" => b.inputs = v,
                    b"oldest" => b.oldest_ns = v,
                    _ => {}
                }
            }
        } else if let Some(counter) = Counter::from_name_bytes(name) {
            self.set(counter, v);
        } else if let Ok(name) = std::str::from_utf8(name) {
            self.namespaces.set_line(name, v);
        }
        Some(())
    }

    /// The file's text, into `out`.
    pub(super) fn serialize_into(&self, out: &mut Vec<u8>) {
        for (def, &value) in COUNTERS.iter().zip(&self.values) {
            if value != 0 {
                push_line(out, &[def.name.as_bytes()], value);
            }
        }
        self.namespaces.serialize_into(out);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in self.buckets.iter().enumerate() {
            if *b == BucketUsage::default() {
                continue;
            }
            let prefix = [BUCKET_PREFIX.as_bytes(), &HEX[i..i + 1]];
            for (field, value) in [
                (&b"_kib"[..], b.kib),
                (b"_files", b.files),
                (b"_inputs", b.inputs),
                (b"_oldest", b.oldest_ns),
            ] {
                push_line(out, &[prefix[0], prefix[1], field], value);
            }
        }
        if self.inputs_apart {
            out.extend_from_slice(INPUTS_APART_LINE.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(b"end\n");
    }

    #[cfg(test)]
    pub(super) fn serialize(&self) -> String {
        let mut out = Vec::new();
        self.serialize_into(&mut out);
        String::from_utf8(out).expect("a shard's text is ASCII")
    }
}

/// Appends `name value\n`, the name in parts.
pub(super) fn push_line(out: &mut Vec<u8>, name: &[&[u8]], value: u64) {
    for part in name {
        out.extend_from_slice(part);
    }
    out.push(b' ');
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.push(b'\n');
}

/// The two words of a line split at white space as `str::split_whitespace`
/// splits it; `None` for another number of words or a line that is not
/// UTF-8.
fn two_words(line: &[u8]) -> Option<(&[u8], &[u8])> {
    if line.is_ascii() {
        // `char::is_whitespace` in ASCII: tab, line feed, vertical tab,
        // form feed, carriage return and space.
        let space = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
        exactly_two(line.split(space).filter(|w| !w.is_empty()))
    } else {
        let text = std::str::from_utf8(line).ok()?;
        exactly_two(text.split_whitespace().map(str::as_bytes))
    }
}

/// A line as objcache writes it, in one pass: a name of printable ASCII,
/// one space, a decimal number of at most 19 digits (no overflow).
/// `None` for any other line, which `two_words` and `parse_number` read
/// (to the same name and value where this one reads one).
fn plain_line(line: &[u8]) -> Option<(&[u8], u64)> {
    let mut space = None;
    for (i, &b) in line.iter().enumerate() {
        if b == b' ' {
            space = Some(i);
            break;
        }
        // Neither white space, nor a control or non-ASCII byte.
        if b.wrapping_sub(0x21) >= 0x5f {
            return None;
        }
    }
    let space = space.filter(|&s| s > 0)?;
    let digits = &line[space + 1..];
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut value = 0u64;
    for &d in digits {
        let digit = d.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u64::from(digit);
    }
    Some((&line[..space], value))
}

fn exactly_two<'a>(mut words: impl Iterator<Item = &'a [u8]>) -> Option<(&'a [u8], &'a [u8])> {
    match (words.next(), words.next(), words.next()) {
        (Some(first), Some(second), None) => Some((first, second)),
        _ => None,
    }
}

/// `u64::from_str_radix` of bytes: an optional `+`, then at least one
/// digit; `None` on anything else or an overflow.
fn parse_number(text: &[u8], radix: u32) -> Option<u64> {
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = char::from(b).to_digit(radix)?;
        n.checked_mul(u64::from(radix))?.checked_add(u64::from(d))
    })
}

#[cfg(test)]
mod tests;
