//! The plan within the executor's limits: the step rule, a ramp towards a
//! later peak, the cooldown after the group's last apply, and the desired
//! size the executor compares with.

use nodecast::domain::{ScaleReason, SeriesKind};

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
    // Up at most the group again (at least 4 nodes, at most the runaway
    // guard's 100 an hour), down at most half.
    assert_eq!(ChangeLimits::default().towards(4, 10), 8);
    assert_eq!(ChangeLimits::default().towards(150, 400), 250);
    assert_eq!(ChangeLimits::default().towards(1, 10), 5);
    assert_eq!(ChangeLimits::default().towards(10, 1), 5);
}

#[test]
fn an_hour_chains_scale_out_steps_one_cooldown_apart_and_scales_in_one_step() {
    use nodecast::plan::scaling::{ChangeLimits, ScaleRules};
    let rules = ScaleRules::default();
    let d = ChangeLimits::default();
    let cooldown = |m| ChangeLimits {
        cooldown: chrono::Duration::minutes(m),
        ..ChangeLimits::default()
    };
    // One change per cooldown, at most the runaway guard's 6 an hour.
    assert_eq!(d.changes_per_hour(), 6);
    assert_eq!(cooldown(20).changes_per_hour(), 3);
    assert_eq!(cooldown(45).changes_per_hour(), 1);
    assert_eq!(cooldown(120).changes_per_hour(), 1);
    assert_eq!(cooldown(0).changes_per_hour(), 6);
    let sizes = |l: &ChangeLimits, from: u32, upper: &[f64]| -> Vec<u32> {
        l.hour_changes(from, 0.0, upper, 0, &rules)
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    };
    // 3 nodes, 30 needed this hour: doubling steps (at least 4) until there.
    assert_eq!(sizes(&d, 3, &[30.0; 4]), vec![7, 14, 28, 30]);
    // A 20-minute cooldown: three changes this hour, the rest the next.
    assert_eq!(sizes(&cooldown(20), 3, &[30.0; 4]), vec![7, 14, 28]);
    // At most 100 nodes added within the hour.
    assert_eq!(sizes(&d, 60, &[400.0; 4]), vec![120, 160]);
    // A scale-in is one step (half the group at most), then held.
    assert_eq!(sizes(&d, 40, &[4.0; 4]), vec![20]);
    assert!(sizes(&d, 10, &[10.0; 4]).is_empty());
}

/// The demo cluster `i`'s plan with its request forecasts tripled from hour
/// 6 on (a launch), under `steps`.
fn jump_plan(
    i: usize,
    steps: Option<nodecast::plan::scaling::ChangeLimits>,
) -> nodecast::plan::ClusterPlan {
    let state = crate::fixture::state();
    let c = &state.clusters[i];
    plan_of(&c.view, &jump_forecast(&c.forecast), steps)
}

/// The plan of `view`'s cluster on `fc`, under `steps` (default: the
/// executor's limits).
fn plan_of(
    view: &nodecast::snapshot::ClusterView,
    fc: &nodecast::domain::ClusterForecast,
    steps: Option<nodecast::plan::scaling::ChangeLimits>,
) -> nodecast::plan::ClusterPlan {
    let mut cfg = nodecast::plan::PlanConfig::default();
    if let (Some(s), Some(snap)) = (steps, &view.latest) {
        cfg.change_limits.insert(snap.cluster.0.clone(), s);
    }
    nodecast::plan::plan_cluster(
        view,
        fc,
        &cfg,
        &nodecast::catalog::Catalog::shipped(),
        crate::fixture::now().date_naive(),
    )
    .expect("plan")
}

/// `fc` with its CPU and memory requests tripled from the seventh hour on.
fn jump_forecast(fc: &nodecast::domain::ClusterForecast) -> nodecast::domain::ClusterForecast {
    scaled_from(fc, 6, 3.0)
}

/// `fc` with its CPU and memory requests times `by` from hour `from` on.
fn scaled_from(
    fc: &nodecast::domain::ClusterForecast,
    from: usize,
    by: f64,
) -> nodecast::domain::ClusterForecast {
    let mut fc = fc.clone();
    for (k, f) in fc.iter_mut() {
        if matches!(k, SeriesKind::CpuRequests | SeriesKind::MemRequests) {
            for p in f.points.iter_mut().skip(from) {
                (p.p10, p.p50, p.p90) = (p.p10 * by, p.p50 * by, p.p90 * by);
            }
        }
    }
    fc
}

