//! The analytics stage: reads the EVE lines the workers write, passes each one on unchanged,
//! and adds the events analytics derive from them right after it.
//!
//! ```text
//! workers ──EVE──▶ AnalyticsWriter (own thread) ──EVE + alert/sighting/host/beacon──▶ ingest / file
//! ```
//!
//! Derived events, all EVE-shaped so that hunt filters, policies and SOC tooling read them:
//! - **intel alerts** (`event_type: alert`, `alert.gid` [`INTEL_GID`]): the triggering event
//!   (its `dns`/`http`/`tls`/`fileinfo` object included) with an `alert` and an `intel`
//!   object (`indicator`, `type`, `source`, `description`, `confidence`, `field`, `value`).
//!   One per flow, indicator and field.
//! - **lookalike alerts** (`alert.gid` [`LOOKALIKE_GID`]): the same, with a `lookalike` object
//!   (`domain`, `protected`, `method`, `tier`, `field`).
//! - **`sighting`** events: an artifact seen for the first time ([`crate::sightings`]).
//! - **`host`** events: a host record that changed ([`crate::hosts`]), at the end of a replay
//!   and every [`Config::host_interval_secs`] of event time.
//! - **`beacon`** events: pairs that score at least [`Config::beacon_min_score`]
//!   ([`crate::beacon`]), at the end of a replay and every [`Config::beacon_interval_secs`].
//!
//! Only `dns`, `http`, `tls`, `fileinfo` and `flow` lines are parsed (into borrowed structs);
//! every other line is passed through after a look at its `event_type`. Lines that are not
//! JSON pass through untouched.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ahash::{HashMap, HashMapExt, HashSet, HashSetExt};
use crossbeam_channel::{bounded, Sender};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::beacon::{self, Analyzer, Internal};
use crate::hosts::{Evidence, HostBook};
use crate::intel::{Hit, IntelSet, Kind};
use crate::lookalike::{Protect, Tier};
use crate::sightings::Sightings;

/// `alert.gid` of threat-intel alerts.
pub const INTEL_GID: u32 = 9001;
/// `alert.gid` of lookalike-domain alerts.
pub const LOOKALIKE_GID: u32 = 9002;
/// Flows remembered for per-flow de-duplication and naming.
pub const MAX_FLOW_MEMORY: usize = 262_144;
/// Lookalike verdicts cached by name.
pub const MAX_NAME_CACHE: usize = 65_536;
/// Longest line parsed (longer ones pass through unexamined).
pub const MAX_LINE: usize = 16 << 20;
/// Chunks queued between the writer and the analytics thread.
const CHANNEL_CHUNKS: usize = 256;

/// The intel set in use, replaceable while running (a management command pushes or removes a
/// feed; the engine picks the new set up before its next chunk).
#[derive(Debug, Default)]
pub struct IntelHandle {
    generation: AtomicU64,
    set: Mutex<Arc<IntelSet>>,
}

impl IntelHandle {
    /// A handle holding `set`.
    pub fn new(set: IntelSet) -> Arc<IntelHandle> {
        Arc::new(IntelHandle {
            generation: AtomicU64::new(1),
            set: Mutex::new(Arc::new(set)),
        })
    }

    /// Replaces the set; matching switches over at the next chunk.
    pub fn replace(&self, set: IntelSet) {
        if let Ok(mut g) = self.set.lock() {
            *g = Arc::new(set);
        }
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The current set.
    pub fn current(&self) -> Arc<IntelSet> {
        self.set
            .lock()
            .map(|g| Arc::clone(&g))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

/// What the stage does.
#[derive(Debug, Clone)]
pub struct Config {
    /// Threat intelligence.
    pub intel: Arc<IntelHandle>,
    /// Protected domains for lookalike detection.
    pub protect: Arc<Protect>,
    /// The monitored (internal) networks.
    pub internal: Internal,
    /// Beacon analyzer sizes.
    pub beacon: beacon::Limits,
    /// Lowest score that makes a `beacon` event.
    pub beacon_min_score: f64,
    /// Event-time seconds between beacon scorings while running.
    pub beacon_interval_secs: f64,
    /// Whether to announce first sightings.
    pub sightings: bool,
    /// Learning period of the sightings, seconds.
    pub sighting_learning_secs: f64,
    /// Whether to keep host records and make `host` events.
    pub hosts: bool,
    /// Event-time seconds between `host` event batches while running.
    pub host_interval_secs: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            intel: IntelHandle::new(IntelSet::default()),
            protect: Arc::new(Protect::default()),
            internal: Internal::default(),
            beacon: beacon::Limits::default(),
            beacon_min_score: 0.8,
            beacon_interval_secs: 3600.0,
            sightings: true,
            sighting_learning_secs: 0.0,
            hosts: true,
            host_interval_secs: 600.0,
        }
    }
}

/// Counts for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnalyticsStats {
    /// Lines read.
    pub lines: u64,
    /// Threat-intel alerts made.
    pub intel_alerts: u64,
    /// Lookalike alerts made.
    pub lookalike_alerts: u64,
    /// Sighting events made.
    pub sightings: u64,
    /// Host events made.
    pub host_events: u64,
    /// Beacon events made.
    pub beacons: u64,
    /// Hosts tracked.
    pub hosts: u64,
    /// Connections given to the beacon analyzer.
    pub beacon_conns: u64,
    /// Inputs dropped at a cap (beacon pairs, hosts, sightings).
    pub capped: u64,
}

