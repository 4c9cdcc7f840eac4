//! The plan sized from the forecast ledger: the quantile each node group
//! is sized for follows the shortage its stored, scored forecasts realized.

use crate::fixture::{StubForecaster, built, now, render, stub_state, text};
use chrono::{DateTime, Duration, Utc};
use nodecast::app::{Action, Command, update};
use nodecast::domain::{Sample, SeriesKind};
use nodecast::forecast::accuracy::{GROUP_LEAD, LedgerRow, groups_of};
use nodecast::forecast::horizon::STEP;
use nodecast::forecast::{forecast_cluster, origin_for};
use nodecast::store::db::Db;
use nodecast::store::ledger::Ledger;
use nodecast::ui::theme::Theme;

/// Headroom of the node groups' rows in [`stub_ledger`].
const HEADROOM: f64 = 0.10;

/// A ledger of the stub forecaster's forecasts of the test fleet (and of
/// their node groups' nodes needed), every STEP hours over 14 days, their
/// samples from the fleet's history, and each cluster's record.
pub fn stub_ledger() -> (
    tempfile::TempDir,
    Ledger,
    Vec<(
        nodecast::domain::ClusterId,
        nodecast::forecast::accuracy::ClusterAccuracy,
    )>,
) {
    let dir = tempfile::tempdir().expect("dir");
    let mut db = Db::open(&dir.path().join("n.db")).expect("open");
    let fleet = &built().fleet;
    let origin = origin_for(now());
    for (id, view) in &fleet.clusters {
        let samples: Vec<(SeriesKind, Sample)> = view
            .history
            .iter()
            .flat_map(|(k, h)| h.points().map(|(ts, value)| (*k, Sample { ts, value })))
            .collect();
        db.insert_samples(&id.0, &samples).expect("samples");
    }
    let mut ledger = Ledger::new(db, 90);
    let mut records = Vec::new();
    for (id, view) in &fleet.clusters {
        let mut o = origin - Duration::days(14);
        let mut acc = None;
        while o <= origin {
            let fc = forecast_cluster(&StubForecaster, view, o);
            let snap = view.latest.as_ref().expect("snapshot");
            ledger
                .store_groups(&id.0, &groups_of(snap, &fc, HEADROOM))
                .expect("groups");
            acc = Some(ledger.keep(&id.0, Some(&fc), now()).expect("keep"));
            o += Duration::hours(STEP as i64);
        }
        records.push((id.clone(), acc.expect("acc")));
    }
    (dir, ledger, records)
}

#[test]
fn the_plan_sizes_for_the_quantile_the_ledgers_shortage_sets_and_says_so() {
    let (_dir, ledger, _) = stub_ledger();
    let (sized, _) = ledger
        .group_sizing("prod-web", now(), (0.01, 0.8), &[], HEADROOM)
        .expect("sizing");
    // Replayed over the scored hour-ahead CPU demand forecasts, oldest first.
    let rows = nodecast::store::db::Db::open(&_dir.path().join("n.db"))
        .expect("db")
        .ledger_rows("prod-web", now() - Duration::days(30))
        .expect("rows");
    let hours: Vec<(f64, f64, f64)> = rows
        .iter()
        .filter(|r| r.series == SeriesKind::CpuRequests && r.lead == 1)
        .filter_map(|r| Some((r.p50, r.p90, r.actual?)))
        .collect();
    assert!(hours.len() >= 50, "{}", hours.len());
    assert_eq!(sized.hours(), hours.len() as u64);
    let by_hand = nodecast::plan::shortage::ShortageTarget::over_record(0.01, 0.8, hours);
    assert_eq!(sized, by_hand);
    assert!((0.5..=0.95).contains(&sized.quantile));
    let realized = sized.realized().expect("realized");
    // The Plan pane names the quantile and the shortage it realized.
    let mut s = stub_state();
    let id = s.clusters[0].id.clone();
    let mut plan = s.clusters[0].plan.clone().expect("a plan");
    plan.sizing = Some(nodecast::plan::cluster::Sizing {
        target: 0.01,
        quantile: sized.quantile,
        realized: Some(realized),
        hours: sized.hours(),
    });
    update(&mut s, Action::Plan(id, Box::new(plan)));
    update(&mut s, Action::Command(Command::Cluster(1)));
    update(&mut s, Action::Command(Command::CyclePane));
    let t = text(&render(&s, &Theme::dark(), 160, 40));
    let want = format!(
        "groups sized for p{:.0} (target 1.0 % short; {:.1} % short over {} h)",
        sized.quantile * 100.0,
        realized * 100.0,
        sized.hours()
    );
    assert!(t.contains(&want), "{want}\n{t}");
}

