//! Global models: a random forest and gradient-boosted trees trained once
//! across many series (the lesson of M4 and M5: one model that has seen
//! hundreds of weeks of many kinds of demand beats a model fitted on one
//! series' few weeks). The features are per-series scaled (relative to the
//! last day's level, the target a log ratio to the last hour), so one model
//! serves any series whatever its unit. They serve from a day of history
//! on, which is what a new cluster gets (its local members need a week),
//! and past that they are two more members the ensemble weighs by
//! validation like any other.
//!
//! Trained by `nodecast train --corpus DIR`; shipped in `models/global/`
//! with a manifest. Pure: reading and writing the files is the store's.

use super::HORIZON_HOURS as H;
use super::features::{Calendar, ClusterContext, FEATURES_VERSION};
use super::learned::{Kind, Model, training_rows};
use super::lstm::{GLOBAL_HIDDEN, LstmNet};
use super::members::{ColdStart, Member, Naive};
use super::prepared::fingerprint;
use crate::domain::fnv1a;
use chrono::{DateTime, Utc};
use ndarray::{Array1, Array2, Axis, concatenate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Hours of history a global model needs: one day (its features' level).
pub const GLOBAL_MIN_HISTORY: usize = 24;
/// Training rows taken from each series at most, so that a year-long
/// series does not outweigh twenty two-week ones.
pub const ROWS_PER_SERIES: usize = 3000;
/// Rows per leaf at least: with tens of thousands of rows from many
/// series, a leaf of 8 would learn one series' noise.
pub const GLOBAL_MIN_LEAF: usize = 32;
/// The horizons the manifest's validation scores are given at.
pub const SCORED: [usize; 5] = [1, 6, 12, 24, 48];
/// The manifest's file name in a global models folder.
pub const GLOBAL_MANIFEST: &str = "manifest.json";

/// One training series: its hourly values (gaps filled) from `start_hour`.
pub struct TrainingSeries {
    pub name: String,
    pub y: Vec<f64>,
    pub start_hour: i64,
}

/// What a series gave the training.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainedSeries {
    pub name: String,
    pub hours: usize,
    /// FNV-1a of the values and start hour, in hex.
    pub fingerprint: String,
}

/// The global models' manifest: what they were trained on, how they
/// validated, and which file holds which member.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GlobalManifest {
    /// `g-` and a hash of the model files' bytes.
    pub version: String,
    pub features_version: u64,
    pub trained_at: DateTime<Utc>,
    pub train_seconds: f64,
    pub rows: usize,
    pub series: Vec<TrainedSeries>,
    /// Cross-series validation: each half of the series forecast by models
    /// trained on the other half, at origins a day apart from the eighth
    /// day on. Per model (and naive, for scale) and horizon: the median
    /// over series of the series' MAPE (%).
    pub validation: BTreeMap<String, BTreeMap<String, f64>>,
    /// Member name to model file.
    pub files: BTreeMap<String, String>,
}

/// The global models and their manifest.
pub struct GlobalModels {
    pub manifest: Option<GlobalManifest>,
    models: Vec<(Kind, Model)>,
    /// The LSTM trained across series (1-6 h), where the manifest has one.
    lstm: Option<LstmNet>,
}

/// The global LSTM's member name, and its file in a global models folder.
pub const GLOBAL_LSTM: &str = "global_lstm";
const GLOBAL_LSTM_FILE: &str = "global_lstm.safetensors";
/// The seed of the global LSTM's initial weights and batch order.
const GLOBAL_LSTM_SEED: u64 = 42;

fn member_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Forest => "global_forest",
        Kind::Boost => "global_boost",
    }
}

const KINDS: [Kind; 2] = [Kind::Forest, Kind::Boost];

impl GlobalModels {
    /// No global models (the global members then forecast nothing).
    pub fn none() -> GlobalModels {
        GlobalModels {
            manifest: None,
            models: Vec::new(),
            lstm: None,
        }
    }

