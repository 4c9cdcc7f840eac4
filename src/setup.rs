//! From flags and config to what runs: the fleet (demo or live, decided
//! here once), theme, database and models folder.

use crate::app::Mode;
use crate::cli::Cli;
use crate::clock::Clock;
use crate::config::{self, Config};
use crate::domain::ClusterId;
use crate::exec::asg::AutoScalingGroups;
use crate::exec::demo::DemoActuator;
use crate::exec::eks::EksNodeGroups;
use crate::exec::headroom::HeadroomPods;
use crate::exec::live::LiveNodeGroups;
use crate::exec::{ActionSettings, ActionsMode, Actuator, Target};
use crate::plan::scaling::{ChangeLimits, DEFAULT_COOLDOWN_MINUTES};
use crate::sources::Source;
use crate::sources::aws_prices::PriceRefresh;
use crate::sources::cloudwatch::CloudWatchTarget;
use crate::sources::demo::{DEMO_CLUSTERS, demo_epoch, demo_sources_controlled};
use crate::sources::kube::KubeTarget;
use crate::sources::live::{LiveCluster, STALE_AFTER_SECS};
use crate::sources::replay::DemoControl;
use crate::store::Store;
use crate::store::db::Db;
use crate::ui::theme::Theme;
use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Debug, Serialize)]
pub struct ClusterEntry {
    pub name: String,
    pub region: String,
    pub source: String,
    pub description: String,
    /// The full kubeconfig context (an EKS ARN too); null for the demo and
    /// for the kubeconfig's current context.
    pub context: Option<String>,
}

/// Every source task of a fleet, with the cluster it serves.
pub type ClusterSources = Vec<(ClusterId, Box<dyn Source>)>;

/// Where the fleet comes from. Decided once, here: everything that differs
/// between the demo and live clusters (sources, clock, staleness, history,
/// price refresh, shipped models) is a method of this enum.
pub enum FleetSource {
    /// The demo fleet replaying public traces; its clock starts at the
    /// demo's epoch and runs `speed` times real time. Approved actions
    /// reach the replay through `control`.
    Demo { speed: f64, control: DemoControl },
    /// Live clusters on the wall clock.
    Live {
        clusters: Vec<LiveCluster>,
        /// The live price refresh (`[prices]`).
        prices: PriceRefresh,
    },
}

/// The demo clusters' cap, step rule and cooldown: the defaults (10
/// minutes between two applies to a group).
fn demo_change_limits() -> ChangeLimits {
    ChangeLimits::default()
}

impl FleetSource {
    pub fn mode(&self) -> Mode {
        match self {
            FleetSource::Demo { .. } => Mode::Demo,
            FleetSource::Live { .. } => Mode::Live,
        }
    }

    /// Clock speed (1 for live clusters).
    pub fn speed(&self) -> f64 {
        match self {
            FleetSource::Demo { speed, .. } => *speed,
            FleetSource::Live { .. } => 1.0,
        }
    }

    /// The fleet's clock.
    pub fn clock(&self) -> Clock {
        match self {
            FleetSource::Demo { speed, .. } => Clock::new(demo_epoch(), *speed),
            FleetSource::Live { .. } => Clock::wall(),
        }
    }

    /// Seconds (fleet time) after which a source's data is stale.
    pub fn stale_after_secs(&self) -> i64 {
        match self {
            // The replay polls every 30 fleet seconds whatever the speed.
            FleetSource::Demo { speed, .. } => (30.0 * speed.max(1.0)) as i64,
            FleetSource::Live { .. } => STALE_AFTER_SECS,
        }
    }

    /// The live clusters (none for the demo).
    pub fn live(&self) -> &[LiveCluster] {
        match self {
            FleetSource::Demo { .. } => &[],
            FleetSource::Live { clusters, .. } => clusters,
        }
    }

    /// The price refresh to run, if any (live clusters with `[prices] refresh`).
    pub fn price_refresh(&self) -> Option<&PriceRefresh> {
        match self {
            FleetSource::Live { prices, .. } if prices.refresh => Some(prices),
            _ => None,
        }
    }

    /// Whether the models shipped in the project (`models/demo`) serve too.
    pub fn uses_shipped_models(&self) -> bool {
        matches!(self, FleetSource::Demo { .. })
    }

