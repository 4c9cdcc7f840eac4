//! What reaches the app loop (keys, the store's fleets, the forecast job's
//! and the executor's results) and what `update` asks of the runtime.

use super::keymap::Command;
use crate::domain::{ClusterForecast, ClusterId, ScalingAction};
use crate::snapshot::Fleet;
use crossterm::event::KeyEvent;
use std::sync::Arc;

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Command(Command),
    /// The store published a new fleet.
    Fleet(Arc<Fleet>),
    /// The forecast job starts on a cluster (`done` of `total` finished so far).
    ForecastProgress {
        done: usize,
        total: usize,
        cluster: ClusterId,
    },
    /// Forecasts of one cluster are ready.
    Forecasts(ClusterId, ClusterForecast),
    /// A cluster's plan, made from its new forecasts.
    Plan(ClusterId, Box<crate::plan::ClusterPlan>),
    /// A cluster's record from the forecast ledger (after a forecast was
    /// stored or actuals scored).
    Accuracy(ClusterId, Box<crate::forecast::accuracy::ClusterAccuracy>),
    /// A cluster's model versions: each series' champion and latest challenger.
    Models(ClusterId, crate::forecast::champion::ClusterModels),
    /// The forecast job finished every cluster it had.
    ForecastsDone,
    /// The executor decided on an action of a cluster.
    Decided(ClusterId, Box<crate::exec::Decision>),
    /// The audit log's rows of the last 24 h for a cluster.
    Audit(ClusterId, Vec<crate::store::audit::AuditRow>),
    ForecastFailed(String),
    /// The clock ticked (status bar ages and clock).
    Tick,
    Resize,
    /// SIGTERM, SIGINT or the input stream closed.
    Shutdown,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    /// Redraw the screen.
    Render,
    Quit,
    /// Apply a confirmed action (through the executor and its rules).
    Execute(ScalingAction),
    /// Record a rejection with its reason.
    Reject(ScalingAction, String),
    /// Record a confirmed approval stopped before the executor's rules:
    /// the proposal expired or a newer plan superseded it.
    Refuse(ScalingAction, String),
}
