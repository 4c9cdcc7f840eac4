//! The running program: source tasks -> store task -> forecast job -> app loop
//! -> coalesced renders; clean shutdown on q, Ctrl-C and SIGTERM.

use crate::app::{Action, AppState, Effect, update};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::domain::{ClusterForecast, ClusterId, SeriesKind};
use crate::forecast::{Forecaster, HORIZON_HOURS, origin_for};
use crate::setup::Setup;
use crate::snapshot::{ClusterView, Fleet};
use crate::sources::demo::demo_sources;
use crate::sources::{Source, SourceEvent, SourceEventKind, run_source};
use crate::store::db::Db;
use crate::store::{Store, run_store};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Minimum time between two frames (~60 fps at most).
pub const FRAME: Duration = Duration::from_millis(16);

/// Forecasts of every forecast series of one cluster from `origin`. Pure.
pub fn forecast_cluster(
    f: &dyn Forecaster,
    view: &ClusterView,
    origin: DateTime<Utc>,
) -> ClusterForecast {
    SeriesKind::FORECAST
        .into_iter()
        .filter_map(|k| Some((k, f.forecast_in(k, &view.history, origin, HORIZON_HOURS)?)))
        .collect()
}

/// The demo fleet at `anchor`, built synchronously through the same store
/// path the runtime uses (for tests and benchmarks).
pub fn demo_store_at(anchor: DateTime<Utc>, db: Db) -> Result<Store> {
    let sources = demo_sources(anchor, 1.0)?;
    let ids: Vec<(ClusterId, String)> = sources
        .iter()
        .map(|(s, _)| (s.cluster.clone(), s.region.clone()))
        .collect();
    let mut store = Store::new(db, &ids);
    store.reset_history()?;
    for (spec, mut src) in sources {
        let backfill = futures::executor::block_on(src.backfill(anchor))?;
        let update = futures::executor::block_on(src.poll(anchor))?;
        for kind in [
            SourceEventKind::Backfill(backfill),
            SourceEventKind::Update(update),
        ] {
            store.apply(SourceEvent {
                cluster: spec.cluster.clone(),
                source: src.name().to_string(),
                at: anchor,
                kind,
            })?;
        }
    }
    Ok(store)
}

