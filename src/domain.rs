//! Capacity-domain types shared by sources, store, forecast and UI.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

mod mix;
pub use mix::{HorizonMix, weight_text};

/// Name of a cluster as configured (or of a demo cluster).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClusterId(pub String);

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityType {
    #[default]
    OnDemand,
    Spot,
}

impl CapacityType {
    pub fn label(self) -> &'static str {
        match self {
            CapacityType::OnDemand => "on-demand",
            CapacityType::Spot => "spot",
        }
    }
}

/// CPU cores and memory GiB, as allocatable, requests or usage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub cores: f64,
    pub gib: f64,
}

impl Resources {
    pub fn new(cores: f64, gib: f64) -> Self {
        Resources { cores, gib }
    }
    pub fn plus(self, o: Resources) -> Resources {
        Resources::new(self.cores + o.cores, self.gib + o.gib)
    }
    pub fn scale(self, k: f64) -> Resources {
        Resources::new(self.cores * k, self.gib * k)
    }
    /// True when `self` fits into `room` in both dimensions.
    pub fn fits_in(self, room: Resources) -> bool {
        self.cores <= room.cores + 1e-9 && self.gib <= room.gib + 1e-9
    }
}

/// An EC2 instance type as EKS sees it (after kubelet and system reservation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceType {
    pub name: String,
    pub vcpu: u32,
    pub memory_gib: f64,
    pub allocatable: Resources,
    pub max_pods: u32,
    /// us-east-1 Linux on-demand USD per hour; `None` when missing or unusable.
    pub od_usd_per_hour: Option<f64>,
    /// Live on-demand USD per hour by region (from a Pricing refresh).
    #[serde(default)]
    pub regional_od: BTreeMap<String, f64>,
    /// Family ("m6i"), category ("m"), generation (6), architecture ("amd64", "arm64").
    pub family: String,
    pub category: String,
    pub generation: u32,
    pub arch: String,
    /// Spot savings and interruption band per region (Spot Instance Advisor).
    pub spot: BTreeMap<String, SpotOffer>,
}

/// What the Spot Instance Advisor says about one type in one region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpotOffer {
    /// Savings against on-demand, percent.
    pub savings_pct: f64,
    /// Frequency of interruption band: "<5%", "5-10%", "10-15%", "15-20%", ">20%".
    pub interruption: String,
}

/// A group of nodes that scales together: EKS managed node group, ASG or Karpenter NodePool.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeGroup {
    pub name: String,
    pub instance_type: String,
    pub capacity_type: CapacityType,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    /// Labels and taints every node of the group gets (its template), as
    /// the source declares them; nodes' own labels add to them.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<Taint>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    pub node_group: String,
    pub instance_type: String,
    pub capacity_type: CapacityType,
    pub zone: String,
    pub ready: bool,
    pub allocatable: Resources,
    /// Sum of requests of the pods bound to this node.
    pub requests: Resources,
    /// Measured usage; `None` where the cluster serves no metrics.
    pub usage: Option<Resources>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<Taint>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OwnerKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    #[default]
    Bare,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PodPhase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pod {
    pub name: String,
    pub owner: OwnerKind,
    pub requests: Resources,
    pub phase: PodPhase,
    /// Node the pod is bound to; `None` for a pending pod.
    pub node: Option<String>,
    /// Why the scheduler could not place it (pending pods only).
    pub unschedulable: Option<String>,
    /// `namespace/name` of the owning workload (a ReplicaSet's pod-template
    /// hash dropped, so a Deployment's pods share it); empty for bare pods.
    #[serde(default)]
    pub workload: String,
    /// The pod's labels as `key=value` lines, sorted (one allocation per
    /// pod), matched against disruption budgets' selectors; see [`Pod::label`].
    #[serde(default)]
    pub labels: String,
    /// Uses node-local disk (an emptyDir not in memory, a hostPath).
    #[serde(default)]
    pub local_storage: bool,
    /// Mounts a PersistentVolumeClaim.
    #[serde(default)]
    pub persistent_volume: bool,
    /// Where a pending pod may run (nodeSelector, required node affinity,
    /// tolerations); `None` for bound pods and pods that constrain nothing.
    #[serde(default)]
    pub placement: Option<Box<Placement>>,
}

impl Pod {
    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
    }
}

/// Labels as [`Pod::labels`] keeps them.
pub fn labels_text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut v: Vec<(&str, &str)> = pairs.into_iter().collect();
    v.sort();
    let mut out = String::new();
    for (k, val) in v {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(val);
    }
    out
}

/// The metric series nodecast keeps history of, per cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesKind {
    Nodes,
    CpuRequests,
    CpuUsage,
    MemRequests,
    MemUsage,
    Pods,
    PendingPods,
    /// Pods of Jobs and CronJobs (the workload mix's batch share).
    BatchPods,
    /// DaemonSet pods (background).
    BackgroundPods,
}

