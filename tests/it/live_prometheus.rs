//! The Prometheus source against Prometheus from Debian, with the history
//! of scripts/prom_history.py backfilled at fixed dates by the test script.

use crate::peers::{env, runtime};
use chrono::{DateTime, TimeZone, Utc};
use nodecast::domain::SeriesKind;
use nodecast::sources::Source;
use nodecast::sources::prometheus::{PrometheusSource, parse_matrix};
use std::collections::BTreeMap;
use std::time::Duration;

fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0)
        .single()
        .expect("time")
}

#[test]
#[ignore = "needs Prometheus with backfilled history (scripts/test.sh starts it)"]
fn backfill_reads_two_weeks_of_kube_state_metrics_and_cadvisor() {
    let url = env("NODECAST_TEST_PROMETHEUS");
    let rt = runtime();
    rt.block_on(async {
        let mut src =
            PrometheusSource::new(&url, &BTreeMap::new(), Duration::from_secs(60)).expect("source");
        let samples = src.backfill(utc(15, 0, 30)).await.expect("backfill");
        let mut by: BTreeMap<SeriesKind, BTreeMap<DateTime<Utc>, f64>> = BTreeMap::new();
        for (k, s) in samples {
            by.entry(k).or_default().insert(s.ts, s.value);
        }
        let at = |k: SeriesKind, t: DateTime<Utc>| by.get(&k).and_then(|m| m.get(&t)).copied();
        let nodes = &by[&SeriesKind::Nodes];
        assert_eq!(nodes.len(), 14 * 24, "hourly for 14 days");
        assert_eq!(nodes.keys().next(), Some(&utc(1, 0, 0)));
        assert_eq!(nodes.keys().next_back(), Some(&utc(14, 23, 0)));
        assert_eq!(at(SeriesKind::Nodes, utc(3, 2, 0)), Some(3.0), "night");
        assert_eq!(at(SeriesKind::Nodes, utc(3, 12, 0)), Some(5.0), "day");
        let t = utc(3, 12, 0);
        assert_eq!(at(SeriesKind::CpuRequests, t), Some(2.0));
        assert_eq!(at(SeriesKind::MemRequests, t), Some(4.0));
        assert_eq!(at(SeriesKind::Pods, t), Some(4.0));
        assert_eq!(at(SeriesKind::PendingPods, t), Some(0.0));
        assert_eq!(at(SeriesKind::MemUsage, t), Some(2.0));
        let cpu = at(SeriesKind::CpuUsage, t).expect("cpu usage");
        assert!((cpu - 1.0).abs() < 1e-9, "{cpu}");
        // The pending pod's requests count; its usage does not exist.
        let p = utc(10, 12, 0);
        assert_eq!(at(SeriesKind::CpuRequests, p), Some(66.0));
        assert_eq!(at(SeriesKind::PendingPods, p), Some(1.0));
        assert_eq!(at(SeriesKind::Pods, p), Some(5.0));
    });
}

#[test]
#[ignore = "needs Prometheus with backfilled history (scripts/test.sh starts it)"]
fn a_configured_query_replaces_the_built_in_one_and_a_bad_one_says_which() {
    let url = env("NODECAST_TEST_PROMETHEUS");
    let rt = runtime();
    rt.block_on(async {
        let q = BTreeMap::from([(
            "nodes".to_string(),
            "count(kube_node_info) * 10".to_string(),
        )]);
        let mut src = PrometheusSource::new(&url, &q, Duration::from_secs(60)).expect("source");
        let samples = src.backfill(utc(15, 0, 30)).await.expect("backfill");
        let night = samples
            .iter()
            .find(|(k, s)| *k == SeriesKind::Nodes && s.ts == utc(3, 2, 0))
            .expect("night");
        assert_eq!(night.1.value, 30.0);

        let q = BTreeMap::from([("pods".to_string(), "sum(".to_string())]);
        let mut src = PrometheusSource::new(&url, &q, Duration::from_secs(60)).expect("source");
        let e = format!(
            "{:#}",
            src.backfill(utc(15, 0, 30)).await.expect_err("bad query")
        );
        assert!(e.contains("sum(") && e.contains("bad_data"), "{e}");
    });
}

