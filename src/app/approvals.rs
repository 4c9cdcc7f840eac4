//! The approval flow in the dashboard: select a proposal in the Plan pane,
//! `a` opens a confirmation with the exact change and every safety check,
//! `y` applies it, `n` or Esc cancels; `r` asks for a reason and rejects.
//! Only a confirmation produces [`Effect::Execute`]; the executor checks
//! every rule again against the live size before it writes.

use super::action::Effect;
use super::state::{ActionState, AppState, ClusterTab, LowerPane, Modal, Tab};
use crate::exec::Decision;
use crate::exec::rules::{self, Limits, Recent, Runaway};
use crate::plan::group::Proposal;
use crate::store::audit::AuditRow;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

fn plan_tab(state: &AppState) -> Option<usize> {
    match (state.tab, state.pane) {
        (Tab::Cluster(i), LowerPane::Plan) => Some(i),
        _ => None,
    }
}

fn selected_proposal(state: &AppState) -> Option<(usize, Proposal)> {
    let i = plan_tab(state)?;
    let plan = state.clusters.get(i)?.plan.as_ref()?;
    let p = plan.proposals().get(state.selected).map(|p| (*p).clone())?;
    Some((i, p))
}

/// Moves the selection in the Plan pane.
pub fn select(state: &mut AppState, delta: isize) -> bool {
    let Some(i) = plan_tab(state) else {
        return false;
    };
    let n = state.clusters[i]
        .plan
        .as_ref()
        .map(|p| p.proposals().len())
        .unwrap_or(0);
    if n == 0 {
        return false;
    }
    let next = (state.selected as isize + delta).clamp(0, n as isize - 1) as usize;
    let moved = next != state.selected;
    state.selected = next;
    moved
}

/// The rules as the dashboard can check them now (the group's size and
/// bounds in the latest snapshot, the cluster's own limits); the executor
/// checks them again.
fn preview(
    tab: &ClusterTab,
    p: &Proposal,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<rules::Check> {
    let group = tab
        .view
        .latest
        .as_ref()
        .and_then(|s| s.node_groups.iter().find(|g| g.name == p.action.node_group));
    let limits = Limits {
        min: group.and_then(|g| g.min).unwrap_or(0),
        max: group.and_then(|g| g.max).unwrap_or(u32::MAX),
        ..tab.limits.clone()
    };
    let recent = Recent::from_rows(&tab.audit, &p.action.node_group);
    let live = group.map(|g| g.nodes).unwrap_or(p.action.from);
    rules::checks(
        &p.action,
        live,
        tab.writable.clone(),
        &limits,
        &Runaway::default(),
        &recent,
        now,
    )
}

/// `a`: the confirmation for the selected proposal.
pub fn open_confirm(state: &mut AppState) -> bool {
    let Some((i, p)) = selected_proposal(state) else {
        return false;
    };
    let tab = &state.clusters[i];
    if matches!(
        tab.decisions.get(&p.action.id()),
        Some(ActionState::Applying)
    ) {
        return false;
    }
    let checks = preview(tab, &p, state.now);
    state.modal = Some(Modal::Confirm {
        call: tab.actuator.clone(),
        proposal: Box::new(p),
        checks,
    });
    true
}

/// `r`: the reason prompt for rejecting the selected proposal.
pub fn open_reject(state: &mut AppState) -> bool {
    let Some((_, p)) = selected_proposal(state) else {
        return false;
    };
    state.modal = Some(Modal::Reject {
        action: p.action,
        reason: String::new(),
    });
    true
}

/// A key while a dialog is open: the dialog takes it.
pub fn modal_key(state: &mut AppState, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    if key.kind == KeyEventKind::Release {
        return false;
    }
    let Some(modal) = state.modal.take() else {
        return false;
    };
    match (modal, key.code) {
        (Modal::Confirm { proposal, .. }, KeyCode::Char('y')) => {
            let action = proposal.action;
            // The plan may have moved on while the dialog was open.
            let why = state.cluster(&action.cluster).and_then(|tab| {
                let current: Vec<&crate::domain::ScalingAction> = tab
                    .plan
                    .as_ref()
                    .map(|p| p.proposals().into_iter().map(|p| &p.action).collect())
                    .unwrap_or_default();
                rules::outdated(&action, &current, state.now)
            });
            if let Some(tab) = state.cluster_mut(&action.cluster) {
                tab.decisions.insert(action.id(), ActionState::Applying);
            }
            effects.push(match why {
                Some(why) => Effect::Refuse(action, why),
                None => Effect::Execute(action),
            });
        }
        (Modal::Confirm { .. }, KeyCode::Char('n') | KeyCode::Esc) => {}
        (Modal::Reject { .. }, KeyCode::Esc) => {}
        (Modal::Reject { action, reason }, KeyCode::Enter) => {
            let reason = reason.trim().to_string();
            if reason.is_empty() {
                state.modal = Some(Modal::Reject { action, reason });
            } else {
                effects.push(Effect::Reject(action, reason));
            }
        }
        (Modal::Reject { action, mut reason }, KeyCode::Backspace) => {
            reason.pop();
            state.modal = Some(Modal::Reject { action, reason });
        }
        (Modal::Reject { action, mut reason }, KeyCode::Char(c)) => {
            if reason.chars().count() < 200 {
                reason.push(c);
            }
            state.modal = Some(Modal::Reject { action, reason });
        }
        (m, _) => {
            state.modal = Some(m);
            return false;
        }
    }
    true
}

/// The executor's decision on an action.
pub fn decided(state: &mut AppState, decision: Decision, cluster: &crate::domain::ClusterId) {
    if let Some(tab) = state.cluster_mut(cluster) {
        tab.decisions
            .insert(decision.action_id.clone(), ActionState::Decided(decision));
    }
}

/// The audit log's rows of the last 24 h for `cluster`: the Actions pane,
/// the cooldowns, and decisions that outlived an earlier session.
pub fn audit_loaded(state: &mut AppState, cluster: &crate::domain::ClusterId, rows: Vec<AuditRow>) {
    let now = state.now;
    let Some(tab) = state.cluster_mut(cluster) else {
        return;
    };
    // Oldest first: an action's latest row wins; one on its way stays so.
    for r in &rows {
        let Some(outcome) = r.outcome else { continue };
        if matches!(tab.decisions.get(&r.action_id), Some(ActionState::Applying)) {
            continue;
        }
        let checks = match tab.decisions.get(&r.action_id) {
            Some(ActionState::Decided(d)) => d.checks.clone(),
            _ => Vec::new(),
        };
        tab.decisions.insert(
            r.action_id.clone(),
            ActionState::Decided(Decision {
                action_id: r.action_id.clone(),
                outcome,
                detail: r.detail.clone(),
                checks,
                at: r.finished_at.unwrap_or(r.at),
            }),
        );
    }
    tab.audit = rows;
    count_runaway_hour(tab, now);
}

/// The runaway guard's count for the hour up to `now` from `tab`'s audit
/// rows (the Actions pane shows it): the landed applies, as the executor's
/// `Recent::from_rows` counts them.
pub fn count_runaway_hour(tab: &mut ClusterTab, now: chrono::DateTime<chrono::Utc>) {
    tab.runaway_hour =
        crate::plan::scaling::hour_up_to(&crate::store::audit::landed_applies(&tab.audit), now);
}

/// The clock moved: each cluster's runaway hour slides with it.
pub fn tick(state: &mut AppState) {
    let now = state.now;
    for tab in &mut state.clusters {
        count_runaway_hour(tab, now);
    }
}
