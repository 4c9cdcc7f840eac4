//! Workload classification for spot (fixtures as the API serves pods),
//! disruption-budget matching, commitments and queueing risk by hand.

use k8s_openapi::api::core::v1::Pod as KPod;
use nodecast::domain::ClusterState;
use nodecast::domain::{DisruptionBudget, Node, OwnerKind, Pod, PodPhase, Resources};
use nodecast::plan::cost::{Discounts, commitment, erlang_c, latency_risk};
use nodecast::plan::spot::{SpotFit, classify};
use nodecast::sources::kube_objects::pod_from;
use nodecast::workloads::{WorkloadSummary, budget_selects, group_workloads, workloads_of};
use serde_json::json;

fn api_pod(
    owner: Option<(&str, &str)>,
    labels: serde_json::Value,
    volumes: serde_json::Value,
) -> Pod {
    let mut meta = json!({"name": "p-1", "namespace": "shop", "labels": labels});
    if let Some((kind, name)) = owner {
        meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": name,
            "uid": "u", "controller": true}]);
    }
    let p: KPod = serde_json::from_value(json!({"metadata": meta, "spec": {
        "nodeName": "n1", "volumes": volumes,
        "containers": [{"name": "c", "image": "x",
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}}))
    .expect("pod json");
    pod_from(&p).expect("pod")
}

#[test]
fn pods_keep_their_workload_labels_and_storage() {
    let p = api_pod(
        Some(("ReplicaSet", "web-7d9f8c6b5")),
        json!({"app": "web"}),
        json!([]),
    );
    assert_eq!(p.workload, "shop/web");
    assert_eq!(p.label("app"), Some("web"));
    assert_eq!(p.label("ap"), None);
    assert!(!p.local_storage && !p.persistent_volume);
    let p = api_pod(
        Some(("Job", "report-28911")),
        json!({"batch.kubernetes.io/cronjob-name": "report"}),
        json!([{"name": "tmp", "emptyDir": {"medium": "Memory"}}]),
    );
    assert_eq!(
        (p.owner, p.workload.as_str()),
        (OwnerKind::CronJob, "shop/report")
    );
    assert!(!p.local_storage, "an in-memory emptyDir is not disk");
    let p = api_pod(
        Some(("StatefulSet", "db")),
        json!({}),
        json!([{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}},
               {"name": "scratch", "emptyDir": {}}]),
    );
    assert!(p.persistent_volume && p.local_storage);
    assert_eq!(api_pod(None, json!({}), json!([])).workload, "");
}

fn pod(name: &str, workload: &str, owner: OwnerKind, app: &str, node: &str, cores: f64) -> Pod {
    Pod {
        name: name.into(),
        owner,
        requests: Resources::new(cores, 1.0),
        phase: PodPhase::Running,
        node: Some(node.into()),
        workload: workload.into(),
        labels: nodecast::domain::labels_text([("app", app)]),
        ..Default::default()
    }
}

fn node(name: &str, group: &str) -> Node {
    Node {
        name: name.into(),
        node_group: group.into(),
        instance_type: "m6i.2xlarge".into(),
        capacity_type: nodecast::domain::CapacityType::OnDemand,
        zone: "us-east-1a".into(),
        ready: true,
        allocatable: Resources::new(7.91, 27.0),
        requests: Resources::default(),
        usage: None,
        ..Default::default()
    }
}

