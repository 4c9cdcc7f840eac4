//! The replay source: a cluster whose demand follows a real trace, with node
//! groups that scale like Cluster Autoscaler / Karpenter would (scale up once
//! pods have been pending for the node start time, scale down after nodes have
//! been unneeded for 10 minutes), and pods whose requests follow the demand.

use super::{Result, Source, SourceError, SourceUpdate};
use crate::domain::ClusterState;
use crate::domain::{
    ClusterId, InstanceType, Node, NodeGroup, OwnerKind, Placement, Pod, PodPhase, Resources,
    Sample, SeriesKind,
};
use crate::snapshot::summarize;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

/// Step of the replayed traces and of backfilled history.
pub const STEP_SECS: i64 = 300;
/// Pods pending this long make the node group scale up (node start time).
pub const SCALE_UP_AFTER: i64 = 180;
/// Nodes unneeded this long are removed (Cluster Autoscaler's default).
pub const SCALE_DOWN_AFTER: i64 = 600;
/// Requests of the DaemonSet pods on every node (aws-node, kube-proxy, ebs-csi).
pub const DAEMONSET_PER_NODE: Resources = Resources {
    cores: 0.15,
    gib: 0.25,
};
pub const DAEMONSET_PODS_PER_NODE: u32 = 3;

/// A trace on a regular 5-minute grid, looped over whole weeks.
#[derive(Clone, Debug)]
pub struct Trace {
    pub start: DateTime<Utc>,
    pub values: Vec<f64>,
    pub max: f64,
}

impl Trace {
    /// Puts samples on a 5-minute grid (mean per step, gaps carry the last value).
    pub fn from_samples(samples: &[Sample]) -> Result<Trace> {
        let Some(first) = samples.iter().map(|s| s.ts).min() else {
            return Err(SourceError::Setup("empty trace".into()));
        };
        let last = samples.iter().map(|s| s.ts).max().unwrap_or(first);
        let base = first.timestamp().div_euclid(STEP_SECS) * STEP_SECS;
        let n = ((last.timestamp() - base) / STEP_SECS + 1) as usize;
        let mut acc = vec![(0.0, 0u32); n];
        for s in samples {
            let i = ((s.ts.timestamp() - base) / STEP_SECS) as usize;
            acc[i].0 += s.value;
            acc[i].1 += 1;
        }
        let mut values = Vec::with_capacity(n);
        let mut prev = 0.0;
        for (sum, c) in acc {
            if c > 0 {
                prev = sum / c as f64;
            }
            values.push(prev);
        }
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        if max <= 0.0 {
            return Err(SourceError::Setup("trace has no positive value".into()));
        }
        Ok(Trace {
            start: DateTime::from_timestamp(base, 0).unwrap_or(first),
            values,
            max,
        })
    }

    /// Whole weeks covered (at least one day, for traces under a week).
    pub fn loop_secs(&self) -> i64 {
        let span = self.values.len() as i64 * STEP_SECS;
        let week = 7 * 86_400;
        if span >= week {
            span / week * week
        } else {
            span / 86_400 * 86_400
        }
        .max(86_400)
    }

    /// Value at `offset` seconds after the trace start (looped), linearly interpolated.
    pub fn at_offset(&self, offset: i64) -> f64 {
        let l = self.loop_secs();
        let o = offset.rem_euclid(l) as f64 / STEP_SECS as f64;
        let i = o.floor() as usize;
        let frac = o - i as f64;
        let n = (l / STEP_SECS) as usize;
        let a = self.values[i.min(self.values.len() - 1)];
        let b = self.values[((i + 1) % n).min(self.values.len() - 1)];
        a + (b - a) * frac
    }
}

/// How a trace becomes requests: `base + span * value / max(value)`.
#[derive(Clone, Debug)]
pub struct Scale {
    pub base: f64,
    pub span: f64,
}

impl Scale {
    pub fn apply(&self, trace: &Trace, offset: i64) -> f64 {
        self.base + self.span * trace.at_offset(offset) / trace.max
    }
}

