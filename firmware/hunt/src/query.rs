//! The hunt filter language: the query-string syntax analysts know from Kibana and Scirius.
//!
//! ```text
//! event_type:http AND http.status:200 AND (http.url:*base64_decode* OR _exists_:base64.functions)
//! NOT src_ip:10.0.0.0/8   dest_port:[1 TO 1023]   flow.age:>=60   tls.sni:"a b"   -dns.rrname:*.local
//! ```
//!
//! - `FIELD:VALUE`: the field (a dotted EVE path; arrays are looked through) has the value.
//!   Strings compare case-insensitively; numbers numerically; IP values as addresses, and a
//!   value with a `/` on an IP field is a CIDR block.
//! - `*` and `?` in an unquoted value are wildcards; a quoted value is literal.
//! - `FIELD:(a OR b)`: grouped values; `FIELD:[lo TO hi]` / `{lo TO hi}` (exclusive) ranges, `*`
//!   for an open end; `FIELD:>N`, `>=`, `<`, `<=`.
//! - `_exists_:FIELD`; a bare value matches any field.
//! - `AND` (`&&`), `OR` (`||`), `NOT` (`!`, or `-` before a clause), parentheses. Adjacent
//!   clauses without an operator are joined by AND (stricter than Lucene's OR default: a hunt
//!   that becomes a policy action should never widen by accident).
//! - Special characters in values (`: ( ) [ ] { } " \` and spaces) are quoted or escaped with
//!   `\`.
//!
//! Errors carry the 1-based column of the offending token; unknown field names get the nearest
//! known field as a suggestion ([`crate::fields`]).

use std::net::IpAddr;

/// Longest query accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 16 * 1024;
/// Deepest nesting of parentheses and NOTs.
pub const MAX_QUERY_DEPTH: usize = 64;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Every child matches.
    And(Vec<Node>),
    /// Some child matches.
    Or(Vec<Node>),
    /// The child does not match.
    Not(Box<Node>),
    /// A value test on a field (`None`: any field).
    Term {
        /// Dotted path.
        field: Option<String>,
        /// The test.
        test: Test,
    },
    /// The field is present.
    Exists(String),
    /// Everything (`*` alone).
    All,
}

/// A test on one value.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Equality (case-insensitive for strings).
    Eq(Literal),
    /// A glob with `*` and `?` (case-insensitive).
    Wildcard(Glob),
    /// A range; either end may be open.
    Range {
        /// Lower bound and whether it is inclusive.
        lo: Option<(Literal, bool)>,
        /// Upper bound and whether it is inclusive.
        hi: Option<(Literal, bool)>,
    },
    /// An IP address inside a CIDR block.
    Cidr(IpAddr, u8),
}

/// A compiled wildcard pattern (lower case; `\\` escapes `*`, `?` and itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern as written, lower-cased.
    pub text: String,
    toks: Vec<GlobTok>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GlobTok {
    Any,
    One,
    Lit(char),
}

impl Glob {
    /// Compiles `pattern`.
    pub fn new(pattern: &str) -> Glob {
        let mut toks = Vec::new();
        let mut it = pattern.chars();
        while let Some(c) = it.next() {
            toks.push(match c {
                '*' => GlobTok::Any,
                '?' => GlobTok::One,
                '\\' => GlobTok::Lit(it.next().unwrap_or('\\')),
                c => GlobTok::Lit(c),
            });
        }
        toks.dedup_by(|a, b| *a == GlobTok::Any && *b == GlobTok::Any);
        Glob {
            text: pattern.to_owned(),
            toks,
        }
    }

    /// Whether `text` (already lower-cased) matches: linear backtracking on the last `*`.
    pub fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let p = &self.toks;
        let (mut ti, mut pi) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some(GlobTok::Any) => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some(GlobTok::One) => {
                    ti += 1;
                    pi += 1;
                }
                Some(GlobTok::Lit(c)) if *c == t[ti] => {
                    ti += 1;
                    pi += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|x| *x == GlobTok::Any)
    }
}

/// A literal value with its readings.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    /// As written (unescaped).
    pub text: String,
    /// Lower-cased.
    pub lower: String,
    /// As a number, when it reads as one.
    pub num: Option<f64>,
    /// As an IP address, when it reads as one.
    pub ip: Option<IpAddr>,
}

impl Literal {
    /// Reads `text`. Date math (`now`, `now-7d`, `now+1h`; units s m h d w) becomes the EVE
    /// time it names (wall clock), so it compares with `timestamp` or `tls.notafter` as text.
    pub fn new(text: &str) -> Literal {
        let text = date_math(text).unwrap_or_else(|| text.to_owned());
        let text = text.as_str();
        Literal {
            text: text.to_owned(),
            lower: text.to_lowercase(),
            num: text.parse::<f64>().ok().filter(|n| n.is_finite()),
            ip: text.parse().ok(),
        }
    }
}

