//! Pending pods reach the node group that would run them (nodeSelector,
//! required node affinity, tolerations against taints, node size), and a
//! group with pods pending for it scales out now and never in: by hand, on
//! the demo fleet, and against a real kube-apiserver.

use crate::peers::{client, kubeconfig, runtime};
use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::{Namespace, Node as KNode, Pod as KPod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use nodecast::domain::{
    ClusterForecast, ClusterId, ClusterState, Forecast, ForecastPoint, LabelRequirement, Node,
    NodeGroup, Placement, Pod, PodPhase, Resources, ScaleReason, SeriesKind, Taint, Toleration,
};
use nodecast::placement::{GroupShape, group_for};
use nodecast::snapshot::{ClusterView, summarize};
use nodecast::sources::Source;
use nodecast::sources::kube::{KubeSource, KubeTarget};
use serde_json::json;
use std::collections::BTreeMap;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn taint(key: &str, value: &str, effect: &str) -> Taint {
    Taint {
        key: key.into(),
        value: value.into(),
        effect: effect.into(),
    }
}

fn tol(key: &str, operator: &str, value: &str, effect: &str) -> Toleration {
    Toleration {
        key: key.into(),
        operator: operator.into(),
        value: value.into(),
        effect: effect.into(),
    }
}

#[test]
fn tolerations_follow_kubernetes_rules() {
    let t = taint("dedicated", "batch", "NoSchedule");
    assert!(tol("dedicated", "Equal", "batch", "NoSchedule").tolerates(&t));
    assert!(
        tol("dedicated", "", "batch", "").tolerates(&t),
        "Equal is the default, any effect"
    );
    assert!(tol("dedicated", "Exists", "", "").tolerates(&t));
    assert!(
        tol("", "Exists", "", "").tolerates(&t),
        "an empty key with Exists tolerates all"
    );
    assert!(!tol("dedicated", "Equal", "web", "NoSchedule").tolerates(&t));
    assert!(!tol("dedicated", "Exists", "", "NoExecute").tolerates(&t));
    assert!(
        !tol("", "Equal", "", "").tolerates(&t),
        "an empty key needs Exists"
    );
    assert!(!taint("a", "", "PreferNoSchedule").repels());
}

#[test]
fn node_affinity_requirements_follow_kubernetes_rules() {
    let l = labels(&[("zone", "us-east-1a"), ("gen", "7")]);
    let r = |key: &str, op: &str, values: &[&str]| LabelRequirement {
        key: key.into(),
        operator: op.into(),
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    assert!(r("zone", "In", &["us-east-1a", "us-east-1b"]).matches(&l));
    assert!(!r("zone", "In", &["us-east-1c"]).matches(&l));
    assert!(r("zone", "NotIn", &["us-east-1c"]).matches(&l));
    assert!(
        r("arch", "NotIn", &["arm64"]).matches(&l),
        "NotIn holds where the label is absent"
    );
    assert!(r("gen", "Exists", &[]).matches(&l) && !r("arch", "Exists", &[]).matches(&l));
    assert!(r("arch", "DoesNotExist", &[]).matches(&l));
    assert!(r("gen", "Gt", &["6"]).matches(&l) && !r("gen", "Gt", &["7"]).matches(&l));
    assert!(r("gen", "Lt", &["8"]).matches(&l) && !r("zone", "Lt", &["8"]).matches(&l));
    // Terms are ORed, a term's requirements ANDed.
    let p = Placement {
        affinity: vec![
            vec![r("zone", "In", &["us-east-1c"])],
            vec![r("zone", "In", &["us-east-1a"]), r("gen", "Gt", &["5"])],
        ],
        ..Default::default()
    };
    assert!(p.admits(&l, &[]));
    let p = Placement {
        affinity: vec![vec![
            r("zone", "In", &["us-east-1a"]),
            r("gen", "Gt", &["8"]),
        ]],
        ..Default::default()
    };
    assert!(!p.admits(&l, &[]));
}

#[test]
fn a_pending_pod_goes_to_the_smallest_group_that_admits_and_fits_it() {
    let shape = |group: &str, cores: f64, taints: Vec<Taint>| GroupShape {
        labels: labels(&[("eks.amazonaws.com/nodegroup", group)]),
        taints,
        per_node: Resources::new(cores, cores * 4.0),
    };
    let groups = [
        shape("general", 7.9, vec![]),
        shape("small", 1.9, vec![]),
        shape(
            "batch",
            3.9,
            vec![taint("dedicated", "batch", "NoSchedule")],
        ),
    ];
    let two = Resources::new(2.0, 4.0);
    assert_eq!(
        group_for(None, two, &groups),
        Some(0),
        "small is too small, batch is tainted"
    );
    assert_eq!(
        group_for(None, Resources::new(1.0, 1.0), &groups),
        Some(1),
        "least waste"
    );
    let selector = Placement {
        node_selector: labels(&[("eks.amazonaws.com/nodegroup", "batch")]),
        ..Default::default()
    };
    assert_eq!(
        group_for(Some(&selector), two, &groups),
        None,
        "selected, but not tolerated"
    );
    let tolerant = Placement {
        tolerations: vec![tol("dedicated", "Equal", "batch", "NoSchedule")],
        ..selector
    };
    assert_eq!(group_for(Some(&tolerant), two, &groups), Some(2));
    assert_eq!(
        group_for(None, Resources::new(64.0, 1.0), &groups),
        None,
        "fits no node"
    );
}

fn pod(name: &str, node: Option<&str>, cores: f64, placement: Option<Placement>) -> Pod {
    Pod {
        name: format!("shop/{name}"),
        requests: Resources::new(cores, 2.0),
        phase: if node.is_some() {
            PodPhase::Running
        } else {
            PodPhase::Pending
        },
        node: node.map(str::to_string),
        placement: placement.map(Box::new),
        ..Default::default()
    }
}

/// The defect seen as a new user: 12 pods of 2 cores pending for node group
/// `general` (3 full m6i.xlarge nodes), beside an idle `spare` group.
fn twelve_pending() -> ClusterState {
    let group = |name: &str| NodeGroup {
        name: name.into(),
        instance_type: "m6i.xlarge".into(),
        min: 1,
        max: 20,
        desired: 3,
        labels: labels(&[("eks.amazonaws.com/nodegroup", name)]),
        ..Default::default()
    };
    let mut state = ClusterState {
        node_groups: vec![group("general"), group("spare")],
        ..Default::default()
    };
    let alloc = nodecast::catalog::lookup("m6i.xlarge")
        .expect("type")
        .allocatable;
    for (g, i) in [
        ("general", 0),
        ("general", 1),
        ("general", 2),
        ("spare", 0),
        ("spare", 1),
        ("spare", 2),
    ] {
        let name = format!("{g}-{i}");
        state.nodes.push(Node {
            name: name.clone(),
            node_group: g.into(),
            instance_type: "m6i.xlarge".into(),
            ready: true,
            allocatable: alloc,
            labels: labels(&[("eks.amazonaws.com/nodegroup", g)]),
            ..Default::default()
        });
        if g == "general" {
            state
                .pods
                .push(pod(&format!("full-{i}"), Some(&name), 3.5, None));
        }
    }
    let general = Placement {
        node_selector: labels(&[("eks.amazonaws.com/nodegroup", "general")]),
        ..Default::default()
    };
    for i in 0..12 {
        state.pods.push(pod(
            &format!("checkout-{i}"),
            None,
            2.0,
            Some(general.clone()),
        ));
    }
    state.pods.push(pod("huge", None, 64.0, None));
    state
}

/// Flat forecasts of `cores` and GiB from `at`: a demand that would let the
/// groups shrink.
fn low_forecast(at: DateTime<Utc>, cores: f64) -> ClusterForecast {
    let f = |series, v: f64| Forecast {
        series,
        issued_at: at,
        model: "test".into(),
        points: (0..48)
            .map(|h| ForecastPoint {
                ts: at + Duration::hours(h),
                p10: v * 0.95,
                p50: v,
                p90: v * 1.05,
            })
            .collect(),
        history_hours: 400,
        warnings: Vec::new(),
        confidence: 90,
        mix: Vec::new(),
    };
    [
        (SeriesKind::CpuRequests, f(SeriesKind::CpuRequests, cores)),
        (
            SeriesKind::MemRequests,
            f(SeriesKind::MemRequests, cores * 2.0),
        ),
    ]
    .into()
}

#[test]
fn pods_pending_for_a_group_scale_it_out_now_and_never_in() {
    let at = crate::fixture::now();
    let origin = nodecast::forecast::origin_for(at);
    let snap = summarize(&ClusterId("shop".into()), at, &twelve_pending());
    let general = &snap.node_groups[0];
    assert_eq!(
        (general.name.as_str(), general.pending_pods),
        ("general", 12)
    );
    assert_eq!(
        snap.node_groups[1].pending_pods, 0,
        "the selector keeps them off spare"
    );
    assert_eq!(snap.unplaced_pods, 1, "the 64-core pod fits no node");
    assert!((general.pending.cores - 24.0).abs() < 1e-9);
    let view = ClusterView {
        region: "us-east-1".into(),
        latest: Some(snap),
        ..Default::default()
    };
    // The forecast says demand falls to 2 cores: a forecast alone would
    // shrink both groups.
    let plan = nodecast::plan::plan_cluster(
        &view,
        &low_forecast(origin, 2.0),
        &nodecast::plan::PlanConfig::default(),
        &nodecast::catalog::Catalog::shipped(),
        at.date_naive(),
    )
    .expect("plan");
    let g = plan
        .groups
        .iter()
        .find(|g| g.node_group == "general")
        .expect("general");
    let first = g.proposals.first().expect("a proposal for general");
    let per = nodecast::catalog::lookup("m6i.xlarge")
        .expect("type")
        .allocatable
        .cores;
    let needed = ((3.0 * 3.5 + 24.0) / per).ceil() as u32;
    assert_eq!(needed, 9);
    assert_eq!(first.action.reason, ScaleReason::RequestsAbove);
    assert_eq!(first.action.from, 3);
    assert_eq!(first.action.at, origin, "now: the current hour needs it");
    // Steps the executor allows (up to double the group, at least 4
    // nodes), chained within the current hour one cooldown apart until the
    // pods fit: 3 -> 7 now, 7 -> 9 ten minutes after the plan.
    let climb: Vec<_> = g
        .proposals
        .iter()
        .take_while(|p| p.action.reason == ScaleReason::RequestsAbove)
        .map(|p| (p.action.from, p.action.to, p.action.at, p.apply_by))
        .collect();
    let ten = chrono::Duration::minutes(10);
    let lead =
        chrono::Duration::minutes(nodecast::plan::PlanConfig::default().rules.lead_minutes as i64);
    assert_eq!(
        climb,
        vec![
            (3, 7, origin, origin - lead),
            (7, needed, origin, plan.issued_at + ten)
        ]
    );
    assert!(
        g.proposals.iter().all(|p| p.action.to >= p.action.from),
        "no scale-in while pods wait: {:?}",
        g.proposals
    );
    // The idle group does shrink on the same forecast.
    let spare = plan
        .groups
        .iter()
        .find(|g| g.node_group == "spare")
        .expect("spare");
    assert!(
        spare
            .proposals
            .iter()
            .any(|p| p.action.reason == ScaleReason::BandBelow)
    );
}

#[test]
fn demo_pending_pods_wait_for_their_own_node_group() {
    let s = crate::fixture::state();
    let mut seen = 0;
    for c in &s.clusters {
        let snap = c.view.latest.as_ref().expect("snapshot");
        let placed: u32 = snap.node_groups.iter().map(|g| g.pending_pods).sum();
        assert_eq!(placed + snap.unplaced_pods, snap.pending_pods, "{}", c.id);
        for g in snap.node_groups.iter().filter(|g| g.pending_pods > 0) {
            seen += 1;
            let plan = c.plan.as_ref().expect("plan");
            let gp = plan
                .groups
                .iter()
                .find(|p| p.node_group == g.name)
                .expect("group plan");
            assert!(
                gp.proposals.iter().all(|p| p.action.to >= p.action.from),
                "{} {}: no scale-in while pods wait",
                c.id,
                g.name
            );
        }
    }
    assert!(seen > 0, "the demo fixture has pods pending for a group");
}

/// A Ready m6i.xlarge node of EKS node group `group` (3920m, 14Gi allocatable).
pub async fn ready_node(nodes: &Api<KNode>, name: &str, group: &str, taints: serde_json::Value) {
    let n: KNode = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {
            "eks.amazonaws.com/nodegroup": group,
            "node.kubernetes.io/instance-type": "m6i.xlarge"}},
        "spec": {"taints": taints}
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &n)
        .await
        .expect("create node");
    let status = json!({"status": {
        "allocatable": {"cpu": "3920m", "memory": "14Gi", "pods": "58"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "m", "lastHeartbeatTime": "2026-11-28T00:00:00Z",
            "lastTransitionTime": "2026-11-28T00:00:00Z"}]}});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("node status");
}