/// The analytics state of one run.
#[derive(Debug)]
pub struct Analytics {
    cfg: Config,
    intel: Arc<IntelSet>,
    intel_gen: u64,
    beacons: Analyzer,
    hosts: HostBook,
    sightings: Sightings,
    /// Per-flow memory: alerts made (flow, what) and the flow's server name for beacons.
    alerted: HashSet<(u64, u64)>,
    names: HashMap<u64, (Box<str>, bool)>,
    names_order: VecDeque<u64>,
    name_cache: HashMap<Box<str>, Option<crate::lookalike::Finding>>,
    hasher: ahash::RandomState,
    last_beacon_scoring: f64,
    last_host_flush: f64,
    latest: f64,
    emitted_beacons: HashMap<String, f64>,
    stats: AnalyticsStats,
}

/// The fields of an event the stage reads; strings borrowed from the line where possible.
#[derive(Debug, Deserialize)]
struct Ev<'a> {
    #[serde(borrow, default)]
    timestamp: Cow<'a, str>,
    #[serde(default)]
    flow_id: Option<u64>,
    #[serde(borrow, default)]
    event_type: Cow<'a, str>,
    #[serde(borrow, default)]
    src_ip: Option<Cow<'a, str>>,
    #[serde(default)]
    src_port: Option<u16>,
    #[serde(borrow, default)]
    dest_ip: Option<Cow<'a, str>>,
    #[serde(default)]
    dest_port: Option<u16>,
    #[serde(borrow, default)]
    proto: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    app_proto: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    dns: Option<Dns<'a>>,
    #[serde(borrow, default)]
    http: Option<Http<'a>>,
    #[serde(borrow, default)]
    tls: Option<Tls<'a>>,
    #[serde(borrow, default)]
    fileinfo: Option<FileInfo<'a>>,
    #[serde(borrow, default)]
    flow: Option<FlowRec<'a>>,
}

#[derive(Debug, Deserialize)]
struct Dns<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    rrname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    answers: Vec<Answer<'a>>,
}

#[derive(Debug, Deserialize)]
struct Answer<'a> {
    #[serde(borrow, default)]
    rrname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    rrtype: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    rdata: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Http<'a> {
    #[serde(borrow, default)]
    hostname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    http_user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    http_method: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Hash<'a> {
    #[serde(borrow, default)]
    hash: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Tls<'a> {
    #[serde(borrow, default)]
    sni: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    fingerprint: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    issuerdn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subject: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    ja3: Option<Hash<'a>>,
    #[serde(borrow, default)]
    ja3s: Option<Hash<'a>>,
    #[serde(borrow, default)]
    ja4: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct FileInfo<'a> {
    #[serde(borrow, default)]
    sha256: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sha1: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    md5: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct FlowRec<'a> {
    #[serde(default)]
    pkts_toclient: u64,
    #[serde(default)]
    bytes_toserver: u64,
    #[serde(default)]
    bytes_toclient: u64,
    #[serde(borrow, default)]
    start: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    end: Option<Cow<'a, str>>,
}

/// The value of the top-level `event_type` of a line, found without parsing it.
fn event_type(line: &[u8]) -> Option<&[u8]> {
    let k = b"\"event_type\":\"";
    let i = memchr::memmem::find(line, k)? + k.len();
    let n = memchr::memchr(b'"', &line[i..])?;
    Some(&line[i..i + n])
}

fn secs(ts: &str) -> Option<f64> {
    types::Timestamp::parse_eve(ts).map(|t| t.0 as f64 / 1e9)
}

/// Something that made an alert: what kind, in which field, which value.
struct Trigger<'e> {
    field: &'static str,
    value: &'e str,
}

impl Analytics {
    /// A stage with `cfg`, keeping state in `store` when given.
    pub fn new(cfg: Config, store: Option<store::Store>) -> Analytics {
        let intel = cfg.intel.current();
        let intel_gen = cfg.intel.generation();
        Analytics {
            beacons: Analyzer::new(cfg.internal.clone(), cfg.beacon.clone()),
            hosts: HostBook::new(cfg.internal.clone(), store.clone()),
            sightings: Sightings::new(store, cfg.sighting_learning_secs),
            intel,
            intel_gen,
            alerted: HashSet::new(),
            names: HashMap::new(),
            names_order: VecDeque::new(),
            name_cache: HashMap::new(),
            hasher: ahash::RandomState::with_seeds(1, 2, 3, 4),
            last_beacon_scoring: f64::NAN,
            last_host_flush: f64::NAN,
            latest: f64::NEG_INFINITY,
            emitted_beacons: HashMap::new(),
            cfg,
            stats: AnalyticsStats::default(),
        }
    }

    /// Picks up a replaced intel set.
    fn refresh_intel(&mut self) {
        let g = self.cfg.intel.generation();
        if g != self.intel_gen {
            self.intel = self.cfg.intel.current();
            self.intel_gen = g;
        }
    }

