//! The probe's management server.
//!
//! Layer: above `hunt` and `store` (commands call their functions; nothing is implemented
//! twice), below the daemon. It never touches the dataplane except through the store and the
//! [`Context`] the daemon hands it.
//!
//! A connection is served on its own thread: TLS 1.3 with a client certificate from the
//! fleet CA (checked against the revocation list in force at that handshake), then frames.
//! Each request frame passes, in this order and before its command is decoded: the size cap,
//! the envelope's shape and version, the key (known, not revoked), the Ed25519 signature over
//! the exact payload bytes, the key's role for the operation and its binding to the client
//! certificate, the probe id, expiry and clock skew, the sequence number and the nonce (both
//! recorded durably before the command runs). Every request, accepted or not, and every failed
//! handshake is appended to the hash-chained audit log; every answer is signed with the
//! probe's key.
#![forbid(unsafe_code)]

mod admit;
mod exec;
pub mod rules;
pub mod state;
mod tail;
mod tls;
pub mod updates;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mgmt_proto::audit::AuditEntry;
use mgmt_proto::layout::{self, OperatorsFile, ProbeIdentity};
use mgmt_proto::{SigningKey, DEFAULT_MAX_FRAME, DEFAULT_SKEW_MS};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

pub use exec::{config_value, CONFIG_KEYS};
pub use state::MgmtState;

/// Errors starting the server, naming the file or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum MgmtError {
    /// A credentials file is missing or unreadable.
    #[error("{path}: {msg}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// TLS configuration failed.
    #[error("tls: {0}")]
    Tls(String),
    /// The listening socket.
    #[error("listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: io::Error,
    },
    /// State.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// A probe's management credentials (see [`mgmt_proto::layout`]).
pub struct Credentials {
    /// Who the probe is.
    pub identity: ProbeIdentity,
    /// Fleet CA certificate (DER).
    pub ca: CertificateDer<'static>,
    /// The probe's TLS certificate chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// Its TLS key.
    pub key: PrivateKeyDer<'static>,
    /// The response-signing key.
    pub sign: SigningKey,
    /// Operator keys trusted at first start.
    pub operators: Vec<mgmt_proto::OperatorKey>,
    /// The revocation list at enrolment.
    pub crl: Option<Vec<u8>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>, MgmtError> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| MgmtError::File {
        path,
        msg: e.to_string(),
    })
}

fn bad(dir: &Path, name: &str, msg: impl std::fmt::Display) -> MgmtError {
    MgmtError::File {
        path: dir.join(name),
        msg: msg.to_string(),
    }
}

impl Credentials {
    /// Loads a credentials directory.
    pub fn load(dir: &Path) -> Result<Credentials, MgmtError> {
        use rustls::pki_types::pem::PemObject;
        let identity: ProbeIdentity =
            toml::from_str(&String::from_utf8_lossy(&read(dir, layout::PROBE_FILE)?))
                .map_err(|e| bad(dir, layout::PROBE_FILE, e))?;
        let ca = CertificateDer::from_pem_slice(&read(dir, layout::CA_CERT)?)
            .map_err(|e| bad(dir, layout::CA_CERT, e))?;
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&read(dir, layout::TLS_CERT)?)
                .collect::<Result<_, _>>()
                .map_err(|e| bad(dir, layout::TLS_CERT, e))?;
        if chain.is_empty() {
            return Err(bad(dir, layout::TLS_CERT, "no certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(&read(dir, layout::TLS_KEY)?)
            .map_err(|e| bad(dir, layout::TLS_KEY, e))?;
        let sign = SigningKey::from_pkcs8(&read(dir, layout::SIGN_KEY)?)
            .map_err(|e| bad(dir, layout::SIGN_KEY, e))?;
        if sign.id() != identity.id {
            return Err(bad(
                dir,
                layout::SIGN_KEY,
                format!(
                    "key id {} is not the probe id {} of probe.toml",
                    sign.id(),
                    identity.id
                ),
            ));
        }
        let operators: OperatorsFile = toml::from_str(&String::from_utf8_lossy(&read(
            dir,
            layout::OPERATORS_FILE,
        )?))
        .map_err(|e| bad(dir, layout::OPERATORS_FILE, e))?;
        let crl = match std::fs::read(dir.join(layout::CRL_FILE)) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(bad(dir, layout::CRL_FILE, e)),
        };
        Ok(Credentials {
            identity,
            ca,
            chain,
            key,
            sign,
            operators: operators.operators,
            crl,
        })
    }
}

/// Limits and tolerances of the server.
#[derive(Debug, Clone)]
pub struct MgmtConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Largest request frame.
    pub max_frame: usize,
    /// Most connections served at once; more are closed at once (and audited).
    pub max_connections: usize,
    /// Requests per second allowed on one connection (token bucket rate).
    pub rate_per_sec: u32,
    /// Burst of the token bucket.
    pub burst: u32,
    /// Tolerated clock difference (ms).
    pub skew_ms: i64,
    /// A connection idle (or a handshake stalled) this long is closed.
    pub idle_timeout: Duration,
    /// Most audit entries per second for requests that never authenticated (failed
    /// handshakes, refused connections); the rest are counted into the next entry, so a
    /// flood cannot push real entries out of the log.
    pub unauth_audit_per_sec: u32,
}

