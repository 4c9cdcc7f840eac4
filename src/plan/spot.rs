//! Which workloads can run on spot, and the spot share each node group could
//! take, with the interruption band, savings and risk. Pure.

use crate::domain::Risk;
pub use crate::workloads::{SpotFit, classify};
use serde::Serialize;

/// Risk of running on a type with this interruption band ("<5%" .. ">20%").
pub fn band_risk(band: &str) -> Risk {
    match band {
        "<5%" => Risk::Low,
        "5-10%" | "10-15%" => Risk::Medium,
        _ => Risk::High,
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
    pub risk: Risk,
}
