//! Features for the learned members, built from the hours before an origin.
//! Values are relative to the last day's mean level, so one model serves a
//! series whatever its scale, and a tree can extrapolate a level change.

use super::prepared::Prepared;
use crate::domain::{HourlySeries, SeriesKind};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use std::collections::BTreeMap;

/// Feature count; bump [`FEATURES_VERSION`] when the features change.
pub const FEATURES: usize = 21;
/// Part of every saved tree model's key, so a model of older features is
/// never loaded for newer ones.
pub const FEATURES_VERSION: u64 = 2;

pub const FEATURE_NAMES: [&str; FEATURES] = [
    "horizon",
    "hour",
    "day_of_week",
    "weekend",
    "holiday",
    "event_uplift",
    "lag1",
    "lag2",
    "lag3",
    "same_hour_1d",
    "same_hour_7d",
    "mean_7d",
    "std_24h",
    "trend_24h",
    "max_24h",
    // From the cluster (live or replayed), at the origin's last hour; a
    // neutral value where the cluster does not report the series.
    "nodes_vs_day",
    "pods_vs_day",
    "pending_share",
    "cpu_utilization",
    "batch_share",
    "background_share",
];

/// A cluster's other series, hour-aligned with the series being forecast
/// (gaps filled): what the trees read besides the series itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClusterContext {
    pub nodes: Option<Vec<f64>>,
    pub pods: Option<Vec<f64>>,
    pub pending: Option<Vec<f64>>,
    pub cpu_usage: Option<Vec<f64>>,
    pub cpu_requests: Option<Vec<f64>>,
    pub batch: Option<Vec<f64>>,
    pub background: Option<Vec<f64>>,
}

impl ClusterContext {
    fn all(&self) -> [&Option<Vec<f64>>; 7] {
        [
            &self.nodes,
            &self.pods,
            &self.pending,
            &self.cpu_usage,
            &self.cpu_requests,
            &self.batch,
            &self.background,
        ]
    }

    /// A hash of the first `n` hours of every series (part of cache keys).
    pub fn fingerprint(&self, n: usize) -> u64 {
        let mut h: u64 = 0x84222325cbf29ce4;
        for (i, s) in self.all().into_iter().enumerate() {
            let part = s
                .as_ref()
                .map(|v| super::prepared::fingerprint(&v[..n.min(v.len())], i as i64))
                .unwrap_or(i as u64);
            h = (h ^ part).wrapping_mul(0x100000001b3);
        }
        h
    }

    /// The value of the hour before `t`.
    fn last(s: &Option<Vec<f64>>, t: usize) -> Option<f64> {
        s.as_ref()?.get(t.checked_sub(1)?).copied()
    }

    /// The hour before `t` relative to the mean of the 24 hours before `t`.
    fn vs_day(s: &Option<Vec<f64>>, t: usize) -> Option<f64> {
        let v = s.as_ref()?;
        let day = v.get(t.saturating_sub(24)..t)?;
        let m = mean(day);
        (m > 1e-9).then(|| day[day.len() - 1] / m)
    }

    fn share(part: &Option<Vec<f64>>, whole: &Option<Vec<f64>>, t: usize) -> Option<f64> {
        let w = Self::last(whole, t)?;
        (w > 0.0).then(|| Self::last(part, t).map(|p| p / w))?
    }

    /// The six cluster features at origin `t` (reads hours before `t` only).
    pub fn features(ctx: Option<&ClusterContext>, t: usize) -> [f64; 6] {
        let Some(c) = ctx else {
            return [1.0, 1.0, 0.0, -1.0, -1.0, -1.0];
        };
        [
            Self::vs_day(&c.nodes, t).unwrap_or(1.0),
            Self::vs_day(&c.pods, t).unwrap_or(1.0),
            Self::share(&c.pending, &c.pods, t).unwrap_or(0.0),
            Self::share(&c.cpu_usage, &c.cpu_requests, t).unwrap_or(-1.0),
            Self::share(&c.batch, &c.pods, t).unwrap_or(-1.0),
            Self::share(&c.background, &c.pods, t).unwrap_or(-1.0),
        ]
    }
}

/// A business event (flash sale, game launch) with its expected uplift.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessEvent {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Expected demand multiplier minus one (0.5 = +50 %).
    pub uplift: f64,
}

/// Holidays and business events that feed the models.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Calendar {
    pub holidays: Vec<NaiveDate>,
    pub events: Vec<BusinessEvent>,
}

