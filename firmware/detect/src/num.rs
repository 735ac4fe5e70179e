//! Integer parsing with C `strtoumax`/`strtoimax` semantics, as Suricata's keyword parsers use.
//!
//! Suricata accepts leading blanks, a `+` sign, and for "base 0" parsers `0x` hex and leading-0
//! octal (`depth:0x10` is 16). Trailing characters are an error ("Extra characters following
//! numeric value"). A `-` on an unsigned parser wraps in C and is then out of range; we report
//! it as out of range directly.

/// Why a number failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    /// Not a number, or trailing characters.
    Invalid,
    /// A number, but outside the accepted range.
    Range,
}

/// Number base rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    /// Decimal only.
    Ten,
    /// C base 0: `0x` hex, leading `0` octal, else decimal.
    Auto,
}

/// Parse an unsigned integer in `[min, max]`.
pub(crate) fn parse_u64(s: &str, base: Base, min: u64, max: u64) -> Result<u64, NumError> {
    let (neg, mag) = parse_mag(s, base)?;
    if neg && mag != 0 {
        return Err(NumError::Range);
    }
    if mag < min || mag > max {
        return Err(NumError::Range);
    }
    Ok(mag)
}

/// Parse a signed integer in `[min, max]`.
pub(crate) fn parse_i64(s: &str, base: Base, min: i64, max: i64) -> Result<i64, NumError> {
    let (neg, mag) = parse_mag(s, base)?;
    let v: i64 = if neg {
        if mag > (i64::MAX as u64) + 1 {
            return Err(NumError::Range);
        }
        0i64.checked_sub_unsigned(mag).ok_or(NumError::Range)?
    } else {
        i64::try_from(mag).map_err(|_| NumError::Range)?
    };
    if v < min || v > max {
        return Err(NumError::Range);
    }
    Ok(v)
}

fn parse_mag(s: &str, base: Base) -> Result<(bool, u64), NumError> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'+') => (false, &t[1..]),
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = match base {
        Base::Ten => (10, t),
        Base::Auto => {
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                (16, h)
            } else if t.len() > 1 && t.starts_with('0') {
                (8, &t[1..])
            } else {
                (10, t)
            }
        }
    };
    if digits.is_empty() {
        return Err(NumError::Invalid);
    }
    let mut v: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix).ok_or(NumError::Invalid)?;
        v = v
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(NumError::Range)?;
    }
    Ok((neg, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_semantics() {
        assert_eq!(parse_u64("0x10", Base::Auto, 0, 65535), Ok(16));
        assert_eq!(parse_u64("010", Base::Auto, 0, 65535), Ok(8));
        assert_eq!(parse_u64("+10", Base::Auto, 0, 65535), Ok(10));
        assert_eq!(parse_u64(" 10", Base::Ten, 0, 65535), Ok(10));
        assert_eq!(
            parse_u64("10abc", Base::Auto, 0, 65535),
            Err(NumError::Invalid)
        );
        assert_eq!(parse_u64("-1", Base::Auto, 0, 65535), Err(NumError::Range));
        assert_eq!(
            parse_u64("65536", Base::Auto, 0, 65535),
            Err(NumError::Range)
        );
        assert_eq!(
            parse_u64("99999999999999999999999", Base::Ten, 0, u64::MAX),
            Err(NumError::Range)
        );
        assert_eq!(
            parse_i64(
                "-70000",
                Base::Auto,
                i64::from(i32::MIN),
                i64::from(i32::MAX)
            ),
            Ok(-70000)
        );
        assert_eq!(
            parse_i64("-9223372036854775808", Base::Ten, i64::MIN, i64::MAX),
            Ok(i64::MIN)
        );
        assert_eq!(parse_u64("", Base::Ten, 0, 10), Err(NumError::Invalid));
    }
}