/// `now[+-]N(s|m|h|d|w)` as an EVE time string (UTC, wall clock).
fn date_math(t: &str) -> Option<String> {
    let rest = t.strip_prefix("now")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let secs = if rest.is_empty() {
        now
    } else {
        let (sign, num) = rest.split_at(1);
        let unit = num.chars().last()?;
        let n: u64 = num[..num.len() - unit.len_utf8()].parse().ok()?;
        let mult = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return None,
        };
        let d = n.checked_mul(mult)?;
        match sign {
            "-" => now.checked_sub(d)?,
            "+" => now.checked_add(d)?,
            _ => return None,
        }
    };
    Some(types::Timestamp::from_secs_nanos(secs, 0).to_eve_string())
}

/// A syntax error at a column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket(bool),
    RBracket(bool),
    Colon,
    And,
    Or,
    Not,
    Minus,
    Plus,
    To,
    Cmp(&'static str),
    /// A word: text, whether it had unescaped wildcards.
    Word(String, bool),
    Quoted(String),
}

struct Lexed {
    tok: Tok,
    col: usize,
    /// No space between this token and the next.
    glued: bool,
}

fn is_special(c: char) -> bool {
    matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | '"' | ':' | '\\') || c.is_whitespace()
}

fn lex(q: &str) -> Result<Vec<Lexed>, QueryError> {
    let chars: Vec<char> = q.chars().collect();
    let mut out: Vec<Lexed> = Vec::new();
    let mut i = 0;
    let err = |col: usize, m: &str| QueryError {
        column: col + 1,
        message: m.to_owned(),
    };
    while i < chars.len() {
        let c = chars[i];
        let col = i;
        if c.is_whitespace() {
            if let Some(l) = out.last_mut() {
                l.glued = false;
            }
            i += 1;
            continue;
        }
        let simple = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket(true)),
            '{' => Some(Tok::LBracket(false)),
            ']' => Some(Tok::RBracket(true)),
            '}' => Some(Tok::RBracket(false)),
            ':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = simple {
            out.push(Lexed {
                tok: t,
                col,
                glued: true,
            });
            i += 1;
            continue;
        }
        if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(err(col, "unterminated quoted value")),
                    Some('"') => break,
                    Some('\\') => {
                        let Some(&n) = chars.get(i + 1) else {
                            return Err(err(i, "`\\` at the end of the query"));
                        };
                        s.push(n);
                        i += 2;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            out.push(Lexed {
                tok: Tok::Quoted(s),
                col,
                glued: true,
            });
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if two == "&&" || two == "||" {
            out.push(Lexed {
                tok: if two == "&&" { Tok::And } else { Tok::Or },
                col,
                glued: true,
            });
            i += 2;
            continue;
        }
        // `>=`, `<=`, `>`, `<` right after a colon.
        if (c == '>' || c == '<') && out.last().is_some_and(|l| l.tok == Tok::Colon) {
            let eq = chars.get(i + 1) == Some(&'=');
            let op = match (c, eq) {
                ('>', true) => ">=",
                ('>', false) => ">",
                ('<', true) => "<=",
                _ => "<",
            };
            out.push(Lexed {
                tok: Tok::Cmp(op),
                col,
                glued: true,
            });
            i += if eq { 2 } else { 1 };
            continue;
        }
        // A clause prefix: `-x`, `+x`, `!x` (only at the start of a clause).
        let at_clause_start = out.last().is_none_or(|l| {
            !l.glued
                || matches!(
                    l.tok,
                    Tok::LParen | Tok::And | Tok::Or | Tok::Not | Tok::Minus | Tok::Plus
                )
        });
        if matches!(c, '-' | '+' | '!') && at_clause_start {
            out.push(Lexed {
                tok: match c {
                    '-' => Tok::Minus,
                    '+' => Tok::Plus,
                    _ => Tok::Not,
                },
                col,
                glued: true,
            });
            i += 1;
            continue;
        }
        let mut s = String::new();
        let mut wild = false;
        while i < chars.len() && !is_special(chars[i]) {
            s.push(chars[i]);
            if chars[i] == '*' || chars[i] == '?' {
                wild = true;
            }
            i += 1;
        }
        // Escapes continue a word.
        while i < chars.len() && (chars[i] == '\\' || !is_special(chars[i])) {
            if chars[i] == '\\' {
                let Some(&n) = chars.get(i + 1) else {
                    return Err(err(i, "`\\` at the end of the query"));
                };
                // An escaped wildcard is literal: keep the backslash for the glob.
                if n == '*' || n == '?' || n == '\\' {
                    s.push('\\');
                }
                s.push(n);
                i += 2;
            } else {
                if chars[i] == '*' || chars[i] == '?' {
                    wild = true;
                }
                s.push(chars[i]);
                i += 1;
            }
        }
        if s.is_empty() {
            return Err(err(col, &format!("unexpected `{c}`")));
        }
        let tok = match s.as_str() {
            "AND" => Tok::And,
            "OR" => Tok::Or,
            "NOT" => Tok::Not,
            "TO" => Tok::To,
            _ => Tok::Word(s, wild),
        };
        out.push(Lexed {
            tok,
            col,
            glued: true,
        });
    }
    Ok(out)
}

