//! Jobs: long work run on its own thread, with typed progress events, cancellation, and its state
//! kept in the project's `jobs` table so that a restart shows what ran and what was interrupted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use grimoire_store::{JobStatus, Store};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{ApiError, Error, Result};

/// What happened to a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEventKind {
    /// Recorded.
    Queued {
        /// What kind of work.
        kind: String,
        /// Its title.
        title: String,
    },
    /// Started running.
    Started,
    /// Made progress.
    Progress {
        /// Units done.
        done: u64,
        /// Units in all (0 when unknown).
        total: u64,
        /// What it is doing.
        message: String,
    },
    /// Finished its work.
    Completed {
        /// What it produced, as JSON.
        result: Option<String>,
    },
    /// Stopped by an error.
    Failed {
        /// The error.
        error: ApiError,
    },
    /// Stopped because someone asked.
    Cancelled,
}

/// One event, as the shell forwards it to the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JobEvent {
    /// The project folder the job belongs to.
    pub project: String,
    /// The job's id in that project.
    pub job_id: i64,
    /// What happened.
    pub event: JobEventKind,
}

/// Where events go: the shell emits them to the window, the CLI prints them.
pub type EventSink = Arc<dyn Fn(JobEvent) + Send + Sync>;

/// A flag that asks a job to stop at its next check.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Asks the job to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself, for leaf crates that take an `AtomicBool`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// What a job's work sees: its own store connection, its cancel token and its progress reporter.
pub struct JobContext {
    store: Store,
    project: String,
    id: i64,
    cancel: CancelToken,
    sink: EventSink,
    last_write: Option<Instant>,
}

/// How often progress is written to the database (every event still reaches the sink).
const PROGRESS_WRITE_INTERVAL: Duration = Duration::from_millis(250);

impl JobContext {
    /// The job's own connection to the project database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The job's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The job's cancel token, for work that checks it from inside a leaf crate.
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// Fails with [`Error::Cancelled`] once a stop was asked for.
    pub fn check_cancelled(&self) -> Result<()> {
        if self.cancel.is_cancelled() { Err(Error::Cancelled) } else { Ok(()) }
    }

    /// Reports progress; fails with [`Error::Cancelled`] once a stop was asked for.
    pub fn progress(&mut self, done: u64, total: u64, message: &str) -> Result<()> {
        self.check_cancelled()?;
        let due = self.last_write.is_none_or(|t| t.elapsed() >= PROGRESS_WRITE_INTERVAL);
        if due || done == total {
            self.store.job_progress(self.id, done, total, message)?;
            self.last_write = Some(Instant::now());
        }
        (self.sink)(JobEvent {
            project: self.project.clone(),
            job_id: self.id,
            event: JobEventKind::Progress { done, total, message: message.to_string() },
        });
        Ok(())
    }
}

/// A started job.
#[derive(Debug)]
pub struct JobHandle {
    /// Its id in the project.
    pub id: i64,
    thread: JoinHandle<JobStatus>,
}

impl JobHandle {
    /// Waits for the job to stop and returns how it ended.
    pub fn wait(self) -> JobStatus {
        self.thread.join().unwrap_or(JobStatus::Failed)
    }
}

type RunningJobs = Arc<Mutex<HashMap<(PathBuf, i64), CancelToken>>>;

/// Runs jobs and remembers which are running, so they can be cancelled.
pub struct Jobs {
    running: RunningJobs,
    sink: EventSink,
}

impl Jobs {
    /// A job runner that publishes to `sink`.
    pub fn new(sink: EventSink) -> Self {
        Self { running: Arc::default(), sink }
    }

    /// Records a job in `store`'s project and runs `work` on a thread of its own.
    pub fn spawn<F>(&self, store: &Store, project: &Path, kind: &str, title: &str, params: &serde_json::Value, work: F) -> Result<JobHandle>
    where
        F: FnOnce(&mut JobContext) -> Result<serde_json::Value> + Send + 'static,
    {
        let id = store.job_insert(kind, title, &params.to_string())?;
        self.start(store, project, id, kind, title, work)
    }

