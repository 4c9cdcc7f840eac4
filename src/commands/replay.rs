//! `nodecast replay`: the live loop on a fake clock over one CSV series
//! (`runtime::replay`), printed as the ledger's scores by lead time and the
//! promotions with the scores that justified them.

use crate::forecast::features::Calendar;
use crate::runtime::replay::{ReplayOptions, Retraining, replay};
use anyhow::{Context, Result};
use std::path::Path;

pub fn run(
    input: &Path,
    hours: Option<usize>,
    retrain: Retraining,
    target_shortage: f64,
    json: bool,
) -> Result<()> {
    let hourly = super::read_hourly(input)?;
    let name = input
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The replay's models go to a folder of their own, removed after.
    let dir = std::env::temp_dir().join(format!("nodecast-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // The backtest's calendar (built-in holidays, no business events), so
    // that the two agree on the protocol's origins.
    let calendar = Calendar::builtin(1990..=2040);
    let report = replay(
        &hourly,
        &ReplayOptions {
            name: &name,
            hours,
            retrain,
            target_shortage,
            calendar: &calendar,
            models_dir: &dir,
        },
    );
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{}: {} hours replayed, retraining {:?}",
        report.series, report.hours, report.retrain
    );
    println!(
        "{:>6} {:>9} {:>11} {:>6}",
        "LEAD", "MAPE %", "COVERAGE80", "N"
    );
    let pct = |v: Option<f64>, k: f64| v.map_or("-".into(), |v| format!("{:.2}", v * k));
    // By lead time (the JSON's keys sort as text).
    let leads = crate::forecast::accuracy::LEADS.map(|l| l.to_string());
    for (lead, s) in leads
        .iter()
        .filter_map(|l| Some((l, report.scores.get(l)?)))
    {
        println!(
            "{:>5}h {:>9} {:>11} {:>6}",
            lead,
            pct(s.mape, 1.0),
            pct(s.coverage80, 1.0),
            s.n
        );
    }
    println!(
        "{} challengers, {} promoted",
        report.contests,
        report.promotions.len()
    );
    for line in &report.log {
        println!("  {line}");
    }
    let z = &report.sizing;
    println!(
        "sizing to {:.2} % short: {} short, mean quantile p{}",
        z.target * 100.0,
        pct(z.realized, 100.0).to_string() + " %",
        z.mean_quantile
            .map_or("-".into(), |q| format!("{:.0}", q * 100.0)),
    );
    Ok(())
}
