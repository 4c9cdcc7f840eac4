//! Headroom pods, for clusters where Karpenter or Cluster Autoscaler keeps
//! the node count: a Deployment of pause pods per node group, each asking
//! for most of one node, at a PriorityClass of -10. Real pods (priority 0
//! and up) preempt them; the pause pods then wait, and the autoscaler adds
//! nodes for them. So N pause pods keep about N nodes of spare capacity in
//! the group, and a change from `from` to `to` nodes adds (or, on release,
//! removes) `to - from` pause pods.
//!
//! -10 is Cluster Autoscaler's expendable cutoff: it ignores pods *below*
//! it (the often-copied -1000 would make it ignore the headroom entirely).
//! Everything is written with server-side apply as field manager
//! `nodecast`, never forced: where another manager owns `spec.replicas`,
//! the API server's conflict is the failure the operator sees.

use super::{Actuator, ExecError, LiveSize};
use crate::domain::ClusterId;
use crate::sources::kube::KubeTarget;
use crate::sources::kube_objects::NODE_GROUP_LABELS;
use async_trait::async_trait;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "nodecast";
/// The PriorityClass of the pause pods.
pub const PRIORITY_CLASS: &str = "nodecast-headroom";
/// Cluster Autoscaler's expendable cutoff: pods below it are ignored.
pub const PRIORITY: i32 = -10;
/// The annotation that records the node count the last change was for.
pub const TARGET_ANNOTATION: &str = "nodecast.io/target-nodes";
/// A pause pod asks for this share of one node's allocatable CPU and
/// memory: more than half, so two never share a node, and room left for
/// the node's daemon sets.
const POD_SHARE: f64 = 0.6;

pub struct HeadroomPods {
    target: KubeTarget,
    client: tokio::sync::OnceCell<Client>,
    /// Where the Deployments live (created if missing).
    pub namespace: String,
}

/// The Deployment of a node group's pause pods: `nodecast-headroom-` and
/// the group's name as a Kubernetes name allows (lower case, `-` for any
/// other character; where that changed it, a hash of the name keeps two
/// groups apart), at most 63 characters.
pub fn deployment_name(node_group: &str) -> String {
    let clean: String = node_group
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name = format!("nodecast-headroom-{}", clean.trim_matches('-'));
    if clean != node_group || name.len() > 63 {
        let hash = crate::domain::fnv1a(node_group.as_bytes());
        name.truncate(54);
        name = format!("{}-{:08x}", name.trim_end_matches('-'), hash as u32);
    }
    name
}

fn call_error(what: &str, e: kube::Error) -> ExecError {
    match &e {
        kube::Error::Api(s) if s.code == 409 => ExecError::Call(format!(
            "{what}: conflict, not forced (another field manager owns it): {}",
            s.message
        )),
        _ => ExecError::Call(format!("{what}: {e}")),
    }
}

/// A node group as its nodes show it: the label that names it and its nodes.
struct GroupNodes {
    label: &'static str,
    nodes: Vec<Node>,
}

impl HeadroomPods {
    pub fn new(target: KubeTarget, namespace: &str) -> Self {
        HeadroomPods {
            target,
            client: tokio::sync::OnceCell::new(),
            namespace: namespace.to_string(),
        }
    }

    /// An actuator on a client of the caller's (tests).
    pub fn with_client(client: Client, namespace: &str) -> Self {
        let h = Self::new(KubeTarget::default(), namespace);
        let _ = h.client.set(client);
        h
    }

    async fn client(&self) -> Result<Client, ExecError> {
        self.client
            .get_or_try_init(|| self.target.client())
            .await
            .cloned()
            .map_err(|e| ExecError::Call(e.to_string()))
    }

    async fn group_nodes(&self, c: &Client, node_group: &str) -> Result<GroupNodes, ExecError> {
        let nodes = Api::<Node>::all(c.clone());
        for label in NODE_GROUP_LABELS {
            let lp = ListParams::default().labels(&format!("{label}={node_group}"));
            let list = nodes
                .list(&lp)
                .await
                .map_err(|e| call_error("list nodes", e))?;
            if !list.items.is_empty() {
                return Ok(GroupNodes {
                    label,
                    nodes: list.items,
                });
            }
        }
        Err(ExecError::NoSuchGroup(format!(
            "no node carries a node group label ({}) of {node_group:?}",
            NODE_GROUP_LABELS.join(", ")
        )))
    }

    async fn deployment(
        &self,
        c: &Client,
        node_group: &str,
    ) -> Result<Option<Deployment>, ExecError> {
        Api::<Deployment>::namespaced(c.clone(), &self.namespace)
            .get_opt(&deployment_name(node_group))
            .await
            .map_err(|e| call_error("read the headroom Deployment", e))
    }

    /// The PriorityClass and the namespace, applied (idempotent).
    async fn ensure_class(&self, c: &Client) -> Result<(), ExecError> {
        let pp = PatchParams::apply(FIELD_MANAGER);
        let class = json!({
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": PRIORITY_CLASS, "labels": {"app.kubernetes.io/managed-by": "nodecast"}},
            "value": PRIORITY, "globalDefault": false, "preemptionPolicy": "Never",
            "description": "nodecast headroom pause pods: preempted by any real pod; \
                -10 is Cluster Autoscaler's expendable cutoff, so it still scales up for them"
        });
        Api::<PriorityClass>::all(c.clone())
            .patch(PRIORITY_CLASS, &pp, &Patch::Apply(&class))
            .await
            .map_err(|e| call_error("apply PriorityClass nodecast-headroom", e))?;
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": self.namespace}});
        Api::<Namespace>::all(c.clone())
            .patch(&self.namespace, &pp, &Patch::Apply(&ns))
            .await
            .map_err(|e| call_error(&format!("apply namespace {}", self.namespace), e))?;
        Ok(())
    }
}

