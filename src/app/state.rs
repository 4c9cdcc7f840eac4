//! What the UI shows, owned by the app loop alone.

use crate::domain::{ClusterForecast, ClusterId, SeriesKind};
use crate::snapshot::{ClusterView, Fleet};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Replaying the demo fleet.
    Demo,
    Live,
}

/// The tab on screen: the fleet (first) or a cluster by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Fleet,
    Cluster(usize),
}

/// Forecasting status of the app, shown in the status bar.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForecastStatus {
    pub model: String,
    pub running: bool,
    /// Clusters finished, clusters in the job, and the one being worked on.
    pub progress: Option<(usize, usize, ClusterId)>,
    pub error: Option<String>,
}

/// What a cluster tab shows under the overview.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LowerPane {
    Forecast,
    Plan,
    Cost,
}

pub struct AppState {
    pub mode: Mode,
    pub clusters: Vec<ClusterId>,
    pub tab: Tab,
    pub chart: SeriesKind,
    pub pane: LowerPane,
    pub help: bool,
    pub fleet: Arc<Fleet>,
    pub forecasts: BTreeMap<ClusterId, ClusterForecast>,
    /// Each cluster's plan from its latest forecasts.
    pub plans: BTreeMap<ClusterId, crate::plan::ClusterPlan>,
    pub forecasting: ForecastStatus,
    /// Demo clock speed (1 in live mode).
    pub speed: f64,
    /// A source whose data is older than this (fleet seconds) is stale.
    pub stale_after_secs: i64,
    /// Headroom over forecast requests for the nodes-needed counts.
    pub headroom: f64,
    pub quit: bool,
}

impl AppState {
    pub fn new(mode: Mode, clusters: Vec<ClusterId>, speed: f64, model: &str) -> AppState {
        AppState {
            mode,
            clusters,
            tab: Tab::Fleet,
            chart: SeriesKind::Nodes,
            pane: LowerPane::Forecast,
            help: false,
            fleet: Arc::new(Fleet::default()),
            forecasts: BTreeMap::new(),
            plans: BTreeMap::new(),
            forecasting: ForecastStatus {
                model: model.to_string(),
                ..Default::default()
            },
            speed,
            stale_after_secs: (30.0 * speed.max(1.0)) as i64,
            headroom: crate::forecast::nodes::DEFAULT_HEADROOM,
            quit: false,
        }
    }

    /// Tabs in order: the fleet, then each cluster.
    pub fn tabs(&self) -> Vec<Tab> {
        std::iter::once(Tab::Fleet)
            .chain((0..self.clusters.len()).map(Tab::Cluster))
            .collect()
    }

    pub fn selected_cluster(&self) -> Option<(&ClusterId, Option<&ClusterView>)> {
        match self.tab {
            Tab::Fleet => None,
            Tab::Cluster(i) => self.clusters.get(i).map(|id| (id, self.fleet.view(id))),
        }
    }
}

/// How fresh one cluster's data is, worst source first.
#[derive(Clone, Debug, PartialEq)]
pub enum Freshness {
    /// No data yet.
    Waiting,
    Ok {
        age_secs: i64,
    },
    Stale {
        age_secs: i64,
    },
    Error(String),
}

/// The worst state among a cluster's sources at `now`.
pub fn freshness(
    view: Option<&ClusterView>,
    now: chrono::DateTime<chrono::Utc>,
    stale_after_secs: i64,
) -> Freshness {
    use crate::domain::SourceHealth;
    let Some(view) = view else {
        return Freshness::Waiting;
    };
    let mut worst = Freshness::Waiting;
    for s in &view.sources {
        let f = match (&s.health, s.last_data) {
            (SourceHealth::Error(m), _) => Freshness::Error(format!("{}: {m}", s.name)),
            (SourceHealth::Ok, None) => Freshness::Waiting,
            (SourceHealth::Ok, Some(t)) => {
                let age_secs = (now - t).num_seconds().max(0);
                if age_secs > stale_after_secs {
                    Freshness::Stale { age_secs }
                } else {
                    Freshness::Ok { age_secs }
                }
            }
        };
        let rank = |f: &Freshness| match f {
            Freshness::Ok { .. } => 0,
            Freshness::Waiting => 1,
            Freshness::Stale { .. } => 2,
            Freshness::Error(_) => 3,
        };
        if rank(&f) > rank(&worst) || matches!(worst, Freshness::Waiting) && rank(&f) == 0 {
            worst = f;
        }
    }
    worst
}

/// A duration as "42s", "5m", "3h".
pub fn fmt_age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}
