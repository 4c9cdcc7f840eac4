//! Which workloads can run on spot, and the spot share each node group could
//! take, with the interruption band, savings and risk. Pure.

use crate::domain::OwnerKind;
use crate::snapshot::WorkloadSummary;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpotFit {
    Tolerant,
    NotTolerant,
    /// DaemonSets run on every node whatever it is.
    EveryNode,
}

/// A workload's spot fitness with the one reason that decided it.
pub fn classify(w: &WorkloadSummary) -> (SpotFit, &'static str) {
    use SpotFit::*;
    if w.local_storage {
        return (NotTolerant, "uses node-local storage");
    }
    match w.kind {
        OwnerKind::DaemonSet => (EveryNode, "DaemonSet: runs on every node"),
        OwnerKind::Job | OwnerKind::CronJob if w.persistent_volume => {
            (NotTolerant, "batch with a persistent volume")
        }
        OwnerKind::Job | OwnerKind::CronJob => (Tolerant, "batch: retried when interrupted"),
        OwnerKind::Bare => (NotTolerant, "bare pod: nothing recreates it"),
        OwnerKind::StatefulSet if w.persistent_volume => (NotTolerant, "StatefulSet with volumes"),
        OwnerKind::Deployment | OwnerKind::StatefulSet => {
            if w.replicas < 2 {
                (NotTolerant, "single replica")
            } else if !w.has_budget {
                (NotTolerant, "no PodDisruptionBudget")
            } else if w.persistent_volume {
                (NotTolerant, "persistent volume")
            } else {
                (Tolerant, "replicated with a disruption budget")
            }
        }
    }
}

/// Risk of running on a type with this interruption band ("<5%" .. ">20%").
pub fn band_risk(band: &str) -> &'static str {
    match band {
        "<5%" => "low",
        "5-10%" | "10-15%" => "medium",
        _ => "high",
    }
}

/// The spot advice for one node group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpotAdvice {
    pub node_group: String,
    /// Share of the group's requested cores that could run on spot (0-1).
    pub tolerant_share: f64,
    pub interruption: Option<String>,
    pub savings_pct: Option<f64>,
    /// USD/h saved if the tolerant share ran on spot.
    pub usd_per_hour_saved: f64,
    pub risk: &'static str,
}
