//! The approval flow through `update`: select, confirm (only a `y` in the
//! confirmation executes), cancel, reject with a reason, decisions shown in
//! the Plan and Actions panes, and the dialog as the operator sees it.

use crate::fixture::{now, render, stub_state, text};
use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use nodecast::app::state::{ActionState, AppState, LowerPane, Modal};
use nodecast::app::{Action, Command, Effect, update};
use nodecast::exec::Decision;
use nodecast::store::audit::Outcome;
use nodecast::ui::theme::Theme;
use proptest::prelude::*;

pub fn key(c: KeyCode) -> Action {
    Action::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// The stub demo on the first cluster with proposals, its Plan pane open,
/// approvals writable (as the demo's executor says).
pub fn on_plan() -> (AppState, usize) {
    let mut s = stub_state();
    s.now = now();
    let i = s
        .clusters
        .iter()
        .position(|c| c.plan.as_ref().is_some_and(|p| p.proposals().len() >= 2))
        .expect("a demo cluster with two proposals");
    for c in &mut s.clusters {
        c.writable = Ok(());
        c.actuator = "demo: raise the replayed group's floor".into();
        c.limits.autoscaler = true;
    }
    update(&mut s, Action::Command(Command::Cluster(i + 1)));
    update(&mut s, Action::Command(Command::CyclePane));
    assert_eq!(s.pane, LowerPane::Plan);
    (s, i)
}

#[test]
fn only_a_confirmation_executes_the_selected_proposal() {
    let (mut s, i) = on_plan();
    let waiting = s.clusters[i].waiting();
    assert!(waiting >= 2);
    update(&mut s, key(KeyCode::Char('j')));
    assert_eq!(s.selected, 1);
    let second = s.clusters[i].plan.as_ref().expect("plan").proposals()[1]
        .action
        .clone();
    // a opens the confirmation: the exact change and every check, no effect yet.
    let fx = update(&mut s, key(KeyCode::Char('a')));
    assert_eq!(fx, vec![Effect::Render]);
    let Some(Modal::Confirm {
        proposal,
        checks,
        call,
    }) = &s.modal
    else {
        panic!("a confirmation");
    };
    assert_eq!(proposal.action, second);
    assert_eq!(call, "demo: raise the replayed group's floor");
    assert!(checks.len() >= 7, "{checks:?}");
    // n cancels; q inside a dialog does not quit.
    assert_eq!(
        update(&mut s, key(KeyCode::Char('n'))),
        vec![Effect::Render]
    );
    assert!(s.modal.is_none());
    update(&mut s, key(KeyCode::Char('a')));
    assert_eq!(
        update(&mut s, key(KeyCode::Char('q'))),
        Vec::<Effect>::new()
    );
    assert!(!s.quit && s.modal.is_some());
    let fx = update(&mut s, key(KeyCode::Char('y')));
    assert_eq!(fx, vec![Effect::Render, Effect::Execute(second.clone())]);
    assert_eq!(
        s.clusters[i].decisions.get(&second.id()),
        Some(&ActionState::Applying)
    );
    assert_eq!(s.clusters[i].waiting(), waiting - 1);
    // The executor's decision lands on the row.
    let decision = Decision {
        action_id: second.id(),
        outcome: Outcome::Applied,
        detail: "read back".into(),
        checks: Vec::new(),
        at: now() + Duration::minutes(11),
    };
    update(
        &mut s,
        Action::Decided(second.cluster.clone(), Box::new(decision)),
    );
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("applied 12:41"), "{t}");
}

#[test]
fn a_rejection_takes_a_reason_and_enter_records_it() {
    let (mut s, i) = on_plan();
    let first = s.clusters[i].plan.as_ref().expect("plan").proposals()[0]
        .action
        .clone();
    update(&mut s, key(KeyCode::Char('r')));
    assert!(matches!(s.modal, Some(Modal::Reject { .. })));
    // Enter with no reason keeps asking.
    assert!(
        !update(&mut s, key(KeyCode::Enter))
            .iter()
            .any(|e| matches!(e, Effect::Reject(..)))
    );
    for c in "sale overx".chars() {
        update(&mut s, key(KeyCode::Char(c)));
    }
    update(&mut s, key(KeyCode::Backspace));
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("reason: sale over"), "{t}");
    let fx = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::Render, Effect::Reject(first, "sale over".into())]
    );
    assert!(s.modal.is_none());
}

