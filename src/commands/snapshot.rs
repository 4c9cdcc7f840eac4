//! `nodecast snapshot`: connect to every live cluster once, load its state
//! and history, print, exit (for scripts and for checking a set-up).

use crate::health::Health;
use crate::setup::Setup;
use crate::sources::live::{Probe, probe};
use anyhow::{Result, bail};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct GroupLine {
    pub name: String,
    pub nodes: u32,
    pub instance_type: String,
    pub capacity_type: crate::domain::CapacityType,
    /// Pending pods this group would run (its selectors, taints and node size).
    pub pending_pods: u32,
    /// Its bounds and desired size where its API gives them, else null.
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub desired: Option<u32>,
    /// What its API says of it (kind, status, ASGs or limits), else null.
    pub facts: Option<crate::group_facts::GroupFacts>,
}

#[derive(Debug, Serialize)]
pub struct Cpu {
    pub allocatable_cores: f64,
    pub requests_cores: f64,
    pub usage_cores: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Memory {
    pub allocatable_gib: f64,
    pub requests_gib: f64,
    pub usage_gib: Option<f64>,
}

/// One cluster in `snapshot --json`; what no source could tell is null.
#[derive(Debug, Serialize)]
pub struct ClusterLine {
    pub cluster: String,
    pub nodes: Option<u32>,
    pub pods: Option<u32>,
    pub pending_pods: Option<u32>,
    pub pod_disruption_budgets: Option<u32>,
    pub node_groups: Vec<GroupLine>,
    pub cpu: Option<Cpu>,
    pub memory: Option<Memory>,
    pub history_hours: usize,
    pub sources: BTreeMap<String, Health>,
    /// The autoscalers found running; null where nobody looked.
    pub autoscalers: Option<Vec<crate::group_facts::Autoscaler>>,
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl From<&Probe> for ClusterLine {
    fn from(p: &Probe) -> Self {
        let s = p.snapshot.as_ref();
        ClusterLine {
            cluster: p.cluster.clone(),
            nodes: s.map(|s| s.nodes),
            pods: s.map(|s| s.pods),
            pending_pods: s.map(|s| s.pending_pods),
            pod_disruption_budgets: s.map(|s| s.disruption_budgets),
            node_groups: s
                .map(|s| {
                    s.node_groups
                        .iter()
                        .map(|g| GroupLine {
                            name: g.name.clone(),
                            nodes: g.nodes,
                            instance_type: g.instance_type.clone(),
                            capacity_type: g.capacity_type,
                            pending_pods: g.pending_pods,
                            min: g.min,
                            max: g.max,
                            desired: g.desired,
                            facts: g.facts.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            cpu: s.map(|s| Cpu {
                allocatable_cores: round(s.allocatable.cores),
                requests_cores: round(s.requests.cores),
                usage_cores: s.usage.map(|u| round(u.cores)),
            }),
            memory: s.map(|s| Memory {
                allocatable_gib: round(s.allocatable.gib),
                requests_gib: round(s.requests.gib),
                usage_gib: s.usage.map(|u| round(u.gib)),
            }),
            history_hours: p.history_hours(),
            autoscalers: s.and_then(|s| s.autoscalers.clone()),
            sources: p.sources.clone(),
        }
    }
}

/// Probes the live clusters (or the one named) concurrently; true when every source answered.
pub fn run(setup: &Setup, only: Option<&str>, json: bool) -> Result<bool> {
    if setup.fleet.live().is_empty() {
        bail!(
            "no live cluster: add a [[cluster]] table to the config, pass --context NAME, \
             or set up a kubeconfig (snapshot does not probe the demo fleet)"
        );
    }
    let clusters: Vec<_> = setup
        .fleet
        .live()
        .iter()
        .filter(|c| only.is_none_or(|n| c.name == n))
        .cloned()
        .collect();
    if clusters.is_empty() {
        let known: Vec<&str> = setup.fleet.live().iter().map(|c| c.name.as_str()).collect();
        bail!(
            "--cluster {:?}: no such cluster; configured: {}",
            only.unwrap_or_default(),
            known.join(", ")
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let now = chrono::Utc::now();
    let probes = rt.block_on(futures::future::join_all(
        clusters.iter().map(|c| probe(c, now)),
    ));
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    let lines: Vec<ClusterLine> = probes.iter().map(ClusterLine::from).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
    } else {
        print_table(&lines);
    }
    Ok(probes.iter().all(Probe::all_answered))
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn print_table(lines: &[ClusterLine]) {
    println!(
        "{:<16} {:>6} {:>7} {:>8} {:>15} {:>15} {:>8}  SOURCES",
        "CLUSTER", "NODES", "PODS", "PENDING", "CPU REQ/ALLOC", "GIB REQ/ALLOC", "HISTORY"
    );
    for l in lines {
        let cpu = l
            .cpu
            .as_ref()
            .map(|c| format!("{:.1}/{:.1}", c.requests_cores, c.allocatable_cores));
        let mem = l
            .memory
            .as_ref()
            .map(|m| format!("{:.1}/{:.1}", m.requests_gib, m.allocatable_gib));
        let sources: Vec<String> = l
            .sources
            .iter()
            .map(|(n, s)| match s.message() {
                Some(m) => format!("{n} {}: {m}", s.status()),
                None => format!("{n} {}", s.status()),
            })
            .collect();
        println!(
            "{:<16} {:>6} {:>7} {:>8} {:>15} {:>15} {:>7}h  {}",
            l.cluster,
            opt(l.nodes),
            opt(l.pods),
            opt(l.pending_pods),
            opt(cpu),
            opt(mem),
            l.history_hours,
            sources.join("; ")
        );
    }
}
