//! The persona evaluation through the service layer, end to end on the sample book: extract,
//! approve, export, train a run and its control (the other characters' lines), evaluate both
//! as jobs, read the report.

mod common;
use common::builtin_model_dir;

use std::path::PathBuf;
use std::sync::Arc;

use grimoire_core::{
    BulkInput, CreateProjectInput, Dirs, EvaluateRunInput, ExportInput, ExtractInput, ExtractOptions, JobStatus, JudgeRunInput,
    ModelKind, ProjectRef, RunRef, Service, TeacherConfig, TeacherKind, TrainInput,
};
use grimoire_teacher::loopback::{Incoming, Reply, Server};
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
    let eval = EvaluateRunInput { project: project.clone(), run_id: run_id.clone(), control_run_id: None, options, judge: None };
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

/// The reply under grading in a judge request (the text after "The reply to grade:").
fn graded(req: &Incoming) -> String {
    let m = req.last_message();
    m.split("The reply to grade:\n").nth(1).and_then(|r| r.split("\n\n").next()).unwrap_or("").to_owned()
}

fn loopback_teacher(service: &Service, name: &str, server: &Server) {
    let config = TeacherConfig {
        name: name.into(),
        kind: TeacherKind::OpenAiCompatible,
        base_url: server.base_url(),
        model: "loopback-model".into(),
        max_in_flight: 3,
        timeout_seconds: 5,
        ..Default::default()
    };
    service.save_teacher(config).unwrap();
}

/// A stored report of three samples (no model needed): what the judge grades.
fn stored_report(project: &std::path::Path) {
    let run = project.join("runs/run-1");
    std::fs::create_dir_all(run.join("eval")).unwrap();
    std::fs::create_dir_all(run.join("data")).unwrap();
    let line = r#"{"messages":[{"role":"system","content":"You are Elizabeth Bennet, second daughter at Longbourn."},{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]}"#;
    std::fs::write(run.join("data/validation.jsonl"), format!("{line}\n")).unwrap();
    let loss = serde_json::json!({"loss": 2.0, "perplexity": 7.39, "tokens": 10, "examples": 3});
    let sample = |base: &str, tuned: &str| {
        serde_json::json!({"prompt": "Do you dance, Miss Bennet?", "canon": "Not with him, I assure you.", "base": base, "tuned": tuned, "control": null})
    };
    let report = serde_json::json!({
        "run": "run-1", "persona": "Elizabeth Bennet", "base_model": "built-in", "evaluated_at": 1,
        "options": {"max_prompts": 3, "max_tokens": 8, "batch_size": 1, "signature_words": 5},
        "losses": {"base": loss, "tuned": loss, "control": null, "tuned_over_base": 1.0, "tuned_over_control": null},
        "control": {"run": null, "note": ""},
        "classifier": {"persona_lines": 1, "other_lines": 1, "folds": 5, "accuracy": 0.5, "balanced_accuracy": 0.5, "persona_recall": 0.5, "other_recall": 0.5},
        "persona_scores": [], "style": [], "signature_words": [],
        "samples": [sample("GARBAGE then", "I dearly love a laugh."), sample("A plain answer.", "OUTOFRANGE answer"), sample("ALWAYS429 answer", "Tuned again.")],
        "judge": null, "plots": [], "compare": []
    });
    std::fs::write(run.join("eval/report.json"), serde_json::to_string(&report).unwrap()).unwrap();
}

