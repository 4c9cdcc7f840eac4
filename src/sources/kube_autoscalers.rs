//! Which autoscaler runs in a cluster (Cluster Autoscaler or Karpenter, by
//! their Deployments' names and labels) and Karpenter's NodePools with
//! their limits, read through the Kubernetes API.

use crate::group_facts::{Facts, GroupFacts, GroupKind, autoscaler_of};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::{Api, Client};
use serde_json::Value;

/// A NodePool's facts: its `nodes` limit as the max, its nodes now, its
/// Ready condition and its limits.
pub fn nodepool_facts(o: &DynamicObject) -> Option<GroupFacts> {
    let name = o.metadata.name.clone()?;
    let limits = o.data.pointer("/spec/limits").and_then(Value::as_object);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let count = |v: Option<&Value>| v.map(text).and_then(|s| s.parse::<u32>().ok());
    let detail = match limits {
        Some(l) if !l.is_empty() => format!(
            "limits {}",
            l.iter()
                .map(|(k, v)| format!("{k} {}", text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "no limits".into(),
    };
    let status = o
        .data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .map(|c| {
            if c["status"] == "True" {
                "Ready".to_string()
            } else {
                format!("not ready: {}", c["message"].as_str().unwrap_or_default())
            }
        });
    Some(GroupFacts {
        node_group: name,
        kind: GroupKind::KarpenterNodePool,
        min: None,
        max: count(limits.and_then(|l| l.get("nodes"))),
        desired: count(o.data.pointer("/status/resources/nodes")),
        status,
        detail,
    })
}

/// The autoscalers' Deployments and Karpenter's NodePools. A NodePool API
/// the cluster does not serve (404) is no NodePool; any other error is
/// `Err` with the API server's text.
pub async fn discover(client: &Client) -> Result<Facts, String> {
    let deployments = Api::<Deployment>::all(client.clone())
        .list_metadata(&ListParams::default())
        .await
        .map_err(|e| format!("list Deployments: {e}"))?;
    let mut autoscalers: Vec<_> = deployments
        .items
        .iter()
        .filter_map(|d| {
            let labels = d.metadata.labels.clone().unwrap_or_default();
            autoscaler_of(
                d.metadata.namespace.as_deref().unwrap_or_default(),
                d.metadata.name.as_deref().unwrap_or_default(),
                &labels,
            )
        })
        .collect();
    autoscalers.sort();
    let gvk = GroupVersionKind::gvk("karpenter.sh", "v1", "NodePool");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "nodepools");
    let groups = match Api::<DynamicObject>::all_with(client.clone(), &ar)
        .list(&ListParams::default())
        .await
    {
        Ok(list) => list.items.iter().filter_map(nodepool_facts).collect(),
        Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
        Err(e) => return Err(format!("list NodePools: {e}")),
    };
    Ok(Facts {
        groups,
        autoscalers: Some(autoscalers),
    })
}
