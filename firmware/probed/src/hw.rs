//! The hardware profile in the daemon: `probed hw-check`, and the plan `probed run` follows
//! (the profile with the command line's capture override, checked against this machine
//! before capture starts, resolved into worker cores, memcap settings and a capture source).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use hw_profiles::{check, CoreList, Finding, Level, Machine, Method, Nic, Profile, Rss};

use crate::cli::{HwCheckArgs, RunArgs};

/// The example capture `probed run` reads with no configuration (the README's example).
pub(crate) const EXAMPLE_PCAP: &[u8] = include_bytes!("../../../testdata/pcaps/example.pcap");

/// Whether this build has DPDK.
pub(crate) const DPDK_BUILT: bool = cfg!(feature = "dpdk");

/// What `probed run` captures from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// AF_PACKET on these interfaces.
    AfPacket(Vec<String>),
    /// DPDK ports.
    Dpdk {
        /// EAL arguments, program name first.
        eal: Vec<String>,
        /// RX descriptors per queue.
        rx_descriptors: u16,
        /// Packet buffers per port.
        mbufs: u32,
    },
    /// These capture files, once.
    Pcap(Vec<PathBuf>),
    /// Files dropped into a directory.
    PcapDir(PathBuf),
    /// Nothing (management, hunting and the archive only).
    Nothing,
}

/// The profile applied to this machine.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The profile's name.
    pub(crate) profile: String,
    /// The capture source.
    pub(crate) source: Source,
    /// Worker `w` runs on `pins[w % pins.len()]`.
    pub(crate) pins: Vec<usize>,
    /// Settings from the profile (memcap shares), applied before the configuration file.
    pub(crate) settings: Vec<(String, String)>,
    /// Workers the profile gives (the command line may ask for another number).
    pub(crate) workers: usize,
    /// Warnings to log.
    pub(crate) warnings: Vec<Finding>,
}

