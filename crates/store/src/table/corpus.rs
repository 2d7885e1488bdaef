//! The analysed books: chapters, paragraphs, quotations with their speakers, the project's characters,
//! and the corrections a person made. Every span is in characters (Unicode scalar values) of the
//! book's decoded text, as the CLI and the review grid count them.
//!
//! Quotes and characters are derived data: re-extraction replaces them. Corrections are the person's
//! and survive every re-extraction; `grimoire-corpus` applies them on top of the automatic analysis.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Result, Store, now};

pub(crate) const MIGRATION_3: &str = "
CREATE TABLE chapters (
    book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    title   TEXT NOT NULL,
    start   INTEGER NOT NULL,
    end     INTEGER NOT NULL,
    PRIMARY KEY (book_id, idx)
) STRICT;
CREATE TABLE paragraphs (
    book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    chapter INTEGER NOT NULL,
    start   INTEGER NOT NULL,
    end     INTEGER NOT NULL,
    PRIMARY KEY (book_id, idx)
) STRICT;
CREATE TABLE characters (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    aliases  TEXT NOT NULL DEFAULT '[]',
    gender   TEXT NOT NULL,
    mentions INTEGER NOT NULL DEFAULT 0,
    quotes   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE quotes (
    id         INTEGER PRIMARY KEY,
    book_id    INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
    start      INTEGER NOT NULL,
    end        INTEGER NOT NULL,
    paragraph  INTEGER NOT NULL,
    role       TEXT NOT NULL,
    speaker    TEXT,
    kind       TEXT NOT NULL,
    confidence REAL NOT NULL,
    reason     TEXT NOT NULL
) STRICT;
CREATE INDEX quotes_by_book ON quotes(book_id, start);
CREATE INDEX quotes_by_speaker ON quotes(speaker);
CREATE TABLE corrections (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
ALTER TABLE books ADD COLUMN analysed_at TEXT;
";

/// A chapter of a stored book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StoredChapter {
    /// Its index in the book, from 0.
    pub idx: i64,
    /// Its heading.
    pub title: String,
    /// Its first character.
    pub start: i64,
    /// One past its last character.
    pub end: i64,
}

/// A paragraph of a stored book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StoredParagraph {
    /// Its index in the book, from 0.
    pub idx: i64,
    /// The chapter it belongs to.
    pub chapter: i64,
    /// Its first character.
    pub start: i64,
    /// One past its last character.
    pub end: i64,
}

/// A character of the project, over all its books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StoredCharacter {
    /// The canonical name, unique in the project.
    pub name: String,
    /// Other names the books use for them.
    pub aliases: Vec<String>,
    /// `male`, `female` or `unknown`.
    pub gender: String,
    /// How often they are named.
    pub mentions: i64,
    /// How many quotations are theirs.
    pub quotes: i64,
}

/// A quotation and who speaks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StoredQuote {
    /// Its row id.
    pub id: i64,
    /// Its book.
    pub book_id: i64,
    /// First character (quote marks included).
    pub start: i64,
    /// One past the last character.
    pub end: i64,
    /// The paragraph it is in.
    pub paragraph: i64,
    /// `speech`, `thought`, `letter`, `scare`, `citation` (written words: an inscription, a caption, an epigraph, verse).
    pub role: String,
    /// The speaker's canonical name, or none when it could not be told.
    pub speaker: Option<String>,
    /// `explicit`, `anaphoric`, `implicit`, `corrected` or `none`.
    pub kind: String,
    /// How sure the attribution is, 0 to 1.
    pub confidence: f32,
    /// Why this speaker.
    pub reason: String,
}

/// Everything one analysis of one book produced.
#[derive(Debug, Clone, Default)]
pub struct BookAnalysis {
    /// Its chapters.
    pub chapters: Vec<StoredChapter>,
    /// Its paragraphs.
    pub paragraphs: Vec<StoredParagraph>,
    /// Its quotations.
    pub quotes: Vec<StoredQuote>,
}

/// A correction a person made, kept as JSON of `grimoire-corpus`'s correction types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StoredCorrection {
    /// Its row id.
    pub id: i64,
    /// `speaker`, `merge`, `split`, `rename` or `ignore`.
    pub kind: String,
    /// The correction, as JSON.
    pub payload: String,
    /// When it was made.
    pub created_at: String,
}

