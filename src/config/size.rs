//! Size values as ccache writes them: `5G`, `500M`, `1.5GiB`, `750k`, `0`.
//!
//! Decimal suffixes (k, M, G, T) are powers of 1000, binary ones (Ki, Mi, Gi,
//! Ti) powers of 1024, a trailing `B` is allowed, and a bare number means
//! gigabytes, as in ccache.

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
        "" | "G" => 1e9,
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

/// Formats bytes the way `-p` and `-s` show a limit: `5.0G`, `500.0M`.
pub fn format_size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes == 0 {
        "0".to_string()
    } else if b >= 1e12 {
        format!("{:.1}T", b / 1e12)
    } else if b >= 1e9 {
        format!("{:.1}G", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1}M", b / 1e6)
    } else {
        format!("{:.1}k", b / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ccache_forms() {
        assert_eq!(parse_size("5G").unwrap(), 5_000_000_000);
        assert_eq!(parse_size("5").unwrap(), 5_000_000_000);
        assert_eq!(parse_size("500M").unwrap(), 500_000_000);
        assert_eq!(parse_size("1.5GiB").unwrap(), 1_610_612_736);
        assert_eq!(parse_size("2Ki").unwrap(), 2048);
        assert_eq!(parse_size("0").unwrap(), 0);
        assert!(parse_size("banana").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_size(5_000_000_000), "5.0G");
        assert_eq!(format_size(0), "0");
        assert_eq!(parse_size(&format_size(500_000_000)).unwrap(), 500_000_000);
    }
}
