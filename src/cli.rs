//! Command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

fn parse_speed(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !(v.is_finite() && v > 0.0 && v <= 100_000.0) {
        return Err(format!(
            "{s} is out of range: give a speed above 0 and at most 100000"
        ));
    }
    Ok(v)
}

#[derive(Debug, Parser)]
#[command(
    name = "nodecast",
    version,
    about = "Forecast and plan the capacity of Kubernetes clusters on AWS (EKS)",
    long_about = "Forecast and plan the capacity of Kubernetes clusters on AWS (EKS).\n\
        With no cluster configured, opens a demo fleet that replays real public traces."
)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/nodecast/config.toml)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// SQLite database (default: $XDG_DATA_HOME/nodecast/nodecast.db, demo.db in demo mode)
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Trained models folder (default: $XDG_DATA_HOME/nodecast/models)
    #[arg(long, global = true, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Open the demo fleet even when clusters are configured
    #[arg(long, global = true)]
    pub demo: bool,
    /// Apply nothing: every cluster's actions off, whatever the config says
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Demo clock speed: 60 replays an hour a minute
    #[arg(long, global = true, value_name = "N", value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// Open one kubeconfig context as a live cluster (instead of the config's clusters)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Theme: dark, light, high-contrast, or a path to a theme .toml
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_quantile(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.5..=0.99).contains(&v) => Ok(v),
        _ => Err(format!("quantile {s:?} is not a number from 0.5 to 0.99")),
    }
}

fn parse_buffer(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v >= 0.0 => Ok(v),
        _ => Err(format!(
            "{s:?}: must be a share of at least 0 (0.1 = 10 %), or inf"
        )),
    }
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 0.5 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a share above 0 and at most 0.5 (0.01 = 1 %)"
        )),
    }
}

