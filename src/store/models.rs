//! Trained models on disk: the folder that implements the forecaster's
//! [`ModelStore`]. Each learned member's model is stored under the hash of
//! the history it was trained on (the same key as the in-memory cache): the
//! LSTM as safetensors, the trees as JSON, and `manifest.json` lists every
//! file with its data hash, history hours, horizons, training time and
//! loss, and the member's latest rolling validation sMAPE.
//!
//! A model directory is written to; read-only directories behind it (the
//! pretrained demo models shipped in `models/`) are searched after it.

use super::error::{Result, StoreError};
use crate::forecast::persist::{MANIFEST, Manifest, ModelEntry, ModelStore, TrainedModel};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|error| StoreError::Manifest { path, error })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
        Err(error) => Err(StoreError::File {
            doing: "read",
            path,
            error,
        }),
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a
/// crash leaves the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |error| StoreError::File {
            doing: "write",
            path,
            error,
        }
    };
    std::fs::write(&tmp, bytes).map_err(failed(&tmp))?;
    std::fs::rename(&tmp, path).map_err(failed(path))
}

/// Whether the model file of `e` belongs to a champion model version (kept
/// whatever its age).
fn serving(m: &Manifest, e: &ModelEntry) -> bool {
    m.versions.iter().any(|v| {
        v.status == crate::forecast::persist::VersionStatus::Champion
            && v.pin
                .keys
                .values()
                .any(|k| format!("{k:016x}") == e.data_hash)
    })
}

impl ModelDir {
    /// Opens (creating) `write`, with `read_only` directories searched after it.
    pub fn open(write: &Path, read_only: Vec<PathBuf>) -> Result<ModelDir> {
        std::fs::create_dir_all(write).map_err(|error| StoreError::Folder {
            path: write.to_path_buf(),
            error,
        })?;
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

    /// Records a model file written under [`ModelDir::path`].
    fn register(&self, name: &str, entry: ModelEntry) -> Result<()> {
        let mut m = self.manifest_mut()?;
        m.models.insert(name.to_string(), entry);
        // Over the limit: the oldest trained models and their files go.
        if m.models.len() > self.keep {
            let mut by_age: Vec<(DateTime<Utc>, String)> = m
                .models
                .iter()
                .filter(|(n, e)| n.as_str() != name && !serving(&m, e))
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

    fn record(&self, name: &str, smape: BTreeMap<String, f64>) -> Result<()> {
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

    pub fn manifest(&self) -> Manifest {
        self.reading(Manifest::clone)
    }

    /// What `f` reads from the manifest, without copying the whole of it
    /// (an empty manifest if its lock is poisoned).
    pub fn reading<T>(&self, f: impl FnOnce(&Manifest) -> T) -> T {
        match self.manifest.lock() {
            Ok(m) => f(&m),
            Err(_) => f(&Manifest::default()),
        }
    }

    pub(super) fn manifest_mut(&self) -> Result<std::sync::MutexGuard<'_, Manifest>> {
        self.manifest.lock().map_err(|_| StoreError::Poisoned)
    }

    pub(super) fn flush(&self, m: &Manifest) -> Result<()> {
        let text = serde_json::to_string_pretty(m).map_err(|error| StoreError::Manifest {
            path: self.write.join(MANIFEST),
            error,
        })?;
        write_atomic(&self.write.join(MANIFEST), text.as_bytes())
    }
}

impl ModelStore for ModelDir {
    fn load(&self, name: &str) -> Option<Vec<u8>> {
        let path = self.locate(name)?;
        match std::fs::read(&path) {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read a model file");
                None
            }
        }
    }

    fn save(&self, name: &str, bytes: &[u8], model: TrainedModel) -> anyhow::Result<()> {
        write_atomic(&self.write.join(name), bytes)?;
        Ok(self.register(
            name,
            ModelEntry {
                member: model.member,
                data_hash: format!("{:016x}", model.key),
                history_hours: model.history_hours,
                horizons: model.horizons,
                trained_at: Utc::now(),
                train_seconds: (model.train_seconds * 1000.0).round() / 1000.0,
                training_loss: model.training_loss,
                validation_smape: BTreeMap::new(),
            },
        )?)
    }

    fn record_validation(&self, name: &str, smape: BTreeMap<String, f64>) -> anyhow::Result<()> {
        Ok(self.record(name, smape)?)
    }

    fn describe(&self, name: &str) -> String {
        self.write.join(name).display().to_string()
    }
}

/// The models folder `models_dir`; the demo also reads the pretrained
/// models shipped in the project's `models/demo`, searched after it.
pub fn open_models(models_dir: &Path, demo: bool) -> Result<ModelDir> {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo");
    let read_only = if demo && shipped.is_dir() && shipped != models_dir {
        vec![shipped]
    } else {
        Vec::new()
    };
    ModelDir::open(models_dir, read_only)
}

/// Reads the global models in `dir` (its manifest and the files it names);
/// errors name the folder and the file.
pub fn read_global(dir: &Path) -> anyhow::Result<crate::forecast::global::GlobalModels> {
    use crate::forecast::global::{GLOBAL_MANIFEST, GlobalModels};
    let manifest = dir.join(GLOBAL_MANIFEST);
    let bytes = std::fs::read(&manifest)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", manifest.display()))?;
    GlobalModels::parse(&bytes, |name| std::fs::read(dir.join(name)).ok())
        .map_err(|e| anyhow::anyhow!("global models in {}: {e}", dir.display()))
}

/// Writes the global models into `dir` (created), each file atomically,
/// the manifest last.
pub fn write_global(
    dir: &Path,
    models: &crate::forecast::global::GlobalModels,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|error| StoreError::Folder {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut files = models.files()?;
    // The manifest comes first in the list: write it after the models.
    files.rotate_left(1);
    for (name, bytes) in files {
        write_atomic(&dir.join(name), &bytes)?;
    }
    Ok(())
}