    /// The models shipped in `models/global/`, built into the binary, read
    /// once. None (with a warning) if they do not parse.
    pub fn shipped() -> Arc<GlobalModels> {
        static SHIPPED: OnceLock<Arc<GlobalModels>> = OnceLock::new();
        SHIPPED
            .get_or_init(|| {
                let files = [
                    ("global_forest.json", SHIPPED_FOREST),
                    ("global_boost.json", SHIPPED_BOOST),
                    (GLOBAL_LSTM_FILE, SHIPPED_LSTM),
                ];
                let read = GlobalModels::parse(SHIPPED_MANIFEST, |name| {
                    files
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, b)| b.to_vec())
                });
                Arc::new(read.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "the shipped global models do not load");
                    GlobalModels::none()
                }))
            })
            .clone()
    }

    /// Reads a manifest's bytes and its model files through `file`; errors
    /// name the file that is missing or does not parse.
    pub fn parse(
        manifest: &[u8],
        file: impl Fn(&str) -> Option<Vec<u8>>,
    ) -> anyhow::Result<GlobalModels> {
        let m: GlobalManifest = serde_json::from_slice(manifest)
            .map_err(|e| anyhow::anyhow!("{GLOBAL_MANIFEST}: {e}"))?;
        if m.features_version != FEATURES_VERSION {
            anyhow::bail!(
                "{GLOBAL_MANIFEST}: trained on features version {}, this build has {}; retrain with `nodecast train --corpus`",
                m.features_version,
                FEATURES_VERSION
            );
        }
        let mut models = Vec::new();
        for kind in KINDS {
            let Some(name) = m.files.get(member_name(kind)) else {
                continue;
            };
            let bytes = file(name).ok_or_else(|| anyhow::anyhow!("{name}: missing"))?;
            let model = Model::from_json(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
            models.push((kind, model));
        }
        let lstm = match m.files.get(GLOBAL_LSTM) {
            Some(name) => {
                let bytes = file(name).ok_or_else(|| anyhow::anyhow!("{name}: missing"))?;
                Some(LstmNet::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?)
            }
            None => None,
        };
        Ok(GlobalModels {
            manifest: Some(m),
            models,
            lstm,
        })
    }

    /// The files to write: the manifest and each model, by name.
    pub fn files(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let Some(m) = &self.manifest else {
            return Ok(Vec::new());
        };
        let mut out = vec![(GLOBAL_MANIFEST.to_string(), serde_json::to_vec_pretty(m)?)];
        for (kind, model) in &self.models {
            if let Some(name) = m.files.get(member_name(*kind)) {
                out.push((name.clone(), serde_json::to_vec(model)?));
            }
        }
        if let (Some(net), Some(name)) = (&self.lstm, m.files.get(GLOBAL_LSTM)) {
            out.push((name.clone(), net.to_bytes()?));
        }
        Ok(out)
    }

    fn model(&self, kind: Kind) -> Option<&Model> {
        self.models.iter().find(|(k, _)| *k == kind).map(|(_, m)| m)
    }

    /// Trains the trees and the LSTM on every series, and scores them by two-fold
    /// validation across the series (the halves dealt alternately in name
    /// order). `now` is the training time the manifest records.
    pub fn train(series: &[TrainingSeries], cal: &Calendar, now: DateTime<Utc>) -> GlobalModels {
        let started = std::time::Instant::now();
        let mut sorted: Vec<&TrainingSeries> = series.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let half = |f: usize| -> Vec<&TrainingSeries> {
            sorted.iter().skip(f).step_by(2).copied().collect()
        };
        // Per model (and naive) and horizon, each held-out series' MAPE.
        let mut scores: BTreeMap<String, Vec<Vec<f64>>> = BTreeMap::new();
        for f in 0..2 {
            let (train, test) = (half(1 - f), half(f));
            let (models, lstm, _) = fit_all(&train, cal);
            for s in &test {
                for (kind, model) in &models {
                    let m = mape_at_scored(s, |y, sh| model.forecast(y, None, sh, H, cal));
                    scores.entry(member_name(*kind).into()).or_default().push(m);
                }
                if let Some(net) = &lstm {
                    let m = mape_at_scored(s, |y, sh| net.forecast(y, sh));
                    scores.entry(GLOBAL_LSTM.into()).or_default().push(m);
                }
                let naive = mape_at_scored(s, |y, sh| Naive.point(y, sh, H));
                scores.entry("naive".into()).or_default().push(naive);
            }
        }
        let validation = scores
            .into_iter()
            .map(|(name, per_series)| {
                // Only the horizons the model forecasts (the LSTM's 1-6 h).
                let by_h = SCORED
                    .iter()
                    .enumerate()
                    .filter_map(|(i, h)| {
                        let mut v: Vec<f64> = per_series
                            .iter()
                            .map(|s| s[i])
                            .filter(|v| v.is_finite())
                            .collect();
                        v.sort_by(f64::total_cmp);
                        (!v.is_empty()).then(|| (h.to_string(), super::quantile(&v, 0.5)))
                    })
                    .collect();
                (name, by_h)
            })
            .collect();
        let (models, lstm, rows) = fit_all(&sorted, cal);
        let mut files = BTreeMap::new();
        let mut bytes = Vec::new();
        for (kind, model) in &models {
            files.insert(
                member_name(*kind).to_string(),
                format!("{}.json", member_name(*kind)),
            );
            bytes.extend(serde_json::to_vec(model).unwrap_or_default());
        }
        if let Some(net) = &lstm {
            files.insert(GLOBAL_LSTM.to_string(), GLOBAL_LSTM_FILE.to_string());
            bytes.extend(net.to_bytes().unwrap_or_default());
        }
        let manifest = GlobalManifest {
            version: format!("g-{:016x}", fnv1a(&bytes)),
            features_version: FEATURES_VERSION,
            trained_at: now,
            train_seconds: started.elapsed().as_secs_f64(),
            rows,
            series: sorted
                .iter()
                .map(|s| TrainedSeries {
                    name: s.name.clone(),
                    hours: s.y.len(),
                    fingerprint: format!("{:016x}", fingerprint(&s.y, s.start_hour)),
                })
                .collect(),
            validation,
            files,
        };
        GlobalModels {
            manifest: Some(manifest),
            models,
            lstm,
        }
    }
}

