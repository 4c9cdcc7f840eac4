//! Forecast pane: last 48 h and next 48 h of one series with its p10-p90 band.

use crate::domain::{Forecast, HourlySeries, SeriesKind};
use crate::ui::chart::{BAND_GLYPH_PLAIN, BandChart, NOW_GLYPH};
use crate::ui::fmt_num;
use crate::ui::theme::Theme;
use chrono::{DateTime, Duration, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

pub const PAST_HOURS: i64 = 48;
pub const FUTURE_HOURS: i64 = 48;

pub struct ForecastPane<'a> {
    pub series: SeriesKind,
    pub history: Option<&'a HourlySeries>,
    pub forecast: Option<&'a Forecast>,
    /// Extra words after the model name ("bands added" for the fleet).
    pub note: &'a str,
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
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.dim())
            .title(title);
        let inner = block.inner(area);
        block.render(area, buf);
        let [legend, chart, info] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(inner);
        let band = if t.plain {
            Span::raw(BAND_GLYPH_PLAIN.repeat(2))
        } else {
            Span::styled("  ", Style::default().bg(t.band))
        };
        Line::from(vec![
            Span::styled(" ── ", Style::default().fg(t.actual)),
            Span::styled("actual   ", t.dim()),
            Span::styled(
                "━━ ",
                Style::default().fg(t.p50).add_modifier(Modifier::BOLD),
            ),
            Span::styled("forecast p50   ", t.dim()),
            band,
            Span::styled(" p10–p90 band   ", t.dim()),
            Span::styled(NOW_GLYPH, Style::default().fg(t.now_marker)),
            Span::styled(format!(" now   ({})", self.series.unit()), t.dim()),
        ])
        .render(legend, buf);
        let since = self.now - Duration::hours(PAST_HOURS + 1);
        let actual: Vec<(DateTime<Utc>, f64)> = self
            .history
            .map(|h| h.points().filter(|(ts, _)| *ts >= since).collect())
            .unwrap_or_default();
        let points = self.forecast.map(|f| f.points.as_slice()).unwrap_or(&[]);
        BandChart {
            actual: &actual,
            forecast: points,
            now: self.now,
            past_hours: PAST_HOURS,
            future_hours: FUTURE_HOURS,
            theme: t,
        }
        .render(chart, buf);
        let mut spans = Vec::new();
        if let Some(peak) = points.iter().max_by(|a, b| a.p50.total_cmp(&b.p50)) {
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
            for w in &f.warnings {
                spans.push(Span::styled(format!(" · ⚠ {w}"), t.warning()));
            }
        }
        Line::from(spans).render(info, buf);
    }
}