#[test]
fn a_teacher_judges_each_reply_and_garbage_or_refused_items_stay_unjudged() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let service = Service::new(Dirs { data: root.join("data"), config: root.join("config") }, Arc::new(|_| {}));
    let project = root.join("p");
    let input = CreateProjectInput { path: project.display().to_string(), name: "p".into(), persona: Some("Elizabeth Bennet".into()) };
    service.create_project(input).unwrap();
    stored_report(&project);
    let judge = |teacher: &str| JudgeRunInput { project: project.display().to_string(), run_id: "run-1".into(), teacher: teacher.into() };

    // A judge that answers garbage for one reply and an out-of-range grade for another.
    let mixed = Server::start(|req| {
        let reply = graded(req);
        assert!(req.last_message().contains("You are Elizabeth Bennet, second daughter"), "the persona description");
        assert!(req.last_message().contains("Not with him, I assure you."), "the canon reply as reference");
        if reply.contains("GARBAGE") {
            Reply::chat("I would give it a six, roughly.")
        } else if reply.contains("OUTOFRANGE") {
            Reply::chat(r#"{"voice": 9, "knowledge": 5, "consistency": 6}"#)
        } else if reply.contains("Tuned") || reply.contains("laugh") {
            Reply::chat(r#"{"voice": 6, "knowledge": 5, "consistency": 7}"#)
        } else {
            Reply::chat(r#"{"voice": 2, "knowledge": 3, "consistency": 4}"#)
        }
    })
    .unwrap();
    loopback_teacher(&service, "mixed", &mixed);
    let report = service.judge_run(judge("mixed")).unwrap();
    let j = report.judge.as_ref().expect("judged");
    assert_eq!(j.judge, "mixed (loopback-model)");
    assert!(j.by_teacher_model);
    assert_eq!(j.replies.len(), 6);
    assert_eq!(mixed.requests(), 6);
    let base = j.means.iter().find(|m| m.model == ModelKind::Base).unwrap();
    let tuned = j.means.iter().find(|m| m.model == ModelKind::Tuned).unwrap();
    assert_eq!((base.judged, base.unjudged, tuned.judged, tuned.unjudged), (2, 1, 2, 1));
    let (b, t) = (base.mean.as_ref().unwrap(), tuned.mean.as_ref().unwrap());
    assert_eq!((b.voice, b.knowledge, b.consistency), (2.0, 3.0, 4.0));
    assert_eq!((t.voice, t.knowledge, t.consistency), (6.0, 5.0, 7.0));
    let why = |model: ModelKind, sample: usize| {
        let r = j.replies.iter().find(|r| r.model == model && r.sample == sample).unwrap();
        assert!(r.score.is_none());
        r.unjudged.clone().unwrap()
    };
    assert!(why(ModelKind::Base, 0).contains("not JSON"), "{}", why(ModelKind::Base, 0));
    assert!(why(ModelKind::Tuned, 1).contains("from 1 to 7"), "{}", why(ModelKind::Tuned, 1));
    // Saved with the report; the other figures untouched.
    let stored = service.eval_report(RunRef { project: project.display().to_string(), run_id: "run-1".into() }).unwrap();
    assert_eq!(stored.judge, report.judge);
    assert_eq!(stored.losses.base.perplexity, 7.39);

    // A rate-limited judge: every request is refused once (429, Retry-After 0) and then answered,
    // except one reply's, refused every time: that reply stays unjudged, with the status.
    let seen = std::sync::Mutex::new(std::collections::HashSet::new());
    let limited = Server::start(move |req| {
        let reply = graded(req);
        if reply.contains("ALWAYS429") || seen.lock().unwrap().insert(reply) {
            return Reply::status(429, r#"{"message": "rate limited"}"#).header("Retry-After", "0");
        }
        Reply::chat(r#"{"voice": 5, "knowledge": 5, "consistency": 5}"#)
    })
    .unwrap();
    loopback_teacher(&service, "limited", &limited);
    let report = service.judge_run(judge("limited")).unwrap();
    let j = report.judge.unwrap();
    assert_eq!(j.judge, "limited (loopback-model)");
    let unjudged: Vec<_> = j.replies.iter().filter(|r| r.score.is_none()).collect();
    assert_eq!(unjudged.len(), 1, "{unjudged:?}");
    assert_eq!((unjudged[0].model, unjudged[0].sample), (ModelKind::Base, 2));
    assert!(unjudged[0].unjudged.as_deref().unwrap().contains("HTTP 429"), "{unjudged:?}");
    // Five replies twice each, and four attempts at the one always refused.
    assert_eq!(limited.requests(), 5 * 2 + 4);

    // An unknown teacher is refused before anything is sent.
    assert!(service.judge_run(judge("nobody")).is_err());
}
