//! Named caps on every input-driven quantity of the rule front end.
//!
//! Each cap has the number's reason next to it. Hitting a cap rejects the rule (or the config
//! line) with a reason naming the cap; nothing grows without bound and nothing panics.

/// Longest logical rule (after joining continuation lines), in bytes. Suricata reads rules into
/// an 8192-byte buffer (`DETECT_MAX_RULE_SIZE`, NUL included) and cannot load anything longer;
/// the longest ET Open 2024 rule is 3,301 bytes.
pub const MAX_RULE_LEN: usize = 8191;

/// Largest rule or config file read, in bytes. ET Open's biggest file is ~5 MiB; 256 MiB bounds
/// memory on a hostile path while leaving room for large private rule sets.
pub const MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// Most rules (loaded or failed) accepted from one `load_rule_files` call. ET Open plus ET Pro
/// is ~100k rules; 2M bounds the report and the rule vector.
pub const MAX_RULES_PER_LOAD: usize = 2_000_000;

/// Most options `(kw:value; ...)` in one rule. The rule text cap already bounds this at ~4k;
/// 1,024 is far above the ET Open maximum (~70) and keeps per-rule work small.
pub const MAX_OPTIONS_PER_RULE: usize = 1024;

/// Deepest chain of variable references (`$A` -> `$B` -> ...). Suricata's own default vars nest
/// two deep; 16 allows layered site configs and stops cycles early.
pub const MAX_VAR_DEPTH: usize = 16;

/// Most address or port elements produced while expanding one header field (after variable
/// substitution). Stops `A=[$B,$B]`, `B=[$C,$C]`, ... exponential blow-ups; a real HOME_NET
/// rarely has more than a few hundred elements.
pub const MAX_EXPANDED_ELEMENTS: usize = 16_384;

/// Deepest `[` nesting in an address or port group. Suricata has no explicit limit but deep
/// nesting only arises from hostile input; 32 is far above real use (2-3).
pub const MAX_GROUP_NESTING: usize = 32;

/// Longest content pattern after unescaping, in bytes. Suricata stores content lengths in a
/// `u16`; the rule text cap keeps real patterns far below this.
pub const MAX_CONTENT_LEN: usize = 65_535;

/// Match limit applied to every compiled pcre (`(*LIMIT_MATCH=...)`), as Suricata's
/// `pcre.match-limit: 3500` default. Bounds backtracking of catastrophic patterns like `(a+)+$`.
pub const PCRE_MATCH_LIMIT: u32 = 3500;

/// Depth (recursion) limit applied to every compiled pcre (`(*LIMIT_DEPTH=...)`), as Suricata's
/// `pcre.match-limit-recursion: 1500` default.
pub const PCRE_DEPTH_LIMIT: u32 = 1500;

/// Heap limit for one pcre match, in KiB (`(*LIMIT_HEAP=...)`): 20 MiB like PCRE2's own
/// default, stated explicitly so the interpreter's memory is bounded even if the library default
/// changes.
pub const PCRE_HEAP_LIMIT_KIB: u32 = 20_000;

/// Most capture variables named by one pcre (`pkt:a,flow:b`). Suricata allows 8
/// (`DETECT_PCRE_CAPTURE_MAX`).
pub const MAX_PCRE_CAPTURES: usize = 8;

/// Most `byte_extract`/`byte_math` variables in one rule. Suricata's per-rule limit on
/// byte_extract variables is far lower in practice; 64 bounds lookups.
pub const MAX_BYTE_VARS: usize = 64;

/// Most names in one flowbits `a|b|c` or `a&b&c` group. Suricata 7.0.10 accepts at least 9;
/// ET Open uses at most 3; 64 keeps per-rule work small.
pub const MAX_FLOWBIT_GROUP: usize = 64;

/// Most lines in a classification/reference/threshold config file. Real files have < 100.
pub const MAX_CONFIG_LINES: usize = 1_000_000;

/// Most entries in a `metadata` option. ET Open rules carry up to ~15 pairs.
pub const MAX_METADATA_ENTRIES: usize = 256;