#[test]
fn query_answers_are_checked() {
    let ok = serde_json::json!({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"a": "1"}, "values": [[1794700800, "3"], [1794704400, "4"]]},
        {"metric": {"a": "2"}, "values": [[1794700800, "1"]]}]}});
    let points = parse_matrix(&ok).expect("parse");
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].1, 4.0, "series are summed per time");
    let bad = serde_json::json!({"status": "success", "data": {"result": [
        {"metric": {}, "values": [[1794700800, 3]]}]}});
    let e = format!("{:#}", parse_matrix(&bad).expect_err("value not a string"));
    assert!(e.contains("[1794700800,3]"), "{e}");
    let err =
        serde_json::json!({"status": "error", "errorType": "timeout", "error": "query timed out"});
    let e = format!("{:#}", parse_matrix(&err).expect_err("error"));
    assert!(
        e.contains("timeout") && e.contains("query timed out"),
        "{e}"
    );
}

/// The verifying stand-in for an AMP workspace (tests/it/data/sigv4_proxy.py)
/// in front of the test Prometheus; killed on drop.
struct AmpProxy {
    child: std::process::Child,
    url: String,
}

impl AmpProxy {
    fn start(region: &str) -> AmpProxy {
        use std::io::BufRead;
        let script = format!(
            "{}/tests/it/data/sigv4_proxy.py",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut child = std::process::Command::new(env("NODECAST_TEST_BOTO_PYTHON"))
            .args([
                &script,
                &env("NODECAST_TEST_PROMETHEUS"),
                region,
                "AKIDTEST",
                "right-secret",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the SigV4 proxy starts (botocore from the moto venv)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        AmpProxy {
            child,
            url: format!("http://127.0.0.1:{}", line.trim()),
        }
    }
}

impl Drop for AmpProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signer(region: &str, secret: &str) -> nodecast::sources::amp::AmpSigner {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    nodecast::sources::amp::AmpSigner::with_credentials(
        region,
        SharedCredentialsProvider::new(Credentials::new("AKIDTEST", secret, None, None, "test")),
    )
}

#[test]
#[ignore = "needs Prometheus and the moto venv's botocore (scripts/test.sh starts them)"]
fn amp_queries_are_sigv4_signed_and_a_refusal_names_the_permission() {
    let proxy = AmpProxy::start("eu-west-1");
    let rt = runtime();
    rt.block_on(async {
        // Signed with the right key: the verifier forwards, the history is Prometheus's.
        let mut src = PrometheusSource::new(&proxy.url, &BTreeMap::new(), Duration::from_secs(60))
            .expect("source")
            .signed(signer("eu-west-1", "right-secret"));
        let samples = src
            .backfill(utc(15, 0, 30))
            .await
            .expect("a signed backfill");
        let nodes = samples
            .iter()
            .filter(|(k, _)| *k == SeriesKind::Nodes)
            .count();
        assert_eq!(nodes, 14 * 24, "hourly for 14 days, through the verifier");
        // Unsigned: AWS's answer, and what the caller needs.
        let mut plain =
            PrometheusSource::new(&proxy.url, &BTreeMap::new(), Duration::from_secs(60))
                .expect("source");
        let e = plain
            .backfill(utc(15, 0, 30))
            .await
            .expect_err("unsigned is refused")
            .to_string();
        assert!(
            e.contains("403") && e.contains("Missing Authentication Token"),
            "{e}"
        );
        // A wrong secret or region: refused, and the message names aps:QueryMetrics.
        for (region, secret, says) in [
            (
                "eu-west-1",
                "wrong-secret",
                "signature we calculated does not match",
            ),
            ("us-east-1", "right-secret", "valid region"),
        ] {
            let mut bad =
                PrometheusSource::new(&proxy.url, &BTreeMap::new(), Duration::from_secs(60))
                    .expect("source")
                    .signed(signer(region, secret));
            let e = bad
                .backfill(utc(15, 0, 30))
                .await
                .expect_err("refused")
                .to_string();
            assert!(
                e.contains(says) && e.contains("aps:QueryMetrics") && e.contains(region),
                "{e}"
            );
        }
    });
}

#[test]
fn an_amp_workspace_url_names_its_region_and_is_signed_by_default() {
    use nodecast::sources::amp::{encode, workspace_region};
    assert_eq!(
        workspace_region("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234"),
        Some("eu-west-1".into())
    );
    assert_eq!(workspace_region("http://prometheus.monitoring:9090"), None);
    assert_eq!(
        workspace_region("https://aps-workspaces.amazonaws.com/x"),
        None
    );
    assert_eq!(
        encode("sum(up{job=\"a b\"})"),
        "sum%28up%7Bjob%3D%22a%20b%22%7D%29"
    );
}
