//! Accuracy pane: how this cluster's forecasts of one series have done, from
//! the forecast ledger. Scores by lead time over 24 h, 7 and 30 days, the
//! 24-h-ahead forecast against what happened over 14 days, and each member
//! by how often it served and how it scored.

use crate::domain::SeriesKind;
use crate::forecast::accuracy::{
    CHART_DAYS, CHART_LEAD, GROUP_LEAD, GROUP_WINDOW, GroupRecord, LEADS, Score, SeriesAccuracy,
    WINDOWS,
};
use crate::forecast::champion::SeriesModels;
use crate::forecast::persist::{ModelVersion, VersionStatus};
use crate::ui::chart::BandChart;
use crate::ui::framed;
use crate::ui::theme::Theme;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

pub struct AccuracyPane<'a> {
    pub series: SeriesKind,
    /// `None` until the ledger has a forecast of this series.
    pub record: Option<&'a SeriesAccuracy>,
    /// The series' serving model version and latest challenger.
    pub models: Option<&'a SeriesModels>,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
}

/// The lead-time table's width: lead, then 4 columns per window, with gaps.
const TABLE_W: u16 = 5 + 3 * (6 + 6 + 4 + 4) + 12 + 2;
/// Members listed beside the table.
const MEMBERS_SHOWN: usize = 6;

fn pct(v: Option<f64>, signed: bool) -> String {
    match (v, signed) {
        (Some(v), true) => format!("{v:+.1}%"),
        (Some(v), false) => format!("{v:.1}%"),
        (None, _) => "–".into(),
    }
}

/// MAPE, bias, band coverage and count of one cell, or dashes when too few.
fn score_cells(s: Option<&Score>) -> [String; 4] {
    match s {
        Some(s) if s.enough() => [
            pct(s.mape, false),
            pct(s.bias, true),
            s.coverage
                .map(|c| format!("{:.0}%", c * 100.0))
                .unwrap_or_else(|| "–".into()),
            s.n.to_string(),
        ],
        Some(s) => ["–".into(), "–".into(), "–".into(), s.n.to_string()],
        None => ["–".into(), "–".into(), "–".into(), "0".into()],
    }
}

/// Which model version serves, and how the latest challenger did.
fn models_line(m: Option<&SeriesModels>) -> String {
    let score = |v: &ModelVersion| {
        let p = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.2}%"));
        format!("{} vs {}", p(v.challenger_mape), p(v.champion_mape))
    };
    let serving = match m.and_then(|m| m.champion.as_ref()) {
        Some(c) => format!(
            "model v{} serves since {} ({} held back)",
            c.version,
            c.promoted_at
                .map_or("–".into(), |t| t.format("%m-%d %H:%M").to_string()),
            score(c)
        ),
        None => "weekly models serve (no version promoted yet)".into(),
    };
    match m.and_then(|m| m.latest.as_ref()) {
        Some(l) if l.status != VersionStatus::Champion => format!(
            "{serving} · challenger v{} {} {} ({})",
            l.version,
            l.status.key(),
            l.created_at.format("%m-%d %H:%M"),
            score(l)
        ),
        _ => serving,
    }
}

/// "node groups (nodes needed 6 h ahead, 7d, MAPE band): general 3.1% 85%
/// · …": each node group's nodes-needed forecasts (whole nodes).
fn groups_line(groups: &[GroupRecord]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| {
            let [mape, _, band, _] = score_cells(Some(&g.score));
            format!("{} {mape} {band}", g.node_group)
        })
        .collect();
    format!(
        "node groups (nodes needed {GROUP_LEAD} h ahead, {}, MAPE band): {}",
        WINDOWS[GROUP_WINDOW].0,
        parts.join(" · ")
    )
}

