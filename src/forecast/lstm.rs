//! The short-horizon member: an LSTM (candle-nn) over the last two days,
//! predicting the log ratio of each of the next 6 hours to the last hour.
//! CPU only, deterministic (weights initialized from a seeded stream, full
//! batch training), refit once per week of history and cached; weights save
//! as safetensors.

use super::features::ClusterContext;
use super::learned::{log_ratio, reference};
use super::members::Member;
use super::persist::{ModelStore, TrainedModel, file_name};
use super::prepared::fingerprint;
use super::trees::Rng;
use candle_core::{DType, Device, Tensor};
use candle_nn::{
    AdamW, LSTM, Linear, Module, Optimizer, ParamsAdamW, RNN, VarBuilder, VarMap, linear, lstm,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Sets `RAYON_NUM_THREADS` (when unset) to the thread count candle's CPU
/// matrix products use. Without it, candle works that count out again at
/// every product, reading `/proc/cpuinfo` each time (`num_cpus`): 37 830
/// reads in three seconds of the refresh bench, a sixth of its time. The
/// value is the one candle finds, so every product is computed as before
/// (docs/forecasting.md, "Speed").
///
/// # Safety
/// It writes the process environment: call it before any other thread
/// starts (first thing in `main`).
pub unsafe fn settle_matmul_threads() {
    const VAR: &str = "RAYON_NUM_THREADS";
    if std::env::var_os(VAR).is_none() {
        let threads = candle_core::utils::get_num_threads();
        // SAFETY: the caller runs this before any other thread exists.
        unsafe { std::env::set_var(VAR, threads.to_string()) };
    }
}

/// Hours the LSTM reads.
pub const WINDOW: usize = 48;
/// Hours it forecasts.
pub const OUT: usize = 6;
pub const HIDDEN: usize = 16;
const INPUTS: usize = 3;
const EPOCHS: usize = 40;
const MAX_WINDOWS: usize = 384;
/// Refit after this many new hours of history.
pub const REFIT_HOURS: usize = 168;
/// The global LSTM ([`LstmNet::train_across`]): windows per series at
/// most, mini-batch size, passes over the windows, and the clip on the
/// log-ratio targets. Set before any run, not fitted: about 400 windows
/// (the local net's 384) keep a year-long series from outweighing twenty
/// two-week ones.
pub const GLOBAL_WINDOWS_PER_SERIES: usize = 400;
pub const GLOBAL_BATCH: usize = 256;
pub const GLOBAL_EPOCHS: usize = 30;
pub const GLOBAL_CLIP: f64 = 3.0;
/// The global net's hidden units: the local net's. 32 scored worse across
/// series (held-out median MAPE 15.20 / 25.48 % at 1 / 6 h against 13.38 /
/// 19.90 %; docs/experiments.md, 2026-12-02, sixth session).
pub const GLOBAL_HIDDEN: usize = HIDDEN;

pub struct LstmNet {
    pub vars: VarMap,
    lstm: LSTM,
    head: Linear,
}

/// Inputs of the window ending before `t`: value relative to the reference,
/// and the hour of day as sine and cosine.
fn window_inputs(y: &[f64], t: usize, start_hour: i64, out: &mut Vec<f32>) {
    let r = reference(y, t);
    for (k, v) in y.iter().enumerate().take(t).skip(t - WINDOW) {
        let hour = (start_hour + k as i64).rem_euclid(24) as f64 / 24.0 * std::f64::consts::TAU;
        out.push(log_ratio(*v, r) as f32);
        out.push(hour.sin() as f32);
        out.push(hour.cos() as f32);
    }
}

/// Appends training windows of `y` to `xs` (their inputs) and `ts` (the
/// next [`OUT`] hours' log ratios to each window's last hour, clipped to
/// ±`clip`): `max` of them at most, evenly spaced back from the latest.
/// Returns how many.
fn push_windows(
    y: &[f64],
    start_hour: i64,
    (max, clip): (usize, f64),
    xs: &mut Vec<f32>,
    ts: &mut Vec<f32>,
) -> usize {
    let anchors: Vec<usize> = (WINDOW..=y.len().saturating_sub(OUT)).collect();
    let step = anchors.len().div_ceil(max).max(1);
    let mut n = 0;
    for &t in anchors.iter().rev().step_by(step) {
        window_inputs(y, t, start_hour, xs);
        let r = reference(y, t);
        ts.extend((0..OUT).map(|h| log_ratio(y[t + h], r).clamp(-clip, clip) as f32));
        n += 1;
    }
    n
}

impl LstmNet {
    pub fn new(seed: u64) -> candle_core::Result<LstmNet> {
        Self::with_hidden(seed, HIDDEN)
    }

    /// A net of `hidden` units (the local LSTM's is [`HIDDEN`]).
    pub fn with_hidden(seed: u64, hidden: usize) -> candle_core::Result<LstmNet> {
        let vars = VarMap::new();
        let vb = VarBuilder::from_varmap(&vars, DType::F32, &Device::Cpu);
        let lstm = lstm(INPUTS, hidden, Default::default(), vb.pp("lstm"))?;
        let head = linear(hidden, OUT, vb.pp("head"))?;
        // Deterministic initialization: uniform(-1/sqrt(hidden), 1/sqrt(hidden)), names in order.
        let mut rng = Rng::new(seed);
        let k = 1.0 / (hidden as f64).sqrt();
        let data = vars
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("var map poisoned".into()))?;
        let mut names: Vec<&String> = data.keys().collect();
        names.sort();
        for name in names {
            let var = &data[name];
            let n = var.elem_count();
            let vals: Vec<f32> = (0..n)
                .map(|_| {
                    ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32
                        * k as f32
                })
                .collect();
            var.set(&Tensor::from_vec(vals, var.shape(), &Device::Cpu)?)?;
        }
        drop(data);
        Ok(LstmNet { vars, lstm, head })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let states = self.lstm.seq(x)?;
        let last = states
            .last()
            .ok_or_else(|| candle_core::Error::Msg("empty sequence".into()))?;
        self.head.forward(last.h())
    }

    /// AdamW over every weight, at learning rate `lr`, no weight decay.
    fn optimizer(&self, lr: f64) -> candle_core::Result<AdamW> {
        AdamW::new(
            self.vars.all_vars(),
            ParamsAdamW {
                lr,
                weight_decay: 0.0,
                ..Default::default()
            },
        )
    }

    /// Trains on windows of `y`; returns the final mean squared error.
    pub fn train(&self, y: &[f64], start_hour: i64) -> candle_core::Result<f64> {
        let (mut xs, mut ts) = (Vec::new(), Vec::new());
        let b = push_windows(
            y,
            start_hour,
            (MAX_WINDOWS, f64::INFINITY),
            &mut xs,
            &mut ts,
        );
        if b < 16 {
            return Err(candle_core::Error::Msg("too little history".into()));
        }
        let x = Tensor::from_vec(xs, (b, WINDOW, INPUTS), &Device::Cpu)?;
        let target = Tensor::from_vec(ts, (b, OUT), &Device::Cpu)?;
        let mut opt = self.optimizer(0.02)?;
        let mut loss_v = f64::NAN;
        for _ in 0..EPOCHS {
            let loss = (self.forward(&x)? - &target)?.sqr()?.mean_all()?;
            opt.backward_step(&loss)?;
            loss_v = loss.to_scalar::<f32>()? as f64;
        }
        Ok(loss_v)
    }

    /// Trains across many series (`(values, start_hour)` each, per-series
    /// scaled as one series is: log ratios to each window's last hour):
    /// [`GLOBAL_WINDOWS_PER_SERIES`] windows at most from each, shuffled
    /// into mini-batches of [`GLOBAL_BATCH`] from a seeded stream, for
    /// [`GLOBAL_EPOCHS`] passes. Targets are clipped to ±[`GLOBAL_CLIP`]
    /// (a factor of 20) so that the near-zero hours of bursty counters do
    /// not outweigh every other series. Returns the last epoch's mean
    /// squared error.
    pub fn train_across(&self, series: &[(&[f64], i64)], seed: u64) -> candle_core::Result<f64> {
        let (mut xs, mut ts) = (Vec::new(), Vec::new());
        let mut n = 0;
        for (y, start_hour) in series {
            let most = (GLOBAL_WINDOWS_PER_SERIES, GLOBAL_CLIP);
            n += push_windows(y, *start_hour, most, &mut xs, &mut ts);
        }
        if n < GLOBAL_BATCH {
            return Err(candle_core::Error::Msg(
                "too few windows across the series".into(),
            ));
        }
        let mut opt = self.optimizer(0.01)?;
        let mut rng = Rng::new(seed);
        let mut order: Vec<usize> = (0..n).collect();
        let mut loss_v = f64::NAN;
        for _ in 0..GLOBAL_EPOCHS {
            for i in (1..n).rev() {
                order.swap(i, rng.below(i + 1));
            }
            let (mut sum, mut batches) = (0.0, 0);
            for chunk in order.chunks(GLOBAL_BATCH) {
                let mut bx = Vec::with_capacity(chunk.len() * WINDOW * INPUTS);
                let mut bt = Vec::with_capacity(chunk.len() * OUT);
                for &i in chunk {
                    bx.extend_from_slice(&xs[i * WINDOW * INPUTS..(i + 1) * WINDOW * INPUTS]);
                    bt.extend_from_slice(&ts[i * OUT..(i + 1) * OUT]);
                }
                let x = Tensor::from_vec(bx, (chunk.len(), WINDOW, INPUTS), &Device::Cpu)?;
                let target = Tensor::from_vec(bt, (chunk.len(), OUT), &Device::Cpu)?;
                let loss = (self.forward(&x)? - &target)?.sqr()?.mean_all()?;
                opt.backward_step(&loss)?;
                sum += loss.to_scalar::<f32>()? as f64;
                batches += 1;
            }
            loss_v = sum / batches as f64;
        }
        Ok(loss_v)
    }

    /// The next `OUT` hours after `y` (an error with fewer than [`WINDOW`]
    /// hours).
    pub fn predict(&self, y: &[f64], start_hour: i64) -> candle_core::Result<Vec<f64>> {
        if y.len() < WINDOW {
            return Err(candle_core::Error::Msg(format!(
                "{} hours; the LSTM reads {WINDOW}",
                y.len()
            )));
        }
        let mut xs = Vec::with_capacity(WINDOW * INPUTS);
        window_inputs(y, y.len(), start_hour, &mut xs);
        let x = Tensor::from_vec(xs, (1, WINDOW, INPUTS), &Device::Cpu)?;
        let out: Vec<f32> = self.forward(&x)?.flatten_all()?.to_vec1()?;
        let r = reference(y, y.len());
        Ok(out
            .iter()
            .map(|v| (*v as f64).clamp(-5.0, 5.0).exp() * r)
            .collect())
    }

    /// [`predict`](Self::predict), none without a full window or unless
    /// every value is finite.
    pub fn forecast(&self, y: &[f64], start_hour: i64) -> Option<Vec<f64>> {
        let p = self.predict(y, start_hour).ok()?;
        p.iter().all(|v| v.is_finite()).then_some(p)
    }

    /// The weights as a safetensors file (the bytes `VarMap::save` writes).
    pub fn to_bytes(&self) -> candle_core::Result<Vec<u8>> {
        let data = self
            .vars
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("LSTM weights lock poisoned".into()))?;
        let tensors: Vec<(String, Tensor)> = data
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        safetensors::tensor::serialize(tensors.iter().map(|(k, t)| (k.as_str(), t)), None)
            .map_err(|e| candle_core::Error::Msg(format!("safetensors: {e}")))
    }

    /// A net from a safetensors file's bytes; every weight must be present.
    /// Its size is the stored head's width.
    pub fn from_bytes(bytes: &[u8]) -> candle_core::Result<LstmNet> {
        let stored = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)?;
        let hidden = stored
            .get("head.weight")
            .ok_or_else(|| candle_core::Error::Msg("no weight head.weight".into()))?
            .dims2()?
            .1;
        let net = LstmNet::with_hidden(0, hidden)?;
        {
            let data = net
                .vars
                .data()
                .lock()
                .map_err(|_| candle_core::Error::Msg("LSTM weights lock poisoned".into()))?;
            for (name, var) in data.iter() {
                let t = stored
                    .get(name)
                    .ok_or_else(|| candle_core::Error::Msg(format!("no weight {name}")))?;
                var.set(t)?;
            }
        }
        Ok(net)
    }
}

