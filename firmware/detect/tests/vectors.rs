//! Behaviour tests with named vectors. `firmware/testdata/vectors/rules/suricata-accepts.rules`
//! and `suricata-rejects.rules` were checked line by line with `suricata -T` (7.0.10): every
//! rule of the first loads there, every rule of the second is rejected there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use detect::{load_rules_from_bytes, Buffer, LoadReport, Match, Transform};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/vectors/rules")
}

fn load(text: &str) -> LoadReport {
    load_rules_from_bytes(
        Path::new("t.rules"),
        text.as_bytes(),
        &BTreeMap::new(),
        Path::new("/nonexistent"),
    )
}

fn load_vars(text: &[u8], vars: &[(&str, &str)]) -> LoadReport {
    let m: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_rules_from_bytes(Path::new("t.rules"), text, &m, Path::new("/nonexistent"))
}

fn one_error(text: &str) -> detect::Failure {
    let r = load(text);
    assert!(r.rules.is_empty(), "expected a failure for {text}");
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    r.failures.into_iter().next().unwrap()
}

#[test]
fn suricata_accepts_vectors_all_load() {
    let p = vectors().join("suricata-accepts.rules");
    let data = std::fs::read(&p).unwrap();
    let r = load_rules_from_bytes(&p, &data, &BTreeMap::new(), Path::new("/nonexistent"));
    assert!(r.failures.is_empty(), "{:#?}", r.failures);
    assert_eq!(r.rules.len(), 295);
}

#[test]
fn suricata_rejects_vectors_all_fail() {
    let p = vectors().join("suricata-rejects.rules");
    let data = std::fs::read(&p).unwrap();
    let r = load_rules_from_bytes(&p, &data, &BTreeMap::new(), Path::new("/nonexistent"));
    let loaded: Vec<_> = r
        .rules
        .iter()
        .map(|r| (r.source.line, r.source.text.clone()))
        .collect();
    assert!(loaded.is_empty(), "{loaded:#?}");
    assert_eq!(r.failures.len(), 230);
    for f in &r.failures {
        assert!(!f.reason.is_empty() && !f.keyword.is_empty(), "{f:?}");
        assert!(!f.reason.contains('\n'));
    }
}

#[test]
fn failure_names_keyword_and_sid() {
    let f = one_error("alert tcp any any -> any any (msg:\"x\"; nocase; sid:7;)");
    assert_eq!(f.keyword, "nocase");
    assert_eq!(f.sid, Some(7));
    assert_eq!(f.line, 1);
    let f = one_error("alert tcp any any -> any any (msg:\"x\"; foo:bar; sid:8;)");
    assert_eq!(f.keyword, "foo");
    assert!(f.reason.contains("unknown rule keyword"));
    let f = one_error("alert tcp any any -> any any (msg:\"x\"; content:\"a\";)");
    assert_eq!(f.keyword, "sid");
    let f = one_error("alert tcp any any -> any any (msg:\"x\"; pcre:\"/a(b/\"; sid:9;)");
    assert_eq!(f.keyword, "pcre");
    assert!(f.reason.contains("offset 3"), "{}", f.reason);
}

#[test]
fn failing_rule_does_not_stop_others_and_lines_are_kept() {
    let text = "# comment\n\nalert tcp any any -> any any (msg:\"a\"; sid:1;)\nalert tcp any any -> any any (msg:\"b\"; \\\n  content:\"x\"; nocase; nocase; sid:2;)\n  alert tcp indented is ignored\nalert tcp any any -> any any (msg:\"c\"; \\\n sid:3;)\n";
    let r = load(text);
    assert_eq!(
        r.rules.iter().map(|r| r.sid).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(r.rules[1].source.line, 7);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].line, 4);
    assert_eq!(r.failures[0].sid, Some(2));
}

#[test]
fn duplicate_sid_like_suricata() {
    let text = "alert tcp any any -> any any (msg:\"a\"; sid:1; rev:1;)\n\
alert tcp any any -> any any (msg:\"b\"; sid:1; rev:2;)\n\
alert tcp any any -> any any (msg:\"c\"; sid:1; rev:2;)\n\
alert tcp any any -> any any (msg:\"d\"; sid:1; gid:2;)\n";
    let r = load(text);
    // rev 2 replaces rev 1, the second rev 2 is rejected, gid 2 is a different signature.
    assert_eq!(
        r.rules
            .iter()
            .map(|r| r.msg.clone().unwrap())
            .collect::<Vec<_>>(),
        vec!["b", "d"]
    );
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].line, 3);
    assert!(r.warnings.iter().any(|w| w.contains("replaces")));
}

