//! `examples`: the data set a person reviews, one conversation per row, with its whole edit history.
//!
//! Four tables work together:
//! - `examples` holds what the grid filters and sorts on (status, strategy, book, chapter, flags, tags,
//!   token length). It is kept small so that a bulk action over 100,000 rows rewrites little.
//! - `example_bodies` holds the turns as JSON and the MinHash signature; triggers keep the FTS5 index
//!   `examples_fts` in step with it inside the same transaction.
//! - `example_revisions` keeps every state an example has been in. An example points at its current
//!   revision; undo moves it to the parent, redo to the newest child, so nothing is ever lost and both
//!   survive a restart. A revision carries the turns only when they changed (`body_rev` points back to
//!   the revision that holds them), which keeps a bulk approve cheap.
//! - `review_actions` is the person's global undo stack: every edit and bulk action is one row; the
//!   revisions it made carry its id and, being written by one statement under the write lock, form the
//!   id range `first_rev..=last_rev`, so undo finds them by rowid without an index to maintain.
//!
//! Indexes are few on purpose: every one is rewritten by a bulk action over 100,000 rows.
//!
//! This module stores what it is given: the quality flags, token length and fingerprint are computed
//! by `grimoire-dataset`, which calls these methods. Every write runs in an `IMMEDIATE` transaction so a
//! generation job on its own connection and a person's edits queue on SQLite's write lock instead of
//! failing or overwriting each other.

mod history;
mod query;

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result, Store, now};

pub use history::{Action, Body, BulkOp, BulkOutcome, ExampleEdit, Revision, Target, UndoOutcome, UndoState};
pub use query::{ExampleFilter, ExampleSource, ExportRow, HistogramBucket, Page, Sort, SortKey, StatusCounts, Stats, StrategyCounts};

pub(crate) const MIGRATION_2: &str = "
CREATE TABLE examples (
    id          INTEGER PRIMARY KEY,
    strategy    TEXT NOT NULL,
    status      TEXT NOT NULL,
    persona     TEXT,
    book_id     INTEGER,
    chapter     INTEGER,
    spans       TEXT NOT NULL DEFAULT '[]',
    teacher     TEXT,
    prompt      TEXT,
    tags        TEXT NOT NULL DEFAULT '[]',
    flags       INTEGER NOT NULL DEFAULT 0,
    dup_of      INTEGER,
    token_len   INTEGER NOT NULL DEFAULT 0,
    exact_hash  INTEGER,
    rev_id      INTEGER NOT NULL DEFAULT 0,
    body_rev    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX examples_by_status ON examples(status, id);
CREATE INDEX examples_by_strategy ON examples(strategy, id);
CREATE INDEX examples_by_source ON examples(book_id, chapter, id);
CREATE INDEX examples_by_tokens ON examples(token_len, id);
CREATE INDEX examples_by_exact ON examples(exact_hash);

CREATE TABLE example_bodies (
    example_id INTEGER PRIMARY KEY,
    messages   TEXT NOT NULL,
    signature  BLOB
) STRICT;

CREATE TABLE example_bands (
    band       INTEGER NOT NULL,
    example_id INTEGER NOT NULL,
    PRIMARY KEY (band, example_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX example_bands_by_example ON example_bands(example_id);

CREATE VIRTUAL TABLE examples_fts USING fts5(
    body, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER example_bodies_fts_insert AFTER INSERT ON example_bodies BEGIN
    INSERT INTO examples_fts (rowid, body) VALUES (new.example_id,
        (SELECT group_concat(json_extract(value, '$.content'), char(10)) FROM json_each(new.messages)));
END;
CREATE TRIGGER example_bodies_fts_update AFTER UPDATE OF messages ON example_bodies BEGIN
    DELETE FROM examples_fts WHERE rowid = old.example_id;
    INSERT INTO examples_fts (rowid, body) VALUES (new.example_id,
        (SELECT group_concat(json_extract(value, '$.content'), char(10)) FROM json_each(new.messages)));
END;
CREATE TRIGGER example_bodies_fts_delete AFTER DELETE ON example_bodies BEGIN
    DELETE FROM examples_fts WHERE rowid = old.example_id;
END;

CREATE TABLE review_actions (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    label      TEXT NOT NULL,
    count      INTEGER NOT NULL DEFAULT 0,
    state      TEXT NOT NULL,
    first_rev  INTEGER NOT NULL DEFAULT 0,
    last_rev   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX review_actions_by_state ON review_actions(state, id);

CREATE TABLE example_revisions (
    id          INTEGER PRIMARY KEY,
    example_id  INTEGER NOT NULL,
    parent_id   INTEGER,
    action_id   INTEGER,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL,
    tags        TEXT NOT NULL,
    flags       INTEGER NOT NULL,
    dup_of      INTEGER,
    token_len   INTEGER NOT NULL,
    exact_hash  INTEGER,
    body_rev    INTEGER,
    messages    TEXT,
    signature   BLOB,
    bands       BLOB
) STRICT;
CREATE INDEX example_revisions_by_example ON example_revisions(example_id, id);
";

/// How an example was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub enum Strategy {
    /// Strategy A: dialogue lifted from the books.
    #[serde(rename = "A")]
    A,
    /// Strategy B: a teacher model wrote the user turn for a quoted reply.
    #[serde(rename = "B")]
    B,
    /// Strategy C: a teacher model wrote the whole conversation from a passage.
    #[serde(rename = "C")]
    C,
    /// Read from a JSONL file made elsewhere.
    #[serde(rename = "imported")]
    Imported,
}

impl Strategy {
    /// Every strategy, in display order.
    pub const ALL: [Self; 4] = [Self::A, Self::B, Self::C, Self::Imported];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::Imported => "imported",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::Malformed(format!("example strategy {s:?}")))
    }
}

/// Where an example stands in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not reviewed yet.
    Pending,
    /// Goes into the export.
    Approved,
    /// Kept out of the export.
    Rejected,
}

impl Status {
    /// Every status, in display order.
    pub const ALL: [Self; 3] = [Self::Pending, Self::Approved, Self::Rejected];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Reads the stored spelling.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::Malformed(format!("example status {s:?}")))
    }
}

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The system prompt.
    System,
    /// The person talking to the persona.
    User,
    /// The persona.
    Assistant,
}

