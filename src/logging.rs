//! Logs go to a file in the XDG state dir, never to the terminal the TUI owns.

use anyhow::{Context, Result, anyhow};
use std::path::PathBuf;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

pub fn log_dir() -> Result<PathBuf> {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))
        .map(|d| d.join("nodecast"))
        .ok_or_else(|| anyhow!("cannot find a state folder for logs: set HOME or XDG_STATE_HOME"))
}

/// Starts logging to `nodecast.log`; level from `NODECAST_LOG` (default info).
pub fn init() -> Result<(WorkerGuard, PathBuf)> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let appender = tracing_appender::rolling::never(&dir, "nodecast.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("NODECAST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow!("cannot start logging: {e}"))?;
    Ok((guard, dir.join("nodecast.log")))
}
