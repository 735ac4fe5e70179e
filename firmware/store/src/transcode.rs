//! EVE JSON to CBOR in one pass, collecting the event's tokens and its time on the way.
//!
//! The archive stores CBOR; building a `serde_json::Value` only to serialise it again would
//! cost most of the ingest time, so this is a small strict JSON parser (RFC 8259: no trailing
//! commas, no comments, no control characters in strings, valid UTF-8, surrogate pairs
//! checked) that writes CBOR as it reads: objects and arrays as indefinite-length maps and
//! arrays, integers as CBOR integers, other numbers as float64. Tokens follow
//! [`crate::tokens`]: an exists token per key path, a value token per string (folded) and
//! boolean. Bounded: nesting deeper than [`MAX_DEPTH`] is an error.

use std::borrow::Cow;

use crate::tokens::{exists_token, fold, value_token, MAX_TOKEN_DEPTH, MAX_TOKEN_VALUE};

/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// Why a line is not an archivable event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson {
    /// Byte offset of the problem.
    pub at: usize,
    /// What.
    pub what: &'static str,
}

struct P<'a, 'o> {
    b: &'a [u8],
    i: usize,
    out: &'o mut Vec<u8>,
    tokens: &'o mut Vec<u64>,
    path: String,
    ts: Option<&'a [u8]>,
}

/// Writes a CBOR head: `major` type with argument `n`, shortest form.
pub fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

