//! The generation job behind [`crate::Service::generate`]: passages chosen from the stored analysis,
//! the work list written to `generation_items` before the first request, each answer cached in
//! `teacher_cache` and its examples stored in the same transaction as the item's new state, so that a
//! crash loses only requests in flight and a resume (same job id) asks only what is left.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use grimoire_dataset::{Persona, Review, TokenCounter};
use grimoire_llm::{ChatRequest, Engine, GenerateParams, SamplingParams};
use grimoire_store::Store;
use grimoire_store::table::examples::{Message, NewExample, Role, Strategy};
use grimoire_store::table::generation::{CachedAnswer, ItemState, ItemUpdate};
use grimoire_teacher::{
    BoxFuture, CallError, CallErrorKind, Cast, Completion, Evaluator, ItemResult, Outcome, Passage,
    PipelineError, Progress, PromptContext, PromptTemplate, Provider, Request, Sink, Usage,
    WorkItem,
};
use serde::{Deserialize, Serialize};

use crate::jobs::JobContext;
use crate::teachers::{
    GenerationOptions, PassageView, PreviewExample, PreviewInput, PreviewOutput, TeacherConfig,
    TeacherStrategy,
};
use crate::{Error, Result};

/// The `kind` of generation jobs.
pub(crate) const JOB_KIND: &str = "generate";

impl From<grimoire_teacher::Error> for Error {
    fn from(e: grimoire_teacher::Error) -> Self {
        Error::Teacher(e)
    }
}

/// Everything a generation job needs, kept as the job's parameters so that a resume does the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Plan {
    pub teacher: TeacherConfig,
    pub options: GenerationOptions,
    pub template: PromptTemplate,
    pub persona: String,
}

impl Plan {
    pub(crate) fn new(
        store: &Store,
        teacher: TeacherConfig,
        options: GenerationOptions,
        template: PromptTemplate,
    ) -> Result<Self> {
        let persona = persona_name(store, &options)?;
        let probe = PromptContext {
            persona: &persona,
            aliases: &[],
            book: "B",
            chapter: None,
            passage: "T",
            pairs: 1,
        };
        grimoire_teacher::render(&template, &probe)?;
        Ok(Self {
            teacher,
            options,
            template,
            persona,
        })
    }

    pub(crate) fn title(&self) -> String {
        let what = match self.options.strategy {
            TeacherStrategy::Rewrite => "First-person retellings",
            TeacherStrategy::Qa => "In-voice questions and answers",
        };
        format!("{what} for {} by {}", self.persona, self.teacher.name)
    }

    fn strategy(&self) -> Strategy {
        match self.options.strategy {
            TeacherStrategy::Rewrite => Strategy::B,
            TeacherStrategy::Qa => Strategy::C,
        }
    }
}

fn persona_name(store: &Store, options: &GenerationOptions) -> Result<String> {
    options
        .persona
        .clone()
        .or(store.project_meta()?.persona)
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Error::InvalidInput("choose the persona first".into()))
}

/// The persona with their aliases and gender from the character list, and the others of their gender.
fn cast(store: &Store, persona: &str) -> Result<Cast> {
    let characters = store.characters()?;
    let me = characters
        .iter()
        .find(|c| c.name == persona || c.aliases.iter().any(|a| a == persona));
    let gender = me
        .map(|c| c.gender.clone())
        .unwrap_or_else(|| "unknown".into());
    let name = me
        .map(|c| c.name.clone())
        .unwrap_or_else(|| persona.to_string());
    let aliases = me.map(|c| c.aliases.clone()).unwrap_or_default();
    let others: Vec<(Vec<String>, String)> = characters
        .iter()
        .filter(|c| c.name != name)
        .map(|c| {
            (
                std::iter::once(c.name.clone())
                    .chain(c.aliases.iter().cloned())
                    .collect(),
                c.gender.clone(),
            )
        })
        .collect();
    Ok(Cast::new(Persona { name, aliases }, &gender, &others))
}

