//! Fuzz entry points (see `firmware/fuzz/`). Never panics, whatever the input.

use std::collections::BTreeMap;
use std::path::Path;

/// Load `data` as a rule file (first byte set to `;` style variations are left to the fuzzer)
/// and run the config parsers over it too.
pub fn fuzz_rules(data: &[u8]) {
    let mut vars = BTreeMap::new();
    // Let the input also drive a variable definition, so variable parsing is fuzzed.
    if let Some((&sel, rest)) = data.split_first() {
        if sel & 1 == 1 {
            let cut = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let v = String::from_utf8_lossy(rest.get(..cut).unwrap_or(&[])).into_owned();
            vars.insert("vars.address-groups.HOME_NET".to_string(), v.clone());
            vars.insert("vars.port-groups.HTTP_PORTS".to_string(), v);
        }
    }
    let report = crate::load_rules_from_bytes(
        Path::new("fuzz.rules"),
        data,
        &vars,
        Path::new("/nonexistent"),
    );
    let _ = report.to_json();
    let _ = crate::config::parse_classification(Path::new("c"), data);
    let _ = crate::config::parse_reference(Path::new("r"), data);
    let _ = crate::config::parse_threshold_config(Path::new("t"), data, &crate::Vars::default());
}

/// Rules exercising every matcher path, for [`fuzz_engine`].
const FUZZ_RULES: &str = r#"
alert tcp any any -> any any (content:"GET "; depth:4; content:"/"; distance:0; within:1; pcre:"/^[A-Z]+ \/[a-z]{2,}/"; sid:1;)
alert tcp any any -> any any (content:"a"; content:"a"; distance:0; content:"b"; distance:0; within:3; sid:2;)
alert udp any any -> any any (byte_extract:1,0,n,relative; byte_jump:1,0,relative,multiplier 2,post_offset -1; byte_test:2,>,n,0,relative; isdataat:!2,relative; sid:3;)
alert udp any any -> any any (byte_math:bytes 2,offset 1,oper *,rvalue 3,result r; content:"x"; distance:r; sid:4;)
alert udp any any -> any any (base64_decode:bytes 40,offset 2,relative; base64_data; content:"AB"; byte_test:1,=,0x41,0,relative,string,hex; sid:5;)
alert udp any any -> any any (content:!"zz"; pcre:"/(a|b)+c$/Rs"; sid:6;)
alert udp any any -> any any (content:"q"; endswith; flowbits:set,q; sid:7;)
alert udp any any -> any any (flowbits:isset,q; flowint:c,+,1; threshold:type both,track by_src,count 2,seconds 5; sid:8;)
alert http any any -> any any (http.uri; url_decode; compress_whitespace; content:"/a b"; sid:9;)
alert http any any -> any any (http.header; to_lowercase; content:"host"; pcre:"/host: [^\r\n]+/R"; sid:10;)
alert http any any -> any any (http.uri; to_sha256; bsize:32; sid:11;)
alert http any any -> any any (http.uri; xor:"0102"; content:"|60|"; sid:12;)
alert http any any -> any any (http.uri; pcrexform:"/(.*)/"; content:"e"; sid:13;)
alert dns any any -> any any (dns.query; dotprefix; content:".evil"; dataset:set,fuzzset,type string; sid:14;)
pass udp any any -> any any (content:"PASS"; sid:15;)
alert tcp any any <> any any (content:"|00 00|"; fast_pattern; content:"|ff|"; distance:-2; sid:16;)
alert ip any any -> any any (sid:17;)
"#;

fn fuzz_engine_instance() -> &'static crate::Engine {
    static ENGINE: std::sync::OnceLock<crate::Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let report = crate::load_rules_from_bytes(
            Path::new("fuzz.rules"),
            FUZZ_RULES.as_bytes(),
            &BTreeMap::new(),
            Path::new("/nonexistent"),
        );
        crate::Engine::build(&report, &crate::EngineConfig::default())
    })
}

#[derive(Debug)]
struct FuzzTx<'a> {
    data: &'a [u8],
    cut: usize,
}

impl events::inspect::TxBuffers for FuzzTx<'_> {
    fn app_proto(&self) -> &'static str {
        if self.cut.is_multiple_of(2) {
            "http"
        } else {
            "dns"
        }
    }
    fn buffer(
        &self,
        name: &str,
        _dir: types::Direction,
        index: usize,
    ) -> Option<std::borrow::Cow<'_, [u8]>> {
        let (a, b) = self.data.split_at(self.cut.min(self.data.len()));
        let part = match (name, index) {
            ("http.uri" | "dns.query", 0) => a,
            ("http.header" | "dns.query", 1) => b,
            _ => return None,
        };
        Some(std::borrow::Cow::Borrowed(part))
    }
}

/// Drive the matching engine with `data`: the first byte picks split points and directions;
/// the rest is fed as UDP and TCP packet payload, as stream chunks (contiguous and
/// overlapping windows) and as transaction buffers.
pub fn fuzz_engine(data: &[u8]) {
    use crate::{FlowState, FlowView, PacketView, ThreadState};
    use types::{Addr, Direction, Timestamp};
    let engine = fuzz_engine_instance();
    let (sel, rest) = match data.split_first() {
        Some((&s, r)) => (s, r),
        None => (0, data),
    };
    let mut th = ThreadState::new(engine);
    let mut fs = FlowState::default();
    let dir = if sel & 1 == 0 {
        Direction::ToServer
    } else {
        Direction::ToClient
    };
    for (proto, app) in [(17u8, Some("dns")), (6, Some("http")), (1, None)] {
        let fv = FlowView {
            dir,
            established: sel & 2 == 0,
            app_proto: app,
            pkts: [1, 1],
            bytes: [1, 1],
            age_secs: 0,
            stream_size: None,
        };
        let p = PacketView {
            ts: Timestamp::from_secs_nanos(u64::from(sel), 0),
            src: Addr::v4([1, 2, 3, 4]),
            dst: Addr::v4([5, 6, 7, 8]),
            sport: 1234,
            dport: 80,
            proto,
            ttl: sel,
            ip_proto: proto,
            tcp_flags: (proto == 6).then_some(sel),
            tcp_seq: 0,
            tcp_ack: 0,
            window: 0,
            icmp: (proto == 1).then_some((sel, sel, Some(1), None)),
            payload: rest,
            tcp_header: rest.get(..20).unwrap_or(&[]),
            ipv6: sel & 4 != 0,
            flow: (sel & 8 == 0).then_some(fv),
            decode_events: &[],
            stream_events: &[],
            applayer_events: &[],
            in_stream: sel & 16 != 0,
        };
        let mut out = Vec::new();
        engine.inspect_packet(&p, Some(&mut fs), &mut th, &mut out);
        if proto == 6 {
            let step = usize::from(sel >> 5) + 1;
            let mut at = 0usize;
            while at < rest.len() {
                let end = (at + step).min(rest.len());
                if sel & 0x40 != 0 {
                    let chunk = rest.get(..end).unwrap_or(&[]);
                    engine.inspect_stream_at(&p, dir, 0, chunk, &mut fs, &mut th, &mut out);
                } else {
                    let chunk = rest.get(at..end).unwrap_or(&[]);
                    engine.inspect_stream(&p, dir, chunk, &mut fs, &mut th, &mut out);
                }
                at = end;
            }
        }
        let tx = FuzzTx {
            data: rest,
            cut: usize::from(sel) % (rest.len() + 1),
        };
        engine.inspect_tx(&p, &tx, u64::from(sel), &mut fs, &mut th, &mut out);
        engine.finish_packet(&p, Some(&mut fs), &mut th, &mut out);
    }
}
