//! The demo fleet at a fixed clock, shared by the benchmarks.

use chrono::{DateTime, Utc};
use nodecast::forecast::features::Calendar;
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::snapshot::Fleet;
use nodecast::sources::demo::demo_store_at;
use nodecast::store::db::Db;
use nodecast::store::models::ModelDir;
use std::path::Path;
use std::sync::Arc;

/// The demo's clock at start.
pub fn now() -> DateTime<Utc> {
    nodecast::sources::demo::demo_epoch()
}

/// The demo fleet at [`now`], built through the store as the runtime does.
pub fn demo_fleet() -> Fleet {
    let dir = tempfile::tempdir().expect("dir");
    let db = Db::open(&dir.path().join("bench.db")).expect("db");
    demo_store_at(now(), db).expect("store").fleet().clone()
}

/// The dashboard's forecaster with the shipped pretrained demo models behind
/// a scratch models folder (kept for the life of the process).
pub fn forecaster() -> EnsembleForecaster {
    let dir = tempfile::tempdir().expect("dir").keep();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo");
    let models = ModelDir::open(&dir, vec![shipped]).expect("models");
    EnsembleForecaster::with_models(&Calendar::builtin(1990..=2040), Arc::new(models))
}
