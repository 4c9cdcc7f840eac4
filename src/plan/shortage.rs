//! Sizing to a shortage target: the quantile a node group is sized for,
//! learned online from its own realized shortage (the share of the
//! node-hours needed that it was short), so that the shortage meets the
//! operator's target. Pure.
//!
//! The rule is adaptive quantile tracking (as in adaptive conformal
//! inference): after each hour, `q += rate * (short - target * need) /
//! mean_need`, kept within [`MIN_QUANTILE`, `MAX_QUANTILE`]. Summed over
//! the hours, the steps telescope: while `q` stays inside its bounds, the
//! realized shortage share differs from the target by at most the bounds'
//! width over `rate * hours`, whatever the series. `rate` is not fitted to
//! any series: it is set so that `q` falls from p95 to p50 over one week
//! without a single short hour ([`WEEK_H`]).

use super::scaling::{at_quantile, whole};
use serde::Serialize;

pub const MIN_QUANTILE: f64 = 0.50;
pub const MAX_QUANTILE: f64 = 0.95;
/// Default `plan.target_shortage` / `simulate --target-shortage`: 1 % of the node-hours needed.
pub const DEFAULT_TARGET: f64 = 0.01;
/// Hours without shortage over which `q` falls across its whole range.
pub const WEEK_H: f64 = 168.0;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShortageTarget {
    /// Share of the node-hours needed allowed short (0.01 = 1 %).
    pub target: f64,
    /// The quantile to size the coming hour for.
    pub quantile: f64,
    /// Step size: quantile per unit of normalized shortage error.
    rate: f64,
    /// Node-hours needed and short so far, and hours seen.
    needed: f64,
    short: f64,
    hours: u64,
    /// Sum of the quantiles used (for the mean).
    quantile_sum: f64,
}

impl ShortageTarget {
    /// A tracker for `target`, starting at `start` (clamped to the bounds).
    pub fn new(target: f64, start: f64) -> ShortageTarget {
        let target = target.clamp(1e-4, 0.5);
        ShortageTarget {
            target,
            quantile: start.clamp(MIN_QUANTILE, MAX_QUANTILE),
            rate: (MAX_QUANTILE - MIN_QUANTILE) / (WEEK_H * target),
            needed: 0.0,
            short: 0.0,
            hours: 0,
            quantile_sum: 0.0,
        }
    }

    /// Takes one hour: the nodes it had and the nodes it needed. Moves the
    /// quantile for the next hour.
    pub fn observe(&mut self, size: f64, need: f64) {
        let short = (need - size).max(0.0);
        self.quantile_sum += self.quantile;
        self.hours += 1;
        self.needed += need;
        self.short += short;
        let mean_need = (self.needed / self.hours as f64).max(1.0);
        let err = (short - self.target * need) / mean_need;
        self.quantile = (self.quantile + self.rate * err).clamp(MIN_QUANTILE, MAX_QUANTILE);
    }

    /// Realized shortage so far: node-hours short over node-hours needed.
    pub fn realized(&self) -> Option<f64> {
        (self.needed > 0.0).then(|| self.short / self.needed)
    }

    /// Node-hours needed so far.
    pub fn needed(&self) -> f64 {
        self.needed
    }

    /// Hours observed.
    pub fn hours(&self) -> u64 {
        self.hours
    }

    /// The tracker replayed over a record of hour-ahead forecasts and what
    /// the hours needed, oldest first: `(p50, p90, actual)` each hour, each
    /// hour sized for the quantile the hours before it set.
    pub fn over_record(
        target: f64,
        start: f64,
        hours: impl IntoIterator<Item = (f64, f64, f64)>,
    ) -> ShortageTarget {
        Self::replay(target, start, hours, |n| n)
    }

    /// [`over_record`](Self::over_record) for a node group: `(p50, p90,
    /// actual)` in nodes, each hour sized in whole nodes as the group is.
    pub fn over_node_record(
        target: f64,
        start: f64,
        hours: impl IntoIterator<Item = (f64, f64, f64)>,
    ) -> ShortageTarget {
        Self::replay(target, start, hours, |n| whole(n) as f64)
    }

    fn replay(
        target: f64,
        start: f64,
        hours: impl IntoIterator<Item = (f64, f64, f64)>,
        size: impl Fn(f64) -> f64,
    ) -> ShortageTarget {
        let mut s = ShortageTarget::new(target, start);
        for (p50, p90, actual) in hours {
            s.observe(size(at_quantile(p50, p90, s.quantile)), actual);
        }
        s
    }

    /// The mean of the quantiles used so far.
    pub fn mean_quantile(&self) -> Option<f64> {
        (self.hours > 0).then(|| self.quantile_sum / self.hours as f64)
    }
}

/// Sizing to a shortage target, as measured from the forecast ledger (a
/// cluster's, from its CPU record; a node group's, from its nodes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sizing {
    pub target: f64,
    /// The quantile the plan sized for.
    pub quantile: f64,
    /// Realized shortage of the ledger's hour-ahead forecasts at the
    /// tracked quantile, over the hours scored (30 days at most).
    pub realized: Option<f64>,
    pub hours: u64,
}
