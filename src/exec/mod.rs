//! Acting on a plan: the executor every approval and rejection goes
//! through, whoever asks (the dashboard or the command line). It enforces
//! read-only mode itself, checks every safety rule against the live size
//! read just before the write, records the intent in the audit log before
//! the call and the outcome after, and reads the size back.

pub mod asg;
pub mod demo;
pub mod eks;
pub mod headroom;
pub mod live;
pub mod rules;

use crate::domain::{ClusterId, ScalingAction};
pub use crate::plan::scaling::ChangeLimits;
use crate::store::audit::Outcome;
use crate::store::db::Db;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rules::{Check, Limits, Recent, Runaway};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Why an actuator could not read or change a group.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExecError {
    /// The target has no such node group.
    #[error("{0}")]
    NoSuchGroup(String),
    /// The call failed: the AWS or Kubernetes error text.
    #[error("{0}")]
    Call(String),
}

/// A node group as its actuator reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LiveSize {
    /// The size the group is asked to have (desired; the demo's node count).
    pub desired: u32,
    /// The group's own bounds.
    pub min: u32,
    pub max: u32,
    /// The floor nodecast set (where an autoscaler keeps the size; the
    /// headroom pods where those keep it).
    pub floor: Option<u32>,
    /// The node count nodecast's last change was for, where the target
    /// records it (the headroom Deployment's annotation).
    pub target: Option<u32>,
}

impl LiveSize {
    /// From the sizes an AWS API reports (negative or missing read as 0);
    /// where an autoscaler keeps the size, the min is nodecast's floor.
    pub fn from_api(
        min: Option<i32>,
        max: Option<i32>,
        desired: Option<i32>,
        autoscaler: bool,
    ) -> Self {
        let size = |v: Option<i32>| v.unwrap_or(0).max(0) as u32;
        LiveSize {
            desired: size(desired),
            min: size(min),
            max: size(max),
            floor: autoscaler.then(|| size(min)),
            target: None,
        }
    }

    /// The (min, desired) a change to `to` writes: where an autoscaler runs
    /// the floor moves (min to the target, desired to at least it, no node
    /// removed); otherwise the desired size is set.
    pub fn change_to(&self, to: u32, autoscaler: bool) -> (u32, u32) {
        if autoscaler {
            (to, self.desired.max(to))
        } else {
            (self.min, to)
        }
    }

    /// Whether this read-back shows a change to `to` in place.
    pub fn shows(&self, to: u32, autoscaler: bool) -> bool {
        if autoscaler {
            self.min == to && self.desired >= to
        } else {
            self.desired == to
        }
    }
}

/// What applies a change to one kind of node group.
#[async_trait]
pub trait Actuator: Send + Sync {
    /// The call a change makes, as the confirmation names it.
    fn call(&self) -> &'static str;
    /// Whether an autoscaler keeps the group's size: a change then moves
    /// the floor it keeps, and it adds or removes the nodes itself.
    fn autoscaler(&self) -> bool;
    async fn live(&self, cluster: &ClusterId, node_group: &str) -> Result<LiveSize, ExecError>;
    /// Applies `to`, given the size the operator's approval was checked against.
    async fn apply(
        &self,
        cluster: &ClusterId,
        node_group: &str,
        seen: &LiveSize,
        to: u32,
    ) -> Result<(), ExecError>;
    /// Whether `read_back` shows the change to `to` in place.
    fn landed(&self, read_back: &LiveSize, to: u32) -> bool;
    /// Who the calls run as (the AWS caller's ARN), for the audit log.
    async fn caller(&self) -> Option<String> {
        None
    }
}

/// A cluster's actions mode (`[cluster.actions] mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionsMode {
    /// Proposals are shown; approving says read-only.
    Off,
    Approve,
}

/// A live cluster's `[cluster.actions]` and where its node groups live.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionSettings {
    pub mode: ActionsMode,
    /// `max_nodes`, `max_step`, `cooldown_minutes`.
    pub change: ChangeLimits,
    pub autoscaler: bool,
    /// Headroom pods in this namespace apply approvals, not the node groups.
    pub headroom_namespace: Option<String>,
}

impl Default for ActionSettings {
    fn default() -> Self {
        ActionSettings {
            mode: ActionsMode::Off,
            change: ChangeLimits::default(),
            autoscaler: true,
            headroom_namespace: None,
        }
    }
}

/// How a decision ended, with every rule's verdict where they were checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub action_id: String,
    pub outcome: Outcome,
    pub detail: String,
    pub checks: Vec<Check>,
    pub at: DateTime<Utc>,
}

