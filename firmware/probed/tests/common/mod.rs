//! Helpers shared by the integration tests that drive the `probed` binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)] // test code

use std::process::Command;

use serde_json::Value;

/// Runs `probed ARGS`, asserts success, and returns the last JSON line of stdout (else of
/// stderr, where `replay --json` puts its summary), or null.
pub fn probed(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_probed"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "probed {args:?}: {stderr}\n{stdout}");
    let last_json = |s: &str| s.lines().rev().find_map(|l| serde_json::from_str(l).ok());
    last_json(&stdout)
        .or_else(|| last_json(&stderr))
        .unwrap_or(Value::Null)
}

/// The events of `event_type` in an EVE file.
pub fn eve_events(path: &std::path::Path, event_type: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event_type"] == event_type)
        .collect()
}
