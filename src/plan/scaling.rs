//! The scaling rule every proposal (and `simulate`'s predictive policy)
//! follows: scale out ahead of the forecast's upper quantile; scale in only
//! when that upper band stays below the smaller size for a whole window,
//! never below what is requested now and never by more than one step.
//! Pure: numbers in, a node count out.

use crate::domain::ScaleReason;
use serde::Serialize;

/// Limits of one node group's scaling.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ScaleRules {
    /// Forecast quantile the group is sized for (0.5-0.99).
    pub quantile: f64,
    /// Node group bounds.
    pub min: u32,
    pub max: u32,
    /// Hours the upper band must stay below a smaller size before scaling in.
    pub scale_in_window_h: usize,
    /// Most nodes removed by one scale-in, as a share of the current size
    /// (at least one node).
    pub max_scale_in_step: f64,
    /// Smallest scale-in worth making, as a share of the current size (at
    /// least one node): smaller dips are held, so the size does not flap.
    pub min_scale_in: f64,
    /// Minutes a new node takes to be ready; scale-outs are applied this much
    /// before the hour they serve (AWS predictive scaling's SchedulingBufferTime).
    pub lead_minutes: u32,
    /// The band's ceiling over the busiest hour seen: the forecast's spread
    /// never sizes a group above `(1 + peak_buffer)` times the most nodes
    /// any hour of its history needed (its median may: growth, an event).
    pub peak_buffer: f64,
}

impl Default for ScaleRules {
    fn default() -> Self {
        ScaleRules {
            quantile: DEFAULT_QUANTILE,
            min: 0,
            max: u32::MAX,
            scale_in_window_h: DEFAULT_SCALE_IN_WINDOW_H,
            max_scale_in_step: DEFAULT_SCALE_IN_STEP,
            min_scale_in: DEFAULT_MIN_SCALE_IN,
            lead_minutes: DEFAULT_LEAD_MINUTES,
            peak_buffer: DEFAULT_PEAK_BUFFER,
        }
    }
}

/// p80. Measured with `nodecast simulate` over the shared series when
/// chosen (2026-11-28): p80 cost 8.2 % more than reactive scaling for
/// 0.21 x its shortage; p85 9.7 % for 0.18 x; p90 11.6 % (over the 10 %
/// bar) for 0.15 x. With today's forecast, step rule and steps chained
/// within the hour p80 costs 6.2 % more for 0.31 x (docs/planning.md,
/// `nodecast simulate`).
pub const DEFAULT_QUANTILE: f64 = 0.80;
pub const DEFAULT_SCALE_IN_WINDOW_H: usize = 2;
pub const DEFAULT_SCALE_IN_STEP: f64 = 0.5;
pub const DEFAULT_MIN_SCALE_IN: f64 = 0.05;

/// Standard normal quantile (Abramowitz and Stegun 26.2.23, error < 4.5e-4).
pub fn normal_quantile(p: f64) -> f64 {
    if (p - 0.5).abs() < 1e-12 {
        return 0.0;
    }
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    let tail = |q: f64| {
        let t = (-2.0 * q.ln()).sqrt();
        t - (2.515517 + 0.802853 * t + 0.010328 * t * t)
            / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)
    };
    if p < 0.5 { -tail(p) } else { tail(1.0 - p) }
}

/// The forecast's `q` quantile from its p50 and p90, the band read as a
/// normal spread (exact at 0.5 and 0.9).
pub fn at_quantile(p50: f64, p90: f64, q: f64) -> f64 {
    let k = normal_quantile(q) / normal_quantile(0.9);
    (p50 + k * (p90 - p50)).max(0.0)
}
pub const DEFAULT_LEAD_MINUTES: u32 = 5;
/// 10 %: the margin the static-peak policy keeps over the busiest hour seen
/// (`simulate`'s `static_peak`), set before any run, not fitted.
pub const DEFAULT_PEAK_BUFFER: f64 = 0.10;

/// Nodes to size one forecast hour for: the band at quantile `q`, capped at
/// `(1 + rules.peak_buffer) * busiest` (the most nodes any hour of the
/// history needed, when known) unless the median `p50` itself is higher.
/// A band made wide by a level shift or by spikes in the history would
/// otherwise size the group for more than it has ever needed, every hour.
pub fn sizing_nodes(p50: f64, p90: f64, q: f64, busiest: Option<f64>, rules: &ScaleRules) -> f64 {
    let upper = at_quantile(p50, p90, q);
    match busiest {
        Some(b) if b > 0.0 => upper.min(ceiling_nodes(b, rules)).max(p50),
        _ => upper,
    }
}

/// The band's ceiling over a busiest hour of `busiest` nodes.
pub fn ceiling_nodes(busiest: f64, rules: &ScaleRules) -> f64 {
    busiest * (1.0 + rules.peak_buffer)
}

pub use crate::forecast::nodes::whole_nodes as whole;