/// One turn of a conversation, in the shape Mistral's fine-tuning format uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
    /// Mistral's per-message training weight (0 or 1), kept when an imported file had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub weight: Option<u8>,
}

impl Message {
    /// A turn without a weight.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), weight: None }
    }
}

/// A stretch of a book that an example was drawn from, in characters of the book's decoded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SourceSpan {
    /// The book.
    pub book_id: i64,
    /// The first character.
    pub start: i64,
    /// One past the last character.
    pub end: i64,
}

/// A problem found in an example, computed when it is inserted and whenever its turns change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum QualityFlag {
    /// The same conversation (after normalising case, spacing and punctuation) exists already.
    ExactDuplicate,
    /// A very similar conversation exists already.
    NearDuplicate,
    /// The persona says too little to learn from.
    TooShort,
    /// Longer than the training context allows.
    TooLong,
    /// The persona speaks of themselves by name, in the third person.
    ThirdPerson,
    /// The persona is addressed by their own name in their own turn.
    AddressedByName,
    /// Narration left in the persona's turn ("said Harry", "she replied").
    Narration,
    /// A turn with no text.
    EmptyTurn,
    /// The turns are not in an order Mistral accepts (see the validator).
    BadTurnOrder,
    /// A teacher wrote names, places or numbers that the source passage does not have.
    UnsupportedDetail,
    /// A teacher's answer is much longer than the passage it retells.
    LongerThanSource,
    /// A teacher's refusal or talk about the task ("As an AI...", "Here is the rewritten passage:").
    MetaTalk,
}

impl QualityFlag {
    /// Every flag, in display order.
    pub const ALL: [Self; 12] = [
        Self::ExactDuplicate,
        Self::NearDuplicate,
        Self::TooShort,
        Self::TooLong,
        Self::ThirdPerson,
        Self::AddressedByName,
        Self::Narration,
        Self::EmptyTurn,
        Self::BadTurnOrder,
        Self::UnsupportedDetail,
        Self::LongerThanSource,
        Self::MetaTalk,
    ];

    /// Its bit in the stored mask.
    pub fn bit(self) -> i64 {
        1 << (self as u32)
    }

