//! Decoder anomalies, named as Suricata names them (`decode-event:` keywords and EVE
//! `anomaly.event` values without the `decoder.` prefix).

/// One decoder anomaly: its Suricata name, e.g. `ipv4.trunc_pkt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeEvent(pub &'static str);

impl DecodeEvent {
    /// The EVE `anomaly.event` string (`decoder.` + name).
    pub fn eve_name(self) -> &'static str {
        // A closed set of names: map each to its prefixed form without allocating.
        macro_rules! table {
            ($($n:literal),* $(,)?) => {
                match self.0 { $($n => concat!("decoder.", $n),)* _ => "decoder.unknown" }
            };
        }
        table!(
            "ethernet.pkt_too_small",
            "vlan.header_too_small",
            "vlan.unknown_type",
            "vlan.too_many_layers",
            "ieee8021ah.header_too_small",
            "mpls.header_too_small",
            "mpls.pkt_too_small",
            "mpls.bad_label_router_alert",
            "mpls.bad_label_implicit_null",
            "mpls.bad_label_reserved",
            "mpls.unknown_payload_type",
            "pppoe.pkt_too_small",
            "pppoe.wrong_code",
            "pppoe.malformed_tags",
            "ppp.pkt_too_small",
            "ppp.vju_pkt_too_small",
            "ppp.ip4_pkt_too_small",
            "ppp.ip6_pkt_too_small",
            "ppp.wrong_type",
            "ppp.unsup_proto",
            "sll.pkt_too_small",
            "ltnull.pkt_too_small",
            "ltnull.unsupported_type",
            "chdlc.pkt_too_small",
            "ipraw.invalid_ip_version",
            "ipv4.pkt_too_small",
            "ipv4.hlen_too_small",
            "ipv4.iplen_smaller_than_hlen",
            "ipv4.trunc_pkt",
            "ipv4.opt_invalid",
            "ipv4.opt_invalid_len",
            "ipv4.opt_malformed",
            "ipv4.opt_pad_required",
            "ipv4.opt_eol_required",
            "ipv4.opt_duplicate",
            "ipv4.opt_unknown",
            "ipv4.wrong_ip_version",
            "ipv4.icmpv6",
            "ipv4.frag_pkt_too_large",
            "ipv4.frag_overlap",
            "ipv6.pkt_too_small",
            "ipv6.trunc_pkt",
            "ipv6.trunc_exthdr",
            "ipv6.exthdr_dupl_fh",
            "ipv6.exthdr_useless_fh",
            "ipv6.exthdr_dupl_rh",
            "ipv6.exthdr_dupl_hh",
            "ipv6.exthdr_dupl_dh",
            "ipv6.exthdr_dupl_ah",
            "ipv6.exthdr_dupl_eh",
            "ipv6.exthdr_invalid_optlen",
            "ipv6.wrong_ip_version",
            "ipv6.exthdr_ah_res_not_null",
            "ipv6.hopopts_unknown_opt",
            "ipv6.hopopts_only_padding",
            "ipv6.dstopts_unknown_opt",
            "ipv6.dstopts_only_padding",
            "ipv6.rh_type_0",
            "ipv6.zero_len_padn",
            "ipv6.fh_non_zero_reserved_field",
            "ipv6.data_after_none_header",
            "ipv6.unknown_next_header",
            "ipv6.icmpv4",
            "ipv6.frag_pkt_too_large",
            "ipv6.frag_overlap",
            "ipv6.frag_invalid_length",
            "ipv6.ipv4_in_ipv6_too_small",
            "ipv6.ipv4_in_ipv6_wrong_version",
            "ipv6.ipv6_in_ipv6_too_small",
            "ipv6.ipv6_in_ipv6_wrong_version",
            "tcp.pkt_too_small",
            "tcp.hlen_too_small",
            "tcp.invalid_optlen",
            "tcp.opt_invalid_len",
            "tcp.opt_duplicate",
            "udp.pkt_too_small",
            "udp.hlen_too_small",
            "udp.len_invalid",
            "icmpv4.pkt_too_small",
            "icmpv4.unknown_type",
            "icmpv4.unknown_code",
            "icmpv4.ipv4_trunc_pkt",
            "icmpv4.ipv4_unknown_ver",
            "icmpv6.pkt_too_small",
            "icmpv6.unknown_type",
            "icmpv6.unknown_code",
            "icmpv6.ipv6_trunc_pkt",
            "icmpv6.ipv6_unknown_version",
            "icmpv6.mld_message_with_invalid_hl",
            "icmpv6.unassigned_type",
            "icmpv6.experimentation_type",
            "gre.pkt_too_small",
            "gre.wrong_version",
            "gre.version0_recur",
            "gre.version0_flags",
            "gre.version0_hdr_too_big",
            "gre.version0_malformed_sre_hdr",
            "gre.version1_chksum",
            "gre.version1_route",
            "gre.version1_ssr",
            "gre.version1_recur",
            "gre.version1_flags",
            "gre.version1_no_key",
            "gre.version1_wrong_protocol",
            "gre.version1_malformed_sre_hdr",
            "gre.version1_hdr_too_big",
            "erspan.header_too_small",
            "erspan.unsupported_version",
            "erspan.too_many_vlan_layers",
            "vxlan.unknown_payload_type",
            "geneve.unknown_payload_type",
            "too_many_layers",
            "nflog.pkt_too_small",
        )
    }
}

/// Most anomalies recorded per packet; later ones are dropped (a packet with more than four
/// distinct malformations is already thoroughly reported).
pub const MAX_EVENTS_PER_PACKET: usize = 4;

/// A fixed-capacity list of decoder anomalies (no allocation per packet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Events {
    items: [Option<DecodeEvent>; MAX_EVENTS_PER_PACKET],
}

impl Events {
    /// Records `e` unless already present or full.
    pub fn push(&mut self, e: DecodeEvent) {
        for slot in &mut self.items {
            match slot {
                Some(x) if *x == e => return,
                Some(_) => {}
                None => {
                    *slot = Some(e);
                    return;
                }
            }
        }
    }
    /// The anomalies, in the order raised.
    pub fn iter(&self) -> impl Iterator<Item = DecodeEvent> + '_ {
        self.items.iter().flatten().copied()
    }
    /// True when none were raised.
    pub fn is_empty(&self) -> bool {
        self.items[0].is_none()
    }
    /// True when `name` was raised.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|e| e.0 == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed() {
        assert_eq!(
            DecodeEvent("ipv4.trunc_pkt").eve_name(),
            "decoder.ipv4.trunc_pkt"
        );
        assert_eq!(DecodeEvent("nope").eve_name(), "decoder.unknown");
    }
}
