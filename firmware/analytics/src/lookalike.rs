//! Lookalike domains: homoglyphs, typos and combosquats of the domains an operator protects.
//!
//! A [`Protect`] set is built from the operator's own domains (`amazon.com`, `itau.com.br` …);
//! [`Protect::check`] then takes any name seen on the wire (a DNS query, an HTTP Host, a TLS
//! SNI) and says whether it imitates one of them, how, and how confidently.
//!
//! How a name is compared:
//! 1. It is lowercased, stripped of port and dots at the ends, IDNA-decoded (`xn--` labels) and
//!    split into the registrable label and its public suffix (a built-in rule for the common
//!    two-level ccTLD suffixes such as `co.uk` and `com.br`; otherwise the last label).
//! 2. Names the brand owns (the protected domains, their subdomains, the built-in list of
//!    brand CDNs such as `googleapis.com`, and `!domain` lines of the protect file) never match.
//! 3. Every non-ASCII character becomes the ASCII it looks like ([`visual_ascii`]: the UTS #39
//!    confusables skeletons plus accent stripping, generated into `data/visual-ascii.tsv` by
//!    `ci/gen-confusables`). Three keys are then built per label: *plain* (`0`→`o`, `1`/`i`/`l`
//!    merged), *strict* (plain plus `rn`→`m`, `vv`→`w`) and *full* (strict plus the wider
//!    look-alike classes `c`/`e`, `b`/`d`, `g`/`q`, `u`/`v` …, used only for brands of five
//!    letters or more, where a coincidence is unlikely).
//! 4. The rules, strongest first: same key (homoglyph), same label with hyphens removed
//!    (hyphenation), Damerau distance within the brand's budget (typo: 1 for 4–8 letters, 2 for
//!    9 or more, none for shorter brands) or the same letters reordered (typo, brands of five
//!    letters or more), the brand as a hyphen token or a substring with a
//!    phishing keyword (combosquat), the brand under another registrable domain (subdomain),
//!    the brand spread over several labels (split), and the brand under another suffix
//!    (tld-swap). Homoglyph, hyphenation and typo findings are [`Tier::High`]; the others
//!    [`Tier::Medium`].
//!
//! Every quantity taken from the wire is capped: names longer than [`MAX_NAME_LEN`] and labels
//! longer than [`MAX_LABEL_LEN`] are not compared (they cannot be registered anyway).

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use ahash::{HashMap, HashMapExt};
use serde::Serialize;

/// Longest name compared (the DNS limit).
pub const MAX_NAME_LEN: usize = 253;
/// Longest label compared (the DNS limit).
pub const MAX_LABEL_LEN: usize = 63;
/// Most labels compared in one name.
pub const MAX_LABELS: usize = 16;
/// Most protected domains in one set.
pub const MAX_PROTECTED: usize = 10_000;

/// The generated table of non-ASCII characters that look like ASCII (see `ci/gen-confusables`).
const VISUAL_ASCII_TSV: &str = include_str!("../data/visual-ascii.tsv");

/// Registrable domains that belong to a well-known brand without containing the protected
/// domain itself: CDNs, API hosts and regional sites. A protect file adds its own with `!`.
const BUILTIN_OWNED: &[&str] = &[
    "google-analytics.com",
    "googleadservices.com",
    "googleapis.com",
    "googlesyndication.com",
    "googletagmanager.com",
    "googletagservices.com",
    "googleusercontent.com",
    "googlevideo.com",
    "gstatic.com",
    "google.co.uk",
    "google.com.br",
    "google.de",
    "google.fr",
    "amazonaws.com",
    "amazontrust.com",
    "amazon-adsystem.com",
    "media-amazon.com",
    "ssl-images-amazon.com",
    "amazon.co.uk",
    "amazon.com.br",
    "amazon.de",
    "amazon.fr",
    "amazon.co.jp",
    "paypalobjects.com",
    "paypal-community.com",
    "yahooapis.com",
    "yahoodns.net",
    "yimg.com",
    "adobedtm.com",
    "adobelogin.com",
    "adobe.io",
    "adobess.com",
    "netflix.net",
    "nflxvideo.net",
    "nflximg.net",
    "nflxext.com",
    "steampowered.com",
    "steamcommunity.com",
    "steamstatic.com",
    "steamcontent.com",
    "microsoftonline.com",
    "microsoftstore.com",
    "facebook.net",
    "fbcdn.net",
    "apple-cloudkit.com",
    "applemusic.com",
    "dropboxapi.com",
    "dropboxstatic.com",
    "dropboxusercontent.com",
    "ebaystatic.com",
    "ebayimg.com",
];

