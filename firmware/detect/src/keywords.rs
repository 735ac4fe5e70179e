//! The keyword table: every Suricata 7.0.10 rule keyword with its argument rules.
//!
//! Argument handling is generic and follows Suricata: a keyword either takes no value, an
//! optional one, or a required one; values may have to be double quoted, may be optionally
//! quoted, or must not be quoted; some keywords accept a leading `!`. Keyword names are
//! matched case-insensitively. Keywords we do not model in detail (rare protocols) are
//! `Kind::Generic`: their value is kept verbatim in `Rule::untyped`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::buffers::{AppProto, Buffer};

/// Whether the keyword takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arg {
    /// `kw;` only.
    NoValue,
    /// `kw;` or `kw:value;`.
    Optional,
    /// `kw:value;`.
    Required,
}

/// Quoting rules of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quotes {
    /// Quotes are an error.
    Forbidden,
    /// Quotes are stripped when present.
    Optional,
    /// The value must be double quoted.
    Mandatory,
}

/// Typed keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum K {
    Msg,
    Sid,
    Rev,
    Gid,
    Classtype,
    Priority,
    Reference,
    Metadata,
    Target,
    Content,
    Uricontent,
    Nocase,
    Depth,
    Offset,
    Distance,
    Within,
    FastPattern,
    Startswith,
    Endswith,
    Rawbytes,
    Replace,
    Isdataat,
    Bsize,
    Dsize,
    Urilen,
    Pcre,
    ByteTest,
    ByteJump,
    ByteExtract,
    ByteMath,
    Flow,
    Flowbits,
    Flowint,
    Xbits,
    Hostbits,
    Threshold,
    DetectionFilter,
    Dataset,
    Datarep,
    Base64Decode,
    IpProto,
    Ttl,
    Flags,
    Itype,
    Icode,
    IcmpId,
    IcmpSeq,
    Noalert,
    Tag,
    Requires,
    AppLayerProtocol,
    AppLayerEvent,
    DecodeEvent,
    StreamEvent,
    SslState,
    SslVersion,
    TlsVersion,
    DnsOpcode,
    StreamSize,
    FlowAge,
    Asn1,
    Ftpbounce,
    Sameip,
    Config,
}

/// Transform keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tx {
    DotPrefix,
    ToLowercase,
    ToUppercase,
    StripWhitespace,
    CompressWhitespace,
    UrlDecode,
    ToMd5,
    ToSha1,
    ToSha256,
    HeaderLowercase,
    StripPseudoHeaders,
    Xor,
    PcreXform,
}

/// What a keyword does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Selects a sticky buffer.
    Sticky(Buffer),
    /// Legacy content modifier moving the previous content to a buffer.
    Modifier(Buffer),
    /// Buffer transform.
    Transform(Tx),
    /// Typed keyword.
    Typed(K),
    /// Known to Suricata, kept verbatim; binds the rule to a protocol when given.
    Generic(Option<AppProto>),
}

/// One keyword.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KwDef {
    pub name: &'static str,
    pub arg: Arg,
    pub quotes: Quotes,
    pub negation: bool,
    pub kind: Kind,
}

const fn typed(name: &'static str, arg: Arg, quotes: Quotes, negation: bool, k: K) -> KwDef {
    KwDef {
        name,
        arg,
        quotes,
        negation,
        kind: Kind::Typed(k),
    }
}

const fn generic(name: &'static str, arg: Arg, proto: Option<AppProto>) -> KwDef {
    KwDef {
        name,
        arg,
        quotes: Quotes::Optional,
        negation: true,
        kind: Kind::Generic(proto),
    }
}

use Arg::{NoValue, Optional, Required};
use Quotes::{Forbidden as QF, Mandatory as QM, Optional as QO};

