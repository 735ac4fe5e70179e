//! `dataset` and `datarep`: named sets of buffer values shared by every rule and worker.
//!
//! File formats follow Suricata 7: `string` values are base64 per line, `md5`/`sha256` hex,
//! `ipv4`/`ipv6`/`ip` textual addresses; datarep lines add `,reputation`. A set named by
//! several rules is one set (the first definition decides type and files). Sets live behind
//! a mutex: `dataset:set` changes them from traffic, and they are rare enough in rule sets
//! that contention does not matter.
//!
//! Memory is bounded: every set holds at most `memcap / 64` entries (or
//! [`MAX_DATASET_ENTRIES`] without a memcap) of at most [`MAX_DATASET_VALUE_LEN`] bytes;
//! additions beyond that are refused and counted.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::ast::{ByteOp, Datarep, Dataset};
use crate::caps::{MAX_DATASET_ENTRIES, MAX_DATASET_FILE, MAX_DATASET_VALUE_LEN};

/// Value type of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetType {
    String,
    Md5,
    Sha256,
    Ipv4,
    Ip,
}

impl SetType {
    fn parse(s: Option<&str>) -> SetType {
        match s {
            Some("md5") => SetType::Md5,
            Some("sha256") => SetType::Sha256,
            Some("ipv4") => SetType::Ipv4,
            Some("ipv6" | "ip") => SetType::Ip,
            _ => SetType::String,
        }
    }

    /// Whether a buffer of this length can be a value of the type.
    fn len_ok(self, n: usize) -> bool {
        match self {
            SetType::String => n <= MAX_DATASET_VALUE_LEN,
            SetType::Md5 => n == 16,
            SetType::Sha256 => n == 32,
            SetType::Ipv4 => n == 4,
            SetType::Ip => n == 16 || n == 4,
        }
    }
}

/// One definition collected while compiling rules.
#[derive(Debug, Clone)]
struct Def {
    name: String,
    kind: SetType,
    rep: bool,
    load: Option<PathBuf>,
    state: Option<PathBuf>,
    save: Option<PathBuf>,
    max_entries: usize,
}

/// Set definitions gathered at compile time.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    defs: Vec<Def>,
}

fn max_entries(memcap: Option<u64>) -> usize {
    match memcap {
        Some(m) => usize::try_from(m / 64)
            .unwrap_or(usize::MAX)
            .clamp(1, MAX_DATASET_ENTRIES),
        None => MAX_DATASET_ENTRIES,
    }
}

impl Registry {
    fn find(&self, name: &str, rep: bool) -> Option<usize> {
        self.defs
            .iter()
            .position(|d| d.name == name && d.rep == rep)
    }

    /// Index of the `dataset` named by `d`, registering it on first use.
    pub(crate) fn dataset(&mut self, d: &Dataset, _rule_dir: &Path) -> Result<usize, String> {
        let kind = SetType::parse(d.kind.as_deref());
        if let Some(i) = self.find(&d.name, false) {
            if d.kind.is_some() && self.defs.get(i).is_some_and(|x| x.kind != kind) {
                return Err(format!("dataset {} redefined with another type", d.name));
            }
            return Ok(i);
        }
        self.defs.push(Def {
            name: d.name.clone(),
            kind,
            rep: false,
            load: d.load.clone(),
            state: d.state.clone(),
            save: d.save.clone(),
            max_entries: max_entries(d.memcap),
        });
        Ok(self.defs.len() - 1)
    }

    /// Index of the `datarep` set named by `d`.
    pub(crate) fn datarep(&mut self, d: &Datarep) -> Result<usize, String> {
        let kind = SetType::parse(d.kind.as_deref());
        if let Some(i) = self.find(&d.name, true) {
            return Ok(i);
        }
        self.defs.push(Def {
            name: d.name.clone(),
            kind,
            rep: true,
            load: d.load.clone(),
            state: None,
            save: None,
            max_entries: max_entries(d.memcap),
        });
        Ok(self.defs.len() - 1)
    }
}

#[derive(Debug)]
struct SetData {
    values: HashSet<Box<[u8]>>,
    reps: HashMap<Box<[u8]>, u16>,
}

/// A loaded set.
#[derive(Debug)]
struct Set {
    def: Def,
    data: Mutex<SetData>,
}

/// All sets of an engine.
#[derive(Debug, Default)]
pub(crate) struct Store {
    sets: Vec<Set>,
    /// Additions refused because a set was full.
    pub full: AtomicU64,
    /// Lines of load files that did not parse.
    pub bad_lines: AtomicU64,
}

