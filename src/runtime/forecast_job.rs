//! The forecast job: the one owner of background forecasting and planning.
//!
//! On each new fleet it forecasts the clusters whose last forecast is from an
//! earlier hour, off the async threads, and plans each from its forecasts.
//! At most one job runs and at most one waits: fleets published while a job
//! runs are not queued one by one; the newest replaces any waiting one (the
//! watch channel keeps only the newest). A new catalog (a live price
//! refresh) plans every cluster again from its last forecasts.

use super::retrain::Retrainer;
use crate::app::Action;
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::domain::{ClusterForecast, ClusterId, SeriesKind};
use crate::forecast::accuracy::{ClusterAccuracy, group_rows};
use crate::forecast::{Forecaster, forecast_cluster_pinned, origin_for};
use crate::plan::cluster::Sizing;
use crate::plan::{PlanConfig, plan_cluster};
use crate::snapshot::{ClusterView, Fleet};
use crate::store::ledger::{Ledger, keep};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

pub struct ForecastJob {
    forecaster: Arc<dyn Forecaster>,
    plan: Arc<PlanConfig>,
    /// Per cluster: the origin of its last forecast and how many series it had.
    done: HashMap<ClusterId, (DateTime<Utc>, usize)>,
    /// Per cluster: its last forecasts, which a new catalog plans again.
    last: HashMap<ClusterId, ClusterForecast>,
    /// Where every forecast is stored and scored.
    ledger: Option<Arc<Mutex<Ledger>>>,
    /// Days of history replayed through the ledger when a cluster is first
    /// forecast (the demo fleet), and the clusters replayed so far.
    hindcast_days: Option<i64>,
    hindcast_started: HashSet<ClusterId>,
    /// Model versions: which serves each series, and the challengers.
    retrainer: Option<Arc<Retrainer>>,
}

/// One run's work: clusters to forecast from `origin`, planned with
/// `catalog` on the prices of `now`'s day.
struct Run {
    todo: Vec<(ClusterId, Arc<ClusterView>)>,
    origin: DateTime<Utc>,
    catalog: Arc<Catalog>,
    /// The fleet's time when the run started (what the ledger scores by).
    now: DateTime<Utc>,
}

impl ForecastJob {
    pub fn new(forecaster: Arc<dyn Forecaster>, plan: PlanConfig) -> Self {
        ForecastJob {
            forecaster,
            plan: Arc::new(plan),
            done: HashMap::new(),
            last: HashMap::new(),
            ledger: None,
            hindcast_days: None,
            hindcast_started: HashSet::new(),
            retrainer: None,
        }
    }

    /// Serves each series with its champion model version and trains a
    /// challenger when one is due (at most one per run: a contest trains
    /// three models and forecasts 16 times).
    pub fn with_retraining(mut self, retrainer: Retrainer) -> Self {
        self.retrainer = Some(Arc::new(retrainer));
        self
    }

    /// Stores and scores every forecast in `ledger`; with `hindcast_days`,
    /// a cluster's first forecast also replays that many days of its
    /// history through the ledger (forecasts at past origins from the
    /// history before each), so the Accuracy pane fills at once.
    pub fn with_ledger(mut self, ledger: Ledger, hindcast_days: Option<i64>) -> Self {
        self.ledger = Some(Arc::new(Mutex::new(ledger)));
        self.hindcast_days = hindcast_days;
        self
    }

    /// The clusters of `fleet` a job at `origin` forecasts: those with
    /// history whose last forecast is from an earlier hour or had no series.
    pub fn due(&self, fleet: &Fleet, origin: DateTime<Utc>) -> Vec<(ClusterId, Arc<ClusterView>)> {
        fleet
            .clusters
            .iter()
            .filter(|(id, v)| {
                let hours = v
                    .history
                    .get(&SeriesKind::Nodes)
                    .map(|h| h.hours_present())
                    .unwrap_or(0);
                hours > 0
                    && self
                        .done
                        .get(id)
                        .is_none_or(|(o, n)| *o < origin || *n == 0)
            })
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect()
    }

