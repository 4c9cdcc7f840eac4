//! In-memory hourly history per series, with retention.

use crate::domain::{HourlySeries, Sample, SeriesKind};
use crate::series_csv::hourly_from_sums;
use std::collections::BTreeMap;

/// Hours of history kept in memory and handed to the forecaster.
pub const RETENTION_HOURS: i64 = 35 * 24;

#[derive(Clone, Debug, Default)]
pub struct HourlyBuckets {
    by_series: BTreeMap<SeriesKind, BTreeMap<i64, (f64, u32)>>,
}

impl HourlyBuckets {
    pub fn add(&mut self, kind: SeriesKind, s: Sample) {
        let hour = s.ts.timestamp().div_euclid(3600);
        let e = self
            .by_series
            .entry(kind)
            .or_default()
            .entry(hour)
            .or_insert((0.0, 0));
        e.0 += s.value;
        e.1 += 1;
    }

    /// Drops hours older than the retention before the newest hour.
    pub fn prune(&mut self) {
        for m in self.by_series.values_mut() {
            if let Some((&last, _)) = m.last_key_value() {
                *m = m.split_off(&(last - RETENTION_HOURS));
            }
        }
    }

    pub fn series(&self) -> BTreeMap<SeriesKind, HourlySeries> {
        self.by_series
            .iter()
            .map(|(k, m)| (*k, hourly_from_sums(m)))
            .collect()
    }
}

/// Why a sample is refused, or `None` when it is plausible.
pub fn implausible(kind: SeriesKind, value: f64) -> Option<&'static str> {
    if !value.is_finite() {
        return Some("not a finite number");
    }
    if value < 0.0 {
        return Some("negative");
    }
    let limit = match kind {
        SeriesKind::Nodes => 100_000.0,
        SeriesKind::Pods
        | SeriesKind::PendingPods
        | SeriesKind::BatchPods
        | SeriesKind::BackgroundPods => 10_000_000.0,
        _ => 1e9,
    };
    (value > limit).then_some("absurdly large")
}
