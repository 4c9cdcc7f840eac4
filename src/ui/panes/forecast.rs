//! Forecast pane: last 48 h and next 48 h of one series with its p10-p90 band.

use crate::domain::{Forecast, HorizonMix, HourlySeries, SeriesKind};
use crate::ui::chart::{BandChart, NOW_GLYPH};
use crate::ui::fmt_num;
use crate::ui::framed;
use crate::ui::theme::Theme;
use chrono::{DateTime, Duration, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

pub const PAST_HOURS: i64 = 48;
pub const FUTURE_HOURS: i64 = 48;

pub struct ForecastPane<'a> {
    pub series: SeriesKind,
    pub history: Option<&'a HourlySeries>,
    pub forecast: Option<&'a Forecast>,
    /// Extra words after the model name ("bands added" for the fleet).
    pub note: &'a str,
    /// Business events to mark, measured on this series.
    pub events: &'a [crate::forecast::events::EventRecord],
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
}

impl Widget for ForecastPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let model = self
            .forecast
            .map(|f| f.model.as_str())
            .unwrap_or("waiting for history");
        let title = Line::from(vec![
            Span::styled(format!(" Forecast · {} ", self.series.title()), t.title()),
            Span::styled(format!("· {model}{} ", self.note), t.dim()),
            Span::styled("· c: next series ", t.dim()),
        ]);
        let inner = framed(title, t, area, buf);
        let mix = self.forecast.map(|f| f.mix.as_slice()).unwrap_or(&[]);
        // The model mix gives way to the chart in a short pane.
        let mix = if inner.height >= 16 { mix } else { &[] };
        let mix_lines = mix_lines(mix, inner.width, t);
        let mix_rows = mix_lines.len() as u16;
        let warnings = self.forecast.map(|f| f.warnings.as_slice()).unwrap_or(&[]);
        let [legend, chart, info, warn_area, mix_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(warnings.len() as u16),
            Constraint::Length(mix_rows),
        ])
        .areas(inner);
        let mut spans =
            crate::ui::chart::legend(t, "forecast p50   ".into(), " p10–p90 band   ".into());
        spans.push(Span::styled(NOW_GLYPH, Style::default().fg(t.now_marker)));
        spans.push(Span::styled(
            format!(" now   ({})", self.series.unit()),
            t.dim(),
        ));
        Line::from(spans).render(legend, buf);
        let since = self.now - Duration::hours(PAST_HOURS + 1);
        let actual: Vec<(DateTime<Utc>, f64)> = self
            .history
            .map(|h| h.points().filter(|(ts, _)| *ts >= since).collect())
            .unwrap_or_default();
        let points = self.forecast.map(|f| f.points.as_slice()).unwrap_or(&[]);
        let marks: Vec<(DateTime<Utc>, DateTime<Utc>, String)> = self
            .events
            .iter()
            .map(|e| (e.start, e.end, e.label()))
            .collect();
        BandChart {
            actual: &actual,
            forecast: points,
            now: self.now,
            past_hours: PAST_HOURS,
            future_hours: FUTURE_HOURS,
            hindsight: false,
            marks: &marks,
            theme: t,
        }
        .render(chart, buf);
        let mut spans = Vec::new();
        if let Some(peak) = self.forecast.and_then(|f| f.peak()) {
            spans.push(Span::styled(
                format!(
                    " next {}h: peak p50 {} {} (p10 {} – p90 {}) at {}",
                    points.len(),
                    fmt_num(peak.p50),
                    self.series.unit(),
                    fmt_num(peak.p10),
                    fmt_num(peak.p90),
                    peak.ts.format("%a %H:%M")
                ),
                Style::default().fg(t.fg),
            ));
        }
        if let Some(f) = self.forecast {
            spans.push(Span::styled(
                format!(" · history {:.1} d", f.history_hours as f64 / 24.0),
                t.dim(),
            ));
            let style = if f.confidence < 50 {
                t.warning()
            } else {
                Style::default().fg(t.fg)
            };
            spans.push(Span::styled(
                format!(" · confidence {}/100", f.confidence),
                style,
            ));
        }
        Line::from(spans).render(info, buf);
        let warn_lines: Vec<Line> = warnings
            .iter()
            .map(|w| Line::from(Span::styled(format!(" ⚠ {w}"), t.warning())))
            .collect();
        Paragraph::new(warn_lines).render(warn_area, buf);
        Paragraph::new(mix_lines).render(mix_area, buf);
    }
}

