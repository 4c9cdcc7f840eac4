//! nodecast binary: parse the command line, load the config, start the runtime.

use clap::Parser;
use nodecast::cli::{Cli, Command};
use nodecast::commands;
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::setup::{self, Setup};
use std::process::ExitCode;
use std::sync::Arc;

fn print_clusters(setup: &Setup, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&setup.clusters)?);
    } else {
        println!(
            "{:<14} {:<11} {:<8} DESCRIPTION",
            "NAME", "REGION", "SOURCE"
        );
        for c in &setup.clusters {
            println!(
                "{:<14} {:<11} {:<8} {}",
                c.name, c.region, c.source, c.description
            );
        }
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Some(Command::Backtest {
            input,
            horizons,
            models,
            baseline,
            json,
            dump_members,
            global_models,
            history_hours,
        }) => {
            return commands::backtest(
                input,
                horizons,
                models.as_deref(),
                baseline.as_deref(),
                *json,
                (dump_members.as_deref(), global_models.as_deref()),
                history_hours.map(|h| h as usize),
            );
        }
        Some(Command::Simulate {
            input,
            instance_type,
            peak_nodes,
            region,
            quantile,
            target_shortage,
            scale_in_window,
            peak_buffer,
            max_step,
            cooldown_minutes,
            global_models,
            dump_hours,
            json,
        }) => {
            let rules = nodecast::plan::scaling::ScaleRules {
                quantile: *quantile,
                scale_in_window_h: *scale_in_window,
                peak_buffer: *peak_buffer,
                ..Default::default()
            };
            let limits = nodecast::plan::scaling::ChangeLimits {
                max_nodes: None,
                max_step: *max_step,
                cooldown: chrono::Duration::minutes(*cooldown_minutes as i64),
            };
            return commands::simulate::run(
                input,
                instance_type,
                *peak_nodes,
                region,
                (&rules, &limits),
                (*target_shortage, global_models.as_deref()),
                (dump_hours.as_deref(), *json),
            );
        }
        Some(Command::Replay {
            input,
            hours,
            retrain,
            target_shortage,
            json,
        }) => {
            return commands::replay::run(
                input,
                hours.map(|h| h as usize),
                *retrain,
                *target_shortage,
                *json,
            );
        }
        _ => {}
    }
    let setup = setup::resolve(&cli)?;
    match cli.command {
        Some(Command::Clusters { json }) => print_clusters(&setup, json),
        Some(Command::Actions { cluster, json }) => {
            nodecast::commands::actions::list(&setup, cluster.as_deref(), json)
        }
        Some(Command::Approve { id, yes }) => {
            nodecast::commands::actions::approve(&setup, &id, yes)
        }
        Some(Command::Reject { id, reason }) => {
            nodecast::commands::actions::reject(&setup, &id, &reason)
        }
        Some(Command::Audit {
            cluster,
            since,
            json,
        }) => nodecast::commands::audit::run(&setup, cluster.as_deref(), since, json),
        Some(Command::Events { json }) => nodecast::commands::events::run(&setup, json),
        Some(Command::Train { corpus, out }) if !corpus.is_empty() => {
            nodecast::commands::train_global(&setup, &corpus, &out)
        }
        Some(Command::Train { .. }) => nodecast::commands::train(&setup),
        Some(Command::Models { action, json }) => {
            nodecast::commands::models::run(&setup, action.as_ref(), json)
        }
        Some(Command::Prices {
            region,
            types,
            json,
        }) => {
            let targets: Vec<_> = if region.is_empty() {
                setup.prices.targets.clone()
            } else {
                region.iter().map(|r| setup.prices.target_for(r)).collect()
            };
            if !nodecast::commands::prices::run(&targets, &types, json)? {
                return Err(SourcesFailed.into());
            }
            Ok(())
        }
        Some(Command::Snapshot { cluster, json }) => {
            if !nodecast::commands::snapshot::run(&setup, cluster.as_deref(), json)? {
                return Err(SourcesFailed.into());
            }
            Ok(())
        }
        Some(Command::Forecast { input, hours, json }) => {
            commands::forecast(&setup, &input, hours as usize, json)
        }
        Some(Command::Backtest { .. } | Command::Simulate { .. } | Command::Replay { .. }) => {
            Ok(())
        }
        None => {
            let (_log_guard, log_path) = nodecast::logging::init()?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let models = Arc::new(nodecast::store::models::open_models(
                &setup.models_dir,
                setup.fleet.uses_shipped_models(),
            )?);
            let forecaster = Arc::new(EnsembleForecaster::with_models(
                &setup.calendar,
                models.clone(),
            ));
            let result = rt.block_on(nodecast::runtime::run_tui(setup, forecaster, Some(models)));
            if let Err(e) = &result {
                tracing::error!("{e:#}");
                eprintln!("(log: {})", log_path.display());
            }
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
            result
        }
    }
}

/// `snapshot` printed every cluster, but a source did not answer: exit 1.
#[derive(Debug)]
struct SourcesFailed;
impl std::fmt::Display for SourcesFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a source did not answer")
    }
}
impl std::error::Error for SourcesFailed {}

fn main() -> ExitCode {
    // SAFETY: the first thing the process does, before any thread starts.
    unsafe { nodecast::forecast::lstm::settle_matmul_threads() };
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<SourcesFailed>() => ExitCode::from(1),
        Err(e) if e.is::<nodecast::commands::actions::Exit>() => {
            let code = e
                .downcast_ref::<nodecast::commands::actions::Exit>()
                .map(|x| x.0)
                .unwrap_or(1);
            eprintln!("nodecast: {e}");
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("nodecast: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
