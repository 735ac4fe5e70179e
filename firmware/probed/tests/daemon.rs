//! `probed run` as an operator starts it: with no configuration (the `virtual` profile and the
//! example capture), from a `-c` file with its `probe:` section, refusing hardware profiles
//! that do not fit before anything starts, and speaking systemd's readiness protocol.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pcaps/example.pcap")
}

fn probed(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_probed"))
        .current_dir(cwd)
        .args(args)
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap()
}

fn event_types(eve: &Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in std::fs::read_to_string(eve).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        *m.entry(v["event_type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    m
}

#[test]
fn with_no_configuration_it_runs_the_virtual_profile_on_the_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = probed(dir.path(), &["run"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("profile virtual"), "{err}");
    let ours = event_types(&dir.path().join("probed-data/eve.json"));
    // The same events `probed replay` writes for the example (plus the archive's bookkeeping,
    // which replay without -d does not write).
    let replayed = dir.path().join("replay.json");
    let r = probed(
        dir.path(),
        &[
            "replay",
            "--no-progress",
            "--set",
            "outputs.eve-log.types.http.base64=yes",
            "-o",
            replayed.to_str().unwrap(),
            example().to_str().unwrap(),
        ],
    );
    assert!(r.status.success());
    let theirs = event_types(&replayed);
    for (t, n) in &theirs {
        assert_eq!(ours.get(t), Some(n), "{t}: {ours:?} vs {theirs:?}");
    }
    assert!(ours["http"] > 0 && ours["flow"] > 0, "{ours:?}");
}

#[test]
fn a_config_file_sets_profile_capture_rules_and_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("rules")).unwrap();
    std::fs::write(
        d.join("rules/local.rules"),
        "alert http any any -> any any (msg:\"any HTTP request\"; http.method; content:\"GET\"; sid:1000001; rev:1;)\n",
    )
    .unwrap();
    std::fs::write(
        d.join("site.toml"),
        "name = \"site\"\ndescription = \"test\"\n[capture]\nmethod = \"pcap\"\n[[nic]]\nname = \"f\"\nfile = \"@example\"\n[cores]\nmanagement = [0]\nworkers = \"auto\"\n[memcaps]\nflows = 5000\n",
    )
    .unwrap();
    std::fs::write(
        d.join("probed.yaml"),
        format!(
            "%YAML 1.1\n---\nvars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/8,192.168.0.0/16,172.16.0.0/12]\"\ndefault-rule-path: rules\nrule-files:\n  - local.rules\nprobe:\n  data-dir: state\n  hw-profile: site.toml\n  capture: pcap:{}\n  output: out/eve.json\n",
            example().display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(d.join("out")).unwrap();
    // Run from elsewhere: paths in the file are relative to the file.
    let out = probed(
        Path::new("/"),
        &["run", "-c", d.join("probed.yaml").to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("profile site") && err.contains("1 rules"),
        "{err}"
    );
    assert!(d.join("state/state").exists(), "{err}");
    let types = event_types(&d.join("out/eve.json"));
    assert!(types.get("alert").copied().unwrap_or(0) > 0, "{types:?}");
    // A typo in the probe section is an error naming it.
    std::fs::write(d.join("bad.yaml"), "probe:\n  data-dri: x\n").unwrap();
    let out = probed(d, &["run", "-c", "bad.yaml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("data-dri"), "{err}");
}

#[test]
fn a_profile_that_does_not_fit_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = "name = \"p\"\n[capture]\nmethod = \"afpacket\"\n[[nic]]\nname = \"tap\"\niface = \"lo\"\n[cores]\nmanagement = [0]\nworkers = \"auto\"\n";
    let cases = [
        (
            base.replace("iface = \"lo\"", "iface = \"nosuch0\""),
            "nic[0].iface",
        ),
        (
            base.replace("workers = \"auto\"", "workers = [4095]"),
            "cores.workers",
        ),
        (
            format!("{base}[memcaps]\nreassembly = \"64T\"\n"),
            "memcaps.reassembly",
        ),
        (
            base.replace("afpacket", "dpdk")
                .replace("iface = \"lo\"", "vdev = \"net_null0\"")
                + "[memory]\nhugepages = 100000\n",
            // Without the dpdk feature the method itself is refused first; with it, the
            // hugepages are.
            if cfg!(feature = "dpdk") {
                "memory.hugepages"
            } else {
                "capture.method"
            },
        ),
    ];
    for (i, (profile, field)) in cases.iter().enumerate() {
        let p = d.join(format!("p{i}.toml"));
        std::fs::write(&p, profile).unwrap();
        let data = d.join(format!("data{i}"));
        let out = probed(
            d,
            &[
                "run",
                "-d",
                data.to_str().unwrap(),
                "-p",
                p.to_str().unwrap(),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{field}: {err}");
        assert!(
            err.contains("does not fit this machine") && err.contains(field),
            "{field}: {err}"
        );
        assert!(!data.join("state").exists(), "nothing started for {field}");
        assert!(
            !data.join("eve.json").exists(),
            "nothing started for {field}"
        );
        // hw-check says the same, with exit status 1.
        let out = probed(d, &["hw-check", "--json", "-p", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["fits"], false);
        assert!(v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["level"] == "fail" && f["field"] == *field));
    }
}

#[test]
fn systemd_hears_ready_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_probed"))
        .current_dir(dir.path())
        .args(["run", "--capture"])
        .arg(format!("pcap:{}", example().display()))
        .env("NOTIFY_SOCKET", &sock_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    while let Ok(n) = sock.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        got[0].starts_with("READY=1\nSTATUS=capture pcap"),
        "{got:?}"
    );
    assert_eq!(
        got.last().map(String::as_str),
        Some("STOPPING=1"),
        "{got:?}"
    );
}
