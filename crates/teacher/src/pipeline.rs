//! The generation pipeline: passages in, checked examples out to a [`Sink`].
//!
//! The caller's thread owns the sink (a SQLite connection is not shared across threads); requests run
//! on a small tokio runtime of their own, at most `max_in_flight` at a time, under the rate limits,
//! with retries. Each finished request is parsed and checked on the runtime and handed back through a
//! channel, so the sink records it at once: a crash loses only what was in flight. Answers the sink
//! already has (its cache) are evaluated without a request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use grimoire_dataset::{FlagRules, Persona, WhitespaceCounter};
use grimoire_store::table::examples::{Message, QualityFlag, Role};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::CallError;
use crate::limiter::RateLimiter;
use crate::parse::{Repair, parse_answer};
use crate::prompt::Task;
use crate::provider::{Provider, Request, Usage};
use crate::retry::RetryPolicy;

/// What a provider charges, in US dollars (or any currency) per million tokens; 0 for local models.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, TS)]
pub struct Price {
    /// Per million prompt tokens.
    pub input_per_million: f64,
    /// Per million completion tokens.
    pub output_per_million: f64,
}

impl Price {
    /// The cost of `usage`.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input_per_million
            + completion_tokens as f64 * self.output_per_million)
            / 1e6
    }
}

/// How the pipeline talks to a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    /// Requests in flight at once.
    pub max_in_flight: usize,
    /// Requests per minute (0: no limit).
    pub requests_per_minute: u32,
    /// Tokens per minute (0: no limit).
    pub tokens_per_minute: u32,
    /// Retries.
    pub retry: RetryPolicy,
    /// Prices, for the cost estimate.
    pub price: Price,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 8,
            requests_per_minute: 0,
            tokens_per_minute: 0,
            retry: RetryPolicy::default(),
            price: Price::default(),
        }
    }
}

/// One example a teacher wrote, with the flags its checks raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    /// The turns: system (when set), user, assistant.
    pub messages: Vec<Message>,
    /// Flags from the text and from the source passage (duplicates are found when it is stored).
    pub flags: Vec<QualityFlag>,
}

/// What became of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Usable: these examples.
    Accepted {
        /// The examples.
        examples: Vec<Generated>,
        /// What was repaired to read the answer.
        repairs: Vec<Repair>,
    },
    /// Unusable, and why.
    Rejected {
        /// In words.
        reason: String,
    },
}

/// Turns a raw answer into examples: parse, build the turns, check them against the passage.
#[derive(Debug, Clone)]
pub struct Evaluator {
    /// What the teacher was asked.
    pub task: Task,
    /// The persona.
    pub persona: Persona,
    /// A system prompt for every example.
    pub system_prompt: Option<String>,
}

impl Evaluator {
    /// Evaluates `raw`, written from `source`.
    pub fn evaluate(&self, raw: &str, source: &str) -> Outcome {
        let (pairs, repairs) = match parse_answer(raw, &self.task) {
            Ok(parsed) => parsed,
            Err(reason) => return Outcome::Rejected { reason },
        };
        let rules = FlagRules::default();
        let examples = pairs
            .into_iter()
            .map(|pair| {
                let mut messages = Vec::with_capacity(3);
                if let Some(system) = self
                    .system_prompt
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                {
                    messages.push(Message::new(Role::System, system));
                }
                messages.push(Message::new(Role::User, pair.question));
                messages.push(Message::new(Role::Assistant, pair.answer));
                let (mut flags, _) = grimoire_dataset::flags::text_flags(
                    &messages,
                    Some(&self.persona),
                    &rules,
                    &WhitespaceCounter,
                );
                for f in
                    grimoire_dataset::faithful::source_flags(&messages, source, Some(&self.persona))
                {
                    if !flags.contains(&f) {
                        flags.push(f);
                    }
                }
                flags.sort_by_key(|f| f.bit());
                Generated { messages, flags }
            })
            .collect();
        Outcome::Accepted { examples, repairs }
    }
}

/// One passage to ask about.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    /// Its place in the job.
    pub index: i64,
    /// Its cache key ([`crate::cache_key`]).
    pub key: String,
    /// The request.
    pub request: Request,
    /// The passage, for the checks.
    pub source: String,
}

/// An answer, fresh or cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The raw text.
    pub text: String,
    /// Tokens it cost.
    pub usage: Usage,
    /// Whether it came from the cache (and cost nothing now).
    pub cached: bool,
    /// Requests made for it (0 from the cache).
    pub attempts: u32,
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    /// The teacher answered.
    Answered {
        /// The answer.
        answer: Answer,
        /// What it made.
        outcome: Outcome,
    },
    /// Every attempt failed.
    Failed {
        /// The last error.
        error: CallError,
        /// Requests made.
        attempts: u32,
    },
}

