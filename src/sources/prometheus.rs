//! The Prometheus source (optional): the same history as CloudWatch from the
//! usual kube-state-metrics and cAdvisor series, one PromQL query per series
//! (overridable in config), read with `query_range`.

use super::amp::{AmpSigner, QUERY_ACTION, SERVICE as AMP_SERVICE, encode};
use super::{Result, SourceError};
use super::{Source, SourceUpdate, floor_to};
use crate::domain::{Sample, SeriesKind};
use async_trait::async_trait;
use chrono::{DateTime, Duration as Span, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// Days of hourly history loaded at start.
pub const BACKFILL_DAYS: i64 = 14;
/// Every request gives up after this long.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The series nodecast reads, their config names and built-in queries.
pub const QUERIES: [(&str, SeriesKind, &str); 7] = [
    ("nodes", SeriesKind::Nodes, "count(kube_node_info)"),
    (
        "cpu_requests",
        SeriesKind::CpuRequests,
        r#"sum(kube_pod_container_resource_requests{resource="cpu"} * on(namespace, pod) group_left() max by (namespace, pod) (kube_pod_status_phase{phase=~"Running|Pending"} == 1))"#,
    ),
    (
        "mem_requests",
        SeriesKind::MemRequests,
        r#"sum(kube_pod_container_resource_requests{resource="memory"} * on(namespace, pod) group_left() max by (namespace, pod) (kube_pod_status_phase{phase=~"Running|Pending"} == 1)) / 1073741824"#,
    ),
    (
        "cpu_usage",
        SeriesKind::CpuUsage,
        r#"sum(rate(container_cpu_usage_seconds_total{container!=""}[5m]))"#,
    ),
    (
        "mem_usage",
        SeriesKind::MemUsage,
        r#"sum(container_memory_working_set_bytes{container!=""}) / 1073741824"#,
    ),
    (
        "pods",
        SeriesKind::Pods,
        r#"sum(kube_pod_status_phase{phase=~"Running|Pending"})"#,
    ),
    (
        "pending_pods",
        SeriesKind::PendingPods,
        r#"sum(kube_pod_status_phase{phase="Pending"})"#,
    ),
];

/// The names `[cluster.prometheus.queries]` accepts.
pub const QUERY_NAMES: [&str; 7] = [
    "nodes",
    "cpu_requests",
    "mem_requests",
    "cpu_usage",
    "mem_usage",
    "pods",
    "pending_pods",
];

pub struct PrometheusSource {
    url: String,
    queries: Vec<(SeriesKind, String)>,
    http: reqwest::Client,
    interval: Duration,
    last: Option<DateTime<Utc>>,
    /// AMP: every query SigV4-signed.
    signer: Option<AmpSigner>,
}

impl PrometheusSource {
    /// `overrides`: PromQL by series name, replacing the built-in ones.
    pub fn new(
        url: &str,
        overrides: &BTreeMap<String, String>,
        interval: Duration,
    ) -> Result<Self> {
        crate::tls::install_provider();
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SourceError::Setup(format!("HTTP client: {e}")))?;
        Ok(PrometheusSource {
            url: url.trim_end_matches('/').to_string(),
            queries: QUERIES
                .iter()
                .map(|(name, kind, q)| {
                    (
                        *kind,
                        overrides.get(*name).cloned().unwrap_or(q.to_string()),
                    )
                })
                .collect(),
            http,
            interval,
            last: None,
            signer: None,
        })
    }

    /// Signs every query (an Amazon Managed Service for Prometheus workspace).
    pub fn signed(mut self, signer: AmpSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    async fn range(
        &self,
        query: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step_secs: i64,
    ) -> Result<Vec<(DateTime<Utc>, f64)>> {
        // The query string encoded once, as SigV4 canonicalizes it, so the
        // signature covers exactly what is sent.
        let url = format!(
            "{}/api/v1/query_range?query={}&start={}&end={}&step={}",
            self.url,
            encode(query),
            start.timestamp(),
            end.timestamp(),
            step_secs
        );
        let mut req = self.http.get(&url);
        if let Some(s) = &self.signer {
            for (k, v) in s.headers(&url).await? {
                req = req.header(k, v);
            }
        }
        let resp = req
            .send()
            .await
            .map_err(|e| SourceError::Unreachable(format!("{}: {e}", self.url)))?;
        let status = resp.status();
        if matches!(status.as_u16(), 401 | 403) {
            let text = resp.text().await.unwrap_or_default();
            let why: String = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .or(v.get("Message"))
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or(text)
                .chars()
                .take(200)
                .collect();
            let hint = match &self.signer {
                Some(s) => format!(
                    "; the AWS identity needs {QUERY_ACTION} on this workspace (SigV4 for {AMP_SERVICE} in {})",
                    s.region()
                ),
                None => String::new(),
            };
            return Err(SourceError::Denied(format!(
                "{}: {status}: {}{hint}",
                self.url,
                why.trim()
            )));
        }
        let body: serde_json::Value = resp.json().await.map_err(|e| {
            let msg = format!("{}: answer is not JSON ({status}): {e}", self.url);
            // 401 and 403 were answered above.
            if status.is_success() {
                SourceError::Unreadable(msg)
            } else {
                SourceError::Failed(msg)
            }
        })?;
        parse_matrix(&body).map_err(|e| e.context(format!("query {query:?}")))
    }
}

/// The points of a `query_range` answer (one series expected; several are summed).
pub fn parse_matrix(body: &serde_json::Value) -> Result<Vec<(DateTime<Utc>, f64)>> {
    if body["status"] != "success" {
        return Err(SourceError::Failed(format!(
            "{}: {}",
            body["errorType"].as_str().unwrap_or("error"),
            body["error"].as_str().unwrap_or("no message")
        )));
    }
    let mut sum: BTreeMap<i64, f64> = BTreeMap::new();
    for series in body["data"]["result"].as_array().into_iter().flatten() {
        for point in series["values"].as_array().into_iter().flatten() {
            let ts = point[0].as_f64();
            let v = point[1].as_str().and_then(|s| s.parse::<f64>().ok());
            match (ts, v) {
                // A NaN or infinite value (a division by zero in the query)
                // makes that time's sum unknown: it is left out below.
                (Some(ts), Some(v)) => *sum.entry(ts as i64).or_default() += v,
                _ => {
                    return Err(SourceError::Unreadable(format!(
                        "a point is not [time, \"value\"]: {point}"
                    )));
                }
            }
        }
    }
    Ok(sum
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .filter_map(|(t, v)| Some((DateTime::from_timestamp(t, 0)?, v)))
        .collect())
}

impl PrometheusSource {
    async fn all(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        step: i64,
    ) -> Result<Vec<(SeriesKind, Sample)>> {
        let mut out = Vec::new();
        for (kind, q) in &self.queries {
            for (ts, value) in self.range(q, start, end, step).await? {
                out.push((*kind, Sample { ts, value }));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Source for PrometheusSource {
    fn name(&self) -> &str {
        "prometheus"
    }

    fn poll_interval(&self) -> Duration {
        self.interval
    }

    /// The last [`BACKFILL_DAYS`] at hourly steps, up to the last whole hour.
    async fn backfill(&mut self, now: DateTime<Utc>) -> Result<Vec<(SeriesKind, Sample)>> {
        let end = floor_to(now, 3600) - Span::hours(1);
        let start = end - Span::days(BACKFILL_DAYS) + Span::hours(1);
        let out = self.all(start, end, 3600).await?;
        self.last = Some(end);
        Ok(out)
    }

    /// 5-minute steps since the last one sent.
    async fn poll(&mut self, now: DateTime<Utc>) -> Result<SourceUpdate> {
        let end = floor_to(now, 300);
        let start = self
            .last
            .map(|l| l + Span::seconds(300))
            .unwrap_or(end)
            .max(end - Span::hours(3));
        if start > end {
            return Ok(SourceUpdate::default());
        }
        let samples = self.all(start, end, 300).await?;
        self.last = Some(end);
        Ok(SourceUpdate {
            state: None,
            samples,
            facts: None,
        })
    }
}
