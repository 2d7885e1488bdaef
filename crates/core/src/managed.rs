//! Managed fine-tuning on Mistral's servers: the project's exported `train.jsonl` and
//! `validation.jsonl` are checked against Mistral's rules here first (the same validator as
//! `grimoire validate`), the cost is estimated, then the files are uploaded, a job is created and
//! a local job follows it (polling) until it ends. Every Mistral job is a row of the project's
//! `mistral_jobs` table, so closing the app loses nothing and opening the project follows the
//! unfinished ones again. The teacher named in the input (kind Mistral) gives the address and the
//! key; the key never reaches the database, a log or an export.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use grimoire_store::Store;
use grimoire_store::table::mistral::MistralJobRow;
use grimoire_teacher::finetune::{
    Checkpoint, FineTuneClient, FineTuneConfig, Hyperparameters, Job, JobEvent, JobMetadata,
    JobStatus, NewJob,
};
use grimoire_teacher::{CallError, CallErrorKind, RetryPolicy};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::jobs::{JobContext, JobHandle};
use crate::service::{absolute, lock};
use crate::teachers::{TeacherKind, api_key, block_on};
use crate::{Error, ProjectRef, Result, Service, ValidateInput, ValidateOutput};

/// The kind of the local job that follows a Mistral job.
pub const JOB_KIND: &str = "mistral-ft";

/// Which price list the table below follows. The cost shown is an estimate from it; a job created
/// without auto-start reports Mistral's own figure once its data is validated, and that one counts.
pub const PRICES_AS_OF: &str = "2024-06";
/// Where the prices come from.
pub const PRICE_SOURCE: &str = "the fine-tuning prices Mistral published at the launch of its fine-tuning API      (June 2024), not re-checked since: see mistral.ai/pricing for today's";

/// Mistral's one-off training price in US dollars per million trained tokens, and its monthly fee
/// for keeping a tuned model, by base model family. The one place these numbers live.
const PRICES: &[(&str, f64, f64)] = &[
    ("open-mistral-7b", 1.0, 2.0),
    ("open-mistral-nemo", 1.0, 2.0),
    ("ministral-3b", 1.0, 2.0),
    ("ministral-8b", 1.0, 2.0),
    ("mistral-small", 3.0, 2.0),
    ("codestral", 3.0, 2.0),
    ("mistral-large", 9.0, 4.0),
];

/// Tokens per word, for the estimate when no tokenizer is chosen (BPE tokenizers make about 1.3
/// of an English word; the validator counts words).
const TOKENS_PER_WORD: f64 = 1.3;

/// The price of a model family: (per million trained tokens, per month of storage).
pub fn price_of(model: &str) -> Option<(f64, f64)> {
    let model = model.trim();
    PRICES
        .iter()
        .filter(|(family, _, _)| model.starts_with(family))
        .max_by_key(|(family, _, _)| family.len())
        .map(|&(_, train, storage)| (train, storage))
}

/// Polling and retries, changed by tests and the CLI.
pub(crate) struct Live {
    timing: Mutex<Timing>,
}

#[derive(Clone, Copy)]
struct Timing {
    poll: Duration,
    retry: RetryPolicy,
    follow_on_open: bool,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            timing: Mutex::new(Timing {
                poll: Duration::from_secs(30),
                retry: RetryPolicy::default(),
                follow_on_open: true,
            }),
        }
    }
}

impl Live {
    fn get(&self) -> Timing {
        *lock(&self.timing)
    }
}

/// Input of [`Service::estimate_mistral_job`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MistralEstimateInput {
    /// The project folder.
    pub project: String,
    /// A folder with `train.jsonl` (and `validation.jsonl`); none: the project's latest export.
    pub data: Option<String>,
    /// The base model (`open-mistral-7b`, `mistral-small-latest`...).
    pub model: String,
    /// Hyper-parameters (epochs matter for the cost).
    pub hyperparameters: Hyperparameters,
    /// Count tokens with this model's tokenizer; none: words × 1.3.
    pub tokenizer: Option<String>,
}