/// The pause pod's requests: those of an existing Deployment (so a change
/// touches nothing but replicas), else `POD_SHARE` of the group's smallest
/// node, in whole 100m and 64Mi steps.
fn pod_requests(existing: Option<&Deployment>, nodes: &[Node]) -> serde_json::Value {
    let kept = existing
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.requests.as_ref());
    if let Some(r) = kept {
        return json!(r);
    }
    let alloc = |n: &Node| {
        crate::sources::kube_objects::resources(n.status.as_ref()?.allocatable.as_ref()).ok()
    };
    let smallest = |f: fn(&crate::domain::Resources) -> f64| {
        nodes
            .iter()
            .filter_map(|n| alloc(n).map(|r| f(&r)))
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min)
    };
    let (cpu, mem) = (smallest(|r| r.cores), smallest(|r| r.gib));
    let cpu_m = if cpu.is_finite() {
        ((cpu * POD_SHARE * 10.0).floor() as u64).max(1) * 100
    } else {
        100
    };
    let mem_mi = if mem.is_finite() {
        ((mem * 1024.0 * POD_SHARE / 64.0).floor() as u64).max(1) * 64
    } else {
        64
    };
    json!({"cpu": format!("{cpu_m}m"), "memory": format!("{mem_mi}Mi")})
}

/// Tolerations for the taints the group's nodes carry, so the pause pods
/// can land where the group's real pods do.
fn tolerations(nodes: &[Node]) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = Vec::new();
    for t in nodes
        .iter()
        .filter_map(|n| n.spec.as_ref()?.taints.as_ref())
        .flatten()
    {
        if crate::sources::kube_objects::lifecycle_taint(&t.key) {
            continue;
        }
        let tol = json!({"key": t.key, "operator": "Equal",
            "value": t.value.clone().unwrap_or_default(), "effect": t.effect});
        if !out.contains(&tol) {
            out.push(tol);
        }
    }
    out
}

fn replicas(d: Option<&Deployment>) -> u32 {
    d.and_then(|d| d.spec.as_ref()?.replicas)
        .unwrap_or(0)
        .max(0) as u32
}

fn target_nodes(d: Option<&Deployment>) -> Option<u32> {
    d?.metadata
        .annotations
        .as_ref()?
        .get(TARGET_ANNOTATION)?
        .parse()
        .ok()
}

/// The pause pods a change from `seen` to `to` nodes leaves: one more per
/// node added, one fewer per node released, never below zero.
pub fn replicas_for(seen: &LiveSize, to: u32) -> u32 {
    let now = seen.floor.unwrap_or(0);
    if to >= seen.desired {
        now + (to - seen.desired)
    } else {
        now.saturating_sub(seen.desired - to)
    }
}

#[async_trait]
impl Actuator for HeadroomPods {
    fn call(&self) -> &'static str {
        "Kubernetes server-side apply: headroom Deployment replicas (field manager nodecast)"
    }

    fn autoscaler(&self) -> bool {
        true
    }

    /// desired: the group's nodes; floor: its pause pods; target: the node
    /// count the last change was for.
    async fn live(&self, _cluster: &ClusterId, node_group: &str) -> Result<LiveSize, ExecError> {
        let c = self.client().await?;
        let group = self.group_nodes(&c, node_group).await?;
        let d = self.deployment(&c, node_group).await?;
        Ok(LiveSize {
            desired: group.nodes.len() as u32,
            min: 0,
            max: u32::MAX,
            floor: Some(replicas(d.as_ref())),
            target: target_nodes(d.as_ref()),
        })
    }

    async fn apply(
        &self,
        _cluster: &ClusterId,
        node_group: &str,
        seen: &LiveSize,
        to: u32,
    ) -> Result<(), ExecError> {
        let c = self.client().await?;
        let group = self.group_nodes(&c, node_group).await?;
        let existing = self.deployment(&c, node_group).await?;
        self.ensure_class(&c).await?;
        let name = deployment_name(node_group);
        let labels = json!({"app.kubernetes.io/name": "nodecast-headroom",
            "app.kubernetes.io/managed-by": "nodecast", "nodecast.io/node-group": node_group});
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": self.namespace, "labels": labels,
                "annotations": {TARGET_ANNOTATION: to.to_string()}},
            "spec": {
                "replicas": replicas_for(seen, to),
                "selector": {"matchLabels": {"nodecast.io/node-group": node_group}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "priorityClassName": PRIORITY_CLASS,
                        "terminationGracePeriodSeconds": 0,
                        "nodeSelector": {group.label: node_group},
                        "tolerations": tolerations(&group.nodes),
                        "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                            "resources": {"requests": pod_requests(existing.as_ref(), &group.nodes)}}]
                    }
                }
            }
        });
        Api::<Deployment>::namespaced(c, &self.namespace)
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER),
                &Patch::Apply(&deployment),
            )
            .await
            .map_err(|e| call_error(&format!("apply Deployment {name}"), e))?;
        Ok(())
    }

    fn landed(&self, back: &LiveSize, to: u32) -> bool {
        back.target == Some(to)
    }
}
