//! One forecast refresh of a cluster (nodes, CPU, memory; 48 h; every member)
//! once trained: the tree and LSTM models and the validation-origin forecasts
//! are cached, the members at the new origin are fitted.

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use nodecast::domain::SeriesKind;
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::origin_for;
use nodecast::runtime::{demo_store_at, forecast_cluster};
use nodecast::store::db::Db;

fn bench_refresh(c: &mut Criterion) {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 30, 0)
        .single()
        .expect("time");
    let dir = tempfile::tempdir().expect("dir");
    let store = demo_store_at(now, Db::open(&dir.path().join("b.db")).expect("db")).expect("store");
    let fleet = store.fleet().clone();
    let (_, view) = &fleet.clusters[0];
    let f = EnsembleForecaster::default();
    let origin = origin_for(now);
    // Train: the first forecast fits every model.
    assert_eq!(forecast_cluster(&f, view, origin).len(), 3);
    c.bench_function("forecast_refresh_cluster_3_series_48h", |b| {
        b.iter(|| {
            for k in SeriesKind::FORECAST {
                if let Some(h) = view.history.get(&k) {
                    f.forget_origin(h, origin);
                }
            }
            forecast_cluster(&f, view, origin)
        })
    });
}

criterion_group!(benches, bench_refresh);
criterion_main!(benches);
