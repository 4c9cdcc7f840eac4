//! `nodecast prices`: refresh instance shapes and prices from AWS once and
//! show what changed against the shipped catalog.

use crate::catalog::live::merge;
use crate::catalog::{self, Catalog};
use crate::domain::InstanceType;
use crate::sources::aws_prices::{self, PriceTarget};
use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use std::collections::BTreeMap;

/// One type's row: shapes as EKS sees them and both price sources.
#[derive(Debug, Serialize)]
pub struct PriceRow {
    pub vcpu: u32,
    pub memory_gib: f64,
    pub alloc_cores: f64,
    pub alloc_gib: f64,
    pub max_pods: u32,
    /// Live on-demand USD/h in the region (`None`: the refresh has none).
    pub on_demand: Option<f64>,
    /// The shipped catalog's price for the region (us-east-1 x multiplier).
    pub on_demand_shipped: Option<f64>,
    pub spot: Option<f64>,
    pub spot_savings_pct: Option<f64>,
    pub interruption: Option<String>,
    /// Not in the shipped catalog (allocatable from EKS's formulas).
    pub new: bool,
}

#[derive(Debug, Serialize)]
pub struct PricesReport {
    pub region: String,
    pub fetched: String,
    pub types: usize,
    pub added: usize,
    pub on_demand: usize,
    pub spot: usize,
    pub problems: Vec<String>,
    pub prices: BTreeMap<String, PriceRow>,
}

fn row(t: &InstanceType, region: &str, shipped: &Catalog) -> PriceRow {
    let base = shipped.get(&t.name);
    PriceRow {
        vcpu: t.vcpu,
        memory_gib: t.memory_gib,
        alloc_cores: t.allocatable.cores,
        alloc_gib: t.allocatable.gib,
        max_pods: t.max_pods,
        on_demand: t.regional_od.get(region).copied(),
        on_demand_shipped: base.and_then(|b| catalog::on_demand_price(b, region).ok()),
        spot: catalog::spot_price(t, region).map(|(p, _)| p),
        spot_savings_pct: t.spot.get(region).map(|o| o.savings_pct),
        interruption: t.spot.get(region).map(|o| o.interruption.clone()),
        new: base.is_none(),
    }
}

/// The report for one refreshed region: `types` if given (unknown names are
/// errors), else every type whose live on-demand price differs from the
/// shipped one by over 1 %, and every new type with a live price.
pub fn report(merged: &Catalog, region: &str, types: &[String]) -> Result<PricesReport> {
    let shipped = Catalog::shipped();
    let stamp = merged
        .live
        .get(region)
        .ok_or_else(|| anyhow!("{region}: no refresh"))?;
    let mut prices = BTreeMap::new();
    if types.is_empty() {
        for t in merged.types.values() {
            let r = row(t, region, &shipped);
            let changed = match (r.on_demand, r.on_demand_shipped) {
                (Some(live), Some(old)) => (live / old - 1.0).abs() > 0.01,
                (Some(_), None) => true,
                _ => false,
            };
            if changed {
                prices.insert(t.name.clone(), r);
            }
        }
    } else {
        for name in types {
            let t = merged.get(name).ok_or_else(|| {
                anyhow!("--types: {name:?} is neither in the shipped catalog nor in {region}'s DescribeInstanceTypes")
            })?;
            prices.insert(name.clone(), row(t, region, &shipped));
        }
    }
    Ok(PricesReport {
        region: region.to_string(),
        fetched: stamp.fetched.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        types: stamp.types,
        added: stamp.added,
        on_demand: stamp.on_demand,
        spot: stamp.spot,
        problems: stamp.problems.clone(),
        prices,
    })
}

fn money(v: Option<f64>) -> String {
    v.map(|v| format!("${v:.4}")).unwrap_or_else(|| "-".into())
}

fn print_table(r: &PricesReport) {
    println!(
        "{}: {} instance types ({} new to the shipped catalog), {} on-demand prices, {} spot prices, fetched {}",
        r.region, r.types, r.added, r.on_demand, r.spot, r.fetched
    );
    if r.prices.is_empty() {
        println!(
            "no on-demand price differs from the shipped catalog ({}) by over 1 %",
            catalog::PRICES_DATE
        );
        return;
    }
    println!(
        "{:<18} {:>5} {:>8} {:>9} {:>9} {:>5} {:>10} {:>10} {:>10} {:>7} {:<7}",
        "TYPE",
        "VCPU",
        "GIB",
        "ALLOC CPU",
        "ALLOC GIB",
        "PODS",
        "ON-DEMAND",
        "SHIPPED",
        "SPOT",
        "SAVING",
        "INTERRUPTION"
    );
    for (name, p) in &r.prices {
        println!(
            "{:<18} {:>5} {:>8.1} {:>9.3} {:>9.2} {:>5} {:>10} {:>10} {:>10} {:>7} {:<7}",
            format!("{name}{}", if p.new { "*" } else { "" }),
            p.vcpu,
            p.memory_gib,
            p.alloc_cores,
            p.alloc_gib,
            p.max_pods,
            money(p.on_demand),
            money(p.on_demand_shipped),
            money(p.spot),
            p.spot_savings_pct
                .map(|s| format!("{s:.0}%"))
                .unwrap_or_else(|| "-".into()),
            p.interruption.as_deref().unwrap_or("-"),
        );
    }
    if r.prices.values().any(|p| p.new) {
        println!("* not in the shipped catalog: allocatable from EKS's formulas");
    }
}

/// Refreshes each target once and prints its report. Returns whether every
/// part of every refresh answered; a refresh that got nothing is an error.
pub fn run(targets: &[PriceTarget], types: &[String], json: bool) -> Result<bool> {
    if targets.is_empty() {
        bail!(
            "--region: no region to refresh (give --region, or set region on a configured [[cluster]])"
        );
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut reports = Vec::new();
    for t in targets {
        let now = chrono::Utc::now();
        let live = rt.block_on(aws_prices::fetch(t, now))?;
        let merged = merge(&Catalog::shipped(), &live);
        reports.push(report(&merged, &t.region, types)?);
    }
    let complete = reports.iter().all(|r| r.problems.is_empty());
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in &reports {
            print_table(r);
        }
    }
    for r in &reports {
        for p in &r.problems {
            eprintln!("nodecast: warning: {}: {p}", r.region);
        }
    }
    Ok(complete)
}
