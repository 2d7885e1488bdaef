//! QLoRA fine-tuning on Grimoire's model runtime ([`grimoire_llm`]).
//!
//! The frozen base stays as the runtime loaded it (a GGUF's 4-bit blocks, or safetensors
//! quantised at load) and LoRA pairs (Hu et al. 2021, arXiv:2106.09685; QLoRA: Dettmers et al.
//! 2023, arXiv:2305.14314) are trained through it with custom operations whose backward passes
//! give input gradients only ([`ops`]). The loss covers assistant tokens only, with the mask made
//! from the model's own chat template ([`data`]).
//!
//! - [`Trainer`] runs a configured job in a run folder: AdamW, warm-up and decay, clipping,
//!   accumulation, activation checkpointing, validation, early stopping, checkpoints that resume
//!   the same curve, cancellation, progress events, and the outputs (PEFT adapter, metrics, plot,
//!   config, data snapshot).
//! - [`estimate`] predicts time and memory before a run; [`merge`] folds an adapter into the base
//!   and writes a Hugging Face folder; [`export_gguf`] merges it into a GGUF base and writes the
//!   persona as one GGUF file for llama.cpp and Ollama.
#![warn(missing_docs)]

mod attention;
mod blas;
mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod estimate;
mod files;
pub mod fused;
pub mod gguf;
mod heap;
mod math;
pub mod lora_linear;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod optim;
pub mod peft;
mod rng;
mod tape;
mod trainer;

pub use config::{BaseFormat, LoraConfig, PRESETS, Schedule, Target, TrainConfig};
pub use data::{DataSource, DataStats, Example, encode_example, encode_messages, read_jsonl};
pub use error::{Error, Result};
pub use estimate::{Estimate, ModelFacts, estimate, keep_activations_if_they_fit, memory_budget};
pub use files::peak_rss_bytes;
pub use gguf::{GgufExported, GgufType, export_gguf};
pub use metrics::{Metric, read_metrics, render_plot};
pub use peft::{merge, save_adapter};
pub use trainer::{Progress, RunStatus, RunSummary, TrainEvent, Trainer};
