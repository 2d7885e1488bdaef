//! `jobs`: every long piece of work (import, generation, training), so that a restart shows what ran
//! and what was interrupted.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Result, Store, now};

pub(crate) const MIGRATION_1: &str = "
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    status      TEXT NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    total       INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    error       TEXT,
    params      TEXT NOT NULL DEFAULT '{}',
    result      TEXT,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
) STRICT;
CREATE INDEX jobs_by_status ON jobs(status);
";

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Recorded, not started.
    Queued,
    /// Running now.
    Running,
    /// Finished its work.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Stopped because someone asked.
    Cancelled,
    /// Was running when the app stopped; can be resumed where the job kind allows.
    Interrupted,
}

impl JobStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "interrupted" => Self::Interrupted,
            other => return Err(Error::Malformed(format!("job status {other:?}"))),
        })
    }

    /// Whether the job has stopped for good or for now.
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// One job row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// What kind of work (`import`, `generate`, `train`...).
    pub kind: String,
    /// A human title.
    pub title: String,
    /// Where it stands.
    pub status: JobStatus,
    /// Units of work done.
    pub done: u64,
    /// Units of work in all (0 when unknown).
    pub total: u64,
    /// The latest progress message.
    pub message: String,
    /// Why it failed.
    pub error: Option<String>,
    /// Its parameters, as JSON, so that it can be resumed.
    pub params: String,
    /// What it produced, as JSON.
    pub result: Option<String>,
    /// When it was recorded.
    pub created_at: String,
    /// When it started.
    pub started_at: Option<String>,
    /// When it stopped.
    pub finished_at: Option<String>,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<(Job, String)> {
    let status: String = row.get("status")?;
    Ok((
        Job {
            id: row.get("id")?,
            kind: row.get("kind")?,
            title: row.get("title")?,
            status: JobStatus::Queued,
            done: row.get::<_, i64>("done")? as u64,
            total: row.get::<_, i64>("total")? as u64,
            message: row.get("message")?,
            error: row.get("error")?,
            params: row.get("params")?,
            result: row.get("result")?,
            created_at: row.get("created_at")?,
            started_at: row.get("started_at")?,
            finished_at: row.get("finished_at")?,
        },
        status,
    ))
}

fn finish_row((mut job, status): (Job, String)) -> Result<Job> {
    job.status = JobStatus::parse(&status)?;
    Ok(job)
}

impl Store {
    /// Records a new queued job and returns its id.
    pub fn job_insert(&self, kind: &str, title: &str, params: &str) -> Result<i64> {
        self.conn().execute(
            "INSERT INTO jobs (kind, title, status, params, created_at) VALUES (?1, ?2, 'queued', ?3, ?4)",
            params![kind, title, params, now()],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Marks a job as running.
    pub fn job_started(&self, id: i64) -> Result<()> {
        self.job_update(id, "UPDATE jobs SET status = 'running', started_at = ?2 WHERE id = ?1", params![id, now()])
    }

    /// Records progress.
    pub fn job_progress(&self, id: i64, done: u64, total: u64, message: &str) -> Result<()> {
        self.job_update(
            id,
            "UPDATE jobs SET done = ?2, total = ?3, message = ?4 WHERE id = ?1",
            params![id, done as i64, total as i64, message],
        )
    }

    /// Records the end of a job.
    pub fn job_finished(&self, id: i64, status: JobStatus, error: Option<&str>, result: Option<&str>) -> Result<()> {
        self.job_update(
            id,
            "UPDATE jobs SET status = ?2, error = ?3, result = ?4, finished_at = ?5 WHERE id = ?1",
            params![id, status.as_str(), error, result, now()],
        )
    }

    fn job_update(&self, id: i64, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        match self.conn().execute(sql, params)? {
            0 => Err(Error::Missing { what: "job", id }),
            _ => Ok(()),
        }
    }

    /// One job.
    pub fn job(&self, id: i64) -> Result<Job> {
        self.conn()
            .query_row("SELECT * FROM jobs WHERE id = ?1", [id], from_row)
            .optional()?
            .ok_or(Error::Missing { what: "job", id })
            .and_then(finish_row)
    }

    /// The most recent jobs, newest first.
    pub fn jobs(&self, limit: usize) -> Result<Vec<Job>> {
        let mut stmt = self.conn().prepare("SELECT * FROM jobs ORDER BY id DESC LIMIT ?1")?;
        let rows = stmt.query_map([limit as i64], from_row)?;
        rows.map(|r| finish_row(r?)).collect()
    }

    /// Marks every job that was queued or running as interrupted: called when a project opens, since
    /// no job survives the process that ran it. Returns how many were.
    pub fn jobs_mark_interrupted(&self) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE jobs SET status = 'interrupted', finished_at = ?1 WHERE status IN ('queued', 'running')",
            [now()],
        )?)
    }
}
