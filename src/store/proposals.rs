//! The proposals a listing showed (`nodecast actions`), kept so that an id
//! approved later, when the plan has moved on, is told superseded or
//! expired instead of unknown.

use super::audit::time;
use super::db::Db;
use super::error::Result;
use crate::domain::ScalingAction;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// A proposal as it was listed.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub action: ScalingAction,
    pub apply_by: DateTime<Utc>,
    pub listed_at: DateTime<Utc>,
}

const COLUMNS: &str = "action, apply_by, listed_at";

/// A row of [`COLUMNS`]; `None` where the stored action no longer reads.
fn listed(r: &rusqlite::Row) -> rusqlite::Result<Option<Listed>> {
    let (json, apply_by, listed_at): (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
    Ok(serde_json::from_str(&json).ok().map(|action| Listed {
        action,
        apply_by: time(apply_by),
        listed_at: time(listed_at),
    }))
}

impl Db {
    /// Remembers listed proposals (one transaction; a listed id keeps its
    /// latest listing time). Rows older than a week go.
    pub fn remember_proposals(
        &mut self,
        proposals: &[(ScalingAction, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO proposals(id, cluster, action, apply_by, listed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (a, apply_by) in proposals {
                let json = serde_json::to_string(a).unwrap_or_default();
                st.execute(params![
                    a.id(),
                    a.cluster.0,
                    json,
                    apply_by.timestamp(),
                    now.timestamp()
                ])?;
            }
            tx.execute(
                "DELETE FROM proposals WHERE listed_at < ?1",
                [(now - chrono::Duration::days(7)).timestamp()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The proposal listed under `id`, if one was.
    pub fn listed_proposal(&self, id: &str) -> Result<Option<Listed>> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM proposals WHERE id = ?1"),
                [id],
                listed,
            )
            .optional()?;
        Ok(row.flatten())
    }

    /// Proposals listed since `since`, oldest listing first.
    pub fn listed_proposals(&self, since: DateTime<Utc>) -> Result<Vec<Listed>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM proposals WHERE listed_at >= ?1 ORDER BY listed_at, id"
        ))?;
        let rows = st.query_map([since.timestamp()], listed)?;
        let mut out = Vec::new();
        for row in rows {
            out.extend(row?);
        }
        Ok(out)
    }
}
