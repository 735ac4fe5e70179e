//! Building the EVE `tls` object from a session, per logging mode (basic, extended, custom).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use events::tls::{Fingerprint, TlsClientEve, TlsEve};

use crate::cert::format_time;
use crate::config::{TlsConfig, TlsFields};
use crate::ja::Ja3;
use crate::session::{ConnInfo, SslFlags, TlsSession};
use crate::version;

/// Whether the session is worth a record: a server certificate (subject and issuer), a
/// resumed session when those are logged, or TLS 1.3 (where no certificate is visible).
pub(crate) fn should_log(s: &TlsSession, cfg: &TlsConfig) -> bool {
    let has_cert = s.server.cert.is_some();
    let resumed = s.flags.has(SslFlags::SESSION_RESUMED) && cfg.log_resumed;
    has_cert || resumed || s.flags.has(SslFlags::LOG_WITHOUT_CERT)
}

/// `session_resumed: true` only when no certificate was seen, a ServerHello was, and the
/// session is not TLS 1.3.
fn session_resumed(s: &TlsSession) -> Option<bool> {
    let f = s.flags;
    let no_cert = s.server.cert_subject().is_none() && s.server.cert_issuer().is_none();
    (f.has(SslFlags::SESSION_RESUMED)
        && no_cert
        && f.has(SslFlags::STATE_SERVER_HELLO)
        && !f.has(SslFlags::LOG_WITHOUT_CERT))
    .then_some(true)
}

fn fingerprint(j: &Ja3) -> Option<Fingerprint> {
    (j.hash.is_some() || j.string.is_some()).then(|| Fingerprint {
        hash: j.hash.clone(),
        string: j.string.clone(),
    })
}

fn not_zero_time(t: Option<i64>) -> Option<String> {
    t.filter(|&t| t != 0).map(format_time)
}

fn b64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

fn client(c: &ConnInfo, cert: bool, chain: bool) -> Option<TlsClientEve> {
    if c.cert_subject().is_none() && c.cert_issuer().is_none() {
        return None;
    }
    let info = c.cert.as_ref();
    Some(TlsClientEve {
        subject: c.cert_subject().map(str::to_owned),
        issuerdn: c.cert_issuer().map(str::to_owned),
        fingerprint: info.map(|i| i.fingerprint.clone()),
        serial: info.map(|i| i.serial.clone()),
        notbefore: not_zero_time(info.map(|i| i.not_before)),
        notafter: not_zero_time(info.map(|i| i.not_after)),
        certificate: if cert {
            c.chain.first().map(|d| b64(d))
        } else {
            None
        },
        chain: if chain && !c.chain.is_empty() {
            Some(c.chain.iter().map(|d| b64(d)).collect())
        } else {
            None
        },
    })
}

/// Builds the `tls` object.
/// The `tls` object Suricata 7 writes in an `alert` about the session: always the extended
/// field set (whatever the `tls` logger's own options), JA4 when it is computed.
pub(crate) fn build_for_alert(s: &TlsSession, cfg: &TlsConfig) -> TlsEve {
    let alert_cfg = TlsConfig {
        custom: None,
        extended: true,
        log_ja4: true,
        ..*cfg
    };
    build(s, &alert_cfg, None)
}

pub(crate) fn build(s: &TlsSession, cfg: &TlsConfig, from_proto: Option<&str>) -> TlsEve {
    let fields = match (cfg.custom, cfg.extended) {
        (Some(f), _) => f,
        (None, true) => TlsFields::SUBJECT
            .with(TlsFields::ISSUER)
            .with(TlsFields::SESSION_RESUMED)
            .with(TlsFields::SERIAL)
            .with(TlsFields::FINGERPRINT)
            .with(TlsFields::SNI)
            .with(TlsFields::VERSION)
            .with(TlsFields::NOT_BEFORE)
            .with(TlsFields::NOT_AFTER)
            .with(TlsFields::JA3)
            .with(TlsFields::JA3S)
            .with(TlsFields::CLIENT),
        (None, false) => TlsFields::SUBJECT
            .with(TlsFields::ISSUER)
            .with(TlsFields::SESSION_RESUMED),
    };
    // Extended mode prints JA4 only when asked to; custom mode when listed. Either way only
    // when the configuration computes it: `inspect` computes it too, silently.
    let ja4 = cfg.ja4
        && match cfg.custom {
            Some(f) => f.contains(TlsFields::JA4),
            None => cfg.extended && cfg.log_ja4,
        };
    let srv = &s.server;
    let cert = srv.cert.as_ref();
    let on = |f: TlsFields| fields.contains(f);
    TlsEve {
        subject: on(TlsFields::SUBJECT)
            .then(|| srv.cert_subject().map(str::to_owned))
            .flatten(),
        issuerdn: on(TlsFields::ISSUER)
            .then(|| srv.cert_issuer().map(str::to_owned))
            .flatten(),
        session_resumed: on(TlsFields::SESSION_RESUMED)
            .then(|| session_resumed(s))
            .flatten(),
        serial: on(TlsFields::SERIAL)
            .then(|| cert.map(|c| c.serial.clone()))
            .flatten(),
        fingerprint: on(TlsFields::FINGERPRINT)
            .then(|| cert.map(|c| c.fingerprint.clone()))
            .flatten(),
        sni: on(TlsFields::SNI)
            .then(|| s.client.sni_str().map(str::to_owned))
            .flatten(),
        version: on(TlsFields::VERSION).then(|| version::to_eve_string(srv.version)),
        notbefore: on(TlsFields::NOT_BEFORE)
            .then(|| not_zero_time(cert.map(|c| c.not_before)))
            .flatten(),
        notafter: on(TlsFields::NOT_AFTER)
            .then(|| not_zero_time(cert.map(|c| c.not_after)))
            .flatten(),
        certificate: on(TlsFields::CERTIFICATE)
            .then(|| srv.chain.first().map(|d| b64(d)))
            .flatten(),
        chain: (on(TlsFields::CHAIN) && !srv.chain.is_empty())
            .then(|| srv.chain.iter().map(|d| b64(d)).collect()),
        ja3: on(TlsFields::JA3)
            .then(|| fingerprint(&s.client.ja3))
            .flatten(),
        ja3s: on(TlsFields::JA3S).then(|| fingerprint(&srv.ja3)).flatten(),
        ja4: ja4.then(|| s.client.ja4_hash()).flatten(),
        client: on(TlsFields::CLIENT)
            .then(|| {
                client(
                    &s.client,
                    on(TlsFields::CLIENT_CERTIFICATE),
                    on(TlsFields::CLIENT_CHAIN),
                )
            })
            .flatten(),
        from_proto: from_proto.map(str::to_owned),
    }
}
