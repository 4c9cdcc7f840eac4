//! Plan pane: the proposal timeline (scale node group X from a to b at T),
//! each group's cheapest instance mix against today's type and a greedy
//! pick, and the spot table.

use crate::app::state::ActionState;
use crate::domain::Risk;
use crate::plan::ClusterPlan;
use crate::plan::cluster::Sizing;
use crate::plan::group::{GroupPlan, Proposal};
use crate::store::audit::Outcome;
use crate::ui::framed;
use crate::ui::panes::actions::outcome_style;
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};
use std::collections::BTreeMap;

pub struct PlanPane<'a> {
    /// `None` until the cluster's forecasts are ready.
    pub plan: Option<&'a ClusterPlan>,
    /// Decisions by action id (the STATE column).
    pub decisions: &'a BTreeMap<String, ActionState>,
    /// The selected proposal (in [`ClusterPlan::proposals`]' order).
    pub selected: usize,
    pub theme: &'a Theme,
    /// The clock, for proposals that expired undecided.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Where a proposal stands: "proposed", "waits: hourly budget" (proposed,
/// held for the runaway guard's budget), either with " · back up 00:00"
/// where the plan undoes the scale-in ([`crate::plan::group::undecided_state`]),
/// "expired" (undecided an hour past
/// the hour it was for), "applying…", "applied 12:41", "refused: cooldown
/// 6 min left", "rejected: `<reason>`", "failed: `<error>`".
pub fn state_text(
    d: Option<&ActionState>,
    expired: bool,
    p: &Proposal,
) -> (String, Option<Outcome>) {
    match d {
        None if expired => ("expired".into(), None),
        None => (crate::plan::group::undecided_state(p.held, p.back_at), None),
        Some(ActionState::Applying) => ("applying…".into(), None),
        Some(ActionState::Decided(d)) => {
            let text = match d.outcome {
                Outcome::Applied => format!("applied {}", d.at.format("%H:%M")),
                o => format!("{}: {}", o.key(), d.detail),
            };
            (text, Some(d.outcome))
        }
    }
}

/// "+$1.54/h" or "−$0.77/h".
pub fn usd_delta(v: Option<f64>) -> String {
    match v {
        Some(v) if v < 0.0 => format!("−${:.2}/h", -v),
        Some(v) => format!("+${v:.2}/h"),
        None => "no price".into(),
    }
}

/// The apply-by time, or "now" for a change the current hour needs already.
fn apply_by(p: &Proposal, issued: chrono::DateTime<chrono::Utc>) -> String {
    if p.apply_by < issued {
        "now".into()
    } else {
        p.apply_by.format("%a %H:%M").to_string()
    }
}

fn proposal_row<'a>(
    p: &Proposal,
    (issued, now): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    state: Option<&ActionState>,
    t: &Theme,
) -> Row<'a> {
    let risk_style = match p.risk {
        Risk::High => t.failure(),
        Risk::Medium => t.warning(),
        Risk::Low | Risk::Unknown => t.dim(),
    };
    Row::new(vec![
        Cell::from(apply_by(p, issued)),
        Cell::from(p.action.node_group.clone()),
        Cell::from(format!("{} → {}", p.action.from, p.action.to)),
        Cell::from(if p.capped {
            format!("{}, capped", p.action.reason.label())
        } else {
            p.action.reason.label().to_string()
        }),
        Cell::from(format!("{} ({}–{})", p.band.1, p.band.0, p.band.2)),
        Cell::from(usd_delta(p.usd_per_hour_delta)),
        Cell::from(format!("{:.0}%", p.utilization_after * 100.0)),
        Cell::from(Span::styled(p.risk.label(), risk_style)),
        {
            let expired = crate::exec::rules::expired(&p.action, now);
            let (text, outcome) = state_text(state, expired, p);
            let style = if outcome.is_some() || state.is_some() {
                outcome_style(outcome, t)
            } else {
                t.dim()
            };
            Cell::from(Span::styled(text, style))
        },
    ])
}

/// The quantile the groups are sized for and the shortage it realized.
fn sizing_text(s: Option<&Sizing>) -> String {
    let Some(s) = s else {
        return String::new();
    };
    let realized = match s.realized {
        Some(r) => format!("{:.1} % short over {} h", r * 100.0, s.hours),
        None => "nothing scored yet".into(),
    };
    format!(
        "· groups sized for p{:.0} (target {:.1} % short; {realized}) ",
        s.quantile * 100.0,
        s.target * 100.0
    )
}

/// A node group's own sizing: "p83, 0.7 % short/412 h · ".
fn group_sizing_text(s: Option<&Sizing>) -> String {
    match s {
        Some(s) => format!(
            "p{:.0}, {:.1} % short/{} h · ",
            s.quantile * 100.0,
            s.realized.unwrap_or(0.0) * 100.0,
            s.hours
        ),
        None => String::new(),
    }
}

/// "8× m7i.4xlarge + 2× r7i.2xlarge $9.21/h".
fn mix_text(parts: &[(crate::plan::mix::Offer, u32)], usd: f64) -> String {
    let p: Vec<String> = parts
        .iter()
        .map(|(o, n)| format!("{n}× {}", o.instance_type))
        .collect();
    format!("{} ${usd:.2}/h", p.join(" + "))
}