/// What a job would upload and cost, before anything is uploaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MistralEstimate {
    /// The data folder.
    pub data_dir: String,
    /// The training file.
    pub train_file: String,
    /// The validation file, when there is one with conversations.
    pub validation_file: Option<String>,
    /// The training file checked against Mistral's rules.
    pub train: ValidateOutput,
    /// The validation file checked.
    pub validation: Option<ValidateOutput>,
    /// Whether both files break no rule (nothing is uploaded otherwise).
    pub ready: bool,
    /// Tokens in the training file.
    pub train_tokens: u64,
    /// How they were counted.
    pub counted_with: String,
    /// Passes over the data the cost assumes (none when the job is set by steps).
    pub epochs: Option<f64>,
    /// Tokens to be billed: training tokens × epochs.
    pub billed_tokens: Option<u64>,
    /// The price per million trained tokens, from the table.
    pub price_per_million: Option<f64>,
    /// The monthly fee for keeping the tuned model.
    pub monthly_storage: Option<f64>,
    /// The estimated training cost.
    pub cost: Option<f64>,
    /// The currency of the prices.
    pub currency: String,
    /// When the price table was read.
    pub prices_as_of: String,
    /// Where it comes from.
    pub price_source: String,
    /// What the estimate leaves out, in words.
    pub note: String,
}

/// Input of [`Service::create_mistral_job`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MistralCreateInput {
    /// The project folder.
    pub project: String,
    /// The teacher (kind Mistral) whose address and key to use.
    pub teacher: String,
    /// A folder with `train.jsonl` (and `validation.jsonl`); none: the project's latest export.
    pub data: Option<String>,
    /// The base model.
    pub model: String,
    /// Hyper-parameters.
    pub hyperparameters: Hyperparameters,
    /// Appended to the tuned model's id.
    pub suffix: Option<String>,
    /// Start training as soon as Mistral has validated the data; off: wait for a start.
    pub auto_start: bool,
    /// Count tokens for the estimate with this model's tokenizer.
    pub tokenizer: Option<String>,
}

/// Names a Mistral job of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MistralJobRef {
    /// The project folder.
    pub project: String,
    /// Mistral's job id.
    pub job_id: String,
}

/// Input of [`Service::list_mistral_jobs`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MistralListInput {
    /// The project folder.
    pub project: String,
    /// Ask Mistral for the jobs' statuses first (`GET /fine_tuning/jobs`); off: as stored.
    pub refresh: bool,
}

/// The project's Mistral jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MistralJobList {
    /// Newest first.
    pub jobs: Vec<MistralJobView>,
    /// Why Mistral could not be asked, when a refresh failed (the list is then as stored).
    pub refresh_error: Option<String>,
}

/// A Mistral job as the Train workspace shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MistralJobView {
    /// Mistral's job id.
    pub id: String,
    /// The teacher that reaches it.
    pub teacher: String,
    /// The base model.
    pub model: String,
    /// Where it stands.
    pub status: JobStatus,
    /// The tuned model's id, once it succeeded: a chat model through the teacher.
    pub fine_tuned_model: Option<String>,
    /// The suffix of that id.
    pub suffix: Option<String>,
    /// Whether it starts by itself after validation.
    pub auto_start: bool,
    /// The folder its data came from.
    pub data_dir: String,
    /// Its hyper-parameters.
    pub hyperparameters: Hyperparameters,
    /// What happened to it.
    pub events: Vec<JobEvent>,
    /// Its checkpoints' losses, for the curves.
    pub checkpoints: Vec<Checkpoint>,
    /// The estimate shown before it was created.
    pub estimate: Option<MistralEstimate>,
    /// Mistral's own estimate once it has read the data (cost, tokens, duration).
    pub metadata: Option<JobMetadata>,
    /// Why it cannot be followed now, when it cannot.
    pub error: Option<String>,
    /// Whether a local job follows it now.
    pub following: bool,
    /// The local job that follows (or followed) it.
    pub follow_job: Option<i64>,
    /// When it was created here.
    pub created_at: String,
    /// When it last changed here.
    pub updated_at: String,
}

fn validate_file(service: &Service, path: &Path, tokenizer: &Option<String>) -> Result<ValidateOutput> {
    service.validate_jsonl(ValidateInput { file: path.display().to_string(), tokenizer: tokenizer.clone() })
}

/// What a file's problems look like in an error: the first few, with the file's name.
fn problems_text(name: &str, report: &ValidateOutput) -> Option<String> {
    if report.problems.is_empty() && report.valid == report.lines {
        return None;
    }
    let mut shown: Vec<String> = report.problems.iter().take(3).map(|p| format!("{name} line {}: {}", p.line, p.message)).collect();
    if report.problems.len() > 3 {
        shown.push(format!("and {} more", report.problems.len() - 3));
    }
    Some(shown.join("; "))
}