/// The persona's passages in every book, in series order.
pub(crate) fn passages(store: &Store, options: &GenerationOptions) -> Result<(Cast, Vec<Passage>)> {
    let cast = cast(store, &persona_name(store, options)?)?;
    let select = grimoire_teacher::SelectOptions {
        max_chars: options.max_chars.max(200) as usize,
        min_narration: options.min_narration as usize,
    };
    let mut out = Vec::new();
    let books = store.books()?;
    if books.is_empty() {
        return Err(Error::InvalidInput(
            "the project has no books yet: import one first".into(),
        ));
    }
    for summary in books {
        let book = store.book(summary.id)?;
        let paragraphs = store.paragraphs(summary.id)?;
        let quotes = store.quotes_in(summary.id, 0, i64::MAX)?;
        let mut titles = Vec::new();
        for c in store.chapters(summary.id)? {
            let i = c.idx.max(0) as usize;
            titles.resize(titles.len().max(i + 1), String::new());
            titles[i] = c.title;
        }
        let text = grimoire_teacher::BookText {
            id: summary.id,
            title: &summary.title,
            text: &book.text,
            paragraphs: &paragraphs,
            quotes: &quotes,
            chapter_titles: &titles,
        };
        out.extend(grimoire_teacher::select(&text, &cast, &select));
    }
    Ok((cast, out))
}

pub(crate) fn passage_view(index: u32, p: Passage) -> PassageView {
    PassageView {
        index,
        book_id: p.book_id,
        book_title: p.book_title,
        chapter: p.chapter,
        chapter_title: p.chapter_title,
        text: p.text,
        spans: p.spans,
    }
}

/// The passages a job with `plan` takes: the persona's, in series order, the first `limit`.
fn chosen_passages(store: &Store, plan: &Plan) -> Result<Vec<Passage>> {
    let (_, mut chosen) = passages(
        store,
        &GenerationOptions {
            persona: Some(plan.persona.clone()),
            ..plan.options.clone()
        },
    )?;
    if let Some(limit) = plan.options.limit {
        chosen.truncate(limit as usize);
    }
    Ok(chosen)
}

/// What a generation would ask and roughly cost, before it starts: the passages it would send, the
/// prompt tokens (four characters each, as the rate limiter counts), the answer tokens expected (a
/// retelling about as long as its passage plus a question; QA pairs of a question and a short
/// answer each) and at most (`max_tokens` per request), and the passages already answered in the
/// cache, which are not paid for again.
pub(crate) fn estimate(
    store: &Store,
    plan: &Plan,
    identity: &str,
) -> Result<crate::teachers::GenerationEstimate> {
    let cast = cast(store, &plan.persona)?;
    let chosen = chosen_passages(store, plan)?;
    let pairs = match plan.options.task() {
        grimoire_teacher::Task::Qa { pairs } => pairs as u64,
        grimoire_teacher::Task::Rewrite => 0,
    };
    let mut out = crate::teachers::GenerationEstimate {
        passages: chosen.len() as u32,
        ..Default::default()
    };
    for passage in &chosen {
        let request = request(plan, &cast, passage)?;
        let key = grimoire_teacher::cache_key(identity, &request);
        if store.teacher_cache_get(&key)?.is_some() {
            out.cached += 1;
            continue;
        }
        let passage_tokens = (passage.text.len() / 4) as u64 + 1;
        let expected = if pairs == 0 {
            passage_tokens + passage_tokens / 5 + 40
        } else {
            pairs * (30 + 60.min(passage_tokens))
        };
        let max = u64::from(request.max_tokens);
        out.prompt_tokens += u64::from(request.estimated_prompt_tokens());
        out.completion_tokens_expected += expected.min(max);
        out.completion_tokens_max += max;
    }
    let price = plan.teacher.price;
    out.cost_expected = price.cost(out.prompt_tokens, out.completion_tokens_expected);
    out.cost_max = price.cost(out.prompt_tokens, out.completion_tokens_max);
    // The rate limits set a floor on the time, whatever the teacher's speed.
    let asked = u64::from(out.passages - out.cached);
    let mut minutes: f64 = 0.0;
    if plan.teacher.requests_per_minute > 0 {
        minutes = minutes.max(asked as f64 / f64::from(plan.teacher.requests_per_minute));
    }
    if plan.teacher.tokens_per_minute > 0 {
        let tokens = out.prompt_tokens + out.completion_tokens_expected;
        minutes = minutes.max(tokens as f64 / f64::from(plan.teacher.tokens_per_minute));
    }
    out.min_seconds = (minutes > 0.0).then_some(minutes * 60.0);
    Ok(out)
}