impl Decision {
    pub fn new(
        action_id: String,
        outcome: Outcome,
        detail: String,
        checks: Vec<Check>,
        at: DateTime<Utc>,
    ) -> Self {
        Decision {
            action_id,
            outcome,
            detail,
            checks,
            at,
        }
    }
}

/// One cluster the executor may act on.
pub struct Target {
    pub mode: ActionsMode,
    pub actuator: Arc<dyn Actuator>,
    /// The cluster's cap, step rule and cooldown.
    pub change: ChangeLimits,
}

pub struct Executor {
    db: Mutex<Db>,
    targets: BTreeMap<ClusterId, Target>,
    runaway: Runaway,
    /// `--read-only`: every cluster off, whatever its mode.
    read_only: bool,
    operator: String,
}

impl Executor {
    pub fn new(db: Db, operator: &str, read_only: bool) -> Self {
        Executor {
            db: Mutex::new(db),
            targets: BTreeMap::new(),
            runaway: Runaway::default(),
            read_only,
            operator: operator.to_string(),
        }
    }

    pub fn with_target(mut self, cluster: ClusterId, target: Target) -> Self {
        self.targets.insert(cluster, target);
        self
    }

    pub fn with_runaway(mut self, runaway: Runaway) -> Self {
        self.runaway = runaway;
        self
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether writes are allowed on `cluster`, and if not, why.
    pub fn writable(&self, cluster: &ClusterId) -> Result<(), String> {
        if self.read_only {
            return Err("read-only: --read-only turns every cluster's actions off".into());
        }
        match self.targets.get(cluster).map(|t| t.mode) {
            Some(ActionsMode::Approve) => Ok(()),
            Some(ActionsMode::Off) => Err(format!(
                "read-only: [cluster.actions] mode is off for {cluster}"
            )),
            None => Err(format!(
                "read-only: {cluster} is not a cluster of this fleet"
            )),
        }
    }

    /// What was applied lately: the group's last apply and the cluster's
    /// applies of the last hour, from the audit log.
    /// The rows reach back over the cooldown and the runaway guard's hour.
    fn recent(&self, action: &ScalingAction, cooldown: Duration, now: DateTime<Utc>) -> Recent {
        let since = now - cooldown.max(Duration::hours(1));
        let rows = self
            .db()
            .audit_rows(since, Some(&action.cluster.0))
            .unwrap_or_default();
        Recent::from_rows(&rows, &action.node_group)
    }

    fn record(
        &self,
        action: &ScalingAction,
        outcome: Outcome,
        detail: String,
        checks: Vec<Check>,
        now: DateTime<Utc>,
    ) -> Decision {
        let id = action.id();
        let decision = if outcome == Outcome::Rejected {
            "reject"
        } else {
            "approve"
        };
        if let Err(e) = self.db().audit_decision(
            action,
            &self.operator,
            decision,
            Some(outcome),
            &detail,
            now,
        ) {
            tracing::error!("audit log: {e}");
        }
        Decision::new(id, outcome, detail, checks, now)
    }

    /// The audit log's rows for `cluster` since `since`.
    pub fn audit(
        &self,
        cluster: &ClusterId,
        since: DateTime<Utc>,
    ) -> Vec<crate::store::audit::AuditRow> {
        self.db()
            .audit_rows(since, Some(&cluster.0))
            .unwrap_or_else(|e| {
                tracing::error!("audit log: {e}");
                Vec::new()
            })
    }

    /// The call an approval makes on `cluster`, and the limits it is held
    /// to there (the group's bounds are read live at each approval).
    pub fn actuator(&self, cluster: &ClusterId) -> Option<(&'static str, Limits)> {
        let t = self.targets.get(cluster)?;
        Some((
            t.actuator.call(),
            Limits {
                change: t.change,
                autoscaler: t.actuator.autoscaler(),
                ..Limits::default()
            },
        ))
    }

    /// The operator rejects a proposal, with a reason.
    pub fn reject(&self, action: &ScalingAction, reason: &str, now: DateTime<Utc>) -> Decision {
        self.record(
            action,
            Outcome::Rejected,
            reason.to_string(),
            Vec::new(),
            now,
        )
    }

    /// An approval stopped before any rule (the proposal expired or was
    /// superseded): a `refused` row with the reason.
    pub fn refuse(&self, action: &ScalingAction, why: &str, now: DateTime<Utc>) -> Decision {
        self.record(action, Outcome::Refused, why.to_string(), Vec::new(), now)
    }

    /// The operator approves `action`: every rule against the live size, the
    /// intent in the audit log, the call, the read-back, the outcome.
    pub async fn approve(&self, action: &ScalingAction, now: DateTime<Utc>) -> Decision {
        let writable = self.writable(&action.cluster);
        let Some(target) = self.targets.get(&action.cluster) else {
            let why = writable.err().unwrap_or_default();
            return self.record(action, Outcome::Refused, why, Vec::new(), now);
        };
        let seen = match target
            .actuator
            .live(&action.cluster, &action.node_group)
            .await
        {
            Ok(s) => s,
            Err(e) => return self.record(action, Outcome::Failed, e.to_string(), Vec::new(), now),
        };
        let limits = Limits {
            min: seen.min,
            max: seen.max,
            change: target.change,
            autoscaler: target.actuator.autoscaler(),
        };
        let recent = self.recent(action, target.change.cooldown, now);
        let can_write = writable.is_ok();
        let checks = rules::checks(
            action,
            seen.desired,
            writable,
            &limits,
            &self.runaway,
            &recent,
            now,
        );
        // Already there: nothing to write.
        if can_write && seen.desired == action.to {
            let detail = format!("already at {}: nothing to do", action.to);
            return self.record(action, Outcome::Applied, detail, checks, now);
        }
        if let Some(c) = rules::refusal(&checks) {
            let detail = c.detail.clone();
            return self.record(action, Outcome::Refused, detail, checks, now);
        }
        let id = action.id();
        let operator = match target.actuator.caller().await {
            Some(arn) => format!("{} ({arn})", self.operator),
            None => self.operator.clone(),
        };
        let row = match self.db().audit_decision(
            action,
            &operator,
            "approve",
            None,
            &format!(
                "{} {} -> {}",
                target.actuator.call(),
                action.from,
                action.to
            ),
            now,
        ) {
            Ok(r) => r,
            Err(e) => {
                // No write without its intent on record.
                let detail = format!("audit log unavailable, nothing applied: {e}");
                return Decision::new(id, Outcome::Failed, detail, checks, now);
            }
        };
        let result = target
            .actuator
            .apply(&action.cluster, &action.node_group, &seen, action.to)
            .await;
        let (outcome, detail) = match result {
            Err(e) => (Outcome::Failed, e.to_string()),
            Ok(()) => match target
                .actuator
                .live(&action.cluster, &action.node_group)
                .await
            {
                Ok(back) if target.actuator.landed(&back, action.to) => (
                    Outcome::Applied,
                    format!(
                        "{} {} -> {}, read back",
                        target.actuator.call(),
                        action.from,
                        action.to
                    ),
                ),
                Ok(back) => (
                    Outcome::Failed,
                    format!("read back {back:?}, not {}", action.to),
                ),
                Err(e) => (
                    Outcome::Failed,
                    format!("applied, but cannot read back: {e}"),
                ),
            },
        };
        if let Err(e) = self.db().audit_outcome(row, outcome, &detail, now) {
            tracing::error!("audit log: {e}");
        }
        Decision::new(id, outcome, detail, checks, now)
    }

    /// Gives every intent row left without an outcome (the process died
    /// between the intent and the result) its outcome from the live size:
    /// `applied` where the group shows the target, `failed` where it still
    /// shows the size the change started from (the write never landed),
    /// `unknown` where it shows neither or cannot be read. The audit log is
    /// never left open-ended.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Vec<(String, Outcome)> {
        let open = self.db().audit_open().unwrap_or_default();
        let mut out = Vec::new();
        for row in open {
            let cluster = ClusterId(row.cluster.clone());
            let target = self.targets.get(&cluster);
            let live = match target {
                Some(t) => Some(t.actuator.live(&cluster, &row.node_group).await),
                None => None,
            };
            let (outcome, detail) = match (live, target) {
                (Some(Ok(l)), Some(t)) if t.actuator.landed(&l, row.to) => (
                    Outcome::Applied,
                    format!("reconciled after a restart: the group is at {}", row.to),
                ),
                (Some(Ok(l)), Some(t)) if t.actuator.landed(&l, row.from) => (
                    Outcome::Failed,
                    format!(
                        "reconciled after a restart: not applied, the group is still at {}",
                        row.from
                    ),
                ),
                (Some(Ok(l)), _) => (
                    Outcome::Unknown,
                    format!(
                        "reconciled after a restart: the group reads {} (not {})",
                        l.desired, row.to
                    ),
                ),
                (Some(Err(e)), _) => (
                    Outcome::Unknown,
                    format!("reconciled after a restart: cannot read the group: {e}"),
                ),
                (None, _) => (
                    Outcome::Unknown,
                    "reconciled after a restart: no actuator for the cluster".to_string(),
                ),
            };
            if let Err(e) = self.db().audit_outcome(row.id, outcome, &detail, now) {
                tracing::error!("audit log: {e}");
            }
            out.push((row.action_id.clone(), outcome));
        }
        out
    }
}

/// The operator's name for the audit log: the local user.
pub fn local_operator() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}
