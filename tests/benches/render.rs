//! Frame time of the full screen at 160x48 (fleet tab and a cluster tab).

#[path = "common.rs"]
mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use nodecast::app::{Action, AppState, Mode, Tab, update};
use nodecast::forecast::forecast_cluster;
use nodecast::forecast::origin_for;
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
        30,
        "x",
    );
    let forecaster = common::forecaster();
    for (id, v) in &fleet.clusters {
        let fc = forecast_cluster(&forecaster, v, origin_for(now));
        update(&mut state, Action::Forecasts(id.clone(), fc));
    }
    update(&mut state, Action::Fleet(Arc::new(fleet)));
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