/// One row of `generation_items.passage`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredItem {
    passage: Passage,
    request: Request,
}

fn request(plan: &Plan, cast: &Cast, passage: &Passage) -> Result<Request> {
    let pairs = match plan.options.task() {
        grimoire_teacher::Task::Qa { pairs } => pairs,
        grimoire_teacher::Task::Rewrite => 1,
    };
    let context = PromptContext {
        persona: &cast.persona.name,
        aliases: &cast.persona.aliases,
        book: &passage.book_title,
        chapter: passage.chapter_title.as_deref(),
        passage: &passage.text,
        pairs,
    };
    Ok(Request {
        messages: grimoire_teacher::render(&plan.template, &context)?,
        max_tokens: plan.teacher.max_tokens,
        temperature: plan.teacher.temperature,
        json: plan.teacher.json_mode,
        task: Some(plan.options.task()),
    })
}

fn evaluator(plan: &Plan, cast: &Cast) -> Arc<Evaluator> {
    Arc::new(Evaluator {
        task: plan.options.task(),
        persona: cast.persona.clone(),
        system_prompt: plan.options.system_prompt.clone(),
    })
}

fn json_error(what: &str) -> impl Fn(serde_json::Error) -> Error + '_ {
    move |source| Error::Json {
        what: what.to_string(),
        source,
    }
}

fn pipeline_error(e: PipelineError<Error>) -> Error {
    match e {
        PipelineError::Sink(e) => e,
        PipelineError::Fatal(call) => Error::Teacher(grimoire_teacher::Error::Call(call)),
        PipelineError::Runtime(io) => Error::io(Path::new("tokio runtime"), io),
    }
}

/// Runs (or resumes) a generation job.
pub(crate) fn run(
    ctx: &mut JobContext,
    plan: &Plan,
    provider: Arc<dyn Provider>,
    lengths: &'static dyn TokenCounter,
    live: &Live,
    project: &Path,
) -> Result<serde_json::Value> {
    let identity = provider.identity();
    let cast = cast(ctx.store(), &plan.persona)?;
    if ctx.store().generation_totals(ctx.id())?.total == 0 {
        ctx.progress(0, 0, "choosing passages")?;
        let chosen = chosen_passages(ctx.store(), plan)?;
        if chosen.is_empty() {
            return Err(Error::InvalidInput(format!(
                "no narration about {} was found in the books",
                plan.persona
            )));
        }
        let mut rows = Vec::with_capacity(chosen.len());
        for passage in chosen {
            let request = request(plan, &cast, &passage)?;
            let key = grimoire_teacher::cache_key(&identity, &request);
            rows.push((
                serde_json::to_string(&StoredItem { passage, request })
                    .map_err(json_error("generation item"))?,
                key,
            ));
        }
        let store = ctx.store();
        store.write_transaction(|s| s.generation_items_insert(ctx.id(), &rows))?;
    }
    let totals = ctx.store().generation_totals(ctx.id())?;
    let mut items = Vec::new();
    let mut passages = HashMap::new();
    for row in ctx
        .store()
        .generation_items(ctx.id(), &[ItemState::Pending, ItemState::Failed])?
    {
        let stored: StoredItem =
            serde_json::from_str(&row.passage).map_err(json_error("generation item"))?;
        items.push(WorkItem {
            index: row.idx,
            key: row.cache_key,
            source: stored.passage.text.clone(),
            request: stored.request,
        });
        passages.insert(row.idx, stored.passage);
    }
    let price = plan.teacher.pipeline().price;
    let start = Progress {
        done: totals.done + totals.rejected,
        total: totals.total,
        accepted: totals.done,
        rejected: totals.rejected,
        examples: totals.examples,
        cached: totals.cached,
        prompt_tokens: totals.prompt_tokens,
        completion_tokens: totals.completion_tokens,
        cost: price.cost(totals.prompt_tokens, totals.completion_tokens),
        ..Progress::default()
    };
    let model = provider.model().to_string();
    let mut sink = StoreSink {
        id: ctx.id(),
        ctx,
        strategy: plan.strategy(),
        persona: cast.persona.clone(),
        lengths,
        teacher: format!("{} ({model})", plan.teacher.name),
        prompt: serde_json::to_string(&plan.template).map_err(json_error("prompt"))?,
        identity,
        model,
        passages,
        live: live.clone(),
        project: project.to_path_buf(),
    };
    let outcome = grimoire_teacher::run(
        provider,
        evaluator(plan, &cast),
        &plan.teacher.pipeline(),
        items,
        start,
        &mut sink,
    );
    live.remove(project, sink.id);
    let last = outcome.map_err(pipeline_error)?;
    let totals = sink.ctx.store().generation_totals(sink.id)?;
    Ok(serde_json::json!({
        "passages": totals.total,
        "done": totals.done,
        "rejected": totals.rejected,
        "failed": totals.failed,
        "examples": totals.examples,
        "prompt_tokens": totals.prompt_tokens,
        "completion_tokens": totals.completion_tokens,
        "cached": last.cached,
        "cost": price.cost(totals.prompt_tokens, totals.completion_tokens),
    }))
}

