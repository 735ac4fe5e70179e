//! The attack table of docs/threat-model.md: each case is refused, audited, and changes
//! nothing. Requests are forged with the operator's real key where the attack needs one
//! (`mgmt_proto` builds them) and sent unchanged with `probectl raw-send`; the transport cases
//! use rustls clients configured to misbehave.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::Fleet;
use mgmt_proto::{Command, Envelope, FilterSpec, Payload, SigningKey};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;

/// A filter push (the state change every forged request tries to make).
fn evil_push() -> Command {
    Command::FilterPush {
        spec: Box::new(FilterSpec {
            name: "evil".into(),
            filter: Some("event_type:http".into()),
            from_set: None,
            description: None,
            action: Some(mgmt_proto::filter::ActionKind::Suppress),
            index: 0,
            disabled: false,
            threat: None,
            family: None,
            kill_chain: None,
            offender: "src_ip".into(),
            target: "dest_ip".into(),
            target_type: mgmt_proto::filter::TargetTypeKind::Ip,
            track_offender: false,
            no_track_target: false,
            no_webhook: false,
            tag: None,
            track: mgmt_proto::filter::TrackKind::BySrc,
            count: None,
            seconds: None,
            threshold_type: mgmt_proto::filter::ThresholdKind::Limit,
            retro: "60d".into(),
            no_retro: true,
        }),
    }
}

fn admin_key(f: &Fleet) -> SigningKey {
    let doc = std::fs::read(f.pki.join("operators/admin/sign.pk8")).unwrap();
    SigningKey::from_pkcs8(&doc).unwrap()
}

