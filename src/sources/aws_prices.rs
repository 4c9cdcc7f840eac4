//! Live catalog refresh: EC2 DescribeInstanceTypes and DescribeSpotPriceHistory
//! (Query protocol) and Pricing GetProducts (JSON 1.1), signed with SigV4 from
//! the default AWS credential chain. The three run at once; a part that fails
//! leaves its reason in `LivePrices::problems` and the rest still applies.
//!
//! Endpoints: the `[prices]` config's, else `AWS_ENDPOINT_URL_EC2` /
//! `AWS_ENDPOINT_URL_PRICING`, else `AWS_ENDPOINT_URL`, else AWS's own.

use super::{Result, SourceError};
use crate::catalog::Catalog;
use crate::catalog::live::{self, LivePrices};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use chrono::{DateTime, SecondsFormat, Utc};
use std::time::Duration;

/// Where and as whom to refresh one region's prices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceTarget {
    pub region: String,
    pub profile: Option<String>,
    pub ec2_endpoint: Option<String>,
    pub pricing_endpoint: Option<String>,
}

/// The live refresh as configured: whether, how often, which regions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceRefresh {
    pub refresh: bool,
    pub every_hours: u32,
    pub targets: Vec<PriceTarget>,
    /// Profile and endpoints for a region no cluster names (`prices --region`).
    pub template: PriceTarget,
}

impl PriceRefresh {
    /// The target for `region`: a cluster's, else the template's settings.
    pub fn target_for(&self, region: &str) -> PriceTarget {
        self.targets
            .iter()
            .find(|t| t.region == region)
            .cloned()
            .unwrap_or_else(|| PriceTarget {
                region: region.to_string(),
                ..self.template.clone()
            })
    }
}

/// Pages read per call at most (AWS answers ~10 for a region's types).
const MAX_PAGES: usize = 200;
const ATTEMPTS: u32 = 4;

/// The Pricing API's own region for `region`: it is served from us-east-1,
/// eu-central-1 and ap-south-1 only.
pub fn pricing_region(region: &str) -> &'static str {
    if region.starts_with("eu-") {
        "eu-central-1"
    } else if ["ap-", "me-", "af-"].iter().any(|p| region.starts_with(p)) {
        "ap-south-1"
    } else {
        "us-east-1"
    }
}

fn endpoint(explicit: &Option<String>, service_env: &str, aws_default: String) -> String {
    explicit
        .clone()
        .or_else(|| std::env::var(service_env).ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|e| !e.trim().is_empty())
        .unwrap_or(aws_default)
}

struct Signed<'a> {
    http: &'a reqwest::Client,
    creds: &'a Credentials,
}