/// Turns a failed request into a sentence that says what to do; `after` says what was kept.
fn explain(e: CallError, teacher: &str, base: &str, doing: &str, after: &str) -> Error {
    let detail = &e.message;
    let message = match e.kind {
        CallErrorKind::Status(401 | 403) => format!(
            "Mistral refused the API key of teacher {teacher:?} while {doing} ({detail}): the key is wrong, expired or revoked. Set a valid key with `grimoire teachers set-key {teacher}` or in Settings → Teachers, then try again. {after}"
        ),
        CallErrorKind::Status(404) => format!("Mistral does not know what was asked for while {doing} ({detail}). {after}"),
        CallErrorKind::Status(429) => format!(
            "Mistral kept refusing requests for going too fast while {doing} ({detail}); wait a few minutes and try again. {after}"
        ),
        CallErrorKind::Status(s) if s >= 500 => {
            format!("Mistral's server failed while {doing} ({detail}); try again later. {after}")
        }
        CallErrorKind::Status(_) => format!("Mistral refused the request while {doing}: {detail}. {after}"),
        CallErrorKind::Timeout | CallErrorKind::Connection => format!(
            "Could not reach Mistral at {base} while {doing} ({detail}): check the network connection and try again. {after}"
        ),
        _ => format!("While {doing}: {detail}. {after}"),
    };
    Error::Teacher(grimoire_teacher::Error::Call(CallError { message, ..e }))
}

fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Json { what: what.into(), source })
}

