//! Training runs through the service layer: plan, train on the project's latest export, list,
//! cancel, resume, merge — on the built-in model and a real project folder.

mod common;
use common::builtin_model_dir;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grimoire_core::{
    BulkInput, CancelJobInput, Dirs, ErrorCode, ExportInput, ImportJsonlInput, JobEvent, JobEventKind, JobStatus, MergeInput,
    ProjectRef, RunRef, RunState, Service, TrainConfig, TrainInput,
};
use grimoire_store::table::examples::{BulkOp, ExampleFilter, Status, Target};

struct Env {
    _tmp: tempfile::TempDir,
    project: String,
    service: Service,
    events: Arc<Mutex<Vec<JobEvent>>>,
}

/// A project with a few approved examples exported, and the built-in model as the model folder.
fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let events: Arc<Mutex<Vec<JobEvent>>> = Arc::default();
    let sink = events.clone();
    let service = Service::new(Dirs { data: root.join("data"), config: root.join("config") }, Arc::new(move |e| sink.lock().unwrap().push(e)));
    let mut settings = service.settings().unwrap();
    settings.model_dir = builtin_model_dir().display().to_string();
    service.update_settings(settings).unwrap();
    let project = root.join("p").display().to_string();
    service
        .create_project(grimoire_core::CreateProjectInput { path: project.clone(), name: "P".into(), persona: Some("Elizabeth Bennet".into()) })
        .unwrap();
    let lines: Vec<String> = [
        ("How do you like Mr. Darcy?", "I could easily forgive his pride, if he had not mortified mine."),
        ("Will you dance, Miss Bennet?", "Indeed, sir, I have not the least intention of dancing."),
        ("What do you think of Mr. Collins?", "He is not a sensible man, and I cannot think well of him."),
        ("Is Jane well?", "Jane is very well, I thank you, and sends her love."),
        ("Do you walk every morning?", "I dearly love a walk before breakfast, whatever the weather."),
        ("Are you fond of reading?", "I am not a great reader, and I have pleasure in many things."),
    ]
    .iter()
    .map(|(q, a)| {
        serde_json::json!({"messages": [
            {"role": "system", "content": "You are Elizabeth Bennet."},
            {"role": "user", "content": q},
            {"role": "assistant", "content": a}
        ]})
        .to_string()
    })
    .collect();
    let file = root.join("data.jsonl");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let imported =
        service.import_jsonl(ImportJsonlInput { project: project.clone(), file: file.display().to_string(), tag: None }).unwrap();
    assert_eq!(imported.imported, 6);
    service
        .bulk_examples(BulkInput { project: project.clone(), target: Target::Filter(ExampleFilter::all()), op: BulkOp::SetStatus(Status::Approved) })
        .unwrap();
    service.export_examples(ExportInput { project: project.clone(), out: None, val_fraction: 0.2, seed: 3, system_prompt: None, tokenizer: None }).unwrap();
    Env { _tmp: tmp, project, service, events }
}

fn tiny(steps: usize) -> TrainConfig {
    let mut c = TrainConfig::preset("cpu-quick").unwrap();
    c.max_steps = Some(steps);
    c.epochs = 100;
    c.batch_size = 2;
    c.max_seq_len = 96;
    c.lora.r = 4;
    c.lora.alpha = 8.0;
    c.eval_every = 2;
    c.checkpoint_every = 1;
    c.warmup_steps = Some(0);
    c.learning_rate = 1e-3;
    c
}

fn input(env: &Env, config: TrainConfig) -> TrainInput {
    TrainInput { project: env.project.clone(), base: "built-in".into(), data: None, preset: None, config: Some(config) }
}