/// Parses a query. `check_field` is called with every field name and its column; it returns
/// an error message (e.g. "unknown field, did you mean ...") to reject it.
pub fn parse(
    q: &str,
    check_field: &dyn Fn(&str) -> Result<(), String>,
) -> Result<Node, QueryError> {
    if q.len() > MAX_QUERY_LEN {
        return Err(QueryError {
            column: 1,
            message: format!("query of {} bytes is longer than {MAX_QUERY_LEN}", q.len()),
        });
    }
    let toks = lex(q)?;
    let end = q.chars().count() + 1;
    let mut p = Parser {
        toks,
        pos: 0,
        end,
        depth: 0,
        check_field,
    };
    if p.toks.is_empty() {
        return Err(QueryError {
            column: 1,
            message: "empty query (use `*` for every event)".into(),
        });
    }
    let n = p.or()?;
    if let Some(t) = p.toks.get(p.pos) {
        return Err(QueryError {
            column: t.col + 1,
            message: match t.tok {
                Tok::RParen => "`)` without `(`".into(),
                _ => "unexpected token".into(),
            },
        });
    }
    Ok(n)
}

struct Parser<'a> {
    toks: Vec<Lexed>,
    pos: usize,
    end: usize,
    depth: usize,
    check_field: &'a dyn Fn(&str) -> Result<(), String>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|l| &l.tok)
    }

    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |l| l.col + 1)
    }

    fn fail<T>(&self, m: impl Into<String>) -> Result<T, QueryError> {
        Err(QueryError {
            column: self.col(),
            message: m.into(),
        })
    }

    fn enter(&mut self) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_QUERY_DEPTH {
            return self.fail(format!("nested deeper than {MAX_QUERY_DEPTH}"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let mut v = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Node::Or(v)
        })
    }

    fn and(&mut self) -> Result<Node, QueryError> {
        let mut v = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    v.push(self.unary()?);
                }
                None | Some(Tok::Or) | Some(Tok::RParen) => break,
                Some(_) => v.push(self.unary()?),
            }
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Node::And(v)
        })
    }

    fn unary(&mut self) -> Result<Node, QueryError> {
        match self.peek() {
            Some(Tok::Not) | Some(Tok::Minus) => {
                self.pos += 1;
                self.enter()?;
                let n = self.unary()?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(n)))
            }
            Some(Tok::Plus) => {
                self.pos += 1;
                self.unary()
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Node, QueryError> {
        let col = self.col();
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                self.enter()?;
                let n = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::RParen) {
                    return self.fail("expected `)`");
                }
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Word(w, wild)) => {
                self.pos += 1;
                if self.peek() == Some(&Tok::Colon) {
                    self.pos += 1;
                    if w == "_exists_" {
                        let c = self.col();
                        let Some(Tok::Word(f, false)) = self.peek().cloned() else {
                            return self.fail("expected a field name after `_exists_:`");
                        };
                        self.pos += 1;
                        (self.check_field)(&f).map_err(|m| QueryError {
                            column: c,
                            message: m,
                        })?;
                        return Ok(Node::Exists(f));
                    }
                    if wild {
                        return Err(QueryError {
                            column: col,
                            message: format!("`{w}`: wildcards are not allowed in field names"),
                        });
                    }
                    (self.check_field)(&w).map_err(|m| QueryError {
                        column: col,
                        message: m,
                    })?;
                    return self.value(Some(&w));
                }
                if w == "*" {
                    return Ok(Node::All);
                }
                Ok(term(None, &w, wild))
            }
            Some(Tok::Quoted(s)) => {
                self.pos += 1;
                Ok(Node::Term {
                    field: None,
                    test: Test::Eq(Literal::new(&s)),
                })
            }
            Some(Tok::RParen) => self.fail("`)` without `(`"),
            Some(Tok::And) | Some(Tok::Or) => self.fail("operator without a left-hand clause"),
            Some(_) => self.fail("expected a clause (FIELD:VALUE, a value or `(`)"),
            None => self.fail("query ends where a clause was expected"),
        }
    }

    /// The value part after `FIELD:`.
    fn value(&mut self, field: Option<&str>) -> Result<Node, QueryError> {
        let f = field.map(str::to_owned);
        match self.peek().cloned() {
            Some(Tok::Word(w, wild)) => {
                self.pos += 1;
                if w == "*" {
                    return Ok(Node::Exists(f.unwrap_or_default()));
                }
                Ok(term(f, &w, wild))
            }
            Some(Tok::Quoted(s)) => {
                self.pos += 1;
                Ok(Node::Term {
                    field: f,
                    test: Test::Eq(Literal::new(&s)),
                })
            }
            Some(Tok::Cmp(op)) => {
                self.pos += 1;
                let (Some(Tok::Word(v, false)) | Some(Tok::Quoted(v))) = self.peek().cloned()
                else {
                    return self.fail(format!("expected a value after `{op}`"));
                };
                self.pos += 1;
                let l = Some((Literal::new(&v), op.ends_with('=')));
                let test = if op.starts_with('>') {
                    Test::Range { lo: l, hi: None }
                } else {
                    Test::Range { lo: None, hi: l }
                };
                Ok(Node::Term { field: f, test })
            }
            Some(Tok::LBracket(lo_incl)) => {
                self.pos += 1;
                let lo = self.bound()?;
                if self.peek() != Some(&Tok::To) {
                    return self.fail("expected `TO` in the range");
                }
                self.pos += 1;
                let hi = self.bound()?;
                let Some(Tok::RBracket(hi_incl)) = self.peek().cloned() else {
                    return self.fail("expected `]` or `}` to close the range");
                };
                self.pos += 1;
                Ok(Node::Term {
                    field: f,
                    test: Test::Range {
                        lo: lo.map(|l| (l, lo_incl)),
                        hi: hi.map(|l| (l, hi_incl)),
                    },
                })
            }
            Some(Tok::LParen) => {
                // FIELD:(a OR b AND NOT c): a boolean expression over values.
                self.pos += 1;
                self.enter()?;
                let n = self.value_or(field)?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::RParen) {
                    return self.fail("expected `)`");
                }
                self.pos += 1;
                Ok(n)
            }
            _ => self.fail("expected a value after `:`"),
        }
    }

    fn bound(&mut self) -> Result<Option<Literal>, QueryError> {
        match self.peek().cloned() {
            Some(Tok::Word(w, _)) if w == "*" => {
                self.pos += 1;
                Ok(None)
            }
            Some(Tok::Word(w, false)) | Some(Tok::Quoted(w)) => {
                self.pos += 1;
                Ok(Some(Literal::new(&w)))
            }
            _ => self.fail("expected a range bound (a value or `*`)"),
        }
    }

    fn value_or(&mut self, field: Option<&str>) -> Result<Node, QueryError> {
        let mut v = vec![self.value_and(field)?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            v.push(self.value_and(field)?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Node::Or(v)
        })
    }

    fn value_and(&mut self, field: Option<&str>) -> Result<Node, QueryError> {
        let mut v = vec![self.value_unary(field)?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    v.push(self.value_unary(field)?);
                }
                None | Some(Tok::Or) | Some(Tok::RParen) => break,
                // Lucene's default inside a group is OR: `f:(a b)` is `f:(a OR b)`.
                Some(_) => {
                    let n = self.value_unary(field)?;
                    let last = v.pop().unwrap_or(Node::All);
                    v.push(Node::Or(vec![last, n]));
                }
            }
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Node::And(v)
        })
    }

    fn value_unary(&mut self, field: Option<&str>) -> Result<Node, QueryError> {
        match self.peek() {
            Some(Tok::Not) | Some(Tok::Minus) => {
                self.pos += 1;
                self.enter()?;
                let n = self.value_unary(field)?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(n)))
            }
            Some(Tok::LParen) => self.value(field),
            _ => self.value(field),
        }
    }
}

