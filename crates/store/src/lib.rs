//! The project store: one SQLite file (`grimoire.db`) per project.
//!
//! A project's database is opened in WAL mode so that a running job and a person's edits can write at
//! the same time. Its schema moves forward through numbered migrations recorded in
//! `PRAGMA user_version`; a file written by a newer Grimoire is refused rather than touched, and a file
//! that is not a healthy SQLite database is detected *before* anything is written to it.
//!
//! One module per table, each holding its migration next to its queries.

mod error;
mod migrate;
pub mod table;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use error::{Error, Result};
pub use migrate::SCHEMA_VERSION;
pub use table::books::{Book, BookSummary, NewBook};
pub use table::jobs::{Job, JobStatus};
pub use table::meta::ProjectMeta;

/// The file name of a project's database inside its folder.
pub const DB_FILE: &str = "grimoire.db";

/// An open connection to one project's database.
///
/// Cheap to open; each thread (the UI's command handler, every job) opens its own.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Creates a new database at `path`, which must not exist yet, and applies every migration.
    pub fn create(path: &Path) -> Result<Self> {
        if path.exists() {
            return Err(Error::AlreadyExists(path.to_path_buf()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| Error::Open { path: path.to_path_buf(), source })?;
        let mut store = Self { conn, path: path.to_path_buf() };
        store.configure()?;
        migrate::apply(&mut store.conn)?;
        Ok(store)
    }

    /// Opens an existing database, checking it read-only first, then migrating it forward.
    ///
    /// Nothing is written to a file that is not a Grimoire database, is damaged, or comes from a newer
    /// version of Grimoire.
    pub fn open(path: &Path) -> Result<Self> {
        Self::check(path)?;
        Self::open_checked(path)
    }

    /// [`Store::open`] for a caller that has just run [`Store::check`] on `path` itself (the check
    /// reads the whole file: over a second for a 250 MB project).
    pub fn open_checked(path: &Path) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| Error::Open { path: path.to_path_buf(), source })?;
        let mut store = Self { conn, path: path.to_path_buf() };
        store.configure()?;
        migrate::apply(&mut store.conn)?;
        Ok(store)
    }

    /// Opens another connection to a database that [`Store::open`] or [`Store::create`] already
    /// checked and migrated (for a job's thread).
    pub fn reopen(&self) -> Result<Self> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| Error::Open { path: self.path.clone(), source })?;
        let store = Self { conn, path: self.path.clone() };
        store.configure()?;
        Ok(store)
    }

    fn configure(&self) -> Result<()> {
        self.conn.busy_timeout(Duration::from_secs(10))?;
        // WAL lets a job write while a person edits; NORMAL sync is durable at every checkpoint and
        // never corrupts the file, which is what a desktop app wants.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    /// Stops this connection from copying the WAL back into the database after its own commits.
    ///
    /// SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages, so one
    /// edit in a few hundred waited 50 ms for it (issue 4's bench). A connection a person waits on
    /// defers it and leaves the copying to a [`Checkpointer`] on another thread. The WAL is also
    /// copied back when the last connection closes.
    pub fn defer_checkpoints(&self) -> Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    /// A connection of its own that copies this database's WAL back into it.
    pub fn checkpointer(&self) -> Result<Checkpointer> {
        let conn = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|source| Error::Open { path: self.path.clone(), source })?;
        conn.busy_timeout(Duration::from_millis(100))?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(Checkpointer { conn })
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw connection, for the table modules.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The schema version of this database.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self.conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// Runs `PRAGMA integrity_check` and returns its verdict (`"ok"` when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.pragma_query_value(None, "integrity_check", |row| row.get(0))?)
    }
}

impl Store {
    /// Checks, through a read-only connection, that `path` is a healthy SQLite database whose schema
    /// this version understands. Writes nothing.
    pub fn check(path: &Path) -> Result<()> {
        check_readable(path)
    }
}

/// Copies a project's write-ahead log back into its database, off the path of any commit.
#[derive(Debug)]
pub struct Checkpointer {
    conn: Connection,
}

/// What one checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Whether a writer or reader held it back from finishing (it is tried again next time).
    pub busy: bool,
    /// Pages in the WAL.
    pub log_pages: i64,
    /// Pages of it now copied into the database.
    pub copied_pages: i64,
}

impl Checkpointer {
    /// Copies what it can without waiting for anyone (`PRAGMA wal_checkpoint(PASSIVE)`): writers
    /// and readers carry on meanwhile, and the next writer starts the WAL over once all is copied.
    pub fn passive(&self) -> Result<Checkpoint> {
        Ok(self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok(Checkpoint { busy: r.get::<_, i64>(0)? != 0, log_pages: r.get(1)?, copied_pages: r.get(2)? })
        })?)
    }
}

fn check_readable(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let len = file.metadata().map_err(|source| Error::Io { path: path.to_path_buf(), source })?.len();
    if len < 100 || file.read_exact(&mut header).is_err() || &header != b"SQLite format 3\0" {
        return Err(Error::NotADatabase(path.to_path_buf()));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|source| Error::Open { path: path.to_path_buf(), source })?;
    let corrupt = |detail: String| Error::Corrupt { path: path.to_path_buf(), detail };
    // A WAL database in a folder we cannot write to cannot even be read (SQLite needs its -shm file):
    // that is a read-only folder, not damage.
    let failed = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::PermissionDenied) => {
            Error::Open { path: path.to_path_buf(), source: e }
        }
        _ => corrupt(e.to_string()),
    };
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(failed)?;
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema { path: path.to_path_buf(), found: version, supported: SCHEMA_VERSION });
    }
    let verdict: String = conn
        .pragma_query_value(None, "quick_check", |row| row.get(0))
        .map_err(failed)?;
    if verdict != "ok" {
        return Err(corrupt(verdict));
    }
    if version > 0 {
        let has_meta: bool = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", [], |r| r.get::<_, i64>(0))
            .map(|n| n == 1)
            .map_err(|e| corrupt(e.to_string()))?;
        if !has_meta {
            return Err(Error::NotADatabase(path.to_path_buf()));
        }
    } else {
        // A SQLite file that never saw a Grimoire migration: someone else's database.
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(|e| corrupt(e.to_string()))?;
        if tables > 0 {
            return Err(Error::NotADatabase(path.to_path_buf()));
        }
    }
    Ok(())
}

/// The current time as an RFC 3339 string in UTC, as every table stores it.
pub fn now() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, dd) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_517), (2026, 3, 5));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
