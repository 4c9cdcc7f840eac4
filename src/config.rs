//! `config.toml`: where it lives, what it holds, and errors that name the
//! file, line and field.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

mod sections;
pub use sections::{DEFAULT_PRICE_REFRESH_HOURS, PlanSection, PricesSection};
use sections::{check_plan, check_prices};

/// A config that cannot be read or used; every message names the file, and
/// where it can the line, column and field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the config: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A value at a known place: TOML that does not parse there, or a value
    /// out of range.
    #[error("{}: line {line}, column {column}: {}{message}", path.display(), field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        field: Option<String>,
        message: String,
    },
    /// TOML that does not parse, at no known place.
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
}

pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Theme name (dark, light, high-contrast) or path to a theme file.
    pub theme: Option<Spanned<String>>,
    #[serde(default)]
    pub demo: DemoConfig,
    #[serde(default)]
    pub cluster: Vec<ClusterConfig>,
    #[serde(default)]
    pub forecast: ForecastConfig,
    #[serde(default)]
    pub plan: PlanSection,
    #[serde(default)]
    pub prices: PricesSection,
    /// Business events (flash sales, launches) with their expected uplift.
    #[serde(default)]
    pub event: Vec<EventConfig>,
    /// `event`, checked and converted.
    #[serde(skip)]
    pub events: Vec<crate::forecast::features::BusinessEvent>,
}

/// `[[event]]`: start and end are TOML date-times with an offset
/// (`2026-11-27T00:00:00Z`) or the same as strings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    pub name: Spanned<String>,
    pub start: toml::Value,
    pub end: toml::Value,
    pub uplift: f64,
}

