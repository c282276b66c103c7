//! The shard text read and written without strings per line against the
//! reading and writing it replaced (kept here as the oracle): the same
//! counters and the same damage for every file, the same bytes written.

use super::super::counters::ALL;
use super::super::namespaces::NAMESPACED;
use super::*;

/// The parsing before: a `str` per line, `split_whitespace`, `parse`.
fn old_parse(bytes: &[u8]) -> (Counters, Option<String>) {
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
        let parsed = std::str::from_utf8(line)
            .ok()
            .and_then(|l| old_set_line(&mut c, l));
        if parsed.is_none() && damage.is_none() {
            damage = Some(format!("line {} is not `name value`", n + 1));
        }
    }
    if !ended && damage.is_none() {
        damage = Some("no `end` line".to_string());
    }
    c.namespaces.fit();
    (c, damage)
}

fn old_set_line(c: &mut Counters, line: &str) -> Option<()> {
    let mut words = line.split_whitespace();
    let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
        return None;
    };
    let v = value.parse::<u64>().ok()?;
    let by_name = |n: &str| COUNTERS.iter().position(|d| d.name == n).map(|i| ALL[i]);
    if let Some(rest) = name.strip_prefix(BUCKET_PREFIX) {
        let (idx, field) = rest.split_once('_').unwrap_or(("", ""));
        if let Some(b) = usize::from_str_radix(idx, 16)
            .ok()
            .and_then(|i| c.buckets.get_mut(i))
        {
            match field {
                "kib" => b.kib = v,
                "files" => b.files = v,
                "inputs" => b.inputs = v,
                "oldest" => b.oldest_ns = v,
                _ => {}
            }
        }
    } else if let Some(counter) = by_name(name) {
        c.set(counter, v);
    } else if let Some((encoded, counter)) = name
        .strip_prefix("namespace.")
        .and_then(|r| r.rsplit_once('.'))
    {
        if let Some(i) = by_name(counter).and_then(|k| NAMESPACED.iter().position(|&n| n == k)) {
            c.namespaces.0.entry(encoded.to_string()).or_default()[i] = v;
        }
    }
    Some(())
}

/// The writing before: `writeln!` per line.
fn old_serialize(c: &Counters) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (i, def) in COUNTERS.iter().enumerate() {
        if c.values[i] != 0 {
            let _ = writeln!(out, "{} {}", def.name, c.values[i]);
        }
    }
    for (encoded, values) in &c.namespaces.0 {
        for (k, v) in NAMESPACED.iter().zip(values) {
            if *v != 0 {
                let _ = writeln!(out, "namespace.{encoded}.{} {v}", k.name());
            }
        }
    }
    for (i, b) in c.buckets.iter().enumerate() {
        if *b != BucketUsage::default() {
            let _ = write!(
                out,
                "{BUCKET_PREFIX}{i:x}_kib {}\n{BUCKET_PREFIX}{i:x}_files {}\n\
                 {BUCKET_PREFIX}{i:x}_inputs {}\n{BUCKET_PREFIX}{i:x}_oldest {}\n",
                b.kib, b.files, b.inputs, b.oldest_ns
            );
        }
    }
    if c.inputs_apart {
        out.push_str(INPUTS_APART_LINE);
        out.push('\n');
    }
    out.push_str("end\n");
    out
}

/// A line of a shard, sound or odd: every kind of name, numbers at their
/// bounds and past them, signs, white space of every kind (vertical tab,
/// no-break space, CR), extra words, bytes that are not UTF-8.
fn random_line(rnd: &mut impl FnMut(usize) -> usize) -> Vec<u8> {
    let names = [
        "cache_miss",
        "direct_cache_hit",
        "stats_updated_timestamp",
        "cache_mis",
        "cache_misss",
        "newer_counter",
        "bucket_a_kib",
        "bucket_f_oldest",
        "bucket_0_files",
        "bucket_3_inputs",
        "bucket_+a_kib",
        "bucket_A_files",
        "bucket_10_kib",
        "bucket__kib",
        "bucket_a",
        "bucket_a_other",
        "bucket_counts_inputs_apart",
        "namespace.a%20b.cache_miss",
        "namespace.x.y.direct_cache_hit",
        "namespace.x.files_in_cache",
        "namespace.nodot",
        "end",
        "",
    ];
    let values = [
        "0",
        "7",
        "+5",
        "-1",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999",
        "1.5",
        "0x10",
        "+",
        "",
        "\u{ff15}",
    ];
    let spaces = [
        " ", "  ", "\t", "\u{0b}", "\u{0c}", "\r", "\u{a0}", "\u{2003}",
    ];
    let mut line = String::new();
    if rnd(8) == 0 {
        line.push_str(spaces[rnd(spaces.len())]);
    }
    line.push_str(names[rnd(names.len())]);
    line.push_str(spaces[rnd(spaces.len())]);
    line.push_str(values[rnd(values.len())]);
    match rnd(10) {
        0 => line.push_str(spaces[rnd(spaces.len())]),
        1 => line.push_str(" 2"),
        2 => line.push('\r'),
        _ => {}
    }
    let mut bytes = line.into_bytes();
    if rnd(30) == 0 && !bytes.is_empty() {
        let at = rnd(bytes.len());
        bytes[at] = 0xff;
    }
    bytes
}

