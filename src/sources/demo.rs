//! The demo fleet: four clusters replaying real public traces (see
//! docs/sources.md, "The demo fleet"), scaled to realistic EKS sizes.

use super::replay::{
    DemoControl, ReplayCluster, ReplayGroup, ReplaySource, ReplaySpec, Scale, Trace,
};
use super::{Result, SourceError};
use crate::catalog;
use crate::domain::{CapacityType, ClusterId, NodeGroup, OwnerKind};
use crate::series_csv::parse_series;
use chrono::{DateTime, Utc};
use std::time::Duration;

pub const AZURE_CPU: &str = include_str!("../../data/azure-v2-cpu.csv");
pub const AZURE_MEM: &str = include_str!("../../data/azure-v2-mem.csv");
pub const ALIBABA_CPU: &str = include_str!("../../data/alibaba-2018-cpu.csv");
pub const ALIBABA_MEM: &str = include_str!("../../data/alibaba-2018-mem.csv");
pub const WORLDCUP: &str = include_str!("../../data/worldcup98-requests.csv");
pub const NAB_ASG: &str = include_str!("../../data/nab-asg-cpu.csv");

const DAY: i64 = 86_400;

/// Name, region and one-line description of each demo cluster, in tab order.
pub const DEMO_CLUSTERS: [(&str, &str, &str); 4] = [
    (
        "prod-web",
        "us-east-1",
        "large production cluster (Azure Public Dataset V2)",
    ),
    (
        "batch-mixed",
        "us-west-2",
        "mixed online/batch cluster, short history (Alibaba 2018)",
    ),
    (
        "events-web",
        "eu-west-1",
        "event-driven web cluster (WorldCup98)",
    ),
    (
        "svc-asg",
        "us-east-2",
        "small service with a real incident (NAB ASG)",
    ),
];

fn trace(text: &str, file: &str) -> Result<Trace> {
    let samples = parse_series(text, file).map_err(|e| SourceError::Setup(format!("{e:#}")))?;
    Trace::from_samples(&samples).map_err(|e| e.context(file))
}

fn group(
    name: &str,
    instance_type: &str,
    capacity_type: CapacityType,
    (min, max): (u32, u32),
    share: f64,
    pod_cores: f64,
    owner: OwnerKind,
) -> Result<ReplayGroup> {
    let instance = catalog::lookup(instance_type)
        .ok_or_else(|| {
            SourceError::Setup(format!(
                "instance type {instance_type} is not in {}",
                catalog::CATALOG_FILE
            ))
        })?
        .clone();
    Ok(ReplayGroup {
        group: NodeGroup {
            name: name.to_string(),
            instance_type: instance_type.to_string(),
            capacity_type,
            min,
            max,
            desired: min,
            // What EKS puts on a managed node group's nodes.
            labels: [
                ("eks.amazonaws.com/nodegroup", name),
                ("node.kubernetes.io/instance-type", instance_type),
                (
                    "eks.amazonaws.com/capacityType",
                    match capacity_type {
                        CapacityType::OnDemand => "ON_DEMAND",
                        CapacityType::Spot => "SPOT",
                    },
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            taints: Vec::new(),
        },
        instance,
        share,
        pod_cores,
        owner,
    })
}

/// The specs of the demo clusters.
pub fn demo_specs() -> Result<Vec<ReplaySpec>> {
    use CapacityType::{OnDemand, Spot};
    use OwnerKind::{Deployment, Job, StatefulSet};
    let id = |i: usize| ClusterId(DEMO_CLUSTERS[i].0.to_string());
    let region = |i: usize| DEMO_CLUSTERS[i].1.to_string();
    Ok(vec![
        ReplaySpec {
            cluster: id(0),
            region: region(0),
            cpu: trace(AZURE_CPU, "data/azure-v2-cpu.csv")?,
            cpu_scale: Scale {
                base: 0.0,
                span: 1400.0,
            },
            mem: Some(trace(AZURE_MEM, "data/azure-v2-mem.csv")?),
            mem_scale: Scale {
                base: 0.0,
                span: 4000.0,
            },
            usage_ratio: 0.62,
            history_secs: 14 * DAY,
            groups: vec![
                group(
                    "general",
                    "m6i.4xlarge",
                    OnDemand,
                    (10, 80),
                    0.55,
                    0.5,
                    Deployment,
                )?,
                group("batch-spot", "m6a.4xlarge", Spot, (0, 60), 0.30, 1.0, Job)?,
                group(
                    "memory",
                    "r6i.2xlarge",
                    OnDemand,
                    (3, 30),
                    0.15,
                    1.0,
                    StatefulSet,
                )?,
            ],
        },
        ReplaySpec {
            cluster: id(1),
            region: region(1),
            cpu: trace(ALIBABA_CPU, "data/alibaba-2018-cpu.csv")?,
            cpu_scale: Scale {
                base: 0.0,
                span: 480.0,
            },
            mem: Some(trace(ALIBABA_MEM, "data/alibaba-2018-mem.csv")?),
            mem_scale: Scale {
                base: 0.0,
                span: 1400.0,
            },
            usage_ratio: 0.7,
            history_secs: 5 * DAY / 2,
            groups: vec![
                group(
                    "online",
                    "m6i.2xlarge",
                    OnDemand,
                    (4, 40),
                    0.35,
                    0.5,
                    Deployment,
                )?,
                group("batch-spot", "m6a.4xlarge", Spot, (0, 60), 0.65, 2.0, Job)?,
            ],
        },
        ReplaySpec {
            cluster: id(2),
            region: region(2),
            cpu: trace(WORLDCUP, "data/worldcup98-requests.csv")?,
            cpu_scale: Scale {
                base: 8.0,
                span: 900.0,
            },
            mem: None,
            mem_scale: Scale {
                base: 16.0,
                span: 1800.0,
            },
            usage_ratio: 0.55,
            history_secs: 35 * DAY,
            groups: vec![
                group(
                    "web",
                    "c6i.2xlarge",
                    OnDemand,
                    (3, 90),
                    0.8,
                    0.5,
                    Deployment,
                )?,
                group(
                    "api-spot",
                    "c6i.2xlarge",
                    Spot,
                    (0, 20),
                    0.2,
                    0.5,
                    Deployment,
                )?,
            ],
        },
        ReplaySpec {
            cluster: id(3),
            region: region(3),
            cpu: trace(NAB_ASG, "data/nab-asg-cpu.csv")?,
            cpu_scale: Scale {
                base: 2.0,
                span: 22.0,
            },
            mem: None,
            mem_scale: Scale {
                base: 4.0,
                span: 44.0,
            },
            usage_ratio: 0.7,
            history_secs: 21 * DAY,
            groups: vec![group(
                "app",
                "m6i.large",
                OnDemand,
                (2, 12),
                1.0,
                0.25,
                Deployment,
            )?],
        },
    ])
}

/// The demo's clock starts here at every start: the replay, its history and
/// so the trained models are the same each time (the shipped pretrained
/// models in models/demo match them).
pub fn demo_epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_782_600, 0).unwrap_or_default()
}

