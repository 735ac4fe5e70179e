//! Turns transactions into EVE `dns` records and `anomaly` records, the way Suricata 7.0.10's
//! version-2 logger prints them.
//!
//! Per transaction the order is: its app-layer events (one `anomaly` each, in the order they
//! were raised), then its `dns` record(s). `dns` records are oriented like the flow (client as
//! `src_ip`, for queries and answers alike); anomalies like the packet that carried the data.

use events::anomaly::AnomalyEve;
use events::app::AppOutput;
use events::dns::{DnsAnswer, DnsEve, DnsSoa, DnsSrv, DnsSshfp, Grouped, GroupedValue};
use events::{lossy_string, Body};
use types::Direction;

use crate::config::DnsConfig;
use crate::names::{rcode_name, rrtype_name};
use crate::state::DnsTransaction;
use crate::wire::{DnsHeader, DnsMessage, DnsName, DnsQuestion, DnsRecord, RData};
use crate::APP_PROTO;

/// Appends the outputs of `tx` to `out`; anomalies are oriented by `anomaly_dir`.
pub(crate) fn render(
    cfg: &DnsConfig,
    tx: &DnsTransaction,
    anomaly_dir: Direction,
    out: &mut Vec<AppOutput>,
) {
    for ev in &tx.events {
        out.push(AppOutput {
            body: Body::Anomaly(AnomalyEve::applayer(APP_PROTO, ev.name())),
            tx_id: Some(tx.id),
            dir: anomaly_dir,
            inspect: None,
        });
    }
    let m = &tx.message;
    let records: Vec<DnsEve> = match tx.dir {
        Direction::ToServer => query_records(cfg, m, tx.id),
        Direction::ToClient => answer_record(cfg, m).into_iter().collect(),
    };
    out.extend(records.into_iter().map(|eve| AppOutput {
        body: Body::Dns(Box::new(eve)),
        tx_id: Some(tx.id),
        dir: Direction::ToServer,
        inspect: None,
    }));
}

fn name_str(n: &DnsName) -> String {
    lossy_string(&n.value)
}

fn truncated(n: &DnsName) -> Option<bool> {
    n.truncated().then_some(true)
}

/// One `query` record per question, stopping at the first filtered-out type.
pub(crate) fn query_records(cfg: &DnsConfig, m: &DnsMessage, tx_id: u64) -> Vec<DnsEve> {
    if !cfg.log_queries {
        return Vec::new();
    }
    m.questions
        .iter()
        .take_while(|q| cfg.type_enabled(q.rrtype))
        .map(|q| query_eve(&m.header, q, tx_id))
        .collect()
}

fn query_eve(h: &DnsHeader, q: &DnsQuestion, tx_id: u64) -> DnsEve {
    DnsEve {
        version: 2,
        kind: "query",
        id: h.id,
        rrname: Some(name_str(&q.name)),
        rrname_truncated: truncated(&q.name),
        rrtype: Some(rrtype_name(q.rrtype).into_owned()),
        tx_id: Some(tx_id),
        z: h.z().then_some(true),
        opcode: h.opcode(),
        ..Default::default()
    }
}

/// The `answer` record of a response; none when the response has no (logged) question.
pub(crate) fn answer_record(cfg: &DnsConfig, m: &DnsMessage) -> Option<DnsEve> {
    if !cfg.log_answers || !m.questions.iter().any(|q| cfg.type_enabled(q.rrtype)) {
        return None;
    }
    let h = &m.header;
    let bit = |mask: u16| (h.flags & mask != 0).then_some(true);
    let first = m.questions.first();
    let mut eve = DnsEve {
        version: 2,
        kind: "answer",
        id: h.id,
        flags: Some(format!("{:x}", h.flags)),
        qr: bit(0x8000),
        aa: bit(0x0400),
        tc: bit(0x0200),
        rd: bit(0x0100),
        ra: bit(0x0080),
        z: bit(0x0040),
        opcode: h.opcode(),
        rrname: first.map(|q| name_str(&q.name)),
        rrname_truncated: first.and_then(|q| truncated(&q.name)),
        rrtype: first.map(|q| rrtype_name(q.rrtype).into_owned()),
        rcode: Some(rcode_name(h.rcode()).into_owned()),
        ..Default::default()
    };
    if !m.answers.is_empty() {
        if cfg.detailed {
            eve.answers = Some(m.answers.iter().map(detail).collect());
        }
        if cfg.grouped {
            let mut g = Grouped::default();
            for r in &m.answers {
                if let Some(v) = grouped_value(r) {
                    g.push(&rrtype_name(r.rrtype), v);
                }
            }
            eve.grouped = Some(g);
        }
    }
    if !m.authorities.is_empty() {
        eve.authorities = Some(m.authorities.iter().map(detail).collect());
    }
    Some(eve)
}

