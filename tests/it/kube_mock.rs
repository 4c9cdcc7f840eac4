//! The Kubernetes source's exact requests and the `metrics.k8s.io` paths,
//! against kube's tower-test mock (the 1.20 API server of the peer tests
//! serves no `metrics.k8s.io`).

use http::{Request, Response};
use kube::client::Body;
use nodecast::sources::Source;
use nodecast::sources::kube::KubeSource;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn list(kind: &str, items: Value) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "7"}, "items": items})
}

/// Serves /version, node and pod lists and (when `metrics`) NodeMetrics;
/// watches are held open. Returns the client and every request's method and URI.
fn mock_cluster(metrics: bool) -> (kube::Client, Arc<Mutex<Vec<String>>>) {
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some((req, send)) = handle.next_request().await {
            let uri = req.uri().clone();
            log.lock()
                .expect("log")
                .push(format!("{} {}", req.method(), uri));
            if uri.query().unwrap_or("").contains("watch=true") {
                held.push(send);
                continue;
            }
            let (code, body) = match uri.path() {
                "/version" => (
                    200,
                    json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0"}),
                ),
                "/api/v1/nodes" => (
                    200,
                    list(
                        "NodeList",
                        json!([{"metadata": {"name": "n1", "labels": {
                            "karpenter.sh/nodepool": "general",
                            "karpenter.sh/capacity-type": "spot",
                            "node.kubernetes.io/instance-type": "c7g.2xlarge"}},
                        "status": {"allocatable": {"cpu": "7910m", "memory": "14Gi"},
                            "conditions": [{"type": "Ready", "status": "True"}]}}]),
                    ),
                ),
                "/api/v1/pods" => (
                    200,
                    list(
                        "PodList",
                        json!([{"metadata": {"name": "p", "namespace": "ns"},
                            "spec": {"nodeName": "n1", "containers": [{"name": "c",
                                "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}]},
                            "status": {"phase": "Running"}}]),
                    ),
                ),
                "/apis/metrics.k8s.io/v1beta1/nodes" if metrics => (
                    200,
                    json!({"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                        "metadata": {}, "items": [{"metadata": {"name": "n1"},
                            "timestamp": "2026-11-28T00:00:00Z", "window": "20s",
                            "usage": {"cpu": "1234567890n", "memory": "3145728Ki"}}]}),
                ),
                _ => (
                    404,
                    json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "message": "the server could not find the requested resource",
                        "reason": "NotFound", "code": 404}),
                ),
            };
            let resp = Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&body).expect("json")))
                .expect("response");
            send.send_response(resp);
        }
    });
    (kube::Client::new(svc, "default"), seen)
}

#[tokio::test]
async fn node_usage_comes_from_metrics_k8s_io_when_served() {
    let (client, seen) = mock_cluster(true);
    let mut src = KubeSource::with_client(client, Duration::from_secs(1));
    let now = chrono::Utc::now();
    let state = src.poll(now).await.expect("poll").state.expect("state");
    let n = &state.nodes[0];
    assert_eq!(n.node_group, "general");
    assert_eq!(n.instance_type, "c7g.2xlarge");
    let usage = n.usage.expect("usage from NodeMetrics");
    assert!((usage.cores - 1.23456789).abs() < 1e-9);
    assert!((usage.gib - 3.0).abs() < 1e-9);
    assert_eq!(state.pods[0].node.as_deref(), Some("n1"));
    let seen = seen.lock().expect("seen").clone();
    // One list each (paged), then watches from its resourceVersion; the
    // health check; the metrics list. Nothing is polled as a full list again.
    assert!(
        seen.iter()
            .any(|r| r.starts_with("GET /api/v1/nodes?") && r.contains("limit=500")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|r| r.starts_with("GET /api/v1/pods?") && r.contains("limit=500")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|r| r.starts_with("GET /api/v1/nodes?")
            && r.contains("watch=true")
            && r.contains("resourceVersion=7")),
        "{seen:?}"
    );
    assert!(seen.iter().any(|r| r == "GET /version"), "{seen:?}");
    assert!(
        seen.iter()
            .any(|r| r == "GET /apis/metrics.k8s.io/v1beta1/nodes"),
        "{seen:?}"
    );
}

#[tokio::test]
async fn without_metrics_k8s_io_usage_is_unknown_and_not_asked_again_at_once() {
    let (client, seen) = mock_cluster(false);
    let mut src = KubeSource::with_client(client, Duration::from_secs(1));
    let now = chrono::Utc::now();
    let state = src.poll(now).await.expect("poll").state.expect("state");
    assert_eq!(state.nodes[0].usage, None, "unknown, not zero");
    let state = src
        .poll(now)
        .await
        .expect("second poll")
        .state
        .expect("state");
    assert_eq!(state.nodes[0].usage, None);
    let seen = seen.lock().expect("seen").clone();
    let asked = seen.iter().filter(|r| r.contains("metrics.k8s.io")).count();
    assert_eq!(asked, 1, "a 404 is believed for a while: {seen:?}");
    let lists = seen
        .iter()
        .filter(|r| r.starts_with("GET /api/v1/nodes?") && !r.contains("watch=true"))
        .count();
    assert_eq!(lists, 1, "two polls, one list: {seen:?}");
}
