//! The management protocol shared by the probe (`firmware/mgmt`) and the operator's CLI
//! (`probectl`). No I/O beyond reading and writing one frame on a stream it is given.
//!
//! # Wire format (version 1)
//!
//! Inside a TLS 1.3 stream with mutual authentication, each message is a frame: a 4-byte
//! big-endian length, then that many bytes of CBOR. A request frame is an [`Envelope`]:
//! `{v, key_id, payload, sig}` where `payload` is the CBOR of a [`Payload`] kept as the
//! exact bytes that were signed, and `sig` is the operator's Ed25519 signature over those
//! bytes. The payload names the probe, a monotonic sequence number, a random nonce, the
//! issue and expiry times, the key, the operation name and the command, itself nested as
//! bytes, so the probe checks size, signature, key and role, probe id, expiry and clock skew,
//! sequence and nonce **before** it decodes the command.
//!
//! A response frame is a [`SignedResponse`]: the probe's Ed25519 signature over the CBOR of a
//! [`ResponsePayload`] that names the probe, the SHA-256 of the request payload it answers
//! and the outcome. An operator trusts a response only after [`SignedResponse::open`] checked
//! it against the probe's public key from the inventory and against its own request.
//!
//! The invariant everything rests on: a signature covers bytes, never a re-encoding. The
//! probe verifies the bytes it received and decodes those same bytes; nothing is
//! re-serialised between the check and the use.
#![forbid(unsafe_code)]

pub mod audit;
pub mod filter;
pub mod layout;
pub mod tls;
pub use types::units;

use std::io::{self, Read, Write};

use ring::rand::SecureRandom;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};

pub use filter::FilterSpec;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 1;
/// Default cap on a request frame (a rule set push is the largest legitimate request).
pub const DEFAULT_MAX_FRAME: usize = 32 << 20;
/// Largest piece of an update bundle in one `update_chunk` command: well under the default
/// frame cap once the envelope and CBOR framing are added.
pub const MAX_UPDATE_CHUNK: usize = 16 << 20;
/// Cap on a response frame read by probectl.
pub const MAX_RESPONSE_FRAME: usize = 256 << 20;
/// Length of the random nonce in a payload.
pub const NONCE_LEN: usize = 16;
/// Longest accepted validity window of a request (`expires_at - issued_at`): it bounds how
/// long the probe must remember a nonce.
pub const MAX_LIFETIME_MS: i64 = 15 * 60 * 1000;
/// Default validity of a request.
pub const DEFAULT_TTL_MS: i64 = 60 * 1000;
/// Default tolerated clock difference between operator and probe.
pub const DEFAULT_SKEW_MS: i64 = 60 * 1000;
/// Length of a key id (bytes of the SHA-256 of the public key; hex in text).
pub const KEY_ID_LEN: usize = 8;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// A frame could not be read or written.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// A frame's announced length is over the cap.
    #[error("frame of {len} bytes is over the {max}-byte limit")]
    Oversized {
        /// Announced length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Bytes that are not the expected CBOR.
    #[error("malformed {what}: {msg}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        msg: String,
    },
    /// A signature does not verify.
    #[error("{0}: signature does not verify")]
    BadSignature(&'static str),
    /// A key could not be used.
    #[error("key: {0}")]
    Key(String),
    /// A response does not answer the request it should.
    #[error("response: {0}")]
    Response(String),
}

/// Operator roles, each including the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
#[derive(clap::ValueEnum)]
pub enum Role {
    /// Reads status, stats, filters, DoCs and the audit log.
    Viewer,
    /// Also manages filters, hunts and retro-hunts.
    Analyst,
    /// Also rules, config, keys and updates.
    Admin,
}

