//! The fleet PKI, kept in one directory on the operator's machine (no server is needed to
//! sign anything):
//!
//! | path | what |
//! |---|---|
//! | `ca.crt`, `ca.key` | the fleet CA (ECDSA P-256; the key mode 0600: keep it offline) |
//! | `ca.toml` | the CA's subject (to sign with it again) and the CRL number |
//! | `operators/NAME/` | an operator: `tls.crt`/`tls.key` (client certificate), `sign.pk8` (Ed25519 command key), `operator.toml` (key id, role, public key), `seq` |
//! | `probes/NAME/` | a probe's credentials, to copy onto the probe (see `mgmt_proto::layout`) |
//! | `inventory.toml` | the fleet: name, address, probe id, response key, labels |
//! | `crl.der`, `revoked.toml` | the revocation list and what it revokes |

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use mgmt_proto::layout::{self, OperatorsFile, ProbeIdentity};
use mgmt_proto::{OperatorKey, Role, SigningKey};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// `ca.toml`.
#[derive(Debug, Serialize, Deserialize)]
struct CaFile {
    common_name: String,
    crl_number: u64,
}

/// One probe of the inventory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InventoryProbe {
    /// Name (unique).
    pub name: String,
    /// `HOST:PORT` of its management server.
    pub address: String,
    /// Probe id.
    pub id: String,
    /// Its Ed25519 response key (hex).
    pub public_key: String,
    /// Labels for targeting (`-p role=edge`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `inventory.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inventory {
    /// The probes.
    #[serde(default, rename = "probe")]
    pub probes: Vec<InventoryProbe>,
}

/// `revoked.toml`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Revoked {
    #[serde(default, rename = "cert")]
    certs: Vec<RevokedCert>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RevokedCert {
    serial: String,
    subject: String,
    revoked_at: i64,
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn read_string(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn ca_dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "NDR probe fleet");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = ca_dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(365 * 20);
    p
}

fn serial() -> Result<(SerialNumber, String)> {
    let mut b = mgmt_proto::random_bytes(16).map_err(|e| anyhow!("{e}"))?;
    b[0] &= 0x7f;
    b[0] |= 0x01;
    Ok((SerialNumber::from_slice(&b), hex::encode(&b)))
}

/// The fleet PKI directory.
#[derive(Debug)]
pub struct Pki {
    /// Its root.
    pub dir: PathBuf,
}

