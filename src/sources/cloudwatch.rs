//! The CloudWatch source: a cluster's hourly history from Container Insights
//! (namespace `ContainerInsights`, dimension `ClusterName`), backfilled with
//! GetMetricData, then kept current in 5-minute steps. Credentials come from
//! the default chain (with the cluster's profile and region); the endpoint
//! honours `AWS_ENDPOINT_URL`. The SDK retries throttling with backoff.
//!
//! Container Insights has no request totals, so cores and GiB are derived
//! per period: requests = reserved capacity % x per-node limit x nodes, and
//! usage = utilization % x per-node limit x nodes.

use super::{Result, SourceError};
use super::{Source, SourceUpdate, floor_to};
use crate::domain::{Sample, SeriesKind};
use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime as AwsTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use chrono::{DateTime, Duration as Span, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// Days of hourly history loaded at start.
pub const BACKFILL_DAYS: i64 = 14;
/// The Container Insights metrics read, by query id.
pub const METRICS: [(&str, &str); 9] = [
    ("nodes", "cluster_node_count"),
    ("pods", "cluster_number_of_running_pods"),
    ("cpu_util", "node_cpu_utilization"),
    ("mem_util", "node_memory_utilization"),
    ("cpu_reserved", "node_cpu_reserved_capacity"),
    ("mem_reserved", "node_memory_reserved_capacity"),
    ("cpu_limit", "node_cpu_limit"),
    ("mem_limit", "node_memory_limit"),
    ("failed_nodes", "cluster_failed_node_count"),
];
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Where and how to read one cluster's Container Insights.
#[derive(Clone, Debug)]
pub struct CloudWatchTarget {
    pub cluster_name: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Endpoint instead of AWS's (`AWS_ENDPOINT_URL` also works).
    pub endpoint: Option<String>,
}

pub struct CloudWatchSource {
    target: CloudWatchTarget,
    client: Option<Client>,
    interval: Duration,
    /// The newest period already sent.
    last: Option<DateTime<Utc>>,
}

impl CloudWatchSource {
    pub fn new(target: CloudWatchTarget, interval: Duration) -> Self {
        CloudWatchSource {
            target,
            client: None,
            interval,
            last: None,
        }
    }

    async fn client(&mut self) -> Client {
        if let Some(c) = &self.client {
            return c.clone();
        }
        let t = &self.target;
        let cfg = crate::aws::sdk_config(
            t.region.as_deref(),
            t.profile.as_deref(),
            t.endpoint.as_deref(),
        )
        .await;
        let c = Client::new(&cfg);
        self.client = Some(c.clone());
        c
    }

    /// Every metric's values by period start in `[start, end)`.
    async fn fetch(
        &mut self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        period_secs: i32,
    ) -> Result<BTreeMap<DateTime<Utc>, Periods>> {
        let client = self.client().await;
        let dim = Dimension::builder()
            .name("ClusterName")
            .value(&self.target.cluster_name)
            .build();
        let queries: Vec<MetricDataQuery> = METRICS
            .iter()
            .map(|(id, name)| {
                let metric = Metric::builder()
                    .namespace("ContainerInsights")
                    .metric_name(*name)
                    .dimensions(dim.clone())
                    .build();
                MetricDataQuery::builder()
                    .id(*id)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(period_secs)
                            .stat("Average")
                            .build(),
                    )
                    .return_data(true)
                    .build()
            })
            .collect();
        let mut out: BTreeMap<DateTime<Utc>, Periods> = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let resp = client
                .get_metric_data()
                .start_time(AwsTime::from_secs(start.timestamp()))
                .end_time(AwsTime::from_secs(end.timestamp()))
                .set_metric_data_queries(Some(queries.clone()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    sdk_error(&format!("GetMetricData ({})", self.target.cluster_name), e)
                })?;
            for r in resp.metric_data_results() {
                let Some(id) = r.id() else { continue };
                for (t, v) in r.timestamps().iter().zip(r.values()) {
                    let Some(ts) = DateTime::from_timestamp(t.secs(), 0) else {
                        continue;
                    };
                    out.entry(ts).or_default().0.insert(id.to_string(), *v);
                }
            }
            match resp.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }
}