impl Role {
    /// Its name in text.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A command an operator sends to a probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Command {
    /// Version, uptime, capture state, counters.
    Status,
    /// Store or replace a filter (with its policy action); a DoC/DoPV filter is applied to
    /// the archive unless its spec says `no_retro`.
    FilterPush {
        /// The filter, as the probe's own `filter add` flags describe it.
        spec: Box<FilterSpec>,
    },
    /// The stored filters with their counts.
    FilterList,
    /// Remove a filter (its DoCs stay).
    FilterRemove {
        /// Filter name.
        name: String,
    },
    /// Declarations with an id above `after`, oldest first, at most `limit` (a cursor).
    DocList {
        /// Cursor: the last id already collected.
        #[serde(default)]
        after: u64,
        /// Most declarations in one answer.
        limit: u32,
    },
    /// Run (or resume) the retro-hunt of a stored DoC/DoPV filter.
    RetroStart {
        /// Filter name.
        filter: String,
        /// How many days back (default: the filter's own).
        days: Option<u32>,
    },
    /// Stop a running retro-hunt (its cursor is kept: `retro_start` resumes it).
    RetroCancel {
        /// Filter name.
        filter: String,
    },
    /// Declarations this operator has not acknowledged yet (above its acknowledgement
    /// cursor on this probe), oldest first, at most `limit`.
    DocCollect {
        /// Most declarations in one answer.
        limit: u32,
    },
    /// Acknowledge every declaration up to and including id `upto` for this operator (the
    /// cursor only moves forward).
    DocAck {
        /// Last acknowledged id.
        upto: u64,
    },
    /// Where a filter's retro-hunt is.
    RetroStatus {
        /// Filter name.
        filter: String,
    },
    /// Query the event archive with a hunt filter.
    Hunt {
        /// The query.
        query: String,
        /// Only events at or after (EVE timestamp or `now-7d`).
        since: Option<String>,
        /// Only events before.
        until: Option<String>,
        /// How many matching events to return.
        samples: u32,
    },
    /// Read configuration keys (all when `key` is none).
    ConfigGet {
        /// One key.
        key: Option<String>,
    },
    /// Set one configuration key.
    ConfigSet {
        /// The key.
        key: String,
        /// Its new value.
        value: String,
    },
    /// The operator keys the probe trusts and its certificate revocation list.
    KeysList,
    /// Replace the trusted operator keys and the revocation list (key rotation and
    /// revocation): the probe applies both to every later request and handshake.
    KeysPush {
        /// The complete new key list.
        keys: Vec<OperatorKey>,
        /// The fleet CA's certificate revocation list (DER), if any.
        #[serde(with = "serde_bytes", default)]
        crl: Vec<u8>,
    },
    /// Store a versioned rule set (Suricata rules; checked by the probe) and optionally
    /// make it the active one.
    RulesPush {
        /// Version name (letters, digits, `.`, `_`, `-`).
        version: String,
        /// The rules text, LZ4-compressed with its size prepended
        /// ([`compress_rules`]).
        #[serde(with = "serde_bytes")]
        rules_lz4: Vec<u8>,
        /// Activate it once stored.
        activate: bool,
    },
    /// Make a stored rule set the active one (the detection engine is rebuilt with it).
    RulesActivate {
        /// Version name.
        version: String,
    },
    /// Go back to the rule set that was active before the current one.
    RulesRollback,
    /// Stored rule sets, the active one and the activation history.
    RulesList,
    /// Audit log entries from index `from`, at most `limit`, plus the chain head.
    AuditGet {
        /// First index.
        from: u64,
        /// Most entries in one answer.
        limit: u32,
    },
    /// Store (or replace) a threat-intel feed (CSV, JSON lines, Zeek intel or STIX 2.1; checked
    /// by the probe): a running probe matches it from its next events on, without a restart.
    IntelPush {
        /// Feed name (letters, digits, `.`, `_`, `-`).
        name: String,
        /// The feed, LZ4-compressed with its size prepended ([`compress_rules`]).
        #[serde(with = "serde_bytes")]
        feed_lz4: Vec<u8>,
    },
    /// Remove a stored threat-intel feed (matching stops at once).
    IntelRemove {
        /// Feed name.
        name: String,
    },
    /// Stored threat-intel feeds and indicator counts by type.
    IntelList,
    /// One piece of a signed update bundle, stored on the probe's data partition until the
    /// whole bundle has arrived (pieces in order; a repeated piece is ignored, so an
    /// interrupted push resumes from what the probe reports it has).
    UpdateChunk {
        /// SHA-256 (hex) of the whole bundle: names the upload and checks it at the end.
        bundle_sha256: String,
        /// The bundle's total size.
        total: u64,
        /// Offset of this piece.
        offset: u64,
        /// The bytes (at most [`MAX_UPDATE_CHUNK`]).
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// Install an uploaded bundle into the inactive slot (`probed update`: signature, product,
    /// hardware, generation, hashes checked first) and, if asked, reboot into it after the
    /// answer.
    UpdateApply {
        /// SHA-256 (hex) of the uploaded bundle.
        bundle_sha256: String,
        /// Reboot once installed.
        reboot: bool,
    },
    /// The slots, their boot counting state, the pending install, rollbacks and the history.
    UpdateStatus,
    /// Events the probe wrote to its EVE output after `cursor` (without one: the last
    /// `limit` events), those matching `query` (a hunt filter) if given, at most `limit`.
    /// The answer carries the cursor to ask from next (`probectl events tail -f`).
    EventsTail {
        /// A hunt filter, e.g. `event_type:alert`.
        query: Option<String>,
        /// Where the previous answer stopped.
        cursor: Option<TailCursor>,
        /// Most events in one answer.
        limit: u32,
    },
}

/// A position in a probe's EVE output: the file (its inode, so a rotated file is noticed)
/// and a byte offset at a line start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TailCursor {
    /// Inode of the EVE file.
    pub file: u64,
    /// Byte offset of the next unread line.
    pub offset: u64,
}