#[test]
fn each_node_group_is_sized_for_its_own_quantile_from_the_ledger_and_says_so() {
    use nodecast::plan::shortage::ShortageTarget;
    use std::collections::BTreeMap;
    let (dir, ledger, _) = stub_ledger();
    let fleet = &built().fleet;
    let i = fleet
        .clusters
        .iter()
        .position(|(id, _)| id.0 == "prod-web")
        .expect("prod-web");
    let (id, view) = &fleet.clusters[i];
    let fc = forecast_cluster(&StubForecaster, view, origin_for(now()));
    let ledger = std::sync::Mutex::new(ledger);
    let plan = nodecast::runtime::forecast_job::sized_plan(
        view,
        &fc,
        &nodecast::plan::PlanConfig::default(),
        Some(&ledger),
        id,
        &nodecast::catalog::Catalog::shipped(),
        now(),
    )
    .expect("plan");
    // By hand: the scored hour-ahead CPU and memory forecasts, joined by
    // hour, read as each group's nodes and sized in whole nodes.
    let rows = Db::open(&dir.path().join("n.db"))
        .expect("db")
        .ledger_rows("prod-web", now() - Duration::days(30))
        .expect("rows");
    let pick = |k: SeriesKind| -> BTreeMap<DateTime<Utc>, (f64, f64, f64)> {
        rows.iter()
            .filter(|r| r.series == k && r.lead == 1)
            .filter_map(|r| Some((r.target, (r.p50, r.p90, r.actual?))))
            .collect()
    };
    let (cpu, mem) = (pick(SeriesKind::CpuRequests), pick(SeriesKind::MemRequests));
    assert!(plan.groups.len() >= 2, "{}", plan.groups.len());
    for g in &plan.groups {
        let need = plan
            .needs
            .iter()
            .find(|n| n.node_group == g.node_group)
            .expect("need");
        let grow = 1.0 + plan.headroom;
        // Nodes per requested core and per GiB, the larger of the two.
        let (per_core, per_gib) = (
            need.share.cores * grow / need.per_node.cores,
            need.share.gib * grow / need.per_node.gib,
        );
        let nodes = |c: f64, m: f64| (c * per_core).max(m * per_gib);
        let record: Vec<(f64, f64, f64)> = cpu
            .iter()
            .filter_map(|(ts, c)| {
                let m = mem.get(ts)?;
                Some((nodes(c.0, m.0), nodes(c.1, m.1), nodes(c.2, m.2)))
            })
            .collect();
        assert!(record.len() >= 50, "{}", record.len());
        let by_hand = ShortageTarget::over_node_record(0.01, 0.8, record);
        let s = g.sizing.as_ref().expect("sized from the ledger");
        assert_eq!(
            (s.quantile, s.hours, s.realized),
            (by_hand.quantile, by_hand.hours(), by_hand.realized()),
            "{}",
            g.node_group
        );
        assert!((0.5..=0.95).contains(&s.quantile));
    }
    // The Plan pane gives each group its own quantile and shortage.
    let g = &plan.groups[0];
    let s = g.sizing.clone().expect("sizing");
    let mut state = stub_state();
    update(&mut state, Action::Plan(id.clone(), Box::new(plan)));
    update(&mut state, Action::Command(Command::Cluster(i + 1)));
    update(&mut state, Action::Command(Command::CyclePane));
    let t = text(&render(&state, &Theme::dark(), 160, 40));
    let want = format!(
        "p{:.0}, {:.1} % short/{} h",
        s.quantile * 100.0,
        s.realized.unwrap_or(0.0) * 100.0,
        s.hours
    );
    assert!(t.contains(&want), "{want}\n{t}");
}

