//! Teachers: the models that write strategy B (the persona's first-person retelling of a passage) and
//! strategy C (grounded question–answer pairs in the persona's voice) examples.
//!
//! Teachers are app-wide and named, kept in `settings.json` (`built-in`, the local default model, is
//! always there); their API keys live in the OS keyring, never in settings, projects or logs. A
//! generation runs as a resumable job (see [`crate::generation`]): its work list and every answer
//! are in the project's database, so a crash loses nothing finished and a reopened project picks
//! interrupted generations up again.

use std::path::Path;
use std::time::{Duration, Instant};

use grimoire_store::Job;
use grimoire_store::table::examples::{Message, QualityFlag, SourceSpan};
use grimoire_store::table::generation::{GenerationItem, ItemState, ItemTotals};
use grimoire_teacher::{
    HttpConfig, HttpProvider, KeySource, Price, Progress, PromptTemplate, Provider, Repair, Task,
    keys,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::jobs::JobHandle;
use crate::service::{absolute, lock};
use crate::{Error, JobStarted, ProjectRef, Result, Service};

/// The name of the teacher that is always there: the built-in local model.
pub const BUILTIN_TEACHER: &str = "built-in";

/// What kind of server a teacher is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TeacherKind {
    /// Mistral's API (needs a key).
    Mistral,
    /// Any OpenAI-compatible server: vLLM, Ollama, llama.cpp's server, OpenAI (key optional).
    OpenAiCompatible,
    /// A model run by Grimoire itself (`model` is `built-in` or a model file).
    BuiltIn,
}

/// A teacher's settings (its key is in the keyring, not here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct TeacherConfig {
    /// Its unique name (`mistral`, `local-vllm`...).
    pub name: String,
    /// What kind of server.
    pub kind: TeacherKind,
    /// The API's base URL including the version (`https://api.mistral.ai/v1`); unused for built-in.
    pub base_url: String,
    /// The model to ask (`mistral-large-latest`; for built-in: `built-in` or a model file).
    pub model: String,
    /// Requests in flight at once.
    pub max_in_flight: u32,
    /// Requests per minute (0: no limit).
    pub requests_per_minute: u32,
    /// Tokens per minute (0: no limit).
    pub tokens_per_minute: u32,
    /// Prices per million tokens, for the cost estimate (0 for local models).
    pub price: Price,
    /// How long one request may take.
    pub timeout_seconds: u32,
    /// Most tokens per answer.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: f32,
    /// Ask for JSON output (`response_format`); turn off for servers that refuse it.
    pub json_mode: bool,
}

impl Default for TeacherConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            kind: TeacherKind::OpenAiCompatible,
            base_url: String::new(),
            model: String::new(),
            max_in_flight: 8,
            requests_per_minute: 0,
            tokens_per_minute: 0,
            price: Price::default(),
            timeout_seconds: 120,
            max_tokens: 1024,
            temperature: 0.3,
            json_mode: true,
        }
    }
}

impl TeacherConfig {
    /// The built-in local model as a teacher: one request at a time, short answers, free.
    pub fn builtin() -> Self {
        Self {
            name: BUILTIN_TEACHER.into(),
            kind: TeacherKind::BuiltIn,
            model: "built-in".into(),
            max_in_flight: 1,
            timeout_seconds: 600,
            max_tokens: 256,
            json_mode: false,
            ..Self::default()
        }
    }

    /// The environment variable a provider's key is usually in, besides `GRIMOIRE_TEACHER_<NAME>_KEY`.
    fn fallback_key_var(&self) -> Option<&'static str> {
        match self.kind {
            TeacherKind::Mistral => Some("MISTRAL_API_KEY"),
            TeacherKind::OpenAiCompatible if self.base_url.contains("api.openai.com") => {
                Some("OPENAI_API_KEY")
            }
            _ => None,
        }
    }

    pub(crate) fn pipeline(&self) -> grimoire_teacher::PipelineConfig {
        grimoire_teacher::PipelineConfig {
            max_in_flight: self.max_in_flight.clamp(1, 256) as usize,
            requests_per_minute: self.requests_per_minute,
            tokens_per_minute: self.tokens_per_minute,
            retry: grimoire_teacher::RetryPolicy::default(),
            price: if self.kind == TeacherKind::BuiltIn {
                Price::default()
            } else {
                self.price
            },
        }
    }
}

