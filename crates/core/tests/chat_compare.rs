//! The Chat workspace's compare mode through the service layer, on the built-in model and a small
//! adapter over it: the base and the tuned reply stream together, one can be stopped while the
//! other goes on, blind picks are kept in the project, a reply goes to review, and a system prompt
//! is drafted from the book.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, channel};
use std::sync::Arc;
use std::time::Duration;

use grimoire_core::{
    BlindVoteInput, ChatEvent, ChatInput, ChatMessage, ChatParams, ChatRole, Dirs, GetExampleInput, ProjectRef, PromptPreset,
    ReplyToReviewInput, RunRef, SavePresetInput, Service, Winner,
};
use grimoire_store::table::examples::{Status, Strategy};

struct Env {
    tmp: tempfile::TempDir,
    project: String,
    service: Service,
}

fn builtin_model() -> PathBuf {
    let path = std::env::var_os("GRIMOIRE_MODEL_PATH").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".local/share/grimoire/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    assert!(path.is_file(), "the built-in model is missing at {} (run scripts/setup.sh or set GRIMOIRE_MODEL_PATH)", path.display());
    path
}

fn service(root: &std::path::Path) -> Service {
    Service::new(Dirs { data: root.join("data"), config: root.join("config") }, Arc::new(|_| {}))
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let service = service(tmp.path());
    let mut settings = service.settings().unwrap();
    settings.model_dir = builtin_model().parent().unwrap().display().to_string();
    service.update_settings(settings).unwrap();
    let project = tmp.path().join("p").display().to_string();
    service
        .create_project(grimoire_core::CreateProjectInput { path: project.clone(), name: "P".into(), persona: Some("Elizabeth Bennet".into()) })
        .unwrap();
    Env { tmp, project, service }
}

/// A random but valid PEFT adapter (rank 4 on q and v of every layer) for the built-in model.
fn adapter(dir: &std::path::Path) -> String {
    let (layers, hidden, kv) = (30, 576, 192);
    let cfg = grimoire_train::LoraConfig {
        r: 4,
        alpha: 8.0,
        targets: vec![grimoire_train::Target::QProj, grimoire_train::Target::VProj],
        ..Default::default()
    };
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
            })
            .collect()
    };
    let mut tensors = Vec::new();
    for layer in 0..layers {
        for (proj, out) in [("q_proj", hidden), ("v_proj", kv)] {
            let prefix = format!("base_model.model.model.layers.{layer}.self_attn.{proj}");
            tensors.push((format!("{prefix}.lora_A.weight"), vec![4, hidden], random(4 * hidden)));
            tensors.push((format!("{prefix}.lora_B.weight"), vec![out, 4], random(out * 4)));
        }
    }
    grimoire_train::save_adapter(&tensors, &cfg, "HuggingFaceTB/SmolLM2-135M-Instruct", dir).unwrap();
    dir.display().to_string()
}

fn ask(env: &Env, adapter: Option<&str>, max_tokens: u32) -> (u64, Receiver<ChatEvent>) {
    let (tx, rx) = channel();
    let input = ChatInput {
        model: "built-in".into(),
        adapter: adapter.map(str::to_owned),
        messages: vec![
            ChatMessage { role: ChatRole::System, content: "You are Elizabeth Bennet.".into() },
            ChatMessage { role: ChatRole::User, content: "Tell me about your sisters.".into() },
        ],
        params: ChatParams { temperature: 0.0, max_tokens, ..Default::default() },
        teacher: None,
    };
    let started = env.service.chat(input, Box::new(move |e| drop(tx.send(e)))).unwrap();
    (started.stream_id, rx)
}

/// Waits for the end of a stream: (its text as streamed, the finish reason, tokens).
fn finish(rx: &Receiver<ChatEvent>) -> (String, String, u32) {
    finish_after(rx, String::new())
}

fn finish_after(rx: &Receiver<ChatEvent>, mut streamed: String) -> (String, String, u32) {
    loop {
        match rx.recv_timeout(Duration::from_secs(120)).expect("the stream stalled") {
            ChatEvent::Chunk { text } => streamed.push_str(&text),
            ChatEvent::Done { text, finish, tokens, .. } => {
                assert_eq!(text, streamed);
                return (text, finish, tokens);
            }
            ChatEvent::Error { error } => panic!("{}", error.message),
            ChatEvent::Loading { .. } => {}
        }
    }
}

