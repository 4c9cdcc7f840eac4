//! From flags and config to what runs: mode, clusters, theme, database.

use crate::app::Mode;
use crate::cli::Cli;
use crate::config::{self, Config};
use crate::sources::cloudwatch::CloudWatchTarget;
use crate::sources::demo::DEMO_CLUSTERS;
use crate::sources::kube::KubeTarget;
use crate::sources::live::LiveCluster;
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
    /// Planning settings.
    pub plan: crate::plan::PlanConfig,
    /// Live clusters (empty in demo mode).
    pub live: Vec<LiveCluster>,
    /// The live price refresh (used in live mode only).
    pub prices: crate::sources::aws_prices::PriceRefresh,
}

/// The live clusters of a config, or of a kubeconfig when the config has
/// none: `--context NAME`, else the kubeconfig's current context (as k9s
/// does). Empty when there is neither.
pub fn live_clusters(cli: &Cli, cfg: &Config) -> Result<Vec<LiveCluster>> {
    if let Some(ctx) = &cli.context {
        return Ok(vec![LiveCluster {
            name: ctx.clone(),
            region: String::new(),
            kube: KubeTarget {
                kubeconfig: None,
                context: Some(ctx.clone()),
            },
            cloudwatch: None,
            prometheus: None,
        }]);
    }
    if !cfg.cluster.is_empty() {
        return Ok(cfg
            .cluster
            .iter()
            .map(|c| LiveCluster {
                name: c.name.get_ref().clone(),
                region: c.region.clone().unwrap_or_default(),
                kube: KubeTarget {
                    kubeconfig: c.kubeconfig.clone(),
                    context: c.context.clone(),
                },
                cloudwatch: c.cloudwatch.as_ref().map(|cw| CloudWatchTarget {
                    cluster_name: cw.cluster_name.clone(),
                    region: c.region.clone(),
                    profile: c.profile.clone(),
                    endpoint: None,
                }),
                prometheus: c
                    .prometheus
                    .as_ref()
                    .map(|p| (p.url.get_ref().clone(), p.queries.clone())),
            })
            .collect());
    }
    // No config: the kubeconfig's current context, if there is a kubeconfig.
    let exists = match std::env::var_os("KUBECONFIG") {
        Some(v) if !v.is_empty() => std::env::split_paths(&v).any(|p| p.exists()),
        _ => dirs::home_dir().is_some_and(|h| h.join(".kube").join("config").exists()),
    };
    if !exists {
        return Ok(Vec::new());
    }
    let kc = kube::config::Kubeconfig::read()
        .map_err(|e| anyhow!("kubeconfig (KUBECONFIG or ~/.kube/config): {e}"))?;
    let Some(ctx) = kc.current_context.filter(|c| !c.is_empty()) else {
        return Ok(Vec::new());
    };
    Ok(vec![LiveCluster {
        name: ctx.clone(),
        region: String::new(),
        kube: KubeTarget {
            kubeconfig: None,
            context: Some(ctx),
        },
        cloudwatch: None,
        prometheus: None,
    }])
}

fn data_dir() -> Result<PathBuf> {
    dirs::data_dir().map(|d| d.join("nodecast")).ok_or_else(|| {
        anyhow!("cannot find a data folder: set HOME or XDG_DATA_HOME, or give --db")
    })
}

pub fn resolve(cli: &Cli) -> Result<Setup> {
    let (cfg, config_path): (Config, _) = config::load(cli.config.as_deref())?;
    let live = if cli.demo {
        Vec::new()
    } else {
        live_clusters(cli, &cfg)?
    };
    let mode = if live.is_empty() {
        Mode::Demo
    } else {
        Mode::Live
    };
    let clusters = if mode == Mode::Demo {
        DEMO_CLUSTERS
            .iter()
            .map(|(n, r, d)| ClusterEntry {
                name: n.to_string(),
                region: r.to_string(),
                source: "replay".into(),
                description: d.to_string(),
            })
            .collect()
    } else {
        live.iter()
            .map(|c| ClusterEntry {
                name: c.name.clone(),
                region: c.region.clone(),
                source: c.source_names(),
                description: match &c.kube.context {
                    Some(ctx) => format!("kubeconfig context {ctx}"),
                    None => "kubeconfig current context".into(),
                },
            })
            .collect()
    };
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
        plan: cfg.plan(),
        prices: cfg.price_refresh(&live.iter().map(|c| c.region.clone()).collect::<Vec<_>>()),
        live,
    })
}
