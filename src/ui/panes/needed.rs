//! Nodes-needed pane: per node group, the nodes the forecast CPU and memory
//! requests need over the next 6 and 48 hours, banded, against today's count
//! and the group's max.

use crate::forecast::nodes::{NeedPoint, NodesNeeded};
use crate::ui::framed;
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

pub struct NeededPane<'a> {
    /// `None` while the CPU and memory forecasts are not ready.
    pub needs: Option<&'a [NodesNeeded]>,
    pub headroom: f64,
    pub theme: &'a Theme,
}

/// Rows the pane needs for `groups` node groups (borders and header).
pub fn height_for(groups: usize) -> u16 {
    groups.max(1) as u16 + 3
}

/// "52 (47–58)": p50 with the p10-p90 band.
fn banded(p: &NeedPoint) -> String {
    if p.p10 == p.p90 {
        p.p50.to_string()
    } else {
        format!("{} ({}–{})", p.p50, p.p10, p.p90)
    }
}

/// The point with the most nodes at p50 among `hours`.
fn row<'a>(n: &NodesNeeded, t: &Theme) -> Row<'a> {
    let next6 = n.peak_within(6);
    let all = n.peak();
    let over_max = n.p90_over_max();
    let grows = n.grows();
    let (note, note_style) = if over_max {
        ("p90 above max: raise the max or add a group", t.warning())
    } else if grows {
        ("scale-up ahead", Style::default().fg(t.fg))
    } else {
        ("fits today's nodes", t.dim())
    };
    let peak_style = if over_max {
        t.warning()
    } else {
        Style::default().fg(t.fg)
    };
    Row::new(vec![
        Cell::from(n.node_group.clone()),
        Cell::from(n.instance_type.clone()),
        Cell::from(n.nodes_now.to_string()),
        Cell::from(next6.map(banded).unwrap_or_default()),
        Cell::from(Span::styled(
            all.map(banded).unwrap_or_default(),
            peak_style,
        )),
        Cell::from(
            all.map(|p| p.ts.format("%a %H:%M").to_string())
                .unwrap_or_default(),
        ),
        Cell::from(all.map(|p| p.bound.label()).unwrap_or_default()),
        Cell::from(n.max.map(|m| m.to_string()).unwrap_or_else(|| "–".into())),
        Cell::from(Span::styled(note, note_style)),
    ])
}

impl Widget for NeededPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let title = Line::from(vec![
            Span::styled(" Nodes needed ", t.title()),
            Span::styled(
                format!(
                    "· forecast requests + {:.0} % headroom ÷ one node's EKS allocatable; the larger of CPU and memory ",
                    self.headroom * 100.0
                ),
                t.dim(),
            ),
        ]);
        let inner = framed(title, t, area, buf);
        let Some(needs) = self.needs else {
            Paragraph::new(Span::styled(
                "waiting for the CPU and memory forecasts",
                t.dim(),
            ))
            .render(inner, buf);
            return;
        };
        let header = Row::new([
            "NODE GROUP",
            "INSTANCE",
            "NOW",
            "NEXT 6 H",
            "PEAK 48 H",
            "AT",
            "BOUND",
            "MAX",
            "",
        ])
        .style(t.dim().add_modifier(Modifier::BOLD));
        let widths = [
            Constraint::Length(14),
            Constraint::Length(12),
            Constraint::Length(5),
            Constraint::Length(14),
            Constraint::Length(14),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Min(10),
        ];
        Table::new(needs.iter().map(|n| row(n, t)), widths)
            .header(header)
            .style(Style::default().fg(t.fg))
            .render(inner, buf);
    }
}
