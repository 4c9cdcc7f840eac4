//! Planning: from a cluster's forecasts to costed, bounded proposals per node
//! group, an instance mix, spot and commitment advice. Pure: the snapshot,
//! history and forecasts in, a `ClusterPlan` out.

pub mod cluster;
pub mod config;
pub mod cost;
pub mod group;
pub mod mix;
pub mod scaling;
pub mod shortage;
pub mod simulate;
pub mod spot;

pub use cluster::{ClusterPlan, plan_cluster};
pub use config::PlanConfig;
