//! Actions pane: the decisions on this cluster's scaling actions in the
//! last 24 hours, from the audit log, newest first.

use crate::app::state::ClusterTab;
use crate::store::audit::Outcome;
use crate::ui::framed;
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

pub struct ActionsPane<'a> {
    pub tab: &'a ClusterTab,
    pub theme: &'a Theme,
}

/// What the cluster's applies of the last hour spent of the runaway
/// guard's budget (`ClusterTab::runaway_hour`): "this hour 2/6 applies,
/// 15/100 nodes".
pub fn guard_text((applies, added): (u32, u32)) -> String {
    let guard = crate::exec::rules::Runaway::default();
    format!(
        "this hour {applies}/{} applies, {added}/{} nodes",
        guard.applies_per_hour, guard.nodes_per_hour
    )
}

/// The style of an outcome in the tables.
pub fn outcome_style(o: Option<Outcome>, t: &Theme) -> Style {
    match o {
        Some(Outcome::Applied) => Style::default().fg(t.ok),
        Some(Outcome::Refused | Outcome::Rejected) => t.warning(),
        Some(Outcome::Failed | Outcome::Unknown) => t.failure(),
        None => t.dim(),
    }
}

impl Widget for ActionsPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let mode = match &self.tab.writable {
            Ok(()) => format!("approvals apply: {}", self.tab.actuator),
            Err(why) => why.clone(),
        };
        let title = Line::from(vec![
            Span::styled(" Actions ", t.title()),
            Span::styled(
                format!(
                    "· decisions of the last 24 h · {} · {mode} ",
                    guard_text(self.tab.runaway_hour)
                ),
                t.dim(),
            ),
        ]);
        let inner = framed(title, t, area, buf);
        if self.tab.audit.is_empty() {
            Paragraph::new(Span::styled(
                "no decision yet: select a proposal in the plan pane (p), a to approve, r to reject",
                t.dim(),
            ))
            .render(inner, buf);
            return;
        }
        let rows = self.tab.audit.iter().rev().map(|r| {
            let outcome = r.outcome.map(|o| o.key()).unwrap_or("in progress");
            Row::new(vec![
                Cell::from(r.at.format("%a %H:%M").to_string()),
                Cell::from(r.action_id.clone()),
                Cell::from(r.node_group.clone()),
                Cell::from(format!("{} → {}", r.from, r.to)),
                Cell::from(r.decision.clone()),
                Cell::from(Span::styled(outcome, outcome_style(r.outcome, t))),
                Cell::from(r.operator.clone()),
                Cell::from(r.detail.clone()),
            ])
        });
        Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Length(9),
                Constraint::Length(14),
                Constraint::Length(9),
                Constraint::Length(8),
                Constraint::Length(12),
                Constraint::Length(10),
                Constraint::Min(10),
            ],
        )
        .header(
            Row::new([
                "AT",
                "ID",
                "NODE GROUP",
                "SIZE",
                "DECISION",
                "OUTCOME",
                "OPERATOR",
                "DETAIL",
            ])
            .style(t.dim().add_modifier(Modifier::BOLD)),
        )
        .style(Style::default().fg(t.fg))
        .render(inner, buf);
    }
}
