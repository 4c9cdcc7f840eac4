//! Kubernetes objects (as the API serves them) into nodecast's domain:
//! nodes with their node group, instance type, capacity type, zone,
//! readiness and allocatable; pods with their workload kind, requests as the
//! scheduler counts them, phase, node and why they are unschedulable. Pure;
//! the Kubernetes source feeds it from its watchers.

use super::{Result, SourceError};
use crate::catalog::{parse_cpu, parse_mem_gib};
use crate::domain::{
    CapacityType, LabelRequirement, Node, OwnerKind, Placement, Pod, PodPhase, Resources, Taint,
    Toleration,
};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

/// Node labels naming the node group, in the order they are tried.
pub const NODE_GROUP_LABELS: [&str; 3] = [
    "eks.amazonaws.com/nodegroup",
    "karpenter.sh/nodepool",
    "alpha.eksctl.io/nodegroup-name",
];
/// The node group of nodes that carry none of [`NODE_GROUP_LABELS`].
pub const UNGROUPED: &str = "(no node group)";

fn label<'a>(labels: Option<&'a BTreeMap<String, String>>, keys: &[&str]) -> Option<&'a str> {
    let l = labels?;
    keys.iter().find_map(|k| l.get(*k).map(String::as_str))
}

/// CPU cores and GiB of a resource list (absent entries count zero).
pub fn resources(list: Option<&BTreeMap<String, Quantity>>) -> Result<Resources> {
    let Some(list) = list else {
        return Ok(Resources::default());
    };
    fn unreadable(what: &'static str) -> impl Fn(anyhow::Error) -> SourceError {
        move |e| SourceError::Unreadable(format!("{what}: {e:#}"))
    }
    let cores = list
        .get("cpu")
        .map(|q| parse_cpu(&q.0))
        .transpose()
        .map_err(unreadable("cpu"))?
        .unwrap_or(0.0);
    let gib = list
        .get("memory")
        .map(|q| parse_mem_gib(&q.0))
        .transpose()
        .map_err(unreadable("memory"))?
        .unwrap_or(0.0);
    Ok(Resources::new(cores, gib))
}

/// A node; an error names the node and the field that is wrong.
pub fn node_from(n: &core::Node) -> Result<Node> {
    let name = n.metadata.name.clone().unwrap_or_default();
    let labels = n.metadata.labels.as_ref();
    let capacity = match label(
        labels,
        &[
            "eks.amazonaws.com/capacityType",
            "karpenter.sh/capacity-type",
        ],
    ) {
        Some(v) if v.eq_ignore_ascii_case("spot") => CapacityType::Spot,
        _ => CapacityType::OnDemand,
    };
    let status = n.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let allocatable = resources(status.and_then(|s| s.allocatable.as_ref()))
        .map_err(|e| e.context(format!("node {name}: status.allocatable")))?;
    Ok(Node {
        node_group: label(labels, &NODE_GROUP_LABELS)
            .unwrap_or(UNGROUPED)
            .to_string(),
        instance_type: label(
            labels,
            &[
                "node.kubernetes.io/instance-type",
                "beta.kubernetes.io/instance-type",
            ],
        )
        .unwrap_or("unknown")
        .to_string(),
        capacity_type: capacity,
        zone: label(
            labels,
            &[
                "topology.kubernetes.io/zone",
                "failure-domain.beta.kubernetes.io/zone",
            ],
        )
        .unwrap_or("")
        .to_string(),
        ready,
        allocatable,
        requests: Resources::default(),
        usage: None,
        labels: labels.cloned().unwrap_or_default(),
        taints: n
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .filter(|t| !lifecycle_taint(&t.key))
            .map(|t| Taint {
                key: t.key.clone(),
                value: t.value.clone().unwrap_or_default(),
                effect: t.effect.clone(),
            })
            .collect(),
        name,
    })
}

/// The pod's controlling owner (or its first owner).
fn controller(
    p: &core::Pod,
) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference> {
    let owners = p.metadata.owner_references.as_deref().unwrap_or(&[]);
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .or(owners.first())
}

fn owner_kind(p: &core::Pod) -> OwnerKind {
    let Some(o) = controller(p) else {
        return OwnerKind::Bare;
    };
    match o.kind.as_str() {
        "ReplicaSet" | "Deployment" => OwnerKind::Deployment,
        "StatefulSet" => OwnerKind::StatefulSet,
        "DaemonSet" => OwnerKind::DaemonSet,
        // A CronJob's pods belong to its Jobs; the Job carries the CronJob's
        // name in this label since Kubernetes 1.27.
        "Job" => {
            let labels = p.metadata.labels.as_ref();
            if label(labels, &["batch.kubernetes.io/cronjob-name"]).is_some() {
                OwnerKind::CronJob
            } else {
                OwnerKind::Job
            }
        }
        "CronJob" => OwnerKind::CronJob,
        _ => OwnerKind::Bare,
    }
}

