//! The header (DEMO badge and tabs) and the status bar.

use super::theme::Theme;
use crate::app::state::fmt_age;
use crate::app::{AppState, Mode, Tab};
use crate::health::Health;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

/// Marker after a tab's name when its sources are stale or failing.
pub fn marker(f: &Health, theme: &Theme) -> Option<Span<'static>> {
    match f {
        Health::Stale { .. } => Some(Span::styled(" ◌", theme.warning())),
        Health::Error(_) => Some(Span::styled(" ✗", theme.failure())),
        _ => None,
    }
}

pub struct TabsBar<'a> {
    pub state: &'a AppState,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
}

impl Widget for TabsBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let mut spans = vec![Span::styled(" nodecast ", t.title())];
        if self.state.mode == Mode::Demo {
            spans.push(Span::styled(
                " DEMO ",
                Style::default()
                    .fg(t.demo_badge)
                    .add_modifier(Modifier::REVERSED | Modifier::BOLD),
            ));
            spans.push(Span::raw(" "));
        }
        for tab in self.state.tabs() {
            let (label, fresh) = match tab {
                Tab::Fleet => ("0 fleet".to_string(), None),
                Tab::Cluster(i) => {
                    let c = &self.state.clusters[i];
                    let f = c.health(self.now, self.state.stale_after_secs);
                    (format!("{} {}", i + 1, c.id), Some(f))
                }
            };
            let style = if tab == self.state.tab {
                Style::default()
                    .fg(t.tab_active)
                    .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            } else {
                Style::default().fg(t.fg)
            };
            spans.push(Span::styled(format!(" {label}"), style));
            if let Some(m) = fresh.as_ref().and_then(|f| marker(f, t)) {
                spans.push(m);
            }
            spans.push(Span::styled(" │", t.dim()));
        }
        Line::from(spans).render(area, buf);
    }
}

pub struct StatusBar<'a> {
    pub state: &'a AppState,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
}

impl StatusBar<'_> {
    fn sources(&self, compact: bool) -> Vec<Span<'static>> {
        let t = self.theme;
        let mut spans = Vec::new();
        let (mut ok, mut oldest) = (0, 0);
        for c in &self.state.clusters {
            let id = &c.id;
            let f = c.health(self.now, self.state.stale_after_secs);
            let names: Vec<&str> = c.view.sources.iter().map(|s| s.name.as_str()).collect();
            let (text, style) = match &f {
                Health::Waiting => ("waiting".to_string(), t.dim()),
                Health::Ok { age_secs } => (fmt_age(*age_secs), Style::default().fg(t.ok)),
                Health::Stale { age_secs } => (
                    format!("stale {}", age_secs.map(fmt_age).unwrap_or_default()),
                    t.warning(),
                ),
                Health::Error(m) => (format!("error {m}"), t.failure()),
            };
            if let (true, Health::Ok { age_secs }) = (compact, &f) {
                ok += 1;
                oldest = oldest.max(*age_secs);
                continue;
            }
            spans.push(Span::styled(
                format!("● {id} {} {text}  ", names.join("+")),
                style,
            ));
        }
        if compact && ok > 0 {
            spans.insert(
                0,
                Span::styled(
                    format!("● {ok} clusters ok, data ≤ {} old  ", fmt_age(oldest)),
                    Style::default().fg(t.ok),
                ),
            );
        }
        spans
    }
}

impl Widget for StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let st = self.state;
        let speed = if st.speed != 1.0 {
            format!(" ×{}", st.speed)
        } else {
            String::new()
        };
        let clock = format!("{}{speed}", self.now.format("%a %Y-%m-%d %H:%M:%S UTC"));
        let fc = &st.forecasting;
        let fc_text = match (&fc.error, fc.running) {
            (Some(e), _) => Span::styled(format!("forecast error: {e}  "), t.failure()),
            (None, true) => match &fc.progress {
                Some((done, total, id)) => Span::styled(
                    format!("forecasting {id} ({}/{total} clusters)…  ", done + 1),
                    t.dim(),
                ),
                None => Span::styled(format!("forecasting ({})…  ", fc.model), t.dim()),
            },
            (None, false) => Span::raw(""),
        };
        let right = "? help  q quit ";
        // Proposals waiting on the cluster on screen.
        let waiting = match st.selected_cluster().map(|c| c.waiting()) {
            Some(n) if n > 0 => Span::styled(
                format!("{n} proposal{} waiting  ", if n == 1 { "" } else { "s" }),
                Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
            ),
            _ => Span::raw(""),
        };
        let mut spans = self.sources(false);
        let width: usize = spans.iter().map(|s| s.width()).sum::<usize>()
            + clock.len()
            + fc_text.width()
            + waiting.width()
            + right.len()
            + 6;
        if width > area.width as usize {
            spans = self.sources(true);
        }
        spans.push(waiting);
        spans.push(fc_text);
        spans.push(Span::styled(clock, Style::default().fg(t.accent)));
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let pad = (area.width as usize).saturating_sub(used + right.len());
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(right, t.dim()));
        Line::from(spans).render(area, buf);
    }
}
