//! Sources observe clusters and feed the store. Each runs as its own task and
//! only sends events; it never touches UI state.

pub mod aws_prices;
pub mod cloudwatch;
pub mod demo;
pub mod kube;
pub mod kube_objects;
pub mod live;
pub mod prometheus;
pub mod replay;

use crate::clock::Clock;
use crate::domain::{ClusterId, Sample, SeriesKind};
use crate::snapshot::ClusterState;
use anyhow::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// `t` rounded down to a multiple of `secs` seconds since the epoch (a period start).
pub fn floor_to(t: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp().div_euclid(secs) * secs, 0).unwrap_or(t)
}

/// What one poll of a source observed.
#[derive(Clone, Debug, Default)]
pub struct SourceUpdate {
    /// The cluster's objects now, when the source sees objects (not metrics only).
    pub state: Option<ClusterState>,
    /// Metric samples since the last poll (before `now`).
    pub samples: Vec<(SeriesKind, Sample)>,
}

/// A source of one cluster's state and history.
#[async_trait]
pub trait Source: Send {
    /// Short name shown in the status bar ("replay", "kube", "cloudwatch").
    fn name(&self) -> &str;
    /// Wall time between polls.
    fn poll_interval(&self) -> Duration;
    /// History before `now`, loaded once at start.
    async fn backfill(&mut self, now: DateTime<Utc>) -> Result<Vec<(SeriesKind, Sample)>>;
    /// The cluster at `now`.
    async fn poll(&mut self, now: DateTime<Utc>) -> Result<SourceUpdate>;
}

#[derive(Debug)]
pub enum SourceEventKind {
    Backfill(Vec<(SeriesKind, Sample)>),
    Update(SourceUpdate),
    Failed(String),
}

#[derive(Debug)]
pub struct SourceEvent {
    pub cluster: ClusterId,
    pub source: String,
    pub at: DateTime<Utc>,
    pub kind: SourceEventKind,
}

/// Runs one source until shutdown: backfill (retried with backoff), then poll.
pub async fn run_source(
    cluster: ClusterId,
    mut source: Box<dyn Source>,
    clock: Clock,
    tx: mpsc::Sender<SourceEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = source.name().to_string();
    let event = |at, kind| SourceEvent {
        cluster: cluster.clone(),
        source: name.clone(),
        at,
        kind,
    };
    let mut backoff = Duration::from_millis(500);
    loop {
        let now = clock.now();
        let kind = match source.backfill(now).await {
            Ok(samples) => SourceEventKind::Backfill(samples),
            Err(e) => SourceEventKind::Failed(format!("backfill: {e:#}")),
        };
        let failed = matches!(kind, SourceEventKind::Failed(_));
        if tx.send(event(now, kind)).await.is_err() {
            return;
        }
        if !failed {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(60));
    }
    let mut interval = tokio::time::interval(source.poll_interval());
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = clock.now();
        let kind = match source.poll(now).await {
            Ok(u) => SourceEventKind::Update(u),
            Err(e) => SourceEventKind::Failed(format!("{e:#}")),
        };
        if tx.send(event(now, kind)).await.is_err() {
            return;
        }
    }
}
