//! A demo fleet at a fixed clock, built through the product's own store path.

use chrono::{DateTime, TimeZone, Utc};
use nodecast::app::{AppState, Mode};
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::origin_for;
use nodecast::runtime::{demo_store_at, forecast_cluster};
use nodecast::store::db::Db;
use nodecast::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use std::sync::Arc;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 30, 0)
        .single()
        .expect("valid time")
}

pub fn state_at(now: DateTime<Utc>) -> AppState {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("t.db")).expect("db");
    let store = demo_store_at(now, db).expect("demo store");
    let fleet = store.fleet().clone();
    let ids = fleet.clusters.iter().map(|(id, _)| id.clone()).collect();
    let mut state = AppState::new(Mode::Demo, ids, 1.0, "ensemble");
    for (id, view) in &fleet.clusters {
        state.forecasts.insert(
            id.clone(),
            forecast_cluster(&EnsembleForecaster::default(), view, origin_for(now)),
        );
    }
    state.fleet = Arc::new(fleet);
    state
}

pub fn state() -> AppState {
    state_at(now())
}

pub fn render(state: &AppState, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| nodecast::ui::view(f, state, theme, now()))
        .expect("draw");
    term.backend().buffer().clone()
}

/// The buffer as text, one line per row.
pub fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut out = String::new();
    for y in a.y..a.y + a.height {
        let mut line = String::new();
        for x in a.x..a.x + a.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
