//! The specification of a hunt filter and its policy action, as an analyst writes it: the
//! flags of `probed filter add` and `probectl filter push` (one definition, so the two can
//! never drift), sent as is to the probe, which validates and builds the filter.

use clap::Args;
use serde::{Deserialize, Serialize};

/// A filter as specified on a command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Args)]
pub struct FilterSpec {
    /// Unique name (letters, digits, `.`, `_`, `-`); an existing filter of that name is
    /// replaced.
    #[arg(long)]
    pub name: String,
    /// The query; or take it from `--from-set`.
    #[arg(value_name = "FILTER", required_unless_present = "from_set")]
    pub filter: Option<String>,
    /// Start from a predefined filter set (its query and description).
    #[arg(long, value_name = "SET")]
    pub from_set: Option<String>,
    /// What the filter is for.
    #[arg(long)]
    pub description: Option<String>,
    /// The policy action.
    #[arg(long, value_enum)]
    pub action: Option<ActionKind>,
    /// Order among filters (lower runs first).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub index: i64,
    /// Store it disabled (not applied in the live path).
    #[arg(long)]
    pub disabled: bool,
    /// doc/dopv: the named threat.
    #[arg(long)]
    pub threat: Option<String>,
    /// doc/dopv: the threat family.
    #[arg(long)]
    pub family: Option<String>,
    /// doc/dopv: kill-chain phase (reconnaissance, weaponization, delivery, exploitation,
    /// installation, command_and_control, actions_on_objectives, pre_condition).
    #[arg(long)]
    pub kill_chain: Option<String>,
    /// doc/dopv: field naming the offender (attacker).
    #[arg(long, default_value = "src_ip")]
    pub offender: String,
    /// doc/dopv: field naming the target (victim).
    #[arg(long, default_value = "dest_ip")]
    pub target: String,
    /// doc/dopv: what the target is.
    #[arg(long, value_enum, default_value = "ip")]
    pub target_type: TargetTypeKind,
    /// doc/dopv: also declare the offender as an asset.
    #[arg(long)]
    pub track_offender: bool,
    /// doc/dopv: do not declare the target as an asset.
    #[arg(long)]
    pub no_track_target: bool,
    /// doc/dopv: do not notify webhooks of new declarations.
    #[arg(long)]
    pub no_webhook: bool,
    /// tag/tagkeep: the tag.
    #[arg(long, value_enum)]
    pub tag: Option<TagKind>,
    /// threshold: count per source or destination address.
    #[arg(long, value_enum, default_value = "by-src")]
    pub track: TrackKind,
    /// threshold: events per window.
    #[arg(long)]
    pub count: Option<u32>,
    /// threshold: window length in seconds.
    #[arg(long)]
    pub seconds: Option<u32>,
    /// threshold: which events are kept (limit: the first COUNT; threshold: every COUNT-th;
    /// both: one once COUNT were seen).
    #[arg(long, value_enum, default_value = "limit")]
    pub threshold_type: ThresholdKind,
    /// doc/dopv: how far back to apply the new filter to the archive (`60d`, `12h`).
    #[arg(long, value_name = "DUR", default_value = "60d")]
    pub retro: String,
    /// doc/dopv: do not apply it to the archive.
    #[arg(long)]
    pub no_retro: bool,
}

/// `--action` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Drop matching events.
    Suppress,
    /// Keep a number of matching events per window.
    Threshold,
    /// Tag matching events.
    Tag,
    /// Tag matching events and drop the others (for alerts).
    Tagkeep,
    /// Declaration of Compromise.
    Doc,
    /// Declaration of Policy Violation.
    Dopv,
    /// Notify webhooks of each match.
    Notify,
}

/// `--target-type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TargetTypeKind {
    /// An IP address.
    Ip,
    /// A user name.
    Username,
    /// A mail address.
    Mail,
}

/// `--tag` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TagKind {
    /// Worth an analyst's look.
    Relevant,
    /// Context only.
    Informational,
}

/// `--track` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    /// Per source address.
    BySrc,
    /// Per destination address.
    ByDst,
}

/// `--threshold-type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdKind {
    /// The first COUNT per window.
    Limit,
    /// Every COUNT-th.
    Threshold,
    /// One per window once COUNT were seen.
    Both,
}
