//! Chat with a model. One [`grimoire_llm::Engine`] per model file, loaded on first use and shared by
//! every conversation (adapters go on top of the shared base); each reply streams to a callback the
//! caller passes in (the shell forwards it through a Tauri channel, the CLI prints it).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use grimoire_llm::{ChatRequest, Engine, GenerateParams, LoadOptions, Model, SamplingParams};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{ApiError, Error, Result};

/// Who speaks a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    /// The system prompt.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatMessage {
    /// Who speaks.
    pub role: ChatRole,
    /// What is said.
    pub content: String,
}

/// How to sample a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChatParams {
    /// 0 is greedy.
    pub temperature: f32,
    /// Nucleus sampling (1: off).
    pub top_p: f32,
    /// Keep the k most likely tokens (0: all).
    pub top_k: u32,
    /// Penalty on recently seen tokens (1: off).
    pub repetition_penalty: f32,
    /// Most tokens in the reply.
    pub max_tokens: u32,
    /// The random seed.
    pub seed: u64,
}

impl Default for ChatParams {
    fn default() -> Self {
        let s = SamplingParams::default();
        Self { temperature: s.temperature, top_p: s.top_p, top_k: s.top_k as u32, repetition_penalty: s.repetition_penalty, max_tokens: 256, seed: s.seed }
    }
}

/// Input of [`crate::Service::chat`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChatInput {
    /// `built-in`, or a model file or folder.
    pub model: String,
    /// A PEFT adapter folder (a training run's output) to apply on top of the model.
    pub adapter: Option<String>,
    /// The conversation so far, ending with the person's message. With no system message the
    /// model's template applies its default.
    pub messages: Vec<ChatMessage>,
    /// How to sample.
    pub params: ChatParams,
    /// The teacher whose server runs `model` (a Mistral fine-tuned model, `ft:...`); none: a
    /// model Grimoire runs itself.
    #[serde(default)]
    pub teacher: Option<String>,
}

/// A reply that was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatStarted {
    /// Names the stream, to stop it.
    pub stream_id: u64,
}

/// What a reply stream carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatEvent {
    /// The model is being loaded (first use only).
    Loading {
        /// The model.
        model: String,
    },
    /// The next piece of the reply (whole characters).
    Chunk {
        /// The text.
        text: String,
    },
    /// The reply is complete.
    Done {
        /// The whole reply.
        text: String,
        /// `eos`, `stop_string`, `length` or `cancelled`.
        finish: String,
        /// Prompt tokens read.
        prompt_tokens: u32,
        /// Tokens generated.
        tokens: u32,
        /// Decode speed.
        tokens_per_second: f32,
        /// Oldest messages left out because the conversation was longer than the context.
        dropped_messages: u32,
    },
    /// The reply failed.
    Error {
        /// Why.
        error: ApiError,
    },
}

/// Where replies go.
pub type ChatSink = Box<dyn Fn(ChatEvent) + Send>;

/// The engines of the models in use, and the streams running on them.
#[derive(Default)]
pub(crate) struct Chats {
    engines: Mutex<HashMap<PathBuf, Arc<Engine>>>,
    streams: Arc<Mutex<HashMap<u64, grimoire_llm::CancelToken>>>,
    next: AtomicU64,
}