#[test]
#[ignore = "needs kube-apiserver and etcd (scripts/test.sh starts them)"]
fn pending_pods_reach_their_node_group_against_a_real_api_server() {
    let rt = runtime();
    let kc = kubeconfig();
    rt.block_on(async {
        let c = client(&kc).await;
        let pp = PostParams::default();
        let _ = Api::<Namespace>::all(c.clone())
            .create(&pp, &serde_json::from_value(json!({"metadata": {"name": "pend"}})).expect("ns"))
            .await;
        let nodes = Api::<KNode>::all(c.clone());
        for (group, i, taints) in [
            ("pend-general", 0, json!([])),
            ("pend-general", 1, json!([])),
            ("pend-general", 2, json!([])),
            ("pend-batch", 0, json!([{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}])),
        ] {
            ready_node(&nodes, &format!("{group}-{i}"), group, taints).await;
        }
        let pods = Api::<KPod>::namespaced(c.clone(), "pend");
        let create = |name: String, spec: serde_json::Value| {
            let pods = pods.clone();
            async move {
                let p: KPod = serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec}))
                    .expect("pod");
                pods.create(&PostParams::default(), &p).await.expect("create pod");
            }
        };
        let container = |cpu: &str| json!([{"name": "app", "image": "x",
            "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]);
        for i in 0..3 {
            create(
                format!("full-{i}"),
                json!({"nodeName": format!("pend-general-{i}"), "containers": container("3500m")}),
            )
            .await;
        }
        for i in 0..12 {
            create(
                format!("checkout-{i}"),
                json!({"nodeSelector": {"eks.amazonaws.com/nodegroup": "pend-general"},
                       "containers": container("2")}),
            )
            .await;
        }
        // Selected for the tainted group and tolerating it; and one that does not tolerate it.
        create(
            "report".into(),
            json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "eks.amazonaws.com/nodegroup",
                        "operator": "In", "values": ["pend-batch"]}]}]}}},
                   "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "batch",
                        "effect": "NoSchedule"}],
                   "containers": container("1")}),
        )
        .await;
        create(
            "untolerated".into(),
            json!({"nodeSelector": {"eks.amazonaws.com/nodegroup": "pend-batch"},
                   "containers": container("1")}),
        )
        .await;
        let mut src = KubeSource::new(
            KubeTarget {
                kubeconfig: Some(kc.clone()),
                context: None,
                ..Default::default()
            },
            std::time::Duration::from_secs(1),
        );
        let now = Utc::now();
        src.backfill(now).await.expect("connect");
        let state = src.poll(now).await.expect("poll").state.expect("state");
        let checkout = state
            .pods
            .iter()
            .find(|p| p.name == "pend/checkout-0")
            .expect("pending pod");
        assert_eq!(
            checkout.placement.as_ref().map(|p| p.node_selector.clone()),
            Some(labels(&[("eks.amazonaws.com/nodegroup", "pend-general")]))
        );
        let full = state.pods.iter().find(|p| p.name == "pend/full-0").expect("bound pod");
        assert!(full.placement.is_none(), "a bound pod's placement is not kept");
        let batch = state.nodes.iter().find(|n| n.name == "pend-batch-0").expect("node");
        assert_eq!(batch.taints, vec![taint("dedicated", "batch", "NoSchedule")]);
        let snap = summarize(&ClusterId("pend".into()), now, &state);
        let group = |name: &str| snap.node_groups.iter().find(|g| g.name == name).expect("group");
        assert_eq!(group("pend-general").pending_pods, 12);
        assert_eq!(group("pend-batch").pending_pods, 1, "only the tolerating pod");
        let view = ClusterView {
            region: "us-east-1".into(),
            latest: Some(snap.clone()),
            ..Default::default()
        };
        let plan = nodecast::plan::plan_cluster(
            &view,
            &low_forecast(nodecast::forecast::origin_for(now), 1.0),
            &nodecast::plan::PlanConfig::default(),
            &nodecast::catalog::Catalog::shipped(),
            now.date_naive(),
        )
        .expect("plan");
        let g = plan.groups.iter().find(|g| g.node_group == "pend-general").expect("plan");
        let first = g.proposals.first().expect("scale-out");
        assert_eq!(first.action.reason, ScaleReason::RequestsAbove);
        assert!(first.action.to > 3 && first.apply_by <= now);
        assert!(g.proposals.iter().all(|p| p.action.to >= p.action.from));
    });
}

#[test]
fn a_nodes_passing_taints_are_not_its_groups() {
    let n: KNode = serde_json::from_value(json!({
        "metadata": {"name": "n1", "labels": {"eks.amazonaws.com/nodegroup": "batch"}},
        "spec": {"taints": [
            {"key": "dedicated", "value": "batch", "effect": "NoSchedule"},
            {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"},
            {"key": "node.cloudprovider.kubernetes.io/uninitialized", "value": "true", "effect": "NoSchedule"},
            {"key": "ToBeDeletedByClusterAutoscaler", "value": "1700000000", "effect": "NoSchedule"}
        ]},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi"}}
    }))
    .expect("node");
    let node = nodecast::sources::kube_objects::node_from(&n).expect("node");
    assert_eq!(node.taints, vec![taint("dedicated", "batch", "NoSchedule")]);
    assert_eq!(
        node.labels
            .get("eks.amazonaws.com/nodegroup")
            .map(String::as_str),
        Some("batch")
    );
}
