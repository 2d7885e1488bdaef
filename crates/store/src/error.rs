use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not a SQLite database, or not one of Grimoire's.
    #[error("{0} is not a Grimoire project database")]
    NotADatabase(PathBuf),
    /// The file is a SQLite database but damaged (truncated, overwritten...).
    #[error("the project database {path} is damaged ({detail}); it was left untouched")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        detail: String,
    },
    /// The database was written by a newer Grimoire.
    #[error(
        "the project database {path} has schema version {found}, but this Grimoire understands up to {supported}: update Grimoire to open it"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A database was to be created where a file already exists.
    #[error("{0} already exists")]
    AlreadyExists(PathBuf),
    /// SQLite could not open the file.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        #[source]
        source: rusqlite::Error,
    },
    /// Reading the file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS's reason.
        #[source]
        source: std::io::Error,
    },
    /// A row that should exist does not.
    #[error("{what} {id} does not exist")]
    Missing {
        /// The kind of row.
        what: &'static str,
        /// Its id.
        id: i64,
    },
    /// A stored value could not be read back.
    #[error("stored value is malformed: {0}")]
    Malformed(String),
    /// Any other SQLite failure.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the underlying cause is a read-only file or folder.
    pub fn is_read_only(&self) -> bool {
        let sqlite_ro = |e: &rusqlite::Error| {
            matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::PermissionDenied))
        };
        match self {
            Error::Open { source, .. } => sqlite_ro(source),
            Error::Sqlite(e) => sqlite_ro(e),
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::PermissionDenied,
            _ => false,
        }
    }
}
