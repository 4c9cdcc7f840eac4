//! Features for the learned members, built from the hours before an origin.
//! Values are relative to the last day's mean level, so one model serves a
//! series whatever its scale, and a tree can extrapolate a level change.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub const FEATURE_NAMES: [&str; 15] = [
    "horizon",
    "hour",
    "day_of_week",
    "weekend",
    "holiday",
    "event_uplift",
    "lag1",
    "lag2",
    "lag3",
    "same_hour_1d",
    "same_hour_7d",
    "mean_7d",
    "std_24h",
    "trend_24h",
    "max_24h",
];

/// A business event (flash sale, game launch) with its expected uplift.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessEvent {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Expected demand multiplier minus one (0.5 = +50 %).
    pub uplift: f64,
}

/// Holidays and business events that feed the models.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Calendar {
    pub holidays: Vec<NaiveDate>,
    pub events: Vec<BusinessEvent>,
}

impl Calendar {
    /// Fixed-date public holidays common to most regions (New Year, 1 May,
    /// Christmas, Boxing Day, New Year's Eve) for the given years.
    pub fn builtin(years: std::ops::RangeInclusive<i32>) -> Calendar {
        let mut holidays = Vec::new();
        for y in years {
            for (m, d) in [(1, 1), (5, 1), (12, 24), (12, 25), (12, 26), (12, 31)] {
                if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                    holidays.push(date);
                }
            }
        }
        Calendar {
            holidays,
            events: Vec::new(),
        }
    }

    fn holiday(&self, t: DateTime<Utc>) -> bool {
        self.holidays.contains(&t.date_naive())
    }

    fn uplift(&self, t: DateTime<Utc>) -> f64 {
        self.events
            .iter()
            .filter(|e| e.start <= t && t < e.end)
            .map(|e| e.uplift)
            .sum()
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Normalizing level at origin `t`: mean of the last 24 hours (1 when not positive).
pub fn level(y: &[f64], t: usize) -> f64 {
    let m = mean(&y[t.saturating_sub(24)..t]);
    if m > 1e-9 { m } else { 1.0 }
}

/// The value `back` hours before hour `target`, or the latest known hour at the same phase.
fn same_phase(y: &[f64], t: usize, target: usize, back: usize) -> Option<f64> {
    let mut k = target.checked_sub(back)?;
    while k >= t {
        k = k.checked_sub(back)?;
    }
    Some(y[k])
}

/// Features of hour `t + h - 1` seen from origin `t` (only `y[..t]` is read).
pub fn features(y: &[f64], t: usize, h: usize, start_hour: i64, cal: &Calendar) -> [f64; 15] {
    let lv = level(y, t);
    let target = t + h - 1;
    let ts = DateTime::from_timestamp((start_hour + target as i64) * 3600, 0).unwrap_or_default();
    let dow = ts.weekday().num_days_from_monday() as f64;
    let last = |k: usize| y[t.saturating_sub(k)] / lv;
    let d1 = same_phase(y, t, target, 24).map(|v| v / lv).unwrap_or(1.0);
    let d7 = same_phase(y, t, target, 168).map(|v| v / lv).unwrap_or(d1);
    let day = &y[t.saturating_sub(24)..t];
    let prev = &y[t.saturating_sub(48)..t.saturating_sub(24)];
    let m = mean(day);
    let std =
        (day.iter().map(|v| (v - m).powi(2)).sum::<f64>() / day.len().max(1) as f64).sqrt() / lv;
    let trend = if prev.is_empty() {
        0.0
    } else {
        (m - mean(prev)) / lv
    };
    let max = day.iter().copied().fold(f64::MIN, f64::max) / lv;
    [
        h as f64,
        ts.hour_of_day() as f64,
        dow,
        (dow >= 5.0) as u8 as f64,
        cal.holiday(ts) as u8 as f64,
        cal.uplift(ts),
        last(1),
        last(2),
        last(3),
        d1,
        d7,
        mean(&y[t.saturating_sub(168)..t]) / lv,
        std,
        trend,
        max,
    ]
}

trait HourOfDay {
    fn hour_of_day(&self) -> u32;
}

impl HourOfDay for DateTime<Utc> {
    fn hour_of_day(&self) -> u32 {
        chrono::Timelike::hour(self)
    }
}