impl Store {
    /// Replaces the chapters, paragraphs and quotations of one book (call inside a transaction).
    pub fn analysis_replace(&self, book_id: i64, analysis: &BookAnalysis) -> Result<()> {
        let conn = self.conn();
        for table in ["chapters", "paragraphs", "quotes"] {
            conn.execute(&format!("DELETE FROM {table} WHERE book_id = ?1"), [book_id])?;
        }
        let mut chapter = conn.prepare_cached("INSERT INTO chapters (book_id, idx, title, start, end) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for c in &analysis.chapters {
            chapter.execute(params![book_id, c.idx, c.title, c.start, c.end])?;
        }
        let mut para = conn.prepare_cached("INSERT INTO paragraphs (book_id, idx, chapter, start, end) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for p in &analysis.paragraphs {
            para.execute(params![book_id, p.idx, p.chapter, p.start, p.end])?;
        }
        let mut quote = conn.prepare_cached(
            "INSERT INTO quotes (book_id, start, end, paragraph, role, speaker, kind, confidence, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for q in &analysis.quotes {
            quote.execute(params![book_id, q.start, q.end, q.paragraph, q.role, q.speaker, q.kind, q.confidence, q.reason])?;
        }
        conn.execute("UPDATE books SET analysed_at = ?2 WHERE id = ?1", params![book_id, now()])?;
        Ok(())
    }

    /// Replaces the project's character list (call inside a transaction).
    pub fn characters_replace(&self, characters: &[StoredCharacter]) -> Result<()> {
        let conn = self.conn();
        conn.execute("DELETE FROM characters", [])?;
        let mut insert =
            conn.prepare_cached("INSERT INTO characters (name, aliases, gender, mentions, quotes) VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for c in characters {
            let aliases = serde_json::to_string(&c.aliases).unwrap_or_else(|_| "[]".into());
            insert.execute(params![c.name, aliases, c.gender, c.mentions, c.quotes])?;
        }
        Ok(())
    }

    /// The project's characters, most quoted first.
    pub fn characters(&self) -> Result<Vec<StoredCharacter>> {
        let mut stmt =
            self.conn().prepare("SELECT name, aliases, gender, mentions, quotes FROM characters ORDER BY quotes DESC, mentions DESC, name")?;
        let rows = stmt.query_map([], |r| {
            let aliases: String = r.get(1)?;
            Ok(StoredCharacter {
                name: r.get(0)?,
                aliases: serde_json::from_str(&aliases).unwrap_or_default(),
                gender: r.get(2)?,
                mentions: r.get(3)?,
                quotes: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The chapters of a book.
    pub fn chapters(&self, book_id: i64) -> Result<Vec<StoredChapter>> {
        let mut stmt = self.conn().prepare("SELECT idx, title, start, end FROM chapters WHERE book_id = ?1 ORDER BY idx")?;
        let rows = stmt.query_map([book_id], |r| Ok(StoredChapter { idx: r.get(0)?, title: r.get(1)?, start: r.get(2)?, end: r.get(3)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The paragraphs of a book.
    pub fn paragraphs(&self, book_id: i64) -> Result<Vec<StoredParagraph>> {
        let mut stmt = self.conn().prepare("SELECT idx, chapter, start, end FROM paragraphs WHERE book_id = ?1 ORDER BY idx")?;
        let rows =
            stmt.query_map([book_id], |r| Ok(StoredParagraph { idx: r.get(0)?, chapter: r.get(1)?, start: r.get(2)?, end: r.get(3)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The quotations of a book between two character offsets, in order.
    pub fn quotes_in(&self, book_id: i64, start: i64, end: i64) -> Result<Vec<StoredQuote>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, book_id, start, end, paragraph, role, speaker, kind, confidence, reason
             FROM quotes WHERE book_id = ?1 AND end > ?2 AND start < ?3 ORDER BY start",
        )?;
        let rows = stmt.query_map(params![book_id, start, end], |r| {
            Ok(StoredQuote {
                id: r.get(0)?,
                book_id: r.get(1)?,
                start: r.get(2)?,
                end: r.get(3)?,
                paragraph: r.get(4)?,
                role: r.get(5)?,
                speaker: r.get(6)?,
                kind: r.get(7)?,
                confidence: r.get(8)?,
                reason: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records a person's correction.
    pub fn correction_insert(&self, kind: &str, payload: &str) -> Result<i64> {
        self.conn().execute("INSERT INTO corrections (kind, payload, created_at) VALUES (?1, ?2, ?3)", params![kind, payload, now()])?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Forgets a correction (a person took it back).
    pub fn correction_delete(&self, id: i64) -> Result<()> {
        self.conn().execute("DELETE FROM corrections WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Every correction, oldest first (the order they are applied in).
    pub fn corrections(&self) -> Result<Vec<StoredCorrection>> {
        let mut stmt = self.conn().prepare("SELECT id, kind, payload, created_at FROM corrections ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok(StoredCorrection { id: r.get(0)?, kind: r.get(1)?, payload: r.get(2)?, created_at: r.get(3)? }))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Store {
    /// Whether an example of this strategy was already made from exactly these spans (so that
    /// extracting again adds only what is new).
    pub fn example_with_spans_exists(&self, strategy: &str, spans: &[crate::table::examples::SourceSpan]) -> Result<bool> {
        let spans = serde_json::to_string(spans).map_err(|e| crate::Error::Malformed(e.to_string()))?;
        Ok(self
            .conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM examples WHERE strategy = ?1 AND spans = ?2)", params![strategy, spans], |r| r.get(0))?)
    }
}
