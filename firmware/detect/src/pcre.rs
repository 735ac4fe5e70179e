//! `pcre` and `pcrexform`: Suricata's `/pattern/flags` syntax, and compilation with PCRE2.
//!
//! Every expression is compiled at load time, so a bad regex fails the rule like in Suricata.
//! Compiled expressions carry Suricata's default limits as PCRE2 start-of-pattern options
//! (`(*LIMIT_MATCH=3500)(*LIMIT_DEPTH=1500)(*LIMIT_HEAP=...)`), so catastrophic patterns such
//! as `(a+)+$` are bounded at match time, with or without JIT. The rule text cap bounds the
//! pattern size and PCRE2's own compiled-size limit bounds compile cost.

use std::sync::Arc;

use crate::ast::{PcreCapture, PcreXform};
use crate::buffers::Buffer;
use crate::caps::{MAX_PCRE_CAPTURES, PCRE_DEPTH_LIMIT, PCRE_HEAP_LIMIT_KIB, PCRE_MATCH_LIMIT};
use crate::error::{rerr, show, Result};

/// A pcre value before it is attached to a buffer.
#[derive(Debug)]
pub(crate) struct ParsedPcre {
    pub pattern: String,
    pub flags: String,
    pub relative: bool,
    pub caseless: bool,
    pub dotall: bool,
    pub multiline: bool,
    pub extended: bool,
    pub anchored: bool,
    pub dollar_endonly: bool,
    pub ungreedy: bool,
    pub match_limit_override: bool,
    pub rawbytes: bool,
    /// Buffer chosen by a legacy HTTP flag (`U`, `H`, ...) and the flag.
    pub buffer: Option<(Buffer, char)>,
    pub captures: Vec<PcreCapture>,
}

fn flag_buffer(c: char) -> Option<Buffer> {
    Some(match c {
        'U' => Buffer::HttpUri,
        'I' => Buffer::HttpUriRaw,
        'H' => Buffer::HttpHeader,
        'D' => Buffer::HttpHeaderRaw,
        'M' => Buffer::HttpMethod,
        'C' => Buffer::HttpCookie,
        'P' => Buffer::HttpRequestBody,
        'Q' => Buffer::HttpResponseBody,
        'S' => Buffer::HttpStatCode,
        'Y' => Buffer::HttpStatMsg,
        'V' => Buffer::HttpUserAgent,
        'W' => Buffer::HttpHost,
        'Z' => Buffer::HttpHostRaw,
        _ => return None,
    })
}