/// The CA, loaded to sign.
struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Pki {
    /// An existing PKI directory.
    pub fn open(dir: &Path) -> Result<Pki> {
        if !dir.join("ca.crt").is_file() {
            bail!(
                "{}: not a fleet PKI directory (create one with `probectl pki init --dir {}`)",
                dir.display(),
                dir.display()
            );
        }
        Ok(Pki {
            dir: dir.to_owned(),
        })
    }

    /// Creates the CA and a first admin operator.
    pub fn init(dir: &Path, admin: &str, force: bool) -> Result<Pki> {
        if dir.join("ca.crt").exists() && !force {
            bail!(
                "{}: a PKI is already there (--force replaces it, invalidating every credential it issued)",
                dir.display()
            );
        }
        for sub in ["operators", "probes"] {
            fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        let id = hex::encode(mgmt_proto::random_bytes(4).map_err(|e| anyhow!("{e}"))?);
        let cn = format!("probe fleet CA {id}");
        let key = KeyPair::generate().context("generating the CA key")?;
        let cert = ca_params(&cn)
            .self_signed(&key)
            .context("signing the CA certificate")?;
        write(&dir.join("ca.crt"), cert.pem().as_bytes())?;
        write_private(&dir.join("ca.key"), key.serialize_pem().as_bytes())?;
        let ca = CaFile {
            common_name: cn,
            crl_number: 0,
        };
        write(&dir.join("ca.toml"), toml::to_string(&ca)?.as_bytes())?;
        write(&dir.join("inventory.toml"), b"")?;
        let pki = Pki {
            dir: dir.to_owned(),
        };
        pki.write_crl(&Revoked::default())?;
        pki.add_operator(admin, Role::Admin)?;
        Ok(pki)
    }

    fn ca(&self) -> Result<Ca> {
        let f: CaFile = toml::from_str(&read_string(&self.dir.join("ca.toml"))?)
            .with_context(|| format!("{}", self.dir.join("ca.toml").display()))?;
        let key = KeyPair::from_pem(&read_string(&self.dir.join("ca.key"))?)
            .with_context(|| format!("{}", self.dir.join("ca.key").display()))?;
        // The same subject and key: certificates and lists it signs chain to the CA
        // certificate written at `init`.
        let cert = ca_params(&f.common_name)
            .self_signed(&key)
            .context("loading the CA")?;
        Ok(Ca { cert, key })
    }

    fn ca_file(&self) -> Result<CaFile> {
        toml::from_str(&read_string(&self.dir.join("ca.toml"))?)
            .with_context(|| format!("{}", self.dir.join("ca.toml").display()))
    }

    /// Issues a certificate for `cn` (with `dns` as subject alternative name, if any).
    fn issue(
        &self,
        cn: &str,
        dns: Option<&str>,
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<(String, String, String)> {
        let ca = self.ca()?;
        let mut p = CertificateParams::new(dns.map(|d| vec![d.to_string()]).unwrap_or_default())
            .context("certificate parameters")?;
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        let (sn, sn_hex) = serial()?;
        p.serial_number = Some(sn);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![usage];
        p.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::hours(1);
        p.not_after = now + Duration::days(365 * 5);
        let key = KeyPair::generate().context("generating a key")?;
        let cert = p
            .signed_by(&key, &ca.cert, &ca.key)
            .context("signing a certificate")?;
        Ok((cert.pem(), key.serialize_pem(), sn_hex))
    }

    /// The directory of operator `name`.
    pub fn operator_dir(&self, name: &str) -> PathBuf {
        self.dir.join("operators").join(name)
    }

    /// Creates an operator: client certificate and Ed25519 command key.
    pub fn add_operator(&self, name: &str, role: Role) -> Result<OperatorKey> {
        check_name(name)?;
        let dir = self.operator_dir(name);
        if dir.join("operator.toml").exists() {
            bail!("operator `{name}` exists (rotate its key with `probectl pki rotate {name}`)");
        }
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let (cert, key, serial) = self.issue(name, None, ExtendedKeyUsagePurpose::ClientAuth)?;
        write(&dir.join("tls.crt"), cert.as_bytes())?;
        write_private(&dir.join("tls.key"), key.as_bytes())?;
        write(&dir.join("tls.serial"), serial.as_bytes())?;
        self.new_sign_key(name, role)
    }

    fn new_sign_key(&self, name: &str, role: Role) -> Result<OperatorKey> {
        let dir = self.operator_dir(name);
        let (doc, sk) = SigningKey::generate().map_err(|e| anyhow!("{e}"))?;
        write_private(&dir.join("sign.pk8"), &doc)?;
        let k = OperatorKey {
            key_id: sk.id().to_string(),
            name: name.to_string(),
            role,
            public_key: hex::encode(sk.public_key()),
            revoked: false,
        };
        write(&dir.join("operator.toml"), toml::to_string(&k)?.as_bytes())?;
        Ok(k)
    }

    /// Replaces an operator's command key; the old one is kept, revoked, in
    /// `retired.toml` so probes refuse it once the key list is pushed.
    pub fn rotate(&self, name: &str) -> Result<OperatorKey> {
        let old = self.operator(name)?;
        let dir = self.operator_dir(name);
        let mut retired: OperatorsFile = match fs::read_to_string(dir.join("retired.toml")) {
            Ok(s) => toml::from_str(&s).context("retired.toml")?,
            Err(_) => OperatorsFile::default(),
        };
        retired.operators.push(OperatorKey {
            revoked: true,
            ..old.clone()
        });
        write(
            &dir.join("retired.toml"),
            toml::to_string(&retired)?.as_bytes(),
        )?;
        self.new_sign_key(name, old.role)
    }

    /// Operator `name`'s key record.
    pub fn operator(&self, name: &str) -> Result<OperatorKey> {
        let p = self.operator_dir(name).join("operator.toml");
        toml::from_str(&read_string(&p).map_err(|_| {
            anyhow!(
                "no operator `{name}` in {} (create one with `probectl pki operator --name {name} --role ROLE`)",
                self.dir.display()
            )
        })?)
        .with_context(|| format!("{}", p.display()))
    }

    /// Every operator key, current and retired: what probes are told to trust (or refuse).
    pub fn operator_keys(&self) -> Result<Vec<OperatorKey>> {
        let mut v = Vec::new();
        let dir = self.dir.join("operators");
        let mut names: Vec<String> = fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("operator.toml").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        for n in names {
            v.push(self.operator(&n)?);
            if let Ok(s) = fs::read_to_string(self.operator_dir(&n).join("retired.toml")) {
                let r: OperatorsFile = toml::from_str(&s).context("retired.toml")?;
                v.extend(r.operators);
            }
        }
        Ok(v)
    }

    /// Revokes an operator: its certificate goes on the revocation list and its key is
    /// marked revoked. Probes learn both with `probectl keys push`.
    pub fn revoke_operator(&self, name: &str) -> Result<()> {
        let mut k = self.operator(name)?;
        let dir = self.operator_dir(name);
        let serial = read_string(&dir.join("tls.serial"))?;
        let mut revoked = self.revoked()?;
        if !revoked.certs.iter().any(|c| c.serial == serial) {
            revoked.certs.push(RevokedCert {
                serial,
                subject: format!("operator {name}"),
                revoked_at: OffsetDateTime::now_utc().unix_timestamp(),
            });
        }
        self.write_crl(&revoked)?;
        k.revoked = true;
        write(&dir.join("operator.toml"), toml::to_string(&k)?.as_bytes())
    }

    fn revoked(&self) -> Result<Revoked> {
        match fs::read_to_string(self.dir.join("revoked.toml")) {
            Ok(s) => toml::from_str(&s).context("revoked.toml"),
            Err(_) => Ok(Revoked::default()),
        }
    }

    fn write_crl(&self, revoked: &Revoked) -> Result<()> {
        let ca = self.ca()?;
        let mut f = self.ca_file()?;
        f.crl_number += 1;
        let now = OffsetDateTime::now_utc();
        let mut certs = Vec::new();
        for c in &revoked.certs {
            let b = hex::decode(&c.serial).context("revoked.toml: serial is not hex")?;
            certs.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&b),
                revocation_time: OffsetDateTime::from_unix_timestamp(c.revoked_at).unwrap_or(now),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            });
        }
        let crl = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update: now + Duration::days(3650),
            crl_number: SerialNumber::from(f.crl_number),
            issuing_distribution_point: None,
            revoked_certs: certs,
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&ca.cert, &ca.key)
        .context("signing the revocation list")?;
        write(&self.dir.join("crl.der"), crl.der().as_ref())?;
        write(
            &self.dir.join("revoked.toml"),
            toml::to_string(revoked)?.as_bytes(),
        )?;
        write(&self.dir.join("ca.toml"), toml::to_string(&f)?.as_bytes())
    }

    /// The revocation list (DER).
    pub fn crl(&self) -> Result<Vec<u8>> {
        fs::read(self.dir.join("crl.der"))
            .with_context(|| format!("cannot read {}", self.dir.join("crl.der").display()))
    }

    /// The inventory.
    pub fn inventory(&self) -> Result<Inventory> {
        let p = self.dir.join("inventory.toml");
        match fs::read_to_string(&p) {
            Ok(s) => toml::from_str(&s).with_context(|| format!("{}", p.display())),
            Err(_) => Ok(Inventory::default()),
        }
    }

    /// Writes the inventory.
    pub fn save_inventory(&self, inv: &Inventory) -> Result<()> {
        let p = self.dir.join("inventory.toml");
        let tmp = self.dir.join(".inventory.toml.tmp");
        write(&tmp, toml::to_string(inv)?.as_bytes())?;
        fs::rename(&tmp, &p).with_context(|| format!("cannot replace {}", p.display()))
    }

    /// Enrols a probe: its certificates and keys under `probes/NAME/` and an inventory
    /// entry.
    pub fn enroll(
        &self,
        name: &str,
        address: &str,
        labels: BTreeMap<String, String>,
        force: bool,
    ) -> Result<InventoryProbe> {
        check_name(name)?;
        let mut inv = self.inventory()?;
        if inv.probes.iter().any(|p| p.name == name) && !force {
            bail!("probe `{name}` is already enrolled (--force issues new credentials)");
        }
        let dir = self.dir.join("probes").join(name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let (doc, sk) = SigningKey::generate().map_err(|e| anyhow!("{e}"))?;
        let identity = ProbeIdentity {
            id: sk.id().to_string(),
            name: name.to_string(),
            address: address.to_string(),
        };
        let (cert, key, serial) = self.issue(
            name,
            Some(&identity.server_name()),
            ExtendedKeyUsagePurpose::ServerAuth,
        )?;
        write_private(&dir.join(layout::SIGN_KEY), &doc)?;
        write(&dir.join(layout::TLS_CERT), cert.as_bytes())?;
        write_private(&dir.join(layout::TLS_KEY), key.as_bytes())?;
        write(&dir.join("tls.serial"), serial.as_bytes())?;
        fs::copy(self.dir.join("ca.crt"), dir.join(layout::CA_CERT))
            .with_context(|| format!("cannot write {}", dir.join(layout::CA_CERT).display()))?;
        write(&dir.join(layout::CRL_FILE), &self.crl()?)?;
        let ops = OperatorsFile {
            operators: self.operator_keys()?,
        };
        write(
            &dir.join(layout::OPERATORS_FILE),
            toml::to_string(&ops)?.as_bytes(),
        )?;
        write(
            &dir.join(layout::PROBE_FILE),
            toml::to_string(&identity)?.as_bytes(),
        )?;
        let entry = InventoryProbe {
            name: name.to_string(),
            address: address.to_string(),
            id: identity.id,
            public_key: hex::encode(sk.public_key()),
            labels,
        };
        inv.probes.retain(|p| p.name != name);
        inv.probes.push(entry.clone());
        self.save_inventory(&inv)?;
        Ok(entry)
    }

    /// The next sequence number of operator `name`: above the last one used and at least the
    /// current time in microseconds, so it also grows across machines whose clocks agree.
    /// The file is locked while it is updated, so parallel probectl runs never share one.
    pub fn next_seq(&self, name: &str) -> Result<u64> {
        let p = self.operator_dir(name).join("seq");
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&p)
            .with_context(|| format!("cannot open {}", p.display()))?;
        f.lock()
            .with_context(|| format!("cannot lock {}", p.display()))?;
        let mut s = String::new();
        f.read_to_string(&mut s)
            .with_context(|| format!("cannot read {}", p.display()))?;
        let last: u64 = s.trim().parse().unwrap_or(0);
        let now = u64::try_from(mgmt_proto::now_ms()).unwrap_or(0) * 1000;
        let next = now.max(last + 1);
        f.rewind()?;
        f.set_len(0)?;
        f.write_all(next.to_string().as_bytes())?;
        f.sync_all()?;
        Ok(next)
    }
}

