//! `meta`: the project's own settings, one key per row.

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Result, Store};

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
";

/// What a project says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProjectMeta {
    /// The project's display name.
    pub name: String,
    /// The character the data set is built for, if chosen.
    pub persona: Option<String>,
    /// When the project was created (RFC 3339, UTC).
    pub created_at: String,
}

impl Store {
    /// Reads one meta value.
    pub fn meta_get(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Writes one meta value.
    pub fn meta_set(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    /// Removes one meta value.
    pub fn meta_delete(&self, key: &str) -> Result<()> {
        self.conn().execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Reads the project's description.
    pub fn project_meta(&self) -> Result<ProjectMeta> {
        Ok(ProjectMeta {
            name: self.meta_get("name")?.unwrap_or_default(),
            persona: self.meta_get("persona")?,
            created_at: self.meta_get("created_at")?.unwrap_or_default(),
        })
    }

    /// Writes the project's description in one transaction.
    pub fn set_project_meta(&self, meta: &ProjectMeta) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        self.meta_set("name", &meta.name)?;
        match &meta.persona {
            Some(p) => self.meta_set("persona", p)?,
            None => self.meta_delete("persona")?,
        }
        self.meta_set("created_at", &meta.created_at)?;
        tx.commit()?;
        Ok(())
    }
}
