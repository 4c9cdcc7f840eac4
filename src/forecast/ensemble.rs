//! The ensemble: per-horizon weights from each member's error on rolling
//! validation origins before the forecast origin, and p10/p90 bands from the
//! conformalized relative residuals of the combined forecast at those origins.

use super::features::ClusterContext;
use super::horizon::{HORIZON_HOURS as H, OriginForecast, STEP};
use super::members::{ColdStart, Member};
use super::persist::Pin;
use super::prepared::fingerprint;
use super::prepared::quantile;
use super::robust;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Validation origins used for weights and bands.
pub const VALIDATION_ORIGINS: usize = 28;
/// Candidates (members alone or averaged in pairs) combined at each
/// horizon: the best by validation error over neighbouring horizons.
/// Chosen by cross-validation across the 54 series of the corpus and the
/// dev set (docs/forecasting.md, `scripts/corpus_cv.py`), as are
/// [`RECENCY`], [`SHORT_HORIZONS`] and the error measure (absolute
/// percentage error, the product's accuracy).
pub const TOP_K: usize = 5;
/// Of those, only the candidates whose validation error is at most this
/// many times the best one's are averaged: a candidate twice as wrong as
/// the best dilutes it, however many places are left.
pub const NEAR_BEST: f64 = 1.25;
/// Weight of a validation origin against the next more recent one: the
/// latest origins count most, so a choice follows a change of regime
/// within days instead of a week (0.9^k: half the weight on the last
/// seven origins, 42 hours).
pub const RECENCY: f64 = 0.9;
/// Horizons up to this one choose only among the members that serve the
/// first hours ([`Member::serves_first_hours`]: the members that track the
/// level hour by hour): naive, the seasonal, tree and day-type members only
/// win validation there by luck, which costs on the test hours (naive, the
/// global LSTM and seasonal naive of a day join them on merit,
/// [`Member::first_hours_margin`]).
pub const SHORT_HORIZONS: usize = 3;
/// Residual quantile for the p10 side (and 1 - it for p90) up to 24 h.
/// Wider than 0.1 because validation residuals understate errors after a
/// regime change.
pub const BAND_Q: f64 = 0.06;
/// The same at 48 h, reached linearly from 24 h: the latest validation
/// origin is 48 h or more before the forecast's, so its residuals say
/// least about the longest horizons. Chosen across series: the value in
/// 0.035-0.06 whose pooled 48-h coverage comes nearest 0.80
/// (docs/forecasting.md, "Bands").
pub const BAND_Q_48: f64 = 0.05;

/// Hours a member needs before its first validation forecast.
pub const MIN_TRAIN: usize = 48;

/// The residual quantile of the band at horizon `h` (1-based).
pub fn band_q(h: usize) -> f64 {
    let far = (h.saturating_sub(24) as f64 / 24.0).min(1.0);
    BAND_Q + (BAND_Q_48 - BAND_Q) * far
}

/// Member point forecasts keyed by the history they were made from (its
/// fingerprint), reused across origins and, in the dashboard, across refreshes.
#[derive(Default)]
pub struct MemberCache {
    by_history: HashMap<u64, Vec<Option<Vec<f64>>>>,
}

impl MemberCache {
    /// Drops the member forecasts made from exactly `y` (used by the refresh benchmark).
    pub fn forget(&mut self, y: &[f64], ctx: Option<&ClusterContext>, start_hour: i64) {
        self.by_history.remove(&history_key(y, ctx, start_hour));
    }
}

/// The cache key of member forecasts after `y` (and the cluster's series over it).
fn history_key(y: &[f64], ctx: Option<&ClusterContext>, start_hour: i64) -> u64 {
    fingerprint(y, start_hour) ^ ctx.map(|c| c.fingerprint(y.len())).unwrap_or(0)
}

