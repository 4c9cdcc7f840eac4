//! What a cluster looks like at one instant, summarized from its nodes and pods
//! the same way for every source (replay, Kubernetes API).

use crate::domain::{
    CapacityType, ClusterId, ClusterState, NodeGroup, OwnerKind, PodPhase, Resources, Sample,
    SeriesKind, SourceStatus, Taint,
};
use crate::placement::{GroupShape, group_for};
use crate::workloads::{GroupWorkloads, group_workloads, workloads_of};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// The labels and taints its nodes share (and its template declares):
    /// what a pending pod's selectors and tolerations are checked against.
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// Pending pods this group would run (see [`crate::placement::group_for`]),
    /// and their requests.
    pub pending_pods: u32,
    pub pending: Resources,
    /// What the group's API says of it (EKS, Auto Scaling, Karpenter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<crate::group_facts::GroupFacts>,
}

impl NodeGroupSummary {
    /// What the group's pods ask for: those running on it and those pending for it.
    pub fn demand(&self) -> Resources {
        self.requests.plus(self.pending)
    }

    /// One node's allocatable: the catalog's EKS figure for the instance
    /// type, or what the group's nodes report on average.
    pub fn one_node(&self) -> Option<Resources> {
        if let Some(t) = crate::catalog::lookup(&self.instance_type) {
            return Some(t.allocatable);
        }
        (self.nodes > 0).then(|| {
            Resources::new(
                self.allocatable.cores / self.nodes as f64,
                self.allocatable.gib / self.nodes as f64,
            )
        })
    }

    /// Nodes not Ready yet (or any more).
    pub fn not_ready(&self) -> u32 {
        self.nodes.saturating_sub(self.ready)
    }

    /// The group runs at its max (or over it).
    pub fn at_max(&self) -> bool {
        self.max.is_some_and(|m| self.nodes >= m)
    }

    /// A group with no nodes counted yet.
    fn empty(
        name: &str,
        instance_type: &str,
        capacity_type: CapacityType,
        declared: Option<&NodeGroup>,
    ) -> Self {
        NodeGroupSummary {
            name: name.to_string(),
            instance_type: instance_type.to_string(),
            capacity_type,
            min: declared.map(|g| g.min),
            max: declared.map(|g| g.max),
            desired: declared.map(|g| g.desired),
            nodes: 0,
            ready: 0,
            allocatable: Resources::default(),
            requests: Resources::default(),
            usage: None,
            labels: declared.map(|g| g.labels.clone()).unwrap_or_default(),
            taints: declared.map(|g| g.taints.clone()).unwrap_or_default(),
            pending_pods: 0,
            pending: Resources::default(),
            facts: None,
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
    /// Pending pods no node group can run (selectors, taints or size).
    pub unplaced_pods: u32,
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
    /// The autoscalers found running; `None` where nobody looked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscalers: Option<Vec<crate::group_facts::Autoscaler>>,
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

impl ClusterSnapshot {
    /// Lays the sources' facts over the snapshot: each node group's min, max
    /// and desired size from its API (where it has one), its kind, status
    /// and detail; groups the API knows with no node yet join with zero
    /// nodes; the autoscalers found.
    pub fn apply_facts<'a>(
        &mut self,
        all: impl IntoIterator<Item = &'a crate::group_facts::Facts>,
    ) {
        for facts in all {
            for f in &facts.groups {
                // A group with no node yet has no instance type to plan
                // with: it waits for its first node.
                let Some(g) = self.node_groups.iter_mut().find(|g| g.name == f.node_group) else {
                    continue;
                };
                g.min = f.min.or(g.min);
                g.max = f.max.or(g.max);
                g.desired = f.desired.or(g.desired);
                g.facts = Some(f.clone());
            }
            if let Some(a) = &facts.autoscalers {
                self.autoscalers = Some(a.clone());
            }
        }
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
    // The labels and taints every node of a group has.
    let mut shared: BTreeMap<usize, (BTreeMap<String, String>, Vec<Taint>)> = BTreeMap::new();
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
        match shared.get_mut(&gi) {
            None => {
                shared.insert(gi, (n.labels.clone(), n.taints.clone()));
            }
            Some((labels, taints)) => {
                labels.retain(|k, v| n.labels.get(k) == Some(v));
                taints.retain(|t| n.taints.contains(t));
            }
        }
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
    for (gi, (labels, taints)) in shared {
        let g = &mut groups[gi];
        g.labels.extend(labels);
        for t in taints {
            if !g.taints.contains(&t) {
                g.taints.push(t);
            }
        }
    }
    let unplaced_pods = place_pending(state, &mut groups);
    ClusterSnapshot {
        cluster: cluster.clone(),
        taken_at: at,
        unplaced_pods,
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
        autoscalers: None,
    }
}

/// Gives each pending pod to the node group that would run it; returns how
/// many no group can run.
fn place_pending(state: &ClusterState, groups: &mut [NodeGroupSummary]) -> u32 {
    let shapes: Vec<GroupShape> = groups
        .iter()
        .map(|g| GroupShape {
            labels: g.labels.clone(),
            taints: g.taints.clone(),
            per_node: g.one_node().unwrap_or_default(),
        })
        .collect();
    let mut unplaced = 0;
    for p in &state.pods {
        if p.node.is_some() || matches!(p.phase, PodPhase::Succeeded | PodPhase::Failed) {
            continue;
        }
        match group_for(p.placement.as_deref(), p.requests, &shapes) {
            Some(i) => {
                groups[i].pending_pods += 1;
                groups[i].pending = groups[i].pending.plus(p.requests);
            }
            None => unplaced += 1,
        }
    }
    unplaced
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
    /// Each cluster's view, shared with whoever holds an earlier fleet until
    /// the store changes it (copy on write).
    pub clusters: Vec<(ClusterId, std::sync::Arc<ClusterView>)>,
    /// Bumped on every publish.
    pub version: u64,
}

impl Fleet {
    pub fn view(&self, id: &ClusterId) -> Option<&ClusterView> {
        self.clusters
            .iter()
            .find(|(c, _)| c == id)
            .map(|(_, v)| v.as_ref())
    }
}
