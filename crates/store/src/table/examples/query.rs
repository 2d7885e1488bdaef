//! Reading examples: the filter every grid view, bulk action and stats bar shares, paged listing,
//! stats and the export stream.

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{EXAMPLE_COLUMNS, Message, QualityFlag, Status, Strategy, example_from_row, parse_json};
use crate::{Result, Store};

/// Which examples to show or act on. Every field narrows; the default matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ExampleFilter {
    /// Any of these statuses (empty: any).
    pub status: Vec<Status>,
    /// Any of these strategies (empty: any).
    pub strategy: Vec<Strategy>,
    /// Carrying any of these flags (empty: flagged or not).
    pub flags: Vec<QualityFlag>,
    /// Only examples without any flag.
    pub unflagged: bool,
    /// From this book.
    pub book_id: Option<i64>,
    /// From this chapter (of `book_id` when set).
    pub chapter: Option<i64>,
    /// Carrying this tag.
    pub tag: Option<String>,
    /// At least this many tokens.
    pub min_tokens: Option<u32>,
    /// At most this many tokens.
    pub max_tokens: Option<u32>,
    /// Words that must all appear in some turn (full-text search; the last word may be a prefix).
    pub text: Option<String>,
}

/// The column a listing is sorted by; ties are broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Insertion order.
    #[default]
    Id,
    /// Status.
    Status,
    /// Strategy.
    Strategy,
    /// Length in tokens.
    TokenLen,
    /// Last change.
    UpdatedAt,
}

/// A listing's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct Sort {
    /// The column.
    pub key: SortKey,
    /// Largest first.
    pub descending: bool,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Page {
    /// How many examples the filter matches in all (for the grid's scroll height).
    pub total: u32,
    /// The offset of the first row.
    pub offset: u32,
    /// The rows.
    pub rows: Vec<super::Example>,
}

/// Counts by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct StatusCounts {
    /// Not reviewed yet.
    pub pending: u32,
    /// Approved.
    pub approved: u32,
    /// Rejected.
    pub rejected: u32,
}

/// Counts by strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct StrategyCounts {
    /// Strategy A.
    pub a: u32,
    /// Strategy B.
    pub b: u32,
    /// Strategy C.
    pub c: u32,
    /// Imported.
    pub imported: u32,
}

/// One bar of the token-length histogram: examples with `min <= tokens < max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HistogramBucket {
    /// Lowest length in the bucket.
    pub min: u32,
    /// One past the highest length.
    pub max: u32,
    /// How many examples.
    pub count: u32,
}

/// What the stats bar shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct Stats {
    /// Examples matched.
    pub total: u32,
    /// By status.
    pub by_status: StatusCounts,
    /// By strategy.
    pub by_strategy: StrategyCounts,
    /// Carrying at least one flag.
    pub flagged: u32,
    /// Token lengths in power-of-two buckets (0–15, 16–31, 32–63, ...); empty buckets left out.
    pub histogram: Vec<HistogramBucket>,
    /// Approved and free of the flags that Mistral's validator would refuse: what an export writes.
    pub exportable: u32,
}

/// An example's id, book and chapter: what the train/validation split groups by.
pub type ExampleSource = (i64, Option<i64>, Option<i64>);

/// An approved example as the export reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// Its id.
    pub id: i64,
    /// Its book.
    pub book_id: Option<i64>,
    /// Its chapter.
    pub chapter: Option<i64>,
    /// Its turns.
    pub messages: Vec<Message>,
}

/// Turns free text into an FTS5 query: every word quoted (so nothing the person types is syntax),
/// all required, the last one a prefix so results come while typing.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let words: Vec<&str> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let last = words.len().checked_sub(1)?;
    Some(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == last { format!("\"{w}\"*") } else { format!("\"{w}\"") })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// A SQL condition over `examples e` and its parameters.
pub(crate) struct Where {
    pub(crate) sql: String,
    pub(crate) params: Vec<Value>,
}

