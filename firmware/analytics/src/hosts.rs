//! Passive host insights: what each internal host is, learned from the traffic it makes.
//!
//! For every internal address the book keeps first and last seen, hostnames (DNS answers that
//! resolve to it, reverse lookups, the names clients use to reach it), the services it answers
//! on, the client software it runs (HTTP User-Agents, TLS JA3/JA4 fingerprints), usernames
//! where a protocol shows them in the clear, and the roles all that implies:
//!
//! | role | evidence |
//! |---|---|
//! | `dns-server` | answers DNS (a flow to it on port 53, or with `app_proto` dns, that got replies) |
//! | `dhcp-server` | answers DHCP (UDP from port 67 to 68, or replies to port 67) |
//! | `proxy` | receives proxy requests (`CONNECT host:port` or an absolute URI) |
//! | `domain-controller` | serves Kerberos (88) and LDAP (389 or 636) |
//! | `printer` | serves JetDirect (9100), IPP (631) or LPD (515) |
//! | `web-server` | answers HTTP or TLS |
//! | `mail-server` | serves SMTP (25, 587) or IMAP/POP (143, 993, 110, 995) |
//! | `ssh-server` | serves SSH (22) |
//!
//! Records live in the `hosts` tree of the store, so a restart continues them. Every list is
//! capped (`MAX_*`); the book itself holds at most [`MAX_HOSTS`] hosts per run, and hosts
//! beyond it are counted, not tracked.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ahash::{HashMap, HashMapExt};
use serde::{Deserialize, Serialize};

/// Hosts tracked in memory in one run.
pub const MAX_HOSTS: usize = 65_536;
/// Hostnames kept per host.
pub const MAX_HOSTNAMES: usize = 16;
/// Services kept per host.
pub const MAX_SERVICES: usize = 64;
/// Client software strings kept per host.
pub const MAX_SOFTWARE: usize = 16;
/// Certificate subjects kept per host.
pub const MAX_CERTIFICATES: usize = 8;
/// Usernames kept per host.
pub const MAX_USERNAMES: usize = 16;
/// Longest string kept (names, User-Agents).
pub const MAX_STRING: usize = 256;

/// One service a host answers on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// `TCP` or `UDP`.
    pub proto: String,
    /// Port.
    pub port: u16,
    /// Application protocol seen on it, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_proto: String,
    /// Flows answered.
    pub flows: u64,
}

/// What is known about one host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// The address.
    pub ip: String,
    /// First event time, EVE form.
    pub first_seen: String,
    /// Last event time, EVE form.
    pub last_seen: String,
    /// Names it goes by.
    #[serde(default)]
    pub hostnames: BTreeSet<String>,
    /// Services it answers on.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Client software seen from it.
    #[serde(default)]
    pub client_software: BTreeSet<String>,
    /// TLS client fingerprints (JA3 hashes, JA4) seen from it.
    #[serde(default)]
    pub tls_fingerprints: BTreeSet<String>,
    /// Usernames seen in the clear from it.
    #[serde(default)]
    pub usernames: BTreeSet<String>,
    /// Subjects of the TLS certificates it serves.
    #[serde(default)]
    pub certificates: BTreeSet<String>,
    /// Sizes of the lists above, for hunt filters (`host.client_software_count:>3`).
    #[serde(default)]
    pub hostname_count: usize,
    /// See `hostname_count`.
    #[serde(default)]
    pub service_count: usize,
    /// See `hostname_count`.
    #[serde(default)]
    pub client_software_count: usize,
    /// See `hostname_count`.
    #[serde(default)]
    pub tls_fingerprint_count: usize,
    /// Roles (see the module documentation).
    #[serde(default)]
    pub roles: BTreeSet<String>,
    /// Flows it started.
    #[serde(default)]
    pub flows_as_client: u64,
    /// Flows it answered.
    #[serde(default)]
    pub flows_as_server: u64,
    /// First and last seen as Unix seconds (for ordering; not in events).
    #[serde(skip)]
    first: f64,
    #[serde(skip)]
    last: f64,
}

