//! The scaling rule every proposal follows, and `simulate`'s policies.

use nodecast::domain::{ScaleReason, SeriesKind};
use nodecast::plan::scaling::{ScaleRules, at_quantile, next_size, normal_quantile, sizing_nodes};
use nodecast::plan::simulate::{need, reactive, score, static_peak};

fn rules() -> ScaleRules {
    ScaleRules {
        quantile: 0.9,
        min: 1,
        max: 100,
        scale_in_window_h: 3,
        max_scale_in_step: 0.5,
        min_scale_in: 0.0,
        lead_minutes: 5,
        peak_buffer: 0.1,
    }
}

#[test]
fn the_band_stops_at_the_busiest_hour_seen_plus_the_buffer() {
    let r = rules();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    // A band made wide by a level shift in the history: p50 30, p90 90
    // nodes, while no hour ever needed more than 40: sized for 44.
    assert!(close(sizing_nodes(30.0, 90.0, 0.9, Some(40.0), &r), 44.0));
    // A median above the ceiling (growth, a declared event) is kept.
    assert!(close(sizing_nodes(50.0, 90.0, 0.9, Some(40.0), &r), 50.0));
    // Under the ceiling, or without history, the band is the band.
    assert!(close(sizing_nodes(30.0, 36.0, 0.9, Some(40.0), &r), 36.0));
    assert!(close(sizing_nodes(30.0, 90.0, 0.9, None, &r), 90.0));
    // At another quantile the cap is the same; below it the band reads as before.
    assert!(close(
        sizing_nodes(30.0, 36.0, 0.8, Some(40.0), &r),
        at_quantile(30.0, 36.0, 0.8)
    ));
    // No ceiling at all: an infinite buffer.
    let open = ScaleRules {
        peak_buffer: f64::INFINITY,
        ..r
    };
    assert!(close(
        sizing_nodes(30.0, 90.0, 0.9, Some(40.0), &open),
        90.0
    ));
}

/// The demo cluster `i`'s plan on its own forecasts with the bands made 20
/// times as wide, with its history or without.
fn wide_band_plan(i: usize, with_history: bool) -> nodecast::plan::ClusterPlan {
    let state = crate::fixture::state();
    let c = &state.clusters[i];
    let mut view = (*c.view).clone();
    if !with_history {
        view.history.clear();
    }
    let mut fc = c.forecast.clone();
    for f in fc.values_mut() {
        for p in &mut f.points {
            p.p90 = p.p50 * 20.0;
        }
    }
    nodecast::plan::plan_cluster(
        &view,
        &fc,
        &nodecast::plan::PlanConfig::default(),
        &nodecast::catalog::Catalog::shipped(),
        crate::fixture::now().date_naive(),
    )
    .expect("plan")
}

#[test]
fn a_wide_band_sizes_no_group_above_its_busiest_hour_plus_ten_percent() {
    let capped = wide_band_plan(0, true);
    let open = wide_band_plan(0, false);
    assert!(!capped.groups.is_empty());
    let (mut marked, mut higher) = (0, 0);
    for (g, o) in capped.groups.iter().zip(&open.groups) {
        assert_eq!(g.node_group, o.node_group);
        let ceiling = g.ceiling.expect("the demo has history");
        assert_eq!(o.ceiling, None, "no history, no ceiling");
        let top = |sizes: &[u32]| sizes.iter().copied().max().unwrap_or(0);
        for p in &g.proposals {
            if p.action.reason == ScaleReason::ForecastAbove {
                assert!(
                    p.action.to <= ceiling.max(p.band.1),
                    "{}: the band sized over the ceiling {ceiling}: {p:?}",
                    g.node_group
                );
            }
        }
        assert!(
            top(&o.sizes) >= top(&g.sizes),
            "{}: without history the band sizes no lower ({:?} against {:?})",
            g.node_group,
            o.sizes,
            g.sizes
        );
        higher += (top(&o.sizes) > top(&g.sizes)) as usize;
        for p in g.proposals.iter().filter(|p| p.capped) {
            assert_eq!(p.action.to, ceiling.max(p.band.1), "{p:?}");
            marked += 1;
        }
        assert!(o.proposals.iter().all(|p| !p.capped));
    }
    assert!(marked > 0, "a capped scale-out says so");
    assert!(
        higher > 0,
        "some group is held under its band by the ceiling"
    );
}

