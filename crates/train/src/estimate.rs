//! Time and memory before a run starts, from the model's shape, the configuration and the data,
//! calibrated on measured runs (see the crate README's bench table).

use std::path::Path;

use grimoire_llm::gguf::Gguf;
use grimoire_llm::model::weights::gguf_config;
use grimoire_llm::{LlamaConfig, ModelInfo, Proj};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::config::TrainConfig;
use crate::data::DataStats;
use crate::error::{Error, Result, io};

/// Sustained f32 FLOP/s per CPU thread of this implementation, measured by the bench on a
/// 2-core AVX2 machine with OpenBLAS's sgemm (frozen matmuls dominate; see the README): 5.4 to
/// 7.0 s a step without recomputation (6.0 estimated), 7.9 with it (7.9 estimated).
const CPU_FLOPS_PER_THREAD: f64 = 46e9;
/// The recomputation's element-wise passes and copies, which the FLOP count leaves out.
const RECOMPUTE_OVERHEAD: f64 = 1.25;
/// Query positions per tile of the causal attention products (`attention.rs`).
const ATTENTION_TILE: f64 = 64.0;
/// Sustained FLOP/s on a CUDA GPU: a conservative guess, not yet measured.
const GPU_FLOPS: f64 = 20e12;
/// Resident memory of the process besides weights and activations (runtime, tokenizer, code).
const OVERHEAD_BYTES: f64 = 250e6;

/// The shape of a base model, read from its file or folder headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ModelFacts {
    /// Parameter count.
    pub parameters: u64,
    /// Bytes on disk (≈ bytes of frozen weights in memory when kept as stored).
    pub base_bytes: u64,
    /// Hyper-parameters.
    #[ts(skip)]
    #[serde(skip)]
    pub config: Option<LlamaConfig>,
}

impl ModelFacts {
    /// Reads headers only (cheap).
    pub fn read(path: &Path) -> Result<Self> {
        let info = ModelInfo::read(path)?;
        let config = if path.is_dir() {
            let p = path.join("config.json");
            let text = std::fs::read_to_string(&p).map_err(io(&p))?;
            serde_json::from_str(&text).map_err(|source| Error::Json {
                path: p,
                line: None,
                source,
            })?
        } else {
            gguf_config(&Gguf::open(path)?)?
        };
        Ok(ModelFacts {
            parameters: info.parameters,
            base_bytes: info.size_bytes,
            config: Some(config),
        })
    }
}

/// What a run is expected to cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Estimate {
    /// Optimizer steps.
    pub total_steps: usize,
    /// Tokens per second.
    pub tokens_per_s: f64,
    /// Seconds per optimizer step.
    pub seconds_per_step: f64,
    /// Seconds for the run (training plus validation passes).
    pub seconds: f64,
    /// Peak resident memory, bytes.
    pub peak_memory_bytes: u64,
    /// LoRA parameters trained.
    pub trainable_params: u64,
}

