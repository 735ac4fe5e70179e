//! Sightings: the first time an artifact is ever seen on the monitored network: a DNS query
//! name and its registered domain, an HTTP host or User-Agent, a TLS SNI, a JA3/JA3S/JA4
//! fingerprint, a server certificate (fingerprint) or its issuer.
//!
//! What has been seen is kept in the store's `sightings` tree (key `type \0 value`, value the
//! first sighting as JSON), so a restart never announces an artifact twice. The first
//! [`Sightings::learning_secs`] of event time after the store first saw traffic are a learning
//! period: artifacts are recorded silently, so that a new probe does not announce everything
//! its network already does.
//!
//! Caps: values longer than [`MAX_VALUE_LEN`] are cut; at most [`MAX_PER_HOUR`] new artifacts
//! per hour of event time and [`MAX_SIGHTINGS`] in all are recorded (then new ones are counted in [`Sightings::dropped`] and announced no more); the
//! in-memory cache of seen keys is bounded by [`MAX_CACHE`] (beyond it the store answers).

use std::collections::HashSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Longest artifact value recorded.
pub const MAX_VALUE_LEN: usize = 512;
/// Most artifacts recorded in a store.
pub const MAX_SIGHTINGS: usize = 10_000_000;
/// New artifacts recorded per hour of event time; more are counted in
/// [`Sightings::dropped`] (and may be sighted in a later hour).
pub const MAX_PER_HOUR: u32 = 1000;
/// Seen-key hashes cached in memory.
pub const MAX_CACHE: usize = 1 << 20;
/// Key of the learning-period start in the tree.
const LEARNING_KEY: &[u8] = b"\0learning-start";

/// A first sighting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    /// What kind of artifact (`tls.sni`, `http.http_user_agent`, `tls.ja3.hash` …: the EVE
    /// field it was seen in).
    #[serde(rename = "type")]
    pub kind: String,
    /// The artifact.
    pub value: String,
    /// The host it belongs to (the client for client artifacts, the server for server ones).
    pub asset: String,
    /// `client` or `server`.
    pub role: String,
    /// `internal` or `external` (the asset's network).
    pub network: String,
    /// When, EVE form.
    pub first_seen: String,
}

/// The sightings of a store (or of one run, without a store).
#[derive(Debug)]
pub struct Sightings {
    store: Option<store::Store>,
    seen: HashSet<u64>,
    hasher: ahash::RandomState,
    learning_start: Option<f64>,
    recorded: usize,
    hour: i64,
    this_hour: u32,
    /// Length of the learning period, seconds of event time.
    pub learning_secs: f64,
    /// Artifacts not recorded because [`MAX_SIGHTINGS`] was reached.
    pub dropped: u64,
    /// Artifacts recorded silently during the learning period.
    pub learned: u64,
}

