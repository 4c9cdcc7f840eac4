//! Summarizing a large cluster: 5,000 nodes in 20 node groups and 150,000
//! pods (issue bar: under 1 s), from the domain objects a source holds.

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use nodecast::domain::{
    CapacityType, ClusterId, Node, NodeGroup, OwnerKind, Pod, PodPhase, Resources,
};
use nodecast::snapshot::{ClusterState, summarize};

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
        })
        .collect();
    ClusterState {
        node_groups: groups,
        nodes,
        pods,
    }
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

criterion_group!(benches, bench_summarize);
criterion_main!(benches);
