//! `nodecast simulate`: the three sizing policies over a series' test window.

use super::{ensemble_over, global_models_in, read_hourly};
use crate::catalog;
use crate::plan::scaling::{ChangeLimits, ScaleRules};
use crate::plan::simulate::{self, SimulateReport};
use anyhow::{Result, anyhow, bail};
use std::io::{IsTerminal, Write};
use std::path::Path;

pub fn run(
    input: &Path,
    instance_type: &str,
    peak_nodes: u32,
    region: &str,
    (rules, limits): (&ScaleRules, &ChangeLimits),
    (target_shortage, global_models): (Option<f64>, Option<&Path>),
    (dump_hours, json): (Option<&Path>, bool),
) -> Result<()> {
    let ensemble = ensemble_over(None, &global_models_in(global_models)?)?;
    let t = catalog::lookup(instance_type).ok_or_else(|| {
        anyhow!(
            "--instance-type: {instance_type:?} is not in the catalog ({})",
            catalog::CATALOG_FILE
        )
    })?;
    let price = catalog::on_demand_price(t, region).map_err(|e| anyhow!("--region: {e}"))?;
    if let Some(w) = catalog::staleness(chrono::Utc::now().date_naive()) {
        eprintln!("note: {w}");
    }
    let hourly = read_hourly(input)?;
    if hourly.hours_present() < 96 {
        bail!(
            "{}: {} hours of data; simulate needs at least 96 (the forecaster trains on the hours before the test window)",
            input.display(),
            hourly.hours_present()
        );
    }
    let start_hour = hourly
        .start
        .map(|s| s.timestamp() / 3600)
        .ok_or_else(|| anyhow!("{}: no data", input.display()))?;
    let name = input
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tty = std::io::stderr().is_terminal();
    let mut progress = |done: usize, total: usize| {
        if tty && (done.is_multiple_of(24) || done == total) {
            eprint!("\r{name}: predictive {done}/{total} h");
            if done == total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
    };
    let report = simulate::run(
        &name,
        &hourly.values,
        start_hour,
        instance_type,
        region,
        price,
        peak_nodes,
        &ensemble,
        rules,
        limits,
        target_shortage,
        &mut progress,
    );
    if let Some(path) = dump_hours {
        let text = serde_json::to_string(&report.trace)?;
        std::fs::write(path, text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &SimulateReport) {
    println!(
        "{}: {} hours, test window from hour {} ({} h); {} x{} peak, {} at ${:.4}/node-hour",
        r.series,
        r.hours,
        r.first_hour,
        r.hours - r.first_hour,
        r.instance_type,
        r.peak_nodes,
        r.region,
        r.usd_per_node_hour
    );
    println!(
        "  predictive: p{:.0} sizing, scale-in after {} h below, at most {:.0} % a step",
        r.rules.quantile * 100.0,
        r.rules.scale_in_window_h,
        r.rules.max_scale_in_step * 100.0
    );
    let step = r.limits.max_step.map_or(
        "up to double the group (at least 4 nodes) or down by half".to_string(),
        |n| format!("at most {n} nodes"),
    );
    println!(
        "  each change {step}, {} min apart, a larger jump ramped to early",
        r.limits.cooldown_minutes
    );
    if let Some(t) = &r.target_shortage {
        println!(
            "  sized to a {:.1} % shortage target: realized {:.2} %, quantile learned p{:.0} on average, p{:.0} at the end",
            t.target * 100.0,
            t.realized * 100.0,
            t.mean_quantile * 100.0,
            t.final_quantile * 100.0
        );
    }
    println!(
        "  {:<12} {:>11} {:>11} {:>16} {:>14} {:>8} {:>15}",
        "policy",
        "cost USD",
        "node-hours",
        "short node-h",
        "short hours",
        "resizes",
        format!("ins undone {}h", crate::plan::scaling::UNDONE_WITHIN_H)
    );
    for name in ["predictive", "reactive", "static_peak"] {
        if let Some(p) = r.policies.get(name) {
            println!(
                "  {:<12} {:>11.2} {:>11} {:>16} {:>14} {:>8} {:>15}",
                name,
                p.cost_usd,
                p.node_hours,
                p.shortage_node_hours,
                p.shortage_hours,
                p.resizes,
                p.scale_ins_undone
            );
        }
    }
}
