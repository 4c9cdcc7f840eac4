//! Frame time of the full screen at 160x48 (fleet tab and a cluster tab).

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use nodecast::app::{AppState, Mode, Tab};
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::origin_for;
use nodecast::runtime::{demo_store_at, forecast_cluster};
use nodecast::store::db::Db;
use nodecast::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;

fn bench_render(c: &mut Criterion) {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 30, 0)
        .single()
        .expect("time");
    let dir = tempfile::tempdir().expect("dir");
    let store = demo_store_at(now, Db::open(&dir.path().join("b.db")).expect("db")).expect("store");
    let fleet = store.fleet().clone();
    let mut state = AppState::new(
        Mode::Demo,
        fleet.clusters.iter().map(|(i, _)| i.clone()).collect(),
        1.0,
        "x",
    );
    for (id, v) in &fleet.clusters {
        state.forecasts.insert(
            id.clone(),
            forecast_cluster(&EnsembleForecaster::default(), v, origin_for(now)),
        );
    }
    state.fleet = Arc::new(fleet);
    let theme = Theme::dark();
    let mut term = Terminal::new(TestBackend::new(160, 48)).expect("term");
    for (name, tab) in [
        ("render_160x48_fleet", Tab::Fleet),
        ("render_160x48_cluster", Tab::Cluster(0)),
    ] {
        state.tab = tab;
        c.bench_function(name, |b| {
            b.iter(|| {
                term.draw(|f| nodecast::ui::view(f, &state, &theme, now))
                    .expect("draw");
            })
        });
    }
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