/// A teacher as the settings page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TeacherView {
    /// Its settings.
    pub config: TeacherConfig,
    /// Where its key was found.
    pub key: KeySource,
    /// Whether it cannot work without a key.
    pub needs_key: bool,
    /// Why the keyring could not be asked, when it could not.
    pub keyring_error: Option<String>,
}

/// Names a teacher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TeacherRef {
    /// Its name.
    pub name: String,
}

/// Input of [`Service::set_teacher_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetTeacherKeyInput {
    /// The teacher.
    pub name: String,
    /// The key; none removes it from the keyring.
    pub key: Option<String>,
}

/// What [`Service::test_teacher`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TestTeacherOutput {
    /// Whether the server answered with its model list.
    pub ok: bool,
    /// The models it offers.
    pub models: Vec<String>,
    /// Whether the configured model is among them.
    pub model_found: bool,
    /// The exact error, when it failed.
    pub error: Option<String>,
    /// How long it took.
    pub millis: u64,
}

/// Which teacher strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TeacherStrategy {
    /// Strategy B: narration retold as the persona's first-person account.
    Rewrite,
    /// Strategy C: grounded question–answer pairs in the persona's voice.
    Qa,
}

/// How to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct GenerationOptions {
    /// B or C.
    pub strategy: TeacherStrategy,
    /// The persona (none: the project's).
    pub persona: Option<String>,
    /// Question–answer pairs per passage (strategy C).
    pub pairs: u32,
    /// The most characters in a passage.
    pub max_chars: u32,
    /// Paragraphs with less narration than this many characters are skipped.
    pub min_narration: u32,
    /// Only the first N passages (none: all).
    pub limit: Option<u32>,
    /// The prompt template (none: the newest saved one of the strategy, or the default).
    pub prompt: Option<PromptTemplate>,
    /// A system prompt for every example made.
    pub system_prompt: Option<String>,
}

impl Default for GenerationOptions {
    fn default() -> Self {
        let s = grimoire_teacher::SelectOptions::default();
        Self {
            strategy: TeacherStrategy::Rewrite,
            persona: None,
            pairs: 3,
            max_chars: s.max_chars as u32,
            min_narration: s.min_narration as u32,
            limit: None,
            prompt: None,
            system_prompt: None,
        }
    }
}

impl GenerationOptions {
    pub(crate) fn task(&self) -> Task {
        match self.strategy {
            TeacherStrategy::Rewrite => Task::Rewrite,
            TeacherStrategy::Qa => Task::Qa {
                pairs: self.pairs.clamp(1, 20),
            },
        }
    }
}

/// Input of [`Service::start_generation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GenerateInput {
    /// The project folder.
    pub project: String,
    /// The teacher's name.
    pub teacher: String,
    /// How to generate.
    pub options: GenerationOptions,
}

/// Input of [`Service::list_passages`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ListPassagesInput {
    /// The project folder.
    pub project: String,
    /// Who and how (strategy, persona, sizes; the rest is ignored).
    pub options: GenerationOptions,
    /// The first passage wanted.
    pub offset: u32,
    /// How many.
    pub limit: u32,
}

/// A passage a teacher would be given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PassageView {
    /// Its place among the persona's passages.
    pub index: u32,
    /// The book.
    pub book_id: i64,
    /// Its title.
    pub book_title: String,
    /// The chapter, from 0.
    pub chapter: i64,
    /// The chapter's title.
    pub chapter_title: Option<String>,
    /// The text.
    pub text: String,
    /// Where it lies in the book.
    pub spans: Vec<SourceSpan>,
}

/// Passages and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PassageList {
    /// The page asked for.
    pub passages: Vec<PassageView>,
    /// Passages in all.
    pub total: u32,
}

