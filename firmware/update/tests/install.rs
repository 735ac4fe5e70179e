//! The update protocol end to end on a probe made of files: an ESP directory, two slot
//! "devices", a state directory, a kernel command line and a release file. The boot loader is
//! played by `boot::attempt_boot` (systemd-boot's counting); `ci/image-test` runs the real one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use mgmt_proto::SigningKey;
use update::boot::{self, Assessment, EntrySpec, Slot};
use update::bundle::{self, NewBundle, Trust};
use update::install::{self, Config, Outcome, Step, STEPS};
use update::UpdateError;

const SLOT_SIZE: u64 = 1 << 20;

struct Probe {
    dir: tempfile::TempDir,
    config: Config,
    key: SigningKey,
}

impl Probe {
    /// A probe running slot A at generation 1, blessed.
    fn new() -> Probe {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (_, key) = SigningKey::generate().unwrap();
        fs::write(d.join("trust"), bundle::trust_line(&key)).unwrap();
        for s in ["a", "b"] {
            fs::write(
                d.join(format!("slot-{s}.img")),
                vec![0u8; SLOT_SIZE as usize],
            )
            .unwrap();
        }
        fs::create_dir_all(d.join("esp")).unwrap();
        let config = Config {
            product: "ndr-probe".into(),
            hardware: "qemu-x86_64".into(),
            esp: d.join("esp"),
            trust: d.join("trust"),
            state_dir: d.join("data/update"),
            release: d.join("release.json"),
            cmdline_file: d.join("cmdline"),
            boot_tries: 2,
            options: "ro rootfstype=squashfs panic=10".into(),
            slot_a: install::SlotConfig {
                device: d.join("slot-a.img"),
                root: "PARTLABEL=root-a".into(),
            },
            slot_b: install::SlotConfig {
                device: d.join("slot-b.img"),
                root: "PARTLABEL=root-b".into(),
            },
        };
        let p = Probe { dir, config, key };
        p.boot_into(Slot::A, 1);
        boot::write_entry(
            &p.config.esp,
            &EntrySpec {
                slot: Slot::A,
                version: "0.1.0",
                generation: 1,
                options: p.config.entry_options(Slot::A, ""),
            },
            0,
        )
        .unwrap();
        p
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What the booted root says: the slot on the command line, its release file.
    fn boot_into(&self, slot: Slot, generation: u64) {
        fs::write(
            &self.config.cmdline_file,
            format!("root=PARTLABEL=root-{slot} probe.slot={slot} ro\n"),
        )
        .unwrap();
        fs::write(
            &self.config.release,
            format!(r#"{{"product":"ndr-probe","version":"0.{generation}.0","generation":{generation}}}"#),
        )
        .unwrap();
    }

    /// Plays one power-on: the boot loader picks and counts an entry; returns the slot.
    fn power_on(&self) -> Slot {
        let e = boot::attempt_boot(&self.config.esp).unwrap().unwrap();
        self.boot_into(e.slot, e.generation);
        e.slot
    }

    fn bundle_with(
        &self,
        name: &str,
        generation: u64,
        compatible: &str,
        root_len: usize,
        key: &SigningKey,
    ) -> PathBuf {
        let d = self.path().join(format!("src-{name}"));
        fs::create_dir_all(&d).unwrap();
        let mut parts = Vec::new();
        for (part, len) in [("rootfs", root_len), ("kernel", 3000), ("initrd", 4000)] {
            let p = d.join(part);
            let bytes: Vec<u8> = (0..len)
                .map(|i| (i as u64 * 31 + generation) as u8)
                .collect();
            fs::write(&p, bytes).unwrap();
            parts.push((part.to_string(), p));
        }
        let out = self.path().join(format!("{name}.bundle"));
        bundle::create(
            &NewBundle {
                product: "ndr-probe".into(),
                version: format!("0.{generation}.0"),
                generation,
                compatible: vec![compatible.into()],
                cmdline: "console=ttyS0".into(),
                created: String::new(),
                parts,
            },
            key,
            &out,
        )
        .unwrap();
        out
    }

    fn bundle(&self, name: &str, generation: u64) -> PathBuf {
        self.bundle_with(name, generation, "qemu-x86_64", 200_000, &self.key)
    }

    fn trust(&self) -> Trust {
        self.config.trust().unwrap()
    }

    fn install(&self, bundle: &Path) -> Result<install::Plan, UpdateError> {
        let v = bundle::open(bundle, &self.trust())?;
        install::install(&self.config, &v, &mut |_| Ok(()), &mut |_| {})
    }

    /// Every byte the update may touch: the ESP tree, both slots, the state.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            let Ok(rd) = fs::read_dir(dir) else { return };
            for e in rd {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    let k = p.strip_prefix(root).unwrap().display().to_string();
                    out.insert(k, fs::read(&p).unwrap());
                }
            }
        }
        walk(self.path(), &self.path().join("esp"), &mut out);
        walk(self.path(), &self.path().join("data"), &mut out);
        for s in ["a", "b"] {
            let k = format!("slot-{s}.img");
            out.insert(k.clone(), fs::read(self.path().join(k)).unwrap());
        }
        out
    }
}

