//! Live node-group facts against the peers: EKS managed node groups and
//! Auto Scaling groups tagged for the cluster, read from the AWS emulator
//! (min, max, desired, status); Cluster Autoscaler's Deployment read from
//! the real kube-apiserver and laid over the snapshot the operator sees; a
//! Karpenter NodePool read from its object.

use crate::peers::{client, kubeconfig, runtime};
use aws_sdk_autoscaling::types::Tag;
use chrono::Utc;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{DynamicObject, PostParams};
use nodecast::domain::ClusterId;
use nodecast::group_facts::{AutoscalerKind, GroupKind};
use nodecast::sources::Source;
use nodecast::sources::kube::{KubeSource, KubeTarget};
use nodecast::sources::kube_autoscalers::nodepool_facts;
use nodecast::sources::node_groups::NodeGroupsSource;
use nodecast::ui::panes::overview::facts_line;
use serde_json::json;

#[test]
#[ignore = "needs the AWS emulator (scripts/test.sh starts moto)"]
fn eks_and_tagged_auto_scaling_groups_give_their_bounds_and_status() {
    runtime().block_on(async {
        let sdk = nodecast::aws::sdk_config(Some("us-east-1"), None, None).await;
        crate::live_exec::eks_groups("facts-eks", &[("general", 2, 12, 3)]).await;
        let asg = aws_sdk_autoscaling::Client::new(&sdk);
        asg.create_launch_configuration()
            .launch_configuration_name("facts-lc")
            .image_id("ami-12c6146b")
            .instance_type("m6i.large")
            .send()
            .await
            .expect("launch configuration");
        for (name, tags) in [
            (
                "eksctl-facts-batch-NodeGroup-1",
                vec![
                    ("kubernetes.io/cluster/facts-eks", "owned"),
                    ("alpha.eksctl.io/nodegroup-name", "batch"),
                ],
            ),
            (
                "other-cluster-asg",
                vec![("kubernetes.io/cluster/other", "owned")],
            ),
        ] {
            let mut req = asg
                .create_auto_scaling_group()
                .auto_scaling_group_name(name)
                .launch_configuration_name("facts-lc")
                .min_size(1)
                .max_size(8)
                .desired_capacity(2)
                .availability_zones("us-east-1a");
            for (k, v) in tags {
                req = req.tags(Tag::builder().key(k).value(v).build());
            }
            req.send().await.expect("asg");
        }
        let mut src = NodeGroupsSource::new(
            "facts-eks",
            Some("us-east-1".into()),
            None,
            std::time::Duration::from_secs(60),
        );
        let update = src.poll(Utc::now()).await.expect("poll");
        assert!(update.state.is_none());
        let facts = update.facts.expect("facts");
        let general = facts
            .groups
            .iter()
            .find(|g| g.node_group == "general")
            .expect("the EKS group");
        assert_eq!(general.kind, GroupKind::EksManaged);
        assert_eq!(
            (general.min, general.max, general.desired),
            (Some(2), Some(12), Some(3))
        );
        assert_eq!(general.status.as_deref(), Some("ACTIVE"));
        let batch = facts
            .groups
            .iter()
            .find(|g| g.node_group == "batch")
            .expect("the eksctl ASG, by its tag");
        assert_eq!(batch.kind, GroupKind::AutoScaling);
        assert_eq!(
            (batch.min, batch.max, batch.desired),
            (Some(1), Some(8), Some(2))
        );
        assert_eq!(batch.detail, "ASG eksctl-facts-batch-NodeGroup-1");
        assert!(
            facts
                .groups
                .iter()
                .all(|g| g.node_group != "other-cluster-asg"),
            "another cluster's ASG is not ours: {:?}",
            facts.groups
        );
        // (An EKS cluster the account does not have answers ResourceNotFound
        // on AWS, read as no EKS groups; moto answers an HTML 500 instead.)
    });
}

