//! Request-URI and Host parsing, and the path normalisation libhtp applies with the IDS
//! personality (what Suricata uses to name files and to build the normalised `http.uri`).
//!
//! All of it follows libhtp 0.5's behaviour, including its oddities: anything that does not
//! start with `/` and contains a `:` has a "scheme" (so `index.php?a=b:c` has the path `c`),
//! and an authority is only looked for after a scheme.

use crate::util::{is_space, lower, parse_positive_integer_ws};

/// The parts of a request URI, as sent (not decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedUri {
    /// Scheme (before the first `:`), when the URI does not start with `/`.
    pub scheme: Option<Vec<u8>>,
    /// User name from the authority.
    pub username: Option<Vec<u8>>,
    /// Password from the authority.
    pub password: Option<Vec<u8>>,
    /// Host from the authority.
    pub hostname: Option<Vec<u8>>,
    /// Port string from the authority.
    pub port: Option<Vec<u8>>,
    /// Path (up to `?` or `#`); present whenever the URI is non-empty.
    pub path: Option<Vec<u8>>,
    /// Query string (after `?`).
    pub query: Option<Vec<u8>>,
    /// Fragment (after `#`).
    pub fragment: Option<Vec<u8>>,
}

/// libhtp `htp_parse_uri`.
pub(crate) fn parse_uri(data: &[u8]) -> ParsedUri {
    let mut u = ParsedUri::default();
    if data.is_empty() {
        return u;
    }
    let len = data.len();
    let mut pos = 0usize;
    if data[0] != b'/' {
        if let Some(colon) = memchr::memchr(b':', data) {
            u.scheme = Some(data[..colon].to_vec());
            pos = colon + 1;
        }
    }
    if u.scheme.is_some()
        && pos + 2 < len
        && data[pos] == b'/'
        && data[pos + 1] == b'/'
        && data[pos + 2] != b'/'
    {
        let start = pos + 2;
        pos = start;
        while pos < len && !matches!(data[pos], b'?' | b'/' | b'#') {
            pos += 1;
        }
        let auth = &data[start..pos];
        let host_part = match memchr::memchr(b'@', auth) {
            Some(at) => {
                let cred = &auth[..at];
                match memchr::memchr(b':', cred) {
                    Some(c) => {
                        u.username = Some(cred[..c].to_vec());
                        u.password = Some(cred[c + 1..].to_vec());
                    }
                    None => u.username = Some(cred.to_vec()),
                }
                &auth[at + 1..]
            }
            None => auth,
        };
        let (host, port) = split_host_port(host_part);
        u.hostname = Some(host.to_vec());
        u.port = port.map(<[u8]>::to_vec);
    }
    let start = pos;
    while pos < len && data[pos] != b'?' && data[pos] != b'#' {
        pos += 1;
    }
    u.path = Some(data[start..pos].to_vec());
    if pos == len {
        return u;
    }
    if data[pos] == b'?' {
        let qs = pos + 1;
        while pos < len && data[pos] != b'#' {
            pos += 1;
        }
        u.query = Some(data[qs..pos].to_vec());
        if pos == len {
            return u;
        }
    }
    if data[pos] == b'#' {
        u.fragment = Some(data[pos + 1..].to_vec());
    }
    u
}

/// Splits `host[:port]`, understanding `[v6]:port`.
fn split_host_port(hp: &[u8]) -> (&[u8], Option<&[u8]>) {
    if hp.first() == Some(&b'[') {
        if let Some(end) = memchr::memchr(b']', hp) {
            let host = &hp[..=end];
            let rest = &hp[end + 1..];
            if rest.first() == Some(&b':') {
                return (host, Some(&rest[1..]));
            }
            return (host, None);
        }
    }
    match memchr::memrchr(b':', hp) {
        Some(c) => (&hp[..c], Some(&hp[c + 1..])),
        None => (hp, None),
    }
}

/// libhtp `htp_parse_port`: `Some(port)` for 1..=65535, `None` (invalid) otherwise.
pub(crate) fn parse_port(b: &[u8]) -> Option<u16> {
    match parse_positive_integer_ws(b) {
        Some(p) if (1..65536).contains(&p) => u16::try_from(p).ok(),
        _ => None,
    }
}

/// Host header parse result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// Host name as libhtp keeps it (see [`parse_header_hostport`]), when present.
    pub(crate) hostname: Option<Vec<u8>>,
    /// Port number, -1 when absent or invalid.
    pub(crate) port: i32,
    /// The header was malformed (`HTP_HOSTH_INVALID`).
    pub(crate) invalid: bool,
}