    /// Handles one EVE line (without its newline): writes it, then what it caused.
    pub fn line(&mut self, line: &[u8], out: &mut dyn Write) -> io::Result<()> {
        out.write_all(line)?;
        out.write_all(b"\n")?;
        self.stats.lines += 1;
        if line.len() > MAX_LINE {
            return Ok(());
        }
        match event_type(line) {
            Some(b"dns" | b"http" | b"tls" | b"fileinfo" | b"flow") => {}
            _ => return Ok(()),
        }
        let Ok(ev) = serde_json::from_slice::<Ev<'_>>(line) else {
            return Ok(());
        };
        self.event(&ev, line, out)
    }

    /// Handles many lines (one chunk of the stream).
    pub fn lines(&mut self, lines: &[&[u8]], out: &mut dyn Write) -> io::Result<()> {
        self.refresh_intel();
        for l in lines {
            self.line(l, out)?;
        }
        Ok(())
    }

    fn event(&mut self, ev: &Ev<'_>, line: &[u8], out: &mut dyn Write) -> io::Result<()> {
        let Some(t) = secs(&ev.timestamp) else {
            return Ok(());
        };
        self.latest = self.latest.max(t);
        let src: Option<IpAddr> = ev.src_ip.as_deref().and_then(|s| s.parse().ok());
        let dst: Option<IpAddr> = ev.dest_ip.as_deref().and_then(|s| s.parse().ok());
        let flow_id = ev.flow_id.unwrap_or(0);

        // Threat intel on addresses: once per flow.
        if !self.intel.is_empty() {
            for (ip, field) in [(src, "src_ip"), (dst, "dest_ip")] {
                if let Some(a) = ip {
                    if let Some(hit) = self.intel.match_ip(a, t as i64) {
                        let s = a.to_string();
                        self.intel_alert(
                            ev,
                            line,
                            flow_id,
                            &hit,
                            &Trigger { field, value: &s },
                            out,
                        )?;
                    }
                }
            }
        }

        let mut names: Vec<(&'static str, &str)> = Vec::new();
        match &*ev.event_type {
            "dns" => {
                if let Some(d) = &ev.dns {
                    if d.kind.as_deref() != Some("answer") {
                        if let Some(n) = d.rrname.as_deref() {
                            names.push(("dns.rrname", n));
                            // Registered domains, not every query name: random labels (CDNs, DGAs,
                            // resolver probes) would bury the sightings that matter.
                            if let Some(r) = crate::lookalike::registrable_domain(n) {
                                self.sight(ev, "dns.registered_domain", &r, src, "client", t, out)?;
                            }
                        }
                    } else if let Some(n) = d.rrname.as_deref() {
                        // Answers only name-check when the query was not seen (one-sided).
                        if !self.flow_seen(flow_id, n) {
                            names.push(("dns.rrname", n));
                        }
                    }
                    for a in &d.answers {
                        self.dns_answer(a, t);
                    }
                }
            }
            "http" => {
                if let Some(h) = &ev.http {
                    if let Some(n) = h.hostname.as_deref() {
                        names.push(("http.hostname", n));
                        let (bname, proxied) = beacon::http_request_name(
                            n,
                            h.http_method.as_deref().unwrap_or(""),
                            h.url.as_deref().unwrap_or(""),
                        );
                        self.remember_name(flow_id, bname, proxied, false);
                        if self.cfg.hosts {
                            if proxied {
                                if let Some(d) = dst {
                                    self.hosts.observe(&Evidence::Proxy { ip: d }, t);
                                }
                            } else if let Some(d) = dst {
                                self.hosts.observe(&Evidence::Name { ip: d, name: n }, t);
                            }
                        }
                        if !self.intel.is_empty() {
                            if let Some(u) = h.url.as_deref() {
                                if let Some(hit) = self.intel.match_url(n, u, t as i64) {
                                    let v = format!("{n}{u}");
                                    self.intel_alert(
                                        ev,
                                        line,
                                        flow_id,
                                        &hit,
                                        &Trigger {
                                            field: "http.url",
                                            value: &v,
                                        },
                                        out,
                                    )?;
                                }
                            }
                        }
                        self.sight(ev, "http.hostname", n, dst, "server", t, out)?;
                    }
                    if let Some(ua) = h.http_user_agent.as_deref() {
                        self.value_intel(
                            ev,
                            line,
                            flow_id,
                            Kind::UserAgent,
                            "http.http_user_agent",
                            ua,
                            t,
                            out,
                        )?;
                        if self.cfg.hosts {
                            if let Some(s) = src {
                                self.hosts.observe(&Evidence::Software { ip: s, sw: ua }, t);
                            }
                        }
                        self.sight(ev, "http.http_user_agent", ua, src, "client", t, out)?;
                    }
                }
            }
            "tls" => {
                if let Some(tls) = &ev.tls {
                    if let Some(n) = tls.sni.as_deref() {
                        names.push(("tls.sni", n));
                        self.remember_name(flow_id, n, false, true);
                        if self.cfg.hosts {
                            if let Some(d) = dst {
                                self.hosts.observe(&Evidence::Name { ip: d, name: n }, t);
                            }
                        }
                        self.sight(ev, "tls.sni", n, dst, "server", t, out)?;
                    }
                    if let Some(fp) = tls.fingerprint.as_deref() {
                        self.value_intel(
                            ev,
                            line,
                            flow_id,
                            Kind::CertFingerprint,
                            "tls.fingerprint",
                            fp,
                            t,
                            out,
                        )?;
                        self.sight(ev, "tls.fingerprint", fp, dst, "server", t, out)?;
                    }
                    if let (Some(subject), Some(d), true) =
                        (tls.subject.as_deref(), dst, self.cfg.hosts)
                    {
                        self.hosts
                            .observe(&Evidence::Certificate { ip: d, subject }, t);
                    }
                    if let Some(h) = tls.ja3.as_ref().and_then(|j| j.hash.as_deref()) {
                        self.value_intel(ev, line, flow_id, Kind::Ja3, "tls.ja3.hash", h, t, out)?;
                        if self.cfg.hosts {
                            if let Some(s) = src {
                                self.hosts
                                    .observe(&Evidence::Fingerprint { ip: s, fp: h }, t);
                            }
                        }
                        self.sight(ev, "tls.ja3.hash", h, src, "client", t, out)?;
                    }
                    if let Some(h) = tls.ja3s.as_ref().and_then(|j| j.hash.as_deref()) {
                        self.value_intel(
                            ev,
                            line,
                            flow_id,
                            Kind::Ja3s,
                            "tls.ja3s.hash",
                            h,
                            t,
                            out,
                        )?;
                        self.sight(ev, "tls.ja3s.hash", h, dst, "server", t, out)?;
                    }
                    if let Some(h) = tls.ja4.as_deref() {
                        self.value_intel(ev, line, flow_id, Kind::Ja4, "tls.ja4", h, t, out)?;
                        if self.cfg.hosts {
                            if let Some(s) = src {
                                self.hosts
                                    .observe(&Evidence::Fingerprint { ip: s, fp: h }, t);
                            }
                        }
                        self.sight(ev, "tls.ja4", h, src, "client", t, out)?;
                    }
                    if let Some(i) = tls.issuerdn.as_deref() {
                        self.sight(ev, "tls.issuerdn", i, dst, "server", t, out)?;
                    }
                }
            }
            "fileinfo" => {
                if let Some(f) = &ev.fileinfo {
                    for (kind, field, v) in [
                        (Kind::Sha256, "fileinfo.sha256", &f.sha256),
                        (Kind::Sha1, "fileinfo.sha1", &f.sha1),
                        (Kind::Md5, "fileinfo.md5", &f.md5),
                    ] {
                        if let Some(v) = v.as_deref() {
                            self.value_intel(ev, line, flow_id, kind, field, v, t, out)?;
                        }
                    }
                }
            }
            "flow" => self.flow(ev, src, dst, flow_id, t),
            _ => {}
        }
        for (field, name) in names {
            if !self.intel.is_empty() {
                if let Some(hit) = self.intel.match_domain(name, t as i64) {
                    self.intel_alert(
                        ev,
                        line,
                        flow_id,
                        &hit,
                        &Trigger { field, value: name },
                        out,
                    )?;
                }
            }
            self.lookalike(ev, line, flow_id, field, name, out)?;
        }
        self.periodic(t, out)
    }

    /// Whether (flow, value) was already handled, marking it handled.
    fn flow_seen(&mut self, flow_id: u64, what: &str) -> bool {
        let h = self.hasher.hash_one(what);
        if self.alerted.len() >= MAX_FLOW_MEMORY {
            self.alerted.clear();
        }
        !self.alerted.insert((flow_id, h))
    }

    fn remember_name(&mut self, flow_id: u64, name: &str, proxied: bool, sni: bool) {
        if flow_id == 0 {
            return;
        }
        // A TLS SNI does not replace a proxy request's name (TLS inside a CONNECT tunnel).
        if let Some((_, p)) = self.names.get(&flow_id) {
            if *p && sni {
                return;
            }
        }
        if self.names.len() >= MAX_FLOW_MEMORY {
            if let Some(old) = self.names_order.pop_front() {
                self.names.remove(&old);
            }
        }
        let n = beacon::MAX_FQDN_LEN.min(name.len());
        let mut end = n;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        if self
            .names
            .insert(flow_id, (name[..end].into(), proxied))
            .is_none()
        {
            self.names_order.push_back(flow_id);
        }
    }

    fn dns_answer(&mut self, a: &Answer<'_>, t: f64) {
        if !self.cfg.hosts {
            return;
        }
        let (Some(name), Some(rtype), Some(rdata)) =
            (a.rrname.as_deref(), a.rrtype.as_deref(), a.rdata.as_deref())
        else {
            return;
        };
        match rtype {
            "A" | "AAAA" => {
                if let Ok(ip) = rdata.parse::<IpAddr>() {
                    self.hosts.observe(&Evidence::Name { ip, name }, t);
                }
            }
            "PTR" => {
                if let Some(ip) = ptr_address(name) {
                    self.hosts.observe(&Evidence::Name { ip, name: rdata }, t);
                }
            }
            _ => {}
        }
    }

    fn flow(
        &mut self,
        ev: &Ev<'_>,
        src: Option<IpAddr>,
        dst: Option<IpAddr>,
        flow_id: u64,
        t: f64,
    ) {
        let (Some(src), Some(dst), Some(f)) = (src, dst, ev.flow.as_ref()) else {
            return;
        };
        let proto = ev.proto.as_deref().unwrap_or("");
        let app = ev.app_proto.as_deref().unwrap_or("");
        let app = if app == "failed" { "" } else { app };
        if self.cfg.hosts {
            self.hosts.observe(
                &Evidence::Flow {
                    client: src,
                    sport: ev.src_port.unwrap_or(0),
                    server: dst,
                    port: ev.dest_port.unwrap_or(0),
                    proto,
                    app,
                    answered: f.pkts_toclient > 0,
                },
                t,
            );
        }
        let start = f.start.as_deref().and_then(secs).unwrap_or(t);
        let end = f.end.as_deref().and_then(secs).unwrap_or(start);
        let (fqdn, proxied) = match self.names.get(&flow_id) {
            Some((n, p)) => (Some(n.to_string()), *p),
            None => (None, false),
        };
        self.beacons.add(&beacon::Conn {
            ts: start,
            src,
            dst,
            dport: ev.dest_port.unwrap_or(0),
            orig_bytes: f.bytes_toserver,
            resp_bytes: f.bytes_toclient,
            duration: (end - start).max(0.0),
            fqdn,
            proxied,
        });
        self.stats.beacon_conns += 1;
    }

    #[allow(clippy::too_many_arguments)]
    fn value_intel(
        &mut self,
        ev: &Ev<'_>,
        line: &[u8],
        flow_id: u64,
        kind: Kind,
        field: &'static str,
        v: &str,
        t: f64,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if self.intel.is_empty() {
            return Ok(());
        }
        if let Some(hit) = self.intel.match_value(kind, v, t as i64) {
            self.intel_alert(ev, line, flow_id, &hit, &Trigger { field, value: v }, out)?;
        }
        Ok(())
    }

    fn intel_alert(
        &mut self,
        ev: &Ev<'_>,
        line: &[u8],
        flow_id: u64,
        hit: &Hit,
        trig: &Trigger<'_>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        // One alert per flow and indicator (a flow's events name its ends both ways round).
        if flow_id != 0
            && self.flow_seen(flow_id, &format!("intel\0{}\0{}", hit.kind, hit.indicator))
        {
            return Ok(());
        }
        let severity = match hit.confidence {
            Some(c) if c >= 75 => 1,
            Some(c) if c < 40 => 3,
            _ => 2,
        };
        let sid = 9_001_000 + u64::from(kind_index(hit.kind));
        let alert = json!({
            "action": "allowed",
            "gid": INTEL_GID,
            "signature_id": sid,
            "rev": 1,
            "signature": format!("INTEL {} listed by {}: {}", hit.kind, hit.source, hit.indicator),
            "category": "Threat Intelligence Match",
            "severity": severity,
        });
        let mut extra = serde_json::to_value(hit).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut extra {
            m.insert("field".into(), trig.field.into());
            m.insert("value".into(), trig.value.into());
        }
        self.stats.intel_alerts += 1;
        write_alert(ev, line, alert, "intel", extra, out)
    }

    fn lookalike(
        &mut self,
        ev: &Ev<'_>,
        line: &[u8],
        flow_id: u64,
        field: &'static str,
        name: &str,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if self.cfg.protect.is_empty() {
            return Ok(());
        }
        let finding = match self.name_cache.get(name) {
            Some(f) => f.clone(),
            None => {
                let f = self.cfg.protect.check(name);
                if self.name_cache.len() >= MAX_NAME_CACHE {
                    self.name_cache.clear();
                }
                self.name_cache.insert(name.into(), f.clone());
                f
            }
        };
        let Some(f) = finding else {
            return Ok(());
        };
        if self.flow_seen(flow_id, &format!("lookalike\0{field}\0{name}")) {
            return Ok(());
        }
        let (sid, severity) = match f.tier {
            Tier::High => (9_002_001, 1),
            Tier::Medium => (9_002_002, 2),
        };
        let alert = json!({
            "action": "allowed",
            "gid": LOOKALIKE_GID,
            "signature_id": sid,
            "rev": 1,
            "signature": format!("LOOKALIKE {} of {}: {}", f.method, f.protected, f.domain),
            "category": "Possible Social Engineering Attempted",
            "severity": severity,
        });
        let mut extra = serde_json::to_value(&f).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut extra {
            m.insert("field".into(), field.into());
        }
        self.stats.lookalike_alerts += 1;
        write_alert(ev, line, alert, "lookalike", extra, out)
    }

    #[allow(clippy::too_many_arguments)]
    fn sight(
        &mut self,
        ev: &Ev<'_>,
        kind: &str,
        value: &str,
        asset: Option<IpAddr>,
        role: &str,
        t: f64,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if !self.cfg.sightings {
            return Ok(());
        }
        let Some(asset) = asset else { return Ok(()) };
        let internal = self.cfg.internal.contains(asset);
        let Some(s) = self.sightings.see(kind, value, asset, role, internal, t) else {
            return Ok(());
        };
        let mut v = header(ev);
        v.insert("event_type".into(), "sighting".into());
        v.insert(
            "sighting".into(),
            serde_json::to_value(&s).unwrap_or(Value::Null),
        );
        self.stats.sightings += 1;
        write_value(&Value::Object(v), out)
    }

    /// Host and beacon events due at event time `t`.
    fn periodic(&mut self, t: f64, out: &mut dyn Write) -> io::Result<()> {
        if self.last_host_flush.is_nan() {
            self.last_host_flush = t;
            self.last_beacon_scoring = t;
        }
        if self.cfg.hosts && t - self.last_host_flush >= self.cfg.host_interval_secs {
            self.last_host_flush = t;
            self.flush_hosts(t, false, out)?;
        }
        if t - self.last_beacon_scoring >= self.cfg.beacon_interval_secs {
            self.last_beacon_scoring = t;
            self.score_beacons(t, out)?;
        }
        Ok(())
    }

    fn flush_hosts(&mut self, t: f64, end: bool, out: &mut dyn Write) -> io::Result<()> {
        for h in self.hosts.take_changed(end) {
            let v = json!({
                "timestamp": crate::hosts::eve_time(t),
                "event_type": "host",
                "src_ip": h.ip,
                "host": h,
            });
            self.stats.host_events += 1;
            write_value(&v, out)?;
        }
        Ok(())
    }

    fn score_beacons(&mut self, t: f64, out: &mut dyn Write) -> io::Result<()> {
        for b in self.beacons.score() {
            if b.score < self.cfg.beacon_min_score || b.excluded.is_some() {
                continue;
            }
            let key = format!("{}|{}|{}", b.src, b.dst, b.fqdn.as_deref().unwrap_or(""));
            // Announced again only when the score rose by 0.05 or more.
            if let Some(prev) = self.emitted_beacons.get(&key) {
                if b.score < prev + 0.05 {
                    continue;
                }
            }
            self.emitted_beacons.insert(key, b.score);
            let mut v = json!({
                "timestamp": crate::hosts::eve_time(t),
                "event_type": "beacon",
                "src_ip": b.src.to_string(),
                "proto": "",
                "beacon": b,
            });
            if let Value::Object(m) = &mut v {
                m.remove("proto");
                if b.fqdn.is_none() {
                    m.insert("dest_ip".into(), b.dst.to_string().into());
                }
                if let Some(p) = b.dports.first() {
                    m.insert("dest_port".into(), (*p).into());
                }
            }
            self.stats.beacons += 1;
            write_value(&v, out)?;
        }
        Ok(())
    }

    /// Ends the run: scores beacons, writes the changed hosts, and returns the counters.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<AnalyticsStats> {
        let t = if self.last_host_flush.is_nan() {
            0.0
        } else {
            self.last_host_flush.max(self.last_beacon_scoring)
        };
        let latest = if self.latest.is_finite() {
            self.latest
        } else {
            t
        };
        self.score_beacons(latest, out)?;
        if self.cfg.hosts {
            self.flush_hosts(latest, true, out)?;
        }
        self.stats.hosts = self.hosts.len() as u64;
        self.stats.capped = self.beacons.dropped + self.hosts.dropped + self.sightings.dropped;
        Ok(self.stats.clone())
    }

    /// Counters so far.
    pub fn stats(&self) -> &AnalyticsStats {
        &self.stats
    }
}