impl<'a> P<'a, '_> {
    fn err<T>(&self, what: &'static str) -> Result<T, NotJson> {
        Err(NotJson { at: self.i, what })
    }

    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), NotJson> {
        if depth > MAX_DEPTH {
            return self.err("nested too deep");
        }
        self.ws();
        let tok = depth <= MAX_TOKEN_DEPTH;
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                self.out.push(0xbf);
                self.ws();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        if self.b.get(self.i) != Some(&b'"') {
                            return self.err("expected a key");
                        }
                        let key = self.string()?;
                        cbor_head(self.out, 3, key.len() as u64);
                        self.out.extend_from_slice(key.as_bytes());
                        let len = self.path.len();
                        if !self.path.is_empty() {
                            self.path.push('.');
                        }
                        self.path.push_str(&key);
                        if tok {
                            self.tokens.push(exists_token(&self.path));
                        }
                        self.ws();
                        if !self.eat(b':') {
                            return self.err("expected `:`");
                        }
                        let is_ts = depth == 0 && key == "timestamp";
                        let start = self.i;
                        self.value(depth + 1)?;
                        if is_ts {
                            self.ts = Some(&self.b[start..self.i]);
                        }
                        self.path.truncate(len);
                        self.ws();
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b'}') {
                            break;
                        }
                        return self.err("expected `,` or `}`");
                    }
                }
                self.out.push(0xff);
            }
            Some(b'[') => {
                self.i += 1;
                self.out.push(0x9f);
                self.ws();
                if !self.eat(b']') {
                    loop {
                        self.value(depth + 1)?;
                        self.ws();
                        if self.eat(b',') {
                            continue;
                        }
                        if self.eat(b']') {
                            break;
                        }
                        return self.err("expected `,` or `]`");
                    }
                }
                self.out.push(0xff);
            }
            Some(b'"') => {
                let s = self.string()?;
                cbor_head(self.out, 3, s.len() as u64);
                self.out.extend_from_slice(s.as_bytes());
                if tok {
                    let t = if s.len() <= MAX_TOKEN_VALUE
                        && !s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80)
                    {
                        value_token(&self.path, &s)
                    } else {
                        value_token(&self.path, &fold(&s))
                    };
                    self.tokens.push(t);
                }
            }
            Some(b't') => self.literal(b"true", 0xf5, tok)?,
            Some(b'f') => self.literal(b"false", 0xf4, tok)?,
            Some(b'n') => self.literal(b"null", 0xf6, false)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return self.err("expected a value"),
        }
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8], code: u8, tok: bool) -> Result<(), NotJson> {
        if !self.b[self.i..].starts_with(word) {
            return self.err("bad literal");
        }
        self.i += word.len();
        self.out.push(code);
        if tok {
            let w = if code == 0xf5 { "true" } else { "false" };
            self.tokens.push(value_token(&self.path, w));
        }
        Ok(())
    }

    fn number(&mut self) -> Result<(), NotJson> {
        let start = self.i;
        self.eat(b'-');
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - s
        };
        let int_start = self.i;
        if digits(self) == 0 {
            return self.err("bad number");
        }
        if self.b[int_start] == b'0' && self.i - int_start > 1 {
            return self.err("leading zero");
        }
        let mut float = false;
        if self.eat(b'.') {
            float = true;
            if digits(self) == 0 {
                return self.err("bad fraction");
            }
        }
        if self.b.get(self.i).is_some_and(|c| *c == b'e' || *c == b'E') {
            float = true;
            self.i += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if digits(self) == 0 {
                return self.err("bad exponent");
            }
        }
        // Digits, signs, dots and exponents are ASCII.
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("0");
        if !float {
            if let Some(neg) = text.strip_prefix('-') {
                if let Ok(n) = neg.parse::<u64>() {
                    if n >= 1 && n - 1 <= i64::MAX as u64 {
                        cbor_head(self.out, 1, n - 1);
                        return Ok(());
                    }
                }
            } else if let Ok(n) = text.parse::<u64>() {
                cbor_head(self.out, 0, n);
                return Ok(());
            }
        }
        let f: f64 = text.parse().unwrap_or(0.0);
        if !f.is_finite() {
            return self.err("number out of range");
        }
        self.out.push(0xfb);
        self.out.extend_from_slice(&f.to_bits().to_be_bytes());
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, NotJson> {
        let Some(h) = self.b.get(self.i..self.i + 4) else {
            return self.err("short \\u escape");
        };
        let mut v = 0u32;
        for c in h {
            let d = (*c as char).to_digit(16);
            let Some(d) = d else {
                return self.err("bad \\u escape");
            };
            v = v << 4 | d;
        }
        self.i += 4;
        Ok(v)
    }

    /// A string at `"`; returns it unescaped (borrowed from the input when it has no escapes).
    fn string(&mut self) -> Result<Cow<'a, str>, NotJson> {
        self.i += 1;
        let start = self.i;
        let mut high = false;
        // Fast scan: up to the closing quote or the first escape.
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return self.err("unterminated string");
            };
            match c {
                b'"' => {
                    let seg = &self.b[start..self.i];
                    self.i += 1;
                    return if high {
                        std::str::from_utf8(seg)
                            .map(Cow::Borrowed)
                            .map_err(|_| NotJson {
                                at: start,
                                what: "invalid UTF-8",
                            })
                    } else {
                        // ASCII only: valid UTF-8 as it is.
                        Ok(Cow::Borrowed(std::str::from_utf8(seg).unwrap_or_default()))
                    };
                }
                b'\\' => break,
                0..=0x1f => return self.err("control character in string"),
                0x80.. => {
                    high = true;
                    self.i += 1;
                }
                _ => self.i += 1,
            }
        }
        let mut s = String::new();
        let mut run = start;
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return self.err("unterminated string");
            };
            match c {
                b'"' => {
                    let seg = std::str::from_utf8(&self.b[run..self.i]).map_err(|_| NotJson {
                        at: run,
                        what: "invalid UTF-8",
                    })?;
                    s.push_str(seg);
                    self.i += 1;
                    return Ok(Cow::Owned(s));
                }
                b'\\' => {
                    let seg = std::str::from_utf8(&self.b[run..self.i]).map_err(|_| NotJson {
                        at: run,
                        what: "invalid UTF-8",
                    })?;
                    s.push_str(seg);
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return self.err("unterminated escape");
                    };
                    self.i += 1;
                    match e {
                        b'"' => s.push('"'),
                        b'\\' => s.push('\\'),
                        b'/' => s.push('/'),
                        b'b' => s.push('\u{8}'),
                        b'f' => s.push('\u{c}'),
                        b'n' => s.push('\n'),
                        b'r' => s.push('\r'),
                        b't' => s.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xd800..0xdc00).contains(&hi) {
                                if !(self.eat(b'\\') && self.eat(b'u')) {
                                    return self.err("lone surrogate");
                                }
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return self.err("bad surrogate pair");
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else if (0xdc00..0xe000).contains(&hi) {
                                return self.err("lone surrogate");
                            } else {
                                hi
                            };
                            let Some(ch) = char::from_u32(cp) else {
                                return self.err("bad code point");
                            };
                            s.push(ch);
                        }
                        _ => return self.err("bad escape"),
                    }
                    run = self.i;
                }
                0..=0x1f => return self.err("control character in string"),
                _ => self.i += 1,
            }
        }
    }
}

