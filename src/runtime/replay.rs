//! `nodecast replay`: the live loop on a fake clock over one series. Hour
//! by hour, as the forecast job does: the hour that ended arrives as a
//! sample, the ledger scores what it can, a challenger is trained and
//! judged when due (daily or on drift) and promoted only when it wins, the
//! champion issues the 48-hour forecast into the ledger, and the
//! target-sizing rule sizes the next hour. The ledger is an in-memory
//! database and the models a folder of its own, so nothing of the user's
//! is touched.

use super::retrain::Retrainer;
use crate::domain::{ClusterForecast, HourlySeries, Sample, SeriesKind};
use crate::forecast::Forecaster;
use crate::forecast::accuracy::{LEADS, LedgerRow, Score, summarize};
use crate::forecast::champion::CONTEST_STEP;
use crate::forecast::features::Calendar;
use crate::forecast::horizon::{HORIZON_HOURS, o_min, origins};
use crate::forecast::live::EnsembleForecaster;
use crate::plan::scaling::{DEFAULT_QUANTILE, at_quantile};
use crate::plan::shortage::ShortageTarget;
use crate::store::db::Db;
use crate::store::models::ModelDir;
use anyhow::{Result, bail};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// The ledger's cluster name for the replayed series.
const CLUSTER: &str = "replay";
/// The series kind the replayed values are stored as (demand).
const KIND: SeriesKind = SeriesKind::CpuRequests;
/// Minutes into the hour at which the loop scores (the live refresh runs
/// some minutes into the hour; the ledger scores an hour 10 min after it ends).
const REFRESH_MINUTES: i64 = 15;
/// Nodes the series' busiest hour needs, for the target-sizing rule (the
/// protocol's `simulate --peak-nodes 40`).
const PEAK_NODES: f64 = 40.0;

/// How models are retrained during the replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Retraining {
    /// Daily challengers (and on drift), promoted only when they win.
    Champion,
    /// The learned models refit on each week of history, no contest (what
    /// `backtest` measures).
    Weekly,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeadScore {
    pub mape: Option<f64>,
    pub coverage80: Option<f64>,
    pub n: usize,
}