impl Command {
    /// The operation name carried (signed) in the payload, checked before the command is
    /// decoded.
    pub fn op(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::FilterPush { .. } => "filter_push",
            Command::FilterList => "filter_list",
            Command::FilterRemove { .. } => "filter_remove",
            Command::DocList { .. } => "doc_list",
            Command::RetroStart { .. } => "retro_start",
            Command::RetroStatus { .. } => "retro_status",
            Command::RetroCancel { .. } => "retro_cancel",
            Command::DocCollect { .. } => "doc_collect",
            Command::DocAck { .. } => "doc_ack",
            Command::Hunt { .. } => "hunt",
            Command::ConfigGet { .. } => "config_get",
            Command::ConfigSet { .. } => "config_set",
            Command::KeysList => "keys_list",
            Command::KeysPush { .. } => "keys_push",
            Command::RulesPush { .. } => "rules_push",
            Command::RulesActivate { .. } => "rules_activate",
            Command::RulesRollback => "rules_rollback",
            Command::RulesList => "rules_list",
            Command::AuditGet { .. } => "audit_get",
            Command::EventsTail { .. } => "events_tail",
            Command::IntelPush { .. } => "intel_push",
            Command::IntelRemove { .. } => "intel_remove",
            Command::IntelList => "intel_list",
            Command::UpdateChunk { .. } => "update_chunk",
            Command::UpdateApply { .. } => "update_apply",
            Command::UpdateStatus => "update_status",
        }
    }
}

/// The least role an operation needs; `None` for an unknown operation.
pub fn required_role(op: &str) -> Option<Role> {
    Some(match op {
        "status" | "filter_list" | "doc_list" | "retro_status" | "keys_list" | "audit_get"
        | "rules_list" | "doc_collect" | "intel_list" | "update_status" => Role::Viewer,
        "filter_push" | "filter_remove" | "retro_start" | "retro_cancel" | "hunt"
        | "config_get" | "doc_ack" | "events_tail" | "intel_push" | "intel_remove" => Role::Analyst,
        "config_set" | "keys_push" | "rules_push" | "rules_activate" | "rules_rollback"
        | "update_chunk" | "update_apply" => Role::Admin,
        _ => return None,
    })
}

/// An operator key a probe trusts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorKey {
    /// Key id (hex of the first bytes of the SHA-256 of the public key).
    pub key_id: String,
    /// Operator name (for the audit log).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// A revoked key is refused (kept so the audit log can name it).
    #[serde(default)]
    pub revoked: bool,
}

/// The signed part of a request. `command` holds the CBOR of a [`Command`], decoded only
/// after every check passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// The probe this request is for.
    pub probe_id: String,
    /// Monotonic per operator key; the probe refuses one not above the last it accepted.
    pub seq: u64,
    /// Random, never reused.
    #[serde(with = "serde_bytes")]
    pub nonce: Vec<u8>,
    /// Unix milliseconds.
    pub issued_at: i64,
    /// Unix milliseconds.
    pub expires_at: i64,
    /// The signing key (must equal the envelope's).
    pub key_id: String,
    /// [`Command::op`] of the command.
    pub op: String,
    /// CBOR of the command.
    #[serde(with = "serde_bytes")]
    pub command: Vec<u8>,
}

/// A request on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Protocol version.
    pub v: u16,
    /// Which key signed.
    pub key_id: String,
    /// CBOR of a [`Payload`]: exactly the signed bytes.
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// Ed25519 signature over `payload`.
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

/// Largest rule set text a probe accepts (ET Open is about 40 MB).
pub const MAX_RULESET_BYTES: usize = 256 << 20;

