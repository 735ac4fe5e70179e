//! Rule text layer: file bytes to logical rules, and a rule's option list to raw options.
//!
//! Suricata reads a rule file line by line: a line whose first byte is a blank, `#`, `\r` or
//! `\n` is skipped (so an indented rule is ignored, not an error); a line whose last non-space
//! byte is `\` continues on the next physical line, which replaces the backslash. The logical
//! rule keeps the line number of its first physical line. Options are separated by `;` that is
//! not directly preceded by `\`; quotes do not protect a `;` (Suricata does not track quotes
//! there either), so `content:"a;b"` is an error and `content:"a\;b"` is the way to write it.

use crate::caps::MAX_RULE_LEN;

/// One logical rule cut out of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalRule {
    /// 1-based line number of the rule's first physical line.
    pub line: u32,
    /// The joined rule text (at most `MAX_RULE_LEN` bytes are kept).
    pub text: Vec<u8>,
    /// Full length before truncation; larger than `MAX_RULE_LEN` means the rule is rejected.
    pub full_len: usize,
    /// The file ended in the middle of a continued rule.
    pub unterminated: bool,
    /// Last bytes of an over-long rule (to find its sid for the error report).
    pub tail: Vec<u8>,
}

/// Bytes of an over-long rule's end kept for error reports.
const TAIL_KEEP: usize = 512;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Push `bytes` onto `buf` without growing it past the cap; track the true length.
fn push_capped(buf: &mut Vec<u8>, tail: &mut Vec<u8>, full_len: &mut usize, bytes: &[u8]) {
    *full_len = full_len.saturating_add(bytes.len());
    let room = (MAX_RULE_LEN + 1).saturating_sub(buf.len());
    let take = bytes.len().min(room);
    buf.extend_from_slice(bytes.get(..take).unwrap_or(&[]));
    let rest = bytes.get(take..).unwrap_or(&[]);
    if !rest.is_empty() {
        let keep = rest
            .get(rest.len().saturating_sub(TAIL_KEEP)..)
            .unwrap_or(&[]);
        tail.extend_from_slice(keep);
        let excess = tail.len().saturating_sub(TAIL_KEEP);
        tail.drain(..excess);
    }
}

/// Split a rule file into logical rules, Suricata style.
pub(crate) fn logical_rules(data: &[u8]) -> Vec<LogicalRule> {
    let mut out = Vec::new();
    let mut pending: Option<(u32, Vec<u8>, usize, Vec<u8>)> = None;
    let mut lineno: u32 = 0;
    // A final "\n" ends the last line; it does not start an empty one (fgets semantics).
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    for phys in body.split(|&b| b == b'\n') {
        lineno = lineno.saturating_add(1);
        let (start, mut buf, mut full, mut tail) = match pending.take() {
            Some(p) => p,
            None => {
                match phys.first() {
                    None | Some(b'\r' | b' ' | b'#' | b'\t') => continue,
                    Some(_) => {}
                }
                (lineno, Vec::new(), 0usize, Vec::new())
            }
        };
        push_capped(&mut buf, &mut tail, &mut full, phys);
        // Continuation: last non-space byte is a backslash.
        let mut end = buf.len();
        while end > 0 && buf.get(end - 1).is_some_and(|&b| is_space(b)) {
            end -= 1;
        }
        if end > 0 && buf.get(end - 1) == Some(&b'\\') {
            // Drop the backslash (and whatever followed it) and keep reading.
            let dropped = buf.len() - (end - 1);
            buf.truncate(end - 1);
            full = full.saturating_sub(dropped);
            pending = Some((start, buf, full, tail));
            continue;
        }
        while buf.last().is_some_and(|&b| b == b'\r' || b == b'\n') {
            buf.pop();
            full = full.saturating_sub(1);
        }
        out.push(LogicalRule {
            line: start,
            text: buf,
            full_len: full,
            unterminated: false,
            tail,
        });
    }
    if let Some((start, buf, full, tail)) = pending {
        out.push(LogicalRule {
            line: start,
            text: buf,
            full_len: full,
            unterminated: true,
            tail,
        });
    }
    // A file that ends with "\n" yields a final empty physical line, which was skipped above.
    out
}

