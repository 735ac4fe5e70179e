//! Buffer transforms (`to_lowercase`, `url_decode`, `to_sha256`, `pcrexform`, ...), applied in
//! rule order to a copy of the buffer before any match runs, with Suricata 7's semantics.
//!
//! Invariant: no transform grows its input by more than one byte (`dotprefix`); hashes shrink
//! it to 16/20/32 bytes. Output is bounded by [`MAX_TRANSFORM_BUFFER`]: a longer input is
//! truncated first (counted by the caller).

use md5::Digest as _;

use crate::ast::Transform;
use crate::caps::MAX_TRANSFORM_BUFFER;

/// C `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `url_decode`: `%XX` with two hex digits becomes the byte, `+` becomes a space, anything
/// else (including a `%` without two hex digits) is copied.
fn url_decode(input: &[u8], out: &mut Vec<u8>) {
    let mut i = 0usize;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            let hi = input.get(i + 1).copied().and_then(hex_val);
            let lo = input.get(i + 2).copied().and_then(hex_val);
            if let (Some(h), Some(l)) = (hi, lo) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            out.push(b);
        } else if b == b'+' {
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
}

/// `compress_whitespace`: a run of whitespace keeps its first byte.
fn compress_ws(input: &[u8], out: &mut Vec<u8>) {
    let mut prev_space = false;
    for &b in input {
        let sp = is_space(b);
        if !(sp && prev_space) {
            out.push(b);
        }
        prev_space = sp;
    }
}

/// `header_lowercase`: header names (up to the first `:` of each line) lower-cased.
fn header_lowercase(input: &[u8], out: &mut Vec<u8>) {
    let mut in_name = true;
    for &b in input {
        if b == b'\n' {
            in_name = true;
            out.push(b);
        } else if in_name {
            if b == b':' {
                in_name = false;
            }
            out.push(b.to_ascii_lowercase());
        } else {
            out.push(b);
        }
    }
}

/// `strip_pseudo_headers`: drop lines starting with `:` (HTTP/2 pseudo headers).
fn strip_pseudo(input: &[u8], out: &mut Vec<u8>) {
    for line in input.split_inclusive(|&b| b == b'\n') {
        if line.first() != Some(&b':') {
            out.extend_from_slice(line);
        }
    }
}

/// Apply one transform: `buf` is replaced by the output. `tmp` is scratch reused between
/// calls. Returns false when a pcrexform hit its match limit (counted by the caller).
pub(crate) fn apply(t: &Transform, buf: &mut Vec<u8>, tmp: &mut Vec<u8>) -> bool {
    tmp.clear();
    let mut ok = true;
    match t {
        Transform::DotPrefix => {
            tmp.push(b'.');
            tmp.extend_from_slice(buf);
        }
        Transform::ToLowercase => {
            buf.make_ascii_lowercase();
            return true;
        }
        Transform::ToUppercase => {
            buf.make_ascii_uppercase();
            return true;
        }
        Transform::StripWhitespace => {
            buf.retain(|&b| !is_space(b));
            return true;
        }
        Transform::CompressWhitespace => compress_ws(buf, tmp),
        Transform::UrlDecode => url_decode(buf, tmp),
        Transform::ToMd5 => tmp.extend_from_slice(&md5::Md5::digest(buf.as_slice())),
        Transform::ToSha1 => tmp.extend_from_slice(&sha1::Sha1::digest(buf.as_slice())),
        Transform::ToSha256 => tmp.extend_from_slice(&sha2::Sha256::digest(buf.as_slice())),
        Transform::HeaderLowercase => header_lowercase(buf, tmp),
        Transform::StripPseudoHeaders => strip_pseudo(buf, tmp),
        Transform::Xor(key) => {
            if key.is_empty() {
                return true;
            }
            for (b, k) in buf.iter_mut().zip(key.iter().cycle()) {
                *b ^= k;
            }
            return true;
        }
        Transform::PcreXform(x) => {
            // Suricata: on a match the buffer becomes the first capture group; otherwise it
            // is left as it was.
            match x.regex.captures(buf) {
                Ok(Some(caps)) => match caps.get(1) {
                    Some(m) => tmp.extend_from_slice(m.as_bytes()),
                    None => return true,
                },
                Ok(None) => return true,
                Err(_) => {
                    ok = false;
                    return ok;
                }
            }
        }
        #[allow(unreachable_patterns)]
        _ => return true,
    }
    std::mem::swap(buf, tmp);
    ok
}

/// Apply a chain of transforms to `input`, writing the result to `out`. Input longer than
/// [`MAX_TRANSFORM_BUFFER`] is truncated (returns `(ok, truncated)`).
pub(crate) fn apply_all(
    ts: &[Transform],
    input: &[u8],
    out: &mut Vec<u8>,
    tmp: &mut Vec<u8>,
) -> (bool, bool) {
    out.clear();
    let truncated = input.len() > MAX_TRANSFORM_BUFFER;
    out.extend_from_slice(input.get(..MAX_TRANSFORM_BUFFER).unwrap_or(input));
    let mut ok = true;
    for t in ts {
        ok &= apply(t, out, tmp);
    }
    (ok, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: Transform, input: &[u8]) -> Vec<u8> {
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        apply_all(&[t], input, &mut out, &mut tmp);
        out
    }

    #[test]
    fn url_decode_keeps_invalid_escapes() {
        assert_eq!(run(Transform::UrlDecode, b"a%41+b%4g%"), b"aA b%4g%");
    }

    #[test]
    fn compress_whitespace_keeps_first_of_run() {
        assert_eq!(
            run(Transform::CompressWhitespace, b"a \t\r\nb  c"),
            b"a b c"
        );
        assert_eq!(run(Transform::CompressWhitespace, b"a\t\tb"), b"a\tb");
    }

    #[test]
    fn strip_whitespace_removes_all() {
        assert_eq!(run(Transform::StripWhitespace, b" a\tb\r\n c\x0b"), b"abc");
    }

    #[test]
    fn dotprefix_and_case() {
        assert_eq!(run(Transform::DotPrefix, b"ex.com"), b".ex.com");
        assert_eq!(run(Transform::ToLowercase, b"AbC"), b"abc");
        assert_eq!(run(Transform::ToUppercase, b"AbC"), b"ABC");
    }

    #[test]
    fn hashes_are_raw_digests() {
        let md5 = run(Transform::ToMd5, b"abc");
        assert_eq!(md5.len(), 16);
        assert_eq!(md5.first(), Some(&0x90));
        assert_eq!(run(Transform::ToSha1, b"abc").len(), 20);
        let sha = run(Transform::ToSha256, b"abc");
        assert_eq!(sha.get(..2), Some(&[0xba, 0x78][..]));
    }

    #[test]
    fn xor_cycles_key() {
        assert_eq!(
            run(Transform::Xor(vec![0x01, 0x02]), &[0x41, 0x41, 0x41]),
            vec![0x40, 0x43, 0x40]
        );
    }

    #[test]
    fn header_lowercase_names_only() {
        assert_eq!(
            run(Transform::HeaderLowercase, b"Host: ABC\r\nX-Y: Z\r\n"),
            b"host: ABC\r\nx-y: Z\r\n"
        );
    }

    #[test]
    fn strip_pseudo_headers_drops_colon_lines() {
        assert_eq!(
            run(
                Transform::StripPseudoHeaders,
                b":method: GET\r\nhost: a\r\n"
            ),
            b"host: a\r\n"
        );
    }
}