impl SeriesKind {
    pub const ALL: [SeriesKind; 9] = [
        SeriesKind::Nodes,
        SeriesKind::CpuRequests,
        SeriesKind::CpuUsage,
        SeriesKind::MemRequests,
        SeriesKind::MemUsage,
        SeriesKind::Pods,
        SeriesKind::PendingPods,
        SeriesKind::BatchPods,
        SeriesKind::BackgroundPods,
    ];
    /// The series that are forecast and charted.
    pub const FORECAST: [SeriesKind; 3] = [
        SeriesKind::Nodes,
        SeriesKind::CpuRequests,
        SeriesKind::MemRequests,
    ];

    pub fn key(self) -> &'static str {
        match self {
            SeriesKind::Nodes => "nodes",
            SeriesKind::CpuRequests => "cpu_requests",
            SeriesKind::CpuUsage => "cpu_usage",
            SeriesKind::MemRequests => "mem_requests",
            SeriesKind::MemUsage => "mem_usage",
            SeriesKind::Pods => "pods",
            SeriesKind::PendingPods => "pending_pods",
            SeriesKind::BatchPods => "batch_pods",
            SeriesKind::BackgroundPods => "background_pods",
        }
    }
    pub fn from_key(s: &str) -> Option<SeriesKind> {
        SeriesKind::ALL.into_iter().find(|k| k.key() == s)
    }
    pub fn title(self) -> &'static str {
        match self {
            SeriesKind::Nodes => "nodes",
            SeriesKind::CpuRequests => "CPU demand (requested cores)",
            SeriesKind::CpuUsage => "CPU usage (cores)",
            SeriesKind::MemRequests => "memory demand (requested GiB)",
            SeriesKind::MemUsage => "memory usage (GiB)",
            SeriesKind::Pods => "pods",
            SeriesKind::PendingPods => "pending pods",
            SeriesKind::BatchPods => "batch pods (Jobs, CronJobs)",
            SeriesKind::BackgroundPods => "background pods (DaemonSets)",
        }
    }
    pub fn unit(self) -> &'static str {
        match self {
            SeriesKind::Nodes => "nodes",
            SeriesKind::CpuRequests | SeriesKind::CpuUsage => "cores",
            SeriesKind::MemRequests | SeriesKind::MemUsage => "GiB",
            SeriesKind::Pods
            | SeriesKind::PendingPods
            | SeriesKind::BatchPods
            | SeriesKind::BackgroundPods => "pods",
        }
    }
}

/// One measured point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub ts: DateTime<Utc>,
    pub value: f64,
}

/// Hourly means, hour `i` starting at `start + i h`; `None` is a missing hour.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HourlySeries {
    pub start: Option<DateTime<Utc>>,
    pub values: Vec<Option<f64>>,
}

impl HourlySeries {
    pub fn hours_present(&self) -> usize {
        self.values.iter().filter(|v| v.is_some()).count()
    }
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.start
            .map(|s| s + chrono::Duration::hours(self.values.len() as i64))
    }
    /// The value of the hour starting at `ts`, if present.
    pub fn at(&self, ts: DateTime<Utc>) -> Option<f64> {
        let i = usize::try_from((ts - self.start?).num_hours()).ok()?;
        self.values.get(i).copied().flatten()
    }
    /// Pairs of (hour start, value) for the hours present.
    pub fn points(&self) -> impl Iterator<Item = (DateTime<Utc>, f64)> + '_ {
        let start = self.start;
        self.values
            .iter()
            .enumerate()
            .filter_map(move |(i, v)| Some((start? + chrono::Duration::hours(i as i64), (*v)?)))
    }
}

/// One forecast hour: the 10th, 50th and 90th percentile.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForecastPoint {
    pub ts: DateTime<Utc>,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

/// A forecast of one series of one cluster, hour by hour from `issued_at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub series: SeriesKind,
    pub issued_at: DateTime<Utc>,
    /// Model name as shown to the operator.
    pub model: String,
    pub points: Vec<ForecastPoint>,
    /// Hours of history the forecast was built on.
    pub history_hours: usize,
    /// What the operator is warned of, under the chart.
    pub warnings: Vec<ForecastWarning>,
    /// 0-100: how far to trust this forecast (band width and evidence).
    pub confidence: u8,
    /// Which models serve chosen horizons, with their weights.
    pub mix: Vec<HorizonMix>,
}

impl Forecast {
    /// The hour with the highest p50 (the last of equals).
    pub fn peak(&self) -> Option<&ForecastPoint> {
        self.points.iter().max_by(|a, b| a.p50.total_cmp(&b.p50))
    }
}

/// A warning about a forecast: what it rests on or what serves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForecastWarning {
    /// Under 14 days of history (AWS predictive scaling's thresholds): under
    /// 24 h the forecast is unreliable, and the weekly pattern is not learnt.
    ShortHistory { hours: usize },
    /// The last `hours` are far from the usual pattern: from `from_horizon`
    /// hours on, the forecast is the last week's median.
    Burst { hours: usize, from_horizon: usize },
    /// On the fleet tab: some clusters' forecasts rest on short history.
    SomeShortHistory,
    /// On the fleet tab: some clusters have a burst in progress.
    SomeBurst,
}

