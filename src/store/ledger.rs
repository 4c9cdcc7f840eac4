//! The forecast ledger: every forecast hour issued, scored against the
//! hour's mean once it is in, and folded into per-day scores past the
//! retention window so the table stays bounded.

use super::db::Db;
use super::error::Result;
use crate::domain::{ClusterForecast, ClusterId, SeriesKind};
use crate::forecast::accuracy::{ClusterAccuracy, GroupRow, LedgerRow, rows_of, summarize};
use crate::forecast::nodes::{NodesNeeded, PerUnit, whole_nodes};
use crate::plan::shortage::ShortageTarget;
use chrono::{DateTime, Duration, Utc};
use rusqlite::params;

/// One scored hour-ahead forecast: p50, p90 and the actual.
type Scored = (f64, f64, f64);

/// The tracker over `rows`' scored hour-ahead CPU demand forecasts.
fn cluster_sizing(rows: &[LedgerRow], target: f64, start: f64) -> ShortageTarget {
    let hours = rows.iter().filter_map(|r| {
        let hour_ahead = r.series == SeriesKind::CpuRequests && r.lead == 1;
        hour_ahead.then_some((r.p50, r.p90, r.actual?))
    });
    ShortageTarget::over_record(target, start, hours)
}

/// Days a forecast hour is kept whole before it is folded into its day's scores.
pub const RETENTION_DAYS: i64 = 90;
/// An hour is scored this long after it ends (late samples: CloudWatch
/// publishes minutes behind).
pub const SCORE_AFTER_SECS: i64 = 600;

/// One day of folded scores at one lead time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DayScore {
    pub day: DateTime<Utc>,
    /// Forecast hours scored that day.
    pub n: usize,
    /// MAPE in percent (hours with an actual of 0 left out).
    pub mape: Option<f64>,
    /// Share inside p10..p90.
    pub coverage: f64,
}

impl Db {
    /// Stores every hour of `forecasts` (issued for `cluster`). A forecast
    /// stored already (same series, issue time and lead) is left as it is.
    pub fn record_forecasts(
        &mut self,
        cluster: &str,
        forecasts: &ClusterForecast,
    ) -> Result<usize> {
        let rows: Vec<(LedgerRow, Option<PerUnit>)> = forecasts
            .values()
            .flat_map(rows_of)
            .map(|r| (r, None))
            .collect();
        self.insert_rows(cluster, &rows)
    }

    /// Stores node groups' nodes-needed forecast hours of `cluster` (left
    /// as they are when stored already).
    pub fn record_group_forecasts(&mut self, cluster: &str, rows: &[GroupRow]) -> Result<usize> {
        let rows: Vec<(LedgerRow, Option<PerUnit>)> =
            rows.iter().map(|g| (g.row.clone(), Some(g.per))).collect();
        self.insert_rows(cluster, &rows)
    }

