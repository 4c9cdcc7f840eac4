//! What a cluster looks like at one instant, summarized from its nodes and pods
//! the same way for every source (replay, Kubernetes API).

use crate::domain::{
    CapacityType, ClusterId, Node, NodeGroup, OwnerKind, Pod, PodPhase, Resources, Sample,
    SeriesKind, SourceStatus,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Raw objects a source observed in one cluster at one instant.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    pub node_groups: Vec<NodeGroup>,
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    /// PodDisruptionBudgets (for spot and scale-in rules).
    pub budgets: Vec<crate::domain::DisruptionBudget>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeGroupSummary {
    pub name: String,
    pub instance_type: String,
    pub capacity_type: CapacityType,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub desired: Option<u32>,
    pub nodes: u32,
    pub ready: u32,
    pub allocatable: Resources,
    pub requests: Resources,
    /// `None` when no node of the group reports usage.
    pub usage: Option<Resources>,
}

impl NodeGroupSummary {
    /// A group with no nodes counted yet.
    fn empty(
        name: &str,
        instance_type: &str,
        capacity_type: CapacityType,
        bounds: Option<&NodeGroup>,
    ) -> Self {
        NodeGroupSummary {
            name: name.to_string(),
            instance_type: instance_type.to_string(),
            capacity_type,
            min: bounds.map(|g| g.min),
            max: bounds.map(|g| g.max),
            desired: bounds.map(|g| g.desired),
            nodes: 0,
            ready: 0,
            allocatable: Resources::default(),
            requests: Resources::default(),
            usage: None,
        }
    }
}

/// Pods by kind of workload: batch (Jobs, CronJobs), service (Deployments,
/// StatefulSets, bare pods) and background (DaemonSets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WorkloadMix {
    pub batch: u32,
    pub service: u32,
    pub background: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterSnapshot {
    pub cluster: ClusterId,
    pub taken_at: DateTime<Utc>,
    pub node_groups: Vec<NodeGroupSummary>,
    pub nodes: u32,
    /// Pods that are not Succeeded or Failed.
    pub pods: u32,
    pub pending_pods: u32,
    /// PodDisruptionBudgets in the cluster.
    pub disruption_budgets: u32,
    /// Pods that are not Succeeded or Failed, by kind of workload.
    pub workload: WorkloadMix,
    pub allocatable: Resources,
    /// Requests of scheduled and pending pods: the demand.
    pub requests: Resources,
    pub usage: Option<Resources>,
    /// Per node group, what its workloads say about spot and sizing.
    #[serde(skip)]
    pub group_workloads: Vec<GroupWorkloads>,
}

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

/// Workloads summed per node group (pure; classification by `plan::spot`).
pub fn group_workloads(workloads: &[WorkloadSummary]) -> Vec<GroupWorkloads> {
    use crate::plan::spot::{SpotFit, classify};
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
pub fn budget_selects(b: &crate::domain::DisruptionBudget, p: &crate::domain::Pod) -> bool {
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

impl ClusterSnapshot {
    /// The history samples this snapshot contributes.
    pub fn samples(&self) -> Vec<(SeriesKind, Sample)> {
        let ts = self.taken_at;
        let mut out = vec![
            (SeriesKind::Nodes, self.nodes as f64),
            (SeriesKind::CpuRequests, self.requests.cores),
            (SeriesKind::MemRequests, self.requests.gib),
            (SeriesKind::Pods, self.pods as f64),
            (SeriesKind::PendingPods, self.pending_pods as f64),
            (SeriesKind::BatchPods, self.workload.batch as f64),
            (SeriesKind::BackgroundPods, self.workload.background as f64),
        ];
        if let Some(u) = self.usage {
            out.push((SeriesKind::CpuUsage, u.cores));
            out.push((SeriesKind::MemUsage, u.gib));
        }
        out.into_iter()
            .map(|(k, value)| (k, Sample { ts, value }))
            .collect()
    }
}

/// Summarizes nodes and pods into per-node-group and cluster totals.
pub fn summarize(cluster: &ClusterId, at: DateTime<Utc>, state: &ClusterState) -> ClusterSnapshot {
    // Node groups in the order the source lists them, then groups known only from their nodes' labels.
    let mut groups: Vec<NodeGroupSummary> = Vec::new();
    for g in &state.node_groups {
        groups.push(NodeGroupSummary::empty(
            &g.name,
            &g.instance_type,
            g.capacity_type,
            Some(g),
        ));
    }
    // Requests per node, from the pods bound to it.
    let mut node_requests: BTreeMap<&str, Resources> = BTreeMap::new();
    let (mut pods, mut pending, mut requests) = (0u32, 0u32, Resources::default());
    let mut mix = WorkloadMix::default();
    for p in &state.pods {
        if matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed) {
            continue;
        }
        pods += 1;
        match p.owner {
            OwnerKind::Job | OwnerKind::CronJob => mix.batch += 1,
            OwnerKind::DaemonSet => mix.background += 1,
            OwnerKind::Deployment | OwnerKind::StatefulSet | OwnerKind::Bare => mix.service += 1,
        }
        requests = requests.plus(p.requests);
        match &p.node {
            Some(n) => {
                let e = node_requests.entry(n.as_str()).or_default();
                *e = e.plus(p.requests);
            }
            None => pending += 1,
        }
    }
    let (mut allocatable, mut usage, mut any_usage) =
        (Resources::default(), Resources::default(), false);
    for n in &state.nodes {
        let gi = match groups.iter().position(|g| g.name == n.node_group) {
            Some(i) => i,
            None => {
                groups.push(NodeGroupSummary::empty(
                    &n.node_group,
                    &n.instance_type,
                    n.capacity_type,
                    None,
                ));
                groups.len() - 1
            }
        };
        let g = &mut groups[gi];
        g.nodes += 1;
        g.ready += n.ready as u32;
        g.allocatable = g.allocatable.plus(n.allocatable);
        let req = node_requests
            .get(n.name.as_str())
            .copied()
            .unwrap_or_default();
        g.requests = g.requests.plus(req);
        allocatable = allocatable.plus(n.allocatable);
        if let Some(u) = n.usage {
            g.usage = Some(g.usage.unwrap_or_default().plus(u));
            usage = usage.plus(u);
            any_usage = true;
        }
    }
    ClusterSnapshot {
        cluster: cluster.clone(),
        taken_at: at,
        nodes: state.nodes.len() as u32,
        node_groups: groups,
        pods,
        pending_pods: pending,
        disruption_budgets: state.budgets.len() as u32,
        workload: mix,
        allocatable,
        requests,
        usage: any_usage.then_some(usage),
        group_workloads: group_workloads(&workloads_of(state)),
    }
}

/// Everything known about one cluster, as published by the store.
#[derive(Clone, Debug, Default)]
pub struct ClusterView {
    pub region: String,
    pub latest: Option<ClusterSnapshot>,
    pub history: BTreeMap<SeriesKind, crate::domain::HourlySeries>,
    pub sources: Vec<SourceStatus>,
}

/// The fleet as published by the store: one view per cluster, in tab order.
#[derive(Clone, Debug, Default)]
pub struct Fleet {
    pub clusters: Vec<(ClusterId, ClusterView)>,
    /// Bumped on every publish.
    pub version: u64,
}

impl Fleet {
    pub fn view(&self, id: &ClusterId) -> Option<&ClusterView> {
        self.clusters.iter().find(|(c, _)| c == id).map(|(_, v)| v)
    }
}
