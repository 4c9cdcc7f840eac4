//! The replay source: traces, scaling to EKS sizes, autoscaling and pending pods.

use crate::fixture::now;
use chrono::{Duration, TimeZone, Utc};
use nodecast::catalog;
use nodecast::domain::{CapacityType, ClusterId, NodeGroup, OwnerKind, Sample, SeriesKind};
use nodecast::snapshot::summarize;
use nodecast::sources::Source;
use nodecast::sources::demo::{demo_sources, demo_specs};
use nodecast::sources::replay::{
    ReplayCluster, ReplayGroup, ReplaySpec, SCALE_DOWN_AFTER, SCALE_UP_AFTER, Scale, Trace,
};

const DAY: i64 = 86_400;

#[test]
fn demo_fleet_has_four_clusters_with_a_week_of_history_except_the_short_one() {
    let specs = demo_specs().expect("demo specs");
    assert!(specs.len() >= 4);
    for s in &specs {
        if s.cluster.0 == "batch-mixed" {
            assert!(s.history_secs < 8 * DAY, "short cluster");
        } else {
            assert!(s.history_secs >= 7 * DAY, "{} has 7+ days", s.cluster);
        }
        assert!(
            s.history_secs < s.cpu.loop_secs(),
            "history fits in the trace"
        );
    }
}

#[test]
fn demand_is_the_trace_scaled_to_the_cluster() {
    let anchor = now();
    for spec in demo_specs().expect("specs") {
        let c = ReplayCluster::new(spec.clone(), anchor);
        let d = c.demand(anchor);
        let v = spec.cpu.at_offset(spec.history_secs);
        let want = spec.cpu_scale.base + spec.cpu_scale.span * v / spec.cpu.max;
        assert!(
            (d.cores - want).abs() < 1e-9,
            "{}: {} vs {want}",
            spec.cluster,
            d.cores
        );
        // At every 5-minute point of the looped trace, requests are base + span * value / max.
        let n = (spec.cpu.loop_secs() / 300) as usize;
        for i in (0..n).step_by(97) {
            let t = anchor + Duration::seconds(i as i64 * 300 - spec.history_secs);
            let want =
                spec.cpu_scale.base + spec.cpu_scale.span * spec.cpu.values[i] / spec.cpu.max;
            assert!((c.demand(t).cores - want).abs() < 1e-6);
        }
    }
}

#[test]
fn trace_loops_over_whole_weeks() {
    let spec = &demo_specs().expect("specs")[0];
    let l = spec.cpu.loop_secs();
    assert_eq!(l % (7 * DAY), 0);
    for off in [0, 3_600, 5 * DAY + 150] {
        assert!((spec.cpu.at_offset(off) - spec.cpu.at_offset(off + l)).abs() < 1e-9);
    }
}

#[test]
fn history_samples_agree_with_the_summarized_objects() {
    let anchor = now();
    for spec in demo_specs().expect("specs") {
        let mut c = ReplayCluster::new(spec.clone(), anchor);
        let ticks = c.step(anchor);
        let from_ticks = c.tick_samples(anchor, &ticks);
        let state = c.materialize(&ticks);
        let snap = summarize(&spec.cluster, anchor, &state);
        for (k, s) in snap.samples() {
            let (_, t) = from_ticks
                .iter()
                .find(|(kk, _)| *kk == k)
                .expect("same series");
            assert!(
                (t.value - s.value).abs() < 1e-6 * s.value.max(1.0),
                "{} {k:?}: {} vs {}",
                spec.cluster,
                t.value,
                s.value
            );
        }
        // Nodes carry their instance type's EKS allocatable from the catalog.
        for n in &state.nodes {
            let it = catalog::lookup(&n.instance_type).expect("catalog type");
            assert_eq!(n.allocatable, it.allocatable);
        }
    }
}

#[test]
fn catalog_allocatable_is_parsed_from_kubernetes_quantities() {
    let m = catalog::lookup("m6i.4xlarge").expect("m6i.4xlarge");
    assert_eq!(m.vcpu, 16);
    assert!((m.allocatable.cores - 15.89).abs() < 1e-9);
    assert!((m.allocatable.gib - 57691.0 / 1024.0).abs() < 1e-9);
    assert_eq!(m.max_pods, 234);
    assert_eq!(m.od_usd_per_hour, Some(0.768));
    assert!(catalog::parse_cpu("12x").is_err());
    assert!((catalog::parse_mem_gib("17Gi").expect("gi") - 17.0).abs() < 1e-12);
}

