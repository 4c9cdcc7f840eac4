//! The fleet tab: every cluster in one table with totals, and the fleet's forecast.

use super::forecast::ForecastPane;
use crate::app::AppState;
use crate::app::state::fmt_age;
use crate::health::Health;
use crate::ui::cpu_mem_cells;
use crate::ui::theme::Theme;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table, Widget};

const BAR_W: usize = 10;

pub struct FleetScreen<'a> {
    pub state: &'a AppState,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
}

impl FleetScreen<'_> {
    fn table(&self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let st = self.state;
        let total = &st.fleet;
        let mut rows = Vec::new();
        for (i, c) in st.clusters.iter().enumerate() {
            let (src, src_style) = match c.health(self.now, st.stale_after_secs) {
                Health::Waiting => ("waiting".to_string(), t.dim()),
                Health::Ok { age_secs } => (
                    format!("ok {}", fmt_age(age_secs)),
                    Style::default().fg(t.ok),
                ),
                Health::Stale { age_secs } => (
                    format!("stale {}", age_secs.map(fmt_age).unwrap_or_default()),
                    t.warning(),
                ),
                Health::Error(m) => (format!("error: {m}"), t.failure()),
            };
            let mut cells = vec![
                Cell::from(format!("{} {}", i + 1, c.id)),
                Cell::from(c.view.region.clone()),
            ];
            match &c.view.latest {
                Some(s) => {
                    let pstyle = if s.pending_pods > 0 {
                        t.warning()
                    } else {
                        Style::default().fg(t.fg)
                    };
                    cells.push(Cell::from(s.nodes.to_string()));
                    cells.push(Cell::from(s.pods.to_string()));
                    cells.push(Cell::from(Span::styled(s.pending_pods.to_string(), pstyle)));
                    cells.extend(cpu_mem_cells(s.allocatable, s.requests, s.usage, BAR_W, t));
                }
                None => {
                    cells.extend(["–", "–", "–", "", ""].map(Cell::from));
                }
            }
            cells.push(Cell::from(Span::styled(src, src_style)));
            rows.push(Row::new(cells));
        }
        let (nodes, pods, pending) = (total.nodes, total.pods, total.pending_pods);
        let pstyle = if pending > 0 {
            t.warning()
        } else {
            Style::default().fg(t.fg)
        };
        let mut total_row = vec![
            Cell::from("fleet total"),
            Cell::from(""),
            Cell::from(nodes.to_string()),
            Cell::from(pods.to_string()),
            Cell::from(Span::styled(pending.to_string(), pstyle)),
        ];
        total_row.extend(cpu_mem_cells(
            total.allocatable,
            total.requests,
            total.usage,
            BAR_W,
            t,
        ));
        rows.push(Row::new(total_row).style(Style::default().add_modifier(Modifier::BOLD)));
        let header = Row::new([
            "CLUSTER", "REGION", "NODES", "PODS", "PENDING", "CPU", "MEMORY", "SOURCES",
        ])
        .style(t.dim().add_modifier(Modifier::BOLD));
        let widths = [
            Constraint::Length(15),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(BAR_W as u16 + 18),
            Constraint::Length(BAR_W as u16 + 18),
            Constraint::Min(8),
        ];
        let title = Line::from(vec![
            Span::styled(" Fleet ", t.title()),
            Span::styled(
                format!(
                    "· {} clusters · {nodes} nodes · {pods} pods · ",
                    st.clusters.len()
                ),
                Style::default().fg(t.fg),
            ),
            Span::styled(format!("{pending} pending "), pstyle),
        ]);
        // Cost of the nodes running now, from the clusters' plans.
        let mut title = title;
        if total.priced > 0 {
            let of = if total.priced < st.clusters.len() {
                format!(
                    " ({} of {} clusters priced)",
                    total.priced,
                    st.clusters.len()
                )
            } else {
                String::new()
            };
            title.spans.push(Span::styled(
                format!(
                    "· ${:.2}/h · ${:.0}/month{of} ",
                    total.usd_per_hour, total.usd_per_month
                ),
                Style::default().fg(t.fg),
            ));
        }
        Table::new(rows, widths)
            .header(header)
            .style(Style::default().fg(t.fg))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(t.dim())
                    .title(title),
            )
            .render(area, buf);
    }
}

impl FleetScreen<'_> {
    /// One line per cluster: how its node-count forecasts did this week.
    fn accuracy(&self, area: Rect, buf: &mut Buffer) {
        if area.height == 0 {
            return;
        }
        let t = self.theme;
        let title = Line::from(vec![
            Span::styled(" Forecast accuracy ", t.title()),
            Span::styled(
                "· nodes, MAPE by lead time and p10–p90 coverage, last 7 days · p on a cluster: details ",
                t.dim(),
            ),
        ]);
        let inner = crate::ui::framed(title, t, area, buf);
        let lines: Vec<Line> = self
            .state
            .clusters
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Line::from(vec![
                    Span::styled(
                        format!(" {:<15}", format!("{} {}", i + 1, c.id)),
                        Style::default().fg(t.fg),
                    ),
                    Span::styled(c.accuracy_line.clone(), Style::default().fg(t.fg)),
                ])
            })
            .collect();
        ratatui::widgets::Paragraph::new(lines).render(inner, buf);
    }
}

impl Widget for FleetScreen<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let n = self.state.clusters.len() as u16;
        // The accuracy lines only where the chart keeps 8 rows.
        let accuracy_h = if area.height >= 2 * n + 6 + 8 {
            n + 2
        } else {
            0
        };
        let [top, accuracy, bottom] = Layout::vertical([
            Constraint::Length(n + 4),
            Constraint::Length(accuracy_h),
            Constraint::Min(8),
        ])
        .areas(area);
        self.table(top, buf);
        self.accuracy(accuracy, buf);
        let series = self.state.chart;
        ForecastPane {
            series,
            history: self.state.fleet.history.get(&series),
            forecast: self.state.fleet.forecast.get(&series),
            note: ", bands added",
            events: &[],
            theme: self.theme,
            now: self.now,
        }
        .render(bottom, buf);
    }
}