struct StoreSink<'a> {
    ctx: &'a mut JobContext,
    id: i64,
    strategy: Strategy,
    persona: Persona,
    /// How the project measures example lengths.
    lengths: &'static dyn TokenCounter,
    teacher: String,
    prompt: String,
    identity: String,
    model: String,
    passages: HashMap<i64, Passage>,
    live: Live,
    project: PathBuf,
}

impl Sink for StoreSink<'_> {
    type Error = Error;

    fn cached(&mut self, item: &WorkItem) -> Result<Option<(String, Usage)>> {
        Ok(self.ctx.store().teacher_cache_get(&item.key)?.map(|c| {
            (
                c.response,
                Usage {
                    prompt_tokens: c.prompt_tokens as u32,
                    completion_tokens: c.completion_tokens as u32,
                },
            )
        }))
    }

    fn record(&mut self, item: &WorkItem, result: &ItemResult) -> Result<()> {
        let passage = self.passages.get(&item.index);
        let store = self.ctx.store();
        store.write_transaction(|s| {
            let update = match result {
                ItemResult::Answered { answer, outcome } => {
                    if !answer.cached {
                        let cached = CachedAnswer {
                            response: answer.text.clone(),
                            prompt_tokens: i64::from(answer.usage.prompt_tokens),
                            completion_tokens: i64::from(answer.usage.completion_tokens),
                        };
                        s.teacher_cache_put(&item.key, &self.identity, &self.model, &cached)?;
                    }
                    let paid = |n: u32| if answer.cached { 0 } else { i64::from(n) };
                    let (state, examples, reason) = match outcome {
                        Outcome::Accepted { examples, .. } => {
                            let news: Vec<NewExample> = examples
                                .iter()
                                .map(|g| {
                                    let mut new =
                                        NewExample::new(self.strategy, g.messages.clone());
                                    new.persona = Some(self.persona.name.clone());
                                    if let Some(p) = passage {
                                        new.spans = p.spans.clone();
                                        new.book_id = Some(p.book_id);
                                        new.chapter = Some(p.chapter);
                                    }
                                    new.teacher = Some(self.teacher.clone());
                                    new.prompt = Some(self.prompt.clone());
                                    new.derived.flags = g.flags.clone();
                                    new
                                })
                                .collect();
                            let n = news.len() as i64;
                            Review::new(s, self.lengths)
                                .with_persona(self.persona.clone())
                                .insert_many(news)?;
                            (ItemState::Done, n, None)
                        }
                        Outcome::Rejected { reason } => {
                            (ItemState::Rejected, 0, Some(reason.as_str()))
                        }
                    };
                    ItemUpdate {
                        state,
                        examples,
                        reason,
                        prompt_tokens: paid(answer.usage.prompt_tokens),
                        completion_tokens: paid(answer.usage.completion_tokens),
                        cached: answer.cached,
                        attempts: i64::from(answer.attempts),
                    }
                }
                ItemResult::Failed { error, attempts } => ItemUpdate {
                    state: ItemState::Failed,
                    examples: 0,
                    reason: Some(error.message.as_str()),
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    cached: false,
                    attempts: i64::from(*attempts),
                },
            };
            s.generation_item_update(self.id, item.index, &update)?;
            Ok::<_, Error>(())
        })
    }

    fn progress(&mut self, p: &Progress) -> Result<()> {
        self.live.set(&self.project, self.id, p.clone());
        let eta = match p.eta_seconds {
            Some(s) if s >= 1.0 => format!(", about {} left", human_duration(s)),
            _ => String::new(),
        };
        let message = format!(
            "{} of {} passages: {} examples, {} rejected, {} failed; {} tokens, cost {:.4}{eta}",
            p.done,
            p.total,
            p.examples,
            p.rejected,
            p.failed,
            p.prompt_tokens + p.completion_tokens,
            p.cost
        );
        self.ctx.progress(p.done, p.total, &message)
    }
}

