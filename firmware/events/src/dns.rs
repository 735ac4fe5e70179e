//! `dns` records in Suricata's version-2 format: one per question of a request (`query`) and one
//! per response (`answer`).
//!
//! Key order matters to people who diff EVE files, so [`DnsEve`] serialises by hand in the order
//! Suricata 7 writes: a query is `version, type, id, rrname, [rrname_truncated], rrtype, tx_id,
//! [z], opcode`; an answer is `version, type, id, flags, [qr aa tc rd ra z], opcode, [rrname,
//! rrname_truncated, rrtype], rcode, [answers], [grouped], [authorities]`. Optional members are
//! omitted when `None`, never printed as `null`.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// The `dns` object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsEve {
    /// Always 2.
    pub version: u8,
    /// `query` or `answer`.
    pub kind: &'static str,
    /// Transaction id from the header.
    pub id: u16,
    /// Header flags in lowercase hex without padding (`8180`, `180`, `0`), answers only.
    pub flags: Option<String>,
    /// QR bit (answers; printed only when set).
    pub qr: Option<bool>,
    /// AA bit, printed only when set.
    pub aa: Option<bool>,
    /// TC bit, printed only when set.
    pub tc: Option<bool>,
    /// RD bit, printed only when set.
    pub rd: Option<bool>,
    /// RA bit, printed only when set.
    pub ra: Option<bool>,
    /// Z bit, printed only when set (queries and answers).
    pub z: Option<bool>,
    /// Query name: of this question (queries) or of the first question (answers).
    pub rrname: Option<String>,
    /// Present (true) when `rrname` was cut at Suricata's 1025-byte name limit.
    pub rrname_truncated: Option<bool>,
    /// Query type (`A`, `AAAA`, … or the number).
    pub rrtype: Option<String>,
    /// Transaction index within the flow (queries only).
    pub tx_id: Option<u64>,
    /// Opcode from the header.
    pub opcode: u8,
    /// Response code name (answers).
    pub rcode: Option<String>,
    /// Answer records, one object each (`detailed` format).
    pub answers: Option<Vec<DnsAnswer>>,
    /// Answer data grouped by type (`grouped` format), in first-seen order.
    pub grouped: Option<Grouped>,
    /// Authority records.
    pub authorities: Option<Vec<DnsAnswer>>,
}

impl DnsEve {
    /// True for a `query` record.
    pub fn is_query(&self) -> bool {
        self.kind == "query"
    }
}

/// Writes `key: value` when the value is present.
fn opt<M: SerializeMap, T: Serialize>(m: &mut M, key: &str, v: &Option<T>) -> Result<(), M::Error> {
    match v {
        Some(v) => m.serialize_entry(key, v),
        None => Ok(()),
    }
}

impl Serialize for DnsEve {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("version", &self.version)?;
        m.serialize_entry("type", self.kind)?;
        m.serialize_entry("id", &self.id)?;
        opt(&mut m, "flags", &self.flags)?;
        opt(&mut m, "qr", &self.qr)?;
        opt(&mut m, "aa", &self.aa)?;
        opt(&mut m, "tc", &self.tc)?;
        opt(&mut m, "rd", &self.rd)?;
        opt(&mut m, "ra", &self.ra)?;
        if self.is_query() {
            // Suricata writes the question before the header bits on queries.
            opt(&mut m, "rrname", &self.rrname)?;
            opt(&mut m, "rrname_truncated", &self.rrname_truncated)?;
            opt(&mut m, "rrtype", &self.rrtype)?;
            opt(&mut m, "tx_id", &self.tx_id)?;
            opt(&mut m, "z", &self.z)?;
            m.serialize_entry("opcode", &self.opcode)?;
            opt(&mut m, "rcode", &self.rcode)?;
        } else {
            opt(&mut m, "z", &self.z)?;
            m.serialize_entry("opcode", &self.opcode)?;
            opt(&mut m, "rrname", &self.rrname)?;
            opt(&mut m, "rrname_truncated", &self.rrname_truncated)?;
            opt(&mut m, "rrtype", &self.rrtype)?;
            opt(&mut m, "rcode", &self.rcode)?;
            opt(&mut m, "tx_id", &self.tx_id)?;
        }
        opt(&mut m, "answers", &self.answers)?;
        opt(&mut m, "grouped", &self.grouped)?;
        opt(&mut m, "authorities", &self.authorities)?;
        m.end()
    }
}

