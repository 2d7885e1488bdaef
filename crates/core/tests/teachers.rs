//! Teachers through the real service layer: a real SQLite project with the sample book, a real HTTP
//! server on loopback that rate-limits, fails, drops connections and answers in every shape, and the
//! built-in model.

mod common;
use common::builtin_model_dir;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use grimoire_core::{
    CancelJobInput, CreateProjectInput, Dirs, ErrorCode, ExampleFilter, GenerateInput,
    GenerationItemsInput, GenerationOptions, GenerationRef, ImportBooksInput, ItemState, JobStatus,
    ListExamplesInput, ListPassagesInput, PreviewInput, ProjectRef, QualityFlag, Service,
    Role, SetTeacherKeyInput, Sort, Strategy, TeacherConfig, TeacherKind, TeacherRef,
    TeacherStrategy,
};
use grimoire_teacher::loopback::{Reply, Server};

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    service: Service,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let service = Service::new(
        Dirs {
            data: root.join("data"),
            config: root.join("config"),
        },
        Arc::new(|_| {}),
    );
    Env {
        _tmp: tmp,
        root,
        service,
    }
}

fn sample_book() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/sample/PrideAndPrejudice.txt")
        .display()
        .to_string()
}

/// A project with the sample book imported and analysed, persona Elizabeth Bennet.
fn project(env: &Env, name: &str) -> String {
    let path = env.root.join(name).display().to_string();
    env.service
        .create_project(CreateProjectInput {
            path: path.clone(),
            name: name.into(),
            persona: Some("Elizabeth Bennet".into()),
        })
        .unwrap();
    let handle = env
        .service
        .import_books_handle(ImportBooksInput {
            project: path.clone(),
            files: vec![sample_book()],
        })
        .unwrap();
    assert_eq!(handle.wait(), JobStatus::Completed);
    path
}

fn teacher(env: &Env, name: &str, server: &Server) -> TeacherConfig {
    let config = TeacherConfig {
        name: name.into(),
        kind: TeacherKind::OpenAiCompatible,
        base_url: server.base_url(),
        model: "loopback-model".into(),
        max_in_flight: 4,
        timeout_seconds: 5,
        ..Default::default()
    };
    env.service.save_teacher(config).unwrap().config
}

fn rewrite(limit: u32) -> GenerationOptions {
    GenerationOptions {
        strategy: TeacherStrategy::Rewrite,
        limit: Some(limit),
        ..Default::default()
    }
}

const GOOD: &str = r#"{"question": "What did you feel that morning?", "account": "I felt my spirits rise as I walked on alone."}"#;

/// A server that lists one model and answers every chat well.
fn good(req: &grimoire_teacher::loopback::Incoming) -> Reply {
    if req.path.ends_with("/models") {
        return Reply::models(&["loopback-model"]);
    }
    Reply::chat(GOOD)
}