/// A word value: wildcard, CIDR or literal.
fn term(field: Option<String>, w: &str, wild: bool) -> Node {
    if wild {
        return Node::Term {
            field,
            test: Test::Wildcard(Glob::new(&w.to_lowercase())),
        };
    }
    let unescaped = w
        .replace("\\*", "*")
        .replace("\\?", "?")
        .replace("\\\\", "\\");
    if let Some((a, m)) = unescaped.split_once('/') {
        if let (Ok(ip), Ok(m)) = (a.parse::<IpAddr>(), m.parse::<u8>()) {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            if m <= max {
                return Node::Term {
                    field,
                    test: Test::Cidr(ip, m),
                };
            }
        }
    }
    Node::Term {
        field,
        test: Test::Eq(Literal::new(&unescaped)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Node {
        parse(q, &|_| Ok(())).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn e(q: &str) -> QueryError {
        parse(q, &|f| {
            if f == "bad" {
                Err("unknown field `bad`".into())
            } else {
                Ok(())
            }
        })
        .unwrap_err()
    }

    #[test]
    fn precedence_and_implicit_and() {
        let n = p("a:1 OR b:2 c:3");
        let Node::Or(v) = n else { panic!() };
        assert_eq!(v.len(), 2);
        assert!(matches!(&v[1], Node::And(x) if x.len() == 2));
        assert!(matches!(p("NOT a:1"), Node::Not(_)));
        assert!(matches!(p("-a:1"), Node::Not(_)));
        assert!(matches!(p("!a:1"), Node::Not(_)));
        assert!(matches!(p("a:1 && (b:2 || c:3)"), Node::And(_)));
    }

    #[test]
    fn values() {
        assert!(matches!(p("http.url:*base64_decode*"),
            Node::Term { test: Test::Wildcard(w), .. } if w.text == "*base64_decode*"));
        assert!(matches!(
            p("src_ip:10.0.0.0/8"),
            Node::Term {
                test: Test::Cidr(_, 8),
                ..
            }
        ));
        assert!(matches!(p("tls.sni:\"a b:c\""),
            Node::Term { test: Test::Eq(l), .. } if l.text == "a b:c"));
        assert!(matches!(
            p("dest_port:[1 TO 1023]"),
            Node::Term {
                test: Test::Range {
                    lo: Some(_),
                    hi: Some((_, true))
                },
                ..
            }
        ));
        assert!(matches!(
            p("dest_port:{1 TO *]"),
            Node::Term {
                test: Test::Range {
                    lo: Some((_, false)),
                    hi: None
                },
                ..
            }
        ));
        assert!(matches!(
            p("flow.age:>=60"),
            Node::Term {
                test: Test::Range {
                    lo: Some((_, true)),
                    hi: None
                },
                ..
            }
        ));
        assert!(
            matches!(p("_exists_:base64.functions"), Node::Exists(f) if f == "base64.functions")
        );
        assert!(matches!(p("http.status:(200 OR 404)"), Node::Or(_)));
        assert!(matches!(p("a:b\\:c"), Node::Term { test: Test::Eq(l), .. } if l.text == "b:c"));
        assert!(!matches!(
            p("a:b\\*"),
            Node::Term {
                test: Test::Wildcard(_),
                ..
            }
        ));
        assert!(matches!(p("*"), Node::All));
        let Node::Term {
            test: Test::Range {
                hi: Some((l, _)), ..
            },
            ..
        } = p("tls.notafter:<now-1d")
        else {
            panic!()
        };
        assert!(
            l.text.starts_with("20") && l.text.ends_with("+0000"),
            "{}",
            l.text
        );
        let g = Glob::new("*base64_decode*");
        assert!(g.matches("/x.php?c=base64_decode(aa)"));
        assert!(!g.matches("base64-decode"));
        assert!(Glob::new("a?c*").matches("abcdef"));
        assert!(!Glob::new("a\\*").matches("ab"));
        assert!(Glob::new("a\\*").matches("a*"));
        assert!(Glob::new("*.onion").matches("x.y.onion"));
        assert!(!Glob::new("*.onion").matches("onion"));
        assert!(matches!(p("a:*"), Node::Exists(_)));
        assert!(matches!(p("-x:1 y:2"), Node::And(_)));
        assert!(matches!(p("a:x-y"), Node::Term { test: Test::Eq(l), .. } if l.text == "x-y"));
    }

    #[test]
    fn errors_point_at_the_column() {
        assert_eq!(e("a:1 AND bad:2").column, 9);
        assert!(e("a:1 AND bad:2").message.contains("unknown field"));
        assert_eq!(e("(a:1").column, 5);
        assert_eq!(e("a:1)").column, 4);
        assert_eq!(e("a:\"x").column, 3);
        assert_eq!(e("a:[1 2]").column, 6);
        assert_eq!(e("").column, 1);
        assert_eq!(e("a: AND").column, 4);
        assert!(e("OR a:1").message.contains("operator"));
        let deep = "(".repeat(100) + "a:1" + &")".repeat(100);
        assert!(e(&deep).message.contains("nested"));
    }
}