#[test]
fn requires_skips_not_fails() {
    let r = load(
        "alert tcp any any -> any any (msg:\"a\"; requires: version >= 8; nocase; sid:1;)\n\
alert tcp any any -> any any (msg:\"b\"; requires: feature ja4, version >= 7.0.3; sid:2;)\n",
    );
    assert_eq!(r.rules.len(), 1);
    assert_eq!(r.skipped.len(), 1);
    assert!(r.failures.is_empty());
}

#[test]
fn json_report_shape() {
    let r = load("alert tcp any any -> any any (msg:\"a\"; sid:1;)\nalert tcp any any -> any any (msg:\"b\"; nocase; sid:2;)\n");
    let j = r.to_json();
    assert_eq!(j["loaded"], 1);
    assert_eq!(j["failed"], 1);
    let f = &j["failures"][0];
    assert_eq!(f["file"], "t.rules");
    assert_eq!(f["line"], 2);
    assert_eq!(f["sid"], 2);
    assert_eq!(f["keyword"], "nocase");
    assert!(f["reason"].as_str().unwrap().contains("content"));
}

#[test]
fn ast_buffers_and_modifiers() {
    let r = detect::parse_rule_str(
        "alert http $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:\"x\"; flow:established,to_server; \
content:\"GET\"; http_method; content:\"/a\"; http_uri; fast_pattern; http.header; to_lowercase; \
content:\"host|3a|\"; nocase; content:\"evil\"; distance:0; within:20; pkt_data; content:\"x\"; \
depth:10; pcre:\"/b/R\"; byte_extract:2,0,len,relative; byte_test:2,>,len,0,relative; \
isdataat:!1,relative; classtype:trojan-activity; sid:10; rev:3; metadata:created_at 2020, tag x;)",
    )
    .unwrap();
    assert_eq!(r.sid, 10);
    assert_eq!(r.rev, 3);
    assert_eq!(r.app_proto, Some(detect::AppProto::Http));
    assert!(r.flow.unwrap().to_server);
    let names: Vec<_> = r.buffers.iter().map(|b| b.buffer).collect();
    assert_eq!(
        names,
        vec![
            Buffer::HttpMethod,
            Buffer::HttpUri,
            Buffer::HttpHeader,
            Buffer::Payload
        ]
    );
    let uri = &r.buffers[1];
    let Match::Content(c) = &uri.matches[0].item else {
        panic!()
    };
    assert_eq!(c.pattern, b"/a");
    assert!(c.fast_pattern.is_some());
    let hdr = &r.buffers[2];
    assert_eq!(hdr.transforms, vec![Transform::ToLowercase]);
    let Match::Content(c) = &hdr.matches[1].item else {
        panic!()
    };
    assert_eq!(c.within, Some(detect::Value::Lit(20)));
    let payload = &r.buffers[3];
    assert!(matches!(payload.matches[1].item, Match::Pcre(ref p) if p.relative));
    assert!(
        matches!(payload.matches[3].item, Match::ByteTest(ref t) if t.value == detect::Value::Var("len".into()))
    );
    assert_eq!(
        r.metadata,
        vec![
            ("created_at".into(), "2020".into()),
            ("tag".into(), "x".into())
        ]
    );
    // Every item keeps its option offset in the rule text.
    let off = payload.matches[1].offset;
    assert!(r.source.text[off..].starts_with("pcre"));
    assert!(r.src.set.contains("10.0.0.1".parse().unwrap()));
    assert!(!r.dst.set.contains("10.0.0.1".parse().unwrap()));
    assert!(r.dst_ports.set.contains(80));
}

#[test]
fn pcre_flags_pick_buffers() {
    let r = detect::parse_rule_str(
        "alert http any any -> any any (msg:\"x\"; pcre:\"/a/Ui\"; pcre:\"/b/P\"; sid:1;)",
    )
    .unwrap();
    assert_eq!(r.buffers[0].buffer, Buffer::HttpUri);
    assert_eq!(r.buffers[1].buffer, Buffer::HttpRequestBody);
    // `Q` and http.response_body are file.data in Suricata 7; mixing with a request buffer fails.
    let q = detect::parse_rule_str("alert http any any -> any any (msg:\"x\"; http.response_body; content:\"a\"; pcre:\"/b/QR\"; sid:1;)").unwrap();
    assert_eq!(q.buffers[0].buffer, Buffer::FileData);
    assert!(detect::parse_rule_str(
        "alert http any any -> any any (msg:\"x\"; pcre:\"/a/U\"; pcre:\"/b/Q\"; sid:1;)"
    )
    .is_err());
    let (_, p) = r.pcres().next().unwrap();
    assert!(p.caseless);
    assert!(p.regex.is_match(b"xAx").unwrap());
}