#[test]
fn the_actions_pane_counts_the_runaway_guard_s_hour_as_the_executor_does() {
    use nodecast::store::audit::AuditRow;
    let (mut s, i) = on_plan();
    let row = |minutes: i64, outcome, wrote, to| AuditRow {
        id: 0,
        at: now() - Duration::minutes(minutes),
        cluster: s.clusters[i].id.0.clone(),
        node_group: "web".into(),
        action_id: format!("a{minutes}"),
        operator: "alice".into(),
        decision: "approve".into(),
        outcome: Some(outcome),
        from: 4,
        to,
        detail: String::new(),
        finished_at: Some(now() - Duration::minutes(minutes)),
        action: None,
        wrote,
    };
    // Two writes this hour (+4 and +8 nodes); one 70 minutes ago, a
    // refusal and an approval found already in place do not count.
    let rows = vec![
        row(70, Outcome::Applied, true, 20),
        row(40, Outcome::Applied, true, 8),
        row(30, Outcome::Refused, false, 30),
        row(20, Outcome::Applied, false, 9),
        row(10, Outcome::Applied, true, 12),
    ];
    let id = s.clusters[i].id.clone();
    update(&mut s, Action::Audit(id, rows));
    while s.pane != LowerPane::Actions {
        update(&mut s, Action::Command(Command::CyclePane));
    }
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("this hour 2/6 applies, 12/100 nodes"), "{t}");
    // The confirmation's runaway check says the same, with the change.
    while s.pane != LowerPane::Plan {
        update(&mut s, Action::Command(Command::CyclePane));
    }
    update(&mut s, key(KeyCode::Char('a')));
    let Some(Modal::Confirm {
        checks, proposal, ..
    }) = &s.modal
    else {
        panic!("a confirmation");
    };
    let runaway = checks
        .iter()
        .find(|c| c.rule == nodecast::exec::rules::Rule::Runaway)
        .expect("runaway check");
    let added = 12 + proposal.action.to.saturating_sub(proposal.action.from);
    assert!(
        runaway
            .detail
            .starts_with(&format!("3 of 6 applies and {added} of 100 nodes")),
        "{runaway:?}"
    );
}

#[test]
fn read_only_shows_in_the_confirmation_as_a_failed_check() {
    let (mut s, i) = on_plan();
    s.clusters[i].writable = Err("read-only: --read-only turns every cluster's actions off".into());
    update(&mut s, key(KeyCode::Char('a')));
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(
        t.contains("✗ writes allowed") && t.contains("--read-only"),
        "{t}"
    );
    insta::assert_snapshot!("confirm_read_only", t);
}

#[test]
fn the_confirmation_of_a_scale_in_the_plan_undoes_says_when() {
    let (mut s, i) = on_plan();
    let proposals = s.clusters[i].plan.as_ref().expect("plan").proposals();
    let k = proposals
        .iter()
        .position(|p| p.back_at.is_some())
        .expect("the demo plan undoes a scale-in");
    let (group, from, back) = {
        let p = &proposals[k];
        (
            p.action.node_group.clone(),
            p.action.from,
            p.back_at.expect("back"),
        )
    };
    for _ in 0..k {
        update(&mut s, key(KeyCode::Char('j')));
    }
    update(&mut s, key(KeyCode::Char('a')));
    let t = text(&render(&s, &Theme::dark(), 160, 40));
    let want = format!(
        "undone soon: this plan scales {group} back to {from} or more for {}, within 6 h",
        back.format("%a %H:%M")
    );
    assert!(t.contains(&want), "{want}\n{t}");
}

#[test]
fn the_confirmation_checks_the_cluster_s_own_step_limit() {
    use nodecast::exec::rules::Rule;
    // The first proposal's step check, with the cluster's max_step at one
    // node under the move and at the move itself: the dashboard checks the
    // limit the executor will hold it to, not the default.
    let step_check = |max_step: u32| {
        let (mut s, i) = on_plan();
        s.clusters[i].limits.change.max_step = Some(max_step);
        update(&mut s, key(KeyCode::Char('a')));
        let Some(Modal::Confirm { checks, .. }) = &s.modal else {
            panic!("a confirmation");
        };
        let c = checks
            .iter()
            .find(|c| c.rule == Rule::Step)
            .expect("a step check")
            .clone();
        (c.ok, c.detail)
    };
    let (s, i) = on_plan();
    let first = &s.clusters[i].plan.as_ref().expect("plan").proposals()[0].action;
    let moved = first.to.abs_diff(first.from);
    assert!(moved >= 2, "{first:?}");
    let (ok, detail) = step_check(moved - 1);
    assert!(!ok, "{detail}");
    assert_eq!(
        detail,
        format!("{moved} nodes is more than {} per action", moved - 1)
    );
    let (ok, detail) = step_check(moved);
    assert!(ok, "{detail}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the keys, an Execute comes only from a `y` typed into a
    /// confirmation, and it carries the action that confirmation showed.
    #[test]
    fn no_execute_without_a_confirmation(keys in prop::collection::vec(
        prop::sample::select(vec!['j', 'k', 'a', 'r', 'y', 'n', 'p', '1', '2', 'x', '\u{1b}', '\n']), 0..40)
    ) {
        let (mut s, _) = on_plan();
        for k in keys {
            let code = match k {
                '\u{1b}' => KeyCode::Esc,
                '\n' => KeyCode::Enter,
                c => KeyCode::Char(c),
            };
            let before = s.modal.clone();
            for fx in update(&mut s, key(code)) {
                if let Effect::Execute(a) = fx {
                    prop_assert_eq!(code, KeyCode::Char('y'));
                    let Some(Modal::Confirm { proposal, .. }) = &before else {
                        return Err(TestCaseError::fail("Execute without a confirmation"));
                    };
                    prop_assert_eq!(&proposal.action, &a);
                }
            }
        }
    }
}