/// One resource record in `answers` / `authorities`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DnsAnswer {
    /// Owner name.
    pub rrname: String,
    /// Present (true) when `rrname` was truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrname_truncated: Option<bool>,
    /// Type name.
    pub rrtype: String,
    /// TTL.
    pub ttl: u32,
    /// Printable record data (A/AAAA/CNAME/PTR/NS/MX/TXT/NULL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata: Option<String>,
    /// Present (true) when a name in `rdata` was truncated (CNAME/PTR/NS/MX).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata_truncated: Option<bool>,
    /// SOA data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soa: Option<DnsSoa>,
    /// SRV data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srv: Option<DnsSrv>,
    /// SSHFP data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sshfp: Option<DnsSshfp>,
}

/// The `soa` object of an SOA record.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DnsSoa {
    /// Primary name server.
    pub mname: String,
    /// Present (true) when `mname` was truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mname_truncated: Option<bool>,
    /// Responsible mailbox.
    pub rname: String,
    /// Present (true) when `rname` was truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rname_truncated: Option<bool>,
    /// Zone serial.
    pub serial: u32,
    /// Refresh interval (seconds).
    pub refresh: u32,
    /// Retry interval (seconds).
    pub retry: u32,
    /// Expiry (seconds).
    pub expire: u32,
    /// Negative-caching TTL (seconds).
    pub minimum: u32,
}

/// The `srv` object of an SRV record.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DnsSrv {
    /// Priority.
    pub priority: u16,
    /// Weight.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host (Suricata prints no truncation flag here).
    pub name: String,
}

/// The `sshfp` object of an SSHFP record.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DnsSshfp {
    /// Fingerprint as lowercase hex pairs joined by `:`.
    pub fingerprint: String,
    /// Key algorithm number.
    pub algo: u8,
    /// Fingerprint type number.
    #[serde(rename = "type")]
    pub fp_type: u8,
}

/// One value in a `grouped` list: a string for address and name types, an object for SOA,
/// SRV and SSHFP.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
#[non_exhaustive]
pub enum GroupedValue {
    /// A/AAAA/CNAME/MX/NS/PTR/TXT/NULL data.
    Text(String),
    /// SOA data.
    Soa(DnsSoa),
    /// SRV data.
    Srv(DnsSrv),
    /// SSHFP data.
    Sshfp(DnsSshfp),
}

/// Answer data grouped by record type, keeping the order types were first seen.
///
/// Suricata builds this from a hash map, so its key order varies from run to run; compare
/// `grouped` objects as unordered maps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grouped(pub Vec<(String, Vec<GroupedValue>)>);

impl Grouped {
    /// Appends `v` to the list for `rrtype`, creating the list on first sight.
    pub fn push(&mut self, rrtype: &str, v: GroupedValue) {
        match self.0.iter_mut().find(|(k, _)| k == rrtype) {
            Some((_, list)) => list.push(v),
            None => self.0.push((rrtype.to_owned(), vec![v])),
        }
    }
}

impl Serialize for Grouped {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_key_order() {
        let q = DnsEve {
            version: 2,
            kind: "query",
            id: 1,
            rrname: Some("z.example".into()),
            rrtype: Some("A".into()),
            tx_id: Some(0),
            z: Some(true),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&q).unwrap(),
            r#"{"version":2,"type":"query","id":1,"rrname":"z.example","rrtype":"A","tx_id":0,"z":true,"opcode":0}"#
        );
    }

    #[test]
    fn answer_key_order_and_grouped() {
        let mut g = Grouped::default();
        g.push("A", GroupedValue::Text("1.2.3.4".into()));
        g.push(
            "SOA",
            GroupedValue::Soa(DnsSoa {
                mname: "m".into(),
                ..Default::default()
            }),
        );
        g.push("A", GroupedValue::Text("5.6.7.8".into()));
        let a = DnsEve {
            version: 2,
            kind: "answer",
            id: 2,
            flags: Some("81c0".into()),
            qr: Some(true),
            z: Some(true),
            rrname: Some("x".into()),
            rrtype: Some("A".into()),
            rcode: Some("NOERROR".into()),
            grouped: Some(g),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"version":2,"type":"answer","id":2,"flags":"81c0","qr":true,"z":true,"opcode":0,"rrname":"x","rrtype":"A","rcode":"NOERROR","grouped":{"A":["1.2.3.4","5.6.7.8"],"SOA":[{"mname":"m","rname":"","serial":0,"refresh":0,"retry":0,"expire":0,"minimum":0}]}}"#
        );
    }
}
