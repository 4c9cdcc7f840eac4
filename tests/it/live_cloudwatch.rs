//! The CloudWatch source against the AWS emulator (moto server, started by
//! the test script, reached through AWS_ENDPOINT_URL), and its retries
//! against a server that throttles.

use crate::peers::{env, runtime};
use aws_sdk_cloudwatch::primitives::DateTime as AwsTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use chrono::{DateTime, Duration as Span, Utc};
use nodecast::domain::SeriesKind;
use nodecast::sources::Source;
use nodecast::sources::cloudwatch::{CloudWatchSource, CloudWatchTarget};
use std::collections::BTreeMap;
use std::time::Duration;

fn target(cluster: &str, endpoint: Option<String>) -> CloudWatchTarget {
    CloudWatchTarget {
        cluster_name: cluster.into(),
        region: Some("us-east-1".into()),
        profile: None,
        endpoint,
    }
}

pub fn hour(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(now.timestamp() / 3600 * 3600, 0).expect("hour")
}

/// An EKS cluster `name` in the emulator, with no managed node groups: a
/// configured cluster with a region reads its node groups from EKS, and
/// moto answers an HTML 500 (AWS: ResourceNotFoundException) for an EKS
/// cluster it does not have.
pub async fn eks_cluster(name: &str) {
    let sdk = nodecast::aws::sdk_config(Some("us-east-1"), None, None).await;
    let _ = aws_sdk_eks::Client::new(&sdk)
        .create_cluster()
        .name(name)
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await;
}

/// Writes 15 days of hourly Container Insights points for `cluster`: nodes
/// 10 by night and 14 by day (UTC 08-20), 7,910 millicores and 30 GiB per
/// node, 50 % of CPU and 25 % of memory reserved, 40 % CPU utilization; one
/// hour carries garbage (utilization 250 %, a negative node count).
pub async fn seed(cluster: &str, end: DateTime<Utc>) {
    let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let dim = Dimension::builder()
        .name("ClusterName")
        .value(cluster)
        .build();
    let mut data = Vec::new();
    for h in 1..=15 * 24 {
        let ts = end - Span::hours(h);
        let day = (8..20).contains(&(ts.timestamp() / 3600 % 24));
        let garbage = h == 30;
        let nodes = if garbage {
            -3.0
        } else if day {
            14.0
        } else {
            10.0
        };
        let util = if garbage { 250.0 } else { 40.0 };
        for (name, v) in [
            ("cluster_node_count", nodes),
            ("node_cpu_limit", 7910.0),
            ("node_memory_limit", 30.0 * 1024.0 * 1024.0 * 1024.0),
            ("node_cpu_reserved_capacity", 50.0),
            ("node_memory_reserved_capacity", 25.0),
            ("node_cpu_utilization", util),
            ("cluster_number_of_running_pods", 120.0),
        ] {
            data.push(
                MetricDatum::builder()
                    .metric_name(name)
                    .dimensions(dim.clone())
                    .timestamp(AwsTime::from_secs(ts.timestamp()))
                    .value(v)
                    .build(),
            );
        }
    }
    for chunk in data.chunks(500) {
        cw.put_metric_data()
            .namespace("ContainerInsights")
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .expect("PutMetricData to moto");
    }
}

#[test]
#[ignore = "needs the AWS emulator (scripts/test.sh starts moto server)"]
fn backfill_reads_fourteen_days_of_container_insights() {
    env("AWS_ENDPOINT_URL");
    let rt = runtime();
    rt.block_on(async {
        let now = hour(Utc::now()) + Span::minutes(7);
        seed("cw-backfill", hour(now)).await;
        let mut src = CloudWatchSource::new(target("cw-backfill", None), Duration::from_secs(60));
        let samples = src.backfill(now).await.expect("backfill");
        let mut by: BTreeMap<SeriesKind, Vec<(DateTime<Utc>, f64)>> = BTreeMap::new();
        for (k, s) in &samples {
            by.entry(*k).or_default().push((s.ts, s.value));
        }
        let nodes = &by[&SeriesKind::Nodes];
        // 14 days of whole hours, less the garbage hour.
        assert_eq!(nodes.len(), 14 * 24 - 1, "hours of node counts");
        assert!(nodes.iter().all(|(t, _)| t.timestamp() % 3600 == 0));
        assert!(nodes.iter().all(|(_, v)| *v == 10.0 || *v == 14.0));
        let at = |k: SeriesKind, t: DateTime<Utc>| {
            by.get(&k)?.iter().find(|(ts, _)| *ts == t).map(|(_, v)| *v)
        };
        let (t, n) = nodes[nodes.len() - 1];
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-6);
        assert!(close(at(SeriesKind::CpuRequests, t), 0.5 * 7.91 * n));
        assert!(close(at(SeriesKind::MemRequests, t), 0.25 * 30.0 * n));
        assert!(close(at(SeriesKind::CpuUsage, t), 0.4 * 7.91 * n));
        assert!(close(at(SeriesKind::Pods, t), 120.0));
        assert_eq!(
            at(SeriesKind::MemUsage, t),
            None,
            "no memory utilization: no usage"
        );
        let garbage = hour(now) - Span::hours(30);
        assert_eq!(
            at(SeriesKind::Nodes, garbage),
            None,
            "negative count dropped"
        );
        assert_eq!(at(SeriesKind::CpuUsage, garbage), None, "250 % dropped");
    });
}