fn kind_index(k: Kind) -> u16 {
    Kind::ALL.iter().position(|x| *x == k).unwrap_or(0) as u16 + 1
}

/// The address a reverse-lookup name stands for (`4.3.2.1.in-addr.arpa` → 1.2.3.4).
fn ptr_address(name: &str) -> Option<IpAddr> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = n.strip_suffix(".in-addr.arpa") {
        let mut parts: Vec<&str> = rest.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        parts.reverse();
        return parts.join(".").parse().ok();
    }
    if let Some(rest) = n.strip_suffix(".ip6.arpa") {
        let nibbles: Vec<&str> = rest.split('.').collect();
        if nibbles.len() != 32 || nibbles.iter().any(|x| x.len() != 1) {
            return None;
        }
        let hex: String = nibbles.iter().rev().copied().collect();
        let v = u128::from_str_radix(&hex, 16).ok()?;
        return Some(IpAddr::from(v.to_be_bytes()));
    }
    None
}

/// The flow-identifying fields of an event, for derived events.
fn header(ev: &Ev<'_>) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("timestamp".into(), ev.timestamp.as_ref().into());
    if let Some(f) = ev.flow_id {
        m.insert("flow_id".into(), f.into());
    }
    for (k, v) in [
        ("src_ip", &ev.src_ip),
        ("dest_ip", &ev.dest_ip),
        ("proto", &ev.proto),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), v.as_ref().into());
        }
    }
    if let Some(p) = ev.src_port {
        m.insert("src_port".into(), p.into());
    }
    if let Some(p) = ev.dest_port {
        m.insert("dest_port".into(), p.into());
    }
    m
}

