//! The store's errors: the database and the models folder.

use std::path::PathBuf;

/// What went wrong with the database or the models folder; every message
/// names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the folder {}: {error}", path.display())]
    Folder {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot open the database {}: {error}", path.display())]
    Open {
        path: PathBuf,
        error: rusqlite::Error,
    },
    #[error("cannot migrate the database {}: {error}", path.display())]
    Migrate {
        path: PathBuf,
        error: Box<StoreError>,
    },
    #[error("schema version {have} is newer than this nodecast knows ({known})")]
    TooNew { have: usize, known: usize },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot {doing} {}: {error}", path.display())]
    File {
        doing: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: not a model manifest: {error}", path.display())]
    Manifest {
        path: PathBuf,
        error: serde_json::Error,
    },
    #[error("{0}")]
    Version(String),
    #[error("the model manifest's lock is poisoned (a thread panicked while writing it)")]
    Poisoned,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
