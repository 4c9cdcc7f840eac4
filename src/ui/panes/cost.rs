//! Cost pane: now against the plan per node group, the savings breakdown
//! (enterprise discount, spot, Savings Plan) and the commitment advice.

use crate::plan::ClusterPlan;
use crate::ui::framed;
use crate::ui::panes::plan::usd_delta;
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

pub struct CostPane<'a> {
    pub plan: Option<&'a ClusterPlan>,
    pub theme: &'a Theme,
}

fn usd(v: Option<f64>) -> String {
    v.map(|v| format!("${v:.2}"))
        .unwrap_or_else(|| "no price".into())
}

impl Widget for CostPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let mut title = vec![Span::styled(" Cost ", t.title())];
        if let Some(p) = self.plan {
            title.push(Span::styled(
                format!("· list prices: {} ", p.prices),
                t.dim(),
            ));
        }
        let title = Line::from(title);
        let inner = framed(title, t, area, buf);
        let Some(p) = self.plan else {
            Paragraph::new(Span::styled("waiting for the forecasts", t.dim())).render(inner, buf);
            return;
        };
        let [table, notes] = Layout::vertical([
            Constraint::Length(p.groups.len() as u16 + 2),
            Constraint::Min(3),
        ])
        .areas(inner);
        let rows = p.groups.iter().map(|g| {
            Row::new(vec![
                Cell::from(g.node_group.clone()),
                Cell::from(format!("{}× {}", g.nodes_now, g.instance_type)),
                Cell::from(g.capacity_type.label()),
                Cell::from(usd(g.usd_per_hour_now)),
                Cell::from(usd(g.usd_per_month_now)),
                Cell::from(usd(g.planned_usd_48h)),
                Cell::from(usd_delta(g.plan_vs_now_usd_per_hour)),
            ])
        });
        let total = Row::new(vec![
            Cell::from("total"),
            Cell::from(""),
            Cell::from(""),
            Cell::from(format!("${:.2}", p.usd_per_hour_now)),
            Cell::from(format!("${:.0}", p.usd_per_month_now)),
            Cell::from(format!("${:.2}", p.planned_usd_48h)),
            Cell::from(usd_delta(Some(p.plan_vs_now_usd_per_hour))),
        ])
        .style(Style::default().fg(t.accent));
        Table::new(
            rows.chain(std::iter::once(total)),
            [
                Constraint::Length(14),
                Constraint::Length(20),
                Constraint::Length(10),
                Constraint::Length(10),
                Constraint::Length(11),
                Constraint::Length(12),
                Constraint::Min(10),
            ],
        )
        .header(
            Row::new([
                "NODE GROUP",
                "NODES",
                "CAPACITY",
                "$/H NOW",
                "$/MONTH",
                "PLAN 48 H",
                "PLAN VS NOW",
            ])
            .style(t.dim().add_modifier(Modifier::BOLD)),
        )
        .style(Style::default().fg(t.fg))
        .render(table, buf);
        let d = &p.discounts;
        let mut lines = vec![Line::from(vec![
            Span::styled("effective now ", t.dim()),
            Span::styled(
                format!("${:.2}/h", p.effective_usd_per_hour_now),
                Style::default().fg(t.fg),
            ),
            Span::styled(
                format!(
                    " after a {:.0} % enterprise discount · spot-tolerant work on spot would save ${:.2}/h",
                    d.enterprise * 100.0,
                    p.spot_usd_per_hour_saved
                ),
                t.dim(),
            ),
        ])];
        lines.push(match &p.commitment {
            Some(c) => Line::from(vec![
                Span::styled("commit ", t.dim()),
                Span::styled(format!("${:.2}/h", c.usd_per_hour), Style::default().fg(t.accent)),
                Span::styled(
                    format!(
                        " Savings Plan ({:.0} % off) covers ${:.2}/h on-demand, the p{:.0} of {} h; break-even at {:.0} % use, used {:.0} % of hours; saves ${:.0}/year",
                        d.savings_plan * 100.0,
                        c.covers_on_demand_usd_per_hour,
                        d.floor_quantile * 100.0,
                        c.hours,
                        c.break_even_utilization * 100.0,
                        c.utilization * 100.0,
                        c.usd_per_year
                    ),
                    t.dim(),
                ),
            ]),
            None => Line::styled("commitment: needs 24 h of node history and on-demand prices", t.dim()),
        });
        for w in &p.warnings {
            lines.push(Line::styled(format!("⚠ {w}"), t.warning()));
        }
        Paragraph::new(lines).render(notes, buf);
    }
}
