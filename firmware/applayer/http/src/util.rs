//! Byte-level helpers with libhtp's exact character classes and number parsers.
//!
//! Every function here is total: it takes untrusted bytes and returns a value, never panics,
//! and never does unchecked arithmetic. Numbers saturate or fail instead of wrapping, except
//! `strtoul_u32`, which reproduces C's `strtoul` + `unsigned int` truncation on purpose
//! (Suricata prints the response status that way).

/// Line feed.
pub(crate) const LF: u8 = b'\n';
/// Carriage return.
pub(crate) const CR: u8 = b'\r';

/// C `isspace`: SP, HT, LF, VT, FF, CR (libhtp `htp_is_space`).
pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Linear whitespace: SP or HT (libhtp `htp_is_lws`).
pub(crate) fn is_lws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Header folding characters (libhtp `htp_is_folding_char`).
pub(crate) fn is_folding_char(c: u8) -> bool {
    is_lws(c)
}

/// RFC 2616 token character (libhtp `htp_is_token`).
pub(crate) fn is_token(c: u8) -> bool {
    if !(32..=126).contains(&c) {
        return false;
    }
    !matches!(
        c,
        b'(' | b')'
            | b'<'
            | b'>'
            | b'@'
            | b','
            | b';'
            | b':'
            | b'\\'
            | b'"'
            | b'/'
            | b'['
            | b']'
            | b'?'
            | b'='
            | b'{'
            | b'}'
            | b' '
            | b'\t'
    )
}

/// Strips trailing CR/LF bytes; returns the stripped line and how many bytes went
/// (libhtp `htp_chomp` removes every trailing CR and LF).
pub(crate) fn chomp(line: &[u8]) -> (&[u8], usize) {
    let mut len = line.len();
    while len > 0 && matches!(line.get(len - 1), Some(&CR) | Some(&LF)) {
        len -= 1;
    }
    (line.get(..len).unwrap_or(&[]), line.len() - len)
}

/// An empty line: `"\n"` or `"\r\n"` (libhtp `htp_is_line_empty`).
pub(crate) fn is_line_empty(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

/// libhtp `htp_connp_is_line_terminator` for the IDS personality. `next_no_lf`: a byte follows
/// the line in the current chunk and it is not LF.
pub(crate) fn is_line_terminator(line: &[u8], next_no_lf: bool) -> bool {
    if is_line_empty(line) {
        return true;
    }
    if line.len() == 2 && is_lws(line[0]) && line[1] == LF {
        return next_no_lf;
    }
    false
}

/// A line starting with SP/HT continues the previous header (libhtp `htp_connp_is_line_folded`).
pub(crate) fn is_line_folded(line: &[u8]) -> bool {
    line.first().is_some_and(|&c| is_folding_char(c))
}

/// ASCII-lowercases into a new vector.
pub(crate) fn lower(b: &[u8]) -> Vec<u8> {
    b.iter().map(u8::to_ascii_lowercase).collect()
}

/// Trims leading and trailing C-whitespace.
pub(crate) fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&c| !is_space(c)).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|&c| !is_space(c))
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or(&[])
}

/// Case-insensitive substring search.
pub(crate) fn find_nocase(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if hay.len() < needle.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| {
        hay.get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// Case-insensitive search that skips NUL bytes in the haystack (libhtp
/// `bstr_index_of_c_nocasenorzero`).
pub(crate) fn find_nocase_norzero(hay: &[u8], needle: &[u8]) -> bool {
    let filtered: Vec<u8> = hay.iter().copied().filter(|&c| c != 0).collect();
    find_nocase(&filtered, needle).is_some()
}

/// Case-insensitive equality that ignores NUL bytes in `a` (libhtp `bstr_cmp_c_nocasenorzero`).
pub(crate) fn eq_nocase_norzero(a: &[u8], b: &[u8]) -> bool {
    let filtered: Vec<u8> = a.iter().copied().filter(|&c| c != 0).collect();
    filtered.eq_ignore_ascii_case(b)
}

/// Parses a positive decimal integer surrounded by optional LWS (libhtp
/// `htp_parse_positive_integer_whitespace`). `None` on junk, emptiness or overflow.
pub(crate) fn parse_positive_integer_ws(b: &[u8]) -> Option<i64> {
    let t = trim_lws(b);
    if t.is_empty() {
        return None;
    }
    let mut r: i64 = 0;
    for &c in t {
        if !c.is_ascii_digit() {
            return None;
        }
        r = r.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(r)
}

fn trim_lws(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&c| !is_lws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !is_lws(c)).map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or(&[])
}

/// Outcome of parsing a Content-Length value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentLength {
    /// The length, or `None` when the value is not a number.
    pub(crate) value: Option<i64>,
    /// Junk before the digits (libhtp warns "C-L value with extra data in the beginning").
    pub(crate) junk_before: bool,
    /// Junk after the digits.
    pub(crate) junk_after: bool,
}

/// libhtp `htp_parse_content_length`: skips anything that is not a digit before the number
/// (warning if it is not LWS), reads digits, tolerates (and reports) trailing junk. Overflow is
/// an invalid value.
pub(crate) fn parse_content_length(b: &[u8]) -> ContentLength {
    let mut pos = 0usize;
    let mut junk_before = false;
    while let Some(&c) = b.get(pos) {
        if c.is_ascii_digit() {
            break;
        }
        if !is_lws(c) {
            junk_before = true;
        }
        pos += 1;
    }
    if pos >= b.len() {
        return ContentLength {
            value: None,
            junk_before,
            junk_after: false,
        };
    }
    let mut r: i64 = 0;
    let mut overflow = false;
    while let Some(&c) = b.get(pos) {
        if !c.is_ascii_digit() {
            break;
        }
        match r
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(c - b'0')))
        {
            Some(v) => r = v,
            None => overflow = true,
        }
        pos += 1;
    }
    let junk_after = b.get(pos..).is_some_and(|rest| !rest.is_empty());
    // Like libhtp, junk before the digits is only a warning: "-1" reads as 1.
    ContentLength {
        value: if overflow { None } else { Some(r) },
        junk_before,
        junk_after,
    }
}

