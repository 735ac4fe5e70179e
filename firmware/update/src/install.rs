//! Checking a bundle against this probe, installing it into the inactive slot, marking the
//! running slot good, and reporting where updates stand (including rollbacks).
//!
//! The probe's side is described by [`Config`] (`/etc/ndr-probe/update.toml` on the image):
//! the ESP mount, the two slot devices and how the kernel finds each as root, the hardware id,
//! the trusted keys, and a state directory on the data partition (which updates never touch)
//! where [`State`] records the pending install, the last good generation and a short history.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::boot::{self, Assessment, Entry, EntrySpec, Slot};
use crate::bundle::{hash_stream, Trust, Verified, CHUNK};
use crate::{io_err, Result, UpdateError};

/// Where the image puts the updater's configuration.
pub const DEFAULT_CONFIG: &str = "/etc/ndr-probe/update.toml";
/// History records kept in the state file (oldest dropped first).
pub const MAX_HISTORY: usize = 32;

/// One root slot's device and how the kernel names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// The block device (or, in tests, a file) the slot's root is written to.
    pub device: PathBuf,
    /// The kernel's `root=` value for it (e.g. `PARTUUID=…`).
    pub root: String,
}

/// The updater's view of this probe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Product name bundles must carry.
    #[serde(default = "default_product")]
    pub product: String,
    /// This probe's hardware id (bundles list the ids they are compatible with).
    pub hardware: String,
    /// Where the EFI system partition is mounted.
    pub esp: PathBuf,
    /// The trusted-keys file (see [`Trust::load`]).
    pub trust: PathBuf,
    /// The state directory (on the data partition).
    pub state_dir: PathBuf,
    /// The running root's release file (JSON [`Release`]).
    #[serde(default = "default_release")]
    pub release: PathBuf,
    /// Where the running slot is read from: a kernel command line with `probe.slot=a|b`.
    #[serde(default = "default_cmdline")]
    pub cmdline_file: PathBuf,
    /// Boot attempts a new slot gets before the boot loader gives up on it.
    #[serde(default = "default_tries")]
    pub boot_tries: u32,
    /// Kernel arguments every entry gets (the slot's `root=` and `probe.slot=` are added, and
    /// the bundle's own arguments after these).
    #[serde(default = "default_options")]
    pub options: String,
    /// Slot A.
    pub slot_a: SlotConfig,
    /// Slot B.
    pub slot_b: SlotConfig,
}

fn default_product() -> String {
    "ndr-probe".into()
}
fn default_release() -> PathBuf {
    "/etc/ndr-probe/release.json".into()
}
fn default_cmdline() -> PathBuf {
    "/proc/cmdline".into()
}
fn default_tries() -> u32 {
    2
}
fn default_options() -> String {
    "ro rootfstype=squashfs panic=10".into()
}

/// What the running root says about itself (written by the image build).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// Product.
    pub product: String,
    /// Version.
    pub version: String,
    /// Generation.
    pub generation: u64,
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        let c: Config = toml::from_str(&text).map_err(|e| UpdateError::Config {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
        if c.boot_tries == 0 || c.boot_tries > 9 {
            return Err(UpdateError::Config {
                path: path.to_path_buf(),
                msg: format!("boot_tries {} (1 to 9)", c.boot_tries),
            });
        }
        Ok(c)
    }

    /// A slot's configuration.
    pub fn slot(&self, s: Slot) -> &SlotConfig {
        match s {
            Slot::A => &self.slot_a,
            Slot::B => &self.slot_b,
        }
    }

    /// The running slot, from `probe.slot=` on the kernel command line.
    pub fn running(&self) -> Result<Slot> {
        let text = fs::read_to_string(&self.cmdline_file).map_err(io_err(&self.cmdline_file))?;
        text.split_whitespace()
            .find_map(|a| a.strip_prefix("probe.slot=").and_then(Slot::parse))
            .ok_or_else(|| UpdateError::Config {
                path: self.cmdline_file.clone(),
                msg: "no probe.slot=a|b on the kernel command line".into(),
            })
    }

    /// The running root's release.
    pub fn running_release(&self) -> Result<Release> {
        let text = fs::read(&self.release).map_err(io_err(&self.release))?;
        serde_json::from_slice(&text).map_err(|e| UpdateError::Config {
            path: self.release.clone(),
            msg: e.to_string(),
        })
    }

    /// The trusted keys.
    pub fn trust(&self) -> Result<Trust> {
        Trust::load(&self.trust)
    }

    fn state_file(&self) -> PathBuf {
        self.state_dir.join("state.json")
    }

    /// The kernel command line of an entry for `slot`.
    pub fn entry_options(&self, slot: Slot, extra: &str) -> String {
        let mut o = format!(
            "root={} probe.slot={} {}",
            self.slot(slot).root,
            slot,
            self.options
        );
        if !extra.trim().is_empty() {
            o.push(' ');
            o.push_str(extra.trim());
        }
        o
    }
}