impl fmt::Display for ForecastWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShortHistory { hours } if *hours < 24 => {
                write!(
                    f,
                    "only {hours} h of history: forecast unreliable (needs 24 h)"
                )
            }
            Self::ShortHistory { hours } => write!(
                f,
                "{:.1} days of history: weekly pattern not learnt (needs 14 days)",
                *hours as f64 / 24.0
            ),
            Self::Burst {
                hours,
                from_horizon,
            } => write!(
                f,
                "burst in progress ({hours} h off the usual pattern): from {from_horizon} h on, the forecast is the last week's median"
            ),
            Self::SomeShortHistory => f.write_str("some clusters have short history"),
            Self::SomeBurst => f.write_str("some clusters have a burst in progress"),
        }
    }
}

/// Forecasts of one cluster, by series.
pub type ClusterForecast = BTreeMap<SeriesKind, Forecast>;

/// A change of a node group's size: what a proposal offers, what the
/// operator approves or rejects, what the audit log records and what an
/// actuator applies, the same value all the way.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScalingAction {
    pub cluster: ClusterId,
    pub node_group: String,
    /// The size the plan started from, and the size it asks for.
    pub from: u32,
    pub to: u32,
    /// The hour the new size serves.
    pub at: DateTime<Utc>,
    pub reason: ScaleReason,
}

impl ScalingAction {
    /// A short id that stays the same between a listing and an approval:
    /// a hash of the cluster, node group, sizes and hour.
    pub fn id(&self) -> String {
        let text = format!(
            "{}\n{}\n{}\n{}\n{}",
            self.cluster.0,
            self.node_group,
            self.from,
            self.to,
            self.at.timestamp()
        );
        let h = fnv1a(text.as_bytes());
        format!("{:08x}", (h >> 32) as u32 ^ h as u32)
    }
}

/// FNV-1a, 64 bit: a hash that stays the same across builds and runs
/// (unlike the std hasher), for ids and names that must not change.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100000001b3)
    })
}

/// A PodDisruptionBudget: the pods it guards and how many may go at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DisruptionBudget {
    /// `namespace/name`.
    pub name: String,
    /// `spec.selector.matchLabels` (expressions are not read).
    pub match_labels: std::collections::BTreeMap<String, String>,
    /// `spec.minAvailable` / `spec.maxUnavailable` as written (count or percentage).
    pub min_available: Option<String>,
    pub max_unavailable: Option<String>,
    /// `status.disruptionsAllowed`, when the controller has set it.
    pub disruptions_allowed: Option<i64>,
}

/// Health of one source feeding one cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SourceHealth {
    Ok,
    Error(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: String,
    pub health: SourceHealth,
    /// When the source last delivered data.
    pub last_data: Option<DateTime<Utc>>,
}

/// Raw objects a source observed in one cluster at one instant.
#[derive(Clone, Debug, Default)]
pub struct ClusterState {
    pub node_groups: Vec<NodeGroup>,
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    /// PodDisruptionBudgets (for spot and scale-in rules).
    pub budgets: Vec<DisruptionBudget>,
}

/// How likely a plan's choice hurts: latency (requests queueing) or spot
/// interruptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
    /// Nothing to judge it by (no interruption band, no usage).
    Unknown,
}

impl Risk {
    pub fn label(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why a size was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleReason {
    /// The forecast's upper band for the next hour needs more nodes.
    ForecastAbove,
    /// A step of a ramp towards a later hour's forecast that one change
    /// may not reach (the step limit and cooldown).
    Ramp,
    /// What is requested now needs more nodes (pending pods).
    RequestsAbove,
    /// The upper band stayed below a smaller size for the whole window.
    BandBelow,
    /// Nothing to change.
    Hold,
    /// Pulled back inside the group's min/max.
    Bounds,
}

impl ScaleReason {
    pub fn label(self) -> &'static str {
        match self {
            ScaleReason::ForecastAbove => "forecast above",
            ScaleReason::Ramp => "ramp to a later peak",
            ScaleReason::RequestsAbove => "requests above",
            ScaleReason::BandBelow => "band below",
            ScaleReason::Hold => "hold",
            ScaleReason::Bounds => "group bounds",
        }
    }
}

/// A node taint (`spec.taints[]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    pub key: String,
    #[serde(default)]
    pub value: String,
    /// NoSchedule, PreferNoSchedule or NoExecute.
    pub effect: String,
}

/// A pod toleration (`spec.tolerations[]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toleration {
    /// Empty with `Exists`: every key.
    #[serde(default)]
    pub key: String,
    /// `Equal` (the default) or `Exists`.
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub value: String,
    /// Empty: every effect.
    #[serde(default)]
    pub effect: String,
}

/// One `matchExpressions` requirement of a node selector term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelRequirement {
    pub key: String,
    /// In, NotIn, Exists, DoesNotExist, Gt or Lt.
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// A pending pod's constraints on where it may run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// `spec.nodeSelector`.
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: any one term, each term all of its requirements.
    #[serde(default)]
    pub affinity: Vec<Vec<LabelRequirement>>,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
}