/// Input of [`Service::preview_generation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PreviewInput {
    /// The project folder.
    pub project: String,
    /// The teacher's name.
    pub teacher: String,
    /// How to generate.
    pub options: GenerationOptions,
    /// The passage, by its index in [`Service::list_passages`].
    pub passage: u32,
}

/// One example a preview made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PreviewExample {
    /// The turns.
    pub messages: Vec<Message>,
    /// The flags the review grid would show (duplicates aside).
    pub flags: Vec<QualityFlag>,
}

/// What a preview produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PreviewOutput {
    /// The passage.
    pub passage: PassageView,
    /// The prompt as sent.
    pub prompt: Vec<Message>,
    /// The teacher's answer, as it came.
    pub raw: String,
    /// The examples it makes.
    pub examples: Vec<PreviewExample>,
    /// Why the answer was unusable, when it was.
    pub rejected: Option<String>,
    /// What was repaired to read it.
    pub repairs: Vec<Repair>,
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
    /// The estimated cost.
    pub cost: f64,
    /// Whether the answer came from the cache (a generation will not pay for this passage again).
    pub cached: bool,
}

/// What a generation would cost before it starts ([`Service::estimate_generation`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
pub struct GenerationEstimate {
    /// Passages the job would take.
    pub passages: u32,
    /// Of them, already answered in the cache (a preview, an earlier job): not asked or paid again.
    pub cached: u32,
    /// Prompt tokens of the passages still to ask (four characters a token).
    #[ts(type = "number")]
    pub prompt_tokens: u64,
    /// Answer tokens expected: a retelling about as long as its passage, or the asked QA pairs.
    #[ts(type = "number")]
    pub completion_tokens_expected: u64,
    /// Answer tokens at most: the teacher's `max_tokens` for every request.
    #[ts(type = "number")]
    pub completion_tokens_max: u64,
    /// The expected cost at the teacher's prices (0 for a local model or no prices set).
    pub cost_expected: f64,
    /// The cost if every answer ran to `max_tokens`.
    pub cost_max: f64,
    /// The least time the teacher's rate limits allow, when it has any.
    pub min_seconds: Option<f64>,
}

/// Names a generation job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GenerationRef {
    /// The project folder.
    pub project: String,
    /// The job.
    pub job_id: i64,
}

/// Where a generation job stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GenerationStatus {
    /// The job row.
    pub job: Job,
    /// Counts over its passages, as stored.
    pub totals: ItemTotals,
    /// The estimated cost so far.
    pub cost: f64,
    /// The running job's latest progress (ETA, retries), while it runs in this process.
    pub live: Option<Progress>,
}

/// Input of [`Service::generation_items`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GenerationItemsInput {
    /// The project folder.
    pub project: String,
    /// The job.
    pub job_id: i64,
    /// Only items in these states (all when empty).
    pub states: Vec<ItemState>,
}

impl Service {
    /// Every teacher: `built-in` first, then the saved ones by name, each with where its key is.
    pub fn list_teachers(&self) -> Result<Vec<TeacherView>> {
        Ok(self.teacher_configs()?.into_iter().map(view).collect())
    }