/// The size for the coming hour. `current` is the group's size now,
/// `requested_now` the nodes that today's requests fill (fractional),
/// `upper` the nodes the forecast's upper quantile (plus headroom) needs in
/// each coming hour, the first being the hour this size serves.
pub fn next_size(
    current: u32,
    requested_now: f64,
    upper: &[f64],
    rules: &ScaleRules,
) -> (u32, ScaleReason) {
    let floor = whole(requested_now);
    let next = upper.first().map(|u| whole(*u)).unwrap_or(0);
    let (size, reason) = if next > current || floor > current {
        if next >= floor {
            (next, ScaleReason::ForecastAbove)
        } else {
            (floor, ScaleReason::RequestsAbove)
        }
    } else {
        let window = &upper[..upper.len().min(rules.scale_in_window_h.max(1))];
        let band_max = window.iter().copied().map(whole).max().unwrap_or(current);
        if band_max < current && !window.is_empty() {
            let step = ((current as f64 * rules.max_scale_in_step).floor() as u32).max(1);
            let to = band_max.max(floor).max(current.saturating_sub(step));
            let least = ((current as f64 * rules.min_scale_in).ceil() as u32).max(1);
            if to + least <= current {
                (to, ScaleReason::BandBelow)
            } else {
                (current, ScaleReason::Hold)
            }
        } else {
            (current, ScaleReason::Hold)
        }
    };
    let bounded = size.clamp(rules.min, rules.max.max(rules.min));
    if bounded != size {
        (bounded, ScaleReason::Bounds)
    } else {
        (size, reason)
    }
}

/// Each coming hour's target size, what a ramp works back from: the hour's
/// sized upper count, never below what is requested now, inside the
/// group's min/max.
pub fn targets(upper: &[f64], requested_now: f64, rules: &ScaleRules) -> Vec<u32> {
    let floor = whole(requested_now);
    upper
        .iter()
        .map(|u| {
            whole(*u)
                .max(floor)
                .clamp(rules.min, rules.max.max(rules.min))
        })
        .collect()
}

/// The executor's step rule (`exec::rules`): the most nodes one change may
/// move a group of `from` nodes towards `to`: `max_step` either way, or by
/// default up to the group's size again (it may double, at least
/// [`MIN_SCALE_OUT_STEP`] nodes: the scale-up policy of Kubernetes'
/// HorizontalPodAutoscaler, 100 % or 4 pods at a time) and down by half of
/// it (at least one node). Scale out fast, scale in slowly: a half-group
/// step up left the plan short on bursts a ramp could not see coming
/// (docs/planning.md, "The step rule's default").
pub fn step_limit(from: u32, to: u32, max_step: Option<u32>) -> u32 {
    match max_step {
        Some(n) => n.max(1),
        None if to > from => from.clamp(MIN_SCALE_OUT_STEP, MAX_SCALE_OUT_STEP),
        None => (from / 2).max(1),
    }
}

/// Hours after a scale-in within which a return to the size before it
/// counts the scale-in as undone: `simulate` counts them, and the plan marks
/// a scale-in its own later changes undo ([`crate::plan::group::Proposal`]'s
/// `back_at`). A quarter of a day; a window to report churn in, not a rule
/// of the plan.
pub const UNDONE_WITHIN_H: usize = 6;

/// Where `sizes[i]` is a scale-in (below `sizes[i - 1]`), the first of the
/// next [`UNDONE_WITHIN_H`] hours whose size is back at `sizes[i - 1]` or
/// more: the scale-in is undone there. `simulate` counts these; the plan
/// marks them ([`crate::plan::group::Proposal`]'s `back_at`).
pub fn undone_at(sizes: &[u32], i: usize) -> Option<usize> {
    let before = *sizes.get(i.checked_sub(1)?)?;
    if sizes[i] >= before {
        return None;
    }
    (i + 1..sizes.len().min(i + 1 + UNDONE_WITHIN_H)).find(|k| sizes[*k] >= before)
}

/// The least nodes one default scale-out step may add.
pub const MIN_SCALE_OUT_STEP: u32 = 4;
/// The most nodes one default scale-out step may add: the executor's
/// runaway guard's nodes per cluster per hour (`exec::rules::Runaway`), so
/// that a large group's step alone never trips it.
pub const MAX_SCALE_OUT_STEP: u32 = 100;

/// The most changes the executor applies to one cluster in an hour: its
/// runaway guard's (`exec::rules::Runaway`), which reads it.
pub const MAX_APPLIES_PER_HOUR: u32 = 6;

/// The runaway guard's count: of `changes` (when, nodes added), those in
/// the hour up to `end` (after `end` minus an hour, at `end` or before),
/// and the nodes they added. The executor counts the cluster's applies
/// with it (`exec::rules::checks`), the plan its own changes
/// (`plan::group::within_runaway`).
pub fn hour_up_to(
    changes: &[(chrono::DateTime<chrono::Utc>, u32)],
    end: chrono::DateTime<chrono::Utc>,
) -> (u32, u32) {
    changes
        .iter()
        .filter(|(t, _)| *t <= end && end - *t < chrono::Duration::hours(1))
        .fold((0, 0), |(n, a), (_, x)| (n + 1, a + x))
}