/// The triggering event turned into an alert: all its fields kept (the `dns`, `http`, `tls`
/// or `fileinfo` object is the context an analyst needs), `event_type` set to `alert`, and
/// the `alert` and `key` objects added.
fn write_alert(
    ev: &Ev<'_>,
    line: &[u8],
    alert: Value,
    key: &str,
    extra: Value,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut m = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(m)) => m,
        _ => header(ev),
    };
    let orig = m
        .insert("event_type".into(), "alert".into())
        .and_then(|v| v.as_str().map(str::to_string));
    // A flow event becomes an alert on the flow: its record stays under `flow`.
    if let Some(o) = orig {
        if o != "flow" && !m.contains_key("app_proto") {
            m.insert("app_proto".into(), o.into());
        }
    }
    m.remove("pcap_cnt");
    m.remove("tx_id");
    m.insert("alert".into(), alert);
    m.insert(key.into(), extra);
    write_value(&Value::Object(m), out)
}

fn write_value(v: &Value, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, v).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Feeds a running [`Analytics`] from a [`Write`]: whatever is written is split into lines on
/// a thread of its own, and the result goes to the downstream writer.
pub struct AnalyticsWriter {
    tx: Option<Sender<Vec<u8>>>,
}

impl std::fmt::Debug for AnalyticsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnalyticsWriter")
    }
}

