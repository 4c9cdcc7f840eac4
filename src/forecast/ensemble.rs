//! The ensemble: per-horizon weights from each member's error on rolling
//! validation origins before the forecast origin, and p10/p90 bands from the
//! conformalized relative residuals of the combined forecast at those origins.

use super::backtest::{H, OriginForecast, STEP};
use super::fingerprint;
use super::members::Member;
use super::quantile;
use std::collections::HashMap;

/// Validation origins used for weights and bands.
pub const VALIDATION_ORIGINS: usize = 28;
/// Members combined at each horizon: the best by validation sMAPE.
pub const TOP_K: usize = 2;
/// Residual quantile for the p10 side (and 1 - it for p90). Wider than 0.1
/// because validation residuals understate errors after a regime change.
pub const BAND_Q: f64 = 0.06;
/// Hours a member needs before its first validation forecast.
pub const MIN_TRAIN: usize = 48;

/// Member point forecasts keyed by the history they were made from (its
/// fingerprint), reused across origins and, in the dashboard, across refreshes.
#[derive(Default)]
pub struct MemberCache {
    by_history: HashMap<u64, Vec<Option<Vec<f64>>>>,
}

impl MemberCache {
    /// Drops the member forecasts made from exactly `y` (used by the refresh benchmark).
    pub fn forget(&mut self, y: &[f64], start_hour: i64) {
        self.by_history.remove(&fingerprint(y, start_hour));
    }
}

/// Entries kept before the cache starts afresh.
const CACHE_LIMIT: usize = 8192;

pub struct Ensemble {
    pub members: Vec<Box<dyn Member>>,
}

/// The ensemble's forecast at one origin, with what made it.
#[derive(Clone, Debug)]
pub struct EnsembleForecast {
    pub combined: OriginForecast,
    /// Each member's point forecast with a conformal band of its own.
    pub members: Vec<Option<OriginForecast>>,
    /// Weight of each member per horizon (row per horizon 1..=48).
    pub weights: Vec<Vec<f64>>,
    /// Validation origins the weights and bands rest on.
    pub validation_origins: usize,
}

fn window(h: usize, half: usize) -> std::ops::RangeInclusive<usize> {
    h.saturating_sub(half).max(1)..=(h + half).min(H)
}

impl Ensemble {
    pub fn new(members: Vec<Box<dyn Member>>) -> Self {
        Ensemble { members }
    }

