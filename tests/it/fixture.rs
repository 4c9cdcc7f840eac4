//! A demo fleet at a fixed clock, built through the product's own store path.

use chrono::{DateTime, Utc};
use nodecast::app::{AppState, Mode};
use nodecast::domain::{ClusterForecast, ClusterId};
use nodecast::forecast::features::Calendar;
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::origin_for;
use nodecast::forecast::persist::{Manifest, ModelDir};
use nodecast::runtime::{demo_store_at, forecast_cluster};
use nodecast::snapshot::Fleet;
use nodecast::store::db::Db;
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

pub fn state() -> AppState {
    let Built {
        fleet, forecasts, ..
    } = built();
    let ids = fleet.clusters.iter().map(|(id, _)| id.clone()).collect();
    let mut state = AppState::new(Mode::Demo, ids, 1.0, "ensemble");
    state.forecasts = forecasts.iter().cloned().collect();
    // Plans as the forecast job makes them, at the demo's date.
    let cfg = nodecast::plan::PlanConfig::default();
    let catalog = nodecast::catalog::Catalog::shipped();
    for (id, view) in &fleet.clusters {
        if let Some(fc) = state.forecasts.get(id)
            && let Some(p) =
                nodecast::plan::plan_cluster(view, fc, &cfg, &catalog, now().date_naive())
        {
            state.plans.insert(id.clone(), p);
        }
    }
    state.fleet = Arc::new(fleet.clone());
    state
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