    /// Runs a stopped job (interrupted, cancelled, failed) again under its own id and row.
    pub fn resume<F>(&self, store: &Store, project: &Path, id: i64, work: F) -> Result<JobHandle>
    where
        F: FnOnce(&mut JobContext) -> Result<serde_json::Value> + Send + 'static,
    {
        if lock(&self.running).contains_key(&(project.to_path_buf(), id)) {
            return Err(Error::InvalidInput(format!("job {id} is running already")));
        }
        let job = store.job(id)?;
        store.job_requeue(id)?;
        self.start(store, project, id, &job.kind, &job.title, work)
    }

    fn start<F>(&self, store: &Store, project: &Path, id: i64, kind: &str, title: &str, work: F) -> Result<JobHandle>
    where
        F: FnOnce(&mut JobContext) -> Result<serde_json::Value> + Send + 'static,
    {
        let cancel = CancelToken::default();
        let key = (project.to_path_buf(), id);
        lock(&self.running).insert(key.clone(), cancel.clone());
        let project_name = project.display().to_string();
        (self.sink)(JobEvent {
            project: project_name.clone(),
            job_id: id,
            event: JobEventKind::Queued { kind: kind.to_string(), title: title.to_string() },
        });
        let job_store = store.reopen()?;
        let sink = self.sink.clone();
        let running = self.running.clone();
        let thread = std::thread::Builder::new()
            .name(format!("job-{kind}-{id}"))
            .spawn(move || {
                let mut ctx = JobContext { store: job_store, project: project_name, id, cancel, sink, last_write: None };
                let status = run(&mut ctx, work);
                lock(&running).remove(&key);
                status
            })
            .map_err(|e| Error::io(project, e))?;
        Ok(JobHandle { id, thread })
    }

    /// Whether job `id` of `project` is running in this process.
    pub fn is_running(&self, project: &Path, id: i64) -> bool {
        lock(&self.running).contains_key(&(project.to_path_buf(), id))
    }

    /// The ids of this project's jobs running now.
    pub fn running(&self, project: &Path) -> std::collections::HashSet<i64> {
        lock(&self.running).keys().filter(|(p, _)| p == project).map(|(_, id)| *id).collect()
    }

    /// Asks a running job to stop; false when no such job is running.
    pub fn cancel(&self, project: &Path, id: i64) -> bool {
        match lock(&self.running).get(&(project.to_path_buf(), id)) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Whether any job of this project is running.
    pub fn any_running(&self, project: &Path) -> bool {
        lock(&self.running).keys().any(|(p, _)| p == project)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run<F>(ctx: &mut JobContext, work: F) -> JobStatus
where
    F: FnOnce(&mut JobContext) -> Result<serde_json::Value>,
{
    let emit = |ctx: &JobContext, event| (ctx.sink)(JobEvent { project: ctx.project.clone(), job_id: ctx.id, event });
    if let Err(e) = ctx.store.job_started(ctx.id) {
        emit(ctx, JobEventKind::Failed { error: Error::from(e).to_api() });
        return JobStatus::Failed;
    }
    emit(ctx, JobEventKind::Started);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(ctx)));
    let (status, event, error, result) = match outcome {
        Ok(Ok(value)) => {
            let result = (!value.is_null()).then(|| value.to_string());
            (JobStatus::Completed, JobEventKind::Completed { result: result.clone() }, None, result)
        }
        Ok(Err(Error::Cancelled)) => (JobStatus::Cancelled, JobEventKind::Cancelled, None, None),
        Ok(Err(e)) => {
            let api = e.to_api();
            (JobStatus::Failed, JobEventKind::Failed { error: api.clone() }, Some(api.message), None)
        }
        Err(_) => {
            let api = ApiError { code: crate::ErrorCode::Internal, message: "the job crashed (a bug in Grimoire)".into() };
            (JobStatus::Failed, JobEventKind::Failed { error: api.clone() }, Some(api.message), None)
        }
    };
    // The row is the record a restart reads; if even that write fails the event still tells the window.
    let _ = ctx.store.job_finished(ctx.id, status, error.as_deref(), result.as_deref());
    emit(ctx, event);
    status
}
