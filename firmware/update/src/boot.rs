//! Boot entries on the EFI system partition, in the Boot Loader Specification's type #1 form
//! that systemd-boot reads, with its boot counting.
//!
//! Each slot has one entry, `loader/entries/probe-<slot>[+LEFT[-DONE]].conf`. The counter in
//! the file name is the protocol: systemd-boot renames `+LEFT-DONE` to `+(LEFT-1)-(DONE+1)`
//! before it boots the entry, sorts entries with `+0` ("bad") after all others, and the running
//! system removes the counter ("blesses" the entry) once it is healthy. Entries carry
//! `sort-key ndr-probe` and `version <generation>`, so among the entries that are not bad the
//! newest generation boots first.
//!
//! [`select`] models that choice so that tests (and `probed update --status`) can say which
//! entry the next boot takes; the QEMU boot test (`ci/image-test`) checks the real boot loader.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::{io_err, Result};

/// The sort key our entries carry.
pub const SORT_KEY: &str = "ndr-probe";

/// A root slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    /// Slot A.
    A,
    /// Slot B.
    B,
}

impl Slot {
    /// The other slot.
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// `a` or `b`.
    pub fn name(self) -> &'static str {
        match self {
            Slot::A => "a",
            Slot::B => "b",
        }
    }

    /// Parses `a` or `b` (any case).
    pub fn parse(s: &str) -> Option<Slot> {
        match s {
            "a" | "A" => Some(Slot::A),
            "b" | "B" => Some(Slot::B),
            _ => None,
        }
    }

    /// The boot entry id of this slot.
    pub fn entry_id(self) -> String {
        format!("probe-{}", self.name())
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a boot entry stands in boot counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Assessment {
    /// No counter: blessed (or never counted).
    Good,
    /// Counting: `left` attempts remain, `done` were made.
    Trying {
        /// Attempts left.
        left: u32,
        /// Attempts made.
        done: u32,
    },
    /// No attempts left: the boot loader chooses it only if nothing else exists.
    Bad {
        /// Attempts made.
        done: u32,
    },
}

impl Assessment {
    /// Whether the entry still carries a boot counter, i.e. its slot has not been marked good:
    /// attempts left, or none left (systemd-boot counts the attempt before booting, so the
    /// last attempt runs with `+0`).
    pub fn counting(self) -> bool {
        !matches!(self, Assessment::Good)
    }

    /// Attempts left (0 for a bad entry; `None` when not counting).
    pub fn left(self) -> Option<u32> {
        match self {
            Assessment::Good => None,
            Assessment::Trying { left, .. } => Some(left),
            Assessment::Bad { .. } => Some(0),
        }
    }
}

/// A parsed entry file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryName {
    /// The id (file name without counter and `.conf`).
    pub id: String,
    /// The counter state.
    pub assessment: Assessment,
}

impl EntryName {
    /// Parses `ID[+LEFT[-DONE]].conf`.
    pub fn parse(file: &str) -> Option<EntryName> {
        let stem = file.strip_suffix(".conf")?;
        let Some((id, counter)) = stem.rsplit_once('+') else {
            return Some(EntryName {
                id: stem.to_string(),
                assessment: Assessment::Good,
            });
        };
        let (left, done) = match counter.split_once('-') {
            Some((l, d)) => (l.parse().ok()?, d.parse().ok()?),
            None => (counter.parse().ok()?, 0),
        };
        let assessment = if left == 0 {
            Assessment::Bad { done }
        } else {
            Assessment::Trying { left, done }
        };
        Some(EntryName {
            id: id.to_string(),
            assessment,
        })
    }

    /// The file name for this id and state.
    pub fn file_name(&self) -> String {
        match self.assessment {
            Assessment::Good => format!("{}.conf", self.id),
            Assessment::Trying { left, done: 0 } => format!("{}+{left}.conf", self.id),
            Assessment::Trying { left, done } => format!("{}+{left}-{done}.conf", self.id),
            Assessment::Bad { done } => format!("{}+0-{done}.conf", self.id),
        }
    }
}