#[test]
fn base_and_tuned_replies_stream_together_and_one_can_be_stopped() {
    let env = env();
    let tuned = adapter(&env.tmp.path().join("p/runs/r1"));
    // Both at once over one engine: both complete.
    let (_, base_rx) = ask(&env, None, 8);
    let (_, tuned_rx) = ask(&env, Some(&tuned), 8);
    let (base_text, base_finish, _) = finish(&base_rx);
    let (tuned_text, tuned_finish, _) = finish(&tuned_rx);
    assert!(!base_text.is_empty() && !tuned_text.is_empty());
    assert_ne!(base_finish, "cancelled");
    assert_ne!(tuned_finish, "cancelled");
    assert_ne!(base_text, tuned_text, "the adapter changed nothing");

    // Stopping the base stream as soon as it has begun leaves the tuned one running to its end.
    let (base_id, base_rx) = ask(&env, None, 400);
    let (_, tuned_rx) = ask(&env, Some(&tuned), 8);
    let first = match base_rx.recv_timeout(Duration::from_secs(120)).unwrap() {
        ChatEvent::Chunk { text } => text,
        other => panic!("expected a chunk first, got {other:?}"),
    };
    assert!(env.service.cancel_chat(base_id));
    let (_, finish_base, tokens) = finish_after(&base_rx, first);
    assert_eq!(finish_base, "cancelled");
    assert!(tokens < 400);
    let (again, finish_tuned, _) = finish(&tuned_rx);
    assert_ne!(finish_tuned, "cancelled");
    assert_eq!(again, tuned_text, "a greedy reply is the same whatever runs beside it");
}

#[test]
fn blind_votes_are_kept_per_run_and_survive_reopening() {
    let env = env();
    let vote = |run: &str, winner| {
        env.service
            .record_blind_vote(BlindVoteInput {
                project: env.project.clone(),
                run_id: run.into(),
                winner,
                prompt: "Hello".into(),
                base_reply: "Hi.".into(),
                tuned_reply: "Good day to you, sir.".into(),
            })
            .unwrap()
    };
    vote("r1", Winner::Tuned);
    vote("r1", Winner::Base);
    vote("r2", Winner::Base);
    vote("r1", Winner::Tie);
    vote("r1", Winner::Neither);
    let tally = vote("r1", Winner::Tuned);
    assert_eq!((tally.tuned, tally.base, tally.tie, tally.neither), (2, 1, 1, 1));
    env.service
        .save_prompt_preset(SavePresetInput {
            project: env.project.clone(),
            preset: PromptPreset { name: "Lizzy".into(), prompt: "You are Elizabeth Bennet.".into() },
        })
        .unwrap();
    drop(env.service);

    let reopened = service(env.tmp.path());
    let tally = reopened.blind_tally(RunRef { project: env.project.clone(), run_id: "r1".into() }).unwrap();
    assert_eq!((tally.tuned, tally.base, tally.tie, tally.neither), (2, 1, 1, 1));
    let other = reopened.blind_tally(RunRef { project: env.project.clone(), run_id: "r2".into() }).unwrap();
    assert_eq!((other.tuned, other.base), (0, 1));
    let presets = reopened.prompt_presets(ProjectRef { path: env.project.clone() }).unwrap();
    assert_eq!(presets, [PromptPreset { name: "Lizzy".into(), prompt: "You are Elizabeth Bennet.".into() }]);
}

#[test]
fn a_reply_sent_to_review_is_a_pending_chat_example() {
    let env = env();
    let turn = |role, content: &str| ChatMessage { role, content: content.into() };
    let mut messages = vec![
        turn(ChatRole::System, "You are Elizabeth Bennet."),
        turn(ChatRole::User, "Do you like to dance?"),
        turn(ChatRole::Assistant, "I dearly love a dance, when the partner is agreeable."),
    ];
    let id = env.service.reply_to_review(ReplyToReviewInput { project: env.project.clone(), messages: messages.clone() }).unwrap();
    let example = env.service.get_example(GetExampleInput { project: env.project.clone(), id, filter: None, sort: None, position: None }).unwrap().example;
    assert_eq!(example.status, Status::Pending);
    assert_eq!(example.strategy, Strategy::Imported);
    assert_eq!(example.tags, ["chat"]);
    assert_eq!(example.messages.len(), 3);
    assert_eq!(example.persona.as_deref(), Some("Elizabeth Bennet"));

    // Only a model's reply can be sent.
    messages.pop();
    assert!(env.service.reply_to_review(ReplyToReviewInput { project: env.project.clone(), messages }).is_err());
}

