//! The proposals a listing showed (`nodecast actions`), kept so that an id
//! approved later, when the plan has moved on, is told superseded or
//! expired instead of unknown.

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

fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
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
                "SELECT action, apply_by, listed_at FROM proposals WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.and_then(|(json, apply_by, listed_at)| {
            Some(Listed {
                action: serde_json::from_str(&json).ok()?,
                apply_by: time(apply_by),
                listed_at: time(listed_at),
            })
        }))
    }

    /// Proposals listed since `since`, oldest listing first.
    pub fn listed_proposals(&self, since: DateTime<Utc>) -> Result<Vec<Listed>> {
        let mut st = self.conn.prepare_cached(
            "SELECT action, apply_by, listed_at FROM proposals WHERE listed_at >= ?1
             ORDER BY listed_at, id",
        )?;
        let rows = st.query_map([since.timestamp()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, apply_by, listed_at) = row?;
            if let Ok(action) = serde_json::from_str(&json) {
                out.push(Listed {
                    action,
                    apply_by: time(apply_by),
                    listed_at: time(listed_at),
                });
            }
        }
        Ok(out)
    }
}
