//! `mistral_jobs`: the fine-tuning jobs a project started on Mistral's servers, so that closing the
//! app loses none of them and reopening it follows them again. The job's status and tuned model are
//! columns; the rest of what Mistral last said about it (events, checkpoints) is kept as its JSON.
//! No API key is ever stored here.

use rusqlite::{OptionalExtension, Row, params};

use crate::{Error, Result, Store, now};

pub(crate) const MIGRATION_7: &str = "
CREATE TABLE mistral_jobs (
    id               TEXT PRIMARY KEY,
    teacher          TEXT NOT NULL,
    model            TEXT NOT NULL,
    status           TEXT NOT NULL,
    fine_tuned_model TEXT,
    data_dir         TEXT NOT NULL,
    train_file       TEXT NOT NULL,
    validation_file  TEXT,
    estimate         TEXT NOT NULL DEFAULT '{}',
    remote           TEXT NOT NULL DEFAULT '{}',
    poll_job         INTEGER,
    error            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;
";

/// One Mistral fine-tuning job of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MistralJobRow {
    /// Mistral's job id.
    pub id: String,
    /// The teacher (app settings) whose address and key reach it.
    pub teacher: String,
    /// The base model.
    pub model: String,
    /// Its status as Mistral names it (`RUNNING`).
    pub status: String,
    /// The tuned model's id, once it succeeded.
    pub fine_tuned_model: Option<String>,
    /// The folder the data was uploaded from.
    pub data_dir: String,
    /// Mistral's id of the uploaded training file.
    pub train_file: String,
    /// Mistral's id of the uploaded validation file.
    pub validation_file: Option<String>,
    /// The cost estimate shown before it was created (JSON).
    pub estimate: String,
    /// The job as Mistral last described it (JSON).
    pub remote: String,
    /// The local job that follows it.
    pub poll_job: Option<i64>,
    /// Why it cannot be followed now, when it cannot.
    pub error: Option<String>,
    /// When it was created.
    pub created_at: String,
    /// When it last changed here.
    pub updated_at: String,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<MistralJobRow> {
    Ok(MistralJobRow {
        id: r.get("id")?,
        teacher: r.get("teacher")?,
        model: r.get("model")?,
        status: r.get("status")?,
        fine_tuned_model: r.get("fine_tuned_model")?,
        data_dir: r.get("data_dir")?,
        train_file: r.get("train_file")?,
        validation_file: r.get("validation_file")?,
        estimate: r.get("estimate")?,
        remote: r.get("remote")?,
        poll_job: r.get("poll_job")?,
        error: r.get("error")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

impl Store {
    /// Records a job just created on Mistral's servers.
    pub fn mistral_job_insert(&self, row: &MistralJobRow) -> Result<()> {
        let at = now();
        self.conn().execute(
            "INSERT INTO mistral_jobs (id, teacher, model, status, fine_tuned_model, data_dir, train_file, validation_file,
                                       estimate, remote, poll_job, error, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
            params![
                row.id,
                row.teacher,
                row.model,
                row.status,
                row.fine_tuned_model,
                row.data_dir,
                row.train_file,
                row.validation_file,
                row.estimate,
                row.remote,
                row.poll_job,
                row.error,
                at
            ],
        )?;
        Ok(())
    }

    /// Records what Mistral said about a job; `remote` none keeps the stored description (a job
    /// list carries no events or checkpoints).
    ///
    /// Answers can arrive out of order: the follower's read may leave before a person's cancel and
    /// come back after it. So an answer is not stored over a newer one:
    /// - an ended job stays ended (a cancel's CANCELLATION_REQUESTED, stored after the follower
    ///   had stored CANCELLED, does not bring it back);
    /// - a description older than the stored one, by Mistral's own `modified_at`, then the number
    ///   of its events and of its checkpoints (both only grow), is dropped.
    ///
    /// The check and the write are one statement, so two connections cannot interleave them.
    pub fn mistral_job_update(&self, id: &str, status: &str, fine_tuned_model: Option<&str>, remote: Option<&str>) -> Result<()> {
        const ENDED: &str = "('SUCCESS', 'FAILED', 'FAILED_VALIDATION', 'CANCELLED')";
        let age = |json: &str| {
            format!(
                "(COALESCE(json_extract({json}, '$.modified_at'), 0), \
                  COALESCE(json_array_length({json}, '$.events'), 0), \
                  COALESCE(json_array_length({json}, '$.checkpoints'), 0))"
            )
        };
        let older = format!("(?4 IS NOT NULL AND json_valid(?4) AND json_valid(remote) AND {} < {})", age("?4"), age("remote"));
        let stale = format!("((status IN {ENDED} AND ?2 NOT IN {ENDED}) OR {older})");
        let sql = format!(
            "UPDATE mistral_jobs SET
                 status = CASE WHEN {stale} THEN status ELSE ?2 END,
                 fine_tuned_model = COALESCE(?3, fine_tuned_model),
                 remote = CASE WHEN {stale} THEN remote ELSE COALESCE(?4, remote) END,
                 error = CASE WHEN {stale} THEN error ELSE NULL END,
                 updated_at = ?5
             WHERE id = ?1"
        );
        self.mistral_update(id, &sql, params![id, status, fine_tuned_model, remote, now()])
    }

    /// Records why a job cannot be followed now (none: it can).
    pub fn mistral_job_error(&self, id: &str, error: Option<&str>) -> Result<()> {
        self.mistral_update(id, "UPDATE mistral_jobs SET error = ?2, updated_at = ?3 WHERE id = ?1", params![id, error, now()])
    }

    /// Records the local job that follows it.
    pub fn mistral_job_set_poll(&self, id: &str, poll_job: i64) -> Result<()> {
        self.mistral_update(id, "UPDATE mistral_jobs SET poll_job = ?2 WHERE id = ?1", params![id, poll_job])
    }

    fn mistral_update(&self, id: &str, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        match self.conn().execute(sql, params)? {
            0 => Err(Error::Malformed(format!("no Mistral job {id:?} in this project"))),
            _ => Ok(()),
        }
    }

    /// One job, if the project has it.
    pub fn mistral_job(&self, id: &str) -> Result<Option<MistralJobRow>> {
        Ok(self.conn().query_row("SELECT * FROM mistral_jobs WHERE id = ?1", [id], from_row).optional()?)
    }

    /// Every job, newest first.
    pub fn mistral_jobs(&self) -> Result<Vec<MistralJobRow>> {
        let mut stmt = self.conn().prepare("SELECT * FROM mistral_jobs ORDER BY created_at DESC, id")?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Job j1 as created: queued, with Mistral's description `remote`.
    fn queued(remote: &str) -> MistralJobRow {
        MistralJobRow {
            id: "j1".into(),
            teacher: "mistral".into(),
            model: "open-mistral-7b".into(),
            status: "QUEUED".into(),
            fine_tuned_model: None,
            data_dir: "/d".into(),
            train_file: "f1".into(),
            validation_file: None,
            estimate: "{}".into(),
            remote: remote.into(),
            poll_job: None,
            error: None,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn a_job_is_stored_updated_and_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("g.db")).unwrap();
        let row = MistralJobRow { validation_file: Some("f2".into()), error: Some("old".into()), ..queued("{\"id\":\"j1\"}") };
        store.mistral_job_insert(&row).unwrap();
        store.mistral_job_update("j1", "SUCCESS", Some("ft:x"), None).unwrap();
        store.mistral_job_set_poll("j1", 7).unwrap();
        let got = store.mistral_job("j1").unwrap().unwrap();
        assert_eq!((got.status.as_str(), got.fine_tuned_model.as_deref(), got.poll_job), ("SUCCESS", Some("ft:x"), Some(7)));
        assert_eq!((got.remote.as_str(), got.error), ("{\"id\":\"j1\"}", None));
        assert_eq!(store.mistral_jobs().unwrap().len(), 1);
        assert!(store.mistral_job("nope").unwrap().is_none());
        assert!(store.mistral_job_update("nope", "RUNNING", None, None).is_err());

        // A late answer from before the end does not reopen an ended job; another end may follow.
        store.mistral_job_update("j1", "CANCELLATION_REQUESTED", None, Some("{\"late\":1}")).unwrap();
        let got = store.mistral_job("j1").unwrap().unwrap();
        assert_eq!((got.status.as_str(), got.remote.as_str()), ("SUCCESS", "{\"id\":\"j1\"}"));
        store.mistral_job_update("j1", "CANCELLED", None, None).unwrap();
        assert_eq!(store.mistral_job("j1").unwrap().unwrap().status, "CANCELLED");
    }

    #[test]
    fn an_answer_older_than_the_stored_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("g.db")).unwrap();
        let job = |status: &str, modified: i64, events: usize, checkpoints: usize| {
            let events: Vec<_> = (0..events).map(|i| serde_json::json!({"name": "status-updated", "created_at": i})).collect();
            let checkpoints: Vec<_> = (0..checkpoints).map(|i| serde_json::json!({"step_number": i})).collect();
            serde_json::json!({"status": status, "modified_at": modified, "events": events, "checkpoints": checkpoints}).to_string()
        };
        store.mistral_job_insert(&queued(&job("QUEUED", 10, 0, 0))).unwrap();
        let update = |status: &str, remote: &str| {
            store.mistral_job_update("j1", status, None, Some(remote)).unwrap();
            store.mistral_job("j1").unwrap().unwrap().status
        };
        // A cancel's answer, then the follower's read that left before it.
        assert_eq!(update("CANCELLATION_REQUESTED", &job("CANCELLATION_REQUESTED", 10, 2, 0)), "CANCELLATION_REQUESTED");
        assert_eq!(update("QUEUED", &job("QUEUED", 10, 1, 0)), "CANCELLATION_REQUESTED");
        // The same answer twice is stored again; a later one is stored.
        assert_eq!(update("CANCELLATION_REQUESTED", &job("CANCELLATION_REQUESTED", 10, 2, 0)), "CANCELLATION_REQUESTED");
        assert_eq!(update("RUNNING", &job("RUNNING", 11, 2, 0)), "RUNNING");
        // Checkpoints only grow while it runs; modified_at comes first.
        assert_eq!(update("RUNNING", &job("RUNNING", 11, 2, 3)), "RUNNING");
        assert_eq!(update("VALIDATED", &job("VALIDATED", 11, 2, 1)), "RUNNING");
        assert_eq!(update("VALIDATED", &job("VALIDATED", 10, 9, 9)), "RUNNING");
        assert_eq!(store.mistral_job("j1").unwrap().unwrap().remote, job("RUNNING", 11, 2, 3));
        // A status from a job list (no description) has no age to compare.
        assert_eq!(store.mistral_job_update("j1", "SUCCESS", Some("ft:x"), None).map(|_| ()).ok(), Some(()));
        assert_eq!(store.mistral_job("j1").unwrap().unwrap().status, "SUCCESS");
        // Something that is not JSON is stored as it was before this check.
        assert_eq!(update("CANCELLED", "not json"), "CANCELLED");
    }
}