/// The demo fleet's sources, with "now" = `anchor`.
pub fn demo_sources(anchor: DateTime<Utc>, speed: f64) -> Result<Vec<(ReplaySpec, ReplaySource)>> {
    demo_sources_controlled(anchor, speed, None)
}

/// The demo fleet's sources, taking approved floors from `control` where given.
pub fn demo_sources_controlled(
    anchor: DateTime<Utc>,
    speed: f64,
    control: Option<DemoControl>,
) -> Result<Vec<(ReplaySpec, ReplaySource)>> {
    // Poll about every second of wall time; the replay steps its history in 5-minute steps.
    let interval = Duration::from_millis(if speed > 1.0 { 500 } else { 1000 });
    Ok(demo_specs()?
        .into_iter()
        .map(|spec| {
            let mut cluster = ReplayCluster::new(spec.clone(), anchor);
            if let Some(c) = &control {
                cluster = cluster.controlled(c.clone());
            }
            (spec, ReplaySource { cluster, interval })
        })
        .collect())
}

/// The demo fleet at `anchor`, built synchronously through the same store
/// path the runtime uses (for `nodecast train`, tests and benchmarks).
pub fn demo_store_at(
    anchor: DateTime<Utc>,
    db: crate::store::db::Db,
) -> anyhow::Result<crate::store::Store> {
    demo_store_with(anchor, db, None)
}

/// [`demo_store_at`] with the replays reporting to (and taking floors from) `control`.
pub fn demo_store_with(
    anchor: DateTime<Utc>,
    db: crate::store::db::Db,
    control: Option<DemoControl>,
) -> anyhow::Result<crate::store::Store> {
    use super::{Source, SourceEvent, SourceEventKind};
    let sources = demo_sources_controlled(anchor, 1.0, control)?;
    let ids: Vec<(ClusterId, String)> = sources
        .iter()
        .map(|(s, _)| (s.cluster.clone(), s.region.clone()))
        .collect();
    let mut store = crate::store::Store::new(db, &ids);
    store.reset_history()?;
    for (spec, mut src) in sources {
        let backfill = futures::executor::block_on(src.backfill(anchor))?;
        let update = futures::executor::block_on(src.poll(anchor))?;
        for kind in [
            SourceEventKind::Backfill(backfill),
            SourceEventKind::Update(update),
        ] {
            store.apply(SourceEvent {
                cluster: spec.cluster.clone(),
                source: src.name().to_string(),
                at: anchor,
                kind,
            })?;
        }
    }
    Ok(store)
}
