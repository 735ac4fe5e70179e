//! The update bundle: a signed manifest followed by the parts it names.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "NDRPUPD1"
//! 8       4     manifest length M, little endian, at most MAX_MANIFEST
//! 12      M     manifest (JSON, see Manifest)
//! 12+M    32    signer's Ed25519 public key
//! 44+M    64    Ed25519 signature over DOMAIN || bytes 0..12+M
//! 108+M   …     the parts, in manifest order, each exactly its declared size
//! ```
//!
//! The file must end exactly after the last part. The signature covers the magic and the
//! length as well as the manifest, and the manifest carries each part's size and SHA-256, so a
//! single flipped byte anywhere is caught: in the header or manifest by the signature, in the
//! key by the trust check, in a part by its hash. [`open`] reads only the fixed header, checks
//! the length cap, reads the manifest bytes and verifies the signature before it parses
//! anything; [`Verified::check_parts`] then hashes every part.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use mgmt_proto::SigningKey;
use serde::{Deserialize, Serialize};

use crate::{io_err, Result, UpdateError};

/// The first eight bytes of every bundle (format version 1).
pub const MAGIC: &[u8; 8] = b"NDRPUPD1";
/// Domain separation for the signature: a key that signs bundles signs nothing else by
/// accident (the same Ed25519 keys type also signs management commands).
pub const DOMAIN: &[u8] = b"ndr-probe update bundle v1\0";
/// Largest manifest accepted. A manifest names a handful of parts; 64 KiB is generous and
/// bounds what a hostile length can make us read before the signature is checked.
pub const MAX_MANIFEST: usize = 64 * 1024;
/// Most parts a manifest may name (rootfs, kernel, initrd, and room to grow).
pub const MAX_PARTS: usize = 8;
/// Ed25519 public key length.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Ed25519 signature length.
pub const SIGNATURE_LEN: usize = 64;
const FIXED: u64 = 12;
/// Streaming buffer: large enough for sequential device throughput, small enough to stay in
/// cache.
pub(crate) const CHUNK: usize = 1 << 20;

/// The kinds of part a bundle carries, and where each goes.
pub const PART_NAMES: [&str; 3] = ["rootfs", "kernel", "initrd"];

/// The signed description of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Manifest format; 1.
    pub format: u32,
    /// The product this bundle is for (`ndr-probe`).
    pub product: String,
    /// Human version (e.g. `0.2.0`).
    pub version: String,
    /// A number that only grows from one release to the next; probes refuse lower ones.
    pub generation: u64,
    /// Hardware ids this bundle may be installed on.
    pub compatible: Vec<String>,
    /// Extra kernel command-line arguments for this release (the slot's root is added by the
    /// probe).
    #[serde(default)]
    pub cmdline: String,
    /// When it was built (RFC 3339), informational.
    #[serde(default)]
    pub created: String,
    /// The parts, in file order.
    pub parts: Vec<Part>,
}

/// One part of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// `rootfs` (the slot partition), `kernel` or `initrd` (the slot's directory on the ESP).
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

impl Manifest {
    /// Checks what the format requires beyond JSON shape.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(UpdateError::Manifest(m));
        if self.format != 1 {
            return bad(format!(
                "format {} (this probe reads format 1)",
                self.format
            ));
        }
        if self.product.is_empty() || self.version.is_empty() {
            return bad("product and version must not be empty".into());
        }
        if self.compatible.is_empty() {
            return bad("compatible lists no hardware".into());
        }
        if self.parts.len() > MAX_PARTS {
            return bad(format!("{} parts (at most {MAX_PARTS})", self.parts.len()));
        }
        if self.cmdline.contains(['\n', '\r']) {
            return bad("cmdline contains a line break".into());
        }
        for (i, p) in self.parts.iter().enumerate() {
            if !PART_NAMES.contains(&p.name.as_str()) {
                return bad(format!(
                    "part {:?} (known: {})",
                    p.name,
                    PART_NAMES.join(", ")
                ));
            }
            if self.parts[..i].iter().any(|q| q.name == p.name) {
                return bad(format!("part {:?} twice", p.name));
            }
            if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad(format!("part {:?}: sha256 is not 64 hex digits", p.name));
            }
        }
        for need in PART_NAMES {
            if !self.parts.iter().any(|p| p.name == need) {
                return bad(format!("no {need} part"));
            }
        }
        Ok(())
    }

    /// The part with this name.
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }
}