/// Namespace of the replayed workloads.
pub const DEMO_NAMESPACE: &str = "prod";

#[derive(Clone, Debug)]
pub struct ReplayGroup {
    pub group: NodeGroup,
    pub instance: InstanceType,
    /// Share of the cluster's demand that runs in this group.
    pub share: f64,
    /// CPU request of one of its pods.
    pub pod_cores: f64,
    pub owner: OwnerKind,
}

/// Definition of a replayed cluster.
#[derive(Clone, Debug)]
pub struct ReplaySpec {
    pub cluster: ClusterId,
    pub region: String,
    pub cpu: Trace,
    pub cpu_scale: Scale,
    /// Memory trace; without one, memory is `mem_scale` applied to the CPU trace.
    pub mem: Option<Trace>,
    pub mem_scale: Scale,
    /// Measured usage as a share of requests.
    pub usage_ratio: f64,
    /// Seconds of trace that lie before the anchor ("now" at start).
    pub history_secs: i64,
    pub groups: Vec<ReplayGroup>,
}

/// Numbers of one node group at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupTick {
    pub nodes: u32,
    pub pods: u32,
    pub running: u32,
    pub pod_requests: Resources,
}

#[derive(Clone, Debug, Default)]
struct Scaler {
    nodes: u32,
    pending_since: Option<DateTime<Utc>>,
    unneeded_since: Option<DateTime<Utc>>,
}

pub struct ReplayCluster {
    pub spec: ReplaySpec,
    anchor: DateTime<Utc>,
    scalers: Vec<Scaler>,
    last: Option<DateTime<Utc>>,
    /// Where an approved action reaches the replay (the dashboard's demo).
    control: Option<DemoControl>,
}

/// One demo node group as an actuator sees it: its size and bounds (the
/// replay writes them at every step) and the floor an approved action set
/// (the replay's autoscaler keeps at least that many nodes, adding them
/// after its usual delay, as Cluster Autoscaler does for a raised minSize).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupControl {
    pub nodes: u32,
    pub min: u32,
    pub max: u32,
    pub floor: Option<u32>,
}

/// The demo fleet's node groups, shared by the replay and the demo actuator,
/// keyed by (cluster, node group).
#[derive(Clone, Debug, Default)]
pub struct DemoControl(Arc<Mutex<BTreeMap<(String, String), GroupControl>>>);

impl DemoControl {
    pub fn get(&self, cluster: &str, group: &str) -> Option<GroupControl> {
        let m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        m.get(&(cluster.to_string(), group.to_string())).copied()
    }

    /// Sets a group's floor; `false` when the demo has no such group.
    pub fn set_floor(&self, cluster: &str, group: &str, floor: u32) -> bool {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match m.get_mut(&(cluster.to_string(), group.to_string())) {
            Some(g) => {
                g.floor = Some(floor);
                true
            }
            None => false,
        }
    }

    fn update(&self, cluster: &str, group: &str, f: impl FnOnce(&mut GroupControl)) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(m.entry((cluster.to_string(), group.to_string()))
            .or_default());
    }
}

fn per_node_room(i: &InstanceType) -> Resources {
    Resources::new(
        (i.allocatable.cores - DAEMONSET_PER_NODE.cores).max(0.01),
        (i.allocatable.gib - DAEMONSET_PER_NODE.gib).max(0.01),
    )
}

impl ReplayCluster {
    /// A replayed cluster whose clock reads `anchor` at the trace position `history_secs`.
    pub fn new(spec: ReplaySpec, anchor: DateTime<Utc>) -> Self {
        let scalers = spec
            .groups
            .iter()
            .map(|g| Scaler {
                nodes: g.group.min.max(1),
                ..Default::default()
            })
            .collect();
        ReplayCluster {
            spec,
            anchor,
            scalers,
            last: None,
            control: None,
        }
    }

    /// The cluster taking approved floors from `control`.
    pub fn controlled(mut self, control: DemoControl) -> Self {
        self.control = Some(control);
        self
    }

