//! The dialogs of the approval flow: the confirmation that holds the exact
//! change with every safety check (`y` applies, `n` or Esc cancels), and
//! the reason prompt of a rejection.

use crate::app::state::Modal;
use crate::ui::panes::plan::usd_delta;
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

pub struct ModalDialog<'a> {
    pub modal: &'a Modal,
    pub theme: &'a Theme,
}

impl Widget for ModalDialog<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let (title, lines) = match self.modal {
            Modal::Confirm {
                proposal: p,
                checks,
                call,
            } => {
                let a = &p.action;
                let mut lines = vec![
                    Line::from(vec![
                        Span::styled(format!("{} ", a.node_group), t.title()),
                        Span::styled(
                            format!("{} → {} nodes", a.from, a.to),
                            Style::default().fg(t.accent).add_modifier(Modifier::BOLD),
                        ),
                        Span::styled(format!("  ({}, id {})", a.reason.label(), a.id()), t.dim()),
                    ]),
                    Line::styled(
                        format!("call: {}", if call.is_empty() { "none" } else { call }),
                        Style::default().fg(t.fg),
                    ),
                    Line::styled(
                        format!(
                            "serves {} · apply by {} · cost {} · risk {} ({})",
                            a.at.format("%a %H:%M"),
                            p.apply_by.format("%a %H:%M"),
                            usd_delta(p.usd_per_hour_delta),
                            p.risk.label(),
                            p.risk_reason
                        ),
                        Style::default().fg(t.fg),
                    ),
                ];
                if p.held {
                    let guard = crate::exec::rules::Runaway::default();
                    lines.push(Line::styled(
                        format!(
                            "held: the runaway guard's hourly budget ({} applies, {} nodes) is spent until its apply-by time",
                            guard.applies_per_hour, guard.nodes_per_hour
                        ),
                        t.warning(),
                    ));
                }
                if let Some(back) = p.back_at {
                    lines.push(Line::styled(
                        format!(
                            "undone soon: this plan scales {} back to {} or more for {}, within {} h; the nodes drained would boot again",
                            a.node_group,
                            a.from,
                            back.format("%a %H:%M"),
                            crate::plan::scaling::UNDONE_WITHIN_H
                        ),
                        t.warning(),
                    ));
                }
                lines.push(Line::raw(""));
                for c in checks {
                    let (mark, style) = if c.ok {
                        ("✓", Style::default().fg(t.ok))
                    } else {
                        ("✗", t.failure())
                    };
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {mark} "), style),
                        Span::styled(format!("{:<32}", c.rule.label()), Style::default().fg(t.fg)),
                        Span::styled(c.detail.clone(), t.dim()),
                    ]));
                }
                lines.push(Line::raw(""));
                lines.push(Line::styled(
                    "checked again against the live size before the write",
                    t.dim(),
                ));
                lines.push(Line::from(vec![
                    Span::styled(" y ", t.title()),
                    Span::styled("apply   ", Style::default().fg(t.fg)),
                    Span::styled(" n / Esc ", t.title()),
                    Span::styled("cancel", Style::default().fg(t.fg)),
                ]));
                (" Approve this change? ", lines)
            }
            Modal::Reject { action, reason } => (
                " Reject: why? ",
                vec![
                    Line::styled(
                        format!(
                            "{} {} → {} (id {})",
                            action.node_group,
                            action.from,
                            action.to,
                            action.id()
                        ),
                        Style::default().fg(t.fg),
                    ),
                    Line::raw(""),
                    Line::from(vec![
                        Span::styled("reason: ", t.dim()),
                        Span::styled(format!("{reason}▏"), Style::default().fg(t.accent)),
                    ]),
                    Line::raw(""),
                    Line::styled("Enter records it · Esc cancels", t.dim()),
                ],
            ),
        };
        let w = 96.min(area.width);
        let h = (lines.len() as u16 + 2).min(area.height);
        let r = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + (area.height - h) / 2,
            w,
            h,
        );
        Clear.render(r, buf);
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .style(t.base())
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(t.accent))
                    .title(Span::styled(title, t.title())),
            )
            .render(r, buf);
    }
}
