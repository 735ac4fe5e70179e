//! Per-buffer inspection: the ordered items of one buffer program (content, pcre, byte_*,
//! isdataat, bsize, base64_decode, datasets) matched against one buffer, with Suricata 7's
//! relative-chain semantics and backtracking.
//!
//! The matcher is a recursion over the items. Each item sees the *cursor* left by the
//! previous match (the end of the last content/pcre, or the position after a byte read).
//! When an item fails and the previous content or pcre is followed by a relative item, the
//! matcher looks for that content's next occurrence and tries again, as Suricata does; an
//! absolute item that fails stops the whole inspection ("discontinue"). Every call counts
//! against the inspection recursion limit ([`INSPECTION_RECURSION_LIMIT`] by default): when
//! it runs out the buffer does not match, so hostile data cannot make backtracking quadratic
//! without bound.
//!
//! Bounds: every position is computed in `i64` and checked against the buffer before use;
//! nothing indexes unchecked, nothing panics on any buffer or rule value.
//!
//! [`INSPECTION_RECURSION_LIMIT`]: crate::caps::INSPECTION_RECURSION_LIMIT

use crate::ast::{ByteOp, Endian, MathOp, NumBase, NumCheck};
use crate::caps::MAX_BASE64_DECODED;
use crate::engine::compile::{ByteRead, CBlock, CContent, CEntry, CItem, CPcre, CVal};
use crate::engine::dataset::Store;

/// Counters of caps hit while inspecting.
#[derive(Debug, Default, Clone, Copy)]
pub struct InspectStats {
    /// Buffer inspections stopped by the recursion limit.
    pub recursion_limit: u64,
    /// pcre matches that hit PCRE2's match/depth/heap limit (treated as no match).
    pub pcre_limit: u64,
    /// base64_decode outputs truncated at the decoded-size cap.
    pub base64_truncated: u64,
}

/// State of one rule evaluation shared by its buffer inspections.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    /// byte_extract/byte_math variables of the rule.
    pub vars: &'a mut [u64],
    pub limit: u32,
    pub calls: u32,
    pub discontinue: bool,
    pub datasets: &'a Store,
    pub b64: Option<&'a CBlock>,
    pub b64_buf: &'a mut Vec<u8>,
    pub stats: &'a mut InspectStats,
    /// End offset of the last content/pcre on the successful path (stream dedup).
    pub match_end: usize,
    /// When non-zero, a match must end after this offset (stream windows that re-include
    /// inspected bytes): a match ending at or before it is rejected and the matcher keeps
    /// looking for later occurrences.
    pub min_end: usize,
}

