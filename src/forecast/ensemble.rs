//! The ensemble: per-horizon weights from each member's error on rolling
//! validation origins before the forecast origin, and p10/p90 bands from the
//! conformalized relative residuals of the combined forecast at those origins.

use super::features::ClusterContext;
use super::horizon::{HORIZON_HOURS as H, OriginForecast, STEP};
use super::members::Member;
use super::persist::Pin;
use super::prepared::fingerprint;
use super::prepared::quantile;
use super::robust;
pub use super::selection::VALIDATION_ORIGINS;
use super::selection::{self, Choice, Points, Validation, combine, observed_after, window};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Residual quantile for the p10 side (and 1 - it for p90) at 1 h.
/// From there the quantile falls linearly to [`BAND_Q_48`] at 48 h: the
/// further out, the less the validation origins' errors say about the
/// errors to come (the band's latest one is 48 hours or more before the
/// forecast's origin), so the band takes a wider share of them. Both ends
/// and the shape were chosen across series (docs/forecasting.md, "Bands";
/// `scripts/band_cv.py`): the curve whose pooled coverage80 on the corpus
/// and on the dev series stays inside 0.75-0.85 at every scored horizon,
/// nearest 0.80.
pub const BAND_Q: f64 = 0.08;
/// The same at 48 h.
pub const BAND_Q_48: f64 = 0.045;

/// Hours a member needs before its first validation forecast.
pub const MIN_TRAIN: usize = 48;

/// The residual quantile of the band at horizon `h` (1-based).
pub fn band_q(h: usize) -> f64 {
    let far = (h.clamp(1, H) - 1) as f64 / (H - 1) as f64;
    BAND_Q + (BAND_Q_48 - BAND_Q) * far
}

/// Member point forecasts keyed by the history they were made from (its
/// fingerprint), reused across origins and, in the dashboard, across refreshes.
#[derive(Default)]
pub struct MemberCache {
    by_history: HashMap<u64, Points>,
    /// The weights chosen at an origin, by the history before it (with
    /// which of its hours were real).
    weights: HashMap<u64, (u64, Choice)>,
}

impl MemberCache {
    /// Drops the member forecasts made from exactly `y`, and the weights
    /// chosen after it (used by the refresh benchmark).
    pub fn forget(&mut self, y: &[f64], ctx: Option<&ClusterContext>, start_hour: i64) {
        let key = history_key(y, ctx, start_hour);
        self.by_history.remove(&key);
        self.weights.remove(&key);
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

/// A history as the ensemble reads it: its values, which hours are real,
/// the cluster's other series over it, and its first unix hour.
#[derive(Clone, Copy)]
struct History<'a> {
    y: &'a [f64],
    observed: &'a [bool],
    ctx: Option<&'a ClusterContext>,
    start_hour: i64,
}

pub struct Ensemble {
    pub members: Vec<Box<dyn Member>>,
}

/// The ensemble's forecast at one origin, with what made it.
#[derive(Clone, Debug)]
pub struct EnsembleForecast {
    pub combined: OriginForecast,
    /// Each member's point forecast with a conformal band of its own.
    pub members: Vec<Option<OriginForecast>>,
    /// Weight of each member per horizon (row per horizon 1..=48), as
    /// chosen on the validation origins.
    pub weights: Vec<Vec<f64>>,
    /// Each member's weight in the combined forecast per horizon: the
    /// chosen weights less the members far from the others at the origin
    /// ([`selection::serving_weights`]), summing to 1.
    pub serving: Vec<Vec<f64>>,
    /// Validation origins the weights and bands rest on.
    pub validation_origins: usize,
    /// Each member's validation sMAPE (%) per horizon (row per member).
    pub member_smape: Vec<Vec<Option<f64>>>,
    /// Hours of the burst in progress at the origin, where the level
    /// serves past the first hours ([`selection::BURST_HOURS`]).
    pub after_a_burst: Option<usize>,
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

    /// The member forecasts at each of `origins` (from the cache where made).
    fn points_at(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        origins: &[usize],
        cache: &mut MemberCache,
        pin: Option<&Pin>,
    ) -> Vec<Points> {
        origins
            .iter()
            .map(|v| {
                self.member_points(y, ctx, start_hour, *v, cache, pin)
                    .clone()
            })
            .collect()
    }