/// Joins the analytics thread.
#[derive(Debug)]
pub struct AnalyticsHandle {
    join: JoinHandle<io::Result<AnalyticsStats>>,
}

impl AnalyticsHandle {
    /// Waits for the thread (the writer must be dropped first) and returns its counters.
    pub fn join(self) -> io::Result<AnalyticsStats> {
        self.join
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("analytics thread panicked")))
    }
}

impl AnalyticsWriter {
    /// Starts the analytics thread writing to `out`.
    pub fn spawn(
        mut a: Analytics,
        mut out: Box<dyn Write + Send>,
    ) -> io::Result<(AnalyticsWriter, AnalyticsHandle)> {
        let (tx, rx) = bounded::<Vec<u8>>(CHANNEL_CHUNKS);
        let join = std::thread::Builder::new()
            .name("analytics".into())
            .spawn(move || {
                let mut carry: Vec<u8> = Vec::new();
                for chunk in rx {
                    let data = if carry.is_empty() {
                        chunk
                    } else {
                        let mut c = std::mem::take(&mut carry);
                        c.extend_from_slice(&chunk);
                        c
                    };
                    let mut start = 0;
                    let mut lines: Vec<&[u8]> = Vec::with_capacity(1024);
                    while let Some(nl) = memchr::memchr(b'\n', &data[start..]) {
                        lines.push(&data[start..start + nl]);
                        start += nl + 1;
                    }
                    a.lines(&lines, &mut out)?;
                    carry = data[start..].to_vec();
                    if carry.len() > MAX_LINE {
                        out.write_all(&carry)?;
                        carry.clear();
                    }
                }
                if !carry.is_empty() {
                    a.line(&carry, &mut out)?;
                }
                let stats = a.finish(&mut out)?;
                out.flush()?;
                Ok(stats)
            })?;
        Ok((AnalyticsWriter { tx: Some(tx) }, AnalyticsHandle { join }))
    }
}

