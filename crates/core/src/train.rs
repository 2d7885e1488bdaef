//! Training runs: plan (data, preset, estimate), start as a job, follow, cancel, resume, list,
//! merge. The work itself is `grimoire-train`'s; this file decides where runs live and links
//! each run folder to its job.
//!
//! A run lives in `<project>/runs/<run-id>/`: the trainer's files (adapter, metrics, plot,
//! config, data snapshot, checkpoint) and `run.json` (base model, data folder, job id), so the
//! folder alone says what it is.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use grimoire_store::JobStatus;
use grimoire_train::{DataStats, Estimate, Metric, ModelFacts, RunStatus, RunSummary, TrainConfig, TrainEvent, Trainer};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::service::{JobStarted, ProjectRef, absolute, lock};
use crate::{Error, Result, Service};

/// The job kind of a training run.
pub const JOB_KIND: &str = "train";
const RUN_FILE: &str = "run.json";

/// A named set of hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TrainPreset {
    /// Its name (`cpu-small`, …).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The settings.
    pub config: TrainConfig,
}

/// What to train: the base model, the data, the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TrainInput {
    /// The project folder.
    pub project: String,
    /// `built-in`, or a GGUF file or Hugging Face folder.
    pub base: String,
    /// A folder with `train.jsonl` (and `validation.jsonl`); none: the project's latest export.
    pub data: Option<String>,
    /// A preset to start from (none: the one that suits the base model).
    pub preset: Option<String>,
    /// Settings that replace the preset's entirely, when given.
    pub config: Option<TrainConfig>,
}

/// A run before it starts: what it will use, and what it will cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TrainPlan {
    /// The base model file or folder.
    pub base_path: String,
    /// The data folder.
    pub data_dir: String,
    /// The settings.
    pub config: TrainConfig,
    /// The data as the model's tokenizer and template see it.
    pub data: DataStats,
    /// Time and memory on this machine.
    pub estimate: Estimate,
}

/// Names one run of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RunRef {
    /// The project folder.
    pub project: String,
    /// The run's folder name under `runs/`.
    pub run_id: String,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Its job is running now.
    Running,
    /// All steps done.
    Completed,
    /// The validation loss stopped improving.
    EarlyStopped,
    /// Stopped by the user, or by the app or machine stopping: it resumes from its checkpoint.
    Stopped,
    /// Its job failed (see the job's error); it resumes from its last checkpoint, if any.
    Failed,
}

/// A run in the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RunView {
    /// Its folder name under `runs/`.
    pub run_id: String,
    /// Its folder.
    pub dir: String,
    /// The job that ran it last.
    pub job_id: Option<i64>,
    /// When it was created.
    pub created_at: String,
    /// The base model.
    pub base: String,
    /// Where it stands.
    pub state: RunState,
    /// Why its job failed, when it did.
    pub error: Option<String>,
    /// Steps done.
    pub step: usize,
    /// Steps planned.
    pub total_steps: usize,
    /// Latest training loss.
    pub train_loss: Option<f64>,
    /// Latest validation loss.
    pub val_loss: Option<f64>,
    /// Best validation loss.
    pub best_val_loss: Option<f64>,
    /// Whether its PEFT adapter has been written (chat and merge can use it).
    pub has_adapter: bool,
    /// The settings.
    pub config: TrainConfig,
    /// The run this one is the control of (trained on the other characters' lines).
    pub control_for: Option<String>,
    /// Whether an evaluation report exists.
    pub has_report: bool,
}

/// A run with its curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RunDetail {
    /// The run.
    pub run: RunView,
    /// Every step and validation recorded so far.
    pub metrics: Vec<Metric>,
    /// The loss plot (PNG), once written.
    pub plot: Option<String>,
    /// The summary, once the run has ended at least once.
    pub summary: Option<RunSummary>,
}

/// Input of [`Service::merge_run`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MergeInput {
    /// The project folder.
    pub project: String,
    /// The run.
    pub run_id: String,
    /// Where to write the merged model (none: `<run>/merged`).
    pub out: Option<String>,
}

/// What a merge wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MergeOutput {
    /// The Hugging Face folder (safetensors, config, tokenizer).
    pub out: String,
}

/// What `run.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RunRecord {
    run_id: String,
    created_at: String,
    base: String,
    base_path: PathBuf,
    data_dir: PathBuf,
    job_id: Option<i64>,
    config: TrainConfig,
}

