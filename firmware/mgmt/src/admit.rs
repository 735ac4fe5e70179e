//! Admission of one request frame: the checks in their fixed order, then execution, the audit
//! entry and the signed answer.

use std::sync::atomic::Ordering;

use mgmt_proto::audit::AuditEntry;
use mgmt_proto::{
    from_cbor, now_ms, required_role, Command, Envelope, Outcome, Payload, RejectCode,
    ResponsePayload, SignedResponse, MAX_LIFETIME_MS, NONCE_LEN, PROTOCOL_VERSION,
};

use crate::state::Fresh;
use crate::{Client, Shared};

/// What the audit entry records about the request, filled in as checks pass.
#[derive(Default)]
struct Seen {
    key_id: String,
    op: String,
    seq: Option<u64>,
    /// SHA-256 hex of the payload (or of the frame, before a payload is known).
    request: String,
    /// Whether `request` names a payload (responses carry it only then).
    payload_known: bool,
}

struct Reject(RejectCode, String);

fn reject(code: RejectCode, reason: impl Into<String>) -> Reject {
    Reject(code, reason.into())
}

/// Handles one request frame; returns the signed response frame.
pub(crate) fn handle(shared: &Shared, client: &Client, frame: &[u8]) -> Vec<u8> {
    let mut seen = Seen {
        request: hex::encode(mgmt_proto::sha256(frame)),
        ..Default::default()
    };
    let now = now_ms();
    let outcome = match check(shared, client, frame, now, &mut seen) {
        Err(Reject(code, reason)) => Outcome::Rejected { code, reason },
        Ok((cmd, operator)) => match crate::exec::run(shared, &operator, cmd) {
            Ok(body) => Outcome::Ok { body },
            Err(error) => Outcome::Failed { error },
        },
    };
    finish(shared, client, seen, outcome, now)
}

/// Answers a frame over the size cap (its body was never read).
pub(crate) fn reject_oversized(shared: &Shared, client: &Client, len: usize) -> Vec<u8> {
    let outcome = Outcome::Rejected {
        code: RejectCode::Oversized,
        reason: format!(
            "frame of {len} bytes is over the {}-byte limit",
            shared.cfg.max_frame
        ),
    };
    finish(shared, client, Seen::default(), outcome, now_ms())
}

/// Answers a frame over the connection's request rate (not decoded).
pub(crate) fn reject_rate(shared: &Shared, client: &Client, frame: &[u8]) -> Vec<u8> {
    let seen = Seen {
        request: hex::encode(mgmt_proto::sha256(frame)),
        ..Default::default()
    };
    let outcome = Outcome::Rejected {
        code: RejectCode::RateLimited,
        reason: format!(
            "more than {} requests per second on this connection",
            shared.cfg.rate_per_sec
        ),
    };
    finish(shared, client, seen, outcome, now_ms())
}

fn finish(shared: &Shared, client: &Client, seen: Seen, outcome: Outcome, now: i64) -> Vec<u8> {
    let (label, code, detail) = match &outcome {
        Outcome::Ok { .. } => {
            shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
            ("ok", String::new(), String::new())
        }
        Outcome::Rejected { code, reason } => {
            shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "management request from {} ({}) rejected: {}: {reason}",
                client.label,
                client.peer,
                code.name()
            );
            ("rejected", code.name().to_string(), reason.clone())
        }
        Outcome::Failed { error } => {
            shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
            ("failed", String::new(), error.clone())
        }
    };
    shared.audit(AuditEntry {
        index: 0,
        ts: now,
        peer: client.peer.clone(),
        client: client.label.clone(),
        key_id: seen.key_id,
        op: seen.op,
        seq: seen.seq,
        outcome: label.into(),
        code,
        detail,
        request: seen.request.clone(),
        prev: String::new(),
        hash: String::new(),
    });
    let payload = ResponsePayload {
        v: PROTOCOL_VERSION,
        probe_id: shared.identity.id.clone(),
        request: if seen.payload_known {
            seen.request
        } else {
            String::new()
        },
        issued_at: now_ms(),
        outcome,
    };
    mgmt_proto::to_cbor(&SignedResponse::seal(&shared.sign, &payload))
}

