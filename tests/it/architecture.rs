//! The shape the rest builds on: one decision of demo vs live, the forecast
//! job's choice of clusters, totals derived in `update`, models through a
//! store passed in, typed health and source errors, and `nodecast forecast`
//! printing what the dashboard's forecaster forecasts.

use crate::fake_http::serve;
use crate::fixture::{built, now, shipped_models, state, stub_state};
use nodecast::app::{Action, AppState, Mode, update};
use nodecast::domain::{ClusterId, SeriesKind, SourceHealth, SourceStatus};
use nodecast::forecast::Forecaster;
use nodecast::forecast::features::Calendar;
use nodecast::forecast::learned::{Kind, TreeMember};
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::members::Member;
use nodecast::forecast::persist::{ModelStore, TrainedModel};
use nodecast::health::Health;
use nodecast::runtime::forecast_job::ForecastJob;
use nodecast::setup::FleetSource;
use nodecast::snapshot::{ClusterView, Fleet};
use nodecast::sources::{Source, SourceError};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[test]
fn the_fleet_source_decides_clock_staleness_and_refresh_once() {
    let demo = FleetSource::Demo {
        speed: 60.0,
        control: Default::default(),
    };
    assert_eq!(demo.mode(), Mode::Demo);
    assert_eq!(demo.clock().anchor(), nodecast::sources::demo::demo_epoch());
    assert_eq!(
        demo.stale_after_secs(),
        30 * 60,
        "the replay's 30 s scale with the speed"
    );
    assert!(demo.price_refresh().is_none() && demo.uses_shipped_models());
    let (ids, sources) = demo.sources(&demo.clock()).expect("demo sources");
    assert_eq!(ids.len(), 4);
    assert_eq!(sources.len(), 4, "one replay per demo cluster");
    let live = FleetSource::Live {
        clusters: Vec::new(),
        prices: nodecast::sources::aws_prices::PriceRefresh {
            refresh: true,
            ..Default::default()
        },
    };
    assert_eq!(live.mode(), Mode::Live);
    assert_eq!(live.stale_after_secs(), 180);
    assert!(live.price_refresh().is_some() && !live.uses_shipped_models());
    let secs = (chrono::Utc::now() - live.clock().now())
        .num_seconds()
        .abs();
    assert!(secs < 5, "a live fleet runs on the wall clock");
}

#[test]
fn the_forecast_job_takes_clusters_with_history_only() {
    let fleet = built().fleet.clone();
    let job = ForecastJob::new(
        Arc::new(crate::fixture::StubForecaster),
        nodecast::plan::PlanConfig::default(),
    );
    let origin = nodecast::forecast::origin_for(now());
    let due: Vec<String> = job
        .due(&fleet, origin)
        .iter()
        .map(|(id, _)| id.0.clone())
        .collect();
    assert_eq!(due, ["prod-web", "batch-mixed", "events-web", "svc-asg"]);
    // A cluster whose sources have sent nothing yet waits.
    let mut waiting = fleet.clone();
    waiting
        .clusters
        .push((ClusterId("new".into()), Arc::new(ClusterView::default())));
    assert_eq!(job.due(&waiting, origin).len(), 4);
}

#[test]
fn fleet_totals_are_derived_in_update_from_every_cluster() {
    let s = stub_state();
    let t = &s.fleet;
    let snaps: Vec<_> = s
        .clusters
        .iter()
        .filter_map(|c| c.view.latest.as_ref())
        .collect();
    assert_eq!(snaps.len(), 4);
    assert_eq!(t.nodes, snaps.iter().map(|x| x.nodes).sum::<u32>());
    assert_eq!(
        t.pending_pods,
        snaps.iter().map(|x| x.pending_pods).sum::<u32>()
    );
    let cores: f64 = snaps.iter().map(|x| x.requests.cores).sum();
    assert!((t.requests.cores - cores).abs() < 1e-9);
    assert_eq!(t.priced, 4);
    let usd: f64 = s
        .clusters
        .iter()
        .filter_map(|c| c.plan.as_ref())
        .map(|p| p.usd_per_hour_now)
        .sum();
    assert!((t.usd_per_hour - usd).abs() < 1e-9);
    for kind in SeriesKind::FORECAST {
        let f = t
            .forecast
            .get(&kind)
            .expect("every cluster forecast: a fleet forecast");
        let first = s
            .clusters
            .iter()
            .map(|c| c.forecast[&kind].points[0].p50)
            .sum::<f64>();
        assert!((f.points[0].p50 - first).abs() < 1e-9);
        assert!(t.history.contains_key(&kind));
    }
    // A new cluster without a forecast yet: no fleet forecast, no made-up sum.
    let mut ids: Vec<ClusterId> = s.clusters.iter().map(|c| c.id.clone()).collect();
    ids.push(ClusterId("late".into()));
    let mut s2 = AppState::new(Mode::Demo, ids, 1.0, 30, "stub");
    for c in &s.clusters {
        update(&mut s2, Action::Forecasts(c.id.clone(), c.forecast.clone()));
    }
    assert!(s2.fleet.forecast.is_empty());
}