/// A series' training rows: anchors from its first day on, about
/// [`ROWS_PER_SERIES`] of them.
fn rows_of(s: &TrainingSeries, cal: &Calendar) -> (Array2<f64>, Array1<f64>) {
    let first = GLOBAL_MIN_HISTORY;
    let every = (s.y.len().saturating_sub(first) / ROWS_PER_SERIES).max(1);
    training_rows(
        &s.y,
        s.start_hour,
        cal,
        (first, every),
        None,
        ROWS_PER_SERIES,
    )
}

/// Both tree models fitted on the rows of `series`, side by side on two
/// threads, then the LSTM on their windows; and the number of tree rows.
fn fit_all(
    series: &[&TrainingSeries],
    cal: &Calendar,
) -> (Vec<(Kind, Model)>, Option<LstmNet>, usize) {
    let (models, rows) = fit_trees(series, cal);
    let windows: Vec<(&[f64], i64)> = series.iter().map(|s| (&s.y[..], s.start_hour)).collect();
    let lstm = LstmNet::with_hidden(GLOBAL_LSTM_SEED, GLOBAL_HIDDEN)
        .and_then(|net| net.train_across(&windows, GLOBAL_LSTM_SEED).map(|_| net))
        .map_err(|e| tracing::warn!(error = %e, "the global LSTM could not be trained"))
        .ok();
    (models, lstm, rows)
}

fn fit_trees(series: &[&TrainingSeries], cal: &Calendar) -> (Vec<(Kind, Model)>, usize) {
    let parts: Vec<(Array2<f64>, Array1<f64>)> = series.iter().map(|s| rows_of(s, cal)).collect();
    let xs: Vec<_> = parts.iter().map(|(x, _)| x.view()).collect();
    let ts: Vec<_> = parts.iter().map(|(_, t)| t.view()).collect();
    let (Ok(x), Ok(t)) = (concatenate(Axis(0), &xs), concatenate(Axis(0), &ts)) else {
        return (Vec::new(), 0);
    };
    let rows = t.len();
    let models = std::thread::scope(|sc| {
        let fits: Vec<_> = KINDS
            .iter()
            .map(|&kind| {
                let (x, t) = (x.clone(), t.clone());
                sc.spawn(move || Model::fit(kind, x, t, GLOBAL_MIN_LEAF).map(|m| (kind, m)))
            })
            .collect();
        fits.into_iter()
            .filter_map(|f| f.join().ok().flatten())
            .collect()
    });
    (models, rows)
}