/// Every twelfth request in turn: rate-limited, a server error, a dropped connection, garbage,
/// fenced chatter, meta-talk with an invented place; the rest answer well.
fn unreliable(req: &grimoire_teacher::loopback::Incoming) -> Reply {
    if req.path.ends_with("/models") {
        return Reply::models(&["loopback-model", "other"]);
    }
    match req.number % 12 {
        1 => Reply::status(429, r#"{"message":"Requests rate limit exceeded"}"#)
            .header("retry-after", "0.1"),
        3 => Reply::status(503, "overloaded"),
        5 => Reply::drop_connection(),
        7 => Reply::chat("I'd rather not do that."),
        9 => Reply::chat(&format!(
            "Of course! Here it is:\n```json\n{GOOD}\n```\nLet me know if you need more."
        )),
        11 => Reply::chat(
            r#"{"question": "Where were you?", "account": "Here is the rewritten passage: I was at Pemberley, thinking."}"#,
        ),
        _ => Reply::chat(GOOD).after(Duration::from_millis(5)),
    }
}

fn examples(env: &Env, project: &str, strategy: Strategy) -> Vec<grimoire_core::Example> {
    let filter = ExampleFilter {
        strategy: vec![strategy],
        ..Default::default()
    };
    let input = ListExamplesInput {
        project: project.into(),
        filter,
        sort: Sort::default(),
        offset: 0,
        limit: 1000,
    };
    env.service.list_examples(input).unwrap().rows
}

#[test]
fn a_generation_retries_records_rejections_with_reasons_and_stores_only_good_examples() {
    let env = env();
    let project = project(&env, "rewrite");
    let server = Server::start(unreliable).unwrap();
    teacher(&env, "loop", &server);

    // The passages: narration about Elizabeth, with exact spans.
    let list = env
        .service
        .list_passages(ListPassagesInput {
            project: project.clone(),
            options: rewrite(12),
            offset: 0,
            limit: 3,
        })
        .unwrap();
    assert!(list.total > 50, "{}", list.total);
    let first = &list.passages[0];
    assert!(
        first.text.contains("Elizabeth")
            || first.text.contains("Lizzy")
            || first.text.contains("Eliza"),
        "{}",
        first.text
    );
    assert!(!first.spans.is_empty() && first.text.chars().count() <= 1500);

    let handle = env
        .service
        .generate(GenerateInput {
            project: project.clone(),
            teacher: "loop".into(),
            options: rewrite(12),
        })
        .unwrap();
    let job_id = handle.id;
    assert_eq!(handle.wait(), JobStatus::Completed);
    let status = env
        .service
        .generation_status(GenerationRef {
            project: project.clone(),
            job_id,
        })
        .unwrap();
    let t = status.totals;
    assert_eq!((t.total, t.pending, t.failed), (12, 0, 0), "{t:?}");
    assert!(t.rejected >= 1, "the garbage answer is rejected: {t:?}");
    assert_eq!(t.done + t.rejected, 12);
    assert!(t.prompt_tokens > 0 && status.cost == 0.0);
    assert!(
        server.requests() > 12,
        "errors were retried: {}",
        server.requests()
    );

    let rejected = env
        .service
        .generation_items(GenerationItemsInput {
            project: project.clone(),
            job_id,
            states: vec![ItemState::Rejected],
        })
        .unwrap();
    assert!(
        rejected
            .iter()
            .all(|i| i.reason.as_deref().is_some_and(|r| r.contains("no JSON"))),
        "{rejected:?}"
    );

    let stored = examples(&env, &project, Strategy::B);
    assert_eq!(stored.len() as u64, t.examples);
    assert_eq!(t.examples, t.done);
    for ex in &stored {
        assert_eq!(ex.persona.as_deref(), Some("Elizabeth Bennet"));
        assert_eq!(ex.teacher.as_deref(), Some("loop (loopback-model)"));
        assert!(
            ex.prompt
                .as_deref()
                .is_some_and(|p| p.contains("\"version\":1") && p.contains("first person"))
        );
        assert!(!ex.spans.is_empty() && ex.book_id.is_some() && ex.chapter.is_some());
        assert_eq!(ex.messages.len(), 2);
    }
    let odd = stored
        .iter()
        .find(|e| e.messages[1].content.contains("Pemberley"));
    if let Some(odd) = odd {
        assert!(
            odd.flags.contains(&QualityFlag::MetaTalk)
                && odd.flags.contains(&QualityFlag::UnsupportedDetail),
            "{:?}",
            odd.flags
        );
    }

    // The same generation again is answered from the cache: not one request.
    let before = server.requests();
    let again = env
        .service
        .generate(GenerateInput {
            project: project.clone(),
            teacher: "loop".into(),
            options: rewrite(12),
        })
        .unwrap();
    let again_id = again.id;
    assert_eq!(again.wait(), JobStatus::Completed);
    assert_eq!(server.requests(), before);
    let t2 = env
        .service
        .generation_status(GenerationRef {
            project: project.clone(),
            job_id: again_id,
        })
        .unwrap()
        .totals;
    assert_eq!(
        (t2.cached, t2.prompt_tokens, t2.rejected),
        (12, 0, t.rejected)
    );
}

#[test]
fn a_cancelled_or_crashed_generation_resumes_where_it_stopped_and_never_pays_twice() {
    let env = env();
    let project = project(&env, "resume");
    let server = Server::start(|_| Reply::chat(GOOD).after(Duration::from_millis(60))).unwrap();
    teacher(&env, "slow", &server);
    let input = GenerateInput {
        project: project.clone(),
        teacher: "slow".into(),
        options: rewrite(40),
    };
    let handle = env.service.generate(input).unwrap();
    let job_id = handle.id;
    let gref = GenerationRef {
        project: project.clone(),
        job_id,
    };
    while env
        .service
        .generation_status(gref.clone())
        .unwrap()
        .totals
        .done
        < 8
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        env.service
            .cancel_job(CancelJobInput {
                project: project.clone(),
                job_id
            })
            .unwrap()
    );
    assert_eq!(handle.wait(), JobStatus::Cancelled);
    let t = env.service.generation_status(gref.clone()).unwrap().totals;
    assert!(t.done >= 8 && t.pending > 0, "{t:?}");
    assert_eq!(
        examples(&env, &project, Strategy::B).len() as u64,
        t.done,
        "what was finished is kept"
    );

    // The machine stops mid-job: the row says running; reopening marks it interrupted and resumes it.
    {
        let store = grimoire_store::Store::open(&Path::new(&project).join("grimoire.db")).unwrap();
        store
            .conn()
            .execute(
                "UPDATE jobs SET status = 'running', finished_at = NULL WHERE id = ?1",
                [job_id],
            )
            .unwrap();
    }
    let asked_before = server.requests();
    let reopened = Service::new(
        Dirs {
            data: env.root.join("data"),
            config: env.root.join("config"),
        },
        Arc::new(|_| {}),
    );
    let info = reopened
        .open_project(ProjectRef {
            path: project.clone(),
        })
        .unwrap();
    assert_eq!(info.interrupted_jobs, 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let s = reopened.generation_status(gref.clone()).unwrap();
        if s.job.status.is_finished() || std::time::Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        finished.job.status,
        JobStatus::Completed,
        "{:?}",
        finished.job
    );
    assert_eq!((finished.totals.done, finished.totals.pending), (40, 0));
    assert_eq!(
        server.requests() - asked_before,
        t.pending as usize,
        "only the passages left were asked"
    );
    assert_eq!(examples(&env, &project, Strategy::B).len(), 40);
    let jobs = reopened
        .list_jobs(ProjectRef {
            path: project.clone(),
        })
        .unwrap();
    assert_eq!(
        jobs.iter().filter(|j| j.kind == "generate").count(),
        1,
        "resumed under the same job"
    );
}

