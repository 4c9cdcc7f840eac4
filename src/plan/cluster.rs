//! One cluster's plan: every node group's plan, the cluster's costs and the
//! commitment advice, from its snapshot, history and forecasts. Pure.

use super::config::PlanConfig;
use super::cost::{self, Commitment, Discounts, HOURS_PER_MONTH};
use super::group::{self, GroupPlan};
use crate::domain::{ClusterForecast, SeriesKind};
use crate::forecast::nodes::{NodesNeeded, nodes_needed};
use crate::snapshot::ClusterView;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One cluster's plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterPlan {
    pub issued_at: DateTime<Utc>,
    pub region: String,
    pub groups: Vec<GroupPlan>,
    /// List price of the nodes running now.
    pub usd_per_hour_now: f64,
    pub usd_per_month_now: f64,
    /// After the enterprise discount.
    pub effective_usd_per_hour_now: f64,
    /// The next 48 hours at the planned sizes (list prices).
    pub planned_usd_48h: f64,
    /// The next 48 hours at today's sizes (list prices).
    pub unchanged_usd_48h: f64,
    /// The plan's mean $/h over the 48 h against today's sizes.
    pub plan_vs_now_usd_per_hour: f64,
    /// Nodes needed per node group, hour by hour (what the plan sized from).
    pub needs: Vec<NodesNeeded>,
    /// Headroom over forecast requests in those counts.
    pub headroom: f64,
    /// USD/h the spot-tolerant share would save on spot.
    pub spot_usd_per_hour_saved: f64,
    /// Savings Plan advice from the on-demand spend's floor.
    pub commitment: Option<Commitment>,
    pub discounts: Discounts,
    /// Where the prices come from ("live 2026-11-28 12:00 UTC (...)" or "shipped 2026-07-20, ...").
    pub prices: String,
    /// Catalog age, refresh or missing-price warnings.
    pub warnings: Vec<String>,
    /// The quantile the groups were sized for, learned from the ledger's
    /// realized shortage (`None`: the fixed `plan.quantile`).
    pub sizing: Option<Sizing>,
}

pub use super::shortage::Sizing;

impl ClusterPlan {
    /// Every group's proposals, soonest first (then by node group): the
    /// order the Plan pane lists them and a selection counts in.
    pub fn proposals(&self) -> Vec<&super::group::Proposal> {
        let mut out: Vec<&super::group::Proposal> =
            self.groups.iter().flat_map(|g| &g.proposals).collect();
        out.sort_by(|a, b| {
            (a.apply_by, &a.action.node_group).cmp(&(b.apply_by, &b.action.node_group))
        });
        out
    }
}

