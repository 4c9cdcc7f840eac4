//! The demo fleet's hindcast: when a cluster is first forecast, its recent
//! history is replayed through the forecast ledger (a forecast at every
//! [`STEP`]-hour origin of the last days, each from the history before that
//! origin only), so the Accuracy pane has scored forecasts within a minute
//! of start instead of after a day. Runs off the async threads, beside the
//! forecast job, and stops at shutdown.

use crate::app::Action;
use crate::domain::ClusterId;
use crate::forecast::horizon::STEP;
use crate::forecast::{Forecaster, forecast_cluster};
use crate::snapshot::ClusterView;
use crate::store::ledger::{Ledger, keep};
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// Replays `days` days before `origin` of each of `clusters` through the
/// ledger, sending each cluster's record after every origin.
pub fn run(
    forecaster: &dyn Forecaster,
    ledger: &Mutex<Ledger>,
    clusters: Vec<(ClusterId, Arc<ClusterView>)>,
    origin: DateTime<Utc>,
    days: i64,
    tx: &mpsc::Sender<Action>,
    shutdown: &watch::Receiver<bool>,
) {
    let first = origin - Duration::days(days);
    for (id, view) in clusters {
        let mut o = first;
        while o < origin {
            if *shutdown.borrow() || tx.is_closed() {
                return;
            }
            let fc = forecast_cluster(forecaster, &view, o);
            // The hour was current when this forecast was issued: scoring
            // counts from the fleet's now, which is `origin` or later.
            if !fc.is_empty()
                && let Some(acc) = keep(ledger, &id, Some(&fc), origin)
                && tx
                    .blocking_send(Action::Accuracy(id.clone(), Box::new(acc)))
                    .is_err()
            {
                return;
            }
            o += Duration::hours(STEP as i64);
        }
        tracing::info!(cluster = %id, days, "hindcast through the forecast ledger done");
    }
}