    /// One teacher's settings.
    pub fn teacher(&self, name: &str) -> Result<TeacherConfig> {
        self.teacher_configs()?
            .into_iter()
            .find(|t| t.name == name.trim())
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "no teacher called {name:?}; `grimoire teachers` lists them"
                ))
            })
    }

    pub(crate) fn teacher_configs(&self) -> Result<Vec<TeacherConfig>> {
        let mut list = self.load_settings()?.teachers;
        if !list.iter().any(|t| t.name == BUILTIN_TEACHER) {
            list.push(TeacherConfig::builtin());
        }
        list.sort_by(|a, b| {
            (a.name != BUILTIN_TEACHER)
                .cmp(&(b.name != BUILTIN_TEACHER))
                .then(a.name.cmp(&b.name))
        });
        Ok(list)
    }

    /// Adds a teacher or replaces the one of the same name.
    pub fn save_teacher(&self, mut config: TeacherConfig) -> Result<TeacherView> {
        config.name = config.name.trim().to_string();
        config.base_url = config.base_url.trim().trim_end_matches('/').to_string();
        config.model = config.model.trim().to_string();
        let name_ok = !config.name.is_empty()
            && config
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(Error::InvalidInput(
                "a teacher's name is letters, digits, '-', '_' or '.' (like local-vllm)".into(),
            ));
        }
        if (config.name == BUILTIN_TEACHER) != (config.kind == TeacherKind::BuiltIn) {
            return Err(Error::InvalidInput(format!(
                "only the teacher called {BUILTIN_TEACHER} runs the built-in model"
            )));
        }
        match config.kind {
            TeacherKind::BuiltIn => {
                if config.model.is_empty() {
                    config.model = "built-in".into();
                }
            }
            TeacherKind::Mistral | TeacherKind::OpenAiCompatible => {
                if config.kind == TeacherKind::Mistral && config.base_url.is_empty() {
                    config.base_url = grimoire_teacher::MISTRAL_BASE_URL.into();
                }
                if !(config.base_url.starts_with("http://")
                    || config.base_url.starts_with("https://"))
                {
                    return Err(Error::InvalidInput(format!(
                        "{:?} is not a server address; give the base URL with its version, like http://localhost:8000/v1",
                        config.base_url
                    )));
                }
                if config.model.is_empty() {
                    return Err(Error::InvalidInput(
                        "name the model the teacher should use".into(),
                    ));
                }
            }
        }
        if config.max_in_flight == 0 || config.max_tokens == 0 {
            return Err(Error::InvalidInput(
                "requests in flight and tokens per answer must be at least 1".into(),
            ));
        }
        let saved = config.clone();
        self.edit_settings(move |f| {
            f.teachers.retain(|t| t.name != saved.name);
            f.teachers.push(saved);
        })?;
        Ok(view(config))
    }

    /// Removes a teacher and its key (`built-in` goes back to its defaults instead).
    pub fn delete_teacher(&self, input: TeacherRef) -> Result<()> {
        let name = input.name.trim().to_string();
        if name != BUILTIN_TEACHER {
            self.teacher(&name)?;
            keys::delete_key(&name).or_else(|e| match e {
                // No keyring means no key was stored there.
                grimoire_teacher::Error::Keyring { .. } => Ok(()),
                other => Err(other),
            })?;
        }
        self.edit_settings(move |f| f.teachers.retain(|t| t.name != name))
    }

    /// Stores a teacher's API key in the OS keyring, or removes it. Where there is no keyring the
    /// error says which environment variable to set instead.
    pub fn set_teacher_key(&self, input: SetTeacherKeyInput) -> Result<TeacherView> {
        let config = self.teacher(&input.name)?;
        match input
            .key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            Some(key) => keys::set_key(&config.name, key)?,
            None => keys::delete_key(&config.name)?,
        }
        Ok(view(config))
    }

    /// Asks a teacher's server for its models (`GET /models`): the list, or the exact error.
    pub fn test_teacher(&self, input: TeacherRef) -> Result<TestTeacherOutput> {
        let config = self.teacher(&input.name)?;
        let started = Instant::now();
        let provider = match self.provider(&config) {
            Ok(p) => p,
            Err(e) => {
                return Ok(TestTeacherOutput {
                    ok: false,
                    models: vec![],
                    model_found: false,
                    error: Some(e.to_string()),
                    millis: 0,
                });
            }
        };
        let listed = block_on(provider.models())?;
        let millis = started.elapsed().as_millis() as u64;
        Ok(match listed {
            Ok(models) => {
                let model_found = models.iter().any(|m| m == provider.model());
                TestTeacherOutput {
                    ok: true,
                    models,
                    model_found,
                    error: None,
                    millis,
                }
            }
            Err(e) => TestTeacherOutput {
                ok: false,
                models: vec![],
                model_found: false,
                error: Some(e.message),
                millis,
            },
        })
    }

    /// The prompt templates: the default of each strategy, then the saved ones (every version).
    pub fn prompt_templates(&self) -> Result<Vec<PromptTemplate>> {
        let mut list = vec![
            grimoire_teacher::default_template(&Task::Rewrite),
            grimoire_teacher::default_template(&Task::Qa { pairs: 3 }),
        ];
        list.extend(self.load_settings()?.prompts);
        Ok(list)
    }

    /// Saves an edited template as the next version of its name (unchanged text keeps its version).
    pub fn save_prompt(&self, template: PromptTemplate) -> Result<PromptTemplate> {
        if template.name.trim().is_empty() || template.user.trim().is_empty() {
            return Err(Error::InvalidInput(
                "a prompt needs a name and a user message".into(),
            ));
        }
        let probe = grimoire_teacher::PromptContext {
            persona: "P",
            aliases: &[],
            book: "B",
            chapter: None,
            passage: "T",
            pairs: 1,
        };
        grimoire_teacher::render(&template, &probe)?;
        let all = self.prompt_templates()?;
        let same_name: Vec<&PromptTemplate> = all
            .iter()
            .filter(|t| t.name == template.name.trim())
            .collect();
        if let Some(latest) = same_name.iter().max_by_key(|t| t.version)
            && latest.system == template.system
            && latest.user == template.user
        {
            return Ok((*latest).clone());
        }
        let version = same_name.iter().map(|t| t.version).max().unwrap_or(0) + 1;
        let saved = PromptTemplate {
            name: template.name.trim().to_string(),
            version,
            system: template.system,
            user: template.user,
        };
        let stored = saved.clone();
        self.edit_settings(move |f| f.prompts.push(stored))?;
        Ok(saved)
    }

    /// The persona's passages a teacher would be given, a page at a time.
    pub fn list_passages(&self, input: ListPassagesInput) -> Result<PassageList> {
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let (_, passages) = crate::generation::passages(&store, &input.options)?;
        let total = passages.len() as u32;
        let passages = passages
            .into_iter()
            .enumerate()
            .skip(input.offset as usize)
            .take(input.limit.max(1) as usize)
            .map(|(i, p)| crate::generation::passage_view(i as u32, p))
            .collect();
        Ok(PassageList { passages, total })
    }

    /// Runs the prompt on one passage and returns the answer, what it makes and its flags, before a
    /// whole job is started. The answer is cached, so the job does not pay for it again.
    pub fn preview_generation(&self, input: PreviewInput) -> Result<PreviewOutput> {
        let config = self.teacher(&input.teacher)?;
        let provider = self.provider(&config)?;
        let path = absolute(&input.project)?;
        let store = self.store(&path)?;
        let store = lock(&store).reopen()?;
        crate::generation::preview(
            &store,
            &config,
            provider,
            self.prompt_for(&input.options)?,
            &input,
        )
    }

    /// What a generation with these settings would send and cost, before it starts; the passages a
    /// preview or an earlier job answered are counted as cached. Builds no connection and loads no
    /// model.
    pub fn estimate_generation(&self, input: GenerateInput) -> Result<GenerationEstimate> {
        let config = self.teacher(&input.teacher)?;
        let identity = self.provider_identity(&config)?;
        let template = self.prompt_for(&input.options)?;
        let store = self.store(&absolute(&input.project)?)?;
        let store = lock(&store);
        let plan = crate::generation::Plan::new(&store, config, input.options, template)?;
        crate::generation::estimate(&store, &plan, &identity)
    }

    /// Starts a generation job (for the UI).
    pub fn start_generation(&self, input: GenerateInput) -> Result<JobStarted> {
        Ok(JobStarted {
            job_id: self.generate(input)?.id,
        })
    }

    /// Starts a generation job and returns its handle (the CLI waits on it).
    pub fn generate(&self, input: GenerateInput) -> Result<JobHandle> {
        let config = self.teacher(&input.teacher)?;
        let provider = self.provider(&config)?;
        let path = absolute(&input.project)?;
        let template = self.prompt_for(&input.options)?;
        let store = self.store(&path)?;
        let store = lock(&store);
        let plan = crate::generation::Plan::new(&store, config, input.options.clone(), template)?;
        let lengths =
            crate::review::length_counter(&store, Path::new(&self.settings()?.model_dir))?;
        let params = serde_json::to_value(&plan).map_err(|source| Error::Json {
            what: "generation plan".into(),
            source,
        })?;
        let live = self.generation.clone();
        let project = path.clone();
        self.jobs.spawn(
            &store,
            &path,
            crate::generation::JOB_KIND,
            &plan.title(),
            &params,
            move |ctx| crate::generation::run(ctx, &plan, provider, lengths, &live, &project),
        )
    }

    /// Resumes a generation job that was interrupted, cancelled or failed, under the same job: the
    /// passages already answered are not asked again.
    pub fn resume_generation(&self, input: GenerationRef) -> Result<JobHandle> {
        let path = absolute(&input.project)?;
        let store = self.store(&path)?;
        let store = lock(&store);
        let job = store.job(input.job_id)?;
        if job.kind != crate::generation::JOB_KIND {
            return Err(Error::InvalidInput(format!(
                "job {} is not a generation",
                job.id
            )));
        }
        let plan: crate::generation::Plan =
            serde_json::from_str(&job.params).map_err(|source| Error::Json {
                what: format!("job {} parameters", job.id),
                source,
            })?;
        // The teacher's current settings and key, in case they were fixed since.
        let config = self
            .teacher(&plan.teacher.name)
            .unwrap_or_else(|_| plan.teacher.clone());
        let provider = self.provider(&config)?;
        let lengths =
            crate::review::length_counter(&store, Path::new(&self.settings()?.model_dir))?;
        let live = self.generation.clone();
        let project = path.clone();
        self.jobs.resume(&store, &path, job.id, move |ctx| {
            crate::generation::run(ctx, &plan, provider, lengths, &live, &project)
        })
    }

    /// Resumes every interrupted generation job of a project (called when it opens).
    pub fn resume_interrupted_generations(&self, input: ProjectRef) -> Result<Vec<JobStarted>> {
        let path = absolute(&input.path)?;
        let interrupted: Vec<i64> = {
            let store = self.store(&path)?;
            let store = lock(&store);
            store
                .jobs(1000)?
                .into_iter()
                .filter(|j| {
                    j.kind == crate::generation::JOB_KIND
                        && j.status == grimoire_store::JobStatus::Interrupted
                })
                .map(|j| j.id)
                .collect()
        };
        let mut started = Vec::new();
        for job_id in interrupted {
            let handle = self.resume_generation(GenerationRef {
                project: input.path.clone(),
                job_id,
            })?;
            started.push(JobStarted { job_id: handle.id });
        }
        Ok(started)
    }

    /// Whether opening a project resumes its interrupted generations (on by default; the CLI turns it
    /// off so that `grimoire project info` never starts paid requests).
    pub fn set_resume_generations_on_open(&self, on: bool) {
        self.generation.set_resume_on_open(on);
    }

    pub(crate) fn resume_on_open(&self, path: &Path) {
        self.follow_mistral_on_open(path);
        if self.generation.resume_on_open() {
            // A teacher that cannot be reached now leaves the job interrupted, to resume by hand.
            let _ = self.resume_interrupted_generations(ProjectRef {
                path: path.display().to_string(),
            });
        }
    }

    /// Where a generation job stands: its row, stored counts, cost, and live progress while it runs.
    pub fn generation_status(&self, input: GenerationRef) -> Result<GenerationStatus> {
        let path = absolute(&input.project)?;
        let store = self.store(&path)?;
        let store = lock(&store);
        let job = store.job(input.job_id)?;
        let totals = store.generation_totals(job.id)?;
        let price = serde_json::from_str::<crate::generation::Plan>(&job.params)
            .map(|p| p.teacher.pipeline().price)
            .unwrap_or_default();
        let live = self
            .generation
            .get(&path, job.id)
            .filter(|_| !job.status.is_finished());
        Ok(GenerationStatus {
            cost: price.cost(totals.prompt_tokens, totals.completion_tokens),
            job,
            totals,
            live,
        })
    }

    /// A generation job's passages with their state and, for the rejected and failed, the reason.
    pub fn generation_items(&self, input: GenerationItemsInput) -> Result<Vec<GenerationItem>> {
        let store = self.store(&absolute(&input.project)?)?;
        let items = lock(&store).generation_items(input.job_id, &input.states)?;
        Ok(items)
    }

    fn prompt_for(&self, options: &GenerationOptions) -> Result<PromptTemplate> {
        if let Some(t) = &options.prompt {
            return Ok(t.clone());
        }
        let task = options.task();
        let saved = self
            .load_settings()?
            .prompts
            .into_iter()
            .filter(|t| t.name == task.name())
            .max_by_key(|t| t.version);
        Ok(saved.unwrap_or_else(|| grimoire_teacher::default_template(&task)))
    }

    /// What [`Provider::identity`] of the teacher's provider says (the cache keys begin with it),
    /// without connecting or loading a model.
    pub(crate) fn provider_identity(&self, config: &TeacherConfig) -> Result<String> {
        Ok(match config.kind {
            TeacherKind::BuiltIn => crate::generation::LocalProvider::identity_of(
                &crate::chat::model_path(&config.model, Path::new(&self.settings()?.model_dir)),
            ),
            TeacherKind::Mistral | TeacherKind::OpenAiCompatible => {
                HttpProvider::identity_of(&config.base_url, &config.model)
            }
        })
    }

    /// The provider a teacher's settings describe, with its key.
    pub(crate) fn provider(&self, config: &TeacherConfig) -> Result<std::sync::Arc<dyn Provider>> {
        match config.kind {
            TeacherKind::BuiltIn => {
                let path =
                    crate::chat::model_path(&config.model, Path::new(&self.settings()?.model_dir));
                let engine = self.chats.engine(&path)?;
                Ok(std::sync::Arc::new(crate::generation::LocalProvider::new(
                    engine, &path,
                )))
            }
            TeacherKind::Mistral | TeacherKind::OpenAiCompatible => {
                let http = HttpConfig {
                    base_url: config.base_url.clone(),
                    model: config.model.clone(),
                    api_key: api_key(config)?,
                    timeout: Duration::from_secs(u64::from(config.timeout_seconds.max(1))),
                };
                Ok(std::sync::Arc::new(
                    HttpProvider::new(http).map_err(grimoire_teacher::Error::from)?,
                ))
            }
        }
    }
}

