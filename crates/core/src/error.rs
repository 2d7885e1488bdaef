//! The service layer's error, and its form on the IPC boundary.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Everything an operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A folder was opened as a project but holds no `grimoire.db`.
    #[error("{0} is not a Grimoire project (it has no grimoire.db); create a project there or pick another folder")]
    NotAProject(PathBuf),
    /// A path that should exist does not.
    #[error("{0} does not exist")]
    NotFound(PathBuf),
    /// A project was to be created where one already is.
    #[error("{0} already holds a Grimoire project; open it instead")]
    ProjectExists(PathBuf),
    /// The folder or file cannot be written.
    #[error("{path} is read-only: {reason}; copy the project to a folder you can write to")]
    ReadOnly {
        /// The folder or file.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The caller's input is not acceptable.
    #[error("{0}")]
    InvalidInput(String),
    /// A job or operation was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A downloaded or installed file does not have the expected content.
    #[error("{path} has SHA-256 {found}, expected {expected}; the file is damaged or not the one Grimoire ships")]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// Its digest.
        found: String,
        /// The expected digest.
        expected: String,
    },
    /// A model archive is unusable.
    #[error("{path}: {reason}")]
    BadArchive {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS's reason.
        #[source]
        source: std::io::Error,
    },
    /// A book could not be read or analysed.
    #[error(transparent)]
    Corpus(grimoire_corpus::CorpusError),
    /// A model could not be loaded or run.
    #[error(transparent)]
    Model(grimoire_llm::Error),
    /// The project store failed.
    #[error(transparent)]
    Store(#[from] grimoire_store::Error),
    /// A teacher model could not be reached, refused, or its settings cannot work.
    #[error(transparent)]
    Teacher(grimoire_teacher::Error),
    /// A training run could not start or failed.
    #[error(transparent)]
    Train(grimoire_train::Error),
    /// A run could not be evaluated (a plot or a stored report failed).
    #[error(transparent)]
    Eval(grimoire_eval::Error),
    /// A stored or received document is not valid JSON of the expected shape.
    #[error("{what}: {source}")]
    Json {
        /// What was being read.
        what: String,
        /// The parser's reason.
        #[source]
        source: serde_json::Error,
    },
}

/// The service layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with its path, recognising read-only media and permissions.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        match source.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                Error::ReadOnly { path, reason: source.to_string() }
            }
            _ => Error::Io { path, source },
        }
    }

    /// The code the UI acts on.
    pub fn code(&self) -> ErrorCode {
        use grimoire_store::Error as S;
        match self {
            Error::NotAProject(_) => ErrorCode::NotAProject,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::ProjectExists(_) => ErrorCode::AlreadyExists,
            Error::ReadOnly { .. } => ErrorCode::ReadOnly,
            Error::InvalidInput(_) | Error::Json { .. } => ErrorCode::InvalidInput,
            Error::Cancelled => ErrorCode::Cancelled,
            Error::HashMismatch { .. } | Error::BadArchive { .. } => ErrorCode::BadFile,
            Error::Io { .. } => ErrorCode::Io,
            Error::Corpus(_) => ErrorCode::BadFile,
            Error::Model(_) => ErrorCode::Model,
            Error::Teacher(grimoire_teacher::Error::Template(_) | grimoire_teacher::Error::Invalid(_)) => ErrorCode::InvalidInput,
            Error::Teacher(_) => ErrorCode::Teacher,
            Error::Train(grimoire_train::Error::Data(_) | grimoire_train::Error::Config(_)) => ErrorCode::InvalidInput,
            Error::Train(grimoire_train::Error::Llm(_)) => ErrorCode::Model,
            Error::Train(_) => ErrorCode::Internal,
            Error::Eval(grimoire_eval::Error::Json { .. }) => ErrorCode::BadFile,
            Error::Eval(_) => ErrorCode::Internal,
            Error::Store(e) if e.is_read_only() => ErrorCode::ReadOnly,
            Error::Store(S::NotADatabase(_)) => ErrorCode::NotAProject,
            Error::Store(S::Corrupt { .. }) => ErrorCode::ProjectDamaged,
            Error::Store(S::NewerSchema { .. }) => ErrorCode::NewerVersion,
            Error::Store(S::Missing { .. }) => ErrorCode::NotFound,
            Error::Store(_) => ErrorCode::Internal,
        }
    }

    /// The form this error takes across the IPC boundary.
    pub fn to_api(&self) -> ApiError {
        ApiError { code: self.code(), message: self.to_string() }
    }
}

/// The kinds of failure the UI treats differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The folder is not a project.
    NotAProject,
    /// The project's database is damaged.
    ProjectDamaged,
    /// The project comes from a newer Grimoire.
    NewerVersion,
    /// The folder or file cannot be written.
    ReadOnly,
    /// Something named does not exist.
    NotFound,
    /// Something to be created already exists.
    AlreadyExists,
    /// The input was refused.
    InvalidInput,
    /// A file is not what it should be.
    BadFile,
    /// The work was cancelled.
    Cancelled,
    /// Reading or writing a file failed.
    Io,
    /// A model could not be loaded or run.
    Model,
    /// A teacher's server could not be reached or refused (wrong address, key or model), or no
    /// keyring: the teacher's settings are where to look.
    Teacher,
    /// A bug or an unexpected failure.
    Internal,
}

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// A readable sentence for the user.
    pub message: String,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        e.to_api()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}