impl From<grimoire_llm::Error> for Error {
    fn from(e: grimoire_llm::Error) -> Self {
        Error::Model(e)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Chats {
    /// The engine of a model, loading it on first use.
    pub(crate) fn engine(&self, path: &Path) -> Result<Arc<Engine>> {
        let mut engines = lock(&self.engines);
        if let Some(e) = engines.get(path) {
            return Ok(e.clone());
        }
        if !path.exists() {
            return Err(Error::NotFound(path.to_path_buf()));
        }
        let model = Model::load(path, &LoadOptions::default())?;
        let engine = Arc::new(Engine::start(model)?);
        engines.insert(path.to_path_buf(), engine.clone());
        Ok(engine)
    }

    pub(crate) fn start(&self, model_path: &Path, input: ChatInput, sink: ChatSink) -> Result<ChatStarted> {
        if input.messages.last().is_none_or(|m| m.role != ChatRole::User) {
            return Err(Error::InvalidInput("a conversation must end with the person's message".into()));
        }
        let loaded = lock(&self.engines).contains_key(model_path);
        if !loaded {
            sink(ChatEvent::Loading { model: model_path.display().to_string() });
        }
        let engine = self.engine(model_path)?;
        let adapter = match input.adapter.as_deref().filter(|a| !a.trim().is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                let name = dir.display().to_string();
                if !engine.adapters().contains(&name) {
                    engine.load_adapter(&name, &dir)?;
                }
                Some(name)
            }
            None => None,
        };
        let p = &input.params;
        let params = GenerateParams {
            sampling: SamplingParams {
                temperature: p.temperature.max(0.0),
                top_k: p.top_k as usize,
                top_p: p.top_p.clamp(0.0, 1.0),
                repetition_penalty: p.repetition_penalty.max(1.0),
                seed: p.seed,
                ..SamplingParams::default()
            },
            max_tokens: p.max_tokens.clamp(1, 8192) as usize,
            stop: Vec::new(),
        };
        let messages = input
            .messages
            .iter()
            .map(|m| match m.role {
                ChatRole::System => grimoire_llm::Message::system(m.content.clone()),
                ChatRole::User => grimoire_llm::Message::user(m.content.clone()),
                ChatRole::Assistant => grimoire_llm::Message::assistant(m.content.clone()),
            })
            .collect();
        let reply = engine.chat(ChatRequest { messages, params, adapter, prefix: String::new() })?;
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.streams).insert(id, reply.cancel.clone());
        let streams = self.streams.clone();
        std::thread::Builder::new()
            .name(format!("chat-{id}"))
            .spawn(move || {
                for event in reply.events.iter() {
                    match event {
                        grimoire_llm::Event::Chunk(text) => sink(ChatEvent::Chunk { text }),
                        grimoire_llm::Event::Done(c) => {
                            let secs = c.decode_time.as_secs_f32();
                            sink(ChatEvent::Done {
                                finish: serde_json::to_value(c.finish).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                                prompt_tokens: c.prompt_tokens as u32,
                                tokens: c.tokens.len() as u32,
                                tokens_per_second: if secs > 0.0 { c.tokens.len() as f32 / secs } else { 0.0 },
                                dropped_messages: c.dropped_messages as u32,
                                text: c.text,
                            });
                            break;
                        }
                        grimoire_llm::Event::Error(e) => {
                            sink(ChatEvent::Error { error: Error::from(e).to_api() });
                            break;
                        }
                    }
                }
                lock(&streams).remove(&id);
            })
            .map_err(|e| Error::io(model_path, e))?;
        Ok(ChatStarted { stream_id: id })
    }

    /// A reply from a model on a teacher's server: one request, its answer sent as one chunk.
    /// Stopping it drops the answer when it comes.
    pub(crate) fn start_remote(&self, provider: Arc<dyn grimoire_teacher::Provider>, input: ChatInput, sink: ChatSink) -> Result<ChatStarted> {
        if input.messages.last().is_none_or(|m| m.role != ChatRole::User) {
            return Err(Error::InvalidInput("a conversation must end with the person's message".into()));
        }
        let messages = input
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    ChatRole::System => "system",
                    ChatRole::User => "user",
                    ChatRole::Assistant => "assistant",
                };
                grimoire_teacher::Turn::new(role, m.content.clone())
            })
            .collect();
        let request = grimoire_teacher::Request {
            messages,
            max_tokens: input.params.max_tokens.clamp(1, 8192),
            temperature: input.params.temperature.max(0.0),
            json: false,
            task: None,
        };
        let cancel = grimoire_llm::CancelToken::new();
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.streams).insert(id, cancel.clone());
        let streams = self.streams.clone();
        std::thread::Builder::new()
            .name(format!("chat-{id}"))
            .spawn(move || {
                let started = std::time::Instant::now();
                let answer = crate::teachers::block_on(provider.complete(&request));
                let event = match answer {
                    _ if cancel.is_cancelled() => ChatEvent::Done {
                        text: String::new(),
                        finish: "cancelled".into(),
                        prompt_tokens: 0,
                        tokens: 0,
                        tokens_per_second: 0.0,
                        dropped_messages: 0,
                    },
                    Ok(Ok(c)) => {
                        sink(ChatEvent::Chunk { text: c.text.clone() });
                        let secs = started.elapsed().as_secs_f32();
                        ChatEvent::Done {
                            finish: c.finish_reason.unwrap_or_else(|| "stop".into()),
                            prompt_tokens: c.usage.prompt_tokens,
                            tokens: c.usage.completion_tokens,
                            tokens_per_second: if secs > 0.0 { c.usage.completion_tokens as f32 / secs } else { 0.0 },
                            dropped_messages: 0,
                            text: c.text,
                        }
                    }
                    Ok(Err(e)) => ChatEvent::Error { error: Error::Teacher(e.into()).to_api() },
                    Err(e) => ChatEvent::Error { error: e.to_api() },
                };
                sink(event);
                lock(&streams).remove(&id);
            })
            .map_err(|e| Error::io("chat", e))?;
        Ok(ChatStarted { stream_id: id })
    }

    pub(crate) fn cancel(&self, id: u64) -> bool {
        match lock(&self.streams).get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

/// Input of [`crate::Service::save_conversation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SaveConversationInput {
    /// The project folder.
    pub project: String,
    /// 0 for a new conversation.
    pub id: i64,
    /// The model.
    pub model: String,
    /// The adapter, if any.
    pub adapter: Option<String>,
    /// The messages.
    pub messages: Vec<ChatMessage>,
    /// The sampling settings.
    pub params: ChatParams,
}

