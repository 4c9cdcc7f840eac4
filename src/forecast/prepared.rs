//! A history made ready for the members: gaps interpolated, observed hours
//! marked, and a fingerprint that keys cached forecasts and saved models. Pure.

use crate::domain::HourlySeries;
use chrono::{DateTime, Utc};

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
            y: interpolate(values),
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

/// Linear interpolation of missing hours (ends carry the nearest value).
pub fn interpolate(y: &[Option<f64>]) -> Vec<f64> {
    let known: Vec<(usize, f64)> = y
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    if known.is_empty() {
        return vec![0.0; y.len()];
    }
    let mut out = vec![0.0; y.len()];
    let mut k = 0;
    for (i, slot) in out.iter_mut().enumerate() {
        while k + 1 < known.len() && known[k + 1].0 <= i {
            k += 1;
        }
        let (i0, v0) = known[k];
        *slot = if i <= i0 || k + 1 >= known.len() {
            v0
        } else {
            let (i1, v1) = known[k + 1];
            v0 + (v1 - v0) * (i - i0) as f64 / (i1 - i0) as f64
        };
    }
    // Before the first known hour: the first value.
    let (f0, v0) = known[0];
    for slot in out.iter_mut().take(f0) {
        *slot = v0;
    }
    out
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
