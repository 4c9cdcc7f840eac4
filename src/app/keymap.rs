//! Keys and what they do; the help overlay lists [`KEYS`].

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Select cluster N (1-based, in tab order).
    Cluster(usize),
    Fleet,
    NextTab,
    PrevTab,
    CycleSeries,
    /// The cluster's lower pane: forecast, plan, cost.
    CyclePane,
    ToggleHelp,
    CloseHelp,
    Quit,
    /// The Plan pane's next / previous proposal.
    SelectNext,
    SelectPrev,
    /// Open the confirmation of the selected proposal.
    Approve,
    /// Reject the selected proposal (asks for a reason).
    Reject,
}

/// Every key, as shown in the help overlay and the README's key table.
pub const KEYS: &[(&str, &str)] = &[
    ("1-9", "show cluster 1-9"),
    ("0 / f", "show the fleet (all clusters summed)"),
    ("Tab / →", "next tab"),
    ("Shift-Tab / ←", "previous tab"),
    ("c", "chart, accuracy: cycle nodes, CPU, memory"),
    ("p", "pane: forecast, plan, cost, actions, accuracy"),
    ("j / k / ↓ / ↑", "plan: select a proposal"),
    ("a", "plan: approve it (shows the change first)"),
    ("y / n", "confirmation: apply / cancel"),
    ("r", "plan: reject it (asks a reason)"),
    ("?", "open / close this help"),
    ("Esc", "close help"),
    ("q / Ctrl-C", "quit"),
];

pub fn command_for(key: KeyEvent) -> Option<Command> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Command::Quit,
        KeyCode::Char('q') => Command::Quit,
        KeyCode::Char(d @ '1'..='9') => Command::Cluster(d as usize - '0' as usize),
        KeyCode::Char('0') | KeyCode::Char('f') => Command::Fleet,
        KeyCode::Tab | KeyCode::Right => Command::NextTab,
        KeyCode::BackTab | KeyCode::Left => Command::PrevTab,
        KeyCode::Char('c') => Command::CycleSeries,
        KeyCode::Char('p') => Command::CyclePane,
        KeyCode::Char('?') => Command::ToggleHelp,
        KeyCode::Esc => Command::CloseHelp,
        KeyCode::Char('j') | KeyCode::Down => Command::SelectNext,
        KeyCode::Char('k') | KeyCode::Up => Command::SelectPrev,
        KeyCode::Char('a') => Command::Approve,
        KeyCode::Char('r') => Command::Reject,
        _ => return None,
    })
}
