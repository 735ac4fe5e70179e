//! NDR analytics: what signatures do not catch.
//!
//! Layer: above `store` (state in sled), below `hunt` (whose filters address the events made
//! here). Everything here runs beside the workers, on the EVE events they wrote, never on
//! their threads:
//!
//! - [`intel`]: typed threat-intel indicators, loaded from CSV, JSON lines, Zeek intel files
//!   and STIX 2.1 bundles, matched on every field where their type appears;
//! - [`lookalike`]: homoglyph, typo and combosquat domains of the protected brands;
//! - [`beacon`]: RITA-compatible beacon scores of connection pairs ([`zeek`] reads Zeek logs
//!   into them);
//! - [`hosts`]: passive host insights (names, services, software, roles), kept in sled;
//! - [`sightings`]: first-ever-seen artifacts, kept in sled;
//! - [`engine`]: the stage that runs all of the above on the EVE stream and writes the alerts,
//!   `sighting`, `host` and `beacon` events they make.
//!
//! Every input-driven quantity is capped by a named constant in its module; see
//! docs/analytics.md for the figures measured against the shared corpus.
#![forbid(unsafe_code)]

pub mod beacon;
pub mod engine;
pub mod hosts;
pub mod intel;
pub mod lookalike;
pub mod sightings;
pub mod zeek;

/// Entry points for the fuzz targets in `firmware/fuzz` (not a public interface).
#[doc(hidden)]
pub mod fuzzing {
    use std::sync::Arc;

    /// A feed in any format, built into a set and looked up.
    pub fn intel_feed(data: &[u8]) {
        let feed = crate::intel::Feed::parse("fuzz", data);
        let set = crate::intel::IntelSet::build([&feed]);
        let s = String::from_utf8_lossy(data);
        let _ = set.match_domain(&s, 0);
        let _ = set.match_url(&s, "/", 0);
        if let Ok(ip) = s.trim().parse() {
            let _ = set.match_ip(ip, 0);
        }
    }

    /// A protect file (before the first NUL) and names to check (after it, one per line).
    pub fn lookalike(data: &[u8]) {
        let s = String::from_utf8_lossy(data);
        let (protect, names) = s
            .split_once('\0')
            .unwrap_or(("paypal.com\nitau.com.br", &s));
        let (p, _) = crate::lookalike::Protect::parse(protect);
        for n in names.lines() {
            let _ = p.check(n);
        }
    }

    /// One Zeek log.
    pub fn zeek_log(data: &[u8]) {
        crate::zeek::fuzz_log(data);
    }

    /// EVE lines through the whole analytics stage (intel, lookalikes, sightings, hosts,
    /// beacons), without a store.
    pub fn engine(data: &[u8]) {
        let feed = crate::intel::Feed::parse(
            "f",
            b"indicator,type\n10.0.0.1,ip\nevil.example,domain\nabc,ja3\n",
        );
        let (protect, _) = crate::lookalike::Protect::parse("paypal.com\n");
        let cfg = crate::engine::Config {
            intel: crate::engine::IntelHandle::new(crate::intel::IntelSet::build([&feed])),
            protect: Arc::new(protect),
            beacon_interval_secs: 1.0,
            host_interval_secs: 1.0,
            ..crate::engine::Config::default()
        };
        let mut a = crate::engine::Analytics::new(cfg, None);
        let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
        let mut sink = std::io::sink();
        let _ = a.lines(&lines, &mut sink);
        let _ = a.finish(&mut sink);
    }
}

#[cfg(test)]
mod tests {
    /// The fuzz entry points survive hostile seeds (the fuzzer explores from here).
    #[test]
    fn fuzz_entry_points_take_hostile_input() {
        let seeds: [&[u8]; 8] = [
            b"",
            b"\xff\xfe\x00{",
            b"indicator,type\n\"unterminated,ip\n1.2.3.4/99,cidr\n",
            b"{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"pattern\":\"[\"}]}",
            b"#fields\tindicator\tindicator_type\nx\n",
            b"paypal.com\n!x\0xn--\n\xc3\x28.com\npaypa1.com:99999999999\n",
            b"{\"timestamp\":\"2025-01-01T00:00:00.000000+0000\",\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"1.1.1.1\",\"flow\":{\"start\":\"x\"}}\n{\"event_type\":\"dns\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"dns\":{\"answers\":[{\"rrtype\":\"PTR\",\"rrname\":\"1.0.0.10.in-addr.arpa\",\"rdata\":\"x\"}]}}",
            b"#separator \\x09\n#fields\tts\n\t\t\t\n{\"ts\":[1]}",
        ];
        for s in seeds {
            super::fuzzing::intel_feed(s);
            super::fuzzing::lookalike(s);
            super::fuzzing::zeek_log(s);
            super::fuzzing::engine(s);
        }
    }
}