/// A failed AWS call (`what`, e.g. "GetMetricData (prod)") as a source
/// error, by what failed: no answer, access denied, an error answer, or an
/// unreadable one. Every AWS SDK crate shares these error types.
pub fn sdk_error<E, R>(what: &str, e: aws_sdk_cloudwatch::error::SdkError<E, R>) -> SourceError
where
    E: std::error::Error + aws_sdk_cloudwatch::error::ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_cloudwatch::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
    let denied = matches!(
        e.code(),
        Some("AccessDenied" | "AccessDeniedException" | "UnrecognizedClientException")
            | Some("InvalidClientTokenId" | "SignatureDoesNotMatch" | "ExpiredToken")
    );
    let kind: fn(String) -> SourceError = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => SourceError::Unreachable,
        SdkError::ResponseError(_) => SourceError::Unreadable,
        SdkError::ServiceError(_) if denied => SourceError::Denied,
        SdkError::ConstructionFailure(_) => SourceError::Setup,
        _ => SourceError::Failed,
    };
    kind(format!("{what}: {}", DisplayErrorContext(e)))
}

/// One period's metric values by query id.
#[derive(Clone, Debug, Default)]
pub struct Periods(pub BTreeMap<String, f64>);

fn percent(v: Option<f64>, what: &str, ts: DateTime<Utc>) -> Option<f64> {
    let v = v?;
    if v.is_finite() && (0.0..=100.0).contains(&v) {
        Some(v / 100.0)
    } else {
        tracing::warn!("CloudWatch {what} {v} at {ts} dropped: not a percentage");
        None
    }
}

/// nodecast's series from one period of Container Insights metrics. Values
/// that cannot be right (NaN, negative, percentages over 100) are dropped
/// with a logged reason.
pub fn samples_from(ts: DateTime<Utc>, p: &Periods) -> Vec<(SeriesKind, Sample)> {
    let get = |id: &str| {
        p.0.get(id).copied().filter(|v| {
            let ok = v.is_finite() && *v >= 0.0;
            if !ok {
                tracing::warn!("CloudWatch {id} {v} at {ts} dropped");
            }
            ok
        })
    };
    let mut out = Vec::new();
    let mut push = |k: SeriesKind, v: f64| out.push((k, Sample { ts, value: v }));
    let nodes = get("nodes");
    if let Some(n) = nodes {
        push(SeriesKind::Nodes, n);
    }
    if let Some(p) = get("pods") {
        push(SeriesKind::Pods, p);
    }
    let cores = get("cpu_limit").map(|m| m / 1000.0);
    let gib = get("mem_limit").map(|b| b / GIB);
    // Products of finite values can still overflow: an infinite total is dropped too.
    let total = |per_node: Option<f64>, share: Option<f64>| {
        Some(per_node? * nodes? * share?).filter(|v| v.is_finite())
    };
    let pairs = [
        (SeriesKind::CpuRequests, cores, "cpu_reserved"),
        (SeriesKind::MemRequests, gib, "mem_reserved"),
        (SeriesKind::CpuUsage, cores, "cpu_util"),
        (SeriesKind::MemUsage, gib, "mem_util"),
    ];
    for (kind, per_node, id) in pairs {
        if let Some(v) = total(per_node, percent(get(id), id, ts)) {
            push(kind, v);
        }
    }
    out
}

#[async_trait]
impl Source for CloudWatchSource {
    fn name(&self) -> &str {
        "cloudwatch"
    }

    fn poll_interval(&self) -> Duration {
        self.interval
    }

    /// The last [`BACKFILL_DAYS`] in hourly periods, up to the last whole hour.
    async fn backfill(&mut self, now: DateTime<Utc>) -> Result<Vec<(SeriesKind, Sample)>> {
        let end = floor_to(now, 3600);
        let start = end - Span::days(BACKFILL_DAYS);
        let periods = self
            .fetch(start, end, 3600)
            .await
            .map_err(|e| e.context("Container Insights history"))?;
        // Polls go on in 5-minute periods after the last whole hour.
        self.last = Some(end - Span::seconds(300));
        Ok(periods
            .iter()
            .flat_map(|(ts, p)| samples_from(*ts, p))
            .collect())
    }

    /// 5-minute periods since the last one sent.
    async fn poll(&mut self, now: DateTime<Utc>) -> Result<SourceUpdate> {
        let end = floor_to(now, 300);
        let start = self
            .last
            .map(|l| l + Span::seconds(300))
            .unwrap_or(end - Span::hours(1))
            .max(end - Span::hours(3));
        if start >= end {
            return Ok(SourceUpdate::default());
        }
        let periods = self.fetch(start, end, 300).await?;
        if let Some(l) = periods.keys().next_back() {
            self.last = Some(*l);
        }
        Ok(SourceUpdate {
            state: None,
            facts: None,
            samples: periods
                .iter()
                .flat_map(|(ts, p)| samples_from(*ts, p))
                .collect(),
        })
    }
}