    /// The floor an approved action set for group `name`.
    fn floor(&self, name: &str) -> Option<u32> {
        let c = self.control.as_ref()?;
        c.get(&self.spec.cluster.0, name)?.floor
    }

    fn offset(&self, t: DateTime<Utc>) -> i64 {
        (t - self.anchor).num_seconds() + self.spec.history_secs
    }

    /// Requested cores and GiB of the workload pods at `t` (before DaemonSets).
    pub fn demand(&self, t: DateTime<Utc>) -> Resources {
        let o = self.offset(t);
        let cores = self.spec.cpu_scale.apply(&self.spec.cpu, o);
        let trace = self.spec.mem.as_ref().unwrap_or(&self.spec.cpu);
        Resources::new(cores, self.spec.mem_scale.apply(trace, o))
    }

    /// Pods of each group at `t`, and how many nodes each would need.
    fn workload(&self, t: DateTime<Utc>) -> Vec<(u32, Resources, u32, u32)> {
        let d = self.demand(t);
        self.spec
            .groups
            .iter()
            .map(|g| {
                let cores = d.cores * g.share;
                let pods = (cores / g.pod_cores).round().max(1.0) as u32;
                let per_pod = Resources::new(cores / pods as f64, d.gib * g.share / pods as f64);
                let room = per_node_room(&g.instance);
                let fit = (room.cores / per_pod.cores)
                    .min(room.gib / per_pod.gib)
                    .floor()
                    .min(g.instance.max_pods.saturating_sub(DAEMONSET_PODS_PER_NODE) as f64)
                    .max(1.0) as u32;
                let need = pods.div_ceil(fit);
                (pods, per_pod, fit, need)
            })
            .collect()
    }

    /// Advances the autoscaler to `t` and returns each group's numbers.
    pub fn step(&mut self, t: DateTime<Utc>) -> Vec<GroupTick> {
        let work = self.workload(t);
        let floors: Vec<Option<u32>> = self
            .spec
            .groups
            .iter()
            .map(|g| self.floor(&g.group.name))
            .collect();
        let mut out = Vec::with_capacity(work.len());
        for (((g, s), (pods, per_pod, fit, need)), floor) in self
            .spec
            .groups
            .iter()
            .zip(self.scalers.iter_mut())
            .zip(work)
            .zip(floors)
        {
            let least = g.group.min.max(floor.unwrap_or(0)).max(1);
            let need = need.clamp(least.min(g.group.max.max(1)), g.group.max.max(1));
            if need > s.nodes {
                s.unneeded_since = None;
                let since = *s.pending_since.get_or_insert(t);
                if (t - since).num_seconds() >= SCALE_UP_AFTER {
                    s.nodes = need;
                    s.pending_since = None;
                }
            } else if need < s.nodes {
                s.pending_since = None;
                let since = *s.unneeded_since.get_or_insert(t);
                if (t - since).num_seconds() >= SCALE_DOWN_AFTER {
                    s.nodes = need;
                    s.unneeded_since = None;
                }
            } else {
                s.pending_since = None;
                s.unneeded_since = None;
            }
            if let Some(c) = &self.control {
                c.update(&self.spec.cluster.0, &g.group.name, |gc| {
                    gc.nodes = s.nodes;
                    gc.min = g.group.min;
                    gc.max = g.group.max;
                });
            }
            out.push(GroupTick {
                nodes: s.nodes,
                pods,
                running: pods.min(s.nodes * fit),
                pod_requests: per_pod,
            });
        }
        self.last = Some(t);
        out
    }

