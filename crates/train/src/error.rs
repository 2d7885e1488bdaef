//! The crate's one error type.

use std::path::PathBuf;

/// Everything training can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model runtime failed (loading, tokenising, rendering the template).
    #[error(transparent)]
    Llm(#[from] grimoire_llm::Error),
    /// A tensor operation failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file or line is malformed.
    #[error("{path}{}: {source}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line, for JSON Lines.
        line: Option<usize>,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The data set cannot be trained on (empty, no assistant turn...).
    #[error("data: {0}")]
    Data(String),
    /// The configuration is inconsistent.
    #[error("configuration: {0}")]
    Config(String),
    /// A checkpoint or adapter in the run folder does not fit this run.
    #[error("{path}: {problem}")]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The plot could not be drawn.
    #[error("plot {path}: {problem}")]
    Plot {
        /// The PNG.
        path: PathBuf,
        /// What failed.
        problem: String,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
