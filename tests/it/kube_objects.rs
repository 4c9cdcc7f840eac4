//! Kubernetes nodes and pods, as the API serves them, into node groups and
//! requests as the scheduler counts them (hand-checked).

use k8s_openapi::api::core::v1::{Node, Pod};
use nodecast::domain::{CapacityType, OwnerKind, PodPhase, Resources};
use nodecast::sources::kube_objects::{UNGROUPED, node_from, pod_from};
use serde_json::json;

fn node(v: serde_json::Value) -> Node {
    serde_json::from_value(v).expect("node json")
}

fn pod(v: serde_json::Value) -> Pod {
    serde_json::from_value(v).expect("pod json")
}

fn close(a: Resources, b: Resources) -> bool {
    (a.cores - b.cores).abs() < 1e-9 && (a.gib - b.gib).abs() < 1e-9
}

#[test]
fn eks_karpenter_and_unlabelled_nodes() {
    let eks = node_from(&node(json!({
        "metadata": {"name": "ip-10-0-1-5", "labels": {
            "eks.amazonaws.com/nodegroup": "general",
            "eks.amazonaws.com/capacityType": "SPOT",
            "node.kubernetes.io/instance-type": "m6i.4xlarge",
            "topology.kubernetes.io/zone": "us-east-1a"}},
        "status": {
            "allocatable": {"cpu": "15890m", "memory": "57632692Ki", "pods": "234"},
            "conditions": [{"type": "Ready", "status": "True"}]}
    })))
    .expect("node");
    assert_eq!(eks.name, "ip-10-0-1-5");
    assert_eq!(eks.node_group, "general");
    assert_eq!(eks.instance_type, "m6i.4xlarge");
    assert_eq!(eks.capacity_type, CapacityType::Spot);
    assert_eq!(eks.zone, "us-east-1a");
    assert!(eks.ready);
    assert!(close(
        eks.allocatable,
        Resources::new(15.89, 57_632_692.0 / 1024.0 / 1024.0)
    ));
    assert_eq!(
        eks.usage, None,
        "usage unknown until metrics arrive, not zero"
    );

    let karpenter = node_from(&node(json!({
        "metadata": {"name": "k1", "labels": {
            "karpenter.sh/nodepool": "default",
            "karpenter.sh/capacity-type": "on-demand",
            "node.kubernetes.io/instance-type": "c6i.2xlarge"}},
        "status": {"allocatable": {"cpu": "7", "memory": "14Gi"},
                   "conditions": [{"type": "Ready", "status": "False"}]}
    })))
    .expect("node");
    assert_eq!(karpenter.node_group, "default");
    assert_eq!(karpenter.capacity_type, CapacityType::OnDemand);
    assert!(!karpenter.ready);
    assert!(close(karpenter.allocatable, Resources::new(7.0, 14.0)));

    let bare = node_from(&node(json!({"metadata": {"name": "n"}}))).expect("node");
    assert_eq!(bare.node_group, UNGROUPED);
    assert!(!bare.ready, "no Ready condition: not ready");

    let e = node_from(&node(json!({
        "metadata": {"name": "bad"},
        "status": {"allocatable": {"cpu": "lots"}}
    })))
    .expect_err("bad quantity");
    let e = format!("{e:#}");
    assert!(
        e.contains("node bad") && e.contains("allocatable") && e.contains("lots"),
        "{e}"
    );
}

#[test]
fn pod_requests_count_as_the_scheduler_counts_them() {
    // Two app containers (250m + 500m, 256Mi + 512Mi), an init container of
    // 1 CPU and 128Mi, and 100m / 64Mi of overhead: CPU max(0.75, 1) + 0.1,
    // memory max(768Mi, 128Mi) + 64Mi.
    let p = pod_from(&pod(json!({
        "metadata": {"name": "web-1", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "name": "web-7d", "uid": "u", "controller": true}]},
        "spec": {
            "nodeName": "ip-10-0-1-5",
            "overhead": {"cpu": "100m", "memory": "64Mi"},
            "initContainers": [{"name": "migrate",
                "resources": {"requests": {"cpu": "1", "memory": "128Mi"}}}],
            "containers": [
                {"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                {"name": "proxy", "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]},
        "status": {"phase": "Running"}
    })))
    .expect("pod");
    assert_eq!(p.name, "shop/web-1");
    assert_eq!(p.owner, OwnerKind::Deployment);
    assert_eq!(p.phase, PodPhase::Running);
    assert_eq!(p.node.as_deref(), Some("ip-10-0-1-5"));
    assert!(
        close(p.requests, Resources::new(1.1, (768.0 + 64.0) / 1024.0)),
        "{:?}",
        p.requests
    );

    // A sidecar (init container that keeps running) adds to the app
    // containers and to the init containers started after it.
    let s = pod_from(&pod(json!({
        "metadata": {"name": "job-1"},
        "spec": {
            "initContainers": [
                {"name": "mesh", "restartPolicy": "Always",
                 "resources": {"requests": {"cpu": "100m"}}},
                {"name": "fetch", "resources": {"requests": {"cpu": "300m"}}}],
            "containers": [{"name": "work", "resources": {"requests": {"cpu": "200m"}}}]}
    })))
    .expect("pod");
    assert!(
        close(s.requests, Resources::new(0.4, 0.0)),
        "{:?}",
        s.requests
    );
    assert_eq!(s.owner, OwnerKind::Bare);
    assert_eq!(s.phase, PodPhase::Pending, "no status yet");
}