    /// The weights the ensemble chooses at `origin` (row per horizon), from
    /// the member forecasts `now` made there and those at its validation
    /// origins (`known`: those origins and their forecasts, where the
    /// caller has them already); kept in the cache, as a forecast made then
    /// would have chosen them.
    #[allow(clippy::too_many_arguments)]
    fn weights_at(
        &self,
        history: &History,
        origin: usize,
        now: &Points,
        known: Option<(&[usize], &[Points])>,
        cache: &mut MemberCache,
        pin: Option<&Pin>,
    ) -> Choice {
        let History {
            y,
            observed,
            ctx,
            start_hour,
        } = *history;
        let key = history_key(&y[..origin], ctx, start_hour)
            ^ pin
                .filter(|p| p.serves(start_hour, origin))
                .map_or(0, |p| p.fingerprint());
        let real = observed_key(&observed[..origin]);
        if let Some((r, w)) = cache.weights.get(&key)
            && *r == real
        {
            return w.clone();
        }
        let read;
        let (origins, points) = match known {
            Some(k) => k,
            None => {
                let origins = selection_origins(start_hour, origin);
                let points = self.points_at(y, ctx, start_hour, &origins, cache, pin);
                read = (origins, points);
                (&read.0[..], &read.1[..])
            }
        };
        let validation = Validation {
            y,
            observed,
            origin,
            origins,
            points,
            now,
        };
        let w = selection::weights(&self.members, &validation);
        if cache.weights.len() > CACHE_LIMIT {
            cache.weights.clear();
        }
        cache.weights.insert(key, (real, w.clone()));
        w
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
        // The choice reads the latest origins each horizon knows the
        // errors of; the band those with all 48 hours known.
        let sel = selection_origins(start_hour, origin);
        let sel_points = self.points_at(y, ctx, start_hour, &sel, cache, pin);
        let band_at: Vec<usize> = (0..sel.len()).filter(|k| sel[*k] + H <= origin).collect();
        let val: Vec<usize> = band_at.iter().map(|k| sel[*k]).collect();
        let val_points: Vec<Points> = band_at.iter().map(|k| sel_points[*k].clone()).collect();
        let now_points = self
            .member_points(y, ctx, start_hour, origin, cache, pin)
            .clone();
        if now_points.iter().all(|p| p.is_none()) {
            return None;
        }
        let history = History {
            y,
            observed,
            ctx,
            start_hour,
        };
        let known = Some((&sel[..], &sel_points[..]));
        let Choice {
            weights,
            after_a_burst,
        } = self.weights_at(&history, origin, &now_points, known, cache, pin);
        let point: Vec<f64> = (0..H)
            .map(|h| combine(&weights, &now_points, h).unwrap_or(0.0))
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
        // The band rests on the forecasts the ensemble made at the
        // validation origins, each with the weights it chose there. The
        // weights chosen now fit those origins (they won on them), so
        // their residuals there understate the error to come: in-sample,
        // the band covered 1-4 points less (docs/forecasting.md, "Bands").
        let past: Vec<Vec<Vec<f64>>> = val
            .iter()
            .zip(&val_points)
            .map(|(v, pts)| self.weights_at(&history, *v, pts, None, cache, pin).weights)
            .collect();
        let ens_res = residuals(&|vi, h| combine(&past[vi], &val_points[vi], h));
        let combined = banded(&point, &ens_res);
        let members = (0..m)
            .map(|j| {
                let p = now_points[j].as_ref()?;
                let res =
                    residuals(&|vi, h| val_points[vi][j].as_ref().and_then(|p| p.get(h).copied()));
                Some(banded(p, &res))
            })
            .collect();
        let validation = Validation {
            y,
            observed,
            origin,
            origins: &sel,
            points: &sel_points,
            now: &now_points,
        };
        Some(EnsembleForecast {
            combined,
            members,
            member_smape: selection::member_smape(&validation, m),
            serving: (0..H)
                .map(|h| selection::serving_weights(&weights, &now_points, h))
                .collect(),
            weights,
            validation_origins: val.len(),
            after_a_burst,
        })
    }
}

/// Validation origins of the band at `origin`, latest first: every STEP
/// hours back on the absolute 6-hour grid (so that they stay the same from
/// one hourly refresh to the next), whose 48 targets all lie before
/// `origin`, from [`MIN_TRAIN`] hours on. (None when the grid point lies
/// before the history: 48-53 hours.)
pub fn validation_origins(start_hour: i64, origin: usize) -> Vec<usize> {
    grid_back(start_hour, origin, H, VALIDATION_ORIGINS)
}

/// Every validation origin the choice of weights at `origin` reads, latest
/// first: from the latest one the 1-h choice knows an error of (1 hour
/// back; [`observed_after`]) to the band's earliest. Each horizon reads the
/// latest [`VALIDATION_ORIGINS`] of them it knows the errors of. None
/// before the band has one (under about four days of history): the
/// cold-start rule serves every horizon until then.
pub fn selection_origins(start_hour: i64, origin: usize) -> Vec<usize> {
    let Some(earliest) = validation_origins(start_hour, origin).last().copied() else {
        return Vec::new();
    };
    grid_back(start_hour, origin, observed_after(1), usize::MAX)
        .into_iter()
        .take_while(|v| *v >= earliest)
        .collect()
}

/// Up to `count` points of the absolute STEP-hour grid, latest first, each
/// at least `need` hours before `origin` and from [`MIN_TRAIN`] on.
fn grid_back(start_hour: i64, origin: usize, need: usize, count: usize) -> Vec<usize> {
    let latest = origin.checked_sub(need).and_then(|v| {
        let abs = start_hour + v as i64;
        v.checked_sub(abs.rem_euclid(STEP as i64) as usize)
    });
    (0..count)
        .map_while(|k| latest?.checked_sub(STEP * k))
        .take_while(|v| *v >= MIN_TRAIN)
        .collect()
}

/// A key for which hours of a history are real.
fn observed_key(observed: &[bool]) -> u64 {
    observed.iter().fold(0x84222325cbf29ce4, |h, o| {
        (h ^ (*o as u64 + 1)).wrapping_mul(0x100000001b3)
    }) ^ observed.len() as u64
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
