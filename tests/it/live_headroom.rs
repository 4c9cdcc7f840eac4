//! Headroom pods against the real kube-apiserver (started by the test
//! script): an approval applies the PriorityClass and the node group's
//! pause-pod Deployment with server-side apply as field manager `nodecast`;
//! where another manager has taken `spec.replicas`, nodecast does not force
//! and the conflict is the failure the operator sees.

use crate::live_kube::seed;
use crate::peers::{client, kubeconfig, runtime};
use chrono::{Duration, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::Api;
use kube::api::{Patch, PatchParams};
use nodecast::domain::{ClusterId, ScaleReason, ScalingAction};
use nodecast::exec::headroom::{HeadroomPods, PRIORITY_CLASS, TARGET_ANNOTATION, deployment_name};
use nodecast::exec::{ActionsMode, ChangeLimits, Executor, Target};
use nodecast::store::audit::Outcome;
use nodecast::store::db::Db;
use serde_json::json;
use std::sync::Arc;

fn action(group: &str, from: u32, to: u32) -> ScalingAction {
    ScalingAction {
        cluster: ClusterId("kind".into()),
        node_group: group.into(),
        from,
        to,
        at: nodecast::forecast::origin_for(Utc::now()),
        reason: ScaleReason::ForecastAbove,
    }
}

#[test]
#[ignore = "needs kube-apiserver and etcd (scripts/test.sh starts them)"]
fn headroom_pods_are_applied_server_side_and_a_conflict_is_not_forced() {
    runtime().block_on(async {
        let c = client(&kubeconfig()).await;
        seed(&c, "hr-seed", "hr").await;
        let ns = "nodecast-hr";
        let dir = tempfile::tempdir().expect("dir");
        let ex = Executor::new(
            Db::open(&dir.path().join("audit.db")).expect("db"),
            "ops",
            false,
        )
        .with_target(
            ClusterId("kind".into()),
            Target {
                mode: ActionsMode::Approve,
                actuator: Arc::new(HeadroomPods::with_client(c.clone(), ns)),
                change: ChangeLimits {
                    max_nodes: Some(10),
                    max_step: Some(5),
                    cooldown: Duration::minutes(0),
                },
            },
        );

        // hr-on_demand has two nodes: 2 -> 4 nodes is two pause pods.
        let d = ex.approve(&action("hr-on_demand", 2, 4), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Applied, "{}", d.detail);
        let deployments = Api::<Deployment>::namespaced(c.clone(), ns);
        let dep = deployments
            .get(&deployment_name("hr-on_demand"))
            .await
            .expect("the Deployment exists");
        let spec = dep.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(2));
        assert_eq!(
            dep.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(TARGET_ANNOTATION)),
            Some(&"4".to_string())
        );
        let pod = spec.template.spec.as_ref().expect("pod spec");
        assert_eq!(pod.priority_class_name.as_deref(), Some(PRIORITY_CLASS));
        assert_eq!(
            pod.node_selector
                .as_ref()
                .and_then(|s| s.get("eks.amazonaws.com/nodegroup")),
            Some(&"hr-on_demand".to_string())
        );
        // 60 % of the nodes' 7910m and 30Gi allocatable: one per node.
        let req = pod.containers[0]
            .resources
            .as_ref()
            .and_then(|r| r.requests.clone())
            .expect("requests");
        assert_eq!(req["cpu"].0, "4700m");
        assert_eq!(
            req["memory"].0, "18Gi",
            "18432Mi as the API server writes it"
        );
        let managers: Vec<(String, String)> = dep
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .map(|m| {
                (
                    m.manager.clone().unwrap_or_default(),
                    m.operation.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            managers,
            vec![("nodecast".to_string(), "Apply".to_string())]
        );
        let class = Api::<PriorityClass>::all(c.clone())
            .get(PRIORITY_CLASS)
            .await
            .expect("the PriorityClass exists");
        assert_eq!(class.value, -10, "Cluster Autoscaler's expendable cutoff");
        assert_eq!(class.preemption_policy.as_deref(), Some("Never"));
        assert!(
            class
                .metadata
                .managed_fields
                .iter()
                .flatten()
                .any(|m| m.manager.as_deref() == Some("nodecast"))
        );

        // Someone scales the Deployment with their own apply: they own replicas now.
        deployments
            .patch(
                &deployment_name("hr-on_demand"),
                &PatchParams::apply("ops-console").force(),
                &Patch::Apply(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": deployment_name("hr-on_demand")},
                    "spec": {"replicas": 7}})),
            )
            .await
            .expect("the other manager's apply");
        let d = ex.approve(&action("hr-on_demand", 2, 3), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Failed, "{}", d.detail);
        assert!(d.detail.contains("conflict"), "{}", d.detail);
        assert!(d.detail.contains("ops-console"), "{}", d.detail);
        let dep = deployments
            .get(&deployment_name("hr-on_demand"))
            .await
            .expect("still there");
        assert_eq!(dep.spec.and_then(|s| s.replicas), Some(7), "not forced");

        // No node carries the group: the failure names the labels looked for.
        let d = ex.approve(&action("no-such-group", 2, 3), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Failed);
        assert!(d.detail.contains("no node carries"), "{}", d.detail);
        let rows = ex.audit(&ClusterId("kind".into()), Utc::now() - Duration::hours(1));
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.outcome.is_some()), "no open rows");
    });
}

#[test]
fn headroom_deployment_names_are_kubernetes_names_and_keep_groups_apart() {
    use nodecast::exec::headroom::deployment_name;
    assert_eq!(deployment_name("general"), "nodecast-headroom-general");
    let a = deployment_name("web_spot");
    let b = deployment_name("web-spot");
    assert_ne!(a, b, "{a} {b}");
    assert!(a.starts_with("nodecast-headroom-web-spot-"), "{a}");
    let long = deployment_name(&"G".repeat(80));
    assert!(long.len() <= 63, "{long}");
    for n in [
        a,
        long,
        deployment_name("--x--"),
        deployment_name("Prod.Web"),
    ] {
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !n.ends_with('-'),
            "{n}"
        );
    }
}

#[test]
fn headroom_pods_follow_the_nodes_a_change_adds_or_releases() {
    use nodecast::exec::headroom::replicas_for;
    let seen = |desired, pods| nodecast::exec::LiveSize {
        desired,
        min: 0,
        max: u32::MAX,
        floor: Some(pods),
        target: None,
    };
    assert_eq!(replicas_for(&seen(3, 0), 5), 2);
    assert_eq!(replicas_for(&seen(5, 2), 7), 4);
    assert_eq!(
        replicas_for(&seen(7, 4), 5),
        2,
        "a release removes pause pods"
    );
    assert_eq!(replicas_for(&seen(7, 1), 3), 0, "never below zero");
}