#[test]
fn a_system_prompt_is_drafted_from_the_book() {
    let env = env();
    let book = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../assets/sample/PrideAndPrejudice.txt");
    let started = env
        .service
        .import_books(grimoire_core::ImportBooksInput { project: env.project.clone(), files: vec![book.display().to_string()] })
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        let jobs = env.service.list_jobs(ProjectRef { path: env.project.clone() }).unwrap();
        let job = jobs.into_iter().find(|j| j.id == started.job_id).unwrap();
        if job.status.is_finished() {
            assert_eq!(job.status, grimoire_core::JobStatus::Completed, "{job:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "import did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let prompt = env.service.draft_system_prompt(ProjectRef { path: env.project.clone() }).unwrap();
    assert!(prompt.starts_with("You are Elizabeth Bennet"), "{prompt}");
    assert!(prompt.contains("The people you talk with most are"), "{prompt}");
    assert!(prompt.contains("Darcy") || prompt.contains("Jane"), "{prompt}");
    assert!(prompt.matches("\n- \"").count() >= 2, "{prompt}");
}

#[test]
fn saved_conversations_export_as_mistral_jsonl_and_as_markdown() {
    use grimoire_core::{ConversationFormat, ExportConversationsInput, ImportJsonlInput, SaveConversationInput, ValidateInput};
    let env = env();
    let msg = |role, content: &str| ChatMessage { role, content: content.into() };
    let save = |messages: Vec<ChatMessage>| {
        let input = SaveConversationInput {
            project: env.project.clone(),
            id: 0,
            model: "built-in".into(),
            adapter: None,
            messages,
            params: ChatParams::default(),
        };
        env.service.save_conversation(input).unwrap()
    };
    save(vec![
        msg(ChatRole::System, "You are Elizabeth Bennet."),
        msg(ChatRole::User, "Do you dance, Miss Bennet?"),
        msg(ChatRole::Assistant, "Seldom, sir, and never without a reason."),
    ]);
    // The person's last message had no reply yet: the JSONL line stops at the reply before it.
    save(vec![
        msg(ChatRole::User, "How is Jane?"),
        msg(ChatRole::Assistant, "Much better, I thank you."),
        msg(ChatRole::User, "And your mother?"),
    ]);
    // Nothing answered at all: no training line, but still in the transcript.
    save(vec![msg(ChatRole::User, "Hello?")]);

    let export = |format, out: Option<String>| {
        env.service.export_conversations(ExportConversationsInput { project: env.project.clone(), id: None, format, out }).unwrap()
    };
    let jsonl = export(ConversationFormat::Jsonl, None);
    assert_eq!(jsonl.conversations, 2);
    assert!(jsonl.file.ends_with("exports/conversations.jsonl"), "{}", jsonl.file);
    let text = std::fs::read_to_string(&jsonl.file).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["messages"][0]["role"], "system");
    assert_eq!(lines[1]["messages"].as_array().unwrap().len(), 2);
    assert_eq!(lines[1]["messages"][1]["content"], "Much better, I thank you.");
    // Mistral's rules hold, and Review takes the file back.
    let checked = env.service.validate_jsonl(ValidateInput { file: jsonl.file.clone(), tokenizer: None }).unwrap();
    assert_eq!((checked.lines, checked.valid), (2, 2), "{:?}", checked.problems);
    let imported = env.service.import_jsonl(ImportJsonlInput { project: env.project.clone(), file: jsonl.file.clone(), tag: None }).unwrap();
    assert_eq!(imported.imported, 2);

    let out = env.tmp.path().join("talks.md").display().to_string();
    let md = export(ConversationFormat::Markdown, Some(out.clone()));
    assert_eq!((md.conversations, md.file.as_str()), (3, out.as_str()));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("# Do you dance, Miss Bennet?"), "{text}");
    assert!(text.contains("**Elizabeth Bennet:**\n\nSeldom, sir, and never without a reason."), "{text}");
    assert!(text.contains("**You:**\n\nAnd your mother?") && text.contains("# Hello?"), "{text}");

    // A destination that cannot be written leaves the earlier file as it was.
    std::fs::create_dir_all(env.tmp.path().join("dir.md")).unwrap();
    let bad = env.service.export_conversations(ExportConversationsInput {
        project: env.project.clone(),
        id: Some(1),
        format: ConversationFormat::Markdown,
        out: Some(env.tmp.path().join("dir.md").display().to_string()),
    });
    assert!(bad.is_err());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}
