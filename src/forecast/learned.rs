//! Learned members: a random forest and gradient-boosted trees over the
//! features of [`super::features`], one model for all horizons (the horizon
//! is a feature), refit once a day of history and cached.

use super::features::{Calendar, ClusterContext, FEATURE_NAMES, FEATURES_VERSION, features, level};
use super::members::Member;
use super::persist::{ModelStore, TrainedModel, file_name};
use super::prepared::fingerprint;
use super::trees::{BoostParams, ForestParams, GradientBoosting, RandomForest, TreeParams};
use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Rows in a training set at most (anchors x sampled horizons).
const MAX_ROWS: usize = 6000;
/// Refit after this many new hours of history.
pub const REFIT_HOURS: usize = 168;
/// Hours of history a learned member needs.
pub const MIN_HISTORY: usize = 7 * 24;

/// Training rows from `y`: anchors from `min_anchor`, a rotating subset of horizons each.
pub fn training_set(
    y: &[f64],
    start_hour: i64,
    cal: &Calendar,
    min_anchor: usize,
    ctx: Option<&ClusterContext>,
) -> (Array2<f64>, Array1<f64>) {
    training_rows(y, start_hour, cal, (min_anchor, 1), ctx, MAX_ROWS)
}

/// Training rows from `y`: anchors from `first` every `every` hours, each
/// with a rotating subset of horizons, `max_rows` rows in all (at least one
/// per anchor).
pub fn training_rows(
    y: &[f64],
    start_hour: i64,
    cal: &Calendar,
    (first, every): (usize, usize),
    ctx: Option<&ClusterContext>,
    max_rows: usize,
) -> (Array2<f64>, Array1<f64>) {
    let n = y.len();
    let anchors: Vec<usize> = (first..n).step_by(every.max(1)).collect();
    let per = (max_rows / anchors.len().max(1)).clamp(1, 48);
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for (k, &t) in anchors.iter().enumerate() {
        for j in 0..per {
            // Spread the horizons evenly, rotating the offset anchor by anchor.
            let h = 1 + (j * 48 / per + k) % 48;
            if t + h > n {
                continue;
            }
            rows.extend(features(y, t, h, start_hour, cal, ctx));
            targets.push(log_ratio(y[t + h - 1], reference(y, t)));
        }
    }
    let x = Array2::from_shape_vec((targets.len(), FEATURE_NAMES.len()), rows)
        .unwrap_or_else(|_| Array2::zeros((0, FEATURE_NAMES.len())));
    (x, Array1::from(targets))
}

/// What the trees predict a ratio of: the last hour, or the day's level when
/// the last hour is not positive. Trees cannot extrapolate; a ratio to the
/// latest value keeps the targets in the range they were trained on.
pub fn reference(y: &[f64], t: usize) -> f64 {
    match y.get(t.wrapping_sub(1)) {
        Some(v) if *v > 1e-9 => *v,
        _ => level(y, t),
    }
}

/// ln(value / reference), with values at or below zero floored: the trees
/// learn multiplicative changes, and a surge does not dominate a leaf's mean.
pub fn log_ratio(v: f64, reference: f64) -> f64 {
    (v.max(reference * 1e-3).max(1e-12) / reference).ln()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Forest,
    Boost,
}

/// A fitted tree ensemble: what a learned member (local or global) serves.
#[derive(Serialize, Deserialize)]
pub enum Model {
    Forest(RandomForest),
    Boost(GradientBoosting),
}

