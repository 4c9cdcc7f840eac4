//! The demo fleet at a fixed clock, shared by the benchmarks.

use chrono::{DateTime, TimeZone, Utc};
use nodecast::runtime::demo_store_at;
use nodecast::snapshot::Fleet;
use nodecast::store::db::Db;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 30, 0)
        .single()
        .expect("time")
}

/// The demo fleet at [`now`], built through the store as the runtime does.
pub fn demo_fleet() -> Fleet {
    let dir = tempfile::tempdir().expect("dir");
    let db = Db::open(&dir.path().join("bench.db")).expect("db");
    demo_store_at(now(), db).expect("store").fleet().clone()
}
