//! The audit log: every decision on a scaling action, in SQLite. An
//! approval's row is committed with its intent before the call and gets its
//! outcome after; a row left without one (a crash between the two) is
//! reconciled at the next start from the live size.

use super::db::Db;
use super::error::Result;
use crate::domain::ScalingAction;
use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// How a decision ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Applied and read back.
    Applied,
    /// A safety rule stopped it (the detail names the rule).
    Refused,
    /// The call failed (the detail holds the AWS or Kubernetes error).
    Failed,
    /// The operator rejected the proposal (the detail is the reason).
    Rejected,
    /// Nobody can tell: the intent was recorded, then the process died and
    /// the live size could not be read afterwards.
    Unknown,
}

impl Outcome {
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Rejected => "rejected",
            Outcome::Unknown => "unknown",
        }
    }

    fn from_key(k: &str) -> Option<Outcome> {
        [
            Outcome::Applied,
            Outcome::Refused,
            Outcome::Failed,
            Outcome::Rejected,
            Outcome::Unknown,
        ]
        .into_iter()
        .find(|o| o.key() == k)
    }
}

/// One row of the audit log, as `nodecast audit --json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRow {
    /// Row number (the order decisions were taken in).
    #[serde(skip)]
    pub id: i64,
    pub at: DateTime<Utc>,
    pub cluster: String,
    pub node_group: String,
    pub action_id: String,
    /// The local user, and the AWS caller where one is known.
    pub operator: String,
    /// `approve` or `reject`.
    pub decision: String,
    /// `None` while the call runs.
    pub outcome: Option<Outcome>,
    pub from: u32,
    pub to: u32,
    /// The reason, the rule that refused, or the error.
    pub detail: String,
    pub finished_at: Option<DateTime<Utc>>,
    /// The action exactly as approved.
    #[serde(skip)]
    pub action: Option<ScalingAction>,
    /// The decision led to a write (its intent was recorded before a call).
    #[serde(skip)]
    pub wrote: bool,
}

impl AuditRow {
    /// The decision changed a group's size: applied, with a write (an
    /// approval found already in place wrote nothing).
    pub fn landed(&self) -> bool {
        self.outcome == Some(Outcome::Applied) && self.wrote
    }
}

/// Each node group's last write that landed among `rows` (when it finished).
pub fn last_writes(rows: &[AuditRow]) -> std::collections::BTreeMap<String, DateTime<Utc>> {
    let mut out = std::collections::BTreeMap::new();
    for r in rows.iter().filter(|r| r.landed()) {
        if let Some(t) = r.finished_at {
            let e = out.entry(r.node_group.clone()).or_insert(t);
            *e = (*e).max(t);
        }
    }
    out
}

/// The writes among `rows` that landed (an approval found already in place
/// wrote nothing): when each finished and the nodes it added. The runaway
/// guard counts them, in the executor and in the plan.
pub fn landed_applies(rows: &[AuditRow]) -> Vec<(DateTime<Utc>, u32)> {
    rows.iter()
        .filter(|r| r.landed())
        .filter_map(|r| Some((r.finished_at?, r.to.saturating_sub(r.from))))
        .collect()
}

/// A stored Unix time.
pub(super) fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl Db {
    /// Records a decision on `action`; `outcome` `None` records an intent,
    /// committed before the call it announces. Returns the row.
    pub fn audit_decision(
        &mut self,
        action: &ScalingAction,
        operator: &str,
        decision: &str,
        outcome: Option<Outcome>,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        let json = serde_json::to_string(action).unwrap_or_default();
        let action_id = action.id();
        self.conn.execute(
            "INSERT INTO audit(at, cluster, node_group, from_size, to_size, decision, outcome,
                               action_json, action_id, operator, detail, finished_at, wrote)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                at.timestamp(),
                action.cluster.0,
                action.node_group,
                action.from,
                action.to,
                decision,
                outcome.map(Outcome::key),
                json,
                action_id,
                operator,
                detail,
                outcome.map(|_| at.timestamp()),
                outcome.is_none(),
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records a change of a series' champion model version (`decision`
    /// `promote` or `rollback`; version 0 is the weekly models).
    #[allow(clippy::too_many_arguments)]
    pub fn audit_model(
        &mut self,
        cluster: &str,
        series: &str,
        decision: &str,
        from: Option<u32>,
        to: u32,
        operator: &str,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO audit(at, cluster, node_group, from_size, to_size, decision, outcome,
                               action_json, action_id, operator, detail, finished_at, wrote)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '', ?8, ?9, ?10, ?1, 0)",
            params![
                at.timestamp(),
                cluster,
                format!("model:{series}"),
                from.unwrap_or(0),
                to,
                decision,
                Outcome::Applied.key(),
                format!("v{to}"),
                operator,
                detail,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Adds the outcome to an intent row.
    pub fn audit_outcome(
        &mut self,
        row: i64,
        outcome: Outcome,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE audit SET outcome = ?1, detail = ?2, finished_at = ?3 WHERE id = ?4",
            params![outcome.key(), detail, at.timestamp(), row],
        )?;
        Ok(())
    }

    /// Rows since `since`, oldest first; one cluster's where `cluster` is given.
    pub fn audit_rows(&self, since: DateTime<Utc>, cluster: Option<&str>) -> Result<Vec<AuditRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, at, cluster, node_group, action_id, operator, decision, outcome,
                    from_size, to_size, detail, finished_at, action_json, wrote
             FROM audit WHERE at >= ?1 AND (?2 IS NULL OR cluster = ?2) ORDER BY id",
        )?;
        let rows = st.query_map(params![since.timestamp(), cluster], |r| {
            let outcome: Option<String> = r.get(7)?;
            let json: String = r.get(12)?;
            Ok(AuditRow {
                id: r.get(0)?,
                at: time(r.get(1)?),
                cluster: r.get(2)?,
                node_group: r.get(3)?,
                action_id: r.get(4)?,
                operator: r.get(5)?,
                decision: r.get(6)?,
                outcome: outcome.as_deref().and_then(Outcome::from_key),
                from: r.get(8)?,
                to: r.get(9)?,
                detail: r.get(10)?,
                finished_at: r.get::<_, Option<i64>>(11)?.map(time),
                action: serde_json::from_str(&json).ok(),
                wrote: r.get(13)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
    }

    /// Intent rows that never got an outcome (the process died between).
    pub fn audit_open(&self) -> Result<Vec<AuditRow>> {
        Ok(self
            .audit_rows(DateTime::<Utc>::MIN_UTC, None)?
            .into_iter()
            .filter(|r| r.outcome.is_none())
            .collect())
    }
}
