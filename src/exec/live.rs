//! A live cluster's node groups: an EKS managed node group where EKS knows
//! the name, else the Auto Scaling group named or tagged for it.

use super::asg::AutoScalingGroups;
use super::eks::EksNodeGroups;
use super::{Actuator, ExecError, LiveSize};
use crate::domain::ClusterId;
use async_trait::async_trait;

pub struct LiveNodeGroups {
    pub eks: EksNodeGroups,
    pub asg: AutoScalingGroups,
    /// Who the calls run as (the cluster's profile and region).
    pub caller: crate::aws::Caller,
}

#[async_trait]
impl Actuator for LiveNodeGroups {
    fn call(&self) -> &'static str {
        if self.eks.autoscaler {
            "EKS UpdateNodegroupConfig or Auto Scaling UpdateAutoScalingGroup (the floor)"
        } else {
            "EKS UpdateNodegroupConfig or Auto Scaling SetDesiredCapacity"
        }
    }

    fn autoscaler(&self) -> bool {
        self.eks.autoscaler
    }

    async fn live(&self, cluster: &ClusterId, node_group: &str) -> Result<LiveSize, ExecError> {
        match self.eks.live(cluster, node_group).await {
            Err(ExecError::NoSuchGroup(eks)) => match self.asg.live(cluster, node_group).await {
                Err(ExecError::NoSuchGroup(asg)) => {
                    Err(ExecError::NoSuchGroup(format!("{eks}; {asg}")))
                }
                other => other,
            },
            other => other,
        }
    }

    async fn apply(
        &self,
        cluster: &ClusterId,
        node_group: &str,
        seen: &LiveSize,
        to: u32,
    ) -> Result<(), ExecError> {
        // EKS answers ResourceNotFound for a group it does not manage.
        match self.eks.apply(cluster, node_group, seen, to).await {
            Err(ExecError::NoSuchGroup(_)) => self.asg.apply(cluster, node_group, seen, to).await,
            other => other,
        }
    }

    fn landed(&self, back: &LiveSize, to: u32) -> bool {
        self.eks.landed(back, to)
    }

    async fn caller(&self) -> Option<String> {
        self.caller.arn().await
    }
}
