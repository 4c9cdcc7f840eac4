//! The store: migrations, WAL, what survives an unclean stop.

use crate::fixture::now;
use chrono::Duration;
use nodecast::domain::{ClusterId, Sample, SeriesKind, SourceHealth};
use nodecast::sources::{SourceEvent, SourceEventKind};
use nodecast::store::Store;
use nodecast::store::db::Db;

fn sample(min: i64, v: f64) -> (SeriesKind, Sample) {
    (
        SeriesKind::Nodes,
        Sample {
            ts: now() + Duration::minutes(min),
            value: v,
        },
    )
}

#[test]
fn migrations_apply_once_and_wal_is_on() {
    let dir = tempfile::tempdir().expect("dir");
    let p = dir.path().join("sub").join("n.db");
    let db = Db::open(&p).expect("open creates folders");
    assert_eq!(db.schema_version().expect("v"), 5);
    drop(db);
    let db = Db::open(&p).expect("reopen");
    assert_eq!(db.schema_version().expect("v"), 5);
    let conn = rusqlite_conn(&p);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    for table in [
        "samples",
        "forecasts",
        "audit",
        "clusters",
        "proposals",
        "forecast_days",
    ] {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .expect("q");
        assert_eq!(n, 1, "table {table}");
    }
}

fn rusqlite_conn(p: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(p).expect("conn")
}

#[test]
fn a_newer_schema_is_refused_with_the_file_named() {
    let dir = tempfile::tempdir().expect("dir");
    let p = dir.path().join("n.db");
    rusqlite_conn(&p)
        .pragma_update(None, "user_version", 99)
        .expect("set");
    let e = Db::open(&p).err().expect("refused");
    let msg = format!("{e:#}");
    assert!(msg.contains("n.db") && msg.contains("99"), "{msg}");
}

#[test]
fn committed_samples_survive_a_connection_that_never_closed() {
    let dir = tempfile::tempdir().expect("dir");
    let p = dir.path().join("n.db");
    let mut db = Db::open(&p).expect("open");
    db.insert_samples("c1", &[sample(0, 5.0), sample(5, 6.0)])
        .expect("insert");
    // Leak the connection: no close, no checkpoint, the WAL stays as a crash leaves it.
    std::mem::forget(db);
    let db = Db::open(&p).expect("reopen");
    let got = db
        .load_samples("c1", now() - Duration::hours(1))
        .expect("load");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].1.value, 6.0);
}

#[test]
fn store_drops_implausible_values_and_records_source_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let db = Db::open(&dir.path().join("n.db")).expect("open");
    let id = ClusterId("c1".into());
    let mut store = Store::new(db, &[(id.clone(), "us-east-1".into())]);
    let ev = |kind| SourceEvent {
        cluster: id.clone(),
        source: "replay".into(),
        at: now(),
        kind,
    };
    store
        .apply(ev(SourceEventKind::Backfill(vec![
            sample(0, 4.0),
            sample(5, f64::NAN),
            sample(10, -1.0),
        ])))
        .expect("apply");
    let view = store.fleet().view(&id).expect("view");
    let h = &view.history[&SeriesKind::Nodes];
    assert_eq!(h.values, vec![Some(4.0)], "NaN and negative dropped");
    assert_eq!(view.sources[0].health, SourceHealth::Ok);
    store
        .apply(ev(SourceEventKind::Failed("connection refused".into())))
        .expect("apply");
    let view = store.fleet().view(&id).expect("view");
    assert_eq!(
        view.sources[0].health,
        SourceHealth::Error("connection refused".into())
    );
    assert_eq!(
        view.sources[0].last_data,
        Some(now()),
        "last good data kept"
    );
}

#[test]
fn history_reloads_from_the_database() {
    let dir = tempfile::tempdir().expect("dir");
    let p = dir.path().join("n.db");
    let id = ClusterId("c1".into());
    {
        let mut store = Store::new(Db::open(&p).expect("open"), &[(id.clone(), "r".into())]);
        let ev = SourceEvent {
            cluster: id.clone(),
            source: "replay".into(),
            at: now(),
            kind: SourceEventKind::Backfill(vec![
                sample(-120, 3.0),
                sample(-60, 4.0),
                sample(0, 5.0),
            ]),
        };
        store.apply(ev).expect("apply");
    }
    let mut store = Store::new(Db::open(&p).expect("open"), &[(id.clone(), "r".into())]);
    store.load_history(now()).expect("load");
    let h = &store.fleet().view(&id).expect("view").history[&SeriesKind::Nodes];
    assert_eq!(h.hours_present(), 3);
}