#[test]
fn preview_qa_pairs_and_test_connection() {
    let env = env();
    let project = project(&env, "preview");
    let server = Server::start(|req| {
        if req.path.ends_with("/models") {
            return Reply::models(&["loopback-model"]);
        }
        assert!(req.last_message().contains("Write 2 questions"), "{}", req.last_message());
        Reply::chat(
            r#"{"pairs": [{"question": "Why did you laugh?", "answer": "I laughed because I could not help it."},
                {"question": "What did Mr. Darcy say?", "answer": "He said I was tolerable"#,
        )
    })
    .unwrap();
    teacher(&env, "loop", &server);
    let options = GenerationOptions {
        strategy: TeacherStrategy::Qa,
        pairs: 2,
        ..Default::default()
    };
    let preview = env
        .service
        .preview_generation(PreviewInput {
            project: project.clone(),
            teacher: "loop".into(),
            options: options.clone(),
            passage: 3,
        })
        .unwrap();
    assert_eq!(preview.passage.index, 3);
    assert!(preview.raw.contains("tolerable"));
    assert_eq!(
        preview.examples.len(),
        1,
        "the truncated second pair is dropped: {preview:?}"
    );
    assert!(preview.repairs.contains(&grimoire_core::Repair::Truncated));
    assert!(
        preview
            .prompt
            .iter()
            .any(|m| m.content.contains("<passage>"))
    );
    assert!(!preview.cached);
    let again = env
        .service
        .preview_generation(PreviewInput {
            project: project.clone(),
            teacher: "loop".into(),
            options,
            passage: 3,
        })
        .unwrap();
    assert!(again.cached, "a preview's answer is cached for the job");
    assert_eq!(server.requests(), 1);

    let ok = env
        .service
        .test_teacher(TeacherRef {
            name: "loop".into(),
        })
        .unwrap();
    assert!(ok.ok && ok.model_found, "{ok:?}");
    assert_eq!(ok.models, vec!["loopback-model"]);
    // The app calls it from a thread of its async runtime, where blocking on another one panics.
    let inside = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            env.service.test_teacher(TeacherRef {
                name: "loop".into(),
            })
        })
        .unwrap();
    assert!(inside.ok, "{inside:?}");
    let nowhere = TeacherConfig {
        name: "nowhere".into(),
        base_url: "http://127.0.0.1:9/v1".into(),
        model: "m".into(),
        ..Default::default()
    };
    env.service.save_teacher(nowhere).unwrap();
    let failed = env
        .service
        .test_teacher(TeacherRef {
            name: "nowhere".into(),
        })
        .unwrap();
    assert!(
        !failed.ok
            && failed
                .error
                .as_deref()
                .is_some_and(|e| e.to_lowercase().contains("refused")),
        "{failed:?}"
    );
}