    /// The mask of a set of flags.
    pub fn mask(flags: &[Self]) -> i64 {
        flags.iter().fold(0, |m, f| m | f.bit())
    }

    /// The flags of a stored mask.
    pub fn from_mask(mask: i64) -> Vec<Self> {
        Self::ALL.into_iter().filter(|f| mask & f.bit() != 0).collect()
    }

    /// Flags that need the source passage to compute (a teacher's faithfulness), which the text of the
    /// turns alone cannot give.
    pub fn needs_source(self) -> bool {
        matches!(self, Self::UnsupportedDetail | Self::LongerThanSource)
    }

    /// Flags that keep an approved example out of the export, because Mistral would refuse it.
    pub fn blocks_export(self) -> bool {
        matches!(self, Self::EmptyTurn | Self::BadTurnOrder)
    }
}

/// What `grimoire-dataset` found out about a conversation's text, used for near-duplicate search.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fingerprint {
    /// A hash of the normalised text: equal for exact duplicates.
    pub exact: i64,
    /// The MinHash signature.
    pub signature: Vec<u32>,
    /// The locality-sensitive band keys derived from the signature: examples sharing one are
    /// near-duplicate candidates.
    pub bands: Vec<i64>,
}

/// Everything derived from an example's turns (stored, never computed here).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Derived {
    /// Quality flags.
    pub flags: Vec<QualityFlag>,
    /// The earlier example this one duplicates, when flagged as a duplicate.
    pub duplicate_of: Option<i64>,
    /// Length in tokens.
    pub token_len: u32,
    /// For duplicate search; `None` leaves the example out of it.
    pub fingerprint: Option<Fingerprint>,
}

/// An example to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExample {
    /// How it was made.
    pub strategy: Strategy,
    /// Its initial status (normally pending).
    pub status: Status,
    /// The character it trains.
    pub persona: Option<String>,
    /// The turns.
    pub messages: Vec<Message>,
    /// Where in the books it comes from.
    pub spans: Vec<SourceSpan>,
    /// The book, for filtering and the split.
    pub book_id: Option<i64>,
    /// The chapter within the book (from 0), for filtering and the split.
    pub chapter: Option<i64>,
    /// The teacher model that wrote it (strategies B and C).
    pub teacher: Option<String>,
    /// The prompt given to the teacher.
    pub prompt: Option<String>,
    /// Free tags.
    pub tags: Vec<String>,
    /// What `grimoire-dataset` derived from the turns.
    pub derived: Derived,
}

impl NewExample {
    /// A pending example of `strategy` with these turns and nothing else set.
    pub fn new(strategy: Strategy, messages: Vec<Message>) -> Self {
        Self {
            strategy,
            status: Status::Pending,
            persona: None,
            messages,
            spans: Vec::new(),
            book_id: None,
            chapter: None,
            teacher: None,
            prompt: None,
            tags: Vec::new(),
            derived: Derived::default(),
        }
    }
}

/// One example as stored now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Example {
    /// Its id.
    pub id: i64,
    /// How it was made.
    pub strategy: Strategy,
    /// Where it stands in review.
    pub status: Status,
    /// The character it trains.
    pub persona: Option<String>,
    /// The turns.
    pub messages: Vec<Message>,
    /// Where in the books it comes from.
    pub spans: Vec<SourceSpan>,
    /// The book.
    pub book_id: Option<i64>,
    /// The chapter within the book.
    pub chapter: Option<i64>,
    /// The teacher model that wrote it.
    pub teacher: Option<String>,
    /// The prompt given to the teacher.
    pub prompt: Option<String>,
    /// Free tags.
    pub tags: Vec<String>,
    /// Quality flags.
    pub flags: Vec<QualityFlag>,
    /// The example this one duplicates.
    pub duplicate_of: Option<i64>,
    /// Length in tokens.
    pub token_len: u32,
    /// The id of its current revision.
    pub revision: i64,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

/// The columns [`example_from_row`] reads, over `examples e JOIN example_bodies b`.
pub(crate) const EXAMPLE_COLUMNS: &str = "e.id, e.strategy, e.status, e.persona, e.book_id, e.chapter, e.spans, \
     e.teacher, e.prompt, e.tags, e.flags, e.dup_of, e.token_len, e.rev_id, e.created_at, e.updated_at, b.messages";