    fn insert_rows(
        &mut self,
        cluster: &str,
        rows: &[(LedgerRow, Option<PerUnit>)],
    ) -> Result<usize> {
        let id = self.cluster_id(cluster)?;
        let tx = self.conn.transaction()?;
        let mut added = 0;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR IGNORE INTO forecasts
                    (cluster_id, series, model, member, node_group, issued_at, target_ts, horizon_h,
                     p10, p50, p90, per_core, per_gib)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for (r, per) in rows {
                added += st.execute(params![
                    id,
                    r.series.key(),
                    r.model,
                    r.member,
                    r.node_group,
                    r.issued_at.timestamp(),
                    r.target.timestamp(),
                    r.lead,
                    r.p10,
                    r.p50,
                    r.p90,
                    per.map(|p| p.per_core),
                    per.map(|p| p.per_gib)
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Scores the forecast hours of `cluster` that ended by `now` (less
    /// [`SCORE_AFTER_SECS`]) with the hour's mean of the stored samples.
    /// Returns how many were scored; an hour with no samples stays open.
    pub fn score_forecasts(&mut self, cluster: &str, now: DateTime<Utc>) -> Result<usize> {
        let id = self.cluster_id(cluster)?;
        let due = |db: &Db| -> Result<i64> {
            Ok(db.conn.query_row(
                "SELECT COUNT(*) FROM forecasts
                  WHERE cluster_id = ?1 AND actual IS NULL AND target_ts + 3600 + ?3 <= ?2",
                params![id, now.timestamp(), SCORE_AFTER_SECS],
                |r| r.get(0),
            )?)
        };
        let before = due(self)?;
        if before == 0 {
            return Ok(0);
        }
        self.conn.execute(
            "UPDATE forecasts SET actual = (
                SELECT AVG(s.value) FROM samples s
                 WHERE s.cluster_id = forecasts.cluster_id AND s.series = forecasts.series
                   AND s.ts >= forecasts.target_ts AND s.ts < forecasts.target_ts + 3600)
             WHERE cluster_id = ?1 AND actual IS NULL AND node_group = ''
               AND target_ts + 3600 + ?3 <= ?2",
            params![id, now.timestamp(), SCORE_AFTER_SECS],
        )?;
        self.score_group_forecasts(id, now)?;
        Ok((before - due(self)?) as usize)
    }

    /// Scores node groups' forecast hours that ended by `now`: the whole
    /// nodes the hour's mean CPU and memory requests need at the share
    /// each row was issued with. An hour missing either stays open.
    fn score_group_forecasts(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut due = tx.prepare_cached(
                "SELECT f.id, f.per_core, f.per_gib,
                        (SELECT AVG(s.value) FROM samples s
                          WHERE s.cluster_id = f.cluster_id AND s.series = ?4
                            AND s.ts >= f.target_ts AND s.ts < f.target_ts + 3600),
                        (SELECT AVG(s.value) FROM samples s
                          WHERE s.cluster_id = f.cluster_id AND s.series = ?5
                            AND s.ts >= f.target_ts AND s.ts < f.target_ts + 3600)
                   FROM forecasts f
                  WHERE f.cluster_id = ?1 AND f.actual IS NULL AND f.node_group != ''
                    AND f.target_ts + 3600 + ?3 <= ?2",
            )?;
            let rows = due.query_map(
                params![
                    id,
                    now.timestamp(),
                    SCORE_AFTER_SECS,
                    SeriesKind::CpuRequests.key(),
                    SeriesKind::MemRequests.key()
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<f64>>(1)?,
                        r.get::<_, Option<f64>>(2)?,
                        r.get::<_, Option<f64>>(3)?,
                        r.get::<_, Option<f64>>(4)?,
                    ))
                },
            )?;
            let mut set = tx.prepare_cached("UPDATE forecasts SET actual = ?2 WHERE id = ?1")?;
            for row in rows {
                let (row_id, per_core, per_gib, cores, gib) = row?;
                if let (Some(per_core), Some(per_gib), Some(cores), Some(gib)) =
                    (per_core, per_gib, cores, gib)
                {
                    let per = PerUnit { per_core, per_gib };
                    set.execute(params![row_id, whole_nodes(per.nodes(cores, gib)) as f64])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The ledger of `cluster` whose target hour is at or after `since`.
    pub fn ledger_rows(&self, cluster: &str, since: DateTime<Utc>) -> Result<Vec<LedgerRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT f.series, f.model, f.member, f.issued_at, f.target_ts, f.horizon_h,
                    f.p10, f.p50, f.p90, f.actual, f.node_group
               FROM forecasts f JOIN clusters c ON c.id = f.cluster_id
              WHERE c.name = ?1 AND f.target_ts >= ?2
              ORDER BY f.target_ts, f.horizon_h",
        )?;
        let rows = st.query_map(params![cluster, since.timestamp()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, u32>(5)?,
                (
                    r.get::<_, f64>(6)?,
                    r.get::<_, f64>(7)?,
                    r.get::<_, f64>(8)?,
                ),
                r.get::<_, Option<f64>>(9)?,
                r.get::<_, String>(10)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (series, model, member, issued, target, lead, (p10, p50, p90), actual, node_group) =
                row?;
            let (Some(series), Some(issued_at), Some(target)) = (
                SeriesKind::from_key(&series),
                DateTime::from_timestamp(issued, 0),
                DateTime::from_timestamp(target, 0),
            ) else {
                continue;
            };
            out.push(LedgerRow {
                series,
                model,
                member,
                issued_at,
                target,
                lead,
                p10,
                p50,
                p90,
                actual,
                node_group,
            });
        }
        Ok(out)
    }

    /// Folds every forecast hour whose target is older than `retention_days`
    /// before `now` into per-day scores (`forecast_days`) and deletes it.
    /// Returns how many hours were folded.
    pub fn fold_old_forecasts(&mut self, now: DateTime<Utc>, retention_days: i64) -> Result<usize> {
        let cutoff = (now - Duration::days(retention_days)).timestamp();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO forecast_days
                (cluster_id, series, node_group, day, horizon_h, n, ape_sum, ape_n, bias_sum, covered)
             SELECT cluster_id, series, node_group, target_ts / 86400, horizon_h,
                    COUNT(*),
                    TOTAL(CASE WHEN actual != 0 THEN ABS(p50 - actual) / ABS(actual) * 100 END),
                    COUNT(CASE WHEN actual != 0 THEN 1 END),
                    TOTAL(CASE WHEN actual != 0 THEN (p50 - actual) / ABS(actual) * 100 END),
                    COUNT(CASE WHEN actual BETWEEN p10 AND p90 THEN 1 END)
               FROM forecasts
              WHERE target_ts < ?1 AND actual IS NOT NULL
              GROUP BY cluster_id, series, node_group, target_ts / 86400, horizon_h
             ON CONFLICT (cluster_id, series, node_group, day, horizon_h) DO UPDATE SET
                n = n + excluded.n, ape_sum = ape_sum + excluded.ape_sum,
                ape_n = ape_n + excluded.ape_n, bias_sum = bias_sum + excluded.bias_sum,
                covered = covered + excluded.covered",
            [cutoff],
        )?;
        let folded = tx.execute("DELETE FROM forecasts WHERE target_ts < ?1", [cutoff])?;
        tx.commit()?;
        Ok(folded)
    }

    /// Per-day scores of `cluster`'s own `series` (not its node groups') at
    /// lead `horizon_h`, oldest first.
    pub fn daily_scores(
        &self,
        cluster: &str,
        series: SeriesKind,
        horizon_h: u32,
    ) -> Result<Vec<DayScore>> {
        let mut st = self.conn.prepare_cached(
            "SELECT d.day, d.n, d.ape_sum, d.ape_n, d.covered
               FROM forecast_days d JOIN clusters c ON c.id = d.cluster_id
              WHERE c.name = ?1 AND d.series = ?2 AND d.horizon_h = ?3 AND d.node_group = ''
              ORDER BY d.day",
        )?;
        let rows = st.query_map(params![cluster, series.key(), horizon_h], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (day, n, ape, ape_n, covered) = row?;
            let Some(at) = DateTime::from_timestamp(day * 86_400, 0) else {
                continue;
            };
            let mape = (ape_n > 0).then(|| ape / ape_n as f64);
            out.push(DayScore {
                day: at,
                n: n as usize,
                mape,
                coverage: covered as f64 / n.max(1) as f64,
            });
        }
        Ok(out)
    }
}

/// The ledger as the forecast job keeps it: stores what is issued, scores
/// what came in, folds what is past the retention window, and reads back a
/// cluster's record.
pub struct Ledger {
    db: Db,
    retention_days: i64,
}

impl Ledger {
    pub fn new(db: Db, retention_days: i64) -> Ledger {
        Ledger { db, retention_days }
    }

    /// Stores `forecasts` of `cluster` without reading its record back.
    pub fn store(&mut self, cluster: &str, forecasts: &ClusterForecast) -> Result<usize> {
        self.db.record_forecasts(cluster, forecasts)
    }

    /// Stores `cluster`'s node groups' nodes-needed forecast hours.
    pub fn store_groups(&mut self, cluster: &str, rows: &[GroupRow]) -> Result<usize> {
        self.db.record_group_forecasts(cluster, rows)
    }

    /// Stores `forecasts` (if any) of `cluster`, scores its hours that ended
    /// by `now`, and returns its record.
    pub fn keep(
        &mut self,
        cluster: &str,
        forecasts: Option<&ClusterForecast>,
        now: DateTime<Utc>,
    ) -> Result<ClusterAccuracy> {
        if let Some(f) = forecasts {
            self.db.record_forecasts(cluster, f)?;
        }
        self.db.score_forecasts(cluster, now)?;
        self.record(cluster, now)
    }

    /// `cluster`'s record at `now`: its ledger of the last 30 days.
    pub fn record(&self, cluster: &str, now: DateTime<Utc>) -> Result<ClusterAccuracy> {
        let rows = self.db.ledger_rows(cluster, now - Duration::days(30))?;
        Ok(summarize(&rows, now))
    }

    /// Per node group of `needs`: the sizing quantile for `target` learned
    /// over `cluster`'s last 30 days of scored hour-ahead CPU and memory
    /// request forecasts, read as that group's nodes (its share of the
    /// requests with `headroom`, over one node's allocatable, the larger of
    /// CPU and memory) and sized in whole nodes, as the plan sizes it.
    /// Hours missing either forecast or actual are left out. Returns the
    /// cluster's tracker too (over its scored hour-ahead CPU forecasts),
    /// from the same read.
    pub fn group_sizing(
        &self,
        cluster: &str,
        now: DateTime<Utc>,
        (target, start): (f64, f64),
        needs: &[NodesNeeded],
        headroom: f64,
    ) -> Result<(ShortageTarget, Vec<(String, ShortageTarget)>)> {
        let rows = self.db.ledger_rows(cluster, now - Duration::days(30))?;
        let mut hours: std::collections::BTreeMap<i64, [Option<Scored>; 2]> = Default::default();
        for r in rows.iter().filter(|r| r.lead == 1) {
            let slot = match r.series {
                SeriesKind::CpuRequests => 0,
                SeriesKind::MemRequests => 1,
                _ => continue,
            };
            if let Some(a) = r.actual {
                hours.entry(r.target.timestamp()).or_default()[slot] = Some((r.p50, r.p90, a));
            }
        }
        let both: Vec<(Scored, Scored)> = hours
            .values()
            .filter_map(|[c, m]| Some(((*c)?, (*m)?)))
            .collect();
        let groups = needs
            .iter()
            .map(|n| {
                let nodes = |cores: f64, gib: f64| n.nodes_at(cores, gib, headroom);
                let record = both
                    .iter()
                    .map(|(c, m)| (nodes(c.0, m.0), nodes(c.1, m.1), nodes(c.2, m.2)));
                (
                    n.node_group.clone(),
                    ShortageTarget::over_node_record(target, start, record),
                )
            })
            .collect();
        Ok((cluster_sizing(&rows, target, start), groups))
    }

    /// An audit row for an automatic change of champion model version.
    pub fn audit_model(
        &mut self,
        cluster: &str,
        series: &str,
        from: Option<u32>,
        to: u32,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<i64> {
        self.db
            .audit_model(cluster, series, "promote", from, to, "nodecast", detail, at)
    }

    /// The audit log's rows for `cluster` since `since` (the plan reads its
    /// recent applies from them: `audit::last_writes`, `audit::landed_applies`).
    pub fn audit_rows(
        &self,
        cluster: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<super::audit::AuditRow>> {
        self.db.audit_rows(since, Some(cluster))
    }

    /// Folds what is past the retention window; returns the hours folded.
    pub fn fold(&mut self, now: DateTime<Utc>) -> Result<usize> {
        self.db.fold_old_forecasts(now, self.retention_days)
    }
}

/// Stores `forecasts` of `id` and its node groups' forecast hours `groups`
/// in the shared ledger (under one lock), scores what came in by `now` and
/// returns the cluster's record (`None`, logged, when the ledger failed:
/// the forecast is shown all the same; node groups that fail to store are
/// logged and the rest goes on).
pub fn keep(
    ledger: &std::sync::Mutex<Ledger>,
    id: &ClusterId,
    forecasts: Option<&ClusterForecast>,
    groups: &[GroupRow],
    now: DateTime<Utc>,
) -> Option<ClusterAccuracy> {
    let mut l = ledger.lock().ok()?;
    if !groups.is_empty()
        && let Err(e) = l.store_groups(&id.0, groups)
    {
        tracing::warn!(cluster = %id, "forecast ledger, node groups: {e}");
    }
    match l.keep(&id.0, forecasts, now) {
        Ok(acc) => Some(acc),
        Err(e) => {
            tracing::warn!(cluster = %id, "forecast ledger: {e}");
            None
        }
    }
}
