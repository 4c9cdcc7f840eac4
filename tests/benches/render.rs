//! Frame time of the full screen at 160x48 (fleet tab and a cluster tab).

#[path = "common.rs"]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use nodecast::app::{AppState, Mode, Tab};
use nodecast::forecast::origin_for;
use nodecast::runtime::forecast_cluster;
use nodecast::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;

fn bench_render(c: &mut Criterion) {
    let now = common::now();
    let fleet = common::demo_fleet();
    let mut state = AppState::new(
        Mode::Demo,
        fleet.clusters.iter().map(|(i, _)| i.clone()).collect(),
        1.0,
        "x",
    );
    let forecaster = common::forecaster();
    for (id, v) in &fleet.clusters {
        state.forecasts.insert(
            id.clone(),
            forecast_cluster(&forecaster, v, origin_for(now)),
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
