//! The live path: every event goes through the enabled filters in order; matching filters'
//! actions tag, keep, drop, threshold or declare.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::eval::{matches, values_at};
use crate::model::{Action, Declaration, DocKind, Filter, TagValue, ThresholdKind, Track};
use crate::query::Node;
use crate::HuntError;

/// Tracked (filter, address) windows kept for threshold actions; past it, expired windows are
/// dropped and, if none expired, the oldest half goes (counting restarts for those).
pub const MAX_THRESHOLD_WINDOWS: usize = 100_000;

/// A filter ready to run.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The stored filter.
    pub filter: Filter,
    /// Its parsed query.
    pub node: Node,
}

impl Compiled {
    /// Parses a filter's query (field names checked against the catalog).
    pub fn new(filter: Filter) -> Result<Compiled, HuntError> {
        let node = crate::parse_query(&filter.query).map_err(|e| HuntError::Query {
            what: format!("filter `{}`", filter.name),
            error: e,
        })?;
        Ok(Compiled { filter, node })
    }
}

/// Seen and dropped counts of one filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Events the filter matched.
    pub seen: u64,
    /// Events its action dropped.
    pub dropped: u64,
}

/// What the policy decided for one event.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Whether the event is kept (written and archived).
    pub keep: bool,
    /// Declarations to make: (filter index, kind, declaration).
    pub declare: Vec<(usize, DocKind, Declaration)>,
    /// Filters with a notify action that matched.
    pub notify: Vec<usize>,
    /// A tag was added to the event.
    pub tagged: bool,
}

/// The enabled filters in order, with their counters and threshold state.
#[derive(Debug, Default)]
pub struct Policy {
    filters: Vec<Compiled>,
    counts: Vec<Counts>,
    windows: HashMap<(usize, String), Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start_us: i64,
    count: u64,
}

impl Policy {
    /// A policy of `filters` (disabled ones are left out), ordered by index then name.
    pub fn new(mut filters: Vec<Compiled>) -> Policy {
        filters.retain(|c| c.filter.enabled);
        filters.sort_by(|a, b| {
            (a.filter.index, &a.filter.name).cmp(&(b.filter.index, &b.filter.name))
        });
        let n = filters.len();
        Policy {
            filters,
            counts: vec![Counts::default(); n],
            windows: HashMap::new(),
        }
    }

    /// The filters, in order.
    pub fn filters(&self) -> &[Compiled] {
        &self.filters
    }

    /// Counters per filter, in order.
    pub fn counts(&self) -> &[Counts] {
        &self.counts
    }

    /// Whether any filter has an action (otherwise events need not be looked at).
    pub fn is_active(&self) -> bool {
        self.filters.iter().any(|c| c.filter.action.is_some())
    }

    /// Whether some filter with an action may match an event with these tokens (exact
    /// tokens of one event, from the transcoder): when not, the event need not be parsed.
    pub fn may_act(&self, tokens: &[u64]) -> bool {
        self.filters
            .iter()
            .any(|c| c.filter.action.is_some() && crate::eval::may_match(&c.node, tokens))
    }

    /// Runs `ev` (time `ts_us`) through the filters; may add a `tag` to it.
    pub fn apply(&mut self, ev: &mut Value, ts_us: i64) -> Verdict {
        let mut v = Verdict {
            keep: true,
            ..Default::default()
        };
        let mut kept = false;
        for i in 0..self.filters.len() {
            let Some(action) = self.filters[i].filter.action.clone() else {
                continue;
            };
            if !matches(&self.filters[i].node, ev) {
                continue;
            }
            self.counts[i].seen += 1;
            let drop = match &action {
                Action::Suppress => true,
                Action::Threshold {
                    track,
                    count,
                    seconds,
                    kind,
                } => !self.threshold_keeps(i, ev, ts_us, *track, *count, *seconds, *kind),
                Action::Tag { tag } => {
                    set_tag(ev, *tag);
                    v.tagged = true;
                    false
                }
                Action::Tagkeep { tag } => {
                    set_tag(ev, *tag);
                    v.tagged = true;
                    kept = true;
                    false
                }
                Action::Doc(d) => {
                    v.declare.push((i, DocKind::Doc, d.clone()));
                    false
                }
                Action::Dopv(d) => {
                    v.declare.push((i, DocKind::Dopv, d.clone()));
                    false
                }
                Action::Notify => {
                    v.notify.push(i);
                    false
                }
            };
            if drop && !kept {
                self.counts[i].dropped += 1;
                v.keep = false;
                // A dropped event declares nothing further down the list.
                break;
            }
        }
        if !v.keep {
            v.declare.clear();
            v.notify.clear();
        }
        v
    }

    #[allow(clippy::too_many_arguments)]
    fn threshold_keeps(
        &mut self,
        i: usize,
        ev: &Value,
        ts_us: i64,
        track: Track,
        count: u32,
        seconds: u32,
        kind: ThresholdKind,
    ) -> bool {
        let field = match track {
            Track::BySrc => "src_ip",
            Track::ByDst => "dest_ip",
        };
        let mut vals = Vec::new();
        values_at(ev, field, &mut vals);
        let key = vals
            .first()
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        let span = i64::from(seconds) * 1_000_000;
        if self.windows.len() >= MAX_THRESHOLD_WINDOWS
            && !self.windows.contains_key(&(i, key.clone()))
        {
            self.windows.retain(|_, w| ts_us - w.start_us < span);
            if self.windows.len() >= MAX_THRESHOLD_WINDOWS {
                let mut starts: Vec<i64> = self.windows.values().map(|w| w.start_us).collect();
                starts.sort_unstable();
                let mid = starts[starts.len() / 2];
                self.windows.retain(|_, w| w.start_us > mid);
            }
        }
        let w = self.windows.entry((i, key)).or_insert(Window {
            start_us: ts_us,
            count: 0,
        });
        if ts_us - w.start_us >= span || ts_us < w.start_us {
            *w = Window {
                start_us: ts_us,
                count: 0,
            };
        }
        w.count += 1;
        let c = u64::from(count.max(1));
        match kind {
            ThresholdKind::Limit => w.count <= c,
            ThresholdKind::Threshold => w.count.is_multiple_of(c),
            ThresholdKind::Both => w.count == c,
        }
    }
}

fn set_tag(ev: &mut Value, tag: TagValue) {
    if let Value::Object(m) = ev {
        let t = match tag {
            TagValue::Relevant => "relevant",
            TagValue::Informational => "informational",
        };
        m.insert("tag".into(), Value::String(t.into()));
    }
}