/// Result of parsing a chunk-size line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkLen {
    /// A valid size.
    Len(u64),
    /// The line holds only whitespace (libhtp's -1004): skip it and read the next line.
    Empty,
    /// Not a chunk size.
    Invalid,
}

/// Maximum significant hex digits in a chunk size: 2^63 fits in 16 digits; libhtp rejects a
/// size that does not fit a signed 64-bit integer, and so do we.
pub const MAX_CHUNK_LEN_DIGITS: usize = 16;

/// libhtp `htp_parse_chunked_length`: leading whitespace is skipped, hex digits read, then
/// a chunk extension (`;...`) or trailing whitespace is allowed. Returns the size and whether
/// an extension was present.
pub(crate) fn parse_chunked_length(line: &[u8]) -> (ChunkLen, bool) {
    let mut pos = 0usize;
    // Skip leading whitespace (including CR/LF of an empty line).
    while line.get(pos).is_some_and(|&c| is_space(c)) {
        pos += 1;
    }
    if pos >= line.len() {
        return (ChunkLen::Empty, false);
    }
    let start = pos;
    let mut v: u64 = 0;
    let mut digits = 0usize;
    while let Some(&c) = line.get(pos) {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        if digits > 0 || d != 0 {
            digits += 1;
        }
        if digits > MAX_CHUNK_LEN_DIGITS {
            return (ChunkLen::Invalid, false);
        }
        v = (v << 4) | u64::from(d);
        pos += 1;
    }
    if pos == start {
        return (ChunkLen::Invalid, false);
    }
    if v > i64::MAX as u64 {
        return (ChunkLen::Invalid, false);
    }
    let mut ext = false;
    // What follows the digits: whitespace, then optionally ';' extension.
    while let Some(&c) = line.get(pos) {
        if is_space(c) {
            pos += 1;
            continue;
        }
        if c == b';' {
            ext = true;
            break;
        }
        return (ChunkLen::Invalid, false);
    }
    (ChunkLen::Len(v), ext)
}

/// HTTP protocol numbers as libhtp encodes them.
pub(crate) mod proto {
    /// Could not be parsed.
    pub(crate) const INVALID: i32 = -2;
    /// HTTP/0.9 (no protocol on the request line).
    pub(crate) const V0_9: i32 = 9;
    /// HTTP/1.0.
    pub(crate) const V1_0: i32 = 100;
    /// HTTP/1.1.
    pub(crate) const V1_1: i32 = 101;
}

/// libhtp `htp_parse_protocol`: strict `HTTP/1.0` / `HTTP/1.1` (trailing whitespace allowed).
pub(crate) fn parse_protocol(p: &[u8]) -> i32 {
    let t = trim(p);
    if t.len() == 8 && t.starts_with(b"HTTP/") && t[6] == b'.' {
        match (t[5], t[7]) {
            (b'1', b'0') => return proto::V1_0,
            (b'1', b'1') => return proto::V1_1,
            _ => {}
        }
    }
    proto::INVALID
}

/// libhtp `htp_parse_status`: a number in 100..=999 with optional LWS, else -1.
pub(crate) fn parse_status(s: &[u8]) -> i32 {
    match parse_positive_integer_ws(s) {
        Some(v) if (100..=999).contains(&v) => i32::try_from(v).unwrap_or(-1),
        _ => -1,
    }
}