/// libhtp `htp_parse_header_hostport` (Host header value).
pub(crate) fn parse_header_hostport(v: &[u8]) -> HostPort {
    let mut r = HostPort {
        hostname: None,
        port: -1,
        invalid: false,
    };
    let data = crate::util::trim(v);
    if data.is_empty() {
        r.invalid = true;
        return r;
    }
    if data[0] == b'[' {
        let Some(end) = memchr::memchr(b']', data) else {
            r.invalid = true;
            return r;
        };
        r.hostname = Some(data[..=end].to_vec());
        let rest = &data[end + 1..];
        if !rest.is_empty() {
            if rest[0] == b':' {
                parse_port_into(&rest[1..], &mut r);
            } else {
                r.invalid = true;
            }
        }
    } else {
        match memchr::memchr(b':', data) {
            // libhtp lowercases a bare host name, and only that: with a port, or in brackets,
            // the name is kept as sent; trailing dots are never removed here (Suricata 7.0.10
            // logs `Host: Example.COM.:80` as `Example.COM.`).
            None => r.hostname = Some(data.to_ascii_lowercase()),
            Some(c) => {
                let mut hend = c;
                while hend > 0 && is_space(data[hend - 1]) {
                    hend -= 1;
                }
                r.hostname = Some(data[..hend].to_vec());
                parse_port_into(&data[c + 1..], &mut r);
            }
        }
    }
    if let Some(h) = r.hostname.as_ref() {
        if !validate_hostname(h) {
            r.invalid = true;
        }
    }
    r
}

fn parse_port_into(b: &[u8], r: &mut HostPort) {
    match parse_port(b) {
        Some(p) => r.port = i32::from(p),
        None => {
            r.port = -1;
            r.invalid = true;
        }
    }
}

/// libhtp `htp_normalize_hostname_inplace`: lowercase, drop trailing dots.
pub(crate) fn normalize_hostname(h: &mut Vec<u8>) {
    h.make_ascii_lowercase();
    while h.last() == Some(&b'.') {
        h.pop();
    }
}

/// libhtp `htp_validate_hostname`: labels of `[A-Za-z0-9_-]`, 1..=63 long, single dots,
/// at most 255 bytes; `[...]` must be an IPv6 literal.
pub(crate) fn validate_hostname(h: &[u8]) -> bool {
    if h.is_empty() || h.len() > 255 {
        return false;
    }
    if h[0] == b'[' {
        if h.len() < 2 || h[h.len() - 1] != b']' {
            return false;
        }
        return std::str::from_utf8(&h[1..h.len() - 1])
            .ok()
            .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok())
            .is_some();
    }
    let mut pos = 0usize;
    while pos < h.len() {
        let start = pos;
        while pos < h.len() && h[pos] != b'.' {
            let c = h[pos];
            if !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
                return false;
            }
            pos += 1;
        }
        let l = pos - start;
        if l == 0 || l > 63 {
            return false;
        }
        if pos >= h.len() {
            return true;
        }
        let dots = pos;
        while pos < h.len() && h[pos] == b'.' {
            pos += 1;
        }
        if pos - dots != 1 {
            return false;
        }
    }
    true
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex2(a: u8, b: u8) -> Option<u8> {
    Some((hexval(a)? << 4) | hexval(b)?)
}

/// Normalised URI parts (libhtp `htp_normalize_parsed_uri`) plus the port checks that set
/// `HTP_HOSTU_INVALID`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NormalizedUri {
    pub(crate) hostname: Option<Vec<u8>>,
    pub(crate) port_number: i32,
    pub(crate) path: Option<Vec<u8>>,
    pub(crate) query: Option<Vec<u8>>,
    pub(crate) fragment: Option<Vec<u8>>,
    pub(crate) host_invalid: bool,
}

/// libhtp `htp_normalize_parsed_uri` with the IDS personality and Suricata's settings.
pub(crate) fn normalize(u: &ParsedUri) -> NormalizedUri {
    let mut n = NormalizedUri {
        port_number: -1,
        ..Default::default()
    };
    if let Some(h) = &u.hostname {
        let mut h = urldecode_simple(h);
        normalize_hostname(&mut h);
        n.hostname = Some(h);
    }
    if let Some(p) = &u.port {
        match parse_positive_integer_ws(p) {
            Some(v) if (1..65536).contains(&v) => n.port_number = i32::try_from(v).unwrap_or(-1),
            _ => {
                n.port_number = -1;
                n.host_invalid = true;
            }
        }
    }
    if let Some(p) = &u.path {
        let mut p = decode_path(p);
        p = utf8_bestfit(&p);
        n.path = Some(remove_dot_segments(&p));
    }
    // Suricata decodes the query once (%XX only; invalid escapes and `%u` stay, `+` stays):
    // checked against Suricata 7.0.10's `http.uri`.
    n.query = u.query.as_deref().map(urldecode_simple);
    if let Some(f) = &u.fragment {
        n.fragment = Some(urldecode_simple(f));
    }
    n
}

