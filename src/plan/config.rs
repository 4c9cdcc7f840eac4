//! Planning settings (config `[plan]`; defaults in docs/configuration.md).

use super::cost::Discounts;
use super::scaling::ScaleRules;
use crate::forecast::nodes::DEFAULT_HEADROOM;
use serde::Serialize;
use std::collections::BTreeMap;

/// Planning settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanConfig {
    /// Headroom over forecast requests.
    pub headroom: f64,
    /// Sizing quantile, scale-in window and step, lead time (min/max come
    /// from each node group).
    pub rules: ScaleRules,
    /// Instance categories the mix may use ("c", "m", "r").
    pub categories: Vec<String>,
    /// Families and architectures allowed (empty: any family; the group's
    /// own architecture, since images may not be multi-arch).
    pub families: Vec<String>,
    pub architectures: Vec<String>,
    pub min_generation: u32,
    /// Most nodes a mix may use where the group sets no max.
    pub max_nodes: u32,
    /// Distinct instance types a spot mix must spread over.
    pub min_spot_types: usize,
    /// Most distinct types in an on-demand mix (a spot mix may use two more
    /// than its minimum).
    pub max_types: usize,
    /// Sizes allowed in a group's mix: vCPUs within this factor of the
    /// group's type either way (a 4xlarge group: xlarge to 16xlarge).
    pub size_factor: f64,
    pub discounts: Discounts,
    /// Share of the node-hours needed allowed short: the sizing quantile
    /// follows the ledger's realized shortage (`None`: the fixed quantile).
    pub target_shortage: Option<f64>,
    /// Sizing learned per node group from the ledger (a group not here is
    /// sized for `rules.quantile`).
    pub group_sizing: BTreeMap<String, super::shortage::Sizing>,
    /// Each cluster's step limit and cooldown (by cluster name), which the
    /// plan ramps within; a cluster not here has the executor's defaults.
    pub change_limits: BTreeMap<String, super::scaling::ChangeLimits>,
    /// When each node group's size was last changed by an apply (from the
    /// audit log, by group name; set per cluster as `group_sizing` is): no
    /// change is planned within the cooldown after it.
    pub group_last_change: BTreeMap<String, chrono::DateTime<chrono::Utc>>,
    /// The cluster's applies of the hour before the plan (when, nodes
    /// added; from the audit log, set per cluster): the plan's changes keep
    /// the runaway guard with them, as the executor counts them.
    pub cluster_applies: Vec<(chrono::DateTime<chrono::Utc>, u32)>,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            headroom: DEFAULT_HEADROOM,
            rules: ScaleRules::default(),
            categories: vec!["c".into(), "m".into(), "r".into()],
            families: Vec::new(),
            architectures: Vec::new(),
            min_generation: 5,
            max_nodes: 1000,
            min_spot_types: 3,
            max_types: 3,
            size_factor: 4.0,
            discounts: Discounts::default(),
            target_shortage: Some(super::shortage::DEFAULT_TARGET),
            group_sizing: BTreeMap::new(),
            change_limits: BTreeMap::new(),
            group_last_change: BTreeMap::new(),
            cluster_applies: Vec::new(),
        }
    }
}
