//! `stats` records: counters, nested by dotted name as Suricata writes them.

/// The `stats` event body: a JSON object built from dotted counter names.
#[derive(Debug, Clone, Default)]
pub struct StatsEve {
    /// `{"uptime": .., "capture": {..}, "decoder": {..}, ...}`.
    pub stats: serde_json::Value,
}

impl StatsEve {
    /// Builds the nested object from `(dotted.name, value)` pairs.
    pub fn from_counters<'a>(
        uptime: u64,
        counters: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Self {
        let mut root = serde_json::Map::new();
        root.insert("uptime".into(), uptime.into());
        for (name, v) in counters {
            let mut cur = &mut root;
            let mut parts = name.split('.').peekable();
            while let Some(p) = parts.next() {
                if parts.peek().is_none() {
                    cur.insert(p.to_owned(), v.into());
                } else {
                    let e = cur
                        .entry(p.to_owned())
                        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                    if !e.is_object() {
                        *e = serde_json::Value::Object(serde_json::Map::new());
                    }
                    match e {
                        serde_json::Value::Object(m) => cur = m,
                        _ => break,
                    }
                }
            }
        }
        StatsEve {
            stats: serde_json::Value::Object(root),
        }
    }
}
