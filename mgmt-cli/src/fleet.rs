//! Targets, connections and fan-out: one signed request per probe, sent in parallel, each
//! answer checked against that probe's key before it is believed.

use std::io::IsTerminal;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use mgmt_proto::layout::server_name;
use mgmt_proto::{Command, Envelope, Outcome, ResponsePayload, SignedResponse};
use rustls::pki_types::ServerName;
use serde_json::{json, Value};

use crate::pki::{InventoryProbe, Pki};

/// Most connections open at once during a fan-out.
pub const MAX_PARALLEL: usize = 128;

/// The probes `-p` selects: names, `all`, or `LABEL=VALUE`; several `-p` add up.
pub fn select(pki: &Pki, targets: &[String]) -> Result<Vec<InventoryProbe>> {
    let inv = pki.inventory()?;
    if targets.is_empty() {
        bail!("no target: give -p NAME, -p all or -p LABEL=VALUE");
    }
    let mut out: Vec<InventoryProbe> = Vec::new();
    for t in targets {
        let matched: Vec<&InventoryProbe> = if t == "all" {
            inv.probes.iter().collect()
        } else if let Some((k, v)) = t.split_once('=') {
            inv.probes
                .iter()
                .filter(|p| p.labels.get(k).is_some_and(|x| x == v))
                .collect()
        } else {
            inv.probes.iter().filter(|p| &p.name == t).collect()
        };
        if matched.is_empty() {
            bail!(
                "-p {t}: no such probe in {} ({} enrolled)",
                pki.dir.join("inventory.toml").display(),
                inv.probes.len()
            );
        }
        for p in matched {
            if !out.iter().any(|o| o.name == p.name) {
                out.push(p.clone());
            }
        }
    }
    Ok(out)
}

/// An operator's connection settings.
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
    sign: mgmt_proto::SigningKey,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// Validity of requests.
    pub ttl_ms: i64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({:?})", self.sign)
    }
}

impl Client {
    /// The client of operator `name`.
    pub fn new(pki: &Pki, name: &str, timeout: Duration, ttl_ms: i64) -> Result<Client> {
        use rustls::pki_types::pem::PemObject;
        let (chain, key, sign) = crate::pki::operator_credentials(pki, name)?;
        let ca = rustls::pki_types::CertificateDer::from_pem_file(pki.dir.join("ca.crt"))
            .map_err(|e| anyhow!("{}: {e}", pki.dir.join("ca.crt").display()))?;
        let tls = mgmt_proto::tls::client_config(&ca, chain, key).map_err(|e| anyhow!(e))?;
        Ok(Client {
            tls: Arc::new(tls),
            sign,
            timeout,
            ttl_ms,
        })
    }

    /// A signed request for `probe`.
    pub fn seal(&self, probe: &InventoryProbe, seq: u64, cmd: &Command) -> Result<Envelope> {
        Envelope::seal(
            &self.sign,
            &probe.id,
            seq,
            mgmt_proto::now_ms(),
            self.ttl_ms,
            cmd,
        )
        .map_err(|e| anyhow!("{e}"))
    }

