//! From flags and config to what runs: mode, clusters, theme, database.

use crate::app::Mode;
use crate::cli::Cli;
use crate::config::{self, Config};
use crate::sources::demo::DEMO_CLUSTERS;
use crate::ui::theme::Theme;
use anyhow::{Result, anyhow};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Clone, Debug, Serialize)]
pub struct ClusterEntry {
    pub name: String,
    pub region: String,
    pub source: String,
    pub description: String,
}

pub struct Setup {
    pub mode: Mode,
    pub clusters: Vec<ClusterEntry>,
    pub speed: f64,
    pub theme: Theme,
    pub db_path: PathBuf,
    /// Where trained models are saved and loaded.
    pub models_dir: PathBuf,
    pub config_path: Option<PathBuf>,
    /// Holidays and business events for the forecaster.
    pub calendar: crate::forecast::features::Calendar,
    /// Headroom over forecast requests for the nodes-needed counts.
    pub headroom: f64,
}

fn data_dir() -> Result<PathBuf> {
    dirs::data_dir().map(|d| d.join("nodecast")).ok_or_else(|| {
        anyhow!("cannot find a data folder: set HOME or XDG_DATA_HOME, or give --db")
    })
}

pub fn resolve(cli: &Cli) -> Result<Setup> {
    let (cfg, config_path): (Config, _) = config::load(cli.config.as_deref())?;
    let mode = if cli.demo || cfg.cluster.is_empty() {
        Mode::Demo
    } else {
        Mode::Live
    };
    if mode == Mode::Live {
        let path = config_path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let names: Vec<&str> = cfg
            .cluster
            .iter()
            .map(|c| c.name.get_ref().as_str())
            .collect();
        return Err(anyhow!(
            "{path}: [[cluster]] {}: live sources (Kubernetes API, CloudWatch, Prometheus) are not \
             built yet in this version; run with --demo to open the demo fleet",
            names.join(", ")
        ));
    }
    let clusters = DEMO_CLUSTERS
        .iter()
        .map(|(n, r, d)| ClusterEntry {
            name: n.to_string(),
            region: r.to_string(),
            source: "replay".into(),
            description: d.to_string(),
        })
        .collect();
    let speed = cli
        .speed
        .or_else(|| cfg.demo.speed.as_ref().map(|s| *s.get_ref()))
        .unwrap_or(1.0);
    let theme = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        Theme::plain()
    } else {
        let name = cli
            .theme
            .clone()
            .or_else(|| cfg.theme.as_ref().map(|t| t.get_ref().clone()))
            .unwrap_or_else(|| "dark".into());
        Theme::load(&name).map_err(|e| match (&cli.theme, &cfg.theme, &config_path) {
            (None, Some(t), Some(p)) => {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                config::field_error(p, &text, t.span(), "theme", &format!("{e:#}"))
            }
            _ => anyhow!("--theme: {e:#}"),
        })?
    };
    let db_path = match &cli.db {
        Some(p) => p.clone(),
        None => data_dir()?.join(if mode == Mode::Demo {
            "demo.db"
        } else {
            "nodecast.db"
        }),
    };
    let models_dir = match &cli.models_dir {
        Some(p) => p.clone(),
        None => data_dir()?.join("models"),
    };
    Ok(Setup {
        mode,
        models_dir,
        clusters,
        speed,
        theme,
        db_path,
        config_path,
        calendar: cfg.calendar(),
        headroom: cfg.headroom(),
    })
}
