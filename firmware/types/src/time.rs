//! Packet timestamps and their EVE formatting.

use std::fmt;

/// A packet timestamp: nanoseconds since the Unix epoch (UTC). Conversions from capture
/// formats saturate rather than overflow, so a hostile timestamp can never panic.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// From seconds and nanoseconds, saturating.
    pub fn from_secs_nanos(secs: u64, nanos: u64) -> Timestamp {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }
    /// Whole seconds.
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }
    /// Microseconds within the second.
    pub fn subsec_micros(self) -> u32 {
        // < 1_000_000 by construction of the modulo, so the cast never truncates.
        ((self.0 % 1_000_000_000) / 1000) as u32
    }
    /// `self - earlier` in nanoseconds, 0 if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
    /// This timestamp plus `secs` seconds, saturating.
    #[must_use]
    pub fn plus_secs(self, secs: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1_000_000_000)))
    }

    /// Writes the EVE form `2016-07-13T22:42:07.388078+0000` into `out` (always UTC; Suricata
    /// writes the local offset, and the probe runs in UTC).
    pub fn write_eve(self, out: &mut Vec<u8>) {
        use std::io::Write;
        let secs = self.secs();
        let (y, m, d) = civil_from_days(secs / 86_400);
        let rem = secs % 86_400;
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+0000",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60,
            self.subsec_micros()
        );
    }

    /// The EVE form as a `String`.
    pub fn to_eve_string(self) -> String {
        let mut v = Vec::with_capacity(32);
        self.write_eve(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }
}

impl Timestamp {
    /// Reads the EVE form back: `YYYY-MM-DDTHH:MM:SS[.ffffff][+HHMM|-HHMM|Z]` (the offset is
    /// applied; a missing one means UTC). `None` for anything else or a time before 1970.
    pub fn parse_eve(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u64> {
            let d = b.get(r)?;
            if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
                return None;
            }
            d.iter().try_fold(0u64, |a, c| {
                a.checked_mul(10)?.checked_add(u64::from(c - b'0'))
            })
        };
        if b.len() < 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&m)
            || !(1..=31).contains(&d)
            || hh > 23
            || mm > 59
            || ss > 60
            || y < 1970
        {
            return None;
        }
        let mut i = 19;
        let mut nanos = 0u64;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == start {
                return None;
            }
            let digits = &b[start..end.min(start + 9)];
            for (k, c) in digits.iter().enumerate() {
                nanos += u64::from(c - b'0') * 10u64.pow(8 - k as u32);
            }
            i = end;
        }
        let offset_secs: i64 = match b.get(i) {
            None | Some(b'Z') => 0,
            Some(&sign @ (b'+' | b'-')) => {
                let digits: Vec<u8> = b[i + 1..].iter().copied().filter(|c| *c != b':').collect();
                if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let v = |k: usize| i64::from(digits[k] - b'0');
                let o = (v(0) * 10 + v(1)) * 3600 + (v(2) * 10 + v(3)) * 60;
                if sign == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return None,
        };
        let days = days_from_civil(y, m, d);
        let local = days.checked_mul(86_400)? + hh * 3600 + mm * 60 + ss;
        let utc = i64::try_from(local).ok()?.checked_sub(offset_secs)?;
        Some(Timestamp::from_secs_nanos(u64::try_from(utc).ok()?, nanos))
    }
}

/// (year, month, day) to days since 1970-01-01, the inverse of [`civil_from_days`] (year
/// >= 1970).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, unsigned form since timestamps are never negative).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_eve_string())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_eve_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_suricata() {
        let t = Timestamp::from_secs_nanos(1_468_449_727, 388_078_000);
        assert_eq!(t.to_eve_string(), "2016-07-13T22:42:07.388078+0000");
        assert_eq!(
            Timestamp(0).to_eve_string(),
            "1970-01-01T00:00:00.000000+0000"
        );
        // Leap day.
        let t = Timestamp::from_secs_nanos(951_782_400, 0);
        assert_eq!(t.to_eve_string(), "2000-02-29T00:00:00.000000+0000");
    }

    #[test]
    fn parses_what_it_formats() {
        for secs in [
            0u64,
            951_782_400,
            1_468_449_727,
            4_102_444_800,
            1_764_900_000,
        ] {
            let t = Timestamp::from_secs_nanos(secs, 123_456_000);
            assert_eq!(Timestamp::parse_eve(&t.to_eve_string()), Some(t));
        }
        let t = Timestamp::parse_eve("2016-07-13T23:42:07.5+0100").unwrap();
        assert_eq!(t, Timestamp::from_secs_nanos(1_468_449_727, 500_000_000));
        assert_eq!(
            Timestamp::parse_eve("2016-07-13T22:42:07Z"),
            Some(Timestamp::from_secs_nanos(1_468_449_727, 0))
        );
        for bad in [
            "",
            "2016-13-01T00:00:00",
            "2016-07-13 22:42:07",
            "1969-12-31T23:59:59",
            "2016-07-13T22:42:07.+0000",
            "2016-07-13T22:42:07+01",
        ] {
            assert_eq!(Timestamp::parse_eve(bad), None, "{bad}");
        }
    }

    #[test]
    fn saturates() {
        let t = Timestamp::from_secs_nanos(u64::MAX, u64::MAX);
        assert_eq!(t.0, u64::MAX);
        let _ = t.to_eve_string();
    }
}