    fn member_points<'c>(
        &self,
        y: &[f64],
        start_hour: i64,
        origin: usize,
        cache: &'c mut MemberCache,
    ) -> &'c Vec<Option<Vec<f64>>> {
        if cache.by_history.len() > CACHE_LIMIT {
            cache.by_history.clear();
        }
        let key = fingerprint(&y[..origin], start_hour);
        cache.by_history.entry(key).or_insert_with(|| {
            self.members
                .iter()
                .map(|m| m.point(&y[..origin], start_hour, H))
                .collect()
        })
    }

    /// Forecast at `origin` from `y[..origin]` (`observed` marks real hours;
    /// filled ones are not scored in validation).
    pub fn forecast(
        &self,
        y: &[f64],
        observed: &[bool],
        start_hour: i64,
        origin: usize,
        cache: &mut MemberCache,
    ) -> Option<EnsembleForecast> {
        let m = self.members.len();
        // Validation origins: every STEP hours back on the absolute 6-hour grid
        // (so that they stay the same from one hourly refresh to the next),
        // whose 48 targets all lie before `origin`.
        let latest = origin.checked_sub(H).map(|v| {
            let abs = start_hour + v as i64;
            v - abs.rem_euclid(STEP as i64) as usize
        });
        let val: Vec<usize> = (0..VALIDATION_ORIGINS)
            .filter_map(|k| latest?.checked_sub(STEP * k))
            .filter(|v| *v >= MIN_TRAIN)
            .collect();
        let val_points: Vec<Vec<Option<Vec<f64>>>> = val
            .iter()
            .map(|v| self.member_points(y, start_hour, *v, cache).clone())
            .collect();
        let now_points = self.member_points(y, start_hour, origin, cache).clone();
        // Symmetric absolute percentage errors per member and horizon over the validation origins.
        let mut smape = vec![vec![Vec::new(); H]; m];
        for (v, pts) in val.iter().zip(&val_points) {
            for (j, p) in pts.iter().enumerate() {
                let Some(p) = p else { continue };
                for h in 0..p.len().min(H) {
                    let t = v + h;
                    if observed[t] && y[t].abs() + p[h].abs() > 0.0 {
                        smape[j][h].push(2.0 * (y[t] - p[h]).abs() / (y[t].abs() + p[h].abs()));
                    }
                }
            }
        }
        if now_points.iter().all(|p| p.is_none()) {
            return None;
        }
        // Scores: mean sMAPE (as a fraction) over a window of neighbouring horizons.
        let mut weights = vec![vec![0.0; m]; H];
        for h in 1..=H {
            // Members that forecast this horizon (the LSTM covers the first hours only).
            let available: Vec<bool> = now_points
                .iter()
                .map(|p| p.as_ref().is_some_and(|p| p.len() >= h))
                .collect();
            let mut score: Vec<Option<f64>> = vec![None; m];
            for j in 0..m {
                if !available[j] {
                    continue;
                }
                let errs: Vec<f64> = window(h, 2)
                    .flat_map(|hh| smape[j][hh - 1].iter().copied())
                    .collect();
                if !errs.is_empty() {
                    score[j] = Some(errs.iter().sum::<f64>() / errs.len() as f64);
                }
            }
            let w = &mut weights[h - 1];
            if score.iter().all(|s| s.is_none()) {
                // No validation yet: equal weights over available members.
                let k = available.iter().filter(|a| **a).count() as f64;
                for j in 0..m {
                    w[j] = if available[j] { 1.0 / k } else { 0.0 };
                }
            } else {
                for j in 0..m {
                    w[j] = score[j].map(|s| 1.0 / s.max(1e-6).powi(4)).unwrap_or(0.0);
                }
                // The TOP_K members with the least validation error, equally weighted.
                let mut order: Vec<usize> = (0..m).filter(|j| score[*j].is_some()).collect();
                order.sort_by(|a, b| w[*b].total_cmp(&w[*a]));
                for (rank, j) in order.iter().enumerate() {
                    w[*j] = if rank < TOP_K { 1.0 } else { 0.0 };
                }
                let total: f64 = w.iter().sum();
                w.iter_mut().for_each(|x| *x /= total);
            }
        }
        let combine = |pts: &[Option<Vec<f64>>], h: usize| -> Option<f64> {
            let mut s = 0.0;
            let mut wsum = 0.0;
            for (j, p) in pts.iter().enumerate() {
                if let Some(v) = p.as_ref().and_then(|p| p.get(h)) {
                    s += weights[h][j] * v;
                    wsum += weights[h][j];
                }
            }
            (wsum > 0.0).then(|| s / wsum)
        };
        let point: Vec<f64> = (0..H)
            .map(|h| combine(&now_points, h).unwrap_or(0.0))
            .collect();
        // Relative residuals of a forecast at the validation origins, by horizon.
        let residuals = |f: &dyn Fn(usize, usize) -> Option<f64>| -> Vec<Vec<f64>> {
            let mut r = vec![Vec::new(); H];
            for (vi, v) in val.iter().enumerate() {
                for (h, slot) in r.iter_mut().enumerate() {
                    let t = v + h;
                    if let Some(p) = f(vi, h)
                        && observed[t]
                        && p.abs() > 1e-12
                    {
                        slot.push(y[t] / p - 1.0);
                    }
                }
            }
            r
        };
        let ens_res = residuals(&|vi, h| combine(&val_points[vi], h));
        let combined = banded(&point, &ens_res);
        let members = (0..m)
            .map(|j| {
                let p = now_points[j].as_ref()?;
                let res =
                    residuals(&|vi, h| val_points[vi][j].as_ref().and_then(|p| p.get(h).copied()));
                Some(banded(p, &res))
            })
            .collect();
        Some(EnsembleForecast {
            combined,
            members,
            weights,
            validation_origins: val.len(),
        })
    }
}

/// p10/p90 from relative residual quantiles pooled over neighbouring horizons.
/// With few residuals the band is widened (short history).
pub fn banded(point: &[f64], res: &[Vec<f64>]) -> OriginForecast {
    let mut out = OriginForecast {
        p50: point.iter().map(|v| v.max(0.0)).collect(),
        p10: Vec::with_capacity(point.len()),
        p90: Vec::with_capacity(point.len()),
    };
    for (h, &p) in point.iter().enumerate() {
        let mut r: Vec<f64> = window(h + 1, 3)
            .flat_map(|hh| res[hh - 1].iter().copied())
            .collect();
        r.sort_by(f64::total_cmp);
        let (mut lo, mut hi) = if r.is_empty() {
            (-0.3, 0.3)
        } else {
            (quantile(&r, BAND_Q), quantile(&r, 1.0 - BAND_Q))
        };
        if r.len() < 30 {
            // Few residuals: widen towards a ±30 % band in proportion to what is missing.
            let k = 1.0 - r.len() as f64 / 30.0;
            lo = lo.min(0.0) - 0.3 * k;
            hi = hi.max(0.0) + 0.3 * k;
        }
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        out.p10.push((p * (1.0 + lo)).max(0.0));
        out.p90.push((p * (1.0 + hi)).max(0.0));
    }
    out
}
