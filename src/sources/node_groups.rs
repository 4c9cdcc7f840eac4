//! The node groups' own facts from AWS, for the live view: every EKS
//! managed node group of the cluster (ListNodegroups, DescribeNodegroup:
//! min, max, desired, status, the Auto Scaling groups behind it) and every
//! self-managed Auto Scaling group tagged for the cluster
//! (DescribeAutoScalingGroups: the same, by eksctl's, EKS's or Cluster
//! Autoscaler's tags). The node group's name is the EKS name, else the
//! ASG's node-group tag, else the ASG's name.

use super::cloudwatch::sdk_error;
use super::{Result, Source, SourceUpdate};
use crate::aws::LazyClient;
use crate::domain::{Sample, SeriesKind};
use crate::exec::asg::tagged_group;
use crate::group_facts::{Facts, GroupFacts, GroupKind};
use async_trait::async_trait;
use aws_sdk_autoscaling::types::AutoScalingGroup;
use aws_sdk_eks::error::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use std::time::Duration;

pub struct NodeGroupsSource {
    pub eks_cluster: String,
    interval: Duration,
    eks: LazyClient<aws_sdk_eks::Client>,
    asg: LazyClient<aws_sdk_autoscaling::Client>,
}

impl NodeGroupsSource {
    pub fn new(
        eks_cluster: &str,
        region: Option<String>,
        profile: Option<String>,
        interval: Duration,
    ) -> Self {
        NodeGroupsSource {
            eks_cluster: eks_cluster.to_string(),
            interval,
            eks: LazyClient::new(region.clone(), profile.clone()),
            asg: LazyClient::new(region, profile),
        }
    }

    async fn eks_groups(&self) -> Result<Vec<GroupFacts>> {
        let c = self.eks.get(aws_sdk_eks::Client::new).await;
        let names: Vec<String> = match c
            .list_nodegroups()
            .cluster_name(&self.eks_cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(n) => n,
            // Not an EKS cluster of this account and region: its groups
            // are self-managed, if any.
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(Vec::new()),
            Err(e) => {
                return Err(sdk_error(
                    &format!("EKS ListNodegroups ({})", self.eks_cluster),
                    e,
                ));
            }
        };
        let mut out = Vec::new();
        for name in names {
            let ng = c
                .describe_nodegroup()
                .cluster_name(&self.eks_cluster)
                .nodegroup_name(&name)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("EKS DescribeNodegroup {name}"), e))?;
            let Some(ng) = ng.nodegroup() else { continue };
            let sc = ng.scaling_config();
            let size = |v: Option<i32>| v.map(|v| v.max(0) as u32);
            let asgs: Vec<&str> = ng
                .resources()
                .map(|r| {
                    r.auto_scaling_groups()
                        .iter()
                        .filter_map(|g| g.name())
                        .collect()
                })
                .unwrap_or_default();
            out.push(GroupFacts {
                node_group: name.clone(),
                kind: GroupKind::EksManaged,
                min: size(sc.and_then(|s| s.min_size())),
                max: size(sc.and_then(|s| s.max_size())),
                desired: size(sc.and_then(|s| s.desired_size())),
                status: ng.status().map(|s| s.as_str().to_string()),
                detail: if asgs.is_empty() {
                    String::new()
                } else {
                    format!("ASG {}", asgs.join(", "))
                },
            });
        }
        Ok(out)
    }

    /// Whether an ASG is tagged as part of this cluster.
    fn of_cluster(&self, g: &AutoScalingGroup) -> bool {
        let owned = format!("kubernetes.io/cluster/{}", self.eks_cluster);
        let autoscaled = format!("k8s.io/cluster-autoscaler/{}", self.eks_cluster);
        g.tags().iter().any(|t| match t.key() {
            Some("eks:cluster-name" | "alpha.eksctl.io/cluster-name") => {
                t.value() == Some(self.eks_cluster.as_str())
            }
            Some(k) => k == owned || k == autoscaled,
            None => false,
        })
    }

    async fn asg_groups(&self, eks: &[GroupFacts]) -> Result<Vec<GroupFacts>> {
        let c = self.asg.get(aws_sdk_autoscaling::Client::new).await;
        let groups = c
            .describe_auto_scaling_groups()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| sdk_error("DescribeAutoScalingGroups", e))?;
        let mut out = Vec::new();
        for g in &groups {
            let asg_name = g.auto_scaling_group_name().unwrap_or_default();
            if !self.of_cluster(g)
                || eks
                    .iter()
                    .any(|f| f.detail.contains(asg_name) && !asg_name.is_empty())
            {
                continue;
            }
            let name = tagged_group(g).unwrap_or(asg_name).to_string();
            if eks.iter().any(|f| f.node_group == name) {
                continue;
            }
            let size = |v: Option<i32>| v.map(|v| v.max(0) as u32);
            out.push(GroupFacts {
                node_group: name,
                kind: GroupKind::AutoScaling,
                min: size(g.min_size()),
                max: size(g.max_size()),
                desired: size(g.desired_capacity()),
                status: Some(
                    g.status()
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("{} instances", g.instances().len())),
                ),
                detail: format!("ASG {asg_name}"),
            });
        }
        Ok(out)
    }
}

#[async_trait]
impl Source for NodeGroupsSource {
    fn name(&self) -> &str {
        "node-groups"
    }

    fn poll_interval(&self) -> Duration {
        self.interval
    }

    /// The groups' APIs keep no history.
    async fn backfill(&mut self, _now: DateTime<Utc>) -> Result<Vec<(SeriesKind, Sample)>> {
        Ok(Vec::new())
    }

    async fn poll(&mut self, _now: DateTime<Utc>) -> Result<SourceUpdate> {
        let mut groups = self.eks_groups().await?;
        let asgs = self.asg_groups(&groups).await?;
        groups.extend(asgs);
        Ok(SourceUpdate {
            state: None,
            samples: Vec::new(),
            facts: Some(Facts {
                groups,
                autoscalers: None,
            }),
        })
    }
}
