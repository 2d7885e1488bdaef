//! Evaluation of training runs through `grimoire-eval`: a job that scores base, tuned and control
//! models on the run's validation set and writes `<project>/runs/<run-id>/eval/` (report.json,
//! plots), and the stored report for the UI.

use std::path::{Path, PathBuf};

use grimoire_eval::{EvalOptions, EvalReport, EvalRequest, Line};
use grimoire_store::Store;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::jobs::JobHandle;
use crate::service::absolute;
use crate::{Error, Result, RunRef, Service};

impl From<grimoire_eval::Error> for Error {
    fn from(e: grimoire_eval::Error) -> Self {
        match e {
            grimoire_eval::Error::Cancelled => Error::Cancelled,
            grimoire_eval::Error::Invalid(m) => Error::InvalidInput(m),
            grimoire_eval::Error::Llm(e) => Error::Model(e),
            grimoire_eval::Error::Train(e) => Error::Train(e),
            grimoire_eval::Error::Io { path, source } => Error::io(path, source),
            e => Error::Eval(e),
        }
    }
}

/// Input of [`Service::evaluate_run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EvaluateRunInput {
    /// The project folder.
    pub project: String,
    /// The run's folder name under `runs/`.
    pub run_id: String,
    /// The control run's folder name; none: a run marked `control.json` with
    /// `{"control_for": run_id}`, if there is one.
    pub control_run_id: Option<String>,
    /// How much to evaluate (prompts, reply length).
    pub options: EvalOptions,
    /// A teacher to grade the replies as judge (optional; its figures are marked as a teacher
    /// model's opinion).
    #[serde(default)]
    pub judge: Option<String>,
}

/// Input of [`Service::judge_run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JudgeRunInput {
    /// The project folder.
    pub project: String,
    /// The run's folder name under `runs/`.
    pub run_id: String,
    /// The teacher that judges.
    pub teacher: String,
}

/// What the judge is told the persona is: who, from which books, and the system prompt the run
/// was trained with.
fn persona_description(store: &Store, persona: &str, run_dir: &Path) -> Result<String> {
    let titles: Vec<String> = store.books()?.into_iter().map(|b| b.title).collect();
    let mut out = format!("{persona}, a character of {}.", titles.join(", "));
    let system = grimoire_train::read_jsonl(&run_dir.join("data/validation.jsonl"))
        .ok()
        .and_then(|v| v.into_iter().next())
        .and_then(|ex| ex.messages.into_iter().find(|m| m.role == grimoire_llm::Role::System))
        .map(|m| m.content);
    if let Some(system) = system.filter(|s| !s.trim().is_empty()) {
        out.push_str(" The tuned model's system prompt: ");
        out.push_str(system.trim());
    }
    Ok(out)
}

/// The books' dialogue as the analyser sees it with the project's corrections (read-only: the
/// stored analysis is not replaced).
fn dialogue(store: &Store) -> Result<Vec<Line>> {
    let corrections = crate::corpus::load_corrections(store)?;
    let mut lines = Vec::new();
    for summary in store.books()? {
        let book = crate::corpus::stored_book(store, &summary)?;
        let analysis = grimoire_corpus::analyze_book_with(book, &corrections.for_book(summary.id));
        lines.extend(grimoire_eval::lines_from_analysis(&analysis));
    }
    Ok(lines)
}

fn run_dir(project: &Path, run_id: &str) -> Result<PathBuf> {
    let bad = run_id.is_empty() || run_id.contains(['/', '\\']) || run_id.starts_with('.');
    if bad {
        return Err(Error::InvalidInput(format!("{run_id:?} is not a run id")));
    }
    let dir = project.join("runs").join(run_id);
    if !dir.is_dir() {
        return Err(Error::NotFound(dir));
    }
    Ok(dir)
}

