//! # detect: the Suricata 7 rule language and signature engine
//!
//! This crate turns Suricata rule files (ET Open unmodified) into a typed AST, reports every
//! rule it rejects with `file:line`, sid, keyword and a one-line reason, and matches the
//! compiled rules against traffic ([`engine`]): packets, reassembled TCP streams and
//! app-layer transactions (through [`TxBuffers`](::events::inspect::TxBuffers)), with Suricata 7.0.10's
//! semantics for rule order, flowbits, thresholds, pass rules and alert limits.
//!
//! It owns: rule text and config parsing, rule compilation, signature groups and
//! multi-pattern prefilters (aho-corasick), per-rule evaluation, and detection state
//! ([`FlowState`] per flow, [`ThreadState`] per worker: thresholds, xbits, scratch).
//! It never parses traffic itself: buffers come from the app-layer parsers, packet facts from
//! the pipeline ([`PacketView`]).
//!
//! ## Layers
//!
//! * `text`: file bytes to logical rules (comments, blank and indented lines skipped,
//!   trailing-backslash continuation), a rule to header fields and raw `name:value;` options,
//!   with Suricata's escaping (`\;`, `\"`, `\\`; quotes do not protect `;`).
//! * [`vars`] and [`netexpr`]: `$VARS` with Suricata 7's defaults, address and port
//!   expressions (groups, nesting, `!`, ranges, CIDR v4/v6) resolved to [`ranges::RangeSet`]s,
//!   with Suricata's "nothing left after negation" errors.
//! * `keywords`: every Suricata 7.0.10 keyword, its aliases and argument rules.
//! * `parse`: the rule builder. Keywords apply in order, like Suricata's setup functions:
//!   sticky buffers, legacy content modifiers that move the previous content, content
//!   modifiers that apply to the last content, transforms, and the checks Suricata uses to
//!   reject rules (modifiers without content, relative/absolute mixes, fast_pattern rules,
//!   protocol conflicts, direction conflicts, bsize vs content length, ...).
//! * `pcre`: every pcre is compiled with PCRE2 (JIT when available) at load time.
//! * [`config`]: `classification.config`, `reference.config`, `threshold.config`.
//! * [`loader`]: [`load_rule_files`] and [`LoadReport`].
//!
//! ## The AST
//!
//! A [`Rule`] has its header ([`Action`], [`Protocol`], resolved [`AddressSpec`] /
//! [`PortSpec`], [`Direction`]), its meta options, and two lists an engine compiles:
//! [`Rule::buffers`] (one [`BufferBlock`] per inspected buffer with its transforms and ordered
//! [`Match`]es: content, pcre, byte_*, isdataat, bsize, ...; "relative" refers to the previous
//! match of the same block) and [`Rule::conditions`] (flow state, flowbits, thresholds, packet
//! fields, events). Every item carries the byte offset of its option in
//! [`RuleSource::text`], and the rule keeps its file and line.
//!
//! * [`engine`]: compilation ([`Engine::build`]), signature groups, prefilters and the
//!   inspection entry points the pipeline calls.
//!
//! ## Caps (see [`caps`])
//!
//! Rule length 8,191 bytes (Suricata's), file size 256 MiB, 2M rules per load, 1,024 options
//! per rule, variable nesting 16 with cycle detection, 16,384 expanded address/port elements,
//! group nesting 32, content 65,535 bytes, pcre match limit 3,500 / depth 1,500 / heap 20 MB
//! (Suricata's defaults, compiled into every expression), 8 pcre capture variables, 64 byte
//! variables, 64 names per flowbit group.
//!
//! Matching: inspection recursion 3,000 calls per buffer, 15 alerts per packet, 512 flowbits
//! and 128 flowints per flow, 64 transaction dedup records per flow, 65,536 threshold and
//! xbits entries per worker, 1,024 instances per multi-buffer, 16 MiB per transformed
//! buffer, 64 KiB of base64-decoded data, 1M entries per dataset, 64 port groups per bucket.
//! Hitting a matching cap is counted in [`EngineStats`], never an error.
//!
//! ## What must never happen
//!
//! No panic, unbounded allocation or unbounded time on any input: rule text, variables,
//! config files and every inspected byte are hostile. One bad rule never stops the others. A rule Suricata 7.0.10 loads
//! must load here (all 24,827 active ET Open 2024 rules do); a rule it rejects should be
//! rejected here with a reason.
//!
//! ## Known differences from Suricata
//!
//! * A line longer than 8,191 bytes is one failure here; Suricata cuts it into 8 KiB pieces
//!   and reports each piece.
//! * A file ending inside a `\`-continued rule is reported; Suricata drops it silently.
//! * Rare protocol keywords (modbus, mqtt, ike, ...) are kept verbatim in
//!   [`Rule::untyped`] without Suricata's value checks.
//! * `app-layer-event` names are not checked against each parser's event table (Suricata
//!   warns and loads unknown ones too).
//! * Matching differences are listed in [`engine`]'s docs.

#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod ast;
pub mod buffers;
pub mod caps;
pub mod config;
pub mod engine;
mod error;
pub mod events;
mod keywords;
pub mod loader;
pub mod netexpr;
mod num;
mod parse;
mod pcre;
pub mod ranges;
mod text;
mod values;
pub mod vars;

#[doc(hidden)]
pub mod fuzzing;

pub use ast::*;
pub use engine::{
    Alert, AlertSource, BuildInfo, Engine, EngineConfig, EngineStats, FlowMetadata, FlowState,
    FlowView, InspectStats, PacketView, ThreadState,
};
pub use error::RuleError;
pub use loader::{load_rule_files, load_rules_from_bytes, Failure, LoadReport, Skipped};
pub use parse::{features_off, parse_rule, Classifications, ParseContext, ParseOutcome};
pub use vars::Vars;

/// Parse one rule from a string with default variables (tests and tools).
pub fn parse_rule_str(text: &str) -> Result<Rule, RuleError> {
    let ctx = ParseContext::default();
    match parse_rule(
        text.as_bytes(),
        &ctx,
        std::sync::Arc::new(std::path::PathBuf::new()),
        1,
    ) {
        ParseOutcome::Rule(r) => Ok(r),
        ParseOutcome::Skipped(reason) => Err(RuleError::new("requires", reason)),
        ParseOutcome::Failed { error, .. } => Err(error),
    }
}
