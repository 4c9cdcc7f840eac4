//! The safety rules every change passes, whoever asks (the dashboard or the
//! command line): checked in the executor against the live size read just
//! before the write. Pure: the action, the live state, the limits, the
//! recent applies and the time in; every rule's verdict out.

use crate::domain::{ScaleReason, ScalingAction};
use crate::plan::scaling::ChangeLimits;
use crate::store::audit::{AuditRow, landed_applies, last_writes};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// What one node group may do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limits {
    /// The group's bounds.
    pub min: u32,
    pub max: u32,
    /// The cluster's cap, step rule and cooldown.
    pub change: ChangeLimits,
    /// Whether an autoscaler (Cluster Autoscaler, Karpenter) runs in the
    /// cluster: a scale-in then only lowers the floor it keeps, and removes
    /// no node itself.
    pub autoscaler: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min: 0,
            max: u32::MAX,
            change: ChangeLimits::default(),
            autoscaler: false,
        }
    }
}

/// The runaway guard of one cluster.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Runaway {
    /// Applies per hour at most.
    pub applies_per_hour: u32,
    /// Nodes added per hour at most.
    pub nodes_per_hour: u32,
}

impl Default for Runaway {
    fn default() -> Self {
        Runaway {
            applies_per_hour: crate::plan::scaling::MAX_APPLIES_PER_HOUR,
            nodes_per_hour: crate::plan::scaling::MAX_SCALE_OUT_STEP,
        }
    }
}

/// What was applied recently: the group's last apply, and the cluster's
/// applies of the last hour (when, nodes added).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recent {
    pub group_last_applied: Option<DateTime<Utc>>,
    pub cluster_applies: Vec<(DateTime<Utc>, u32)>,
}

impl Recent {
    /// From a cluster's audit rows: the writes that landed (an approval
    /// found already in place wrote nothing), `node_group`'s last one.
    pub fn from_rows(rows: &[AuditRow], node_group: &str) -> Recent {
        Recent {
            group_last_applied: last_writes(rows).get(node_group).copied(),
            cluster_applies: landed_applies(rows),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The cluster's actions mode allows writes (and `--read-only` is off).
    Writable,
    /// The live size is still the one the operator approved from.
    Unchanged,
    WithinBounds,
    UnderMaxNodes,
    Step,
    Cooldown,
    Runaway,
    /// A forecast alone never removes capacity.
    NoForecastRemoval,
    /// The hour the change was for has not long passed.
    NotExpired,
}

/// A proposal expires this long after the hour it was for began: its
/// apply-by time plus the plan's lead time plus this hour.
pub const EXPIRES_AFTER: Duration = Duration::hours(1);

/// Whether `action` is past its use at `now`.
pub fn expired(action: &ScalingAction, now: DateTime<Utc>) -> bool {
    now > action.at + EXPIRES_AFTER
}

impl Rule {
    pub fn label(self) -> &'static str {
        match self {
            Rule::Writable => "writes allowed",
            Rule::Unchanged => "unchanged since proposed",
            Rule::WithinBounds => "within min/max",
            Rule::UnderMaxNodes => "under max_nodes",
            Rule::Step => "step",
            Rule::Cooldown => "cooldown",
            Rule::Runaway => "runaway guard",
            Rule::NoForecastRemoval => "no removal on a forecast alone",
            Rule::NotExpired => "not expired",
        }
    }
}

/// One rule's verdict, with the figures behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub rule: Rule,
    pub ok: bool,
    pub detail: String,
}

