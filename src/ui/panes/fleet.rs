//! The fleet tab: every cluster in one table with totals, and the fleet's forecast.

use super::forecast::ForecastPane;
use crate::app::AppState;
use crate::app::state::{Freshness, fmt_age, freshness};
use crate::domain::{Forecast, HourlySeries, Resources};
use crate::forecast::{sum_forecasts, sum_series};
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
        let mut rows = Vec::new();
        let (mut nodes, mut pods, mut pending) = (0u32, 0u32, 0u32);
        let (mut alloc, mut req, mut usage) = (
            Resources::default(),
            Resources::default(),
            Some(Resources::default()),
        );
        for (i, id) in st.clusters.iter().enumerate() {
            let view = st.fleet.view(id);
            let snap = view.and_then(|v| v.latest.as_ref());
            let f = freshness(view, self.now, st.stale_after_secs);
            let (src, src_style) = match &f {
                Freshness::Waiting => ("waiting".to_string(), t.dim()),
                Freshness::Ok { age_secs } => (
                    format!("ok {}", fmt_age(*age_secs)),
                    Style::default().fg(t.ok),
                ),
                Freshness::Stale { age_secs } => {
                    (format!("stale {}", fmt_age(*age_secs)), t.warning())
                }
                Freshness::Error(m) => (format!("error: {m}"), t.failure()),
            };
            let region = view.map(|v| v.region.clone()).unwrap_or_default();
            let mut cells = vec![Cell::from(format!("{} {}", i + 1, id)), Cell::from(region)];
            match snap {
                Some(s) => {
                    nodes += s.nodes;
                    pods += s.pods;
                    pending += s.pending_pods;
                    alloc = alloc.plus(s.allocatable);
                    req = req.plus(s.requests);
                    usage = usage.zip(s.usage).map(|(a, b)| a.plus(b));
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
                    usage = None;
                    cells.extend(["–", "–", "–", "", ""].map(Cell::from));
                }
            }
            cells.push(Cell::from(Span::styled(src, src_style)));
            rows.push(Row::new(cells));
        }
        let pstyle = if pending > 0 {
            t.warning()
        } else {
            Style::default().fg(t.fg)
        };
        let mut total = vec![
            Cell::from("fleet total"),
            Cell::from(""),
            Cell::from(nodes.to_string()),
            Cell::from(pods.to_string()),
            Cell::from(Span::styled(pending.to_string(), pstyle)),
        ];
        total.extend(cpu_mem_cells(alloc, req, usage, BAR_W, t));
        rows.push(Row::new(total).style(Style::default().add_modifier(Modifier::BOLD)));
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
        let planned: Vec<_> = st
            .clusters
            .iter()
            .filter_map(|id| st.plans.get(id))
            .collect();
        let mut title = title;
        if !planned.is_empty() {
            let usd: f64 = planned.iter().map(|p| p.usd_per_hour_now).sum();
            let of = if planned.len() < st.clusters.len() {
                format!(
                    " ({} of {} clusters priced)",
                    planned.len(),
                    st.clusters.len()
                )
            } else {
                String::new()
            };
            title.spans.push(Span::styled(
                format!(
                    "· ${usd:.2}/h · ${:.0}/month{of} ",
                    usd * crate::plan::cost::HOURS_PER_MONTH
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

impl Widget for FleetScreen<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let n = self.state.clusters.len() as u16;
        let [top, bottom] =
            Layout::vertical([Constraint::Length(n + 4), Constraint::Min(8)]).areas(area);
        self.table(top, buf);
        let series = self.state.chart;
        let st = self.state;
        let histories: Vec<&HourlySeries> = st
            .clusters
            .iter()
            .filter_map(|id| st.fleet.view(id).and_then(|v| v.history.get(&series)))
            .collect();
        let history = (histories.len() == st.clusters.len()).then(|| sum_series(&histories));
        let forecasts: Vec<&Forecast> = st
            .clusters
            .iter()
            .filter_map(|id| st.forecasts.get(id).and_then(|f| f.get(&series)))
            .collect();
        let forecast = if forecasts.len() == st.clusters.len() {
            sum_forecasts(&forecasts)
        } else {
            None
        };
        ForecastPane {
            series,
            history: history.as_ref(),
            forecast: forecast.as_ref(),
            note: ", bands added",
            theme: self.theme,
            now: self.now,
        }
        .render(bottom, buf);
    }
}
