//! The crate's one error type.

use std::path::PathBuf;

/// Everything an evaluation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model runtime failed (loading, tokenising, generating).
    #[error(transparent)]
    Llm(#[from] grimoire_llm::Error),
    /// Scoring through the training network failed.
    #[error(transparent)]
    Train(#[from] grimoire_train::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file is malformed.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The run folder or the book data cannot be evaluated (no adapter, no validation set,
    /// persona never speaks...).
    #[error("{0}")]
    Invalid(String),
    /// A plot could not be drawn.
    #[error("plot {path}: {problem}")]
    Plot {
        /// The PNG.
        path: PathBuf,
        /// What failed.
        problem: String,
    },
    /// The evaluation was cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
