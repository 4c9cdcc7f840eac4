//! Help overlay: every key.

use crate::app::KEYS;
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

pub struct HelpOverlay<'a> {
    pub theme: &'a Theme,
}

impl Widget for HelpOverlay<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let w = 70.min(area.width);
        let h = (KEYS.len() as u16 + 6).min(area.height);
        let r = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + (area.height - h) / 2,
            w,
            h,
        );
        Clear.render(r, buf);
        let mut lines: Vec<Line> = KEYS
            .iter()
            .map(|(k, what)| {
                Line::from(vec![
                    Span::styled(format!("  {k:<16}"), Style::default().fg(t.accent)),
                    Span::styled(*what, Style::default().fg(t.fg)),
                ])
            })
            .collect();
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "  bars: █ usage  ▒ requests  · free allocatable",
            t.dim(),
        ));
        lines.push(Line::styled(
            "  tab marks: ◌ stale data  ✗ source failing",
            t.dim(),
        ));
        Paragraph::new(lines)
            .style(t.base())
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(" Help · keys ", t.title())),
            )
            .render(r, buf);
    }
}
