//! Live clusters: from config (or a kubeconfig) to their sources, and a
//! one-shot probe of every source (the `snapshot` command).

use super::cloudwatch::{CloudWatchSource, CloudWatchTarget};
use super::kube::{KubeSource, KubeTarget};
use super::prometheus::PrometheusSource;
use super::{Result, SourceError};
use super::{Source, SourceUpdate};
use crate::domain::{ClusterId, Sample, SeriesKind};
use crate::health::Health;
use crate::snapshot::{ClusterSnapshot, summarize};
use async_trait::async_trait;
use chrono::{DateTime, Duration as Span, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Wall time between polls of the Kubernetes source.
pub const KUBE_POLL: Duration = Duration::from_secs(10);
/// Wall time between polls of the history sources (CloudWatch, Prometheus).
pub const HISTORY_POLL: Duration = Duration::from_secs(60);
/// Node groups' min, max and status change rarely: read every two minutes.
pub const NODE_GROUPS_POLL: Duration = Duration::from_secs(120);
/// In the dashboard, a live source that delivered nothing for this long is stale.
pub const STALE_AFTER_SECS: i64 = 180;
/// History whose newest point is older than this is stale.
pub const HISTORY_STALE_AFTER: Span = Span::hours(2);
/// The snapshot command gives up on a source after this long.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// A Prometheus to read history from: its URL, query overrides, and the
/// region to SigV4-sign for when it is an AMP workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct PrometheusTarget {
    pub url: String,
    pub queries: BTreeMap<String, String>,
    pub sigv4_region: Option<String>,
}

/// One live cluster and where its data comes from.
#[derive(Clone, Debug)]
pub struct LiveCluster {
    pub name: String,
    pub region: String,
    pub kube: KubeTarget,
    pub cloudwatch: Option<CloudWatchTarget>,
    pub prometheus: Option<PrometheusTarget>,
    /// The EKS cluster's name (`eks_cluster`, else CloudWatch's
    /// `cluster_name`, else `name`), and the AWS profile.
    pub eks_cluster: String,
    pub profile: Option<String>,
    /// `[cluster.actions]`.
    pub actions: crate::exec::ActionSettings,
}

impl LiveCluster {
    /// The cluster's sources: Kubernetes API always, CloudWatch and Prometheus when configured.
    pub fn sources(&self) -> Vec<Box<dyn Source>> {
        let mut out: Vec<Box<dyn Source>> =
            vec![Box::new(KubeSource::new(self.kube.clone(), KUBE_POLL))];
        if let Some(cw) = &self.cloudwatch {
            out.push(Box::new(CloudWatchSource::new(cw.clone(), HISTORY_POLL)));
        }
        // A cluster with a region is on AWS: its node groups' own facts.
        if !self.region.is_empty() {
            out.push(Box::new(super::node_groups::NodeGroupsSource::new(
                &self.eks_cluster,
                Some(self.region.clone()),
                self.profile.clone(),
                NODE_GROUPS_POLL,
            )));
        }
        if let Some(t) = &self.prometheus {
            match PrometheusSource::new(&t.url, &t.queries, HISTORY_POLL) {
                Ok(p) => out.push(Box::new(match &t.sigv4_region {
                    Some(r) => p.signed(super::amp::AmpSigner::new(r, self.profile.clone())),
                    None => p,
                })),
                Err(why) => out.push(Box::new(FailedSource {
                    name: "prometheus".into(),
                    why,
                })),
            }
        }
        out
    }

    /// The source names shown in `clusters`.
    pub fn source_names(&self) -> String {
        let mut names = vec!["kube"];
        if !self.region.is_empty() {
            names.push("node-groups");
        }
        if self.cloudwatch.is_some() {
            names.push("cloudwatch");
        }
        if self.prometheus.is_some() {
            names.push("prometheus");
        }
        names.join("+")
    }
}

/// A source that could not be built: every call reports why.
pub struct FailedSource {
    pub name: String,
    pub why: SourceError,
}

#[async_trait]
impl Source for FailedSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn poll_interval(&self) -> Duration {
        HISTORY_POLL
    }
    async fn backfill(&mut self, _now: DateTime<Utc>) -> Result<Vec<(SeriesKind, Sample)>> {
        Err(self.why.clone())
    }
    async fn poll(&mut self, _now: DateTime<Utc>) -> Result<SourceUpdate> {
        Err(self.why.clone())
    }
}

/// What one probe of a cluster found.
#[derive(Clone, Debug)]
pub struct Probe {
    pub cluster: String,
    pub snapshot: Option<ClusterSnapshot>,
    pub history: Vec<(SeriesKind, Sample)>,
    pub sources: BTreeMap<String, Health>,
}

impl Probe {
    /// Distinct hours with any history sample.
    pub fn history_hours(&self) -> usize {
        self.history
            .iter()
            .map(|(_, s)| s.ts.timestamp().div_euclid(3600))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Every source answered (stale data is an answer; an error is not).
    pub fn all_answered(&self) -> bool {
        self.sources
            .values()
            .all(|s| !matches!(s, Health::Error(_)))
    }
}

async fn probe_source(
    src: &mut dyn Source,
    now: DateTime<Utc>,
) -> Result<(Vec<(SeriesKind, Sample)>, SourceUpdate)> {
    let history = src.backfill(now).await?;
    let update = src.poll(now).await?;
    Ok((history, update))
}

/// Connects every source of `cluster` once (concurrently), loads history and state.
pub async fn probe(cluster: &LiveCluster, now: DateTime<Utc>) -> Probe {
    let runs = cluster.sources().into_iter().map(|mut src| async move {
        let name = src.name().to_string();
        let r = tokio::time::timeout(PROBE_TIMEOUT, probe_source(src.as_mut(), now)).await;
        let r = r.unwrap_or_else(|_| {
            Err(SourceError::Unreachable(format!(
                "no answer in {PROBE_TIMEOUT:?}"
            )))
        });
        (name, r)
    });
    let mut out = Probe {
        cluster: cluster.name.clone(),
        snapshot: None,
        history: Vec::new(),
        sources: BTreeMap::new(),
    };
    let mut facts = Vec::new();
    for (name, r) in futures::future::join_all(runs).await {
        let status = match r {
            Err(e) => Health::Error(e.to_string()),
            Ok((history, mut update)) => {
                let had_facts = update.facts.is_some();
                facts.extend(update.facts.take());
                if let Some(state) = &update.state {
                    out.snapshot = Some(summarize(&ClusterId(cluster.name.clone()), now, state));
                }
                let newest = history
                    .iter()
                    .chain(&update.samples)
                    .map(|(_, s)| s.ts)
                    .max();
                let status = match newest {
                    Some(t) if now - t > HISTORY_STALE_AFTER => Health::Stale {
                        age_secs: Some((now - t).num_seconds()),
                    },
                    None if update.state.is_none() && !had_facts => {
                        Health::Stale { age_secs: None }
                    }
                    Some(t) => Health::Ok {
                        age_secs: (now - t).num_seconds().max(0),
                    },
                    None => Health::Ok { age_secs: 0 },
                };
                out.history.extend(history);
                out.history.extend(update.samples);
                status
            }
        };
        out.sources.insert(name, status);
    }
    if let Some(snap) = &mut out.snapshot {
        snap.apply_facts(&facts);
    }
    out
}