const TYPED: &[KwDef] = &[
    typed("msg", Required, QM, false, K::Msg),
    typed("sid", Required, QF, false, K::Sid),
    typed("rev", Required, QF, false, K::Rev),
    typed("gid", Required, QF, false, K::Gid),
    typed("classtype", Required, QF, false, K::Classtype),
    typed("priority", Required, QF, false, K::Priority),
    typed("reference", Required, QF, false, K::Reference),
    typed("metadata", Required, QO, false, K::Metadata),
    typed("target", Required, QF, false, K::Target),
    typed("content", Required, QM, true, K::Content),
    typed("uricontent", Required, QM, true, K::Uricontent),
    typed("nocase", NoValue, QF, false, K::Nocase),
    typed("depth", Required, QF, false, K::Depth),
    typed("offset", Required, QF, false, K::Offset),
    typed("distance", Required, QF, false, K::Distance),
    typed("within", Required, QF, false, K::Within),
    typed("fast_pattern", Optional, QF, false, K::FastPattern),
    typed("startswith", NoValue, QF, false, K::Startswith),
    typed("endswith", NoValue, QF, false, K::Endswith),
    typed("rawbytes", NoValue, QF, false, K::Rawbytes),
    typed("replace", Required, QM, false, K::Replace),
    typed("isdataat", Required, QF, false, K::Isdataat),
    typed("bsize", Required, QF, false, K::Bsize),
    typed("dsize", Required, QF, false, K::Dsize),
    typed("urilen", Required, QF, false, K::Urilen),
    typed("pcre", Required, QO, true, K::Pcre),
    typed("byte_test", Required, QF, false, K::ByteTest),
    typed("byte_jump", Required, QF, false, K::ByteJump),
    typed("byte_extract", Required, QF, false, K::ByteExtract),
    typed("byte_math", Required, QF, false, K::ByteMath),
    typed("flow", Required, QF, false, K::Flow),
    typed("flowbits", Required, QF, false, K::Flowbits),
    typed("flowint", Required, QF, false, K::Flowint),
    typed("xbits", Required, QF, false, K::Xbits),
    typed("hostbits", Required, QF, false, K::Hostbits),
    typed("threshold", Required, QF, false, K::Threshold),
    typed("detection_filter", Required, QF, false, K::DetectionFilter),
    typed("dataset", Required, QF, false, K::Dataset),
    typed("datarep", Required, QF, false, K::Datarep),
    typed("base64_decode", Optional, QF, false, K::Base64Decode),
    typed("ip_proto", Required, QF, false, K::IpProto),
    typed("ttl", Required, QF, false, K::Ttl),
    typed("tcp.flags", Required, QF, false, K::Flags),
    typed("flags", Required, QF, false, K::Flags),
    typed("itype", Required, QF, false, K::Itype),
    typed("icode", Required, QF, false, K::Icode),
    typed("icmp_id", Required, QF, false, K::IcmpId),
    typed("icmp_seq", Required, QF, false, K::IcmpSeq),
    typed("noalert", NoValue, QF, false, K::Noalert),
    typed("tag", Required, QF, false, K::Tag),
    typed("requires", Required, QO, false, K::Requires),
    typed(
        "app-layer-protocol",
        Required,
        QF,
        false,
        K::AppLayerProtocol,
    ),
    typed("app-layer-event", Required, QF, false, K::AppLayerEvent),
    typed("decode-event", Required, QF, false, K::DecodeEvent),
    typed("stream-event", Required, QF, false, K::StreamEvent),
    typed("ssl_state", Required, QF, false, K::SslState),
    typed("ssl_version", Required, QF, false, K::SslVersion),
    typed("tls.version", Required, QO, false, K::TlsVersion),
    typed("dns.opcode", Required, QF, false, K::DnsOpcode),
    typed("stream_size", Required, QF, false, K::StreamSize),
    typed("flow.age", Required, QF, false, K::FlowAge),
    typed("asn1", Required, QF, false, K::Asn1),
    typed("ftpbounce", NoValue, QF, false, K::Ftpbounce),
    typed("sameip", NoValue, QF, false, K::Sameip),
    typed("config", Required, QF, false, K::Config),
];

const TRANSFORMS: &[(&str, Tx, Arg)] = &[
    ("dotprefix", Tx::DotPrefix, NoValue),
    ("to_lowercase", Tx::ToLowercase, NoValue),
    ("to_uppercase", Tx::ToUppercase, NoValue),
    ("strip_whitespace", Tx::StripWhitespace, NoValue),
    ("compress_whitespace", Tx::CompressWhitespace, NoValue),
    ("url_decode", Tx::UrlDecode, NoValue),
    ("to_md5", Tx::ToMd5, NoValue),
    ("to_sha1", Tx::ToSha1, NoValue),
    ("to_sha256", Tx::ToSha256, NoValue),
    ("header_lowercase", Tx::HeaderLowercase, NoValue),
    ("strip_pseudo_headers", Tx::StripPseudoHeaders, NoValue),
    ("xor", Tx::Xor, Required),
    ("pcrexform", Tx::PcreXform, Required),
];

