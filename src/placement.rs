//! Where a pod may run, as the scheduler decides it for a node group: the
//! pod's nodeSelector and required node affinity against the group's node
//! labels, its tolerations against the group's taints, and its requests
//! against one node's allocatable. Pure.

use crate::domain::{LabelRequirement, Placement, Resources, Taint, Toleration};
use std::collections::BTreeMap;

impl Taint {
    /// Whether the taint keeps new pods off (PreferNoSchedule only discourages).
    pub fn repels(&self) -> bool {
        self.effect == "NoSchedule" || self.effect == "NoExecute"
    }
}

impl Toleration {
    /// Kubernetes' rule (`v1.Toleration.ToleratesTaint`).
    pub fn tolerates(&self, t: &Taint) -> bool {
        if !self.effect.is_empty() && self.effect != t.effect {
            return false;
        }
        if !self.key.is_empty() && self.key != t.key {
            return false;
        }
        match self.operator.as_str() {
            "Exists" => true,
            "Equal" | "" => !self.key.is_empty() && self.value == t.value,
            _ => false,
        }
    }
}

impl LabelRequirement {
    /// Kubernetes' node selector requirement rule against `labels`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let v = labels.get(&self.key);
        let number = |s: &str| s.parse::<i64>().ok();
        match self.operator.as_str() {
            "In" => v.is_some_and(|v| self.values.contains(v)),
            "NotIn" => v.is_none_or(|v| !self.values.contains(v)),
            "Exists" => v.is_some(),
            "DoesNotExist" => v.is_none(),
            "Gt" | "Lt" => {
                let (Some(have), Some(want)) = (
                    v.and_then(|v| number(v)),
                    self.values.first().and_then(|w| number(w)),
                ) else {
                    return false;
                };
                if self.operator == "Gt" {
                    have > want
                } else {
                    have < want
                }
            }
            _ => false,
        }
    }
}

impl Placement {
    /// Whether a node with `labels` and `taints` admits the pod.
    pub fn admits(&self, labels: &BTreeMap<String, String>, taints: &[Taint]) -> bool {
        let selected = self
            .node_selector
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v));
        let affine = self.affinity.is_empty()
            || self
                .affinity
                .iter()
                .any(|term| term.iter().all(|r| r.matches(labels)));
        let tolerated = taints
            .iter()
            .filter(|t| t.repels())
            .all(|t| self.tolerations.iter().any(|tol| tol.tolerates(t)));
        selected && affine && tolerated
    }
}

/// What the scheduler knows of a node group: its nodes' labels and taints
/// and one node's allocatable.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupShape {
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub per_node: Resources,
}

/// The group among `groups` a pending pod goes to: of those that admit it
/// and whose node fits its requests, the one with the smallest node (least
/// waste, as Cluster Autoscaler's `least-waste` expander and Karpenter's
/// cheapest fit choose), then the first listed. `None`: no group can run it.
pub fn group_for(
    placement: Option<&Placement>,
    requests: Resources,
    groups: &[GroupShape],
) -> Option<usize> {
    let none = Placement::default();
    let p = placement.unwrap_or(&none);
    groups
        .iter()
        .enumerate()
        .filter(|(_, g)| {
            p.admits(&g.labels, &g.taints)
                && requests.cores <= g.per_node.cores + 1e-9
                && requests.gib <= g.per_node.gib + 1e-9
        })
        .min_by(|(i, a), (j, b)| {
            a.per_node
                .cores
                .total_cmp(&b.per_node.cores)
                .then(a.per_node.gib.total_cmp(&b.per_node.gib))
                .then(i.cmp(j))
        })
        .map(|(i, _)| i)
}