#[test]
fn teachers_are_listed_saved_and_keys_come_from_the_keyring_or_the_environment() {
    let env = env();
    let names: Vec<String> = env
        .service
        .list_teachers()
        .unwrap()
        .into_iter()
        .map(|t| t.config.name)
        .collect();
    assert_eq!(names, vec!["built-in"], "built-in is always there");
    let bad = TeacherConfig {
        name: "x".into(),
        base_url: "localhost:8000".into(),
        model: "m".into(),
        ..Default::default()
    };
    assert_eq!(
        env.service.save_teacher(bad).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
    let mistral = TeacherConfig {
        name: "mistral-test".into(),
        kind: TeacherKind::Mistral,
        model: "mistral-small-latest".into(),
        ..Default::default()
    };
    let saved = env.service.save_teacher(mistral).unwrap();
    assert_eq!(saved.config.base_url, "https://api.mistral.ai/v1");
    assert!(saved.needs_key);

    // No key anywhere: generation refuses with the ways to give one.
    let project = env.root.join("p").display().to_string();
    env.service
        .create_project(CreateProjectInput {
            path: project.clone(),
            name: "p".into(),
            persona: Some("Elizabeth Bennet".into()),
        })
        .unwrap();
    let err = env.service.generate(GenerateInput {
        project: project.clone(),
        teacher: "mistral-test".into(),
        options: rewrite(1),
    });
    let message = err
        .as_ref()
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(
        message.contains("GRIMOIRE_TEACHER_MISTRAL_TEST_KEY") && message.contains("set-key"),
        "{message}"
    );

    // The keyring: a machine without one says so and names the variable to use instead.
    match env.service.set_teacher_key(SetTeacherKeyInput {
        name: "mistral-test".into(),
        key: Some("sk-from-test".into()),
    }) {
        Ok(view) => {
            assert_eq!(view.key, grimoire_core::KeySource::Keyring);
            env.service
                .set_teacher_key(SetTeacherKeyInput {
                    name: "mistral-test".into(),
                    key: None,
                })
                .unwrap();
        }
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::Teacher);
            assert!(
                e.to_string().contains("GRIMOIRE_TEACHER_MISTRAL_TEST_KEY"),
                "{e}"
            );
        }
    }
    // SAFETY: no other test reads this variable.
    unsafe { std::env::set_var("GRIMOIRE_TEACHER_MISTRAL_TEST_KEY", "sk-env") };
    let listed = env.service.list_teachers().unwrap();
    let view = listed
        .iter()
        .find(|t| t.config.name == "mistral-test")
        .unwrap();
    assert_eq!(
        view.key,
        grimoire_core::KeySource::Environment {
            variable: "GRIMOIRE_TEACHER_MISTRAL_TEST_KEY".into()
        }
    );
    let settings = std::fs::read_to_string(env.root.join("config/settings.json")).unwrap();
    assert!(
        settings.contains("mistral-test") && !settings.contains("sk-"),
        "keys never reach the settings file"
    );
    env.service
        .delete_teacher(TeacherRef {
            name: "mistral-test".into(),
        })
        .unwrap();
    assert_eq!(env.service.list_teachers().unwrap().len(), 1);
}