impl MgmtConfig {
    /// Defaults for `listen`.
    pub fn new(listen: SocketAddr) -> MgmtConfig {
        MgmtConfig {
            listen,
            max_frame: DEFAULT_MAX_FRAME,
            max_connections: 64,
            rate_per_sec: 20,
            burst: 50,
            skew_ms: DEFAULT_SKEW_MS,
            idle_timeout: Duration::from_secs(30),
            unauth_audit_per_sec: 20,
        }
    }
}

/// What the daemon lets the management plane see and do.
pub struct Context {
    /// The daemon's status (capture state, counters) as JSON.
    pub status: Box<dyn Fn() -> Value + Send + Sync>,
    /// Wakes the daemon after filters or config changed.
    pub changed: Box<dyn Fn() + Send + Sync>,
    /// The daemon's EVE output, for `events_tail` (none: the command fails).
    pub eve: Option<PathBuf>,
    /// The updater's configuration, for the `update_*` commands (none: not an appliance;
    /// the commands fail).
    pub update_config: Option<PathBuf>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Context")
    }
}

/// Counters of the server (in `status`).
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Handshakes that failed.
    pub handshake_failures: AtomicU64,
    /// Requests accepted and executed.
    pub accepted: AtomicU64,
    /// Requests rejected.
    pub rejected: AtomicU64,
    /// Connections refused at the connection cap.
    pub refused: AtomicU64,
}

/// Everything a connection thread needs.
pub(crate) struct Shared {
    pub(crate) cfg: MgmtConfig,
    pub(crate) identity: ProbeIdentity,
    pub(crate) sign: SigningKey,
    pub(crate) ca: CertificateDer<'static>,
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
    pub(crate) tls: RwLock<Arc<rustls::ServerConfig>>,
    pub(crate) state: Arc<MgmtState>,
    pub(crate) ctx: Context,
    pub(crate) counters: Counters,
    pub(crate) started: Instant,
    pub(crate) live: AtomicUsize,
    pub(crate) retros: exec::Retros,
    unauth: Mutex<UnauthBudget>,
}

#[derive(Debug, Default)]
struct UnauthBudget {
    second: i64,
    used: u32,
    suppressed: u64,
}

