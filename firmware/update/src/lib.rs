//! Signed A/B updates of the probe appliance.
//!
//! An update must never brick a probe. The invariants this crate keeps, in the order an update
//! meets them (docs/update.md has the whole protocol and the recovery procedure):
//!
//! 1. **Nothing is parsed before the signature is checked.** A bundle starts with a fixed
//!    header, the manifest bytes, the signer's public key and an Ed25519 signature over the
//!    header and manifest ([`bundle`]). Only the lengths in the fixed header are read (and
//!    capped) before the signature is verified against the trusted keys; the manifest JSON is
//!    parsed after.
//! 2. **Nothing is written before the whole bundle is known good.** Product, hardware
//!    compatibility, the generation (which only grows: anti-downgrade), the bundle's exact
//!    length, each part against the slot and the ESP it will go to, and the SHA-256 of every
//!    part are all checked first ([`install::check`]). A flipped byte, an unknown key, a lower
//!    generation, another hardware id, a truncated or oversized bundle are refused without
//!    touching a slot.
//! 3. **The running slot is never written.** The root goes to the inactive slot's partition,
//!    hashed again while it streams and read back after; its kernel and initrd go to the
//!    inactive slot's directory on the ESP.
//! 4. **A half-written slot is never bootable.** The inactive slot's boot entry is removed
//!    before its partition is written and created (by rename) only after everything is in
//!    place and synced, with a boot counter ([`boot`]): systemd-boot decrements it on each
//!    attempt and stops choosing the entry when it reaches zero. A power cut at any point
//!    therefore boots either the old slot or a completely written new one.
//! 5. **A new slot is good only when the probe is healthy.** `probed health --mark-good`
//!    removes the counter (the Boot Loader Specification's "blessing") only after capture,
//!    rules and management are checked; a slot that never gets there runs out of tries and
//!    the boot loader falls back to the previous slot, which then reports the rollback
//!    ([`install::status`]).

#![forbid(unsafe_code)]

pub mod boot;
pub mod bundle;
pub mod install;

use std::path::PathBuf;

/// What can go wrong reading, checking or installing an update.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// An I/O error on a named file or device.
    #[error("{path}: {source}")]
    Io {
        /// The file or device.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The bundle does not start with the bundle magic.
    #[error("not an update bundle (bad magic)")]
    BadMagic,
    /// The manifest length in the header is out of bounds.
    #[error("manifest length {0} is over the cap of {max} bytes", max = bundle::MAX_MANIFEST)]
    ManifestTooLarge(u64),
    /// The bundle ends before its declared end.
    #[error("bundle truncated: {have} bytes, {need} declared")]
    Truncated {
        /// Bytes in the file.
        have: u64,
        /// Bytes the header and manifest declare.
        need: u64,
    },
    /// The bundle has bytes after its last part.
    #[error("bundle has {0} bytes after its last part")]
    TrailingBytes(u64),
    /// The signer is not among the trusted keys.
    #[error("signed by key {0}, which is not trusted")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("signature by key {0} does not verify")]
    BadSignature(String),
    /// The (signed) manifest is not valid.
    #[error("manifest: {0}")]
    Manifest(String),
    /// A part's bytes do not hash to the manifest's SHA-256.
    #[error("part {part}: SHA-256 mismatch ({context})")]
    HashMismatch {
        /// The part.
        part: String,
        /// Where it was found: the bundle, the stream into the slot, the read-back.
        context: &'static str,
    },
    /// The bundle is for another product.
    #[error("bundle is for product {bundle:?}, this is {probe:?}")]
    WrongProduct {
        /// The bundle's product.
        bundle: String,
        /// This probe's product.
        probe: String,
    },
    /// The bundle does not list this probe's hardware.
    #[error("bundle is compatible with {compatible:?}, this probe is {hardware:?}")]
    Incompatible {
        /// The hardware ids the bundle lists.
        compatible: Vec<String>,
        /// This probe's hardware id.
        hardware: String,
    },
    /// The bundle's generation is lower than what runs or has run here.
    #[error(
        "generation {bundle} is lower than {floor} (running or last good): downgrades are refused"
    )]
    Downgrade {
        /// The bundle's generation.
        bundle: u64,
        /// The lowest generation accepted.
        floor: u64,
    },
    /// The bundle's generation is the one running.
    #[error("generation {0} is already running")]
    AlreadyRunning(u64),
    /// A part does not fit where it goes.
    #[error("part {part} is {size} bytes; {target} has room for {room}")]
    TooLarge {
        /// The part.
        part: String,
        /// Its size.
        size: u64,
        /// Where it goes.
        target: String,
        /// The room there.
        room: u64,
    },
    /// The running slot has not been marked good yet.
    #[error("slot {0} is not marked good yet (boot counter still set): run `probed health --mark-good` before updating")]
    RunningOnProbation(boot::Slot),
    /// The configuration is invalid.
    #[error("update configuration {path}: {msg}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// The trusted-keys file is invalid.
    #[error("trusted keys {path}, line {line}: {msg}")]
    Trust {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// Another install is running.
    #[error("another install is running on this probe")]
    Busy,
    /// The install was interrupted on purpose (tests simulating a power cut).
    #[error("interrupted before {0:?}")]
    Interrupted(install::Step),
}

/// A result with [`UpdateError`].
pub type Result<T> = std::result::Result<T, UpdateError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> UpdateError {
    let path = path.into();
    move |source| UpdateError::Io { path, source }
}