/// Suricata's address printing: by length, not by type (a 4-byte AAAA prints as IPv4), IPv6
/// in full zero-padded groups, any other length as an empty string.
pub(crate) fn print_addr(b: &[u8]) -> String {
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        return format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
    }
    if b.len() == 16 {
        let mut s = String::with_capacity(39);
        for (i, pair) in b.chunks(2).enumerate() {
            if i > 0 {
                s.push(':');
            }
            for byte in pair {
                s.push_str(&format!("{byte:02x}"));
            }
        }
        return s;
    }
    String::new()
}

fn hex_colons(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn soa(s: &crate::wire::Soa) -> DnsSoa {
    DnsSoa {
        mname: name_str(&s.mname),
        mname_truncated: truncated(&s.mname),
        rname: name_str(&s.rname),
        rname_truncated: truncated(&s.rname),
        serial: s.serial,
        refresh: s.refresh,
        retry: s.retry,
        expire: s.expire,
        minimum: s.minimum,
    }
}

fn srv(s: &crate::wire::Srv) -> DnsSrv {
    DnsSrv {
        priority: s.priority,
        weight: s.weight,
        port: s.port,
        name: name_str(&s.target),
    }
}

fn sshfp(s: &crate::wire::Sshfp) -> DnsSshfp {
    DnsSshfp {
        fingerprint: hex_colons(&s.fingerprint),
        algo: s.algo,
        fp_type: s.fp_type,
    }
}

fn detail(r: &DnsRecord) -> DnsAnswer {
    let mut a = DnsAnswer {
        rrname: name_str(&r.name),
        rrname_truncated: truncated(&r.name),
        rrtype: rrtype_name(r.rrtype).into_owned(),
        ttl: r.ttl,
        ..Default::default()
    };
    match &r.data {
        RData::A(b) | RData::Aaaa(b) => a.rdata = Some(print_addr(b)),
        RData::Cname(n) | RData::Ptr(n) | RData::Mx(n) | RData::Ns(n) => {
            a.rdata = Some(name_str(n));
            a.rdata_truncated = truncated(n);
        }
        RData::Txt(b) | RData::Null(b) => a.rdata = Some(lossy_string(b)),
        RData::Soa(s) => a.soa = Some(soa(s)),
        RData::Srv(s) => a.srv = Some(srv(s)),
        RData::Sshfp(s) => a.sshfp = Some(sshfp(s)),
        RData::Unknown(_) => {}
    }
    a
}

fn grouped_value(r: &DnsRecord) -> Option<GroupedValue> {
    Some(match &r.data {
        RData::A(b) | RData::Aaaa(b) => GroupedValue::Text(print_addr(b)),
        RData::Cname(n) | RData::Ptr(n) | RData::Mx(n) | RData::Ns(n) => {
            GroupedValue::Text(name_str(n))
        }
        RData::Txt(b) | RData::Null(b) => GroupedValue::Text(lossy_string(b)),
        RData::Soa(s) => GroupedValue::Soa(soa(s)),
        RData::Srv(s) => GroupedValue::Srv(srv(s)),
        RData::Sshfp(s) => GroupedValue::Sshfp(sshfp(s)),
        RData::Unknown(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_by_length() {
        assert_eq!(print_addr(&[1, 2, 3, 4]), "1.2.3.4");
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[15] = 1;
        assert_eq!(print_addr(&v6), "2001:0000:0000:0000:0000:0000:0000:0001");
        assert_eq!(print_addr(&[1, 2, 3]), "");
        assert_eq!(print_addr(&[1, 2, 3, 4, 5]), "");
        assert_eq!(hex_colons(&[0xde, 0xad, 0x00]), "de:ad:00");
        assert_eq!(hex_colons(&[]), "");
    }
}