/// Compresses rules text for [`Command::RulesPush`].
pub fn compress_rules(text: &[u8]) -> Vec<u8> {
    lz4_flex::compress_prepend_size(text)
}

/// Decompresses [`Command::RulesPush`] rules, refusing more than [`MAX_RULESET_BYTES`]
/// before allocating.
pub fn decompress_rules(lz4: &[u8]) -> Result<Vec<u8>, String> {
    let size = lz4
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .ok_or("rule set: truncated")? as usize;
    if size > MAX_RULESET_BYTES {
        return Err(format!(
            "rule set of {size} bytes is over the {MAX_RULESET_BYTES}-byte limit"
        ));
    }
    lz4_flex::decompress_size_prepended(lz4).map_err(|e| format!("rule set: {e}"))
}

/// CBOR encoding of any serialisable value.
pub fn to_cbor<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    // Writing into a Vec cannot fail, and every type here serialises.
    if ciborium::into_writer(v, &mut out).is_err() {
        out.clear();
    }
    out
}

/// Decodes CBOR, naming `what` in the error.
pub fn from_cbor<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, ProtoError> {
    ciborium::from_reader(bytes).map_err(|e| ProtoError::Malformed {
        what,
        msg: e.to_string(),
    })
}

/// Key id of an Ed25519 public key.
pub fn key_id(public_key: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, public_key);
    hex::encode(&d.as_ref()[..KEY_ID_LEN])
}

/// SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// An Ed25519 signing key with its id.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    id: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.id)
    }
}

impl SigningKey {
    /// A new key: its PKCS#8 document (to store, mode 0600) and the key.
    pub fn generate() -> Result<(Vec<u8>, SigningKey), ProtoError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| ProtoError::Key("cannot generate an Ed25519 key".into()))?;
        let key = SigningKey::from_pkcs8(doc.as_ref())?;
        Ok((doc.as_ref().to_vec(), key))
    }

    /// Loads a PKCS#8 document.
    pub fn from_pkcs8(doc: &[u8]) -> Result<SigningKey, ProtoError> {
        let pair = Ed25519KeyPair::from_pkcs8(doc)
            .map_err(|e| ProtoError::Key(format!("not an Ed25519 PKCS#8 key: {e}")))?;
        let id = key_id(pair.public_key().as_ref());
        Ok(SigningKey { pair, id })
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key bytes.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// Signs bytes.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair.sign(msg).as_ref().to_vec()
    }
}

/// Verifies an Ed25519 signature.
pub fn verify(public_key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(msg, sig)
        .is_ok()
}

/// Random bytes from the system generator.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, ProtoError> {
    let mut b = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| ProtoError::Key("system random generator failed".into()))?;
    Ok(b)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Envelope {
    /// Builds and signs a request for `probe_id`.
    pub fn seal(
        key: &SigningKey,
        probe_id: &str,
        seq: u64,
        issued_at: i64,
        ttl_ms: i64,
        command: &Command,
    ) -> Result<Envelope, ProtoError> {
        let payload = Payload {
            probe_id: probe_id.to_string(),
            seq,
            nonce: random_bytes(NONCE_LEN)?,
            issued_at,
            expires_at: issued_at.saturating_add(ttl_ms),
            key_id: key.id().to_string(),
            op: command.op().to_string(),
            command: to_cbor(command),
        };
        Ok(Envelope::sign_payload(key, &payload))
    }

    /// Signs an already built payload (tests use it to forge odd requests).
    pub fn sign_payload(key: &SigningKey, payload: &Payload) -> Envelope {
        let bytes = to_cbor(payload);
        Envelope {
            v: PROTOCOL_VERSION,
            key_id: key.id().to_string(),
            sig: key.sign(&bytes),
            payload: bytes,
        }
    }

    /// The frame body.
    pub fn to_bytes(&self) -> Vec<u8> {
        to_cbor(self)
    }
}

/// Why a probe refused a request. The codes are stable (scripts and tests match them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The frame is over the size cap.
    Oversized,
    /// The envelope or payload is not valid CBOR of the right shape.
    Malformed,
    /// A protocol version this probe does not speak.
    Version,
    /// No trusted key has this id (or it is revoked).
    UnknownKey,
    /// The signature does not verify over the payload bytes.
    BadSignature,
    /// The key's role does not allow the operation (or the operation is unknown).
    Forbidden,
    /// The request names another probe.
    WrongProbe,
    /// Past its expiry.
    Expired,
    /// Issued further in the future than the allowed clock skew, or valid for too long.
    NotYetValid,
    /// Sequence number not above the last accepted one for this key.
    StaleSequence,
    /// This exact request (its nonce) was seen before.
    Replay,
    /// Too many requests on this connection.
    RateLimited,
}

