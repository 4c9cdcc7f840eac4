//! Seasonal naive forecaster: the value one week (or, with under two weeks of
//! history, one day) earlier, with p10/p90 from the empirical quantiles of its
//! own past errors at that lag.

use super::{Forecaster, history_warnings};
use crate::domain::{Forecast, ForecastPoint, HourlySeries, SeriesKind};
use chrono::{DateTime, Duration, Utc};

pub struct SeasonalNaive;

pub const NAME: &str = "seasonal naive";

/// Empirical quantile (linear interpolation) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// History up to (not including) `origin`, gaps filled with the previous value.
fn filled_before(history: &HourlySeries, origin: DateTime<Utc>) -> Vec<f64> {
    let Some(start) = history.start else {
        return Vec::new();
    };
    let n = ((origin - start).num_hours().max(0) as usize).min(history.values.len());
    let mut out = Vec::with_capacity(n);
    let mut last = history.values[..n].iter().flatten().next().copied();
    for v in &history.values[..n] {
        if v.is_some() {
            last = *v;
        }
        if let Some(l) = last {
            out.push(l);
        }
    }
    out
}

impl Forecaster for SeasonalNaive {
    fn name(&self) -> &str {
        NAME
    }

    fn forecast(
        &self,
        series: SeriesKind,
        history: &HourlySeries,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Option<Forecast> {
        let y = filled_before(history, origin);
        if y.is_empty() {
            return None;
        }
        let n = y.len();
        let season = if n >= 2 * 168 { 168 } else { 24 };
        // Errors of "same hour one season earlier" over the history.
        let mut errors: Vec<f64> = (season..n).map(|t| y[t] - y[t - season]).collect();
        errors.sort_by(f64::total_cmp);
        let (mut lo, mut hi) = (quantile(&errors, 0.1), quantile(&errors, 0.9));
        (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let level = y[n - 1].abs().max(1e-9);
        if errors.len() < 24 {
            // Too few errors to trust: a wide band of ±25 % of the level.
            lo = lo.min(-0.25 * level);
            hi = hi.max(0.25 * level);
        }
        let history_hours = history.hours_present();
        let points = (0..hours)
            .map(|h| {
                // Value one season before the target (repeating the last season when h > season).
                let back = season * (h / season + 1);
                let p50 = if n >= back { y[n + h - back] } else { y[n - 1] };
                ForecastPoint {
                    ts: origin + Duration::hours(h as i64),
                    p10: (p50 + lo).max(0.0),
                    p50: p50.max(0.0),
                    p90: (p50 + hi).max(0.0),
                }
            })
            .collect();
        Some(Forecast {
            series,
            issued_at: origin,
            model: format!("{NAME} ({} h season)", season),
            points,
            history_hours,
            warnings: history_warnings(history_hours),
        })
    }
}