impl Where {
    pub(crate) fn push(&mut self, clause: &str, params: impl IntoIterator<Item = Value>) {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
        self.params.extend(params);
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl ExampleFilter {
    /// A filter matching everything.
    pub fn all() -> Self {
        Self::default()
    }

    pub(crate) fn to_where(&self) -> Where {
        let mut w = Where { sql: "1".into(), params: Vec::new() };
        if !self.status.is_empty() {
            w.push(
                &format!("e.status IN ({})", placeholders(self.status.len())),
                self.status.iter().map(|s| Value::Text(s.as_str().into())),
            );
        }
        if !self.strategy.is_empty() {
            w.push(
                &format!("e.strategy IN ({})", placeholders(self.strategy.len())),
                self.strategy.iter().map(|s| Value::Text(s.as_str().into())),
            );
        }
        if !self.flags.is_empty() {
            w.push("(e.flags & ?) != 0", [Value::Integer(QualityFlag::mask(&self.flags))]);
        }
        if self.unflagged {
            w.push("e.flags = 0", []);
        }
        if let Some(book) = self.book_id {
            w.push("e.book_id = ?", [Value::Integer(book)]);
        }
        if let Some(chapter) = self.chapter {
            w.push("e.chapter = ?", [Value::Integer(chapter)]);
        }
        if let Some(tag) = &self.tag {
            w.push("EXISTS (SELECT 1 FROM json_each(e.tags) WHERE value = ?)", [Value::Text(tag.clone())]);
        }
        if let Some(min) = self.min_tokens {
            w.push("e.token_len >= ?", [Value::Integer(min.into())]);
        }
        if let Some(max) = self.max_tokens {
            w.push("e.token_len <= ?", [Value::Integer(max.into())]);
        }
        if let Some(q) = self.text.as_deref().and_then(fts_query) {
            w.push("e.id IN (SELECT rowid FROM examples_fts WHERE examples_fts MATCH ?)", [Value::Text(q)]);
        }
        w
    }
}

impl Sort {
    fn order_by(self) -> String {
        let column = match self.key {
            SortKey::Id => None,
            SortKey::Status => Some("e.status"),
            SortKey::Strategy => Some("e.strategy"),
            SortKey::TokenLen => Some("e.token_len"),
            SortKey::UpdatedAt => Some("e.updated_at"),
        };
        let dir = if self.descending { "DESC" } else { "ASC" };
        match column {
            Some(c) => format!("{c} {dir}, e.id {dir}"),
            None => format!("e.id {dir}"),
        }
    }
}

impl Store {
    /// How many examples a filter matches.
    pub fn examples_count(&self, filter: &ExampleFilter) -> Result<u32> {
        let w = filter.to_where();
        let sql = format!("SELECT count(*) FROM examples e WHERE {}", w.sql);
        let n: i64 = self.conn().prepare_cached(&sql)?.query_row(rusqlite::params_from_iter(w.params), |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// The ids a filter matches, in listing order (for "select all that match" and navigation).
    pub fn example_ids(&self, filter: &ExampleFilter, sort: Sort) -> Result<Vec<i64>> {
        let w = filter.to_where();
        let sql = format!("SELECT e.id FROM examples e WHERE {} ORDER BY {}", w.sql, sort.order_by());
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(w.params), |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One page of the grid: `limit` examples from `offset` in `sort` order, with the total the filter
    /// matches. Ids are chosen on the narrow `examples` table through its indexes, then only the
    /// page's bodies are read.
    pub fn examples_page(&self, filter: &ExampleFilter, sort: Sort, offset: u32, limit: u32) -> Result<Page> {
        let w = filter.to_where();
        let sql = format!(
            "SELECT e.id FROM examples e WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
            w.sql,
            sort.order_by()
        );
        let ids: Vec<i64> = {
            let mut stmt = self.conn().prepare_cached(&sql)?;
            let mut params = w.params.clone();
            params.extend([Value::Integer(limit.into()), Value::Integer(offset.into())]);
            let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let total = self.examples_count(filter)?;
        Ok(Page { total, offset, rows: self.examples_by_ids(&ids)? })
    }

    /// Counts for the stats bar over what `filter` matches.
    pub fn examples_stats(&self, filter: &ExampleFilter) -> Result<Stats> {
        let w = filter.to_where();
        let blocking = QualityFlag::ALL.into_iter().filter(|f| f.blocks_export()).fold(0, |m, f| m | f.bit());
        let mut stats = Stats::default();
        let sql = format!(
            "SELECT e.status, e.strategy, count(*), sum(e.flags != 0), sum(e.status = 'approved' AND (e.flags & {blocking}) = 0)
             FROM examples e WHERE {} GROUP BY e.status, e.strategy",
            w.sql
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
        let to_u32 = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        while let Some(r) = rows.next()? {
            let status = Status::parse(&r.get::<_, String>(0)?)?;
            let strategy = Strategy::parse(&r.get::<_, String>(1)?)?;
            let n = to_u32(r.get(2)?);
            stats.total += n;
            stats.flagged += to_u32(r.get(3)?);
            stats.exportable += to_u32(r.get(4)?);
            *match status {
                Status::Pending => &mut stats.by_status.pending,
                Status::Approved => &mut stats.by_status.approved,
                Status::Rejected => &mut stats.by_status.rejected,
            } += n;
            *match strategy {
                Strategy::A => &mut stats.by_strategy.a,
                Strategy::B => &mut stats.by_strategy.b,
                Strategy::C => &mut stats.by_strategy.c,
                Strategy::Imported => &mut stats.by_strategy.imported,
            } += n;
        }
        drop(rows);
        let sql = format!("SELECT e.token_len, count(*) FROM examples e WHERE {} GROUP BY e.token_len", w.sql);
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
        let mut buckets: Vec<u32> = Vec::new();
        while let Some(r) = rows.next()? {
            let len = u32::try_from(r.get::<_, i64>(0)?.max(0)).unwrap_or(u32::MAX);
            let bucket = if len < 16 { 0 } else { (len.ilog2() - 3) as usize };
            if buckets.len() <= bucket {
                buckets.resize(bucket + 1, 0);
            }
            buckets[bucket] += to_u32(r.get(1)?);
        }
        stats.histogram = buckets
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(i, count)| {
                let min = if i == 0 { 0 } else { 1u32 << (i + 3) };
                HistogramBucket { min, max: 1u32.checked_shl(i as u32 + 4).unwrap_or(u32::MAX), count }
            })
            .collect();
        Ok(stats)
    }

    /// Book and chapter of every approved example, by id (the export's first pass, for the split).
    pub fn examples_approved_sources(&self) -> Result<Vec<ExampleSource>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id, book_id, chapter FROM examples WHERE status = 'approved' ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Streams every approved example, in id order, to `f`, from one consistent snapshot; stops at the
    /// first error `f` returns.
    pub fn examples_for_export<E: From<crate::Error>>(
        &self,
        mut f: impl FnMut(ExportRow) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT e.id, e.book_id, e.chapter, b.messages FROM examples e
                   JOIN example_bodies b ON b.example_id = e.id
                 WHERE e.status = 'approved' ORDER BY e.id",
            )
            .map_err(crate::Error::from)?;
        let mut rows = stmt.query([]).map_err(crate::Error::from)?;
        while let Some(r) = rows.next().map_err(crate::Error::from)? {
            let id: i64 = r.get(0).map_err(crate::Error::from)?;
            let messages: String = r.get(3).map_err(crate::Error::from)?;
            f(ExportRow {
                id,
                book_id: r.get(1).map_err(crate::Error::from)?,
                chapter: r.get(2).map_err(crate::Error::from)?,
                messages: parse_json("messages", id, &messages)?,
            })?;
        }
        Ok(())
    }

    /// The examples a filter matches, whole, in id order (for re-checking flags after rules change).
    pub fn examples_matching(&self, filter: &ExampleFilter, offset: u32, limit: u32) -> Result<Vec<super::Example>> {
        let w = filter.to_where();
        let sql = format!(
            "SELECT {EXAMPLE_COLUMNS} FROM examples e JOIN example_bodies b ON b.example_id = e.id
             WHERE {} ORDER BY e.id LIMIT {limit} OFFSET {offset}",
            w.sql
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(w.params), example_from_row)?;
        rows.map(|r| r?.finish()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_becomes_a_safe_fts_query() {
        assert_eq!(fts_query("Mr. Darcy's pride").as_deref(), Some("\"Mr\" \"Darcy\" \"s\" \"pride\"*"));
        assert_eq!(fts_query("  \"OR\" NEAR( "), Some("\"OR\" \"NEAR\"*".to_string()));
        assert_eq!(fts_query(" -- "), None);
    }
}