    /// Sends one frame to `probe` and checks its answer. `payload` is the signed payload
    /// the answer must name (the frame's own bytes when it has none).
    pub fn exchange(
        &self,
        probe: &InventoryProbe,
        frame: &[u8],
        payload: &[u8],
    ) -> Result<ResponsePayload> {
        let addr = probe
            .address
            .to_socket_addrs()
            .with_context(|| format!("address {}", probe.address))?
            .next()
            .ok_or_else(|| anyhow!("address {} resolves to nothing", probe.address))?;
        let tcp = TcpStream::connect_timeout(&addr, self.timeout)
            .with_context(|| format!("connect {}", probe.address))?;
        tcp.set_read_timeout(Some(self.timeout))?;
        tcp.set_write_timeout(Some(self.timeout))?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from(server_name(&probe.id))
            .map_err(|e| anyhow!("probe id {}: {e}", probe.id))?;
        let conn = rustls::ClientConnection::new(self.tls.clone(), name)
            .map_err(|e| anyhow!("tls: {e}"))?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let sent = mgmt_proto::write_frame(&mut tls, frame);
        // A probe refusing a request before reading all of it (too large) answers first and
        // closes: its answer may be waiting even though the send failed.
        let answer = match mgmt_proto::read_frame(&mut tls, mgmt_proto::MAX_RESPONSE_FRAME) {
            Ok(Some(a)) => a,
            Ok(None) => {
                sent.map_err(|e| anyhow!("send: {e}"))?;
                bail!("the probe closed the connection without an answer")
            }
            Err(e) => {
                sent.map_err(|e| anyhow!("send: {e}"))?;
                bail!("receive: {e}")
            }
        };
        tls.conn.send_close_notify();
        let _ = std::io::Write::flush(&mut tls);
        let public = hex::decode(&probe.public_key)
            .map_err(|_| anyhow!("inventory: public key of `{}` is not hex", probe.name))?;
        SignedResponse::open(&answer, &public, &probe.id, payload).map_err(|e| anyhow!("{e}"))
    }
}

/// One probe's result.
#[derive(Debug)]
pub struct ProbeResult {
    /// The probe.
    pub probe: InventoryProbe,
    /// Its verified answer, or why there is none.
    pub answer: Result<ResponsePayload, String>,
}

impl ProbeResult {
    /// Whether the command ran and succeeded there.
    pub fn ok(&self) -> bool {
        matches!(&self.answer, Ok(r) if matches!(r.outcome, Outcome::Ok { .. }))
    }

    /// The result as JSON.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "probe": self.probe.name,
            "id": self.probe.id,
            "address": self.probe.address,
        });
        match &self.answer {
            Err(e) => {
                v["outcome"] = json!("unreachable");
                v["error"] = json!(e);
            }
            Ok(r) => match &r.outcome {
                Outcome::Ok { body } => {
                    v["outcome"] = json!("ok");
                    v["body"] = body.clone();
                }
                Outcome::Rejected { code, reason } => {
                    v["outcome"] = json!("rejected");
                    v["code"] = json!(code.name());
                    v["error"] = json!(reason);
                }
                Outcome::Failed { error } => {
                    v["outcome"] = json!("failed");
                    v["error"] = json!(error);
                }
            },
        }
        v
    }
}

/// Sends `cmd` to every probe in parallel. With `save`, writes each exact envelope first
/// (`FILE` for one probe, `FILE.NAME` for several).
pub fn fan_out(
    client: &Client,
    pki: &Pki,
    operator: &str,
    probes: &[InventoryProbe],
    cmd: &Command,
    save: Option<&Path>,
    progress: bool,
) -> Result<Vec<ProbeResult>> {
    // One sequence number for the whole run: each probe tracks it per key, and the envelopes
    // still differ by probe id and nonce.
    let seq = pki.next_seq(operator)?;
    let mut sealed = Vec::with_capacity(probes.len());
    for p in probes {
        let env = client.seal(p, seq, cmd)?;
        if let Some(path) = save {
            let path = if probes.len() == 1 {
                path.to_owned()
            } else {
                let mut s = path.as_os_str().to_owned();
                s.push(format!(".{}", p.name));
                s.into()
            };
            std::fs::write(&path, env.to_bytes())
                .with_context(|| format!("--save-request {}", path.display()))?;
        }
        sealed.push(env);
    }
    let bar = (progress && probes.len() > 1 && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new(probes.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} probes",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ProbeResult>>> =
        Mutex::new((0..probes.len()).map(|_| None).collect());
    let threads = probes.len().clamp(1, MAX_PARALLEL);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = probes.get(i) else { break };
                let env = &sealed[i];
                let answer = client
                    .exchange(p, &env.to_bytes(), &env.payload)
                    .map_err(|e| format!("{e:#}"));
                if let Some(b) = &bar {
                    b.inc(1);
                }
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(ProbeResult {
                    probe: p.clone(),
                    answer,
                });
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect())
}