#[test]
#[ignore = "needs the AWS emulator (scripts/test.sh starts moto server)"]
fn snapshot_reports_cloudwatch_history_hours_through_aws_endpoint_url() {
    let endpoint = env("AWS_ENDPOINT_URL");
    let kc = crate::peers::kubeconfig();
    let rt = runtime();
    rt.block_on(async {
        eks_cluster("cw-snapshot").await;
        eks_cluster("nowhere").await;
    });
    let home = tempfile::tempdir().expect("home");
    let cfg = home.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[cluster]]\nname = \"prod\"\nkubeconfig = {:?}\nregion = \"us-east-1\"\n\
             [cluster.cloudwatch]\ncluster_name = \"cw-snapshot\"\n\
             [[cluster]]\nname = \"nowhere\"\nkubeconfig = {:?}\nregion = \"us-east-1\"\n\
             [cluster.cloudwatch]\ncluster_name = \"nowhere\"\n",
            kc.display().to_string(),
            kc.display().to_string()
        ),
    )
    .expect("config");
    // The history ends an hour before the hour it is seeded in and the
    // snapshot reads whole hours up to its own clock: if an hour boundary
    // passes between seeding and the snapshot's end, the newest point is two
    // hours old (stale) and a window holds an hour less. Then seed the new
    // hour and take the snapshot again.
    let mut out = None;
    for _ in 0..2 {
        let seeded = hour(Utc::now());
        rt.block_on(seed("cw-snapshot", seeded));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_nodecast"))
            .args([
                "--config",
                cfg.to_str().expect("utf8"),
                "snapshot",
                "--json",
            ])
            .env("HOME", home.path())
            .env_remove("KUBECONFIG")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .output()
            .expect("run");
        out = Some(o);
        if hour(Utc::now()) == seeded {
            break;
        }
    }
    let out = out.expect("a snapshot");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["sources"]["cloudwatch"]["status"], "ok", "{v}");
    // 14 days of hours (the garbage hour still has its pod count).
    assert_eq!(v[0]["history_hours"], 14 * 24);
    // A cluster Container Insights knows nothing of answers, with no points: stale.
    assert_eq!(v[1]["sources"]["cloudwatch"]["status"], "stale", "{v}");
    assert_eq!(v[1]["history_hours"], 0);
    assert_eq!(
        out.status.code(),
        Some(0),
        "every source answered, one with stale data"
    );
}

const THROTTLED: &str = r#"<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>"#;

fn answer(ts: DateTime<Utc>) -> String {
    format!(
        r#"<GetMetricDataResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><GetMetricDataResult><MetricDataResults><member><Id>nodes</Id><Label>cluster_node_count</Label><StatusCode>Complete</StatusCode><Timestamps><member>{}</member></Timestamps><Values><member>12.0</member></Values></member></MetricDataResults><Messages/></GetMetricDataResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetMetricDataResponse>"#,
        ts.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// A CloudWatch that throttles the first `throttle` requests, then answers
/// one node-count point at `ts`.
fn throttling_server(throttle: usize, ts: DateTime<Utc>) -> crate::fake_http::FakeServer {
    crate::fake_http::serve(move |i, _| {
        if i < throttle {
            ("400 Bad Request", "text/xml", THROTTLED.to_string())
        } else {
            ("200 OK", "text/xml", answer(ts))
        }
    })
}

#[test]
#[ignore = "needs test AWS credentials in the environment (scripts/test.sh sets them)"]
fn throttling_is_retried_with_backoff_then_reported() {
    env("AWS_ACCESS_KEY_ID");
    let rt = runtime();
    rt.block_on(async {
        let now = Utc::now();
        let ts = hour(now) - Span::hours(2);
        // Throttled twice, then answered: the backfill succeeds on the third request.
        let server = throttling_server(2, ts);
        let mut src = CloudWatchSource::new(
            target("c", Some(server.url.clone())),
            Duration::from_secs(60),
        );
        let samples = src.backfill(now).await.expect("retried past throttling");
        assert_eq!(server.requests().len(), 3);
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].0, SeriesKind::Nodes);
        assert_eq!(samples[0].1.value, 12.0);
        // Throttled every time: five attempts, then an error that says so.
        let server = throttling_server(usize::MAX, ts);
        let mut src = CloudWatchSource::new(
            target("c", Some(server.url.clone())),
            Duration::from_secs(60),
        );
        let e = format!("{:#}", src.backfill(now).await.expect_err("gives up"));
        assert_eq!(server.requests().len(), 5);
        assert!(
            e.contains("Throttling") && e.contains("GetMetricData"),
            "{e}"
        );
    });
}