/// An install written to a slot that has not yet proven itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The slot.
    pub slot: Slot,
    /// Its version.
    pub version: String,
    /// Its generation.
    pub generation: u64,
    /// When the install started (Unix seconds).
    pub since: u64,
}

/// What happened, for the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Written to the slot, boot entry created with a counter.
    Installed,
    /// The slot passed its health check and was blessed.
    MarkedGood,
    /// The slot ran out of boot attempts; the previous slot runs.
    RolledBack,
    /// The install stopped with an error after it had started writing.
    Failed,
    /// An install was cut short (power cut, crash): its slot holds no bootable release.
    Interrupted,
}

/// One history record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Unix seconds.
    pub at: u64,
    /// What happened.
    pub outcome: Outcome,
    /// The slot.
    pub slot: Slot,
    /// The generation.
    pub generation: u64,
    /// The version.
    pub version: String,
    /// Details (an error, the attempts made).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The updater's persistent state (on the data partition).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// An install that has not been marked good or rolled back.
    pub pending: Option<Pending>,
    /// The highest generation ever marked good here; lower ones are refused.
    pub last_good_generation: u64,
    /// Recent outcomes, oldest first.
    pub history: Vec<Record>,
}

impl State {
    fn load(config: &Config) -> Result<State> {
        let path = config.state_file();
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| UpdateError::Config {
                path,
                msg: format!("update state: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io_err(path)(e)),
        }
    }

    fn save(&self, config: &Config) -> Result<()> {
        fs::create_dir_all(&config.state_dir).map_err(io_err(&config.state_dir))?;
        let path = config.state_file();
        let tmp = path.with_extension("tmp");
        let body = serde_json::to_vec_pretty(self).map_err(|e| UpdateError::Config {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        write_synced(&tmp, &body)?;
        rename_durable(&tmp, &path)
    }

    fn record(
        &mut self,
        outcome: Outcome,
        slot: Slot,
        generation: u64,
        version: &str,
        detail: String,
    ) {
        self.history.push(Record {
            at: now(),
            outcome,
            slot,
            generation,
            version: version.to_string(),
            detail,
        });
        if self.history.len() > MAX_HISTORY {
            let drop = self.history.len() - MAX_HISTORY;
            self.history.drain(..drop);
        }
    }
}

/// The lock an install holds for its whole duration (in the state directory). `status`
/// takes it shared, so that it never mistakes an install in progress (pending recorded, the
/// target's entry removed) for an interrupted one, and two installs never run at once.
fn lock(config: &Config, exclusive: bool) -> Result<Option<File>> {
    fs::create_dir_all(&config.state_dir).map_err(io_err(&config.state_dir))?;
    let path = config.state_dir.join("install.lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let op = if exclusive {
        rustix::fs::FlockOperation::NonBlockingLockExclusive
    } else {
        rustix::fs::FlockOperation::NonBlockingLockShared
    };
    match rustix::fs::flock(&f, op) {
        Ok(()) => Ok(Some(f)),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(UpdateError::Io {
            path,
            source: e.into(),
        }),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The steps of an install, in order. A test hook may stop before any of them to play a power
/// cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Record the pending install in the state file.
    RecordPending,
    /// Remove the target slot's boot entry.
    RemoveEntry,
    /// Stream the root into the target slot.
    WriteRoot,
    /// Read the slot back and hash it.
    VerifyRoot,
    /// Write the kernel to the ESP.
    WriteKernel,
    /// Write the initrd to the ESP.
    WriteInitrd,
    /// Create the boot entry with its counter.
    WriteEntry,
}

/// Every step, in order.
pub const STEPS: [Step; 7] = [
    Step::RecordPending,
    Step::RemoveEntry,
    Step::WriteRoot,
    Step::VerifyRoot,
    Step::WriteKernel,
    Step::WriteInitrd,
    Step::WriteEntry,
];

/// What [`check`] found: where the bundle would go.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The running slot.
    pub running: Slot,
    /// The slot it goes to.
    pub target: Slot,
    /// The running release.
    pub release: Release,
    /// The bundle's version.
    pub version: String,
    /// The bundle's generation.
    pub generation: u64,
    /// The signer's key id.
    pub signer: String,
}

fn device_size(path: &Path) -> Result<u64> {
    let mut f = File::open(path).map_err(io_err(path))?;
    f.seek(SeekFrom::End(0)).map_err(io_err(path))
}

fn slot_dir(config: &Config, slot: Slot) -> PathBuf {
    config.esp.join("probe").join(slot.name())
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Checks that `bundle` may be installed here, and hashes all its parts. Writes nothing.
pub fn check(config: &Config, bundle: &Verified, progress: &mut dyn FnMut(u64)) -> Result<Plan> {
    let m = &bundle.manifest;
    let running = config.running()?;
    let target = running.other();
    let release = config.running_release()?;
    let state = State::load(config)?;
    if m.product != config.product {
        return Err(UpdateError::WrongProduct {
            bundle: m.product.clone(),
            probe: config.product.clone(),
        });
    }
    if !m.compatible.contains(&config.hardware) {
        return Err(UpdateError::Incompatible {
            compatible: m.compatible.clone(),
            hardware: config.hardware.clone(),
        });
    }
    let floor = release.generation.max(state.last_good_generation);
    if m.generation < floor {
        return Err(UpdateError::Downgrade {
            bundle: m.generation,
            floor,
        });
    }
    if m.generation == release.generation {
        return Err(UpdateError::AlreadyRunning(m.generation));
    }
    let on_probation = boot::entries(&config.esp)?
        .iter()
        .any(|e| e.slot == running && e.assessment.counting());
    if on_probation {
        return Err(UpdateError::RunningOnProbation(running));
    }
    let dev = &config.slot(target).device;
    let room = device_size(dev)?;
    let root = m
        .part("rootfs")
        .ok_or_else(|| UpdateError::Manifest("no rootfs part".into()))?;
    if root.size > room {
        return Err(UpdateError::TooLarge {
            part: root.name.clone(),
            size: root.size,
            target: format!("slot {target} ({})", dev.display()),
            room,
        });
    }
    // Kernel and initrd replace the target's files on the ESP: the room is what is free plus
    // what they replace.
    let dir = slot_dir(config, target);
    let st = rustix::fs::statvfs(&config.esp).map_err(|e| UpdateError::Io {
        path: config.esp.clone(),
        source: e.into(),
    })?;
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    let old = file_len(&dir.join("vmlinuz")) + file_len(&dir.join("initrd.img"));
    let boot_parts: u64 = m
        .parts
        .iter()
        .filter(|p| p.name != "rootfs")
        .map(|p| p.size)
        .sum();
    // Each file is written beside the old one before the rename, so the larger of the two
    // must fit on top of what is free; keep a 1 MiB margin for FAT's metadata.
    let room = (free + old).saturating_sub(1 << 20);
    if boot_parts > room {
        return Err(UpdateError::TooLarge {
            part: "kernel+initrd".into(),
            size: boot_parts,
            target: format!("the ESP ({})", config.esp.display()),
            room,
        });
    }
    bundle.check_parts(progress)?;
    Ok(Plan {
        running,
        target,
        release,
        version: m.version.clone(),
        generation: m.generation,
        signer: bundle.signer.clone(),
    })
}

/// Installs a checked bundle into the inactive slot. `hook` is called before each step (tests
/// stop there to play a power cut); `progress` gets byte counts (the hashing pass, then the
/// writes).
pub fn install(
    config: &Config,
    bundle: &Verified,
    hook: &mut dyn FnMut(Step) -> Result<()>,
    progress: &mut dyn FnMut(u64),
) -> Result<Plan> {
    let Some(_lock) = lock(config, true)? else {
        return Err(UpdateError::Busy);
    };
    let plan = check(config, bundle, progress)?;
    let mut state = State::load(config)?;
    match write_slot(config, bundle, &plan, &mut state, hook, progress) {
        Ok(()) => Ok(plan),
        Err(e) => {
            if !matches!(e, UpdateError::Interrupted(_)) {
                state.record(
                    Outcome::Failed,
                    plan.target,
                    plan.generation,
                    &plan.version,
                    e.to_string(),
                );
                state.pending = None;
                // The error that stopped the install matters more than one saving the state.
                let _ = state.save(config);
            }
            Err(e)
        }
    }
}

fn write_slot(
    config: &Config,
    bundle: &Verified,
    plan: &Plan,
    state: &mut State,
    hook: &mut dyn FnMut(Step) -> Result<()>,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let t = plan.target;
    let m = &bundle.manifest;
    hook(Step::RecordPending)?;
    state.pending = Some(Pending {
        slot: t,
        version: plan.version.clone(),
        generation: plan.generation,
        since: now(),
    });
    state.save(config)?;

    hook(Step::RemoveEntry)?;
    boot::remove_entries(&config.esp, t)?;

    hook(Step::WriteRoot)?;
    let dev_path = &config.slot(t).device;
    let (mut src, part) = bundle.reader("rootfs")?;
    let mut dev = OpenOptions::new()
        .write(true)
        .open(dev_path)
        .map_err(io_err(dev_path))?;
    let mut buf = vec![0u8; CHUNK];
    let got = hash_stream(&mut src, part.size, &mut buf, &mut |chunk| {
        progress(chunk.len() as u64);
        dev.write_all(chunk)
    })
    .map_err(io_err(dev_path))?;
    if got != part.sha256 {
        return Err(UpdateError::HashMismatch {
            part: part.name.clone(),
            context: "while streaming into the slot: the bundle changed after it was checked",
        });
    }
    dev.sync_all().map_err(io_err(dev_path))?;
    drop(dev);

    hook(Step::VerifyRoot)?;
    let mut back = File::open(dev_path).map_err(io_err(dev_path))?;
    let got =
        hash_stream(&mut back, part.size, &mut buf, &mut |_| Ok(())).map_err(io_err(dev_path))?;
    if got != part.sha256 {
        return Err(UpdateError::HashMismatch {
            part: part.name.clone(),
            context: "reading the slot back",
        });
    }

    let dir = slot_dir(config, t);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    for (step, name, file) in [
        (Step::WriteKernel, "kernel", "vmlinuz"),
        (Step::WriteInitrd, "initrd", "initrd.img"),
    ] {
        hook(step)?;
        let (mut src, part) = bundle.reader(name)?;
        let dst = dir.join(file);
        let tmp = dir.join(format!("{file}.tmp"));
        let mut out = File::create(&tmp).map_err(io_err(&tmp))?;
        let got = hash_stream(&mut src, part.size, &mut buf, &mut |chunk| {
            progress(chunk.len() as u64);
            out.write_all(chunk)
        })
        .map_err(io_err(&tmp))?;
        if got != part.sha256 {
            return Err(UpdateError::HashMismatch {
                part: part.name.clone(),
                context: "while copying to the ESP: the bundle changed after it was checked",
            });
        }
        out.sync_all().map_err(io_err(&tmp))?;
        drop(out);
        rename_durable(&tmp, &dst)?;
    }

    hook(Step::WriteEntry)?;
    let spec = EntrySpec {
        slot: t,
        version: &m.version,
        generation: m.generation,
        options: config.entry_options(t, &m.cmdline),
    };
    boot::write_entry(&config.esp, &spec, config.boot_tries)?;
    state.record(
        Outcome::Installed,
        t,
        m.generation,
        &m.version,
        format!(
            "signed by {}; {} boot attempts",
            bundle.signer, config.boot_tries
        ),
    );
    state.save(config)
}

/// Where updates stand on this probe.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// An install is running now.
    pub installing: bool,
    /// The running slot.
    pub running: Slot,
    /// The running release.
    pub release: Release,
    /// The running slot's boot counting state (`None`: no entry, e.g. booted by hand).
    pub running_assessment: Option<Assessment>,
    /// The entry the next boot takes.
    pub next_boot: Option<Entry>,
    /// All our entries in boot order.
    pub entries: Vec<Entry>,
    /// The persistent state.
    pub state: State,
    /// A rollback detected by this call (also recorded in the history).
    pub rolled_back: Option<Record>,
}

/// Reads where updates stand and records a rollback if one happened: a pending install in the
/// other slot whose entry ran out of boot attempts.
pub fn status(config: &Config) -> Result<Status> {
    let running = config.running()?;
    let release = config.running_release()?;
    let mut state = State::load(config)?;
    let entries = boot::entries(&config.esp)?;
    let mut rolled_back = None;
    let lock = lock(config, false)?;
    let installing = lock.is_none();
    if let (Some(p), false) = (state.pending.clone(), installing) {
        let entry = entries.iter().find(|e| e.slot == p.slot);
        let outcome = match entry.map(|e| e.assessment) {
            Some(Assessment::Bad { done }) => Some((
                Outcome::RolledBack,
                format!(
                    "{done} boot attempts failed; running slot {running} (generation {})",
                    release.generation
                ),
            )),
            None => Some((
                Outcome::Interrupted,
                format!(
                    "the install did not finish (power cut or crash): slot {} holds no \
                     bootable release; install again",
                    p.slot
                ),
            )),
            _ => None,
        };
        if let (Some((outcome, detail)), true) = (outcome, p.slot != running) {
            state.record(outcome, p.slot, p.generation, &p.version, detail);
            state.pending = None;
            state.save(config)?;
            if outcome == Outcome::RolledBack {
                rolled_back = state.history.last().cloned();
            }
        }
    }
    drop(lock);
    Ok(Status {
        installing,
        running,
        running_assessment: entries
            .iter()
            .find(|e| e.slot == running)
            .map(|e| e.assessment),
        next_boot: entries.first().cloned(),
        entries,
        release,
        state,
        rolled_back,
    })
}

/// Marks the running slot good: removes its boot counter and records its generation as the
/// new floor. Call only after the health check passed. Returns whether the slot was on
/// probation.
pub fn mark_good(config: &Config) -> Result<bool> {
    let running = config.running()?;
    let release = config.running_release()?;
    let mut state = State::load(config)?;
    let blessed = boot::bless(&config.esp, running)?;
    let was_pending = state.pending.as_ref().is_some_and(|p| p.slot == running);
    if was_pending {
        state.pending = None;
    }
    if blessed || was_pending || release.generation > state.last_good_generation {
        state.last_good_generation = state.last_good_generation.max(release.generation);
        if blessed || was_pending {
            state.record(
                Outcome::MarkedGood,
                running,
                release.generation,
                &release.version,
                String::new(),
            );
        }
        state.save(config)?;
    }
    Ok(blessed)
}

/// Writes a file and syncs it to disk.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Renames `from` to `to` durably, also on FAT (the ESP): Linux's vfat writes a renamed
/// file's size and first cluster into its new directory entry only when the file's inode is
/// written back, so syncing the directory alone can leave an entry of size 0 after a power
/// cut (`ci/image-test` found exactly that). The file is synced after the rename, then the
/// directory.
pub(crate) fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(io_err(to))?;
    File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(io_err(to))?;
    if let Some(dir) = to.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Syncs a directory (so a rename in it is durable).
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// Reads `len` bytes of a slot device and returns their SHA-256 (tests, diagnostics).
pub fn hash_device(path: &Path, len: u64) -> Result<String> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut buf = vec![0u8; CHUNK];
    hash_stream(&mut (&mut f as &mut dyn Read), len, &mut buf, &mut |_| {
        Ok(())
    })
    .map_err(io_err(path))
}