/// Names of operators and probes: they become directory names and certificate subjects.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 64
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!("name `{name}`: use 1 to 64 letters, digits, `-`, `_` or `.` (not first)");
    }
    if name == "all" {
        bail!("name `all` is reserved for targeting every probe");
    }
    Ok(())
}

/// Loads an operator's TLS client credentials and signing key.
pub fn operator_credentials(
    pki: &Pki,
    name: &str,
) -> Result<(
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
    SigningKey,
)> {
    use rustls::pki_types::pem::PemObject;
    let dir = pki.operator_dir(name);
    pki.operator(name)?;
    let chain = rustls::pki_types::CertificateDer::pem_file_iter(dir.join("tls.crt"))
        .and_then(|i| i.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("{}: {e}", dir.join("tls.crt").display()))?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("tls.key"))
        .map_err(|e| anyhow!("{}: {e}", dir.join("tls.key").display()))?;
    let mut doc = Vec::new();
    File::open(dir.join("sign.pk8"))
        .and_then(|mut f| f.read_to_end(&mut doc))
        .with_context(|| format!("cannot read {}", dir.join("sign.pk8").display()))?;
    let sk = SigningKey::from_pkcs8(&doc).map_err(|e| anyhow!("{e}"))?;
    Ok((chain, key, sk))
}