#[test]
fn node_groups_forecast_hours_are_stored_and_scored_at_the_share_they_were_issued_with() {
    let (dir, _ledger, records) = stub_ledger();
    let fleet = &built().fleet;
    let (id, view) = fleet.clusters.first().expect("a cluster");
    let snap = view.latest.as_ref().expect("snapshot");
    let rows = Db::open(&dir.path().join("n.db"))
        .expect("db")
        .ledger_rows(&id.0, now() - Duration::days(30))
        .expect("rows");
    let groups: Vec<&LedgerRow> = rows.iter().filter(|r| !r.node_group.is_empty()).collect();
    let names: std::collections::BTreeSet<&str> =
        groups.iter().map(|r| r.node_group.as_str()).collect();
    let want: std::collections::BTreeSet<&str> =
        snap.node_groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, want, "a row set per node group");
    assert!(groups.iter().all(|r| r.series == SeriesKind::Nodes));
    // Each scored hour is the whole nodes the cluster's requests of that
    // hour (its samples) need at the group's share, as the plan counts them.
    let cpu = &view.history[&SeriesKind::CpuRequests];
    let mem = &view.history[&SeriesKind::MemRequests];
    let fc = forecast_cluster(&StubForecaster, view, origin_for(now()));
    let needs = nodecast::forecast::nodes::nodes_needed(
        snap,
        &fc[&SeriesKind::CpuRequests],
        &fc[&SeriesKind::MemRequests],
        HEADROOM,
    );
    let mut scored = 0;
    for r in groups.iter().filter(|r| r.actual.is_some()) {
        let n = needs
            .iter()
            .find(|n| n.node_group == r.node_group)
            .expect("group");
        let (c, m) = (
            cpu.at(r.target).expect("cpu"),
            mem.at(r.target).expect("mem"),
        );
        let by_hand = nodecast::forecast::nodes::whole_nodes(n.nodes_at(c, m, HEADROOM));
        assert_eq!(
            r.actual,
            Some(by_hand as f64),
            "{} {}",
            r.node_group,
            r.target
        );
        assert_eq!(r.p50.fract(), 0.0, "whole nodes");
        scored += 1;
    }
    assert!(scored > 100, "{scored}");
    // The cluster's own nodes record leaves them out; its groups line has them.
    let acc = &records.iter().find(|(c, _)| c == id).expect("record").1;
    let nodes = &acc[&SeriesKind::Nodes];
    let cluster_rows = rows
        .iter()
        .filter(|r| r.node_group.is_empty() && r.series == SeriesKind::Nodes && r.actual.is_some())
        .count();
    assert_eq!(nodes.scored, cluster_rows);
    let lines: Vec<(&str, usize)> = nodes
        .groups
        .iter()
        .map(|g| (g.node_group.as_str(), g.score.n))
        .collect();
    assert_eq!(lines.len(), want.len(), "{lines:?}");
    assert!(lines.iter().all(|(_, n)| *n > 0), "{lines:?}");
    let six_h = groups
        .iter()
        .filter(|r| {
            r.lead == GROUP_LEAD && r.actual.is_some() && r.target >= now() - Duration::days(7)
        })
        .filter(|r| r.node_group == lines[0].0)
        .count();
    assert_eq!(lines[0].1, six_h);
}