fn cut(s: &str) -> String {
    let mut end = s.len().min(MAX_STRING);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn add_capped(set: &mut BTreeSet<String>, v: &str, cap: usize) -> bool {
    let v = cut(v);
    if v.is_empty() || set.contains(&v) || set.len() >= cap {
        return false;
    }
    set.insert(v);
    true
}

impl Host {
    fn touch(&mut self, t: f64) {
        if self.first_seen.is_empty() || t < self.first {
            self.first = t;
            self.first_seen = eve_time(t);
        }
        if t > self.last || self.last_seen.is_empty() {
            self.last = t;
            self.last_seen = eve_time(t);
        }
    }

    fn role(&mut self, r: &str) -> bool {
        if self.roles.contains(r) {
            return false;
        }
        self.roles.insert(r.to_string());
        true
    }

    fn serve(&mut self, proto: &str, port: u16, app: &str) -> bool {
        if let Some(s) = self
            .services
            .iter_mut()
            .find(|s| s.port == port && s.proto == proto)
        {
            s.flows += 1;
            if s.app_proto.is_empty() && !app.is_empty() {
                s.app_proto = app.to_string();
                return true;
            }
            return false;
        }
        if self.services.len() >= MAX_SERVICES {
            return false;
        }
        self.services.push(Service {
            proto: proto.to_string(),
            port,
            app_proto: app.to_string(),
            flows: 1,
        });
        self.services
            .sort_by(|a, b| (a.port, &a.proto).cmp(&(b.port, &b.proto)));
        true
    }

    /// Roles implied by the services.
    fn derive_roles(&mut self) -> bool {
        let serves = |ports: &[u16]| self.services.iter().any(|s| ports.contains(&s.port));
        let app = |a: &str| self.services.iter().any(|s| s.app_proto == a);
        let mut new = Vec::new();
        if serves(&[88]) && serves(&[389, 636]) {
            new.push("domain-controller");
        }
        if serves(&[9100, 631, 515]) {
            new.push("printer");
        }
        if app("http") || app("tls") {
            new.push("web-server");
        }
        if serves(&[25, 587, 143, 993, 110, 995]) {
            new.push("mail-server");
        }
        if serves(&[22]) || app("ssh") {
            new.push("ssh-server");
        }
        let mut changed = false;
        for r in new {
            changed |= self.role(r);
        }
        changed
    }
}

/// EVE form of Unix seconds.
pub fn eve_time(t: f64) -> String {
    // Whole microseconds (EVE's resolution), rounded: f64 seconds carry ~0.2 µs of error.
    let ns = if t.is_finite() && t > 0.0 {
        (t * 1e6).round() as u64 * 1000
    } else {
        0
    };
    types::Timestamp(ns).to_eve_string()
}

/// Evidence about hosts, as the engine extracts it from events.
#[derive(Debug, Clone)]
pub enum Evidence<'a> {
    /// A flow ended: `client` talked to `server` on `proto`/`port`; `answered` when the
    /// server sent anything back.
    Flow {
        /// Originator.
        client: IpAddr,
        /// Originator port.
        sport: u16,
        /// Responder.
        server: IpAddr,
        /// Responder port.
        port: u16,
        /// `TCP`, `UDP` …
        proto: &'a str,
        /// Application protocol, if detected.
        app: &'a str,
        /// Whether the responder sent packets.
        answered: bool,
    },
    /// `ip` is called `name` (a DNS answer, a reverse lookup, a Host or SNI used to reach it).
    Name {
        /// The host.
        ip: IpAddr,
        /// Its name.
        name: &'a str,
    },
    /// `ip` runs client software `sw` (a User-Agent).
    Software {
        /// The host.
        ip: IpAddr,
        /// The software.
        sw: &'a str,
    },
    /// `ip` presented TLS client fingerprint `fp`.
    Fingerprint {
        /// The host.
        ip: IpAddr,
        /// JA3 hash or JA4.
        fp: &'a str,
    },
    /// `ip` served a TLS certificate with `subject`.
    Certificate {
        /// The server.
        ip: IpAddr,
        /// The certificate subject.
        subject: &'a str,
    },
    /// `ip` logged in as `user`.
    User {
        /// The host.
        ip: IpAddr,
        /// The username.
        user: &'a str,
    },
    /// `ip` received a proxy request.
    Proxy {
        /// The proxy.
        ip: IpAddr,
    },
}

/// The hosts of one run, backed by the store.
#[derive(Debug)]
pub struct HostBook {
    internal: crate::beacon::Internal,
    hosts: HashMap<IpAddr, Host>,
    /// Hosts with new facts: a `host` event and a save at the next flush.
    dirty: BTreeSet<IpAddr>,
    /// Hosts whose counters moved: saved at the end of the run.
    touched: BTreeSet<IpAddr>,
    store: Option<store::Store>,
    /// Hosts not tracked because [`MAX_HOSTS`] was reached.
    pub dropped: u64,
}

