//! The executor's task: approvals and rejections from the app loop, one at
//! a time, each decision sent back as an [`Action`]. At start it reconciles
//! audit rows a crash left open and sends each cluster's last 24 h.

use crate::app::Action;
use crate::clock::Clock;
use crate::domain::{ClusterId, ScalingAction};
use crate::exec::Executor;
use chrono::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Debug)]
pub enum ExecRequest {
    Approve(ScalingAction),
    Reject(ScalingAction, String),
    /// Expired or superseded before the executor's rules.
    Refuse(ScalingAction, String),
}

pub async fn run(
    executor: Executor,
    clusters: Vec<ClusterId>,
    mut rx: mpsc::Receiver<ExecRequest>,
    clock: Clock,
    tx: mpsc::Sender<Action>,
    mut shutdown: watch::Receiver<bool>,
) {
    for (id, outcome) in executor.reconcile(clock.now()).await {
        tracing::warn!(action = %id, outcome = outcome.key(), "audit row reconciled after a restart");
    }
    for id in &clusters {
        let rows = executor.audit(id, clock.now() - Duration::hours(24));
        if tx.send(Action::Audit(id.clone(), rows)).await.is_err() {
            return;
        }
    }
    loop {
        let req = tokio::select! {
            r = rx.recv() => r,
            _ = shutdown.changed() => return,
        };
        let Some(req) = req else { return };
        let (cluster, decision) = match req {
            ExecRequest::Approve(a) => {
                let d = executor.approve(&a, clock.now()).await;
                tracing::info!(action = %d.action_id, outcome = d.outcome.key(), detail = %d.detail, "approval");
                (a.cluster, d)
            }
            ExecRequest::Reject(a, reason) => {
                (a.cluster.clone(), executor.reject(&a, &reason, clock.now()))
            }
            ExecRequest::Refuse(a, why) => {
                (a.cluster.clone(), executor.refuse(&a, &why, clock.now()))
            }
        };
        let rows = executor.audit(&cluster, clock.now() - Duration::hours(24));
        if tx
            .send(Action::Decided(cluster.clone(), Box::new(decision)))
            .await
            .is_err()
            || tx.send(Action::Audit(cluster, rows)).await.is_err()
        {
            return;
        }
    }
}
