//! A demo fleet at a fixed clock, built through the product's own store path.

use chrono::{DateTime, TimeZone, Utc};
use nodecast::app::{AppState, Mode};
use nodecast::domain::{ClusterForecast, ClusterId};
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::origin_for;
use nodecast::runtime::{demo_store_at, forecast_cluster};
use nodecast::snapshot::Fleet;
use nodecast::store::db::Db;
use nodecast::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use std::sync::{Arc, OnceLock};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 30, 0)
        .single()
        .expect("valid time")
}

/// The fixture fleet and its forecasts, built once per test binary.
fn built() -> &'static (Fleet, Vec<(ClusterId, ClusterForecast)>) {
    static BUILT: OnceLock<(Fleet, Vec<(ClusterId, ClusterForecast)>)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("t.db")).expect("db");
        let fleet = demo_store_at(now(), db)
            .expect("demo store")
            .fleet()
            .clone();
        let f = EnsembleForecaster::default();
        let fc = fleet
            .clusters
            .iter()
            .map(|(id, view)| (id.clone(), forecast_cluster(&f, view, origin_for(now()))))
            .collect();
        (fleet, fc)
    })
}

pub fn state() -> AppState {
    let (fleet, forecasts) = built();
    let ids = fleet.clusters.iter().map(|(id, _)| id.clone()).collect();
    let mut state = AppState::new(Mode::Demo, ids, 1.0, "ensemble");
    state.forecasts = forecasts.iter().cloned().collect();
    state.fleet = Arc::new(fleet.clone());
    state
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

/// A deterministic pseudo-random number in [-1, 1) (splitmix64).
pub fn noise(i: usize) -> f64 {
    let mut z = (i as u64).wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// Mean absolute percentage error of `f` against `y`, in percent.
pub fn mape(y: &[f64], f: &[f64]) -> f64 {
    y.iter()
        .zip(f)
        .map(|(a, b)| (a - b).abs() / a.abs())
        .sum::<f64>()
        / f.len() as f64
        * 100.0
}