impl HostBook {
    /// A book for the hosts of `internal`, persisted in `store` when there is one.
    pub fn new(internal: crate::beacon::Internal, store: Option<store::Store>) -> HostBook {
        HostBook {
            internal,
            hosts: HashMap::new(),
            dirty: BTreeSet::new(),
            touched: BTreeSet::new(),
            store,
            dropped: 0,
        }
    }

    fn host(&mut self, ip: IpAddr, t: f64) -> Option<&mut Host> {
        if !self.internal.contains(ip) {
            return None;
        }
        if !self.hosts.contains_key(&ip) {
            if self.hosts.len() >= MAX_HOSTS {
                self.dropped += 1;
                return None;
            }
            let mut h = self
                .store
                .as_ref()
                .and_then(|s| s.get(store::Tree::Hosts, ip.to_string().as_bytes()).ok())
                .flatten()
                .and_then(|v| serde_json::from_slice::<Host>(&v).ok())
                .unwrap_or_default();
            h.ip = ip.to_string();
            h.first =
                types::Timestamp::parse_eve(&h.first_seen).map_or(f64::MAX, |t| t.0 as f64 / 1e9);
            h.last = types::Timestamp::parse_eve(&h.last_seen).map_or(0.0, |t| t.0 as f64 / 1e9);
            self.hosts.insert(ip, h);
        }
        let h = self.hosts.get_mut(&ip)?;
        h.touch(t);
        Some(h)
    }

    /// Records one piece of evidence at event time `t` (Unix seconds). A host whose record
    /// gains something (a name, a service, a role, software …) is *changed* and makes a `host`
    /// event at the next flush; counters and last-seen alone are only saved.
    pub fn observe(&mut self, ev: &Evidence<'_>, t: f64) {
        let mut changed: Vec<IpAddr> = Vec::new();
        let mut touched: Vec<IpAddr> = Vec::new();
        let mut mark = |ip: IpAddr, material: bool| {
            if material {
                changed.push(ip);
            } else {
                touched.push(ip);
            }
        };
        match *ev {
            Evidence::Flow {
                client,
                sport,
                server,
                port,
                proto,
                app,
                answered,
            } => {
                if let Some(h) = self.host(client, t) {
                    h.flows_as_client += 1;
                    mark(client, false);
                }
                if answered {
                    if let Some(h) = self.host(server, t) {
                        h.flows_as_server += 1;
                        let mut m = h.serve(proto, port, app);
                        if port == 53 || app == "dns" {
                            m |= h.role("dns-server");
                        }
                        if proto == "UDP" && port == 67 {
                            m |= h.role("dhcp-server");
                        }
                        m |= h.derive_roles();
                        mark(server, m);
                    }
                }
                // A DHCP server's replies go from port 67 to a client's port 68 (often to the
                // broadcast address, so that no reply is ever "answered").
                if proto == "UDP" && sport == 67 && port == 68 {
                    if let Some(h) = self.host(client, t) {
                        let m = h.serve(proto, 67, "dhcp") | h.role("dhcp-server");
                        mark(client, m);
                    }
                }
            }
            Evidence::Name { ip, name } => {
                if let Some(h) = self.host(ip, t) {
                    let m = add_capped(&mut h.hostnames, &name.to_ascii_lowercase(), MAX_HOSTNAMES);
                    mark(ip, m);
                }
            }
            Evidence::Software { ip, sw } => {
                if let Some(h) = self.host(ip, t) {
                    let m = add_capped(&mut h.client_software, sw, MAX_SOFTWARE);
                    mark(ip, m);
                }
            }
            Evidence::Fingerprint { ip, fp } => {
                if let Some(h) = self.host(ip, t) {
                    let m = add_capped(&mut h.tls_fingerprints, fp, MAX_SOFTWARE);
                    mark(ip, m);
                }
            }
            Evidence::Certificate { ip, subject } => {
                if let Some(h) = self.host(ip, t) {
                    let m = add_capped(&mut h.certificates, subject, MAX_CERTIFICATES);
                    mark(ip, m);
                }
            }
            Evidence::User { ip, user } => {
                if let Some(h) = self.host(ip, t) {
                    let m = add_capped(&mut h.usernames, user, MAX_USERNAMES);
                    mark(ip, m);
                }
            }
            Evidence::Proxy { ip } => {
                if let Some(h) = self.host(ip, t) {
                    let m = h.role("proxy");
                    mark(ip, m);
                }
            }
        }
        self.dirty.extend(changed);
        self.touched.extend(touched);
    }