/// A series' MAPE (%) at each of [`SCORED`] for `forecast`, from origins a
/// day apart from its eighth day on (NaN where none scored).
fn mape_at_scored(
    s: &TrainingSeries,
    forecast: impl Fn(&[f64], i64) -> Option<Vec<f64>>,
) -> Vec<f64> {
    let mut sums = [(0.0, 0usize); SCORED.len()];
    let mut origin = 168;
    while origin + H <= s.y.len() {
        if let Some(p) = forecast(&s.y[..origin], s.start_hour) {
            for (i, h) in SCORED.iter().enumerate() {
                let a = s.y[origin + h - 1];
                if a != 0.0 && p.len() >= *h {
                    sums[i].0 += (a - p[h - 1]).abs() / a.abs();
                    sums[i].1 += 1;
                }
            }
        }
        origin += 24;
    }
    sums.iter()
        .map(|(e, n)| {
            if *n > 0 {
                100.0 * e / *n as f64
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// A global model as an ensemble member.
pub struct GlobalTreeMember {
    kind: Kind,
    calendar: Calendar,
    models: Arc<GlobalModels>,
}

impl GlobalTreeMember {
    pub fn new(kind: Kind, calendar: Calendar, models: Arc<GlobalModels>) -> Self {
        GlobalTreeMember {
            kind,
            calendar,
            models,
        }
    }
}

impl Member for GlobalTreeMember {
    fn name(&self) -> &'static str {
        member_name(self.kind)
    }

    fn cold_start(&self) -> Option<ColdStart> {
        Some(ColdStart::LaterHours)
    }

    fn point(&self, y: &[f64], start_hour: i64, h: usize) -> Option<Vec<f64>> {
        self.point_in(y, None, start_hour, h)
    }

    fn point_in(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        h: usize,
    ) -> Option<Vec<f64>> {
        if y.len() < GLOBAL_MIN_HISTORY {
            return None;
        }
        self.models
            .model(self.kind)?
            .forecast(y, ctx, start_hour, h, &self.calendar)
    }
}

/// The LSTM trained across series as an ensemble member for 1-6 h. It
/// tracks the level (it forecasts ratios to the last hour) but joins the
/// first hours only on merit, as naive does: weighed with the trackers
/// there, a net that never saw the series cost more on some than it gained
/// on others (docs/forecasting.md, `scripts/global_lstm_cv.py`).
pub struct GlobalLstmMember {
    models: Arc<GlobalModels>,
}

impl Member for GlobalLstmMember {
    fn name(&self) -> &'static str {
        GLOBAL_LSTM
    }
    fn tracks_level(&self) -> bool {
        true
    }
    fn serves_first_hours(&self) -> bool {
        false
    }
    fn first_hours_margin(&self) -> Option<f64> {
        Some(super::members::FIRST_HOURS_MARGIN)
    }
    fn point(&self, y: &[f64], start_hour: i64, _h: usize) -> Option<Vec<f64>> {
        self.models.lstm.as_ref()?.forecast(y, start_hour)
    }
}

/// The global members over `models`.
pub fn global_members(cal: &Calendar, models: &Arc<GlobalModels>) -> Vec<Box<dyn Member>> {
    let mut out: Vec<Box<dyn Member>> = KINDS
        .iter()
        .map(|&k| {
            Box::new(GlobalTreeMember::new(k, cal.clone(), models.clone())) as Box<dyn Member>
        })
        .collect();
    out.push(Box::new(GlobalLstmMember {
        models: models.clone(),
    }));
    out
}

const SHIPPED_MANIFEST: &[u8] = include_bytes!("../../models/global/manifest.json");
const SHIPPED_FOREST: &[u8] = include_bytes!("../../models/global/global_forest.json");
const SHIPPED_BOOST: &[u8] = include_bytes!("../../models/global/global_boost.json");
const SHIPPED_LSTM: &[u8] = include_bytes!("../../models/global/global_lstm.safetensors");