/// Where the pipeline's results go. Runs on the caller's thread.
pub trait Sink {
    /// The sink's error; returning one stops the pipeline (use it to cancel).
    type Error;
    /// A cached answer to this item's request, if any.
    fn cached(&mut self, item: &WorkItem) -> Result<Option<(String, Usage)>, Self::Error>;
    /// Records one item's result (called once per item, as soon as it is known).
    fn record(&mut self, item: &WorkItem, result: &ItemResult) -> Result<(), Self::Error>;
    /// Progress, at most every 100 ms and at the end.
    fn progress(&mut self, progress: &Progress) -> Result<(), Self::Error>;
}

/// Where a generation stands.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
#[ts(rename = "GenerationProgress")]
pub struct Progress {
    /// Passages finished (answered, rejected or failed).
    pub done: u64,
    /// Passages in all.
    pub total: u64,
    /// Passages that made examples.
    pub accepted: u64,
    /// Passages whose answer was unusable.
    pub rejected: u64,
    /// Passages whose requests failed.
    pub failed: u64,
    /// Examples made.
    pub examples: u64,
    /// Passages answered from the cache.
    pub cached: u64,
    /// Prompt tokens paid for.
    pub prompt_tokens: u64,
    /// Completion tokens paid for.
    pub completion_tokens: u64,
    /// The estimated cost of those tokens.
    pub cost: f64,
    /// Requests that were retried.
    pub retries: u64,
    /// Seconds since this run started.
    pub elapsed_seconds: f64,
    /// Seconds left at the current pace, once there is one.
    pub eta_seconds: Option<f64>,
}

impl Progress {
    fn account(&mut self, result: &ItemResult, price: &Price) {
        self.done += 1;
        match result {
            ItemResult::Answered { answer, outcome } => {
                if answer.cached {
                    self.cached += 1;
                } else {
                    self.prompt_tokens += u64::from(answer.usage.prompt_tokens);
                    self.completion_tokens += u64::from(answer.usage.completion_tokens);
                }
                match outcome {
                    Outcome::Accepted { examples, .. } => {
                        self.accepted += 1;
                        self.examples += examples.len() as u64;
                    }
                    Outcome::Rejected { .. } => self.rejected += 1,
                }
            }
            ItemResult::Failed { .. } => self.failed += 1,
        }
        self.cost = price.cost(self.prompt_tokens, self.completion_tokens);
    }
}

/// Why the pipeline stopped early.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError<E> {
    /// The sink failed or asked to stop.
    #[error("{0}")]
    Sink(E),
    /// The provider refused in a way every request would (bad key, unknown model).
    #[error("the teacher refused the request: {0}")]
    Fatal(CallError),
    /// The runtime could not start.
    #[error("cannot start the network runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs `items` through `provider`, recording each result in `sink`; `start` carries what earlier