/// Horizons per line of the model mix, at most.
const MIX_PER_LINE: usize = 2;

/// The model mix in lines: up to [`MIX_PER_LINE`] horizons a line, fewer
/// where their members' names would run past the pane's `width`; a horizon
/// wider than the pane alone goes on over lines of its own, a member's
/// name and weight never split.
fn mix_lines<'a>(mix: &[HorizonMix], width: u16, t: &Theme) -> Vec<Line<'a>> {
    let width = usize::from(width);
    let mut lines = Vec::new();
    let mut start = 0;
    while start < mix.len() {
        let first = lines.is_empty();
        let mut end = start + 1;
        let mut line = mix_line(first, &mix[start..end], t);
        while end < mix.len() && end - start < MIX_PER_LINE {
            let wider = mix_line(first, &mix[start..=end], t);
            if wider.width() > width {
                break;
            }
            (line, end) = (wider, end + 1);
        }
        if line.width() > width {
            lines.extend(wrapped_horizon(first, &mix[start], width, t));
        } else {
            lines.push(line);
        }
        start = end;
    }
    lines
}

/// The spans that open a line of the mix: " models " on the first line.
fn mix_lead<'a>(first: bool, t: &Theme) -> Span<'a> {
    Span::styled(if first { " models " } else { "        " }, t.dim())
}

/// One horizon's " 6 h" and its members, each name with its weight.
fn horizon_spans<'a>(m: &HorizonMix, t: &Theme) -> (Span<'a>, Vec<Vec<Span<'a>>>) {
    let head = Span::styled(format!(" {}", m.label()), t.dim());
    let equal = m.members.windows(2).all(|p| (p[0].1 - p[1].1).abs() < 1e-9);
    if m.members.len() > 3 && equal {
        let all = Span::styled(
            format!(" {} members, equal weights", m.members.len()),
            Style::default().fg(t.fg),
        );
        return (head, vec![vec![all]]);
    }
    let members = m
        .members
        .iter()
        .map(|(name, w)| {
            vec![
                Span::styled(format!(" {name}"), Style::default().fg(t.fg)),
                Span::styled(format!(" {}", crate::domain::weight_text(*w)), t.dim()),
            ]
        })
        .collect();
    (head, members)
}

/// A horizon too wide for one line: its members over as many lines as
/// they need, under the first one's horizon label.
fn wrapped_horizon<'a>(first: bool, m: &HorizonMix, width: usize, t: &Theme) -> Vec<Line<'a>> {
    let (head, members) = horizon_spans(m, t);
    let lead = mix_lead(first, t);
    let indent = lead.width() + head.width();
    let mut lines = Vec::new();
    let mut spans = vec![lead, head];
    let mut used = indent;
    for (i, member) in members.into_iter().enumerate() {
        let w: usize = member.iter().map(Span::width).sum();
        if i > 0 && used + w > width {
            lines.push(Line::from(std::mem::take(&mut spans)));
            spans.push(Span::styled(" ".repeat(indent), t.dim()));
            used = indent;
        }
        spans.extend(member);
        used += w;
    }
    lines.push(Line::from(spans));
    lines
}

/// " models  1 h theta .50 ets .33 mstl .17 │ 6 h …": who serves each shown horizon.
fn mix_line<'a>(first: bool, mix: &[HorizonMix], t: &Theme) -> Line<'a> {
    let mut spans = vec![mix_lead(first, t)];
    for (i, m) in mix.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │", t.dim()));
        }
        let (head, members) = horizon_spans(m, t);
        spans.push(head);
        spans.extend(members.into_iter().flatten());
    }
    Line::from(spans)
}