/// The LSTM as an ensemble member for horizons 1-6.
#[derive(Default)]
pub struct LstmMember {
    cache: Mutex<HashMap<u64, Arc<LstmNet>>>,
    models: Option<Arc<dyn ModelStore>>,
}

impl LstmMember {
    /// A member that loads and saves its nets in `models`.
    pub fn new(models: Option<Arc<dyn ModelStore>>) -> Self {
        LstmMember {
            cache: Mutex::new(HashMap::new()),
            models,
        }
    }

    /// The history the net serving a forecast after `y` is trained on.
    fn training_end(y: &[f64]) -> usize {
        let e = y.len() / REFIT_HOURS * REFIT_HOURS;
        if e < 5 * 24 { y.len() } else { e }
    }

    /// The net `key` from the cache or the models folder, else trained on `y`.
    fn net(&self, y: &[f64], start_hour: i64, key: u64) -> Option<Arc<LstmNet>> {
        if let Some(n) = self.cache.lock().ok()?.get(&key).cloned() {
            return Some(n);
        }
        let net = Arc::new(self.load_or_train(y, start_hour, key)?);
        let mut c = self.cache.lock().ok()?;
        if c.len() > 64 {
            c.clear();
        }
        c.insert(key, net.clone());
        Some(net)
    }