/// A member's forecast of the next [`H`] hours; none if the member panics
/// (a bug in one member must not take the forecast, or the dashboard, down).
fn guarded(
    member: &dyn Member,
    y: &[f64],
    ctx: Option<&ClusterContext>,
    start_hour: i64,
    pin: Option<&Pin>,
) -> Option<Vec<f64>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match pin {
        Some(p) => member.point_pinned(y, ctx, start_hour, H, p),
        None => member.point_in(y, ctx, start_hour, H),
    }))
    .ok()
    .flatten()
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
    /// Each member's validation sMAPE (%) per horizon (row per member).
    pub member_smape: Vec<Vec<Option<f64>>>,
}

/// Neighbouring horizons pooled to score candidates at `h`: ±2 hours, ±h/3
/// further out, where errors change slowly from hour to hour.
fn selection_window(h: usize) -> std::ops::RangeInclusive<usize> {
    window(h, (h / 3).max(2))
}

fn window(h: usize, half: usize) -> std::ops::RangeInclusive<usize> {
    h.saturating_sub(half).max(1)..=(h + half).min(H)
}

impl Ensemble {
    pub fn new(members: Vec<Box<dyn Member>>) -> Self {
        Ensemble { members }
    }

    pub(crate) fn member_points<'c>(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        origin: usize,
        cache: &'c mut MemberCache,
        pin: Option<&Pin>,
    ) -> &'c Vec<Option<Vec<f64>>> {
        if cache.by_history.len() > CACHE_LIMIT {
            cache.by_history.clear();
        }
        // A model version changes only the forecasts it serves (from its
        // training end on); before that the weekly models serve, as unpinned.
        let pin = pin.filter(|p| p.serves(start_hour, origin));
        let key = history_key(&y[..origin], ctx, start_hour) ^ pin.map_or(0, |p| p.fingerprint());
        cache
            .by_history
            .entry(key)
            .or_insert_with(|| self.points_on_every_core(&y[..origin], ctx, start_hour, pin))
    }

    /// Every member's forecast after `y`, the members shared out between
    /// the machine's cores (the statistical fits are what a refresh costs;
    /// each member's forecast is the same whichever thread makes it). A
    /// member that panics gives no forecast.
    fn points_on_every_core(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        pin: Option<&Pin>,
    ) -> Vec<Option<Vec<f64>>> {
        let m = self.members.len();
        // Cleaned once per history, for the members that fit it.
        let clean = if self.members.iter().any(|mb| mb.fits_cleaned_history()) {
            robust::cleaned(y)
        } else {
            std::borrow::Cow::Borrowed(y)
        };
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(m);
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Vec<f64>>>> = (0..m).map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..workers)
                .map(|_| {
                    s.spawn(|| {
                        loop {
                            let j = next.fetch_add(1, Ordering::Relaxed);
                            let Some(member) = self.members.get(j) else {
                                break;
                            };
                            let input = if member.fits_cleaned_history() {
                                &clean
                            } else {
                                y
                            };
                            let p = guarded(member.as_ref(), input, ctx, start_hour, pin);
                            if let Ok(mut slot) = slots[j].lock() {
                                *slot = p;
                            }
                        }
                    })
                })
                .collect();
            for w in workers {
                let _ = w.join();
            }
        });
        slots
            .into_iter()
            .map(|s| s.into_inner().ok().flatten())
            .collect()
    }

    /// Forecast at `origin` from `y[..origin]` (`observed` marks real hours;
    /// filled ones are not scored in validation) and the cluster's other
    /// series `ctx`, aligned with `y`, where there are any.
    // The history, its cluster context and model version are what a member
    // reads; the cache is where their forecasts are kept.
    #[allow(clippy::too_many_arguments)]
    pub fn forecast(
        &self,
        y: &[f64],
        observed: &[bool],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        origin: usize,
        cache: &mut MemberCache,
        pin: Option<&Pin>,
    ) -> Option<EnsembleForecast> {
        let m = self.members.len();
        // Validation origins: every STEP hours back on the absolute 6-hour grid
        // (so that they stay the same from one hourly refresh to the next),
        // whose 48 targets all lie before `origin`.
        // (None when the grid point lies before the history: 48-53 hours.)
        let latest = origin.checked_sub(H).and_then(|v| {
            let abs = start_hour + v as i64;
            v.checked_sub(abs.rem_euclid(STEP as i64) as usize)
        });
        let val: Vec<usize> = (0..VALIDATION_ORIGINS)
            .filter_map(|k| latest?.checked_sub(STEP * k))
            .filter(|v| *v >= MIN_TRAIN)
            .collect();
        let val_points: Vec<Vec<Option<Vec<f64>>>> = val
            .iter()
            .map(|v| {
                self.member_points(y, ctx, start_hour, *v, cache, pin)
                    .clone()
            })
            .collect();
        let now_points = self
            .member_points(y, ctx, start_hour, origin, cache, pin)
            .clone();
        if now_points.iter().all(|p| p.is_none()) {
            return None;
        }
        // Candidates: every member alone and every pair averaged. Each is
        // scored by its validation error over neighbouring horizons; the
        // TOP_K best candidates are averaged, which sets the member weights.
        let candidates: Vec<Vec<usize>> = (0..m)
            .map(|j| vec![j])
            .chain((0..m).flat_map(|a| (a + 1..m).map(move |b| vec![a, b])))
            .collect();
        let mean_of = |pts: &[Option<Vec<f64>>], c: &[usize], h: usize| -> Option<f64> {
            let mut s = 0.0;
            for j in c {
                s += pts[*j].as_ref()?.get(h)?;
            }
            Some(s / c.len() as f64)
        };
        // Per validation origin, candidate and horizon: the absolute
        // percentage error (NaN where the candidate has no forecast, or the
        // target is missing or 0, as in MAPE); and per member, (sum of
        // sMAPE, count) for the screen and the manifest.
        let nc = candidates.len();
        let mut ape = vec![f64::NAN; val.len() * nc * H];
        let mut smape = vec![vec![(0.0, 0usize); H]; m];
        for (k, (v, pts)) in val.iter().zip(&val_points).enumerate() {
            for (ci, c) in candidates.iter().enumerate() {
                for h in 0..H {
                    let t = v + h;
                    let Some(p) = mean_of(pts, c, h) else {
                        continue;
                    };
                    if !observed[t] {
                        continue;
                    }
                    if y[t] != 0.0 {
                        ape[(k * nc + ci) * H + h] = (y[t] - p).abs() / y[t].abs();
                    }
                    if ci < m && y[t].abs() + p.abs() > 0.0 {
                        smape[ci][h].0 += 2.0 * (y[t] - p).abs() / (y[t].abs() + p.abs());
                        smape[ci][h].1 += 1;
                    }
                }
            }
        }
        let first: Vec<bool> = self
            .members
            .iter()
            .map(|mb| mb.serves_first_hours())
            .collect();
        let margin: Vec<Option<f64>> = self
            .members
            .iter()
            .map(|mb| mb.first_hours_margin())
            .collect();
        let on_merit: Vec<bool> = (0..m).map(|j| first[j] || margin[j].is_some()).collect();
        let forecasts = |j: usize, h: usize| now_points[j].as_ref().is_some_and(|p| p.len() >= h);
        let mut weights = vec![vec![0.0; m]; H];
        for h in 1..=H {
            let w = &mut weights[h - 1];
            // At the first hours only the members that serve them compete
            // (every member where there are none).
            let only_short = h <= SHORT_HORIZONS && (0..m).any(|j| first[j] && forecasts(j, h));
            // Every candidate is scored on the same validation origins: those
            // where each member that may serve this horizon now (and has any
            // validation forecast near it) has one. Otherwise a member that
            // joined late (the local trees, after a week of history) is judged
            // on the calm recent origins only, and naive also on the incident
            // that ruined everyone's forecasts a week ago.
            let win = selection_window(h);
            let present = |k: usize, j: usize| {
                val_points[k][j]
                    .as_ref()
                    .is_some_and(|p| p.len() >= *win.start())
            };
            let live: Vec<usize> = (0..m)
                .filter(|j| {
                    (!only_short || on_merit[*j])
                        && forecasts(*j, h)
                        && (0..val.len()).any(|k| present(k, *j))
                })
                .collect();
            let common: Vec<usize> = (0..val.len())
                .filter(|k| live.iter().all(|j| present(*k, *j)))
                .collect();
            let mut scored: Vec<(f64, usize)> = Vec::new();
            for (ci, c) in candidates.iter().enumerate() {
                if mean_of(&now_points, c, h - 1).is_none()
                    || (only_short && !c.iter().all(|j| on_merit[*j]))
                {
                    continue;
                }
                let (mut s, mut n) = (0.0, 0.0);
                for k in &common {
                    let weight = RECENCY.powi(*k as i32);
                    for hh in win.clone() {
                        let e = ape[(k * nc + ci) * H + hh - 1];
                        if !e.is_nan() {
                            s += weight * e;
                            n += weight;
                        }
                    }
                }
                if n > 0.0 {
                    scored.push((s / n, ci));
                }
            }
            if only_short {
                // The trackers' best sets the bar the others must clear.
                let bar = scored
                    .iter()
                    .filter(|(_, ci)| candidates[*ci].iter().all(|j| first[*j]))
                    .map(|(e, _)| *e)
                    .fold(f64::INFINITY, f64::min);
                // A candidate with members on merit: the larger of their margins.
                scored.retain(|(e, ci)| {
                    let c = &candidates[*ci];
                    c.iter().all(|j| first[*j])
                        || *e <= c.iter().filter_map(|j| margin[*j]).fold(0.0, f64::max) * bar
                });
            }
            if scored.is_empty() {
                // No validation yet (cold start): equal weights over the
                // members that serve this horizon then (naive the first
                // hours, the global models the rest), else over every
                // member that forecasts it.
                let when = if h <= SHORT_HORIZONS {
                    ColdStart::FirstHours
                } else {
                    ColdStart::LaterHours
                };
                let cold: Vec<usize> = (0..m)
                    .filter(|j| forecasts(*j, h) && self.members[*j].cold_start() == Some(when))
                    .collect();
                let avail: Vec<usize> = if cold.is_empty() {
                    (0..m).filter(|j| forecasts(*j, h)).collect()
                } else {
                    cold
                };
                for j in &avail {
                    w[*j] = 1.0 / avail.len() as f64;
                }
                continue;
            }
            scored.sort_by(|a, b| a.0.total_cmp(&b.0));
            let best = scored[0].0;
            let near = scored
                .iter()
                .take(TOP_K)
                .take_while(|(e, _)| *e <= NEAR_BEST * best)
                .count();
            let top = &scored[..near.max(1)];
            for (_, ci) in top {
                let c = &candidates[*ci];
                for j in c {
                    w[*j] += 1.0 / (c.len() * top.len()) as f64;
                }
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
        let member_smape = smape
            .iter()
            .map(|e| {
                e.iter()
                    .map(|(s, k)| (*k > 0).then(|| 100.0 * s / *k as f64))
                    .collect()
            })
            .collect();
        Some(EnsembleForecast {
            combined,
            members,
            weights,
            validation_origins: val.len(),
            member_smape,
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
        // ±3 hours, fewer at the first hours, where errors grow fastest.
        let mut r: Vec<f64> = window(h + 1, (h.div_ceil(2)).clamp(1, 3))
            .flat_map(|hh| res[hh - 1].iter().copied())
            .collect();
        r.sort_by(f64::total_cmp);
        let (mut lo, mut hi) = if r.is_empty() {
            (-0.3, 0.3)
        } else {
            let q = band_q(h + 1);
            (quantile(&r, q), quantile(&r, 1.0 - q))
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