/// libhtp's `double_decode_normalized_path` / `_query` (Suricata `double-decode-path` /
/// `double-decode-query`): the normalised path (query) is decoded once more when asked to.
/// True when a second decoding would change the path or the query, which is reported as
/// `DOUBLE_ENCODED_URI` whatever the options (Suricata 7.0.10 raises the event for
/// `/evil%2527sqli` with both options off: suricata-verify `http-double-encoded-uri`).
pub(crate) fn double_decode(n: &mut NormalizedUri, path: bool, query: bool) -> bool {
    let mut changed = false;
    if let Some(p) = n.path.as_mut() {
        let d = decode_path(p);
        if d.len() < p.len() {
            changed = true;
        }
        if path {
            *p = d;
        }
    }
    if let Some(q) = n.query.as_mut() {
        let d = urldecode_simple(q);
        if d.len() < q.len() {
            changed = true;
        }
        if query {
            *q = d;
        }
    }
    changed
}

/// %-decoding where invalid escapes stay as they are.
fn urldecode_simple(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(&x), Some(&y)) = (b.get(i + 1), b.get(i + 2)) {
                if let Some(v) = hex2(x, y) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// libhtp `htp_decode_path_inplace` for the IDS personality: `%hh` and `%uHHHH` decoding
/// (invalid escapes preserved, as Suricata configures), backslashes become slashes and runs of
/// slashes collapse.
fn decode_path(b: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let mut c = b[i];
        let mut adv = 1;
        if c == b'%' {
            if matches!(b.get(i + 1), Some(b'u') | Some(b'U')) {
                let q = b.get(i + 2..i + 6);
                if let Some(q) = q.filter(|q| q.len() == 4) {
                    if let (Some(hi), Some(lo)) = (hex2(q[0], q[1]), hex2(q[2], q[3])) {
                        c = match hi {
                            0 => lo,
                            0xff if lo <= 0x5e => lo.wrapping_add(0x20),
                            _ => b'?',
                        };
                        adv = 6;
                    }
                }
            } else if let (Some(&x), Some(&y)) = (b.get(i + 1), b.get(i + 2)) {
                if let Some(v) = hex2(x, y) {
                    c = v;
                    adv = 3;
                }
            }
        }
        if c == b'\\' {
            c = b'/';
        }
        if c == b'/' && out.last() == Some(&b'/') {
            // path separators compress
        } else {
            out.push(c);
        }
        i += adv;
    }
    out
}

/// libhtp's UTF-8 path decoding with best-fit conversion (`utf8_convert_bestfit`, on in the
/// IDS personality): every well-formed sequence (overlong forms accepted, surrogates and code
/// points past U+10FFFF refused) becomes one byte, its code point when below 0x100, else the
/// replacement byte `?` (libhtp's Windows-1252 best-fit table is not reproduced: such
/// characters are rare in paths and only change file names). A byte that cannot continue the
/// current sequence emits `?`; it is consumed when it was the lead byte, and otherwise starts
/// the next sequence. A sequence cut short by the end of the path is dropped. Suricata names
/// files with the result: `/a%FCb` gives `/a?b`, `/x%E2%82` gives `/x`.
fn utf8_bestfit(b: &[u8]) -> Vec<u8> {
    if b.is_ascii() {
        return b.to_vec();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let lead = b[i];
        // (sequence length, allowed range of the second byte)
        let (n, lo, hi) = match lead {
            0x00..=0x7f => {
                out.push(lead);
                i += 1;
                continue;
            }
            0xc0..=0xdf => (2, 0x80, 0xbf),
            0xed => (3, 0x80, 0x9f),
            0xe0..=0xef => (3, 0x80, 0xbf),
            0xf0..=0xf3 => (4, 0x80, 0xbf),
            0xf4 => (4, 0x80, 0x8f),
            _ => {
                // A continuation byte or 0xf5..: invalid as a lead byte.
                out.push(b'?');
                i += 1;
                continue;
            }
        };
        let mut cp = u32::from(lead) & (0xff >> (n + 1));
        let mut k = 1;
        let mut bad = false;
        while k < n {
            let Some(&c) = b.get(i + k) else {
                // Cut short by the end of the path: dropped.
                return out;
            };
            let ok = if k == 1 {
                (lo..=hi).contains(&c)
            } else {
                (0x80..=0xbf).contains(&c)
            };
            if !ok {
                bad = true;
                break;
            }
            cp = (cp << 6) | (u32::from(c) & 0x3f);
            k += 1;
        }
        if bad {
            // The offending byte starts the next sequence.
            out.push(b'?');
            i += k;
            continue;
        }
        out.push(u8::try_from(cp).unwrap_or(b'?'));
        i += n;
    }
    out
}

