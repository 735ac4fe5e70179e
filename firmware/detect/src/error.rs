//! The one error type of the front end: which keyword failed and why, in one line.

use std::fmt;

/// A rule (or config line) the front end rejects.
///
/// `keyword` names the option that failed (`"content"`, `"pcre"`), or a header part
/// (`"action"`, `"protocol"`, `"source address"`, ...), or `"rule"` for structural problems.
/// `reason` is one line, without the rule text, suitable for `file:line` error reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Keyword or header part that failed.
    pub keyword: String,
    /// One-line human reason.
    pub reason: String,
}

impl RuleError {
    /// Build an error for `keyword` with `reason`.
    pub fn new(keyword: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut reason: String = reason.into();
        // Keep the reason on one line whatever the input contained.
        if reason.contains(['\n', '\r']) {
            reason = reason.replace(['\n', '\r'], " ");
        }
        RuleError {
            keyword: keyword.into(),
            reason,
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.keyword.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.keyword, self.reason)
        }
    }
}

impl std::error::Error for RuleError {}

/// Shorthand used across the crate.
pub(crate) type Result<T> = std::result::Result<T, RuleError>;

/// Build a `RuleError` with `format!` arguments.
macro_rules! rerr {
    ($kw:expr, $($arg:tt)*) => {
        $crate::error::RuleError::new($kw, format!($($arg)*))
    };
}
pub(crate) use rerr;

/// Render untrusted bytes for an error message: lossy UTF-8, control characters escaped,
/// truncated to 80 characters so a message stays one short line.
pub(crate) fn show(bytes: &[u8]) -> String {
    const MAX_SHOWN: usize = 80;
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n >= MAX_SHOWN {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.push_str(&c.escape_default().to_string());
        } else {
            out.push(c);
        }
    }
    out
}
