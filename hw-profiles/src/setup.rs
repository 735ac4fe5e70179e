//! Preparing a machine for a profile before `probed run` starts (the appliance's
//! `probe-hw-setup.service`, `probed hw-setup`): reserve the hugepages DPDK needs and bind the
//! profile's PCI NICs to `vfio-pci`. NVIDIA/Mellanox `mlx5` NICs keep their kernel driver (DPDK
//! drives them through it: the bifurcated model). Everything is written through sysfs under a
//! root directory (`/` on a probe; tests build a tree of plain files), and each step becomes a
//! [`Finding`]: what was done, or why it could not be and what would fix it. `probed run`
//! still checks the result (`check`) before it starts.

use std::fs;
use std::path::Path;

use crate::check::{Finding, Level};
use crate::machine::Machine;
use crate::{Method, Profile};

/// The driver DPDK's PCI poll-mode drivers use here.
pub const VFIO: &str = "vfio-pci";

/// Drivers that stay bound: DPDK uses the kernel driver itself.
const BIFURCATED: &[&str] = &["mlx5"];

fn write(root: &Path, rel: &str, value: &str) -> Result<(), String> {
    let path = root.join(rel);
    fs::write(&path, value).map_err(|e| format!("writing {value:?} to /{rel}: {e}"))?;
    Ok(())
}