/// Transcodes the JSON object `json` into CBOR appended to `out` and its tokens appended to
/// `tokens`; returns the raw JSON of its top-level `timestamp` value, if any. On error `out`
/// and `tokens` are left as they were.
pub fn json_to_cbor<'a>(
    json: &'a [u8],
    out: &mut Vec<u8>,
    tokens: &mut Vec<u64>,
) -> Result<Option<&'a [u8]>, NotJson> {
    let (o_len, t_len) = (out.len(), tokens.len());
    let mut p = P {
        b: json,
        i: 0,
        out,
        tokens,
        path: String::with_capacity(64),
        ts: None,
    };
    p.ws();
    let r = if p.b.get(p.i) != Some(&b'{') {
        p.err("not an object")
    } else {
        p.value(0).and_then(|()| {
            p.ws();
            if p.i != p.b.len() {
                p.err("trailing bytes")
            } else {
                Ok(())
            }
        })
    };
    let ts = p.ts;
    drop(p);
    match r {
        Ok(()) => Ok(ts),
        Err(e) => {
            out.truncate(o_len);
            tokens.truncate(t_len);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{event_tokens, TokenSet};
    use serde_json::Value;

    fn round(j: &str) -> Value {
        let mut out = Vec::new();
        let mut toks = Vec::new();
        json_to_cbor(j.as_bytes(), &mut out, &mut toks).unwrap();
        ciborium::from_reader(out.as_slice()).unwrap()
    }

    #[test]
    fn round_trips_like_serde_json() {
        for j in [
            r#"{"timestamp":"2025-01-01T00:00:00.000000+0000","a":1,"b":-2,"c":1.5,"d":[1,"x",{"e":null}],"f":true,"g":false}"#,
            r#"{"s":"q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 \u0000","big":18446744073709551615,"neg":-9223372036854775808,"e":1e3,"z":-0}"#,
            r#" { "nested" : { "x" : [ [ ] , { } ] } } "#,
        ] {
            let want: Value = serde_json::from_str(j).unwrap();
            assert_eq!(round(j), want, "{j}");
        }
    }

    #[test]
    fn tokens_cover_what_value_walking_finds_for_strings_and_keys() {
        let j = r#"{"event_type":"HTTP","http":{"status":200,"hostname":"Ex.COM","h":[{"name":"X"}]},"ok":true}"#;
        let mut out = Vec::new();
        let mut toks = Vec::new();
        let ts = json_to_cbor(j.as_bytes(), &mut out, &mut toks).unwrap();
        assert!(ts.is_none());
        let mut walked = TokenSet::default();
        event_tokens(&serde_json::from_str(j).unwrap(), &mut walked);
        // Every token the transcoder emits is one the walk emits (numbers' value tokens are
        // never asked for by queries, so the transcoder leaves them out).
        for t in &toks {
            assert!(walked.contains(t));
        }
        assert!(toks.contains(&value_token("http.hostname", "ex.com")));
        assert!(toks.contains(&value_token("ok", "true")));
        assert!(toks.contains(&exists_token("http.h.name")));
        assert!(toks.contains(&exists_token("http.status")));
    }

    #[test]
    fn rejects_what_is_not_json_and_leaves_output_untouched() {
        for bad in [
            "",
            "[1]",
            "{",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":01}",
            "{\"a\":\"\x01\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":1} x",
            "{\"a\":nul}",
            "{\"a\":1e999}",
            "{\"a\":\"\\x\"}",
            "{'a':1}",
        ] {
            let mut out = vec![7];
            let mut toks = vec![9];
            assert!(
                json_to_cbor(bad.as_bytes(), &mut out, &mut toks).is_err(),
                "{bad:?}"
            );
            assert_eq!((out, toks), (vec![7], vec![9]));
        }
        let deep = "{\"a\":".repeat(100) + "1" + &"}".repeat(100);
        assert!(json_to_cbor(deep.as_bytes(), &mut Vec::new(), &mut Vec::new()).is_err());
        assert!(json_to_cbor(b"{\"a\":\"\xff\"}", &mut Vec::new(), &mut Vec::new()).is_err());
    }
}
