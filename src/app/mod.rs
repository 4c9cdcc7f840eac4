//! Application state and the pure `update` that changes it.

pub mod action;
pub mod approvals;
pub mod keymap;
pub mod state;
pub mod update;

pub use action::{Action, Effect};
pub use keymap::{Command, KEYS, command_for};
pub use state::{AppState, Mode, Tab};
pub use update::update;
