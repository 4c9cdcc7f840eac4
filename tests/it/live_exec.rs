//! The live actuators against the AWS emulator (moto server, started by the
//! test script): EKS managed node groups and Auto Scaling groups approved
//! through the executor, read back with Describe*, a group changed behind
//! nodecast's back refused and left as it is, unknown groups failing with
//! the error that says so (nodecast looks a group up before it writes, so
//! moto's HTML 500 for SetDesiredCapacity on an unknown group is never
//! reached), bounds nodecast checks itself (moto checks none).

use crate::peers::runtime;
use aws_sdk_autoscaling::types::Tag;
use aws_sdk_eks::types::NodegroupScalingConfig;
use chrono::{Duration, Utc};
use nodecast::domain::{ClusterId, ScaleReason, ScalingAction};
use nodecast::exec::asg::AutoScalingGroups;
use nodecast::exec::eks::EksNodeGroups;
use nodecast::exec::live::LiveNodeGroups;
use nodecast::exec::{ActionsMode, Actuator, ChangeLimits, Executor, Target};
use nodecast::store::audit::Outcome;
use nodecast::store::db::Db;
use std::sync::Arc;

async fn sdk() -> aws_config::SdkConfig {
    nodecast::aws::sdk_config(Some("us-east-1"), None, None).await
}

fn action(cluster: &str, group: &str, from: u32, to: u32) -> ScalingAction {
    ScalingAction {
        cluster: ClusterId(cluster.into()),
        node_group: group.into(),
        from,
        to,
        at: nodecast::forecast::origin_for(Utc::now()),
        reason: ScaleReason::ForecastAbove,
    }
}

fn executor(dir: &std::path::Path, cluster: &str, actuator: Arc<dyn Actuator>) -> Executor {
    Executor::new(Db::open(&dir.join("audit.db")).expect("db"), "ops", false).with_target(
        ClusterId(cluster.into()),
        Target {
            mode: ActionsMode::Approve,
            actuator,
            change: ChangeLimits {
                max_nodes: None,
                max_step: Some(5),
                cooldown: Duration::minutes(0),
            },
        },
    )
}

/// An EKS cluster with node groups created with a scalingConfig each (moto
/// shares one default dict between groups created without one).
pub async fn eks_groups(cluster: &str, groups: &[(&str, i32, i32, i32)]) -> aws_sdk_eks::Client {
    let eks = aws_sdk_eks::Client::new(&sdk().await);
    eks.create_cluster()
        .name(cluster)
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await
        .expect("create cluster");
    for (name, min, max, desired) in groups {
        eks.create_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(*name)
            .node_role("arn:aws:iam::123456789012:role/node")
            .subnets("subnet-1")
            .scaling_config(
                NodegroupScalingConfig::builder()
                    .min_size(*min)
                    .max_size(*max)
                    .desired_size(*desired)
                    .build(),
            )
            .send()
            .await
            .expect("create nodegroup");
    }
    eks
}

pub async fn scaling(eks: &aws_sdk_eks::Client, cluster: &str, group: &str) -> (i32, i32, i32) {
    let ng = eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(group)
        .send()
        .await
        .expect("describe");
    let sc = ng
        .nodegroup()
        .and_then(|n| n.scaling_config())
        .expect("scaling config");
    (
        sc.min_size().unwrap_or(-1),
        sc.max_size().unwrap_or(-1),
        sc.desired_size().unwrap_or(-1),
    )
}

