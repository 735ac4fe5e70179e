//! The predefined filter sets shipped with the probe (`filtersets.toml`): hunting ideas by
//! category, each with a description, ready to run as hunts or to turn into policy filters.

use serde::Deserialize;

/// The shipped file.
const SETS: &str = include_str!("../filtersets.toml");

/// One predefined filter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct FilterSet {
    /// Unique name.
    pub name: String,
    /// Category (Hunt, Policy, Anomaly, Compliance, Info, Roles, Adware, Phishing, MITRE).
    pub category: String,
    /// What it finds and why it matters.
    pub description: String,
    /// The query.
    pub query: String,
}

#[derive(Deserialize)]
struct File {
    filter: Vec<FilterSet>,
}

/// Every predefined filter, in file order.
pub fn all() -> Vec<FilterSet> {
    toml::from_str::<File>(SETS)
        .map(|f| f.filter)
        .unwrap_or_default()
}

/// The predefined filter called `name`.
pub fn get(name: &str) -> Option<FilterSet> {
    all().into_iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_parses_and_is_described() {
        let sets = all();
        assert!(sets.len() >= 40, "{} sets", sets.len());
        let mut names = std::collections::HashSet::new();
        let mut bad = Vec::new();
        for s in &sets {
            assert!(names.insert(&s.name), "duplicate {}", s.name);
            assert!(s.description.len() > 20, "{}", s.name);
            if let Err(e) = crate::parse_query(&s.query) {
                bad.push(format!("{}: {e}\n  {}", s.name, s.query));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
        for cat in ["Hunt", "Policy", "Anomaly", "Compliance", "Info", "Roles"] {
            assert!(sets.iter().any(|s| s.category == cat), "{cat}");
        }
    }
}
