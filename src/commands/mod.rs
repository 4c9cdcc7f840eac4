//! The `backtest` and `forecast` commands.

use crate::domain::SeriesKind;
use crate::forecast::HORIZON_HOURS as H;
use crate::forecast::backtest::{self, BacktestReport};
use crate::forecast::ensemble::Ensemble;
use crate::forecast::features::Calendar;
use crate::forecast::global::{GlobalModels, TrainingSeries};
use crate::forecast::live::EnsembleForecaster;
use crate::forecast::prepared::Prepared;
use crate::forecast::registry::members_over;
use crate::forecast::{Forecaster, HORIZON_HOURS, origin_for};
use crate::series_csv::{parse_series, resample_hourly};
use crate::sources::demo::demo_epoch;
use crate::sources::demo::demo_store_at;
use crate::store::db::Db;
use crate::store::models::open_models;
use anyhow::{Context, Result, anyhow, bail};
use chrono::Duration;
use std::path::Path;
use std::sync::Arc;

/// The ensemble over the named members (all when `None`); unknown names are errors.
pub fn ensemble_of(names: Option<&[String]>) -> Result<Ensemble> {
    ensemble_over(names, &GlobalModels::shipped())
}

/// The global models in `dir` (`--global-models`), else the shipped ones.
pub fn global_models_in(dir: Option<&Path>) -> Result<Arc<GlobalModels>> {
    Ok(match dir {
        Some(dir) => Arc::new(crate::store::models::read_global(dir)?),
        None => GlobalModels::shipped(),
    })
}

/// The ensemble over the named members, the global ones served by `global`.
pub fn ensemble_over(names: Option<&[String]>, global: &Arc<GlobalModels>) -> Result<Ensemble> {
    let all = members_over(&Calendar::builtin(1990..=2040), None, global);
    let known: Vec<&str> = all.iter().map(|m| m.name()).collect::<Vec<_>>();
    let Some(names) = names else {
        return Ok(Ensemble::new(all));
    };
    for n in names {
        if n != "ensemble" && !known.contains(&n.as_str()) {
            bail!("--models: unknown model {n:?}; known: {}", known.join(", "));
        }
    }
    let members = all
        .into_iter()
        .filter(|m| names.iter().any(|n| n == m.name()))
        .collect::<Vec<_>>();
    if members.is_empty() {
        bail!("--models: name at least one member ({})", known.join(", "));
    }
    Ok(Ensemble::new(members))
}

pub(crate) fn read_hourly(input: &Path) -> Result<crate::domain::HourlySeries> {
    let text = std::fs::read_to_string(input)
        .with_context(|| format!("cannot read {}", input.display()))?;
    let samples = parse_series(&text, &input.display().to_string())?;
    Ok(resample_hourly(&samples))
}

pub fn backtest(
    input: &Path,
    horizons: &[usize],
    models: Option<&[String]>,
    baseline: Option<&Path>,
    json: bool,
    (dump_members, global_models): (Option<&Path>, Option<&Path>),
    history_hours: Option<usize>,
) -> Result<()> {
    let ensemble = ensemble_over(models, &global_models_in(global_models)?)?;
    let hourly = read_hourly(input)?;
    let name = input
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (report, dump) = match history_hours {
        Some(n) => {
            if dump_members.is_some() {
                bail!("--dump-members: not with --history-hours");
            }
            let r = backtest::run_cold_start(&name, &hourly, &ensemble, horizons, n)?;
            (r, None)
        }
        None => backtest::run_dumping(&name, &hourly, &ensemble, horizons, dump_members.is_some())?,
    };
    if let (Some(path), Some(dump)) = (dump_members, dump) {
        std::fs::write(path, serde_json::to_string(&dump)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let best = match baseline {
        Some(p) => Some(best_baselines(p, &name)?),
        None => None,
    };
    print_table(&report, horizons, best.as_ref());
    Ok(())
}

fn best_baselines(path: &Path, series: &str) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("{}: line {}: {e}", path.display(), e.line()))?;
    v.as_array()
        .and_then(|a| a.iter().find(|r| r["series"] == series))
        .map(|r| r["best_mape"].clone())
        .ok_or_else(|| anyhow!("{}: no entry for series {series:?}", path.display()))
}

fn print_table(r: &BacktestReport, horizons: &[usize], best: Option<&serde_json::Value>) {
    println!(
        "{}: {} hours, {} origins from hour {}, {:.1} s",
        r.series, r.hours, r.origins, r.first_origin, r.seconds
    );
    for h in horizons {
        let key = h.to_string();
        print!("\nhorizon {h} h");
        if let Some(b) = best.and_then(|b| b.get(&key)) {
            print!(
                "   best baseline: {} MAPE {:.2}",
                b["model"].as_str().unwrap_or("?"),
                b["mape"].as_f64().unwrap_or(f64::NAN)
            );
        }
        println!(
            "\n  {:<12} {:>8} {:>8} {:>7} {:>10} {:>5}",
            "model", "MAPE", "sMAPE", "MASE", "cover80", "n"
        );
        for (m, scores) in &r.models {
            if let Some(s) = scores.get(&key) {
                let f = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "–".into());
                println!(
                    "  {:<12} {:>8} {:>8} {:>7} {:>10} {:>5}",
                    m,
                    f(s.mape),
                    f(s.smape),
                    f(s.mase),
                    f(s.coverage80),
                    s.n
                );
            }
        }
    }
}