    /// The database file's default name.
    fn db_file(&self) -> &'static str {
        match self {
            FleetSource::Demo { .. } => "demo.db",
            FleetSource::Live { .. } => "nodecast.db",
        }
    }

    /// The clusters (tab order) with their regions, and every source task of
    /// each, for a fleet on `clock` (the demo replays from its start).
    pub fn sources(&self, clock: &Clock) -> Result<(Vec<(ClusterId, String)>, ClusterSources)> {
        match self {
            FleetSource::Live { clusters, .. } => {
                let ids = clusters
                    .iter()
                    .map(|c| (ClusterId(c.name.clone()), c.region.clone()))
                    .collect();
                let sources = clusters
                    .iter()
                    .flat_map(|c| {
                        c.sources()
                            .into_iter()
                            .map(|s| (ClusterId(c.name.clone()), s))
                    })
                    .collect();
                Ok((ids, sources))
            }
            FleetSource::Demo { speed, control } => {
                let demo = demo_sources_controlled(clock.anchor(), *speed, Some(control.clone()))?;
                let ids = demo
                    .iter()
                    .map(|(s, _)| (s.cluster.clone(), s.region.clone()))
                    .collect();
                let sources = demo
                    .into_iter()
                    .map(|(spec, src)| (spec.cluster, Box::new(src) as Box<dyn Source>))
                    .collect();
                Ok((ids, sources))
            }
        }
    }

    /// The store for `ids` over `db`: a live fleet loads its stored history;
    /// the demo replays afresh and forgets what an earlier run stored.
    pub fn open_store(
        &self,
        db: Db,
        ids: &[(ClusterId, String)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Store> {
        let mut store = Store::new(db, ids);
        match self {
            FleetSource::Live { .. } => store
                .load_history(now)
                .context("cannot load the stored history")?,
            FleetSource::Demo { .. } => store
                .reset_history()
                .context("cannot reset the demo history")?,
        }
        Ok(store)
    }

    /// What applies approved actions on each cluster. The demo's clusters
    /// take them (the replay's groups get the approved floor); a live
    /// cluster's go to its node groups (EKS, Auto Scaling) or headroom pods.
    pub fn actuators(&self) -> Vec<(ClusterId, Target)> {
        match self {
            FleetSource::Demo { control, .. } => DEMO_CLUSTERS
                .iter()
                .map(|(name, _, _)| {
                    let actuator: Arc<dyn Actuator> = Arc::new(DemoActuator {
                        control: control.clone(),
                    });
                    (
                        ClusterId(name.to_string()),
                        Target {
                            mode: ActionsMode::Approve,
                            actuator,
                            change: demo_change_limits(),
                        },
                    )
                })
                .collect(),
            FleetSource::Live { clusters, .. } => clusters
                .iter()
                .map(|c| {
                    let autoscaler = c.actions.autoscaler;
                    let region = (!c.region.is_empty()).then(|| c.region.clone());
                    let actuator: Arc<dyn Actuator> = match &c.actions.headroom_namespace {
                        Some(ns) => Arc::new(HeadroomPods::new(c.kube.clone(), ns)),
                        None => Arc::new(LiveNodeGroups {
                            eks: EksNodeGroups::new(
                                &c.eks_cluster,
                                region.clone(),
                                c.profile.clone(),
                                autoscaler,
                            ),
                            asg: AutoScalingGroups::new(
                                region.clone(),
                                c.profile.clone(),
                                autoscaler,
                            ),
                            caller: crate::aws::Caller::new(region, c.profile.clone()),
                        }),
                    };
                    (
                        ClusterId(c.name.clone()),
                        Target {
                            mode: c.actions.mode,
                            actuator,
                            change: c.actions.change,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Each cluster's cap, step limit and cooldown, which its plan stays
    /// within (the executor's rules for the actions it applies).
    fn change_limits(&self) -> std::collections::BTreeMap<String, ChangeLimits> {
        match self {
            FleetSource::Demo { .. } => DEMO_CLUSTERS
                .iter()
                .map(|(name, _, _)| (name.to_string(), demo_change_limits()))
                .collect(),
            FleetSource::Live { clusters, .. } => live_change_limits(clusters),
        }
    }

    /// `nodecast clusters`' lines.
    fn entries(&self) -> Vec<ClusterEntry> {
        match self {
            FleetSource::Demo { .. } => DEMO_CLUSTERS
                .iter()
                .map(|(n, r, d)| ClusterEntry {
                    name: n.to_string(),
                    region: r.to_string(),
                    source: "replay".into(),
                    description: d.to_string(),
                    context: None,
                })
                .collect(),
            FleetSource::Live { clusters, .. } => clusters
                .iter()
                .map(|c| ClusterEntry {
                    name: c.name.clone(),
                    region: c.region.clone(),
                    source: c.source_names(),
                    description: match &c.kube.context {
                        Some(ctx) => format!("kubeconfig context {ctx}"),
                        None => "kubeconfig current context".into(),
                    },
                    context: c.kube.context.clone(),
                })
                .collect(),
        }
    }
}

pub struct Setup {
    pub fleet: FleetSource,
    pub clusters: Vec<ClusterEntry>,
    pub theme: Theme,
    pub db_path: PathBuf,
    /// Where trained models are saved and loaded.
    pub models_dir: PathBuf,
    pub config_path: Option<PathBuf>,
    /// Holidays and business events for the forecaster.
    pub calendar: crate::forecast::features::Calendar,
    /// Planning settings (headroom included).
    pub plan: crate::plan::PlanConfig,
    /// Days the forecast ledger keeps forecast hours whole.
    pub ledger_days: i64,
    /// Hours between scheduled challengers (0: off) and the drift factor.
    pub retraining: (i64, f64),
    /// The price refresh's settings (`nodecast prices` uses them in demo mode too).
    pub prices: PriceRefresh,
    /// `--read-only`: the executor applies nothing.
    pub read_only: bool,
}

/// A kubeconfig context's short name and the region it names: an EKS ARN
/// (`arn:aws:eks:us-east-1:123456789012:cluster/prod`, as `aws eks
/// update-kubeconfig` writes) is `prod` in `us-east-1`; any other name is
/// itself.
pub fn context_short_name(context: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = context.splitn(6, ':').collect();
    if let ["arn", _partition, "eks", region, _account, resource] = parts.as_slice()
        && let Some(name) = resource.strip_prefix("cluster/")
        && !name.is_empty()
    {
        return (name.to_string(), Some(region.to_string()));
    }
    (context.to_string(), None)
}

/// What a cluster's exec plugin (`aws eks get-token`) gets from the config:
/// `AWS_PROFILE` and `AWS_REGION`.
pub fn plugin_env(profile: Option<&str>, region: &str) -> Vec<(String, String)> {
    let mut env = Vec::new();
    if let Some(p) = profile.filter(|p| !p.is_empty()) {
        env.push(("AWS_PROFILE".to_string(), p.to_string()));
    }
    if !region.is_empty() {
        env.push(("AWS_REGION".to_string(), region.to_string()));
    }
    env
}

/// The current context of a kubeconfig (`None`: KUBECONFIG, then ~/.kube/config).
fn current_context(kubeconfig: Option<&std::path::Path>) -> Result<Option<String>> {
    let kc = match kubeconfig {
        Some(p) => kube::config::Kubeconfig::read_from(p)
            .map_err(|e| anyhow!("kubeconfig {}: {e}", p.display()))?,
        None => kube::config::Kubeconfig::read()
            .map_err(|e| anyhow!("kubeconfig (KUBECONFIG or ~/.kube/config): {e}"))?,
    };
    Ok(kc.current_context.filter(|c| !c.is_empty()))
}

/// Each live cluster's cap, step limit and cooldown (`[cluster.actions]`
/// `max_nodes`, `max_step`, `cooldown_minutes`), which its plan stays within.
pub fn live_change_limits(
    clusters: &[LiveCluster],
) -> std::collections::BTreeMap<String, ChangeLimits> {
    clusters
        .iter()
        .map(|c| (c.name.clone(), c.actions.change))
        .collect()
}

/// The live clusters of a config, or of a kubeconfig when the config has
/// none: `--context NAME`, else the kubeconfig's current context (as k9s
/// does). Empty when there is neither.
pub fn live_clusters(cli: &Cli, cfg: &Config) -> Result<Vec<LiveCluster>> {
    if let Some(ctx) = &cli.context {
        return Ok(vec![LiveCluster::of_context(ctx)]);
    }
    if !cfg.cluster.is_empty() {
        let mut names = std::collections::HashSet::new();
        let mut out = Vec::new();
        for c in &cfg.cluster {
            let name = match &c.name {
                Some(n) => n.get_ref().clone(),
                None => {
                    let ctx = match &c.context {
                        Some(ctx) => ctx.clone(),
                        None => current_context(c.kubeconfig.as_deref())?.ok_or_else(|| {
                            anyhow!(
                                "[[cluster]] without name or context: the kubeconfig has no \
                                 current context to name it after"
                            )
                        })?,
                    };
                    context_short_name(&ctx).0
                }
            };
            if !names.insert(name.clone()) {
                bail!(
                    "cluster name {name:?} is used twice (a context's short name counts): \
                     set `name` in [[cluster]]"
                );
            }
            // A context named by an EKS ARN names the region too.
            let region = c
                .region
                .clone()
                .or_else(|| c.context.as_deref().and_then(|x| context_short_name(x).1))
                .unwrap_or_default();
            let prometheus = match &c.prometheus {
                Some(p) => {
                    let url = p.url.get_ref();
                    let sigv4_region = crate::sources::amp::signing_region(
                        url,
                        p.sigv4,
                        p.sigv4_region.as_deref(),
                        &region,
                    )
                    .map_err(|e| anyhow!("cluster {name:?}: {e}"))?;
                    Some(crate::sources::live::PrometheusTarget {
                        url: url.clone(),
                        queries: p.queries.clone(),
                        sigv4_region,
                    })
                }
                None => None,
            };
            out.push((name, region, c, prometheus));
        }
        return Ok(out
            .into_iter()
            .map(|(name, region, c, prometheus)| LiveCluster {
                name: name.clone(),
                kube: KubeTarget {
                    kubeconfig: c.kubeconfig.clone(),
                    context: c.context.clone(),
                    plugin_env: plugin_env(c.profile.as_deref(), &region),
                },
                prometheus,
                region,
                cloudwatch: c.cloudwatch.as_ref().map(|cw| CloudWatchTarget {
                    cluster_name: cw.cluster_name.clone(),
                    region: c.region.clone(),
                    profile: c.profile.clone(),
                    endpoint: None,
                }),
                eks_cluster: c
                    .eks_cluster
                    .clone()
                    .or_else(|| c.cloudwatch.as_ref().map(|cw| cw.cluster_name.clone()))
                    .unwrap_or(name),
                profile: c.profile.clone(),
                actions: ActionSettings {
                    mode: match c.actions.mode.as_ref().map(|m| m.get_ref().as_str()) {
                        Some("approve") => ActionsMode::Approve,
                        _ => ActionsMode::Off,
                    },
                    change: ChangeLimits {
                        max_nodes: c.actions.max_nodes,
                        max_step: c.actions.max_step,
                        cooldown: chrono::Duration::minutes(
                            c.actions
                                .cooldown_minutes
                                .as_ref()
                                .map_or(DEFAULT_COOLDOWN_MINUTES, |m| *m.get_ref()),
                        ),
                    },
                    autoscaler: c.actions.autoscaler.unwrap_or(true),
                    headroom_namespace: c
                        .actions
                        .actuator
                        .as_ref()
                        .is_some_and(|a| a.get_ref() == "headroom")
                        .then(|| {
                            c.actions
                                .headroom_namespace
                                .clone()
                                .unwrap_or_else(|| "nodecast".into())
                        }),
                },
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
    let Some(ctx) = current_context(None)? else {
        return Ok(Vec::new());
    };
    Ok(vec![LiveCluster::of_context(&ctx)])
}

impl LiveCluster {
    /// A cluster from a kubeconfig context alone: named by its short name,
    /// in the region its EKS ARN names (none otherwise).
    pub fn of_context(ctx: &str) -> LiveCluster {
        let (name, region) = context_short_name(ctx);
        LiveCluster {
            region: region.clone().unwrap_or_default(),
            eks_cluster: name.clone(),
            name,
            kube: KubeTarget {
                kubeconfig: None,
                context: Some(ctx.to_string()),
                plugin_env: plugin_env(None, region.as_deref().unwrap_or_default()),
            },
            cloudwatch: None,
            prometheus: None,
            profile: None,
            actions: Default::default(),
        }
    }
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
    let prices = cfg.price_refresh(&live.iter().map(|c| c.region.clone()).collect::<Vec<_>>());
    let speed = cli
        .speed
        .or_else(|| cfg.demo.speed.as_ref().map(|s| *s.get_ref()))
        .unwrap_or(1.0);
    let fleet = if live.is_empty() {
        FleetSource::Demo {
            speed,
            control: DemoControl::default(),
        }
    } else {
        FleetSource::Live {
            clusters: live,
            prices: prices.clone(),
        }
    };
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
                config::field_error(p, &text, t.span(), "theme", &format!("{e:#}")).into()
            }
            _ => anyhow!("--theme: {e:#}"),
        })?
    };
    let db_path = match &cli.db {
        Some(p) => p.clone(),
        None => data_dir()?.join(fleet.db_file()),
    };
    let models_dir = match &cli.models_dir {
        Some(p) => p.clone(),
        None => data_dir()?.join("models"),
    };
    let plan = crate::plan::PlanConfig {
        change_limits: fleet.change_limits(),
        ..cfg.plan()
    };
    Ok(Setup {
        clusters: fleet.entries(),
        fleet,
        models_dir,
        theme,
        db_path,
        config_path,
        calendar: cfg.calendar(),
        plan,
        ledger_days: cfg.ledger_days(),
        retraining: cfg.retraining(),
        prices,
        read_only: cli.read_only,
    })
}