/// How high, how far and how often a node group may be changed: the
/// cluster's cap, step rule and cooldown (`[cluster.actions]` `max_nodes`,
/// `max_step`, `cooldown_minutes`). The executor holds every change to them
/// (`exec::rules`) and the plan stays within them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ChangeLimits {
    /// The operator's cap on a group's size, below its max: no scale-out
    /// goes over it (a group already above it is not shrunk for it).
    pub max_nodes: Option<u32>,
    /// Most nodes one change moves (`None`: up to double the group, at
    /// least 4 nodes, or down by half, at least 1; `step_limit`).
    pub max_step: Option<u32>,
    /// Time between two changes to a group.
    pub cooldown: chrono::Duration,
}

/// `cooldown_minutes` when the config sets none.
pub const DEFAULT_COOLDOWN_MINUTES: i64 = 10;

impl Default for ChangeLimits {
    fn default() -> Self {
        ChangeLimits {
            max_nodes: None,
            max_step: None,
            cooldown: chrono::Duration::minutes(DEFAULT_COOLDOWN_MINUTES),
        }
    }
}

impl ChangeLimits {
    /// Hours between two changes in an hourly plan: the cooldown in whole
    /// hours, at least one.
    pub fn every_h(&self) -> usize {
        (self.cooldown.num_minutes().max(0) as usize)
            .div_ceil(60)
            .max(1)
    }

    /// The size one change reaches from `from` towards `to`.
    pub fn towards(&self, from: u32, to: u32) -> u32 {
        let step = step_limit(from, to, self.max_step);
        to.clamp(from.saturating_sub(step), from.saturating_add(step))
    }

    /// One change within these limits (the cooldown aside, which the
    /// caller holds by the clock): the scaling rule's
    /// (`next_size`), raised to `ramp` (what this hour must reach so that a
    /// later peak stays one change per [`every_h`](Self::every_h) hours
    /// away, from [`ramp`](Self::ramp)), a scale-in stopped at it, and at
    /// most one step from `size`: each step of
    /// [`hour_changes`](Self::hour_changes).
    fn next_size(
        &self,
        size: u32,
        requested_now: f64,
        upper: &[f64],
        ramp: u32,
        rules: &ScaleRules,
    ) -> (u32, ScaleReason) {
        let (mut next, mut reason) = next_size(size, requested_now, upper, rules);
        if ramp > next.max(size) {
            (next, reason) = (ramp, ScaleReason::Ramp);
        } else if next < size {
            next = next.max(ramp.min(size));
        }
        (self.towards(size, next), reason)
    }

    /// Changes one group may take within an hour: one per cooldown (one
    /// when the cooldown is an hour or longer), at most the runaway guard's
    /// [`MAX_APPLIES_PER_HOUR`].
    pub fn changes_per_hour(&self) -> usize {
        let minutes = self.cooldown.num_minutes().max(1) as usize;
        (60 / minutes).clamp(1, MAX_APPLIES_PER_HOUR as usize)
    }

    /// The hour's changes from `size`, each the size one change reaches
    /// ([`next_size`](Self::next_size)) and why. Where a scale-out step
    /// leaves the group short of the hour's size (pods pending now, a jump
    /// too close for the ramp to start early), the next steps follow, one
    /// cooldown apart: at most [`changes_per_hour`](Self::changes_per_hour)
    /// in all, adding at most [`MAX_SCALE_OUT_STEP`] nodes (the runaway
    /// guard's hourly budget), as Cluster Autoscaler or Karpenter would add
    /// the nodes within minutes. A scale-in is one step an hour: out fast,
    /// in slowly.
    pub fn hour_changes(
        &self,
        size: u32,
        requested_now: f64,
        upper: &[f64],
        ramp: u32,
        rules: &ScaleRules,
    ) -> Vec<(u32, ScaleReason)> {
        let budget = size.saturating_add(MAX_SCALE_OUT_STEP);
        let mut out = Vec::new();
        let mut at = size;
        while out.len() < self.changes_per_hour() {
            let (next, reason) = self.next_size(at, requested_now, upper, ramp, rules);
            let next = if next > at { next.min(budget) } else { next };
            if next == at || (next < at && !out.is_empty()) {
                break;
            }
            out.push((next, reason));
            if next < at {
                break;
            }
            at = next;
        }
        out
    }

    /// The smallest size from which one change reaches `to`.
    fn one_change_below(&self, to: u32) -> u32 {
        // `x + step_limit(x)` grows with x: the first x that reaches `to`.
        let (mut lo, mut hi) = (0, to);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if mid.saturating_add(step_limit(mid, to, self.max_step)) >= to {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    /// The size each hour must have reached so that every later hour's
    /// `target` is still one change per [`every_h`](Self::every_h) hours away: a forecast
    /// jump larger than one step starts its ramp early enough, as the
    /// executor allows it (a plan made of steps it would refuse helps
    /// nobody at 3 am).
    pub fn ramp(&self, target: &[u32]) -> Vec<u32> {
        let mut need = target.to_vec();
        for h in (0..need.len()).rev() {
            if let Some(later) = need.get(h + self.every_h()).copied() {
                need[h] = need[h].max(self.one_change_below(later));
            }
        }
        need
    }
}