fn view(row: MistralJobRow, following: bool) -> MistralJobView {
    let remote: Option<Job> = serde_json::from_str(&row.remote).ok();
    let status = JobStatus::parse(&row.status);
    let (events, checkpoints, hyperparameters, metadata, suffix, auto_start) = match remote {
        Some(j) => (j.events, j.checkpoints, j.hyperparameters, j.metadata, j.suffix, j.auto_start),
        None => (Vec::new(), Vec::new(), Hyperparameters::default(), None, None, false),
    };
    MistralJobView {
        id: row.id,
        teacher: row.teacher,
        model: row.model,
        status,
        fine_tuned_model: row.fine_tuned_model,
        suffix,
        auto_start,
        data_dir: row.data_dir,
        hyperparameters,
        events,
        checkpoints,
        estimate: serde_json::from_str(&row.estimate).ok(),
        metadata,
        error: row.error,
        following,
        follow_job: row.poll_job,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Stores what Mistral said about a job.
fn record(store: &Store, job: &Job) -> Result<()> {
    store.mistral_job_update(&job.id, job.status.as_str(), job.fine_tuned_model.as_deref(), Some(&to_json(job, "Mistral job")?))?;
    Ok(())
}

/// What Mistral's events say went wrong, for a failed job's message.
fn reasons(job: &Job) -> String {
    let said: Vec<&str> = job
        .events
        .iter()
        .map(|e| e.message.as_str())
        .filter(|m| !m.is_empty() && JobStatus::parse(m) == JobStatus::Unknown)
        .collect();
    if said.is_empty() { "Mistral gave no reason".into() } else { said.join("; ") }
}

fn progress_message(job: &Job) -> String {
    let mut text = job.status.as_str().to_string();
    if let Some(c) = job.checkpoints.last() {
        text.push_str(&format!(" · step {}", c.step));
        if let Some(l) = c.train_loss {
            text.push_str(&format!(" · train loss {l:.3}"));
        }
        if let Some(l) = c.valid_loss {
            text.push_str(&format!(" · validation loss {l:.3}"));
        }
    }
    text
}

/// The local job's work: reads the Mistral job every `poll` until it ends, storing each answer.
/// Passing troubles (rate limits, server errors, a dropped network) are waited out; a refused key
/// stops it, with the reason kept on the job's row.
fn follow(ctx: &mut JobContext, client: &FineTuneClient, id: &str, teacher: &str, poll: Duration) -> Result<serde_json::Value> {
    let mut done = 0;
    loop {
        ctx.check_cancelled()?;
        match block_on(client.job(id))? {
            Ok(job) => {
                record(ctx.store(), &job)?;
                done = job.checkpoints.last().map_or(0, |c| c.step);
                let total = job.hyperparameters.training_steps.map_or(0, u64::from).max(done);
                ctx.progress(done, total, &progress_message(&job))?;
                let next = "Nothing local was lost: fix the examples in Review, export them again and create a new job.";
                match job.status {
                    JobStatus::Success | JobStatus::Cancelled => {
                        return Ok(serde_json::json!({ "status": job.status.as_str(), "fine_tuned_model": job.fine_tuned_model }));
                    }
                    JobStatus::FailedValidation | JobStatus::Failed => {
                        let what = if job.status == JobStatus::Failed {
                            format!("Mistral's training of job {id} failed")
                        } else {
                            format!("Mistral refused the data of job {id} (FAILED_VALIDATION)")
                        };
                        let message = format!("{what}: {}. {next}", reasons(&job));
                        ctx.store().mistral_job_error(id, Some(&message))?;
                        return Err(Error::InvalidInput(message));
                    }
                    _ => {}
                }
            }
            Err(e) if e.is_fatal() => {
                let kept = "The job's record is kept; it is followed again when the project opens.";
                let error = explain(e, teacher, client.base_url(), "following the job", kept);
                ctx.store().mistral_job_error(id, Some(&error.to_string()))?;
                return Err(error);
            }
            Err(e) => ctx.progress(done, 0, &format!("cannot reach Mistral ({}); trying again", e.message))?,
        }
        wait_for_next_poll(ctx, id, poll)?;
    }
}

/// Waits `poll` before the next read, or less when a person's own check (Check now, Refresh from
/// Mistral) has meanwhile stored an ended status, so the job stops following at once.
fn wait_for_next_poll(ctx: &mut JobContext, id: &str, poll: Duration) -> Result<()> {
    let start = std::time::Instant::now();
    let mut looked = start;
    while start.elapsed() < poll {
        ctx.check_cancelled()?;
        std::thread::sleep(Duration::from_millis(50).min(poll));
        if looked.elapsed() >= Duration::from_secs(1) {
            looked = std::time::Instant::now();
            if ctx.store().mistral_job(id)?.is_some_and(|row| JobStatus::parse(&row.status).is_terminal()) {
                break;
            }
        }
    }
    Ok(())
}

impl Service {
    /// Sets how often a Mistral job is polled and how failed requests are retried (tests shorten
    /// both).
    pub fn set_mistral_timing(&self, poll: Duration, retry: RetryPolicy) {
        let mut t = lock(&self.managed.timing);
        t.poll = poll;
        t.retry = retry;
    }

    /// Whether opening a project follows its unfinished Mistral jobs again (on by default; the CLI
    /// turns it off and follows only when asked).
    pub fn set_follow_mistral_on_open(&self, on: bool) {
        lock(&self.managed.timing).follow_on_open = on;
    }

    fn finetune_client(&self, teacher: &str) -> Result<FineTuneClient> {
        let config = self.teacher(teacher)?;
        if config.kind != TeacherKind::Mistral {
            return Err(Error::InvalidInput(format!(
                "the teacher {:?} is not Mistral's API; fine-tuning jobs need one of kind mistral (`grimoire teachers add mistral --kind mistral`)",
                config.name
            )));
        }
        let timing = self.managed.get();
        let client = FineTuneClient::new(FineTuneConfig {
            base_url: config.base_url.clone(),
            api_key: api_key(&config)?,
            // An upload of a large file takes longer than a chat answer.
            timeout: Duration::from_secs(u64::from(config.timeout_seconds.max(1))).max(Duration::from_secs(300)),
            retry: timing.retry,
        });
        client.map_err(|e| Error::Teacher(e.into()))
    }

    /// Checks the data against Mistral's rules and estimates the cost; uploads nothing.
    pub fn estimate_mistral_job(&self, input: MistralEstimateInput) -> Result<MistralEstimate> {
        let project = absolute(&input.project)?;
        let dir = match input.data.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => absolute(d)?,
            None => crate::train::latest_export(&project)?,
        };
        let train_file = dir.join(grimoire_dataset::TRAIN_FILE);
        if !train_file.is_file() {
            return Err(Error::NotFound(train_file));
        }
        let train = validate_file(self, &train_file, &input.tokenizer)?;
        let validation_path = dir.join(grimoire_dataset::VALIDATION_FILE);
        let validation = if validation_path.is_file() { Some(validate_file(self, &validation_path, &input.tokenizer)?) } else { None };
        let validation = validation.filter(|v| v.lines > 0);
        let ready = train.lines > 0
            && problems_text("train.jsonl", &train).is_none()
            && validation.as_ref().is_none_or(|v| problems_text("validation.jsonl", v).is_none());
        let (train_tokens, counted_with) = match &input.tokenizer {
            Some(t) if !t.trim().is_empty() => (train.tokens, format!("the tokenizer of {t}")),
            _ => ((train.tokens as f64 * TOKENS_PER_WORD).ceil() as u64, format!("{TOKENS_PER_WORD} tokens a word (no tokenizer chosen)")),
        };
        let h = &input.hyperparameters;
        let epochs = match (h.epochs, h.training_steps) {
            (Some(e), _) => Some(e),
            (None, Some(_)) => None,
            (None, None) => Some(1.0),
        };
        let billed_tokens = epochs.map(|e| (train_tokens as f64 * e).ceil() as u64);
        let price = price_of(&input.model);
        let cost = billed_tokens.zip(price).map(|(t, (per_million, _))| t as f64 / 1e6 * per_million);
        let mut note = String::from("An estimate: Mistral counts with its own tokenizer and shows its exact cost on the job once it has validated the data (create it without auto-start to see it before training).");
        if epochs.is_none() {
            note.push_str(" Set by steps, the tokens trained depend on Mistral's batch size: no cost is estimated.");
        }
        if price.is_none() {
            note.push_str(&format!(" {:?} is not in the price table.", input.model));
        }
        Ok(MistralEstimate {
            data_dir: dir.display().to_string(),
            train_file: train_file.display().to_string(),
            validation_file: validation.as_ref().map(|_| validation_path.display().to_string()),
            train,
            validation,
            ready,
            train_tokens,
            counted_with,
            epochs,
            billed_tokens,
            price_per_million: price.map(|p| p.0),
            monthly_storage: price.map(|p| p.1),
            cost,
            currency: "USD".into(),
            prices_as_of: PRICES_AS_OF.into(),
            price_source: PRICE_SOURCE.into(),
            note,
        })
    }

    /// Checks the data, uploads `train.jsonl` and `validation.jsonl`, creates the job, records it in
    /// the project and starts following it. Data that breaks Mistral's rules is never uploaded.
    pub fn create_mistral_job(&self, input: MistralCreateInput) -> Result<MistralJobView> {
        let path = absolute(&input.project)?;
        let estimate = self.estimate_mistral_job(MistralEstimateInput {
            project: input.project.clone(),
            data: input.data.clone(),
            model: input.model.clone(),
            hyperparameters: input.hyperparameters.clone(),
            tokenizer: input.tokenizer.clone(),
        })?;
        if !estimate.ready {
            let found = [problems_text("train.jsonl", &estimate.train), estimate.validation.as_ref().and_then(|v| problems_text("validation.jsonl", v))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            let found = if found.is_empty() { "train.jsonl has no conversations".to_string() } else { found };
            return Err(Error::InvalidInput(format!(
                "the data in {} breaks Mistral's fine-tuning rules, so nothing was uploaded: {found}. Fix these examples in Review and export again (`grimoire validate FILE` checks a file).",
                estimate.data_dir
            )));
        }
        if input.model.trim().is_empty() {
            return Err(Error::InvalidInput("name the base model to fine-tune (open-mistral-7b, mistral-small-latest...)".into()));
        }
        let client = self.finetune_client(&input.teacher)?;
        let base = client.base_url().to_string();
        let kept = format!("Nothing was lost: the data is still in {}, and no job was created.", estimate.data_dir);
        let upload = |file: &str, name: &str| -> Result<String> {
            let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
            let uploaded = block_on(client.upload(name, bytes))?;
            Ok(uploaded.map_err(|e| explain(e, &input.teacher, &base, &format!("uploading {name}"), &kept))?.id)
        };
        let train_id = upload(&estimate.train_file, grimoire_dataset::TRAIN_FILE)?;
        let validation_id = match &estimate.validation_file {
            Some(f) => Some(upload(f, grimoire_dataset::VALIDATION_FILE)?),
            None => None,
        };
        let new = NewJob {
            model: input.model.trim().to_string(),
            training_file: train_id.clone(),
            validation_file: validation_id.clone(),
            hyperparameters: input.hyperparameters.clone(),
            suffix: input.suffix.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            auto_start: input.auto_start,
        };
        let job = block_on(client.create(&new))?.map_err(|e| explain(e, &input.teacher, &base, "creating the job", &kept))?;
        let store = self.store(&path)?;
        let store = lock(&store);
        store.mistral_job_insert(&MistralJobRow {
            id: job.id.clone(),
            teacher: input.teacher.trim().to_string(),
            model: new.model.clone(),
            status: job.status.as_str().to_string(),
            fine_tuned_model: job.fine_tuned_model.clone(),
            data_dir: estimate.data_dir.clone(),
            train_file: train_id,
            validation_file: validation_id,
            estimate: to_json(&estimate, "estimate")?,
            remote: to_json(&job, "Mistral job")?,
            poll_job: None,
            error: None,
            created_at: String::new(),
            updated_at: String::new(),
        })?;
        let row = store.mistral_job(&job.id)?.ok_or_else(|| Error::InvalidInput(format!("job {} was not recorded", job.id)))?;
        // A job that is not followed now still is when the project opens again.
        let following = self.follow_row(&path, &store, &row).map(|h| h.is_some()).unwrap_or(false);
        let row = store.mistral_job(&job.id)?.unwrap_or(row);
        Ok(view(row, following))
    }

    /// Starts following a job with a local job, unless one follows it already or it has ended.
    fn follow_row(&self, path: &Path, store: &Store, row: &MistralJobRow) -> Result<Option<JobHandle>> {
        if JobStatus::parse(&row.status).is_terminal() || row.poll_job.is_some_and(|j| self.jobs.is_running(path, j)) {
            return Ok(None);
        }
        let client = self.finetune_client(&row.teacher)?;
        let poll = self.managed.get().poll;
        let (id, teacher) = (row.id.clone(), row.teacher.clone());
        let work = move |ctx: &mut JobContext| follow(ctx, &client, &id, &teacher, poll);
        let handle = match row.poll_job.filter(|j| store.job(*j).is_ok_and(|job| job.status.is_finished())) {
            Some(job_id) => self.jobs.resume(store, path, job_id, work)?,
            None => {
                let title = format!("Mistral fine-tuning {} ({})", row.model, row.id);
                self.jobs.spawn(store, path, JOB_KIND, &title, &serde_json::json!({ "mistral_job": row.id }), work)?
            }
        };
        store.mistral_job_set_poll(&row.id, handle.id)?;
        store.mistral_job_error(&row.id, None)?;
        Ok(Some(handle))
    }

    /// Follows a job now (the CLI waits on the handle); none when it has ended or is followed.
    pub fn follow_mistral_job(&self, input: MistralJobRef) -> Result<Option<JobHandle>> {
        let path = absolute(&input.project)?;
        let store = self.store(&path)?;
        let store = lock(&store);
        let row = self.row(&store, &input.job_id)?;
        self.follow_row(&path, &store, &row)
    }

    /// Follows every unfinished job of a project again (called when it opens); a job that cannot
    /// be followed (no key now) keeps the reason on its row.
    pub(crate) fn follow_mistral_on_open(&self, path: &Path) {
        if !self.managed.get().follow_on_open {
            return;
        }
        let Ok(store) = self.store(path) else { return };
        let store = lock(&store);
        for row in store.mistral_jobs().unwrap_or_default() {
            if let Err(e) = self.follow_row(path, &store, &row) {
                let _ = store.mistral_job_error(&row.id, Some(&e.to_string()));
            }
        }
    }

    fn row(&self, store: &Store, id: &str) -> Result<MistralJobRow> {
        store.mistral_job(id.trim())?.ok_or_else(|| Error::InvalidInput(format!("this project has no Mistral job {id:?}; `grimoire mistral-ft list` shows its jobs")))
    }

    /// The stored jobs. Which followers run is read before the rows: a follower stores its last
    /// answer before it stops, so a job shown as no longer followed shows that last answer (read
    /// the other way round, a follower ending between the two reads left an ended job showing its
    /// previous status).
    fn views(&self, path: &Path, store: &Store) -> Result<Vec<MistralJobView>> {
        let running = self.jobs.running(path);
        Ok(store
            .mistral_jobs()?
            .into_iter()
            .map(|row| {
                let following = row.poll_job.is_some_and(|j| running.contains(&j));
                view(row, following)
            })
            .collect())
    }

    /// The project's Mistral jobs; with `refresh`, their statuses as Mistral lists them now.
    pub fn list_mistral_jobs(&self, input: MistralListInput) -> Result<MistralJobList> {
        let path = absolute(&input.project)?;
        let store = self.store(&path)?;
        let store = lock(&store);
        let mut refresh_error = None;
        if input.refresh {
            let mut teachers: Vec<String> = store.mistral_jobs()?.into_iter().map(|r| r.teacher).collect();
            teachers.sort();
            teachers.dedup();
            for teacher in teachers {
                let listed = self.finetune_client(&teacher).and_then(|client| {
                    let base = client.base_url().to_string();
                    block_on(client.jobs())?.map_err(|e| explain(e, &teacher, &base, "listing the jobs", "The list shows what was stored."))
                });
                match listed {
                    Ok(jobs) => {
                        for job in jobs {
                            if store.mistral_job(&job.id)?.is_some() {
                                store.mistral_job_update(&job.id, job.status.as_str(), job.fine_tuned_model.as_deref(), None)?;
                            }
                        }
                    }
                    Err(e) => refresh_error = Some(e.to_string()),
                }
            }
        }
        Ok(MistralJobList { jobs: self.views(&path, &store)?, refresh_error })
    }

    fn act(
        &self,
        input: &MistralJobRef,
        doing: &str,
        call: impl Fn(&FineTuneClient, &str) -> Result<Result<Job, CallError>>,
    ) -> Result<MistralJobView> {
        let path = absolute(&input.project)?;
        let store = self.store(&path)?;
        let store = lock(&store);
        let row = self.row(&store, &input.job_id)?;
        let client = self.finetune_client(&row.teacher)?;
        let job = call(&client, &row.id)?.map_err(|e| explain(e, &row.teacher, client.base_url(), doing, "The job's record is kept."))?;
        record(&store, &job)?;
        let row = self.row(&store, &row.id)?;
        let following = match self.follow_row(&path, &store, &row) {
            Ok(h) => h.is_some() || row.poll_job.is_some_and(|j| self.jobs.is_running(&path, j)),
            Err(_) => false,
        };
        Ok(view(self.row(&store, &row.id)?, following))
    }

    /// Asks Mistral where a job stands now (`GET /fine_tuning/jobs/{id}`), stores it and returns it.
    pub fn mistral_job_status(&self, input: MistralJobRef) -> Result<MistralJobView> {
        self.act(&input, "reading the job", |c, id| block_on(c.job(id)))
    }

    /// Starts a job that Mistral has validated (created without auto-start).
    pub fn start_mistral_job(&self, input: MistralJobRef) -> Result<MistralJobView> {
        self.act(&input, "starting the job", |c, id| block_on(c.start(id)))
    }

    /// Asks Mistral to cancel a job; it is followed until it says CANCELLED.
    pub fn cancel_mistral_job(&self, input: MistralJobRef) -> Result<MistralJobView> {
        self.act(&input, "cancelling the job", |c, id| block_on(c.cancel(id)))
    }

    /// The jobs of a project that ended in a tuned model, as chat models (through their teacher).
    pub fn mistral_chat_models(&self, input: ProjectRef) -> Result<Vec<MistralJobView>> {
        let list = self.list_mistral_jobs(MistralListInput { project: input.path, refresh: false })?;
        Ok(list.jobs.into_iter().filter(|j| j.status == JobStatus::Success && j.fine_tuned_model.is_some()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_by_family_and_unknown_models() {
        assert_eq!(price_of("open-mistral-7b"), Some((1.0, 2.0)));
        assert_eq!(price_of("mistral-small-latest"), Some((3.0, 2.0)));
        assert_eq!(price_of("mistral-large-2411").map(|p| p.0), Some(9.0));
        assert_eq!(price_of("gpt-4o"), None);
    }

    #[test]
    fn a_refused_key_says_what_to_do() {
        let e = explain(CallError::new(CallErrorKind::Status(401), "HTTP 401: Unauthorized"), "mistral", "http://x/v1", "uploading train.jsonl", "Nothing was lost.");
        let text = e.to_string();
        assert!(text.contains("set-key mistral") && text.contains("revoked") && text.contains("Nothing was lost"), "{text}");
        let e = explain(CallError::new(CallErrorKind::Connection, "connection closed"), "mistral", "http://x/v1", "uploading", "");
        assert!(e.to_string().contains("check the network"), "{e}");
    }
}
