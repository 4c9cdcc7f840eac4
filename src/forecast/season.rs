//! Seasons taken out of a series before a level model fits it, and put back
//! on the level model's forecast: the daily season (one hourly profile for
//! every day) and the day-type season (working days and days off each with a
//! level and hourly profile of their own, for the weekly cycle of business
//! demand before there are two weeks of history to fit a weekly season).

use super::features::Calendar;
use super::robust;
use chrono::{DateTime, Datelike, Weekday};

/// A daily season removed from a series.
pub struct DailySeason {
    idx: [f64; 24],
    multiplicative: bool,
}

impl DailySeason {
    /// Puts the season back on values that start at index `from`.
    pub fn reseasonalize(&self, v: &[f64], from: usize) -> Vec<f64> {
        v.iter()
            .enumerate()
            .map(|(i, x)| {
                let s = self.idx[(from + i) % 24];
                if self.multiplicative { x * s } else { x + s }
            })
            .collect()
    }
}

/// Whether `y` repeats every `lag` hours: its autocorrelation at `lag` is
/// over 1.645 standard errors from zero (Bartlett's, from the
/// autocorrelations below `lag`; a two-sided test at 90 %), the test
/// statsforecast's AutoTheta runs before it fits a season. Never under two
/// periods of history.
pub fn has_cycle(y: &[f64], lag: usize) -> bool {
    let n = y.len();
    if lag == 0 || n < 2 * lag {
        return false;
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let var: f64 = d.iter().map(|v| v * v).sum();
    if var.is_nan() || var <= 0.0 {
        return false;
    }
    let r = |k: usize| {
        d[..n - k]
            .iter()
            .zip(&d[k..])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / var
    };
    let below: f64 = (1..lag).map(|k| r(k).powi(2)).sum();
    let se = ((1.0 + 2.0 * below) / n as f64).sqrt();
    r(lag).abs() / se > 1.645
}

/// The series without its daily season (multiplicative when all values are positive).
pub fn deseasonalize(y: &[f64]) -> (Vec<f64>, DailySeason) {
    let multiplicative = y.iter().all(|v| *v > 0.0);
    let idx = daily_indices(y, multiplicative);
    let de = y
        .iter()
        .enumerate()
        .map(|(t, v)| {
            if multiplicative {
                v / idx[t % 24]
            } else {
                v - idx[t % 24]
            }
        })
        .collect();
    (
        de,
        DailySeason {
            idx,
            multiplicative,
        },
    )
}

/// Daily seasonal indices by classical decomposition over the last weeks:
/// each hour of the day's median ratio to (or difference from) the centered
/// 24-hour moving average. A mean carried a one-hour burst of 20x the level
/// into that hour's index for four weeks, and a level shift into every
/// hour's (docs/forecasting.md, "Robust daily season").
fn daily_indices(y: &[f64], multiplicative: bool) -> [f64; 24] {
    let n = y.len();
    let start = n.saturating_sub(24 * 28);
    let mut ratios: [Vec<f64>; 24] = std::array::from_fn(|_| Vec::new());
    for t in (start + 12)..n.saturating_sub(12) {
        // Centered 2x24 moving average.
        let w = &y[t - 12..=t + 12];
        let ma = (w[1..24].iter().sum::<f64>() + 0.5 * (w[0] + w[24])) / 24.0;
        let r = if multiplicative {
            if ma > 0.0 { y[t] / ma } else { 1.0 }
        } else {
            y[t] - ma
        };
        ratios[t % 24].push(r);
    }
    let mut idx = [if multiplicative { 1.0 } else { 0.0 }; 24];
    for (i, r) in idx.iter_mut().zip(ratios.iter_mut()) {
        if !r.is_empty() {
            *i = robust::median(r);
        }
    }
    // Normalize: indices average to 1 (or 0).
    let m = idx.iter().sum::<f64>() / 24.0;
    for v in &mut idx {
        if multiplicative {
            *v /= m.max(1e-12);
        } else {
            *v -= m;
        }
    }
    idx
}

/// Whether the unix hour `hour` falls on a day off: Saturday, Sunday (UTC)
/// or a holiday of the calendar.
pub fn day_off(calendar: &Calendar, hour: i64) -> bool {
    DateTime::from_timestamp(hour * 3600, 0)
        .is_some_and(|t| matches!(t.weekday(), Weekday::Sat | Weekday::Sun) || calendar.holiday(t))
}

/// Whole days of each type a day-type season needs (a profile from one day
/// is that day's noise).
pub const MIN_DAYS: usize = 2;

/// A multiplicative daily season per day type: index = the day type's level
/// (relative to a week of five working days and two days off) times its
/// hourly profile (relative to that day's mean).
pub struct DayTypeSeason<'c> {
    level: [f64; 2],
    profile: [[f64; 24]; 2],
    calendar: &'c Calendar,
}

impl<'c> DayTypeSeason<'c> {
    /// Fits the season on the whole calendar days of the last four weeks of
    /// `y` (`y[0]` is the unix hour `start_hour`); none unless every value is
    /// positive and there are [`MIN_DAYS`] whole working days and days off.
    pub fn fit(y: &[f64], start_hour: i64, calendar: &'c Calendar) -> Option<Self> {
        let n = y.len();
        let start = n.saturating_sub(24 * 28);
        let window = &y[start..];
        if window.iter().any(|v| *v <= 0.0 || !v.is_finite()) {
            return None;
        }
        let first = start + (24 - (start_hour + start as i64).rem_euclid(24)) as usize % 24;
        let mut profile = [[0.0; 24]; 2];
        let mut day_means = [0.0; 2];
        let mut days = [0usize; 2];
        for s in (first..n.saturating_sub(23)).step_by(24) {
            let day = &y[s..s + 24];
            let mean = day.iter().sum::<f64>() / 24.0;
            let kind = usize::from(day_off(calendar, start_hour + s as i64));
            for (p, v) in profile[kind].iter_mut().zip(day) {
                *p += v / mean;
            }
            day_means[kind] += mean;
            days[kind] += 1;
        }
        if days.iter().any(|d| *d < MIN_DAYS) {
            return None;
        }
        for kind in 0..2 {
            for p in &mut profile[kind] {
                *p /= days[kind] as f64;
            }
        }
        let off_vs_working = (day_means[1] / days[1] as f64) / (day_means[0] / days[0] as f64);
        let working = 7.0 / (5.0 + 2.0 * off_vs_working);
        Some(DayTypeSeason {
            level: [working, off_vs_working * working],
            profile,
            calendar,
        })
    }

    fn index(&self, hour: i64) -> f64 {
        let kind = usize::from(day_off(self.calendar, hour));
        self.level[kind] * self.profile[kind][hour.rem_euclid(24) as usize]
    }

    /// `v` (starting at the unix hour `from`) without the season.
    pub fn deseasonalize(&self, v: &[f64], from: i64) -> Vec<f64> {
        (from..).zip(v).map(|(t, x)| x / self.index(t)).collect()
    }

    /// The season put back on `v` (starting at the unix hour `from`).
    pub fn reseasonalize(&self, v: &[f64], from: i64) -> Vec<f64> {
        (from..).zip(v).map(|(t, x)| x * self.index(t)).collect()
    }
}