fn parse_horizon(h: &str) -> Result<usize, String> {
    match h.trim().parse::<usize>() {
        Ok(v) if (1..=48).contains(&v) => Ok(v),
        _ => Err(format!(
            "horizon {h:?} is not a whole number of hours from 1 to 48"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Backtest the forecaster on a `timestamp,value` CSV (shared/bench/PROTOCOL.md)
    Backtest {
        /// Input series
        #[arg(long, value_name = "FILE.csv")]
        input: PathBuf,
        /// Scored horizons in hours
        #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_horizon, default_value = "1,6,12,24,48")]
        horizons: Vec<usize>,
        /// Ensemble members to use (default: all)
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        models: Option<Vec<String>>,
        /// Baselines (baselines-dev.json) to show the best beside each horizon
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
        /// Also write every member's forecasts at every origin to this JSON
        /// file (for scripts/recombine.py)
        #[arg(long, value_name = "FILE")]
        dump_members: Option<PathBuf>,
        /// Global models to serve instead of the shipped ones (a folder
        /// written by `train --corpus`; for cross-validation across series)
        #[arg(long, value_name = "DIR")]
        global_models: Option<PathBuf>,
        /// Cold start: forecast at each origin from only its last N hours
        /// (a cluster's first days); the protocol's origins from hour N on
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(24..=2000))]
        history_hours: Option<u32>,
    },
    /// One forecast from the end of a `timestamp,value` CSV: hourly p10/p50/p90
    Forecast {
        #[arg(long, value_name = "FILE.csv")]
        input: PathBuf,
        /// Hours ahead (1-48)
        #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u16).range(1..=48))]
        hours: u16,
        #[arg(long)]
        json: bool,
    },
    /// Replay a `timestamp,value` CSV as one node group's demand and compare
    /// nodecast's predictive plan with reactive and static-peak sizing
    Simulate {
        #[arg(long, value_name = "FILE.csv")]
        input: PathBuf,
        /// Instance type of the node group (from the shipped catalog)
        #[arg(long, value_name = "TYPE")]
        instance_type: String,
        /// Nodes the series' highest hour needs
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
        peak_nodes: u32,
        /// Region whose on-demand price is charged
        #[arg(long, value_name = "REGION", default_value = "us-east-1")]
        region: String,
        /// Forecast quantile the predictive policy sizes for
        #[arg(long, value_name = "Q", default_value_t = crate::plan::scaling::DEFAULT_QUANTILE, value_parser = parse_quantile)]
        quantile: f64,
        /// Size for a shortage target instead: the share of the node-hours
        /// needed allowed short (0.01 = 1 %); the quantile is learned hour by
        /// hour from the replay's own past shortage, starting at --quantile
        #[arg(long, value_name = "SHARE", value_parser = parse_share)]
        target_shortage: Option<f64>,
        /// Hours the upper band must stay below before scaling in
        #[arg(long, value_name = "H", default_value_t = crate::plan::scaling::DEFAULT_SCALE_IN_WINDOW_H)]
        scale_in_window: usize,
        /// The band's ceiling over the busiest hour seen so far (0.1 = 10 %
        /// above it; `inf` for no ceiling)
        #[arg(long, value_name = "SHARE", default_value_t = crate::plan::scaling::DEFAULT_PEAK_BUFFER, value_parser = parse_buffer)]
        peak_buffer: f64,
        /// Most nodes one change of the predictive policy moves, as the
        /// executor's `max_step` (default: up to double the group, at least
        /// 4 nodes, and down by half of it)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_step: Option<u32>,
        /// Minutes between two changes, as the executor's `cooldown_minutes`
        #[arg(long, value_name = "M", default_value_t = crate::plan::scaling::DEFAULT_COOLDOWN_MINUTES as u32, value_parser = clap::value_parser!(u32).range(0..=1440))]
        cooldown_minutes: u32,
        /// Global models to serve instead of the shipped ones (a folder
        /// written by `train --corpus`; for series the shipped ones saw)
        #[arg(long, value_name = "DIR")]
        global_models: Option<PathBuf>,
        /// Also write the predictive policy hour by hour (need, forecast
        /// p50/p90 in nodes for the next 48 h, quantile, size) as JSON, for
        /// scripts/sizing_cv.py
        #[arg(long, value_name = "FILE.json")]
        dump_hours: Option<PathBuf>,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Run the live loop on a fake clock over a `timestamp,value` CSV: hourly
    /// forecasts into a ledger, scoring, daily challengers promoted only when
    /// they win, and the target-sizing rule; prints the ledger's scores by lead
    Replay {
        #[arg(long, value_name = "FILE.csv")]
        input: PathBuf,
        /// Hours to replay, the last ones of the series (default: from the
        /// backtest protocol's first origin on)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
        hours: Option<u32>,
        /// `champion`: daily challengers (and on drift) promoted only when
        /// they score better on the held-back window; `weekly`: the learned
        /// models refit on each week of history (what `backtest` measures)
        #[arg(long, value_enum, default_value = "champion")]
        retrain: crate::runtime::replay::Retraining,
        /// Share of the node-hours needed allowed short for the sizing rule
        #[arg(long, value_name = "SHARE", default_value_t = crate::plan::shortage::DEFAULT_TARGET, value_parser = parse_share)]
        target_shortage: f64,
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// The model versions of every cluster's series: which serves, what each
    /// scored against the champion on its held-back window
    Models {
        #[command(subcommand)]
        action: Option<ModelsAction>,
        /// Print JSON
        #[arg(long, global = true)]
        json: bool,
    },
    /// Train (or load) every cluster's models now and save them in the
    /// models folder; with --corpus, train the global models across series
    Train {
        /// Folders of `timestamp,value` CSVs to train the global models on
        /// (repeat for several); every .csv in them is a series
        #[arg(long, value_name = "DIR")]
        corpus: Vec<PathBuf>,
        /// Where to write the global models (with --corpus)
        #[arg(long, value_name = "DIR", default_value = "models/global")]
        out: PathBuf,
    },
    /// Connect to every live cluster once, load its state and history, print, exit
    /// (exit 1 when a source did not answer)
    Snapshot {
        /// Only this cluster
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// Print a JSON list, one object per cluster
        #[arg(long)]
        json: bool,
    },
    /// Refresh instance shapes, on-demand and spot prices from AWS (EC2 and
    /// Pricing APIs, default credential chain) and show what differs from the
    /// shipped catalog (exit 1 when part of a refresh failed)
    Prices {
        /// Regions (default: the configured clusters' regions)
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        region: Vec<String>,
        /// Show these types (default: types whose price changed, and new ones)
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        types: Vec<String>,
        /// Print a JSON list, one object per region
        #[arg(long)]
        json: bool,
    },
    /// The scaling proposals of every cluster now, with their ids
    Actions {
        /// Only this cluster
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// Print a JSON list
        #[arg(long)]
        json: bool,
    },
    /// Approve a proposal by id: the executor checks every rule, applies it
    /// and reads it back (exit 0 applied, 3 refused, 1 failed)
    Approve {
        id: String,
        /// Do not ask (needed when standard input is not a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Reject a proposal by id, with a reason (an audit row)
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// The configured business events and the uplift each brought to every
    /// cluster's demand, measured from the stored history
    Events {
        /// Print a JSON list
        #[arg(long)]
        json: bool,
    },
    /// The audit log: every approval and rejection, with its outcome
    Audit {
        /// Only this cluster
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// How far back, in hours (`24h` or `24`)
        #[arg(long, value_name = "HOURS", default_value = "24h", value_parser = parse_hours)]
        since: i64,
        /// Print a JSON list
        #[arg(long)]
        json: bool,
    },
    /// List the configured clusters (the demo fleet in demo mode)
    Clusters {
        /// Print a JSON list of objects
        #[arg(long)]
        json: bool,
    },
}

/// `nodecast models` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ModelsAction {
    /// Every model version, newest first (the default)
    List,
    /// Make a version its series' champion (an audit row)
    Promote { version: u32 },
    /// Put back the champion the latest promotion replaced (an audit row)
    Rollback {
        /// Only this cluster's promotions
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// Only this series' (cpu_requests, memory_requests, nodes)
        #[arg(long, value_name = "SERIES")]
        series: Option<String>,
    },
}

/// `24h` or `24`: hours, at least 1, at most a year.
fn parse_hours(s: &str) -> Result<i64, String> {
    let n = s.trim().trim_end_matches('h');
    match n.parse::<i64>() {
        Ok(h) if (1..=8760).contains(&h) => Ok(h),
        _ => Err(format!("{s:?}: hours from 1 to 8760, like 24h")),
    }
}