/// RFC 3986 5.2.4 `remove_dot_segments` (libhtp `htp_normalize_uri_path_inplace`).
pub(crate) fn remove_dot_segments(p: &[u8]) -> Vec<u8> {
    let mut input: &[u8] = p;
    let mut out: Vec<u8> = Vec::with_capacity(p.len());
    while !input.is_empty() {
        if input.starts_with(b"../") {
            input = &input[3..];
        } else if input.starts_with(b"./") || input.starts_with(b"/./") {
            input = &input[2..];
        } else if input == b"/." {
            input = b"/";
        } else if input.starts_with(b"/../") || input == b"/.." {
            input = if input.len() == 3 { b"/" } else { &input[3..] };
            // remove last segment from out
            match memchr::memrchr(b'/', &out) {
                Some(i) => out.truncate(i),
                None => out.clear(),
            }
        } else if input == b"." || input == b".." {
            input = &[];
        } else {
            let start = usize::from(input.first() == Some(&b'/'));
            let end = memchr::memchr(b'/', &input[start..]).map_or(input.len(), |e| e + start);
            out.extend_from_slice(&input[..end]);
            input = &input[end..];
        }
    }
    out
}

/// Suricata's `HTTPParseContentDispositionHeader(name, value)`: finds a `;`-separated token
/// starting with `name` (case-insensitive) and returns its value without surrounding quotes.
pub(crate) fn content_disposition_param<'a>(value: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let skip = value.iter().position(|&c| !is_space(c))?;
    let line = &value[skip..];
    let mut quote = 0usize;
    let mut offset = 0usize;
    let mut x = 1usize;
    while x < line.len() {
        if line[x - 1] != b'\\' && line[x] == b'"' {
            quote += 1;
        }
        let at_end = x + 1 == line.len();
        if ((line[x - 1] != b'\\' && line[x] == b';') || at_end) && quote.is_multiple_of(2) {
            let mut tlen = x.saturating_sub(offset);
            if at_end {
                tlen += 1;
            }
            let token = line.get(offset..offset + tlen).unwrap_or(&[]);
            offset = x + 1;
            while offset < line.len() && is_space(line[offset]) {
                x += 1;
                offset += 1;
            }
            if token.len() > name.len() && lower(&token[..name.len()]) == lower(name) {
                let mut v = &token[name.len()..];
                if v.first() == Some(&b'"') {
                    v = &v[1..];
                }
                if v.last() == Some(&b'"') {
                    v = &v[..v.len() - 1];
                }
                return Some(v);
            }
        }
        x += 1;
    }
    None
}

/// A parsed `Content-Range: bytes a-b/c` header (Suricata `HTPParseContentRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) size: i64,
}

/// Parses `bytes start-end/size` (`*` allowed for the range or the size).
pub(crate) fn parse_content_range(v: &[u8]) -> Option<ContentRange> {
    let v = crate::util::trim(v);
    let rest = v.strip_prefix(b"bytes ")?;
    let mut cr = ContentRange {
        start: -1,
        end: -1,
        size: -1,
    };
    let (range, size) = match memchr::memchr(b'/', rest) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => return None,
    };
    if range != b"*" {
        let dash = memchr::memchr(b'-', range)?;
        cr.start = parse_dec(&range[..dash])?;
        cr.end = parse_dec(&range[dash + 1..])?;
    }
    if size != b"*" {
        cr.size = parse_dec(size)?;
    }
    Some(cr)
}

