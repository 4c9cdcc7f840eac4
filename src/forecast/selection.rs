//! How the ensemble weighs its members at each horizon: every member alone
//! and every pair averaged is a candidate, scored by its validation error
//! over its selection window; the best few are averaged. Pure: the member
//! forecasts at the validation origins and at the origin come in.

use super::horizon::HORIZON_HOURS as H;
use super::members::{ColdStart, Member};
use super::robust;

/// Candidates (members alone or averaged in pairs) combined at each
/// horizon: the best by validation error over its selection window.
/// Chosen by cross-validation across the 54 series of the corpus and the
/// dev set (docs/forecasting.md, `scripts/corpus_cv.py`), as are
/// [`RECENCY`], [`SHORT_HORIZONS`] and the error measure (absolute
/// percentage error, the product's accuracy).
pub const TOP_K: usize = 5;
/// Validation origins each horizon's choice (and the band) rests on: every
/// 6 hours over the last week.
pub const VALIDATION_ORIGINS: usize = 28;
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

/// A run still in progress at the origin of at most this many hours far
/// from both seasonal expectations ([`robust::run_in_progress`]) is a
/// burst: every horizon past the first hours is the level median's alone
/// ([`Member::serves_after_a_burst`]). The level trackers, naive and the
/// trees (which forecast ratios to the last hour) echo a burst for two
/// days; it is gone within hours. A longer run may be a new level, which
/// the choice follows as before. Chosen across series among 1-3 hours
/// (docs/forecasting.md, "After a burst").
pub const BURST_HOURS: usize = 2;

/// Member point forecasts at one origin (none where a member gave none).
pub type Points = Vec<Option<Vec<f64>>>;

/// What the choice reads: the history, which of its hours are real, the
/// forecast's origin (no hour from it on is read), the validation origins
/// (latest first) with the member forecasts made at each, and the member
/// forecasts at the origin itself.
pub struct Validation<'a> {
    pub y: &'a [f64],
    pub observed: &'a [bool],
    pub origin: usize,
    pub origins: &'a [usize],
    pub points: &'a [Points],
    pub now: &'a Points,
}

/// Horizons pooled to score candidates at `h`: from the first hour to
/// twice `h` (1-3 h at 1 h, 1-12 h at 6 h, every hour from 24 h on). A
/// member that forecasts the hours up to `h` well is trusted at `h`; the
/// errors at the lead itself alone are few and late (docs/forecasting.md,
/// "The selection window"; chosen across series among h/3, h/2, 2h/3, 5h/6,
/// h, 4h/3, 2h and 4h either side).
fn selection_window(h: usize) -> std::ops::RangeInclusive<usize> {
    window(h, h.max(2))
}

/// Hours after a validation origin that must lie before the forecast's
/// origin for the choice at horizon `h` to read it: the first hour of its
/// selection window, so 1 at every horizon. The choice reads the errors
/// known at the origin, over whatever part of the window they cover: every
/// horizon reads the origins from 1 hour back on, the latest over the
/// first hours after them only, so each follows a change within hours.
pub fn observed_after(h: usize) -> usize {
    *selection_window(h).start()
}

/// The validation origins (indices into `v.origins`, latest first) that
/// the choice at horizon `h` reads: the latest [`VALIDATION_ORIGINS`]
/// with a known hour in its selection window (hours from the origin on
/// are not read).
fn read_at(v: &Validation, h: usize) -> Vec<usize> {
    let need = observed_after(h);
    (0..v.origins.len())
        .filter(|k| v.origins[*k] + need <= v.origin)
        .take(VALIDATION_ORIGINS)
        .collect()
}

/// Horizons `h - half ..= h + half` within 1..=48.
pub fn window(h: usize, half: usize) -> std::ops::RangeInclusive<usize> {
    h.saturating_sub(half).max(1)..=(h + half).min(H)
}

/// The mean of candidate `c`'s members at hour `h` (0-based), if all forecast it.
fn mean_of(pts: &[Option<Vec<f64>>], c: &[usize], h: usize) -> Option<f64> {
    let mut s = 0.0;
    for j in c {
        s += pts[*j].as_ref()?.get(h)?;
    }
    Some(s / c.len() as f64)
}

/// Past this horizon the combined forecast leans toward the weighted
/// median of its members: the median's share rises linearly to
/// [`MEDIAN_SHARE`] at [`MEDIAN_FULL_FROM`] and stays there. One member far
/// from the others (a trend extrapolated, a season from a different week)
/// moves a weighted mean by its weight, a median hardly at all. Measured by
/// cross-validation across the 54 series (docs/experiments.md, 2026-12-04,
/// nineteenth session): at 12 and 48 h both folds gain, at 1 and 6 h they
/// do not, so the first hours keep the mean.
pub const MEDIAN_AFTER: usize = 6;
/// The horizon from which the weighted median has its full share.
pub const MEDIAN_FULL_FROM: usize = 12;
/// The weighted median's share of the combined forecast from
/// [`MEDIAN_FULL_FROM`] on: half, the neutral mix (the family's other
/// shares gain as well; which one is best differs between the folds).
pub const MEDIAN_SHARE: f64 = 0.5;

