//! `nodecast actions`, `approve ID` and `reject ID --reason TEXT`: the
//! dashboard's proposals, made the same way now, and the same executor with
//! its rules and audit log, for scripts and chat-ops.

use crate::catalog::Catalog;
use crate::domain::{ClusterId, ScalingAction};
use crate::exec::Executor;
use crate::forecast::live::EnsembleForecaster;
use crate::forecast::{forecast_cluster_pinned, origin_for};
use crate::plan::group::Proposal;
use crate::runtime::forecast_job::sized_plan;
use crate::setup::{FleetSource, Setup};
use crate::snapshot::ClusterView;
use crate::store::audit::Outcome;
use crate::store::db::Db;
use crate::store::history::{HourlyBuckets, RETENTION_HOURS};
use crate::store::ledger::Ledger;
use crate::store::models::open_models;
use anyhow::{Result, bail};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

/// A command's exit status other than 0 and 2: `approve` refused (3) or
/// failed (1).
#[derive(Debug)]
pub struct Exit(pub u8, pub String);
impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}
impl std::error::Error for Exit {}

/// One proposal as `actions --json` lists it.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub id: String,
    pub cluster: String,
    pub node_group: String,
    pub from: u32,
    pub to: u32,
    pub at: DateTime<Utc>,
    pub apply_by: DateTime<Utc>,
    pub reason: String,
    pub actuator: String,
    pub writable: bool,
    /// `proposed`, or the latest decision's outcome.
    pub status: String,
    /// Held for the runaway guard's hourly budget: its apply-by is when
    /// the budget frees (`Proposal::held`).
    pub held: bool,
    /// A scale-in the plan itself undoes: the hour its change back up
    /// serves (`Proposal::back_at`).
    pub back_at: Option<DateTime<Utc>>,
}

/// Every cluster's proposals as the dashboard makes them at `now`, and
/// the executor that approvals go through.
fn plan_now(
    setup: &Setup,
    rt: &tokio::runtime::Runtime,
) -> Result<(Vec<Proposal>, Executor, DateTime<Utc>)> {
    let models = Arc::new(open_models(
        &setup.models_dir,
        setup.fleet.uses_shipped_models(),
    )?);
    let forecaster = EnsembleForecaster::with_models(&setup.calendar, models.clone());
    let (views, now): (Vec<(ClusterId, ClusterView)>, DateTime<Utc>) = match &setup.fleet {
        FleetSource::Demo { control, .. } => {
            let anchor = crate::sources::demo::demo_epoch();
            let store = crate::sources::demo::demo_store_with(
                anchor,
                Db::open(std::path::Path::new(":memory:"))?,
                Some(control.clone()),
            )?;
            let views = store
                .fleet()
                .clusters
                .iter()
                .map(|(id, v)| (id.clone(), v.as_ref().clone()))
                .collect();
            (views, anchor)
        }
        FleetSource::Live { clusters, .. } => {
            let now = Utc::now();
            let probes = rt.block_on(futures::future::join_all(
                clusters.iter().map(|c| crate::sources::live::probe(c, now)),
            ));
            let db = Db::open(&setup.db_path)?;
            let mut views = Vec::new();
            for (c, p) in clusters.iter().zip(probes) {
                let mut buckets = HourlyBuckets::default();
                for (k, s) in db.load_samples(&c.name, now - Duration::hours(RETENTION_HOURS))? {
                    buckets.add(k, s);
                }
                for (k, s) in p.history {
                    buckets.add(k, s);
                }
                let view = ClusterView {
                    region: c.region.clone(),
                    latest: p.snapshot,
                    history: buckets.series(),
                    sources: Vec::new(),
                };
                views.push((ClusterId(c.name.clone()), view));
            }
            (views, now)
        }
    };
    let catalog = Catalog::shipped();
    // As the dashboard: each series' champion model version, groups sized
    // for the quantile the ledger's realized shortage sets.
    let ledger = std::sync::Mutex::new(Ledger::new(Db::open(&setup.db_path)?, setup.ledger_days));
    let mut proposals = Vec::new();
    for (id, view) in &views {
        let fc = forecast_cluster_pinned(&forecaster, view, origin_for(now), &models.pins(&id.0));
        let plan = sized_plan(view, &fc, &setup.plan, Some(&ledger), id, &catalog, now);
        if let Some(plan) = plan {
            proposals.extend(plan.proposals().into_iter().cloned());
        }
    }
    let executor = executor(setup, rt, now)?;
    Ok((proposals, executor, now))
}