fn describe(name: &str) -> &'static str {
    match name {
        "cpu-small" => "Models up to 0.5 B on a laptop CPU: rank 16 on all projections, 3 epochs, 512 tokens.",
        "cpu-quick" => "A first look in minutes: rank 8 on q and v, 1 epoch, 256 tokens.",
        "gpu-small" => "Models up to 3 B on a GPU: batches of 8 × 1024, no recomputation.",
        "gpu-7b" => "QLoRA of a 7 B model on one 24 GB GPU.",
        _ => "",
    }
}

impl Service {
    /// The presets, each with its settings.
    pub fn train_presets(&self) -> Vec<TrainPreset> {
        grimoire_train::PRESETS
            .iter()
            .filter_map(|name| {
                TrainConfig::preset(name).map(|config| TrainPreset { name: (*name).into(), description: describe(name).into(), config })
            })
            .collect()
    }

    /// Resolves the base, the data and the settings of a run, tokenises the data and estimates
    /// time and memory, without starting anything.
    pub fn plan_training(&self, input: TrainInput) -> Result<TrainPlan> {
        let project = absolute(&input.project)?;
        let (base_path, data_dir, config) = self.resolve(&project, &input)?;
        let planning = project.join("runs").join(".plan");
        let trainer = Trainer::new(&base_path, data_dir.as_path(), config.clone(), &planning).map_err(Error::Train)?;
        let facts = ModelFacts::read(&base_path).map_err(Error::Train)?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let estimate = grimoire_train::estimate(&facts, &config, trainer.stats(), threads, false);
        Ok(TrainPlan {
            base_path: base_path.display().to_string(),
            data_dir: data_dir.display().to_string(),
            config,
            data: trainer.stats().clone(),
            estimate,
        })
    }

    /// Starts a run as a job (for the UI).
    pub fn start_training(&self, input: TrainInput) -> Result<JobStarted> {
        Ok(JobStarted { job_id: self.train(input)?.1.id })
    }

    /// Starts a run as a job; returns its id and handle (the CLI waits on it).
    pub fn train(&self, input: TrainInput) -> Result<(String, crate::jobs::JobHandle)> {
        let project = absolute(&input.project)?;
        let (base_path, data_dir, config) = self.resolve(&project, &input)?;
        let run_id = new_run_id(&project)?;
        let record = RunRecord {
            run_id: run_id.clone(),
            created_at: grimoire_store::now(),
            base: input.base.clone(),
            base_path,
            data_dir,
            job_id: None,
            config,
        };
        let dir = project.join("runs").join(&run_id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        write_record(&dir, &record)?;
        let handle = self.spawn_run(&project, record, None)?;
        Ok((run_id, handle))
    }

    /// Trains a control for a run: the same base, settings and validation set, but trained on
    /// the OTHER characters' lines of the same books (as many conversations as the run had), with
    /// the run's system prompt. The evaluation compares the run with it, to show how much of the
    /// gain is the persona and how much the books' voice.
    pub fn train_control(&self, input: RunRef) -> Result<(String, crate::jobs::JobHandle)> {
        let project = absolute(&input.project)?;
        let dir = run_dir(&project, &input.run_id)?;
        let record = read_record(&dir)?;
        let train_file = record.data_dir.join("train.jsonl");
        let text = std::fs::read_to_string(&train_file).map_err(|e| Error::io(&train_file, e))?;
        let count = text.lines().filter(|l| !l.trim().is_empty()).count();
        let system: Option<String> = text.lines().next().and_then(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let first = v.get("messages")?.get(0)?;
            (first.get("role")?.as_str()? == "system").then(|| first.get("content")?.as_str().map(str::to_string))?
        });
        let conversations = {
            let store = self.store(&project)?;
            let store = lock(&store);
            let persona = store.project_meta()?.persona.filter(|p| !p.trim().is_empty()).ok_or_else(|| {
                Error::InvalidInput("choose the persona first: the control is trained on everybody else".into())
            })?;
            crate::corpus::others_conversations(&store, &persona, count, record.config.seed)?
        };
        if conversations.is_empty() {
            return Err(Error::InvalidInput("no other character speaks enough in these books to train a control".into()));
        }
        let data_dir = project.join("exports").join(format!("control-for-{}", input.run_id));
        std::fs::create_dir_all(&data_dir).map_err(|e| Error::io(&data_dir, e))?;
        let mut lines = String::new();
        for turns in &conversations {
            let mut messages = Vec::new();
            if let Some(system) = &system {
                messages.push(serde_json::json!({"role": "system", "content": system}));
            }
            for (role, content) in turns {
                let role = match role {
                    grimoire_store::table::examples::Role::User => "user",
                    grimoire_store::table::examples::Role::Assistant => "assistant",
                    grimoire_store::table::examples::Role::System => "system",
                };
                messages.push(serde_json::json!({"role": role, "content": content}));
            }
            lines.push_str(&serde_json::json!({ "messages": messages }).to_string());
            lines.push('\n');
        }
        let train = data_dir.join("train.jsonl");
        std::fs::write(&train, lines).map_err(|e| Error::io(&train, e))?;
        let validation = record.data_dir.join("validation.jsonl");
        if validation.is_file() {
            let to = data_dir.join("validation.jsonl");
            std::fs::copy(&validation, &to).map_err(|e| Error::io(&to, e))?;
        }
        let run_id = new_run_id(&project)?;
        let control = RunRecord {
            run_id: run_id.clone(),
            created_at: grimoire_store::now(),
            base: record.base.clone(),
            base_path: record.base_path.clone(),
            data_dir,
            job_id: None,
            config: record.config.clone(),
        };
        let control_dir = project.join("runs").join(&run_id);
        std::fs::create_dir_all(&control_dir).map_err(|e| Error::io(&control_dir, e))?;
        write_record(&control_dir, &control)?;
        let marker = control_dir.join(grimoire_eval::CONTROL_MARKER);
        std::fs::write(&marker, serde_json::json!({ "control_for": input.run_id }).to_string()).map_err(|e| Error::io(&marker, e))?;
        let handle = self.spawn_run(&project, control, None)?;
        Ok((run_id, handle))
    }

