//! Incidents in the history. An outage, a storm or a burst takes demand far
//! from what the same hour of the surrounding days and weeks shows; fitted
//! as it is, it poisons the members' level, trend and seasons for days
//! (MSTL forecast 20-30 % low for a day after an 8-hour outage, and echoed
//! it a day later). Hours far from both robust seasonal expectations, in
//! runs that ended before the last hour and lasted at most [`MAX_RUN`]
//! hours, are replaced by the weekly expectation, scaled to the level of
//! the day around them, before the statistical members fit. A run still
//! going at the last hour is the present and is kept; a longer one is a new
//! regime and is kept. Pure.

use std::borrow::Cow;
use std::ops::Range;

/// Days either side whose same hour makes the daily expectation.
pub const DAYS: usize = 7;
/// Weeks either side whose same hour of the week makes the weekly one.
pub const WEEKS: usize = 4;
/// An hour is an incident's when it is this many robust standard deviations
/// (1.4826 × the median absolute deviation from the expectation, over the
/// whole history) from both expectations ...
pub const SIGMAS: f64 = 4.0;
/// ... and at least this share of each away from it.
pub const MIN_SHARE: f64 = 0.25;
/// Runs longer than this many hours are a change of regime, not an incident.
pub const MAX_RUN: usize = 72;

/// The median of the same hour `count` periods of `period` hours either
/// side of every hour (none with under two such hours).
pub fn expectation(y: &[f64], period: usize, count: usize) -> Vec<Option<f64>> {
    let n = y.len();
    let mut around = Vec::with_capacity(2 * count);
    (0..n)
        .map(|t| {
            around.clear();
            for k in 1..=count {
                if let Some(b) = t.checked_sub(period * k) {
                    around.push(y[b]);
                }
                if t + period * k < n {
                    around.push(y[t + period * k]);
                }
            }
            (around.len() >= 2).then(|| median(&mut around))
        })
        .collect()
}

/// Which hours are far from `e` (see [`SIGMAS`] and [`MIN_SHARE`]).
fn far_from(y: &[f64], e: &[Option<f64>]) -> Vec<bool> {
    let mut dev: Vec<f64> = y
        .iter()
        .zip(e)
        .filter_map(|(v, e)| e.map(|e| (v - e).abs()))
        .collect();
    if dev.is_empty() {
        return vec![false; y.len()];
    }
    let sigma = 1.4826 * median(&mut dev);
    y.iter()
        .zip(e)
        .map(|(v, e)| {
            e.is_some_and(|e| {
                let d = (v - e).abs();
                d > SIGMAS * sigma && d > MIN_SHARE * e.abs()
            })
        })
        .collect()
}

/// The median of `v` (reordered); `v` must not be empty.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// Which hours lie in an incident that ended (see the module notes): far
/// from the same hour of the surrounding days and of the surrounding weeks
/// alike (a weekend is far from the weekdays around it, not from the
/// weekends), so nothing is marked before two weeks of history.
pub fn incidents(y: &[f64]) -> Vec<bool> {
    let mut out = vec![false; y.len()];
    for run in marked(y).0 {
        out[run].iter_mut().for_each(|o| *o = true);
    }
    out
}

/// Hours at the end of `y` far from both expectations: a run still in
/// progress, which [`cleaned`] keeps as the present (0 under two weeks of
/// history, where nothing is marked).
pub fn run_in_progress(y: &[f64]) -> usize {
    marked(y).2.iter().rev().take_while(|far| **far).count()
}

/// The runs of `true` in `mask`.
fn runs(mask: &[bool]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut t = 0;
    std::iter::from_fn(move || {
        let start = t + mask.get(t..)?.iter().position(|m| *m)?;
        let end = start + mask[start..].iter().take_while(|m| **m).count();
        t = end;
        Some(start..end)
    })
}

/// The runs of hours in [`incidents`], the weekly expectation they are
/// measured against (none under two weeks of history, where nothing is
/// marked), and which hours are far from both expectations.
fn marked(y: &[f64]) -> (Vec<Range<usize>>, Vec<Option<f64>>, Vec<bool>) {
    let n = y.len();
    if n < 2 * 168 {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let daily = far_from(y, &expectation(y, 24, DAYS));
    let weekly_expectation = expectation(y, 168, WEEKS);
    let weekly = far_from(y, &weekly_expectation);
    let far: Vec<bool> = daily.iter().zip(&weekly).map(|(d, w)| *d && *w).collect();
    let ended = runs(&far)
        .filter(|r| r.end < n && r.len() <= MAX_RUN)
        .collect();
    (ended, weekly_expectation, far)
}

/// Hours either side of an incident whose ratio to their weekly
/// expectation sets the level its hours are replaced at.
pub const LEVEL_HOURS: usize = 12;

/// `y` with the hours of ended incidents replaced by their weekly
/// expectation, scaled to the level around the incident: the median ratio
/// of the hours within [`LEVEL_HOURS`] either side that are not far from
/// their expectations (after a level shift the weeks before are at the old
/// level, and an incident a few hours before the origin was put back at
/// it). Borrowed unchanged when there are none.
pub fn cleaned(y: &[f64]) -> Cow<'_, [f64]> {
    let (incidents, e, far) = marked(y);
    if incidents.is_empty() {
        return Cow::Borrowed(y);
    }
    let n = y.len();
    let mut out = y.to_vec();
    for run in incidents {
        let around = run.start.saturating_sub(LEVEL_HOURS)..(run.end + LEVEL_HOURS).min(n);
        let scale = level_ratio(around.filter_map(|u| e[u].filter(|_| !far[u]).map(|x| (y[u], x))));
        for u in run {
            if let Some(x) = e[u] {
                out[u] = x * scale;
            }
        }
    }
    Cow::Owned(out)
}

/// The level of hours against their expectations: the median of each
/// value's ratio to its expectation, over the pairs (value, expectation)
/// with a positive expectation; 1 where there are none.
pub fn level_ratio(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let mut ratios: Vec<f64> = pairs
        .filter(|(_, e)| *e > 0.0)
        .map(|(v, e)| v / e)
        .collect();
    if ratios.is_empty() {
        1.0
    } else {
        median(&mut ratios)
    }
}
