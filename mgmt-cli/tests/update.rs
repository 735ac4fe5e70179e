//! Updates over the management plane and the health gate, on loopback: a probe whose
//! "disk" is files (an ESP directory, two slot files, a kernel command line, a release file;
//! the layout `firmware/update` documents), a bundle pushed in pieces with `probectl update
//! push`, installed into the inactive slot; refusals that leave everything untouched; and
//! `probed health` against the running daemon. `ci/image-test` does the same on the real
//! image under QEMU.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{probed_bin, Fleet};
use mgmt_proto::SigningKey;
use update::bundle::{self, NewBundle};

const SLOT: usize = 24 << 20;

/// Lays out a file-backed appliance under `dir` (running slot A, generation 1) and returns its
/// updater configuration file.
fn appliance(dir: &Path, key: &SigningKey) -> PathBuf {
    fs::create_dir_all(dir.join("esp/loader/entries")).unwrap();
    fs::write(
        dir.join("esp/loader/entries/probe-a.conf"),
        "title a\nsort-key ndr-probe\nversion 1\nlinux /probe/a/vmlinuz\noptions ro\n",
    )
    .unwrap();
    for s in ["a", "b"] {
        fs::write(dir.join(format!("slot-{s}")), vec![0u8; SLOT]).unwrap();
    }
    fs::write(dir.join("cmdline"), "root=x probe.slot=a ro\n").unwrap();
    fs::write(
        dir.join("release.json"),
        r#"{"product":"ndr-probe","version":"0.1.0","generation":1}"#,
    )
    .unwrap();
    fs::write(dir.join("trust"), bundle::trust_line(key)).unwrap();
    let d = dir.display();
    let cfg = dir.join("update.toml");
    fs::write(
        &cfg,
        format!(
            "hardware = \"qemu-virt\"\nesp = \"{d}/esp\"\ntrust = \"{d}/trust\"\n\
             state_dir = \"{d}/state\"\nrelease = \"{d}/release.json\"\ncmdline_file = \"{d}/cmdline\"\n\
             [slot_a]\ndevice = \"{d}/slot-a\"\nroot = \"PARTLABEL=root-a\"\n\
             [slot_b]\ndevice = \"{d}/slot-b\"\nroot = \"PARTLABEL=root-b\"\n"
        ),
    )
    .unwrap();
    cfg
}

