//! What the UI shows, owned by the app loop alone. Every figure a pane shows
//! is derived here by `update` or by the forecast job; panes only format.

use crate::domain::{
    ClusterForecast, ClusterId, Forecast, HourlySeries, Resources, ScalingAction, SeriesKind,
};
use crate::exec::Decision;
use crate::exec::rules::Check;
use crate::forecast::accuracy::ClusterAccuracy;
use crate::forecast::events::{EventRecord, records};
use crate::forecast::features::BusinessEvent;
use crate::health::Health;
use crate::plan::ClusterPlan;
use crate::plan::group::Proposal;
use crate::snapshot::{ClusterView, Fleet};
use crate::store::audit::{AuditRow, Outcome};
use chrono::{DateTime, Utc};
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
    /// The decisions of the last 24 h.
    Actions,
    /// How the forecasts have done (the ledger's scores).
    Accuracy,
}

/// Where an action stands in the dashboard: on its way, or decided.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionState {
    Applying,
    Decided(Decision),
}

/// A dialog over the screen that takes the keys until it closes.
#[derive(Clone, Debug, PartialEq)]
pub enum Modal {
    /// The exact change, every safety check, `y` to apply.
    Confirm {
        proposal: Box<Proposal>,
        checks: Vec<Check>,
        call: String,
    },
    /// A reason for rejecting, typed.
    Reject {
        action: ScalingAction,
        reason: String,
    },
}

/// Everything the dashboard knows about one cluster.
#[derive(Clone, Debug)]
pub struct ClusterTab {
    pub id: ClusterId,
    /// What the store last published: region, snapshot, history, sources.
    pub view: Arc<ClusterView>,
    /// The latest forecasts, one per forecast series.
    pub forecast: ClusterForecast,
    /// The plan made from those forecasts (with the nodes needed per group).
    pub plan: Option<ClusterPlan>,
    /// Whether approvals may write here, and if not, why (the executor
    /// decides again at every approval).
    pub writable: Result<(), String>,
    /// The call an approved change makes here.
    pub actuator: String,
    /// The executor's limits here (`max_nodes`, `max_step`, cooldown, and
    /// whether an autoscaler keeps the size, so a change moves its floor);
    /// the group's bounds come from the snapshot.
    pub limits: crate::exec::rules::Limits,
    /// Decisions by action id: this session's and the audit log's last 24 h.
    pub decisions: BTreeMap<String, ActionState>,
    /// The audit log's rows of the last 24 h, newest last.
    pub audit: Vec<AuditRow>,
    /// What the cluster's applies of the hour up to the fleet's clock
    /// spent of the runaway guard's budget (applies, nodes added), as the
    /// executor counts them; derived from `audit` when it loads and at
    /// every tick ([`super::approvals::count_runaway_hour`]).
    pub runaway_hour: (u32, u32),
    /// The forecast ledger's record, by series.
    pub accuracy: ClusterAccuracy,
    /// The fleet tab's accuracy line for this cluster.
    pub accuracy_line: String,
    /// The configured business events measured on each forecast series.
    pub events: BTreeMap<SeriesKind, Vec<EventRecord>>,
    /// Each series' serving model version and latest challenger.
    pub models: crate::forecast::champion::ClusterModels,
}

impl ClusterTab {
    pub fn new(id: ClusterId) -> Self {
        ClusterTab {
            id,
            view: Arc::new(ClusterView::default()),
            forecast: ClusterForecast::new(),
            plan: None,
            writable: Err("read-only: no actuator".into()),
            actuator: String::new(),
            limits: crate::exec::rules::Limits::default(),
            decisions: BTreeMap::new(),
            audit: Vec::new(),
            runaway_hour: (0, 0),
            accuracy: ClusterAccuracy::new(),
            accuracy_line: crate::forecast::accuracy::fleet_line(None),
            events: BTreeMap::new(),
            models: BTreeMap::new(),
        }
    }

