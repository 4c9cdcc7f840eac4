//! Horizons and origins: how far ahead every forecast reaches, the hour a
//! forecast is issued from, and the origins of the backtest protocol
//! (PROTOCOL.md). Pure.

use chrono::{DateTime, Utc};

/// Hours ahead that every forecast covers (horizons 1..=48).
pub const HORIZON_HOURS: usize = 48;
/// Hours between two origins, in the backtest and for validation.
pub const STEP: usize = 6;

/// Start of the hour that contains `now`: the first hour not yet complete.
pub fn origin_for(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(now.timestamp().div_euclid(3600) * 3600, 0).unwrap_or(now)
}

/// First hour of the test window: `max(min(168, n div 2), n - 720, ceil(0.6 n))`.
pub fn o_min(n: usize) -> usize {
    (168.min(n / 2))
        .max(n.saturating_sub(720))
        .max((0.6 * n as f64).ceil() as usize)
}

/// Origins `n-48, n-54, ...` down to the last `>= o_min`, ascending.
pub fn origins(n: usize) -> Vec<usize> {
    let o_min = o_min(n);
    let mut out = Vec::new();
    let mut o = n as i64 - HORIZON_HOURS as i64;
    while o >= o_min as i64 {
        out.push(o as usize);
        o -= STEP as i64;
    }
    out.reverse();
    out
}

/// One model's forecast at one origin: p10, p50, p90 for each of the 48 hours.
#[derive(Clone, Debug, Default)]
pub struct OriginForecast {
    pub p50: Vec<f64>,
    pub p10: Vec<f64>,
    pub p90: Vec<f64>,
}