    /// Forecasts and plans each cluster of `run` (blocking: runs off the async
    /// threads), sending progress before each cluster and its forecasts and
    /// plan as soon as they are made. Returns the forecasts made.
    fn forecast_and_plan(
        forecaster: &dyn Forecaster,
        plan: &PlanConfig,
        ledger: Option<&Mutex<Ledger>>,
        retrainer: Option<&Retrainer>,
        run: Run,
        tx: &mpsc::Sender<Action>,
    ) -> Vec<(ClusterId, ClusterForecast)> {
        let total = run.todo.len();
        let mut finished = Vec::new();
        let mut records = Vec::new();
        for (i, (id, v)) in run.todo.into_iter().enumerate() {
            let progress = Action::ForecastProgress {
                done: i,
                total,
                cluster: id.clone(),
            };
            if tx.blocking_send(progress).is_err() {
                break;
            }
            let pins = retrainer.map(|r| r.pins(&id.0)).unwrap_or_default();
            let fc = forecast_cluster_pinned(forecaster, &v, run.origin, &pins);
            finished.push((id.clone(), fc.clone()));
            let planned = sized_plan(&v, &fc, plan, ledger, &id, &run.catalog, run.now);
            let acc = ledger.and_then(|l| {
                let groups = match (&planned, fc.get(&SeriesKind::CpuRequests)) {
                    (Some(p), Some(cpu)) => group_rows(&p.needs, cpu, p.headroom),
                    _ => Vec::new(),
                };
                keep(l, &id, Some(&fc), &groups, run.now)
            });
            if let Some(acc) = &acc
                && tx
                    .blocking_send(Action::Accuracy(id.clone(), Box::new(acc.clone())))
                    .is_err()
            {
                break;
            }
            records.push((id.clone(), v.clone(), acc));
            if tx.blocking_send(Action::Forecasts(id.clone(), fc)).is_err() {
                break;
            }
            if let Some(p) = planned
                && tx.blocking_send(Action::Plan(id, Box::new(p))).is_err()
            {
                break;
            }
        }
        if let Some(r) = retrainer {
            Self::retrain_one(forecaster, r, ledger, &records, run.now, tx);
        }
        finished
    }

    /// The first challenger due among the run's clusters' series: trained,
    /// judged and recorded; a promotion is an audit row. Then each
    /// cluster's model versions go to the app.
    fn retrain_one(
        forecaster: &dyn Forecaster,
        r: &Retrainer,
        ledger: Option<&Mutex<Ledger>>,
        records: &[(ClusterId, Arc<ClusterView>, Option<ClusterAccuracy>)],
        now: DateTime<Utc>,
        tx: &mpsc::Sender<Action>,
    ) {
        let done = records.iter().find_map(|(id, v, acc)| {
            SeriesKind::FORECAST.into_iter().find_map(|k| {
                let a = acc.as_ref().and_then(|a| a.get(&k));
                r.retrain(forecaster, &id.0, k, &v.history, a, now)
            })
        });
        if let Some(d) = &done {
            tracing::info!("{}", d.describe());
            if let (Some(p), Some(l)) = (&d.promotion, ledger) {
                let detail = format!("automatic: {}", d.describe());
                let audited =
                    l.lock()
                        .map_err(|_| "lock poisoned".to_string())
                        .and_then(|mut l| {
                            l.audit_model(
                                &d.cluster,
                                d.series.key(),
                                p.from,
                                p.to.version,
                                &detail,
                                now,
                            )
                            .map_err(|e| e.to_string())
                        });
                if let Err(e) = audited {
                    tracing::warn!("cannot audit a model promotion: {e}");
                }
            }
        }
        for (id, _, _) in records {
            let versions = r.serving(&id.0);
            if tx
                .blocking_send(Action::Models(id.clone(), versions))
                .is_err()
            {
                return;
            }
        }
    }

    /// Plans every cluster with forecasts again with `catalog`.
    async fn replan(
        &self,
        fleet: Arc<Fleet>,
        catalog: Arc<Catalog>,
        now: DateTime<Utc>,
        tx: &mpsc::Sender<Action>,
    ) {
        let forecasts: Vec<(ClusterId, ClusterForecast)> = self
            .last
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (plan, ledger) = (self.plan.clone(), self.ledger.clone());
        let tx = tx.clone();
        let job = tokio::task::spawn_blocking(move || {
            for (id, fc) in forecasts {
                let Some(v) = fleet.view(&id) else { continue };
                let planned = sized_plan(v, &fc, &plan, ledger.as_deref(), &id, &catalog, now);
                if let Some(p) = planned
                    && tx.blocking_send(Action::Plan(id, Box::new(p))).is_err()
                {
                    return;
                }
            }
        });
        if let Err(e) = job.await {
            tracing::error!("re-planning after a price refresh failed: {e}");
        }
    }

