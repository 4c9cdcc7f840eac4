//! `nodecast simulate`: a series replayed as one node group's demand, hour by
//! hour over the backtest protocol's test window, under three policies that
//! choose each hour's size from the hours before it only. Pure.

use super::scaling::{ChangeLimits, ScaleRules, sizing_nodes, targets, undone_at};
use super::shortage::ShortageTarget;
use crate::forecast::ensemble::{Ensemble, MemberCache};
use crate::forecast::horizon::o_min;
use crate::forecast::prepared::interpolate;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PolicyResult {
    pub cost_usd: f64,
    pub node_hours: u64,
    pub shortage_node_hours: u64,
    pub shortage_hours: u64,
    /// Hours of the window whose size differs from the hour before: how
    /// often the group is resized (each drain or boot an operator sees).
    pub resizes: u64,
    /// Scale-ins whose size before came back within
    /// [`super::scaling::UNDONE_WITHIN_H`] hours ([`undone_at`]): nodes
    /// drained only to be booted again.
    pub scale_ins_undone: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SimulateReport {
    pub series: String,
    pub hours: usize,
    /// First hour of the test window `[o_min, n)`.
    pub first_hour: usize,
    pub instance_type: String,
    pub region: String,
    pub usd_per_node_hour: f64,
    pub peak_nodes: u32,
    /// The predictive policy's rules.
    pub rules: ScaleRules,
    /// The executor's step rule and cooldown the predictive policy keeps to.
    pub limits: Limits,
    /// With `--target-shortage`: the quantile learned from the replay's own
    /// past hours, and the shortage it realized.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_shortage: Option<TargetReport>,
    pub policies: BTreeMap<String, PolicyResult>,
    /// The predictive policy hour by hour (`simulate --dump-hours`).
    #[serde(skip)]
    pub trace: Vec<HourTrace>,
}

/// The step rule and cooldown of a `simulate` run, as its JSON reports them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Limits {
    /// Most nodes one change moves (`null`: the executor's default,
    /// `step_limit`).
    pub max_step: Option<u32>,
    pub cooldown_minutes: i64,
    /// Steps one hour may chain (`ChangeLimits::changes_per_hour`).
    pub changes_per_hour: usize,
}

impl From<&ChangeLimits> for Limits {
    fn from(l: &ChangeLimits) -> Self {
        Limits {
            max_step: l.max_step,
            cooldown_minutes: l.cooldown.num_minutes(),
            changes_per_hour: l.changes_per_hour(),
        }
    }
}

/// One test hour of the predictive policy: what it knew and what it chose,
/// enough to replay another sizing rule over the same forecasts
/// (`scripts/sizing_cv.py`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HourTrace {
    /// Nodes the hour needed.
    pub need: u32,
    /// Nodes the last hour's demand filled (fractional).
    pub requested_now: f64,
    /// Most nodes any hour before needed.
    pub busiest: u32,
    /// The forecast's p50 and p90 in nodes for the next [`TRACE_H`] hours.
    pub p50: Vec<f64>,
    pub p90: Vec<f64>,

    /// The quantile sized for, and the size chosen.
    pub quantile: f64,
    pub size: u32,
}

/// Forecast hours each [`HourTrace`] keeps: all of them, as a ramp towards
/// a later peak reads them all.
pub const TRACE_H: usize = 48;

/// What sizing to a shortage target did over the test window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetReport {
    pub target: f64,
    /// Node-hours short over node-hours needed.
    pub realized: f64,
    pub needed_node_hours: f64,
    pub mean_quantile: f64,
    pub final_quantile: f64,
}

/// Demand in nodes: `need_t = max(1, ceil(N * y_t / max(y)))`.
pub fn need(y: &[f64], peak_nodes: u32) -> Vec<u32> {
    let top = y.iter().copied().fold(0.0_f64, f64::max);
    y.iter()
        .map(|v| {
            if top <= 0.0 {
                return 1;
            }
            let n = peak_nodes as f64 * v / top;
            (((n * 1e9).round() / 1e9).ceil() as u32).max(1)
        })
        .collect()
}

/// Scores sizes `cap[t - first]` for hours `first..n` against `need`.
pub fn score(need: &[u32], first: usize, cap: &[u32], price: f64) -> PolicyResult {
    let mut r = PolicyResult::default();
    for (t, c) in (first..need.len()).zip(cap) {
        r.node_hours += *c as u64;
        let short = need[t].saturating_sub(*c) as u64;
        r.shortage_node_hours += short;
        r.shortage_hours += (short > 0) as u64;
    }
    for i in 1..cap.len() {
        r.resizes += (cap[i] != cap[i - 1]) as u64;
        r.scale_ins_undone += undone_at(cap, i).is_some() as u64;
    }
    r.cost_usd = (r.node_hours as f64 * price * 100.0).round() / 100.0;
    r
}

/// `reactive`: each hour's size is the last hour's need.
pub fn reactive(need: &[u32], first: usize) -> Vec<u32> {
    (first..need.len()).map(|t| need[t.max(1) - 1]).collect()
}

/// `static_peak`: `ceil(1.1 * max need before the window)`, constant.
pub fn static_peak(need: &[u32], first: usize) -> Vec<u32> {
    let peak = need[..first].iter().copied().max().unwrap_or(1);
    let size = (1.1 * peak as f64 - 1e-9).ceil() as u32;
    vec![size; need.len() - first]
}