/// Second-level labels that, under a two-letter country TLD, form a public suffix
/// (`co.uk`, `com.br`, `ne.jp` …).
const SECOND_LEVEL: &[&str] = &[
    "ac", "co", "com", "edu", "gen", "go", "gob", "gov", "gouv", "int", "ltd", "mil", "ne", "net",
    "nic", "nom", "or", "org", "plc", "sch",
];

/// Words phishers put beside a brand (`amazon-login`, `secure-paypal`).
const KEYWORDS: &[&str] = &[
    "account",
    "accounts",
    "activate",
    "alert",
    "app",
    "auth",
    "bank",
    "banking",
    "billing",
    "center",
    "confirm",
    "customer",
    "help",
    "helpdesk",
    "id",
    "info",
    "invoice",
    "login",
    "logon",
    "mail",
    "my",
    "official",
    "online",
    "pay",
    "payment",
    "portal",
    "recovery",
    "refund",
    "reset",
    "secure",
    "security",
    "service",
    "services",
    "signin",
    "sso",
    "store",
    "support",
    "team",
    "update",
    "verify",
    "verification",
    "wallet",
    "web",
    "www",
];

/// How a name imitates a protected domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The label looks the same (confusable characters, `rn` for `m`, `0` for `o` …).
    Homoglyph,
    /// The label with hyphens or underscores removed is the brand (`ama-zon`).
    Hyphenation,
    /// The label is within a few keystrokes of the brand (omission, insertion, transposition,
    /// replacement, repetition).
    Typo,
    /// The brand (or a near typo of it) next to other words (`amazon-login`, `paypalsecure`).
    Combosquat,
    /// The brand as a label under someone else's registrable domain (`paypal.evil.com`).
    Subdomain,
    /// The brand spread over several labels (`ama.zon.com`).
    Split,
    /// The brand's own label under another suffix (`amazon.er`).
    TldSwap,
}