/// One `name[:value];` option as written, before keyword-specific processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawOption<'a> {
    /// Keyword name, trailing blanks removed (case preserved).
    pub name: &'a [u8],
    /// Value after the first `:`, trailing blanks removed; `None` when there was no `:`.
    pub value: Option<&'a [u8]>,
    /// Byte offset of the option in the options string.
    pub offset: usize,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_blank_end(mut s: &[u8]) -> &[u8] {
    while let Some((&last, rest)) = s.split_last() {
        if is_blank(last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

pub(crate) fn trim_blank_start(mut s: &[u8]) -> &[u8] {
    while let Some((&first, rest)) = s.split_first() {
        if is_blank(first) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Iterator over the options of a rule, Suricata's splitting rules.
pub(crate) struct Options<'a> {
    rest: &'a [u8],
    base: usize,
}

impl<'a> Options<'a> {
    pub(crate) fn new(opts: &'a [u8]) -> Self {
        Options {
            rest: opts,
            base: 0,
        }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<RawOption<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        let before = self.rest.len();
        self.rest = trim_blank_start(self.rest);
        self.base += before - self.rest.len();
        if self.rest.is_empty() {
            return None;
        }
        // Find a ';' not directly preceded by '\'.
        let mut end = None;
        for (i, &b) in self.rest.iter().enumerate() {
            if b == b';' && !(i > 0 && self.rest.get(i - 1) == Some(&b'\\')) {
                end = Some(i);
                break;
            }
        }
        let Some(end) = end else {
            self.rest = &[];
            return Some(Err("no terminating \";\" found"));
        };
        let opt = self.rest.get(..end).unwrap_or(&[]);
        let offset = self.base;
        self.rest = self.rest.get(end + 1..).unwrap_or(&[]);
        self.base += end + 1;
        let (name, value) = match opt.iter().position(|&b| b == b':') {
            Some(c) => (
                opt.get(..c).unwrap_or(&[]),
                Some(trim_blank_end(opt.get(c + 1..).unwrap_or(&[]))),
            ),
            None => (opt, None),
        };
        Some(Ok(RawOption {
            name: trim_blank_end(name),
            value,
            offset,
        }))
    }
}

/// The seven header fields and the option string of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderParts<'a> {
    pub action: &'a [u8],
    pub protocol: &'a [u8],
    pub src: &'a [u8],
    pub sp: &'a [u8],
    pub direction: &'a [u8],
    pub dst: &'a [u8],
    pub dp: &'a [u8],
    pub options: &'a [u8],
    /// Offset of `options` in the rule text.
    pub options_offset: usize,
}

/// Action and direction are plain tokens ending at any whitespace.
fn token<'a>(s: &'a [u8], pos: &mut Option<usize>) -> &'a [u8] {
    let Some(mut i) = *pos else { return &[] };
    while s.get(i).is_some_and(|&b| is_blank(b)) {
        i += 1;
    }
    let start = i;
    while s
        .get(i)
        .is_some_and(|&b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    let tok = s.get(start..i).unwrap_or(&[]);
    *pos = if i < s.len() { Some(i + 1) } else { None };
    tok
}

/// Protocol, addresses and ports are "lists": they end at a space outside `[...]`, and a list
/// that runs to the end of the rule means there are no options.
fn list<'a>(s: &'a [u8], pos: &mut Option<usize>) -> &'a [u8] {
    let Some(mut i) = *pos else { return &[] };
    while s.get(i).is_some_and(|&b| is_blank(b)) {
        i += 1;
    }
    let start = i;
    let mut depth: i64 = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b' ' if depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    if i >= s.len() {
        *pos = None;
        return &[];
    }
    let tok = s.get(start..i).unwrap_or(&[]);
    *pos = Some(i + 1);
    tok
}

/// Cut a rule into header fields and options, Suricata's tokenizer rules.
pub(crate) fn header_parts(s: &[u8]) -> Result<HeaderParts<'_>, &'static str> {
    let mut pos = Some(0usize);
    let action = token(s, &mut pos);
    let protocol = list(s, &mut pos);
    let src = list(s, &mut pos);
    let sp = list(s, &mut pos);
    let direction = token(s, &mut pos);
    let dst = list(s, &mut pos);
    let dp = list(s, &mut pos);
    let Some(mut start) = pos else {
        return Err("no rule options");
    };
    while s.get(start).is_some_and(|&b| is_space(b) || b == b'(') {
        start += 1;
    }
    let mut end = s.len();
    while end > start && s.get(end - 1).is_some_and(|&b| is_space(b) || b == b')') {
        end -= 1;
    }
    Ok(HeaderParts {
        action,
        protocol,
        src,
        sp,
        direction,
        dst,
        dp,
        options: s.get(start..end).unwrap_or(&[]),
        options_offset: start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_and_comments() {
        let f = b"# c\n\nalert a \\\n  b\n  indented\nalert x\r\nlast";
        let r = logical_rules(f);
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].line, 3);
        assert_eq!(r[0].text, b"alert a   b");
        assert_eq!(r[1].line, 6);
        assert_eq!(r[1].text, b"alert x");
        assert_eq!(r[2].text, b"last");
    }

    #[test]
    fn unterminated_continuation() {
        let r = logical_rules(b"alert a \\\n");
        assert_eq!(r.len(), 1);
        assert!(r[0].unterminated);
    }

    #[test]
    fn long_line_is_capped() {
        let mut f = b"alert ".to_vec();
        f.extend(std::iter::repeat_n(b'a', 1 << 20));
        let r = logical_rules(&f);
        assert_eq!(r.len(), 1);
        assert!(r[0].text.len() <= MAX_RULE_LEN + 1);
        assert_eq!(r[0].full_len, f.len());
    }

    #[test]
    fn options_split() {
        let o: Vec<_> = Options::new(br#"msg:"a\;b"; nocase; sid : 1 ;"#).collect();
        assert_eq!(o.len(), 3);
        let a = o[0].as_ref().unwrap();
        assert_eq!(a.name, b"msg");
        assert_eq!(a.value, Some(&br#""a\;b""#[..]));
        let b = o[1].as_ref().unwrap();
        assert_eq!(b.value, None);
        let c = o[2].as_ref().unwrap();
        assert_eq!(c.name, b"sid");
        assert_eq!(c.value, Some(&b" 1"[..]));
        let bad: Vec<_> = Options::new(b"sid:1").collect();
        assert!(bad[0].is_err());
    }

    #[test]
    fn header() {
        let h = header_parts(b"alert tcp [1.1.1.1, 2.2.2.2] any -> any any (msg:\"x\"; sid:1;)")
            .unwrap();
        assert_eq!(h.src, b"[1.1.1.1, 2.2.2.2]");
        assert_eq!(h.options, b"msg:\"x\"; sid:1;");
        assert!(header_parts(b"alert tcp any any -> any any").is_err());
    }
}
