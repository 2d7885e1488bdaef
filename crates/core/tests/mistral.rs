//! Managed fine-tuning on Mistral through the service layer, against a fake of Mistral's files and
//! fine-tuning API written here and served on loopback: uploads, job creation, every status from
//! QUEUED to SUCCESS, FAILED_VALIDATION and CANCELLED, a refused key, rate limits with
//! Retry-After, server errors, a connection dropped mid-upload, reopening a project, and the tuned
//! model answering in chat.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grimoire_core::{
    ChatEvent, ChatInput, ChatMessage, ChatRole, Dirs, ErrorCode, JobEvent, JobStatus, MistralCreateInput,
    MistralEstimateInput, MistralHyperparameters, MistralJobRef, MistralJobView, MistralListInput, MistralStatus, ProjectRef, RetryPolicy, Service,
    TeacherConfig, TeacherKind,
};
use grimoire_teacher::loopback::{Incoming, Reply, Server};
use serde_json::{Value, json};

const KEY: &str = "sk-test-secret-4242";

/// A job on the fake server: the statuses it goes through, one per read.
struct FakeJob {
    body: Value,
    plan: Vec<&'static str>,
    stage: usize,
    events: Vec<Value>,
    checkpoints: Vec<Value>,
}

#[derive(Default)]
struct Fake {
    files: Vec<(String, Vec<u8>)>,
    jobs: HashMap<String, FakeJob>,
    /// Answers given, in order, before the normal ones (429, 503, a dropped connection...).
    upsets: Vec<(&'static str, Reply)>,
    seen: Vec<Incoming>,
}

/// Mistral's API as far as Grimoire uses it.
fn mistral(state: &Arc<Mutex<Fake>>, req: &Incoming) -> Reply {
    let mut s = state.lock().unwrap();
    s.seen.push(req.clone());
    if let Some(i) = s.upsets.iter().position(|(path, _)| req.path.contains(path)) {
        return s.upsets.remove(i).1;
    }
    if req.authorization.as_deref() != Some(&format!("Bearer {KEY}")) {
        return Reply::status(401, r#"{"message":"Unauthorized","request_id":"r1"}"#);
    }
    let path = req.path.trim_start_matches("/v1");
    let parts: Vec<&str> = path.split('?').next().unwrap_or("").trim_matches('/').split('/').collect();
    match (req.method.as_str(), parts.as_slice()) {
        ("POST", ["files"]) => {
            let raw = String::from_utf8_lossy(&req.raw).to_string();
            assert!(req.content_type.as_deref().unwrap_or("").starts_with("multipart/form-data; boundary="));
            assert!(raw.contains("name=\"purpose\"\r\n\r\nfine-tune\r\n"), "{raw}");
            let name = raw.split("filename=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
            let content = raw.split("Content-Type: application/jsonl\r\n\r\n").nth(1).and_then(|r| r.rsplit_once("\r\n--")).map(|(c, _)| c).unwrap_or("");
            let id = format!("file-{}", s.files.len() + 1);
            s.files.push((id.clone(), content.as_bytes().to_vec()));
            Reply::status(200, &json!({"id": id, "object": "file", "bytes": content.len(), "filename": name, "purpose": "fine-tune"}).to_string())
        }
        ("POST", ["fine_tuning", "jobs"]) => {
            let b = &req.body;
            let train = b.pointer("/training_files/0/file_id").and_then(Value::as_str).unwrap_or("");
            let data = s.files.iter().find(|(id, _)| id == train).map(|(_, c)| String::from_utf8_lossy(c).to_string()).unwrap_or_default();
            let auto = b["auto_start"].as_bool().unwrap_or(false);
            let plan = if data.contains("REJECT-ME") {
                vec!["QUEUED", "VALIDATING", "FAILED_VALIDATION"]
            } else if auto {
                vec!["QUEUED", "VALIDATING", "VALIDATED", "RUNNING", "RUNNING", "SUCCESS"]
            } else {
                vec!["QUEUED", "VALIDATING", "VALIDATED"]
            };
            let id = format!("job-{}", s.jobs.len() + 1);
            let body = json!({
                "id": id, "object": "job", "model": b["model"], "status": "QUEUED", "auto_start": auto,
                "training_files": [train], "validation_files": b["validation_files"], "hyperparameters": b["hyperparameters"],
                "suffix": b["suffix"], "fine_tuned_model": null, "created_at": 1_700_000_000, "modified_at": 1_700_000_000,
            });
            s.jobs.insert(id.clone(), FakeJob { body: body.clone(), plan, stage: 0, events: vec![], checkpoints: vec![] });
            Reply::status(200, &body.to_string())
        }
        ("GET", ["fine_tuning", "jobs"]) => {
            let data: Vec<Value> = s.jobs.values().map(|j| j.body.clone()).collect();
            Reply::status(200, &json!({"object": "list", "data": data, "total": data.len()}).to_string())
        }
        (method, ["fine_tuning", "jobs", id, rest @ ..]) => {
            let Some(job) = s.jobs.get_mut(*id) else { return Reply::status(404, r#"{"message":"No job"}"#) };
            match (method, rest) {
                ("GET", []) => advance(job),
                ("POST", ["start"]) if job.body["status"] == "VALIDATED" => {
                    job.plan.extend(["STARTED", "RUNNING", "SUCCESS"]);
                }
                ("POST", ["start"]) => return Reply::status(400, r#"{"message":"Job is not validated"}"#),
                ("POST", ["cancel"]) => {
                    job.plan.truncate(job.stage + 1);
                    job.plan.extend(["CANCELLATION_REQUESTED", "CANCELLED"]);
                    job.stage += 1;
                    enter(job);
                }
                _ => return Reply::status(404, "{}"),
            }
            let mut body = job.body.clone();
            body["events"] = Value::Array(job.events.clone());
            body["checkpoints"] = Value::Array(job.checkpoints.clone());
            Reply::status(200, &body.to_string())
        }
        ("POST", ["chat", "completions"]) => {
            let model = req.body["model"].as_str().unwrap_or("");
            Reply::chat(if model.starts_with("ft:") { "I dearly love a laugh, sir." } else { "I am a language model." })
        }
        _ => Reply::status(404, r#"{"message":"Not found"}"#),
    }
}

/// One read of a job: its next status, with an event, and a checkpoint while it runs.
fn advance(job: &mut FakeJob) {
    if !job.events.is_empty() && job.stage + 1 < job.plan.len() {
        job.stage += 1;
    }
    enter(job);
    let status = job.plan[job.stage];
    if status == "RUNNING" {
        let step = job.checkpoints.len() as u64 + 1;
        job.checkpoints.push(json!({"metrics": {"train_loss": 2.0 / step as f64, "valid_loss": 2.2 / step as f64, "valid_mean_token_accuracy": 0.5}, "step_number": step * 10, "created_at": 1_700_000_200}));
    }
    if status == "SUCCESS" {
        let suffix = job.body["suffix"].as_str().unwrap_or("x").to_string();
        job.body["fine_tuned_model"] = json!(format!("ft:open-mistral-7b:acme:20250301:{suffix}"));
    }
}

/// Takes on the status of the job's stage, with an event when it changes.
fn enter(job: &mut FakeJob) {
    let status = job.plan[job.stage];
    if job.body["status"] != status || job.events.is_empty() {
        job.body["status"] = json!(status);
        job.events.push(json!({"name": "status-updated", "data": {"status": status}, "created_at": 1_700_000_000 + job.stage}));
        if status == "FAILED_VALIDATION" {
            job.events.push(json!({"name": "validation", "data": {"error": "line 2: the assistant message is a refusal marker"}, "created_at": 1_700_000_100}));
        }
        if status == "VALIDATED" {
            job.body["metadata"] = json!({"cost": 0.42, "cost_currency": "USD", "train_tokens": 420, "expected_duration_seconds": 60});
        }
    }
}

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    project: String,
    service: Service,
    events: Arc<Mutex<Vec<JobEvent>>>,
    server: Server,
    fake: Arc<Mutex<Fake>>,
}

fn service(root: &Path, events: &Arc<Mutex<Vec<JobEvent>>>) -> Service {
    let sink = events.clone();
    let service = Service::new(Dirs { data: root.join("data"), config: root.join("config") }, Arc::new(move |e| sink.lock().unwrap().push(e)));
    service.set_mistral_timing(
        Duration::from_millis(20),
        RetryPolicy { max_attempts: 3, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(20) },
    );
    service
}

/// A project with ten approved examples exported, and a Mistral teacher `name` on the fake server
/// whose key (in the environment) is `key`.
fn env(name: &str, key: &str) -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let events = Arc::default();
    let service = service(&root, &events);
    let project = root.join("p").display().to_string();
    service.create_project(grimoire_core::CreateProjectInput { path: project.clone(), name: "P".into(), persona: Some("Elizabeth Bennet".into()) }).unwrap();
    common::approve_and_export(&service, &project, &root);
    let fake: Arc<Mutex<Fake>> = Arc::default();
    let state = fake.clone();
    let server = Server::start(move |req| mistral(&state, req)).unwrap();
    service
        .save_teacher(TeacherConfig { name: name.into(), kind: TeacherKind::Mistral, base_url: server.base_url(), model: "open-mistral-7b".into(), timeout_seconds: 5, ..Default::default() })
        .unwrap();
    // Each test its own teacher name, so its own variable.
    unsafe { std::env::set_var(grimoire_teacher::keys::env_var(name), key) };
    Env { _tmp: tmp, root, project, service, events, server, fake }
}

fn create(env: &Env, teacher: &str, auto_start: bool, data: Option<String>) -> grimoire_core::Result<MistralJobView> {
    env.service.create_mistral_job(MistralCreateInput {
        project: env.project.clone(),
        teacher: teacher.into(),
        data,
        model: "open-mistral-7b".into(),
        hyperparameters: MistralHyperparameters { epochs: Some(2.0), learning_rate: Some(1e-4), weight_decay: Some(0.1), warmup_fraction: Some(0.05), seq_len: Some(4096), ..Default::default() },
        suffix: Some("lizzy".into()),
        auto_start,
        tokenizer: None,
    })
}

/// Waits until the job has reached `status`, and returns it.
fn reach(env: &Env, service: &Service, id: &str, status: MistralStatus) -> MistralJobView {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = service.list_mistral_jobs(MistralListInput { project: env.project.clone(), refresh: false }).unwrap();
        let job = list.jobs.into_iter().find(|j| j.id == id).expect("the job is listed");
        if job.status == status {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never reached {status:?}: {job:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the job's follower has stopped, and returns the job.
fn settled(env: &Env, service: &Service, id: &str) -> MistralJobView {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = service.list_mistral_jobs(MistralListInput { project: env.project.clone(), refresh: false }).unwrap();
        let job = list.jobs.into_iter().find(|j| j.id == id).expect("the job is listed");
        if !job.following {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} still followed: {job:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn job_row(env: &Env, id: i64) -> grimoire_core::Job {
    env.service.list_jobs(ProjectRef { path: env.project.clone() }).unwrap().into_iter().find(|j| j.id == id).unwrap()
}

/// Every byte the project and the app wrote: the database (and its log), settings, exports.
fn everything_written(root: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                all.extend(std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    all
}

#[test]
fn a_job_goes_from_upload_to_a_chat_model_and_the_key_stays_out_of_the_project() {
    let env = env("mistral-ok", KEY);
    let estimate = env
        .service
        .estimate_mistral_job(MistralEstimateInput {
            project: env.project.clone(),
            data: None,
            model: "open-mistral-7b".into(),
            hyperparameters: MistralHyperparameters { epochs: Some(2.0), ..Default::default() },
            tokenizer: None,
        })
        .unwrap();
    assert!(estimate.ready && estimate.train.valid >= 7, "{estimate:?}");
    assert_eq!(estimate.billed_tokens, Some((estimate.train_tokens as f64 * 2.0).ceil() as u64));
    let cost = estimate.cost.unwrap();
    assert!((cost - estimate.billed_tokens.unwrap() as f64 / 1e6 * estimate.price_per_million.unwrap()).abs() < 1e-12);
    assert!(!estimate.prices_as_of.is_empty() && !estimate.price_source.is_empty());
    assert_eq!(env.server.requests(), 0, "an estimate sends nothing");

    let created = create(&env, "mistral-ok", true, None).unwrap();
    assert_eq!(created.status, MistralStatus::Queued);
    {
        let fake = env.fake.lock().unwrap();
        let train = std::fs::read(&estimate.train_file).unwrap();
        let validation = std::fs::read(estimate.validation_file.as_ref().unwrap()).unwrap();
        assert_eq!(fake.files[0].1, train, "train.jsonl arrives byte for byte");
        assert_eq!(fake.files[1].1, validation);
        let body = &fake.seen.iter().find(|r| r.path == "/v1/fine_tuning/jobs" && r.method == "POST").unwrap().body;
        assert_eq!(body["training_files"][0]["file_id"], "file-1");
        assert_eq!(body["validation_files"], json!(["file-2"]));
        assert_eq!(body["hyperparameters"], json!({"epochs": 2.0, "learning_rate": 1e-4, "weight_decay": 0.1, "warmup_fraction": 0.05, "seq_len": 4096}));
        assert_eq!((body["suffix"].as_str(), body["auto_start"].as_bool()), (Some("lizzy"), Some(true)));
    }

    let done = settled(&env, &env.service, &created.id);
    assert_eq!(done.status, MistralStatus::Success);
    let tuned = done.fine_tuned_model.clone().unwrap();
    assert_eq!(tuned, "ft:open-mistral-7b:acme:20250301:lizzy");
    let seen: Vec<&str> = done.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(seen, ["QUEUED", "VALIDATING", "VALIDATED", "RUNNING", "SUCCESS"]);
    assert_eq!(done.checkpoints.len(), 2);
    assert!(done.checkpoints[1].train_loss.unwrap() < done.checkpoints[0].train_loss.unwrap());
    assert!(done.checkpoints.iter().all(|c| c.valid_loss.is_some()));
    assert_eq!(job_row(&env, done.follow_job.unwrap()).status, JobStatus::Completed);
    assert!(done.estimate.as_ref().is_some_and(|e| e.cost == Some(cost)), "the estimate stays with the job");

    // The tuned model answers through the Mistral teacher.
    let models = env.service.mistral_chat_models(ProjectRef { path: env.project.clone() }).unwrap();
    assert_eq!(models.iter().map(|m| m.fine_tuned_model.as_deref()).collect::<Vec<_>>(), [Some(tuned.as_str())]);
    let (tx, rx) = std::sync::mpsc::channel();
    env.service
        .chat(
            ChatInput {
                model: tuned.clone(),
                adapter: None,
                messages: vec![ChatMessage { role: ChatRole::User, content: "Do you like to laugh?".into() }],
                params: Default::default(),
                teacher: Some("mistral-ok".into()),
            },
            Box::new(move |e| {
                let _ = tx.send(e);
            }),
        )
        .unwrap();
    let reply = rx.iter().find_map(|e| match e {
        ChatEvent::Done { text, .. } => Some(Ok(text)),
        ChatEvent::Error { error } => Some(Err(error)),
        _ => None,
    });
    assert_eq!(reply.unwrap().unwrap(), "I dearly love a laugh, sir.");
    assert_eq!(env.fake.lock().unwrap().seen.last().unwrap().body["model"], json!(tuned));

    // Listing asks Mistral (GET /fine_tuning/jobs) and keeps the stored events.
    let list = env.service.list_mistral_jobs(MistralListInput { project: env.project.clone(), refresh: true }).unwrap();
    assert_eq!(list.refresh_error, None);
    assert_eq!(list.jobs[0].events.len(), 5);

    // The key was sent, and written nowhere: not in the database, settings, exports or events.
    assert!(env.fake.lock().unwrap().seen.iter().all(|r| r.authorization.as_deref() == Some(&format!("Bearer {KEY}"))));
    let written = everything_written(&env.root);
    assert!(!written.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the key was written to disk");
    let events = format!("{:?}", env.events.lock().unwrap());
    assert!(!events.contains(KEY));
}

#[test]
fn data_that_breaks_the_rules_is_never_uploaded_and_a_refusal_by_mistral_is_explained() {
    let env = env("mistral-val", KEY);
    let bad = env.root.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let good = r#"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Good day."}]}"#;
    let broken = r#"{"messages":[{"role":"user","content":"Hi"},{"role":"user","content":"Again?"}]}"#;
    std::fs::write(bad.join("train.jsonl"), format!("{good}\n{broken}\n")).unwrap();
    let err = create(&env, "mistral-val", true, Some(bad.display().to_string())).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    let text = err.to_string();
    assert!(text.contains("train.jsonl line 2") && text.contains("nothing was uploaded"), "{text}");
    assert_eq!(env.server.requests(), 0);

    // Mistral's own validation refuses it: FAILED_VALIDATION, with its reason, and the follower fails.
    let refused = env.root.join("refused");
    std::fs::create_dir_all(&refused).unwrap();
    let marked = r#"{"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"REJECT-ME"}]}"#;
    std::fs::write(refused.join("train.jsonl"), format!("{good}\n{marked}\n")).unwrap();
    let job = create(&env, "mistral-val", true, Some(refused.display().to_string())).unwrap();
    let done = settled(&env, &env.service, &job.id);
    assert_eq!(done.status, MistralStatus::FailedValidation);
    assert!(done.fine_tuned_model.is_none());
    assert!(done.error.as_deref().is_some_and(|e| e.contains("refusal marker")), "{done:?}");
    let follower = job_row(&env, done.follow_job.unwrap());
    assert_eq!(follower.status, JobStatus::Failed);
    let error = follower.error.unwrap();
    assert!(error.contains("FAILED_VALIDATION") && error.contains("refusal marker") && error.contains("Nothing local was lost"), "{error}");
    assert!(refused.join("train.jsonl").exists());
}

#[test]
fn a_refused_key_rate_limits_server_errors_and_a_dropped_upload() {
    let env = env("mistral-bad", "sk-revoked");
    let export = env.service.estimate_mistral_job(MistralEstimateInput {
        project: env.project.clone(),
        data: None,
        model: "open-mistral-7b".into(),
        hyperparameters: Default::default(),
        tokenizer: None,
    });
    let train_before = std::fs::read(export.unwrap().train_file).unwrap();

    // A wrong or revoked key: a clear message, nothing recorded, the data untouched.
    let err = create(&env, "mistral-bad", true, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Teacher);
    let text = err.to_string();
    assert!(text.contains("refused the API key") && text.contains("set-key mistral-bad") && text.contains("Nothing was lost"), "{text}");
    assert_eq!(env.fake.lock().unwrap().seen.len(), 1, "a refused key is not retried");
    let list = env.service.list_mistral_jobs(MistralListInput { project: env.project.clone(), refresh: false }).unwrap();
    assert!(list.jobs.is_empty());

    // The right key; a 429 with Retry-After on the upload and a 503 while following are waited out.
    unsafe { std::env::set_var(grimoire_teacher::keys::env_var("mistral-bad"), KEY) };
    env.fake.lock().unwrap().upsets = vec![
        ("/files", Reply::status(429, r#"{"message":"Requests rate limit exceeded"}"#).header("retry-after", "0.2")),
        ("/fine_tuning/jobs/", Reply::status(503, "upstream overloaded")),
    ];
    let started = Instant::now();
    let job = create(&env, "mistral-bad", true, None).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200), "Retry-After was honoured");
    assert_eq!(settled(&env, &env.service, &job.id).status, MistralStatus::Success);
    assert!(env.fake.lock().unwrap().upsets.is_empty());

    // The network drops mid-upload, every time: a clear message after the retries; nothing lost.
    let before = env.fake.lock().unwrap().seen.len();
    env.fake.lock().unwrap().upsets = (0..3).map(|_| ("/files", Reply::drop_connection())).collect();
    let err = create(&env, "mistral-bad", true, None).unwrap_err();
    assert!(err.to_string().contains("check the network") && err.to_string().contains("Nothing was lost"), "{err}");
    assert_eq!(env.fake.lock().unwrap().seen.len() - before, 3, "three attempts");

    // A server error while creating the job is not retried (it might have been created).
    env.fake.lock().unwrap().upsets = vec![("/fine_tuning/jobs", Reply::status(500, r#"{"message":"internal"}"#))];
    let err = create(&env, "mistral-bad", true, None).unwrap_err();
    assert!(err.to_string().contains("server failed while creating the job"), "{err}");
    let creates = env.fake.lock().unwrap().seen.iter().filter(|r| r.method == "POST" && r.path == "/v1/fine_tuning/jobs").count();
    assert_eq!(creates, 2, "one for the job that succeeded, one for the refused");
    assert_eq!(env.service.list_mistral_jobs(MistralListInput { project: env.project.clone(), refresh: false }).unwrap().jobs.len(), 1);
    assert_eq!(std::fs::read(env.root.join("data.jsonl")).map(|_| ()).ok(), Some(()));
    let train_after = std::fs::read(env.service.estimate_mistral_job(MistralEstimateInput {
        project: env.project.clone(),
        data: None,
        model: "open-mistral-7b".into(),
        hyperparameters: Default::default(),
        tokenizer: None,
    })
    .unwrap()
    .train_file)
    .unwrap();
    assert_eq!(train_before, train_after);
}

#[test]
fn a_reopened_project_follows_its_jobs_again_and_jobs_start_and_cancel() {
    let env = env("mistral-reopen", KEY);
    let job = create(&env, "mistral-reopen", false, None).unwrap();
    let validated = reach(&env, &env.service, &job.id, MistralStatus::Validated);
    assert!(validated.following, "without auto-start it waits validated, and is still followed");
    // Close the app: the follower stops with the process.
    let follower = job_row(&env, job_id(&env, &job.id));
    env.service.cancel_job(grimoire_core::CancelJobInput { project: env.project.clone(), job_id: follower.id }).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while job_row(&env, follower.id).status == JobStatus::Running {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }

    // Reopen with a new service: the job is followed again, under the same local job.
    let events = Arc::default();
    let reopened = service(&env.root, &events);
    reopened.open_project(ProjectRef { path: env.project.clone() }).unwrap();
    let listed = reopened.list_mistral_jobs(MistralListInput { project: env.project.clone(), refresh: false }).unwrap();
    let again = &listed.jobs[0];
    assert!(again.following, "{again:?}");
    assert_eq!(again.follow_job, Some(follower.id));
    assert_eq!(again.metadata.as_ref().and_then(|m| m.cost), Some(0.42), "Mistral's own cost shows once validated");

    // Start it: it trains to SUCCESS.
    let started = reopened.start_mistral_job(MistralJobRef { project: env.project.clone(), job_id: job.id.clone() }).unwrap();
    // Mistral answers the start with the job still VALIDATED; the follower, polling meanwhile, may
    // already have stored its next read (STARTED).
    assert!(matches!(started.status, MistralStatus::Validated | MistralStatus::Started), "{:?}", started.status);
    let done = settled(&env, &reopened, &job.id);
    assert_eq!(done.status, MistralStatus::Success);
    let statuses: Vec<&str> = done.events.iter().map(|e| e.message.as_str()).collect();
    assert!(statuses.ends_with(&["STARTED", "RUNNING", "SUCCESS"]), "{statuses:?}");

    // Another job, cancelled while it waits.
    let other = reopened
        .create_mistral_job(MistralCreateInput {
            project: env.project.clone(),
            teacher: "mistral-reopen".into(),
            data: None,
            model: "open-mistral-7b".into(),
            hyperparameters: MistralHyperparameters { training_steps: Some(10), ..Default::default() },
            suffix: None,
            auto_start: false,
            tokenizer: None,
        })
        .unwrap();
    assert!(other.estimate.as_ref().is_some_and(|e| e.cost.is_none()), "set by steps, no cost is guessed");
    let cancelled = reopened.cancel_mistral_job(MistralJobRef { project: env.project.clone(), job_id: other.id.clone() }).unwrap();
    // The follower may have read CANCELLED before the cancel's own answer was stored; that late
    // answer does not reopen the job.
    assert!(matches!(cancelled.status, MistralStatus::CancellationRequested | MistralStatus::Cancelled), "{:?}", cancelled.status);
    let ended = settled(&env, &reopened, &other.id);
    let follower = ended.follow_job.map(|j| job_row(&env, j));
    assert_eq!(ended.status, MistralStatus::Cancelled, "{ended:?}\nits follower: {follower:?}");

    // Status of a job the project does not have.
    let err = reopened.mistral_job_status(MistralJobRef { project: env.project.clone(), job_id: "job-99".into() }).unwrap_err();
    assert!(err.to_string().contains("no Mistral job"), "{err}");
}

fn job_id(env: &Env, id: &str) -> i64 {
    env.service.list_mistral_jobs(MistralListInput { project: env.project.clone(), refresh: false }).unwrap().jobs.into_iter().find(|j| j.id == id).unwrap().follow_job.unwrap()
}