use AppProto as P;

/// Keywords Suricata 7.0.10 knows that we keep verbatim.
const GENERIC: &[KwDef] = &[
    generic("tcp.ack", Required, None),
    generic("ack", Required, None),
    generic("tcp.seq", Required, None),
    generic("seq", Required, None),
    generic("tcp.window", Required, None),
    generic("window", Required, None),
    generic("tcp.mss", Required, None),
    generic("ipopts", Required, None),
    generic("fragbits", Required, None),
    generic("fragoffset", Required, None),
    generic("tos", Required, None),
    generic("id", Required, None),
    generic("geoip", Required, None),
    generic("rpc", Required, None),
    generic("flowvar", Required, None),
    generic("pktvar", Required, None),
    generic("ipv4-csum", Required, None),
    generic("tcpv4-csum", Required, None),
    generic("tcpv6-csum", Required, None),
    generic("udpv4-csum", Required, None),
    generic("udpv6-csum", Required, None),
    generic("icmpv4-csum", Required, None),
    generic("icmpv6-csum", Required, None),
    generic("icmpv6.mtu", Required, None),
    generic("nfq_set_mark", Required, None),
    generic("frame", Required, None),
    generic("alert", NoValue, None),
    generic("bypass", NoValue, None),
    generic("prefilter", NoValue, None),
    generic("engine-event", Required, None),
    generic("l3_proto", Required, None),
    generic("lua", Required, None),
    generic("luajit", Required, None),
    generic("iprep", Required, None),
    generic("filename", Required, None),
    generic("fileext", Required, None),
    generic("filestore", Optional, None),
    generic("filemagic", Required, None),
    generic("filemd5", Required, None),
    generic("filesha1", Required, None),
    generic("filesha256", Required, None),
    generic("filesize", Required, None),
    generic("tls.subject", Required, Some(P::Tls)),
    generic("tls.issuerdn", Required, Some(P::Tls)),
    generic("tls_cert_notbefore", Required, Some(P::Tls)),
    generic("tls_cert_notafter", Required, Some(P::Tls)),
    generic("tls_cert_expired", NoValue, Some(P::Tls)),
    generic("tls_cert_valid", NoValue, Some(P::Tls)),
    generic("tls.fingerprint", Required, Some(P::Tls)),
    generic("tls_store", NoValue, Some(P::Tls)),
    generic("tls.cert_chain_len", Required, Some(P::Tls)),
    generic("nfs_procedure", Required, Some(P::Nfs)),
    generic("nfs.version", Required, Some(P::Nfs)),
    generic("ssh.protoversion", Required, Some(P::Ssh)),
    generic("ssh.softwareversion", Required, Some(P::Ssh)),
    generic("http2.frametype", Required, Some(P::Http2)),
    generic("http2.errorcode", Required, Some(P::Http2)),
    generic("http2.priority", Required, Some(P::Http2)),
    generic("http2.window", Required, Some(P::Http2)),
    generic("http2.size_update", Required, Some(P::Http2)),
    generic("http2.settings", Required, Some(P::Http2)),
    generic("dcerpc.iface", Required, Some(P::Dcerpc)),
    generic("dce_iface", Required, Some(P::Dcerpc)),
    generic("dcerpc.opnum", Required, Some(P::Dcerpc)),
    generic("dce_opnum", Required, Some(P::Dcerpc)),
    generic("modbus", Required, Some(P::Modbus)),
    generic("cip_service", Required, Some(P::Enip)),
    generic("enip_command", Required, Some(P::Enip)),
    generic("dnp3_func", Required, Some(P::Dnp3)),
    generic("dnp3_ind", Required, Some(P::Dnp3)),
    generic("dnp3_obj", Required, Some(P::Dnp3)),
    generic("krb5_err_code", Required, Some(P::Krb5)),
    generic("krb5_msg_type", Required, Some(P::Krb5)),
    generic("krb5.ticket_encryption", Required, Some(P::Krb5)),
    generic("rfb.secresult", Required, Some(P::Rfb)),
    generic("rfb.sectype", Required, Some(P::Rfb)),
    generic("template2", Required, None),
    generic("ftpdata_command", Required, Some(P::FtpData)),
    generic("dhcp.leasetime", Required, Some(P::Dhcp)),
    generic("dhcp.rebinding_time", Required, Some(P::Dhcp)),
    generic("dhcp.renewal_time", Required, Some(P::Dhcp)),
    generic("snmp.version", Required, Some(P::Snmp)),
    generic("snmp.pdu_type", Required, Some(P::Snmp)),
    generic("mqtt.type", Required, Some(P::Mqtt)),
    generic("mqtt.flags", Required, Some(P::Mqtt)),
    generic("mqtt.qos", Required, Some(P::Mqtt)),
    generic("mqtt.protocol_version", Required, Some(P::Mqtt)),
    generic("mqtt.reason_code", Required, Some(P::Mqtt)),
    generic("mqtt.connect.flags", Required, Some(P::Mqtt)),
    generic("mqtt.connack.session_present", Required, Some(P::Mqtt)),
    generic("ike.exchtype", Required, Some(P::Ike)),
    generic("ike.chosen_sa_attribute", Required, Some(P::Ike)),
    generic("ike.key_exchange_payload_length", Required, Some(P::Ike)),
    generic("ike.nonce_payload_length", Required, Some(P::Ike)),
    generic("ip.src", NoValue, None),
    generic("ip.dst", NoValue, None),
];