#[test]
#[ignore = "needs kube-apiserver and etcd (scripts/test.sh starts them)"]
fn the_autoscaler_is_found_through_the_api() {
    runtime().block_on(async {
        let c = client(&kubeconfig()).await;
        crate::live_kube::seed(&c, "facts", "facts").await;
        let pp = PostParams::default();
        let ca: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "cluster-autoscaler", "namespace": "kube-system",
                "labels": {"app.kubernetes.io/name": "aws-cluster-autoscaler"}},
            "spec": {"selector": {"matchLabels": {"app": "ca"}},
                "template": {"metadata": {"labels": {"app": "ca"}},
                    "spec": {"containers": [{"name": "ca", "image": "registry.k8s.io/autoscaling/cluster-autoscaler:v1.30.0"}]}}}
        }))
        .expect("deployment");
        Api::<Deployment>::namespaced(c.clone(), "kube-system")
            .create(&pp, &ca)
            .await
            .expect("create the autoscaler's Deployment");
        // No Karpenter here: the API server does not serve NodePools (404),
        // which is no NodePool, not an error. (Custom resources cannot be
        // created on the test's 1.20 API server: built with Go 1.19, its
        // vendored reflect2 1.0.1 segfaults encoding them; NodePools are
        // read from a real Karpenter v1 object in `nodepools_read_*` below.)
        let mut src = KubeSource::new(
            KubeTarget {
                kubeconfig: Some(kubeconfig()),
                context: None,
                ..Default::default()
            },
            std::time::Duration::from_secs(1),
        );
        let now = Utc::now();
        src.backfill(now).await.expect("connect");
        let update = src.poll(now).await.expect("poll");
        let facts = update.facts.expect("looked for autoscalers");
        let found = facts.autoscalers.clone().expect("autoscalers");
        assert!(
            found.iter().any(|a| a.kind == AutoscalerKind::ClusterAutoscaler
                && a.deployment == "kube-system/cluster-autoscaler"),
            "{found:?}"
        );
        assert!(facts.groups.is_empty(), "{:?}", facts.groups);
        // Over the snapshot: the line the operator reads.
        let state = update.state.expect("state");
        let mut snap = nodecast::snapshot::summarize(&ClusterId("facts".into()), now, &state);
        snap.apply_facts([&facts]);
        let (line, warn) = facts_line(&snap, true).expect("a line");
        assert!(!warn);
        assert!(
            line.contains("Cluster Autoscaler (kube-system/cluster-autoscaler) runs: nodecast does not fight it"),
            "{line}"
        );
        let (line, warn) = facts_line(&snap, false).expect("a line");
        assert!(warn && line.contains("autoscaler = false"), "{line}");
        // A second poll within five minutes does not list them again.
        let again = src.poll(Utc::now()).await.expect("poll");
        assert!(again.facts.is_none());
    });
}

#[test]
fn nodepools_read_their_node_limit_nodes_and_readiness() {
    // A Karpenter v1 NodePool as the API serves it (trimmed).
    let o: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool",
        "metadata": {"name": "general"},
        "spec": {"limits": {"cpu": "1000", "memory": "1000Gi", "nodes": 50},
            "template": {"spec": {"nodeClassRef": {"group": "karpenter.k8s.aws",
                "kind": "EC2NodeClass", "name": "default"}}}},
        "status": {"resources": {"cpu": "32", "memory": "128Gi", "nodes": "4", "pods": "440"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}]}
    }))
    .expect("nodepool");
    let f = nodepool_facts(&o).expect("facts");
    assert_eq!(f.node_group, "general");
    assert_eq!(f.kind, GroupKind::KarpenterNodePool);
    assert_eq!((f.min, f.max, f.desired), (None, Some(50), Some(4)));
    assert_eq!(f.status.as_deref(), Some("Ready"));
    assert_eq!(f.detail, "limits cpu 1000, memory 1000Gi, nodes 50");
    let o: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "karpenter.sh/v1", "kind": "NodePool",
        "metadata": {"name": "spot"}, "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "False",
            "message": "NodeClass not found"}]}
    }))
    .expect("nodepool");
    let f = nodepool_facts(&o).expect("facts");
    assert_eq!((f.max, f.desired), (None, None));
    assert_eq!(f.status.as_deref(), Some("not ready: NodeClass not found"));
    assert_eq!(f.detail, "no limits");
}

#[test]
fn the_overview_says_which_autoscaler_runs_and_each_groups_status() {
    use crate::fixture::{render, stub_state, text};
    use nodecast::app::{Action, Command, update};
    use nodecast::group_facts::{Autoscaler, Facts, GroupFacts};
    let mut s = stub_state();
    let group = s.clusters[0]
        .view
        .latest
        .as_ref()
        .expect("snapshot")
        .node_groups[0]
        .name
        .clone();
    let facts = Facts {
        groups: vec![GroupFacts {
            node_group: group.clone(),
            kind: GroupKind::EksManaged,
            min: Some(4),
            max: Some(90),
            desired: Some(40),
            status: Some("DEGRADED".into()),
            detail: "ASG eks-general-1a2b".into(),
        }],
        autoscalers: Some(vec![Autoscaler {
            kind: AutoscalerKind::Karpenter,
            deployment: "karpenter/karpenter".into(),
        }]),
    };
    let view = std::sync::Arc::make_mut(&mut s.clusters[0].view);
    view.latest
        .as_mut()
        .expect("snapshot")
        .apply_facts([&facts]);
    s.clusters[0].limits.autoscaler = true;
    update(&mut s, Action::Command(Command::Cluster(1)));
    let screen = text(&render(&s, &nodecast::ui::theme::Theme::dark(), 160, 48));
    assert!(
        screen.contains("4–90"),
        "the EKS bounds in MIN–MAX:\n{screen}"
    );
    assert!(
        screen.contains(&format!(
            "Karpenter (karpenter/karpenter) runs: nodecast does not fight it, approvals move its floor and it removes nodes · {group} EKS managed DEGRADED"
        )),
        "{screen}"
    );
}
