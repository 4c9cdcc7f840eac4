//! Sources observe clusters and feed the store. Each runs as its own task and
//! only sends events; it never touches UI state.

pub mod amp;
pub mod aws_prices;
pub mod cloudwatch;
pub mod demo;
pub mod kube;
pub mod kube_autoscalers;
pub mod kube_client;
pub mod kube_objects;
pub mod live;
pub mod node_groups;
pub mod prometheus;
pub mod replay;

use crate::clock::Clock;
use crate::domain::ClusterState;
use crate::domain::{ClusterId, Sample, SeriesKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// `t` rounded down to a multiple of `secs` seconds since the epoch (a period start).
pub fn floor_to(t: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp().div_euclid(secs) * secs, 0).unwrap_or(t)
}

/// Why a source could not answer. Each message names what was asked and of
/// whom; the variant says what kind of failure it was, for callers that
/// treat them differently.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The source cannot work as set up: kubeconfig, context, client.
    #[error("{0}")]
    Setup(String),
    /// No answer in time, or no connection.
    #[error("{0}")]
    Unreachable(String),
    /// The peer refused: credentials or permissions.
    #[error("{0}")]
    Denied(String),
    /// The peer answered with an error.
    #[error("{0}")]
    Failed(String),
    /// An answer nodecast cannot read.
    #[error("{0}")]
    Unreadable(String),
    /// Connected, but not ready to answer yet (watchers still listing).
    #[error("{0}")]
    NotReady(String),
}

impl SourceError {
    /// The same failure with `what` in front of its message.
    pub fn context(self, what: impl std::fmt::Display) -> SourceError {
        use SourceError::*;
        match self {
            Setup(m) => Setup(format!("{what}: {m}")),
            Unreachable(m) => Unreachable(format!("{what}: {m}")),
            Denied(m) => Denied(format!("{what}: {m}")),
            Failed(m) => Failed(format!("{what}: {m}")),
            Unreadable(m) => Unreadable(format!("{what}: {m}")),
            NotReady(m) => NotReady(format!("{what}: {m}")),
        }
    }
}

pub type Result<T, E = SourceError> = std::result::Result<T, E>;

/// An error with its chain of causes, `outer: inner: ...` (as anyhow's `{:#}`).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.ends_with(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}

/// What one poll of a source observed.
#[derive(Clone, Debug, Default)]
pub struct SourceUpdate {
    /// The cluster's objects now, when the source sees objects (not metrics only).
    pub state: Option<ClusterState>,
    /// Metric samples since the last poll (before `now`).
    pub samples: Vec<(SeriesKind, Sample)>,
    /// What the source knows of node groups and autoscalers, where it reads them.
    pub facts: Option<crate::group_facts::Facts>,
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