#[test]
fn scales_out_ahead_of_the_upper_band() {
    assert_eq!(
        next_size(5, 4.0, &[7.2, 3.0, 3.0], &rules()),
        (8, ScaleReason::ForecastAbove)
    );
    // Requests above the size (pending pods) win over a lower forecast.
    assert_eq!(
        next_size(5, 6.5, &[5.5, 5.0], &rules()),
        (7, ScaleReason::RequestsAbove)
    );
}

#[test]
fn a_forecast_alone_never_removes_capacity() {
    // The band says 3 nodes, but what is requested now fills 9.5: stay at 10.
    assert_eq!(
        next_size(10, 9.5, &[3.0, 3.0, 3.0], &rules()),
        (10, ScaleReason::Hold)
    );
    // The band must stay below for the whole window (3 h): hour 3 needs 10.
    assert_eq!(
        next_size(10, 2.0, &[3.0, 3.0, 9.5], &rules()),
        (10, ScaleReason::Hold)
    );
}

#[test]
fn scale_in_is_bounded_by_the_step_the_band_and_requests() {
    // Band max over the window is 3, requests 2, step 50 % of 10: 5.
    assert_eq!(
        next_size(10, 2.0, &[3.0, 3.0, 3.0, 12.0], &rules()),
        (5, ScaleReason::BandBelow)
    );
    // A small step leaves more; requests set the floor.
    let slow = ScaleRules {
        max_scale_in_step: 0.1,
        ..rules()
    };
    assert_eq!(
        next_size(10, 2.0, &[3.0; 3], &slow),
        (9, ScaleReason::BandBelow)
    );
    assert_eq!(
        next_size(10, 8.2, &[3.0; 3], &rules()),
        (9, ScaleReason::BandBelow)
    );
}

#[test]
fn small_dips_are_held_so_the_size_does_not_flap() {
    let r = ScaleRules {
        min_scale_in: 0.05,
        ..rules()
    };
    // 45 nodes: a scale-in must remove at least ceil(2.25) = 3.
    assert_eq!(next_size(45, 10.0, &[43.5; 3], &r), (45, ScaleReason::Hold));
    assert_eq!(
        next_size(45, 10.0, &[41.5; 3], &r),
        (42, ScaleReason::BandBelow)
    );
}

#[test]
fn sizes_stay_inside_the_group_bounds() {
    let r = ScaleRules {
        min: 6,
        max: 8,
        ..rules()
    };
    assert_eq!(next_size(7, 2.0, &[30.0], &r), (8, ScaleReason::Bounds));
    assert_eq!(next_size(7, 1.0, &[1.0; 3], &r), (6, ScaleReason::Bounds));
}

#[test]
fn need_is_the_peak_share_of_n_nodes_at_least_one() {
    // N = 40, max 200: 50 -> 10, 0 -> 1 (never zero), 201/200... 101 -> ceil(20.2) = 21.
    assert_eq!(need(&[50.0, 0.0, 200.0, 101.0], 40), vec![10, 1, 40, 21]);
}