impl Model {
    /// Fits a `kind` tree ensemble on the rows `x` and targets `t`, with
    /// leaves of at least `min_leaf` rows (none from under 50 rows).
    pub fn fit(kind: Kind, x: Array2<f64>, t: Array1<f64>, min_leaf: usize) -> Option<Model> {
        if t.len() < 50 {
            return None;
        }
        let data = DatasetBase::new(x, t);
        let tree = TreeParams {
            max_depth: 8,
            min_samples_leaf: min_leaf,
            max_features: None,
            seed: 17,
        };
        Some(match kind {
            Kind::Forest => Model::Forest(
                ForestParams {
                    trees: 24,
                    tree: TreeParams {
                        max_depth: 10,
                        max_features: Some(6),
                        ..tree
                    },
                    seed: 42,
                }
                .fit(&data)
                .ok()?,
            ),
            Kind::Boost => Model::Boost(
                BoostParams {
                    rounds: 60,
                    learning_rate: 0.1,
                    subsample: 0.7,
                    tree: TreeParams {
                        max_depth: 4,
                        ..tree
                    },
                    seed: 7,
                }
                .fit(&data)
                .ok()?,
            ),
        })
    }

    /// The model's forecast of the `h` hours after `y` (features from the
    /// calendar `cal` and the cluster's series `ctx`); none if not finite.
    pub fn forecast(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        h: usize,
        cal: &Calendar,
    ) -> Option<Vec<f64>> {
        let n = y.len();
        let mut x = Array2::zeros((h, FEATURE_NAMES.len()));
        for i in 0..h {
            let f = features(y, n, i + 1, start_hour, cal, ctx);
            for (j, v) in f.iter().enumerate() {
                x[[i, j]] = *v;
            }
        }
        let p: Array1<f64> = match self {
            Model::Forest(m) => m.predict(&x),
            Model::Boost(m) => m.predict(&x),
        };
        let lv = reference(y, n);
        let out: Vec<f64> = p.iter().map(|v| v.clamp(-5.0, 5.0).exp() * lv).collect();
        out.iter().all(|v| v.is_finite()).then_some(out)
    }

    /// Reads a model saved as JSON, checking that its splits read only
    /// features there are.
    pub fn from_json(bytes: &[u8]) -> anyhow::Result<Model> {
        let m = serde_json::from_slice::<Model>(bytes)?;
        if m.max_feature().is_some_and(|f| f >= FEATURE_NAMES.len()) {
            anyhow::bail!("a split reads a feature past the {}", FEATURE_NAMES.len());
        }
        Ok(m)
    }

    fn max_feature(&self) -> Option<usize> {
        let trees = match self {
            Model::Forest(m) => &m.trees,
            Model::Boost(m) => &m.trees,
        };
        trees.iter().filter_map(|t| t.max_feature()).max()
    }
}

/// A tree-ensemble member; fitted models are cached per day of history.
pub struct TreeMember {
    pub kind: Kind,
    pub calendar: Calendar,
    cache: Mutex<HashMap<u64, Arc<Model>>>,
    models: Option<Arc<dyn ModelStore>>,
}

impl TreeMember {
    pub fn new(kind: Kind, calendar: Calendar) -> Self {
        TreeMember {
            kind,
            calendar,
            cache: Mutex::new(HashMap::new()),
            models: None,
        }
    }

    /// The member, loading and saving its models in `models`.
    pub fn saving(mut self, models: Option<Arc<dyn ModelStore>>) -> Self {
        self.models = models;
        self
    }

    fn file(&self, key: u64) -> String {
        file_name(self.name(), key, "json")
    }

    /// Loads the model for `key` from the models folder, or fits and saves it.
    fn load_or_fit(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        key: u64,
    ) -> Option<Model> {
        let name = self.file(key);
        if let Some(store) = &self.models
            && let Some(bytes) = store.load(&name)
        {
            match Model::from_json(&bytes) {
                Ok(m) => return Some(m),
                Err(e) => {
                    tracing::warn!(file = %store.describe(&name), error = %e, "unreadable tree model; refitting")
                }
            }
        }
        let started = std::time::Instant::now();
        let model = self.fit(y, ctx, start_hour)?;
        if let Some(store) = &self.models {
            let trained = TrainedModel {
                member: self.name().to_string(),
                key,
                history_hours: y.len(),
                horizons: [1, 48],
                train_seconds: started.elapsed().as_secs_f64(),
                training_loss: None,
            };
            let saved = serde_json::to_vec(&model)
                .map_err(anyhow::Error::from)
                .and_then(|bytes| store.save(&name, &bytes, trained));
            if let Err(e) = saved {
                tracing::warn!(file = %name, error = %e, "cannot save the tree model");
            }
        }
        Some(model)
    }