    /// History samples of the cluster from the tick numbers alone (no objects).
    pub fn tick_samples(&self, t: DateTime<Utc>, ticks: &[GroupTick]) -> Vec<(SeriesKind, Sample)> {
        let (mut nodes, mut pods, mut pending) = (0u32, 0u32, 0u32);
        let (mut batch, mut background) = (0u32, 0u32);
        let mut req = Resources::default();
        for (g, tk) in self.spec.groups.iter().zip(ticks) {
            nodes += tk.nodes;
            pods += tk.pods + tk.nodes * DAEMONSET_PODS_PER_NODE;
            background += tk.nodes * DAEMONSET_PODS_PER_NODE;
            if matches!(g.owner, OwnerKind::Job | OwnerKind::CronJob) {
                batch += tk.pods;
            }
            pending += tk.pods - tk.running;
            req = req
                .plus(tk.pod_requests.scale(tk.pods as f64))
                .plus(DAEMONSET_PER_NODE.scale(tk.nodes as f64));
        }
        let usage = self.usage_of(ticks);
        [
            (SeriesKind::Nodes, nodes as f64),
            (SeriesKind::CpuRequests, req.cores),
            (SeriesKind::MemRequests, req.gib),
            (SeriesKind::Pods, pods as f64),
            (SeriesKind::PendingPods, pending as f64),
            (SeriesKind::BatchPods, batch as f64),
            (SeriesKind::BackgroundPods, background as f64),
            (SeriesKind::CpuUsage, usage.cores),
            (SeriesKind::MemUsage, usage.gib),
        ]
        .into_iter()
        .map(|(k, value)| (k, Sample { ts: t, value }))
        .collect()
    }

    /// Usage: running pods use `usage_ratio` of their CPU requests and most of
    /// their memory; DaemonSets use a third of theirs.
    fn usage_of(&self, ticks: &[GroupTick]) -> Resources {
        let mut u = Resources::default();
        for tk in ticks {
            let run = tk.pod_requests.scale(tk.running as f64);
            u = u
                .plus(Resources::new(
                    run.cores * self.spec.usage_ratio,
                    run.gib * 0.85,
                ))
                .plus(DAEMONSET_PER_NODE.scale(tk.nodes as f64 / 3.0));
        }
        u
    }

    /// The nodes and pods of the cluster for the given tick.
    pub fn materialize(&self, ticks: &[GroupTick]) -> ClusterState {
        let mut state = ClusterState::default();
        for (gi, (g, tk)) in self.spec.groups.iter().zip(ticks).enumerate() {
            // Replicated web workloads carry a disruption budget, as in production.
            if g.owner == OwnerKind::Deployment {
                state.budgets.push(crate::domain::DisruptionBudget {
                    name: format!("{DEMO_NAMESPACE}/{}", g.group.name),
                    match_labels: [("app".to_string(), g.group.name.clone())].into(),
                    min_available: None,
                    max_unavailable: Some("10%".into()),
                    disruptions_allowed: None,
                });
            }
            let mut group = g.group.clone();
            group.desired = tk.nodes;
            if let Some(f) = self.floor(&g.group.name) {
                group.min = group.min.max(f).min(group.max);
            }
            state.node_groups.push(group);
            let room = per_node_room(&g.instance);
            let fit = ((room.cores / tk.pod_requests.cores).min(room.gib / tk.pod_requests.gib))
                .floor()
                .max(1.0) as u32;
            let first_node = state.nodes.len();
            for i in 0..tk.nodes {
                let name = format!(
                    "ip-10-{}-{}-{}.{}.compute.internal",
                    gi,
                    i / 250,
                    i % 250 + 4,
                    self.spec.region
                );
                for d in 0..DAEMONSET_PODS_PER_NODE {
                    state.pods.push(Pod {
                        name: format!("kube-system/ds-{d}-{gi}-{i}"),
                        owner: OwnerKind::DaemonSet,
                        requests: DAEMONSET_PER_NODE.scale(1.0 / DAEMONSET_PODS_PER_NODE as f64),
                        phase: PodPhase::Running,
                        node: Some(name.clone()),
                        unschedulable: None,
                        workload: format!("kube-system/ds-{d}"),
                        ..Default::default()
                    });
                }
                let zone = format!("{}{}", self.spec.region, ['a', 'b', 'c'][i as usize % 3]);
                state.nodes.push(Node {
                    name,
                    node_group: g.group.name.clone(),
                    instance_type: g.instance.name.clone(),
                    capacity_type: g.group.capacity_type,
                    zone,
                    ready: true,
                    allocatable: g.instance.allocatable,
                    requests: DAEMONSET_PER_NODE,
                    usage: Some(DAEMONSET_PER_NODE.scale(1.0 / 3.0)),
                    labels: g.group.labels.clone(),
                    taints: g.group.taints.clone(),
                });
            }
            // Fill nodes in order, as a bin-packing scheduler would.
            for p in 0..tk.pods {
                let slot = (p < tk.running).then(|| first_node + (p / fit) as usize);
                let node = slot.and_then(|s| state.nodes.get_mut(s));
                let pod_node = node.map(|n| {
                    n.requests = n.requests.plus(tk.pod_requests);
                    let u = n.usage.unwrap_or_default();
                    n.usage = Some(u.plus(Resources::new(
                        tk.pod_requests.cores * self.spec.usage_ratio,
                        tk.pod_requests.gib * 0.85,
                    )));
                    n.name.clone()
                });
                let pending = pod_node.is_none();
                state.pods.push(Pod {
                    name: format!("{DEMO_NAMESPACE}/{}-{p}", g.group.name),
                    owner: g.owner,
                    requests: tk.pod_requests,
                    phase: if pending {
                        PodPhase::Pending
                    } else {
                        PodPhase::Running
                    },
                    node: pod_node,
                    unschedulable: pending
                        .then(|| format!("0/{} nodes are available: Insufficient cpu", tk.nodes)),
                    workload: format!("{}/{}", DEMO_NAMESPACE, g.group.name),
                    labels: crate::domain::labels_text([("app", g.group.name.as_str())]),
                    local_storage: false,
                    persistent_volume: g.owner == OwnerKind::StatefulSet,
                    // Each workload runs on its own node group, as a
                    // nodeSelector on the group's EKS label says.
                    placement: pending.then(|| {
                        Box::new(Placement {
                            node_selector: [(
                                "eks.amazonaws.com/nodegroup".to_string(),
                                g.group.name.clone(),
                            )]
                            .into(),
                            ..Default::default()
                        })
                    }),
                });
            }
        }
        state
    }