impl Calendar {
    /// Fixed-date public holidays common to most regions (New Year, 1 May,
    /// Christmas, Boxing Day, New Year's Eve) for the given years.
    pub fn builtin(years: std::ops::RangeInclusive<i32>) -> Calendar {
        let mut holidays = Vec::new();
        for y in years {
            for (m, d) in [(1, 1), (5, 1), (12, 24), (12, 25), (12, 26), (12, 31)] {
                if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                    holidays.push(date);
                }
            }
        }
        Calendar {
            holidays,
            events: Vec::new(),
        }
    }

    /// Whether `t` falls on one of the calendar's holidays.
    pub fn holiday(&self, t: DateTime<Utc>) -> bool {
        self.holidays.contains(&t.date_naive())
    }

    fn uplift(&self, t: DateTime<Utc>) -> f64 {
        self.events
            .iter()
            .filter(|e| e.start <= t && t < e.end)
            .map(|e| e.uplift)
            .sum()
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Normalizing level at origin `t`: mean of the last 24 hours (1 when not positive).
pub fn level(y: &[f64], t: usize) -> f64 {
    let m = mean(&y[t.saturating_sub(24)..t]);
    if m > 1e-9 { m } else { 1.0 }
}

/// The value `back` hours before hour `target`, or the latest known hour at the same phase.
fn same_phase(y: &[f64], t: usize, target: usize, back: usize) -> Option<f64> {
    let mut k = target.checked_sub(back)?;
    while k >= t {
        k = k.checked_sub(back)?;
    }
    Some(y[k])
}

/// Features of hour `t + h - 1` seen from origin `t` (only `y[..t]` and the
/// context's hours before `t` are read).
pub fn features(
    y: &[f64],
    t: usize,
    h: usize,
    start_hour: i64,
    cal: &Calendar,
    ctx: Option<&ClusterContext>,
) -> [f64; FEATURES] {
    let lv = level(y, t);
    let target = t + h - 1;
    let ts = DateTime::from_timestamp((start_hour + target as i64) * 3600, 0).unwrap_or_default();
    let dow = ts.weekday().num_days_from_monday() as f64;
    let last = |k: usize| y[t.saturating_sub(k)] / lv;
    let d1 = same_phase(y, t, target, 24).map(|v| v / lv).unwrap_or(1.0);
    let d7 = same_phase(y, t, target, 168).map(|v| v / lv).unwrap_or(d1);
    let day = &y[t.saturating_sub(24)..t];
    let prev = &y[t.saturating_sub(48)..t.saturating_sub(24)];
    let m = mean(day);
    let std =
        (day.iter().map(|v| (v - m).powi(2)).sum::<f64>() / day.len().max(1) as f64).sqrt() / lv;
    let trend = if prev.is_empty() {
        0.0
    } else {
        (m - mean(prev)) / lv
    };
    let max = day.iter().copied().fold(f64::MIN, f64::max) / lv;
    let c = ClusterContext::features(ctx, t);
    [
        h as f64,
        ts.hour_of_day() as f64,
        dow,
        (dow >= 5.0) as u8 as f64,
        cal.holiday(ts) as u8 as f64,
        cal.uplift(ts),
        last(1),
        last(2),
        last(3),
        d1,
        d7,
        mean(&y[t.saturating_sub(168)..t]) / lv,
        std,
        trend,
        max,
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        c[5],
    ]
}

trait HourOfDay {
    fn hour_of_day(&self) -> u32;
}

impl HourOfDay for DateTime<Utc> {
    fn hour_of_day(&self) -> u32 {
        chrono::Timelike::hour(self)
    }
}

/// The cluster's series before `origin`, hour-aligned with `target` (the
/// prepared series being forecast): each filled, held flat past its ends.
pub fn cluster_context(
    target: &Prepared,
    cluster: &BTreeMap<SeriesKind, HourlySeries>,
    origin: DateTime<Utc>,
) -> ClusterContext {
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
    ClusterContext {
        nodes: aligned(SeriesKind::Nodes),
        pods: aligned(SeriesKind::Pods),
        pending: aligned(SeriesKind::PendingPods),
        cpu_usage: aligned(SeriesKind::CpuUsage),
        cpu_requests: aligned(SeriesKind::CpuRequests),
        batch: aligned(SeriesKind::BatchPods),
        background: aligned(SeriesKind::BackgroundPods),
    }
}
