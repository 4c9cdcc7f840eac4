//! Trained models on disk. Each learned member's model is stored under the
//! hash of the history it was trained on (the same key as the in-memory
//! cache): the LSTM as safetensors, the trees as JSON, and `manifest.json`
//! lists every file with its data hash, history hours, horizons, training
//! time and loss, and the member's latest rolling validation sMAPE.
//!
//! A model directory is written to; read-only directories behind it (the
//! pretrained demo models shipped in `models/`) are searched after it.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

/// Where models are written and looked up.
pub struct ModelDir {
    write: PathBuf,
    read_only: Vec<PathBuf>,
    manifest: Mutex<Manifest>,
    /// Model files kept at most; the oldest trained go first.
    keep: usize,
}

/// Model files a folder keeps by default (a cluster's series refit weekly;
/// a new cluster's LSTM refits hourly through its first days).
pub const KEEP_MODELS: usize = 2000;

/// File name of a member's model for a data hash.
pub fn file_name(member: &str, key: u64, ext: &str) -> String {
    format!("{member}-{key:016x}.{ext}")
}

pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{}: not a model manifest", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a
/// crash leaves the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

impl ModelDir {
    /// Opens (creating) `write`, with `read_only` directories searched after it.
    pub fn open(write: &Path, read_only: Vec<PathBuf>) -> Result<ModelDir> {
        std::fs::create_dir_all(write)
            .with_context(|| format!("cannot create the models folder {}", write.display()))?;
        let manifest = read_manifest(write)?;
        Ok(ModelDir {
            write: write.to_path_buf(),
            read_only,
            manifest: Mutex::new(manifest),
            keep: KEEP_MODELS,
        })
    }

    /// The folder keeping at most `keep` model files.
    pub fn keeping(mut self, keep: usize) -> Self {
        self.keep = keep.max(1);
        self
    }

    pub fn path(&self) -> &Path {
        &self.write
    }

    /// The model file `name` in the write directory. One found only in a
    /// read-only directory (a pretrained model) is copied in first, with its
    /// manifest entry.
    pub fn locate(&self, name: &str) -> Option<PathBuf> {
        let own = self.write.join(name);
        if own.exists() {
            return Some(own);
        }
        let (dir, src) = self
            .read_only
            .iter()
            .map(|d| (d, d.join(name)))
            .find(|(_, p)| p.exists())?;
        let bytes = std::fs::read(&src).ok()?;
        write_atomic(&own, &bytes).ok()?;
        if let Ok(other) = read_manifest(dir)
            && let Some(e) = other.models.get(name)
            && let Ok(mut m) = self.manifest.lock()
        {
            m.models.insert(name.to_string(), e.clone());
            let _ = self.flush(&m);
        }
        Some(own)
    }

    /// Writes a model file and records it in the manifest.
    pub fn save(&self, name: &str, bytes: &[u8], entry: ModelEntry) -> Result<()> {
        write_atomic(&self.write.join(name), bytes)?;
        self.register(name, entry)
    }

    /// Records a model file already written under [`ModelDir::path`].
    pub fn register(&self, name: &str, entry: ModelEntry) -> Result<()> {
        let mut m = self.manifest_mut()?;
        m.models.insert(name.to_string(), entry);
        // Over the limit: the oldest trained models and their files go.
        if m.models.len() > self.keep {
            let mut by_age: Vec<(DateTime<Utc>, String)> = m
                .models
                .iter()
                .filter(|(n, _)| n.as_str() != name)
                .map(|(n, e)| (e.trained_at, n.clone()))
                .collect();
            by_age.sort();
            let excess = m.models.len() - self.keep;
            for (_, old) in by_age.into_iter().take(excess) {
                m.models.remove(&old);
                if let Err(e) = std::fs::remove_file(self.write.join(&old)) {
                    tracing::warn!(file = %old, error = %e, "cannot remove an old model");
                }
            }
        }
        self.flush(&m)
    }

    /// Records a member's rolling validation sMAPE against its model file.
    pub fn record_validation(&self, name: &str, smape: BTreeMap<String, f64>) -> Result<()> {
        let mut m = self.manifest_mut()?;
        let Some(e) = m.models.get_mut(name) else {
            return Ok(());
        };
        if e.validation_smape == smape {
            return Ok(());
        }
        e.validation_smape = smape;
        self.flush(&m)
    }

    /// An entry for a model just trained on `history_hours` hours.
    pub fn entry(
        member: &str,
        key: u64,
        history_hours: usize,
        horizons: [usize; 2],
        started: std::time::Instant,
        training_loss: Option<f64>,
    ) -> ModelEntry {
        ModelEntry {
            member: member.to_string(),
            data_hash: format!("{key:016x}"),
            history_hours,
            horizons,
            trained_at: Utc::now(),
            train_seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            training_loss,
            validation_smape: BTreeMap::new(),
        }
    }

    pub fn manifest(&self) -> Manifest {
        self.manifest.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn manifest_mut(&self) -> Result<std::sync::MutexGuard<'_, Manifest>> {
        self.manifest
            .lock()
            .map_err(|_| anyhow::anyhow!("model manifest lock poisoned"))
    }

    fn flush(&self, m: &Manifest) -> Result<()> {
        let text = serde_json::to_string_pretty(m)?;
        write_atomic(&self.write.join(MANIFEST), text.as_bytes())
    }
}