    /// Continues a stopped or failed run from its checkpoint, as a new job.
    pub fn resume_training(&self, input: RunRef) -> Result<crate::jobs::JobHandle> {
        let project = absolute(&input.project)?;
        let dir = run_dir(&project, &input.run_id)?;
        let record = read_record(&dir)?;
        if let Some(view) = self.list_runs(ProjectRef { path: input.project.clone() })?.into_iter().find(|r| r.run_id == input.run_id) {
            match view.state {
                RunState::Running => return Err(Error::InvalidInput(format!("run {} is running", input.run_id))),
                RunState::Completed | RunState::EarlyStopped => {
                    return Err(Error::InvalidInput(format!("run {} has finished; start a new run to train more", input.run_id)));
                }
                RunState::Stopped | RunState::Failed => {}
            }
        }
        let previous = record.job_id;
        self.spawn_run(&project, record, previous)
    }

    /// The project's runs, newest first.
    pub fn list_runs(&self, input: ProjectRef) -> Result<Vec<RunView>> {
        let project = absolute(&input.path)?;
        let runs = project.join("runs");
        let store = self.store(&project)?;
        let jobs = lock(&store).jobs(10_000)?;
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&runs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(&runs, e)),
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            if !dir.join(RUN_FILE).is_file() {
                continue;
            }
            // A damaged run folder is skipped, not fatal to the list.
            if let Ok(view) = self.run_view(&project, &dir, &jobs) {
                out.push(view);
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.run_id.cmp(&a.run_id)));
        Ok(out)
    }

    /// One run with its curves.
    pub fn training_run(&self, input: RunRef) -> Result<RunDetail> {
        let project = absolute(&input.project)?;
        let dir = run_dir(&project, &input.run_id)?;
        let store = self.store(&project)?;
        let jobs = lock(&store).jobs(10_000)?;
        let run = self.run_view(&project, &dir, &jobs)?;
        let metrics_path = dir.join("metrics.jsonl");
        let metrics = if metrics_path.is_file() { grimoire_train::read_metrics(&metrics_path).map_err(Error::Train)? } else { Vec::new() };
        let plot = dir.join("loss.png");
        Ok(RunDetail {
            run,
            metrics,
            plot: plot.is_file().then(|| plot.display().to_string()),
            summary: read_summary(&dir),
        })
    }

    /// Merges a run's adapter into its base and writes a Hugging Face folder.
    pub fn merge_run(&self, input: MergeInput) -> Result<MergeOutput> {
        let project = absolute(&input.project)?;
        let dir = run_dir(&project, &input.run_id)?;
        let record = read_record(&dir)?;
        if !dir.join("adapter_model.safetensors").is_file() {
            return Err(Error::InvalidInput(format!("run {} has no adapter yet: let it finish, or stop it so it writes one", input.run_id)));
        }
        let out = match input.out.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(out) => absolute(out)?,
            None => dir.join("merged"),
        };
        grimoire_train::merge(&dir, &record.base_path, &out).map_err(Error::Train)?;
        Ok(MergeOutput { out: out.display().to_string() })
    }

    fn resolve(&self, project: &Path, input: &TrainInput) -> Result<(PathBuf, PathBuf, TrainConfig)> {
        let base_path = crate::chat::model_path(&input.base, Path::new(&self.settings()?.model_dir));
        if !base_path.exists() {
            return Err(Error::NotFound(base_path));
        }
        let data_dir = match input.data.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(dir) => absolute(dir)?,
            None => latest_export(project)?,
        };
        if !data_dir.join("train.jsonl").is_file() {
            return Err(Error::InvalidInput(format!("{} has no train.jsonl: export the approved examples first (Review → Export)", data_dir.display())));
        }
        let config = match (&input.config, &input.preset) {
            (Some(config), _) => config.clone(),
            (None, preset) => {
                let facts = ModelFacts::read(&base_path).map_err(Error::Train)?;
                let config = match preset {
                    Some(name) => TrainConfig::preset(name).ok_or_else(|| {
                        Error::InvalidInput(format!("no preset {name:?}; the presets are {}", grimoire_train::PRESETS.join(", ")))
                    })?,
                    None => TrainConfig::preset_for(facts.parameters, false),
                };
                // A preset recomputes activations; where keeping them fits in half the memory
                // available now, the run keeps them and goes about 1.2x faster.
                grimoire_train::keep_activations_if_they_fit(&facts, config, grimoire_train::memory_budget())
            }
        };
        Ok((base_path, data_dir, config))
    }

    fn spawn_run(&self, project: &Path, mut record: RunRecord, previous_job: Option<i64>) -> Result<crate::jobs::JobHandle> {
        let store = self.store(project)?;
        let store = lock(&store);
        let dir = project.join("runs").join(&record.run_id);
        let params = serde_json::json!({ "run_id": record.run_id, "base": record.base, "data": record.data_dir });
        let title = format!("Train {} on {}", record.run_id, record.base);
        let work_record = record.clone();
        let work_dir = dir.clone();
        let work = move |ctx: &mut crate::jobs::JobContext| run_job(ctx, &work_record, &work_dir);
        let handle = match previous_job.and_then(|id| store.job(id).ok().map(|_| id)) {
            Some(id) => self.jobs.resume(&store, project, id, work)?,
            None => self.jobs.spawn(&store, project, JOB_KIND, &title, &params, work)?,
        };
        record.job_id = Some(handle.id);
        write_record(&dir, &record)?;
        Ok(handle)
    }

    fn run_view(&self, project: &Path, dir: &Path, jobs: &[grimoire_store::Job]) -> Result<RunView> {
        let record = read_record(dir)?;
        let summary = read_summary(dir);
        let job = record.job_id.and_then(|id| jobs.iter().find(|j| j.id == id));
        let running = record.job_id.is_some_and(|id| self.jobs.is_running(project, id));
        let state = if running {
            RunState::Running
        } else {
            match (summary.as_ref().map(|s| s.status), job.map(|j| j.status)) {
                (Some(RunStatus::Completed), _) => RunState::Completed,
                (Some(RunStatus::EarlyStopped), _) => RunState::EarlyStopped,
                (_, Some(JobStatus::Failed)) => RunState::Failed,
                _ => RunState::Stopped,
            }
        };
        let metrics_path = dir.join("metrics.jsonl");
        let metrics = if metrics_path.is_file() { grimoire_train::read_metrics(&metrics_path).unwrap_or_default() } else { Vec::new() };
        let mut step = 0;
        let mut train_loss = None;
        let mut val_loss = None;
        let mut best_val_loss: Option<f64> = None;
        for m in &metrics {
            match m {
                Metric::Train { step: s, loss, .. } => {
                    step = step.max(*s);
                    train_loss = Some(*loss);
                }
                Metric::Eval { val_loss: v, .. } => {
                    val_loss = Some(*v);
                    best_val_loss = Some(best_val_loss.map_or(*v, |b| b.min(*v)));
                }
            }
        }
        let total_steps = summary.as_ref().map(|s| s.total_steps).or_else(|| job.map(|j| j.total as usize)).unwrap_or(0);
        Ok(RunView {
            run_id: record.run_id,
            dir: dir.display().to_string(),
            job_id: record.job_id,
            created_at: record.created_at,
            base: record.base,
            state,
            error: job.filter(|_| state == RunState::Failed).and_then(|j| j.error.clone()),
            step,
            total_steps: total_steps.max(step),
            train_loss,
            val_loss,
            best_val_loss,
            has_adapter: dir.join("adapter_model.safetensors").is_file(),
            config: record.config,
            control_for: std::fs::read_to_string(dir.join(grimoire_eval::CONTROL_MARKER))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v.get("control_for")?.as_str().map(str::to_string)),
            has_report: dir.join(grimoire_eval::EVAL_DIR).join("report.json").is_file(),
        })
    }
}

