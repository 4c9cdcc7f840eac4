//! Trained models as the forecaster sees them: the [`ModelStore`] trait the
//! learned members load and save through (passed in, so the members do no
//! I/O themselves), and the manifest's entries. The folder on disk that
//! implements it is `crate::store::models::ModelDir`.

use crate::domain::HorizonMix;
use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub member: String,
    /// Hash of the training history (values and first hour), hex.
    pub data_hash: String,
    pub history_hours: usize,
    /// First and last horizon the model serves.
    pub horizons: [usize; 2],
    pub trained_at: DateTime<Utc>,
    pub train_seconds: f64,
    /// Final training loss (LSTM: MSE of log ratios), when the trainer reports one.
    pub training_loss: Option<f64>,
    /// The member's sMAPE (%) by horizon on the rolling validation origins of
    /// the latest forecast that used this model.
    #[serde(default)]
    pub validation_smape: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// File name (relative to the directory) -> entry.
    pub models: BTreeMap<String, ModelEntry>,
    /// Every model version trained as a challenger, oldest first.
    #[serde(default)]
    pub versions: Vec<ModelVersion>,
}

/// Where a model version stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionStatus {
    /// Serves its cluster's series.
    Champion,
    /// Served once; a later version replaced it.
    Retired,
    /// Scored no better than the champion on its held-back window.
    Rejected,
    /// Served until an operator rolled it back.
    RolledBack,
}

impl VersionStatus {
    pub fn key(self) -> &'static str {
        match self {
            VersionStatus::Champion => "champion",
            VersionStatus::Retired => "retired",
            VersionStatus::Rejected => "rejected",
            VersionStatus::RolledBack => "rolled-back",
        }
    }
}

/// One model version of a cluster's series: the learned members' models
/// trained on the hours before `trained_through`, and the contest that
/// decided whether it serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub version: u32,
    pub cluster: String,
    pub series: String,
    /// Trained on the hours before this one.
    pub trained_through: DateTime<Utc>,
    /// Hours of history trained on.
    pub trained_hours: usize,
    /// The member -> model key each learned member serves with.
    pub pin: Pin,
    /// Why it was trained (schedule or drift).
    pub trigger: String,
    /// The held-back window it was judged on, `[from, to)`.
    pub held_back: [DateTime<Utc>; 2],
    /// The champion it was judged against (`None`: the weekly models).
    pub against: Option<u32>,
    /// MAPE (%) on the held-back window.
    pub champion_mape: Option<f64>,
    pub challenger_mape: Option<f64>,
    /// Scored (origin, hour) pairs behind each MAPE.
    pub scored: usize,
    /// The ensemble's member weights by horizon with this version's models
    /// at the held-back window's end (the refresh recomputes them hourly).
    #[serde(default)]
    pub weights: Vec<HorizonMix>,
    pub created_at: DateTime<Utc>,
    pub promoted_at: Option<DateTime<Utc>>,
    pub status: VersionStatus,
}

pub const MANIFEST: &str = "manifest.json";

/// A model just trained, as a member hands it to the store (the store stamps
/// the training time).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedModel {
    pub member: String,
    /// Hash of the training history (values and first hour).
    pub key: u64,
    pub history_hours: usize,
    /// First and last horizon the model serves.
    pub horizons: [usize; 2],
    pub train_seconds: f64,
    /// Final training loss, when the trainer reports one.
    pub training_loss: Option<f64>,
}

/// Where the learned members keep their trained models, by file name.
pub trait ModelStore: Send + Sync {
    /// The bytes of model file `name`, if the store has it.
    fn load(&self, name: &str) -> Option<Vec<u8>>;
    /// Stores model file `name` and records it in the manifest.
    fn save(&self, name: &str, bytes: &[u8], model: TrainedModel) -> Result<()>;
    /// Records a member's rolling validation sMAPE (% by horizon) against
    /// the model file that served it.
    fn record_validation(&self, name: &str, smape: BTreeMap<String, f64>) -> Result<()>;
    /// Where a model file lives, for log lines.
    fn describe(&self, name: &str) -> String {
        name.to_string()
    }
}

/// File name of a member's model for a data hash.
pub fn file_name(member: &str, key: u64, ext: &str) -> String {
    format!("{member}-{key:016x}.{ext}")
}

/// The trained models a model version serves with: the learned members'
/// model keys (file `member-<key>.<ext>`), all trained on the hours before
/// `through` (a unix hour). At origins from `through` on, the learned
/// members serve these models; before it (the ensemble's validation
/// origins) they serve the weekly models, never trained on the hours they
/// are validated on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pin {
    pub through: i64,
    pub keys: BTreeMap<String, u64>,
}

impl Pin {
    /// Whether the pin's models serve a forecast after `n` hours from `start_hour`.
    pub fn serves(&self, start_hour: i64, n: usize) -> bool {
        start_hour + n as i64 >= self.through
    }

    /// The hours of a history from `start_hour` the models were trained on.
    pub fn trained_hours(&self, start_hour: i64) -> Option<usize> {
        usize::try_from(self.through - start_hour).ok()
    }

    /// The model key of `member` and the hours it was trained on, when the
    /// pin serves a forecast after `n` hours from `start_hour` (`None`:
    /// the weekly model serves).
    pub fn serving(&self, member: &str, start_hour: i64, n: usize) -> Option<(u64, usize)> {
        let key = self.keys.get(member)?;
        let trained = self.trained_hours(start_hour).filter(|e| *e <= n)?;
        self.serves(start_hour, n).then_some((*key, trained))
    }

    /// A hash of the pin (part of cache keys).
    pub fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0x9e3779b97f4a7c15 ^ self.through as u64;
        for (m, k) in &self.keys {
            for b in m.bytes() {
                h = (h ^ b as u64).wrapping_mul(0x100000001b3);
            }
            h = (h ^ k).wrapping_mul(0x100000001b3);
        }
        h
    }
}