#[test]
fn workload_kinds_phases_and_unschedulable_reasons() {
    let owned = |kind: &str, labels: serde_json::Value| {
        pod_from(&pod(json!({
            "metadata": {"name": "p", "labels": labels,
                "ownerReferences": [{"apiVersion": "v1", "kind": kind, "name": "o",
                    "uid": "u", "controller": true}]},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Succeeded"}
        })))
        .expect("pod")
    };
    assert_eq!(owned("DaemonSet", json!({})).owner, OwnerKind::DaemonSet);
    assert_eq!(
        owned("StatefulSet", json!({})).owner,
        OwnerKind::StatefulSet
    );
    assert_eq!(owned("Job", json!({})).owner, OwnerKind::Job);
    let cron = owned(
        "Job",
        json!({"batch.kubernetes.io/cronjob-name": "nightly"}),
    );
    assert_eq!(cron.owner, OwnerKind::CronJob);
    assert_eq!(cron.phase, PodPhase::Succeeded);

    let pending = pod_from(&pod(json!({
        "metadata": {"name": "big"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "64"}}}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled",
            "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient cpu."}]}
    })))
    .expect("pod");
    assert_eq!(pending.node, None);
    assert_eq!(
        pending.unschedulable.as_deref(),
        Some("0/3 nodes are available: 3 Insufficient cpu.")
    );

    let e = pod_from(&pod(json!({
        "metadata": {"name": "odd", "namespace": "ns"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"memory": "12 bytes"}}}]}
    })))
    .expect_err("bad quantity");
    let e = format!("{e:#}");
    assert!(
        e.contains("pod ns/odd") && e.contains("container c") && e.contains("memory"),
        "{e}"
    );
}

#[test]
fn cpu_quantities_in_every_unit() {
    use nodecast::catalog::parse_cpu;
    for (q, cores) in [
        ("2", 2.0),
        ("1.5", 1.5),
        ("940m", 0.94),
        ("123456789n", 0.123456789),
        ("2500u", 0.0025),
    ] {
        assert!((parse_cpu(q).expect(q) - cores).abs() < 1e-12, "{q}");
    }
    assert!(parse_cpu("fast").is_err());
    assert!(parse_cpu("NaN").is_err());
}

#[test]
fn cluster_state_with_and_without_node_metrics_and_bad_objects_dropped() {
    use nodecast::snapshot::summarize;
    use nodecast::sources::kube_objects::{NodeMetrics, state_from};
    let nodes = vec![
        node(
            json!({"metadata": {"name": "a", "labels": {"eks.amazonaws.com/nodegroup": "g"}},
            "status": {"allocatable": {"cpu": "4", "memory": "16Gi"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}),
        ),
        node(
            json!({"metadata": {"name": "b", "labels": {"eks.amazonaws.com/nodegroup": "g"}},
            "status": {"allocatable": {"cpu": "4", "memory": "16Gi"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}),
        ),
        node(json!({"metadata": {"name": "broken"},
            "status": {"allocatable": {"memory": "much"}}})),
    ];
    let pods = vec![
        pod(json!({"metadata": {"name": "p1"},
            "spec": {"nodeName": "a", "containers": [{"name": "c",
                "resources": {"requests": {"cpu": "1", "memory": "2Gi"}}}]},
            "status": {"phase": "Running"}})),
        pod(json!({"metadata": {"name": "p2"},
            "spec": {"containers": [{"name": "c",
                "resources": {"requests": {"cpu": "2"}}}]},
            "status": {"phase": "Pending"}})),
    ];
    let metrics: Vec<NodeMetrics> = serde_json::from_value(json!([
        {"metadata": {"name": "a"}, "usage": {"cpu": "500000000n", "memory": "1048576Ki"}},
        {"metadata": {"name": "b"}, "usage": {"cpu": "250m", "memory": "512Mi"}}
    ]))
    .expect("metrics");
    let (state, dropped) = state_from(&nodes, &pods, Some(&metrics));
    assert_eq!(state.nodes.len(), 2);
    assert_eq!(dropped.len(), 1);
    assert!(
        dropped[0].contains("node broken") && dropped[0].contains("much"),
        "{dropped:?}"
    );
    let s = summarize(
        &nodecast::domain::ClusterId("c".into()),
        chrono::Utc::now(),
        &state,
    );
    assert_eq!((s.nodes, s.pods, s.pending_pods), (2, 2, 1));
    assert!(close(s.allocatable, Resources::new(8.0, 32.0)));
    assert!(
        close(s.requests, Resources::new(3.0, 2.0)),
        "pending pods are demand too"
    );
    assert!(close(s.usage.expect("usage"), Resources::new(0.75, 1.5)));
    // Without metrics.k8s.io usage is unknown, not zero.
    let (state, _) = state_from(&nodes, &pods, None);
    let s = summarize(
        &nodecast::domain::ClusterId("c".into()),
        chrono::Utc::now(),
        &state,
    );
    assert_eq!(s.usage, None);
}
