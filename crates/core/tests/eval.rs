//! The persona evaluation through the service layer, end to end on the sample book: extract,
//! approve, export, train a run and its control (the other characters' lines), evaluate both
//! as jobs, read the report.

mod common;
use common::builtin_model_dir;

use std::path::PathBuf;
use std::sync::Arc;

use grimoire_core::{
    BulkInput, Dirs, EvaluateRunInput, ExportInput, ExtractInput, ExtractOptions, JobStatus, ProjectRef, RunRef, Service,
    TrainInput,
};
use grimoire_store::table::examples::{BulkOp, ExampleFilter, Status, Target};

#[test]
fn a_run_and_its_control_are_evaluated_and_the_report_shows_both_ratios() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let service = Service::new(Dirs { data: root.join("data"), config: root.join("config") }, Arc::new(|_| {}));
    let mut settings = service.settings().unwrap();
    settings.model_dir = builtin_model_dir().display().to_string();
    service.update_settings(settings).unwrap();
    let info = service.open_sample_project().unwrap();
    let project = info.path.clone();
    // The sample's book imports as a job; wait for it.
    for job in service.list_jobs(ProjectRef { path: project.clone() }).unwrap() {
        while !service.list_jobs(ProjectRef { path: project.clone() }).unwrap().iter().find(|j| j.id == job.id).unwrap().status.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    let persona = info.persona.clone().unwrap();
    let options = ExtractOptions { scenes: false, system_prompt: Some(format!("You are {persona}.")), ..ExtractOptions::default() };
    assert_eq!(service.extract(ExtractInput { project: project.clone(), persona, options }).unwrap().wait(), JobStatus::Completed);
    service
        .bulk_examples(BulkInput { project: project.clone(), target: Target::Filter(ExampleFilter::all()), op: BulkOp::SetStatus(Status::Approved) })
        .unwrap();
    service.export_examples(ExportInput { project: project.clone(), out: None, val_fraction: 0.1, seed: 1, system_prompt: None, tokenizer: None }).unwrap();

    let input = TrainInput { project: project.clone(), base: "built-in".into(), data: None, preset: None, config: Some(common::two_steps()) };
    let (run_id, handle) = service.train(input).unwrap();
    assert_eq!(handle.wait(), JobStatus::Completed);
    let (control_id, handle) = service.train_control(RunRef { project: project.clone(), run_id: run_id.clone() }).unwrap();
    assert_eq!(handle.wait(), JobStatus::Completed);
    let runs = service.list_runs(ProjectRef { path: project.clone() }).unwrap();
    let control = runs.iter().find(|r| r.run_id == control_id).unwrap();
    assert_eq!(control.control_for.as_deref(), Some(run_id.as_str()));
    // The control learned from other people's lines, with the run's system prompt.
    let control_train = PathBuf::from(&project).join("exports").join(format!("control-for-{run_id}")).join("train.jsonl");
    let text = std::fs::read_to_string(control_train).unwrap();
    assert!(text.lines().count() > 100, "{}", text.lines().count());
    assert!(text.lines().all(|l| l.contains("You are Elizabeth Bennet.")));

    let mut options = grimoire_core::EvalOptions::default();
    options.max_prompts = 2;
    options.max_tokens = 6;
    let eval = EvaluateRunInput { project: project.clone(), run_id: run_id.clone(), control_run_id: None, options };
    assert_eq!(service.evaluate_run(eval).unwrap().wait(), JobStatus::Completed);
    let report = service.eval_report(RunRef { project: project.clone(), run_id: run_id.clone() }).unwrap();
    assert_eq!(report.control.run.as_deref(), Some(control_id.as_str()));
    assert!(report.losses.tuned_over_base > 0.0);
    assert!(report.losses.tuned_over_control.is_some());
    assert_eq!(report.samples.len(), 2);
    assert!(service.list_runs(ProjectRef { path: project.clone() }).unwrap().iter().any(|r| r.run_id == run_id && r.has_report));
    // The exported adapter's model card carries the report's figures.
    let input = grimoire_core::AdapterExportInput { project, run_id, base_model: None, out: None };
    let card = std::fs::read_to_string(service.export_adapter(input).unwrap().readme).unwrap();
    let ratio = format!("({:.2}× the base)", report.losses.tuned_over_base);
    assert!(card.contains("Perplexity on") && card.contains(&ratio) && card.contains("tuned ÷ control"), "{card}");
    assert!(card.contains("judged in the persona's voice"), "{card}");
}