/// A row as read, before the text columns are parsed (rusqlite's closures cannot return our error).
pub(crate) struct RawExample {
    id: i64,
    strategy: String,
    status: String,
    persona: Option<String>,
    book_id: Option<i64>,
    chapter: Option<i64>,
    spans: String,
    teacher: Option<String>,
    prompt: Option<String>,
    tags: String,
    flags: i64,
    dup_of: Option<i64>,
    token_len: i64,
    rev_id: i64,
    created_at: String,
    updated_at: String,
    messages: String,
}

pub(crate) fn example_from_row(r: &Row<'_>) -> rusqlite::Result<RawExample> {
    Ok(RawExample {
        id: r.get(0)?,
        strategy: r.get(1)?,
        status: r.get(2)?,
        persona: r.get(3)?,
        book_id: r.get(4)?,
        chapter: r.get(5)?,
        spans: r.get(6)?,
        teacher: r.get(7)?,
        prompt: r.get(8)?,
        tags: r.get(9)?,
        flags: r.get(10)?,
        dup_of: r.get(11)?,
        token_len: r.get(12)?,
        rev_id: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
        messages: r.get(16)?,
    })
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(what: &str, id: i64, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Malformed(format!("{what} of example {id}: {e}")))
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Malformed(e.to_string()))
}