pub(crate) fn run_hw_check(args: HwCheckArgs) -> ExitCode {
    let Some(name) = args.profile else {
        if args.json {
            let list: Vec<serde_json::Value> = hw_profiles::BUILTIN
                .iter()
                .filter_map(|(n, t)| Profile::parse(n, t).ok())
                .map(|p| serde_json::json!({"name": p.name, "description": p.description}))
                .collect();
            println!("{}", serde_json::Value::Array(list));
        } else {
            println!("Shipped hardware profiles (probed hw-check -p NAME checks one):");
            for (n, t) in hw_profiles::BUILTIN {
                let d = Profile::parse(n, t)
                    .map(|p| p.description)
                    .unwrap_or_default();
                println!("  {n:<18} {d}");
            }
        }
        return ExitCode::SUCCESS;
    };
    let profile = match Profile::load(&name) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("probed hw-check: {e}");
            return ExitCode::from(2);
        }
    };
    // --setup: reserve hugepages and bind NICs first; its steps are reported with the check.
    let setup = if args.setup {
        hw_profiles::setup::setup(&profile, Path::new("/"))
    } else {
        Vec::new()
    };
    let findings = check(&profile, &Machine::local(DPDK_BUILT));
    let fits = !check::refused(&findings) && !check::refused(&setup);
    if args.json {
        println!(
            "{}",
            serde_json::json!({"profile": profile.name, "fits": fits, "setup": setup, "findings": findings})
        );
    } else {
        println!("profile {} ({})", profile.name, profile.description);
        for f in &setup {
            let level = match f.level {
                Level::Ok => "done",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            println!("  setup {level:<5} {:<16} {}", f.field, f.message);
        }
        for f in &findings {
            let level = match f.level {
                Level::Ok => "ok",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            println!("  {level:<5} {:<22} {}", f.field, f.message);
        }
        println!(
            "{}",
            if fits {
                "this machine can run it"
            } else {
                "this machine cannot run it: fix the FAIL lines"
            }
        );
    }
    if fits {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Loads the profile, lets the command line's capture override its NICs, checks it against
/// this machine and resolves it. Fails, naming the fields, when the machine cannot run it.
pub(crate) fn plan(args: &RunArgs, data_dir: &Path) -> Result<Plan> {
    let name = args.profile.as_deref().unwrap_or("virtual");
    let mut profile = Profile::load(name).map_err(|e| anyhow!("hardware profile: {e}"))?;
    let nic = |name: String| Nic {
        name,
        driver: None,
        pci: None,
        vdev: None,
        iface: None,
        file: None,
        rx_queues: 1,
        rx_descriptors: 1024,
        rss: Rss::Symmetric,
        numa_node: None,
    };
    let mut dpdk_override = None;
    if let Some(spec) = &args.capture {
        if let Some(list) = spec.strip_prefix("afpacket:") {
            profile.capture.method = Method::Afpacket;
            profile.nics = split(list)
                .map(|i| Nic {
                    iface: Some(i.to_owned()),
                    ..nic(i.to_owned())
                })
                .collect();
        } else if let Some(list) = spec.strip_prefix("pcap:") {
            profile.capture.method = Method::Pcap;
            profile.nics = split(list)
                .map(|f| Nic {
                    file: Some(f.to_owned()),
                    ..nic(f.to_owned())
                })
                .collect();
        } else if let Some(eal) = spec.strip_prefix("dpdk:") {
            let words = shell_words(eal).with_context(|| format!("--capture {spec}"))?;
            profile.capture.method = Method::Dpdk;
            profile.capture.eal.clear();
            profile.nics = eal_devices(&words)
                .into_iter()
                .enumerate()
                .map(|(i, (pci, dev))| Nic {
                    pci: pci.then(|| dev.clone()),
                    vdev: (!pci).then(|| dev.clone()),
                    rx_queues: u16::try_from(args.engine.workers.unwrap_or(1)).unwrap_or(1),
                    ..nic(format!("port{i}"))
                })
                .collect();
            profile.memory.hugepages = u64::from(!words.iter().any(|w| w == "--no-huge"));
            if args.engine.workers.is_none() {
                profile.cores.workers = CoreList::Auto(hw_profiles::AutoWord::Auto);
            }
            dpdk_override = Some(words);
        } else {
            bail!("--capture {spec}: expected afpacket:IFACE[,IFACE], dpdk:\"EAL ARGS\" or pcap:FILE[,FILE]");
        }
        if profile.nics.is_empty() {
            bail!("--capture {spec}: names no interface, device or file");
        }
    } else if args.pcap_dir.is_some() || args.no_capture {
        // The NICs are not read: only cores and memcaps apply.
        profile.capture.method = Method::Pcap;
        profile.nics.clear();
    }
    // `--workers N` fewer than the profile's cores: the first N are used.
    if let (Some(n), CoreList::List(v)) = (args.engine.workers, &mut profile.cores.workers) {
        v.truncate(n.max(1));
    }
    let machine = Machine::local(DPDK_BUILT);
    let mut findings = check(&profile, &machine);
    if dpdk_override.is_some() {
        // `--capture dpdk:` ports get one queue per worker by construction (`--workers`,
        // which may exceed the profile's cores): the profile's queue check does not apply.
        findings.retain(|f| !f.field.ends_with(".rx-queues"));
    }
    let failures: Vec<String> = findings
        .iter()
        .filter(|f| f.level == Level::Fail)
        .map(|f| format!("  {}: {}", f.field, f.message))
        .collect();
    if !failures.is_empty() {
        bail!(
            "hardware profile `{}` does not fit this machine (nothing was started):\n{}",
            profile.name,
            failures.join("\n")
        );
    }
    let applied =
        hw_profiles::apply(&profile, &machine).map_err(|e| anyhow!("cores.workers: {e}"))?;
    let example = || -> Result<PathBuf> {
        let p = data_dir.join("example.pcap");
        std::fs::write(&p, EXAMPLE_PCAP).with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    };
    let files = |nics: &[Nic]| -> Result<Vec<PathBuf>> {
        nics.iter()
            .filter_map(|n| n.file.as_deref())
            .map(|f| {
                if f == hw_profiles::EXAMPLE_CAPTURE {
                    example()
                } else {
                    Ok(PathBuf::from(f))
                }
            })
            .collect()
    };
    let source = match (&args.pcap_dir, args.no_capture, profile.capture.method) {
        (Some(d), _, _) => Source::PcapDir(d.clone()),
        (None, true, _) => Source::Nothing,
        (None, false, Method::Pcap) => Source::Pcap(files(&profile.nics)?),
        (None, false, Method::Afpacket) => Source::AfPacket(
            profile
                .nics
                .iter()
                .filter_map(|n| n.iface.clone())
                .collect(),
        ),
        (None, false, Method::Dpdk) => Source::Dpdk {
            rx_descriptors: profile
                .nics
                .iter()
                .map(|n| n.rx_descriptors)
                .max()
                .unwrap_or(1024),
            mbufs: profile.memory.mbufs,
            eal: match dpdk_override {
                Some(mut words) => {
                    words.insert(0, "probed".into());
                    if !words
                        .iter()
                        .any(|w| matches!(w.as_str(), "-l" | "-c" | "--lcores"))
                    {
                        words.push("-l".into());
                        words.push(applied.management[0].to_string());
                    }
                    words
                }
                None => {
                    let ex = if profile.nics.iter().any(|n| {
                        n.vdev
                            .as_deref()
                            .is_some_and(|v| v.contains(hw_profiles::EXAMPLE_CAPTURE))
                    }) {
                        Some(example()?.display().to_string())
                    } else {
                        None
                    };
                    hw_profiles::apply::eal_args(
                        &profile,
                        ex.as_deref(),
                        &format!("probed-{}", std::process::id()),
                    )
                }
            },
        },
    };
    let mut warnings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| f.level == Level::Warn)
        .collect();
    // More workers asked for than the profile has cores: the scheduler places them.
    let pins = match args.engine.workers {
        Some(n) if n > applied.workers.len() => {
            warnings.push(Finding {
                field: "cores.workers".into(),
                level: Level::Warn,
                message: format!(
                    "--workers {n} is more than the profile's {} worker core(s): workers are not pinned",
                    applied.workers.len()
                ),
            });
            Vec::new()
        }
        _ => applied.workers.clone(),
    };
    Ok(Plan {
        profile: profile.name.clone(),
        source,
        workers: applied.workers.len(),
        pins,
        settings: applied.settings,
        warnings,
    })
}

fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The devices an EAL command line names: `(is_pci, spec)` for `-a`/`--allow` and `--vdev`.
fn eal_devices(words: &[String]) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        let (pci, inline) = match w.as_str() {
            "-a" | "--allow" | "-w" => (true, None),
            "--vdev" => (false, None),
            _ => match w.split_once('=') {
                Some(("--vdev", v)) => (false, Some(v.to_owned())),
                Some(("--allow", v)) => (true, Some(v.to_owned())),
                _ => continue,
            },
        };
        if let Some(v) = inline.or_else(|| it.next().cloned()) {
            // `-a 0000:3b:00.0,rxq_pkt_pad_en=1`: the address is before the first comma.
            let v = if pci {
                v.split(',').next().unwrap_or("").to_owned()
            } else {
                v
            };
            out.push((pci, v));
        }
    }
    out
}