/// Parse `[m]/pattern/flags[, scope:name,...]` (quotes and `!` already removed).
pub(crate) fn parse(v: &[u8]) -> Result<ParsedPcre> {
    let kw = "pcre";
    let t = crate::text::trim_blank_start(v);
    let t = match t {
        [b'm', b'/', ..] => t.get(1..).unwrap_or(&[]),
        _ => t,
    };
    let bad = || rerr!(kw, "pcre parse error: \"{}\"", show(v));
    let body = t.strip_prefix(b"/").ok_or_else(bad)?;
    let end = body.iter().rposition(|&b| b == b'/').ok_or_else(bad)?;
    let pat = body.get(..end).unwrap_or(&[]);
    let rest = body.get(end + 1..).unwrap_or(&[]);
    let (flags, caps) = match rest.iter().position(|&b| b == b',') {
        Some(i) => (
            rest.get(..i).unwrap_or(&[]),
            Some(rest.get(i + 1..).unwrap_or(&[])),
        ),
        None => (rest, None),
    };
    let mut p = ParsedPcre {
        pattern: pattern_text(pat),
        flags: String::from_utf8_lossy(flags).into_owned(),
        relative: false,
        caseless: false,
        dotall: false,
        multiline: false,
        extended: false,
        anchored: false,
        dollar_endonly: false,
        ungreedy: false,
        match_limit_override: false,
        rawbytes: false,
        buffer: None,
        captures: Vec::new(),
    };
    for &f in flags {
        let c = f as char;
        match c {
            'i' => p.caseless = true,
            's' => p.dotall = true,
            'm' => p.multiline = true,
            'x' => p.extended = true,
            'A' => p.anchored = true,
            'E' => p.dollar_endonly = true,
            'G' => p.ungreedy = true,
            'R' => p.relative = true,
            'O' => p.match_limit_override = true,
            'B' => p.rawbytes = true,
            _ => match flag_buffer(c) {
                Some(b) => {
                    if p.buffer.is_some() {
                        return Err(rerr!(
                            kw,
                            "only one pcre option to specify a buffer type is allowed"
                        ));
                    }
                    p.buffer = Some((b, c));
                }
                None => {
                    return Err(rerr!(kw, "unknown regex modifier '{}'", show(&[f])));
                }
            },
        }
    }
    if let Some(caps) = caps {
        for item in caps.split(|&b| b == b',') {
            let item = String::from_utf8_lossy(item);
            let item = item.trim();
            let (scope, name) = item
                .split_once(':')
                .ok_or_else(|| rerr!(kw, "invalid capture \"{}\"", show(item.as_bytes())))?;
            if !matches!(scope, "pkt" | "flow" | "alert") || name.is_empty() {
                return Err(rerr!(kw, "invalid capture \"{}\"", show(item.as_bytes())));
            }
            p.captures.push(PcreCapture {
                scope: scope.to_string(),
                name: name.to_string(),
            });
        }
    }
    // Named groups `(?P<pkt_x>` / `(?<flow_x>` are capture variables too.
    for prefix in ["(?P<", "(?<"] {
        let mut rest = p.pattern.as_str();
        while let Some(i) = rest.find(prefix) {
            rest = rest.get(i + prefix.len()..).unwrap_or("");
            let name: String = rest.chars().take_while(|c| *c != '>').collect();
            for scope in ["pkt", "flow", "alert"] {
                if let Some(n) = name.strip_prefix(scope).and_then(|n| n.strip_prefix('_')) {
                    p.captures.push(PcreCapture {
                        scope: scope.to_string(),
                        name: n.to_string(),
                    });
                }
            }
        }
    }
    if p.captures.len() > MAX_PCRE_CAPTURES {
        return Err(rerr!(
            kw,
            "more than {MAX_PCRE_CAPTURES} capture variables (cap MAX_PCRE_CAPTURES)"
        ));
    }
    Ok(p)
}

/// Pattern bytes as a `&str` PCRE2 accepts: non-UTF-8 bytes become `\x{HH}` escapes (the
/// pattern is compiled without UTF mode, so each matches that byte).
fn pattern_text(pat: &[u8]) -> String {
    match std::str::from_utf8(pat) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(pat.len() + 8);
            for &b in pat {
                if b.is_ascii() {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("\\x{{{b:02x}}}"));
                }
            }
            out
        }
    }
}

/// Length of the leading `(*VERB)` start-of-pattern options of `pat`.
fn leading_verbs(pat: &str) -> usize {
    let mut i = 0usize;
    while pat.get(i..).is_some_and(|r| r.starts_with("(*")) {
        match pat.get(i..).and_then(|r| r.find(')')) {
            Some(close) => i += close + 1,
            None => break,
        }
    }
    i
}

