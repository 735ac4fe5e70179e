//! Durations and sizes as operators type them (`60d`, `30s`, `64M`).

use std::time::Duration;

/// Parses `250ms`, `30s`, `5m`, `12h`, `60d`, `2w` or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("duration `{s}`: expected a number and a unit (s, m, h, d, w)"))?;
    let ms: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => {
            return Err(format!(
                "duration `{s}`: unknown unit `{unit}` (ms, s, m, h, d, w)"
            ))
        }
    };
    Ok(Duration::from_millis(n.saturating_mul(ms)))
}

/// Parses `64M`, `2G`, `500K`, `1T` or a byte count.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("size `{s}`: expected a number with K, M, G or T"))?;
    let mult: u64 = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(format!("size `{s}`: unknown unit `{unit}` (K, M, G, T)")),
    };
    Ok(n.saturating_mul(mult))
}

/// Formats a byte count the way [`parse_size`] reads it back, to one decimal: `1.5G`, `512M`.
pub fn format_size(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (m, u) in UNITS {
        if n >= m {
            let tenths = n / (m / 10);
            return if tenths.is_multiple_of(10) {
                format!("{}{u}", tenths / 10)
            } else {
                format!("{}.{}{u}", tenths / 10, tenths % 10)
            };
        }
    }
    n.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("60d").unwrap().as_secs(), 60 * 86_400);
        assert_eq!(parse_duration("45").unwrap().as_secs(), 45);
        assert!(parse_duration("3y").is_err());
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert!(parse_size("x").is_err());
        assert_eq!(format_size(64 << 20), "64M");
        assert_eq!(format_size(3 << 29), "1.5G");
        assert_eq!(format_size(100), "100");
    }
}