/// The training job: loads the base, trains (resuming from a checkpoint when the folder holds one),
/// and reports every step.
fn run_job(ctx: &mut crate::jobs::JobContext, record: &RunRecord, dir: &Path) -> Result<serde_json::Value> {
    ctx.progress(0, 0, "loading the base model and the data…").map_err(|_| Error::Cancelled)?;
    let mut trainer = Trainer::new(&record.base_path, record.data_dir.as_path(), record.config.clone(), dir).map_err(Error::Train)?;
    let flag = ctx.cancel_token().flag();
    let mut failure: Option<Error> = None;
    let summary = trainer
        .run(&flag, &mut |event| {
            let (done, total, message) = match &event {
                TrainEvent::Started { total_steps, resumed_from, data, .. } => (
                    resumed_from.unwrap_or(0) as u64,
                    *total_steps as u64,
                    match resumed_from {
                        Some(step) => format!("resumed at step {step}; {} examples", data.train_examples),
                        None => format!("{} training and {} validation examples", data.train_examples, data.validation_examples),
                    },
                ),
                TrainEvent::Step(p) => (
                    p.step as u64,
                    p.total_steps as u64,
                    format!("loss {:.3} · {:.0} tokens/s · {} left", p.train_loss, p.tokens_per_s, eta(p.eta_s)),
                ),
                TrainEvent::Evaluated { step, val_loss, best } => {
                    (*step as u64, trainer_total(ctx), format!("validation loss {val_loss:.3}{}", if *best { " (best)" } else { "" }))
                }
                TrainEvent::Checkpointed { step } => (*step as u64, trainer_total(ctx), format!("checkpoint at step {step}")),
            };
            // A cancel is seen by the trainer through the flag; it writes its checkpoint first.
            match ctx.progress(done, total, &message) {
                Ok(()) | Err(Error::Cancelled) => {}
                Err(e) => failure = Some(e),
            }
        })
        .map_err(Error::Train)?;
    if let Some(e) = failure {
        return Err(e);
    }
    if summary.status == RunStatus::Cancelled || flag.load(Ordering::Relaxed) && summary.status != RunStatus::Completed {
        return Err(Error::Cancelled);
    }
    serde_json::to_value(&summary).map_err(|source| Error::Json { what: "run summary".into(), source })
}

