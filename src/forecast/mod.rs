//! Forecasting: pure functions from hourly history to banded forecasts.

pub mod backtest;
pub mod ensemble;
pub mod features;
pub mod learned;
pub mod live;
pub mod lstm;
pub mod members;
pub mod nodes;
pub mod persist;
pub mod season;
pub mod trees;

use crate::domain::{Forecast, HourlySeries, SeriesKind};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Hours ahead that every forecast covers.
pub const HORIZON_HOURS: usize = 48;

/// Turns a series' hourly history into a forecast of the hours from `origin` on.
/// Pure: no I/O, no clock reads.
pub trait Forecaster: Send + Sync {
    /// Model name as shown on screen.
    fn name(&self) -> &str;
    /// Forecast of hours `origin .. origin + hours`, from the history before `origin`.
    fn forecast(
        &self,
        series: SeriesKind,
        history: &HourlySeries,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Option<Forecast>;
    /// The same forecast with the cluster's other series at hand
    /// (`cluster` holds every series of the cluster, `series` among them).
    fn forecast_in(
        &self,
        series: SeriesKind,
        cluster: &BTreeMap<SeriesKind, HourlySeries>,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Option<Forecast> {
        self.forecast(series, cluster.get(&series)?, origin, hours)
    }
}

/// The cluster's series before `origin`, hour-aligned with `target` (the
/// prepared series being forecast): each filled, held flat past its ends.
pub fn cluster_context(
    target: &Prepared,
    cluster: &BTreeMap<SeriesKind, HourlySeries>,
    origin: DateTime<Utc>,
) -> features::ClusterContext {
    let aligned = |kind: SeriesKind| -> Option<Vec<f64>> {
        let p = Prepared::before(cluster.get(&kind)?, Some(origin))?;
        if p.hours_observed() == 0 || p.y.is_empty() {
            return None;
        }
        let last = p.y.len() as i64 - 1;
        Some(
            (0..target.y.len() as i64)
                .map(|i| p.y[(i + target.start_hour - p.start_hour).clamp(0, last) as usize])
                .collect(),
        )
    };
    features::ClusterContext {
        nodes: aligned(SeriesKind::Nodes),
        pods: aligned(SeriesKind::Pods),
        pending: aligned(SeriesKind::PendingPods),
        cpu_usage: aligned(SeriesKind::CpuUsage),
        cpu_requests: aligned(SeriesKind::CpuRequests),
        batch: aligned(SeriesKind::BatchPods),
        background: aligned(SeriesKind::BackgroundPods),
    }
}

/// A history made ready for the members: gaps interpolated, which hours were
/// observed (filled ones are never scored), and the unix hour of its start.
pub struct Prepared {
    pub y: Vec<f64>,
    pub observed: Vec<bool>,
    pub start_hour: i64,
}

impl Prepared {
    /// The hours of `history` before `origin` (all of them without one).
    pub fn before(history: &HourlySeries, origin: Option<DateTime<Utc>>) -> Option<Prepared> {
        let start = history.start?;
        let n = origin
            .map(|o| (o - start).num_hours().max(0) as usize)
            .unwrap_or(usize::MAX)
            .min(history.values.len());
        let values = &history.values[..n];
        Some(Prepared {
            y: backtest::interpolate(values),
            observed: values.iter().map(|v| v.is_some()).collect(),
            start_hour: start.timestamp() / 3600,
        })
    }

    pub fn hours_observed(&self) -> usize {
        self.observed.iter().filter(|o| **o).count()
    }
}

/// A hash of a history and its start, keying cached member forecasts and models.
pub fn fingerprint(y: &[f64], start_hour: i64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325 ^ start_hour as u64;
    for v in y {
        h = (h ^ v.to_bits()).wrapping_mul(0x100000001b3);
    }
    h ^ y.len() as u64
}

/// Empirical quantile (linear interpolation) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Start of the hour that contains `now`: the first hour not yet complete.
pub fn origin_for(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(now.timestamp().div_euclid(3600) * 3600, 0).unwrap_or(now)
}

/// Warnings about the amount of history, at AWS predictive scaling's thresholds.
pub fn history_warnings(hours: usize) -> Vec<String> {
    if hours < 24 {
        vec![format!(
            "only {hours} h of history: forecast unreliable (needs 24 h)"
        )]
    } else if hours < 14 * 24 {
        vec![format!(
            "{:.1} days of history: weekly pattern not learnt (needs 14 days)",
            hours as f64 / 24.0
        )]
    } else {
        Vec::new()
    }
}

/// Confidence 0-100 from the band's mean relative half-width `r` (sharpness
/// `1 / (1 + 5r)`) and the evidence behind it (validation origins out of 28,
/// history out of 14 days): `100 * sharpness * (0.5 + 0.5 * evidence)`.
pub fn confidence(
    points: &[crate::domain::ForecastPoint],
    validation_origins: usize,
    history_hours: usize,
) -> u8 {
    if points.is_empty() {
        return 0;
    }
    let r = points
        .iter()
        .map(|p| {
            if p.p50 > 1e-9 {
                (p.p90 - p.p10) / (2.0 * p.p50)
            } else {
                1.0
            }
        })
        .sum::<f64>()
        / points.len() as f64;
    let sharpness = 1.0 / (1.0 + 5.0 * r.max(0.0));
    let evidence = (validation_origins as f64 / 28.0).min(1.0)
        * (history_hours as f64 / 336.0).min(1.0).sqrt();
    (100.0 * sharpness * (0.5 + 0.5 * evidence))
        .round()
        .clamp(0.0, 100.0) as u8
}

/// Sum of hourly series; an hour is present only where every series has it.
pub fn sum_series(series: &[&HourlySeries]) -> HourlySeries {
    use std::collections::BTreeMap;
    let mut acc: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    for s in series {
        for (ts, v) in s.points() {
            let e = acc.entry(ts.timestamp() / 3600).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    let full: BTreeMap<i64, (f64, u32)> = acc
        .into_iter()
        .filter(|(_, (_, n))| *n == series.len())
        .map(|(h, (v, _))| (h, (v, 1)))
        .collect();
    crate::series_csv::hourly_from_sums(&full)
}

/// Fleet total of forecasts issued at the same hour. Quantiles are added,
/// which bounds the total's band from outside (exact if demand moves together).
pub fn sum_forecasts(fs: &[&Forecast]) -> Option<Forecast> {
    let first = fs.first()?;
    if fs
        .iter()
        .any(|f| f.issued_at != first.issued_at || f.points.len() != first.points.len())
    {
        return None;
    }
    let points = (0..first.points.len())
        .map(|i| {
            let mut p = first.points[i];
            for f in &fs[1..] {
                p.p10 += f.points[i].p10;
                p.p50 += f.points[i].p50;
                p.p90 += f.points[i].p90;
            }
            p
        })
        .collect();
    let mut warnings: Vec<String> = Vec::new();
    for f in fs {
        if !f.warnings.is_empty() {
            warnings.push("some clusters have short history".into());
            break;
        }
    }
    Some(Forecast {
        series: first.series,
        issued_at: first.issued_at,
        model: first
            .model
            .split(" (")
            .next()
            .unwrap_or(&first.model)
            .to_string(),
        points,
        history_hours: fs.iter().map(|f| f.history_hours).min().unwrap_or(0),
        warnings,
        confidence: fs.iter().map(|f| f.confidence).min().unwrap_or(0),
        mix: Vec::new(),
    })
}