    /// Loads the net for `key` from the models folder, or trains and saves it.
    fn load_or_train(&self, y: &[f64], start_hour: i64, key: u64) -> Option<LstmNet> {
        let name = file_name("lstm", key, "safetensors");
        if let Some(store) = &self.models
            && let Some(bytes) = store.load(&name)
        {
            match LstmNet::from_bytes(&bytes) {
                Ok(net) => return Some(net),
                Err(e) => {
                    tracing::warn!(file = %store.describe(&name), error = %e, "unreadable LSTM model; retraining")
                }
            }
        }
        let started = std::time::Instant::now();
        let net = LstmNet::new(42).ok()?;
        let loss = net.train(y, start_hour).ok()?;
        if let Some(store) = &self.models {
            let trained = TrainedModel {
                member: "lstm".into(),
                key,
                history_hours: y.len(),
                horizons: [1, OUT],
                train_seconds: started.elapsed().as_secs_f64(),
                training_loss: Some(loss),
            };
            let saved = net
                .to_bytes()
                .map_err(anyhow::Error::from)
                .and_then(|bytes| store.save(&name, &bytes, trained));
            if let Err(e) = saved {
                tracing::warn!(file = %store.describe(&name), error = %e, "cannot save the LSTM model");
            }
        }
        Some(net)
    }
}

