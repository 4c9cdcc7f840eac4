//! The screen: `view(frame, &AppState, &Theme, now)` is pure and never mutates.

pub mod chart;
pub mod panes;
pub mod tabs;
pub mod theme;

use crate::app::{AppState, Tab};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Block;
use theme::Theme;

/// Numbers as an operator reads them: 3 significant digits, k for thousands.
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 100_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A bar of `width` cells: usage `█`, requests beyond usage `▒`, free allocatable `·`.
pub fn util_bar<'a>(
    alloc: f64,
    req: f64,
    usage: Option<f64>,
    width: usize,
    theme: &Theme,
) -> Vec<Span<'a>> {
    let frac = |v: f64| {
        if alloc > 0.0 {
            (v / alloc).clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    let n_req = (frac(req) * width as f64).round() as usize;
    let n_use = usage
        .map(|u| (frac(u) * width as f64).round() as usize)
        .unwrap_or(0)
        .min(n_req);
    vec![
        Span::styled("█".repeat(n_use), Style::default().fg(theme.usage)),
        Span::styled(
            "▒".repeat(n_req - n_use),
            Style::default().fg(theme.requests),
        ),
        Span::styled(
            "·".repeat(width - n_req),
            Style::default().fg(theme.allocatable),
        ),
    ]
}

/// Percent text after a bar: requests and usage of allocatable; warning at 90 % requests.
pub fn util_pct<'a>(alloc: f64, req: f64, usage: Option<f64>, theme: &Theme) -> Span<'a> {
    let pct = |v: f64| if alloc > 0.0 { v / alloc * 100.0 } else { 0.0 };
    let use_txt = usage
        .map(|u| format!("{:>3.0}%", pct(u)))
        .unwrap_or_else(|| "  n/a".into());
    let text = format!(" {:>3.0}% req {use_txt} use", pct(req));
    let style = if alloc > 0.0 && req / alloc >= 0.9 {
        theme.warning()
    } else {
        Style::default().fg(theme.fg)
    };
    Span::styled(text, style)
}

/// CPU and memory bars with their percentages, as two table cells.
pub fn cpu_mem_cells<'a>(
    alloc: crate::domain::Resources,
    req: crate::domain::Resources,
    usage: Option<crate::domain::Resources>,
    width: usize,
    t: &Theme,
) -> [ratatui::widgets::Cell<'a>; 2] {
    use ratatui::text::Line;
    use ratatui::widgets::Cell;
    let mut cpu = util_bar(alloc.cores, req.cores, usage.map(|u| u.cores), width, t);
    cpu.push(util_pct(alloc.cores, req.cores, usage.map(|u| u.cores), t));
    let mut mem = util_bar(alloc.gib, req.gib, usage.map(|u| u.gib), width, t);
    mem.push(util_pct(alloc.gib, req.gib, usage.map(|u| u.gib), t));
    [Cell::from(Line::from(cpu)), Cell::from(Line::from(mem))]
}

pub fn view(frame: &mut Frame, state: &AppState, theme: &Theme, now: DateTime<Utc>) {
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.base()), area);
    let [header, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(tabs::TabsBar { state, theme, now }, header);
    match state.tab {
        Tab::Fleet => frame.render_widget(panes::fleet::FleetScreen { state, theme, now }, body),
        Tab::Cluster(i) => frame.render_widget(
            panes::cluster::ClusterScreen {
                state,
                index: i,
                theme,
                now,
            },
            body,
        ),
    }
    frame.render_widget(tabs::StatusBar { state, theme, now }, status);
    if let Some(modal) = &state.modal {
        frame.render_widget(panes::confirm::ModalDialog { modal, theme }, area);
    }
    if state.help {
        frame.render_widget(panes::help::HelpOverlay { theme }, area);
    }
}

/// Draws a pane's border in the dim colour with `title` and returns the area inside.
pub fn framed(
    title: ratatui::text::Line<'_>,
    t: &Theme,
    area: ratatui::layout::Rect,
    buf: &mut ratatui::buffer::Buffer,
) -> ratatui::layout::Rect {
    use ratatui::widgets::{Borders, Widget};
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.dim())
        .title(title);
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}
