//! `update_chunk`, `update_apply`, `update_status`: a signed update bundle pushed over the
//! management plane in pieces, stored on the data partition, then installed by the `update`
//! crate exactly as `probed update` installs a local file (the bundle's own Ed25519 signature
//! is checked against the probe's trusted release keys: an admin operator can deliver a
//! bundle but cannot make the probe accept one the release key did not sign).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// Largest bundle accepted (a root slot is well under this).
pub const MAX_BUNDLE: u64 = 4 << 30;
/// Free space kept on the data partition beyond the bundle itself (sled and the archive go
/// on working while a bundle arrives).
pub const MIN_FREE_AFTER_UPLOAD: u64 = 64 << 20;
/// Where uploads go, under the data directory.
pub const INCOMING: &str = "update-incoming";

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn valid_sha(s: &str) -> Result<(), String> {
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        Ok(())
    } else {
        Err(format!(
            "bundle_sha256 `{s}` is not 64 lowercase hex digits"
        ))
    }
}

/// Stores one piece; returns how much of the bundle the probe has.
pub(crate) fn chunk(
    data_dir: &Path,
    sha: &str,
    total: u64,
    offset: u64,
    data: &[u8],
) -> Result<Value, String> {
    valid_sha(sha)?;
    if total == 0 || total > MAX_BUNDLE {
        return Err(format!("bundle of {total} bytes (at most {MAX_BUNDLE})"));
    }
    if data.len() > mgmt_proto::MAX_UPDATE_CHUNK {
        return Err(format!(
            "piece of {} bytes (at most {})",
            data.len(),
            mgmt_proto::MAX_UPDATE_CHUNK
        ));
    }
    let dir = data_dir.join(INCOMING);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let done = dir.join(format!("{sha}.bundle"));
    if done.exists() {
        return Ok(json!({"received": total, "total": total, "complete": true}));
    }
    // One upload at a time: a new bundle discards other partial ones.
    for e in fs::read_dir(&dir).map_err(err)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".part") && !name.starts_with(sha) {
            let _ = fs::remove_file(e.path());
        }
    }
    let part = dir.join(format!("{sha}.part"));
    let have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if offset < have {
        // A repeated piece (a resumed push): already stored.
        return Ok(json!({"received": have, "total": total, "complete": false}));
    }
    if offset > have {
        return Err(format!(
            "piece at {offset}, but the probe has {have} bytes: resume from {have}"
        ));
    }
    let end = offset
        .checked_add(data.len() as u64)
        .filter(|&e| e <= total)
        .ok_or_else(|| {
            format!(
                "piece at {offset}+{} runs past the bundle's {total} bytes",
                data.len()
            )
        })?;
    if have == 0 {
        let st = rustix::fs::statvfs(&dir).map_err(err)?;
        let free = st.f_bavail.saturating_mul(st.f_frsize);
        if free < total.saturating_add(MIN_FREE_AFTER_UPLOAD) {
            return Err(format!(
                "the data partition has {free} bytes free; a {total}-byte bundle needs {} more kept free",
                MIN_FREE_AFTER_UPLOAD
            ));
        }
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&part)
        .map_err(|e| format!("{}: {e}", part.display()))?;
    f.write_all(data)
        .map_err(|e| format!("{}: {e}", part.display()))?;
    if end < total {
        return Ok(json!({"received": end, "total": total, "complete": false}));
    }
    f.sync_all().map_err(err)?;
    drop(f);
    let got = update::bundle::file_sha256(&part).map_err(err)?;
    if got != sha {
        let _ = fs::remove_file(&part);
        return Err(format!(
            "the received bundle hashes to {got}, not {sha}: discarded"
        ));
    }
    fs::rename(&part, &done).map_err(err)?;
    Ok(json!({"received": total, "total": total, "complete": true}))
}

fn config(path: Option<&PathBuf>) -> Result<update::install::Config, String> {
    let path = path.ok_or("this probe has no updater configuration (not an appliance image)")?;
    update::install::Config::load(path).map_err(err)
}

/// Installs an uploaded bundle; the caller reboots after answering if asked.
pub(crate) fn apply(data_dir: &Path, cfg: Option<&PathBuf>, sha: &str) -> Result<Value, String> {
    valid_sha(sha)?;
    let cfg = config(cfg)?;
    let path = data_dir.join(INCOMING).join(format!("{sha}.bundle"));
    if !path.exists() {
        return Err(format!(
            "no complete upload {sha} (push it with update_chunk first)"
        ));
    }
    let result = update::bundle::open(&path, &cfg.trust().map_err(err)?)
        .and_then(|v| update::install::install(&cfg, &v, &mut |_| Ok(()), &mut |_| {}));
    // Installed or refused, the upload has served: free the room.
    let _ = fs::remove_file(&path);
    let plan = result.map_err(err)?;
    Ok(json!({"installed": plan, "boot_tries": cfg.boot_tries}))
}

/// Where updates stand.
pub(crate) fn status(cfg: Option<&PathBuf>) -> Result<Value, String> {
    let cfg = config(cfg)?;
    let st = update::install::status(&cfg).map_err(err)?;
    serde_json::to_value(&st).map_err(err)
}