impl RejectCode {
    /// Its name in text.
    pub fn name(self) -> &'static str {
        match self {
            RejectCode::Oversized => "oversized",
            RejectCode::Malformed => "malformed",
            RejectCode::Version => "version",
            RejectCode::UnknownKey => "unknown_key",
            RejectCode::BadSignature => "bad_signature",
            RejectCode::Forbidden => "forbidden",
            RejectCode::WrongProbe => "wrong_probe",
            RejectCode::Expired => "expired",
            RejectCode::NotYetValid => "not_yet_valid",
            RejectCode::StaleSequence => "stale_sequence",
            RejectCode::Replay => "replay",
            RejectCode::RateLimited => "rate_limited",
        }
    }
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Executed; the answer as JSON-shaped data.
    Ok {
        /// The answer.
        body: serde_json::Value,
    },
    /// Refused before execution; nothing changed.
    Rejected {
        /// Why, as a stable code.
        code: RejectCode,
        /// Why, in words.
        reason: String,
    },
    /// Accepted, but the command failed (a bad filter, an unknown name); nothing changed.
    Failed {
        /// The error.
        error: String,
    },
}

/// The signed part of a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsePayload {
    /// Protocol version.
    pub v: u16,
    /// The answering probe.
    pub probe_id: String,
    /// SHA-256 of the request payload bytes this answers (hex); empty when the request
    /// could not be read far enough to have one.
    pub request: String,
    /// Unix milliseconds.
    pub issued_at: i64,
    /// The outcome.
    pub outcome: Outcome,
}

/// A response on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedResponse {
    /// CBOR of a [`ResponsePayload`].
    #[serde(with = "serde_bytes")]
    pub payload: Vec<u8>,
    /// The probe's Ed25519 signature over `payload`.
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

impl SignedResponse {
    /// Signs a response.
    pub fn seal(key: &SigningKey, payload: &ResponsePayload) -> SignedResponse {
        let bytes = to_cbor(payload);
        SignedResponse {
            sig: key.sign(&bytes),
            payload: bytes,
        }
    }

    /// Checks the probe's signature and that the response answers `request_payload` from
    /// `probe_id`, then decodes it.
    pub fn open(
        frame: &[u8],
        probe_public_key: &[u8],
        probe_id: &str,
        request_payload: &[u8],
    ) -> Result<ResponsePayload, ProtoError> {
        let r: SignedResponse = from_cbor(frame, "response")?;
        if !verify(probe_public_key, &r.payload, &r.sig) {
            return Err(ProtoError::BadSignature("response"));
        }
        let p: ResponsePayload = from_cbor(&r.payload, "response payload")?;
        if p.probe_id != probe_id {
            return Err(ProtoError::Response(format!(
                "answered by probe `{}`, expected `{probe_id}`",
                p.probe_id
            )));
        }
        let want = hex::encode(sha256(request_payload));
        // A probe answers an unreadable frame without a request digest; anything else must
        // name our request.
        if !p.request.is_empty() && p.request != want {
            return Err(ProtoError::Response(
                "answers another request (digest differs)".into(),
            ));
        }
        if p.request.is_empty() && matches!(p.outcome, Outcome::Ok { .. }) {
            return Err(ProtoError::Response(
                "success without a request digest".into(),
            ));
        }
        Ok(p)
    }
}

/// Writes one frame.
pub fn write_frame(w: &mut impl Write, body: &[u8]) -> Result<(), ProtoError> {
    let len = u32::try_from(body.len()).map_err(|_| ProtoError::Oversized {
        len: body.len(),
        max: u32::MAX as usize,
    })?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(body)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame's length; `None` at a clean end of stream.
pub fn read_frame_len(r: &mut impl Read) -> Result<Option<usize>, ProtoError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(ProtoError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Some(u32::from_be_bytes(len) as usize))
}

