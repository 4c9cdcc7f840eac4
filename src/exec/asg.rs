//! Self-managed Auto Scaling groups: read with DescribeAutoScalingGroups,
//! changed with SetDesiredCapacity (HonorCooldown) or, where an autoscaler
//! runs, UpdateAutoScalingGroup moving the floor (MinSize to the target,
//! DesiredCapacity to at least it). A node group is found by the ASG's
//! name or by its tags (`eks:nodegroup-name`, eksctl's
//! `alpha.eksctl.io/nodegroup-name`, Karpenter-less `k8s.io/cluster-autoscaler/node-template/label/eks.amazonaws.com/nodegroup`).

use super::{Actuator, ExecError, LiveSize};
use crate::aws::LazyClient;
use crate::domain::ClusterId;
use async_trait::async_trait;
use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::DisplayErrorContext;
use aws_sdk_autoscaling::types::AutoScalingGroup;

/// Tags whose value names the node group an ASG backs.
pub const GROUP_TAGS: [&str; 3] = [
    "eks:nodegroup-name",
    "alpha.eksctl.io/nodegroup-name",
    "k8s.io/cluster-autoscaler/node-template/label/eks.amazonaws.com/nodegroup",
];

/// The node group an ASG's tags name, if any.
pub fn tagged_group(g: &AutoScalingGroup) -> Option<&str> {
    g.tags()
        .iter()
        .find(|t| t.key().is_some_and(|k| GROUP_TAGS.contains(&k)))
        .and_then(|t| t.value())
}

/// Whether an ASG's node-group tag names `node_group`.
fn names_group(g: &AutoScalingGroup, node_group: &str) -> bool {
    g.tags()
        .iter()
        .any(|t| t.key().is_some_and(|k| GROUP_TAGS.contains(&k)) && t.value() == Some(node_group))
}

pub struct AutoScalingGroups {
    pub autoscaler: bool,
    client: LazyClient<Client>,
}

impl AutoScalingGroups {
    pub fn new(region: Option<String>, profile: Option<String>, autoscaler: bool) -> Self {
        AutoScalingGroups {
            autoscaler,
            client: LazyClient::new(region, profile),
        }
    }

    async fn client(&self) -> &Client {
        self.client.get(Client::new).await
    }

    /// The ASG backing `node_group`: by name, else by tag (every page).
    async fn find(&self, node_group: &str) -> Result<AutoScalingGroup, ExecError> {
        let c = self.client().await;
        let failed = |e: aws_sdk_autoscaling::error::SdkError<_, _>| {
            ExecError::Call(format!(
                "DescribeAutoScalingGroups {node_group}: {}",
                DisplayErrorContext(e)
            ))
        };
        let named = c
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(node_group)
            .send()
            .await
            .map_err(failed)?;
        if let Some(g) = named.auto_scaling_groups().first() {
            return Ok(g.clone());
        }
        // Every page, through the SDK's paginator, until one carries the tag.
        let mut groups = c
            .describe_auto_scaling_groups()
            .into_paginator()
            .items()
            .send();
        while let Some(g) = groups.try_next().await.map_err(failed)? {
            if names_group(&g, node_group) {
                return Ok(g);
            }
        }
        Err(ExecError::NoSuchGroup(format!(
            "no Auto Scaling group named or tagged {node_group}"
        )))
    }
}

#[async_trait]
impl Actuator for AutoScalingGroups {
    fn call(&self) -> &'static str {
        if self.autoscaler {
            "Auto Scaling UpdateAutoScalingGroup (MinSize)"
        } else {
            "Auto Scaling SetDesiredCapacity"
        }
    }

    fn autoscaler(&self) -> bool {
        self.autoscaler
    }

    async fn live(&self, _cluster: &ClusterId, node_group: &str) -> Result<LiveSize, ExecError> {
        let g = self.find(node_group).await?;
        Ok(LiveSize::from_api(
            g.min_size(),
            g.max_size(),
            g.desired_capacity(),
            self.autoscaler,
        ))
    }

    async fn apply(
        &self,
        _cluster: &ClusterId,
        node_group: &str,
        seen: &LiveSize,
        to: u32,
    ) -> Result<(), ExecError> {
        let g = self.find(node_group).await?;
        let name = g
            .auto_scaling_group_name()
            .unwrap_or(node_group)
            .to_string();
        let c = self.client().await;
        let (min, desired) = seen.change_to(to, self.autoscaler);
        let result = if self.autoscaler {
            c.update_auto_scaling_group()
                .auto_scaling_group_name(&name)
                .min_size(min as i32)
                .desired_capacity(desired as i32)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("UpdateAutoScalingGroup {name}: {}", DisplayErrorContext(e)))
        } else {
            c.set_desired_capacity()
                .auto_scaling_group_name(&name)
                .desired_capacity(desired as i32)
                .honor_cooldown(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("SetDesiredCapacity {name}: {}", DisplayErrorContext(e)))
        };
        result.map_err(ExecError::Call)
    }

    fn landed(&self, back: &LiveSize, to: u32) -> bool {
        back.shows(to, self.autoscaler)
    }
}