/// Runs a request to completion on a runtime on a thread of its own: the caller may be on an async
/// runtime already (the app's commands are), where blocking on, or dropping, another one panics.
pub(crate) fn block_on<T: Send>(work: impl std::future::Future<Output = T> + Send) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::io(Path::new("tokio"), e))?;
            Ok(runtime.block_on(work))
        })
        .join()
        .unwrap_or_else(|_| {
            Err(Error::Teacher(grimoire_teacher::Error::Call(
                grimoire_teacher::CallError::new(
                    grimoire_teacher::CallErrorKind::Protocol,
                    "the request stopped unexpectedly (a bug in Grimoire)",
                ),
            )))
        })
    })
}

/// A teacher's API key from the keyring or the environment; Mistral's servers cannot be asked
/// without one, which is an error that says where to put it.
pub(crate) fn api_key(config: &TeacherConfig) -> Result<Option<String>> {
    let lookup = keys::find_key(&config.name, config.fallback_key_var());
    if config.kind == TeacherKind::Mistral && lookup.key.is_none() {
        let why = lookup
            .keyring_error
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(Error::InvalidInput(format!(
            "the teacher {:?} has no API key{why}: set it with `grimoire teachers set-key {}` or in the environment as {} or MISTRAL_API_KEY",
            config.name,
            config.name,
            keys::env_var(&config.name)
        )));
    }
    Ok(lookup.key)
}

fn view(config: TeacherConfig) -> TeacherView {
    let (key, keyring_error) = match config.kind {
        TeacherKind::BuiltIn => (KeySource::None, None),
        _ => {
            let lookup = keys::find_key(&config.name, config.fallback_key_var());
            (lookup.source, lookup.keyring_error)
        }
    };
    TeacherView {
        needs_key: config.kind == TeacherKind::Mistral,
        key,
        keyring_error,
        config,
    }
}
