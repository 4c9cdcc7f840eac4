//! The scaling rule every proposal follows, and `simulate`'s policies.

use nodecast::domain::ScaleReason;
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

/// The demo cluster `i`'s plan on its own forecasts, each changed by
/// `reshape`, with its history or without.
fn demo_plan_with(
    i: usize,
    with_history: bool,
    reshape: impl Fn(&mut nodecast::domain::Forecast),
) -> nodecast::plan::ClusterPlan {
    let state = crate::fixture::state();
    let c = &state.clusters[i];
    let mut view = (*c.view).clone();
    if !with_history {
        view.history.clear();
    }
    let mut fc = c.forecast.clone();
    fc.values_mut().for_each(reshape);
    nodecast::plan::plan_cluster(
        &view,
        &fc,
        &nodecast::plan::PlanConfig::default(),
        &nodecast::catalog::Catalog::shipped(),
        crate::fixture::now().date_naive(),
    )
    .expect("plan")
}

/// The demo cluster `i`'s plan on its own forecasts with the bands made 20
/// times as wide, with its history or without.
fn wide_band_plan(i: usize, with_history: bool) -> nodecast::plan::ClusterPlan {
    demo_plan_with(i, with_history, |f| {
        for p in &mut f.points {
            p.p90 = p.p50 * 20.0;
        }
    })
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

/// The demo's prod-web planned on a forecast of its own first hour's
/// level times `factor(h)` at each hour h (a band of ±3 %).
fn plan_on_shape(factor: impl Fn(usize) -> f64) -> nodecast::plan::ClusterPlan {
    demo_plan_with(0, true, |f| {
        let base = f.points[0].p50;
        for (h, p) in f.points.iter_mut().enumerate() {
            p.p50 = base * factor(h);
            (p.p10, p.p90) = (p.p50 * 0.97, p.p50 * 1.03);
        }
    })
}

#[test]
fn a_scale_in_the_plan_undoes_within_six_hours_says_when() {
    // Up for three hours, back down for three, up again: the scale-in of
    // hour 3 is undone by the scale-out of hour 6.
    let dip = plan_on_shape(|h| if (3..6).contains(&h) { 1.0 } else { 1.3 });
    let general = |p: &nodecast::plan::ClusterPlan| {
        p.groups
            .iter()
            .find(|g| g.node_group == "general")
            .expect("general")
            .proposals
            .clone()
    };
    let proposals = general(&dip);
    let ins: Vec<_> = proposals
        .iter()
        .filter(|p| p.action.to < p.action.from)
        .collect();
    assert!(!ins.is_empty(), "the dip is scaled in: {proposals:#?}");
    for p in &ins {
        let back = proposals
            .iter()
            .find(|q| q.action.at > p.action.at && q.action.to >= p.action.from)
            .expect("the size comes back");
        assert!(back.action.at - p.action.at <= chrono::Duration::hours(6));
        assert_eq!(p.back_at, Some(back.action.at), "{p:?}");
    }
    assert!(
        proposals
            .iter()
            .filter(|p| p.action.to > p.action.from)
            .all(|p| p.back_at.is_none()),
        "only a scale-in is undone"
    );
    // Down for good: the same scale-in stands.
    let stays = general(&plan_on_shape(|h| if h < 3 { 1.3 } else { 1.0 }));
    let ins: Vec<_> = stays
        .iter()
        .filter(|p| p.action.to < p.action.from)
        .collect();
    assert!(!ins.is_empty(), "{stays:#?}");
    assert!(ins.iter().all(|p| p.back_at.is_none()), "{stays:#?}");
}