/// Reads one frame of at most `max` bytes; `None` at a clean end of stream. The length is
/// checked before any body byte is read or buffered.
pub fn read_frame(r: &mut impl Read, max: usize) -> Result<Option<Vec<u8>>, ProtoError> {
    let Some(len) = read_frame_len(r)? else {
        return Ok(None);
    };
    if len > max {
        return Err(ProtoError::Oversized { len, max });
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn envelope_round_trip_and_signature() {
        let (_, k) = SigningKey::generate().unwrap();
        let e = Envelope::seal(&k, "p1", 7, 1000, 60_000, &Command::Status).unwrap();
        let back: Envelope = from_cbor(&e.to_bytes(), "envelope").unwrap();
        assert_eq!(back, e);
        assert!(verify(k.public_key(), &back.payload, &back.sig));
        let p: Payload = from_cbor(&back.payload, "payload").unwrap();
        assert_eq!((p.seq, p.op.as_str(), p.expires_at), (7, "status", 61_000));
        assert_eq!(p.nonce.len(), NONCE_LEN);
        let c: Command = from_cbor(&p.command, "command").unwrap();
        assert_eq!(c, Command::Status);
        // One flipped payload byte breaks the signature.
        let mut bad = back.payload.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(!verify(k.public_key(), &bad, &back.sig));
    }

    #[test]
    fn every_command_has_a_role() {
        let cmds = [
            Command::Status,
            Command::FilterList,
            Command::KeysList,
            Command::AuditGet { from: 0, limit: 1 },
            Command::ConfigSet {
                key: "a".into(),
                value: "b".into(),
            },
        ];
        for c in cmds {
            assert!(required_role(c.op()).is_some(), "{}", c.op());
        }
        assert_eq!(required_role("format_disk"), None);
        assert!(Role::Admin > Role::Analyst && Role::Analyst > Role::Viewer);
    }

    #[test]
    fn response_must_answer_our_request_from_our_probe() {
        let (_, probe) = SigningKey::generate().unwrap();
        let req = b"request payload";
        let payload = ResponsePayload {
            v: PROTOCOL_VERSION,
            probe_id: "p1".into(),
            request: hex::encode(sha256(req)),
            issued_at: 1,
            outcome: Outcome::Ok {
                body: serde_json::json!({"a": 1}),
            },
        };
        let frame = to_cbor(&SignedResponse::seal(&probe, &payload));
        let got = SignedResponse::open(&frame, probe.public_key(), "p1", req).unwrap();
        assert_eq!(got, payload);
        assert!(SignedResponse::open(&frame, probe.public_key(), "p2", req).is_err());
        assert!(SignedResponse::open(&frame, probe.public_key(), "p1", b"other").is_err());
        let (_, other) = SigningKey::generate().unwrap();
        assert!(SignedResponse::open(&frame, other.public_key(), "p1", req).is_err());
    }

    #[test]
    fn frames_are_capped_before_reading() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello").unwrap();
        let got = read_frame(&mut &buf[..], 16).unwrap().unwrap();
        assert_eq!(got, b"hello");
        let mut big = Vec::new();
        big.extend_from_slice(&(1u32 << 30).to_be_bytes());
        assert!(matches!(
            read_frame(&mut &big[..], 1 << 20),
            Err(ProtoError::Oversized { .. })
        ));
        assert!(read_frame(&mut &b""[..], 16).unwrap().is_none());
        assert!(read_frame(&mut &b"\0\0"[..], 16).is_err());
    }
}

#[doc(hidden)]
pub mod fuzzing {
    //! Entry points for `firmware/fuzz`: everything a probe decodes from a request frame
    //! before and after the signature check, and what an operator decodes from an answer.
    use super::*;

    /// Decodes `data` as every wire type and runs the checks that do not need a key store.
    pub fn fuzz_frame(data: &[u8]) {
        let _ = read_frame(&mut &data[..], 1 << 16);
        if let Ok(env) = from_cbor::<Envelope>(data, "envelope") {
            let _ = verify(&[0u8; 32], &env.payload, &env.sig);
            if let Ok(p) = from_cbor::<Payload>(&env.payload, "payload") {
                let _ = required_role(&p.op);
                if let Ok(c) = from_cbor::<Command>(&p.command, "command") {
                    assert!(required_role(c.op()).is_some());
                }
            }
        }
        let _ = from_cbor::<Command>(data, "command");
        let _ = decompress_rules(data);
        let _ = SignedResponse::open(data, &[0u8; 32], "p", b"");
        if let Ok(entries) = from_cbor::<Vec<audit::AuditEntry>>(data, "audit") {
            let _ = audit::verify(&entries, &audit::AuditHead::default());
        }
    }
}
