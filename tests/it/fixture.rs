//! A demo fleet at a fixed clock, built through the product's own store path.

use chrono::{DateTime, Utc};
use nodecast::app::{Action, AppState, Mode, update};
use nodecast::domain::{
    ClusterForecast, ClusterId, Forecast, ForecastPoint, HorizonMix, HourlySeries, SeriesKind,
};
use nodecast::forecast::Forecaster;
use nodecast::forecast::features::Calendar;
use nodecast::forecast::forecast_cluster;
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::origin_for;
use nodecast::forecast::persist::Manifest;
use nodecast::snapshot::Fleet;
use nodecast::sources::demo::demo_store_at;
use nodecast::store::db::Db;
use nodecast::store::models::ModelDir;
use nodecast::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The demo's clock at start.
pub fn now() -> DateTime<Utc> {
    nodecast::sources::demo::demo_epoch()
}

/// The pretrained demo models shipped in the project.
pub fn shipped_models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo")
}

pub struct Built {
    pub fleet: Fleet,
    pub forecasts: Vec<(ClusterId, ClusterForecast)>,
    /// The manifest of the models folder the forecaster used (empty at the
    /// start, with the shipped pretrained models behind it).
    pub manifest: Manifest,
}

/// The fixture fleet and its forecasts, built once per test binary, as the
/// dashboard does: the learned members load the shipped pretrained models.
pub fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("t.db")).expect("db");
        let fleet = demo_store_at(now(), db)
            .expect("demo store")
            .fleet()
            .clone();
        let models =
            ModelDir::open(&dir.path().join("models"), vec![shipped_models()]).expect("models");
        let models = Arc::new(models);
        let f = EnsembleForecaster::with_models(&Calendar::builtin(1990..=2040), models.clone());
        let forecasts = fleet
            .clusters
            .iter()
            .map(|(id, view)| (id.clone(), forecast_cluster(&f, view, origin_for(now()))))
            .collect();
        Built {
            fleet,
            forecasts,
            manifest: models.manifest(),
        }
    })
}

/// The fixture fleet's state as the dashboard builds it: the store's fleet,
/// then each cluster's forecasts and its plan, through `update`.
fn state_from(forecasts: &[(ClusterId, ClusterForecast)]) -> AppState {
    let fleet = &built().fleet;
    let ids = fleet.clusters.iter().map(|(id, _)| id.clone()).collect();
    let mut state = AppState::new(Mode::Demo, ids, 1.0, 30, "ensemble");
    update(&mut state, Action::Fleet(Arc::new(fleet.clone())));
    // Plans as the forecast job makes them, at the demo's date.
    let cfg = nodecast::plan::PlanConfig::default();
    let catalog = nodecast::catalog::Catalog::shipped();
    for (id, fc) in forecasts {
        update(&mut state, Action::Forecasts(id.clone(), fc.clone()));
        let view = fleet.view(id).expect("view");
        if let Some(p) = nodecast::plan::plan_cluster(view, fc, &cfg, &catalog, now().date_naive())
        {
            update(&mut state, Action::Plan(id.clone(), Box::new(p)));
        }
    }
    state
}

/// The demo fleet with the real ensemble's forecasts (the end-to-end state).
pub fn state() -> AppState {
    state_from(&built().forecasts)
}

/// The demo fleet with [`StubForecaster`]'s forecasts: what the pane
/// snapshots render, so that a change to the models leaves them alone.
pub fn stub_state() -> AppState {
    let fleet = &built().fleet;
    let forecasts: Vec<_> = fleet
        .clusters
        .iter()
        .map(|(id, view)| {
            (
                id.clone(),
                forecast_cluster(&StubForecaster, view, origin_for(now())),
            )
        })
        .collect();
    state_from(&forecasts)
}

/// A fixed forecast for pane tests: each hour the value a day earlier
/// (seasonal naive), a band of ±10 %, fixed confidence and model mix.
pub struct StubForecaster;

impl Forecaster for StubForecaster {
    fn name(&self) -> &str {
        "stub"
    }

    fn forecast(
        &self,
        series: SeriesKind,
        history: &HourlySeries,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Option<Forecast> {
        let start = history.start?;
        let n = ((origin - start).num_hours().max(0) as usize).min(history.values.len());
        let past = &history.values[..n];
        let last = past.iter().rev().flatten().next().copied()?;
        let points = (0..hours)
            .map(|h| {
                let day_before = (n + h % 24)
                    .checked_sub(24)
                    .and_then(|i| past.get(i).copied().flatten());
                let p50 = day_before.unwrap_or(last);
                ForecastPoint {
                    ts: origin + chrono::Duration::hours(h as i64),
                    p10: p50 * 0.9,
                    p50,
                    p90: p50 * 1.1,
                }
            })
            .collect();
        Some(Forecast {
            series,
            issued_at: origin,
            model: "stub forecast (seasonal naive, ±10 %)".into(),
            points,
            history_hours: history.hours_present(),
            warnings: Vec::new(),
            confidence: 80,
            mix: [1, 6, 24, 48]
                .into_iter()
                .map(|horizon| HorizonMix {
                    horizon,
                    members: vec![("stub".into(), 1.0)],
                    median_share: 0.0,
                })
                .collect(),
        })
    }
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

/// Runs the nodecast binary with `args` (no config, the caller's environment).
pub fn run_nodecast(args: &[&str]) -> std::process::Output {
    run_nodecast_env(args, &[], &[])
}

/// Runs the nodecast binary with `args`, `set` added to and `unset` removed
/// from the caller's environment.
pub fn run_nodecast_env(
    args: &[&str],
    set: &[(&str, &str)],
    unset: &[&str],
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_nodecast"));
    cmd.args(args).envs(set.iter().copied());
    for k in unset {
        cmd.env_remove(k);
    }
    cmd.output().expect("run")
}

/// Path of a file in the project's `data/` folder.
pub fn data_file(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
        .display()
        .to_string()
}