/// Applies `p` to the machine under `root`.
pub fn setup(p: &Profile, root: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |field: String, level: Level, message: String| {
        out.push(Finding {
            field,
            level,
            message,
        })
    };
    let machine = Machine::at(root, true);
    if p.capture.method != Method::Dpdk {
        push(
            "capture.method".into(),
            Level::Ok,
            "not dpdk: no hugepages or NIC binding needed".into(),
        );
        return out;
    }
    let size = p.sizes().hugepage;
    let want = p.memory.hugepages;
    if want > 0 {
        let kb = size / 1024;
        let rel = format!("sys/kernel/mm/hugepages/hugepages-{kb}kB/nr_hugepages");
        let have = machine.hugepages(size).map(|(nr, _)| nr);
        let r = match have {
            None => Err(format!(
                "this kernel offers no {kb} kB hugepages (/{rel} is missing)"
            )),
            Some(nr) if nr >= want => Ok(format!("{nr} reserved (the profile needs {want})")),
            Some(_) => write(root, &rel, &want.to_string()).and_then(|()| {
                match machine.hugepages(size).map(|(nr, _)| nr) {
                    Some(nr) if nr >= want => Ok(format!("reserved {nr}")),
                    got => Err(format!(
                        "asked for {want}, the kernel reserved {}: memory is fragmented; \
                         reserve them at boot (kernel arguments hugepagesz={kb}K hugepages={want})",
                        got.unwrap_or(0)
                    )),
                }
            }),
        };
        match r {
            Ok(m) => push("memory.hugepages".into(), Level::Ok, m),
            Err(m) => push("memory.hugepages".into(), Level::Fail, m),
        }
    }
    for (i, nic) in p.nics.iter().enumerate() {
        let Some(addr) = &nic.pci else {
            continue;
        };
        let field = format!("nic[{i}].pci");
        let Some(dev) = machine.pci(addr) else {
            push(field, Level::Fail, format!("no PCI device {addr}"));
            continue;
        };
        let family = nic.driver.as_deref().unwrap_or("");
        if BIFURCATED.contains(&family) {
            push(
                field,
                Level::Ok,
                format!(
                    "{addr}: {family} stays on its kernel driver ({})",
                    dev.driver.as_deref().unwrap_or("none bound")
                ),
            );
            continue;
        }
        if dev.driver.as_deref() == Some(VFIO) {
            push(field, Level::Ok, format!("{addr}: already on {VFIO}"));
            continue;
        }
        // driver_override makes the next probe pick vfio-pci; unbinding the current driver
        // and asking the bus to probe again moves the device.
        let base = format!("sys/bus/pci/devices/{addr}");
        let r = write(root, &format!("{base}/driver_override"), VFIO)
            .and_then(|()| match &dev.driver {
                Some(_) => write(root, &format!("{base}/driver/unbind"), addr),
                None => Ok(()),
            })
            .and_then(|()| write(root, "sys/bus/pci/drivers_probe", addr));
        match (r, machine.pci(addr).and_then(|d| d.driver)) {
            (Err(m), _) => push(field, Level::Fail, format!("{addr}: {m}")),
            (Ok(()), Some(d)) if d == VFIO => push(
                field,
                Level::Ok,
                format!(
                    "{addr}: moved from {} to {VFIO}",
                    dev.driver.as_deref().unwrap_or("no driver")
                ),
            ),
            (Ok(()), now) => push(
                field,
                Level::Fail,
                format!(
                    "{addr}: still on {} after the rebind: is the vfio-pci module loaded \
                     (modprobe vfio-pci) and the IOMMU on (intel_iommu=on)?",
                    now.as_deref().unwrap_or("no driver")
                ),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn profile(extra: &str) -> Profile {
        Profile::parse(
            "t",
            &format!(
                "name = \"t\"\n[capture]\nmethod = \"dpdk\"\n{extra}\n[cores]\nmanagement = [0]\nworkers = \"auto\"\n"
            ),
        )
        .unwrap()
    }

    #[test]
    fn hugepages_are_reserved_and_nics_rebound() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let hp = r.join("sys/kernel/mm/hugepages/hugepages-2048kB");
        fs::create_dir_all(&hp).unwrap();
        fs::write(hp.join("nr_hugepages"), "0\n").unwrap();
        fs::write(hp.join("free_hugepages"), "0\n").unwrap();
        let dev = r.join("sys/bus/pci/devices/0000:3b:00.0");
        fs::create_dir_all(&dev).unwrap();
        let ice = r.join("sys/bus/pci/drivers/ice");
        fs::create_dir_all(&ice).unwrap();
        std::os::unix::fs::symlink("../../drivers/ice", dev.join("driver")).unwrap();
        fs::write(r.join("sys/bus/pci/drivers_probe"), "").unwrap();
        let p = profile(
            "[[nic]]\nname = \"p0\"\ndriver = \"ice\"\npci = \"0000:3b:00.0\"\n[memory]\nhugepage-size = \"2M\"\nhugepages = 512\n",
        );
        let f = setup(&p, r);
        // The file tree stands in for the kernel: the count is written and read back; the
        // NIC's driver does not move by itself, so the rebind is reported as failed after the
        // writes the kernel would act on.
        assert_eq!(f[0].field, "memory.hugepages");
        assert_eq!(f[0].level, Level::Ok, "{}", f[0].message);
        assert_eq!(fs::read_to_string(hp.join("nr_hugepages")).unwrap(), "512");
        assert_eq!(
            fs::read_to_string(dev.join("driver_override")).unwrap(),
            VFIO
        );
        assert_eq!(
            fs::read_to_string(ice.join("unbind")).unwrap(),
            "0000:3b:00.0"
        );
        assert_eq!(
            fs::read_to_string(r.join("sys/bus/pci/drivers_probe")).unwrap(),
            "0000:3b:00.0"
        );
        assert_eq!(f[1].level, Level::Fail);
        assert!(f[1].message.contains("still on ice"), "{}", f[1].message);
        // Once the device is on vfio-pci, nothing is written again.
        fs::remove_file(dev.join("driver")).unwrap();
        fs::create_dir_all(r.join("sys/bus/pci/drivers/vfio-pci")).unwrap();
        std::os::unix::fs::symlink("../../drivers/vfio-pci", dev.join("driver")).unwrap();
        fs::write(dev.join("driver_override"), "untouched").unwrap();
        let f = setup(&p, r);
        assert!(f.iter().all(|x| x.level == Level::Ok), "{f:?}");
        assert_eq!(
            fs::read_to_string(dev.join("driver_override")).unwrap(),
            "untouched"
        );
    }

    #[test]
    fn missing_devices_and_mlx5_and_afpacket() {
        let root = tempfile::tempdir().unwrap();
        let p = profile(
            "[[nic]]\nname = \"a\"\ndriver = \"ice\"\npci = \"0000:01:00.0\"\n[[nic]]\nname = \"b\"\ndriver = \"mlx5\"\npci = \"0000:02:00.0\"\n",
        );
        fs::create_dir_all(root.path().join("sys/bus/pci/devices/0000:02:00.0")).unwrap();
        let f = setup(&p, root.path());
        assert_eq!(f[0].level, Level::Fail);
        assert_eq!(f[0].message, "no PCI device 0000:01:00.0");
        assert_eq!(f[1].level, Level::Ok);
        assert!(f[1].message.contains("mlx5 stays"), "{}", f[1].message);
        let af = Profile::load("generic-afpacket").unwrap();
        let f = setup(&af, root.path());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].level, Level::Ok);
    }
}