/// Predicts time and memory for training `model` with `config` on `data`, with `threads` CPU
/// threads or on a GPU (`gpu`).
pub fn estimate(
    model: &ModelFacts,
    config: &TrainConfig,
    data: &DataStats,
    threads: usize,
    gpu: bool,
) -> Estimate {
    let cfg = model.config.clone().unwrap_or(LlamaConfig {
        hidden_size: 576,
        intermediate_size: 1536,
        num_hidden_layers: 30,
        num_attention_heads: 9,
        num_key_value_heads: Some(3),
        head_dim: None,
        rms_norm_eps: 1e-5,
        rope_theta: 10000.0,
        max_position_embeddings: 8192,
        vocab_size: 49152,
        tie_word_embeddings: true,
        sliding_window: None,
        rope_scaling: None,
    });
    let (layers, d, ffn, vocab) = (
        cfg.num_hidden_layers as f64,
        cfg.hidden_size as f64,
        cfg.intermediate_size as f64,
        cfg.vocab_size as f64,
    );
    let lin: f64 = Proj::ALL
        .iter()
        .map(|p| {
            let (o, i) = cfg.proj_dims(*p);
            (o * i) as f64
        })
        .sum::<f64>();
    let lora_params: f64 = layers
        * config
            .lora
            .targets
            .iter()
            .map(|t| {
                let (o, i) = cfg.proj_dims(t.proj());
                (config.lora.r * (o + i)) as f64
            })
            .sum::<f64>();
    let seq = data.mean_tokens().clamp(1.0, config.max_seq_len as f64);
    let trained_frac = data.trained_tokens as f64 / data.train_tokens.max(1) as f64;
    // Per token: frozen matmuls forward and input-gradient backward (the checkpointed
    // recomputation replays the kept products); attention (two products forward, four backward,
    // over the causal tiles: (n + 1) / 2n of the full matrix for n tiles), its forward again
    // with checkpointing; LoRA (three passes, four with checkpointing); the output projection at
    // trained positions (forward and gradient).
    let tiles = (seq / ATTENTION_TILE).ceil().max(1.0);
    let causal = (tiles + 1.0) / (2.0 * tiles);
    let attention = 4.0 * seq * d * causal;
    let (passes, recompute) = if config.activation_checkpointing { (4.0, RECOMPUTE_OVERHEAD) } else { (3.0, 1.0) };
    let per_token = recompute
        * (layers * (2.0 * lin * 2.0 + attention * passes) + 2.0 * passes * lora_params + 4.0 * vocab * d * trained_frac.max(0.05));
    let flops = if gpu {
        GPU_FLOPS
    } else {
        CPU_FLOPS_PER_THREAD * threads.max(1) as f64
    };
    let tokens_per_s = flops / per_token;
    let batches = data.train_examples.div_ceil(config.batch_size.max(1));
    let micro = batches * config.epochs;
    let mut total_steps = micro.div_ceil(config.grad_accum.max(1));
    if let Some(m) = config.max_steps {
        total_steps = if config.epochs == 0 {
            m
        } else {
            total_steps.min(m)
        };
    }
    let tokens_per_step = seq * (config.batch_size * config.grad_accum) as f64;
    let seconds_per_step = tokens_per_step / tokens_per_s;
    let evals = total_steps.checked_div(config.eval_every).unwrap_or(0) + 1;
    let val_tokens = data.validation_examples as f64 * seq;
    let seconds = seconds_per_step * total_steps as f64
        + evals as f64 * val_tokens * per_token / recompute / passes / flops;

    // Memory: frozen weights, the dense output projection, one dense layer weight in flight,
    // LoRA (weights, gradients, two moments), activations, one chunk of logits.
    let bt = config.batch_size as f64 * seq;
    let heads = cfg.num_attention_heads as f64;
    // A layer's tape (`tape.rs`): six d-wide tensors per token (input, two norms, attention
    // output, residual, rotated queries), the rotated keys and the values, three ffn-wide (gate,
    // up, their product), and the attention probabilities; its backward holds about four d-wide
    // and three ffn-wide gradients and the probabilities' gradient at once.
    let kv = cfg.proj_dims(Proj::K).0 as f64;
    let probs = 4.0 * config.batch_size as f64 * heads * seq * seq;
    let layer_act = 4.0 * bt * (6.0 * d + 2.0 * kv + 3.0 * ffn) + probs;
    let backward = 4.0 * bt * (4.0 * d + 3.0 * ffn) + probs;
    // With checkpointing: each layer's input and its frozen matmul products.
    let outs: f64 = Proj::ALL.iter().map(|p| cfg.proj_dims(*p).0 as f64).sum();
    let activations = if config.activation_checkpointing {
        layers * 4.0 * bt * (d + outs) + layer_act + backward
    } else {
        layers * layer_act + backward
    };
    // A base small enough is held widened to f32 for the whole run.
    let dense = 4.0 * layers * lin;
    let widened = if dense <= crate::model::DENSE_BUDGET as f64 {
        dense
    } else {
        0.0
    };
    let memory = model.base_bytes as f64
        + widened
        + 4.0 * vocab * d
        + 8.0 * (ffn * d).max(lin / 7.0)
        + 16.0 * lora_params
        + activations
        + 3.0 * 4.0 * 256.0 * vocab
        + OVERHEAD_BYTES;
    Estimate {
        total_steps,
        tokens_per_s,
        seconds_per_step,
        seconds,
        peak_memory_bytes: memory as u64,
        trainable_params: lora_params as u64,
    }
}

/// Whether to keep every layer's activations instead of recomputing them in the backward
/// (`activation_checkpointing: false`), for a CPU run: yes when the estimated peak memory with the
/// longest sequences (every one `max_seq_len`, so the real peak is lower) fits in
/// `budget_bytes`. Keeping them makes a step about 1.2× faster on SmolLM2-135M (9.3 against
/// 11.2 s) for 1.6× the memory (2.6 against 1.6 GB, batches of 4 × 256). A config that already
/// keeps them is returned unchanged.
pub fn keep_activations_if_they_fit(
    model: &ModelFacts,
    mut config: TrainConfig,
    budget_bytes: u64,
) -> TrainConfig {
    if !config.activation_checkpointing {
        return config;
    }
    let worst = DataStats {
        train_examples: config.batch_size.max(1),
        validation_examples: 0,
        train_tokens: (config.batch_size.max(1) * config.max_seq_len) as u64,
        trained_tokens: (config.batch_size.max(1) * config.max_seq_len / 2) as u64,
        truncated: 0,
        dropped: 0,
    };
    let keep = TrainConfig {
        activation_checkpointing: false,
        ..config.clone()
    };
    if estimate(model, &keep, &worst, 1, false).peak_memory_bytes <= budget_bytes {
        config.activation_checkpointing = false;
    }
    config
}

/// Half the memory the system says is available now (`MemAvailable` in `/proc/meminfo`), the
/// budget [`keep_activations_if_they_fit`] is given by the app and CLI; 0 where that cannot be
/// read, so activations are then recomputed.
pub fn memory_budget() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemAvailable:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024 / 2)
}