fn mix_lines<'a>(g: &GroupPlan, t: &Theme) -> Vec<Line<'a>> {
    let Some(m) = &g.mix else {
        return vec![Line::from(vec![
            Span::styled(format!("{:<14}", g.node_group), Style::default().fg(t.fg)),
            Span::styled("no mix: no priced type fits the largest pod", t.dim()),
        ])];
    };
    let mut out = vec![Line::from(vec![
        Span::styled(format!("{:<14}", g.node_group), Style::default().fg(t.fg)),
        Span::styled(group_sizing_text(g.sizing.as_ref()), t.dim()),
        Span::styled("best ", t.dim()),
        Span::styled(
            mix_text(&m.best.parts, m.best.usd_per_hour),
            Style::default().fg(t.accent),
        ),
        Span::styled(
            format!(
                "  today's type {}  greedy {}",
                m.current
                    .as_ref()
                    .map(|c| mix_text(&c.parts, c.usd_per_hour))
                    .unwrap_or_else(|| "–".into()),
                m.greedy
                    .as_ref()
                    .map(|c| mix_text(&c.parts, c.usd_per_hour))
                    .unwrap_or_else(|| "–".into()),
            ),
            t.dim(),
        ),
    ])];
    out.push(Line::styled(
        format!(
            "{:<14}cost {} ({})  perf {} ({})  avail {} ({})",
            "",
            m.cost.0,
            m.cost.1,
            m.performance.0,
            m.performance.1,
            m.availability.0,
            m.availability.1
        ),
        t.dim(),
    ));
    out
}

impl Widget for PlanPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let title = Line::from(vec![
            Span::styled(" Plan ", t.title()),
            Span::styled(
                sizing_text(self.plan.and_then(|p| p.sizing.as_ref())),
                t.dim(),
            ),
            Span::styled(
                "· proposals (scale-out ahead, scale-in only under the band), instance mix, spot ",
                t.dim(),
            ),
        ]);
        let inner = framed(title, t, area, buf);
        let Some(plan) = self.plan else {
            Paragraph::new(Span::styled("waiting for the forecasts", t.dim())).render(inner, buf);
            return;
        };
        let proposals: Vec<&Proposal> = plan.proposals();
        let prop_h = (proposals.len().clamp(1, 8) + 1) as u16;
        let mix_h = (plan.groups.len() * 2) as u16 + 1;
        let spot_h = plan.groups.len() as u16 + 2;
        let [a, b, c] = Layout::vertical([
            Constraint::Length(prop_h + 1),
            Constraint::Length(mix_h),
            Constraint::Length(spot_h),
        ])
        .areas(inner);
        let head =
            |cols: Vec<&'static str>| Row::new(cols).style(t.dim().add_modifier(Modifier::BOLD));
        if proposals.is_empty() {
            Paragraph::new(vec![
                Line::styled("PROPOSALS", t.dim().add_modifier(Modifier::BOLD)),
                Line::styled(
                    "no change: every group's size covers the band for 48 h",
                    t.dim(),
                ),
            ])
            .render(a, buf);
        } else {
            // Eight rows at most, scrolled to keep the selection in view.
            let selected = self.selected.min(proposals.len() - 1);
            let first = selected.saturating_sub(7);
            Table::new(
                proposals
                    .iter()
                    .enumerate()
                    .skip(first)
                    .take(8)
                    .map(|(i, p)| {
                        let row = proposal_row(
                            p,
                            (plan.issued_at, self.now),
                            self.decisions.get(&p.action.id()),
                            t,
                        );
                        if i == selected {
                            row.style(Style::default().add_modifier(Modifier::REVERSED))
                        } else {
                            row
                        }
                    }),
                [
                    Constraint::Length(10),
                    Constraint::Length(14),
                    Constraint::Length(9),
                    Constraint::Length(15),
                    Constraint::Length(13),
                    Constraint::Length(11),
                    Constraint::Length(6),
                    Constraint::Length(8),
                    Constraint::Min(10),
                ],
            )
            .header(head(vec![
                "APPLY BY",
                "NODE GROUP",
                "SIZE",
                "WHY",
                "NEED (BAND)",
                "COST",
                "UTIL",
                "RISK",
                "STATE",
            ]))
            .style(Style::default().fg(t.fg))
            .render(a, buf);
        }
        let mut lines = vec![Line::styled(
            "INSTANCE MIX at the 48 h peak",
            t.dim().add_modifier(Modifier::BOLD),
        )];
        for g in &plan.groups {
            lines.extend(mix_lines(g, t));
        }
        Paragraph::new(lines).render(b, buf);
        Table::new(
            plan.groups.iter().map(|g| {
                Row::new(vec![
                    Cell::from(g.node_group.clone()),
                    Cell::from(g.capacity_type.label()),
                    Cell::from(format!("{:.0}%", g.spot.tolerant_share * 100.0)),
                    Cell::from(g.spot.interruption.clone().unwrap_or_else(|| "–".into())),
                    Cell::from(
                        g.spot
                            .savings_pct
                            .map(|s| format!("{s:.0}%"))
                            .unwrap_or_else(|| "–".into()),
                    ),
                    Cell::from(if g.spot.usd_per_hour_saved > 0.0 {
                        format!("${:.2}/h", g.spot.usd_per_hour_saved)
                    } else {
                        "–".into()
                    }),
                    Cell::from(g.spot.risk.label()),
                ])
            }),
            [
                Constraint::Length(14),
                Constraint::Length(10),
                Constraint::Length(13),
                Constraint::Length(13),
                Constraint::Length(8),
                Constraint::Length(10),
                Constraint::Min(6),
            ],
        )
        .header(head(vec![
            "SPOT",
            "NOW",
            "TOLERANT",
            "INTERRUPTS",
            "SAVES",
            "$ SAVED",
            "RISK",
        ]))
        .style(Style::default().fg(t.fg))
        .render(c, buf);
    }
}
