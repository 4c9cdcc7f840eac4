//! What the cloud and the cluster say about node groups beyond their
//! nodes: an EKS managed node group's or Auto Scaling group's min, max,
//! desired size, status and Auto Scaling group names; a Karpenter
//! NodePool's limits; and which autoscaler runs in the cluster. Sources
//! report them; the store lays them over the latest snapshot.

use serde::Serialize;

/// What backs a node group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    EksManaged,
    AutoScaling,
    KarpenterNodePool,
}

impl GroupKind {
    pub fn label(self) -> &'static str {
        match self {
            GroupKind::EksManaged => "EKS managed",
            GroupKind::AutoScaling => "Auto Scaling",
            GroupKind::KarpenterNodePool => "Karpenter NodePool",
        }
    }
}

/// One node group as its API describes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupFacts {
    pub node_group: String,
    pub kind: GroupKind,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub desired: Option<u32>,
    /// EKS's status (ACTIVE, UPDATING, DEGRADED...), an ASG's status when
    /// it is being deleted, a NodePool's Ready condition.
    pub status: Option<String>,
    /// The Auto Scaling groups behind it, or a NodePool's limits.
    pub detail: String,
}

/// An autoscaler found running in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoscalerKind {
    ClusterAutoscaler,
    Karpenter,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Autoscaler {
    pub kind: AutoscalerKind,
    /// namespace/name of its Deployment.
    pub deployment: String,
}

impl Autoscaler {
    pub fn label(&self) -> String {
        let kind = match self.kind {
            AutoscalerKind::ClusterAutoscaler => "Cluster Autoscaler",
            AutoscalerKind::Karpenter => "Karpenter",
        };
        format!("{kind} ({})", self.deployment)
    }
}

/// What one source knows: node groups, and (where it looked) autoscalers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    pub groups: Vec<GroupFacts>,
    /// `None`: the source does not look for autoscalers.
    pub autoscalers: Option<Vec<Autoscaler>>,
}

/// A Deployment that runs an autoscaler, by its name and labels.
pub fn autoscaler_of(
    namespace: &str,
    name: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> Option<Autoscaler> {
    let named = |want: &str| {
        name.contains(want)
            || ["app.kubernetes.io/name", "app", "k8s-app"]
                .iter()
                .any(|k| labels.get(*k).is_some_and(|v| v.contains(want)))
    };
    let kind = if named("cluster-autoscaler") {
        AutoscalerKind::ClusterAutoscaler
    } else if named("karpenter") {
        AutoscalerKind::Karpenter
    } else {
        return None;
    };
    Some(Autoscaler {
        kind,
        deployment: format!("{namespace}/{name}"),
    })
}