impl Signed<'_> {
    /// POSTs `body` to `url`, SigV4-signed for `service` in `region`, with
    /// retries on throttling and server errors. Returns the body of a 2xx.
    async fn post(
        &self,
        url: &str,
        service: &str,
        region: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<String> {
        let mut wait = Duration::from_millis(300);
        for attempt in 1..=ATTEMPTS {
            let signed = crate::aws::sigv4_headers(
                self.creds.clone(),
                region,
                service,
                "POST",
                url,
                headers,
                body.as_bytes(),
            )
            .map_err(|e| SourceError::Setup(format!("cannot sign {url}: {e}")))?;
            let mut req = self.http.post(url).body(body.to_string());
            for (k, v) in headers.iter().copied() {
                req = req.header(k, v);
            }
            for (k, v) in signed {
                req = req.header(k, v);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) if attempt < ATTEMPTS => {
                    tracing::debug!("{url}: {e}; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    continue;
                }
                Err(e) => return Err(SourceError::Unreachable(format!("{url}: {e}"))),
            };
            let status = resp.status();
            let text = resp.text().await.map_err(|e| {
                SourceError::Unreachable(format!("{url}: reading the response: {e}"))
            })?;
            if status.is_success() {
                return Ok(text);
            }
            let throttled = text.contains("Throttling") || text.contains("RequestLimitExceeded");
            if (status.is_server_error() || status.as_u16() == 429 || throttled)
                && attempt < ATTEMPTS
            {
                tokio::time::sleep(wait).await;
                wait *= 2;
                continue;
            }
            let reason = if text.trim_start().starts_with('<') {
                live::ec2_error(&text)
            } else {
                text.chars().take(300).collect()
            };
            let msg = format!("{url}: HTTP {}: {reason}", status.as_u16());
            return Err(match status.as_u16() {
                401 | 403 => SourceError::Denied(msg),
                _ => SourceError::Failed(msg),
            });
        }
        Err(SourceError::Unreachable(format!(
            "{url}: no answer after {ATTEMPTS} attempts"
        )))
    }

    /// Every page of one call: `request` makes a page's body from the
    /// previous page's token, `parse` reads its items and next token.
    async fn pages<T>(
        &self,
        url: &str,
        service: &str,
        region: &str,
        headers: &[(&str, &str)],
        request: impl Fn(Option<&str>) -> String,
        parse: impl Fn(&str) -> anyhow::Result<(Vec<T>, Option<String>)>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let body = request(token.as_deref());
            let text = self.post(url, service, region, headers, &body).await?;
            let (items, next) =
                parse(&text).map_err(|e| SourceError::Unreadable(format!("{e:#}")))?;
            out.extend(items);
            match next {
                Some(n) if token.as_ref() != Some(&n) => token = Some(n),
                _ => return Ok(out),
            }
        }
        Err(SourceError::Failed(format!(
            "{url}: more than {MAX_PAGES} pages"
        )))
    }

    /// An EC2 Query call, every page.
    async fn ec2_pages<T>(
        &self,
        url: &str,
        region: &str,
        params: &[(&str, String)],
        parse: impl Fn(&str) -> anyhow::Result<(Vec<T>, Option<String>)>,
    ) -> Result<Vec<T>> {
        let request = |token: Option<&str>| {
            let mut form: Vec<(&str, String)> = params.to_vec();
            form.push(("Version", "2016-11-15".into()));
            if let Some(t) = token {
                form.push(("NextToken", t.to_string()));
            }
            form_encode(&form)
        };
        let form = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        self.pages(url, "ec2", region, &form, request, parse).await
    }
}

/// `application/x-www-form-urlencoded` with RFC 3986 escaping.
pub fn form_encode(pairs: &[(&str, String)]) -> String {
    let esc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The GetProducts request body for one page: Linux, shared tenancy, no
/// pre-installed software, used capacity, in `region`.
pub fn products_request(region: &str, token: Option<&str>) -> String {
    let filters: Vec<serde_json::Value> = [
        ("regionCode", region),
        ("operatingSystem", "Linux"),
        ("tenancy", "Shared"),
        ("preInstalledSw", "NA"),
        ("capacitystatus", "Used"),
        ("productFamily", "Compute Instance"),
    ]
    .iter()
    .map(|(f, v)| serde_json::json!({"Type": "TERM_MATCH", "Field": f, "Value": v}))
    .collect();
    let mut body = serde_json::json!({
        "ServiceCode": "AmazonEC2",
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
        "Filters": filters,
    });
    if let Some(t) = token {
        body["NextToken"] = serde_json::Value::String(t.to_string());
    }
    body.to_string()
}

async fn credentials(target: &PriceTarget) -> Result<Credentials> {
    let provider = crate::aws::credentials_provider(&target.region, target.profile.as_deref())
        .await
        .ok_or_else(|| SourceError::Setup("no AWS credentials provider".into()))?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| SourceError::Setup(format!("no AWS credentials: {e}")))
}

