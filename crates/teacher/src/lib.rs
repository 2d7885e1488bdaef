//! Teacher models: a stronger model writes training examples from the books.
//!
//! - **Providers** ([`provider`]): Mistral's API and any OpenAI-compatible server through one HTTP
//!   client ([`HttpProvider`], reqwest with rustls); the local model implements [`Provider`] in the
//!   service layer, which owns the runtime. Keys live in the OS keyring ([`keys`]), with
//!   environment variables for machines that have none.
//! - **Passages** ([`passages`]): narration that names the persona or follows them with a pronoun,
//!   in chunks of whole paragraphs, each with its spans in the book.
//! - **Prompts** ([`prompt`]): minijinja templates, versioned; strategy B retells a passage as the
//!   persona's first-person account with a question it answers, strategy C asks N grounded
//!   question–answer pairs in the persona's voice. Both ask for JSON, which [`parse`] repairs
//!   (fences, chatter, trailing commas, truncation) or rejects with a reason.
//! - **Checks**: every example gets the data set's flags plus the faithfulness flags of
//!   `grimoire_dataset::faithful` (details not in the passage, much longer than it, still in the
//!   third person, meta-talk).
//! - **Pipeline** ([`pipeline`]): a bounded number of requests in flight, request and token rate
//!   limits ([`limiter`]), retries with exponential backoff, jitter and `Retry-After` ([`retry`]),
//!   results handed to a [`Sink`] on the caller's thread as they arrive (the service layer's sink is
//!   the project's SQLite store, with its answer cache and per-passage state).
//!
//! - **Managed fine-tuning** ([`finetune`]): Mistral's files and fine-tuning jobs API, through the
//!   same client, error reading and retries.
//!
//! `examples/bench.rs` measures the pipeline against the loopback server of [`loopback`] (feature
//! `loopback`).
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
pub mod finetune;
pub mod keys;
pub mod limiter;
#[cfg(feature = "loopback")]
pub mod loopback;
pub mod parse;
pub mod passages;
pub mod pipeline;
pub mod prompt;
pub mod provider;
pub mod retry;

pub use error::{CallError, CallErrorKind, Error, Result};
pub use keys::{KeyLookup, KeySource};
pub use parse::{Pair, Repair, parse_answer};
pub use passages::{BookText, Cast, Passage, SelectOptions, select};
pub use pipeline::{
    Answer, Evaluator, Generated, ItemResult, Outcome, PipelineConfig, PipelineError, Price,
    Progress, Sink, WorkItem, run,
};
pub use prompt::{PromptContext, PromptTemplate, Task, cache_key, default_template, render};
pub use provider::{
    BoxFuture, Completion, HttpConfig, HttpProvider, MISTRAL_BASE_URL, Provider, Request, Turn,
    Usage,
};
pub use retry::RetryPolicy;