fn cut(s: &str) -> &str {
    let mut end = s.len().min(MAX_VALUE_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Sightings {
    /// Sightings backed by `store` (when given), with a learning period of `learning_secs`.
    pub fn new(store: Option<store::Store>, learning_secs: f64) -> Sightings {
        let learning_start = store
            .as_ref()
            .and_then(|s| s.get(store::Tree::Sightings, LEARNING_KEY).ok().flatten())
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse::<f64>().ok());
        let recorded = store
            .as_ref()
            .map_or(0, |s| s.count(store::Tree::Sightings));
        Sightings {
            store,
            seen: HashSet::new(),
            hasher: ahash::RandomState::with_seeds(7, 11, 13, 17),
            learning_start,
            recorded,
            hour: i64::MIN,
            this_hour: 0,
            learning_secs,
            dropped: 0,
            learned: 0,
        }
    }

    /// Artifacts known.
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    /// Records an artifact seen at `t` (Unix seconds); the sighting to announce if it is new
    /// and the learning period is over.
    pub fn see(
        &mut self,
        kind: &str,
        value: &str,
        asset: IpAddr,
        role: &str,
        internal: bool,
        t: f64,
    ) -> Option<Sighting> {
        let value = cut(value.trim());
        if value.is_empty() || value == "-" {
            return None;
        }
        let start = *self.learning_start.get_or_insert_with(|| {
            if let Some(s) = &self.store {
                let _ = s.put(
                    store::Tree::Sightings,
                    LEARNING_KEY,
                    t.to_string().as_bytes(),
                );
            }
            t
        });
        let mut key = Vec::with_capacity(kind.len() + 1 + value.len());
        key.extend_from_slice(kind.as_bytes());
        key.push(0);
        key.extend_from_slice(value.as_bytes());
        let hk = self.hasher.hash_one(&key);
        if self.seen.contains(&hk) {
            return None;
        }
        if self.seen.len() >= MAX_CACHE {
            self.seen.clear();
        }
        if let Some(s) = &self.store {
            if matches!(s.get(store::Tree::Sightings, &key), Ok(Some(_))) {
                self.seen.insert(hk);
                return None;
            }
        }
        // A flood of new artifacts (random DNS names, a scan) is counted, not recorded: it
        // would only bury the sightings that matter and fill the state database.
        let hour = (t / 3600.0).floor() as i64;
        if hour != self.hour {
            self.hour = hour;
            self.this_hour = 0;
        }
        // On a nearly full disk the room left belongs to DoCs and the archive index.
        let no_room = self
            .store
            .as_ref()
            .is_some_and(|s| !s.room_for_optional_state());
        if self.recorded >= MAX_SIGHTINGS || self.this_hour >= MAX_PER_HOUR || no_room {
            self.dropped += 1;
            return None;
        }
        self.this_hour += 1;
        self.seen.insert(hk);
        let sighting = Sighting {
            kind: kind.to_string(),
            value: value.to_string(),
            asset: asset.to_string(),
            role: role.to_string(),
            network: if internal { "internal" } else { "external" }.to_string(),
            first_seen: crate::hosts::eve_time(t),
        };
        if let Some(s) = &self.store {
            if let Ok(v) = serde_json::to_vec(&sighting) {
                if let Err(e) = s.put(store::Tree::Sightings, &key, &v) {
                    tracing::warn!("sightings: saving {kind}: {e}");
                }
            }
        }
        self.recorded += 1;
        if t < start + self.learning_secs {
            self.learned += 1;
            return None;
        }
        Some(sighting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sightings_are_announced_once_even_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let st = store::Store::open(dir.path()).unwrap();
        let a: IpAddr = "10.0.0.5".parse().unwrap();
        let mut s = Sightings::new(Some(st.clone()), 60.0);
        // Learning: recorded, not announced.
        assert_eq!(
            s.see("tls.sni", "old.example", a, "server", false, 1000.0),
            None
        );
        assert_eq!(s.learned, 1);
        let n = s
            .see("tls.sni", "new.example", a, "server", false, 1061.0)
            .unwrap();
        assert_eq!(n.value, "new.example");
        assert_eq!(n.network, "external");
        assert_eq!(
            s.see("tls.sni", "new.example", a, "server", false, 1062.0),
            None
        );
        // Same value, another type: its own sighting.
        assert!(s
            .see("http.hostname", "new.example", a, "server", false, 1063.0)
            .is_some());
        drop(s);
        let mut s = Sightings::new(Some(st), 60.0);
        assert_eq!(
            s.see("tls.sni", "old.example", a, "server", false, 2000.0),
            None
        );
        assert_eq!(
            s.see("tls.sni", "new.example", a, "server", false, 2000.0),
            None
        );
        assert!(s
            .see("tls.sni", "third.example", a, "server", false, 2000.0)
            .is_some());
        assert_eq!(s.recorded(), 5, "4 artifacts and the learning start");
    }

    #[test]
    fn a_flood_of_new_artifacts_is_capped_per_hour() {
        let a: IpAddr = "10.0.0.5".parse().unwrap();
        let mut s = Sightings::new(None, 0.0);
        let n = (0..MAX_PER_HOUR + 50)
            .filter(|i| {
                s.see(
                    "dns.rrname",
                    &format!("r{i}.example"),
                    a,
                    "client",
                    true,
                    10.0,
                )
                .is_some()
            })
            .count();
        assert_eq!(n, MAX_PER_HOUR as usize);
        assert_eq!(s.dropped, 50);
        // The next hour, a dropped one can still be sighted.
        let again = format!("r{}.example", MAX_PER_HOUR + 1);
        assert!(s
            .see("dns.rrname", &again, a, "client", true, 3700.0)
            .is_some());
    }
}
