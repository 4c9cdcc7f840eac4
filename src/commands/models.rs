//! `nodecast models`: the model versions in the models folder's manifest,
//! and the operator's promotions and rollbacks (each an audit row).

use crate::cli::ModelsAction;
use crate::forecast::persist::ModelVersion;
use crate::setup::Setup;
use crate::store::db::Db;
use crate::store::models::open_models;
use crate::store::versions::Promotion;
use anyhow::Result;
use chrono::Utc;

pub fn run(setup: &Setup, action: Option<&ModelsAction>, json: bool) -> Result<()> {
    let models = open_models(&setup.models_dir, setup.fleet.uses_shipped_models())?;
    let now = Utc::now().max(setup.fleet.clock().now());
    let done = match action {
        None | Some(ModelsAction::List) => {
            let mut versions = models.manifest().versions;
            versions.reverse();
            return list(&versions, json);
        }
        Some(ModelsAction::Promote { version }) => ("promote", models.promote(*version, now)?),
        Some(ModelsAction::Rollback { cluster, series }) => (
            "rollback",
            models.rollback(cluster.as_deref(), series.as_deref(), now)?,
        ),
    };
    let (decision, Promotion { from, to }) = done;
    let detail = format!(
        "by the operator; v{} scored {} vs {} on its held-back window",
        to.version,
        pct(to.challenger_mape),
        pct(to.champion_mape)
    );
    let mut db = Db::open(&setup.db_path)?;
    db.audit_model(
        &to.cluster,
        &to.series,
        decision,
        from,
        to.version,
        &crate::exec::local_operator(),
        &detail,
        now,
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&to)?);
    } else {
        println!(
            "{} {}: v{} serves now (was {})",
            to.cluster,
            to.series,
            to.version,
            from.map_or("the weekly models".into(), |v| format!("v{v}"))
        );
    }
    Ok(())
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2} %"))
}

fn list(versions: &[ModelVersion], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(versions)?);
        return Ok(());
    }
    if versions.is_empty() {
        println!("no model versions yet: the dashboard trains a challenger per series daily");
        return Ok(());
    }
    println!(
        "{:>4} {:<12} {:<16} {:<11} {:<17} {:>9} {:>9} {:>6} TRIGGER",
        "VER", "CLUSTER", "SERIES", "STATUS", "TRAINED THROUGH", "MAPE", "CHAMPION", "VS"
    );
    for v in versions {
        println!(
            "{:>4} {:<12} {:<16} {:<11} {:<17} {:>9} {:>9} {:>6} {}",
            format!("v{}", v.version),
            v.cluster,
            v.series,
            v.status.key(),
            v.trained_through.format("%Y-%m-%d %H:%M"),
            pct(v.challenger_mape),
            pct(v.champion_mape),
            v.against.map_or("weekly".into(), |a| format!("v{a}")),
            v.trigger
        );
        if !v.weights.is_empty() {
            let mix: Vec<String> = v.weights.iter().map(|m| m.describe()).collect();
            println!("     weights {}", mix.join(" │ "));
        }
    }
    Ok(())
}