#[test]
fn reactive_and_static_peak_by_hand() {
    let need = vec![2, 4, 3, 5, 8, 6, 2];
    // Window from hour 4: reactive sizes 5, 8, 6 for hours 4, 5, 6.
    let r = reactive(&need, 4);
    assert_eq!(r, vec![5, 8, 6]);
    let s = score(&need, 4, &r, 0.5);
    // Hour 4 needs 8 with 5: 3 short; hours 5 and 6 fine.
    assert_eq!(s.node_hours, 19);
    assert_eq!(s.shortage_node_hours, 3);
    assert_eq!(s.shortage_hours, 1);
    assert!((s.cost_usd - 9.5).abs() < 1e-9);
    // Static peak: ceil(1.1 * 5) = 6 before hour 4; hour 4 is 2 short.
    let p = static_peak(&need, 4);
    assert_eq!(p, vec![6, 6, 6]);
    let s = score(&need, 4, &p, 0.5);
    assert_eq!(
        (s.node_hours, s.shortage_node_hours, s.shortage_hours),
        (18, 2, 1)
    );
    // 1.1 x 10 is 11, not 12 (float noise).
    assert_eq!(static_peak(&[10, 1], 1), vec![11]);
}

#[test]
fn sizing_quantile_reads_the_band_as_a_normal_spread() {
    assert!((normal_quantile(0.9) - 1.2816).abs() < 1e-3);
    assert!((normal_quantile(0.5)).abs() < 1e-9);
    assert!((normal_quantile(0.1) + 1.2816).abs() < 1e-3);
    assert!((at_quantile(10.0, 20.0, 0.9) - 20.0).abs() < 1e-9);
    assert!((at_quantile(10.0, 20.0, 0.5) - 10.0).abs() < 1e-9);
    // p85: z 1.036 / 1.282 of the way from p50 to p90.
    assert!((at_quantile(10.0, 20.0, 0.85) - 18.09).abs() < 0.01);
}

#[test]
fn demo_plans_keep_the_rules_and_price_every_change() {
    let state = crate::fixture::state();
    for c in &state.clusters {
        let (id, view) = (&c.id, &c.view);
        let plan = c.plan.as_ref().expect("a plan per cluster");
        let snap = view.latest.as_ref().expect("snapshot");
        let mut total_now = 0.0;
        for g in &plan.groups {
            let s = snap
                .node_groups
                .iter()
                .find(|s| s.name == g.node_group)
                .expect("group");
            let price = g.usd_per_node_hour.expect("demo types are priced");
            total_now += price * g.nodes_now as f64;
            let per = nodecast::catalog::lookup(&g.instance_type)
                .expect("type")
                .allocatable;
            let requested = (s.requests.cores / per.cores).max(s.requests.gib / per.gib);
            for p in &g.proposals {
                assert_eq!(&p.action.cluster, id);
                let (a, p) = (&p.action, p);
                assert!(
                    a.to >= s.min.unwrap_or(0) && a.to <= s.max.unwrap_or(u32::MAX),
                    "{id} {p:?}"
                );
                assert_eq!(p.apply_by, a.at - chrono::Duration::minutes(5));
                // Each change is one the executor's step rule allows.
                assert!(
                    a.to.abs_diff(a.from)
                        <= nodecast::plan::scaling::step_limit(a.from, a.to, None),
                    "{id} {p:?}"
                );
                let delta = p.usd_per_hour_delta.expect("priced");
                assert!((delta - (a.to as f64 - a.from as f64) * price).abs() < 1e-9);
                if a.to < a.from {
                    // Never below what is requested now, and only with the band below.
                    assert!(
                        a.to as f64 >= requested.ceil() - 1e-9,
                        "{id} {p:?} under requests {requested}"
                    );
                    assert_eq!(a.reason, ScaleReason::BandBelow);
                }
            }
            let planned: f64 = g.sizes.iter().map(|s| *s as f64 * price).sum();
            assert!((g.planned_usd_48h.expect("planned") - planned).abs() < 1e-6);
            if let Some(m) = &g.mix {
                assert!(m.best.covers(&m.requirement), "{id} {}", g.node_group);
                for (o, _) in &m.best.parts {
                    assert!(m.requirement.largest_pod.fits_in(o.allocatable));
                }
                for other in [&m.greedy, &m.current].into_iter().flatten() {
                    assert!(m.best.usd_per_hour <= other.usd_per_hour + 1e-9);
                }
                if g.capacity_type == nodecast::domain::CapacityType::Spot {
                    assert!(m.best.parts.len() >= 3, "spot mixes spread over 3 types");
                }
            }
        }
        assert!((plan.usd_per_hour_now - total_now).abs() < 1e-6);
        assert!((plan.usd_per_month_now - total_now * 730.0).abs() < 1e-3);
        assert!(
            plan.warnings.iter().any(|w| w.contains("days old")),
            "the demo date is past the catalog's"
        );
    }
}