/// runs of the same job did (its `total` covers them). Returns the final progress.
pub fn run<S: Sink>(
    provider: Arc<dyn Provider>,
    evaluator: Arc<Evaluator>,
    config: &PipelineConfig,
    items: Vec<WorkItem>,
    start: Progress,
    sink: &mut S,
) -> Result<Progress, PipelineError<S::Error>> {
    let began = Instant::now();
    let mut p = Progress {
        elapsed_seconds: 0.0,
        eta_seconds: None,
        ..start
    };
    let done_before = p.done;
    p.total = p.total.max(p.done + items.len() as u64);
    let mut last_report = Instant::now();
    let mut fresh = Vec::new();
    for item in items {
        match sink.cached(&item).map_err(PipelineError::Sink)? {
            Some((text, usage)) => {
                let outcome = evaluator.evaluate(&text, &item.source);
                let result = ItemResult::Answered {
                    answer: Answer {
                        text,
                        usage,
                        cached: true,
                        attempts: 0,
                    },
                    outcome,
                };
                sink.record(&item, &result).map_err(PipelineError::Sink)?;
                p.account(&result, &config.price);
                if last_report.elapsed() >= PROGRESS_EVERY {
                    p.elapsed_seconds = began.elapsed().as_secs_f64();
                    sink.progress(&p).map_err(PipelineError::Sink)?;
                    last_report = Instant::now();
                }
            }
            None => fresh.push(item),
        }
    }
    if fresh.is_empty() {
        p.elapsed_seconds = began.elapsed().as_secs_f64();
        p.eta_seconds = Some(0.0);
        sink.progress(&p).map_err(PipelineError::Sink)?;
        return Ok(p);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("teacher")
        .enable_all()
        .build()
        .map_err(PipelineError::Runtime)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let retries = Arc::new(AtomicU64::new(0));
    let shared = Shared {
        provider,
        evaluator,
        limiter: RateLimiter::new(config.requests_per_minute, config.tokens_per_minute),
        retry: config.retry,
        stop: stop.clone(),
        retries: retries.clone(),
    };
    runtime.spawn(dispatch(
        Arc::new(shared),
        fresh,
        config.max_in_flight.max(1),
        tx,
    ));
    let cached_done = p.done;
    let outcome = drain(
        &rx,
        sink,
        &mut p,
        config,
        &retries,
        began,
        done_before.max(cached_done),
    );
    stop.store(true, Ordering::Relaxed);
    // Requests still in flight are dropped: their passages stay pending for a resume.
    runtime.shutdown_background();
    outcome.map(|()| p)
}

fn drain<S: Sink>(
    rx: &Receiver<(WorkItem, ItemResult)>,
    sink: &mut S,
    p: &mut Progress,
    config: &PipelineConfig,
    retries: &AtomicU64,
    began: Instant,
    done_at_start: u64,
) -> Result<(), PipelineError<S::Error>> {
    let mut last_report = Instant::now();
    loop {
        let received = rx.recv_timeout(PROGRESS_EVERY);
        let finished = match received {
            Ok((item, result)) => {
                if let ItemResult::Failed { error, .. } = &result
                    && error.is_fatal()
                {
                    return Err(PipelineError::Fatal(error.clone()));
                }
                sink.record(&item, &result).map_err(PipelineError::Sink)?;
                p.account(&result, &config.price);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        if finished || last_report.elapsed() >= PROGRESS_EVERY {
            let elapsed = began.elapsed().as_secs_f64();
            p.elapsed_seconds = elapsed;
            p.retries = retries.load(Ordering::Relaxed);
            let fresh_done = p.done.saturating_sub(done_at_start);
            p.eta_seconds = if finished {
                Some(0.0)
            } else if fresh_done > 0 && elapsed > 0.0 {
                Some(p.total.saturating_sub(p.done) as f64 * elapsed / fresh_done as f64)
            } else {
                None
            };
            sink.progress(p).map_err(PipelineError::Sink)?;
            last_report = Instant::now();
        }
        if finished {
            return Ok(());
        }
    }
}

struct Shared {
    provider: Arc<dyn Provider>,
    evaluator: Arc<Evaluator>,
    limiter: RateLimiter,
    retry: RetryPolicy,
    stop: Arc<AtomicBool>,
    retries: Arc<AtomicU64>,
}

async fn dispatch(
    shared: Arc<Shared>,
    items: Vec<WorkItem>,
    max_in_flight: usize,
    tx: std::sync::mpsc::Sender<(WorkItem, ItemResult)>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
    for item in items {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        // A fatal answer may have come while this waited for a slot.
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let shared = shared.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let result = match call(&shared, &item.request).await {
                Ok((completion, attempts)) => {
                    let outcome = shared.evaluator.evaluate(&completion.text, &item.source);
                    let answer = Answer {
                        text: completion.text,
                        usage: completion.usage,
                        cached: false,
                        attempts,
                    };
                    ItemResult::Answered { answer, outcome }
                }
                Err((error, attempts)) => {
                    // A bad key fails every request alike: stop sending at once rather than when
                    // the draining thread gets to this answer.
                    if error.is_fatal() {
                        shared.stop.store(true, Ordering::Relaxed);
                    }
                    ItemResult::Failed { error, attempts }
                }
            };
            let _ = tx.send((item, result));
            drop(permit);
        });
    }
}

async fn call(
    shared: &Shared,
    request: &Request,
) -> Result<(crate::provider::Completion, u32), (CallError, u32)> {
    let estimate = request.estimated_prompt_tokens();
    let reserve = estimate.saturating_add(request.max_tokens);
    let mut attempt = 0;
    loop {
        attempt += 1;
        shared.limiter.acquire(reserve).await;
        match shared.provider.complete(request).await {
            Ok(c) => {
                let used = if c.usage.prompt_tokens + c.usage.completion_tokens > 0 {
                    c.usage.prompt_tokens + c.usage.completion_tokens
                } else {
                    estimate + (c.text.len() / 4) as u32
                };
                shared.limiter.settle(reserve, used);
                return Ok((c, attempt));
            }
            Err(e) => {
                shared.limiter.settle(reserve, 0);
                if shared.stop.load(Ordering::Relaxed) || !shared.retry.should_retry(&e, attempt) {
                    return Err((e, attempt));
                }
                shared.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(shared.retry.delay(attempt, e.retry_after)).await;
            }
        }
    }
}
