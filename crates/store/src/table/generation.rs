//! `teacher_cache` and `generation_items`: what teacher models were asked and answered.
//!
//! - `teacher_cache` keeps every answer a teacher gave, keyed by a hash of the provider, the model,
//!   the whole prompt (passage included) and the sampling settings, so that a rerun or a resumed job
//!   never pays for the same request twice.
//! - `generation_items` is the work list of one generation job: one row per passage, written when the
//!   job starts, with its state (`pending`, `done`, `rejected`, `failed`), so that a job stopped by a
//!   crash or a cancel resumes with what is left and nothing that was finished is lost.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result, Store, now};

pub(crate) const MIGRATION_5: &str = "
CREATE TABLE teacher_cache (
    key               TEXT PRIMARY KEY,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    response          TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TABLE generation_items (
    job_id            INTEGER NOT NULL,
    idx               INTEGER NOT NULL,
    passage           TEXT NOT NULL,
    cache_key         TEXT NOT NULL,
    state             TEXT NOT NULL,
    examples          INTEGER NOT NULL DEFAULT 0,
    reason            TEXT,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cached            INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
) STRICT, WITHOUT ROWID;
";

/// Where one passage of a generation job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    /// Not answered yet.
    Pending,
    /// Answered, and its examples stored.
    Done,
    /// Answered, but the answer was unusable (the reason is kept).
    Rejected,
    /// The request failed even after retries; a resume tries it again.
    Failed,
}

impl ItemState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => Self::Pending,
            "done" => Self::Done,
            "rejected" => Self::Rejected,
            "failed" => Self::Failed,
            other => return Err(Error::Malformed(format!("generation item state {other:?}"))),
        })
    }
}

/// One passage of a generation job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GenerationItem {
    /// The job.
    pub job_id: i64,
    /// Its place in the job's work list.
    pub idx: i64,
    /// The passage, as JSON owned by the service layer.
    pub passage: String,
    /// The key of the request in `teacher_cache`.
    pub cache_key: String,
    /// Where it stands.
    pub state: ItemState,
    /// How many examples it made.
    pub examples: i64,
    /// Why it was rejected or failed.
    pub reason: Option<String>,
    /// Prompt tokens paid for it (0 when answered from the cache).
    pub prompt_tokens: i64,
    /// Completion tokens paid for it.
    pub completion_tokens: i64,
    /// Whether the answer came from the cache.
    pub cached: bool,
    /// How many requests it took.
    pub attempts: i64,
}

/// Counts over one job's work list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
pub struct ItemTotals {
    /// Passages in all.
    pub total: u64,
    /// Still to ask.
    pub pending: u64,
    /// Answered with examples.
    pub done: u64,
    /// Answered unusably.
    pub rejected: u64,
    /// Failed after retries.
    pub failed: u64,
    /// Examples made.
    pub examples: u64,
    /// Prompt tokens paid.
    pub prompt_tokens: u64,
    /// Completion tokens paid.
    pub completion_tokens: u64,
    /// Passages answered from the cache.
    pub cached: u64,
}

/// A cached teacher answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedAnswer {
    /// The raw text the teacher returned.
    pub response: String,
    /// Prompt tokens it cost.
    pub prompt_tokens: i64,
    /// Completion tokens it cost.
    pub completion_tokens: i64,
}

/// What became of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemUpdate<'a> {
    /// Its new state.
    pub state: ItemState,
    /// Examples it made.
    pub examples: i64,
    /// Why it was rejected or failed.
    pub reason: Option<&'a str>,
    /// Prompt tokens paid.
    pub prompt_tokens: i64,
    /// Completion tokens paid.
    pub completion_tokens: i64,
    /// Answered from the cache.
    pub cached: bool,
    /// Requests made.
    pub attempts: i64,
}

fn item_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(GenerationItem, String)> {
    Ok((
        GenerationItem {
            job_id: r.get(0)?,
            idx: r.get(1)?,
            passage: r.get(2)?,
            cache_key: r.get(3)?,
            state: ItemState::Pending,
            examples: r.get(5)?,
            reason: r.get(6)?,
            prompt_tokens: r.get(7)?,
            completion_tokens: r.get(8)?,
            cached: r.get::<_, i64>(9)? != 0,
            attempts: r.get(10)?,
        },
        r.get(4)?,
    ))
}

const ITEM_COLUMNS: &str = "job_id, idx, passage, cache_key, state, examples, reason, prompt_tokens, completion_tokens, cached, attempts";

impl Store {
    /// A cached answer.
    pub fn teacher_cache_get(&self, key: &str) -> Result<Option<CachedAnswer>> {
        Ok(self
            .conn()
            .prepare_cached("SELECT response, prompt_tokens, completion_tokens FROM teacher_cache WHERE key = ?1")?
            .query_row([key], |r| Ok(CachedAnswer { response: r.get(0)?, prompt_tokens: r.get(1)?, completion_tokens: r.get(2)? }))
            .optional()?)
    }