/// Look up a keyword by name (case-insensitive).
pub(crate) fn lookup(name: &[u8]) -> Option<&'static KwDef> {
    static TABLE: OnceLock<HashMap<String, KwDef>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut m: HashMap<String, KwDef> = HashMap::new();
        for d in TYPED.iter().chain(GENERIC.iter()) {
            m.insert(d.name.to_string(), *d);
        }
        for &(name, tx, arg) in TRANSFORMS {
            let quotes = if arg == Required { QO } else { QF };
            m.insert(
                name.to_string(),
                KwDef {
                    name,
                    arg,
                    quotes,
                    negation: false,
                    kind: Kind::Transform(tx),
                },
            );
        }
        for &b in Buffer::ALL {
            let d = b.def();
            let sticky = KwDef {
                name: d.name,
                arg: NoValue,
                quotes: QF,
                negation: false,
                kind: Kind::Sticky(b),
            };
            m.insert(d.name.to_string(), sticky);
            for &a in d.aliases {
                m.insert(a.to_string(), KwDef { name: a, ..sticky });
            }
            if let Some(modifier) = d.modifier {
                m.insert(
                    modifier.to_string(),
                    KwDef {
                        name: modifier,
                        arg: NoValue,
                        quotes: QF,
                        negation: false,
                        kind: Kind::Modifier(b),
                    },
                );
            }
        }
        m
    });
    let s = std::str::from_utf8(name).ok()?;
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        table.get(&s.to_ascii_lowercase())
    } else {
        table.get(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert!(matches!(
            lookup(b"content").map(|d| d.kind),
            Some(Kind::Typed(K::Content))
        ));
        assert!(matches!(
            lookup(b"CONTENT").map(|d| d.kind),
            Some(Kind::Typed(K::Content))
        ));
        assert!(matches!(
            lookup(b"http_uri").map(|d| d.kind),
            Some(Kind::Modifier(Buffer::HttpUri))
        ));
        assert!(matches!(
            lookup(b"http.uri").map(|d| d.kind),
            Some(Kind::Sticky(Buffer::HttpUri))
        ));
        assert!(matches!(
            lookup(b"file_data").map(|d| d.kind),
            Some(Kind::Sticky(Buffer::FileData))
        ));
        assert!(matches!(
            lookup(b"ja3_hash").map(|d| d.kind),
            Some(Kind::Sticky(Buffer::Ja3Hash))
        ));
        assert!(matches!(
            lookup(b"to_md5").map(|d| d.kind),
            Some(Kind::Transform(Tx::ToMd5))
        ));
        assert!(lookup(b"foo").is_none());
        assert!(lookup(b"").is_none());
    }
}
