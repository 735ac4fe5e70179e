//! Lookalike acceptance figures on the shared corpus (issue 7, acceptance 1): recall on the
//! DIAHPhish labelled terms of the odd-numbered brands and on dnstwist-style variants of the
//! same brands, and false positives over the names seen in the corpus captures (the DNS
//! queries, HTTP hosts and TLS SNIs of Suricata 7's reference EVE output).
//!
//! Skipped (with a message) when `../shared/corpus` is absent; `PROBE_CORPUS` overrides the path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use analytics::lookalike::Protect;

/// DIAHPhish brand name → the domain a customer would protect.
const BRAND_DOMAINS: &[(&str, &str)] = &[
    ("amazon", "amazon.com"),
    ("google", "google.com"),
    ("paypal", "paypal.com"),
    ("halifax", "halifax.co.uk"),
    ("itau", "itau.com.br"),
    ("rakuten", "rakuten.co.jp"),
    ("wellsfargo", "wellsfargo.com"),
    ("netflix", "netflix.com"),
    ("yahoo", "yahoo.com"),
    ("adobe", "adobe.com"),
    ("americanas", "americanas.com.br"),
    ("steam", "steam.com"),
    ("bradesco", "bradesco.com.br"),
    ("santander", "santander.com"),
    ("hsbc", "hsbc.com"),
];

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("PROBE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if dir.join("lookalike").is_dir() {
        Some(dir)
    } else {
        eprintln!("lookalike_corpus: ../shared/corpus not found; skipped");
        None
    }
}

fn protect() -> Protect {
    let mut p = Protect::default();
    for (_, d) in BRAND_DOMAINS {
        p.add(d).unwrap();
    }
    p
}

fn dict(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .map(str::to_string)
        .collect()
}

/// Keys next to each other on a QWERTY keyboard (for replacement and insertion variants).
fn neighbours(c: char) -> &'static str {
    match c {
        'q' => "12wa",
        'w' => "23qeas",
        'e' => "34wrsd",
        'r' => "45etdf",
        't' => "56ryfg",
        'y' => "67tugh",
        'u' => "78yihj",
        'i' => "89uojk",
        'o' => "90ipkl",
        'p' => "0ol",
        'a' => "qwsz",
        's' => "weadzx",
        'd' => "ersfxc",
        'f' => "rtdgcv",
        'g' => "tyfhvb",
        'h' => "yugjbn",
        'j' => "uihknm",
        'k' => "iojlm",
        'l' => "opk",
        'z' => "asx",
        'x' => "sdzc",
        'c' => "dfxv",
        'v' => "fgcb",
        'b' => "ghvn",
        'n' => "hjbm",
        'm' => "jkn",
        _ => "",
    }
}

/// Characters that look like `c` (ASCII and Unicode), for homoglyph variants.
fn glyphs(c: char) -> &'static [&'static str] {
    match c {
        'a' => &["à", "á", "â", "ã", "ä", "å", "ɑ", "а", "ạ", "4"],
        'b' => &["d", "lb", "ʙ", "ɓ", "ḃ", "ḅ", "ь"],
        'c' => &["e", "ƈ", "ċ", "ć", "ç", "с"],
        'd' => &["b", "cl", "dl", "ɗ", "đ", "ď", "ԁ"],
        'e' => &["c", "é", "ê", "ë", "ē", "ė", "е", "3"],
        'g' => &["q", "ɢ", "ɡ", "ġ", "ğ", "ǵ", "ģ"],
        'h' => &["lh", "ĥ", "ȟ", "ħ", "һ"],
        'i' => &["1", "l", "í", "ï", "ı", "ɩ", "ǐ", "ĭ", "і"],
        'k' => &["lk", "ik", "lc", "ḳ", "ķ", "κ"],
        'l' => &["1", "i", "ɫ", "ł", "ӏ"],
        'm' => &["n", "nn", "rn", "rr", "ṃ", "ṁ", "м"],
        'n' => &["m", "r", "ń", "ñ", "ň", "ņ", "ṅ"],
        'o' => &["0", "ο", "о", "ö", "ó", "ò", "ø", "ō"],
        'p' => &["ρ", "р", "ƿ", "þ"],
        'q' => &["g", "զ", "ԛ"],
        'r' => &["ʀ", "ɼ", "ɽ", "ŕ", "ř", "г"],
        's' => &["ʂ", "ś", "ṣ", "ş", "ș", "ѕ", "5"],
        't' => &["ţ", "ŧ", "ṫ", "ț", "7"],
        'u' => &["μ", "υ", "ü", "ú", "ù", "ū"],
        'v' => &["ѵ", "ν", "ṿ", "ⅴ"],
        'w' => &["vv", "ŵ", "ẁ", "ẃ", "ẅ", "ԝ"],
        'x' => &["ẋ", "ẍ", "х"],
        'y' => &["ʏ", "ý", "ÿ", "ŷ", "у"],
        'z' => &["ʐ", "ż", "ź", "ᴢ", "2"],
        _ => &[],
    }
}

