//! The demo fleet's hindcast: when a cluster is first forecast, its recent
//! history is replayed through the forecast ledger (a forecast at every
//! [`STEP`]-hour origin of the last days, each from the history before that
//! origin only), so the Accuracy pane has scored forecasts within a minute
//! of start (alone on 2 cores: docs/accuracy.md) instead of after a day.
//! Runs off the async threads, beside the forecast job, and stops at
//! shutdown.

use crate::app::Action;
use crate::domain::ClusterId;
use crate::forecast::accuracy::groups_of;
use crate::forecast::horizon::STEP;
use crate::forecast::{Forecaster, forecast_cluster};
use crate::snapshot::ClusterView;
use crate::store::ledger::{Ledger, keep};
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};

/// Origins stored between two read-backs of a cluster's record (a replayed
/// day): reading 30 days of rows back after every forecast would cost more
/// than the forecast.
const ORIGINS_PER_RECORD: usize = 24 / STEP;

/// Replays `days` days before `origin` of each of `clusters` through the
/// ledger (the node groups' nodes needed too, at today's share with
/// `headroom`), sending each cluster's record after every replayed day and
/// at the end.
pub fn run(
    forecaster: &dyn Forecaster,
    (ledger, headroom): (&Mutex<Ledger>, f64),
    clusters: Vec<(ClusterId, Arc<ClusterView>)>,
    origin: DateTime<Utc>,
    days: i64,
    tx: &mpsc::Sender<Action>,
    shutdown: &watch::Receiver<bool>,
) {
    let first = origin - Duration::days(days);
    for (id, view) in clusters {
        let (mut o, mut stored) = (first, 0);
        while o < origin {
            if *shutdown.borrow() || tx.is_closed() {
                return;
            }
            let fc = forecast_cluster(forecaster, &view, o);
            o += Duration::hours(STEP as i64);
            if fc.is_empty() {
                continue;
            }
            let groups = view
                .latest
                .as_ref()
                .map(|snap| groups_of(snap, &fc, headroom))
                .unwrap_or_default();
            let stored_now = ledger.lock().map(|mut l| {
                l.store(&id.0, &fc)
                    .and_then(|_| l.store_groups(&id.0, &groups))
            });
            match stored_now {
                Ok(Ok(_)) => stored += 1,
                Ok(Err(e)) => tracing::warn!(cluster = %id, "forecast ledger: {e}"),
                Err(_) => return,
            }
            if stored % ORIGINS_PER_RECORD == 0 && !send_record(ledger, &id, origin, tx) {
                return;
            }
        }
        if stored % ORIGINS_PER_RECORD != 0 && !send_record(ledger, &id, origin, tx) {
            return;
        }
        tracing::info!(cluster = %id, days, "hindcast through the forecast ledger done");
    }
}

/// Scores `id`'s ledger by the fleet's now (`origin` or later) and sends its
/// record; false when the app has hung up.
fn send_record(
    ledger: &Mutex<Ledger>,
    id: &ClusterId,
    origin: DateTime<Utc>,
    tx: &mpsc::Sender<Action>,
) -> bool {
    match keep(ledger, id, None, &[], origin) {
        Some(acc) => tx
            .blocking_send(Action::Accuracy(id.clone(), Box::new(acc)))
            .is_ok(),
        None => true,
    }
}