impl Method {
    /// The name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Homoglyph => "homoglyph",
            Method::Hyphenation => "hyphenation",
            Method::Typo => "typo",
            Method::Combosquat => "combosquat",
            Method::Subdomain => "subdomain",
            Method::Split => "split",
            Method::TldSwap => "tld-swap",
        }
    }

    /// How confident the finding is.
    pub fn tier(self) -> Tier {
        match self {
            Method::Homoglyph | Method::Hyphenation | Method::Typo => Tier::High,
            _ => Tier::Medium,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Confidence of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The name is a plausible imitation but could be a coincidence (a brand word in a longer
    /// name, another suffix).
    Medium,
    /// The name is built to be mistaken for the brand.
    High,
}

/// A lookalike found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The name as checked (lowercase, IDNA-decoded).
    pub domain: String,
    /// The protected domain it imitates.
    pub protected: String,
    /// How.
    pub method: Method,
    /// How confidently.
    pub tier: Tier,
}

/// A bad line of a protect file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// One protected brand, with its keys precomputed.
#[derive(Debug, Clone)]
struct Brand {
    domain: String,
    label: String,
    plain: String,
    strict: String,
    full: String,
    budget: usize,
}

/// The protected domains and everything needed to check names against them.
#[derive(Debug, Clone, Default)]
pub struct Protect {
    brands: Vec<Brand>,
    owned: HashSet<String>,
}

impl Protect {
    /// Parses a protect file: one domain per line; `!domain` marks a domain as owned (never
    /// reported) without protecting it; `#` starts a comment. Bad lines are returned and
    /// skipped.
    pub fn parse(text: &str) -> (Protect, Vec<BadLine>) {
        let mut p = Protect::default();
        let mut bad = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let r = match line.strip_prefix('!') {
                Some(d) => p.add_owned(d),
                None => p.add(line),
            };
            if let Err(reason) = r {
                bad.push(BadLine {
                    line: i + 1,
                    reason,
                });
            }
        }
        (p, bad)
    }

    /// Protects `domain` (e.g. `paypal.com`).
    pub fn add(&mut self, domain: &str) -> Result<(), String> {
        if self.brands.len() >= MAX_PROTECTED {
            return Err(format!("more than {MAX_PROTECTED} protected domains"));
        }
        let name = Name::parse(domain).ok_or_else(|| format!("{domain:?} is not a domain name"))?;
        if !name.subs.is_empty() {
            return Err(format!(
                "{domain:?}: protect the registrable domain ({}.{}), not a subdomain",
                name.reg, name.suffix
            ));
        }
        let label = name.reg_mapped.clone();
        if label.len() < 3 {
            return Err(format!(
                "{domain:?}: a brand label under 3 characters matches too much"
            ));
        }
        let registrable = name.registrable();
        self.owned.insert(registrable.clone());
        if self.brands.iter().any(|b| b.domain == registrable) {
            return Ok(());
        }
        let plain = plain_key(&label);
        let budget = match label.len() {
            0..=3 => 0,
            4..=8 => 1,
            _ => 2,
        };
        self.brands.push(Brand {
            domain: registrable,
            strict: strict_key(&plain),
            full: full_key(&strict_key(&plain)),
            plain,
            label,
            budget,
        });
        Ok(())
    }

    /// Marks `domain` as owned by a brand: it and its subdomains are never reported.
    pub fn add_owned(&mut self, domain: &str) -> Result<(), String> {
        let name = Name::parse(domain).ok_or_else(|| format!("{domain:?} is not a domain name"))?;
        self.owned.insert(name.registrable());
        Ok(())
    }

    /// Whether `name` belongs to a protected brand (a protected or owned registrable domain,
    /// or a built-in brand CDN), so that it is never reported.
    pub fn owns(&self, name: &str) -> bool {
        Name::parse(name).is_some_and(|n| {
            let r = n.registrable();
            self.owned.contains(&r) || BUILTIN_OWNED.contains(&r.as_str())
        })
    }

    /// The protected domains.
    pub fn domains(&self) -> impl Iterator<Item = &str> {
        self.brands.iter().map(|b| b.domain.as_str())
    }

    /// Whether nothing is protected.
    pub fn is_empty(&self) -> bool {
        self.brands.is_empty()
    }

    /// Checks one name seen on the wire. `None` when it imitates nothing (or is owned).
    pub fn check(&self, name: &str) -> Option<Finding> {
        if self.brands.is_empty() {
            return None;
        }
        let n = Name::parse(name)?;
        let registrable = n.registrable();
        if self.owned.contains(&registrable) || BUILTIN_OWNED.contains(&registrable.as_str()) {
            return None;
        }
        let mut best: Option<(Method, &Brand)> = None;
        for b in &self.brands {
            if let Some(m) = n.imitates(b) {
                let better = match best {
                    None => true,
                    Some((bm, _)) => m.tier() > bm.tier(),
                };
                if better {
                    best = Some((m, b));
                    if m.tier() == Tier::High {
                        break;
                    }
                }
            }
        }
        best.map(|(method, b)| Finding {
            domain: n.display,
            protected: b.domain.clone(),
            method,
            tier: method.tier(),
        })
    }
}

/// The registrable domain of `name` (`a.b.example.co.uk` → `example.co.uk`), lowercase and
/// IDNA-decoded, by the same suffix rule the comparisons use; `None` for an address or a
/// name that is not one.
pub fn registrable_domain(name: &str) -> Option<String> {
    Name::parse(name).map(|n| n.registrable())
}

/// A name split for comparison.
#[derive(Debug)]
struct Name {
    /// Lowercase, IDNA-decoded, as reported.
    display: String,
    /// The registrable label as seen (decoded).
    reg: String,
    /// The registrable label mapped to visual ASCII.
    reg_mapped: String,
    /// Labels left of the registrable label, mapped.
    subs: Vec<String>,
    /// The public suffix (`com`, `co.uk`).
    suffix: String,
}

