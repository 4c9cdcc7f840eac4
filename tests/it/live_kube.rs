//! The Kubernetes source against a real kube-apiserver (with etcd), started
//! by the test script: objects seeded through the API come back in the
//! snapshot; a killed API server turns the source to error and back.

use crate::peers::{OwnApiServer, client, kubeconfig, runtime};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use nodecast::domain::ClusterId;
use nodecast::sources::kube::{KubeSource, KubeTarget};
use nodecast::sources::{Source, SourceEventKind, run_source};
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

/// Nodes of two node groups and pods in a namespace of the test's own
/// (`ns`), labelled so tests do not see each other's objects by mistake.
pub async fn seed(c: &kube::Client, ns: &str, group: &str) {
    let pp = PostParams::default();
    let _ = Api::<Namespace>::all(c.clone())
        .create(
            &pp,
            &serde_json::from_value(json!({"metadata": {"name": ns}})).expect("ns"),
        )
        .await;
    let nodes = Api::<Node>::all(c.clone());
    for (i, (capacity, ready)) in [
        ("ON_DEMAND", "True"),
        ("ON_DEMAND", "True"),
        ("SPOT", "False"),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("{group}-{i}");
        let n: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {
                "eks.amazonaws.com/nodegroup": format!("{group}-{}", capacity.to_lowercase()),
                "eks.amazonaws.com/capacityType": capacity,
                "node.kubernetes.io/instance-type": "m6i.2xlarge",
                "topology.kubernetes.io/zone": "us-east-1a"}}
        }))
        .expect("node");
        nodes.create(&pp, &n).await.expect("create node");
        let status = json!({"status": {
            "allocatable": {"cpu": "7910m", "memory": "30Gi", "pods": "58"},
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "58"},
            "conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                "message": "m", "lastHeartbeatTime": "2026-11-28T00:00:00Z",
                "lastTransitionTime": "2026-11-28T00:00:00Z"}]}});
        nodes
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("node status");
    }
    let pods = Api::<Pod>::namespaced(c.clone(), ns);
    let pod = |name: &str, node: Option<String>, cpu: &str| -> Pod {
        let mut spec = json!({"containers": [{"name": "app", "image": "x",
            "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]});
        if let Some(n) = node {
            spec["nodeName"] = json!(n);
        }
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).expect("pod")
    };
    for i in 0..3 {
        pods.create(
            &pp,
            &pod(&format!("web-{i}"), Some(format!("{group}-0")), "1500m"),
        )
        .await
        .expect("create pod");
        pods.patch_status(
            &format!("web-{i}"),
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"phase": "Running"}})),
        )
        .await
        .expect("pod status");
    }
    pods.create(&pp, &pod("big", None, "64"))
        .await
        .expect("create pending pod");
    pods.patch_status(
        "big",
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient cpu."}]}})),
    )
    .await
    .expect("pending status");
    // A PodDisruptionBudget: policy/v1beta1 on the 1.20 API server.
    let gvk = kube::api::GroupVersionKind::gvk("policy", "v1beta1", "PodDisruptionBudget");
    let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, "poddisruptionbudgets");
    let pdb: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "policy/v1beta1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}
    }))
    .expect("pdb");
    Api::<kube::api::DynamicObject>::namespaced_with(c.clone(), ns, &ar)
        .create(&pp, &pdb)
        .await
        .expect("create pdb");
    pods.create(&pp, &pod("done", Some(format!("{group}-1")), "2"))
        .await
        .expect("create done pod");
    pods.patch_status(
        "done",
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": {"phase": "Succeeded"}})),
    )
    .await
    .expect("done status");
}

#[test]
#[ignore = "needs kube-apiserver and etcd (scripts/test.sh starts them)"]
fn the_source_sees_what_was_seeded_through_the_api() {
    let rt = runtime();
    let kc = kubeconfig();
    rt.block_on(async {
        let c = client(&kc).await;
        seed(&c, "seen", "seen").await;
        let mut src = KubeSource::new(
            KubeTarget {
                kubeconfig: Some(kc.clone()),
                context: None,
                ..Default::default()
            },
            Duration::from_secs(1),
        );
        let now = chrono::Utc::now();
        assert!(
            src.backfill(now).await.expect("connect").is_empty(),
            "no history from the API"
        );
        let state = src.poll(now).await.expect("poll").state.expect("state");
        let mine: Vec<_> = state
            .nodes
            .iter()
            .filter(|n| n.name.starts_with("seen-"))
            .collect();
        assert_eq!(mine.len(), 3);
        let spot = mine.iter().find(|n| n.name == "seen-2").expect("spot node");
        assert_eq!(spot.node_group, "seen-spot");
        assert_eq!(spot.capacity_type, nodecast::domain::CapacityType::Spot);
        assert!(!spot.ready);
        assert_eq!(spot.instance_type, "m6i.2xlarge");
        assert!((spot.allocatable.cores - 7.91).abs() < 1e-9);
        assert_eq!(
            spot.usage, None,
            "no metrics.k8s.io on 1.20: usage unknown, not zero"
        );
        let pods: Vec<_> = state
            .pods
            .iter()
            .filter(|p| p.name.starts_with("seen/"))
            .collect();
        assert_eq!(pods.len(), 5);
        let pdb = state
            .budgets
            .iter()
            .find(|b| b.name == "seen/web")
            .expect("pdb");
        assert_eq!(pdb.min_available.as_deref(), Some("2"));
        assert_eq!(pdb.max_unavailable, None);
        assert_eq!(pdb.match_labels.get("app").map(String::as_str), Some("web"));
        let big = pods.iter().find(|p| p.name == "seen/big").expect("big");
        assert_eq!(
            big.unschedulable.as_deref(),
            Some("0/3 nodes are available: 3 Insufficient cpu.")
        );
    });
}