impl Write for AnalyticsWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(tx) = &self.tx else {
            return Err(io::Error::other("analytics closed"));
        };
        tx.send(buf.to_vec())
            .map_err(|_| io::Error::other("analytics thread stopped (see its error)"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::Feed;

    fn run(a: &mut Analytics, lines: &[String]) -> Vec<Value> {
        let mut out = Vec::new();
        let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        a.lines(&refs, &mut out).unwrap();
        a.finish(&mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
            .collect()
    }

    fn ts(s: u64) -> String {
        types::Timestamp(s * 1_000_000_000).to_eve_string()
    }

    #[test]
    fn derived_events_follow_their_trigger() {
        let feed = Feed::parse(
            "t.csv",
            b"indicator,type,source\nevil.example,domain,acme-ti\n198.51.100.66,ip,acme-ti\n",
        );
        let (protect, _) = Protect::parse("paypal.com\n");
        let cfg = Config {
            intel: IntelHandle::new(IntelSet::build([&feed])),
            protect: Arc::new(protect),
            beacon_min_score: 0.7,
            ..Config::default()
        };
        let mut a = Analytics::new(cfg, None);
        let mut lines = vec![
            format!(
                r#"{{"timestamp":"{}","flow_id":7,"event_type":"dns","src_ip":"10.0.0.5","src_port":5000,"dest_ip":"10.0.0.1","dest_port":53,"proto":"UDP","dns":{{"type":"query","rrname":"cdn.evil.example","rrtype":"A"}}}}"#,
                ts(1000)
            ),
            format!(
                r#"{{"timestamp":"{}","flow_id":7,"event_type":"dns","src_ip":"10.0.0.5","src_port":5000,"dest_ip":"10.0.0.1","dest_port":53,"proto":"UDP","dns":{{"type":"answer","rrname":"ws5.corp","rrtype":"A","answers":[{{"rrname":"ws5.corp","rrtype":"A","rdata":"10.0.0.5"}}]}}}}"#,
                ts(1000)
            ),
            format!(
                r#"{{"timestamp":"{}","flow_id":8,"event_type":"tls","src_ip":"10.0.0.5","src_port":5001,"dest_ip":"203.0.113.7","dest_port":443,"proto":"TCP","tls":{{"sni":"paypa1.com","ja3":{{"hash":"abc"}}}}}}"#,
                ts(1001)
            ),
            "not json".to_string(),
        ];
        // A beacon: every 60 s, same size, to the listed address.
        for i in 0..40u64 {
            lines.push(format!(
                r#"{{"timestamp":"{}","flow_id":{},"event_type":"flow","src_ip":"10.0.0.5","src_port":{},"dest_ip":"198.51.100.66","dest_port":8080,"proto":"TCP","app_proto":"http","flow":{{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,"start":"{}","end":"{}"}}}}"#,
                ts(1000 + i * 60), 100 + i, 40000 + i, ts(1000 + i * 60), ts(1001 + i * 60)
            ));
        }
        let ev = run(&mut a, &lines);
        let types: Vec<&str> = ev
            .iter()
            .map(|e| e["event_type"].as_str().unwrap_or("raw"))
            .collect();
        // The intel alert after the query that caused it (and its sightings).
        assert_eq!(types[0], "dns");
        let ia = ev.iter().position(|e| e["event_type"] == "alert").unwrap();
        assert!(types[1..ia].iter().all(|t| *t == "sighting"), "{types:?}");
        assert_eq!(ev[ia]["alert"]["gid"], INTEL_GID);
        assert_eq!(ev[ia]["intel"]["indicator"], "evil.example");
        assert_eq!(ev[ia]["intel"]["field"], "dns.rrname");
        assert_eq!(ev[ia]["dns"]["rrname"], "cdn.evil.example");
        let kinds: Vec<&Value> = ev[1..ia].iter().map(|e| &e["sighting"]["type"]).collect();
        assert_eq!(kinds, ["dns.registered_domain"]);
        // The lookalike alert and the sightings after the TLS event.
        let tls = types.iter().position(|t| *t == "tls").unwrap();
        let la = tls
            + ev[tls..]
                .iter()
                .position(|e| e["alert"]["gid"] == LOOKALIKE_GID)
                .unwrap();
        assert!(types[tls + 1..la].iter().all(|t| *t == "sighting"));
        assert_eq!(ev[la]["lookalike"]["protected"], "paypal.com");
        assert_eq!(ev[la]["lookalike"]["method"], "homoglyph");
        assert_eq!(ev[la]["tls"]["sni"], "paypa1.com");
        assert!(types.iter().filter(|t| **t == "sighting").count() >= 2);
        // One intel alert per flow on the listed address (40 flows), no more.
        let ip_alerts = ev.iter().filter(|e| e["intel"]["type"] == "ip").count();
        assert_eq!(ip_alerts, 40);
        let beacon = ev
            .iter()
            .find(|e| e["event_type"] == "beacon")
            .expect("beacon event");
        assert_eq!(beacon["dest_ip"], "198.51.100.66");
        assert!(
            beacon["beacon"]["score"].as_f64().unwrap() >= 0.7,
            "{beacon}"
        );
        let host = ev
            .iter()
            .find(|e| e["event_type"] == "host" && e["host"]["ip"] == "10.0.0.5")
            .expect("host event");
        assert_eq!(host["host"]["hostnames"][0], "ws5.corp");
        assert!(
            ev.iter().any(|e| e.is_null()),
            "the non-JSON line passes through"
        );
        let s = a.stats();
        assert_eq!(s.lookalike_alerts, 1);
        assert_eq!(s.beacons, 1);
    }

    #[test]
    fn intel_can_be_replaced_while_running() {
        let h = IntelHandle::new(IntelSet::default());
        let cfg = Config {
            intel: Arc::clone(&h),
            sightings: false,
            hosts: false,
            ..Config::default()
        };
        let mut a = Analytics::new(cfg, None);
        let line = |f: u64| {
            format!(
                r#"{{"timestamp":"{}","flow_id":{f},"event_type":"http","src_ip":"10.0.0.5","dest_ip":"203.0.113.9","http":{{"hostname":"x.example","url":"/a","http_user_agent":"EvilBot/1"}}}}"#,
                ts(5)
            )
        };
        assert_eq!(run(&mut a, &[line(1)]).len(), 1);
        h.replace(IntelSet::build([&Feed::parse(
            "ua.csv",
            b"indicator,type\nEvilBot/1,user_agent\n",
        )]));
        let ev = run(&mut a, &[line(2)]);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1]["intel"]["type"], "user_agent");
    }

    #[test]
    fn reverse_lookup_names() {
        assert_eq!(
            ptr_address("5.0.0.10.in-addr.arpa"),
            "10.0.0.5".parse().ok()
        );
        assert_eq!(ptr_address("x.in-addr.arpa"), None);
    }
}