impl RawExample {
    pub(crate) fn finish(self) -> Result<Example> {
        let id = self.id;
        Ok(Example {
            id,
            strategy: Strategy::parse(&self.strategy)?,
            status: Status::parse(&self.status)?,
            persona: self.persona,
            messages: parse_json("messages", id, &self.messages)?,
            spans: parse_json("spans", id, &self.spans)?,
            book_id: self.book_id,
            chapter: self.chapter,
            teacher: self.teacher,
            prompt: self.prompt,
            tags: parse_json("tags", id, &self.tags)?,
            flags: QualityFlag::from_mask(self.flags),
            duplicate_of: self.dup_of,
            token_len: u32::try_from(self.token_len).unwrap_or(u32::MAX),
            revision: self.rev_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub(crate) fn encode_u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(crate) fn decode_u32s(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

pub(crate) fn encode_i64s(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(crate) fn decode_i64s(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

/// Rolls an open write transaction back unless it was committed (also when the closure panics).
struct WriteGuard<'a> {
    store: &'a Store,
    done: bool,
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing more can be done about a failed rollback: SQLite rolls back on the next open.
            let _ = self.store.conn().execute_batch("ROLLBACK");
        }
    }
}

impl Store {
    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction: committed when it returns `Ok`, rolled back
    /// otherwise. Taking the write lock up front means a concurrent writer waits (up to the busy
    /// timeout) instead of failing halfway. Calls nest: inside a transaction `f` simply runs.
    pub fn write_transaction<T, E: From<Error>>(&self, f: impl FnOnce(&Self) -> Result<T, E>) -> Result<T, E> {
        if !self.conn().is_autocommit() {
            return f(self);
        }
        self.conn().execute_batch("BEGIN IMMEDIATE").map_err(Error::from)?;
        let mut guard = WriteGuard { store: self, done: false };
        let value = f(self)?;
        self.conn().execute_batch("COMMIT").map_err(Error::from)?;
        guard.done = true;
        Ok(value)
    }

    /// Adds an example with its first revision and returns its id. Not an undoable action: examples
    /// come from jobs and imports, and a person rejects rather than deletes.
    pub fn example_insert(&self, new: &NewExample) -> Result<i64> {
        self.write_transaction(|s| {
            let at = now();
            let d = &new.derived;
            let fp = d.fingerprint.as_ref();
            let flags = QualityFlag::mask(&d.flags);
            let tags = to_json(&new.tags)?;
            s.conn().execute(
                "INSERT INTO examples (strategy, status, persona, book_id, chapter, spans, teacher, prompt, tags,
                    flags, dup_of, token_len, exact_hash, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
                params![
                    new.strategy.as_str(),
                    new.status.as_str(),
                    new.persona,
                    new.book_id,
                    new.chapter,
                    to_json(&new.spans)?,
                    new.teacher,
                    new.prompt,
                    tags,
                    flags,
                    d.duplicate_of,
                    i64::from(d.token_len),
                    fp.map(|f| f.exact),
                    at,
                ],
            )?;
            let id = s.conn().last_insert_rowid();
            let messages = to_json(&new.messages)?;
            let signature = fp.map(|f| encode_u32s(&f.signature));
            s.conn().execute(
                "INSERT INTO example_bodies (example_id, messages, signature) VALUES (?1, ?2, ?3)",
                params![id, messages, signature],
            )?;
            s.conn().execute(
                "INSERT INTO example_revisions (example_id, created_at, status, tags, flags, dup_of, token_len,
                    exact_hash, messages, signature, bands)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id,
                    at,
                    new.status.as_str(),
                    tags,
                    flags,
                    d.duplicate_of,
                    i64::from(d.token_len),
                    fp.map(|f| f.exact),
                    messages,
                    signature,
                    fp.map(|f| encode_i64s(&f.bands)),
                ],
            )?;
            let rev = s.conn().last_insert_rowid();
            s.conn().execute("UPDATE examples SET rev_id = ?2, body_rev = ?2 WHERE id = ?1", params![id, rev])?;
            s.set_bands(id, fp.map(|f| f.bands.as_slice()).unwrap_or_default())?;
            Ok(id)
        })
    }

    /// Replaces the near-duplicate band keys of an example.
    pub(crate) fn set_bands(&self, id: i64, bands: &[i64]) -> Result<()> {
        self.conn().execute("DELETE FROM example_bands WHERE example_id = ?1", [id])?;
        let mut stmt =
            self.conn().prepare_cached("INSERT OR IGNORE INTO example_bands (band, example_id) VALUES (?1, ?2)")?;
        for band in bands {
            stmt.execute(params![band, id])?;
        }
        Ok(())
    }

    /// Whether the project holds any example at all.
    pub fn has_examples(&self) -> Result<bool> {
        Ok(self.conn().query_row("SELECT EXISTS (SELECT 1 FROM examples)", [], |r| r.get(0))?)
    }

    /// One example.
    pub fn example(&self, id: i64) -> Result<Example> {
        let sql = format!(
            "SELECT {EXAMPLE_COLUMNS} FROM examples e JOIN example_bodies b ON b.example_id = e.id WHERE e.id = ?1"
        );
        self.conn()
            .prepare_cached(&sql)?
            .query_row([id], example_from_row)
            .optional()?
            .ok_or(Error::Missing { what: "example", id })?
            .finish()
    }

    /// Several examples, in the order of `ids`; ids that do not exist are skipped.
    pub fn examples_by_ids(&self, ids: &[i64]) -> Result<Vec<Example>> {
        let sql = format!(
            "SELECT {EXAMPLE_COLUMNS} FROM examples e JOIN example_bodies b ON b.example_id = e.id WHERE e.id = ?1"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(raw) = stmt.query_row([id], example_from_row).optional()? {
                out.push(raw.finish()?);
            }
        }
        Ok(out)
    }

    /// The lowest-numbered example, other than `exclude` and not rejected, whose normalised text hashes
    /// to `exact`.
    pub fn example_exact_duplicate(&self, exact: i64, exclude: Option<i64>) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT min(id) FROM examples WHERE exact_hash = ?1 AND id != ?2 AND status != 'rejected'",
            )?
            .query_row(params![exact, exclude.unwrap_or(0)], |r| r.get(0))?)
    }

    /// Near-duplicate candidates: examples (other than `exclude`, not rejected) sharing a band key,
    /// with their MinHash signatures, at most `limit` (unsorted, so that the search stops early when a
    /// template makes thousands of examples alike).
    pub fn example_band_candidates(
        &self,
        bands: &[i64],
        exclude: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u32>)>> {
        if bands.is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT e.id, b.signature FROM example_bands k
               JOIN examples e ON e.id = k.example_id
               JOIN example_bodies b ON b.example_id = e.id
             WHERE k.band IN (SELECT value FROM json_each(?1)) AND e.id != ?2 AND e.status != 'rejected'
             LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![to_json(&bands)?, exclude.unwrap_or(0), i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<Vec<u8>>>(1)?)),
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (id, sig) = row?;
            if let Some(sig) = sig {
                out.push((id, decode_u32s(&sig)));
            }
        }
        Ok(out)
    }
}