/// The weighted median's share at hour `h` (0-based).
pub fn median_share(h: usize) -> f64 {
    let horizon = h + 1;
    if horizon <= MEDIAN_AFTER {
        return 0.0;
    }
    let ramp = (horizon - MEDIAN_AFTER) as f64 / (MEDIAN_FULL_FROM - MEDIAN_AFTER) as f64;
    MEDIAN_SHARE * ramp.min(1.0)
}

/// The weighted median of `(value, weight)` pairs with positive weights:
/// the first value where the cumulative weight reaches half, or the mean
/// of it and the next where it lands on half exactly.
fn weighted_median(mut pairs: Vec<(f64, f64)>) -> Option<f64> {
    pairs.retain(|(_, w)| *w > 0.0);
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|(_, w)| w).sum();
    let mut below = 0.0;
    for (i, (v, w)) in pairs.iter().enumerate() {
        below += w / total;
        if below >= 0.5 - 1e-12 {
            return Some(match pairs.get(i + 1) {
                Some((next, _)) if below <= 0.5 + 1e-12 => (v + next) / 2.0,
                _ => *v,
            });
        }
    }
    None
}

/// A member whose forecast for an hour lies further from the weighted
/// median of the members than this share of the median (above twice the
/// median, or below zero) is left out of that hour's combination. The
/// choice weighs members by their errors at the validation origins; at the
/// origin itself one of them can still run away (a trend carried into a
/// burst, a tree's ratio to a near-zero hour, a season from an unlike
/// week), and a mean moves by its weight times the distance. Few
/// forecasts change (3-5 % at the scored horizons). Chosen across the 54
/// series (docs/forecasting.md, "Members far from the median"): every
/// share from 0.1 to 5 gains on both folds, 1 most; shares below 1, which
/// also leave out low forecasts, gain less.
pub const FAR_FROM_MEDIAN: f64 = 1.0;

/// The members that serve hour `h` (0-based) under `weights` (row per
/// horizon): (member, forecast, weight) of the weighted members that
/// forecast it and are not far from their weighted median
/// ([`FAR_FROM_MEDIAN`]; all of them when none is near, as with two
/// members either side of a median of zero).
fn near_median(weights: &[Vec<f64>], pts: &[Option<Vec<f64>>], h: usize) -> Vec<(usize, f64, f64)> {
    let all: Vec<(usize, f64, f64)> = pts
        .iter()
        .enumerate()
        .filter_map(|(j, p)| Some((j, *p.as_ref()?.get(h)?, weights[h][j])))
        .filter(|(_, _, w)| *w > 0.0)
        .collect();
    let Some(centre) = weighted_median(all.iter().map(|(_, v, w)| (*v, *w)).collect()) else {
        return all;
    };
    let near: Vec<(usize, f64, f64)> = all
        .iter()
        .copied()
        .filter(|(_, v, _)| (v - centre).abs() <= FAR_FROM_MEDIAN * centre.abs())
        .collect();
    if near.is_empty() { all } else { near }
}

/// The combined forecast at hour `h` (0-based) of members `pts` under `weights`
/// (row per horizon), over the members that serve it ([`near_median`]):
/// their weighted mean, mixed with their weighted median past
/// [`MEDIAN_AFTER`].
pub fn combine(weights: &[Vec<f64>], pts: &[Option<Vec<f64>>], h: usize) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = near_median(weights, pts, h)
        .into_iter()
        .map(|(_, v, w)| (v, w))
        .collect();
    let wsum: f64 = pairs.iter().map(|(_, w)| w).sum();
    if wsum <= 0.0 {
        return None;
    }
    let mean = pairs.iter().map(|(v, w)| v * w).sum::<f64>() / wsum;
    let share = median_share(h);
    if share == 0.0 {
        return Some(mean);
    }
    let median = weighted_median(pairs)?;
    Some((1.0 - share) * mean + share * median)
}

/// Each member's weight in the combined forecast at hour `h` (0-based):
/// its weight under `weights` among the members that serve the hour,
/// summing to 1, and none for a member left out (far from the median, or
/// no forecast). What the forecast pane shows as the hour's mix.
pub fn serving_weights(weights: &[Vec<f64>], pts: &[Option<Vec<f64>>], h: usize) -> Vec<f64> {
    let near = near_median(weights, pts, h);
    let wsum: f64 = near.iter().map(|(_, _, w)| w).sum();
    let mut out = vec![0.0; weights[h].len()];
    for (j, _, w) in near {
        out[j] = w / wsum;
    }
    out
}

/// Each member's validation sMAPE (%) per horizon (row per member).
pub fn member_smape(v: &Validation, m: usize) -> Vec<Vec<Option<f64>>> {
    let mut smape = vec![vec![(0.0, 0usize); H]; m];
    for (o, pts) in v.origins.iter().zip(v.points) {
        for (j, p) in pts.iter().enumerate() {
            for (h, p) in p.iter().flatten().enumerate().take(H) {
                let t = o + h;
                if t < v.origin && v.observed[t] && v.y[t].abs() + p.abs() > 0.0 {
                    smape[j][h].0 += 2.0 * (v.y[t] - p).abs() / (v.y[t].abs() + p.abs());
                    smape[j][h].1 += 1;
                }
            }
        }
    }
    smape
        .iter()
        .map(|e| {
            e.iter()
                .map(|(s, k)| (*k > 0).then(|| 100.0 * s / *k as f64))
                .collect()
        })
        .collect()
}