#[test]
fn classification_gives_priority() {
    let dir = std::env::temp_dir().join(format!("detect-class-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("classification.config");
    std::fs::write(
        &c,
        "config classification: trojan-activity,A Network Trojan was detected,1\n",
    )
    .unwrap();
    let rules = dir.join("a.rules");
    std::fs::write(
        &rules,
        "alert tcp any any -> any any (msg:\"a\"; classtype:trojan-activity; sid:1;)\n\
alert tcp any any -> any any (msg:\"b\"; classtype:trojan-activity; priority:4; sid:2;)\n",
    )
    .unwrap();
    let r = detect::load_rule_files(
        &[rules, dir.join("missing.rules")],
        &BTreeMap::new(),
        Some(&c),
    );
    assert_eq!(r.rules[0].priority, Some(1));
    assert_eq!(r.rules[1].priority, Some(4));
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].keyword, "file");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dataset_paths_relative_to_rules_dir() {
    let dir = std::env::temp_dir().join(format!("detect-ds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ua.lst"), "").unwrap();
    let rules = dir.join("d.rules");
    std::fs::write(&rules, "alert http any any -> any any (msg:\"a\"; http.user_agent; dataset:isset,ua,type string,load ua.lst,memcap 10mb,hashsize 1024; sid:1;)\n\
alert http any any -> any any (msg:\"b\"; http.user_agent; dataset:isset,ua,type string,load nope.lst; sid:2;)\n\
alert http any any -> any any (msg:\"c\"; http.user_agent; dataset:isset,ua,type string,load ../etc/passwd; sid:3;)\n").unwrap();
    let r = detect::load_rule_files(&[rules], &BTreeMap::new(), None);
    assert_eq!(r.rules.len(), 1);
    let Match::Dataset(d) = &r.rules[0].buffers[0].matches[0].item else {
        panic!()
    };
    assert_eq!(d.load.as_deref(), Some(dir.join("ua.lst").as_path()));
    assert_eq!(d.memcap, Some(10 << 20));
    assert_eq!(r.failures.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

fn bounded(f: impl FnOnce()) {
    let t = Instant::now();
    f();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn hostile_unbalanced_quotes() {
    bounded(|| {
        let f = one_error("alert tcp any any -> any any (msg:\"abc; sid:1;)");
        assert_eq!(f.keyword, "msg");
        let f = one_error("alert tcp any any -> any any (msg:\"a\"; content:\"abc; sid:2;)");
        assert_eq!(f.keyword, "content");
    });
}

#[test]
fn hostile_huge_pcre_and_content_and_line() {
    bounded(|| {
        let pcre = format!(
            "alert tcp any any -> any any (msg:\"x\"; pcre:\"/{}/\"; sid:1;)",
            "a".repeat(10 << 20)
        );
        let f = one_error(&pcre);
        assert!(f.reason.contains("MAX_RULE_LEN"), "{}", f.reason);
        assert_eq!(f.sid, Some(1));
        let content = format!(
            "alert tcp any any -> any any (msg:\"x\"; content:\"{}\"; sid:2;)",
            "|41|".repeat(100_000)
        );
        assert!(one_error(&content).reason.contains("MAX_RULE_LEN"));
        let line = "x".repeat(1 << 20);
        assert!(one_error(&line).reason.contains("MAX_RULE_LEN"));
    });
}

#[test]
fn hostile_catastrophic_regex_is_bounded() {
    let r = detect::parse_rule_str(
        "alert tcp any any -> any any (msg:\"x\"; pcre:\"/(a+)+$/\"; sid:1;)",
    )
    .unwrap();
    let (_, p) = r.pcres().next().unwrap();
    let mut subject = vec![b'a'; 4096];
    subject.push(b'!');
    bounded(|| {
        // Hits the match limit: an error or no match, never a hang.
        let m = p.regex.is_match(&subject);
        assert!(!matches!(m, Ok(true)));
    });
}

#[test]
fn hostile_recursive_and_exploding_variables() {
    bounded(|| {
        let r = load_vars(
            b"alert tcp $A any -> any any (msg:\"x\"; sid:1;)\n",
            &[
                ("vars.address-groups.A", "[$B,1.1.1.1]"),
                ("vars.address-groups.B", "!$A"),
            ],
        );
        assert!(
            r.failures[0].reason.contains("refers to itself"),
            "{:?}",
            r.failures
        );
        assert_eq!(r.failures[0].keyword, "source address");
        let mut vars: Vec<(String, String)> = (0..40)
            .map(|i| {
                (
                    format!("vars.address-groups.V{i}"),
                    format!("[$V{},$V{}]", i + 1, i + 1),
                )
            })
            .collect();
        vars.push(("vars.address-groups.V40".into(), "1.1.1.1".into()));
        let v: Vec<(&str, &str)> = vars.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let r = load_vars(b"alert tcp $V0 any -> any any (msg:\"x\"; sid:1;)\n", &v);
        assert!(r.failures[0].reason.contains("MAX_"), "{:?}", r.failures);
        let r = load_vars(
            b"alert tcp any $P -> any any (msg:\"x\"; sid:1;)\n",
            &[("vars.port-groups.P", "[$P]")],
        );
        assert!(r.failures[0].reason.contains("refers to itself"));
    });
}

#[test]
fn hostile_nul_bytes_and_binary() {
    bounded(|| {
        let r = load_vars(
            b"alert tcp any any -> any any (msg:\"a\x00b\"; sid:1;)\n\xff\xfe\x00\x01(;;\n",
            &[],
        );
        assert!(r.rules.is_empty());
        assert!(r.failures[0].reason.contains("NUL"));
        assert_eq!(r.failures.len(), 2);
    });
}

#[test]
fn hostile_deep_nesting_and_many_options() {
    bounded(|| {
        let deep = format!(
            "alert tcp {}1.1.1.1{} any -> any any (msg:\"x\"; sid:1;)",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(one_error(&deep).reason.contains("MAX_GROUP_NESTING"));
        let many = format!(
            "alert tcp any any -> any any (msg:\"x\"; sid:1; {})",
            "alert;".repeat(1100)
        );
        assert!(one_error(&many).reason.contains("MAX_OPTIONS_PER_RULE"));
    });
}

/// xorshift64* pseudo-random numbers for the fuzz test.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

#[test]
fn fuzz_rules_never_panics() {
    let seeds_file = std::fs::read(vectors().join("suricata-accepts.rules")).unwrap();
    let seeds: Vec<&[u8]> = seeds_file
        .split(|&b| b == b'\n')
        .filter(|l| l.len() > 10 && l[0] != b'#')
        .collect();
    let tokens: &[&[u8]] = &[
        b";",
        b":",
        b"\"",
        b"\\",
        b"|",
        b"!",
        b"[",
        b"]",
        b",",
        b"$HOME_NET",
        b"(",
        b")",
        b"content:\"",
        b"pcre:\"/",
        b"/R\";",
        b"http.uri;",
        b"within:",
        b"-",
        b"\n",
        b"\\\n",
        b"\x00",
        b"\xff",
        b"999999999999999999999",
        b"fast_pattern:only;",
        b"byte_extract:4,0,v;",
        b"depth:v;",
        b"to_lowercase;",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..3000 {
        let mut input: Vec<u8> = Vec::new();
        for _ in 0..1 + rng.below(3) {
            input.extend_from_slice(seeds[rng.below(seeds.len())]);
            input.push(b'\n');
        }
        for _ in 0..rng.below(8) {
            let pos = rng.below(input.len() + 1);
            match rng.below(4) {
                0 => {
                    let t = tokens[rng.below(tokens.len())];
                    input.splice(pos..pos, t.iter().copied());
                }
                1 if pos < input.len() => {
                    let end = (pos + rng.below(16)).min(input.len());
                    input.drain(pos..end);
                }
                2 if pos < input.len() => input[pos] = rng.next() as u8,
                _ => {
                    let from = rng.below(input.len());
                    let end = (from + rng.below(32)).min(input.len());
                    let chunk = input[from..end].to_vec();
                    let pos = pos.min(input.len());
                    input.splice(pos..pos, chunk);
                }
            }
        }
        if i % 500 == 0 {
            // Pure noise now and then.
            input = (0..rng.below(512)).map(|_| rng.next() as u8).collect();
        }
        detect::fuzzing::fuzz_rules(&input);
    }
}