impl Shared {
    /// Rebuilds the TLS configuration from the revocation list in the store.
    pub(crate) fn reload_tls(&self) -> Result<(), MgmtError> {
        let crl = self.state.crl()?;
        let cfg = tls::server_config(&self.ca, &self.chain, &self.key, crl.as_deref())?;
        *self.tls.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cfg);
        Ok(())
    }

    /// Audits an event that never authenticated, within the per-second budget.
    fn audit_unauthenticated(&self, peer: &str, code: &str, detail: String) {
        let now = mgmt_proto::now_ms();
        let suppressed = {
            let mut b = self.unauth.lock().unwrap_or_else(|p| p.into_inner());
            if b.second != now / 1000 {
                b.second = now / 1000;
                b.used = 0;
            }
            if b.used >= self.cfg.unauth_audit_per_sec {
                b.suppressed += 1;
                return;
            }
            b.used += 1;
            std::mem::take(&mut b.suppressed)
        };
        let detail = if suppressed > 0 {
            format!("{detail} ({suppressed} similar events not audited individually)")
        } else {
            detail
        };
        self.audit(AuditEntry {
            index: 0,
            ts: now,
            peer: peer.to_string(),
            client: String::new(),
            key_id: String::new(),
            op: String::new(),
            seq: None,
            outcome: "rejected".into(),
            code: code.into(),
            detail,
            request: String::new(),
            prev: String::new(),
            hash: String::new(),
        });
    }

    /// Appends to the audit log; a failure is logged (the request itself already failed or
    /// succeeded: the log cannot undo it).
    pub(crate) fn audit(&self, e: AuditEntry) {
        if let Err(err) = self.state.audit(e) {
            tracing::error!("audit log: {err}");
        }
    }
}