impl From<Score> for LeadScore {
    fn from(s: Score) -> Self {
        LeadScore {
            mape: s.mape,
            coverage80: s.coverage,
            n: s.n,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PromotionRow {
    pub at: DateTime<Utc>,
    pub model: String,
    pub champion_score: Option<f64>,
    pub challenger_score: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sizing {
    pub target: f64,
    pub realized: Option<f64>,
    pub mean_quantile: Option<f64>,
    pub final_quantile: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplayReport {
    pub series: String,
    /// Hours replayed (forecasts issued).
    pub hours: usize,
    pub retrain: Retraining,
    /// The ledger's scores by lead time over every hourly forecast.
    pub scores: BTreeMap<String, LeadScore>,
    /// The same, over the forecasts issued at the backtest protocol's origins.
    pub protocol: BTreeMap<String, LeadScore>,
    pub contests: usize,
    pub promotions: Vec<PromotionRow>,
    /// Each contest as a line (promoted or rejected, with its scores).
    pub log: Vec<String>,
    pub sizing: Sizing,
}

/// What to replay.
pub struct ReplayOptions<'a> {
    pub name: &'a str,
    /// Hours to replay, the last ones of the series (default: from the
    /// protocol's first origin on).
    pub hours: Option<usize>,
    pub retrain: Retraining,
    pub target_shortage: f64,
    pub calendar: &'a Calendar,
    /// A fresh folder for the replay's models.
    pub models_dir: &'a Path,
}

/// Replays `series` hour by hour (see the module's comment).
pub fn replay(series: &HourlySeries, opt: &ReplayOptions) -> Result<ReplayReport> {
    let Some(start) = series.start else {
        bail!("{}: no data", opt.name);
    };
    let n = series.values.len();
    if series.hours_present() < 48 || n < 2 * HORIZON_HOURS {
        bail!(
            "{}: {} hours of data; replay needs at least 96 hours",
            opt.name,
            series.hours_present()
        );
    }
    let first = n - opt
        .hours
        .unwrap_or(n - o_min(n))
        .clamp(1, n - HORIZON_HOURS);
    let models = Arc::new(ModelDir::open(opt.models_dir, Vec::new())?);
    let forecaster = EnsembleForecaster::with_models(opt.calendar, models.clone());
    let retrainer = (opt.retrain == Retraining::Champion).then(|| Retrainer::new(models));
    let mut db = Db::open(Path::new(":memory:"))?;
    let hour = |i: usize| start + Duration::hours(i as i64);
    let sample = |i: usize| {
        Some((
            KIND,
            Sample {
                ts: hour(i),
                value: series.values[i]?,
            },
        ))
    };
    db.insert_samples(CLUSTER, &(0..first).filter_map(sample).collect::<Vec<_>>())?;
    // Sized in nodes of a group whose busiest hour needs PEAK_NODES, as
    // `simulate` is run by the protocol.
    let peak = series
        .values
        .iter()
        .flatten()
        .fold(0.0_f64, |a, v| a.max(*v));
    let node = (peak / PEAK_NODES).max(f64::MIN_POSITIVE);
    let mut sizing = ShortageTarget::new(opt.target_shortage, DEFAULT_QUANTILE);
    let mut sized: Option<f64> = None;
    let (mut contests, mut promotions, mut log) = (0, Vec::new(), Vec::new());
    for o in first..n {
        let origin = hour(o);
        let now = origin + Duration::minutes(REFRESH_MINUTES);
        if o > first {
            db.insert_samples(CLUSTER, &sample(o - 1).into_iter().collect::<Vec<_>>())?;
            if let (Some(size), Some(need)) = (sized, series.values[o - 1]) {
                sizing.observe(size / node, need / node);
            }
        }
        db.score_forecasts(CLUSTER, now)?;
        let visible = BTreeMap::from([(
            KIND,
            HourlySeries {
                start: Some(start),
                values: series.values[..o].to_vec(),
            },
        )]);
        if let Some(r) = &retrainer {
            // The drift check reads the ledger's last 30 days: every few hours.
            let acc = ((o - first) as i64 % CONTEST_STEP == 0)
                .then(|| db.ledger_rows(CLUSTER, now - Duration::days(30)))
                .transpose()?
                .map(|rows| summarize(&rows, now));
            let series_acc = acc.as_ref().and_then(|a| a.get(&KIND));
            if let Some(done) = r.retrain(&forecaster, CLUSTER, KIND, &visible, series_acc, now) {
                contests += 1;
                log.push(format!(
                    "{} {}",
                    origin.format("%Y-%m-%d %H:%M"),
                    done.describe()
                ));
                if let Some(p) = &done.promotion {
                    promotions.push(PromotionRow {
                        at: origin,
                        model: format!("v{}", p.to.version),
                        champion_score: p.to.champion_mape,
                        challenger_score: p.to.challenger_mape,
                    });
                }
            }
        }
        let pin = retrainer
            .as_ref()
            .and_then(|r| r.pins(CLUSTER).remove(&KIND));
        let Some(fc) =
            forecaster.forecast_pinned(KIND, &visible, origin, HORIZON_HOURS, pin.as_ref())
        else {
            bail!("{}: no model could forecast at {origin}", opt.name);
        };
        sized = fc
            .points
            .first()
            .map(|p| at_quantile(p.p50, p.p90, sizing.quantile));
        db.record_forecasts(CLUSTER, &ClusterForecast::from([(KIND, fc)]))?;
    }
    db.insert_samples(CLUSTER, &sample(n - 1).into_iter().collect::<Vec<_>>())?;
    if let (Some(size), Some(need)) = (sized, series.values[n - 1]) {
        sizing.observe(size / node, need / node);
    }
    db.score_forecasts(CLUSTER, hour(n) + Duration::hours(1))?;
    let rows = db.ledger_rows(CLUSTER, start)?;
    let protocol: BTreeSet<DateTime<Utc>> = origins(n).into_iter().map(hour).collect();
    Ok(ReplayReport {
        series: opt.name.to_string(),
        hours: n - first,
        retrain: opt.retrain,
        scores: by_lead(rows.iter()),
        protocol: by_lead(rows.iter().filter(|r| protocol.contains(&r.issued_at))),
        contests,
        promotions,
        log,
        sizing: Sizing {
            target: sizing.target,
            realized: sizing.realized(),
            mean_quantile: sizing.mean_quantile(),
            final_quantile: sizing.quantile,
        },
    })
}

/// Scores at the scored lead times.
fn by_lead<'a>(rows: impl Iterator<Item = &'a LedgerRow> + Clone) -> BTreeMap<String, LeadScore> {
    LEADS
        .iter()
        .map(|l| {
            let at = rows.clone().filter(|r| r.lead == *l);
            (l.to_string(), Score::of(at).into())
        })
        .collect()
}