/// `NumCheck` evaluation (Suricata's uint semantics: `N<>M` and `N-M` are exclusive ranges).
pub(crate) fn num_check(c: &NumCheck, v: u64) -> bool {
    match *c {
        NumCheck::Eq(n) => v == n,
        NumCheck::Ne(n) => v != n,
        NumCheck::Lt(n) => v < n,
        NumCheck::Le(n) => v <= n,
        NumCheck::Gt(n) => v > n,
        NumCheck::Ge(n) => v >= n,
        NumCheck::Between(a, b) => v > a && v < b,
        NumCheck::Range(a, b) => v >= a && v <= b,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

fn val(v: CVal, vars: &[u64]) -> i64 {
    match v {
        CVal::Lit(n) => n,
        CVal::Var(i) => vars
            .get(usize::from(i))
            .map(|&x| i64::from_ne_bytes(x.to_ne_bytes()))
            .unwrap_or(0),
    }
}

/// Case-insensitive (ASCII) search of lower-cased `needle` in `hay`.
fn find_nocase(hay: &[u8], needle_lower: &[u8]) -> Option<usize> {
    let (&first, rest) = needle_lower.split_first()?;
    if hay.len() < needle_lower.len() {
        return None;
    }
    let last_start = hay.len() - needle_lower.len();
    let upper = first.to_ascii_uppercase();
    let mut from = 0usize;
    while from <= last_start {
        let window = hay.get(from..=last_start)?;
        let i = if upper == first {
            memchr::memchr(first, window)?
        } else {
            memchr::memchr2(first, upper, window)?
        };
        let s = from + i;
        let tail = hay.get(s + 1..s + needle_lower.len())?;
        if tail
            .iter()
            .zip(rest.iter())
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
        {
            return Some(s);
        }
        from = s + 1;
    }
    None
}

fn content_at(cd: &CContent, hay: &[u8], at: usize) -> bool {
    let n = cd.pat.len();
    match hay.get(at..at.saturating_add(n)) {
        Some(w) if cd.nocase => w.eq_ignore_ascii_case(&cd.pat),
        Some(w) => w == cd.pat.as_slice(),
        None => false,
    }
}

fn search(cd: &CContent, hay: &[u8]) -> Option<usize> {
    if cd.nocase {
        find_nocase(hay, &cd.lower)
    } else {
        cd.finder.find(hay)
    }
}

/// strtoull-like parse of at most `n` bytes of `data` in `base`: leading blanks and a sign
/// allowed, `0x` accepted for hex, stops at the first non-digit. Returns the value and the
/// bytes consumed; `None` when no digit was read or the value overflows.
fn parse_string_number(data: &[u8], base: NumBase) -> Option<(u64, usize)> {
    let radix: u32 = match base {
        NumBase::Dec => 10,
        NumBase::Hex => 16,
        NumBase::Oct => 8,
        #[allow(unreachable_patterns)]
        _ => 10,
    };
    let mut i = 0usize;
    while data
        .get(i)
        .is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
    {
        i += 1;
    }
    let mut neg = false;
    match data.get(i) {
        Some(b'-') => {
            neg = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    if radix == 16
        && data.get(i) == Some(&b'0')
        && matches!(data.get(i + 1), Some(b'x' | b'X'))
        && data.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
    }
    let start = i;
    let mut v: u64 = 0;
    while let Some(d) = data.get(i).and_then(|&b| (b as char).to_digit(radix)) {
        v = v.checked_mul(u64::from(radix))?.checked_add(u64::from(d))?;
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((if neg { v.wrapping_neg() } else { v }, i))
}

/// Read a number for byte_*: returns (value, position of the read, bytes consumed).
fn byte_read(r: &ByteRead, buf: &[u8], cursor: usize, vars: &[u64]) -> Option<(u64, i64, i64)> {
    let nbytes = val(r.nbytes, vars);
    let max = if r.string.is_some() { 23 } else { 8 };
    if !(1..=max).contains(&nbytes) {
        return None;
    }
    let len = i64::try_from(buf.len()).ok()?;
    let base = if r.relative {
        i64::try_from(cursor).ok()?
    } else {
        0
    };
    let pos = base.checked_add(val(r.offset, vars))?;
    if pos < 0 || pos.checked_add(nbytes)? > len {
        return None;
    }
    let p = usize::try_from(pos).ok()?;
    let n = usize::try_from(nbytes).ok()?;
    let data = buf.get(p..p.checked_add(n)?)?;
    match r.string {
        Some(b) => {
            let (v, used) = parse_string_number(data, b)?;
            Some((v, pos, i64::try_from(used).ok()?))
        }
        None => {
            let mut v: u64 = 0;
            let little = matches!(r.endian, Endian::Little | Endian::Dce);
            if little {
                for &b in data.iter().rev() {
                    v = v << 8 | u64::from(b);
                }
            } else {
                for &b in data {
                    v = v << 8 | u64::from(b);
                }
            }
            Some((v, pos, nbytes))
        }
    }
}

fn apply_bitmask(v: u64, mask: Option<u32>) -> u64 {
    match mask {
        Some(m) if m != 0 => {
            let m = u64::from(m);
            let v = v & m;
            v >> m.trailing_zeros()
        }
        _ => v,
    }
}

/// Decode base64 like Suricata 7's RFC 4648 mode for `base64_decode`: characters of the
/// standard alphabet are decoded four at a time; `=` ends the current group (its bytes are
/// kept) and decoding continues after it; a trailing group of 2-3 characters yields its whole
/// bytes; the first character outside the alphabet stops decoding.
pub(crate) fn base64_decode_into(src: &[u8], out: &mut Vec<u8>, cap: usize) -> bool {
    let mut quad = [0u8; 4];
    let mut k = 0usize;
    let flush = |quad: &[u8; 4], k: usize, out: &mut Vec<u8>| {
        let (a, b, c, d) = (quad[0], quad[1], quad[2], quad[3]);
        let bytes = [a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d];
        let n = match k {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
    };
    for &ch in src {
        if out.len() >= cap {
            out.truncate(cap);
            return true;
        }
        let v = match ch {
            b'A'..=b'Z' => ch - b'A',
            b'a'..=b'z' => ch - b'a' + 26,
            b'0'..=b'9' => ch - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                flush(&quad, k, out);
                quad = [0; 4];
                k = 0;
                continue;
            }
            _ => break,
        };
        if let Some(slot) = quad.get_mut(k) {
            *slot = v;
        }
        k += 1;
        if k == 4 {
            flush(&quad, 4, out);
            quad = [0; 4];
            k = 0;
        }
    }
    flush(&quad, k, out);
    let truncated = out.len() > cap;
    out.truncate(cap);
    truncated
}

/// Strict base64 (dataset files): every character must be in the alphabet or padding.
pub(crate) fn base64_decode_strict(src: &[u8]) -> Option<Vec<u8>> {
    if src
        .iter()
        .any(|&c| !(c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'='))
    {
        return None;
    }
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    base64_decode_into(src, &mut out, crate::caps::MAX_DATASET_VALUE_LEN);
    Some(out)
}

/// Standard base64 with padding (dataset files).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let idx = [
            b[0] >> 2,
            (b[0] & 3) << 4 | b[1] >> 4,
            (b[1] & 15) << 2 | b[2] >> 6,
            b[2] & 63,
        ];
        for (i, &x) in idx.iter().enumerate() {
            if i <= chunk.len() {
                s.push(char::from(A.get(usize::from(x)).copied().unwrap_or(b'A')));
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Inspect `buf` with a buffer program. Returns true on a match.
pub(crate) fn inspect(items: &[CEntry], buf: &[u8], ctx: &mut Ctx<'_>) -> bool {
    ctx.calls = 0;
    ctx.discontinue = false;
    ctx.match_end = 0;
    rec(items, 0, buf, 0, 0, ctx) == 1
}

const MATCH: i8 = 1;
const NO_MATCH: i8 = 0;
const DISCONTINUE: i8 = -1;

/// Continue with the next item, or report the final match.
fn next(
    items: &[CEntry],
    i: usize,
    buf: &[u8],
    cursor: usize,
    end: usize,
    ctx: &mut Ctx<'_>,
) -> i8 {
    if i + 1 >= items.len() {
        if ctx.min_end > 0 && end != 0 && end <= ctx.min_end {
            return NO_MATCH;
        }
        ctx.match_end = end;
        return MATCH;
    }
    rec(items, i + 1, buf, cursor, end, ctx)
}

fn rec(items: &[CEntry], i: usize, buf: &[u8], cursor: usize, end: usize, ctx: &mut Ctx<'_>) -> i8 {
    ctx.calls = ctx.calls.saturating_add(1);
    if ctx.calls > ctx.limit {
        if ctx.calls == ctx.limit.saturating_add(1) {
            ctx.stats.recursion_limit += 1;
        }
        ctx.discontinue = true;
        return DISCONTINUE;
    }
    let Some(entry) = items.get(i) else {
        ctx.match_end = end;
        return MATCH;
    };
    let len = buf.len();
    match &entry.item {
        CItem::Content(cd) => content(items, i, entry, cd, buf, cursor, end, ctx),
        CItem::Pcre(pe) => pcre(items, i, entry, pe, buf, cursor, end, ctx),
        CItem::ByteTest {
            read,
            negated,
            op,
            value,
            bitmask,
        } => {
            let Some((v, _, _)) = byte_read(read, buf, cursor, ctx.vars) else {
                return NO_MATCH;
            };
            let v = apply_bitmask(v, *bitmask);
            let t = u64::from_ne_bytes(val(*value, ctx.vars).to_ne_bytes());
            let m = match op {
                ByteOp::Lt => v < t,
                ByteOp::Gt => v > t,
                ByteOp::Eq => v == t,
                ByteOp::Le => v <= t,
                ByteOp::Ge => v >= t,
                ByteOp::And => v & t != 0,
                ByteOp::Xor => v ^ t != 0,
                #[allow(unreachable_patterns)]
                _ => false,
            };
            if m != *negated {
                next(items, i, buf, cursor, end, ctx)
            } else {
                NO_MATCH
            }
        }
        CItem::ByteJump {
            read,
            multiplier,
            align,
            from_beginning,
            from_end,
            post_offset,
        } => {
            let Some((v, pos, used)) = byte_read(read, buf, cursor, ctx.vars) else {
                return NO_MATCH;
            };
            let mut v = v.wrapping_mul(*multiplier);
            if *align && v % 4 != 0 {
                v = v.wrapping_add(4 - v % 4);
            }
            let v = i64::from_ne_bytes(v.to_ne_bytes()).wrapping_add(*post_offset);
            let ilen = i64::try_from(len).unwrap_or(i64::MAX);
            let target = if *from_beginning {
                v
            } else if *from_end {
                ilen.wrapping_add(v)
            } else {
                pos.wrapping_add(used).wrapping_add(v)
            };
            // Suricata: a jump before the buffer start lands at the start; past the end
            // fails; exactly at the end is allowed.
            let target = target.max(0);
            if target > ilen {
                return NO_MATCH;
            }
            let t = usize::try_from(target).unwrap_or(len);
            next(items, i, buf, t, end, ctx)
        }
        CItem::ByteExtract {
            read,
            var,
            multiplier,
            align,
        } => {
            let Some((v, pos, used)) = byte_read(read, buf, cursor, ctx.vars) else {
                return NO_MATCH;
            };
            let mut v = v.wrapping_mul(*multiplier);
            let a = u64::from(*align);
            if a > 0 && v % a != 0 {
                v = v.wrapping_add(a - v % a);
            }
            if let Some(slot) = ctx.vars.get_mut(usize::from(*var)) {
                *slot = v;
            }
            let c = usize::try_from(pos.saturating_add(used))
                .unwrap_or(len)
                .min(len);
            next(items, i, buf, c, end, ctx)
        }
        CItem::ByteMath {
            read,
            var,
            op,
            rvalue,
            bitmask,
        } => {
            let Some((v, pos, used)) = byte_read(read, buf, cursor, ctx.vars) else {
                return NO_MATCH;
            };
            let v = apply_bitmask(v, *bitmask);
            let r = u64::from_ne_bytes(val(*rvalue, ctx.vars).to_ne_bytes());
            let res = match op {
                MathOp::Add => v.wrapping_add(r),
                MathOp::Sub => v.wrapping_sub(r),
                MathOp::Mul => v.wrapping_mul(r),
                MathOp::Div => match v.checked_div(r) {
                    Some(x) => x,
                    None => return NO_MATCH,
                },
                MathOp::Shl => v.checked_shl(u32::try_from(r).unwrap_or(64)).unwrap_or(0),
                MathOp::Shr => v.checked_shr(u32::try_from(r).unwrap_or(64)).unwrap_or(0),
                #[allow(unreachable_patterns)]
                _ => return NO_MATCH,
            };
            if let Some(slot) = ctx.vars.get_mut(usize::from(*var)) {
                *slot = res;
            }
            let c = usize::try_from(pos.saturating_add(used))
                .unwrap_or(len)
                .min(len);
            next(items, i, buf, c, end, ctx)
        }
        CItem::IsDataAt {
            negated,
            pos,
            relative,
        } => {
            let n = val(*pos, ctx.vars);
            let ilen = i64::try_from(len).unwrap_or(i64::MAX);
            let data = if *relative {
                // Suricata: no data when cursor + N > len.
                i64::try_from(cursor).unwrap_or(i64::MAX).saturating_add(n) <= ilen
            } else {
                n < ilen
            };
            if data != *negated {
                next(items, i, buf, cursor, end, ctx)
            } else {
                NO_MATCH
            }
        }
        CItem::Bsize(c) => {
            if num_check(c, u64::try_from(len).unwrap_or(u64::MAX)) {
                next(items, i, buf, cursor, end, ctx)
            } else {
                ctx.discontinue = true;
                NO_MATCH
            }
        }
        CItem::Base64Decode(d) => {
            let base = if d.relative { cursor } else { 0 };
            let start =
                base.saturating_add(usize::try_from(d.offset.unwrap_or(0)).unwrap_or(usize::MAX));
            let Some(src) = buf.get(start..) else {
                return NO_MATCH;
            };
            let src = match d.bytes {
                Some(n) => src
                    .get(..usize::try_from(n).unwrap_or(usize::MAX).min(src.len()))
                    .unwrap_or(src),
                None => src,
            };
            let Some(b64) = ctx.b64 else {
                // Suricata: base64_decode without base64_data never matches.
                return NO_MATCH;
            };
            let mut decoded = std::mem::take(ctx.b64_buf);
            decoded.clear();
            if base64_decode_into(src, &mut decoded, MAX_BASE64_DECODED) {
                ctx.stats.base64_truncated += 1;
            }
            let r = if decoded.is_empty() {
                NO_MATCH
            } else {
                // The decoded data is inspected with its own cursor; a match ends the
                // inspection of this buffer (base64_decode is its buffer's last item).
                let min_end = std::mem::replace(&mut ctx.min_end, 0);
                let m = rec(&b64.items, 0, &decoded, 0, 0, ctx);
                ctx.min_end = min_end;
                ctx.match_end = end;
                if m == MATCH {
                    MATCH
                } else {
                    ctx.discontinue = false;
                    NO_MATCH
                }
            };
            *ctx.b64_buf = decoded;
            r
        }
        CItem::Dataset { set, cmd } => {
            if ctx.datasets.dataset(*set, *cmd, buf) {
                next(items, i, buf, cursor, end, ctx)
            } else {
                NO_MATCH
            }
        }
        CItem::Datarep { set, op, value } => {
            if ctx.datasets.datarep(*set, *op, *value, buf) {
                next(items, i, buf, cursor, end, ctx)
            } else {
                NO_MATCH
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn content(
    items: &[CEntry],
    i: usize,
    entry: &CEntry,
    cd: &CContent,
    buf: &[u8],
    cursor: usize,
    end: usize,
    ctx: &mut Ctx<'_>,
) -> i8 {
    let len = i64::try_from(buf.len()).unwrap_or(i64::MAX);
    let plen = i64::try_from(cd.pat.len()).unwrap_or(i64::MAX);
    let prev = i64::try_from(cursor).unwrap_or(i64::MAX);
    let mut retry_from: Option<i64> = None;
    loop {
        let (mut off, mut depth);
        if cd.relative {
            off = prev;
            depth = len;
            let mut distance = 0i64;
            if let Some(d) = cd.distance {
                distance = val(d, ctx.vars);
                if distance < 0 && distance.saturating_neg() > off {
                    off = 0;
                } else {
                    off = off.saturating_add(distance);
                }
            }
            if let Some(w) = cd.within {
                let lim = prev
                    .saturating_add(val(w, ctx.vars))
                    .saturating_add(distance);
                if depth > lim {
                    depth = lim;
                }
            }
            if let Some(d) = cd.depth {
                let lim = prev.saturating_add(val(d, ctx.vars));
                if lim < depth {
                    depth = lim;
                }
            }
            if let Some(o) = cd.offset {
                let o = val(o, ctx.vars);
                if o > off {
                    off = o;
                }
            }
        } else {
            off = cd.offset.map(|o| val(o, ctx.vars)).unwrap_or(0);
            depth = match cd.depth {
                Some(d) => off.saturating_add(val(d, ctx.vars)),
                None => len,
            };
        }
        if cd.startswith {
            depth = depth.min(off.saturating_add(plen));
        }
        if let Some(r) = retry_from {
            off = r;
        }
        if depth > len {
            depth = len;
        }
        off = off.max(0);
        if off > depth || depth <= 0 {
            return if cd.negated {
                next(items, i, buf, cursor, end, ctx)
            } else {
                NO_MATCH
            };
        }
        let (o, d) = (
            usize::try_from(off).unwrap_or(0),
            usize::try_from(depth).unwrap_or(0),
        );
        let window = buf.get(o..d).unwrap_or(&[]);
        let found = if cd.endswith {
            // Only an occurrence ending at the buffer end counts.
            let s = len - plen;
            if depth == len
                && s >= off
                && content_at(cd, buf, usize::try_from(s).unwrap_or(usize::MAX))
            {
                Some(usize::try_from(s - off).unwrap_or(0))
            } else {
                None
            }
        } else {
            search(cd, window)
        };
        match found {
            None => {
                if cd.negated {
                    return next(items, i, buf, cursor, end, ctx);
                }
                if !cd.relative {
                    ctx.discontinue = true;
                }
                return NO_MATCH;
            }
            Some(pos) => {
                let start = o + pos;
                let mend = start + cd.pat.len();
                if cd.negated {
                    if !cd.relative {
                        ctx.discontinue = true;
                    }
                    return NO_MATCH;
                }
                let r = next(items, i, buf, mend, end.max(mend), ctx);
                if r == MATCH {
                    return MATCH;
                }
                if r == DISCONTINUE || ctx.discontinue {
                    return DISCONTINUE;
                }
                if !entry.relative_next && ctx.min_end == 0 {
                    return NO_MATCH;
                }
                retry_from = Some(i64::try_from(start + 1).unwrap_or(i64::MAX));
                ctx.calls = ctx.calls.saturating_add(1);
                if ctx.calls > ctx.limit {
                    ctx.stats.recursion_limit += 1;
                    ctx.discontinue = true;
                    return DISCONTINUE;
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn pcre(
    items: &[CEntry],
    i: usize,
    entry: &CEntry,
    pe: &CPcre,
    buf: &[u8],
    cursor: usize,
    end: usize,
    ctx: &mut Ctx<'_>,
) -> i8 {
    let base = if pe.relative {
        cursor.min(buf.len())
    } else {
        0
    };
    let subject = buf.get(base..).unwrap_or(&[]);
    let mut start = 0usize;
    loop {
        let res = pe.regex.find_at(subject, start);
        let Ok(m) = res else {
            ctx.stats.pcre_limit += 1;
            return NO_MATCH;
        };
        let m = m
            .filter(|m| !pe.anchored || m.start() == start)
            .filter(|m| {
                // `E`: `$` must not match before a final newline.
                !(pe.dollar_endonly
                    && m.end() + 1 == subject.len()
                    && subject.last() == Some(&b'\n'))
            });
        match m {
            None => {
                return if pe.negated {
                    next(items, i, buf, cursor, end, ctx)
                } else {
                    NO_MATCH
                };
            }
            Some(m) => {
                if pe.negated {
                    return NO_MATCH;
                }
                let mend = base + m.end();
                let r = next(items, i, buf, mend, end.max(mend), ctx);
                if r == MATCH {
                    return MATCH;
                }
                if r == DISCONTINUE || ctx.discontinue || (!entry.relative_next && ctx.min_end == 0)
                {
                    return if r == DISCONTINUE {
                        DISCONTINUE
                    } else {
                        NO_MATCH
                    };
                }
                start = m.start() + 1;
                if start > subject.len() {
                    return NO_MATCH;
                }
                ctx.calls = ctx.calls.saturating_add(1);
                if ctx.calls > ctx.limit {
                    ctx.stats.recursion_limit += 1;
                    ctx.discontinue = true;
                    return DISCONTINUE;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::compile::{compile, Ctx as BuildCtx};

    /// Match a rule's first buffer program against `data`.
    fn m(rule_opts: &str, data: &[u8]) -> bool {
        let text = format!("alert udp any any -> any any ({rule_opts} sid:1;)");
        let r = crate::parse_rule_str(&text).unwrap();
        let mut bctx = BuildCtx::default();
        let c = compile(&r, 0, &mut bctx);
        assert!(c.disabled.is_none(), "{:?}", c.disabled);
        let store = Store::default();
        let mut vars = vec![0u64; c.nvars];
        let mut b64 = Vec::new();
        let mut stats = InspectStats::default();
        let mut ctx = Ctx {
            vars: &mut vars,
            limit: crate::caps::INSPECTION_RECURSION_LIMIT,
            calls: 0,
            discontinue: false,
            datasets: &store,
            b64: c.b64.as_ref(),
            b64_buf: &mut b64,
            stats: &mut stats,
            match_end: 0,
            min_end: 0,
        };
        c.blocks.iter().all(|b| inspect(&b.items, data, &mut ctx))
    }

    #[test]
    fn content_offset_depth() {
        assert!(m("content:\"ab\"; offset:2; depth:2;", b"xxabyy"));
        assert!(!m("content:\"ab\"; offset:3;", b"xxabyy"));
        assert!(!m("content:\"ab\"; depth:3;", b"xxabyy"));
        assert!(m("content:\"ab\"; depth:4;", b"xxabyy"));
    }

    #[test]
    fn content_nocase() {
        assert!(m("content:\"AbC\"; nocase;", b"xxaBcx"));
        assert!(!m("content:\"AbC\";", b"xxaBcx"));
    }

    #[test]
    fn content_distance_within_backtracks() {
        assert!(m("content:\"A\"; content:\"B\"; within:1;", b"AAAAB"));
        assert!(m(
            "content:\"a\"; content:\"b\"; distance:2; within:1;",
            b"a_a__b"
        ));
        assert!(!m(
            "content:\"a\"; content:\"b\"; distance:0; within:1;",
            b"a_b"
        ));
        assert!(m(
            "content:\"b\"; content:\"a\"; distance:-3; within:1;",
            b"a_b"
        ));
        assert!(!m(
            "content:\"b\"; content:\"a\"; distance:-2; within:1;",
            b"a_b"
        ));
    }

    #[test]
    fn negated_content_relative_and_absolute() {
        assert!(m(
            "content:\"AB\"; content:!\"CD\"; distance:0; within:2;",
            b"ABCDABxx"
        ));
        assert!(!m(
            "content:\"AB\"; content:!\"CD\"; distance:0; within:2;",
            b"ABCD"
        ));
        assert!(!m("content:\"x\"; content:!\"AB\";", b"xAB"));
        assert!(m("content:!\"zz\";", b"xAB"));
    }

    #[test]
    fn startswith_endswith() {
        assert!(m("content:\"ab\"; startswith;", b"abc"));
        assert!(!m("content:\"bc\"; startswith;", b"abc"));
        assert!(m("content:\"bc\"; endswith;", b"abcbc"));
        assert!(!m("content:\"ab\"; endswith;", b"abc"));
    }

    #[test]
    fn isdataat_absolute_and_relative() {
        assert!(m("content:\"ABCD\"; isdataat:3;", b"ABCD"));
        assert!(!m("content:\"ABCD\"; isdataat:4;", b"ABCD"));
        assert!(m("content:\"ABCD\"; isdataat:!1,relative;", b"ABCD"));
        assert!(m("content:\"ABCD\"; isdataat:1,relative;", b"ABCD\n"));
        assert!(!m("content:\"ABCD\"; isdataat:2,relative;", b"ABCD\n"));
    }

    #[test]
    fn byte_test_binary_string_bitmask() {
        assert!(m("byte_test:2,=,258,0;", &[1, 2]));
        assert!(m("byte_test:2,=,513,0,little;", &[1, 2]));
        assert!(m("byte_test:4,=,12,2,string,dec;", b"xx 12ab"));
        assert!(m("byte_test:2,=,0x1f,0,string,hex;", b"1f"));
        assert!(m("byte_test:1,&,0x80,0;", &[0x81]));
        assert!(m("byte_test:1,!&,0x80,0;", &[0x01]));
        assert!(m("byte_test:2,=,3,0,bitmask 0x0f00;", &[0x03, 0xff]));
        assert!(!m("byte_test:4,=,1,0;", &[0, 0, 1]));
    }

    #[test]
    fn byte_jump_variants() {
        assert!(m(
            "byte_jump:2,0; content:\"XYZ\"; within:3;",
            b"\x00\x03abcXYZ"
        ));
        assert!(m("byte_jump:2,0; isdataat:!1,relative;", b"\x00\x04abcd"));
        assert!(!m("byte_jump:2,0;", b"\x00\x05abcd"));
        assert!(m(
            "byte_jump:2,0,little; content:\"Z\"; within:1;",
            b"\x05\x00abcdeZ"
        ));
        assert!(m(
            "byte_jump:1,0,from_beginning; content:\"c\"; within:1;",
            b"\x03bbc"
        ));
        assert!(m(
            "byte_jump:1,0,align; content:\"X\"; within:1;",
            b"\x02abcdX"
        ));
        assert!(m(
            "byte_jump:1,0,multiplier 2; content:\"e\"; within:1;",
            b"\x02abcde"
        ));
        assert!(m(
            "byte_jump:1,0,post_offset 1; content:\"c\"; within:1;",
            b"\x01abc"
        ));
    }

    #[test]
    fn byte_extract_and_math_move_cursor_and_set_vars() {
        assert!(m(
            "byte_extract:1,1,n; content:\"abc\"; distance:0; within:n;",
            b"\x00\x03abc"
        ));
        assert!(!m(
            "byte_extract:1,1,n; content:\"abc\"; distance:0; within:n;",
            b"\x00\x02abc"
        ));
        assert!(m(
            "byte_math:bytes 2,offset 0,oper +,rvalue 0,result r; content:\"ab\"; within:2;",
            b"\x00\x02abXY"
        ));
        assert!(!m(
            "byte_math:bytes 2,offset 0,oper +,rvalue 0,result r; content:\"|00 02|\"; within:2;",
            b"\x00\x02abXY"
        ));
        assert!(m(
            "byte_math:bytes 1,offset 0,oper *,rvalue 2,result r; byte_test:1,=,r,1;",
            &[3, 6]
        ));
        assert!(!m(
            "byte_math:bytes 1,offset 0,oper /,rvalue 0,result r;",
            &[3]
        ));
    }

    #[test]
    fn pcre_relative_and_flags() {
        assert!(m("pcre:\"/ABCD$/\";", b"ABCD\n"));
        assert!(!m("pcre:\"/ABCD$/E\";", b"ABCD\n"));
        assert!(m("content:\"x\"; pcre:\"/^y/R\";", b"axy"));
        assert!(!m("content:\"x\"; pcre:\"/^y/R\";", b"axzy"));
        assert!(m("pcre:\"/b/A\";", b"bc") && !m("pcre:\"/c/A\";", b"bc"));
        assert!(m("pcre:!\"/zz/\";", b"abc"));
        assert!(m("pcre:\"/a./\"; content:\"Q\"; within:1;", b"a1xa2Q"));
    }

    #[test]
    fn base64_decode_and_data() {
        assert!(m(
            "base64_decode; base64_data; content:\"ABCDEF\";",
            b"QUJDREVG!!"
        ));
        assert!(!m(
            "base64_decode; base64_data; content:\"ABCDEF\";",
            b"QUJD!REVG"
        ));
        assert!(m(
            "base64_decode; base64_data; content:\"ABCD\";",
            b"QUJDRA"
        ));
        assert!(m(
            "base64_decode; base64_data; content:\"ABABC\";",
            b"QUI=QUJD"
        ));
        assert!(m(
            "base64_decode:offset 1; base64_data; content:\"ABC\";",
            b"xQUJDREVGxx"
        ));
        assert!(!m("content:\"QUJD\"; base64_decode:relative;", b"QUJDREVG"));
    }

    #[test]
    fn recursion_limit_bounds_backtracking() {
        let data = vec![b'a'; 20_000];
        let t = std::time::Instant::now();
        assert!(!m(
            "content:\"a\"; content:\"a\"; distance:0; content:\"b\"; distance:0;",
            &data
        ));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn string_number_parsing() {
        assert_eq!(parse_string_number(b" 12ab", NumBase::Dec), Some((12, 3)));
        assert_eq!(parse_string_number(b"0x1F", NumBase::Hex), Some((31, 4)));
        assert_eq!(parse_string_number(b"x", NumBase::Dec), None);
        assert_eq!(
            parse_string_number(b"-1", NumBase::Dec),
            Some((u64::MAX, 2))
        );
        assert_eq!(
            parse_string_number(b"99999999999999999999999", NumBase::Dec),
            None
        );
    }

    #[test]
    fn base64_round_trip() {
        for s in [&b""[..], b"a", b"ab", b"abc", b"abcd"] {
            let e = base64_encode(s);
            assert_eq!(base64_decode_strict(e.as_bytes()).unwrap(), s);
        }
    }
}