/// What the ensemble chose at an origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The weight of each member at each horizon (row per horizon 1..=48).
    pub weights: Vec<Vec<f64>>,
    /// Hours of the burst in progress at the origin, where the rule after
    /// a burst serves the horizons past the first hours ([`BURST_HOURS`]).
    pub after_a_burst: Option<usize>,
}

/// The weight of each member at each horizon, and whether the rule after a
/// burst serves.
pub fn weights(members: &[Box<dyn Member>], v: &Validation) -> Choice {
    let m = members.len();
    let (val, val_points, now_points) = (v.origins, v.points, v.now);
    // Candidates: every member alone and every pair averaged. Each is
    // scored by its validation error over the selection window; the
    // TOP_K best candidates are averaged, which sets the member weights.
    let candidates: Vec<Vec<usize>> = (0..m)
        .map(|j| vec![j])
        .chain((0..m).flat_map(|a| (a + 1..m).map(move |b| vec![a, b])))
        .collect();
    // Per validation origin and candidate: the absolute percentage errors
    // (where the candidate forecasts and the target is observed, before
    // the origin and not 0, as in MAPE) summed and counted over the first
    // 0..=48 hours, so that a window's are a difference of two, whatever
    // its width.
    let nc = candidates.len();
    let mut prefix = vec![(0.0, 0.0); val.len() * nc * (H + 1)];
    for (k, (o, pts)) in val.iter().zip(val_points).enumerate() {
        for (ci, c) in candidates.iter().enumerate() {
            let row = &mut prefix[(k * nc + ci) * (H + 1)..][..H + 1];
            for h in 0..H {
                let t = o + h;
                let (mut s, mut n) = row[h];
                if let Some(p) = mean_of(pts, c, h)
                    && t < v.origin
                    && v.observed[t]
                    && v.y[t] != 0.0
                {
                    s += (v.y[t] - p).abs() / v.y[t].abs();
                    n += 1.0;
                }
                row[h + 1] = (s, n);
            }
        }
    }
    let first: Vec<bool> = members.iter().map(|mb| mb.serves_first_hours()).collect();
    let margin: Vec<Option<f64>> = members.iter().map(|mb| mb.first_hours_margin()).collect();
    let on_merit: Vec<bool> = (0..m).map(|j| first[j] || margin[j].is_some()).collect();
    let forecasts = |j: usize, h: usize| now_points[j].as_ref().is_some_and(|p| p.len() >= h);
    let mut weights = vec![vec![0.0; m]; H];
    let run = robust::run_in_progress(&v.y[..v.origin]);
    let after_burst = (1..=BURST_HOURS)
        .contains(&run)
        .then(|| (0..m).find(|j| members[*j].serves_after_a_burst()))
        .flatten();
    for h in 1..=H {
        let w = &mut weights[h - 1];
        if let Some(j) = after_burst.filter(|j| h > SHORT_HORIZONS && forecasts(*j, h)) {
            w[j] = 1.0;
            continue;
        }
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
        let read = read_at(v, h);
        let present = |k: usize, j: usize| {
            val_points[k][j]
                .as_ref()
                .is_some_and(|p| p.len() >= *win.start())
        };
        let live: Vec<usize> = (0..m)
            .filter(|j| {
                (!only_short || on_merit[*j])
                    && forecasts(*j, h)
                    && read.iter().any(|k| present(*k, *j))
            })
            .collect();
        // Recency counts from the latest origin this horizon reads.
        let common: Vec<(usize, i32)> = read
            .iter()
            .zip(0..)
            .filter(|(k, _)| live.iter().all(|j| present(**k, *j)))
            .map(|(k, rank)| (*k, rank))
            .collect();
        let mut scored: Vec<(f64, usize)> = Vec::new();
        for (ci, c) in candidates.iter().enumerate() {
            if mean_of(now_points, c, h - 1).is_none()
                || (only_short && !c.iter().all(|j| on_merit[*j]))
            {
                continue;
            }
            let (mut s, mut n) = (0.0, 0.0);
            for (k, rank) in &common {
                let weight = RECENCY.powi(*rank);
                let row = &prefix[(k * nc + ci) * (H + 1)..];
                let ((s0, n0), (s1, n1)) = (row[*win.start() - 1], row[*win.end()]);
                s += weight * (s1 - s0);
                n += weight * (n1 - n0);
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
                .filter(|j| forecasts(*j, h) && members[*j].cold_start() == Some(when))
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
    // The rule served if the member forecasts the first hour past the
    // first hours (a member forecasts every hour up to its last).
    Choice {
        weights,
        after_a_burst: after_burst
            .filter(|j| forecasts(*j, SHORT_HORIZONS + 1))
            .map(|_| run),
    }
}