    /// Proposals that still wait for the operator: not on their way, not
    /// applied, not rejected (a refused or failed one can be tried again).
    pub fn waiting(&self) -> usize {
        self.plan
            .as_ref()
            .map(|p| {
                p.proposals()
                    .iter()
                    .filter(|x| match self.decisions.get(&x.action.id()) {
                        None => true,
                        Some(ActionState::Applying) => false,
                        Some(ActionState::Decided(d)) => {
                            !matches!(d.outcome, Outcome::Applied | Outcome::Rejected)
                        }
                    })
                    .count()
            })
            .unwrap_or(0)
    }

    /// The cluster's health at `now`: its worst source.
    pub fn health(&self, now: DateTime<Utc>, stale_after_secs: i64) -> Health {
        Health::of_cluster(&self.view.sources, now, stale_after_secs)
    }
}

/// The fleet tab's figures: the clusters summed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetTotals {
    pub nodes: u32,
    pub pods: u32,
    pub pending_pods: u32,
    pub allocatable: Resources,
    pub requests: Resources,
    /// `None` unless every cluster reports usage.
    pub usage: Option<Resources>,
    /// List price of the nodes running now, over the clusters with a plan.
    pub usd_per_hour: f64,
    pub usd_per_month: f64,
    /// Clusters with a plan (priced), of all.
    pub priced: usize,
    /// History summed per series, where every cluster has that series.
    pub history: BTreeMap<SeriesKind, HourlySeries>,
    /// Forecasts summed per series (bands added), where every cluster has one
    /// issued at the same hour.
    pub forecast: BTreeMap<SeriesKind, Forecast>,
}

impl FleetTotals {
    /// Snapshot totals and summed histories of `clusters`.
    fn live_figures(&mut self, clusters: &[ClusterTab]) {
        let t = self;
        t.nodes = 0;
        t.pods = 0;
        t.pending_pods = 0;
        t.allocatable = Resources::default();
        t.requests = Resources::default();
        t.usage = Some(Resources::default());
        t.history.clear();
        for c in clusters {
            match &c.view.latest {
                Some(s) => {
                    t.nodes += s.nodes;
                    t.pods += s.pods;
                    t.pending_pods += s.pending_pods;
                    t.allocatable = t.allocatable.plus(s.allocatable);
                    t.requests = t.requests.plus(s.requests);
                    t.usage = t.usage.zip(s.usage).map(|(a, b)| a.plus(b));
                }
                None => t.usage = None,
            }
        }
        for kind in SeriesKind::FORECAST {
            let hs: Vec<&HourlySeries> = clusters
                .iter()
                .filter_map(|c| c.view.history.get(&kind))
                .collect();
            if !hs.is_empty() && hs.len() == clusters.len() {
                t.history.insert(kind, crate::forecast::sum_series(&hs));
            }
        }
    }

    /// Summed forecasts and costs of `clusters`.
    fn planned_figures(&mut self, clusters: &[ClusterTab]) {
        self.forecast.clear();
        for kind in SeriesKind::FORECAST {
            let fs: Vec<&Forecast> = clusters
                .iter()
                .filter_map(|c| c.forecast.get(&kind))
                .collect();
            if !fs.is_empty()
                && fs.len() == clusters.len()
                && let Some(sum) = crate::forecast::sum_forecasts(&fs)
            {
                self.forecast.insert(kind, sum);
            }
        }
        let plans: Vec<&ClusterPlan> = clusters.iter().filter_map(|c| c.plan.as_ref()).collect();
        self.priced = plans.len();
        self.usd_per_hour = plans.iter().map(|p| p.usd_per_hour_now).sum();
        self.usd_per_month = self.usd_per_hour * crate::plan::cost::HOURS_PER_MONTH;
    }
}

pub struct AppState {
    pub mode: Mode,
    /// One tab per cluster, in tab order.
    pub clusters: Vec<ClusterTab>,
    pub fleet: FleetTotals,
    pub tab: Tab,
    pub chart: SeriesKind,
    pub pane: LowerPane,
    pub help: bool,
    /// The proposal selected in the Plan pane (index in its order).
    pub selected: usize,
    pub modal: Option<Modal>,
    /// The fleet's time at the last event (what the confirmation's
    /// cooldown and runaway checks count from).
    pub now: DateTime<Utc>,
    pub forecasting: ForecastStatus,
    /// Demo clock speed (1 in live mode).
    pub speed: f64,
    /// The configured business events (`[[event]]`).
    pub business_events: Vec<BusinessEvent>,
    /// A source whose data is older than this (fleet seconds) is stale.
    pub stale_after_secs: i64,
    pub quit: bool,
}

