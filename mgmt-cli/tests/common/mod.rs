//! A fleet on loopback for the management tests: a PKI, enrolled probes, `probed run`
//! processes, and `probectl` invocations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)] // test code

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// `probectl`.
pub fn probectl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_probectl"))
}

/// `probed`, built beside `probectl` by `cargo test --workspace`.
pub fn probed_bin() -> PathBuf {
    let p = probectl_bin().with_file_name("probed");
    assert!(
        p.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (it builds probed too)",
        p.display()
    );
    p
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The result of one probectl run.
#[derive(Debug)]
pub struct Out {
    /// Exit code.
    pub code: i32,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Out {
    /// stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// A running probe.
pub struct Probe {
    /// Name.
    pub name: String,
    /// Management address.
    pub addr: String,
    /// Data directory.
    pub data: PathBuf,
    /// Capture directory (None in light mode).
    pub pcap_dir: Option<PathBuf>,
    /// The process.
    pub child: Option<Child>,
    /// Extra `probed run` arguments.
    pub extra: Vec<String>,
}

impl Probe {
    /// Starts (or restarts) the daemon and waits for its port.
    pub fn start(&mut self, pki: &Path) {
        assert!(self.child.is_none());
        let mut cmd = Command::new(probed_bin());
        cmd.arg("run")
            .arg("-d")
            .arg(&self.data)
            .arg("--mgmt")
            .arg(&self.addr)
            .arg("--mgmt-pki")
            .arg(pki.join("probes").join(&self.name))
            .args(["--poll", "100ms", "--workers", "1"]);
        match &self.pcap_dir {
            Some(d) => {
                cmd.arg("--pcap-dir").arg(d);
            }
            None => {
                cmd.arg("--no-capture");
            }
        }
        cmd.args(&self.extra);
        let log = std::fs::File::create(self.data.with_extension("log")).unwrap();
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&self.addr).is_err() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    panic!(
                        "probed {} exited ({st}): {}",
                        self.name,
                        std::fs::read_to_string(self.data.with_extension("log"))
                            .unwrap_or_default()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "probed {} did not start",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the daemon (SIGTERM, then waits).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Drops a capture file into the capture directory (written aside, then renamed in).
    pub fn feed(&self, pcap: &Path) {
        let dir = self.pcap_dir.as_ref().expect("a capture directory");
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let tmp = dir.join(format!(".{name}.part"));
        std::fs::copy(pcap, &tmp).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A PKI and a set of probes on loopback.
pub struct Fleet {
    /// Scratch directory.
    pub dir: tempfile::TempDir,
    /// PKI directory.
    pub pki: PathBuf,
    /// The probes.
    pub probes: Vec<Probe>,
}

impl Fleet {
    /// A PKI with `n` enrolled probes named p1..pN (not started). `capture` gives each a
    /// capture directory; otherwise they run in light mode.
    pub fn new(n: usize, capture: bool) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let pki = dir.path().join("pki");
        let mut f = Fleet {
            pki,
            probes: Vec::new(),
            dir,
        };
        f.ok(&["pki", "init", "--dir", f.pki.to_str().unwrap()]);
        for i in 1..=n {
            let name = format!("p{i}");
            let addr = format!("127.0.0.1:{}", free_port());
            let label = if i % 2 == 0 { "site=even" } else { "site=odd" };
            f.ok(&[
                "probe",
                "enroll",
                "--name",
                &name,
                "--address",
                &addr,
                "--label",
                label,
            ]);
            let pcap_dir = capture.then(|| {
                let d = f.dir.path().join(format!("{name}-pcaps"));
                std::fs::create_dir_all(&d).unwrap();
                d
            });
            f.probes.push(Probe {
                data: f.dir.path().join(format!("{name}-data")),
                name,
                addr,
                pcap_dir,
                child: None,
                extra: Vec::new(),
            });
        }
        f
    }

    /// Starts every probe.
    pub fn start_all(&mut self) {
        let pki = self.pki.clone();
        for p in &mut self.probes {
            p.start(&pki);
        }
    }

    /// Runs `probectl --pki PKI ARGS`.
    pub fn probectl(&self, args: &[&str]) -> Out {
        let out = Command::new(probectl_bin())
            .arg("--pki")
            .arg(&self.pki)
            .arg("--no-progress")
            .args(args)
            .output()
            .unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs probectl and asserts exit status 0.
    pub fn ok(&self, args: &[&str]) -> Out {
        let o = self.probectl(args);
        assert_eq!(o.code, 0, "probectl {args:?}:\n{}\n{}", o.stdout, o.stderr);
        o
    }

    /// The probe named `name`.
    pub fn probe(&mut self, name: &str) -> &mut Probe {
        self.probes.iter_mut().find(|p| p.name == name).unwrap()
    }

    /// The audit entries of probe `name` (fetched as admin).
    pub fn audit(&self, name: &str) -> Vec<Value> {
        let o = self.ok(&["-p", name, "audit", "ls", "--limit", "10000", "--json"]);
        o.json()["results"][0]["body"]["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The names of the filters on probe `name`.
    pub fn filters(&self, name: &str) -> Vec<String> {
        let o = self.ok(&["-p", name, "filter", "ls", "--json"]);
        o.json()["results"][0]["body"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The bundled example capture (HTTP 200s from 192.168.10.23 to 203.0.113.80).
pub fn example_pcap() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pcaps/example.pcap")
}