/// The running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    join: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds and starts serving.
    pub fn start(
        cfg: MgmtConfig,
        creds: Credentials,
        state: Arc<MgmtState>,
        ctx: Context,
    ) -> Result<Server, MgmtError> {
        let crl = state.crl()?;
        let tls_cfg = tls::server_config(&creds.ca, &creds.chain, &creds.key, crl.as_deref())?;
        let listener = TcpListener::bind(cfg.listen).map_err(|source| MgmtError::Listen {
            addr: cfg.listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| MgmtError::Listen {
            addr: cfg.listen,
            source,
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| MgmtError::Listen { addr, source })?;
        let shared = Arc::new(Shared {
            cfg,
            identity: creds.identity,
            sign: creds.sign,
            ca: creds.ca,
            chain: creds.chain,
            key: creds.key,
            tls: RwLock::new(Arc::new(tls_cfg)),
            state,
            ctx,
            counters: Counters::default(),
            started: Instant::now(),
            live: AtomicUsize::new(0),
            retros: Arc::new(Mutex::new(Default::default())),
            unauth: Mutex::new(UnauthBudget::default()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let join = std::thread::Builder::new()
            .name("mgmt-accept".into())
            .spawn(move || accept_loop(listener, shared, stop2))
            .map_err(|source| MgmtError::Listen { addr, source })?;
        tracing::info!("management server listening on {addr}");
        Ok(Server {
            addr,
            stop,
            join: Some(join),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting (connections in progress finish on their own threads).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((tcp, peer)) => {
                shared.counters.connections.fetch_add(1, Ordering::Relaxed);
                if shared.live.load(Ordering::Relaxed) >= shared.cfg.max_connections {
                    shared.counters.refused.fetch_add(1, Ordering::Relaxed);
                    shared.audit_unauthenticated(
                        &peer.to_string(),
                        "connection_limit",
                        format!(
                            "refused: {} connections already open",
                            shared.cfg.max_connections
                        ),
                    );
                    drop(tcp);
                    continue;
                }
                shared.live.fetch_add(1, Ordering::Relaxed);
                let s = shared.clone();
                let spawned =
                    std::thread::Builder::new()
                        .name("mgmt-conn".into())
                        .spawn(move || {
                            serve(tcp, peer, &s);
                            s.live.fetch_sub(1, Ordering::Relaxed);
                        });
                if let Err(e) = spawned {
                    shared.live.fetch_sub(1, Ordering::Relaxed);
                    tracing::warn!("management connection from {peer}: cannot start a thread: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                tracing::warn!("management accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// A token bucket per connection.
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The authenticated client of a connection.
pub(crate) struct Client {
    /// Subject common name of its certificate.
    pub(crate) name: String,
    /// `CN (sha256-prefix)` for the audit log.
    pub(crate) label: String,
    /// Remote address.
    pub(crate) peer: String,
}

fn serve(tcp: TcpStream, peer: SocketAddr, shared: &Shared) {
    let peer_s = peer.to_string();
    let _ = tcp.set_read_timeout(Some(shared.cfg.idle_timeout));
    let _ = tcp.set_write_timeout(Some(shared.cfg.idle_timeout));
    let _ = tcp.set_nodelay(true);
    let cfg = shared.tls.read().unwrap_or_else(|p| p.into_inner()).clone();
    let conn = match rustls::ServerConnection::new(cfg) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("tls: {e}");
            return;
        }
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut got_bytes = false;
    while tls.conn.is_handshaking() {
        match tls.conn.complete_io(&mut tls.sock) {
            Ok((r, _)) => got_bytes |= r > 0,
            Err(e) => {
                // A connection that never sent a byte (a port check) is not worth an entry.
                if got_bytes || e.kind() != io::ErrorKind::UnexpectedEof {
                    shared
                        .counters
                        .handshake_failures
                        .fetch_add(1, Ordering::Relaxed);
                    shared.audit_unauthenticated(&peer_s, "tls_handshake", e.to_string());
                }
                return;
            }
        }
    }
    let client = match tls.conn.peer_certificates().and_then(|c| c.first()) {
        Some(cert) => tls::client_identity(cert, &peer_s),
        None => {
            // The verifier requires a certificate; this cannot happen, but is not trusted to.
            shared.audit_unauthenticated(&peer_s, "tls_handshake", "no client certificate".into());
            return;
        }
    };
    let mut bucket = Bucket {
        tokens: f64::from(shared.cfg.burst),
        last: Instant::now(),
    };
    loop {
        let len = match mgmt_proto::read_frame_len(&mut tls) {
            Ok(Some(len)) => len,
            Ok(None) => return,
            Err(_) => return,
        };
        let response = if len > shared.cfg.max_frame {
            // Nothing of the body is read: the stream cannot be resynchronised, so the
            // connection ends after the answer.
            let r = admit::reject_oversized(shared, &client, len);
            let _ = mgmt_proto::write_frame(&mut tls, &r);
            tls.conn.send_close_notify();
            let _ = tls.flush();
            // A lingering close: the client is likely still writing the body, and closing on
            // unread data would reset the connection and lose the answer before it reads
            // it. What arrives is discarded, within a bounded time and byte count.
            drain(
                &mut tls,
                len.min(OVERSIZED_DRAIN_BYTES),
                OVERSIZED_DRAIN_TIME,
            );
            return;
        } else {
            let mut body = vec![0u8; len];
            if tls.read_exact(&mut body).is_err() {
                return;
            }
            let now = Instant::now();
            bucket.tokens = (bucket.tokens
                + now.duration_since(bucket.last).as_secs_f64()
                    * f64::from(shared.cfg.rate_per_sec))
            .min(f64::from(shared.cfg.burst));
            bucket.last = now;
            if bucket.tokens < 1.0 {
                admit::reject_rate(shared, &client, &body)
            } else {
                bucket.tokens -= 1.0;
                admit::handle(shared, &client, &body)
            }
        };
        if mgmt_proto::write_frame(&mut tls, &response).is_err() {
            return;
        }
    }
}

/// Bytes of an oversized request read and discarded after its refusal.
const OVERSIZED_DRAIN_BYTES: usize = 64 << 20;
/// How long the refusal of an oversized request waits for the client to stop sending.
const OVERSIZED_DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and discards up to `max` bytes for at most `time`, or until the peer closes.
fn drain<S: Read>(s: &mut S, max: usize, time: Duration) {
    let end = Instant::now() + time;
    let mut buf = [0u8; 16 << 10];
    let mut left = max;
    while left > 0 && Instant::now() < end {
        match s.read(&mut buf[..left.min(16 << 10)]) {
            Ok(0) => return,
            Ok(n) => left -= n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}