#[test]
fn files_read_as_they_were_read() {
    let mut rnd = crate::test_rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..20_000 {
        let mut file = Vec::new();
        for _ in 0..rnd(12) {
            file.extend(random_line(&mut rnd));
            file.extend_from_slice(if rnd(10) == 0 { b"\r\n" } else { b"\n" });
        }
        match rnd(4) {
            0 => {}
            1 => file.extend_from_slice(b"end\n"),
            2 => file.extend_from_slice(b"end\nstale \xff tail\n"),
            _ => file.extend_from_slice(b"bucket_counts_inputs_apart 1\nend\n"),
        }
        if rnd(20) == 0 {
            file.truncate(rnd(file.len() + 1));
        }
        assert_eq!(
            Counters::parse(&file),
            old_parse(&file),
            "{:?}",
            String::from_utf8_lossy(&file)
        );
    }
}

#[test]
fn files_are_written_as_they_were_written() {
    let mut rnd = crate::test_rng(0x9e37_79b9_7f4a_7c15);
    let numbers = [0, 1, 9, 10, 99, 1 << 40, u64::MAX - 1, u64::MAX];
    for _ in 0..2_000 {
        let mut c = Counters::default();
        for &counter in ALL {
            if rnd(3) == 0 {
                c.set(counter, numbers[rnd(numbers.len())]);
            }
        }
        for b in c.buckets.iter_mut() {
            if rnd(2) == 0 {
                continue;
            }
            b.kib = numbers[rnd(numbers.len())];
            b.oldest_ns = numbers[rnd(numbers.len())];
        }
        for name in ["a b", "proj", "naïve"].iter().take(rnd(4)) {
            c.namespaces
                .apply(name, NAMESPACED[rnd(3)], 1 + rnd(5) as i64);
        }
        c.inputs_apart = rnd(2) == 0;
        let text = c.serialize();
        assert_eq!(text, old_serialize(&c));
        assert_eq!(Counters::parse(text.as_bytes()), (c, None));
    }
}

#[test]
fn a_buffer_written_again_holds_only_the_new_text() {
    let mut c = Counters::default();
    c.set(Counter::CacheMiss, 12);
    let mut out = b"leftover bytes of the file read".to_vec();
    out.clear();
    c.serialize_into(&mut out);
    assert_eq!(out, b"cache_miss 12\nbucket_counts_inputs_apart 1\nend\n");
}

/// The one-pass reading takes only lines the general one reads the same.
#[test]
fn plain_lines_read_as_any_line() {
    let nineteen = "9".repeat(19);
    let twenty = "1".repeat(20);
    for line in [
        "cache_miss 3",
        "cache_miss 0",
        "a 1",
        " a 1",
        "a  1",
        "a 1 ",
        "a\t1",
        "a 1\r",
        "a +1",
        "a -1",
        "a 1x",
        "a ",
        " 1",
        "é 1",
        "a\u{7f} 1",
        "a\u{b} 1",
        &format!("a {nineteen}"),
        &format!("a {twenty}"),
        "a 18446744073709551615",
        "a 18446744073709551616",
    ] {
        let general = two_words(line.as_bytes()).and_then(|(n, v)| Some((n, parse_number(v, 10)?)));
        if let Some(plain) = plain_line(line.as_bytes()) {
            assert_eq!(Some(plain), general, "{line:?}");
        }
    }
    assert!(plain_line(b"cache_miss 3").is_some());
}

#[test]
fn numbers_are_read_as_from_str_radix_reads_them() {
    for text in [
        "0",
        "+0",
        "+",
        "",
        "-0",
        "00012",
        "18446744073709551615",
        "18446744073709551616",
        "1 ",
        "a",
        "F",
        "+f",
        "ff",
        "fffffffffffffffff",
        "٣",
    ] {
        for radix in [10, 16] {
            assert_eq!(
                parse_number(text.as_bytes(), radix),
                u64::from_str_radix(text, radix).ok(),
                "{text:?} in base {radix}"
            );
        }
    }
}