/// C `strtoul(s, NULL, 10)` truncated to `unsigned int`, as Suricata's HTTP logger prints
/// `status`: leading whitespace, optional sign, digits; junk stops the number.
pub(crate) fn strtoul_u32(s: &[u8]) -> u32 {
    let mut pos = 0;
    while s.get(pos).is_some_and(|&c| is_space(c)) {
        pos += 1;
    }
    let mut neg = false;
    match s.get(pos) {
        Some(b'+') => pos += 1,
        Some(b'-') => {
            neg = true;
            pos += 1;
        }
        _ => {}
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    while let Some(&c) = s.get(pos) {
        if !c.is_ascii_digit() {
            break;
        }
        match v
            .checked_mul(10)
            .and_then(|x| x.checked_add(u64::from(c - b'0')))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
        pos += 1;
    }
    if overflow {
        v = u64::MAX;
    }
    let v = if neg { v.wrapping_neg() } else { v };
    // Truncation to `unsigned int` is the point here.
    (v & 0xffff_ffff) as u32
}

/// Request method numbers libhtp distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// Not one of the known methods.
    Unknown,
    /// HEAD.
    Head,
    /// GET.
    Get,
    /// PUT.
    Put,
    /// POST.
    Post,
    /// DELETE.
    Delete,
    /// CONNECT.
    Connect,
    /// OPTIONS.
    Options,
    /// TRACE.
    Trace,
    /// PATCH.
    Patch,
    /// Another method libhtp knows (WebDAV and friends).
    OtherKnown,
}

/// libhtp `htp_convert_method_to_number` (case-sensitive, like libhtp).
pub(crate) fn method_number(m: &[u8]) -> Method {
    match m {
        b"GET" => Method::Get,
        b"PUT" => Method::Put,
        b"POST" => Method::Post,
        b"DELETE" => Method::Delete,
        b"CONNECT" => Method::Connect,
        b"OPTIONS" => Method::Options,
        b"TRACE" => Method::Trace,
        b"PATCH" => Method::Patch,
        b"HEAD" => Method::Head,
        b"PROPFIND" | b"PROPPATCH" | b"MKCOL" | b"COPY" | b"MOVE" | b"LOCK" | b"UNLOCK"
        | b"VERSION-CONTROL" | b"CHECKOUT" | b"UNCHECKOUT" | b"CHECKIN" | b"UPDATE" | b"LABEL"
        | b"REPORT" | b"MKWORKSPACE" | b"MKACTIVITY" | b"BASELINE-CONTROL" | b"MERGE"
        | b"INVALID" => Method::OtherKnown,
        _ => Method::Unknown,
    }
}

/// libhtp `htp_treat_response_line_as_body`: a first response line that does not start with
/// `HTTP` (case-insensitive, after whitespace and NULs) is body data, as browsers do.
pub(crate) fn treat_response_line_as_body(line: &[u8]) -> bool {
    let mut pos = 0;
    while line.get(pos).is_some_and(|&c| is_space(c) || c == 0) {
        pos += 1;
    }
    match line.get(pos..pos.saturating_add(4)) {
        Some(w) if w.len() == 4 => !w.eq_ignore_ascii_case(b"http"),
        _ => true,
    }
}

/// Lowercase hex of a digest.
pub(crate) fn to_hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &c in b {
        s.push(char::from(D[usize::from(c >> 4)]));
        s.push(char::from(D[usize::from(c & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_lengths() {
        assert_eq!(parse_chunked_length(b"1a\r\n"), (ChunkLen::Len(26), false));
        assert_eq!(
            parse_chunked_length(b"  5;x=y\r\n"),
            (ChunkLen::Len(5), true)
        );
        assert_eq!(parse_chunked_length(b"\r\n"), (ChunkLen::Empty, false));
        assert_eq!(parse_chunked_length(b"zz\r\n").0, ChunkLen::Invalid);
        assert_eq!(parse_chunked_length(b"5 x\r\n").0, ChunkLen::Invalid);
        assert_eq!(
            parse_chunked_length(b"00000000000000000000005\r\n").0,
            ChunkLen::Len(5)
        );
        assert_eq!(
            parse_chunked_length(b"ffffffffffffffffff\r\n").0,
            ChunkLen::Invalid
        );
    }

    #[test]
    fn content_length() {
        assert_eq!(parse_content_length(b" 12 ").value, Some(12));
        assert!(parse_content_length(b"12abc").junk_after);
        assert_eq!(parse_content_length(b"abc").value, None);
        assert_eq!(parse_content_length(b"-1").value, Some(1));
        assert_eq!(parse_content_length(b"99999999999999999999999").value, None);
    }

    #[test]
    fn status_strtoul() {
        assert_eq!(strtoul_u32(b"200"), 200);
        assert_eq!(strtoul_u32(b"20x"), 20);
        assert_eq!(strtoul_u32(b"abc"), 0);
        assert_eq!(strtoul_u32(b"-1"), u32::MAX);
    }

    #[test]
    fn response_line_as_body() {
        assert!(!treat_response_line_as_body(b"HTTP/1.1 200 OK"));
        assert!(!treat_response_line_as_body(b" \0http/1.0"));
        assert!(treat_response_line_as_body(b"SSH-2.0"));
        assert!(treat_response_line_as_body(b"HT"));
    }
}