/// The checks, in order. On success the sequence and nonce are recorded and the command is
/// decoded; it is returned with the operator's name.
fn check(
    shared: &Shared,
    client: &Client,
    frame: &[u8],
    now: i64,
    seen: &mut Seen,
) -> Result<(Command, String), Reject> {
    // 1. Size was checked before the frame was read. 2. Envelope shape and version.
    let env: Envelope =
        from_cbor(frame, "envelope").map_err(|e| reject(RejectCode::Malformed, e.to_string()))?;
    seen.key_id = env.key_id.clone();
    if env.v != PROTOCOL_VERSION {
        return Err(reject(
            RejectCode::Version,
            format!(
                "protocol version {} (this probe speaks {PROTOCOL_VERSION})",
                env.v
            ),
        ));
    }
    // 3. Key.
    let key = shared
        .state
        .key(&env.key_id)
        .map_err(|e| reject(RejectCode::UnknownKey, format!("key store: {e}")))?
        .ok_or_else(|| {
            reject(
                RejectCode::UnknownKey,
                format!("unknown key {}", env.key_id),
            )
        })?;
    if key.revoked {
        return Err(reject(
            RejectCode::UnknownKey,
            format!("key {} of `{}` is revoked", key.key_id, key.name),
        ));
    }
    // 4. Signature over the exact payload bytes.
    let public = hex::decode(&key.public_key).unwrap_or_default();
    if !mgmt_proto::verify(&public, &env.payload, &env.sig) {
        return Err(reject(
            RejectCode::BadSignature,
            format!("signature does not verify with key {}", key.key_id),
        ));
    }
    seen.request = hex::encode(mgmt_proto::sha256(&env.payload));
    seen.payload_known = true;
    let p: Payload = from_cbor(&env.payload, "payload")
        .map_err(|e| reject(RejectCode::Malformed, e.to_string()))?;
    seen.op = p.op.clone();
    seen.seq = Some(p.seq);
    if p.key_id != env.key_id {
        return Err(reject(
            RejectCode::Malformed,
            "the signed payload names another key than the envelope",
        ));
    }
    // 5. Role, and the key's binding to the authenticated client certificate.
    let need = required_role(&p.op).ok_or_else(|| {
        reject(
            RejectCode::Forbidden,
            format!("unknown operation `{}`", p.op),
        )
    })?;
    if key.role < need {
        return Err(reject(
            RejectCode::Forbidden,
            format!(
                "`{}` needs the {need} role; key {} of `{}` has {}",
                p.op, key.key_id, key.name, key.role
            ),
        ));
    }
    if key.name != client.name {
        return Err(reject(
            RejectCode::Forbidden,
            format!(
                "key {} belongs to `{}` but the connection is authenticated as `{}`",
                key.key_id, key.name, client.name
            ),
        ));
    }
    // 6. Probe id.
    if p.probe_id != shared.identity.id {
        return Err(reject(
            RejectCode::WrongProbe,
            format!(
                "request for probe {} received by probe {}",
                p.probe_id, shared.identity.id
            ),
        ));
    }
    // 7. Expiry and clock skew.
    if now > p.expires_at {
        return Err(reject(
            RejectCode::Expired,
            format!("expired {} ms ago", now - p.expires_at),
        ));
    }
    if p.issued_at > now.saturating_add(shared.cfg.skew_ms) {
        return Err(reject(
            RejectCode::NotYetValid,
            format!(
                "issued {} ms in the future (allowed skew {} ms)",
                p.issued_at - now,
                shared.cfg.skew_ms
            ),
        ));
    }
    if p.expires_at < p.issued_at || p.expires_at - p.issued_at > MAX_LIFETIME_MS {
        return Err(reject(
            RejectCode::NotYetValid,
            format!(
                "validity window of {} ms (at most {MAX_LIFETIME_MS} ms)",
                p.expires_at.saturating_sub(p.issued_at)
            ),
        ));
    }
    // 8. Sequence and 9. nonce, recorded before the command runs.
    if p.nonce.len() != NONCE_LEN {
        return Err(reject(
            RejectCode::Malformed,
            format!("nonce of {} bytes (expected {NONCE_LEN})", p.nonce.len()),
        ));
    }
    match shared
        .state
        .check_fresh(&env.key_id, p.seq, &p.nonce, p.expires_at, now)
    {
        Ok(Fresh::Yes) => {}
        Ok(Fresh::StaleSequence(last)) => {
            return Err(reject(
                RejectCode::StaleSequence,
                format!(
                    "sequence {} is not above {last}, the last accepted for key {}",
                    p.seq, env.key_id
                ),
            ))
        }
        Ok(Fresh::Replay) => {
            return Err(reject(
                RejectCode::Replay,
                "this request was already received (nonce seen before)",
            ))
        }
        Ok(Fresh::Full) => {
            return Err(reject(
                RejectCode::RateLimited,
                "too many requests in the validity window",
            ))
        }
        Err(e) => {
            // Without a durable record a replay could not be refused later: refuse now.
            return Err(reject(
                RejectCode::RateLimited,
                format!("cannot record the request: {e}"),
            ));
        }
    }
    // Only now is the command decoded.
    let cmd: Command = from_cbor(&p.command, "command")
        .map_err(|e| reject(RejectCode::Malformed, e.to_string()))?;
    if cmd.op() != p.op {
        return Err(reject(
            RejectCode::Malformed,
            format!("payload says `{}` but the command is `{}`", p.op, cmd.op()),
        ));
    }
    Ok((cmd, key.name))
}