#[test]
fn the_builtin_model_runs_a_real_passage_end_to_end() {
    let env = env();
    let mut settings = env.service.settings().unwrap();
    settings.model_dir = builtin_model_dir().display().to_string();
    env.service.update_settings(settings).unwrap();
    // A few seconds of generation at most.
    let builtin = TeacherConfig {
        max_tokens: 64,
        temperature: 0.0,
        ..TeacherConfig::builtin()
    };
    env.service.save_teacher(builtin).unwrap();
    let project = project(&env, "local");
    let options = GenerationOptions {
        max_chars: 500,
        ..rewrite(1)
    };
    let handle = env
        .service
        .generate(GenerateInput {
            project: project.clone(),
            teacher: "built-in".into(),
            options,
        })
        .unwrap();
    let job_id = handle.id;
    assert_eq!(handle.wait(), JobStatus::Completed);
    let items = env
        .service
        .generation_items(GenerationItemsInput {
            project: project.clone(),
            job_id,
            states: vec![],
        })
        .unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert!(
        item.completion_tokens > 0 && item.completion_tokens <= 64,
        "{item:?}"
    );
    // Held to the task's JSON object while it writes, the small model's answer parses: a
    // question and a first-person account, not a rejection for prose where JSON was asked.
    assert_eq!(item.state, ItemState::Done, "{item:?}");
    let made = examples(&env, &project, Strategy::B);
    assert_eq!(made.len() as i64, item.examples);
    assert_eq!(made.len(), 1, "{item:?}");
    let turns = &made[0].messages;
    let user = turns.iter().find(|m| m.role == Role::User).expect("a user turn");
    let account = turns.iter().find(|m| m.role == Role::Assistant).expect("an account");
    assert!(!user.content.trim().is_empty() && !account.content.trim().is_empty(), "{turns:?}");
    assert!(!account.content.contains("\"account\""), "the keys are not in the text: {turns:?}");
}

#[test]
fn a_generation_is_estimated_before_it_starts_and_a_previewed_passage_counts_as_cached() {
    let env = env();
    let project = project(&env, "estimate");
    let server = Server::start(good).unwrap();
    let mut config = teacher(&env, "paid", &server);
    config.price = grimoire_core::Price {
        input_per_million: 2.0,
        output_per_million: 6.0,
    };
    config.max_tokens = 500;
    config.requests_per_minute = 60;
    env.service.save_teacher(config).unwrap();
    let input = GenerateInput {
        project: project.clone(),
        teacher: "paid".into(),
        options: rewrite(3),
    };
    let before = env.service.estimate_generation(input.clone()).unwrap();
    assert_eq!((before.passages, before.cached), (3, 0), "{before:?}");
    assert!(before.prompt_tokens > 3 * 50, "{before:?}");
    assert_eq!(before.completion_tokens_max, 3 * 500);
    assert!(before.completion_tokens_expected > 0 && before.completion_tokens_expected <= 1500);
    let cost = |p: u64, c: u64| (p as f64 * 2.0 + c as f64 * 6.0) / 1e6;
    assert!((before.cost_expected - cost(before.prompt_tokens, before.completion_tokens_expected)).abs() < 1e-12);
    assert!((before.cost_max - cost(before.prompt_tokens, 1500)).abs() < 1e-12);
    assert!(before.cost_max > before.cost_expected && before.cost_expected > 0.0);
    // Three requests at 60 a minute take at least three seconds.
    assert_eq!(before.min_seconds, Some(3.0));
    assert_eq!(server.requests(), 0, "an estimate sends nothing");

    env.service
        .preview_generation(PreviewInput {
            project: project.clone(),
            teacher: "paid".into(),
            options: rewrite(3),
            passage: 0,
        })
        .unwrap();
    let after = env.service.estimate_generation(input.clone()).unwrap();
    assert_eq!((after.passages, after.cached), (3, 1), "{after:?}");
    assert_eq!(after.completion_tokens_max, 2 * 500);
    assert!(after.cost_max < before.cost_max);

    // What it estimated is what the job then asks: the two passages the preview did not answer.
    let handle = env.service.generate(input.clone()).unwrap();
    assert_eq!(handle.wait(), JobStatus::Completed);
    assert_eq!(server.requests(), 1 + 2, "the job asked only what the preview had not");
    let done = env.service.estimate_generation(input).unwrap();
    assert_eq!((done.cached, done.cost_max), (3, 0.0));
}

#[test]
fn a_generation_whose_every_passage_is_cached_completes_without_a_request() {
    let env = env();
    let project = project(&env, "all-cached");
    let server = Server::start(good).unwrap();
    teacher(&env, "loop", &server);
    env.service
        .preview_generation(PreviewInput {
            project: project.clone(),
            teacher: "loop".into(),
            options: rewrite(1),
            passage: 0,
        })
        .unwrap();
    assert_eq!(server.requests(), 1);
    for _ in 0..20 {
        let handle = env
            .service
            .generate(GenerateInput {
                project: project.clone(),
                teacher: "loop".into(),
                options: rewrite(1),
            })
            .unwrap();
        assert_eq!(handle.wait(), JobStatus::Completed);
    }
    assert_eq!(server.requests(), 1, "every job took the preview's cached answer");
}