impl AccuracyPane<'_> {
    fn table(&self, rec: &SeriesAccuracy, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        // The windows' names span their four columns (a table cell cannot).
        let mut header = format!("{:<6}", "LEAD");
        for (name, _) in WINDOWS {
            header.push_str(&format!("{:<24}", format!("─── last {name} ───")));
        }
        let [head, area] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        Span::styled(header, t.dim().add_modifier(Modifier::BOLD)).render(head, buf);
        let mut sub = vec![Cell::from("")];
        for _ in WINDOWS {
            sub.extend(["MAPE", "bias", "band", "n"].map(Cell::from));
        }
        let mut rows = Vec::new();
        for lead in LEADS {
            let mut cells = vec![Cell::from(format!("{lead} h"))];
            for w in 0..WINDOWS.len() {
                let [m, b, c, n] = score_cells(rec.at(lead, w));
                cells.extend([m, b, c].map(Cell::from));
                cells.push(Cell::from(Span::styled(n, t.dim())));
            }
            rows.push(Row::new(cells));
        }
        let mut widths = vec![Constraint::Length(5)];
        for _ in WINDOWS {
            widths.extend([
                Constraint::Length(6),
                Constraint::Length(6),
                Constraint::Length(4),
                Constraint::Length(4),
            ]);
        }
        Table::new(rows, widths)
            .header(Row::new(sub).style(t.dim().add_modifier(Modifier::BOLD)))
            .style(Style::default().fg(t.fg))
            .render(area, buf);
    }

    fn members(&self, rec: &SeriesAccuracy, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let mut rows: Vec<Row> = rec
            .members
            .iter()
            .take(MEMBERS_SHOWN)
            .map(|m| {
                let [mape, _, band, n] = score_cells(Some(&m.score));
                Row::new([
                    Cell::from(m.member.clone()),
                    Cell::from(format!("{:.0}%", m.served * 100.0)),
                    Cell::from(mape),
                    Cell::from(band),
                    Cell::from(Span::styled(n, t.dim())),
                ])
            })
            .collect();
        if rows.is_empty() {
            rows.push(Row::new([Cell::from(Span::styled(
                "none scored yet",
                t.dim(),
            ))]));
        }
        Table::new(
            rows,
            [
                Constraint::Length(13),
                Constraint::Length(5),
                Constraint::Length(6),
                Constraint::Length(4),
                Constraint::Length(4),
            ],
        )
        .header(
            Row::new(["SERVED BY", "share", "MAPE", "band", "n"])
                .style(t.dim().add_modifier(Modifier::BOLD)),
        )
        .style(Style::default().fg(t.fg))
        .render(area, buf);
    }
}

impl Widget for AccuracyPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let counts = match self.record {
            Some(r) => format!(
                "· {} forecast hours scored in 30 days, {} waiting ",
                r.scored, r.waiting
            ),
            None => "· no forecasts in the ledger yet ".into(),
        };
        let title = Line::from(vec![
            Span::styled(format!(" Accuracy · {} ", self.series.title()), t.title()),
            Span::styled(counts, t.dim()),
            Span::styled("· c: next series ", t.dim()),
        ]);
        let inner = framed(title, t, area, buf);
        let Some(rec) = self.record.filter(|r| r.scored > 0) else {
            let why = match self.record {
                Some(r) => format!(
                    " not enough scored forecasts yet: {} forecast hours wait for their actuals",
                    r.waiting
                ),
                None => {
                    " not enough scored forecasts yet: the first forecast is still running".into()
                }
            };
            Paragraph::new(Span::styled(why, t.dim())).render(inner, buf);
            return;
        };
        let group_lines = u16::from(!rec.groups.is_empty());
        let [top, models, groups, legend, chart] = Layout::vertical([
            Constraint::Length(LEADS.len() as u16 + 3),
            Constraint::Length(1),
            Constraint::Length(group_lines),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(inner);
        Span::styled(models_line(self.models), t.dim()).render(models, buf);
        if group_lines > 0 {
            Span::styled(groups_line(&rec.groups), Style::default().fg(t.fg)).render(groups, buf);
        }
        let [table, members] =
            Layout::horizontal([Constraint::Length(TABLE_W), Constraint::Min(0)]).areas(top);
        self.table(rec, table, buf);
        self.members(rec, members, buf);
        Line::from(crate::ui::chart::legend(
            t,
            format!("forecast made {CHART_LEAD} h ahead   "),
            format!(
                " its p10–p90 band · last {CHART_DAYS} days ({})",
                self.series.unit()
            ),
        ))
        .render(legend, buf);
        if chart.height >= 4 {
            BandChart {
                actual: &rec.chart_actual,
                forecast: &rec.chart_forecast,
                now: self.now,
                past_hours: CHART_DAYS * 24,
                future_hours: 0,
                hindsight: true,
                marks: &[],
                theme: t,
            }
            .render(chart, buf);
        }
    }
}
