//! Nodes needed per node group, against hand computations.

use chrono::{Duration, TimeZone, Utc};
use nodecast::domain::{CapacityType, ClusterId, Forecast, ForecastPoint, Resources, SeriesKind};
use nodecast::forecast::nodes::{Bound, nodes_for, nodes_needed};
use nodecast::snapshot::{ClusterSnapshot, NodeGroupSummary};

fn group(name: &str, itype: &str, nodes: u32, req: Resources, max: u32) -> NodeGroupSummary {
    NodeGroupSummary {
        name: name.into(),
        instance_type: itype.into(),
        capacity_type: CapacityType::OnDemand,
        min: Some(0),
        max: Some(max),
        desired: Some(nodes),
        nodes,
        ready: nodes,
        allocatable: Resources::new(0.0, 0.0),
        requests: req,
        usage: None,
        labels: Default::default(),
        taints: Vec::new(),
        pending_pods: 0,
        pending: Resources::default(),
        facts: None,
    }
}

fn forecast(series: SeriesKind, pts: &[(f64, f64, f64)]) -> Forecast {
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("t0");
    Forecast {
        series,
        issued_at: t0,
        model: "test".into(),
        points: pts
            .iter()
            .enumerate()
            .map(|(i, (p10, p50, p90))| ForecastPoint {
                ts: t0 + Duration::hours(i as i64),
                p10: *p10,
                p50: *p50,
                p90: *p90,
            })
            .collect(),
        history_hours: 400,
        warnings: vec![],
        confidence: 80,
        mix: vec![],
    }
}

#[test]
fn nodes_for_rounds_up_with_headroom() {
    // 100 cores + 10 % = 110 cores on 15.89-core nodes: 6.92 -> 7.
    assert_eq!(nodes_for(100.0, 0.10, 15.89), 7);
    // Exactly 3 nodes' worth stays 3 despite float noise.
    assert_eq!(nodes_for(0.3 * 10.0, 0.0, 1.0), 3);
    assert_eq!(nodes_for(0.0, 0.1, 4.0), 0);
    assert_eq!(nodes_for(5.0, 0.1, 0.0), 0);
}

#[test]
fn groups_split_demand_by_request_share_and_take_the_larger_bound() {
    // m6i.4xlarge: EKS allocatable from the shipped catalog.
    let m6i = nodecast::catalog::lookup("m6i.4xlarge")
        .expect("m6i.4xlarge")
        .allocatable;
    let r6i = nodecast::catalog::lookup("r6i.2xlarge")
        .expect("r6i.2xlarge")
        .allocatable;
    let snap = ClusterSnapshot {
        unplaced_pods: 0,
        cluster: ClusterId("c".into()),
        taken_at: Utc::now(),
        node_groups: vec![
            // 75 % of CPU requests, 25 % of memory requests.
            group(
                "general",
                "m6i.4xlarge",
                10,
                Resources::new(75.0, 100.0),
                12,
            ),
            group("memory", "r6i.2xlarge", 5, Resources::new(25.0, 300.0), 40),
        ],
        nodes: 15,
        pods: 100,
        pending_pods: 0,
        disruption_budgets: 0,
        workload: Default::default(),
        allocatable: Resources::default(),
        requests: Resources::new(100.0, 400.0),
        usage: None,
        group_workloads: Vec::new(),
        autoscalers: None,
    };
    let cpu = forecast(
        SeriesKind::CpuRequests,
        &[(90.0, 100.0, 120.0), (150.0, 200.0, 260.0)],
    );
    let mem = forecast(
        SeriesKind::MemRequests,
        &[(380.0, 400.0, 420.0), (700.0, 800.0, 1000.0)],
    );
    let needs = nodes_needed(&snap, &cpu, &mem, 0.2);
    assert_eq!(needs.len(), 2);
    let g = &needs[0];
    assert_eq!(g.share, Resources::new(0.75, 0.25));
    let hand = |cores: f64, gib: f64, per: Resources| {
        let c = (cores * 1.2 / per.cores).ceil() as u32;
        let m = (gib * 1.2 / per.gib).ceil() as u32;
        c.max(m)
    };
    for (i, p) in g.hours.iter().enumerate() {
        let (c, m) = (&cpu.points[i], &mem.points[i]);
        assert_eq!(p.p50, hand(c.p50 * 0.75, m.p50 * 0.25, m6i), "hour {i}");
        assert_eq!(p.p10, hand(c.p10 * 0.75, m.p10 * 0.25, m6i), "hour {i}");
        assert_eq!(p.p90, hand(c.p90 * 0.75, m.p90 * 0.25, m6i), "hour {i}");
        assert!(p.p10 <= p.p50 && p.p50 <= p.p90);
    }
    // General purpose nodes run out of CPU first; memory nodes of memory.
    assert_eq!(g.hours[1].bound, Bound::Cpu);
    assert_eq!(needs[1].hours[1].bound, Bound::Memory);
    assert_eq!(needs[1].hours[1].p50, hand(200.0 * 0.25, 800.0 * 0.75, r6i));
    // The peak is the second hour; its p90 is above general's max of 12.
    let peak = g.peak().expect("peak");
    assert_eq!(peak.ts, cpu.points[1].ts);
    assert!(peak.p90 > 12, "{peak:?}");
}

#[test]
fn groups_without_requests_share_by_allocatable_and_unknown_types_use_node_averages() {
    let mut a = group("a", "x-unknown.large", 4, Resources::default(), 10);
    a.allocatable = Resources::new(16.0, 64.0); // 4 cores, 16 GiB a node
    let mut b = group("b", "x-unknown.large", 0, Resources::default(), 10);
    b.allocatable = Resources::default();
    let snap = ClusterSnapshot {
        unplaced_pods: 0,
        cluster: ClusterId("c".into()),
        taken_at: Utc::now(),
        node_groups: vec![a, b],
        nodes: 4,
        pods: 0,
        pending_pods: 0,
        disruption_budgets: 0,
        workload: Default::default(),
        allocatable: Resources::new(16.0, 64.0),
        requests: Resources::default(),
        usage: None,
        group_workloads: Vec::new(),
        autoscalers: None,
    };
    let cpu = forecast(SeriesKind::CpuRequests, &[(10.0, 10.0, 10.0)]);
    let mem = forecast(SeriesKind::MemRequests, &[(8.0, 8.0, 8.0)]);
    let needs = nodes_needed(&snap, &cpu, &mem, 0.0);
    // b has no nodes and an unknown type: no per-node allocatable, left out.
    assert_eq!(needs.len(), 1);
    assert_eq!(needs[0].share, Resources::new(1.0, 1.0));
    assert_eq!(needs[0].per_node, Resources::new(4.0, 16.0));
    assert_eq!(needs[0].hours[0].p50, 3); // 10 cores / 4 = 2.5 -> 3
}
