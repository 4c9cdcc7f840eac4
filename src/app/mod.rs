//! Application state and the pure `update` that changes it.

pub mod keymap;
pub mod state;
pub mod update;

pub use keymap::{Command, KEYS, command_for};
pub use state::{AppState, Mode, Tab};
pub use update::{Action, Effect, update};