/// `nodecast forecast`: one forecast from the end of the file by the
/// dashboard's forecaster (the config's calendar and events, the saved
/// models), so the CLI and the screen print the same numbers for the same
/// history.
pub fn forecast(setup: &crate::setup::Setup, input: &Path, hours: usize, json: bool) -> Result<()> {
    let hourly = read_hourly(input)?;
    if hourly.hours_present() < 24 {
        bail!(
            "{}: {} hours of data; a forecast needs at least 24",
            input.display(),
            hourly.hours_present()
        );
    }
    let start = hourly
        .start
        .ok_or_else(|| anyhow!("{}: no data", input.display()))?;
    let origin = start + Duration::hours(hourly.values.len() as i64);
    let models = open_models(&setup.models_dir, setup.fleet.uses_shipped_models())?;
    let forecaster = EnsembleForecaster::with_models(&setup.calendar, Arc::new(models));
    let f = forecaster
        .forecast(SeriesKind::CpuRequests, &hourly, origin, hours.min(H))
        .ok_or_else(|| anyhow!("{}: no model could forecast", input.display()))?;
    let rows: Vec<serde_json::Value> = f
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "timestamp": p.ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "horizon": i + 1,
                "p10": p.p10,
                "p50": p.p50,
                "p90": p.p90,
            })
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<22} {:>4} {:>12} {:>12} {:>12}",
            "hour", "h", "p10", "p50", "p90"
        );
        for r in rows {
            println!(
                "{:<22} {:>4} {:>12.3} {:>12.3} {:>12.3}",
                r["timestamp"].as_str().unwrap_or(""),
                r["horizon"],
                r["p10"].as_f64().unwrap_or(f64::NAN),
                r["p50"].as_f64().unwrap_or(f64::NAN),
                r["p90"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    Ok(())
}

/// `nodecast train`: every cluster's forecast at its current hour, which
/// trains (or loads) the learned members' models and saves them with the
/// manifest; prints what each series took.
/// `train --corpus DIR...`: the global models trained on every CSV in the
/// folders, scored across series, written to `out`.
pub fn train_global(
    setup: &crate::setup::Setup,
    corpus: &[std::path::PathBuf],
    out: &Path,
) -> Result<()> {
    let mut series = Vec::new();
    for dir in corpus {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("--corpus: cannot read the folder {}", dir.display()))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        files.sort();
        for file in files {
            let hourly = read_hourly(&file)?;
            let Some(p) = Prepared::before(&hourly, None) else {
                bail!("{}: no rows", file.display());
            };
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            series.push(TrainingSeries {
                name,
                y: p.y,
                start_hour: p.start_hour,
            });
        }
    }
    if series.is_empty() {
        bail!(
            "--corpus: no .csv files in {}",
            corpus
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("training the global models on {} series", series.len());
    let models = GlobalModels::train(&series, &setup.calendar, chrono::Utc::now());
    crate::store::models::write_global(out, &models)?;
    let m = models
        .manifest
        .as_ref()
        .ok_or_else(|| anyhow!("no global model could be fitted"))?;
    println!(
        "{} ({} rows, {:.0} s) in {}",
        m.version,
        m.rows,
        m.train_seconds,
        out.display()
    );
    println!("median MAPE % of the held-out series (two folds across series):");
    for (name, by_h) in &m.validation {
        let cells: Vec<String> = crate::forecast::global::SCORED
            .iter()
            .filter_map(|h| Some(format!("{h:>2} h {:6.2}", by_h.get(&h.to_string())?)))
            .collect();
        println!("  {name:<14} {}", cells.join("  "));
    }
    Ok(())
}

pub fn train(setup: &crate::setup::Setup) -> Result<()> {
    if !setup.fleet.uses_shipped_models() {
        bail!("train: live clusters arrive with the live sources; use --demo");
    }
    let models = Arc::new(open_models(&setup.models_dir, true)?);
    let forecaster = EnsembleForecaster::with_models(&setup.calendar, models.clone());
    let anchor = demo_epoch();
    let store = demo_store_at(anchor, Db::open(&setup.db_path)?)?;
    let origin = origin_for(anchor);
    let started = chrono::Utc::now();
    for (id, view) in &store.fleet().clusters {
        for kind in SeriesKind::FORECAST {
            if !view.history.contains_key(&kind) {
                continue;
            }
            let t0 = std::time::Instant::now();
            // As the dashboard does: with the cluster's other series.
            let f = forecaster.forecast_in(kind, &view.history, origin, HORIZON_HOURS);
            println!(
                "{:<12} {:<13} {:>6.1} s  {}",
                id.0,
                kind.key(),
                t0.elapsed().as_secs_f64(),
                f.map(|f| f.model)
                    .unwrap_or_else(|| "no forecast (history too short)".into())
            );
        }
    }
    let m = models.manifest();
    let trained = m
        .models
        .values()
        .filter(|e| e.trained_at >= started)
        .count();
    println!(
        "{} models in {} ({trained} trained now)",
        m.models.len(),
        models.path().display(),
    );
    Ok(())
}
pub mod actions;
pub mod audit;
pub mod events;
pub mod models;
pub mod prices;
pub mod replay;
pub mod simulate;
pub mod snapshot;