/// The executor of the fleet's clusters, every intent a crash left open
/// already reconciled from the live sizes (said on stderr).
pub fn executor(
    setup: &Setup,
    rt: &tokio::runtime::Runtime,
    now: DateTime<Utc>,
) -> Result<Executor> {
    let mut executor = Executor::new(
        Db::open(&setup.db_path)?,
        &crate::exec::local_operator(),
        setup.read_only,
    );
    for (id, target) in setup.fleet.actuators() {
        executor = executor.with_target(id, target);
    }
    for (id, outcome) in rt.block_on(executor.reconcile(now)) {
        eprintln!(
            "{id}: left open by an earlier run, reconciled: {}",
            outcome.key()
        );
    }
    Ok(executor)
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// An action as listed with its apply-by time, its status from `outcomes`
/// (each action id's latest outcome), else `expired` or `proposed`; not
/// held, not undone (a current proposal's caller sets both).
fn listed(
    a: &ScalingAction,
    apply_by: DateTime<Utc>,
    ex: &Executor,
    outcomes: &HashMap<String, Outcome>,
    now: DateTime<Utc>,
) -> Listed {
    let id = a.id();
    let status = match outcomes.get(&id) {
        Some(o) => o.key().to_string(),
        None if crate::exec::rules::expired(a, now) => "expired".into(),
        None => "proposed".into(),
    };
    Listed {
        cluster: a.cluster.0.clone(),
        node_group: a.node_group.clone(),
        from: a.from,
        to: a.to,
        at: a.at,
        apply_by,
        reason: a.reason.label().to_string(),
        actuator: ex
            .actuator(&a.cluster)
            .map(|(c, _)| c.to_string())
            .unwrap_or_default(),
        writable: ex.writable(&a.cluster).is_ok(),
        status,
        held: false,
        back_at: None,
        id,
    }
}

/// `nodecast actions`.
pub fn list(setup: &Setup, cluster: Option<&str>, json: bool) -> Result<()> {
    let rt = runtime()?;
    let (proposals, ex, now) = plan_now(setup, &rt)?;
    // The audit log read once per cluster; rows come oldest first, so the
    // latest outcome of an action wins.
    let mut outcomes: HashMap<String, Outcome> = HashMap::new();
    let clusters: BTreeSet<&ClusterId> = proposals.iter().map(|p| &p.action.cluster).collect();
    for c in clusters {
        for r in ex.audit(c, now - Duration::hours(24)) {
            if let Some(o) = r.outcome {
                outcomes.insert(r.action_id, o);
            }
        }
    }
    let mut rows: Vec<Listed> = proposals
        .iter()
        .filter(|p| cluster.is_none_or(|c| p.action.cluster.0 == c))
        .map(|p| Listed {
            held: p.held,
            back_at: p.back_at,
            ..listed(&p.action, p.apply_by, &ex, &outcomes, now)
        })
        .collect();
    // What earlier listings showed and the plan no longer holds: decided
    // (an applied change is not proposed again within its cooldown), or
    // superseded or expired, so an id someone holds is not a mystery.
    let mut db = Db::open(&setup.db_path)?;
    let current: HashSet<String> = proposals.iter().map(|p| p.action.id()).collect();
    for old in db.listed_proposals(now - Duration::hours(24))? {
        let id = old.action.id();
        if current.contains(&id) || cluster.is_some_and(|c| old.action.cluster.0 != c) {
            continue;
        }
        let mut row = listed(&old.action, old.apply_by, &ex, &outcomes, now);
        if row.status == "proposed" {
            row.status = "superseded".into();
        }
        rows.push(row);
    }
    let shown: Vec<(ScalingAction, DateTime<Utc>)> = proposals
        .iter()
        .map(|p| (p.action.clone(), p.apply_by))
        .collect();
    db.remember_proposals(&shown, now)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<9} {:<12} {:<14} {:<9} {:<11} {:<15} {:<9} STATUS",
        "ID", "CLUSTER", "NODE GROUP", "SIZE", "APPLY BY", "WHY", "WRITABLE"
    );
    for r in rows {
        println!(
            "{:<9} {:<12} {:<14} {:<9} {:<11} {:<15} {:<9} {}",
            r.id,
            r.cluster,
            r.node_group,
            format!("{}->{}", r.from, r.to),
            r.apply_by.format("%a %H:%M"),
            r.reason,
            if r.writable { "yes" } else { "no" },
            status_text(&r)
        );
    }
    Ok(())
}

