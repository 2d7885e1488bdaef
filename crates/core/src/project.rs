//! Project folders: `grimoire.db`, `runs/` (training runs) and `exports/` (data sets).

use std::path::Path;

use grimoire_store::{DB_FILE, Store};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result};

/// The sub-folders every project has.
pub const PROJECT_DIRS: [&str; 2] = ["runs", "exports"];

/// What the UI shows of an open project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProjectInfo {
    /// The project folder.
    pub path: String,
    /// Its name.
    pub name: String,
    /// The chosen persona.
    pub persona: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// Its database schema version.
    pub schema_version: u32,
    /// How many books it has.
    pub books: u32,
    /// How many jobs were cut short when the app last stopped.
    pub interrupted_jobs: u32,
    /// How the lengths of its examples are measured.
    pub length_unit: crate::review::LengthUnit,
}

/// Creates the project folder and its database. Never overwrites anything.
pub(crate) fn create(path: &Path, name: &str, persona: Option<&str>) -> Result<Store> {
    if name.trim().is_empty() {
        return Err(Error::InvalidInput("a project needs a name".into()));
    }
    if path.as_os_str().is_empty() {
        return Err(Error::InvalidInput("choose a folder for the project".into()));
    }
    let db = path.join(DB_FILE);
    if db.exists() {
        return Err(Error::ProjectExists(path.to_path_buf()));
    }
    if path.exists() && !path.is_dir() {
        return Err(Error::InvalidInput(format!("{} is a file, not a folder", path.display())));
    }
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
    ensure_writable(path)?;
    let store = Store::create(&db)?;
    store.set_project_meta(&grimoire_store::ProjectMeta {
        name: name.trim().to_string(),
        persona: persona.map(str::trim).filter(|p| !p.is_empty()).map(str::to_string),
        created_at: grimoire_store::now(),
    })?;
    make_dirs(path)?;
    Ok(store)
}

/// Opens an existing project, checking it before anything is written.
pub(crate) fn open(path: &Path) -> Result<Store> {
    if !path.exists() {
        return Err(Error::NotFound(path.to_path_buf()));
    }
    if !path.is_dir() {
        return Err(Error::NotAProject(path.to_path_buf()));
    }
    let db = path.join(DB_FILE);
    if !db.is_file() {
        return Err(Error::NotAProject(path.to_path_buf()));
    }
    let read_only = |e: grimoire_store::Error| match e.is_read_only() {
        true => Error::ReadOnly { path: path.to_path_buf(), reason: "the database cannot be written".into() },
        false => Error::Store(e),
    };
    Store::check(&db).map_err(read_only)?;
    ensure_writable(path)?;
    let store = Store::open_checked(&db).map_err(read_only)?;
    make_dirs(path)?;
    Ok(store)
}

fn make_dirs(path: &Path) -> Result<()> {
    for dir in PROJECT_DIRS {
        let sub = path.join(dir);
        std::fs::create_dir_all(&sub).map_err(|e| Error::io(&sub, e))?;
    }
    Ok(())
}

/// Fails with [`Error::ReadOnly`] unless a file can be created in `dir`.
///
/// Asking the OS beats reading permission bits: it knows about read-only mounts, ACLs and root.
fn ensure_writable(dir: &Path) -> Result<()> {
    let probe = dir.join(format!(".grimoire-write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(Error::io(dir, e)),
    }
}

pub(crate) fn info(path: &Path, store: &Store) -> Result<ProjectInfo> {
    let meta = store.project_meta()?;
    let count = |sql: &str| -> Result<u32> { Ok(store.conn().query_row(sql, [], |r| r.get::<_, u32>(0)).map_err(grimoire_store::Error::from)?) };
    Ok(ProjectInfo {
        path: path.display().to_string(),
        name: meta.name,
        persona: meta.persona,
        created_at: meta.created_at,
        schema_version: store.schema_version()?,
        books: count("SELECT count(*) FROM books")?,
        interrupted_jobs: count("SELECT count(*) FROM jobs WHERE status = 'interrupted'")?,
        length_unit: crate::review::length_unit(store)?.unwrap_or(crate::review::LengthUnit::Words),
    })
}