/// Plans every cluster that has forecasts again with a new catalog (a price
/// refresh), off the async threads.
async fn replan(
    fleet: Arc<Fleet>,
    forecasts: Vec<(ClusterId, ClusterForecast)>,
    plan: Arc<crate::plan::PlanConfig>,
    catalog: Arc<Catalog>,
    today: chrono::NaiveDate,
    tx: mpsc::Sender<Action>,
) {
    let job = tokio::task::spawn_blocking(move || {
        for (id, fc) in forecasts {
            let Some((_, v)) = fleet.clusters.iter().find(|(c, _)| *c == id) else {
                continue;
            };
            if let Some(p) = crate::plan::plan_cluster(v, &fc, &plan, &catalog, today)
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

/// Forecast job: on each new fleet, forecasts clusters whose last forecast is
/// from an earlier hour, off the async threads. A newer fleet supersedes one
/// that arrived while a job ran (the watch channel keeps only the newest).
/// Plans follow each cluster's forecasts, and are made again from the last
/// forecasts when the catalog changes (a live price refresh).
async fn run_forecasts(
    mut fleet_rx: watch::Receiver<Arc<Fleet>>,
    mut catalog_rx: watch::Receiver<Arc<Catalog>>,
    forecaster: Arc<dyn Forecaster>,
    plan: Arc<crate::plan::PlanConfig>,
    clock: Clock,
    tx: mpsc::Sender<Action>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut done: HashMap<ClusterId, (DateTime<Utc>, usize)> = HashMap::new();
    let mut last: HashMap<ClusterId, ClusterForecast> = HashMap::new();
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
                let forecasts = last.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let today = clock.now().date_naive();
                replan(fleet, forecasts, plan.clone(), catalog, today, tx.clone()).await;
                continue;
            }
            _ = shutdown.changed() => return,
        }
        let fleet = fleet_rx.borrow_and_update().clone();
        // Not marked seen: a refresh that lands while this job runs fires the
        // catalog branch afterwards, when `last` holds the job's forecasts.
        let catalog = catalog_rx.borrow().clone();
        let origin = origin_for(clock.now());
        let todo: Vec<(ClusterId, ClusterView)> = fleet
            .clusters
            .iter()
            .filter(|(id, v)| {
                let hours = v
                    .history
                    .get(&SeriesKind::Nodes)
                    .map(|h| h.hours_present())
                    .unwrap_or(0);
                hours > 0 && done.get(id).is_none_or(|(o, h)| *o < origin || *h == 0)
            })
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect();
        if todo.is_empty() {
            continue;
        }
        let f = forecaster.clone();
        let plan = plan.clone();
        let today = clock.now().date_naive();
        let job_tx = tx.clone();
        // Each cluster's forecasts go out as soon as they are made, with progress
        // before each cluster (the first run trains the learned members).
        let job = tokio::task::spawn_blocking(move || {
            let total = todo.len();
            let mut finished = Vec::new();
            for (i, (id, v)) in todo.into_iter().enumerate() {
                let progress = Action::ForecastProgress {
                    done: i,
                    total,
                    cluster: id.clone(),
                };
                if job_tx.blocking_send(progress).is_err() {
                    break;
                }
                let fc = forecast_cluster(f.as_ref(), &v, origin);
                finished.push((id.clone(), fc.clone()));
                // The plan follows from the new forecasts and today's snapshot.
                let planned = crate::plan::plan_cluster(&v, &fc, &plan, &catalog, today);
                if job_tx
                    .blocking_send(Action::Forecasts(id.clone(), fc))
                    .is_err()
                {
                    break;
                }
                if let Some(p) = planned
                    && job_tx.blocking_send(Action::Plan(id, Box::new(p))).is_err()
                {
                    break;
                }
            }
            finished
        });
        match job.await {
            Ok(results) => {
                for (id, fc) in results {
                    done.insert(id.clone(), (origin, fc.len()));
                    last.insert(id, fc);
                }
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

/// Restores the terminal when dropped, on every exit path.
struct TerminalGuard;
impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Panics go to the log. A panic on the UI thread restores the terminal and
/// prints as usual (ratatui's hook); one in a background task only ends that
/// task, whose source then shows as stale, and never tears down the screen.
fn install_panic_hook() {
    let ui_thread = std::thread::current().id();
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("panic: {info}");
        if std::thread::current().id() == ui_thread {
            restore_and_print(info);
        }
    }));
}

/// The fleet's clusters (tab order, with regions), their sources and clock:
/// the demo replay, or the live clusters on the wall clock.
type Fleetwide = (
    Vec<(ClusterId, String)>,
    Vec<(ClusterId, Box<dyn Source>)>,
    Clock,
);

fn fleet_sources(setup: &Setup) -> Result<Fleetwide> {
    if setup.mode == crate::app::Mode::Live {
        let ids = setup
            .live
            .iter()
            .map(|c| (ClusterId(c.name.clone()), c.region.clone()))
            .collect();
        let sources = setup
            .live
            .iter()
            .flat_map(|c| {
                c.sources()
                    .into_iter()
                    .map(|s| (ClusterId(c.name.clone()), s))
            })
            .collect();
        return Ok((ids, sources, Clock::wall()));
    }
    let anchor = crate::sources::demo::demo_epoch();
    let demo = demo_sources(anchor, setup.speed)?;
    let ids = demo
        .iter()
        .map(|(s, _)| (s.cluster.clone(), s.region.clone()))
        .collect();
    let sources = demo
        .into_iter()
        .map(|(spec, src)| (spec.cluster, Box::new(src) as Box<dyn Source>))
        .collect();
    Ok((ids, sources, Clock::new(anchor, setup.speed)))
}

pub async fn run_tui(setup: Setup, forecaster: Arc<dyn Forecaster>) -> Result<()> {
    let db = Db::open(&setup.db_path)?;
    tracing::info!(db = %setup.db_path.display(), mode = ?setup.mode, "starting");
    let (ids, sources, clock) = fleet_sources(&setup)?;
    let mut store = Store::new(db, &ids);
    if setup.mode == crate::app::Mode::Live {
        store
            .load_history(clock.now())
            .context("cannot load the stored history")?;
    } else {
        store
            .reset_history()
            .context("cannot reset the demo history")?;
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (src_tx, src_rx) = mpsc::channel::<SourceEvent>(1024);
    let (fleet_tx, mut fleet_rx) = watch::channel(Arc::new(store.fleet().clone()));
    let (act_tx, mut act_rx) = mpsc::channel::<Action>(64);
    let mut tasks = Vec::new();
    for (cluster, src) in sources {
        tasks.push(tokio::spawn(run_source(
            cluster,
            src,
            clock.clone(),
            src_tx.clone(),
            shutdown_rx.clone(),
        )));
    }
    drop(src_tx);
    tasks.push(tokio::spawn(run_store(
        store,
        src_rx,
        fleet_tx,
        shutdown_rx.clone(),
    )));
    // The catalog the plans price with: shipped, then live refreshes (live
    // mode with `[prices] refresh`, the default).
    let (catalog_tx, catalog_rx) = watch::channel(Arc::new(Catalog::shipped()));
    if setup.mode == crate::app::Mode::Live && setup.prices.refresh {
        tasks.push(tokio::spawn(crate::sources::aws_prices::run_refresh(
            setup.prices.targets.clone(),
            Duration::from_secs(setup.prices.every_hours as u64 * 3600),
            catalog_tx.clone(),
            shutdown_rx.clone(),
        )));
    }
    tasks.push(tokio::spawn(run_forecasts(
        fleet_rx.clone(),
        catalog_rx,
        forecaster.clone(),
        Arc::new(setup.plan.clone()),
        clock.clone(),
        act_tx,
        shutdown_rx.clone(),
    )));

    let mut state = AppState::new(
        setup.mode,
        ids.iter().map(|(id, _)| id.clone()).collect(),
        setup.speed,
        forecaster.name(),
    );
    state.headroom = setup.headroom;
    if setup.mode == crate::app::Mode::Live {
        state.stale_after_secs = crate::sources::live::STALE_AFTER_SECS;
    }
    let mut terminal = ratatui::try_init().context("cannot open the terminal")?;
    let _guard = TerminalGuard;
    install_panic_hook();
    let result = app_loop(
        &mut terminal,
        &mut state,
        &setup,
        &clock,
        &mut fleet_rx,
        &mut act_rx,
    )
    .await;

    let _ = shutdown_tx.send(true);
    drop(catalog_tx);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(3), t).await;
    }
    tracing::info!("stopped");
    result
}

async fn app_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut AppState,
    setup: &Setup,
    clock: &Clock,
    fleet_rx: &mut watch::Receiver<Arc<Fleet>>,
    act_rx: &mut mpsc::Receiver<Action>,
) -> Result<()> {
    let mut events = EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let (mut dirty, mut last_draw) = (true, Instant::now() - FRAME);
    let (mut fleet_open, mut act_open) = (true, true);
    loop {
        if dirty && last_draw.elapsed() >= FRAME {
            let now = clock.now();
            terminal.draw(|f| crate::ui::view(f, state, &setup.theme, now))?;
            dirty = false;
            last_draw = Instant::now();
        }
        let next_frame = tokio::time::Instant::from_std(last_draw + FRAME);
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => Action::Key(k),
                Some(Ok(Event::Resize(..))) => Action::Resize,
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::error!("terminal input: {e}");
                    Action::Shutdown
                }
                None => Action::Shutdown,
            },
            r = fleet_rx.changed(), if fleet_open => match r {
                Ok(()) => Action::Fleet(fleet_rx.borrow_and_update().clone()),
                Err(_) => { fleet_open = false; continue }
            },
            a = act_rx.recv(), if act_open => match a {
                Some(a) => a,
                None => { act_open = false; continue }
            },
            _ = tick.tick() => Action::Tick,
            _ = sigterm.recv() => Action::Shutdown,
            _ = tokio::signal::ctrl_c() => Action::Shutdown,
            _ = tokio::time::sleep_until(next_frame), if dirty => continue,
        };
        for effect in update(state, action) {
            match effect {
                Effect::Render => dirty = true,
                Effect::Quit => return Ok(()),
            }
        }
    }
}