#[test]
fn a_ramp_reaches_a_forecast_jump_one_allowed_step_at_a_time() {
    use nodecast::plan::scaling::ChangeLimits;
    // 4 nodes now, 20 needed from hour 6. By default a change may double
    // the group (at least 4 nodes): 4 -> 5 (hour 4), 5 -> 10 (hour 5),
    // 10 -> 20 (hour 6), each within the step and as late as it can be.
    let target = [4, 4, 4, 4, 4, 4, 20, 20, 20];
    assert_eq!(
        ChangeLimits::default().ramp(&target),
        vec![4, 4, 4, 4, 5, 10, 20, 20, 20]
    );
    // A step limit of 16: one change at the hour itself.
    let wide = ChangeLimits {
        max_step: Some(16),
        ..ChangeLimits::default()
    };
    assert_eq!(wide.ramp(&target), target.to_vec());
    // A two-hour cooldown: each step must be reached two hours before the next.
    let slow = ChangeLimits {
        cooldown: chrono::Duration::minutes(120),
        ..ChangeLimits::default()
    };
    assert_eq!(slow.every_h(), 2);
    assert_eq!(slow.ramp(&target), vec![4, 4, 5, 5, 10, 10, 20, 20, 20]);
    // Up at most the group again (at least 4 nodes), down at most half.
    assert_eq!(ChangeLimits::default().towards(4, 10), 8);
    assert_eq!(ChangeLimits::default().towards(1, 10), 5);
    assert_eq!(ChangeLimits::default().towards(10, 1), 5);
}

/// The demo cluster `i`'s plan with its request forecasts tripled from hour
/// 6 on (a launch), under `steps`.
fn jump_plan(
    i: usize,
    steps: Option<nodecast::plan::scaling::ChangeLimits>,
) -> nodecast::plan::ClusterPlan {
    let state = crate::fixture::state();
    let c = &state.clusters[i];
    let fc = jump_forecast(&c.forecast);
    let mut cfg = nodecast::plan::PlanConfig::default();
    if let Some(s) = steps {
        cfg.change_limits.insert(c.id.0.clone(), s);
    }
    nodecast::plan::plan_cluster(
        &c.view,
        &fc,
        &cfg,
        &nodecast::catalog::Catalog::shipped(),
        crate::fixture::now().date_naive(),
    )
    .expect("plan")
}

/// `fc` with its CPU and memory requests tripled from the seventh hour on.
fn jump_forecast(fc: &nodecast::domain::ClusterForecast) -> nodecast::domain::ClusterForecast {
    let mut fc = fc.clone();
    for (k, f) in fc.iter_mut() {
        if matches!(k, SeriesKind::CpuRequests | SeriesKind::MemRequests) {
            for p in f.points.iter_mut().skip(6) {
                (p.p10, p.p50, p.p90) = (p.p10 * 3.0, p.p50 * 3.0, p.p90 * 3.0);
            }
        }
    }
    fc
}

