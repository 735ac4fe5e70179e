//! Filters, policy actions and Declarations of Compromise: the data model of
//! `../shared/design/FIELD-NOTES.md` §2 (Stamus/Scirius), stored as JSON in the store's trees.

use serde::{Deserialize, Serialize};

/// Kill-chain phases, with Stamus' values (`pre_condition` is a policy violation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KillChain {
    /// -1: policy violation.
    PreCondition,
    /// 0.
    Reconnaissance,
    /// 1.
    Weaponization,
    /// 2.
    Delivery,
    /// 3.
    Exploitation,
    /// 4.
    Installation,
    /// 5.
    CommandAndControl,
    /// 6.
    ActionsOnObjectives,
}

impl KillChain {
    /// Every phase, in order.
    pub const ALL: [KillChain; 8] = [
        KillChain::PreCondition,
        KillChain::Reconnaissance,
        KillChain::Weaponization,
        KillChain::Delivery,
        KillChain::Exploitation,
        KillChain::Installation,
        KillChain::CommandAndControl,
        KillChain::ActionsOnObjectives,
    ];

    /// The stored value (`command_and_control`).
    pub fn value(self) -> &'static str {
        match self {
            KillChain::PreCondition => "pre_condition",
            KillChain::Reconnaissance => "reconnaissance",
            KillChain::Weaponization => "weaponization",
            KillChain::Delivery => "delivery",
            KillChain::Exploitation => "exploitation",
            KillChain::Installation => "installation",
            KillChain::CommandAndControl => "command_and_control",
            KillChain::ActionsOnObjectives => "actions_on_objectives",
        }
    }

    /// The step number (-1 to 6).
    pub fn step(self) -> i8 {
        self as i8 - 1
    }

    /// The label (`Command and Control`).
    pub fn label(self) -> &'static str {
        match self {
            KillChain::PreCondition => "Policy Violation",
            KillChain::Reconnaissance => "Reconnaissance",
            KillChain::Weaponization => "Weaponization",
            KillChain::Delivery => "Delivery",
            KillChain::Exploitation => "Exploitation",
            KillChain::Installation => "Installation",
            KillChain::CommandAndControl => "Command and Control",
            KillChain::ActionsOnObjectives => "Actions on Objectives",
        }
    }
}

impl std::str::FromStr for KillChain {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let k = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        KillChain::ALL
            .into_iter()
            .find(|c| c.value() == k || c.label().to_ascii_lowercase().replace(' ', "_") == k)
            .ok_or_else(|| {
                let all: Vec<&str> = KillChain::ALL.iter().map(|c| c.value()).collect();
                format!("kill-chain phase `{s}`: expected one of {}", all.join(", "))
            })
    }
}

/// How a threshold counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Track {
    /// Per source address.
    #[default]
    BySrc,
    /// Per destination address.
    ByDst,
}

/// Which events a threshold keeps (Suricata's threshold types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdKind {
    /// The first `count` events of each window.
    #[default]
    Limit,
    /// Every `count`-th event of a window.
    Threshold,
    /// One event per window, once `count` were seen.
    Both,
}

/// Tag values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagValue {
    /// Worth a look.
    Relevant,
    /// Context only.
    Informational,
}

/// What a DoC names as the attacked entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    /// An address.
    #[default]
    Ip,
    /// A user name.
    Username,
    /// A mail address.
    Mail,
}

/// A "create declaration" action (Scirius' `threat` action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declaration {
    /// Named threat (the dedup key with the asset).
    pub threat: String,
    /// Threat family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Kill-chain phase of the threat.
    pub kill_chain: KillChain,
    /// Field naming the offender (attacker).
    #[serde(default = "default_offender")]
    pub offender_key: String,
    /// Field naming the target (victim).
    #[serde(default = "default_target")]
    pub target_key: String,
    /// What the target value is.
    #[serde(default)]
    pub target_type: TargetType,
    /// Declare for the offender as an asset too.
    #[serde(default)]
    pub track_offender: bool,
    /// Declare for the target as an asset.
    #[serde(default = "yes")]
    pub track_target: bool,
    /// Notify the configured webhooks of each new declaration.
    #[serde(default = "yes")]
    pub webhook: bool,
}