#[test]
fn an_update_boots_on_probation_and_is_marked_good() {
    let p = Probe::new();
    let b = p.bundle("g2", 2);
    let plan = p.install(&b).unwrap();
    assert_eq!((plan.running, plan.target), (Slot::A, Slot::B));
    let root = bundle::open(&b, &p.trust()).unwrap().manifest;
    let part = root.part("rootfs").unwrap();
    assert_eq!(
        install::hash_device(&p.config.slot_b.device, part.size).unwrap(),
        part.sha256
    );
    let entry = fs::read_to_string(p.config.esp.join("loader/entries/probe-b+2.conf")).unwrap();
    assert!(entry.contains("version 2\n"), "{entry}");
    assert!(
        entry.contains("options root=PARTLABEL=root-b probe.slot=b ro rootfstype=squashfs panic=10 console=ttyS0"),
        "{entry}"
    );
    assert!(p.config.esp.join("probe/b/vmlinuz").exists());
    // Reboot: B on probation; a second install is refused until it is marked good.
    assert_eq!(p.power_on(), Slot::B);
    let st = install::status(&p.config).unwrap();
    assert_eq!(
        st.running_assessment,
        Some(Assessment::Trying { left: 1, done: 1 })
    );
    assert!(st.state.pending.is_some());
    let e = p.install(&p.bundle("g3", 3)).unwrap_err();
    assert!(matches!(e, UpdateError::RunningOnProbation(Slot::B)), "{e}");
    assert!(install::mark_good(&p.config).unwrap());
    let st = install::status(&p.config).unwrap();
    assert_eq!(st.running_assessment, Some(Assessment::Good));
    assert_eq!(st.state.last_good_generation, 2);
    assert!(st.state.pending.is_none());
    assert_eq!(
        st.state.history.last().unwrap().outcome,
        Outcome::MarkedGood
    );
    // B keeps booting; the next update goes to A.
    assert_eq!(p.power_on(), Slot::B);
    assert_eq!(p.power_on(), Slot::B);
    let plan = p.install(&p.bundle("g3", 3)).unwrap();
    assert_eq!(plan.target, Slot::A);
    assert_eq!(p.power_on(), Slot::A);
}

#[test]
fn a_slot_that_never_gets_healthy_is_rolled_back_and_reported() {
    let p = Probe::new();
    p.install(&p.bundle("g2", 2)).unwrap();
    // Two boots into B that never pass the health check, then the boot loader gives up.
    assert_eq!(p.power_on(), Slot::B);
    assert_eq!(p.power_on(), Slot::B);
    assert_eq!(p.power_on(), Slot::A);
    let st = install::status(&p.config).unwrap();
    let rb = st.rolled_back.expect("rollback reported");
    assert_eq!(
        (rb.outcome, rb.slot, rb.generation),
        (Outcome::RolledBack, Slot::B, 2)
    );
    assert!(
        rb.detail.contains("2 boot attempts failed"),
        "{}",
        rb.detail
    );
    assert_eq!(st.next_boot.unwrap().slot, Slot::A);
    // Reported once; A stays good and a fixed generation 2 may be installed again.
    assert!(install::status(&p.config).unwrap().rolled_back.is_none());
    install::mark_good(&p.config).unwrap();
    p.install(&p.bundle("g2b", 2)).unwrap();
    assert_eq!(p.power_on(), Slot::B);
}

#[test]
fn bad_bundles_are_refused_without_touching_a_slot() {
    let p = Probe::new();
    // Give B real content so "untouched" means something.
    p.install(&p.bundle("g2", 2)).unwrap();
    let before = p.snapshot();
    let good = fs::read(p.bundle("g5", 5)).unwrap();
    let bad = p.path().join("bad.bundle");
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for pos in [0, 9, 20, good.len() / 3, good.len() - 150, good.len() - 1] {
        let mut b = good.clone();
        b[pos] ^= 0x40;
        cases.push((format!("byte {pos} flipped"), b));
    }
    cases.push(("truncated".into(), good[..good.len() - 10].to_vec()));
    let (_, stranger) = SigningKey::generate().unwrap();
    for (what, path) in [
        (
            "unknown key",
            p.bundle_with("k", 5, "qemu-x86_64", 200_000, &stranger),
        ),
        ("lower generation", p.bundle("g0", 0)),
        ("same generation as running", p.bundle("g1b", 1)),
        (
            "incompatible hardware",
            p.bundle_with("hw", 5, "dell-r650", 200_000, &p.key),
        ),
        (
            "larger than the slot",
            p.bundle_with("big", 5, "qemu-x86_64", SLOT_SIZE as usize + 1, &p.key),
        ),
    ] {
        cases.push((what.into(), fs::read(path).unwrap()));
    }
    for (what, bytes) in cases {
        fs::write(&bad, &bytes).unwrap();
        let err = p.install(&bad).expect_err(&what);
        eprintln!("{what}: {err}");
        assert_eq!(p.snapshot(), before, "{what} touched the probe");
    }
}