    /// The host record of `ip`, if tracked in this run.
    pub fn get(&self, ip: IpAddr) -> Option<&Host> {
        self.hosts.get(&ip)
    }

    /// Hosts with new facts since the last call, saved to the store; their records, in
    /// address order. With `save_touched` (the end of a run), hosts whose counters alone moved
    /// are saved too (without being returned).
    pub fn take_changed(&mut self, save_touched: bool) -> Vec<Host> {
        let dirty = std::mem::take(&mut self.dirty);
        let touched = if save_touched {
            std::mem::take(&mut self.touched)
        } else {
            BTreeSet::new()
        };
        let mut out = Vec::with_capacity(dirty.len());
        for ip in dirty.iter().chain(touched.difference(&dirty)) {
            let Some(h) = self.hosts.get_mut(ip) else {
                continue;
            };
            h.hostname_count = h.hostnames.len();
            h.service_count = h.services.len();
            h.client_software_count = h.client_software.len();
            h.tls_fingerprint_count = h.tls_fingerprints.len();
            if let Some(s) = self.store.as_ref().filter(|s| s.room_for_optional_state()) {
                if let Ok(v) = serde_json::to_vec(&*h) {
                    if let Err(e) = s.put(store::Tree::Hosts, h.ip.as_bytes(), &v) {
                        tracing::warn!("hosts: saving {}: {e}", h.ip);
                    }
                }
            }
            if dirty.contains(ip) {
                out.push(h.clone());
            }
        }
        out
    }

    /// Hosts tracked in this run.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether no host is tracked.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

/// Counts of services by role, for summaries.
pub fn role_counts(hosts: &[Host]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for h in hosts {
        for r in &h.roles {
            *m.entry(r.clone()).or_default() += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn roles_come_from_evidence_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let st = store::Store::open(dir.path()).unwrap();
        let mut b = HostBook::new(crate::beacon::Internal::default(), Some(st.clone()));
        let flow = |client, sport, server, port, proto, app, answered| Evidence::Flow {
            client: ip(client),
            sport,
            server: ip(server),
            port,
            proto,
            app,
            answered,
        };
        b.observe(
            &flow("10.0.0.5", 40000, "10.0.0.1", 53, "UDP", "dns", true),
            100.0,
        );
        b.observe(
            &flow("10.0.0.1", 67, "255.255.255.255", 68, "UDP", "", false),
            101.0,
        );
        b.observe(
            &flow("10.0.0.5", 40001, "10.0.0.2", 88, "TCP", "", true),
            102.0,
        );
        b.observe(
            &flow("10.0.0.5", 40002, "10.0.0.2", 389, "TCP", "", true),
            103.0,
        );
        b.observe(&Evidence::Proxy { ip: ip("10.0.0.3") }, 104.0);
        b.observe(
            &Evidence::Name {
                ip: ip("10.0.0.5"),
                name: "WS-05.corp.example",
            },
            105.0,
        );
        b.observe(
            &Evidence::Software {
                ip: ip("10.0.0.5"),
                sw: "curl/8.5.0",
            },
            106.0,
        );
        // External hosts are not tracked.
        b.observe(
            &flow("10.0.0.5", 40003, "203.0.113.9", 443, "TCP", "tls", true),
            107.0,
        );
        let hosts = b.take_changed(true);
        let roles = role_counts(&hosts);
        assert_eq!(roles.get("dns-server"), Some(&1));
        assert_eq!(roles.get("dhcp-server"), Some(&1));
        assert_eq!(roles.get("domain-controller"), Some(&1));
        assert_eq!(roles.get("proxy"), Some(&1));
        assert_eq!(hosts.len(), 4);
        let ws = hosts.iter().find(|h| h.ip == "10.0.0.5").unwrap();
        assert!(ws.hostnames.contains("ws-05.corp.example"));
        assert_eq!(ws.flows_as_client, 4);
        assert!(b.take_changed(true).is_empty());
        drop(b);
        // A new run continues the records.
        let mut b = HostBook::new(crate::beacon::Internal::default(), Some(st));
        b.observe(
            &flow("10.0.0.9", 40000, "10.0.0.1", 53, "UDP", "dns", true),
            200.0,
        );
        let dns = b.get(ip("10.0.0.1")).unwrap();
        assert!(dns.roles.contains("dns-server") && dns.roles.contains("dhcp-server"));
        assert_eq!(dns.flows_as_server, 2);
        assert!(
            dns.first_seen.starts_with("1970-01-01T00:01:40"),
            "{}",
            dns.first_seen
        );
    }
}