#[test]
fn a_jump_too_close_to_ramp_for_is_caught_up_within_the_hour_one_cooldown_apart() {
    use nodecast::plan::scaling::ChangeLimits;
    let state = crate::fixture::state();
    let c = &state.clusters[0];
    // Demand six times the forecast from the current hour on: no ramp can
    // start early for it.
    let fc = scaled_from(&c.forecast, 0, 6.0);
    let plan_with = |limits: ChangeLimits| plan_of(&c.view, &fc, Some(limits));
    let open = plan_with(ChangeLimits {
        max_step: Some(1000),
        ..ChangeLimits::default()
    });
    let stepped = plan_with(ChangeLimits::default());
    let hourly = plan_with(ChangeLimits {
        cooldown: chrono::Duration::minutes(60),
        ..ChangeLimits::default()
    });
    let first_hour = stepped.groups[0].proposals[0].action.at;
    let mut chained = 0;
    for ((u, s), h) in open.groups.iter().zip(&stepped.groups).zip(&hourly.groups) {
        // Within the hour the stepped plan reaches the size the plan
        // without a step rule takes at once; one change an hour does not.
        assert_eq!(
            s.sizes[0], u.sizes[0],
            "{}: {:?}",
            s.node_group, s.proposals
        );
        let now: Vec<_> = s
            .proposals
            .iter()
            .filter(|p| p.action.at == first_hour)
            .collect();
        if now.len() > 1 {
            chained += 1;
            assert!(
                h.sizes[0] < s.sizes[0],
                "{}: {:?}",
                h.node_group,
                h.proposals
            );
            assert!(now.len() <= ChangeLimits::default().changes_per_hour());
            for pair in now.windows(2) {
                assert_eq!(pair[0].action.to, pair[1].action.from);
                assert!(pair[1].apply_by >= pair[0].apply_by + chrono::Duration::minutes(10));
                assert!(pair[1].apply_by >= stepped.issued_at + chrono::Duration::minutes(10));
            }
        }
    }
    assert!(chained > 0, "some group needs more than one step now");
    executor_accepts_every_proposal(&stepped);
    // Twenty times the demand: the groups together would pass the runaway
    // guard's 6 applies or 100 nodes in an hour; the plan keeps to it
    // across groups (the first group planned first) and the rest waits.
    let fc = scaled_from(&c.forecast, 0, 20.0);
    let mut view = (*c.view).clone();
    for g in &mut view.latest.as_mut().expect("snapshot").node_groups {
        g.max = Some(10_000);
    }
    let busy = plan_of(&view, &fc, None);
    executor_accepts_every_proposal(&busy);
    let wanted: u32 = busy
        .groups
        .iter()
        .map(|g| g.sizes[47].saturating_sub(g.nodes_now))
        .sum();
    assert!(wanted > 100, "the groups want {wanted} more nodes");
    let first: Vec<_> = busy
        .proposals()
        .into_iter()
        .filter(|p| p.apply_by < busy.issued_at + chrono::Duration::hours(1))
        .collect();
    let added: u32 = first.iter().map(|p| p.action.to - p.action.from).sum();
    assert!(first.len() <= 6 && added <= 100, "{first:?}");
    assert!(added > 0);
    // Pods pending for the group listed last: it is planned first, and
    // gets more of the first hour's budget than it did last.
    let urgent_group = view.latest.as_ref().expect("snapshot").node_groups.len() - 1;
    let name = view.latest.as_ref().expect("snapshot").node_groups[urgent_group]
        .name
        .clone();
    view.latest.as_mut().expect("snapshot").node_groups[urgent_group].pending_pods = 5;
    let urgent = plan_of(&view, &fc, None);
    executor_accepts_every_proposal(&urgent);
    let first_hour = |p: &nodecast::plan::ClusterPlan| -> u32 {
        p.proposals()
            .iter()
            .filter(|x| x.action.node_group == name)
            .filter(|x| x.apply_by < p.issued_at + chrono::Duration::hours(1))
            .map(|x| x.action.to - x.action.from)
            .sum()
    };
    assert!(
        first_hour(&urgent) > first_hour(&busy),
        "{:?}",
        urgent.proposals()
    );
    let order: Vec<_> = urgent.groups.iter().map(|g| &g.node_group).collect();
    let listed: Vec<_> = busy.groups.iter().map(|g| &g.node_group).collect();
    assert_eq!(
        order, listed,
        "the plan lists the groups as the snapshot does"
    );
}

/// Applied in order, each no sooner than its apply-by time nor the plan's,
/// every proposal of `plan` passes the executor's rules: the step, the
/// cooldown since the group's change before, the runaway guard over the
/// cluster's applies of the last hour.
fn executor_accepts_every_proposal(plan: &nodecast::plan::ClusterPlan) {
    let refused = refusals(plan, &[]);
    assert!(refused.is_empty(), "{refused:#?}");
}