fn nodecast(args: &[&str], home: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .env_remove("KUBECONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("run nodecast")
}

#[test]
#[ignore = "needs kube-apiserver and etcd (scripts/test.sh starts them)"]
fn snapshot_json_lists_every_cluster_and_fails_when_one_is_down() {
    let home = tempfile::tempdir().expect("home");
    let kc = kubeconfig();
    // "prod" is the shared API server; "gone" points at a port nobody listens on.
    let rt = runtime();
    rt.block_on(async {
        let c = client(&kc).await;
        seed(&c, "snap", "snap").await;
    });
    let dead = crate::peers::kubeconfig_on_port(home.path(), "dead-kubeconfig", 9);
    let cfg = home.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[cluster]]\nname = \"prod\"\nkubeconfig = {:?}\ncontext = \"test-admin\"\n\
             [[cluster]]\nname = \"gone\"\nkubeconfig = {:?}\n",
            kc.display().to_string(),
            dead.display().to_string()
        ),
    )
    .expect("config");
    let cfg = cfg.to_str().expect("utf8");

    let out = nodecast(
        &["--config", cfg, "snapshot", "--cluster", "prod", "--json"],
        home.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let prod = &v[0];
    assert_eq!(v.as_array().map(Vec::len), Some(1));
    assert_eq!(prod["cluster"], "prod");
    assert_eq!(prod["sources"]["kube"]["status"], "ok");
    // Other tests add objects to the same API server: count this test's own.
    let groups = prod["node_groups"].as_array().expect("groups");
    let group = |name: &str| {
        groups
            .iter()
            .find(|g| g["name"] == name)
            .expect(name)
            .clone()
    };
    assert_eq!(group("snap-on_demand")["nodes"], 2);
    assert_eq!(group("snap-spot")["capacity_type"], "spot");
    assert_eq!(group("snap-spot")["instance_type"], "m6i.2xlarge");
    assert!(prod["pending_pods"].as_u64().expect("pending") >= 1);
    assert!(prod["cpu"]["requests_cores"].as_f64().expect("req") >= 4.5 + 64.0);
    assert_eq!(prod["cpu"]["usage_cores"], serde_json::Value::Null);
    assert_eq!(prod["history_hours"], 0);
    assert!(prod["pod_disruption_budgets"].as_u64().expect("pdbs") >= 1);

    let started = Instant::now();
    let out = nodecast(&["--config", cfg, "snapshot", "--json"], home.path());
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "one cluster down: exit 1");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = v
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["cluster"].as_str())
        .collect();
    assert_eq!(names, ["prod", "gone"], "every cluster listed");
    assert_eq!(v[0]["sources"]["kube"]["status"], "ok");
    assert_eq!(v[1]["sources"]["kube"]["status"], "error");
    let msg = v[1]["sources"]["kube"]["message"]
        .as_str()
        .expect("message");
    assert!(msg.contains("API server"), "{msg}");
    assert_eq!(v[1]["nodes"], serde_json::Value::Null);
}

/// The next event of the wanted kind ("update" with a state, or "failed").
async fn next(
    rx: &mut tokio::sync::mpsc::Receiver<nodecast::sources::SourceEvent>,
    want: &str,
) -> nodecast::sources::SourceEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {want} event in 60 s"))
            .expect("source ended");
        match (&ev.kind, want) {
            (SourceEventKind::Update(u), "update") if u.state.is_some() => return ev,
            (SourceEventKind::Failed(_), "failed") => return ev,
            _ => {}
        }
    }
}

#[test]
#[ignore = "needs kube-apiserver and etcd (scripts/test.sh starts them)"]
fn a_killed_api_server_turns_the_source_to_error_and_back() {
    let mut api = OwnApiServer::start();
    let rt = runtime();
    rt.block_on(async {
        let target = KubeTarget {
            kubeconfig: Some(api.kubeconfig.clone()),
            context: None,
            ..Default::default()
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run_source(
            ClusterId("restart".into()),
            Box::new(KubeSource::new(target, Duration::from_millis(500))),
            nodecast::clock::Clock::wall(),
            tx,
            stop_rx,
        ));
        next(&mut rx, "update").await;
        api.kill();
        let failed = next(&mut rx, "failed").await;
        let SourceEventKind::Failed(msg) = failed.kind else {
            unreachable!()
        };
        assert!(msg.contains("API server"), "{msg}");
        api.restart();
        let back = next(&mut rx, "update").await;
        let SourceEventKind::Update(u) = back.kind else {
            unreachable!()
        };
        assert!(u.state.is_some());
        let _ = stop_tx.send(true);
        let _ = task.await;
    });
}