/// `predictive`: nodecast's scaling rule on its own forecasts, refreshed
/// every hour from the hours before it. Demand in nodes is `N * y / max(y)`
/// (fractional); the rule sizes for the forecast's `rules.quantile`, its
/// spread capped over the busiest hour before (`sizing_nodes`), and never
/// goes below the last hour's need but by the executor's `limits`: each
/// change at most one step, a jump larger than a step ramped to early, and
/// where the group is still short, more scale-out steps within the hour,
/// one per cooldown (`ChangeLimits::hour_changes`, as the plan; the hour is
/// scored at the last of them). A cooldown of an hour or more is one change
/// per `every_h` hours. With `target`, the quantile is learned
/// hour by hour from the shortage realized in the hours before (starting at
/// `rules.quantile`). Calls `progress(done, total)` as it goes.
#[allow(clippy::too_many_arguments)]
pub fn predictive(
    y: &[f64],
    observed: &[bool],
    start_hour: i64,
    peak_nodes: u32,
    first: usize,
    ensemble: &Ensemble,
    rules: &ScaleRules,
    limits: &ChangeLimits,
    mut target: Option<&mut ShortageTarget>,
    progress: &mut dyn FnMut(usize, usize),
) -> (Vec<u32>, Vec<HourTrace>) {
    let top = y.iter().copied().fold(0.0_f64, f64::max);
    let k = if top > 0.0 {
        peak_nodes as f64 / top
    } else {
        0.0
    };
    let need = need(y, peak_nodes);
    let mut cache = MemberCache::default();
    let mut size = need[first.max(1) - 1];
    let mut out = Vec::with_capacity(y.len() - first);
    let mut trace = Vec::with_capacity(y.len() - first);
    let mut busiest = need[..first].iter().copied().max().unwrap_or(1);
    let mut last_change: Option<usize> = None;
    for t in first..y.len() {
        let q = target
            .as_ref()
            .map(|s| s.quantile)
            .unwrap_or(rules.quantile);
        let (p50, p90): (Vec<f64>, Vec<f64>) = ensemble
            .forecast(y, observed, None, start_hour, t, &mut cache, None)
            .map(|f| {
                let b = &f.combined;
                (
                    b.p50.iter().map(|m| k * m).collect(),
                    b.p90.iter().map(|u| k * u).collect(),
                )
            })
            .unwrap_or_default();
        let upper: Vec<f64> = p50
            .iter()
            .zip(&p90)
            .map(|(m, u)| sizing_nodes(*m, *u, q, Some(busiest as f64), rules))
            .collect();
        let requested_now = (y[t - 1] * k).max(1.0);
        let ramp = limits.ramp(&targets(&upper, requested_now, rules));
        let ramp = ramp.first().copied().unwrap_or(0);
        let changes = limits.hour_changes(size, requested_now, &upper, ramp, rules);
        if let Some(&(next, _)) = changes.last()
            && last_change.is_none_or(|l| t - l >= limits.every_h())
        {
            size = next;
            last_change = Some(t);
        }
        out.push(size);
        let kept = p50.len().min(TRACE_H);
        trace.push(HourTrace {
            need: need[t],
            requested_now,
            busiest,
            p50: p50[..kept].to_vec(),
            p90: p90[..kept].to_vec(),
            quantile: q,
            size,
        });
        if let Some(s) = target.as_deref_mut() {
            s.observe(size as f64, need[t] as f64);
        }
        busiest = busiest.max(need[t]);
        progress(t + 1 - first, y.len() - first);
    }
    (out, trace)
}

/// Runs the three policies over an hourly series (`None` = missing hour,
/// filled by interpolation as the backtest does).
#[allow(clippy::too_many_arguments)]
pub fn run(
    series: &str,
    values: &[Option<f64>],
    start_hour: i64,
    instance_type: &str,
    region: &str,
    price: f64,
    peak_nodes: u32,
    ensemble: &Ensemble,
    rules: &ScaleRules,
    limits: &ChangeLimits,
    target_shortage: Option<f64>,
    progress: &mut dyn FnMut(usize, usize),
) -> SimulateReport {
    let y = interpolate(values);
    let observed: Vec<bool> = values.iter().map(|v| v.is_some()).collect();
    let n = y.len();
    let first = o_min(n).max(1);
    let need = need(&y, peak_nodes);
    let mut policies = BTreeMap::new();
    policies.insert(
        "reactive".to_string(),
        score(&need, first, &reactive(&need, first), price),
    );
    policies.insert(
        "static_peak".to_string(),
        score(&need, first, &static_peak(&need, first), price),
    );
    let mut target = target_shortage.map(|t| ShortageTarget::new(t, rules.quantile));
    let (pred, trace) = predictive(
        &y,
        &observed,
        start_hour,
        peak_nodes,
        first,
        ensemble,
        rules,
        limits,
        target.as_mut(),
        progress,
    );
    policies.insert("predictive".to_string(), score(&need, first, &pred, price));
    SimulateReport {
        series: series.to_string(),
        hours: n,
        first_hour: first,
        instance_type: instance_type.to_string(),
        region: region.to_string(),
        usd_per_node_hour: price,
        peak_nodes,
        rules: *rules,
        limits: limits.into(),
        target_shortage: target.map(|s| TargetReport {
            target: s.target,
            realized: s.realized().unwrap_or(0.0),
            needed_node_hours: s.needed(),
            mean_quantile: s.mean_quantile().unwrap_or(s.quantile),
            final_quantile: s.quantile,
        }),
        policies,
        trace,
    }
}
