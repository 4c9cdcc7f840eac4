//! Trained models as the forecaster sees them: the [`ModelStore`] trait the
//! learned members load and save through (passed in, so the members do no
//! I/O themselves), and the manifest's entries. The folder on disk that
//! implements it is `crate::store::models::ModelDir`.

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