#[test]
fn the_plan_starts_from_the_desired_size_the_executor_compares_with() {
    let state = crate::fixture::state();
    let c = &state.clusters[0];
    let fc = jump_forecast(&c.forecast);
    let cfg = nodecast::plan::PlanConfig::default();
    let catalog = nodecast::catalog::Catalog::shipped();
    let today = crate::fixture::now().date_naive();
    let before = nodecast::plan::plan_cluster(&c.view, &fc, &cfg, &catalog, today).expect("plan");
    let grows = before
        .groups
        .iter()
        .find(|g| {
            g.proposals
                .first()
                .is_some_and(|p| p.action.to > p.action.from)
        })
        .expect("a group that grows");
    // A scale-out of one node is in flight: the group's API asks for one
    // more node than have joined. The plan starts from what it asks for,
    // the size the executor reads back and compares with.
    let mut view = (*c.view).clone();
    let g = view
        .latest
        .as_mut()
        .and_then(|s| {
            s.node_groups
                .iter_mut()
                .find(|g| g.name == grows.node_group)
        })
        .expect("group");
    let desired = g.nodes + 1;
    g.desired = Some(desired);
    let after = nodecast::plan::plan_cluster(&view, &fc, &cfg, &catalog, today).expect("plan");
    let plan = after
        .groups
        .iter()
        .find(|g| g.node_group == grows.node_group)
        .expect("group plan");
    let first = plan.proposals.first().expect("still grows");
    assert_eq!(first.action.from, desired);
    assert_eq!(grows.proposals[0].action.from, desired - 1);
}

#[test]
fn the_plan_waits_out_the_cooldown_after_the_group_s_last_apply() {
    use nodecast::domain::ScalingAction;
    use nodecast::plan::scaling::ChangeLimits;
    use nodecast::runtime::forecast_job::sized_plan;
    use nodecast::store::{audit::Outcome, db::Db, ledger::Ledger};
    let state = crate::fixture::state();
    let c = &state.clusters[0];
    let fc = jump_forecast(&c.forecast);
    let cooldown = chrono::Duration::minutes(120);
    let mut cfg = nodecast::plan::PlanConfig {
        target_shortage: None,
        ..Default::default()
    };
    cfg.change_limits.insert(
        c.id.0.clone(),
        ChangeLimits {
            cooldown,
            ..ChangeLimits::default()
        },
    );
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("nodecast.db");
    let ledger = std::sync::Mutex::new(Ledger::new(Db::open(&path).expect("db"), 90));
    let catalog = nodecast::catalog::Catalog::shipped();
    let now = crate::fixture::now();
    let plan =
        || sized_plan(&c.view, &fc, &cfg, Some(&ledger), &c.id, &catalog, now).expect("plan");
    let before = plan();
    // The group whose first change comes soonest had one applied ten
    // minutes ago, as the executor records it: an intent, then the outcome.
    let (group, first) = before
        .groups
        .iter()
        .filter_map(|g| Some((g.node_group.clone(), g.proposals.first()?.apply_by)))
        .min_by_key(|(_, t)| *t)
        .expect("a proposal");
    let last = now - chrono::Duration::minutes(10);
    assert!(
        first < last + cooldown,
        "the plan changes {group} within the cooldown: {first}"
    );
    let mut db = Db::open(&path).expect("db");
    let applied = ScalingAction {
        cluster: c.id.clone(),
        node_group: group.clone(),
        from: 3,
        to: 4,
        at: last,
        reason: ScaleReason::ForecastAbove,
    };
    let row = db
        .audit_decision(
            &applied,
            "alice",
            "approve",
            None,
            "",
            last - chrono::Duration::minutes(1),
        )
        .expect("intent");
    db.audit_outcome(row, Outcome::Applied, "read back 4", last)
        .expect("outcome");
    let after = plan();
    // The plan (through the ledger's read of the audit log) holds that
    // group's changes until the cooldown is over; the others are unchanged.
    for (b, a) in before.groups.iter().zip(&after.groups) {
        if a.node_group == group {
            assert!(!a.proposals.is_empty(), "{group} still grows later");
            for p in &a.proposals {
                assert!(p.apply_by >= last + cooldown, "{group}: {p:?}");
            }
        } else {
            assert_eq!(a.proposals, b.proposals, "{}", a.node_group);
        }
    }
    // An apply whose cooldown was over before now holds nothing, not even
    // a change of another group due earlier in the current hour.
    let other = before
        .groups
        .iter()
        .find(|g| g.node_group != group && g.proposals.first().is_some_and(|p| p.apply_by < now))
        .map(|g| g.node_group.clone())
        .expect("another group with a change due before now");
    let mut db = Db::open(&path).expect("db");
    let long_ago = now - cooldown - chrono::Duration::minutes(5);
    let row = db
        .audit_decision(
            &ScalingAction {
                at: long_ago,
                node_group: other.clone(),
                ..applied.clone()
            },
            "alice",
            "approve",
            None,
            "",
            long_ago,
        )
        .expect("intent");
    db.audit_outcome(row, Outcome::Applied, "read back 4", long_ago)
        .expect("outcome");
    let later = plan();
    for (b, a) in before.groups.iter().zip(&later.groups) {
        if a.node_group != group {
            assert_eq!(a.proposals, b.proposals, "{}", a.node_group);
        }
    }
}

