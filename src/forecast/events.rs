//! Business events measured: the uplift an event (a flash sale, a game
//! launch) brought to a cluster's demand, read from its hourly history, and
//! what the last event of the same name brought, for the chart's markers
//! and `nodecast events`. Pure.

use super::features::BusinessEvent;
use crate::domain::HourlySeries;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Share of an event's hours (and of its baseline's) that must be in the
/// history for its uplift to be measured.
pub const MIN_COVERAGE: f64 = 0.5;

/// The mean of `h` over the hours of `[start, end)` present, if they are
/// at least [`MIN_COVERAGE`] of them.
fn window_mean(h: &HourlySeries, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<f64> {
    let hours = (end - start).num_hours().max(1);
    let vals: Vec<f64> = h
        .points()
        .filter(|(ts, _)| *ts >= start && *ts < end)
        .map(|(_, v)| v)
        .collect();
    (vals.len() as f64 >= MIN_COVERAGE * hours as f64)
        .then(|| vals.iter().sum::<f64>() / vals.len() as f64)
}

/// The uplift `e` brought to `h`: its hours' mean over the same hours one
/// week before, minus one (0.62 = +62 %). `None` when the event is not
/// over or either window is mostly missing or the baseline is zero.
pub fn measured_uplift(e: &BusinessEvent, h: &HourlySeries, now: DateTime<Utc>) -> Option<f64> {
    if e.end > now {
        return None;
    }
    let during = window_mean(h, e.start, e.end)?;
    let week = Duration::days(7);
    let before = window_mean(h, e.start - week, e.end - week)?;
    (before > 1e-9).then(|| during / before - 1.0)
}

/// One event as the operator sees it on a cluster's series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRecord {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The configured expectation (0.8 = +80 %).
    pub expected_uplift: f64,
    /// What this one brought, once it is over.
    pub measured_uplift: Option<f64>,
    /// The last earlier event of the same name that could be measured: when
    /// it started and what it brought.
    pub last_time: Option<(DateTime<Utc>, f64)>,
}

impl EventRecord {
    /// The chart marker's words: "black-friday: +62 % last time".
    pub fn label(&self) -> String {
        let pct = |u: f64| format!("{:+.0} %", u * 100.0);
        match (self.measured_uplift, self.last_time) {
            (Some(u), _) => format!("{}: {} measured", self.name, pct(u)),
            (None, Some((_, u))) => format!("{}: {} last time", self.name, pct(u)),
            (None, None) => format!("{}: {} expected", self.name, pct(self.expected_uplift)),
        }
    }
}

/// Every event of `events` measured on `h` at `now`, in start order.
pub fn records(
    events: &[BusinessEvent],
    h: Option<&HourlySeries>,
    now: DateTime<Utc>,
) -> Vec<EventRecord> {
    let mut sorted: Vec<&BusinessEvent> = events.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let measured: Vec<Option<f64>> = sorted
        .iter()
        .map(|e| h.and_then(|h| measured_uplift(e, h, now)))
        .collect();
    sorted
        .iter()
        .enumerate()
        .map(|(i, e)| EventRecord {
            name: e.name.clone(),
            start: e.start,
            end: e.end,
            expected_uplift: e.uplift,
            measured_uplift: measured[i],
            last_time: (0..i)
                .rev()
                .filter(|j| sorted[*j].name == e.name && sorted[*j].end <= e.start)
                .find_map(|j| Some((sorted[j].start, measured[j]?))),
        })
        .collect()
}
