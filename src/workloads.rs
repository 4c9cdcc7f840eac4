//! A cluster's workloads as the planner sees them: live pods grouped by
//! workload (Deployment, StatefulSet, Job, ...), each workload's spot fitness,
//! and the per-node-group sums the spot advice and the instance mix read.
//! Pure; the snapshot computes them once per poll.

use crate::domain::ClusterState;
use crate::domain::{DisruptionBudget, OwnerKind, Pod, PodPhase, Resources};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the planner needs from a node group's workloads.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GroupWorkloads {
    pub node_group: String,
    /// Requested cores of its workloads (DaemonSets left out), and of those
    /// that could run on spot.
    pub requested_cores: f64,
    pub tolerant_cores: f64,
    /// Scheduled pods, DaemonSets included.
    pub pods: u32,
    /// The largest pod's requests.
    pub largest_pod: Resources,
}

impl GroupWorkloads {
    /// Share of requested cores that could run on spot (0 when none requested).
    pub fn tolerant_share(&self) -> f64 {
        if self.requested_cores > 0.0 {
            self.tolerant_cores / self.requested_cores
        } else {
            0.0
        }
    }
}

/// Workloads summed per node group (pure).
pub fn group_workloads(workloads: &[WorkloadSummary]) -> Vec<GroupWorkloads> {
    let mut out: Vec<GroupWorkloads> = Vec::new();
    for w in workloads {
        let fit = classify(w).0;
        for (g, r, pods) in &w.groups {
            let i = match out.iter().position(|x| x.node_group == *g) {
                Some(i) => i,
                None => {
                    out.push(GroupWorkloads {
                        node_group: g.clone(),
                        ..Default::default()
                    });
                    out.len() - 1
                }
            };
            let e = &mut out[i];
            e.pods += pods;
            e.largest_pod = Resources::new(
                e.largest_pod.cores.max(w.largest_pod.cores),
                e.largest_pod.gib.max(w.largest_pod.gib),
            );
            if fit != SpotFit::EveryNode {
                e.requested_cores += r.cores;
                if fit == SpotFit::Tolerant {
                    e.tolerant_cores += r.cores;
                }
            }
        }
    }
    out
}

/// One workload's pods as the planner needs them (spot fitness, largest pod).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkloadSummary {
    /// `namespace/name` (the pod's own name for a bare pod).
    pub name: String,
    pub kind: OwnerKind,
    /// Pods that are not Succeeded or Failed.
    pub replicas: u32,
    pub requests: Resources,
    /// The largest single pod's requests.
    pub largest_pod: Resources,
    /// A PodDisruptionBudget selects its pods.
    pub has_budget: bool,
    pub local_storage: bool,
    pub persistent_volume: bool,
    /// Node groups its scheduled pods run in, with their requests and pod count there.
    pub groups: Vec<(String, Resources, u32)>,
}

/// True when `b` selects `p`: same namespace, every matchLabels pair present
/// (an empty selector selects the whole namespace, as in policy/v1).
pub fn budget_selects(b: &DisruptionBudget, p: &Pod) -> bool {
    let ns = |n: &str| {
        n.split_once('/')
            .map(|(ns, _)| ns.to_string())
            .unwrap_or_default()
    };
    ns(&b.name) == ns(&p.name)
        && b.match_labels
            .iter()
            .all(|(k, v)| p.label(k) == Some(v.as_str()))
}

/// Groups live pods by workload; `node_group` maps a node to its group.
pub fn workloads_of(state: &ClusterState) -> Vec<WorkloadSummary> {
    let node_group: BTreeMap<&str, &str> = state
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.node_group.as_str()))
        .collect();
    let mut by: std::collections::HashMap<&str, WorkloadSummary> = std::collections::HashMap::new();
    for p in &state.pods {
        if matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed) {
            continue;
        }
        let key = if p.workload.is_empty() {
            p.name.as_str()
        } else {
            p.workload.as_str()
        };
        let w = by.entry(key).or_insert_with(|| WorkloadSummary {
            name: key.to_string(),
            kind: p.owner,
            has_budget: state.budgets.iter().any(|b| budget_selects(b, p)),
            ..Default::default()
        });
        w.replicas += 1;
        w.requests = w.requests.plus(p.requests);
        w.largest_pod = Resources::new(
            w.largest_pod.cores.max(p.requests.cores),
            w.largest_pod.gib.max(p.requests.gib),
        );
        w.local_storage |= p.local_storage;
        w.persistent_volume |= p.persistent_volume;
        if let Some(g) = p.node.as_deref().and_then(|n| node_group.get(n)) {
            match w.groups.iter_mut().find(|(name, _, _)| name == g) {
                Some((_, r, n)) => {
                    *r = r.plus(p.requests);
                    *n += 1;
                }
                None => w.groups.push((g.to_string(), p.requests, 1)),
            }
        }
    }
    let mut out: Vec<WorkloadSummary> = by.into_values().collect();
    out.sort_by(|a, b| {
        b.requests
            .cores
            .total_cmp(&a.requests.cores)
            .then(a.name.cmp(&b.name))
    });
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpotFit {
    Tolerant,
    NotTolerant,
    /// DaemonSets run on every node whatever it is.
    EveryNode,
}

/// A workload's spot fitness with the one reason that decided it.
pub fn classify(w: &WorkloadSummary) -> (SpotFit, &'static str) {
    use SpotFit::*;
    if w.local_storage {
        return (NotTolerant, "uses node-local storage");
    }
    match w.kind {
        OwnerKind::DaemonSet => (EveryNode, "DaemonSet: runs on every node"),
        OwnerKind::Job | OwnerKind::CronJob if w.persistent_volume => {
            (NotTolerant, "batch with a persistent volume")
        }
        OwnerKind::Job | OwnerKind::CronJob => (Tolerant, "batch: retried when interrupted"),
        OwnerKind::Bare => (NotTolerant, "bare pod: nothing recreates it"),
        OwnerKind::StatefulSet if w.persistent_volume => (NotTolerant, "StatefulSet with volumes"),
        OwnerKind::Deployment | OwnerKind::StatefulSet => {
            if w.replicas < 2 {
                (NotTolerant, "single replica")
            } else if !w.has_budget {
                (NotTolerant, "no PodDisruptionBudget")
            } else if w.persistent_volume {
                (NotTolerant, "persistent volume")
            } else {
                (Tolerant, "replicated with a disruption budget")
            }
        }
    }
}