/// The public keys a probe accepts bundles from.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    keys: Vec<[u8; PUBLIC_KEY_LEN]>,
}

impl Trust {
    /// Reads a trusted-keys file: one Ed25519 public key per line in hex (64 digits); blank
    /// lines and `#` comments are ignored.
    pub fn load(path: &Path) -> Result<Trust> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        Trust::parse(&text, path)
    }

    /// Parses a trusted-keys text (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Trust> {
        let mut keys = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |msg: &str| UpdateError::Trust {
                path: path.to_path_buf(),
                line: i + 1,
                msg: msg.into(),
            };
            let bytes = hex::decode(line).map_err(|_| err("not hex"))?;
            let key: [u8; PUBLIC_KEY_LEN] = bytes
                .try_into()
                .map_err(|_| err("an Ed25519 public key is 32 bytes (64 hex digits)"))?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(UpdateError::Trust {
                path: path.to_path_buf(),
                line: 0,
                msg: "no keys".into(),
            });
        }
        Ok(Trust { keys })
    }

    /// Trust exactly these keys.
    pub fn from_keys(keys: Vec<[u8; PUBLIC_KEY_LEN]>) -> Trust {
        Trust { keys }
    }

    fn contains(&self, key: &[u8; PUBLIC_KEY_LEN]) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

/// The line a trusted-keys file holds for a signing key.
pub fn trust_line(key: &SigningKey) -> String {
    format!("{}  # key id {}\n", hex::encode(key.public_key()), key.id())
}

/// A bundle whose signature verified and whose manifest is valid. Its parts are not yet
/// hashed: see [`Verified::check_parts`].
#[derive(Debug, Clone)]
pub struct Verified {
    /// The bundle file.
    pub path: PathBuf,
    /// The signed manifest.
    pub manifest: Manifest,
    /// The signer's key id.
    pub signer: String,
    /// Offset of the first part.
    data_offset: u64,
}

/// Opens a bundle: checks the header, the signature against `trust`, the manifest, and that
/// the file is exactly as long as declared. Reads no part.
pub fn open(path: &Path, trust: &Trust) -> Result<Verified> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let have = f.metadata().map_err(io_err(path))?.len();
    let truncated = |need: u64| UpdateError::Truncated { have, need };
    let mut head = [0u8; FIXED as usize];
    if have < FIXED {
        return Err(truncated(FIXED));
    }
    f.read_exact(&mut head).map_err(io_err(path))?;
    if &head[..8] != MAGIC {
        return Err(UpdateError::BadMagic);
    }
    let mlen = u64::from(u32::from_le_bytes([head[8], head[9], head[10], head[11]]));
    if mlen > MAX_MANIFEST as u64 {
        return Err(UpdateError::ManifestTooLarge(mlen));
    }
    let sig_end = FIXED + mlen + (PUBLIC_KEY_LEN + SIGNATURE_LEN) as u64;
    if have < sig_end {
        return Err(truncated(sig_end));
    }
    // Bounded by MAX_MANIFEST above.
    let mut signed = vec![0u8; FIXED as usize + mlen as usize];
    signed[..FIXED as usize].copy_from_slice(&head);
    f.read_exact(&mut signed[FIXED as usize..])
        .map_err(io_err(path))?;
    let mut key = [0u8; PUBLIC_KEY_LEN];
    let mut sig = [0u8; SIGNATURE_LEN];
    f.read_exact(&mut key).map_err(io_err(path))?;
    f.read_exact(&mut sig).map_err(io_err(path))?;
    let signer = mgmt_proto::key_id(&key);
    if !trust.contains(&key) {
        return Err(UpdateError::UnknownKey(signer));
    }
    let mut msg = Vec::with_capacity(DOMAIN.len() + signed.len());
    msg.extend_from_slice(DOMAIN);
    msg.extend_from_slice(&signed);
    if !mgmt_proto::verify(&key, &msg, &sig) {
        return Err(UpdateError::BadSignature(signer));
    }
    // Only now is the manifest parsed.
    let manifest: Manifest = serde_json::from_slice(&signed[FIXED as usize..])
        .map_err(|e| UpdateError::Manifest(e.to_string()))?;
    manifest.validate()?;
    let mut need = sig_end;
    for p in &manifest.parts {
        need = need
            .checked_add(p.size)
            .ok_or_else(|| UpdateError::Manifest("part sizes overflow".into()))?;
    }
    if have < need {
        return Err(truncated(need));
    }
    if have > need {
        return Err(UpdateError::TrailingBytes(have - need));
    }
    Ok(Verified {
        path: path.to_path_buf(),
        manifest,
        signer,
        data_offset: sig_end,
    })
}