    /// Keeps an answer (the first one kept for a key stays).
    pub fn teacher_cache_put(
        &self,
        key: &str,
        provider: &str,
        model: &str,
        answer: &CachedAnswer,
    ) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO teacher_cache (key, provider, model, response, prompt_tokens, completion_tokens, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![key, provider, model, answer.response, answer.prompt_tokens, answer.completion_tokens, now()])?;
        Ok(())
    }

    /// Writes a job's work list, all pending (call inside a transaction). `items` are (passage JSON,
    /// cache key) in order.
    pub fn generation_items_insert(&self, job_id: i64, items: &[(String, String)]) -> Result<()> {
        let at = now();
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO generation_items (job_id, idx, passage, cache_key, state, updated_at) VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
        )?;
        for (i, (passage, key)) in items.iter().enumerate() {
            stmt.execute(params![job_id, i as i64, passage, key, at])?;
        }
        Ok(())
    }

    /// Records what became of one item.
    pub fn generation_item_update(&self, job_id: i64, idx: i64, u: &ItemUpdate<'_>) -> Result<()> {
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE generation_items SET state = ?3, examples = ?4, reason = ?5, prompt_tokens = prompt_tokens + ?6,
                    completion_tokens = completion_tokens + ?7, cached = ?8, attempts = attempts + ?9, updated_at = ?10
                 WHERE job_id = ?1 AND idx = ?2",
            )?
            .execute(params![
                job_id,
                idx,
                u.state.as_str(),
                u.examples,
                u.reason,
                u.prompt_tokens,
                u.completion_tokens,
                i64::from(u.cached),
                u.attempts,
                now()
            ])?;
        if changed == 0 {
            return Err(Error::Missing {
                what: "generation item",
                id: idx,
            });
        }
        Ok(())
    }

    /// A job's items in `states` (all of them when empty), in order.
    pub fn generation_items(
        &self,
        job_id: i64,
        states: &[ItemState],
    ) -> Result<Vec<GenerationItem>> {
        let states: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        let states = serde_json::to_string(&states).map_err(|e| Error::Malformed(e.to_string()))?;
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM generation_items WHERE job_id = ?1
               AND (json_array_length(?2) = 0 OR state IN (SELECT value FROM json_each(?2))) ORDER BY idx"
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(params![job_id, states], item_from_row)?;
        rows.map(|r| {
            let (mut item, state) = r?;
            item.state = ItemState::parse(&state)?;
            Ok(item)
        })
        .collect()
    }

    /// Counts over a job's items.
    pub fn generation_totals(&self, job_id: i64) -> Result<ItemTotals> {
        Ok(self.conn().query_row(
            "SELECT count(*), count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'done'),
                    count(*) FILTER (WHERE state = 'rejected'), count(*) FILTER (WHERE state = 'failed'),
                    coalesce(sum(examples), 0), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0),
                    count(*) FILTER (WHERE cached != 0)
             FROM generation_items WHERE job_id = ?1",
            [job_id],
            |r| {
                let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                Ok(ItemTotals {
                    total: n(0)?,
                    pending: n(1)?,
                    done: n(2)?,
                    rejected: n(3)?,
                    failed: n(4)?,
                    examples: n(5)?,
                    prompt_tokens: n(6)?,
                    completion_tokens: n(7)?,
                    cached: n(8)?,
                })
            },
        )?)
    }

    /// Puts a finished or interrupted job back in the queue, so that it can run again under its id.
    pub fn job_requeue(&self, id: i64) -> Result<()> {
        match self.conn().execute(
            "UPDATE jobs SET status = 'queued', error = NULL, result = NULL, finished_at = NULL WHERE id = ?1",
            [id],
        )? {
            0 => Err(Error::Missing { what: "job", id }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_move_through_their_states_and_the_cache_keeps_the_first_answer() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("g.db")).unwrap();
        let job = store.job_insert("generate", "t", "{}").unwrap();
        store
            .generation_items_insert(
                job,
                &[("{}".into(), "k0".into()), ("{}".into(), "k1".into())],
            )
            .unwrap();
        let u = ItemUpdate {
            state: ItemState::Done,
            examples: 2,
            reason: None,
            prompt_tokens: 10,
            completion_tokens: 5,
            cached: false,
            attempts: 2,
        };
        store.generation_item_update(job, 0, &u).unwrap();
        let t = store.generation_totals(job).unwrap();
        assert_eq!(
            (t.total, t.pending, t.done, t.examples, t.prompt_tokens),
            (2, 1, 1, 2, 10)
        );
        let pending = store
            .generation_items(job, &[ItemState::Pending, ItemState::Failed])
            .unwrap();
        assert_eq!(pending.iter().map(|i| i.idx).collect::<Vec<_>>(), vec![1]);
        assert_eq!(store.generation_items(job, &[]).unwrap().len(), 2);
        assert!(store.generation_item_update(job, 9, &u).is_err());

        let a = CachedAnswer {
            response: "first".into(),
            prompt_tokens: 1,
            completion_tokens: 2,
        };
        store.teacher_cache_put("k", "mistral", "m", &a).unwrap();
        store
            .teacher_cache_put(
                "k",
                "mistral",
                "m",
                &CachedAnswer {
                    response: "second".into(),
                    ..a.clone()
                },
            )
            .unwrap();
        assert_eq!(store.teacher_cache_get("k").unwrap(), Some(a));
        assert_eq!(store.teacher_cache_get("nope").unwrap(), None);

        store
            .job_finished(job, crate::JobStatus::Failed, Some("x"), None)
            .unwrap();
        store.job_requeue(job).unwrap();
        assert_eq!(store.job(job).unwrap().status, crate::JobStatus::Queued);
    }
}