impl Name {
    fn parse(raw: &str) -> Option<Name> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > MAX_NAME_LEN + 8 {
            return None;
        }
        let mut s = raw.to_lowercase();
        // A Host header may carry a port; an IPv6 literal is not a name.
        if s.starts_with('[') {
            return None;
        }
        if let Some((h, port)) = s.rsplit_once(':') {
            if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') {
                s.truncate(h.len());
            }
        }
        let s = s.trim_matches('.');
        if s.is_empty() || s.len() > MAX_NAME_LEN || s.parse::<std::net::IpAddr>().is_ok() {
            return None;
        }
        let decoded = if s.split('.').any(|l| l.starts_with("xn--")) {
            let (u, r) = idna::domain_to_unicode(s);
            if r.is_ok() {
                u
            } else {
                s.to_string()
            }
        } else {
            s.to_string()
        };
        let labels: Vec<&str> = decoded.split('.').collect();
        if labels.len() > MAX_LABELS
            || labels
                .iter()
                .any(|l| l.is_empty() || l.len() > MAX_LABEL_LEN * 4)
        {
            return None;
        }
        let n = labels.len();
        let suffix_len =
            if n >= 3 && labels[n - 1].len() == 2 && SECOND_LEVEL.contains(&labels[n - 2]) {
                2
            } else if n >= 2 {
                1
            } else {
                0
            };
        let suffix = labels[n - suffix_len..].join(".");
        let reg = labels[n - suffix_len - 1].to_string();
        let subs = labels[..n - suffix_len - 1]
            .iter()
            .map(|l| visual(l))
            .collect();
        Some(Name {
            reg_mapped: visual(&reg),
            display: decoded.clone(),
            reg,
            subs,
            suffix,
        })
    }

    fn registrable(&self) -> String {
        if self.suffix.is_empty() {
            self.reg.clone()
        } else {
            format!("{}.{}", self.reg, self.suffix)
        }
    }

    /// How this name imitates `b`, if it does.
    fn imitates(&self, b: &Brand) -> Option<Method> {
        let reg = self.reg_mapped.as_str();
        if reg.len() > MAX_LABEL_LEN {
            return None;
        }
        let plain = plain_key(reg);
        let strict = strict_key(&plain);
        if self.reg == b.label {
            // The brand's own label: another suffix (a different suffix is guaranteed, as the
            // registrable domain is not owned).
            return Some(Method::TldSwap);
        }
        if plain == b.plain || strict == b.strict {
            return Some(Method::Homoglyph);
        }
        let joined: String = reg.chars().filter(|c| *c != '-' && *c != '_').collect();
        let joined_strict = strict_key(&plain_key(&joined));
        if joined != reg && (joined_strict == b.strict || joined == b.label) {
            return Some(Method::Hyphenation);
        }
        if b.label.len() >= 5 && full_key(&strict) == b.full {
            return Some(Method::Homoglyph);
        }
        if within(&strict, &b.strict, b.budget) || within(&plain, &b.plain, b.budget) {
            return Some(Method::Typo);
        }
        if joined != reg && within(&joined_strict, &b.strict, b.budget) {
            return Some(Method::Typo);
        }
        if b.strict.len() >= 5 && is_anagram(&joined_strict, &b.strict) {
            return Some(Method::Typo);
        }
        // Combosquats: the brand as a token, a substring, or a near typo next to a keyword.
        let tokens: Vec<&str> = reg.split(['-', '_']).filter(|t| !t.is_empty()).collect();
        if tokens.len() > 1 {
            for t in &tokens {
                let ts = strict_key(&plain_key(t));
                if ts == b.strict || (t.len() >= 4 && within(&ts, &b.strict, b.budget.min(1))) {
                    return Some(Method::Combosquat);
                }
            }
        }
        if let Some(pos) = joined_strict.find(&b.strict) {
            let rest = format!(
                "{}{}",
                &joined_strict[..pos],
                &joined_strict[pos + b.strict.len()..]
            );
            // Five letters or more rarely occur by chance; a four-letter brand must start or
            // end the label; a shorter one must stand next to a phishing keyword.
            let edge = pos == 0 || pos + b.strict.len() == joined_strict.len();
            if b.strict.len() >= 5
                || (b.strict.len() == 4 && edge && rest.len() >= 2)
                || is_keyword(&rest)
            {
                return Some(Method::Combosquat);
            }
        }
        if b.budget > 0 {
            for k in keywords().iter().filter(|k| k.len() >= 3) {
                let rem = joined_strict
                    .strip_prefix(k.as_str())
                    .or_else(|| joined_strict.strip_suffix(k.as_str()));
                if let Some(rem) = rem {
                    if rem.len() >= 3 && within(rem, &b.strict, b.budget) {
                        return Some(Method::Combosquat);
                    }
                }
            }
        }
        // The brand as another label of the name.
        for s in &self.subs {
            let ss = strict_key(&plain_key(s));
            if ss == b.strict
                || s.split(['-', '_'])
                    .any(|t| strict_key(&plain_key(t)) == b.strict)
            {
                return Some(Method::Subdomain);
            }
        }
        if !self.subs.is_empty() || !self.suffix.is_empty() {
            let mut all: String = self.subs.concat();
            all.push_str(reg);
            let all_strict = strict_key(&plain_key(&all));
            let with_suffix = strict_key(&plain_key(&format!(
                "{all}{}",
                visual(&self.suffix).replace('.', "")
            )));
            if (!self.subs.is_empty()
                && (all_strict == b.strict || within(&all_strict, &b.strict, b.budget)))
                || with_suffix == b.strict
            {
                return Some(Method::Split);
            }
        }
        None
    }
}

