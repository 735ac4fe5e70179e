//! The field catalog: which names a filter may use, and the nearest one to a typo.

use std::sync::OnceLock;

/// Longest field name a suggestion is looked for (edit distances cost length squared).
const MAX_SUGGEST_LEN: usize = 64;

/// The catalog, one path per line (see the file's header).
const CATALOG: &str = include_str!("../fields.txt");

struct Catalog {
    exact: std::collections::HashSet<&'static str>,
    prefixes: Vec<&'static str>,
    names: Vec<&'static str>,
}

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let mut exact = std::collections::HashSet::new();
        let mut prefixes = Vec::new();
        let mut names = Vec::new();
        for l in CATALOG.lines() {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            names.push(l);
            match l.strip_suffix(".*") {
                Some(p) => {
                    prefixes.push(p);
                    exact.insert(p);
                }
                None => {
                    exact.insert(l);
                }
            }
        }
        Catalog {
            exact,
            prefixes,
            names,
        }
    })
}

/// Whether `field` names an EVE field (or a derived one).
pub fn is_known(field: &str) -> bool {
    let c = catalog();
    c.exact.contains(field)
        || c.prefixes.iter().any(|p| {
            field.len() > p.len() && field.starts_with(p) && field.as_bytes()[p.len()] == b'.'
        })
}

/// The known field nearest to `field`, if any is close.
pub fn suggest(field: &str) -> Option<&'static str> {
    let c = catalog();
    if field.len() > MAX_SUGGEST_LEN {
        return None;
    }
    let mut best: Option<(f64, &'static str)> = None;
    for n in &c.names {
        let n = n.strip_suffix(".*").unwrap_or(n);
        // Names of very different length are never near: skip the edit distance.
        if n.len().abs_diff(field.len()) > 4 {
            continue;
        }
        let score = strsim::normalized_damerau_levenshtein(field, n)
            .max(strsim::jaro_winkler(field, n) - 0.1);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, n));
        }
    }
    best.filter(|(s, _)| *s >= 0.6).map(|(_, n)| n)
}

/// The check handed to the query parser: unknown fields are errors with a suggestion.
pub fn check(field: &str) -> Result<(), String> {
    if is_known(field) {
        return Ok(());
    }
    Err(match suggest(field) {
        Some(s) => format!("unknown field `{field}`; did you mean `{s}`?"),
        None => format!("unknown field `{field}`"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_fields_and_suggestions() {
        for f in [
            "event_type",
            "http.status",
            "http.url",
            "tls.sni",
            "dns.answers.rdata",
            "base64.functions",
            "alert.metadata.signature_severity",
            "src_ip",
        ] {
            assert!(is_known(f), "{f}");
        }
        assert!(!is_known("http.stauts"));
        assert_eq!(suggest("http.stauts"), Some("http.status"));
        assert_eq!(suggest("tls.snii"), Some("tls.sni"));
        let e = check("htp.url").unwrap_err();
        assert!(e.contains("did you mean `http.url`"), "{e}");
    }
}
