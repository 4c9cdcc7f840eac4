//! `nodecast events`: the configured business events, and the uplift each
//! brought to every cluster's demand (CPU requests), measured from the
//! stored history, with what the last one of the same name brought.

use crate::domain::SeriesKind;
use crate::forecast::events::{EventRecord, records};
use crate::setup::Setup;
use crate::store::db::Db;
use crate::store::history::HourlyBuckets;
use anyhow::Result;
use chrono::{Duration, Utc};
use serde::Serialize;

/// The series an event's uplift is measured on: demand.
pub const MEASURED_ON: SeriesKind = SeriesKind::CpuRequests;

#[derive(Serialize)]
struct Row<'a> {
    cluster: &'a str,
    series: &'static str,
    #[serde(flatten)]
    event: &'a EventRecord,
}

/// Prints every event for every cluster (JSON: a list of {cluster, series,
/// name, start, end, expected_uplift, measured_uplift, last_time}).
pub fn run(setup: &Setup, json: bool) -> Result<()> {
    let events = &setup.calendar.events;
    let db = Db::open(&setup.db_path)?;
    let now = Utc::now().max(setup.fleet.clock().now());
    // History from a week before the first event (its baseline) on.
    let since = events
        .iter()
        .map(|e| e.start - Duration::days(8))
        .min()
        .unwrap_or(now);
    let mut per_cluster = Vec::new();
    for c in &setup.clusters {
        let mut buckets = HourlyBuckets::default();
        for (k, s) in db.load_samples(&c.name, since)? {
            if k == MEASURED_ON {
                buckets.add(k, s);
            }
        }
        let history = buckets.series();
        per_cluster.push((
            c.name.as_str(),
            records(events, history.get(&MEASURED_ON), now),
        ));
    }
    if json {
        let rows: Vec<Row> = per_cluster
            .iter()
            .flat_map(|(cluster, recs)| {
                recs.iter().map(|event| Row {
                    cluster,
                    series: MEASURED_ON.key(),
                    event,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if events.is_empty() {
        println!("no [[event]] in the config ({})", config_name(setup));
        return Ok(());
    }
    let pct = |u: Option<f64>| {
        u.map(|u| format!("{:+.0} %", u * 100.0))
            .unwrap_or_else(|| "–".into())
    };
    println!(
        "{:<14} {:<18} {:<17} {:<17} {:>9} {:>9} {:>16}",
        "CLUSTER", "EVENT", "START", "END", "EXPECTED", "MEASURED", "LAST TIME"
    );
    for (cluster, recs) in &per_cluster {
        for r in recs {
            let last = r
                .last_time
                .map(|(at, u)| format!("{} {}", pct(Some(u)), at.format("%Y-%m-%d")))
                .unwrap_or_else(|| "–".into());
            println!(
                "{:<14} {:<18} {:<17} {:<17} {:>9} {:>9} {:>16}",
                cluster,
                r.name,
                r.start.format("%Y-%m-%d %H:%M"),
                r.end.format("%Y-%m-%d %H:%M"),
                pct(Some(r.expected_uplift)),
                pct(r.measured_uplift),
                last
            );
        }
    }
    println!(
        "(uplift on {}: the event's hours over the same hours a week before, minus one)",
        MEASURED_ON.title()
    );
    Ok(())
}

fn config_name(setup: &Setup) -> String {
    setup
        .config_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "no config file".into())
}