fn default_offender() -> String {
    "src_ip".into()
}
fn default_target() -> String {
    "dest_ip".into()
}
fn yes() -> bool {
    true
}

/// A policy action, applied to every event the filter matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Drop the event.
    Suppress,
    /// Keep only some events per window and tracked address.
    Threshold {
        /// Address to count by.
        track: Track,
        /// Events per window.
        count: u32,
        /// Window length.
        seconds: u32,
        /// Which events to keep.
        #[serde(default)]
        kind: ThresholdKind,
    },
    /// Tag the event.
    Tag {
        /// The tag.
        tag: TagValue,
    },
    /// Tag the event and keep it whatever later actions say.
    Tagkeep {
        /// The tag.
        tag: TagValue,
    },
    /// Declaration of Compromise.
    Doc(Declaration),
    /// Declaration of Policy Violation.
    Dopv(Declaration),
    /// Send the event to the webhooks.
    Notify,
}

impl Action {
    /// The action's name as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Suppress => "suppress",
            Action::Threshold { .. } => "threshold",
            Action::Tag { .. } => "tag",
            Action::Tagkeep { .. } => "tagkeep",
            Action::Doc(_) => "doc",
            Action::Dopv(_) => "dopv",
            Action::Notify => "notify",
        }
    }

    /// The declaration, for DoC and DoPV actions.
    pub fn declaration(&self) -> Option<(DocKind, &Declaration)> {
        match self {
            Action::Doc(d) => Some((DocKind::Doc, d)),
            Action::Dopv(d) => Some((DocKind::Dopv, d)),
            _ => None,
        }
    }
}

/// A stored hunt filter, optionally with a policy action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Unique name.
    pub name: String,
    /// The query.
    pub query: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Policy action (none: a saved hunt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Applied in the live path.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Order among filters (lower first).
    #[serde(default)]
    pub index: i64,
    /// When it was created (EVE time format, wall clock).
    #[serde(default)]
    pub created: String,
    /// Days of archive a DoC action is applied to when created (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retro_days: Option<u32>,
}

/// DoC or DoPV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// Declaration of Compromise.
    Doc,
    /// Declaration of Policy Violation.
    Dopv,
}

/// Where a declaration was first made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// By the live path.
    Live,
    /// By a retro-hunt over the archive.
    Retro,
}

/// A Declaration of Compromise (or Policy Violation): one per (asset, named threat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    /// Unique id.
    pub id: u64,
    /// DoC or DoPV.
    pub kind: DocKind,
    /// The asset declared compromised (or violating).
    pub asset: String,
    /// Whether the asset is the target (victim) or the offender.
    pub asset_role: String,
    /// Named threat.
    pub threat: String,
    /// Family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Kill-chain phase.
    pub kill_chain: KillChain,
    /// The first offender seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offender: Option<String>,
    /// The first target seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Target type.
    pub target_type: TargetType,
    /// Filter that declared it.
    pub filter: String,
    /// Time of the first evidence event (EVE format) and in µs.
    pub first_seen: String,
    /// µs of `first_seen`.
    pub first_seen_us: i64,
    /// Time of the newest evidence event.
    pub last_seen: String,
    /// µs of `last_seen`.
    pub last_seen_us: i64,
    /// Evidence events.
    pub count: u64,
    /// The first evidence events (archive refs `BLOCK:INDEX`), at most [`MAX_DOC_SAMPLE`].
    pub evidence: Vec<String>,
    /// Live or retro.
    pub origin: Origin,
    /// Wall-clock creation time.
    pub created: String,
}

/// Evidence refs kept inside a DoC record (all are in the evidence tree).
pub const MAX_DOC_SAMPLE: usize = 16;
