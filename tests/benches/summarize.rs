//! Summarizing a large cluster: 5,000 nodes in 20 node groups and 150,000
//! pods (issue bar: under 1 s), from the domain objects a source holds.

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use nodecast::domain::ClusterState;
use nodecast::domain::{
    CapacityType, ClusterId, Node, NodeGroup, OwnerKind, Pod, PodPhase, Resources,
};
use nodecast::snapshot::summarize;

fn big_cluster() -> ClusterState {
    let groups: Vec<NodeGroup> = (0..20)
        .map(|g| NodeGroup {
            name: format!("group-{g}"),
            instance_type: "m6i.4xlarge".into(),
            capacity_type: if g % 3 == 0 {
                CapacityType::Spot
            } else {
                CapacityType::OnDemand
            },
            min: 0,
            max: 500,
            desired: 250,
            ..Default::default()
        })
        .collect();
    let nodes: Vec<Node> = (0..5_000)
        .map(|i| Node {
            name: format!("ip-10-0-{}-{}", i / 250, i % 250),
            node_group: format!("group-{}", i % 20),
            instance_type: "m6i.4xlarge".into(),
            capacity_type: CapacityType::OnDemand,
            zone: format!("us-east-1{}", ["a", "b", "c"][i % 3]),
            ready: i % 97 != 0,
            allocatable: Resources::new(15.89, 57.63),
            requests: Resources::default(),
            usage: Some(Resources::new(8.0, 30.0)),
            // The labels an EKS node carries (the summary keeps those its group shares).
            labels: [
                ("eks.amazonaws.com/nodegroup", format!("group-{}", i % 20)),
                ("eks.amazonaws.com/capacityType", "ON_DEMAND".into()),
                ("node.kubernetes.io/instance-type", "m6i.4xlarge".into()),
                (
                    "topology.kubernetes.io/zone",
                    format!("us-east-1{}", ["a", "b", "c"][i % 3]),
                ),
                ("topology.kubernetes.io/region", "us-east-1".into()),
                (
                    "kubernetes.io/hostname",
                    format!("ip-10-0-{}-{}", i / 250, i % 250),
                ),
                ("kubernetes.io/arch", "amd64".into()),
                ("kubernetes.io/os", "linux".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            taints: Vec::new(),
        })
        .collect();
    let owners = [
        OwnerKind::Deployment,
        OwnerKind::StatefulSet,
        OwnerKind::DaemonSet,
        OwnerKind::Job,
    ];
    let pods: Vec<Pod> = (0..150_000)
        .map(|i| Pod {
            name: format!("ns-{}/pod-{i}", i % 40),
            owner: owners[i % 4],
            requests: Resources::new(0.25, 0.9),
            phase: if i % 50 == 0 {
                PodPhase::Pending
            } else {
                PodPhase::Running
            },
            node: (i % 50 != 0).then(|| format!("ip-10-0-{}-{}", (i % 5_000) / 250, i % 250)),
            unschedulable: None,
            // 1,000 workloads of 150 replicas, labelled as a Deployment's pods are.
            workload: format!("ns-{}/app-{}", i % 40, i % 1000),
            labels: format!("app=app-{}\npod-template-hash=7d9f8b6c5d", i % 1000),
            ..Default::default()
        })
        .collect();
    ClusterState {
        node_groups: groups,
        nodes,
        pods,
        budgets: Vec::new(),
    }
}

/// 5,000 Kubernetes nodes, and pods of typical size made on demand.
fn big_k8s_lazy() -> (
    Vec<k8s_openapi::api::core::v1::Node>,
    impl Fn(usize) -> k8s_openapi::api::core::v1::Pod,
) {
    let node = |i: usize| {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": format!("ip-10-0-{}-{}", i / 250, i % 250),
                "uid": format!("00000000-0000-0000-0000-{i:012}"), "resourceVersion": "123456",
                "labels": {"eks.amazonaws.com/nodegroup": format!("group-{}", i % 20),
                    "eks.amazonaws.com/capacityType": "ON_DEMAND",
                    "node.kubernetes.io/instance-type": "m6i.4xlarge",
                    "topology.kubernetes.io/zone": "us-east-1a", "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64"}},
            "spec": {"providerID": format!("aws:///us-east-1a/i-{i:017}")},
            "status": {"allocatable": {"cpu": "15890m", "memory": "57632692Ki", "pods": "234"},
                "capacity": {"cpu": "16", "memory": "64742356Ki", "pods": "234"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}
        }))
        .expect("node")
    };
    let pod = |i: usize| {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": format!("web-7d9f8b6c5d-{i:05}"), "namespace": format!("ns-{}", i % 40),
                "uid": format!("00000000-0000-0000-0001-{i:012}"), "resourceVersion": "123456",
                "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5d"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "web-7d9f8b6c5d", "uid": "u", "controller": true}]},
            "spec": {"nodeName": format!("ip-10-0-{}-{}", (i % 5_000) / 250, i % 250),
                "containers": [{"name": "app", "image": "registry.example/web:1.2.3",
                    "resources": {"requests": {"cpu": "250m", "memory": "900Mi"},
                        "limits": {"memory": "900Mi"}},
                    "env": [{"name": "MODE", "value": "prod"}]}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .expect("pod")
    };
    ((0..5_000).map(node).collect(), pod)
}

/// Peak resident memory of this process so far (VmHWM), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// What the Kubernetes source holds for a 5,000-node, 150,000-pod cluster:
/// the nodes as Kubernetes objects (reflector) and the pods converted one by
/// one into domain pods as they arrive (its pod index). Prints the peak
/// resident memory of the whole process, then times converting a full
/// re-list of the pods.
fn bench_from_k8s(c: &mut Criterion) {
    let (nodes, k8s_pods) = big_k8s_lazy();
    let pods: Vec<Pod> = (0..150_000)
        .map(|i| nodecast::sources::kube_objects::pod_from(&k8s_pods(i)).expect("pod"))
        .collect();
    let id = ClusterId("big".into());
    let (mut state, dropped) = nodecast::sources::kube_objects::state_from(
        &nodes,
        &[] as &[k8s_openapi::api::core::v1::Pod],
        None,
    );
    assert!(dropped.is_empty());
    state.pods = pods;
    let s = summarize(&id, Utc::now(), &state);
    assert_eq!((s.nodes, s.pods), (5_000, 150_000));
    eprintln!(
        "peak resident memory holding 5,000 nodes (Kubernetes objects) and 150,000 pods (domain pods), summarized: {:.0} MB",
        peak_rss_mb()
    );
    let relist: Vec<_> = (0..150_000).map(&k8s_pods).collect();
    let mut g = c.benchmark_group("kube_relist");
    g.sample_size(10);
    g.bench_function("convert_150000_pods", |b| {
        b.iter(|| {
            relist
                .iter()
                .map(|p| nodecast::sources::kube_objects::pod_from(p).expect("pod"))
                .collect::<Vec<_>>()
        })
    });
    g.finish();
}

fn bench_summarize(c: &mut Criterion) {
    let state = big_cluster();
    let id = ClusterId("big".into());
    let s = summarize(&id, Utc::now(), &state);
    assert_eq!((s.nodes, s.pods, s.pending_pods), (5_000, 150_000, 3_000));
    c.bench_function("summarize_5000_nodes_150000_pods", |b| {
        b.iter(|| summarize(&id, Utc::now(), &state))
    });
}

criterion_group!(benches, bench_summarize, bench_from_k8s);
criterion_main!(benches);