/// What the executor refuses of `plan`'s proposals, applied in order, each
/// no sooner than its apply-by time nor the plan's, after the cluster's
/// `applied` changes (when, nodes added; none within a group's cooldown).
fn refusals(
    plan: &nodecast::plan::ClusterPlan,
    applied: &[(chrono::DateTime<chrono::Utc>, u32)],
) -> Vec<String> {
    use nodecast::exec::rules::{self, Limits, Recent, Runaway};
    let mut last = std::collections::BTreeMap::new();
    let mut applies = applied.to_vec();
    let mut out = Vec::new();
    for p in plan.proposals() {
        let at = p.apply_by.max(plan.issued_at);
        let recent = Recent {
            group_last_applied: last.get(&p.action.node_group).copied(),
            cluster_applies: applies.clone(),
        };
        let limits = Limits {
            autoscaler: true,
            ..Limits::default()
        };
        let checks = rules::checks(
            &p.action,
            p.action.from,
            Ok(()),
            &limits,
            &Runaway::default(),
            &recent,
            at,
        );
        out.extend(checks.iter().filter(|c| !c.ok).map(|c| {
            format!(
                "{} {} -> {} at {at}: {c:?}",
                p.action.node_group, p.action.from, p.action.to
            )
        }));
        last.insert(p.action.node_group.clone(), at);
        applies.push((at, p.action.to.saturating_sub(p.action.from)));
    }
    out
}

#[test]
fn the_plan_counts_the_cluster_s_applies_of_the_last_hour_in_the_audit_log() {
    use nodecast::domain::ScalingAction;
    use nodecast::runtime::forecast_job::sized_plan;
    use nodecast::store::{audit::Outcome, db::Db, ledger::Ledger};
    let state = crate::fixture::state();
    let c = &state.clusters[0];
    // Six times the demand from now: the groups chain steps this hour.
    let fc = scaled_from(&c.forecast, 0, 6.0);
    let cfg = nodecast::plan::PlanConfig {
        target_shortage: None,
        ..Default::default()
    };
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("nodecast.db");
    let ledger = std::sync::Mutex::new(Ledger::new(Db::open(&path).expect("db"), 90));
    let catalog = nodecast::catalog::Catalog::shipped();
    let now = crate::fixture::now();
    let plan =
        || sized_plan(&c.view, &fc, &cfg, Some(&ledger), &c.id, &catalog, now).expect("plan");
    let before = plan();
    // Four applies landed 50, 40, 30 and 20 minutes ago (their cooldowns
    // over), 5 nodes each; one more was refused and one on another cluster.
    let group = before.groups[0].node_group.clone();
    let mut db = Db::open(&path).expect("db");
    let mut audited = Vec::new();
    for (m, cluster, outcome) in [
        (50, &c.id.0, Outcome::Applied),
        (40, &c.id.0, Outcome::Applied),
        (35, &c.id.0, Outcome::Refused),
        (30, &c.id.0, Outcome::Applied),
        (25, &"elsewhere".to_string(), Outcome::Applied),
        (20, &c.id.0, Outcome::Applied),
    ] {
        let at = now - chrono::Duration::minutes(m);
        let action = ScalingAction {
            cluster: nodecast::domain::ClusterId(cluster.clone()),
            node_group: group.clone(),
            from: 3,
            to: 8,
            at,
            reason: ScaleReason::ForecastAbove,
        };
        let row = db
            .audit_decision(&action, "alice", "approve", None, "", at)
            .expect("intent");
        db.audit_outcome(row, outcome, "", at).expect("outcome");
        if outcome == Outcome::Applied && cluster == &c.id.0 {
            audited.push((at, 5));
        }
    }
    // Without them the plan would pass the runaway guard: its first hour
    // holds more than the two applies left.
    assert!(
        !refusals(&before, &audited).is_empty(),
        "{:?}",
        before.proposals()
    );
    // With them it keeps to the guard: the executor refuses none.
    let after = plan();
    let refused = refusals(&after, &audited);
    assert!(refused.is_empty(), "{refused:#?}");
    let soon = |p: &nodecast::plan::ClusterPlan| {
        p.proposals()
            .iter()
            .filter(|x| x.apply_by.max(p.issued_at) < now + chrono::Duration::minutes(10))
            .count()
    };
    assert!(soon(&after) <= 2 && soon(&after) < soon(&before));
    // What waits is planned later, not dropped.
    let added = |p: &nodecast::plan::ClusterPlan| -> u32 {
        p.groups
            .iter()
            .map(|g| g.sizes[47].saturating_sub(g.nodes_now))
            .sum()
    };
    assert_eq!(added(&after), added(&before));
    // The proposals that wait say so: held, and the Plan pane's STATE
    // tells why their apply-by is later than their hour asked.
    let held = |p: &nodecast::plan::ClusterPlan| p.proposals().iter().filter(|x| x.held).count();
    assert!(held(&after) > held(&before), "{:?}", after.proposals());
    for p in after.proposals().iter().filter(|x| x.held) {
        let lead = nodecast::plan::scaling::ScaleRules::default().lead_minutes;
        assert!(
            p.apply_by > p.action.at - chrono::Duration::minutes(lead as i64),
            "{p:?}"
        );
    }
    let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 130, 40));
    ratatui::widgets::Widget::render(
        nodecast::ui::panes::plan::PlanPane {
            plan: Some(&after),
            decisions: &Default::default(),
            selected: 0,
            theme: &nodecast::ui::theme::Theme::dark(),
            now,
        },
        buf.area,
        &mut buf,
    );
    let screen = crate::fixture::text(&buf);
    assert!(screen.contains("waits: hourly budget"), "{screen}");
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