/// The total the job row holds (events after a step carry no total of their own).
fn trainer_total(ctx: &crate::jobs::JobContext) -> u64 {
    ctx.store().job(ctx.id()).map(|j| j.total).unwrap_or(0)
}

fn eta(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

fn run_dir(project: &Path, run_id: &str) -> Result<PathBuf> {
    if run_id.is_empty() || run_id.contains(['/', '\\']) || run_id.starts_with('.') {
        return Err(Error::InvalidInput(format!("{run_id:?} is not a run")));
    }
    let dir = project.join("runs").join(run_id);
    if !dir.join(RUN_FILE).is_file() {
        return Err(Error::NotFound(dir));
    }
    Ok(dir)
}

/// The newest folder under `exports/` with a `train.jsonl`.
pub(crate) fn latest_export(project: &Path) -> Result<PathBuf> {
    let exports = project.join("exports");
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&exports)
        .map_err(|e| Error::io(&exports, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("train.jsonl").is_file())
        .map(|p| (std::fs::metadata(p.join("train.jsonl")).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), p))
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p).ok_or_else(|| Error::InvalidInput("this project has no export yet: approve examples in Review and export them first".into()))
}

/// A folder name from the time, unused so far.
fn new_run_id(project: &Path) -> Result<String> {
    let stamp: String = grimoire_store::now().chars().take(19).map(|c| if c == ':' { '-' } else { c }).collect();
    let runs = project.join("runs");
    std::fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, e))?;
    let mut id = stamp.clone();
    let mut n = 2;
    while runs.join(&id).exists() {
        id = format!("{stamp}-{n}");
        n += 1;
    }
    Ok(id)
}

fn write_record(dir: &Path, record: &RunRecord) -> Result<()> {
    let path = dir.join(RUN_FILE);
    let tmp = dir.join(".run.json.tmp");
    let text = serde_json::to_string_pretty(record).map_err(|source| Error::Json { what: "run record".into(), source })?;
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

fn read_record(dir: &Path) -> Result<RunRecord> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|source| Error::Json { what: path.display().to_string(), source })
}

fn read_summary(dir: &Path) -> Option<RunSummary> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    serde_json::from_str(&text).ok()
}