#[test]
#[ignore = "needs the AWS emulator (scripts/test.sh starts moto)"]
fn eks_node_groups_take_approved_sizes_and_refuse_what_changed() {
    runtime().block_on(async {
        let eks = eks_groups("exec-eks", &[("web", 2, 20, 4), ("batch", 0, 10, 3)]).await;
        let dir = tempfile::tempdir().expect("dir");
        // No autoscaler: desiredSize is set.
        let set = Arc::new(EksNodeGroups::new(
            "exec-eks",
            Some("us-east-1".into()),
            None,
            false,
        ));
        let ex = executor(dir.path(), "prod", set);
        let d = ex.approve(&action("prod", "web", 4, 7), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Applied, "{}", d.detail);
        assert_eq!(scaling(&eks, "exec-eks", "web").await, (2, 20, 7));
        // Changed behind nodecast's back: refused, and left as it is.
        eks.update_nodegroup_config()
            .cluster_name("exec-eks")
            .nodegroup_name("batch")
            .scaling_config(NodegroupScalingConfig::builder().desired_size(5).build())
            .send()
            .await
            .expect("someone else's change");
        let d = ex.approve(&action("prod", "batch", 3, 6), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Refused);
        assert_eq!(d.detail, "changed since proposed: 3 -> 5 now");
        assert_eq!(scaling(&eks, "exec-eks", "batch").await.2, 5);
        // Over the group's max: refused by nodecast (moto would accept it).
        let d = ex.approve(&action("prod", "web", 7, 22), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Refused);
        assert!(
            d.detail.contains("outside 2–20") || d.detail.contains("per action"),
            "{}",
            d.detail
        );
        assert_eq!(scaling(&eks, "exec-eks", "web").await.2, 7);
        // An unknown group fails with EKS's error.
        let d = ex.approve(&action("prod", "nope", 1, 2), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Failed);
        assert!(d.detail.contains("DescribeNodegroup nope"), "{}", d.detail);
        // With an autoscaler the floor moves: minSize to the target, desired at least it.
        let floor = Arc::new(EksNodeGroups::new(
            "exec-eks",
            Some("us-east-1".into()),
            None,
            true,
        ));
        let ex = executor(dir.path(), "floor", floor);
        let d = ex.approve(&action("floor", "web", 7, 9), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Applied, "{}", d.detail);
        assert_eq!(scaling(&eks, "exec-eks", "web").await, (9, 20, 9));
        let rows = Db::open(&dir.path().join("audit.db"))
            .expect("db")
            .audit_rows(Utc::now() - Duration::hours(1), None)
            .expect("rows");
        assert_eq!(rows.len(), 5);
        assert!(
            rows.iter()
                .all(|r| r.outcome.is_some() && r.operator == "ops")
        );
    });
}

#[test]
#[ignore = "needs the AWS emulator (scripts/test.sh starts moto)"]
fn auto_scaling_groups_follow_approvals_found_by_name_or_tag() {
    runtime().block_on(async {
        let asg = aws_sdk_autoscaling::Client::new(&sdk().await);
        asg.create_launch_configuration()
            .launch_configuration_name("exec-lc")
            .image_id("ami-12c6146b")
            .instance_type("m6i.large")
            .send()
            .await
            .expect("launch configuration");
        asg.create_auto_scaling_group()
            .auto_scaling_group_name("eks-app-5abc")
            .launch_configuration_name("exec-lc")
            .min_size(1)
            .max_size(10)
            .desired_capacity(2)
            .availability_zones("us-east-1a")
            .tags(
                Tag::builder()
                    .key("alpha.eksctl.io/nodegroup-name")
                    .value("app")
                    .build(),
            )
            .send()
            .await
            .expect("asg");
        let dir = tempfile::tempdir().expect("dir");
        let groups = Arc::new(AutoScalingGroups::new(
            Some("us-east-1".into()),
            None,
            false,
        ));
        let ex = executor(dir.path(), "svc", groups);
        // Found by its eksctl tag: the node group's name is not the ASG's.
        let d = ex.approve(&action("svc", "app", 2, 4), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Applied, "{}", d.detail);
        let described = asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names("eks-app-5abc")
            .send()
            .await
            .expect("describe");
        let g = &described.auto_scaling_groups()[0];
        assert_eq!(g.desired_capacity(), Some(4));
        assert_eq!(
            g.instances().len(),
            4,
            "the emulator's instances follow desired"
        );
        // Over max: refused before any call.
        let d = ex.approve(&action("svc", "app", 4, 12), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Refused, "{}", d.detail);
        // An unknown group: no ASG by that name or tag.
        let d = ex.approve(&action("svc", "ghost", 1, 2), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Failed);
        assert!(
            d.detail
                .contains("no Auto Scaling group named or tagged ghost"),
            "{}",
            d.detail
        );
        // The composite: not an EKS node group of this cluster, so the ASG.
        let live = Arc::new(LiveNodeGroups {
            eks: EksNodeGroups::new("no-such-eks", Some("us-east-1".into()), None, false),
            asg: AutoScalingGroups::new(Some("us-east-1".into()), None, false),
            caller: nodecast::aws::Caller::new(Some("us-east-1".into()), None),
        });
        let ex = executor(dir.path(), "mixed", live);
        let d = ex.approve(&action("mixed", "app", 4, 5), Utc::now()).await;
        assert_eq!(d.outcome, Outcome::Applied, "{}", d.detail);
        // The audit row names the AWS caller (STS GetCallerIdentity).
        let rows = Db::open(&dir.path().join("audit.db"))
            .expect("db")
            .audit_rows(Utc::now() - Duration::hours(1), Some("mixed"))
            .expect("rows");
        assert!(
            rows[0].operator.starts_with("ops (arn:aws:"),
            "{}",
            rows[0].operator
        );
    });
}