/// One of our entries as found on the ESP.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// The slot it boots.
    pub slot: Slot,
    /// Its file.
    pub file: PathBuf,
    /// Boot counting state.
    pub assessment: Assessment,
    /// The generation it boots (`version` line).
    pub generation: u64,
    /// The `title` line.
    pub title: String,
}

/// The directory holding the entries.
pub fn entries_dir(esp: &Path) -> PathBuf {
    esp.join("loader").join("entries")
}

/// Our entries on the ESP (files that do not parse are ignored, as the boot loader ignores
/// them).
pub fn entries(esp: &Path) -> Result<Vec<Entry>> {
    let dir = entries_dir(esp);
    let mut out = Vec::new();
    let rd = match fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    for ent in rd {
        let ent = ent.map_err(io_err(&dir))?;
        let name = ent.file_name().to_string_lossy().into_owned();
        let Some(parsed) = EntryName::parse(&name) else {
            continue;
        };
        let Some(slot) = parsed.id.strip_prefix("probe-").and_then(Slot::parse) else {
            continue;
        };
        let text = fs::read_to_string(ent.path()).map_err(io_err(ent.path()))?;
        let field = |k: &str| {
            text.lines()
                .filter_map(|l| l.trim().split_once(char::is_whitespace))
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.trim().to_string())
        };
        out.push(Entry {
            slot,
            file: ent.path(),
            assessment: parsed.assessment,
            generation: field("version").and_then(|v| v.parse().ok()).unwrap_or(0),
            title: field("title").unwrap_or_default(),
        });
    }
    out.sort_by(boot_order);
    Ok(out)
}

/// systemd-boot's order for our entries: bad ones last, then the newest version first, then
/// the id in reverse (all ours share a sort key and machine id).
fn boot_order(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    let bad = |e: &Entry| matches!(e.assessment, Assessment::Bad { .. });
    bad(a)
        .cmp(&bad(b))
        .then(b.generation.cmp(&a.generation))
        .then(b.slot.name().cmp(a.slot.name()))
}

/// The entry the next boot takes: the first in boot order.
pub fn select(esp: &Path) -> Result<Option<Entry>> {
    Ok(entries(esp)?.into_iter().next())
}

/// What an entry file says.
#[derive(Debug, Clone)]
pub struct EntrySpec<'a> {
    /// The slot.
    pub slot: Slot,
    /// Release version (title).
    pub version: &'a str,
    /// Generation (the entry's `version`, which orders entries).
    pub generation: u64,
    /// The full kernel command line.
    pub options: String,
}

impl EntrySpec<'_> {
    /// The entry file's text. Kernel and initrd live in `/probe/<slot>/` on the ESP.
    pub fn render(&self) -> String {
        let s = self.slot.name();
        format!(
            "title NDR probe {v} (slot {s}, generation {g})\n\
             sort-key {SORT_KEY}\n\
             version {g}\n\
             linux /probe/{s}/vmlinuz\n\
             initrd /probe/{s}/initrd.img\n\
             options {o}\n",
            v = self.version,
            g = self.generation,
            o = self.options
        )
    }
}

/// Writes an entry for a slot with `tries` boot attempts (0: no counter, i.e. already good),
/// atomically: a temporary file (not ending in `.conf`, so the boot loader ignores it) is
/// written, synced and renamed.
pub fn write_entry(esp: &Path, spec: &EntrySpec<'_>, tries: u32) -> Result<PathBuf> {
    let dir = entries_dir(esp);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let name = EntryName {
        id: spec.slot.entry_id(),
        assessment: if tries == 0 {
            Assessment::Good
        } else {
            Assessment::Trying {
                left: tries,
                done: 0,
            }
        },
    };
    let file = dir.join(name.file_name());
    let tmp = dir.join(format!("{}.tmp", spec.slot.entry_id()));
    crate::install::write_synced(&tmp, spec.render().as_bytes())?;
    crate::install::rename_durable(&tmp, &file)?;
    Ok(file)
}

/// Removes every entry of a slot (whatever its counter), so the boot loader cannot choose it.
pub fn remove_entries(esp: &Path, slot: Slot) -> Result<()> {
    for e in entries(esp)? {
        if e.slot == slot {
            fs::remove_file(&e.file).map_err(io_err(&e.file))?;
        }
    }
    let dir = entries_dir(esp);
    if dir.exists() {
        crate::install::sync_dir(&dir)?;
    }
    Ok(())
}

