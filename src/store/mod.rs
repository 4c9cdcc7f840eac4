//! The store task: the only writer of history. It persists what sources send
//! and publishes an immutable [`Fleet`] on a watch channel.

pub mod audit;
pub mod db;
pub mod error;
pub mod history;
pub mod ledger;
pub mod models;
pub mod proposals;
pub mod versions;

pub use error::{Result, StoreError};

use crate::domain::{ClusterId, Sample, SeriesKind, SourceHealth, SourceStatus};
use crate::snapshot::{ClusterView, Fleet, summarize};
use crate::sources::{SourceEvent, SourceEventKind};
use chrono::{DateTime, Duration, Utc};
use db::Db;
use history::{HourlyBuckets, RETENTION_HOURS, implausible};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

pub struct Store {
    db: Db,
    fleet: Fleet,
    buckets: Vec<HourlyBuckets>,
    /// Per cluster, each source's latest facts of node groups and autoscalers.
    facts: Vec<std::collections::BTreeMap<String, crate::group_facts::Facts>>,
}

impl Store {
    /// A store for the given clusters (tab order) and their regions.
    pub fn new(db: Db, clusters: &[(ClusterId, String)]) -> Store {
        let fleet = Fleet {
            clusters: clusters
                .iter()
                .map(|(id, region)| {
                    (
                        id.clone(),
                        Arc::new(ClusterView {
                            region: region.clone(),
                            ..Default::default()
                        }),
                    )
                })
                .collect(),
            version: 0,
        };
        Store {
            db,
            buckets: vec![HourlyBuckets::default(); clusters.len()],
            facts: vec![Default::default(); clusters.len()],
            fleet,
        }
    }

    /// Forgets stored history of every cluster (demo mode replays afresh).
    pub fn reset_history(&mut self) -> Result<()> {
        for (id, _) in &self.fleet.clusters {
            self.db.reset_cluster(&id.0)?;
        }
        Ok(())
    }

    /// Loads the retained history of every cluster from the database.
    pub fn load_history(&mut self, now: DateTime<Utc>) -> Result<()> {
        let since = now - Duration::hours(RETENTION_HOURS);
        for (i, (id, view)) in self.fleet.clusters.iter_mut().enumerate() {
            for (k, s) in self.db.load_samples(&id.0, since)? {
                self.buckets[i].add(k, s);
            }
            Arc::make_mut(view).history = self.buckets[i].series();
        }
        Ok(())
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Applies one source event: persist first, then update the published view.
    pub fn apply(&mut self, ev: SourceEvent) -> Result<()> {
        let Some(i) = self
            .fleet
            .clusters
            .iter()
            .position(|(c, _)| *c == ev.cluster)
        else {
            tracing::warn!(cluster = %ev.cluster, "event for an unknown cluster dropped");
            return Ok(());
        };
        let mut samples: Vec<(SeriesKind, Sample)> = Vec::new();
        let health = match ev.kind {
            SourceEventKind::Backfill(s) => {
                samples = s;
                SourceHealth::Ok
            }
            SourceEventKind::Update(u) => {
                samples = u.samples;
                let new_facts = u.facts.is_some();
                if let Some(facts) = u.facts {
                    self.facts[i].insert(ev.source.clone(), facts);
                }
                if let Some(state) = u.state {
                    let mut snap = summarize(&ev.cluster, ev.at, &state);
                    samples.extend(snap.samples());
                    snap.apply_facts(self.facts[i].values());
                    Arc::make_mut(&mut self.fleet.clusters[i].1).latest = Some(snap);
                } else if new_facts {
                    // Facts alone (the node-groups source): over the latest
                    // snapshot. A metrics-only update has nothing to lay.
                    if let Some(snap) = &mut Arc::make_mut(&mut self.fleet.clusters[i].1).latest {
                        snap.apply_facts(self.facts[i].values());
                    }
                }
                SourceHealth::Ok
            }
            SourceEventKind::Failed(msg) => {
                tracing::warn!(cluster = %ev.cluster, source = %ev.source, "{msg}");
                SourceHealth::Error(msg)
            }
        };
        samples.retain(|(k, s)| match implausible(*k, s.value) {
            Some(why) => {
                tracing::warn!(cluster = %ev.cluster, series = k.key(), value = s.value, "sample dropped: {why}");
                false
            }
            None => true,
        });
        if !samples.is_empty() {
            self.db.insert_samples(&ev.cluster.0, &samples)?;
            for (k, s) in &samples {
                self.buckets[i].add(*k, *s);
            }
            self.buckets[i].prune();
        }
        let view = Arc::make_mut(&mut self.fleet.clusters[i].1);
        if !samples.is_empty() {
            view.history = self.buckets[i].series();
        }
        let ok = matches!(health, SourceHealth::Ok);
        match view.sources.iter_mut().find(|s| s.name == ev.source) {
            Some(st) => {
                st.health = health;
                if ok {
                    st.last_data = Some(ev.at);
                }
            }
            None => view.sources.push(SourceStatus {
                name: ev.source,
                health,
                last_data: ok.then_some(ev.at),
            }),
        }
        self.fleet.version += 1;
        Ok(())
    }
}

/// Runs the store until every source has hung up or shutdown is signalled.
pub async fn run_store(
    mut store: Store,
    mut rx: mpsc::Receiver<SourceEvent>,
    tx: watch::Sender<Arc<Fleet>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = shutdown.changed() => None,
        };
        let Some(ev) = ev else { break };
        if let Err(e) = store.apply(ev) {
            tracing::error!("store: {e:#}");
        }
        // Apply whatever else is queued before publishing once.
        while let Ok(ev) = rx.try_recv() {
            if let Err(e) = store.apply(ev) {
                tracing::error!("store: {e:#}");
            }
        }
        tx.send_replace(Arc::new(store.fleet().clone()));
    }
}