    /// Starts the hindcast of the clusters of `fleet` forecast for the first
    /// time (with a ledger and hindcast days only).
    fn start_hindcasts(
        &mut self,
        fleet: &Fleet,
        origin: DateTime<Utc>,
        tx: &mpsc::Sender<Action>,
        shutdown: &watch::Receiver<bool>,
    ) {
        let (Some(days), Some(ledger)) = (self.hindcast_days, &self.ledger) else {
            return;
        };
        let todo: Vec<(ClusterId, Arc<ClusterView>)> = fleet
            .clusters
            .iter()
            .filter(|(id, _)| self.last.get(id).is_some_and(|f| !f.is_empty()))
            .filter(|(id, _)| self.hindcast_started.insert(id.clone()))
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect();
        if todo.is_empty() {
            return;
        }
        let (forecaster, ledger, tx, shutdown) = (
            self.forecaster.clone(),
            ledger.clone(),
            tx.clone(),
            shutdown.clone(),
        );
        let headroom = self.plan.headroom;
        tokio::task::spawn_blocking(move || {
            super::hindcast::run(
                forecaster.as_ref(),
                (&ledger, headroom),
                todo,
                origin,
                days,
                &tx,
                &shutdown,
            )
        });
    }

    /// Runs until shutdown or until the fleet or the app hangs up.
    pub async fn run(
        mut self,
        mut fleet_rx: watch::Receiver<Arc<Fleet>>,
        mut catalog_rx: watch::Receiver<Arc<Catalog>>,
        clock: Clock,
        tx: mpsc::Sender<Action>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut catalog_open = true;
        loop {
            tokio::select! {
                r = fleet_rx.changed() => if r.is_err() { return },
                r = catalog_rx.changed(), if catalog_open => {
                    if r.is_err() {
                        catalog_open = false;
                        continue;
                    }
                    let catalog = catalog_rx.borrow_and_update().clone();
                    let fleet = fleet_rx.borrow().clone();
                    self.replan(fleet, catalog, clock.now(), &tx).await;
                    continue;
                }
                _ = shutdown.changed() => return,
            }
            let fleet = fleet_rx.borrow_and_update().clone();
            let origin = origin_for(clock.now());
            let todo = self.due(&fleet, origin);
            if todo.is_empty() {
                continue;
            }
            // The catalog is not marked seen: a refresh that lands while this
            // job runs fires the catalog branch afterwards, when `last` holds
            // the job's forecasts.
            let run = Run {
                todo,
                origin,
                catalog: catalog_rx.borrow().clone(),
                now: clock.now(),
            };
            let (forecaster, plan, job_tx) =
                (self.forecaster.clone(), self.plan.clone(), tx.clone());
            let (ledger, retrainer) = (self.ledger.clone(), self.retrainer.clone());
            let job = tokio::task::spawn_blocking(move || {
                let ledger = ledger.as_deref();
                if let Some(l) = ledger
                    && let Ok(mut l) = l.lock()
                    && let Err(e) = l.fold(run.now)
                {
                    tracing::warn!("forecast ledger: cannot fold old forecasts: {e}");
                }
                let retrainer = retrainer.as_deref();
                Self::forecast_and_plan(forecaster.as_ref(), &plan, ledger, retrainer, run, &job_tx)
            });
            match job.await {
                Ok(results) => {
                    for (id, fc) in results {
                        self.done.insert(id.clone(), (origin, fc.len()));
                        self.last.insert(id, fc);
                    }
                    self.start_hindcasts(&fleet, origin, &tx, &shutdown);
                    if tx.send(Action::ForecastsDone).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx
                        .send(Action::ForecastFailed(format!("forecast job failed: {e}")))
                        .await;
                }
            }
        }
    }
}

