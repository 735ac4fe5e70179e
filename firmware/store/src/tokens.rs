//! Field tokens: the values a block summary remembers so that a hunt can skip blocks.
//!
//! Every event is walked once at ingest. For each path (dotted object keys; array elements take
//! their array's path) the block records an *exists* token, and for each scalar a *value* token
//! of the folded value ([`fold`]). A query that needs `http.status:200` asks the block's bloom
//! filter for `value_token("http.status", "200")`; "absent" is certain, "present" only likely.
//!
//! Invariant (what makes pruning safe): a query term may be turned into a token only if every
//! event that satisfies the term produced that token. Hence the folding is the same function on
//! both sides, and long values are folded to a prefix (equal values have equal prefixes).

use std::collections::HashSet;

use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Longest folded value, in bytes: longer values are cut (at a character boundary) before
/// hashing, so a block's token set stays small whatever the events carry.
pub const MAX_TOKEN_VALUE: usize = 128;

/// Deepest nesting walked; deeper values produce no tokens (queries on them are never pruned,
/// see [`may_hold`](crate::Bloom::may_hold): their exists token is missing, so hunts must treat
/// paths deeper than this as unprunable).
pub const MAX_TOKEN_DEPTH: usize = 16;

const SEED_VALUE: u64 = 0x6e64_725f_7661_6c31; // "ndr_val1"
const SEED_EXISTS: u64 = 0x6e64_725f_6578_7331; // "ndr_exs1"

/// Case-folds a value for comparison and tokens: Unicode lower case, cut to
/// [`MAX_TOKEN_VALUE`] bytes at a character boundary.
pub fn fold(s: &str) -> String {
    let mut f = if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    };
    if f.len() > MAX_TOKEN_VALUE {
        let mut cut = MAX_TOKEN_VALUE;
        while !f.is_char_boundary(cut) {
            cut -= 1;
        }
        f.truncate(cut);
    }
    f
}

/// A hasher for token sets: tokens are already uniform 64-bit hashes, so hashing them again
/// (SipHash) would only cost time.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokenHasher(u64);

impl std::hash::Hasher for TokenHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A set of tokens.
pub type TokenSet = HashSet<u64, std::hash::BuildHasherDefault<TokenHasher>>;

/// The token for "`path` has the (already folded) value `folded`".
pub fn value_token(path: &str, folded: &str) -> u64 {
    let h = xxh3_64_with_seed(path.as_bytes(), SEED_VALUE);
    xxh3_64_with_seed(folded.as_bytes(), h)
}

/// The token for "`path` exists".
pub fn exists_token(path: &str) -> u64 {
    xxh3_64_with_seed(path.as_bytes(), SEED_EXISTS)
}

/// The canonical text of a scalar, as tokens see it (`None` for null, objects and arrays).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(fold(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "true" } else { "false" }.to_owned()),
        _ => None,
    }
}

/// Adds the tokens of `ev` to `out`.
pub fn event_tokens(ev: &Value, out: &mut TokenSet) {
    let mut path = String::with_capacity(64);
    walk(ev, &mut path, 0, out);
}

fn walk(v: &Value, path: &mut String, depth: usize, out: &mut TokenSet) {
    if depth > MAX_TOKEN_DEPTH {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                out.insert(exists_token(path));
                walk(child, path, depth + 1, out);
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            for child in a {
                walk(child, path, depth + 1, out);
            }
        }
        Value::String(s)
            if s.len() <= MAX_TOKEN_VALUE
                && !s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) =>
        {
            // Already folded: no copy.
            out.insert(value_token(path, s));
        }
        _ => {
            if let Some(t) = scalar_text(v) {
                out.insert(value_token(path, &t));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_cover_paths_arrays_and_folded_values() {
        let ev = serde_json::json!({
            "event_type": "http",
            "http": {"status": 200, "hostname": "WWW.Example.COM"},
            "dns": {"answers": [{"rdata": "1.2.3.4"}, {"rdata": "5.6.7.8"}]},
        });
        let mut t = TokenSet::default();
        event_tokens(&ev, &mut t);
        assert!(t.contains(&value_token("event_type", "http")));
        assert!(t.contains(&value_token("http.status", "200")));
        assert!(t.contains(&value_token("http.hostname", "www.example.com")));
        assert!(t.contains(&value_token("dns.answers.rdata", "5.6.7.8")));
        assert!(t.contains(&exists_token("dns.answers")));
        assert!(t.contains(&exists_token("http")));
        assert!(!t.contains(&value_token("http.status", "404")));
        assert!(!t.contains(&exists_token("tls")));
    }

    #[test]
    fn fold_cuts_at_a_char_boundary() {
        let long = "é".repeat(100);
        let f = fold(&long);
        assert!(f.len() <= MAX_TOKEN_VALUE);
        assert!(long.starts_with(&f));
        assert_eq!(fold("AbC"), "abc");
    }
}
