//! Size values as ccache writes them: `5G`, `500M`, `1.5GiB`, `750k`, `0`,
//! and ages: `12h`, `2d`, `30m`, `3600s`.
//!
//! Decimal suffixes (k, M, G, T) are powers of 1000, binary ones (Ki, Mi, Gi,
//! Ti) powers of 1024, a trailing `B` is allowed, and a bare number means
//! gibibytes, as in ccache 4.13 ("the default suffix is GiB").

/// Parses a size into bytes. `0` means "no limit" to the callers.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid size: \"{text}\""))?;
    let suffix = suffix.trim();
    let suffix = suffix.strip_suffix('B').unwrap_or(suffix);
    let multiplier: f64 = match suffix {
        "" => 1024.0 * 1024.0 * 1024.0,
        "G" => 1e9,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "T" => 1e12,
        "Ki" | "KI" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("invalid size: \"{text}\" (unknown suffix)")),
    };
    if !value.is_finite() || value < 0.0 {
        return Err(format!("invalid size: \"{text}\""));
    }
    Ok((value * multiplier).round() as u64)
}

/// A size as `-p` and `-k` show a configured one (ccache's form, which
/// parses back): `5.0G`, `500.0M`, bytes below a megabyte, `0`; a size in
/// binary units (`5GiB`, the default) as `5.0GiB`, so it parses back to
/// the same number of bytes.
pub fn format_parsable(bytes: u64) -> String {
    if !bytes.is_multiple_of(1000) && bytes.is_multiple_of(1024) && bytes >= 1 << 20 {
        let (unit, name) = if bytes >= 1 << 30 {
            ((1u64 << 30) as f64, "GiB")
        } else {
            ((1u64 << 20) as f64, "MiB")
        };
        for decimals in 1..=6 {
            let text = format!("{:.*}{name}", decimals, bytes as f64 / unit);
            if parse_size(&text) == Ok(bytes) {
                return text;
            }
        }
        return bytes.to_string();
    }
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1}G", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1}M", b / 1e6)
    } else {
        bytes.to_string()
    }
}

/// Which prefixes sizes are shown with: ccache 4.13 shows them in the units
/// `max_size` was given in, binary for a bare number and the 5 GiB default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeUnits {
    Binary,
    Decimal,
}

impl SizeUnits {
    /// The units of a size's text: decimal for a `k`/`M`/`G`/`T` suffix.
    pub fn of(text: &str) -> SizeUnits {
        let t = text.trim();
        let t = t.strip_suffix('B').unwrap_or(t);
        if t.ends_with(['k', 'K', 'M', 'G', 'T']) {
            SizeUnits::Decimal
        } else {
            SizeUnits::Binary
        }
    }

    /// The size of a gigabyte in these units and its name.
    pub fn giga(self) -> (f64, &'static str) {
        match self {
            SizeUnits::Binary => ((1u64 << 30) as f64, "GiB"),
            SizeUnits::Decimal => (1e9, "GB"),
        }
    }

    /// A size for people, as ccache prints one in messages: `2.0 GiB`,
    /// `500.0 MB`, `12 bytes`.
    pub fn format(self, bytes: u64) -> String {
        let (base, names) = match self {
            SizeUnits::Binary => (1024.0, ["KiB", "MiB", "GiB"]),
            SizeUnits::Decimal => (1000.0, ["kB", "MB", "GB"]),
        };
        let b = bytes as f64;
        for (power, name) in names.iter().enumerate().rev() {
            let unit = f64::powi(base, power as i32 + 1);
            if b >= unit {
                return format!("{:.1} {name}", b / unit);
            }
        }
        if bytes == 1 {
            "1 byte".to_string()
        } else {
            format!("{bytes} bytes")
        }
    }
}

/// Parses `12h`, `2d`, `30m`, `3600s` or plain seconds.
pub fn parse_age(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid age \"{text}\" (use e.g. 30m, 12h, 2d, 3600s)"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(format!(
                "invalid age \"{text}\" (use e.g. 30m, 12h, 2d, 3600s)"
            ))
        }
    };
    Ok(n * unit_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ccache_forms() {
        assert_eq!(parse_size("5G").unwrap(), 5_000_000_000);
        assert_eq!(parse_size("5").unwrap(), 5 << 30);
        assert_eq!(parse_size("10").unwrap(), parse_size("10GiB").unwrap());
        // The spellings of ccache 4.13's manual and of its `-p`.
        assert_eq!(parse_size("5.0 GiB").unwrap(), 5 << 30);
        assert_eq!(parse_size("10GB").unwrap(), 10_000_000_000);
        assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
        assert_eq!(parse_size("750kB").unwrap(), 750_000);
        assert_eq!(parse_size("1TiB").unwrap(), 1 << 40);
        assert_eq!(parse_size("500M").unwrap(), 500_000_000);
        assert_eq!(parse_size("1.5GiB").unwrap(), 1_610_612_736);
        assert_eq!(parse_size("2Ki").unwrap(), 2048);
        assert_eq!(parse_size("0").unwrap(), 0);
        assert!(parse_size("banana").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn formats_like_ccache() {
        // What ccache 4.7 prints for `-k max_size` after these settings.
        for (set, shown) in [
            ("5G", "5.0G"),
            ("3000M", "3.0G"),
            ("500M", "500.0M"),
            ("1500K", "1.5M"),
            ("500K", "500000"),
            ("2Gi", "2.0GiB"),
            ("5GiB", "5.0GiB"),
            ("1.25GiB", "1.25GiB"),
            ("512Mi", "512.0MiB"),
            ("1T", "1000.0G"),
            ("0", "0"),
        ] {
            assert_eq!(format_parsable(parse_size(set).unwrap()), shown, "{set}");
        }
        assert_eq!(parse_size("500.0M").unwrap(), 500_000_000);
        assert_eq!(parse_size("5.0GiB").unwrap(), 5 << 30);
        let decimal = SizeUnits::of("10G");
        assert_eq!(decimal, SizeUnits::Decimal);
        assert_eq!(decimal.format(2_000_000_000), "2.0 GB");
        assert_eq!(decimal.format(500_000_000), "500.0 MB");
        assert_eq!(decimal.format(1), "1 byte");
        let binary = SizeUnits::of("10");
        assert_eq!(binary, SizeUnits::of("5.0GiB"));
        assert_eq!(binary.format(10 << 30), "10.0 GiB");
        assert_eq!(binary.format(1536), "1.5 KiB");
        assert_eq!(binary.format(1000), "1000 bytes");
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("12h").unwrap(), 43200);
        assert_eq!(parse_age("2d").unwrap(), 172800);
        assert_eq!(parse_age("30m").unwrap(), 1800);
        assert_eq!(parse_age("3600s").unwrap(), 3600);
        assert_eq!(parse_age("90").unwrap(), 90);
        assert!(parse_age("2w").is_err());
        assert!(parse_age("").is_err());
    }
}