impl Verified {
    /// Offset of a part in the bundle file.
    pub fn offset_of(&self, name: &str) -> Option<u64> {
        let mut off = self.data_offset;
        for p in &self.manifest.parts {
            if p.name == name {
                return Some(off);
            }
            off += p.size;
        }
        None
    }

    /// Total bytes of all parts.
    pub fn parts_len(&self) -> u64 {
        self.manifest.parts.iter().map(|p| p.size).sum()
    }

    /// Hashes every part and compares with the manifest. `progress` gets byte counts.
    pub fn check_parts(&self, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let mut f = File::open(&self.path).map_err(io_err(&self.path))?;
        f.seek(SeekFrom::Start(self.data_offset))
            .map_err(io_err(&self.path))?;
        let mut buf = vec![0u8; CHUNK];
        for p in &self.manifest.parts {
            let got = hash_stream(&mut f, p.size, &mut buf, &mut |chunk| {
                progress(chunk.len() as u64);
                Ok(())
            })
            .map_err(io_err(&self.path))?;
            if got != p.sha256 {
                return Err(UpdateError::HashMismatch {
                    part: p.name.clone(),
                    context: "in the bundle",
                });
            }
        }
        Ok(())
    }

    /// Opens the bundle positioned at a part, returning the reader and the part.
    pub(crate) fn reader(&self, name: &str) -> Result<(File, &Part)> {
        let (Some(off), Some(part)) = (self.offset_of(name), self.manifest.part(name)) else {
            return Err(UpdateError::Manifest(format!("no {name} part")));
        };
        let mut f = File::open(&self.path).map_err(io_err(&self.path))?;
        f.seek(SeekFrom::Start(off)).map_err(io_err(&self.path))?;
        Ok((f, part))
    }
}

/// Reads exactly `len` bytes from `r`, passing each chunk to `sink`, and returns their SHA-256
/// in hex. A short read is an `UnexpectedEof` error.
pub(crate) fn hash_stream(
    r: &mut dyn Read,
    len: u64,
    buf: &mut [u8],
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<String> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        r.read_exact(&mut buf[..n])?;
        ctx.update(&buf[..n]);
        sink(&buf[..n])?;
        left -= n as u64;
    }
    Ok(hex::encode(ctx.finish().as_ref()))
}

/// SHA-256 (lowercase hex) of a whole file: how an upload of a bundle is named and checked.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let mut buf = vec![0u8; CHUNK];
    hash_stream(&mut f, len, &mut buf, &mut |_| Ok(()))
}