/// Blesses a slot's entry: removes its counter. Returns whether there was one.
pub fn bless(esp: &Path, slot: Slot) -> Result<bool> {
    for e in entries(esp)? {
        if e.slot != slot || e.assessment == Assessment::Good {
            continue;
        }
        let to = entries_dir(esp).join(format!("{}.conf", slot.entry_id()));
        crate::install::rename_durable(&e.file, &to)?;
        return Ok(true);
    }
    Ok(false)
}

/// What systemd-boot does to an entry's name when it boots it: one attempt fewer. Used by
/// tests to play the boot loader; returns the entry booted.
pub fn attempt_boot(esp: &Path) -> Result<Option<Entry>> {
    let Some(e) = select(esp)? else {
        return Ok(None);
    };
    if let Assessment::Trying { left, done } = e.assessment {
        let next = EntryName {
            id: e.slot.entry_id(),
            assessment: if left <= 1 {
                Assessment::Bad { done: done + 1 }
            } else {
                Assessment::Trying {
                    left: left - 1,
                    done: done + 1,
                }
            },
        };
        let to = entries_dir(esp).join(next.file_name());
        fs::rename(&e.file, &to).map_err(io_err(&to))?;
    }
    Ok(Some(e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn counter_names_round_trip() {
        for (f, a) in [
            ("probe-b.conf", Assessment::Good),
            ("probe-b+3.conf", Assessment::Trying { left: 3, done: 0 }),
            ("probe-b+2-1.conf", Assessment::Trying { left: 2, done: 1 }),
            ("probe-b+0-3.conf", Assessment::Bad { done: 3 }),
        ] {
            let n = EntryName::parse(f).unwrap();
            assert_eq!(n.id, "probe-b");
            assert_eq!(n.assessment, a, "{f}");
            assert_eq!(n.file_name(), f);
        }
        assert!(EntryName::parse("probe-b+x.conf").is_none());
        assert!(EntryName::parse("probe-b.tmp").is_none());
    }

    fn spec(slot: Slot, generation: u64) -> EntrySpec<'static> {
        EntrySpec {
            slot,
            version: "t",
            generation,
            options: "ro".into(),
        }
    }

    #[test]
    fn the_newest_slot_boots_until_it_runs_out_of_tries() {
        let esp = tempfile::tempdir().unwrap();
        write_entry(esp.path(), &spec(Slot::A, 1), 0).unwrap();
        assert_eq!(select(esp.path()).unwrap().unwrap().slot, Slot::A);
        write_entry(esp.path(), &spec(Slot::B, 2), 2).unwrap();
        assert_eq!(attempt_boot(esp.path()).unwrap().unwrap().slot, Slot::B);
        assert_eq!(attempt_boot(esp.path()).unwrap().unwrap().slot, Slot::B);
        // Two failed attempts: B is bad and A boots from now on.
        assert_eq!(attempt_boot(esp.path()).unwrap().unwrap().slot, Slot::A);
        assert_eq!(attempt_boot(esp.path()).unwrap().unwrap().slot, Slot::A);
        let b = entries(esp.path()).unwrap().pop().unwrap();
        assert_eq!(b.assessment, Assessment::Bad { done: 2 });
    }

    #[test]
    fn a_blessed_slot_keeps_booting() {
        let esp = tempfile::tempdir().unwrap();
        write_entry(esp.path(), &spec(Slot::A, 1), 0).unwrap();
        write_entry(esp.path(), &spec(Slot::B, 2), 1).unwrap();
        assert_eq!(attempt_boot(esp.path()).unwrap().unwrap().slot, Slot::B);
        assert!(bless(esp.path(), Slot::B).unwrap());
        assert!(!bless(esp.path(), Slot::B).unwrap());
        for _ in 0..3 {
            assert_eq!(attempt_boot(esp.path()).unwrap().unwrap().slot, Slot::B);
        }
        remove_entries(esp.path(), Slot::B).unwrap();
        assert_eq!(select(esp.path()).unwrap().unwrap().slot, Slot::A);
    }
}
