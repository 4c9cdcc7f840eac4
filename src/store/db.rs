//! SQLite storage: metric history, forecasts issued and the audit log.
//! WAL journal with full sync: a committed transaction survives a killed process.

use super::error::{Result, StoreError};
use crate::domain::{Sample, SeriesKind};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

/// Versioned migrations; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: history, forecasts issued, audit log.
    "CREATE TABLE clusters (
        id   INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
     );
     CREATE TABLE samples (
        cluster_id INTEGER NOT NULL REFERENCES clusters(id),
        series     TEXT NOT NULL,
        ts         INTEGER NOT NULL,
        value      REAL NOT NULL,
        PRIMARY KEY (cluster_id, series, ts)
     ) WITHOUT ROWID;
     CREATE TABLE forecasts (
        id         INTEGER PRIMARY KEY,
        cluster_id INTEGER NOT NULL REFERENCES clusters(id),
        series     TEXT NOT NULL,
        model      TEXT NOT NULL,
        issued_at  INTEGER NOT NULL,
        target_ts  INTEGER NOT NULL,
        horizon_h  INTEGER NOT NULL,
        p10 REAL NOT NULL, p50 REAL NOT NULL, p90 REAL NOT NULL
     );
     CREATE INDEX forecasts_by_target ON forecasts(cluster_id, series, target_ts);
     CREATE TABLE audit (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        cluster     TEXT NOT NULL,
        node_group  TEXT NOT NULL,
        from_size   INTEGER NOT NULL,
        to_size     INTEGER NOT NULL,
        decision    TEXT NOT NULL,
        outcome     TEXT,
        action_json TEXT NOT NULL
     );",
    // 2: the audit log's writer: who, which action, why, and when it ended.
    "ALTER TABLE audit ADD COLUMN action_id TEXT NOT NULL DEFAULT '';
     ALTER TABLE audit ADD COLUMN operator TEXT NOT NULL DEFAULT '';
     ALTER TABLE audit ADD COLUMN detail TEXT NOT NULL DEFAULT '';
     ALTER TABLE audit ADD COLUMN finished_at INTEGER;
     ALTER TABLE audit ADD COLUMN wrote INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX audit_by_time ON audit(at);",
    // v3: the proposals a listing showed, so an id approved later can be
    // told superseded or expired instead of unknown.
    "CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        cluster TEXT NOT NULL,
        action TEXT NOT NULL,
        apply_by INTEGER NOT NULL,
        listed_at INTEGER NOT NULL
     );
     CREATE INDEX proposals_by_time ON proposals(listed_at);",
    // v4: the forecast ledger. Each forecast hour names the member that
    // served it and gets its actual (the hour's mean) once that is in; past
    // the retention window, hours are folded into per-day scores.
    "ALTER TABLE forecasts ADD COLUMN member TEXT NOT NULL DEFAULT '';
     ALTER TABLE forecasts ADD COLUMN node_group TEXT NOT NULL DEFAULT '';
     ALTER TABLE forecasts ADD COLUMN actual REAL;
     CREATE UNIQUE INDEX forecasts_once
        ON forecasts(cluster_id, series, node_group, issued_at, horizon_h);
     CREATE INDEX forecasts_unscored ON forecasts(cluster_id, target_ts) WHERE actual IS NULL;
     CREATE TABLE forecast_days (
        cluster_id INTEGER NOT NULL REFERENCES clusters(id),
        series     TEXT NOT NULL,
        node_group TEXT NOT NULL,
        day        INTEGER NOT NULL,
        horizon_h  INTEGER NOT NULL,
        n          INTEGER NOT NULL,
        ape_sum    REAL NOT NULL,
        ape_n      INTEGER NOT NULL,
        bias_sum   REAL NOT NULL,
        covered    INTEGER NOT NULL,
        PRIMARY KEY (cluster_id, series, node_group, day, horizon_h)
     ) WITHOUT ROWID;",
    // v5: a node group's nodes-needed forecast hours keep what turned the
    // cluster's requests into its nodes when they were issued (nodes per
    // requested core and per GiB), so they are scored at that share.
    "ALTER TABLE forecasts ADD COLUMN per_core REAL;
     ALTER TABLE forecasts ADD COLUMN per_gib REAL;",
];

pub struct Db {
    pub(super) conn: Connection,
    path: PathBuf,
}

impl Db {
    /// Opens (creating it and its folder if needed) and migrates the database.
    pub fn open(path: &Path) -> Result<Db> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| StoreError::Folder {
                path: dir.to_path_buf(),
                error,
            })?;
        }
        let conn = Connection::open(path).map_err(|error| StoreError::Open {
            path: path.to_path_buf(),
            error,
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut db = Db {
            conn,
            path: path.to_path_buf(),
        };
        db.migrate().map_err(|error| StoreError::Migrate {
            path: path.to_path_buf(),
            error: Box::new(error),
        })?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<usize> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(v as usize)
    }

    fn migrate(&mut self) -> Result<()> {
        let have = self.schema_version()?;
        if have > MIGRATIONS.len() {
            return Err(StoreError::TooNew {
                have,
                known: MIGRATIONS.len(),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(have) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    pub(super) fn cluster_id(&self, name: &str) -> Result<i64> {
        self.conn
            .execute("INSERT OR IGNORE INTO clusters(name) VALUES (?1)", [name])?;
        Ok(self
            .conn
            .query_row("SELECT id FROM clusters WHERE name = ?1", [name], |r| {
                r.get(0)
            })?)
    }

    /// Stores samples in one transaction; a sample at an existing time replaces it.
    pub fn insert_samples(
        &mut self,
        cluster: &str,
        samples: &[(SeriesKind, Sample)],
    ) -> Result<()> {
        let id = self.cluster_id(cluster)?;
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO samples(cluster_id, series, ts, value) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (k, s) in samples {
                st.execute(params![id, k.key(), s.ts.timestamp(), s.value])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Samples of a cluster at or after `since`, oldest first.
    pub fn load_samples(
        &self,
        cluster: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<(SeriesKind, Sample)>> {
        let id: Option<i64> = self
            .conn
            .query_row("SELECT id FROM clusters WHERE name = ?1", [cluster], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(id) = id else { return Ok(Vec::new()) };
        let mut st = self.conn.prepare_cached(
            "SELECT series, ts, value FROM samples WHERE cluster_id = ?1 AND ts >= ?2 ORDER BY ts",
        )?;
        let rows = st.query_map(params![id, since.timestamp()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (series, ts, value) = row?;
            if let (Some(k), Some(ts)) = (
                SeriesKind::from_key(&series),
                DateTime::from_timestamp(ts, 0),
            ) {
                out.push((k, Sample { ts, value }));
            }
        }
        Ok(out)
    }

    /// Forgets a cluster's history, forecasts and audit rows (the demo fleet
    /// replays afresh, its clock starting at the same time each run).
    pub fn reset_cluster(&mut self, cluster: &str) -> Result<()> {
        let id = self.cluster_id(cluster)?;
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM samples WHERE cluster_id = ?1", [id])?;
        tx.execute("DELETE FROM forecasts WHERE cluster_id = ?1", [id])?;
        tx.execute("DELETE FROM forecast_days WHERE cluster_id = ?1", [id])?;
        tx.execute("DELETE FROM audit WHERE cluster = ?1", [cluster])?;
        tx.commit()?;
        Ok(())
    }
}