#[test]
fn the_nodes_needed_pane_shows_what_the_plan_sized_from() {
    let s = state();
    for c in &s.clusters {
        let plan = c.plan.as_ref().expect("plan");
        let snap = c.view.latest.as_ref().expect("snapshot");
        let cpu = &c.forecast[&SeriesKind::CpuRequests];
        let mem = &c.forecast[&SeriesKind::MemRequests];
        let again = nodecast::forecast::nodes::nodes_needed(snap, cpu, mem, plan.headroom);
        assert_eq!(plan.needs, again, "{}", c.id);
    }
}

/// A model store in memory: what a member loads and saves, and nothing on disk.
#[derive(Default)]
struct MemoryStore {
    files: Mutex<HashMap<String, Vec<u8>>>,
    saved: Mutex<Vec<TrainedModel>>,
}

impl ModelStore for MemoryStore {
    fn load(&self, name: &str) -> Option<Vec<u8>> {
        self.files.lock().ok()?.get(name).cloned()
    }
    fn save(&self, name: &str, bytes: &[u8], model: TrainedModel) -> anyhow::Result<()> {
        self.files
            .lock()
            .expect("lock")
            .insert(name.into(), bytes.to_vec());
        self.saved.lock().expect("lock").push(model);
        Ok(())
    }
    fn record_validation(&self, _: &str, _: BTreeMap<String, f64>) -> anyhow::Result<()> {
        Ok(())
    }
}

#[test]
fn learned_members_keep_models_only_through_the_store_they_are_given() {
    let y: Vec<f64> = (0..15 * 24)
        .map(|h| 100.0 + 30.0 * ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin())
        .collect();
    let store = Arc::new(MemoryStore::default());
    let first = TreeMember::new(Kind::Forest, Calendar::default()).saving(Some(store.clone()));
    let f1 = first.point(&y, 0, 48).expect("forecast");
    let saved = store.saved.lock().expect("lock").clone();
    assert_eq!(saved.len(), 1, "one model trained and saved");
    assert_eq!(
        (saved[0].member.as_str(), saved[0].history_hours),
        ("forest", 14 * 24)
    );
    // Another member on the same store loads it: the same forecast, no second fit.
    let second = TreeMember::new(Kind::Forest, Calendar::default()).saving(Some(store.clone()));
    assert_eq!(second.point(&y, 0, 48).expect("forecast"), f1);
    assert_eq!(store.saved.lock().expect("lock").len(), 1);
    // A garbled file is refitted, not trusted.
    for bytes in store.files.lock().expect("lock").values_mut() {
        bytes.truncate(bytes.len() / 2);
    }
    let third = TreeMember::new(Kind::Forest, Calendar::default()).saving(Some(store.clone()));
    assert_eq!(third.point(&y, 0, 48).expect("forecast"), f1);
    assert_eq!(store.saved.lock().expect("lock").len(), 2);
}

