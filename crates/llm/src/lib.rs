//! Grimoire's model runtime: a llama-family model in candle, with everything around it.
//!
//! - [`Model::load`] reads a GGUF file or a Hugging Face folder into a [`Llama`] network, a
//!   [`Tokenizer`] that gives llama.cpp's ids, and the model's own [`ChatTemplate`].
//! - [`Llama`] returns logits for every position (training, scoring) or only the last
//!   (generation), with a preallocated KV [`Cache`]; each projection takes an optional LoRA pair
//!   from a [`LoraAdapter`], so several PEFT adapters share one frozen base.
//! - [`generate`] samples with temperature, top-k, top-p, repetition penalty and a seed, stops on
//!   EOS or stop strings, streams whole UTF-8 characters and honours a cancel token.
//! - [`Engine`] owns one model on its own thread and serves requests through a queue, so two
//!   callers never oversubscribe the cores.
//!
//! CPU is the default backend; the `cuda` feature forwards to candle's CUDA backend.
#![warn(missing_docs)]

pub mod engine;
pub mod error;
mod gemv;
pub mod generate;
pub mod gguf;
#[cfg(feature = "hub")]
pub mod hub;
pub mod lora;
pub mod model;
pub mod sampling;
pub mod template;
pub mod tokenizer;

pub use candle_core::quantized::GgmlDType;
pub use candle_core::{Device, Tensor};
pub use engine::{ChatRequest, Engine, Event, Reply};
pub use error::{Error, Result};
pub use generate::{
    CancelToken, Completion, FinishReason, GenerateParams, Generation, chat, fit_history, generate,
};
pub use lora::{AdapterConfig, Linear, LoraAdapter, LoraPair, Proj};
pub use model::llama::{Cache, Llama, LlamaConfig};
pub use model::weights::WeightFormat;
pub use model::{LoadOptions, Model, ModelInfo, built_in_model_path, list_models, models_dir};
pub use sampling::{Sampler, SamplingParams};
pub use template::{ChatTemplate, Message, Role};
pub use tokenizer::Tokenizer;