/// `namespace/name` of the controller that owns the pod; a ReplicaSet's
/// pod-template hash suffix is dropped so a Deployment's pods share one name.
fn workload_of(p: &core::Pod) -> String {
    let Some(o) = controller(p) else {
        return String::new();
    };
    let ns = p.metadata.namespace.as_deref().unwrap_or("default");
    let name = match o.kind.as_str() {
        "ReplicaSet" => o.name.rsplit_once('-').map(|(d, _)| d).unwrap_or(&o.name),
        "Job" => label(
            p.metadata.labels.as_ref(),
            &["batch.kubernetes.io/cronjob-name"],
        )
        .unwrap_or(&o.name),
        _ => &o.name,
    };
    format!("{ns}/{name}")
}

fn max(a: Resources, b: Resources) -> Resources {
    Resources::new(a.cores.max(b.cores), a.gib.max(b.gib))
}

/// A pod's requests as the scheduler counts them: the larger of the app
/// containers (plus sidecars, init containers with `restartPolicy: Always`)
/// and each init container in turn (plus the sidecars started before it),
/// per resource, plus the pod overhead.
pub fn pod_requests(spec: &core::PodSpec) -> Result<Resources> {
    let req = |c: &core::Container| {
        resources(c.resources.as_ref().and_then(|r| r.requests.as_ref()))
            .map_err(|e| e.context(format!("container {}: resources.requests", c.name)))
    };
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.as_deref().unwrap_or(&[]) {
        let r = req(c)?;
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars = sidecars.plus(r);
            init_peak = max(init_peak, sidecars);
        } else {
            init_peak = max(init_peak, sidecars.plus(r));
        }
    }
    let mut app = sidecars;
    for c in &spec.containers {
        app = app.plus(req(c)?);
    }
    let overhead = resources(spec.overhead.as_ref()).map_err(|e| e.context("overhead"))?;
    Ok(max(app, init_peak).plus(overhead))
}

/// A pod; an error names the pod and the field that is wrong.
pub fn pod_from(p: &core::Pod) -> Result<Pod> {
    let name = format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or("default"),
        p.metadata.name.as_deref().unwrap_or("")
    );
    let spec = p
        .spec
        .as_ref()
        .ok_or_else(|| SourceError::Unreadable(format!("pod {name}: no spec")))?;
    let requests = pod_requests(spec).map_err(|e| e.context(format!("pod {name}")))?;
    let status = p.status.as_ref();
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        _ => PodPhase::Pending,
    };
    let node = spec.node_name.clone().filter(|n| !n.is_empty());
    let unschedulable = if node.is_none() {
        status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| {
                c.iter().find(|c| {
                    c.type_ == "PodScheduled"
                        && c.status == "False"
                        && c.reason.as_deref() == Some("Unschedulable")
                })
            })
            .map(|c| c.message.clone().unwrap_or_else(|| "Unschedulable".into()))
    } else {
        None
    };
    let volumes = spec.volumes.as_deref().unwrap_or(&[]);
    // Only a pending pod's placement matters (which group it waits for).
    let placement = if node.is_none() {
        placement_of(spec).map(Box::new)
    } else {
        None
    };
    Ok(Pod {
        placement,
        owner: owner_kind(p),
        workload: workload_of(p),
        labels: crate::domain::labels_text(
            p.metadata
                .labels
                .iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        ),
        local_storage: volumes.iter().any(|v| {
            v.host_path.is_some()
                || v.empty_dir
                    .as_ref()
                    .is_some_and(|e| e.medium.as_deref() != Some("Memory"))
        }),
        persistent_volume: volumes
            .iter()
            .any(|v| v.persistent_volume_claim.is_some() || v.ephemeral.is_some()),
        requests,
        phase,
        node,
        unschedulable,
        name,
    })
}

/// Taints a node carries for a while, not because of its group: its
/// conditions (`node.kubernetes.io/not-ready`, `unreachable`,
/// `disk-pressure`, ..., set when a node registers or falters), the cloud
/// provider's `uninitialized`, and an autoscaler's marks of a node it is
/// removing. A new node of the group will not carry them.
pub fn lifecycle_taint(key: &str) -> bool {
    key.starts_with("node.kubernetes.io/")
        || key.starts_with("node.cloudprovider.kubernetes.io/")
        || matches!(
            key,
            "ToBeDeletedByClusterAutoscaler"
                | "DeletionCandidateOfClusterAutoscaler"
                | "karpenter.sh/disrupted"
                | "karpenter.sh/disruption"
        )
}

