//! Nodes needed per node group, hour by hour: the cluster's forecast CPU and
//! memory requests, split over the node groups by their share of today's
//! requests, plus headroom, divided by one node's EKS allocatable; the larger
//! of the CPU- and memory-bound counts, banded the same way (p10 from p10s,
//! p90 from p90s). Pure.

use crate::domain::{Forecast, HourlySeries, Resources};
use crate::snapshot::{ClusterSnapshot, NodeGroupSummary};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Headroom over forecast requests when none is configured (Karpenter and
/// Cluster Autoscaler leave none; 10 % absorbs a deploy's surge).
pub const DEFAULT_HEADROOM: f64 = 0.10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    Cpu,
    Memory,
}

impl Bound {
    pub fn label(self) -> &'static str {
        match self {
            Bound::Cpu => "cpu",
            Bound::Memory => "memory",
        }
    }
}

/// Nodes one group needs at one forecast hour.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NeedPoint {
    pub ts: DateTime<Utc>,
    pub p10: u32,
    pub p50: u32,
    pub p90: u32,
    /// The resource that sets the p50 count.
    pub bound: Bound,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodesNeeded {
    pub node_group: String,
    pub instance_type: String,
    pub nodes_now: u32,
    pub max: Option<u32>,
    /// One node's allocatable.
    pub per_node: Resources,
    /// The group's share of the cluster's CPU and memory requests.
    pub share: Resources,
    pub hours: Vec<NeedPoint>,
}

impl NodesNeeded {
    /// The hour with the most nodes needed at p50 (the earliest of ties).
    pub fn peak(&self) -> Option<&NeedPoint> {
        peak_of(&self.hours)
    }

    /// The peak of the first `hours` forecast hours.
    pub fn peak_within(&self, hours: usize) -> Option<&NeedPoint> {
        peak_of(&self.hours[..self.hours.len().min(hours)])
    }

    /// The most nodes the group needed in any hour of the cluster's request
    /// history `cpu` and `mem` (hourly cores and GiB), at today's share and
    /// with `headroom`, like the forecast hours; `None` without history.
    pub fn busiest_in(&self, cpu: &HourlySeries, mem: &HourlySeries, headroom: f64) -> Option<u32> {
        cpu.points()
            .map(|(ts, cores)| {
                whole_nodes(self.nodes_at(cores, mem.at(ts).unwrap_or(0.0), headroom))
            })
            .max()
    }

    /// Nodes (fractional) the group needs when the cluster requests `cores`
    /// and `gib`: its share with `headroom`, over one node's allocatable,
    /// the larger of CPU and memory.
    pub fn nodes_at(&self, cores: f64, gib: f64, headroom: f64) -> f64 {
        self.per_unit(headroom).nodes(cores, gib)
    }

    /// The group's nodes per requested core and per requested GiB of the
    /// cluster: its share with `headroom`, over one node's allocatable.
    pub fn per_unit(&self, headroom: f64) -> PerUnit {
        let by = |share: f64, per: f64| {
            if per > 0.0 {
                share * (1.0 + headroom) / per
            } else {
                0.0
            }
        };
        PerUnit {
            per_core: by(self.share.cores, self.per_node.cores),
            per_gib: by(self.share.gib, self.per_node.gib),
        }
    }

    /// The 48-hour peak's p90 goes over the group's max.
    pub fn p90_over_max(&self) -> bool {
        self.max
            .zip(self.peak())
            .is_some_and(|(max, p)| p.p90 > max)
    }

    /// The 48-hour peak's p50 needs more nodes than the group runs now.
    pub fn grows(&self) -> bool {
        self.peak().is_some_and(|p| p.p50 > self.nodes_now)
    }
}

/// The hour of `hours` with the most nodes needed at p50 (the first of equals).
pub fn peak_of(hours: &[NeedPoint]) -> Option<&NeedPoint> {
    hours
        .iter()
        .reduce(|a, b| if b.p50 > a.p50 { b } else { a })
}