fn decode_value(kind: SetType, text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    match kind {
        SetType::String => crate::engine::inspect::base64_decode_strict(t.as_bytes()),
        SetType::Md5 | SetType::Sha256 => {
            if !t.len().is_multiple_of(2) {
                return None;
            }
            let mut out = Vec::with_capacity(t.len() / 2);
            for pair in t.as_bytes().chunks(2) {
                let s = std::str::from_utf8(pair).ok()?;
                out.push(u8::from_str_radix(s, 16).ok()?);
            }
            kind.len_ok(out.len()).then_some(out)
        }
        SetType::Ipv4 => match t.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => Some(a.octets().to_vec()),
            IpAddr::V6(_) => None,
        },
        SetType::Ip => match t.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => Some(a.to_ipv6_mapped().octets().to_vec()),
            IpAddr::V6(a) => Some(a.octets().to_vec()),
        },
    }
}

fn encode_value(kind: SetType, v: &[u8]) -> String {
    match kind {
        SetType::String => crate::engine::inspect::base64_encode(v),
        SetType::Md5 | SetType::Sha256 => v.iter().map(|b| format!("{b:02x}")).collect(),
        SetType::Ipv4 => match <[u8; 4]>::try_from(v) {
            Ok(a) => std::net::Ipv4Addr::from(a).to_string(),
            Err(_) => String::new(),
        },
        SetType::Ip => match <[u8; 16]>::try_from(v) {
            Ok(a) => {
                let v6 = std::net::Ipv6Addr::from(a);
                match v6.to_ipv4_mapped() {
                    Some(v4) => v4.to_string(),
                    None => v6.to_string(),
                }
            }
            Err(_) => String::new(),
        },
    }
}

fn read_lines(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_DATASET_FILE {
        return None;
    }
    let data = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&data).into_owned())
}