fn event_time(v: &toml::Value) -> Option<chrono::DateTime<chrono::Utc>> {
    let s = match v {
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::String(s) => s.clone(),
        _ => return None,
    };
    chrono::DateTime::parse_from_rfc3339(&s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastConfig {
    /// Extra holidays ("2026-12-08"), added to the built-in fixed-date ones.
    #[serde(default)]
    pub holidays: Vec<chrono::NaiveDate>,
    /// Headroom over forecast requests when counting nodes needed (0.1 = 10 %).
    pub headroom: Option<Spanned<f64>>,
    /// Days the forecast ledger keeps every forecast hour before folding it
    /// into per-day scores (default 90, at least 31).
    pub ledger_days: Option<Spanned<i64>>,
    /// Hours between scheduled challengers of each series (default 24; 0
    /// turns retraining off: the weekly models serve).
    pub retrain_hours: Option<Spanned<i64>>,
    /// A challenger is also trained when the last 24 h of scored forecasts
    /// err this many times their 30-day level (default 1.5).
    pub drift_factor: Option<Spanned<f64>>,
}

impl Config {
    /// The live price refresh for these clusters' regions (one target per
    /// distinct region; clusters without a region are not priced live).
    pub fn price_refresh(&self, regions: &[String]) -> crate::sources::aws_prices::PriceRefresh {
        let p = &self.prices;
        let template = crate::sources::aws_prices::PriceTarget {
            region: String::new(),
            profile: p.profile.clone(),
            ec2_endpoint: p.ec2_endpoint.as_ref().map(|e| e.get_ref().clone()),
            pricing_endpoint: p.pricing_endpoint.as_ref().map(|e| e.get_ref().clone()),
        };
        let mut targets: Vec<crate::sources::aws_prices::PriceTarget> = Vec::new();
        for r in regions.iter().filter(|r| !r.is_empty()) {
            if targets.iter().any(|t| &t.region == r) {
                continue;
            }
            let cluster_profile = self
                .cluster
                .iter()
                .find(|c| c.region.as_ref() == Some(r))
                .and_then(|c| c.profile.clone());
            targets.push(crate::sources::aws_prices::PriceTarget {
                region: r.clone(),
                profile: p.profile.clone().or(cluster_profile),
                ..template.clone()
            });
        }
        crate::sources::aws_prices::PriceRefresh {
            refresh: p.refresh.unwrap_or(true),
            every_hours: p
                .refresh_hours
                .as_ref()
                .map(|h| *h.get_ref() as u32)
                .unwrap_or(DEFAULT_PRICE_REFRESH_HOURS),
            targets,
            template,
        }
    }

    /// Planning settings: `[plan]` over the defaults, headroom from `[forecast]`.
    pub fn plan(&self) -> crate::plan::PlanConfig {
        let mut p = crate::plan::PlanConfig {
            headroom: self.headroom(),
            ..Default::default()
        };
        let s = &self.plan;
        let f = |v: &Option<Spanned<f64>>, d: f64| v.as_ref().map(|v| *v.get_ref()).unwrap_or(d);
        let i = |v: &Option<Spanned<i64>>, d: i64| v.as_ref().map(|v| *v.get_ref()).unwrap_or(d);
        p.rules.quantile = f(&s.quantile, p.rules.quantile);
        if let Some(t) = &s.target_shortage {
            p.target_shortage = Some(*t.get_ref()).filter(|t| *t > 0.0);
        }
        p.rules.scale_in_window_h =
            i(&s.scale_in_window_hours, p.rules.scale_in_window_h as i64) as usize;
        p.rules.max_scale_in_step = f(&s.max_scale_in_step, p.rules.max_scale_in_step);
        p.rules.min_scale_in = f(&s.min_scale_in, p.rules.min_scale_in);
        p.rules.peak_buffer = f(&s.peak_buffer, p.rules.peak_buffer);
        p.rules.lead_minutes = i(&s.lead_minutes, p.rules.lead_minutes as i64) as u32;
        if let Some(c) = &s.categories {
            p.categories = c.clone();
        }
        p.families = s.families.clone();
        p.architectures = s.architectures.clone();
        p.min_generation = i(&s.min_generation, p.min_generation as i64) as u32;
        p.max_types = i(&s.max_types, p.max_types as i64) as usize;
        p.min_spot_types = i(&s.min_spot_types, p.min_spot_types as i64) as usize;
        p.size_factor = f(&s.size_factor, p.size_factor);
        p.discounts.enterprise = f(&s.enterprise_discount, p.discounts.enterprise);
        p.discounts.savings_plan = f(&s.savings_plan_discount, p.discounts.savings_plan);
        p.discounts.floor_quantile = f(&s.commitment_floor_quantile, p.discounts.floor_quantile);
        p
    }

    /// The forecasting calendar: built-in holidays, configured ones, and events.
    pub fn calendar(&self) -> crate::forecast::features::Calendar {
        let mut cal = crate::forecast::features::Calendar::builtin(1990..=2040);
        cal.holidays.extend(self.forecast.holidays.iter().copied());
        cal.events = self.events.clone();
        cal
    }

    /// `forecast.ledger_days`, or the default.
    pub fn ledger_days(&self) -> i64 {
        self.forecast
            .ledger_days
            .as_ref()
            .map(|d| *d.get_ref())
            .unwrap_or(crate::store::ledger::RETENTION_DAYS)
    }

    /// `forecast.retrain_hours` and `forecast.drift_factor`, or the defaults.
    pub fn retraining(&self) -> (i64, f64) {
        use crate::forecast::champion::{DRIFT_FACTOR, RETRAIN_HOURS};
        let f = &self.forecast;
        (
            f.retrain_hours
                .as_ref()
                .map_or(RETRAIN_HOURS, |h| *h.get_ref()),
            f.drift_factor
                .as_ref()
                .map_or(DRIFT_FACTOR, |d| *d.get_ref()),
        )
    }

    /// `forecast.headroom`, or the default.
    pub fn headroom(&self) -> f64 {
        self.forecast
            .headroom
            .as_ref()
            .map(|h| *h.get_ref())
            .unwrap_or(crate::forecast::nodes::DEFAULT_HEADROOM)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConfig {
    /// Demo clock speed (1 = real time).
    pub speed: Option<Spanned<f64>>,
}

/// A live cluster: `[[cluster]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The tab's name (default: the context's short name, `prod` for
    /// `arn:aws:eks:us-east-1:123456789012:cluster/prod`).
    pub name: Option<Spanned<String>>,
    /// kubeconfig context (default: the kubeconfig's current context).
    pub context: Option<String>,
    /// kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    pub kubeconfig: Option<PathBuf>,
    /// AWS region (default: the AWS profile's or environment's region).
    pub region: Option<String>,
    /// AWS profile (default: the default credential chain).
    pub profile: Option<String>,
    pub cloudwatch: Option<CloudWatchConfig>,
    pub prometheus: Option<PrometheusConfig>,
    /// The EKS cluster's name (default: `cloudwatch.cluster_name`, then `name`).
    pub eks_cluster: Option<String>,
    /// Who may write, and the executor's limits.
    #[serde(default)]
    pub actions: ActionsConfig,
}

/// `[cluster.actions]`: approvals on a live cluster.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsConfig {
    /// `off` (the default: proposals shown, approving says read-only) or `approve`.
    pub mode: Option<Spanned<String>>,
    /// A cap on any node group's size, below its max.
    pub max_nodes: Option<u32>,
    /// Most nodes one action adds or removes (default: up to double the
    /// group, at least 4 nodes, and down by half of it, at least 1).
    pub max_step: Option<u32>,
    /// Minutes between two writes to a node group (default 10).
    pub cooldown_minutes: Option<Spanned<i64>>,
    /// Whether Cluster Autoscaler or Karpenter runs in the cluster (default
    /// true): a change then moves the floor it keeps (minSize) and never
    /// removes a node itself; `false` sets the desired size.
    pub autoscaler: Option<bool>,
    /// What applies an approval: `node-group` (the default: the EKS managed
    /// node group or Auto Scaling group) or `headroom` (pause pods for
    /// Karpenter or Cluster Autoscaler, through the Kubernetes API).
    pub actuator: Option<Spanned<String>>,
    /// The namespace of the headroom Deployments (default `nodecast`).
    pub headroom_namespace: Option<String>,
}

/// `[cluster.cloudwatch]`: Container Insights history.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchConfig {
    /// Container Insights `ClusterName` dimension.
    pub cluster_name: String,
}

/// `[cluster.prometheus]`: history from kube-state-metrics and cAdvisor.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    pub url: Spanned<String>,
    /// PromQL per series (nodes, cpu_requests, mem_requests, cpu_usage,
    /// mem_usage, pods, pending_pods), replacing the built-in queries.
    #[serde(default)]
    pub queries: std::collections::BTreeMap<String, String>,
    /// SigV4-sign every query (Amazon Managed Service for Prometheus).
    /// Default: on for an `aps-workspaces.<region>.amazonaws.com` URL.
    pub sigv4: Option<bool>,
    /// The region to sign for (default: the workspace URL's, else the cluster's).
    pub sigv4_region: Option<String>,
}