#[test]
fn the_plan_ramps_within_the_executor_s_step_limit_and_cooldown() {
    use nodecast::plan::scaling::{ChangeLimits, step_limit};
    let open = ChangeLimits {
        max_step: Some(1000),
        ..ChangeLimits::default()
    };
    let unstepped = jump_plan(0, Some(open));
    let stepped = jump_plan(0, None);
    let slow = jump_plan(
        0,
        Some(ChangeLimits {
            cooldown: chrono::Duration::minutes(120),
            ..ChangeLimits::default()
        }),
    );
    let mut ramps = 0;
    for ((u, s), w) in unstepped
        .groups
        .iter()
        .zip(&stepped.groups)
        .zip(&slow.groups)
    {
        // Every change is one the executor allows, and the stepped plan
        // reaches the launch's size by the launch hour all the same.
        for p in s.proposals.iter().chain(&w.proposals) {
            let a = &p.action;
            assert!(
                a.to.abs_diff(a.from) <= step_limit(a.from, a.to, None),
                "{p:?}"
            );
        }
        assert!(
            s.sizes[6] >= u.sizes[6],
            "{}: {:?} against {:?}",
            s.node_group,
            s.sizes,
            u.sizes
        );
        let jumped = u
            .proposals
            .iter()
            .any(|p| p.action.to > p.action.from + step_limit(p.action.from, p.action.to, None));
        if jumped {
            let ramp: Vec<_> = s
                .proposals
                .iter()
                .filter(|p| p.action.reason == ScaleReason::Ramp)
                .collect();
            assert!(
                !ramp.is_empty(),
                "{}: a jump is ramped: {:?}",
                s.node_group,
                s.proposals
            );
            assert!(
                ramp.iter()
                    .all(|p| Some(p.action.at) < s.proposals.iter().map(|q| q.action.at).max())
            );
            ramps += 1;
        }
        // With a two-hour cooldown, changes are two hours apart or more.
        for pair in w.proposals.windows(2) {
            assert!(
                pair[1].action.at - pair[0].action.at >= chrono::Duration::hours(2),
                "{:?}",
                w.proposals
            );
        }
    }
    assert!(ramps > 0, "the launch is more than one step for some group");
    // Under the operator's cap no scale-out goes over it; a group already
    // above it is not shrunk for it.
    let capped = jump_plan(
        0,
        Some(ChangeLimits {
            max_nodes: Some(30),
            ..ChangeLimits::default()
        }),
    );
    let mut held = 0;
    for (g, u) in capped.groups.iter().zip(&unstepped.groups) {
        let cap = 30.max(g.nodes_now);
        assert!(
            g.sizes.iter().all(|s| *s <= cap),
            "{}: {:?}",
            g.node_group,
            g.sizes
        );
        held += usize::from(u.sizes.iter().any(|s| *s > cap));
    }
    assert!(held > 0, "the launch would take some group over the cap");
}
