//! Overview pane: node groups with node counts and bars of allocatable vs
//! requests vs usage, and pending pods (what eks-node-viewer shows).

use crate::snapshot::{ClusterSnapshot, NodeGroupSummary};
use crate::ui::cpu_mem_cells;
use crate::ui::framed;
use crate::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table, Widget};

pub const BAR_W: usize = 12;

pub struct OverviewPane<'a> {
    pub snapshot: Option<&'a ClusterSnapshot>,
    pub region: &'a str,
    pub theme: &'a Theme,
    /// Whether approvals move an autoscaler's floor (`[cluster.actions] autoscaler`).
    pub moves_floor: bool,
    /// The cluster's sources: a failing one's whole message shows while
    /// there is no snapshot (the status bar has room for its start only).
    pub sources: &'a [crate::domain::SourceStatus],
}

/// Rows the pane needs (borders, header, groups, total, pending line, and
/// the autoscaler line where the sources said something of it).
pub fn height_for(s: Option<&ClusterSnapshot>) -> u16 {
    let groups = s.map(|s| s.node_groups.len()).unwrap_or(1) as u16;
    groups + 5 + u16::from(s.is_some_and(|s| facts_line(s, true).is_some()))
}

/// Which autoscaler runs and what an approval does beside it ("do not
/// fight the autoscaler"), then each node group as its API describes it;
/// `None` where no source said anything of them. The flag says whether
/// the text is a warning.
pub fn facts_line(s: &ClusterSnapshot, moves_floor: bool) -> Option<(String, bool)> {
    let groups: Vec<String> = s
        .node_groups
        .iter()
        .filter_map(|g| {
            let f = g.facts.as_ref()?;
            let status = f
                .status
                .as_deref()
                .map(|st| format!(" {st}"))
                .unwrap_or_default();
            Some(format!("{} {}{status}", g.name, f.kind.label()))
        })
        .collect();
    if s.autoscalers.is_none() && groups.is_empty() {
        return None;
    }
    let (mut text, warn) = match s.autoscalers.as_deref() {
        Some([]) => (
            "no Cluster Autoscaler or Karpenter found: approvals set the size".to_string(),
            moves_floor,
        ),
        Some(found) => {
            let names: Vec<String> = found.iter().map(|a| a.label()).collect();
            if moves_floor {
                (
                    format!(
                        "{} runs: nodecast does not fight it, approvals move its floor and it removes nodes",
                        names.join(", ")
                    ),
                    false,
                )
            } else {
                (
                    format!(
                        "⚠ {} runs but [cluster.actions] autoscaler = false: it may undo approved sizes",
                        names.join(", ")
                    ),
                    true,
                )
            }
        }
        None => (String::new(), false),
    };
    if !groups.is_empty() {
        if !text.is_empty() {
            text.push_str(" · ");
        }
        text.push_str(&groups.join(" · "));
    }
    Some((text, warn))
}

fn group_row<'a>(g: &NodeGroupSummary, t: &Theme) -> Row<'a> {
    let bounds = match (g.min, g.max) {
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "–".into(),
    };
    let at_max = g.at_max();
    let nodes_style = if at_max {
        t.warning()
    } else {
        Style::default().fg(t.fg)
    };
    let nodes = if g.not_ready() > 0 {
        format!("{} ({} nr)", g.nodes, g.not_ready())
    } else {
        g.nodes.to_string()
    };
    let [cpu, mem] = cpu_mem_cells(g.allocatable, g.requests, g.usage, BAR_W, t);
    Row::new(vec![
        Cell::from(g.name.clone()),
        Cell::from(g.instance_type.clone()),
        Cell::from(g.capacity_type.label()),
        Cell::from(Span::styled(nodes, nodes_style)),
        Cell::from(bounds),
        cpu,
        mem,
    ])
}

impl Widget for OverviewPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        let Some(s) = self.snapshot else {
            let block = Block::default()
                .borders(Borders::ALL)
                .border_style(t.dim())
                .title(Span::styled(
                    " Overview · waiting for the first snapshot ",
                    t.title(),
                ));
            let inner = block.inner(area);
            block.render(area, buf);
            let failing: Vec<Line> = self
                .sources
                .iter()
                .filter_map(|src| match &src.health {
                    crate::domain::SourceHealth::Error(m) => Some(Line::from(Span::styled(
                        format!("✗ {}: {m}", src.name),
                        t.failure(),
                    ))),
                    crate::domain::SourceHealth::Ok => None,
                })
                .collect();
            ratatui::widgets::Paragraph::new(failing)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .render(inner, buf);
            return;
        };
        let pending_style = if s.pending_pods > 0 {
            t.warning()
        } else {
            Style::default().fg(t.ok)
        };
        let title = Line::from(vec![
            Span::styled(format!(" {} ", s.cluster), t.title()),
            Span::styled(
                format!("· {} · {} nodes · {} pods · ", self.region, s.nodes, s.pods),
                Style::default().fg(t.fg),
            ),
            Span::styled(format!("{} pending ", s.pending_pods), pending_style),
        ]);
        let header = Row::new([
            "NODE GROUP",
            "INSTANCE",
            "CAPACITY",
            "NODES",
            "MIN–MAX",
            "CPU",
            "MEMORY",
        ])
        .style(t.dim().add_modifier(Modifier::BOLD));
        let mut rows: Vec<Row> = s.node_groups.iter().map(|g| group_row(g, t)).collect();
        let [cpu, mem] = cpu_mem_cells(s.allocatable, s.requests, s.usage, BAR_W, t);
        rows.push(
            Row::new(vec![
                Cell::from("total"),
                Cell::from(""),
                Cell::from(""),
                Cell::from(s.nodes.to_string()),
                Cell::from(""),
                cpu,
                mem,
            ])
            .style(Style::default().add_modifier(Modifier::BOLD)),
        );
        let widths = [
            Constraint::Length(14),
            Constraint::Length(12),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(8),
            Constraint::Length(BAR_W as u16 + 18),
            Constraint::Length(BAR_W as u16 + 18),
        ];
        let inner = framed(title, t, area, buf);
        let facts = facts_line(s, self.moves_floor);
        let [table, last, facts_area] = Layout::vertical([
            Constraint::Min(1),
            Constraint::Length(1),
            Constraint::Length(u16::from(facts.is_some())),
        ])
        .areas(inner);
        if let Some((text, warn)) = facts {
            let style = if warn { t.warning() } else { t.dim() };
            Line::from(Span::styled(text, style)).render(facts_area, buf);
        }
        Table::new(rows, widths)
            .header(header)
            .style(Style::default().fg(t.fg))
            .render(table, buf);
        let pending = if s.pending_pods > 0 {
            let per_group: Vec<String> = s
                .node_groups
                .iter()
                .filter(|g| g.pending_pods > 0)
                .map(|g| format!("{} {}", g.name, g.pending_pods))
                .collect();
            let unplaced = if s.unplaced_pods > 0 {
                format!("; {} fit no node group", s.unplaced_pods)
            } else {
                String::new()
            };
            format!(
                "⚠ {} pods pending for {}{unplaced}: demand outruns capacity (groups at max or nodes starting)",
                s.pending_pods,
                if per_group.is_empty() {
                    "no group".to_string()
                } else {
                    per_group.join(", ")
                }
            )
        } else {
            "no pending pods".to_string()
        };
        Line::from(Span::styled(pending, pending_style)).render(last, buf);
    }
}