/// [`KEYWORDS`] in strict-key form (the form names are compared in).
fn keywords() -> &'static [String] {
    static K: OnceLock<Vec<String>> = OnceLock::new();
    K.get_or_init(|| KEYWORDS.iter().map(|k| strict_key(&plain_key(k))).collect())
}

/// Same letters in another order (`mazoan` for `amazon`).
fn is_anagram(a: &str, b: &str) -> bool {
    if a.len() != b.len() || a == b {
        return false;
    }
    let (mut x, mut y) = (a.as_bytes().to_vec(), b.as_bytes().to_vec());
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

fn is_keyword(s: &str) -> bool {
    s.is_empty() || keywords().iter().any(|k| k == s)
}

/// `a` and `b` are different and within `budget` Damerau (optimal string alignment) edits,
/// with lengths no further apart than the budget allows.
fn within(a: &str, b: &str, budget: usize) -> bool {
    if budget == 0 || a == b {
        return false;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > budget || a.len() > MAX_LABEL_LEN || b.len() > MAX_LABEL_LEN {
        return false;
    }
    osa(a, b) <= budget
}

/// Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a
/// substring). Both inputs are at most [`MAX_LABEL_LEN`] bytes.
fn osa(a: &[u8], b: &[u8]) -> usize {
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, c) in d.iter_mut().take(w).enumerate() {
        *c = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The table from non-ASCII characters to the ASCII they look like.
pub fn visual_ascii() -> &'static HashMap<char, &'static str> {
    static TABLE: OnceLock<HashMap<char, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = HashMap::with_capacity(2600);
        for line in VISUAL_ASCII_TSV.lines() {
            if line.starts_with('#') {
                continue;
            }
            let Some((cp, ascii)) = line.split_once('\t') else {
                continue;
            };
            if let Some(c) = u32::from_str_radix(cp, 16).ok().and_then(char::from_u32) {
                m.insert(c, ascii.trim());
            }
        }
        m
    })
}

/// `s` with every non-ASCII character replaced by the ASCII it looks like (unknown ones kept).
fn visual(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    let t = visual_ascii();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match t.get(&c) {
            Some(a) if !c.is_ascii() => out.push_str(a),
            _ => out.push(c),
        }
    }
    out
}

/// `0`→`o`; `1`, `i`, `l`, `|`, `!` → `l`.
fn plain_key(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | 'i' | 'l' | '|' | '!' => 'l',
            c => c,
        })
        .collect()
}

/// The plain key with `rn`→`m` and `vv`→`w`.
fn strict_key(plain: &str) -> String {
    plain.replace("rn", "m").replace("vv", "w")
}