/// A one-group cluster whose demand steps from 10 to 60 cores at hour 1.
fn step_cluster(max_nodes: u32) -> (ReplayCluster, chrono::DateTime<Utc>) {
    let t0 = Utc
        .with_ymd_and_hms(2020, 1, 6, 0, 0, 0)
        .single()
        .expect("t0");
    let samples: Vec<Sample> = (0..(8 * 288))
        .map(|i| Sample {
            ts: t0 + Duration::seconds(300 * i),
            value: if (12..24).contains(&(i % 288)) {
                60.0
            } else {
                10.0
            },
        })
        .collect();
    let trace = Trace::from_samples(&samples).expect("trace");
    let instance = catalog::lookup("m6i.2xlarge").expect("type").clone();
    let spec = ReplaySpec {
        cluster: ClusterId("t".into()),
        region: "us-east-1".into(),
        cpu: trace,
        cpu_scale: Scale {
            base: 0.0,
            span: 60.0,
        },
        mem: None,
        mem_scale: Scale {
            base: 0.0,
            span: 120.0,
        },
        usage_ratio: 0.5,
        history_secs: 0,
        groups: vec![ReplayGroup {
            group: NodeGroup {
                name: "g".into(),
                instance_type: instance.name.clone(),
                capacity_type: CapacityType::OnDemand,
                min: 1,
                max: max_nodes,
                desired: 1,
                ..Default::default()
            },
            instance,
            share: 1.0,
            pod_cores: 1.0,
            owner: OwnerKind::Deployment,
        }],
    };
    (ReplayCluster::new(spec, t0), t0)
}

#[test]
fn node_groups_scale_up_after_node_start_and_down_after_ten_minutes() {
    let (mut c, t0) = step_cluster(50);
    let s = |t| t0 + Duration::seconds(t);
    c.step(s(0));
    let before = c.step(s(3_000))[0].nodes;
    assert_eq!(before, 2, "10 cores at 7 pods a node: 2 nodes");
    // Demand jumps at 3600 s: pods pend until the node start time has passed.
    let jump = c.step(s(3_600))[0].clone();
    assert_eq!(jump.nodes, before);
    assert!(jump.pods > jump.running, "pods pending while nodes start");
    let mid = c.step(s(3_600 + SCALE_UP_AFTER - 1))[0].clone();
    assert_eq!(mid.nodes, before);
    let up = c.step(s(3_600 + SCALE_UP_AFTER))[0].clone();
    assert_eq!(up.nodes, up.pods.div_ceil(7));
    assert_eq!(up.running, up.pods, "no pending once nodes are up");
    // Demand falls at 7200 s: nodes stay for the unneeded time, then go.
    assert_eq!(c.step(s(7_200))[0].nodes, up.nodes);
    assert_eq!(c.step(s(7_200 + SCALE_DOWN_AFTER - 1))[0].nodes, up.nodes);
    assert_eq!(c.step(s(7_200 + SCALE_DOWN_AFTER))[0].nodes, before);
}

#[test]
fn pods_pend_when_demand_outruns_the_group_maximum() {
    let (mut c, t0) = step_cluster(4);
    let t = t0 + Duration::seconds(3_600 + SCALE_UP_AFTER + 60);
    c.step(t0 + Duration::seconds(3_600));
    let tick = c.step(t)[0].clone();
    assert_eq!(tick.nodes, 4, "capped at max");
    assert_eq!(tick.running, 28, "7 pods a node");
    let state = c.materialize(std::slice::from_ref(&tick));
    let snap = summarize(&ClusterId("t".into()), t, &state);
    assert_eq!(snap.pending_pods, tick.pods - 28);
    let pending: Vec<_> = state.pods.iter().filter(|p| p.node.is_none()).collect();
    assert!(pending.iter().all(|p| {
        p.unschedulable
            .as_deref()
            .is_some_and(|r| r.contains("Insufficient"))
    }));
}

#[test]
fn backfill_covers_the_history_window_in_five_minute_steps() {
    let anchor = now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    for (spec, mut src) in demo_sources(anchor, 1.0).expect("sources") {
        let samples = rt.block_on(src.backfill(anchor)).expect("backfill");
        let nodes: Vec<_> = samples
            .iter()
            .filter(|(k, _)| *k == SeriesKind::Nodes)
            .collect();
        let first = nodes.first().expect("samples").1.ts;
        let last = nodes.last().expect("samples").1.ts;
        assert!(first >= anchor - Duration::seconds(spec.history_secs));
        assert!(first - (anchor - Duration::seconds(spec.history_secs)) <= Duration::seconds(300));
        assert!(last < anchor && anchor - last <= Duration::seconds(300));
        assert_eq!(nodes.len() as i64, (last - first).num_seconds() / 300 + 1);
        // Polling later returns the 5-minute steps in between, then the objects now.
        let later = anchor + Duration::minutes(17);
        let up = rt.block_on(src.poll(later)).expect("poll");
        let steps = up
            .samples
            .iter()
            .filter(|(k, _)| *k == SeriesKind::Nodes)
            .count() as i64;
        let expect = ((later - last).num_seconds() - 1) / 300;
        assert!(expect >= 3);
        assert_eq!(
            steps, expect,
            "{}: 5-minute steps between polls",
            spec.cluster
        );
        assert!(up.state.is_some_and(|s| !s.nodes.is_empty()));
    }
}