fn human_duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// Runs the prompt on one passage through the same pipeline a job uses (retries, cache).
pub(crate) fn preview(
    store: &Store,
    teacher: &TeacherConfig,
    provider: Arc<dyn Provider>,
    template: PromptTemplate,
    input: &PreviewInput,
) -> Result<PreviewOutput> {
    let (cast, mut passages) = passages(store, &input.options)?;
    if input.passage as usize >= passages.len() {
        return Err(Error::InvalidInput(format!(
            "there are {} passages; passage {} does not exist",
            passages.len(),
            input.passage
        )));
    }
    let passage = passages.swap_remove(input.passage as usize);
    let plan = Plan {
        teacher: teacher.clone(),
        options: input.options.clone(),
        template,
        persona: cast.persona.name.clone(),
    };
    let request = request(&plan, &cast, &passage)?;
    let identity = provider.identity();
    let item = WorkItem {
        index: 0,
        key: grimoire_teacher::cache_key(&identity, &request),
        source: passage.text.clone(),
        request: request.clone(),
    };
    let mut sink = PreviewSink {
        store,
        identity,
        model: provider.model().to_string(),
        result: None,
    };
    let config = grimoire_teacher::PipelineConfig {
        max_in_flight: 1,
        ..teacher.pipeline()
    };
    grimoire_teacher::run(
        provider,
        evaluator(&plan, &cast),
        &config,
        vec![item],
        Progress::default(),
        &mut sink,
    )
    .map_err(pipeline_error)?;
    let prompt = request
        .messages
        .iter()
        .map(|t| {
            Message::new(
                if t.role == "system" {
                    Role::System
                } else {
                    Role::User
                },
                t.content.clone(),
            )
        })
        .collect();
    match sink.result {
        Some(ItemResult::Answered { answer, outcome }) => {
            let (examples, rejected, repairs) = match outcome {
                Outcome::Accepted { examples, repairs } => (
                    examples
                        .into_iter()
                        .map(|g| PreviewExample {
                            messages: g.messages,
                            flags: g.flags,
                        })
                        .collect(),
                    None,
                    repairs,
                ),
                Outcome::Rejected { reason } => (Vec::new(), Some(reason), Vec::new()),
            };
            let price = teacher.pipeline().price;
            Ok(PreviewOutput {
                passage: passage_view(input.passage, passage),
                prompt,
                raw: answer.text,
                examples,
                rejected,
                repairs,
                prompt_tokens: answer.usage.prompt_tokens,
                completion_tokens: answer.usage.completion_tokens,
                cost: price.cost(
                    u64::from(answer.usage.prompt_tokens),
                    u64::from(answer.usage.completion_tokens),
                ),
                cached: answer.cached,
            })
        }
        Some(ItemResult::Failed { error, .. }) => {
            Err(Error::Teacher(grimoire_teacher::Error::Call(error)))
        }
        None => Err(Error::Cancelled),
    }
}

