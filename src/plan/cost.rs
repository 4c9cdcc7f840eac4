//! Cost arithmetic: effective prices after discounts, Savings Plan / RI
//! commitments from the stable floor of demand, and an M/M/c queueing risk.
//! Pure.

use crate::domain::Risk;
use serde::Serialize;

pub const HOURS_PER_MONTH: f64 = 730.0;
pub const HOURS_PER_YEAR: f64 = 8760.0;

/// Discounts applied to list prices (from config).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Discounts {
    /// Enterprise (EDP/PPA) discount on every on-demand and spot dollar, 0-1.
    pub enterprise: f64,
    /// Savings Plan rate against on-demand, 0-1.
    pub savings_plan: f64,
    /// Share of demand the commitment is sized to cover: the stable floor's quantile.
    pub floor_quantile: f64,
}

/// Defaults: no enterprise discount (it is contract-specific); 28 % for the
/// Savings Plan, an assumed one-year no-upfront Compute Savings Plan rate (AWS
/// states "up to 66 %" for Compute Savings Plans, reached with three years
/// all upfront; no rate table ships with nodecast, so set your own); the
/// floor at the 10th percentile of hourly spend (AWS Cost Explorer's
/// recommendations also look back 30 days).
impl Default for Discounts {
    fn default() -> Self {
        Discounts {
            enterprise: 0.0,
            savings_plan: 0.28,
            floor_quantile: 0.10,
        }
    }
}

/// A Savings Plan / RI commitment advice.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Commitment {
    /// Commitment in USD per hour (at the plan's discounted rate).
    pub usd_per_hour: f64,
    /// The on-demand spend per hour it covers.
    pub covers_on_demand_usd_per_hour: f64,
    /// Share of hours it must be used in to break even (1 - discount).
    pub break_even_utilization: f64,
    /// Share of the past hours in which the covered spend was fully used.
    pub utilization: f64,
    /// Saving over a year, at the past hours' pattern.
    pub usd_per_year: f64,
    pub hours: usize,
}

/// A commitment from the floor of `hourly_on_demand_usd` (the past hours'
/// on-demand spend): the `floor_quantile` of it is covered, paid at the plan rate.
pub fn commitment(hourly_on_demand_usd: &[f64], d: &Discounts) -> Option<Commitment> {
    let mut v: Vec<f64> = hourly_on_demand_usd
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .collect();
    if v.len() < 24 || !(0.0..1.0).contains(&d.savings_plan) {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let covered = crate::forecast::quantile(&v, d.floor_quantile);
    let commit = covered * (1.0 - d.savings_plan);
    // Each hour: what the commitment paid for that was used, minus its price.
    let saved: f64 = hourly_on_demand_usd
        .iter()
        .filter(|x| x.is_finite() && **x >= 0.0)
        .map(|u| u.min(covered) - commit)
        .sum();
    let used = v.iter().filter(|u| **u >= covered).count() as f64 / v.len() as f64;
    Some(Commitment {
        usd_per_hour: commit,
        covers_on_demand_usd_per_hour: covered,
        break_even_utilization: 1.0 - d.savings_plan,
        utilization: used,
        usd_per_year: saved / v.len() as f64 * HOURS_PER_YEAR,
        hours: v.len(),
    })
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with
/// `c` servers at utilization `rho` (offered load `rho * c`). 1 at rho >= 1.
pub fn erlang_c(c: u32, rho: f64) -> f64 {
    if c == 0 || !rho.is_finite() || rho >= 1.0 {
        return 1.0;
    }
    if rho <= 0.0 {
        return 0.0;
    }
    let a = rho * c as f64;
    // Erlang B by its stable recursion, then C from B.
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    b / (1.0 - rho * (1.0 - b))
}

/// Latency risk level of a group at utilization `rho` on `c` nodes, with its reason.
pub fn latency_risk(c: u32, rho: f64) -> (Risk, String) {
    let p = erlang_c(c, rho);
    let level = if p < 0.05 {
        Risk::Low
    } else if p < 0.25 {
        Risk::Medium
    } else {
        Risk::High
    };
    (
        level,
        format!(
            "{:.0}% busy on {c} nodes: {:.0}% of requests would queue (M/M/c)",
            rho * 100.0,
            p * 100.0
        ),
    )
}
