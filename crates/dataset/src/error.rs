use std::path::PathBuf;

/// Everything that can go wrong in the data set crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] grimoire_store::Error),
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS's reason.
        #[source]
        source: std::io::Error,
    },
    /// Writing to or reading from a stream failed.
    #[error("i/o failed: {0}")]
    Stream(#[source] std::io::Error),
    /// The validation fraction is outside `0.0..1.0`.
    #[error("the validation fraction must be at least 0 and below 1, not {0}")]
    BadFraction(f64),
    /// A filter expression could not be read.
    #[error("cannot read the filter {term:?}: {reason}")]
    BadFilter {
        /// The term that failed.
        term: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The data set crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