#[test]
fn workloads_are_classified_from_replicas_budgets_and_volumes() {
    use OwnerKind::*;
    let budget = DisruptionBudget {
        name: "shop/web".into(),
        match_labels: [("app".to_string(), "web".to_string())].into(),
        min_available: Some("50%".into()),
        max_unavailable: None,
        disruptions_allowed: Some(1),
    };
    let mut db = pod("shop/db-0", "shop/db", StatefulSet, "db", "n2", 2.0);
    db.persistent_volume = true;
    let state = ClusterState {
        nodes: vec![node("n1", "general"), node("n2", "general")],
        pods: vec![
            pod("shop/web-a", "shop/web", Deployment, "web", "n1", 1.0),
            pod("shop/web-b", "shop/web", Deployment, "web", "n2", 1.0),
            pod("shop/api-a", "shop/api", Deployment, "api", "n1", 1.0),
            pod("shop/api-b", "shop/api", Deployment, "api", "n2", 1.0),
            pod("shop/admin-a", "shop/admin", Deployment, "admin", "n1", 0.5),
            pod("shop/report-1", "shop/report", Job, "report", "n2", 1.5),
            pod(
                "kube-system/ds-1",
                "kube-system/ds",
                DaemonSet,
                "ds",
                "n1",
                0.1,
            ),
            db,
        ],
        budgets: vec![budget.clone()],
        ..Default::default()
    };
    assert!(budget_selects(&budget, &state.pods[0]));
    assert!(!budget_selects(&budget, &state.pods[2]), "other labels");
    let other_ns = Pod {
        name: "other/web-a".into(),
        ..state.pods[0].clone()
    };
    assert!(!budget_selects(&budget, &other_ns), "other namespace");
    let ws = workloads_of(&state);
    let get = |n: &str| -> &WorkloadSummary { ws.iter().find(|w| w.name == n).expect(n) };
    assert_eq!(get("shop/web").replicas, 2);
    assert!(get("shop/web").has_budget && !get("shop/api").has_budget);
    let fit = |n: &str| classify(get(n));
    assert_eq!(
        fit("shop/web"),
        (SpotFit::Tolerant, "replicated with a disruption budget")
    );
    assert_eq!(
        fit("shop/api"),
        (SpotFit::NotTolerant, "no PodDisruptionBudget")
    );
    assert_eq!(fit("shop/admin"), (SpotFit::NotTolerant, "single replica"));
    assert_eq!(fit("shop/report").0, SpotFit::Tolerant);
    assert_eq!(
        fit("shop/db"),
        (SpotFit::NotTolerant, "StatefulSet with volumes")
    );
    assert_eq!(fit("kube-system/ds").0, SpotFit::EveryNode);
    // general: web 2 + report 1.5 tolerant of web 2 + api 2 + admin 0.5 +
    // report 1.5 + db 2 = 8 cores (the DaemonSet does not count).
    let groups = group_workloads(&ws);
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!(g.node_group, "general");
    assert!((g.tolerant_share() - 3.5 / 8.0).abs() < 1e-9);
    assert_eq!(g.pods, 8, "DaemonSet pods count toward pods per node");
    assert_eq!(g.largest_pod, Resources::new(2.0, 1.0));
    assert_eq!(
        nodecast::workloads::GroupWorkloads::default().tolerant_share(),
        0.0
    );
}

#[test]
fn commitment_from_the_floor_of_spend() {
    // 100 hours: 90 at $10/h, 10 at $4/h. p10 of spend is $4 + 0.9 x 6 = ...
    let mut hours = vec![10.0; 90];
    hours.extend(vec![4.0; 10]);
    let d = Discounts {
        enterprise: 0.0,
        savings_plan: 0.25,
        floor_quantile: 0.10,
    };
    let c = commitment(&hours, &d).expect("commitment");
    // Sorted: ten 4s then 90 10s; position 0.1 x 99 = 9.9 -> 4 + 0.9 x 6 = 9.4.
    assert!((c.covers_on_demand_usd_per_hour - 9.4).abs() < 1e-9);
    assert!((c.usd_per_hour - 9.4 * 0.75).abs() < 1e-9);
    assert!((c.break_even_utilization - 0.75).abs() < 1e-12);
    assert!((c.utilization - 0.9).abs() < 1e-12);
    // Each hour saves min(use, 9.4) - 7.05: 90 x 2.35 + 10 x (4 - 7.05) = 181. Per year: x 87.6.
    assert!((c.usd_per_year - (90.0 * 2.35 - 10.0 * 3.05) / 100.0 * 8760.0).abs() < 1e-6);
    assert!(
        commitment(&hours[..20], &d).is_none(),
        "under a day of history"
    );
    let bad = Discounts {
        savings_plan: 1.2,
        ..d
    };
    assert!(commitment(&hours, &bad).is_none());
}

#[test]
fn erlang_c_by_hand() {
    // One server: the waiting probability is rho.
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    // Two servers at rho 0.5 (a = 1): C = 1/3.
    assert!((erlang_c(2, 0.5) - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(erlang_c(10, 1.0), 1.0);
    assert_eq!(erlang_c(10, 0.0), 0.0);
    // More servers at the same utilization queue less.
    assert!(erlang_c(40, 0.8) < erlang_c(4, 0.8));
    let (level, why) = latency_risk(40, 0.5);
    assert_eq!(level, nodecast::domain::Risk::Low);
    assert!(why.contains("50% busy on 40 nodes"), "{why}");
    assert_eq!(latency_risk(3, 0.95).0, nodecast::domain::Risk::High);
}
