//! Panes: short-lived widgets borrowing what they show.

pub mod accuracy;
pub mod actions;
pub mod cluster;
pub mod confirm;
pub mod cost;
pub mod fleet;
pub mod forecast;
pub mod help;
pub mod needed;
pub mod overview;
pub mod plan;