impl Service {
    /// Evaluates a finished run as a job (loads the model, scores losses, generates replies to
    /// the validation prompts: minutes on a CPU). The job's result is `{run_id, report}` with the
    /// path of `report.json`; [`Service::eval_report`] reads it.
    pub fn evaluate_run(&self, input: EvaluateRunInput) -> Result<JobHandle> {
        let project = absolute(&input.project)?;
        let dir = run_dir(&project, &input.run_id)?;
        let control = match &input.control_run_id {
            Some(c) => Some(run_dir(&project, c)?),
            None => grimoire_eval::find_control(&dir),
        };
        let store = self.store(&project)?;
        let store = crate::service::lock(&store);
        let persona = store.meta_get("persona")?.filter(|p| !p.trim().is_empty()).ok_or_else(|| {
            Error::InvalidInput("choose the persona first: the report scores replies against the persona's lines".into())
        })?;
        let base = match grimoire_eval::recorded_base_model(&dir) {
            Some(p) => p,
            None => grimoire_llm::built_in_model_path().filter(|p| p.exists()).ok_or_else(|| {
                Error::InvalidInput(format!("the base model of {} is gone and the built-in model is not installed", input.run_id))
            })?,
        };
        let judge = match &input.judge {
            Some(t) => Some(self.teacher_judge(t, &persona, persona_description(&store, &persona, &dir)?)?),
            None => None,
        };
        let title = format!("Evaluate run {}", input.run_id);
        let params = serde_json::to_value(&input).map_err(|source| Error::Json { what: "evaluation input".into(), source })?;
        self.jobs.spawn(&store, &project, "eval", &title, &params, move |ctx| {
            ctx.progress(0, 0, "reading the books' dialogue")?;
            let lines = dialogue(ctx.store())?;
            let aliases = ctx
                .store()
                .characters()?
                .into_iter()
                .find(|c| grimoire_eval::same_person(&c.name, &persona, &[]))
                .map(|c| c.aliases)
                .unwrap_or_default();
            let req = EvalRequest {
                run_dir: &dir,
                base_model: &base,
                control_dir: control.as_deref(),
                persona: &persona,
                aliases: &aliases,
                lines: &lines,
                options: input.options.clone(),
            };
            // The job's progress reports see its cancel token; the leaf crate checks this flag.
            let cancel = std::sync::atomic::AtomicBool::new(false);
            let mut progress = |done: u64, total: u64, what: &str| {
                if ctx.progress(done, total, what).is_err() {
                    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            };
            let judge = judge.as_ref().map(|j| j as &dyn grimoire_eval::Judge);
            let report = grimoire_eval::evaluate(&req, judge, &cancel, &mut progress)?;
            Ok(serde_json::json!({
                "run_id": report.run,
                "report": dir.join(grimoire_eval::EVAL_DIR).join("report.json").display().to_string(),
            }))
        })
    }

    /// Has a teacher judge the replies of a run's stored report (again) and saves the report
    /// with the judge's grades; the other figures stay as they are.
    pub fn judge_run(&self, input: JudgeRunInput) -> Result<EvalReport> {
        let project = absolute(&input.project)?;
        let dir = run_dir(&project, &input.run_id)?;
        let mut report = self.eval_report(RunRef { project: input.project.clone(), run_id: input.run_id.clone() })?;
        let description = {
            let store = self.store(&project)?;
            let store = crate::service::lock(&store);
            persona_description(&store, &report.persona, &dir)?
        };
        let judge = self.teacher_judge(&input.teacher, &report.persona, description)?;
        report.judge = Some(grimoire_eval::judge_samples(&judge, &report.samples));
        grimoire_eval::write_report(&dir, &mut report)?;
        Ok(report)
    }

    /// The stored evaluation report of a run.
    pub fn eval_report(&self, input: RunRef) -> Result<EvalReport> {
        let project = absolute(&input.project)?;
        let dir = run_dir(&project, &input.run_id)?;
        let path = dir.join(grimoire_eval::EVAL_DIR).join("report.json");
        if !path.exists() {
            return Err(Error::NotFound(path));
        }
        Ok(grimoire_eval::read_report(&dir)?)
    }
}