/// `cluster`'s plan from its forecasts, its node groups each sized for the
/// quantile its own record in the ledger sets when `plan.target_shortage`
/// is on (the dashboard's plan; `nodecast actions` makes the same).
pub fn sized_plan(
    view: &ClusterView,
    fc: &ClusterForecast,
    plan: &PlanConfig,
    ledger: Option<&Mutex<Ledger>>,
    id: &ClusterId,
    catalog: &Catalog,
    now: DateTime<Utc>,
) -> Option<crate::plan::ClusterPlan> {
    let snap = view.latest.as_ref()?;
    let cpu = fc.get(&SeriesKind::CpuRequests)?;
    let mem = fc.get(&SeriesKind::MemRequests)?;
    let learned = plan
        .target_shortage
        .zip(ledger)
        .and_then(|target| learn(snap, (cpu, mem), plan, target, id, now));
    let mut cfg = plan.clone();
    (cfg.group_last_change, cfg.cluster_applies) = ledger
        .map(|l| recent_applies(l, plan, id, now))
        .unwrap_or_default();
    let sizing = learned.map(|(cluster, groups)| {
        cfg.rules.quantile = cluster.quantile;
        cfg.group_sizing = groups;
        cluster
    });
    let p = plan_cluster(view, fc, &cfg, catalog, now.date_naive())?;
    Some(crate::plan::ClusterPlan { sizing, ..p })
}

/// Each node group's last resize, and the cluster's applies (when, nodes
/// added), as `PlanConfig::group_last_change` and `cluster_applies` hold them.
type RecentApplies = (
    std::collections::BTreeMap<String, DateTime<Utc>>,
    Vec<(DateTime<Utc>, u32)>,
);

/// What the audit log (it shares the ledger's database) says was applied
/// to `id` lately: when each node group was last resized by an apply whose
/// cooldown is not over at `now` (a cooldown already over holds nothing,
/// not even a change due before `now`), and the cluster's applies of the
/// hour before `now` (when, nodes added), which the runaway guard counts.
/// None when the log cannot be read (logged: the plan then assumes no
/// recent change, and the executor still refuses what its rules do).
fn recent_applies(
    ledger: &Mutex<Ledger>,
    plan: &PlanConfig,
    id: &ClusterId,
    now: DateTime<Utc>,
) -> RecentApplies {
    let cooldown = plan
        .change_limits
        .get(&id.0)
        .copied()
        .unwrap_or_default()
        .cooldown;
    // Rows are kept by when the decision was made; an hour more reaches an
    // apply that finished well after it.
    let hour = chrono::Duration::hours(1);
    let rows = ledger
        .lock()
        .map_err(|_| "lock poisoned".to_string())
        .and_then(|l| {
            l.audit_rows(&id.0, now - cooldown.max(hour) - hour)
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|e| {
            tracing::warn!("{}: audit log not read for the plan's cooldown: {e}", id.0);
            Default::default()
        });
    let mut last = crate::store::audit::last_writes(&rows);
    last.retain(|_, t| *t + cooldown > now);
    let mut applies = crate::store::audit::landed_applies(&rows);
    applies.retain(|(t, _)| *t <= now && now - *t < hour);
    (last, applies)
}

/// The sizing learned from one read of `id`'s ledger: the cluster's (its
/// CPU record) and each node group's with a scored hour (its own nodes),
/// both starting at `plan.quantile`; `None` when the ledger cannot say
/// (logged: the plan then sizes for `plan.quantile`).
fn learn(
    snap: &crate::snapshot::ClusterSnapshot,
    (cpu, mem): (&crate::domain::Forecast, &crate::domain::Forecast),
    plan: &PlanConfig,
    (target, ledger): (f64, &Mutex<Ledger>),
    id: &ClusterId,
    now: DateTime<Utc>,
) -> Option<(Sizing, std::collections::BTreeMap<String, Sizing>)> {
    let needs = crate::forecast::nodes::nodes_needed(snap, cpu, mem, plan.headroom);
    let learned = ledger
        .lock()
        .map_err(|_| "lock poisoned".to_string())
        .and_then(|l| {
            l.group_sizing(
                &id.0,
                now,
                (target, plan.rules.quantile),
                &needs,
                plan.headroom,
            )
            .map_err(|e| e.to_string())
        });
    let sizing = |s: &crate::plan::shortage::ShortageTarget| Sizing {
        target,
        quantile: s.quantile,
        realized: s.realized(),
        hours: s.hours(),
    };
    match learned {
        Ok((cluster, groups)) => Some((
            sizing(&cluster),
            groups
                .iter()
                .filter(|(_, s)| s.hours() > 0)
                .map(|(g, s)| (g.clone(), sizing(s)))
                .collect(),
        )),
        Err(e) => {
            tracing::warn!(cluster = %id, "sizing to the shortage target: {e}");
            None
        }
    }
}
