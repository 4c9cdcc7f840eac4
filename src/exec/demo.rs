//! The demo fleet's actuator: an approved size becomes the replayed node
//! group's floor, and the replay's autoscaler adds the nodes after its
//! usual delay (as Cluster Autoscaler does when a minSize is raised), so
//! the whole approval flow can be tried with no cluster.

use super::{Actuator, ExecError, LiveSize};
use crate::domain::ClusterId;
use crate::sources::replay::DemoControl;
use async_trait::async_trait;

pub struct DemoActuator {
    pub control: DemoControl,
}

#[async_trait]
impl Actuator for DemoActuator {
    fn call(&self) -> &'static str {
        "demo: raise the replayed group's floor"
    }

    fn autoscaler(&self) -> bool {
        true
    }

    async fn live(&self, cluster: &ClusterId, node_group: &str) -> Result<LiveSize, ExecError> {
        let g = self.control.get(&cluster.0, node_group).ok_or_else(|| {
            ExecError::NoSuchGroup(format!(
                "demo cluster {cluster} has no node group {node_group}"
            ))
        })?;
        Ok(LiveSize {
            desired: g.nodes,
            min: g.min,
            max: g.max,
            floor: g.floor,
            target: None,
        })
    }

    async fn apply(
        &self,
        cluster: &ClusterId,
        node_group: &str,
        _seen: &LiveSize,
        to: u32,
    ) -> Result<(), ExecError> {
        if self.control.set_floor(&cluster.0, node_group, to) {
            Ok(())
        } else {
            Err(ExecError::NoSuchGroup(format!(
                "demo cluster {cluster} has no node group {node_group}"
            )))
        }
    }

    fn landed(&self, read_back: &LiveSize, to: u32) -> bool {
        read_back.floor == Some(to)
    }
}