/// The config file nodecast reads when no `--config` is given.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("nodecast").join("config.toml"))
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// The dotted key assigned on 1-based `line` ("demo.speed"), if the line assigns one.
pub fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (key, _) = lines.get(line.checked_sub(1)?)?.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let table = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// An error about `field` at `span` in `file`.
pub fn field_error(
    file: &Path,
    text: &str,
    span: std::ops::Range<usize>,
    field: &str,
    msg: &str,
) -> ConfigError {
    let (line, column) = line_col(text, span.start);
    ConfigError::At {
        path: file.to_path_buf(),
        line,
        column,
        field: Some(field.to_string()),
        message: msg.to_string(),
    }
}

/// Parses and checks a config text read from `file`.
pub fn parse(text: &str, file: &Path) -> Result<Config> {
    let mut cfg: Config = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim().to_string();
        match e.span() {
            Some(span) => {
                let (line, column) = line_col(text, span.start);
                ConfigError::At {
                    path: file.to_path_buf(),
                    line,
                    column,
                    field: key_at(text, line),
                    message: msg,
                }
            }
            None => ConfigError::Syntax {
                path: file.to_path_buf(),
                message: msg,
            },
        }
    })?;
    if let Some(s) = &cfg.demo.speed
        && !(s.get_ref().is_finite() && *s.get_ref() > 0.0)
    {
        return Err(field_error(
            file,
            text,
            s.span(),
            "demo.speed",
            "must be a number above 0",
        ));
    }
    if let Some(h) = &cfg.forecast.headroom
        && !(h.get_ref().is_finite() && (0.0..=1.0).contains(h.get_ref()))
    {
        return Err(field_error(
            file,
            text,
            h.span(),
            "forecast.headroom",
            "must be a fraction from 0 to 1 (0.1 = 10 %)",
        ));
    }
    if let Some(d) = &cfg.forecast.ledger_days
        && *d.get_ref() < 31
    {
        return Err(field_error(
            file,
            text,
            d.span(),
            "forecast.ledger_days",
            "must be at least 31 (the Accuracy pane scores 30 days)",
        ));
    }
    if let Some(h) = &cfg.forecast.retrain_hours
        && !(0..=24 * 90).contains(h.get_ref())
    {
        let msg = "must be hours from 1 to 2160 (0 turns retraining off)";
        return Err(field_error(
            file,
            text,
            h.span(),
            "forecast.retrain_hours",
            msg,
        ));
    }
    if let Some(d) = &cfg.forecast.drift_factor
        && !(*d.get_ref() > 1.0 && d.get_ref().is_finite())
    {
        let msg = "must be a factor above 1 (1.5: the last 24 h err 1.5x the 30-day level)";
        return Err(field_error(
            file,
            text,
            d.span(),
            "forecast.drift_factor",
            msg,
        ));
    }
    check_plan(&cfg.plan, file, text)?;
    check_prices(&cfg.prices, file, text)?;
    for e in &cfg.event {
        let name = e.name.get_ref();
        let bad = |msg: &str| {
            field_error(
                file,
                text,
                e.name.span(),
                "event",
                &format!("{name:?}: {msg}"),
            )
        };
        let (Some(start), Some(end)) = (event_time(&e.start), event_time(&e.end)) else {
            return Err(bad(
                "start and end must be date-times with an offset, like 2026-11-27T00:00:00Z",
            ));
        };
        if end <= start {
            return Err(bad("end must follow start"));
        }
        if !e.uplift.is_finite() || e.uplift <= -1.0 {
            return Err(bad("uplift must be a number above -1 (0.5 = +50 %)"));
        }
        cfg.events.push(crate::forecast::features::BusinessEvent {
            name: name.clone(),
            start,
            end,
            uplift: e.uplift,
        });
    }
    let mut names = std::collections::HashSet::new();
    for c in &cfg.cluster {
        // A cluster without a name takes its context's short name; the
        // names are checked again once those are known (setup).
        if let Some(n) = &c.name {
            let name = n.get_ref();
            if name.trim().is_empty() {
                return Err(field_error(
                    file,
                    text,
                    n.span(),
                    "cluster.name",
                    "must not be empty",
                ));
            }
            if !names.insert(name.clone()) {
                return Err(field_error(
                    file,
                    text,
                    n.span(),
                    "cluster.name",
                    &format!("{name:?} is used twice"),
                ));
            }
        }
        if let Some(m) = &c.actions.mode
            && !matches!(m.get_ref().as_str(), "off" | "approve")
        {
            return Err(field_error(
                file,
                text,
                m.span(),
                "cluster.actions.mode",
                &format!("{:?}: must be \"off\" or \"approve\"", m.get_ref()),
            ));
        }
        if let Some(a) = &c.actions.actuator
            && !matches!(a.get_ref().as_str(), "node-group" | "headroom")
        {
            return Err(field_error(
                file,
                text,
                a.span(),
                "cluster.actions.actuator",
                &format!("{:?}: must be \"node-group\" or \"headroom\"", a.get_ref()),
            ));
        }
        if let Some(m) = &c.actions.cooldown_minutes
            && !(0..=1440).contains(m.get_ref())
        {
            return Err(field_error(
                file,
                text,
                m.span(),
                "cluster.actions.cooldown_minutes",
                "must be a whole number of minutes from 0 to 1440",
            ));
        }
        if let Some(p) = &c.prometheus {
            let url = p.url.get_ref();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(field_error(
                    file,
                    text,
                    p.url.span(),
                    "cluster.prometheus.url",
                    &format!("{url:?} is not an http:// or https:// address"),
                ));
            }
            for k in p.queries.keys() {
                if !crate::sources::prometheus::QUERY_NAMES.contains(&k.as_str()) {
                    return Err(field_error(
                        file,
                        text,
                        p.url.span(),
                        "cluster.prometheus.queries",
                        &format!(
                            "unknown series {k:?}; known: {}",
                            crate::sources::prometheus::QUERY_NAMES.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    Ok(cfg)
}

/// Reads the config: `explicit` must exist; the default path may be absent.
pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>)> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) if p.exists() => p,
            _ => return Ok((Config::default(), None)),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::Read {
        path: path.clone(),
        error,
    })?;
    Ok((parse(&text, &path)?, Some(path)))
}
