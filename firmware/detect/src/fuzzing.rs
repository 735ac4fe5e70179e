//! Fuzz entry points (see `firmware/fuzz/`). Never panics, whatever the input.

use std::collections::BTreeMap;
use std::path::Path;

/// Load `data` as a rule file (first byte set to `;` style variations are left to the fuzzer)
/// and run the config parsers over it too.
pub fn fuzz_rules(data: &[u8]) {
    let mut vars = BTreeMap::new();
    // Let the input also drive a variable definition, so variable parsing is fuzzed.
    if let Some((&sel, rest)) = data.split_first() {
        if sel & 1 == 1 {
            let cut = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let v = String::from_utf8_lossy(rest.get(..cut).unwrap_or(&[])).into_owned();
            vars.insert("vars.address-groups.HOME_NET".to_string(), v.clone());
            vars.insert("vars.port-groups.HTTP_PORTS".to_string(), v);
        }
    }
    let report = crate::load_rules_from_bytes(
        Path::new("fuzz.rules"),
        data,
        &vars,
        Path::new("/nonexistent"),
    );
    let _ = report.to_json();
    let _ = crate::config::parse_classification(Path::new("c"), data);
    let _ = crate::config::parse_reference(Path::new("r"), data);
    let _ = crate::config::parse_threshold_config(Path::new("t"), data, &crate::Vars::default());
}