/// Compile with Suricata's limits. `ungreedy` is applied with `(?U)` after any leading
/// start-of-pattern verbs.
pub(crate) fn compile(
    kw: &str,
    pattern: &str,
    caseless: bool,
    dotall: bool,
    multiline: bool,
    extended: bool,
    ungreedy: bool,
) -> Result<pcre2::bytes::Regex> {
    let limits =
        format!("(*LIMIT_MATCH={PCRE_MATCH_LIMIT})(*LIMIT_DEPTH={PCRE_DEPTH_LIMIT})(*LIMIT_HEAP={PCRE_HEAP_LIMIT_KIB})");
    let mut full = String::with_capacity(limits.len() + pattern.len() + 4);
    full.push_str(&limits);
    let v = leading_verbs(pattern);
    full.push_str(pattern.get(..v).unwrap_or(""));
    if ungreedy {
        full.push_str("(?U)");
    }
    full.push_str(pattern.get(v..).unwrap_or(""));
    let prefix_len = full.len() - pattern.len();
    pcre2::bytes::RegexBuilder::new()
        .caseless(caseless)
        .dotall(dotall)
        .multi_line(multiline)
        .extended(extended)
        .jit_if_available(true)
        .build(&full)
        .map_err(|e| {
            let msg = e.to_string();
            let reason = msg
                .rsplit_once(": ")
                .map(|(_, r)| r.to_string())
                .unwrap_or(msg);
            match e.offset() {
                Some(off) => rerr!(
                    kw,
                    "pcre2 compile of \"{}\" failed at offset {}: {}",
                    show(pattern.as_bytes()),
                    off.saturating_sub(prefix_len),
                    reason
                ),
                None => rerr!(
                    kw,
                    "pcre2 compile of \"{}\" failed: {}",
                    show(pattern.as_bytes()),
                    reason
                ),
            }
        })
}

/// `pcrexform:"expr"`: exactly one capture group.
pub(crate) fn xform(v: &[u8]) -> Result<PcreXform> {
    let pattern = pattern_text(v);
    let re = compile("pcrexform", &pattern, false, false, false, false, false)?;
    let groups = re.captures_len().saturating_sub(1);
    if groups != 1 {
        return Err(rerr!(
            "pcrexform",
            "needs exactly one substring capture, found {groups}"
        ));
    }
    Ok(PcreXform {
        pattern,
        regex: Arc::new(re),
    })
}

/// True when `pattern` has an upper-case letter that is not part of an escape (Suricata's
/// check for `W` (http.host) expressions without `i`).
pub(crate) fn has_unescaped_upper(pattern: &str) -> bool {
    let mut esc = false;
    for c in pattern.chars() {
        if esc {
            esc = false;
            continue;
        }
        if c == '\\' {
            esc = true;
        } else if c.is_ascii_uppercase() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let p = parse(b"/a/b/i").unwrap();
        assert_eq!(p.pattern, "a/b");
        assert!(p.caseless);
        assert!(parse(b"abc").is_err());
        assert!(parse(b"/").is_err());
        assert!(parse(b"/a/z").is_err());
        assert!(parse(b"/a/UH").is_err());
        assert!(parse(b"/a/i ").is_err());
        assert_eq!(parse(b"m/abc/").unwrap().pattern, "abc");
        let c = parse(b"/(a)(b)/, pkt:foo,flow:bar").unwrap();
        assert_eq!(c.captures.len(), 2);
        assert_eq!(parse(b"/(?P<flow_x>a)/").unwrap().captures[0].name, "x");
    }

    #[test]
    fn compile_errors_and_limits() {
        assert!(compile("pcre", "a(b", false, false, false, false, false).is_err());
        let e = compile("pcre", "a(b", false, false, false, false, false).unwrap_err();
        assert!(e.reason.contains("offset 3"), "{e}");
        // Catastrophic backtracking is bounded by the match limit: an error, not a hang.
        let re = compile("pcre", "(a+)+$", false, false, false, false, false).unwrap();
        let mut subject = vec![b'a'; 64];
        subject.push(b'!');
        let t = std::time::Instant::now();
        let r = re.is_match(&subject);
        assert!(!matches!(r, Ok(true)));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        let g = compile("pcre", "(*UTF)a+", false, false, false, false, true).unwrap();
        assert_eq!(g.find(b"aaa").unwrap().map(|m| m.end()), Some(1));
    }

    #[test]
    fn xform_groups() {
        assert!(xform(b"a(b)").is_ok());
        assert!(xform(b"ab").is_err());
    }
}