/// Nodes needed for `demand` (cores or GiB) with `headroom` on nodes of `per_node` each.
pub fn nodes_for(demand: f64, headroom: f64, per_node: f64) -> u32 {
    if per_node <= 0.0 {
        return 0;
    }
    whole_nodes(demand * (1.0 + headroom) / per_node)
}

/// Whole nodes for a fractional count: 0 for none (or not a number), the
/// ceiling once float noise is rounded off (3.0000000001 nodes is 3).
pub fn whole_nodes(nodes: f64) -> u32 {
    if !nodes.is_finite() || nodes <= 0.0 {
        return 0;
    }
    ((nodes * 1e6).round() / 1e6).ceil().min(u32::MAX as f64) as u32
}

/// A node group's nodes per requested core and per requested GiB of its
/// cluster ([`NodesNeeded::per_unit`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerUnit {
    pub per_core: f64,
    pub per_gib: f64,
}

impl PerUnit {
    /// Nodes (fractional) for the cluster's `cores` and `gib` requested:
    /// the larger of CPU and memory.
    pub fn nodes(&self, cores: f64, gib: f64) -> f64 {
        (cores * self.per_core).max(gib * self.per_gib)
    }
}

/// Each group's share of the demand (requests of its pods, running and
/// pending for it); by allocatable where nothing is requested yet.
fn shares(groups: &[NodeGroupSummary]) -> Vec<Resources> {
    let total = |f: &dyn Fn(&NodeGroupSummary) -> f64| groups.iter().map(f).sum::<f64>();
    let req = Resources::new(total(&|g| g.demand().cores), total(&|g| g.demand().gib));
    let alloc = Resources::new(
        total(&|g| g.allocatable.cores),
        total(&|g| g.allocatable.gib),
    );
    let n = groups.len().max(1) as f64;
    let share = |part: f64, part_alloc: f64, whole: f64, whole_alloc: f64| {
        if whole > 0.0 {
            part / whole
        } else if whole_alloc > 0.0 {
            part_alloc / whole_alloc
        } else {
            1.0 / n
        }
    };
    groups
        .iter()
        .map(|g| {
            Resources::new(
                share(
                    g.demand().cores,
                    g.allocatable.cores,
                    req.cores,
                    alloc.cores,
                ),
                share(g.demand().gib, g.allocatable.gib, req.gib, alloc.gib),
            )
        })
        .collect()
}

/// Nodes needed per node group over the forecast hours of `cpu` and `mem`
/// (forecasts of requested cores and GiB, hour-aligned).
pub fn nodes_needed(
    snapshot: &ClusterSnapshot,
    cpu: &Forecast,
    mem: &Forecast,
    headroom: f64,
) -> Vec<NodesNeeded> {
    let shares = shares(&snapshot.node_groups);
    snapshot
        .node_groups
        .iter()
        .zip(shares)
        .filter_map(|(g, share)| {
            let per = g.one_node()?;
            let hours = cpu
                .points
                .iter()
                .zip(&mem.points)
                .map(|(c, m)| {
                    let need = |cores: f64, gib: f64| {
                        let by_cpu = nodes_for(cores * share.cores, headroom, per.cores);
                        let by_mem = nodes_for(gib * share.gib, headroom, per.gib);
                        if by_mem > by_cpu {
                            (by_mem, Bound::Memory)
                        } else {
                            (by_cpu, Bound::Cpu)
                        }
                    };
                    let (p50, bound) = need(c.p50, m.p50);
                    NeedPoint {
                        ts: c.ts,
                        p10: need(c.p10, m.p10).0.min(p50),
                        p50,
                        p90: need(c.p90, m.p90).0.max(p50),
                        bound,
                    }
                })
                .collect();
            Some(NodesNeeded {
                node_group: g.name.clone(),
                instance_type: g.instance_type.clone(),
                nodes_now: g.nodes,
                max: g.max,
                per_node: per,
                share,
                hours,
            })
        })
        .collect()
}