impl Store {
    /// Load every registered set (files that cannot be read leave the set empty).
    pub(crate) fn load(reg: Registry) -> Store {
        let mut store = Store::default();
        for def in reg.defs {
            let mut data = SetData {
                values: HashSet::new(),
                reps: HashMap::new(),
            };
            for path in [&def.load, &def.state].into_iter().flatten() {
                let Some(text) = read_lines(path) else {
                    continue;
                };
                for line in text.lines() {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    let full = data.values.len() + data.reps.len() >= def.max_entries;
                    if full {
                        store.full.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    if def.rep {
                        let parsed = line.rsplit_once(',').and_then(|(v, r)| {
                            Some((decode_value(def.kind, v)?, r.trim().parse::<u16>().ok()?))
                        });
                        match parsed {
                            Some((v, r)) => {
                                data.reps.insert(v.into_boxed_slice(), r);
                            }
                            None => {
                                store.bad_lines.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    } else {
                        match decode_value(def.kind, line) {
                            Some(v) => {
                                data.values.insert(v.into_boxed_slice());
                            }
                            None => {
                                store.bad_lines.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
            store.sets.push(Set {
                def,
                data: Mutex::new(data),
            });
        }
        store
    }

    fn normalise(kind: SetType, v: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
        if !kind.len_ok(v.len()) {
            return None;
        }
        if kind == SetType::Ip && v.len() == 4 {
            let mut m = [0u8; 16];
            m[10] = 0xff;
            m[11] = 0xff;
            m[12..].copy_from_slice(v);
            return Some(std::borrow::Cow::Owned(m.to_vec()));
        }
        Some(std::borrow::Cow::Borrowed(v))
    }

    /// `dataset` command on `value`; returns whether the keyword matches.
    pub(crate) fn dataset(&self, set: usize, cmd: crate::ast::DatasetCmd, value: &[u8]) -> bool {
        use crate::ast::DatasetCmd;
        let Some(s) = self.sets.get(set) else {
            return false;
        };
        let Some(v) = Self::normalise(s.def.kind, value) else {
            return false;
        };
        let Ok(mut d) = s.data.lock() else {
            return false;
        };
        match cmd {
            DatasetCmd::IsSet => d.values.contains(v.as_ref()),
            DatasetCmd::IsNotSet => !d.values.contains(v.as_ref()),
            // Suricata: `set` matches only when the value was newly added.
            DatasetCmd::Set => {
                if d.values.contains(v.as_ref()) {
                    return false;
                }
                if d.values.len() >= s.def.max_entries {
                    self.full.fetch_add(1, Ordering::Relaxed);
                    return false;
                }
                d.values.insert(v.into_owned().into_boxed_slice());
                true
            }
            DatasetCmd::Unset => d.values.remove(v.as_ref()),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// `datarep`: the value's reputation compared with `value`.
    pub(crate) fn datarep(&self, set: usize, op: ByteOp, value: u16, data: &[u8]) -> bool {
        let Some(s) = self.sets.get(set) else {
            return false;
        };
        let Some(v) = Self::normalise(s.def.kind, data) else {
            return false;
        };
        let Ok(d) = s.data.lock() else {
            return false;
        };
        let Some(&rep) = d.reps.get(v.as_ref()) else {
            return false;
        };
        match op {
            ByteOp::Lt => rep < value,
            ByteOp::Gt => rep > value,
            ByteOp::Le => rep <= value,
            ByteOp::Ge => rep >= value,
            ByteOp::Eq => rep == value,
            _ => false,
        }
    }

    /// Write every set with a `state` or `save` file (Suricata does this at shutdown).
    /// Returns the files written and the errors met.
    pub(crate) fn save(&self) -> (Vec<PathBuf>, Vec<String>) {
        let (mut ok, mut errs) = (Vec::new(), Vec::new());
        for s in &self.sets {
            let Some(path) = s.def.save.as_ref().or(s.def.state.as_ref()) else {
                continue;
            };
            let Ok(d) = s.data.lock() else {
                continue;
            };
            let mut lines: Vec<String> = d
                .values
                .iter()
                .map(|v| encode_value(s.def.kind, v))
                .collect();
            lines.sort();
            let res = std::fs::File::create(path).and_then(|mut f| {
                for l in &lines {
                    writeln!(f, "{l}")?;
                }
                Ok(())
            });
            match res {
                Ok(()) => ok.push(path.clone()),
                Err(e) => errs.push(format!("{}: {e}", path.display())),
            }
        }
        (ok, errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::DatasetCmd;

    fn def(kind: Option<&str>, load: Option<PathBuf>) -> Dataset {
        Dataset {
            cmd: DatasetCmd::IsSet,
            name: "s".into(),
            kind: kind.map(String::from),
            load,
            state: None,
            save: None,
            memcap: None,
            hashsize: None,
        }
    }

    #[test]
    fn string_set_loads_base64_lines_and_set_matches_only_new_values() {
        let dir = std::env::temp_dir().join(format!("detect-ds-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("s.lst");
        std::fs::write(&f, "Zm9v\n# comment\n!!bad\nYmFy\n").unwrap();
        let mut reg = Registry::default();
        let i = reg.dataset(&def(Some("string"), Some(f)), &dir).unwrap();
        let st = Store::load(reg);
        assert!(st.dataset(i, DatasetCmd::IsSet, b"foo"));
        assert!(st.dataset(i, DatasetCmd::IsSet, b"bar"));
        assert!(!st.dataset(i, DatasetCmd::IsSet, b"baz"));
        assert!(st.dataset(i, DatasetCmd::IsNotSet, b"baz"));
        assert_eq!(st.bad_lines.load(Ordering::Relaxed), 1);
        assert!(st.dataset(i, DatasetCmd::Set, b"baz"));
        assert!(!st.dataset(i, DatasetCmd::Set, b"baz"));
        assert!(st.dataset(i, DatasetCmd::IsSet, b"baz"));
        assert!(st.dataset(i, DatasetCmd::Unset, b"baz"));
        assert!(!st.dataset(i, DatasetCmd::IsSet, b"baz"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn md5_set_needs_raw_digest_length() {
        let mut reg = Registry::default();
        let i = reg
            .dataset(&def(Some("md5"), None), Path::new("/"))
            .unwrap();
        let st = Store::load(reg);
        assert!(!st.dataset(i, DatasetCmd::Set, b"short"));
        assert!(st.dataset(i, DatasetCmd::Set, &[7u8; 16]));
        assert!(st.dataset(i, DatasetCmd::IsSet, &[7u8; 16]));
    }

    #[test]
    fn datarep_compares_reputation() {
        let dir = std::env::temp_dir().join(format!("detect-dr-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("r.csv");
        std::fs::write(&f, "Zm9v,100\nYmFy,5\n").unwrap();
        let mut reg = Registry::default();
        let i = reg
            .datarep(&Datarep {
                name: "r".into(),
                op: ByteOp::Gt,
                value: 50,
                kind: Some("string".into()),
                load: Some(f),
                memcap: None,
                hashsize: None,
            })
            .unwrap();
        let st = Store::load(reg);
        assert!(st.datarep(i, ByteOp::Gt, 50, b"foo"));
        assert!(!st.datarep(i, ByteOp::Gt, 50, b"bar"));
        assert!(!st.datarep(i, ByteOp::Gt, 50, b"zzz"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn memcap_bounds_additions() {
        let mut reg = Registry::default();
        let mut d = def(None, None);
        d.memcap = Some(128);
        let i = reg.dataset(&d, Path::new("/")).unwrap();
        let st = Store::load(reg);
        assert!(st.dataset(i, DatasetCmd::Set, b"a"));
        assert!(st.dataset(i, DatasetCmd::Set, b"b"));
        assert!(!st.dataset(i, DatasetCmd::Set, b"c"));
        assert_eq!(st.full.load(Ordering::Relaxed), 1);
    }
}