struct PreviewSink<'a> {
    store: &'a Store,
    identity: String,
    model: String,
    result: Option<ItemResult>,
}

impl Sink for PreviewSink<'_> {
    type Error = Error;

    fn cached(&mut self, item: &WorkItem) -> Result<Option<(String, Usage)>> {
        Ok(self.store.teacher_cache_get(&item.key)?.map(|c| {
            (
                c.response,
                Usage {
                    prompt_tokens: c.prompt_tokens as u32,
                    completion_tokens: c.completion_tokens as u32,
                },
            )
        }))
    }

    fn record(&mut self, item: &WorkItem, result: &ItemResult) -> Result<()> {
        if let ItemResult::Answered { answer, .. } = result
            && !answer.cached
        {
            let cached = CachedAnswer {
                response: answer.text.clone(),
                prompt_tokens: i64::from(answer.usage.prompt_tokens),
                completion_tokens: i64::from(answer.usage.completion_tokens),
            };
            self.store
                .teacher_cache_put(&item.key, &self.identity, &self.model, &cached)?;
        }
        self.result = Some(result.clone());
        Ok(())
    }

    fn progress(&mut self, _: &Progress) -> Result<()> {
        Ok(())
    }
}

/// The built-in model (or any model file) as a teacher, through the engine chat shares.
pub(crate) struct LocalProvider {
    engine: Arc<Engine>,
    path: String,
}

impl LocalProvider {
    /// Its [`Provider::identity`] for the model at `path`.
    pub(crate) fn identity_of(path: &Path) -> String {
        format!("local {}", path.display())
    }

    pub(crate) fn new(engine: Arc<Engine>, path: &Path) -> Self {
        Self {
            engine,
            path: path.display().to_string(),
        }
    }
}

