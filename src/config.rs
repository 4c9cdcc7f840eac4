//! `config.toml`: where it lives, what it holds, and errors that name the
//! file, line and field.

use anyhow::{Result, anyhow};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

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
}

impl Config {
    /// The forecasting calendar: built-in holidays, configured ones, and events.
    pub fn calendar(&self) -> crate::forecast::features::Calendar {
        let mut cal = crate::forecast::features::Calendar::builtin(1990..=2040);
        cal.holidays.extend(self.forecast.holidays.iter().copied());
        cal.events = self.events.clone();
        cal
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
    pub name: Spanned<String>,
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
) -> anyhow::Error {
    let (line, col) = line_col(text, span.start);
    anyhow!(
        "{}: line {line}, column {col}: field `{field}`: {msg}",
        file.display()
    )
}

/// Parses and checks a config text read from `file`.
pub fn parse(text: &str, file: &Path) -> Result<Config> {
    let mut cfg: Config = toml::from_str(text).map_err(|e| {
        let msg = e.message().trim().to_string();
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                let field = key_at(text, line)
                    .map(|k| format!("field `{k}`: "))
                    .unwrap_or_default();
                anyhow!(
                    "{}: line {line}, column {col}: {field}{msg}",
                    file.display()
                )
            }
            None => anyhow!("{}: {msg}", file.display()),
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
        let name = c.name.get_ref();
        if name.trim().is_empty() {
            return Err(field_error(
                file,
                text,
                c.name.span(),
                "cluster.name",
                "must not be empty",
            ));
        }
        if !names.insert(name.clone()) {
            return Err(field_error(
                file,
                text,
                c.name.span(),
                "cluster.name",
                &format!("{name:?} is used twice"),
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
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("{}: cannot read the config: {e}", path.display()))?;
    Ok((parse(&text, &path)?, Some(path)))
}