/// The strict key with the wider look-alike classes merged (`cl`→`d`, `nn` and `rr`→`m`
/// first).
fn full_key(strict: &str) -> String {
    strict
        .replace("cl", "d")
        .replace("nn", "m")
        .replace("rr", "m")
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| match c {
            'c' | '3' => 'e',
            'd' | '8' | '6' => 'b',
            'q' | '9' => 'g',
            'u' => 'v',
            '5' => 's',
            '4' => 'a',
            '7' => 't',
            '2' => 'z',
            'j' => 'l',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protect() -> Protect {
        let (p, bad) = Protect::parse(
            "# brands\namazon.com\npaypal.com\nitau.com.br\nwellsfargo.com\n!amazon-corp.example\nbad..line\n",
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].line, 7);
        p
    }

    fn method(p: &Protect, n: &str) -> Option<Method> {
        p.check(n).map(|f| f.method)
    }

    #[test]
    fn owned_names_are_never_reported() {
        let p = protect();
        for n in [
            "amazon.com",
            "www.amazon.com",
            "AMAZON.COM.",
            "images.amazon.com:443",
            "s3.amazonaws.com",
            "amazon-corp.example",
            "x.amazon-corp.example",
            "example.org",
            "10.1.2.3",
            "[::1]:80",
            "",
            "localhost",
        ] {
            assert_eq!(p.check(n), None, "{n}");
        }
    }

    #[test]
    fn each_method_is_recognised() {
        let p = protect();
        assert_eq!(method(&p, "arnazon.com"), Some(Method::Homoglyph));
        assert_eq!(method(&p, "paypa1.com"), Some(Method::Homoglyph));
        assert_eq!(
            method(&p, "xn--mazon-i11b.com"),
            Some(Method::Homoglyph),
            "ạmazon"
        );
        assert_eq!(
            method(&p, "аmazon.com"),
            Some(Method::Homoglyph),
            "Cyrillic a"
        );
        assert_eq!(method(&p, "ama-zon.com"), Some(Method::Hyphenation));
        assert_eq!(method(&p, "amazno.com"), Some(Method::Typo));
        assert_eq!(method(&p, "amazoon.net"), Some(Method::Typo));
        assert_eq!(method(&p, "welsfargoo.com"), Some(Method::Typo));
        assert_eq!(method(&p, "itua.com.br"), Some(Method::Typo));
        assert_eq!(method(&p, "amazon-login.com"), Some(Method::Combosquat));
        assert_eq!(method(&p, "securepaypal.net"), Some(Method::Combosquat));
        assert_eq!(method(&p, "itaulogin.com"), Some(Method::Combosquat));
        assert_eq!(
            method(&p, "paypal.account-check.info"),
            Some(Method::Subdomain)
        );
        assert_eq!(method(&p, "ama.zon.com"), Some(Method::Split));
        assert_eq!(method(&p, "it.au"), Some(Method::Split));
        assert_eq!(method(&p, "amazon.er"), Some(Method::TldSwap));
        assert_eq!(method(&p, "itau.com"), Some(Method::TldSwap));
        let f = p.check("www.PAYPA1.com").unwrap();
        assert_eq!(f.protected, "paypal.com");
        assert_eq!(f.tier, Tier::High);
        assert_eq!(f.domain, "www.paypa1.com");
    }

    #[test]
    fn unrelated_names_pass() {
        let p = protect();
        for n in ["iata.org", "google.com", "amazing.com", "paris.fr"] {
            assert_eq!(p.check(n), None, "{n}");
        }
    }

    #[test]
    fn hostile_names_do_not_panic() {
        let p = protect();
        let long = "a".repeat(5000);
        for n in [
            long.as_str(),
            "xn--",
            "xn--zz.com",
            "....",
            ":::",
            "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u",
            "\u{0}\u{ffff}.com",
            "ǅ.com",
        ] {
            let _ = p.check(n);
        }
        let (e, bad) = Protect::parse("ab.com\n");
        assert!(e.is_empty());
        assert_eq!(bad.len(), 1);
    }

    #[test]
    fn osa_counts_transpositions_once() {
        assert_eq!(osa(b"amazon", b"amzaon"), 1);
        assert_eq!(osa(b"amazon", b"amazon"), 0);
        assert_eq!(osa(b"", b"abc"), 3);
        assert_eq!(osa(b"paypal", b"paypall"), 1);
    }
}
