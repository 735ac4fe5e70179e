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
    fn saturates() {
        let t = Timestamp::from_secs_nanos(u64::MAX, u64::MAX);
        assert_eq!(t.0, u64::MAX);
        let _ = t.to_eve_string();
    }
}