fn make_bundle(dir: &Path, key: &SigningKey, generation: u64, root_len: usize) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let mut parts = Vec::new();
    for (name, len) in [("rootfs", root_len), ("kernel", 70_000), ("initrd", 90_000)] {
        let p = dir.join(format!("{name}-{generation}"));
        let bytes: Vec<u8> = (0..len).map(|i| (i * 13 + len) as u8).collect();
        fs::write(&p, bytes).unwrap();
        parts.push((name.to_string(), p));
    }
    let out = dir.join(format!("g{generation}.bundle"));
    bundle::create(
        &NewBundle {
            product: "ndr-probe".into(),
            version: format!("0.{generation}.0"),
            generation,
            compatible: vec!["qemu-virt".into()],
            cmdline: String::new(),
            created: String::new(),
            parts,
        },
        key,
        &out,
    )
    .unwrap();
    out
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "install.lock") {
                // The install lock (an empty file in the state directory) is not a slot.
                continue;
            } else {
                out.push((p.display().to_string(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_bundle_pushed_in_pieces_is_installed_and_bad_ones_touch_nothing() {
    let mut f = Fleet::new(1, true);
    let (_, key) = SigningKey::generate().unwrap();
    let hw = f.dir.path().join("appliance");
    let cfg = appliance(&hw, &key);
    f.probes[0].extra = vec!["--update-config".into(), cfg.display().to_string()];
    f.start_all();

    // 20 MiB of root: the push takes two pieces.
    let good = make_bundle(f.dir.path(), &key, 2, 20 << 20);
    let before = snapshot(&hw);
    // Refused without touching a slot: unknown key, bigger than the slot, flipped byte.
    let (_, stranger) = SigningKey::generate().unwrap();
    let foreign = make_bundle(&f.dir.path().join("x"), &stranger, 3, 1000);
    let big = make_bundle(f.dir.path(), &key, 4, SLOT + 1);
    let flipped = f.dir.path().join("flipped.bundle");
    let mut b = fs::read(&good).unwrap();
    let n = b.len();
    b[n - 100_000] ^= 1;
    fs::write(&flipped, b).unwrap();
    for (what, bundle) in [
        ("unknown key", &foreign),
        ("too big", &big),
        ("flipped", &flipped),
    ] {
        let o = f.probectl(&["-p", "p1", "update", "push", bundle.to_str().unwrap()]);
        assert_ne!(o.code, 0, "{what} accepted: {}", o.stdout);
        assert_eq!(snapshot(&hw), before, "{what} touched the appliance");
        eprintln!("{what}: {}", o.stderr.trim());
    }

    let o = f.ok(&[
        "-p",
        "p1",
        "--json",
        "update",
        "push",
        good.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_str(o.stdout.trim()).unwrap();
    assert_eq!(v["result"]["installed"]["target"], "b", "{v}");
    assert_eq!(v["result"]["installed"]["generation"], 2);
    assert!(hw.join("esp/loader/entries/probe-b+2.conf").exists());
    let root = fs::read(f.dir.path().join("rootfs-2")).unwrap();
    assert_eq!(
        &fs::read(hw.join("slot-b")).unwrap()[..root.len()],
        &root[..]
    );
    // The upload is gone once installed; the data partition keeps nothing of it.
    let incoming = f.probes[0].data.join("update-incoming");
    assert_eq!(fs::read_dir(&incoming).unwrap().count(), 0);

    let st = f.ok(&["-p", "p1", "--json", "update", "status"]).json();
    let body = &st["results"][0]["body"];
    assert_eq!(body["state"]["pending"]["generation"], 2, "{st}");
    assert_eq!(body["next_boot"]["slot"], "b");

    // Viewers see the status but cannot push.
    f.ok(&["pki", "operator", "--name", "eve", "--role", "viewer"]);
    f.ok(&["-p", "p1", "keys", "push"]);
    f.ok(&["-p", "p1", "--operator", "eve", "update", "status"]);
    let o = f.probectl(&[
        "-p",
        "p1",
        "--operator",
        "eve",
        "update",
        "push",
        good.to_str().unwrap(),
    ]);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("role") || o.stdout.contains("role"),
        "{} {}",
        o.stdout,
        o.stderr
    );
}

#[test]
fn health_checks_the_running_daemon() {
    let mut f = Fleet::new(1, true);
    let rules = f.dir.path().join("local.rules");
    fs::write(
        &rules,
        "alert icmp any any -> any any (msg:\"echo\"; itype:8; sid:1; rev:1;)\n",
    )
    .unwrap();
    let data = f.probes[0].data.clone();
    let health = |extra: &[&str]| {
        let out = Command::new(probed_bin())
            .args(["health", "-d", data.to_str().unwrap(), "--json"])
            .args(extra)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v)
    };
    fs::create_dir_all(&data).unwrap();
    let (code, v) = health(&[]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["checks"][0]["check"], "daemon");
    f.probes[0].extra = vec!["-S".into(), rules.display().to_string()];
    f.start_all();
    let (code, v) = health(&["--wait", "20s"]);
    assert_eq!(code, Some(0), "{v}");
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["daemon", "capture", "rules", "mgmt"]);
    f.probes[0].stop();
    // A stopped daemon removes its status file: not healthy.
    let (code, v) = health(&[]);
    assert_eq!(code, Some(1), "{v}");
}

#[test]
fn probed_update_verify_only_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let (_, key) = SigningKey::generate().unwrap();
    let good = make_bundle(dir.path(), &key, 5, 100_000);
    let trust = dir.path().join("release.pub");
    fs::write(&trust, bundle::trust_line(&key)).unwrap();
    let verify = |b: &Path, t: &Path| {
        Command::new(probed_bin())
            .args(["update", "--verify-only", "--no-progress", "--trust"])
            .arg(t)
            .arg(b)
            .output()
            .unwrap()
    };
    let o = verify(&good, &trust);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("verified: ndr-probe 0.5.0 generation 5"));
    let bad = dir.path().join("bad.bundle");
    let mut b = fs::read(&good).unwrap();
    let n = b.len();
    b[n - 1] ^= 0x80;
    fs::write(&bad, b).unwrap();
    let o = verify(&bad, &trust);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SHA-256 mismatch"));
    let junk = dir.path().join("junk.pub");
    fs::write(&junk, "not a key\n").unwrap();
    let o = verify(&good, &junk);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1"));
}
