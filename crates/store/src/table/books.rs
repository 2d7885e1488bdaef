//! `books`: the books of a project, in series order, with the text as it was decoded.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result, Store, now};

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE books (
    id           INTEGER PRIMARY KEY,
    title        TEXT NOT NULL,
    author       TEXT,
    source_path  TEXT NOT NULL,
    format       TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    series_index INTEGER NOT NULL,
    text         TEXT NOT NULL,
    imported_at  TEXT NOT NULL
) STRICT;
";

/// A book to add.
#[derive(Debug, Clone)]
pub struct NewBook<'a> {
    /// Its title.
    pub title: &'a str,
    /// Its author, when known.
    pub author: Option<&'a str>,
    /// Where it was imported from.
    pub source_path: &'a str,
    /// `txt`, `epub` or `html`.
    pub format: &'a str,
    /// The SHA-256 of the imported file, hex.
    pub sha256: &'a str,
    /// The decoded text, which every span points into.
    pub text: &'a str,
}

/// A book without its text, for lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BookSummary {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// Its author.
    pub author: Option<String>,
    /// Where it came from.
    pub source_path: String,
    /// Its format.
    pub format: String,
    /// Its place in the series, from 1.
    pub series_index: i64,
    /// Its length in characters.
    pub chars: i64,
    /// When it was imported.
    pub imported_at: String,
}

/// A whole book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Book {
    /// Its summary.
    pub summary: BookSummary,
    /// Its text.
    pub text: String,
}

impl Store {
    /// Adds a book at the end of the series and returns its id.
    pub fn book_insert(&self, book: &NewBook<'_>) -> Result<i64> {
        let next: i64 =
            self.conn().query_row("SELECT coalesce(max(series_index), 0) + 1 FROM books", [], |r| r.get(0))?;
        self.conn().execute(
            "INSERT INTO books (title, author, source_path, format, sha256, series_index, text, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![book.title, book.author, book.source_path, book.format, book.sha256, next, book.text, now()],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// The id of a book with this content, if already imported.
    pub fn book_by_sha256(&self, sha256: &str) -> Result<Option<i64>> {
        Ok(self.conn().query_row("SELECT id FROM books WHERE sha256 = ?1", [sha256], |r| r.get(0)).optional()?)
    }

    /// Every book, in series order.
    pub fn books(&self) -> Result<Vec<BookSummary>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, title, author, source_path, format, series_index, length(text), imported_at
             FROM books ORDER BY series_index",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(BookSummary {
                id: r.get(0)?,
                title: r.get(1)?,
                author: r.get(2)?,
                source_path: r.get(3)?,
                format: r.get(4)?,
                series_index: r.get(5)?,
                chars: r.get(6)?,
                imported_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Puts the books in this series order, first book first, in one transaction. `ids` should
    /// hold every book once (the caller checks); books left out keep their place number.
    pub fn books_reorder(&self, ids: &[i64]) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        for (i, id) in ids.iter().enumerate() {
            tx.execute("UPDATE books SET series_index = ?1 WHERE id = ?2", params![i as i64 + 1, id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// One book with its text.
    pub fn book(&self, id: i64) -> Result<Book> {
        let summary = self
            .books()?
            .into_iter()
            .find(|b| b.id == id)
            .ok_or(Error::Missing { what: "book", id })?;
        let text = self.conn().query_row("SELECT text FROM books WHERE id = ?1", [id], |r| r.get(0))?;
        Ok(Book { summary, text })
    }
}
