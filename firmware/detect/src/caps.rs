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

// ---- matching engine (see `engine`) ----

/// Calls of the content inspection recursion allowed per buffer inspection. Suricata's
/// `detect.inspection-recursion-limit` default: bounds backtracking over repeated content
/// occurrences (`content:"a"; content:"b"; distance:0; within:1;` on "aaaa...").
pub const INSPECTION_RECURSION_LIMIT: u32 = 3000;

/// Alerts kept per packet: Suricata's `packet-alert-max` default. Further alerts are
/// discarded (counted), lowest-priority rules first.
pub const PACKET_ALERT_MAX: usize = 15;

/// Distinct flowbits set on one flow. The names come from the rule set (ET Open uses ~2,000
/// names in total, a flow rarely carries more than 10); 512 bounds a hostile rule set's
/// per-flow memory at 2 KiB.
pub const MAX_FLOWBITS_PER_FLOW: usize = 512;

/// Distinct flowint variables on one flow (same reasoning as flowbits; ET uses ~20 names).
pub const MAX_FLOWINTS_PER_FLOW: usize = 128;

/// Transactions per flow whose per-rule alert record is kept for dedup. Transactions are
/// inspected in order and rarely revisited; HTTP pipelining depth in practice is < 10. Older
/// records are dropped first (a re-inspection of such an old transaction could re-alert).
pub const MAX_TX_RECORDS_PER_FLOW: usize = 64;

/// Rules remembered as "already alerted" for one transaction and direction. ET Open rarely
/// fires more than a handful of rules on one transaction.
pub const MAX_ALERTED_RULES_PER_TX: usize = 256;

/// Instances of one multi-buffer (`dns.query` per question, `file.data` per file,
/// `tls.certs` per certificate) inspected per transaction. Suricata's DNS parser keeps at
/// most a few hundred questions; beyond 1,024 instances the rest are not inspected.
pub const MAX_BUFFER_INSTANCES: usize = 1024;

/// Largest transformed buffer kept (e.g. `url_decode` / `compress_whitespace` output), in
/// bytes. Transforms never grow a buffer by more than one byte (`dotprefix`), so this only
/// bounds what parsers hand over: 16 MiB, above Suricata's default body limits.
pub const MAX_TRANSFORM_BUFFER: usize = 16 * 1024 * 1024;

/// Entries in one thread's threshold/detection_filter table. Suricata's default
/// `host.memcap` (32 MiB) holds roughly this many host entries; when full, expired entries
/// are purged and, if none expired, the alert is let through uncounted (cap hit counted).
pub const MAX_THRESHOLD_ENTRIES: usize = 65_536;

/// Entries in one thread's xbits/hostbits table (same bound and policy as thresholds).
pub const MAX_XBITS_ENTRIES: usize = 65_536;

/// Default xbits expiry when a rule gives none, in seconds (Suricata's default).
pub const XBITS_DEFAULT_EXPIRE: u32 = 30;

/// Entries in one dataset or datarep when no `memcap` bounds it. Suricata's default
/// dataset memcap (16 MiB hash) holds about this many short strings.
pub const MAX_DATASET_ENTRIES: usize = 1_000_000;

/// Longest value stored in a `string` dataset, in bytes (Suricata hashes whole buffers; this
/// keeps one entry's memory bounded).
pub const MAX_DATASET_VALUE_LEN: usize = 65_535;

/// Largest dataset/datarep file read at load, in bytes.
pub const MAX_DATASET_FILE: u64 = 256 * 1024 * 1024;

/// Decoded bytes kept by `base64_decode`. Suricata decodes at most the inspected buffer;
/// 64 KiB bounds scratch memory for a hostile `bytes` value on a large body.
pub const MAX_BASE64_DECODED: usize = 65_536;

/// Port groups (signature group heads) per protocol/direction bucket. Suricata's "medium"
/// profile uses 25 toserver / 25 toclient groups; ports beyond the cap share a residual group
/// holding every rule of the bucket, which is slower but never misses a match.
pub const MAX_PORT_GROUPS: usize = 64;
