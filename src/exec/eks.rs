//! EKS managed node groups: read with DescribeNodegroup, changed with
//! UpdateNodegroupConfig. Where an autoscaler runs, a change moves the
//! floor: minSize to the target and desiredSize to at least it; nodes are
//! never removed here (the autoscaler removes them under its own rules).
//! With no autoscaler, desiredSize is set.

use super::{Actuator, ExecError, LiveSize};
use crate::aws::LazyClient;
use crate::domain::ClusterId;
use async_trait::async_trait;
use aws_sdk_eks::Client;
use aws_sdk_eks::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_eks::types::NodegroupScalingConfig;

pub struct EksNodeGroups {
    /// The EKS cluster's name (`eks_cluster`).
    pub eks_cluster: String,
    pub autoscaler: bool,
    client: LazyClient<Client>,
}

impl EksNodeGroups {
    pub fn new(
        eks_cluster: &str,
        region: Option<String>,
        profile: Option<String>,
        autoscaler: bool,
    ) -> Self {
        EksNodeGroups {
            eks_cluster: eks_cluster.to_string(),
            autoscaler,
            client: LazyClient::new(region, profile),
        }
    }

    async fn client(&self) -> &Client {
        self.client.get(Client::new).await
    }
}

fn call_error<E, R>(what: &str, e: aws_sdk_eks::error::SdkError<E, R>) -> ExecError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let missing = e.code() == Some("ResourceNotFoundException");
    let msg = format!("{what}: {}", DisplayErrorContext(e));
    if missing {
        ExecError::NoSuchGroup(msg)
    } else {
        ExecError::Call(msg)
    }
}

#[async_trait]
impl Actuator for EksNodeGroups {
    fn call(&self) -> &'static str {
        "EKS UpdateNodegroupConfig"
    }

    fn autoscaler(&self) -> bool {
        self.autoscaler
    }

    async fn live(&self, _cluster: &ClusterId, node_group: &str) -> Result<LiveSize, ExecError> {
        let out = self
            .client()
            .await
            .describe_nodegroup()
            .cluster_name(&self.eks_cluster)
            .nodegroup_name(node_group)
            .send()
            .await
            .map_err(|e| call_error(&format!("DescribeNodegroup {node_group}"), e))?;
        let sc = out
            .nodegroup()
            .and_then(|n| n.scaling_config())
            .ok_or_else(|| {
                ExecError::Call(format!("DescribeNodegroup {node_group}: no scalingConfig"))
            })?;
        Ok(LiveSize::from_api(
            sc.min_size(),
            sc.max_size(),
            sc.desired_size(),
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
        let (min, desired) = seen.change_to(to, self.autoscaler);
        let config = NodegroupScalingConfig::builder()
            .min_size(min as i32)
            .max_size(seen.max as i32)
            .desired_size(desired as i32)
            .build();
        self.client()
            .await
            .update_nodegroup_config()
            .cluster_name(&self.eks_cluster)
            .nodegroup_name(node_group)
            .scaling_config(config)
            .send()
            .await
            .map_err(|e| call_error(&format!("UpdateNodegroupConfig {node_group}"), e))?;
        Ok(())
    }

    fn landed(&self, back: &LiveSize, to: u32) -> bool {
        back.shows(to, self.autoscaler)
    }
}