impl AppState {
    pub fn new(
        mode: Mode,
        clusters: Vec<ClusterId>,
        speed: f64,
        stale_after_secs: i64,
        model: &str,
    ) -> AppState {
        AppState {
            mode,
            clusters: clusters.into_iter().map(ClusterTab::new).collect(),
            fleet: FleetTotals::default(),
            tab: Tab::Fleet,
            chart: SeriesKind::Nodes,
            pane: LowerPane::Forecast,
            help: false,
            selected: 0,
            modal: None,
            now: DateTime::<Utc>::UNIX_EPOCH,
            forecasting: ForecastStatus {
                model: model.to_string(),
                ..Default::default()
            },
            speed,
            business_events: Vec::new(),
            stale_after_secs,
            quit: false,
        }
    }

    /// Tabs in order: the fleet, then each cluster.
    pub fn tabs(&self) -> Vec<Tab> {
        std::iter::once(Tab::Fleet)
            .chain((0..self.clusters.len()).map(Tab::Cluster))
            .collect()
    }

    /// The cluster on screen, if a cluster tab is.
    pub fn selected_cluster(&self) -> Option<&ClusterTab> {
        match self.tab {
            Tab::Fleet => None,
            Tab::Cluster(i) => self.clusters.get(i),
        }
    }

    pub fn cluster_mut(&mut self, id: &ClusterId) -> Option<&mut ClusterTab> {
        self.clusters.iter_mut().find(|c| c.id == *id)
    }

    pub fn cluster(&self, id: &ClusterId) -> Option<&ClusterTab> {
        self.clusters.iter().find(|c| c.id == *id)
    }

    /// Takes the store's newest fleet: each cluster's view, then the totals.
    pub fn set_fleet(&mut self, fleet: &Fleet) {
        let newest_hour = |v: &ClusterView| v.history.values().filter_map(|h| h.end()).max();
        for (id, view) in &fleet.clusters {
            let Some(c) = self.clusters.iter_mut().find(|c| c.id == *id) else {
                continue;
            };
            // An event's uplift changes with a new hour of history (or of
            // the clock), not with every sample: measured once an hour.
            let measure = !self.business_events.is_empty()
                && (c.events.is_empty() || newest_hour(&c.view) != newest_hour(view));
            c.view = view.clone();
            if measure {
                c.events = SeriesKind::FORECAST
                    .into_iter()
                    .map(|k| {
                        let h = view.history.get(&k);
                        (k, records(&self.business_events, h, self.now))
                    })
                    .collect();
            }
        }
        self.fleet.live_figures(&self.clusters);
    }

    /// Takes a cluster's new forecasts.
    pub fn set_forecast(&mut self, id: &ClusterId, forecast: ClusterForecast) {
        if let Some(c) = self.cluster_mut(id) {
            c.forecast = forecast;
        }
        self.fleet.planned_figures(&self.clusters);
    }

    /// Takes a cluster's record from the forecast ledger.
    pub fn set_accuracy(&mut self, id: &ClusterId, accuracy: ClusterAccuracy) {
        if let Some(c) = self.cluster_mut(id) {
            c.accuracy_line = crate::forecast::accuracy::fleet_line(Some(&accuracy));
            c.accuracy = accuracy;
        }
    }

    /// Takes a cluster's model versions.
    pub fn set_models(&mut self, id: &ClusterId, models: crate::forecast::champion::ClusterModels) {
        if let Some(c) = self.cluster_mut(id) {
            c.models = models;
        }
    }

    /// Takes a cluster's new plan.
    pub fn set_plan(&mut self, id: &ClusterId, plan: ClusterPlan) {
        if let Some(c) = self.cluster_mut(id) {
            c.plan = Some(plan);
        }
        self.fleet.planned_figures(&self.clusters);
    }
}

/// A duration as "42s", "5m", "3h".
pub fn fmt_age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}