/// Stops a generation when the request is dropped (a cancelled job).
struct CancelOnDrop(grimoire_llm::CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl LocalProvider {
    /// One engine request: the reply to `request`'s messages, continuing `prefix` (if any) and
    /// ending at a `stop` string.
    async fn run(
        &self,
        request: &Request,
        prefix: &str,
        stop: &[&str],
        max_tokens: usize,
    ) -> std::result::Result<grimoire_llm::Completion, CallError> {
        let messages = request
            .messages
            .iter()
            .map(|t| match t.role.as_str() {
                "system" => grimoire_llm::Message::system(t.content.clone()),
                "assistant" => grimoire_llm::Message::assistant(t.content.clone()),
                _ => grimoire_llm::Message::user(t.content.clone()),
            })
            .collect();
        let params = GenerateParams {
            sampling: SamplingParams {
                temperature: request.temperature.max(0.0),
                ..SamplingParams::default()
            },
            max_tokens: max_tokens.clamp(1, 8192),
            stop: stop.iter().map(|s| (*s).to_owned()).collect(),
        };
        let engine_error = |e: grimoire_llm::Error| {
            CallError::new(
                CallErrorKind::Engine,
                format!("the local model failed: {e}"),
            )
        };
        let reply = self
            .engine
            .chat(ChatRequest {
                messages,
                params,
                adapter: None,
                prefix: prefix.to_owned(),
            })
            .map_err(engine_error)?;
        let _cancel = CancelOnDrop(reply.cancel.clone());
        tokio::task::spawn_blocking(move || reply.wait(&mut |_| {}))
            .await
            .map_err(|e| {
                CallError::new(
                    CallErrorKind::Engine,
                    format!("the local model stopped: {e}"),
                )
            })?
            .map_err(engine_error)
    }

    /// The answer to a generation task written into its JSON object: the keys and punctuation are
    /// given, the model writes each string until its closing quote. A small model asked for JSON
    /// mostly writes prose instead; held to the object it fills it in.
    async fn guided(
        &self,
        request: &Request,
        task: grimoire_teacher::Task,
    ) -> std::result::Result<Completion, CallError> {
        // (text before the string, share of the tokens left that the string may take), and the
        // text that closes the object.
        let mut steps: Vec<(&str, f32)> = Vec::new();
        let close = match task {
            grimoire_teacher::Task::Rewrite => {
                steps.push((r#"{"question": ""#, 0.25));
                steps.push((r#"", "account": ""#, 1.0));
                r#""}"#
            }
            grimoire_teacher::Task::Qa { pairs } => {
                let pairs = pairs.clamp(1, 20);
                for i in 0..pairs {
                    steps.push((
                        if i == 0 {
                            r#"{"pairs": [{"question": ""#
                        } else {
                            r#""}, {"question": ""#
                        },
                        0.3 / (pairs - i) as f32,
                    ));
                    steps.push((r#"", "answer": ""#, 1.0 / (pairs - i) as f32));
                }
                r#""}]}"#
            }
        };
        let mut left = request.max_tokens.clamp(1, 8192) as usize;
        let mut json = String::new();
        let mut usage = Usage::default();
        let mut finish = None;
        for (before, share) in steps {
            json.push_str(before);
            if left == 0 {
                continue;
            }
            let budget = ((left as f32 * share).ceil() as usize).clamp(1, left);
            let done = self.run(request, &json, &["\""], budget).await?;
            left -= done.tokens.len().min(left);
            usage.prompt_tokens += done.prompt_tokens as u32;
            usage.completion_tokens += done.tokens.len() as u32;
            finish = serde_json::to_value(done.finish)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            // The string as the model wrote it, escaped the way JSON wants it.
            let text = done.text.trim().trim_end_matches('\\').trim_end();
            let quoted = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
            json.push_str(&quoted[1..quoted.len() - 1]);
        }
        json.push_str(close);
        Ok(Completion {
            usage,
            text: json,
            finish_reason: finish,
        })
    }
}

impl Provider for LocalProvider {
    fn complete<'a>(
        &'a self,
        request: &'a Request,
    ) -> BoxFuture<'a, std::result::Result<Completion, CallError>> {
        Box::pin(async move {
            if let Some(task) = request.task {
                return self.guided(request, task).await;
            }
            let done = self
                .run(request, "", &[], request.max_tokens as usize)
                .await?;
            let finish = serde_json::to_value(done.finish)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            Ok(Completion {
                usage: Usage {
                    prompt_tokens: done.prompt_tokens as u32,
                    completion_tokens: done.tokens.len() as u32,
                },
                text: done.text,
                finish_reason: finish,
            })
        })
    }

    fn models(&self) -> BoxFuture<'_, std::result::Result<Vec<String>, CallError>> {
        Box::pin(async move { Ok(vec![self.path.clone()]) })
    }

    fn identity(&self) -> String {
        format!("local {}", self.path)
    }

    fn model(&self) -> &str {
        &self.path
    }
}

/// Progress of the generations running in this process, and whether opening a project resumes its
/// interrupted ones.
#[derive(Clone)]
pub(crate) struct Live(Arc<LiveInner>);

struct LiveInner {
    progress: Mutex<HashMap<(PathBuf, i64), Progress>>,
    resume_on_open: AtomicBool,
}

impl Default for Live {
    fn default() -> Self {
        Self(Arc::new(LiveInner {
            progress: Mutex::default(),
            resume_on_open: AtomicBool::new(true),
        }))
    }
}

impl Live {
    fn set(&self, project: &Path, id: i64, p: Progress) {
        crate::service::lock(&self.0.progress).insert((project.to_path_buf(), id), p);
    }

    fn remove(&self, project: &Path, id: i64) {
        crate::service::lock(&self.0.progress).remove(&(project.to_path_buf(), id));
    }

    pub(crate) fn get(&self, project: &Path, id: i64) -> Option<Progress> {
        crate::service::lock(&self.0.progress)
            .get(&(project.to_path_buf(), id))
            .cloned()
    }

    pub(crate) fn set_resume_on_open(&self, on: bool) {
        self.0.resume_on_open.store(on, Ordering::Relaxed);
    }

    pub(crate) fn resume_on_open(&self) -> bool {
        self.0.resume_on_open.load(Ordering::Relaxed)
    }
}