/// A pod's nodeSelector, required node affinity and tolerations; `None`
/// when it sets none of them.
pub fn placement_of(spec: &core::PodSpec) -> Option<Placement> {
    let affinity = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| {
            n.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|sel| {
            sel.node_selector_terms
                .iter()
                .map(|term| {
                    term.match_expressions
                        .iter()
                        .flatten()
                        .map(|r| LabelRequirement {
                            key: r.key.clone(),
                            operator: r.operator.clone(),
                            values: r.values.clone().unwrap_or_default(),
                        })
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    let p = Placement {
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        affinity,
        tolerations: spec
            .tolerations
            .iter()
            .flatten()
            .map(|t| Toleration {
                key: t.key.clone().unwrap_or_default(),
                operator: t.operator.clone().unwrap_or_default(),
                value: t.value.clone().unwrap_or_default(),
                effect: t.effect.clone().unwrap_or_default(),
            })
            .collect(),
    };
    (p != Placement::default()).then_some(p)
}

/// One node's usage as `metrics.k8s.io/v1beta1` NodeMetrics serves it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct NodeMetrics {
    pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    pub usage: BTreeMap<String, Quantity>,
}

/// A cluster's state from its nodes and pods (and node metrics where the
/// cluster serves `metrics.k8s.io`; without them usage stays unknown, not
/// zero). An object with a field nodecast cannot read is left out, and the
/// reason is returned for the log.
pub fn state_from<N, P>(
    nodes: &[N],
    pods: &[P],
    metrics: Option<&[NodeMetrics]>,
) -> (crate::domain::ClusterState, Vec<String>)
where
    N: std::borrow::Borrow<core::Node>,
    P: std::borrow::Borrow<core::Pod>,
{
    let mut dropped = Vec::new();
    let usage: BTreeMap<&str, Resources> = metrics
        .unwrap_or(&[])
        .iter()
        .filter_map(|m| {
            let name = m.metadata.name.as_deref()?;
            match resources(Some(&m.usage)) {
                Ok(r) => Some((name, r)),
                Err(e) => {
                    dropped.push(format!("node metrics {name}: {e:#}"));
                    None
                }
            }
        })
        .collect();
    let mut out = crate::domain::ClusterState::default();
    for n in nodes {
        match node_from(n.borrow()) {
            Ok(mut node) => {
                node.usage = usage.get(node.name.as_str()).copied();
                out.nodes.push(node);
            }
            Err(e) => dropped.push(format!("{e:#}")),
        }
    }
    for p in pods {
        match pod_from(p.borrow()) {
            Ok(pod) => out.pods.push(pod),
            Err(e) => dropped.push(format!("{e:#}")),
        }
    }
    (out, dropped)
}

/// A PodDisruptionBudget of `policy/v1` or `policy/v1beta1` (same fields).
pub fn budget_from(o: &kube::api::DynamicObject) -> Result<crate::domain::DisruptionBudget> {
    let name = format!(
        "{}/{}",
        o.metadata.namespace.as_deref().unwrap_or("default"),
        o.metadata.name.as_deref().unwrap_or("")
    );
    let spec = &o.data["spec"];
    let int_or_string = |v: &serde_json::Value, field: &str| -> Result<Option<String>> {
        match v {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::Number(n) => Ok(Some(n.to_string())),
            serde_json::Value::String(s) => Ok(Some(s.clone())),
            other => Err(SourceError::Unreadable(format!(
                "pod disruption budget {name}: {field} is {other}"
            ))),
        }
    };
    let match_labels = match &spec["selector"]["matchLabels"] {
        serde_json::Value::Null => BTreeMap::new(),
        v => serde_json::from_value(v.clone()).map_err(|e| {
            SourceError::Unreadable(format!(
                "pod disruption budget {name}: spec.selector.matchLabels: {e}"
            ))
        })?,
    };
    Ok(crate::domain::DisruptionBudget {
        min_available: int_or_string(&spec["minAvailable"], "spec.minAvailable")?,
        max_unavailable: int_or_string(&spec["maxUnavailable"], "spec.maxUnavailable")?,
        disruptions_allowed: o.data["status"]["disruptionsAllowed"].as_i64(),
        match_labels,
        name,
    })
}