#[test]
fn cluster_health_is_its_worst_source_and_prints_as_snapshot_json() {
    let t = now();
    let src = |name: &str, health: SourceHealth, ago: Option<i64>| SourceStatus {
        name: name.into(),
        health,
        last_data: ago.map(|s| t - chrono::Duration::seconds(s)),
    };
    let ok = src("kube", SourceHealth::Ok, Some(5));
    let stale = src("cloudwatch", SourceHealth::Ok, Some(400));
    let failing = src(
        "prometheus",
        SourceHealth::Error("HTTP 503".into()),
        Some(5),
    );
    assert_eq!(
        Health::of_cluster(std::slice::from_ref(&ok), t, 180),
        Health::Ok { age_secs: 5 }
    );
    assert_eq!(
        Health::of_cluster(&[ok.clone(), stale.clone()], t, 180),
        Health::Stale {
            age_secs: Some(400)
        }
    );
    let worst = Health::of_cluster(&[stale, failing, ok], t, 180);
    assert_eq!(worst, Health::Error("prometheus: HTTP 503".into()));
    assert_eq!(
        serde_json::to_value(&worst).expect("json"),
        serde_json::json!({"status": "error", "message": "prometheus: HTTP 503"})
    );
    assert_eq!(
        serde_json::to_value(Health::Stale {
            age_secs: Some(3 * 3600 + 5)
        })
        .expect("json"),
        serde_json::json!({"status": "stale", "message": "newest point 3 h old"})
    );
    assert_eq!(Health::of_cluster(&[], t, 180), Health::Waiting);
}

#[tokio::test]
async fn a_prometheus_that_refuses_is_a_denied_source_and_says_so() {
    let server = serve(|_, _| {
        (
            "403 Forbidden",
            "text/plain",
            "User is not authorized to perform: aps:QueryMetrics".to_string(),
        )
    });
    let mut p = nodecast::sources::prometheus::PrometheusSource::new(
        server.url.trim_end_matches('/'),
        &BTreeMap::new(),
        std::time::Duration::from_secs(60),
    )
    .expect("source");
    let e = p.backfill(now()).await.expect_err("refused");
    assert!(matches!(e, SourceError::Denied(_)), "{e:?}");
    assert!(e.to_string().contains("403"), "{e}");
}

#[test]
fn the_forecast_command_prints_the_dashboards_forecast() {
    let home = tempfile::tempdir().expect("home");
    let models = home.path().join("models");
    let input = crate::fixture::data_file("nab-asg-cpu.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args(["forecast", "--input", &input, "--hours", "12", "--json"])
        .args(["--models-dir", models.to_str().expect("utf8")])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env_remove("KUBECONFIG")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    // The dashboard's forecaster in process, on the same history: the same numbers.
    let text = std::fs::read_to_string(&input).expect("csv");
    let hourly = nodecast::series_csv::resample_hourly(
        &nodecast::series_csv::parse_series(&text, &input).expect("series"),
    );
    let origin = hourly.start.expect("start") + chrono::Duration::hours(hourly.values.len() as i64);
    let dir = tempfile::tempdir().expect("dir");
    let store = nodecast::store::models::ModelDir::open(dir.path(), vec![shipped_models()])
        .expect("models");
    let f = EnsembleForecaster::with_models(&Calendar::builtin(1990..=2040), Arc::new(store))
        .forecast(SeriesKind::CpuRequests, &hourly, origin, 12)
        .expect("forecast");
    assert_eq!(rows.len(), 12);
    for (r, p) in rows.iter().zip(&f.points) {
        assert_eq!(r["p50"].as_f64(), Some(p.p50));
        assert_eq!(r["p10"].as_f64(), Some(p.p10));
        assert_eq!(r["p90"].as_f64(), Some(p.p90));
    }
}

#[test]
fn a_publish_copies_only_the_cluster_that_changed() {
    let dir = tempfile::tempdir().expect("dir");
    let db = nodecast::store::db::Db::open(&dir.path().join("t.db")).expect("db");
    let mut store = nodecast::sources::demo::demo_store_at(now(), db).expect("store");
    let before: Fleet = store.fleet().clone();
    store
        .apply(nodecast::sources::SourceEvent {
            cluster: ClusterId("batch-mixed".into()),
            source: "replay".into(),
            at: now(),
            kind: nodecast::sources::SourceEventKind::Failed("connection reset".into()),
        })
        .expect("apply");
    let after = store.fleet();
    for ((id, a), (_, b)) in before.clusters.iter().zip(&after.clusters) {
        assert_eq!(Arc::ptr_eq(a, b), id.0 != "batch-mixed", "{id}");
    }
    let changed = after.view(&ClusterId("batch-mixed".into())).expect("view");
    assert!(
        changed
            .sources
            .iter()
            .any(|s| s.health == SourceHealth::Error("connection reset".into()))
    );
}