/// Refreshes `target.region`'s instance shapes, on-demand and spot prices.
/// Fails only when no credentials load or every part fails.
pub async fn fetch(target: &PriceTarget, now: DateTime<Utc>) -> Result<LivePrices> {
    crate::tls::install_provider();
    let creds = credentials(target).await?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| SourceError::Setup(format!("cannot build the HTTP client: {e}")))?;
    let signed = Signed {
        http: &http,
        creds: &creds,
    };
    let region = target.region.as_str();
    let ec2 = endpoint(
        &target.ec2_endpoint,
        "AWS_ENDPOINT_URL_EC2",
        format!("https://ec2.{region}.amazonaws.com/"),
    );
    let pricing_at = pricing_region(region);
    let pricing = endpoint(
        &target.pricing_endpoint,
        "AWS_ENDPOINT_URL_PRICING",
        format!("https://api.pricing.{pricing_at}.amazonaws.com/"),
    );
    let types_query = [
        ("Action", "DescribeInstanceTypes".to_string()),
        ("MaxResults", "100".into()),
    ];
    // From now: the newest price of each type in each zone.
    let spot_query = [
        ("Action", "DescribeSpotPriceHistory".to_string()),
        ("ProductDescription.1", "Linux/UNIX".into()),
        ("StartTime", now.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ("MaxResults", "1000".into()),
    ];
    let shapes = signed.ec2_pages(&ec2, region, &types_query, live::parse_instance_types);
    let spot = signed.ec2_pages(&ec2, region, &spot_query, live::parse_spot_prices);
    let json = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "AWSPriceListService.GetProducts"),
    ];
    let on_demand = signed.pages(
        &pricing,
        "pricing",
        pricing_at,
        &json,
        |token| products_request(region, token),
        |text| live::parse_products(text).map(|(page, next)| (page.into_iter().collect(), next)),
    );
    let (shapes, spot, on_demand) = tokio::join!(shapes, spot, on_demand);
    let mut out = LivePrices {
        region: region.to_string(),
        fetched: Some(now),
        ..LivePrices::default()
    };
    let failed = [shapes.is_err(), spot.is_err(), on_demand.is_err()];
    match shapes {
        Ok(s) => out.shapes = s,
        Err(e) => out.problems.push(format!("instance types: {e:#}")),
    }
    match on_demand {
        // A type listed twice keeps its first price.
        Ok(p) => {
            for (k, v) in p {
                out.on_demand.entry(k).or_insert(v);
            }
        }
        Err(e) => out.problems.push(format!("on-demand prices: {e:#}")),
    }
    match spot {
        Ok(q) => out.spot = live::spot_medians(&q),
        Err(e) => out.problems.push(format!("spot prices: {e:#}")),
    }
    if failed.iter().all(|f| *f) {
        return Err(SourceError::Failed(format!(
            "{region}: {}",
            out.problems.join("; ")
        )));
    }
    Ok(out)
}

/// Refreshes every target's region now and then every `every`, publishing
/// each result as a new catalog. A failed refresh keeps the prices the
/// catalog had and records why (the Cost pane shows it).
pub async fn run_refresh(
    targets: Vec<PriceTarget>,
    every: Duration,
    catalog: tokio::sync::watch::Sender<std::sync::Arc<Catalog>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        for t in &targets {
            let now = Utc::now();
            let result = tokio::select! {
                r = fetch(t, now) => r,
                _ = shutdown.changed() => return,
            };
            let current = catalog.borrow().clone();
            let next = match result {
                Ok(live) => {
                    let merged = live::merge(&current, &live);
                    if let Some(s) = merged.live.get(&t.region) {
                        tracing::info!(
                            region = %t.region,
                            types = s.types,
                            added = s.added,
                            on_demand = s.on_demand,
                            spot = s.spot,
                            problems = ?s.problems,
                            "prices refreshed"
                        );
                    }
                    merged
                }
                Err(e) => {
                    tracing::warn!(region = %t.region, "price refresh failed: {e:#}");
                    current.with_refresh_error(&t.region, now, &format!("{e:#}"))
                }
            };
            catalog.send_replace(std::sync::Arc::new(next));
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}
