//! `dns` records in Suricata's version-2 format: one per query and one per answer.

use serde::{Serialize, Serializer};

/// The `dns` object.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DnsEve {
    /// Always 2.
    pub version: u8,
    /// `query` or `answer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Transaction id from the header.
    pub id: u16,
    /// Header flags as four hex digits (answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
    /// QR bit (answers; printed only when set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr: Option<bool>,
    /// AA bit, printed only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aa: Option<bool>,
    /// TC bit, printed only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tc: Option<bool>,
    /// RD bit, printed only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rd: Option<bool>,
    /// RA bit, printed only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ra: Option<bool>,
    /// Z bit, printed only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z: Option<bool>,
    /// Query name of the first question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrname: Option<String>,
    /// Query type of the first question (`A`, `AAAA`, … or the number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrtype: Option<String>,
    /// Transaction index within the flow (queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<u64>,
    /// Opcode from the header.
    pub opcode: u8,
    /// Response code name (answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<String>,
    /// Answer records, one object each (`detailed` format).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Vec<DnsAnswer>>,
    /// Answer data grouped by type (`grouped` format), in first-seen order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grouped: Option<Grouped>,
    /// Authority records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorities: Option<Vec<DnsAnswer>>,
}

/// One resource record in `answers` / `authorities`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DnsAnswer {
    /// Owner name.
    pub rrname: String,
    /// Type name.
    pub rrtype: String,
    /// TTL.
    pub ttl: u32,
    /// Printable record data (A/AAAA/CNAME/PTR/NS/MX/TXT/NULL …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata: Option<String>,
    /// SOA data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soa: Option<serde_json::Value>,
    /// SRV data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srv: Option<serde_json::Value>,
    /// SSHFP data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sshfp: Option<serde_json::Value>,
}

/// Answer data grouped by record type, keeping the order types were first seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grouped(pub Vec<(String, Vec<serde_json::Value>)>);

impl Serialize for Grouped {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