impl Member for LstmMember {
    fn name(&self) -> &'static str {
        "lstm"
    }
    fn tracks_level(&self) -> bool {
        true
    }

    fn point(&self, y: &[f64], start_hour: i64, _h: usize) -> Option<Vec<f64>> {
        if y.len() < 5 * 24 {
            return None;
        }
        let e = Self::training_end(y);
        let key = fingerprint(&y[..e], start_hour);
        self.net(&y[..e], start_hour, key)?.forecast(y, start_hour)
    }

    fn point_keyed(
        &self,
        y: &[f64],
        _ctx: Option<&ClusterContext>,
        start_hour: i64,
        _h: usize,
        key: u64,
        e: usize,
    ) -> Option<Vec<f64>> {
        if y.len() < 5 * 24 || e < 5 * 24 {
            return None;
        }
        self.net(&y[..e], start_hour, key)?.forecast(y, start_hour)
    }

    fn train(&self, y: &[f64], _ctx: Option<&ClusterContext>, start_hour: i64) -> Option<u64> {
        if y.len() < 5 * 24 {
            return None;
        }
        let key = fingerprint(y, start_hour);
        self.net(y, start_hour, key)?;
        Some(key)
    }

    fn file_for(&self, key: u64) -> Option<String> {
        Some(file_name("lstm", key, "safetensors"))
    }

    fn model_file(
        &self,
        y: &[f64],
        _ctx: Option<&ClusterContext>,
        start_hour: i64,
    ) -> Option<String> {
        self.models.as_ref()?;
        if y.len() < 5 * 24 {
            return None;
        }
        let e = Self::training_end(y);
        Some(file_name(
            "lstm",
            fingerprint(&y[..e], start_hour),
            "safetensors",
        ))
    }
}
