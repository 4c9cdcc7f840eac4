//! The running program: source tasks -> store task -> forecast job -> app loop
//! -> coalesced renders; clean shutdown on q, Ctrl-C and SIGTERM.

pub mod executor_task;
pub mod forecast_job;
pub mod hindcast;
pub mod replay;
pub mod retrain;

use crate::app::{Action, AppState, Effect, update};
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::exec::Executor;
use crate::forecast::Forecaster;
use crate::setup::Setup;
use crate::snapshot::Fleet;
use crate::sources::{SourceEvent, run_source};
use crate::store::db::Db;
use crate::store::ledger::Ledger;
use crate::store::run_store;
use anyhow::{Context, Result};
use crossterm::event::{Event, EventStream};
use executor_task::ExecRequest;
use forecast_job::ForecastJob;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Minimum time between two frames (~60 fps at most).
pub const FRAME: Duration = Duration::from_millis(16);

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

pub async fn run_tui(
    setup: Setup,
    forecaster: Arc<dyn Forecaster>,
    models: Option<Arc<crate::store::models::ModelDir>>,
) -> Result<()> {
    let db = Db::open(&setup.db_path)?;
    let fleet_source = &setup.fleet;
    tracing::info!(db = %setup.db_path.display(), mode = ?fleet_source.mode(), "starting");
    let clock = fleet_source.clock();
    let (ids, sources) = fleet_source.sources(&clock)?;
    let store = fleet_source.open_store(db, &ids, clock.now())?;

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
    // The catalog the plans price with: shipped, then live refreshes where
    // the fleet has them.
    let (catalog_tx, catalog_rx) = watch::channel(Arc::new(Catalog::shipped()));
    if let Some(prices) = fleet_source.price_refresh() {
        tasks.push(tokio::spawn(crate::sources::aws_prices::run_refresh(
            prices.targets.clone(),
            Duration::from_secs(prices.every_hours as u64 * 3600),
            catalog_tx.clone(),
            shutdown_rx.clone(),
        )));
    }
    // The demo replays two weeks of its history through the ledger at start.
    let hindcast_days = (fleet_source.mode() == crate::app::Mode::Demo).then_some(14);
    let ledger = Ledger::new(Db::open(&setup.db_path)?, setup.ledger_days);
    let mut job =
        ForecastJob::new(forecaster.clone(), setup.plan.clone()).with_ledger(ledger, hindcast_days);
    let (retrain_hours, drift_factor) = setup.retraining;
    if let Some(models) = models
        && retrain_hours > 0
    {
        job = job.with_retraining(retrain::Retrainer {
            models,
            every_hours: retrain_hours,
            drift_factor,
            since: Some(clock.now()),
        });
    }
    tasks.push(tokio::spawn(job.run(
        fleet_rx.clone(),
        catalog_rx,
        clock.clone(),
        act_tx.clone(),
        shutdown_rx.clone(),
    )));

    let mut state = AppState::new(
        fleet_source.mode(),
        ids.iter().map(|(id, _)| id.clone()).collect(),
        fleet_source.speed(),
        fleet_source.stale_after_secs(),
        forecaster.name(),
    );
    state.business_events = setup.calendar.events.clone();
    // The executor: the one path approvals and rejections take.
    let mut executor = Executor::new(
        Db::open(&setup.db_path)?,
        &crate::exec::local_operator(),
        setup.read_only,
    );
    for (id, target) in fleet_source.actuators() {
        executor = executor.with_target(id, target);
    }
    for tab in &mut state.clusters {
        tab.writable = executor.writable(&tab.id);
        if let Some((call, limits)) = executor.actuator(&tab.id) {
            tab.actuator = call.to_string();
            tab.limits = limits;
        }
    }
    let (exec_tx, exec_rx) = mpsc::channel(16);
    tasks.push(tokio::spawn(executor_task::run(
        executor,
        ids.iter().map(|(id, _)| id.clone()).collect(),
        exec_rx,
        clock.clone(),
        act_tx,
        shutdown_rx.clone(),
    )));
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
        &exec_tx,
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
    exec_tx: &mpsc::Sender<ExecRequest>,
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
        state.now = clock.now();
        for effect in update(state, action) {
            match effect {
                Effect::Render => dirty = true,
                Effect::Quit => return Ok(()),
                Effect::Execute(a) => {
                    if exec_tx.send(ExecRequest::Approve(a)).await.is_err() {
                        tracing::error!("the executor has stopped");
                    }
                }
                Effect::Reject(a, reason) => {
                    if exec_tx.send(ExecRequest::Reject(a, reason)).await.is_err() {
                        tracing::error!("the executor has stopped");
                    }
                }
                Effect::Refuse(a, why) => {
                    if exec_tx.send(ExecRequest::Refuse(a, why)).await.is_err() {
                        tracing::error!("the executor has stopped");
                    }
                }
            }
        }
    }
}