/// dnstwist-style variants of `label` under `suffix`, by fuzzer (our own generator, written
/// from the fuzzers' published descriptions).
fn variants(
    label: &str,
    suffix: &str,
    words: &[String],
    tlds: &[String],
) -> BTreeMap<&'static str, BTreeSet<String>> {
    let chars: Vec<char> = label.chars().collect();
    let n = chars.len();
    let s = |v: Vec<char>| v.into_iter().collect::<String>();
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut add = |f: &'static str, l: String| {
        out.entry(f).or_default().insert(format!("{l}.{suffix}"));
    };
    for c in "abcdefghijklmnopqrstuvwxyz0123456789".chars() {
        add("addition", format!("{label}{c}"));
    }
    for i in 0..n {
        for bit in 0..8 {
            let f = char::from((chars[i] as u8) ^ (1 << bit));
            if f.is_ascii_lowercase() || f.is_ascii_digit() || f == '-' {
                let mut v = chars.clone();
                v[i] = f;
                add("bitsquatting", s(v));
            }
        }
        for g in glyphs(chars[i]) {
            let mut v: Vec<char> = chars[..i].to_vec();
            v.extend(g.chars());
            v.extend(&chars[i + 1..]);
            add("homoglyph", s(v));
        }
        if i > 0 {
            let mut v = chars.clone();
            v.insert(i, '-');
            add("hyphenation", s(v.clone()));
            let mut v = chars.clone();
            v.insert(i, '.');
            add("subdomain", s(v));
        }
        for k in neighbours(chars[i]).chars() {
            let mut v = chars.clone();
            v.insert(i + 1, k);
            add("insertion", s(v));
            let mut v = chars.clone();
            v.insert(i, k);
            add("insertion", s(v));
            let mut v = chars.clone();
            v[i] = k;
            add("replacement", s(v));
        }
        let mut v = chars.clone();
        v.remove(i);
        add("omission", s(v));
        let mut v = chars.clone();
        v.insert(i, chars[i]);
        add("repetition", s(v));
        if i + 1 < n {
            let mut v = chars.clone();
            v.swap(i, i + 1);
            add("transposition", s(v));
        }
        if "aeiou".contains(chars[i]) {
            for o in "aeiou".chars() {
                let mut v = chars.clone();
                v[i] = o;
                add("vowel-swap", s(v));
            }
        }
    }
    for w in words {
        for l in [
            format!("{label}{w}"),
            format!("{label}-{w}"),
            format!("{w}{label}"),
            format!("{w}-{label}"),
        ] {
            add("dictionary", l);
        }
    }
    for t in tlds {
        out.entry("tld-swap")
            .or_default()
            .insert(format!("{label}.{t}"));
    }
    out
}

