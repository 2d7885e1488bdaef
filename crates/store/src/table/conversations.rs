//! `conversations`: chats with a model or a persona, saved in the project so they can be reopened and
//! exported.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result, Store, now};

pub(crate) const MIGRATION_4: &str = "
CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    model      TEXT NOT NULL,
    adapter    TEXT,
    messages   TEXT NOT NULL DEFAULT '[]',
    params     TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
";

/// A saved conversation. `messages` and `params` are JSON owned by the service layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Conversation {
    /// Its id (0 for one not saved yet).
    pub id: i64,
    /// A title (the first words of the first message).
    pub title: String,
    /// The model: `built-in` or a path.
    pub model: String,
    /// The adapter applied, if any.
    pub adapter: Option<String>,
    /// The messages, as JSON.
    pub messages: String,
    /// The sampling settings, as JSON.
    pub params: String,
    /// When it was started.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Conversation> {
    Ok(Conversation {
        id: r.get(0)?,
        title: r.get(1)?,
        model: r.get(2)?,
        adapter: r.get(3)?,
        messages: r.get(4)?,
        params: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

const COLUMNS: &str = "id, title, model, adapter, messages, params, created_at, updated_at";

impl Store {
    /// Saves a conversation: a new row when `id` is 0, else an update. Returns its id.
    pub fn conversation_save(&self, c: &Conversation) -> Result<i64> {
        let at = now();
        if c.id == 0 {
            self.conn().execute(
                "INSERT INTO conversations (title, model, adapter, messages, params, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![c.title, c.model, c.adapter, c.messages, c.params, at],
            )?;
            return Ok(self.conn().last_insert_rowid());
        }
        let n = self.conn().execute(
            "UPDATE conversations SET title = ?2, model = ?3, adapter = ?4, messages = ?5, params = ?6, updated_at = ?7 WHERE id = ?1",
            params![c.id, c.title, c.model, c.adapter, c.messages, c.params, at],
        )?;
        if n == 0 {
            return Err(Error::Missing { what: "conversation", id: c.id });
        }
        Ok(c.id)
    }

    /// Every conversation, most recently changed first.
    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        let mut stmt = self.conn().prepare(&format!("SELECT {COLUMNS} FROM conversations ORDER BY updated_at DESC, id DESC"))?;
        let rows = stmt.query_map([], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One conversation.
    pub fn conversation(&self, id: i64) -> Result<Conversation> {
        self.conn()
            .query_row(&format!("SELECT {COLUMNS} FROM conversations WHERE id = ?1"), [id], row)
            .optional()?
            .ok_or(Error::Missing { what: "conversation", id })
    }

    /// Deletes a conversation.
    pub fn conversation_delete(&self, id: i64) -> Result<()> {
        self.conn().execute("DELETE FROM conversations WHERE id = ?1", [id])?;
        Ok(())
    }
}