#[test]
fn the_floor_is_the_last_good_generation() {
    let p = Probe::new();
    p.install(&p.bundle("g3", 3)).unwrap();
    assert_eq!(p.power_on(), Slot::B);
    install::mark_good(&p.config).unwrap();
    // Someone boots A by hand (generation 1): generation 2 is still a downgrade.
    p.boot_into(Slot::A, 1);
    let e = p.install(&p.bundle("g2", 2)).unwrap_err();
    assert!(
        matches!(
            e,
            UpdateError::Downgrade {
                bundle: 2,
                floor: 3
            }
        ),
        "{e}"
    );
}

#[test]
fn a_power_cut_before_any_step_leaves_a_good_slot_booting() {
    for (i, stop) in STEPS.iter().enumerate() {
        let p = Probe::new();
        // A previous good B (generation 2) is being replaced by generation 3 from A.
        p.install(&p.bundle("g2", 2)).unwrap();
        assert_eq!(p.power_on(), Slot::B);
        install::mark_good(&p.config).unwrap();
        let b3 = p.bundle("g3", 3);
        let v = bundle::open(&b3, &p.trust()).unwrap();
        let e = install::install(
            &p.config,
            &v,
            &mut |s: Step| {
                if s == *stop {
                    Err(UpdateError::Interrupted(s))
                } else {
                    Ok(())
                }
            },
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(e, UpdateError::Interrupted(_)));
        // Power comes back: the boot loader must choose a slot that is completely written.
        let next = boot::select(&p.config.esp).unwrap().unwrap();
        assert_eq!(next.slot, Slot::B, "cut before step {i} ({stop:?})");
        assert_eq!(next.assessment, Assessment::Good);
        assert_eq!(p.power_on(), Slot::B);
        // And the install can simply be run again.
        let plan = p.install(&b3).unwrap();
        assert_eq!(plan.target, Slot::A);
        assert_eq!(p.power_on(), Slot::A);
        assert!(install::mark_good(&p.config).unwrap());
    }
}

#[test]
fn configuration_errors_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("update.toml");
    fs::write(&f, "hardware = 3\n").unwrap();
    let e = Config::load(&f).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("update configuration {}", f.display())),
        "{e}"
    );
    let p = Probe::new();
    fs::write(&p.config.cmdline_file, "ro quiet\n").unwrap();
    let e = install::status(&p.config).unwrap_err().to_string();
    assert!(e.contains("no probe.slot=a|b"), "{e}");
}

#[test]
fn an_interrupted_install_is_reported_as_such_not_as_a_rollback() {
    let p = Probe::new();
    let b = p.bundle("g2", 2);
    let v = bundle::open(&b, &p.trust()).unwrap();
    let mut seen_installing = false;
    let e = install::install(
        &p.config,
        &v,
        &mut |s: Step| {
            if s == Step::WriteRoot {
                // A status taken while the install runs neither records nor clears anything.
                let st = install::status(&p.config).unwrap();
                seen_installing = st.installing && st.state.pending.is_some();
                return Err(UpdateError::Interrupted(s));
            }
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, UpdateError::Interrupted(Step::WriteRoot)));
    assert!(seen_installing);
    // Power back: slot A boots; the status says the install did not finish.
    assert_eq!(p.power_on(), Slot::A);
    let st = install::status(&p.config).unwrap();
    assert!(!st.installing);
    assert!(st.rolled_back.is_none());
    let last = st.state.history.last().unwrap();
    assert_eq!((last.outcome, last.slot), (Outcome::Interrupted, Slot::B));
    assert!(st.state.pending.is_none());
}

#[test]
fn a_slot_on_its_last_attempt_is_not_good_and_blocks_updates() {
    let p = Probe::new();
    p.install(&p.bundle("g2", 2)).unwrap();
    assert_eq!(p.power_on(), Slot::B);
    assert_eq!(p.power_on(), Slot::B);
    // Running B with no attempts left (+0-2): still on probation.
    let st = install::status(&p.config).unwrap();
    assert_eq!(st.running_assessment, Some(Assessment::Bad { done: 2 }));
    assert_eq!(st.running_assessment.unwrap().left(), Some(0));
    let e = p.install(&p.bundle("g3", 3)).unwrap_err();
    assert!(matches!(e, UpdateError::RunningOnProbation(Slot::B)), "{e}");
    // Healthy after all: marking it good blesses it.
    assert!(install::mark_good(&p.config).unwrap());
    assert_eq!(p.power_on(), Slot::B);
}