/// What a new bundle describes; sizes and hashes are filled in by [`create`].
#[derive(Debug, Clone)]
pub struct NewBundle {
    /// Product name.
    pub product: String,
    /// Human version.
    pub version: String,
    /// Generation (must grow from release to release).
    pub generation: u64,
    /// Hardware ids.
    pub compatible: Vec<String>,
    /// Extra kernel command line.
    pub cmdline: String,
    /// Build time (RFC 3339), informational.
    pub created: String,
    /// `(part name, file)` in the order they are to be stored.
    pub parts: Vec<(String, PathBuf)>,
}

/// Writes a signed bundle to `out` and returns its manifest.
pub fn create(spec: &NewBundle, key: &SigningKey, out: &Path) -> Result<Manifest> {
    let mut parts = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    for (name, file) in &spec.parts {
        let mut f = File::open(file).map_err(io_err(file))?;
        let size = f.metadata().map_err(io_err(file))?.len();
        let sha256 = hash_stream(&mut f, size, &mut buf, &mut |_| Ok(())).map_err(io_err(file))?;
        parts.push(Part {
            name: name.clone(),
            size,
            sha256,
        });
    }
    let manifest = Manifest {
        format: 1,
        product: spec.product.clone(),
        version: spec.version.clone(),
        generation: spec.generation,
        compatible: spec.compatible.clone(),
        cmdline: spec.cmdline.clone(),
        created: spec.created.clone(),
        parts,
    };
    manifest.validate()?;
    let body =
        serde_json::to_vec_pretty(&manifest).map_err(|e| UpdateError::Manifest(e.to_string()))?;
    let mlen = u32::try_from(body.len())
        .ok()
        .filter(|&n| n as usize <= MAX_MANIFEST)
        .ok_or(UpdateError::ManifestTooLarge(body.len() as u64))?;
    let mut signed = Vec::with_capacity(12 + body.len());
    signed.extend_from_slice(MAGIC);
    signed.extend_from_slice(&mlen.to_le_bytes());
    signed.extend_from_slice(&body);
    let mut msg = DOMAIN.to_vec();
    msg.extend_from_slice(&signed);
    let sig = key.sign(&msg);
    let tmp = out.with_extension("partial");
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut w = BufWriter::with_capacity(CHUNK, file);
    let write = |w: &mut BufWriter<File>, b: &[u8]| w.write_all(b).map_err(io_err(&tmp));
    write(&mut w, &signed)?;
    write(&mut w, key.public_key())?;
    write(&mut w, &sig)?;
    for ((_, file), p) in spec.parts.iter().zip(&manifest.parts) {
        let mut f = File::open(file).map_err(io_err(file))?;
        let got = hash_stream(&mut f, p.size, &mut buf, &mut |chunk| w.write_all(chunk))
            .map_err(io_err(file))?;
        if got != p.sha256 {
            return Err(UpdateError::HashMismatch {
                part: p.name.clone(),
                context: "file changed while the bundle was written",
            });
        }
    }
    let file = w.into_inner().map_err(|e| UpdateError::Io {
        path: tmp.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, out).map_err(io_err(out))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    pub(crate) fn sample(dir: &Path, generation: u64) -> (SigningKey, PathBuf) {
        let (_, key) = SigningKey::generate().unwrap();
        let mut parts = Vec::new();
        for (name, len) in [("rootfs", 300_000usize), ("kernel", 5000), ("initrd", 7000)] {
            let p = dir.join(name);
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 + name.len()) as u8).collect();
            std::fs::write(&p, bytes).unwrap();
            parts.push((name.to_string(), p));
        }
        let spec = NewBundle {
            product: "ndr-probe".into(),
            version: "0.2.0".into(),
            generation,
            compatible: vec!["qemu-x86_64".into()],
            cmdline: "console=ttyS0".into(),
            created: String::new(),
            parts,
        };
        let out = dir.join("update.bundle");
        create(&spec, &key, &out).unwrap();
        (key, out)
    }

    fn trust(key: &SigningKey) -> Trust {
        Trust::parse(&trust_line(key), Path::new("t")).unwrap()
    }

    #[test]
    fn a_bundle_verifies_with_its_key_and_not_another() {
        let dir = tempfile::tempdir().unwrap();
        let (key, out) = sample(dir.path(), 3);
        let v = open(&out, &trust(&key)).unwrap();
        assert_eq!(v.manifest.generation, 3);
        v.check_parts(&mut |_| {}).unwrap();
        let (_, other) = SigningKey::generate().unwrap();
        assert!(matches!(
            open(&out, &trust(&other)),
            Err(UpdateError::UnknownKey(_))
        ));
    }

    #[test]
    fn every_single_flipped_bit_position_class_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let (key, out) = sample(dir.path(), 3);
        let good = std::fs::read(&out).unwrap();
        let t = trust(&key);
        // Every byte of the header, manifest, key and signature, then a stride through the
        // parts (all 312 KB would take a while in debug builds; the parts are hashed as a
        // whole so any position is equivalent).
        let head_end = good.len() - 312_000;
        let positions = (0..head_end).chain((head_end..good.len()).step_by(997));
        let flipped = dir.path().join("flipped.bundle");
        for pos in positions {
            let mut b = good.clone();
            b[pos] ^= 0x01;
            std::fs::write(&flipped, &b).unwrap();
            let res = open(&flipped, &t).and_then(|v| v.check_parts(&mut |_| {}));
            assert!(res.is_err(), "flip at {pos} of {} accepted", good.len());
        }
    }

    #[test]
    fn truncated_and_extended_bundles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (key, out) = sample(dir.path(), 3);
        let good = std::fs::read(&out).unwrap();
        let t = trust(&key);
        let p = dir.path().join("cut.bundle");
        for len in [0, 5, 12, 40, good.len() / 2, good.len() - 1] {
            std::fs::write(&p, &good[..len]).unwrap();
            let e = open(&p, &t).unwrap_err();
            assert!(
                matches!(
                    e,
                    UpdateError::Truncated { .. } | UpdateError::BadSignature(_)
                ),
                "{len}: {e}"
            );
        }
        let mut longer = good.clone();
        longer.push(0);
        std::fs::write(&p, &longer).unwrap();
        assert!(matches!(open(&p, &t), Err(UpdateError::TrailingBytes(1))));
    }

    #[test]
    fn a_huge_manifest_length_is_refused_before_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.bundle");
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&p, &b).unwrap();
        let (_, key) = SigningKey::generate().unwrap();
        assert!(matches!(
            open(&p, &trust(&key)),
            Err(UpdateError::ManifestTooLarge(_))
        ));
    }

    #[test]
    fn trust_files_name_the_bad_line() {
        let e = Trust::parse("# keys\n\nzz\n", Path::new("keys")).unwrap_err();
        assert_eq!(e.to_string(), "trusted keys keys, line 3: not hex");
        assert!(Trust::parse("# nothing\n", Path::new("k")).is_err());
        assert!(Trust::parse("abcd\n", Path::new("k")).is_err());
    }

    #[test]
    fn manifests_without_a_root_or_with_unknown_parts_are_invalid() {
        let mut m = Manifest {
            format: 1,
            product: "ndr-probe".into(),
            version: "1".into(),
            generation: 1,
            compatible: vec!["x".into()],
            cmdline: String::new(),
            created: String::new(),
            parts: vec![],
        };
        assert!(m.validate().is_err());
        for n in PART_NAMES {
            m.parts.push(Part {
                name: n.into(),
                size: 1,
                sha256: "0".repeat(64),
            });
        }
        m.validate().unwrap();
        m.parts[0].name = "bootloader".into();
        assert!(m.validate().is_err());
    }
}