/// Plans `view`'s cluster from its forecasts. `None` until the cluster has a
/// snapshot and CPU and memory request forecasts.
pub fn plan_cluster(
    view: &ClusterView,
    forecasts: &ClusterForecast,
    cfg: &PlanConfig,
    catalog: &crate::catalog::Catalog,
    today: chrono::NaiveDate,
) -> Option<ClusterPlan> {
    let snapshot = view.latest.as_ref()?;
    let cpu = forecasts.get(&SeriesKind::CpuRequests)?;
    let mem = forecasts.get(&SeriesKind::MemRequests)?;
    let needs = nodes_needed(snapshot, cpu, mem, cfg.headroom);
    let mut warnings: Vec<String> = catalog.staleness(&view.region, today).into_iter().collect();
    if let Some(stamp) = catalog.live.get(&view.region) {
        warnings.extend(stamp.problems.iter().map(|p| format!("price refresh: {p}")));
    }
    // Every group's changes, for the runaway guard counted per cluster,
    // after the applies of the hour before the plan. Where the guard's
    // budget is short, the groups shortest of nodes now come first.
    let mut planned = cfg.cluster_applies.clone();
    let found: Vec<_> = needs
        .iter()
        .filter_map(|need| {
            let g = snapshot
                .node_groups
                .iter()
                .find(|g| g.name == need.node_group)?;
            Some((g, need))
        })
        .collect();
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by(|&a, &b| {
        let ((pending_a, short_a), (pending_b, short_b)) = (urgency(found[a]), urgency(found[b]));
        pending_b.cmp(&pending_a).then(short_b.total_cmp(&short_a))
    });
    let mut plans: Vec<Option<GroupPlan>> = found.iter().map(|_| None).collect();
    for i in order {
        let (g, need) = found[i];
        let history = |k| view.history.get(&k);
        let busiest = history(SeriesKind::CpuRequests)
            .zip(history(SeriesKind::MemRequests))
            .and_then(|(c, m)| need.busiest_in(c, m, cfg.headroom));
        let inputs = group::GroupInputs {
            group: g,
            need,
            busiest,
            cpu,
            mem,
            snapshot,
            region: &view.region,
            cfg,
            catalog,
        };
        plans[i] = Some(group::plan_group(&inputs, &mut planned));
    }
    let groups: Vec<GroupPlan> = plans.into_iter().flatten().collect();
    for plan in &groups {
        if plan.usd_per_node_hour.is_none() {
            warnings.push(format!(
                "{}: no price for {} in {}; left out of totals",
                plan.node_group, plan.instance_type, view.region
            ));
        }
    }
    let usd_per_hour_now: f64 = groups.iter().filter_map(|g| g.usd_per_hour_now).sum();
    let sum48 = |f: &dyn Fn(&GroupPlan) -> Option<f64>| groups.iter().filter_map(f).sum::<f64>();
    let planned_usd_48h = sum48(&|g| g.planned_usd_48h);
    let unchanged_usd_48h = sum48(&|g| g.usd_per_hour_now.map(|u| u * 48.0));
    // The on-demand spend of past hours: node counts at today's on-demand price per node.
    let od_now: f64 = groups
        .iter()
        .filter(|g| g.capacity_type == crate::domain::CapacityType::OnDemand)
        .filter_map(|g| g.usd_per_hour_now)
        .sum();
    let commitment = view.history.get(&SeriesKind::Nodes).and_then(|h| {
        let per_node = od_now / snapshot.nodes.max(1) as f64;
        let hours: Vec<f64> = h
            .values
            .iter()
            .rev()
            .take(720)
            .flatten()
            .map(|n| n * per_node)
            .collect();
        (per_node > 0.0)
            .then(|| cost::commitment(&hours, &cfg.discounts))
            .flatten()
    });
    Some(ClusterPlan {
        issued_at: cpu.issued_at,
        region: view.region.clone(),
        usd_per_month_now: usd_per_hour_now * HOURS_PER_MONTH,
        effective_usd_per_hour_now: usd_per_hour_now * (1.0 - cfg.discounts.enterprise),
        spot_usd_per_hour_saved: groups.iter().map(|g| g.spot.usd_per_hour_saved).sum(),
        usd_per_hour_now,
        planned_usd_48h,
        unchanged_usd_48h,
        plan_vs_now_usd_per_hour: (planned_usd_48h - unchanged_usd_48h) / 48.0,
        headroom: cfg.headroom,
        commitment,
        discounts: cfg.discounts,
        prices: catalog.prices_note(&view.region),
        groups,
        needs,
        warnings,
        sizing: None,
    })
}

/// How short of nodes a node group is now, for the order the plan gives
/// out the runaway guard's budget in (the most first): whether pods are
/// pending for it, then the share of its size the first forecast hour
/// needs more (at p50); the snapshot's order among equals.
fn urgency((g, need): (&crate::snapshot::NodeGroupSummary, &NodesNeeded)) -> (bool, f64) {
    let size = g.desired.unwrap_or(g.nodes).max(1) as f64;
    let short = need
        .hours
        .first()
        .map_or(0.0, |p| (p.p50 as f64 - size).max(0.0) / size);
    (g.pending_pods > 0, short)
}