fn wait(env: &Env, job_id: i64) -> grimoire_core::Job {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let job = env.service.list_jobs(ProjectRef { path: env.project.clone() }).unwrap().into_iter().find(|j| j.id == job_id).unwrap();
        if job.status.is_finished() || Instant::now() > deadline {
            return job;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A run asked for by preset keeps its activations when they fit in half the available memory
/// (the train crate decides); settings given in full are used as given.
#[test]
fn a_preset_run_keeps_activations_when_they_fit_and_given_settings_are_kept() {
    let env = env();
    let by_preset = TrainInput { preset: Some("cpu-quick".into()), config: None, ..input(&env, tiny(1)) };
    let plan = env.service.plan_training(by_preset).unwrap();
    let facts = grimoire_train::ModelFacts::read(std::path::Path::new(&plan.base_path)).unwrap();
    let expected = grimoire_train::keep_activations_if_they_fit(&facts, TrainConfig::preset("cpu-quick").unwrap(), grimoire_train::memory_budget());
    assert_eq!(plan.config, expected);
    // SmolLM2 at 4 × 256 needs about 2 GB without recomputation: wherever 4 GB are free, it is off.
    if grimoire_train::memory_budget() >= 4 << 30 {
        assert!(!plan.config.activation_checkpointing);
    }
    let given = tiny(1);
    assert!(given.activation_checkpointing);
    let plan = env.service.plan_training(input(&env, given.clone())).unwrap();
    assert_eq!(plan.config, given);
}

#[test]
fn a_run_trains_on_the_latest_export_lists_its_curve_and_merges() {
    let env = env();
    let plan = env.service.plan_training(input(&env, tiny(4))).unwrap();
    assert!(plan.data_dir.contains("exports"), "{}", plan.data_dir);
    assert_eq!(plan.data.train_examples + plan.data.validation_examples, 6);
    assert_eq!(plan.estimate.total_steps, 4);
    assert!(plan.estimate.seconds > 0.0 && plan.estimate.peak_memory_bytes > 100 << 20, "{:?}", plan.estimate);

    let started = env.service.start_training(input(&env, tiny(4))).unwrap();
    let job = wait(&env, started.job_id);
    assert_eq!(job.status, JobStatus::Completed, "{:?}", job.error);
    let progress: Vec<(u64, u64)> = env
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.job_id == started.job_id)
        .filter_map(|e| match &e.event {
            JobEventKind::Progress { done, total, .. } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert!(progress.contains(&(4, 4)), "{progress:?}");

    let runs = env.service.list_runs(ProjectRef { path: env.project.clone() }).unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!((run.state, run.step, run.total_steps), (RunState::Completed, 4, 4));
    assert!(run.has_adapter && run.val_loss.is_some(), "{run:?}");
    let detail = env.service.training_run(RunRef { project: env.project.clone(), run_id: run.run_id.clone() }).unwrap();
    assert!(detail.metrics.len() >= 5, "{:?}", detail.metrics);
    assert!(detail.plot.is_some());
    assert_eq!(detail.summary.unwrap().steps, 4);
    // A finished run does not resume.
    let again = env.service.resume_training(RunRef { project: env.project.clone(), run_id: run.run_id.clone() });
    assert_eq!(again.unwrap_err().code(), ErrorCode::InvalidInput);

    let merged = env.service.merge_run(MergeInput { project: env.project.clone(), run_id: run.run_id.clone(), out: None }).unwrap();
    let out = PathBuf::from(&merged.out);
    assert!(out.join("config.json").is_file());
    assert!(std::fs::read_dir(&out).unwrap().flatten().any(|e| e.file_name().to_string_lossy().ends_with(".safetensors")));
}

#[test]
fn a_cancelled_run_is_stopped_then_resumes_to_the_end_under_its_job() {
    let env = env();
    let started = env.service.start_training(input(&env, tiny(6))).unwrap();
    // Cancel once the first step is reported.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !env.events.lock().unwrap().iter().any(|e| {
        e.job_id == started.job_id && matches!(&e.event, JobEventKind::Progress { done, total, .. } if *done >= 1 && *total == 6)
    }) {
        assert!(Instant::now() < deadline, "no step reported");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(env.service.cancel_job(CancelJobInput { project: env.project.clone(), job_id: started.job_id }).unwrap());
    assert_eq!(wait(&env, started.job_id).status, JobStatus::Cancelled);
    let run = env.service.list_runs(ProjectRef { path: env.project.clone() }).unwrap().remove(0);
    assert_eq!(run.state, RunState::Stopped);
    assert!(run.step >= 1 && run.step < 6, "{run:?}");

    let handle = env.service.resume_training(RunRef { project: env.project.clone(), run_id: run.run_id.clone() }).unwrap();
    assert_eq!(handle.id, started.job_id, "a resumed run keeps its job");
    assert_eq!(handle.wait(), JobStatus::Completed);
    let run = env.service.list_runs(ProjectRef { path: env.project.clone() }).unwrap().remove(0);
    assert_eq!((run.state, run.step), (RunState::Completed, 6));
}

#[test]
fn bad_requests_are_named_errors() {
    let env = env();
    let mut missing = input(&env, tiny(1));
    missing.base = "/nowhere/model.gguf".into();
    assert_eq!(env.service.plan_training(missing).unwrap_err().code(), ErrorCode::NotFound);
    let mut preset = input(&env, tiny(1));
    preset.config = None;
    preset.preset = Some("huge".into());
    let err = env.service.start_training(preset).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("cpu-small"), "{err}");
    let mut no_data = input(&env, tiny(1));
    no_data.data = Some(env._tmp.path().display().to_string());
    assert!(env.service.start_training(no_data).unwrap_err().to_string().contains("train.jsonl"));
    let bad = env.service.training_run(RunRef { project: env.project.clone(), run_id: "../p".into() });
    assert_eq!(bad.unwrap_err().code(), ErrorCode::InvalidInput);
    assert!(env.service.list_runs(ProjectRef { path: env.project.clone() }).unwrap().is_empty());
}