/// A conversation as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConversationView {
    /// Its id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// The model.
    pub model: String,
    /// The adapter, if any.
    pub adapter: Option<String>,
    /// The messages.
    pub messages: Vec<ChatMessage>,
    /// The sampling settings.
    pub params: ChatParams,
    /// When it last changed.
    pub updated_at: String,
}

/// Input of [`crate::Service::get_conversation`] and [`crate::Service::delete_conversation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ConversationRef {
    /// The project folder.
    pub project: String,
    /// The conversation.
    pub id: i64,
}

pub(crate) fn view(c: grimoire_store::table::conversations::Conversation) -> Result<ConversationView> {
    let bad = |source| Error::Json { what: format!("conversation {}", c.id), source };
    Ok(ConversationView {
        id: c.id,
        messages: serde_json::from_str(&c.messages).map_err(bad)?,
        params: serde_json::from_str(&c.params).unwrap_or_default(),
        title: c.title,
        model: c.model,
        adapter: c.adapter,
        updated_at: c.updated_at,
    })
}

pub(crate) fn title_of(messages: &[ChatMessage]) -> String {
    let first = messages.iter().find(|m| m.role == ChatRole::User).map(|m| m.content.trim()).unwrap_or("New conversation");
    let mut title: String = first.chars().take(60).collect();
    if first.chars().count() > 60 {
        title.push('…');
    }
    title
}

/// Resolves `built-in` or a path to a model file.
pub(crate) fn model_path(model: &str, model_dir: &Path) -> PathBuf {
    match model.trim() {
        "" | "built-in" | "builtin" => model_dir.join(crate::models::BUILTIN_FILE),
        other => PathBuf::from(other),
    }
}

impl crate::Service {
    /// Starts a reply; its events go to `sink` until Done or Error.
    pub fn chat(&self, input: ChatInput, sink: ChatSink) -> Result<ChatStarted> {
        if let Some(teacher) = input.teacher.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let mut config = self.teacher(teacher)?;
            config.model = input.model.trim().to_string();
            let provider = self.provider(&config)?;
            return self.chats.start_remote(provider, input, sink);
        }
        let path = model_path(&input.model, Path::new(&self.settings()?.model_dir));
        self.chats.start(&path, input, sink)
    }

    /// Stops a reply; false when it already ended.
    pub fn cancel_chat(&self, stream_id: u64) -> bool {
        self.chats.cancel(stream_id)
    }

    /// Saves a conversation in the project and returns it as stored.
    pub fn save_conversation(&self, input: SaveConversationInput) -> Result<ConversationView> {
        let store = self.store(&crate::service::absolute(&input.project)?)?;
        let store = crate::service::lock(&store);
        let row = grimoire_store::table::conversations::Conversation {
            id: input.id,
            title: title_of(&input.messages),
            model: input.model.clone(),
            adapter: input.adapter.clone(),
            messages: to_json(&input.messages)?,
            params: to_json(&input.params)?,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let id = store.conversation_save(&row)?;
        view(store.conversation(id)?)
    }

    /// The project's conversations, most recent first.
    pub fn list_conversations(&self, input: crate::ProjectRef) -> Result<Vec<ConversationView>> {
        let store = self.store(&crate::service::absolute(&input.path)?)?;
        let rows = crate::service::lock(&store).conversations()?;
        rows.into_iter().map(view).collect()
    }

    /// Deletes a conversation.
    pub fn delete_conversation(&self, input: ConversationRef) -> Result<()> {
        let store = self.store(&crate::service::absolute(&input.project)?)?;
        crate::service::lock(&store).conversation_delete(input.id)?;
        Ok(())
    }
}