#[test]
fn lookalike_recall_and_false_positives_on_the_corpus() {
    let Some(corpus) = corpus() else { return };
    let dir = corpus.join("lookalike");
    let p = protect();

    // 1. DIAHPhish labelled terms (every row is a lookalike of its brand).
    let mut brands = BTreeMap::new();
    let mut r = csv::Reader::from_path(dir.join("diahphish-odd-brands/brands.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        brands.insert(rec[0].to_string(), rec[1].to_string());
    }
    let mut r = csv::Reader::from_path(dir.join("diahphish-odd-brands/homographs.csv")).unwrap();
    let (mut total, mut found, mut same) = (0usize, 0usize, 0usize);
    let mut missed = Vec::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let Some(brand) = brands.get(rec[1].trim()) else {
            continue;
        };
        let Some((_, domain)) = BRAND_DOMAINS.iter().find(|(b, _)| b == brand) else {
            continue;
        };
        let term = rec[0].trim().to_lowercase();
        // A term is a label (`amaozon`) or a name (`amazon.er`); a bare label is a `.com`.
        let name = if term.trim_matches('.').contains('.') {
            term.trim_matches('.').to_string()
        } else {
            format!("{}.com", term.trim_matches('.'))
        };
        if term.trim_matches('.') == *brand || name == *domain {
            same += 1; // the brand itself, not a lookalike
            continue;
        }
        total += 1;
        match p.check(&name) {
            Some(f) if f.protected == *domain => found += 1,
            other => missed.push(format!("{name} ({brand}): {other:?}")),
        }
    }
    let recall = found as f64 / total as f64;
    eprintln!(
        "diahphish: {found}/{total} found, recall {recall:.4} ({same} rows are the brand itself)"
    );
    for m in missed.iter().take(40) {
        eprintln!("  missed {m}");
    }

    // 2. dnstwist-style variants of the same brands.
    let words = dict(&dir.join("dnstwist-dictionaries/english.dict"));
    let tlds = dict(&dir.join("dnstwist-dictionaries/common_tlds.dict"));
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut twist_missed = Vec::new();
    for (label, domain) in BRAND_DOMAINS {
        let suffix = domain.split_once('.').unwrap().1;
        for (fuzzer, names) in variants(label, suffix, &words, &tlds) {
            for name in names {
                if p.owns(&name) {
                    continue;
                }
                let e = per.entry(fuzzer).or_default();
                e.0 += 1;
                match p.check(&name) {
                    Some(f) if f.protected == *domain => e.1 += 1,
                    other => twist_missed.push(format!("{fuzzer} {name}: {other:?}")),
                }
            }
        }
    }
    let (t_total, t_found) = per.values().fold((0, 0), |(a, b), (t, f)| (a + t, b + f));
    let t_recall = t_found as f64 / t_total as f64;
    eprintln!("dnstwist-style: {t_found}/{t_total} found, recall {t_recall:.4}");
    for (f, (t, k)) in &per {
        eprintln!("  {f:<14} {k}/{t}");
    }
    for m in twist_missed.iter().take(40) {
        eprintln!("  missed {m}");
    }

    // 3. False positives: names seen in the corpus captures.
    let mut seen = BTreeSet::new();
    for sub in ["suricata-verify/reference-eve-suricata-7.0.10"] {
        let Ok(rd) = std::fs::read_dir(corpus.join(sub)) else {
            continue;
        };
        for e in rd.flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                for ptr in [
                    "/dns/rrname",
                    "/dns/query/0/rrname",
                    "/http/hostname",
                    "/tls/sni",
                ] {
                    if let Some(s) = v.pointer(ptr).and_then(|s| s.as_str()) {
                        seen.insert(s.to_lowercase());
                    }
                }
            }
        }
    }
    let fps: Vec<_> = seen.iter().filter_map(|n| p.check(n)).collect();
    let fp_rate = fps.len() as f64 / seen.len().max(1) as f64;
    eprintln!(
        "false positives: {}/{} capture names ({:.4}%)",
        fps.len(),
        seen.len(),
        fp_rate * 100.0
    );
    for f in &fps {
        eprintln!("  fp {f:?}");
    }

    assert!(recall >= 0.99, "diahphish recall {recall:.4} < 0.99");
    assert!(
        t_recall >= 0.99,
        "dnstwist-style recall {t_recall:.4} < 0.99"
    );
    assert!(fp_rate <= 0.001, "false-positive rate {fp_rate:.4} > 0.1%");
}