/// Every rule on `action` given the `live` size read just before the write.
pub fn checks(
    action: &ScalingAction,
    live: u32,
    writable: Result<(), String>,
    limits: &Limits,
    runaway: &Runaway,
    recent: &Recent,
    now: DateTime<Utc>,
) -> Vec<Check> {
    let (from, to) = (action.from, action.to);
    let check = |rule, ok, detail: String| Check { rule, ok, detail };
    let mut out = Vec::new();
    out.push(check(
        Rule::NotExpired,
        !expired(action, now),
        if expired(action, now) {
            format!(
                "expired: it was for {}, over an hour ago",
                action.at.format("%Y-%m-%d %H:%M")
            )
        } else {
            format!("for {}", action.at.format("%H:%M"))
        },
    ));
    out.push(match writable {
        Ok(()) => check(Rule::Writable, true, "actions mode approve".into()),
        Err(why) => check(Rule::Writable, false, why),
    });
    out.push(check(
        Rule::Unchanged,
        live == from,
        if live == from {
            format!("live size {live}")
        } else {
            format!("changed since proposed: {from} -> {live} now")
        },
    ));
    let inside = (limits.min..=limits.max).contains(&to);
    out.push(check(
        Rule::WithinBounds,
        inside,
        format!(
            "{to} {} {}–{}",
            if inside { "in" } else { "outside" },
            limits.min,
            limits.max
        ),
    ));
    if let Some(cap) = limits.change.max_nodes {
        out.push(check(
            Rule::UnderMaxNodes,
            to <= cap,
            format!(
                "{to} {} max_nodes {cap}",
                if to <= cap { "within" } else { "over" }
            ),
        ));
    }
    let step = crate::plan::scaling::step_limit(from, to, limits.change.max_step);
    let moved = to.abs_diff(from);
    out.push(check(
        Rule::Step,
        moved <= step,
        if moved <= step {
            format!("{moved} nodes of at most {step} per action")
        } else {
            format!("{moved} nodes is more than {step} per action")
        },
    ));
    let cooldown = match recent.group_last_applied {
        Some(t) if now - t < limits.change.cooldown => {
            let left = limits.change.cooldown - (now - t);
            check(
                Rule::Cooldown,
                false,
                format!("cooldown {} min left", (left.num_seconds() + 59) / 60),
            )
        }
        _ => check(
            Rule::Cooldown,
            true,
            format!(
                "{} min since the last apply",
                limits.change.cooldown.num_minutes()
            ),
        ),
    };
    out.push(cooldown);
    let (before, added_before) = crate::plan::scaling::hour_up_to(&recent.cluster_applies, now);
    let added = added_before + to.saturating_sub(from);
    let applies = before + 1;
    out.push(check(
        Rule::Runaway,
        applies <= runaway.applies_per_hour && added <= runaway.nodes_per_hour,
        format!(
            "{applies} of {} applies and {added} of {} nodes added this hour",
            runaway.applies_per_hour, runaway.nodes_per_hour
        ),
    ));
    // Lowering a size on the forecast alone would remove nodes; where an
    // autoscaler runs, lowering the floor it keeps removes none.
    let removes = to < from
        && !limits.autoscaler
        && matches!(
            action.reason,
            ScaleReason::BandBelow
                | ScaleReason::ForecastAbove
                | ScaleReason::Ramp
                | ScaleReason::Hold
        );
    out.push(check(
        Rule::NoForecastRemoval,
        !removes,
        if to >= from {
            "adds capacity".into()
        } else if limits.autoscaler {
            "lowers the autoscaler's floor; it removes nodes under its own rules".into()
        } else {
            "would remove nodes on a forecast alone".into()
        },
    ));
    out
}

/// Why an approval of `action` stops before any rule is checked, given the
/// current plan's actions: expired (the hour it was for has long passed),
/// or superseded (a newer plan no longer holds it), naming what the plan
/// proposes for the group now.
pub fn outdated(
    action: &ScalingAction,
    current: &[&ScalingAction],
    now: DateTime<Utc>,
) -> Option<String> {
    if expired(action, now) {
        return Some(format!(
            "expired: it was for {}, over an hour ago",
            action.at.format("%Y-%m-%d %H:%M")
        ));
    }
    if current.contains(&action) {
        return None;
    }
    let now_proposed = current
        .iter()
        .find(|a| a.cluster == action.cluster && a.node_group == action.node_group);
    Some(match now_proposed {
        Some(a) => format!(
            "superseded: the plan for {} now proposes {} -> {} for {} (id {})",
            a.node_group,
            a.from,
            a.to,
            a.at.format("%H:%M"),
            a.id()
        ),
        None => format!(
            "superseded: the plan no longer proposes a change to {}",
            action.node_group
        ),
    })
}

/// The first rule that fails, if any.
pub fn refusal(checks: &[Check]) -> Option<&Check> {
    checks.iter().find(|c| !c.ok)
}