/// The file format of [`crate::Service::export_conversations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ConversationFormat {
    /// Mistral fine-tuning JSONL, one conversation a line (what Review imports back).
    Jsonl,
    /// A Markdown transcript to read or share.
    Markdown,
}

/// Input of [`crate::Service::export_conversations`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportConversationsInput {
    /// The project folder.
    pub project: String,
    /// One conversation; none: all of them, oldest first.
    pub id: Option<i64>,
    /// The format.
    pub format: ConversationFormat,
    /// The file to write; none: `exports/conversations.jsonl` (or `.md`) in the project.
    pub out: Option<String>,
}

/// What [`crate::Service::export_conversations`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportConversationsOutput {
    /// The file.
    pub file: String,
    /// How many conversations it holds.
    pub conversations: u32,
}

/// One conversation as a Mistral JSONL line: the person's last message, when no reply followed it,
/// is left out (a training line ends with the assistant); none when nothing is left to train on.
fn jsonl_line(c: &ConversationView) -> Result<Option<String>> {
    let mut messages: &[ChatMessage] = &c.messages;
    while messages.last().is_some_and(|m| m.role != ChatRole::Assistant) {
        messages = &messages[..messages.len() - 1];
    }
    if !messages.iter().any(|m| m.role == ChatRole::User) {
        return Ok(None);
    }
    let wire: Vec<serde_json::Value> = messages.iter().map(|m| serde_json::json!({ "role": m.role, "content": m.content })).collect();
    Ok(Some(to_json(&serde_json::json!({ "messages": wire }))?))
}

/// One conversation as Markdown: its title, the model, then each message under who said it.
fn markdown(c: &ConversationView, persona: &str) -> String {
    let mut out = format!("# {}\n\n", c.title);
    out.push_str(&format!("*{}*", c.model));
    if let Some(adapter) = &c.adapter {
        out.push_str(&format!(" *with the adapter {adapter}*"));
    }
    out.push_str(&format!(" · {}\n\n", c.updated_at));
    for m in &c.messages {
        let who = match m.role {
            ChatRole::System => "System prompt",
            ChatRole::User => "You",
            ChatRole::Assistant => persona,
        };
        out.push_str(&format!("**{who}:**\n\n{}\n\n", m.content.trim()));
    }
    out
}

impl crate::Service {
    /// Writes one or all of a project's saved conversations as Mistral JSONL (to train on or to
    /// import into Review) or as a Markdown transcript. The file is replaced whole or not at all.
    pub fn export_conversations(&self, input: ExportConversationsInput) -> Result<ExportConversationsOutput> {
        let project = crate::service::absolute(&input.project)?;
        let store = self.store(&project)?;
        let (rows, persona) = {
            let store = crate::service::lock(&store);
            let rows = match input.id {
                Some(id) => vec![store.conversation(id)?],
                None => {
                    let mut all = store.conversations()?;
                    all.reverse();
                    all
                }
            };
            (rows, store.project_meta()?.persona)
        };
        let views = rows.into_iter().map(view).collect::<Result<Vec<_>>>()?;
        let persona = persona.unwrap_or_else(|| "Persona".to_string());
        let (text, count) = match input.format {
            ConversationFormat::Jsonl => {
                let lines: Vec<String> = views.iter().map(jsonl_line).collect::<Result<Vec<_>>>()?.into_iter().flatten().collect();
                let count = lines.len();
                (lines.into_iter().map(|l| l + "\n").collect::<String>(), count)
            }
            ConversationFormat::Markdown => (views.iter().map(|c| markdown(c, &persona)).collect::<Vec<_>>().join("\n---\n\n"), views.len()),
        };
        let file = match input.out.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
            Some(out) => crate::service::absolute(out)?,
            None => project.join("exports").join(match input.format {
                ConversationFormat::Jsonl => "conversations.jsonl",
                ConversationFormat::Markdown => "conversations.md",
            }),
        };
        write_whole(&file, text.as_bytes())?;
        Ok(ExportConversationsOutput { file: file.display().to_string(), conversations: count as u32 })
    }
}

/// Writes `bytes` to `file` through a temporary file beside it, so a failure leaves the old file.
fn write_whole(file: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let part = file.with_extension("part");
    std::fs::write(&part, bytes).map_err(|e| Error::io(&part, e))?;
    std::fs::rename(&part, file).map_err(|e| {
        let _ = std::fs::remove_file(&part);
        Error::io(file, e)
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Json { what: "conversation".into(), source })
}
