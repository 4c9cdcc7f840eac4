//! Planning: from a cluster's forecasts to costed, bounded proposals per node
//! group, an instance mix, spot and commitment advice. Pure: the snapshot,
//! history and forecasts in, a `ClusterPlan` out.

pub mod cost;
pub mod group;
pub mod mix;
pub mod scaling;
pub mod simulate;
pub mod spot;

use crate::domain::{ClusterForecast, SeriesKind};
use crate::forecast::nodes::{DEFAULT_HEADROOM, nodes_needed};
use crate::snapshot::ClusterView;
use chrono::{DateTime, Utc};
use cost::{Commitment, Discounts, HOURS_PER_MONTH};
use group::GroupPlan;
use scaling::ScaleRules;
use serde::Serialize;

/// Planning settings (config `[plan]`; defaults documented in the README).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanConfig {
    /// Headroom over forecast requests.
    pub headroom: f64,
    /// Sizing quantile, scale-in window and step, lead time (min/max come
    /// from each node group).
    pub rules: ScaleRules,
    /// Instance categories the mix may use ("c", "m", "r").
    pub categories: Vec<String>,
    /// Families and architectures allowed (empty: any family; the group's
    /// own architecture, since images may not be multi-arch).
    pub families: Vec<String>,
    pub architectures: Vec<String>,
    pub min_generation: u32,
    /// Most nodes a mix may use where the group sets no max.
    pub max_nodes: u32,
    /// Distinct instance types a spot mix must spread over.
    pub min_spot_types: usize,
    /// Most distinct types in an on-demand mix (a spot mix may use two more
    /// than its minimum).
    pub max_types: usize,
    /// Sizes allowed in a group's mix: vCPUs within this factor of the
    /// group's type either way (a 4xlarge group: xlarge to 16xlarge).
    pub size_factor: f64,
    pub discounts: Discounts,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            headroom: DEFAULT_HEADROOM,
            rules: ScaleRules::default(),
            categories: vec!["c".into(), "m".into(), "r".into()],
            families: Vec::new(),
            architectures: Vec::new(),
            min_generation: 5,
            max_nodes: 1000,
            min_spot_types: 3,
            max_types: 3,
            size_factor: 4.0,
            discounts: Discounts::default(),
        }
    }
}

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
    /// USD/h the spot-tolerant share would save on spot.
    pub spot_usd_per_hour_saved: f64,
    /// Savings Plan advice from the on-demand spend's floor.
    pub commitment: Option<Commitment>,
    pub discounts: Discounts,
    /// Where the prices come from ("live 2026-11-28 12:00 UTC (...)" or "shipped 2026-07-20, ...").
    pub prices: String,
    /// Catalog age, refresh or missing-price warnings.
    pub warnings: Vec<String>,
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
    let groups: Vec<GroupPlan> = needs
        .iter()
        .filter_map(|need| {
            let g = snapshot
                .node_groups
                .iter()
                .find(|g| g.name == need.node_group)?;
            let plan = group::plan_group(&group::GroupInputs {
                group: g,
                need,
                cpu,
                mem,
                snapshot,
                region: &view.region,
                cfg,
                catalog,
            });
            if plan.usd_per_node_hour.is_none() {
                warnings.push(format!(
                    "{}: no price for {} in {}; left out of totals",
                    g.name, g.instance_type, view.region
                ));
            }
            Some(plan)
        })
        .collect();
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
        commitment,
        discounts: cfg.discounts,
        prices: catalog.prices_note(&view.region),
        groups,
        warnings,
    })
}