/// The kernel interfaces behind `net_af_packet` vdevs: (vdev name, `iface=` value).
#[cfg_attr(not(feature = "dpdk"), allow(dead_code))]
pub(crate) fn af_packet_vdevs(eal: &[String]) -> Vec<(String, String)> {
    eal_devices(eal)
        .into_iter()
        .filter(|(pci, _)| !pci)
        .filter_map(|(_, spec)| {
            let mut parts = spec.split(',');
            let name = parts.next()?.to_owned();
            if !name.starts_with("net_af_packet") {
                return None;
            }
            let iface = parts.find_map(|kv| kv.strip_prefix("iface="))?;
            Some((name, iface.to_owned()))
        })
        .collect()
}

/// Splits an argument string as a POSIX shell would for words and quotes (no expansions).
pub(crate) fn shell_words(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => bail!("unterminated ' quote"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => bail!("unterminated \" quote"),
                        },
                        Some(c) => cur.push(c),
                        None => bail!("unterminated \" quote"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn eal_words_and_devices() {
        let w = shell_words(r#"--no-huge -m 512 --vdev 'net_pcap0,rx_pcap=/a b.pcap' -a 0000:3b:00.0,x=1 --vdev=net_null0"#).unwrap();
        assert_eq!(w[4], "net_pcap0,rx_pcap=/a b.pcap");
        let d = eal_devices(&w);
        assert_eq!(
            d,
            vec![
                (false, "net_pcap0,rx_pcap=/a b.pcap".to_owned()),
                (true, "0000:3b:00.0".to_owned()),
                (false, "net_null0".to_owned())
            ]
        );
        assert!(shell_words("'open").is_err());
        let w = shell_words("--vdev net_af_packet0,iface=eth1,qpairs=1 --vdev net_null0").unwrap();
        assert_eq!(
            af_packet_vdevs(&w),
            vec![("net_af_packet0".to_owned(), "eth1".to_owned())]
        );
    }
}
