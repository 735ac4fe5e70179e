//! Builds a stored [`Filter`] from a [`FilterSpec`] (the `filter add` / `filter push`
//! flags). The probe runs this for local and remote requests alike, so a filter is validated
//! in one place: its query against the field catalog, its action's required values, its
//! offender and target fields.

use mgmt_proto::filter::{
    ActionKind, FilterSpec, TagKind, TargetTypeKind, ThresholdKind as SpecThreshold, TrackKind,
};
use types::Timestamp;

use crate::model::{Action, Declaration, TagValue, TargetType, ThresholdKind, Track};
use crate::{Filter, HuntError, KillChain};

fn invalid(msg: impl Into<String>) -> HuntError {
    HuntError::Invalid(msg.into())
}

/// The filter a spec describes, created at `now_secs`. Fails naming the flag at fault.
pub fn build(spec: &FilterSpec, now_secs: u64) -> Result<Filter, HuntError> {
    crate::check_name(&spec.name)?;
    let set = match &spec.from_set {
        Some(n) => Some(crate::sets::get(n).ok_or_else(|| {
            invalid(format!(
                "--from-set `{n}`: no such filter set (see `probed filter sets`)"
            ))
        })?),
        None => None,
    };
    let query = match (&spec.filter, &set) {
        (Some(q), _) => q.clone(),
        (None, Some(s)) => s.query.clone(),
        (None, None) => return Err(invalid("give a FILTER or --from-set")),
    };
    if let Err(e) = crate::parse_query(&query) {
        return Err(invalid(format!(
            "{e}\n  {query}\n  {}^",
            " ".repeat(e.column.saturating_sub(1))
        )));
    }
    let action = build_action(spec)?;
    let retro_days = if spec.no_retro {
        None
    } else {
        let d = mgmt_proto::units::parse_duration(&spec.retro)
            .map_err(|e| invalid(format!("--retro: {e}")))?;
        Some(
            u32::try_from(d.as_secs().div_ceil(86_400))
                .unwrap_or(u32::MAX)
                .max(1),
        )
    };
    Ok(Filter {
        name: spec.name.clone(),
        query,
        description: spec
            .description
            .clone()
            .or_else(|| set.as_ref().map(|s| s.description.clone()))
            .unwrap_or_default(),
        action,
        enabled: !spec.disabled,
        index: spec.index,
        created: Timestamp::from_secs_nanos(now_secs, 0).to_eve_string(),
        retro_days,
    })
}

fn build_action(a: &FilterSpec) -> Result<Option<Action>, HuntError> {
    let Some(kind) = a.action else {
        return Ok(None);
    };
    let tag = || -> Result<TagValue, HuntError> {
        Ok(
            match a
                .tag
                .ok_or_else(|| invalid("--action tag/tagkeep needs --tag"))?
            {
                TagKind::Relevant => TagValue::Relevant,
                TagKind::Informational => TagValue::Informational,
            },
        )
    };
    let decl = |default_phase: Option<KillChain>| -> Result<Declaration, HuntError> {
        let threat = a
            .threat
            .clone()
            .ok_or_else(|| invalid("--action doc/dopv needs --threat NAME"))?;
        let kill_chain = match (&a.kill_chain, default_phase) {
            (Some(k), _) => k
                .parse::<KillChain>()
                .map_err(|e| invalid(format!("--kill-chain: {e}")))?,
            (None, Some(p)) => p,
            (None, None) => return Err(invalid("--action doc needs --kill-chain PHASE")),
        };
        for (flag, f) in [("--offender", &a.offender), ("--target", &a.target)] {
            crate::fields::check(f).map_err(|e| invalid(format!("{flag}: {e}")))?;
        }
        Ok(Declaration {
            threat,
            family: a.family.clone(),
            kill_chain,
            offender_key: a.offender.clone(),
            target_key: a.target.clone(),
            target_type: match a.target_type {
                TargetTypeKind::Ip => TargetType::Ip,
                TargetTypeKind::Username => TargetType::Username,
                TargetTypeKind::Mail => TargetType::Mail,
            },
            track_offender: a.track_offender,
            track_target: !a.no_track_target,
            webhook: !a.no_webhook,
        })
    };
    Ok(Some(match kind {
        ActionKind::Suppress => Action::Suppress,
        ActionKind::Threshold => Action::Threshold {
            track: match a.track {
                TrackKind::BySrc => Track::BySrc,
                TrackKind::ByDst => Track::ByDst,
            },
            count: a
                .count
                .ok_or_else(|| invalid("--action threshold needs --count N"))?,
            seconds: a
                .seconds
                .ok_or_else(|| invalid("--action threshold needs --seconds N"))?,
            kind: match a.threshold_type {
                SpecThreshold::Limit => ThresholdKind::Limit,
                SpecThreshold::Threshold => ThresholdKind::Threshold,
                SpecThreshold::Both => ThresholdKind::Both,
            },
        },
        ActionKind::Tag => Action::Tag { tag: tag()? },
        ActionKind::Tagkeep => Action::Tagkeep { tag: tag()? },
        ActionKind::Doc => Action::Doc(decl(None)?),
        ActionKind::Dopv => Action::Dopv(decl(Some(KillChain::PreCondition))?),
        ActionKind::Notify => Action::Notify,
    }))
}