    /// ChangeLimits from `from` (exclusive) to `to` (exclusive) on the 5-minute grid.
    fn samples_between(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(SeriesKind, Sample)> {
        let mut out = Vec::new();
        let mut t =
            DateTime::from_timestamp((from.timestamp().div_euclid(STEP_SECS) + 1) * STEP_SECS, 0)
                .unwrap_or(to);
        while t < to {
            let ticks = self.step(t);
            out.extend(self.tick_samples(t, &ticks));
            t += Duration::seconds(STEP_SECS);
        }
        out
    }
}

/// A [`ReplayCluster`] as a [`Source`].
pub struct ReplaySource {
    pub cluster: ReplayCluster,
    pub interval: StdDuration,
}

#[async_trait]
impl Source for ReplaySource {
    fn name(&self) -> &str {
        "replay"
    }
    fn poll_interval(&self) -> StdDuration {
        self.interval
    }
    async fn backfill(&mut self, now: DateTime<Utc>) -> Result<Vec<(SeriesKind, Sample)>> {
        let from = now - Duration::seconds(self.cluster.spec.history_secs);
        Ok(self
            .cluster
            .samples_between(from - Duration::seconds(1), now))
    }
    async fn poll(&mut self, now: DateTime<Utc>) -> Result<SourceUpdate> {
        let from = self.cluster.last.unwrap_or(now);
        let samples = self.cluster.samples_between(from, now);
        let ticks = self.cluster.step(now);
        Ok(SourceUpdate {
            state: Some(self.cluster.materialize(&ticks)),
            samples,
            facts: None,
        })
    }
}

/// The snapshot of a replayed cluster at `t` (for tests and benchmarks).
pub fn snapshot_at(
    cluster: &mut ReplayCluster,
    t: DateTime<Utc>,
) -> crate::snapshot::ClusterSnapshot {
    let ticks = cluster.step(t);
    summarize(&cluster.spec.cluster, t, &cluster.materialize(&ticks))
}