fn probe_id(f: &Fleet, name: &str) -> String {
    let v = f.ok(&["probe", "ls", "--json"]).json();
    v.as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A correctly signed payload for `probe`, then `tweak` applied before signing.
fn forge(f: &Fleet, probe: &str, cmd: &Command, tweak: impl FnOnce(&mut Payload)) -> Envelope {
    let key = admin_key(f);
    let now = mgmt_proto::now_ms();
    let mut p = Payload {
        probe_id: probe_id(f, probe),
        seq: u64::try_from(now).unwrap() * 1000 + 999,
        nonce: mgmt_proto::random_bytes(mgmt_proto::NONCE_LEN).unwrap(),
        issued_at: now,
        expires_at: now + 60_000,
        key_id: key.id().to_string(),
        op: cmd.op().to_string(),
        command: mgmt_proto::to_cbor(cmd),
    };
    tweak(&mut p);
    Envelope::sign_payload(&key, &p)
}

fn save(f: &Fleet, name: &str, bytes: &[u8]) -> PathBuf {
    let p = f.dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Sends a frame file with raw-send; returns the probe's verified answer.
fn raw_send(f: &Fleet, probe: &str, file: &std::path::Path) -> Value {
    let o = f.probectl(&["-p", probe, "raw-send", file.to_str().unwrap(), "--json"]);
    let v = o.json();
    v["results"][0].clone()
}

/// Asserts the request was refused with `code`, the refusal is the newest audit entry, and
/// no filter `evil` exists.
fn assert_refused(f: &Fleet, probe: &str, answer: &Value, code: &str) {
    assert_eq!(answer["outcome"], "rejected", "{answer}");
    assert_eq!(answer["code"], code, "{answer}");
    let audit = f.audit(probe);
    // The `audit ls` answer lists the entries before its own.
    let refused = audit.last().unwrap();
    assert_eq!(refused["outcome"], "rejected", "{refused}");
    assert_eq!(refused["code"], code, "{refused}");
    assert!(!f.filters(probe).contains(&"evil".to_string()));
}

/// A fresh fleet of two probes for one case (p1 with a 64 KiB request cap).
fn with_fleet(t: impl FnOnce(&mut Fleet)) {
    let mut f = Fleet::new(2, false);
    f.probes[0].extra = vec!["--mgmt-max-frame".into(), "64K".into()];
    f.start_all();
    t(&mut f);
}

#[test]
fn replayed_envelope() {
    with_fleet(|f| {
        let file = f.dir.path().join("push.cbor");
        f.ok(&[
            "-p",
            "p1",
            "filter",
            "push",
            "--name",
            "evil",
            "--action",
            "suppress",
            "--save-request",
            file.to_str().unwrap(),
            "event_type:http",
        ]);
        f.ok(&["-p", "p1", "filter", "rm", "evil"]);
        let a = raw_send(f, "p1", &file);
        assert_refused(f, "p1", &a, "replay");
    });
}

#[test]
fn replay_after_the_probe_restarted() {
    with_fleet(|f| {
        let file = f.dir.path().join("push2.cbor");
        f.ok(&[
            "-p",
            "p2",
            "filter",
            "push",
            "--name",
            "evil",
            "--action",
            "suppress",
            "--save-request",
            file.to_str().unwrap(),
            "event_type:http",
        ]);
        f.ok(&["-p", "p2", "filter", "rm", "evil"]);
        let pki = f.pki.clone();
        f.probe("p2").stop();
        f.probe("p2").start(&pki);
        let a = raw_send(f, "p2", &file);
        assert_refused(f, "p2", &a, "replay");
    });
}

#[test]
fn stale_sequence() {
    with_fleet(|f| {
        f.ok(&["-p", "p1", "status"]);
        let env = forge(f, "p1", &evil_push(), |p| p.seq = 1);
        let a = raw_send(f, "p1", &save(f, "stale.cbor", &env.to_bytes()));
        assert_refused(f, "p1", &a, "stale_sequence");
    });
}

#[test]
fn expired() {
    with_fleet(|f| {
        let env = forge(f, "p1", &evil_push(), |p| {
            p.issued_at -= 120_000;
            p.expires_at = p.issued_at + 60_000;
        });
        let a = raw_send(f, "p1", &save(f, "expired.cbor", &env.to_bytes()));
        assert_refused(f, "p1", &a, "expired");
    });
}

#[test]
fn future_dated_past_the_skew() {
    with_fleet(|f| {
        let env = forge(f, "p1", &evil_push(), |p| {
            p.issued_at += 10 * 60_000;
            p.expires_at = p.issued_at + 60_000;
        });
        let a = raw_send(f, "p1", &save(f, "future.cbor", &env.to_bytes()));
        assert_refused(f, "p1", &a, "not_yet_valid");
    });
}

#[test]
fn signature_over_other_bytes() {
    with_fleet(|f| {
        let harmless = forge(f, "p1", &Command::Status, |_| {});
        let mut env = forge(f, "p1", &evil_push(), |_| {});
        env.sig = harmless.sig;
        let a = raw_send(f, "p1", &save(f, "badsig.cbor", &env.to_bytes()));
        assert_refused(f, "p1", &a, "bad_signature");
    });
}

#[test]
fn operator_key_lacking_the_role() {
    with_fleet(|f| {
        f.ok(&["pki", "operator", "--name", "vera", "--role", "viewer"]);
        f.ok(&["-p", "all", "keys", "push"]);
        // A viewer may read...
        f.ok(&["--operator", "vera", "-p", "p1", "filter", "ls"]);
        // ...but not push a filter.
        let o = f.probectl(&[
            "--operator",
            "vera",
            "-p",
            "p1",
            "filter",
            "push",
            "--name",
            "evil",
            "--action",
            "suppress",
            "--json",
            "event_type:http",
        ]);
        assert_eq!(o.code, 1);
        assert_refused(f, "p1", &o.json()["results"][0], "forbidden");
    });
}

#[test]
fn unknown_key() {
    with_fleet(|f| {
        // An operator the probes were never told about.
        f.ok(&["pki", "operator", "--name", "mallory", "--role", "admin"]);
        let o = f.probectl(&[
            "--operator",
            "mallory",
            "-p",
            "p1",
            "filter",
            "push",
            "--name",
            "evil",
            "--action",
            "suppress",
            "--json",
            "event_type:http",
        ]);
        assert_eq!(o.code, 1);
        assert_refused(f, "p1", &o.json()["results"][0], "unknown_key");
    });
}

#[test]
fn wrong_probe_id() {
    with_fleet(|f| {
        let env = forge(f, "p2", &evil_push(), |_| {});
        let a = raw_send(f, "p1", &save(f, "wrongprobe.cbor", &env.to_bytes()));
        assert_refused(f, "p1", &a, "wrong_probe");
    });
}

#[test]
fn malformed_cbor() {
    with_fleet(|f| {
        let a = raw_send(
            f,
            "p1",
            &save(f, "garbage.cbor", b"\xff\x00not cbor at all"),
        );
        assert_refused(f, "p1", &a, "malformed");
    });
}

#[test]
fn unknown_protocol_version() {
    with_fleet(|f| {
        let mut env = forge(f, "p1", &evil_push(), |_| {});
        env.v = 2;
        let a = raw_send(f, "p1", &save(f, "v2.cbor", &env.to_bytes()));
        assert_refused(f, "p1", &a, "version");
    });
}

#[test]
fn oversized_frame() {
    with_fleet(|f| {
        // p1 runs with --mgmt-max-frame 64K.
        let a = raw_send(f, "p1", &save(f, "big.cbor", &vec![0u8; 100 << 10]));
        assert_refused(f, "p1", &a, "oversized");
    });
}

// --- transport ---------------------------------------------------------------------------

struct Creds {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn creds(f: &Fleet, operator: &str) -> Creds {
    let dir = f.pki.join("operators").join(operator);
    Creds {
        ca: CertificateDer::from_pem_file(f.pki.join("ca.crt")).unwrap(),
        chain: CertificateDer::pem_file_iter(dir.join("tls.crt"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap(),
        key: PrivateKeyDer::from_pem_file(dir.join("tls.key")).unwrap(),
    }
}

/// Connects with `cfg`, sends a status request, and returns what happened.
fn try_tls(f: &Fleet, probe: &str, cfg: rustls::ClientConfig) -> Result<Vec<u8>, String> {
    let addr = f
        .probes
        .iter()
        .find(|p| p.name == probe)
        .unwrap()
        .addr
        .clone();
    let env = forge(f, probe, &Command::Status, |_| {});
    let tcp = TcpStream::connect(&addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let name = ServerName::try_from(mgmt_proto::layout::server_name(&probe_id(f, probe))).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    mgmt_proto::write_frame(&mut tls, &env.to_bytes()).map_err(|e| e.to_string())?;
    mgmt_proto::read_frame(&mut tls, 1 << 20)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "closed".to_string())
}

fn roots(c: &Creds) -> rustls::RootCertStore {
    let mut r = rustls::RootCertStore::empty();
    r.add(c.ca.clone()).unwrap();
    r
}

/// Asserts the newest audit entries include a failed handshake whose detail contains `why`.
fn assert_handshake_audited(f: &Fleet, probe: &str, why: &str) {
    let audit = f.audit(probe);
    let found = audit.iter().rev().take(5).any(|e| {
        e["code"] == "tls_handshake"
            && e["detail"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains(&why.to_lowercase())
    });
    assert!(
        found,
        "no audited handshake failure with `{why}`: {:#?}",
        &audit[audit.len().saturating_sub(5)..]
    );
    assert!(!f.filters(probe).contains(&"evil".to_string()));
}

#[test]
fn no_client_certificate() {
    with_fleet(|f| {
        let c = creds(f, "admin");
        let cfg = rustls::ClientConfig::builder_with_provider(mgmt_proto::tls::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots(&c))
            .with_no_client_auth();
        assert!(try_tls(f, "p1", cfg).is_err());
        assert_handshake_audited(f, "p1", "no certificate");
    });
}

#[test]
fn tls_1_2_offered() {
    with_fleet(|f| {
        let c = creds(f, "admin");
        let cfg = rustls::ClientConfig::builder_with_provider(mgmt_proto::tls::provider())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(roots(&c))
            .with_client_auth_cert(c.chain, c.key)
            .unwrap();
        assert!(try_tls(f, "p1", cfg).is_err());
        assert_handshake_audited(f, "p1", "tls12");
    });
}

#[test]
fn plaintext() {
    with_fleet(|f| {
        let addr = f.probes[0].addr.clone();
        let env = forge(f, "p1", &evil_push(), |_| {});
        let mut tcp = TcpStream::connect(&addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        mgmt_proto::write_frame(&mut tcp, &env.to_bytes()).unwrap();
        let mut buf = Vec::new();
        let _ = tcp.read_to_end(&mut buf);
        // Whatever came back is not an answer: at most a TLS alert record (type 21).
        assert!(buf.is_empty() || buf[0] == 21, "{buf:?}");
        let _ = tcp.flush();
        assert_handshake_audited(f, "p1", "corrupt message");
    });
}

#[test]
fn revoked_client_certificate() {
    with_fleet(|f| {
        f.ok(&["pki", "operator", "--name", "eve", "--role", "admin"]);
        f.ok(&["-p", "all", "keys", "push"]);
        f.ok(&["--operator", "eve", "-p", "p1", "status"]);
        f.ok(&["pki", "revoke", "eve"]);
        f.ok(&["-p", "all", "keys", "push"]);
        let o = f.probectl(&[
            "--operator",
            "eve",
            "-p",
            "p1",
            "filter",
            "push",
            "--name",
            "evil",
            "--action",
            "suppress",
            "--json",
            "event_type:http",
        ]);
        assert_eq!(o.code, 1, "{}", o.stdout);
        assert_eq!(o.json()["results"][0]["outcome"], "unreachable");
        assert_handshake_audited(f, "p1", "revoked");
    });
}