    fn fit(&self, y: &[f64], ctx: Option<&ClusterContext>, start_hour: i64) -> Option<Model> {
        let min_anchor = 168.min(y.len() / 2).max(24);
        let (x, t) = training_set(y, start_hour, &self.calendar, min_anchor, ctx);
        Model::fit(self.kind, x, t, 8)
    }

    /// The key of the model serving a forecast after `y`: the history of the
    /// week's start, the cluster's series over it, and the feature version.
    fn key(y: &[f64], ctx: Option<&ClusterContext>, start_hour: i64) -> (usize, u64) {
        let e = y.len() / REFIT_HOURS * REFIT_HOURS;
        (e, Self::key_of(y, ctx, start_hour, e))
    }

    /// The key of a model trained on `y[..e]`.
    fn key_of(y: &[f64], ctx: Option<&ClusterContext>, start_hour: i64, e: usize) -> u64 {
        let c = ctx.map(|c| c.fingerprint(e)).unwrap_or(0);
        fingerprint(&y[..e], start_hour) ^ c.rotate_left(17) ^ FEATURES_VERSION
    }

    fn model(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
    ) -> Option<Arc<Model>> {
        // Refit once per week of history: the model of the week's start serves its hours.
        let (e, key) = Self::key(y, ctx, start_hour);
        self.model_keyed(&y[..e], ctx, start_hour, key)
    }

    /// The model `key` from the cache or the models folder, else fitted on `y`.
    fn model_keyed(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        key: u64,
    ) -> Option<Arc<Model>> {
        if let Some(m) = self.cache.lock().ok()?.get(&key) {
            return Some(m.clone());
        }
        let m = Arc::new(self.load_or_fit(y, ctx, start_hour, key)?);
        let mut c = self.cache.lock().ok()?;
        if c.len() > 256 {
            c.clear();
        }
        c.insert(key, m.clone());
        Some(m)
    }

    /// The forecast of `h` hours after `y` by `model`.
    fn predict(
        &self,
        model: &Model,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        h: usize,
    ) -> Option<Vec<f64>> {
        model.forecast(y, ctx, start_hour, h, &self.calendar)
    }
}

impl Member for TreeMember {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Forest => "forest",
            Kind::Boost => "boost",
        }
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
        if y.len() < MIN_HISTORY {
            return None;
        }
        let model = self.model(y, ctx, start_hour)?;
        self.predict(&model, y, ctx, start_hour, h)
    }

    fn point_keyed(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        h: usize,
        key: u64,
        e: usize,
    ) -> Option<Vec<f64>> {
        if y.len() < MIN_HISTORY || e < MIN_HISTORY {
            return None;
        }
        let model = self.model_keyed(&y[..e], ctx, start_hour, key)?;
        self.predict(&model, y, ctx, start_hour, h)
    }

    fn train(&self, y: &[f64], ctx: Option<&ClusterContext>, start_hour: i64) -> Option<u64> {
        if y.len() < MIN_HISTORY {
            return None;
        }
        let key = Self::key_of(y, ctx, start_hour, y.len());
        self.model_keyed(y, ctx, start_hour, key)?;
        Some(key)
    }

    fn file_for(&self, key: u64) -> Option<String> {
        Some(self.file(key))
    }

    fn model_file(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
    ) -> Option<String> {
        self.models.as_ref()?;
        if y.len() < MIN_HISTORY {
            return None;
        }
        Some(self.file(Self::key(y, ctx, start_hour).1))
    }
}
