//! One forecast refresh of a cluster (nodes, CPU, memory; 48 h; every member)
//! once trained: the tree and LSTM models and the validation-origin forecasts
//! are cached, the members at the new origin are fitted.

#[path = "common.rs"]
mod common;

use criterion::{Criterion, criterion_group};
use nodecast::domain::SeriesKind;
use nodecast::forecast::forecast_cluster;
use nodecast::forecast::origin_for;

fn bench_refresh(c: &mut Criterion) {
    let now = common::now();
    let fleet = common::demo_fleet();
    let (_, view) = &fleet.clusters[0];
    let f = common::forecaster();
    let origin = origin_for(now);
    // The first forecast loads (or fits) every model.
    assert_eq!(forecast_cluster(&f, view, origin).len(), 3);
    c.bench_function("forecast_refresh_cluster_3_series_48h", |b| {
        b.iter(|| {
            for k in SeriesKind::FORECAST {
                f.forget_origin(k, &view.history, origin);
            }
            forecast_cluster(&f, view, origin)
        })
    });
}

/// Reading the shipped global models (manifest, forest and boosted trees)
/// from models/global, as a fresh process does on its first forecast.
fn bench_global_load(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/global");
    c.bench_function("global_models_load", |b| {
        b.iter(|| nodecast::store::models::read_global(&dir).map(|m| m.manifest.is_some()))
    });
}

criterion_group!(benches, bench_refresh, bench_global_load);

/// `criterion_main!`, with the process set up as `nodecast`'s `main` sets it.
fn main() {
    // SAFETY: the first thing the process does, before any thread starts.
    unsafe { nodecast::forecast::lstm::settle_matmul_threads() };
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