fn parse_dec(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut r: i64 = 0;
    for &c in b {
        r = r.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parts() {
        let u = parse_uri(b"http://User:pw@Example.COM:8080/a/b?x=1#f");
        assert_eq!(u.hostname.as_deref(), Some(&b"Example.COM"[..]));
        assert_eq!(u.port.as_deref(), Some(&b"8080"[..]));
        assert_eq!(u.path.as_deref(), Some(&b"/a/b"[..]));
        assert_eq!(u.query.as_deref(), Some(&b"x=1"[..]));
        let n = normalize(&u);
        assert_eq!(n.hostname.as_deref(), Some(&b"example.com"[..]));
        assert_eq!(n.port_number, 8080);
        let u = parse_uri(b"index.php?a=b:c");
        assert_eq!(u.path.as_deref(), Some(&b"c"[..]));
        assert_eq!(parse_uri(b"*").path.as_deref(), Some(&b"*"[..]));
    }

    #[test]
    fn path_normalisation() {
        let n = normalize(&parse_uri(b"/a//b/../c/./d%20e\\f"));
        assert_eq!(n.path.as_deref(), Some(&b"/a/c/d e/f"[..]));
        let n = normalize(&parse_uri(b"/%zz%u0041"));
        assert_eq!(n.path.as_deref(), Some(&b"/%zzA"[..]));
    }

    /// UTF-8 in paths, as Suricata 7.0.10 names the files (checked against it).
    #[test]
    fn path_utf8_bestfit() {
        let p = |u: &[u8]| normalize(&parse_uri(u)).path.unwrap_or_default();
        assert_eq!(p(b"/a%FCb"), b"/a?b");
        assert_eq!(p(b"/a%C3%A9b"), b"/a\xe9b");
        assert_eq!(p(b"/x%E2%82"), b"/x");
        assert_eq!(p(b"/a%01b%7Fc"), b"/a\x01b\x7fc");
        // overlong forms decode, a bad continuation restarts at that byte
        assert_eq!(p(b"/%C1%81"), b"/A");
        assert_eq!(p(b"/%C3A"), b"/?A");
        assert_eq!(p(b"/%E2%82%AC"), b"/?");
    }

    #[test]
    fn path_double_decode() {
        let mut n = normalize(&parse_uri(b"/evil%2527sqli?a=%252541"));
        assert_eq!(n.path.as_deref(), Some(&b"/evil%27sqli"[..]));
        // The normalised query is decoded once already (as Suricata's `http.uri` shows).
        assert_eq!(n.query.as_deref(), Some(&b"a=%2541"[..]));
        assert!(double_decode(&mut n, true, true));
        assert_eq!(n.path.as_deref(), Some(&b"/evil'sqli"[..]));
        assert_eq!(n.query.as_deref(), Some(&b"a=%41"[..]));
        let mut n = normalize(&parse_uri(b"/plain"));
        assert!(!double_decode(&mut n, true, true));
    }

    #[test]
    fn host_header() {
        // Checked against Suricata 7.0.10: only a bare name is lowercased, dots stay.
        let h = parse_header_hostport(b" WWW.Example.com.:80 ");
        assert_eq!(h.hostname.as_deref(), Some(&b"WWW.Example.com."[..]));
        assert_eq!(h.port, 80);
        assert!(!h.invalid);
        let h = parse_header_hostport(b" WWW.Example.com. ");
        assert_eq!(h.hostname.as_deref(), Some(&b"www.example.com."[..]));
        let h = parse_header_hostport(b"[FE80::1]:8080");
        assert_eq!(h.hostname.as_deref(), Some(&b"[FE80::1]"[..]));
        assert_eq!(h.port, 8080);
        let h = parse_header_hostport(b"a:b");
        assert!(h.invalid);
        assert_eq!(h.port, -1);
        assert!(validate_hostname(b"[::1]"));
        assert!(!validate_hostname(b"a..b"));
    }

    #[test]
    fn disposition() {
        assert_eq!(
            content_disposition_param(b"attachment; filename=\"a b.txt\"", b"filename="),
            Some(&b"a b.txt"[..])
        );
        assert_eq!(
            content_disposition_param(b"form-data; name=\"f\"; FILENAME=x.bin", b"filename="),
            Some(&b"x.bin"[..])
        );
    }

    #[test]
    fn content_range() {
        let r = parse_content_range(b"bytes 0-99/1000");
        assert_eq!(
            r,
            Some(ContentRange {
                start: 0,
                end: 99,
                size: 1000
            })
        );
        assert!(parse_content_range(b"bytes 0-x/1").is_none());
        assert_eq!(
            parse_content_range(b"bytes */1000").map(|r| r.size),
            Some(1000)
        );
    }
}
