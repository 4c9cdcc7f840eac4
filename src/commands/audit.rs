//! `nodecast audit`: the audit log's decisions, oldest first.

use crate::setup::Setup;
use crate::store::db::Db;
use anyhow::Result;
use chrono::{Duration, Utc};

/// Prints the decisions of the last `hours` (JSON: a list of {at, cluster,
/// node_group, action_id, operator, decision, outcome, from, to, detail,
/// finished_at}). The demo's rows carry the demo's clock.
pub fn run(setup: &Setup, cluster: Option<&str>, hours: i64, json: bool) -> Result<()> {
    let db = Db::open(&setup.db_path)?;
    // A row a crash left open gets its outcome from the live size first.
    if !db.audit_open()?.is_empty() {
        let rt = super::actions::runtime()?;
        super::actions::executor(setup, &rt, Utc::now().max(setup.fleet.clock().now()))?;
    }
    // The demo's clock starts at its epoch: its rows count back from there
    // at the earliest, whatever today's date.
    let now = Utc::now().max(setup.fleet.clock().now());
    let since = if setup.fleet.uses_shipped_models() {
        crate::sources::demo::demo_epoch() - Duration::hours(hours)
    } else {
        now - Duration::hours(hours)
    };
    let rows = db.audit_rows(since, cluster)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<17} {:<12} {:<14} {:<9} {:<9} {:<8} {:<9} {:<10} DETAIL",
        "AT", "CLUSTER", "NODE GROUP", "ID", "SIZE", "DECISION", "OUTCOME", "OPERATOR"
    );
    for r in rows {
        println!(
            "{:<17} {:<12} {:<14} {:<9} {:<9} {:<8} {:<9} {:<10} {}",
            r.at.format("%Y-%m-%d %H:%M"),
            r.cluster,
            r.node_group,
            r.action_id,
            format!("{}->{}", r.from, r.to),
            r.decision,
            r.outcome.map(|o| o.key()).unwrap_or("open"),
            r.operator,
            r.detail
        );
    }
    Ok(())
}