/// A listed row's STATUS: its status, a held proposal's wait, and where
/// the plan undoes an undecided scale-in, when.
fn status_text(r: &Listed) -> String {
    if r.status != "proposed" {
        return r.status.clone();
    }
    crate::plan::group::undecided_state(r.held, r.back_at)
}

/// The current proposal `id`; an id an earlier listing showed that the plan
/// no longer holds is `Err(Ok(action, why))`: expired or superseded.
fn find(
    proposals: &[Proposal],
    setup: &Setup,
    id: &str,
    now: DateTime<Utc>,
) -> Result<std::result::Result<ScalingAction, (ScalingAction, String)>> {
    if let Some(p) = proposals.iter().find(|p| p.action.id() == id) {
        return Ok(Ok(p.action.clone()));
    }
    if let Some(old) = Db::open(&setup.db_path)?.listed_proposal(id)? {
        let current: Vec<&ScalingAction> = proposals.iter().map(|p| &p.action).collect();
        let why = crate::exec::rules::outdated(&old.action, &current, now)
            .unwrap_or_else(|| "superseded".into());
        return Ok(Err((old.action, why)));
    }
    bail!(
        "no proposal {id:?} in the current plans (they change as the fleet and its \
         forecasts do; list them with `nodecast actions`)"
    )
}

/// `nodecast approve ID`: exit 0 when applied and read back, 3 when a rule
/// refused it, 1 when the call failed.
pub fn approve(setup: &Setup, id: &str, yes: bool) -> Result<()> {
    let rt = runtime()?;
    let (proposals, ex, now) = plan_now(setup, &rt)?;
    let action = match find(&proposals, setup, id, now)? {
        Ok(a) => a,
        Err((old, why)) => {
            // Still an approval that was not applied: it leaves its row.
            let d = ex.refuse(&old, &why, now);
            println!("{} {}: {}", d.action_id, d.outcome.key(), d.detail);
            return Err(Exit(3, format!("refused: {why}")).into());
        }
    };
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("approve {id}: not a terminal to ask on; pass --yes to apply without asking");
        }
        print!(
            "apply {} {} {} -> {} ({})? [y/N] ",
            action.cluster,
            action.node_group,
            action.from,
            action.to,
            ex.actuator(&action.cluster)
                .map(|(c, _)| c)
                .unwrap_or("no actuator")
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("not applied");
            return Ok(());
        }
    }
    let d = rt.block_on(ex.approve(&action, now));
    for c in &d.checks {
        println!(
            "{} {:<32} {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.rule.label(),
            c.detail
        );
    }
    println!("{} {}: {}", d.action_id, d.outcome.key(), d.detail);
    match d.outcome {
        Outcome::Applied => Ok(()),
        Outcome::Refused => Err(Exit(3, format!("refused: {}", d.detail)).into()),
        _ => Err(Exit(1, format!("failed: {}", d.detail)).into()),
    }
}

/// `nodecast reject ID --reason TEXT`.
pub fn reject(setup: &Setup, id: &str, reason: &str) -> Result<()> {
    if reason.trim().is_empty() {
        bail!("reject {id}: --reason must say why");
    }
    let rt = runtime()?;
    let (proposals, ex, now) = plan_now(setup, &rt)?;
    // A superseded or expired proposal may still be rejected, for the record.
    let action = match find(&proposals, setup, id, now)? {
        Ok(a) | Err((a, _)) => a,
    };
    let d = ex.reject(&action, reason.trim(), now);
    println!("{} {}: {}", d.action_id, d.outcome.key(), d.detail);
    Ok(())
}
