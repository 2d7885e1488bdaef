//! Run configuration: LoRA settings, optimisation, schedule, evaluation, and named presets.

use grimoire_llm::Proj;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{Error, Result};

/// A projection LoRA can attach to, named as PEFT's `target_modules` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(rename = "LoraTarget")]
pub enum Target {
    /// Attention query.
    QProj,
    /// Attention key.
    KProj,
    /// Attention value.
    VProj,
    /// Attention output.
    OProj,
    /// MLP gate.
    GateProj,
    /// MLP up.
    UpProj,
    /// MLP down.
    DownProj,
}

impl Target {
    /// All seven, in layer order.
    pub const ALL: [Target; 7] = [
        Target::QProj,
        Target::KProj,
        Target::VProj,
        Target::OProj,
        Target::GateProj,
        Target::UpProj,
        Target::DownProj,
    ];

    /// The runtime's projection.
    pub fn proj(self) -> Proj {
        match self {
            Target::QProj => Proj::Q,
            Target::KProj => Proj::K,
            Target::VProj => Proj::V,
            Target::OProj => Proj::O,
            Target::GateProj => Proj::Gate,
            Target::UpProj => Proj::Up,
            Target::DownProj => Proj::Down,
        }
    }
}

/// LoRA hyper-parameters (Hu et al. 2021; rsLoRA: Kalajdzievski 2023), as PEFT's `LoraConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct LoraConfig {
    /// Rank.
    pub r: usize,
    /// Scaling numerator: the update is `alpha / r · B A` (or `alpha / √r` with rsLoRA).
    pub alpha: f64,
    /// Dropout on the LoRA branch's input, during training only.
    pub dropout: f64,
    /// Scale by `alpha / √r` instead of `alpha / r`.
    pub use_rslora: bool,
    /// Projections to adapt.
    pub targets: Vec<Target>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            r: 16,
            alpha: 32.0,
            dropout: 0.05,
            use_rslora: false,
            targets: Target::ALL.to_vec(),
        }
    }
}

impl LoraConfig {
    /// The factor applied to `B A`.
    pub fn scale(&self) -> f64 {
        if self.use_rslora {
            self.alpha / (self.r as f64).sqrt()
        } else {
            self.alpha / self.r as f64
        }
    }
}

/// Learning-rate decay after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Half a cosine down to `min_lr_ratio · learning_rate`.
    Cosine,
    /// A straight line down to `min_lr_ratio · learning_rate`.
    Linear,
    /// Constant after warm-up.
    Constant,
}

/// How the frozen base weights are held during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BaseFormat {
    /// A GGUF's blocks as stored; a safetensors folder quantised to Q4_1 at load (QLoRA).
    Auto,
    /// Quantised to Q4_0 at load.
    Q4_0,
    /// Quantised to Q4_1 at load.
    Q4_1,
    /// Quantised to Q8_0 at load.
    Q8_0,
    /// Dense float32 (reference arithmetic, 4–8× the memory).
    F32,
}

/// Everything that decides a run. Serialised into the run folder's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct TrainConfig {
    /// LoRA settings.
    pub lora: LoraConfig,
    /// Passes over the training set.
    pub epochs: usize,
    /// Stop after this many optimizer steps, if set (overrides `epochs` when smaller).
    pub max_steps: Option<usize>,
    /// Sequences per micro-batch (grouped by length).
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Longest sequence in tokens; longer examples lose user text from the left.
    pub max_seq_len: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Floor of the decay, as a fraction of the peak.
    pub min_lr_ratio: f64,
    /// Decoupled weight decay (AdamW) on the LoRA matrices.
    pub weight_decay: f64,
    /// Adam β₁.
    pub beta1: f64,
    /// Adam β₂.
    pub beta2: f64,
    /// Adam ε.
    pub eps: f64,
    /// Warm-up as a fraction of all steps (used when `warmup_steps` is not set).
    pub warmup_ratio: f64,
    /// Warm-up steps.
    pub warmup_steps: Option<usize>,
    /// Decay after warm-up.
    pub schedule: Schedule,
    /// Clip the global gradient norm to this (0 turns clipping off).
    pub max_grad_norm: f64,
    /// Recompute each layer's activations in the backward pass instead of keeping them.
    pub activation_checkpointing: bool,
    /// Validation loss every this many steps (0: only at the end).
    pub eval_every: usize,
    /// Stop when the validation loss has not improved for this many evaluations.
    pub early_stopping_patience: Option<usize>,
    /// Smallest decrease of the validation loss that counts as an improvement.
    pub early_stopping_min_delta: f64,
    /// Write the adapter of the best validation loss rather than the last step's.
    pub keep_best: bool,
    /// Resumable checkpoint every this many steps (and on cancel).
    pub checkpoint_every: usize,
    /// Seed for LoRA initialisation, data order and dropout.
    pub seed: u64,
    /// How to hold the frozen base.
    pub base_format: BaseFormat,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            lora: LoraConfig::default(),
            epochs: 3,
            max_steps: None,
            batch_size: 4,
            grad_accum: 1,
            max_seq_len: 512,
            learning_rate: 2e-4,
            min_lr_ratio: 0.0,
            weight_decay: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            warmup_ratio: 0.03,
            warmup_steps: None,
            schedule: Schedule::Cosine,
            max_grad_norm: 1.0,
            activation_checkpointing: true,
            eval_every: 50,
            early_stopping_patience: None,
            early_stopping_min_delta: 0.0,
            keep_best: false,
            checkpoint_every: 25,
            seed: 42,
            base_format: BaseFormat::Auto,
        }
    }
}

/// The presets [`TrainConfig::preset`] knows.
pub const PRESETS: [&str; 4] = ["cpu-small", "cpu-quick", "gpu-small", "gpu-7b"];

impl TrainConfig {
    /// A named preset: `cpu-small` (≤ 0.5 B parameters on a laptop CPU: r 16, batch 4 × 512,
    /// 3 epochs), `cpu-quick` (a first look in minutes: r 8, q/v only, 1 epoch, 256 tokens),
    /// `gpu-small` (≤ 3 B on a GPU: batch 8 × 1024, no recomputation), `gpu-7b` (QLoRA of a 7 B
    /// model in 24 GB: batch 1 × 2048, 16 micro-batches per step, recomputation on).
    pub fn preset(name: &str) -> Option<TrainConfig> {
        let base = TrainConfig::default();
        Some(match name {
            "cpu-small" => base,
            "cpu-quick" => TrainConfig {
                lora: LoraConfig {
                    r: 8,
                    alpha: 16.0,
                    targets: vec![Target::QProj, Target::VProj],
                    ..LoraConfig::default()
                },
                epochs: 1,
                max_seq_len: 256,
                learning_rate: 3e-4,
                ..base
            },
            "gpu-small" => TrainConfig {
                batch_size: 8,
                max_seq_len: 1024,
                activation_checkpointing: false,
                ..base
            },
            "gpu-7b" => TrainConfig {
                batch_size: 1,
                grad_accum: 16,
                max_seq_len: 2048,
                learning_rate: 1e-4,
                ..base
            },
            _ => return None,
        })
    }

    /// The preset for a model of `parameters` on a GPU or not.
    pub fn preset_for(parameters: u64, gpu: bool) -> TrainConfig {
        let name = match (gpu, parameters) {
            (false, p) if p > 1_000_000_000 => "cpu-quick",
            (false, _) => "cpu-small",
            (true, p) if p > 3_000_000_000 => "gpu-7b",
            (true, _) => "gpu-small",
        };
        TrainConfig::preset(name).unwrap_or_default()
    }

    /// Rejects settings that cannot train.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(m.into()));
        if self.lora.r == 0 {
            return bad("LoRA rank must be positive");
        }
        if self.lora.targets.is_empty() {
            return bad("LoRA needs at least one target projection");
        }
        if !(0.0..1.0).contains(&self.lora.dropout) {
            return bad("dropout must be in [0, 1)");
        }
        if self.batch_size == 0 || self.grad_accum == 0 {
            return bad("batch size and gradient accumulation must be positive");
        }
        if self.max_seq_len < 8 {
            return bad("max_seq_len must be at least 8 tokens");
        }
        if self.epochs == 0 && self.max_steps.is_none_or(|s| s == 0) {
            return bad("nothing to do: zero epochs and no max_steps");
        }
        if self.learning_rate.is_nan() || self.learning_rate <= 0.0 {
            return bad("learning rate must be positive");
        }
        Ok(())
    }

    /// Warm-up steps for a run of `total` steps.
    pub fn warmup(&self, total: usize) -> usize {
        self.warmup_steps
            .unwrap_or_else(|| (self.warmup_ratio * total as f64).ceil() as usize)
    }

    /// The learning rate at optimizer step `step` (0-based) of `total`.
    pub fn lr_at(&self, step: usize, total: usize) -> f64 {
        let warmup = self.warmup(total);
        let peak = self.learning_rate;
        if step < warmup {
            return peak * (step + 1) as f64 / warmup as f64;
        }
        let floor = peak * self.min_lr_ratio;
        let span = total.saturating_sub(warmup).max(1) as f64;
        let progress = ((step - warmup) as f64 / span).clamp(0.0, 1.0);
        match self.schedule {
            Schedule::Constant => peak,
            Schedule::Linear => floor + (peak - floor) * (1.0 - progress),
            Schedule::Cosine => {
                floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays() {
        let c = TrainConfig {
            warmup_steps: Some(2),
            ..TrainConfig::default()
        };
        assert!((c.lr_at(0, 10) - 1e-4).abs() < 1e-12);
        assert!((c.lr_at(1, 10) - 2e-4).abs() < 1e-12);
        assert!((c.lr_at(2, 10) - 2e-4).abs() < 1e-12);
        assert!(c.lr_at(9, 10) < c.lr_at(5, 10));
        assert!(c.lr_at(10, 10).abs() < 1e-12);
    }

    #[test]
    fn presets_parse_and_validate() {
        for p in PRESETS {
            let c = TrainConfig::preset(p).expect("preset");
            c.validate().expect("valid");
            let json = serde_json::to_string(&c).expect("json");
            let back: TrainConfig = serde_json::from_str(&json).expect("back");
            assert_eq!(back, c);
        }
        let partial: TrainConfig = serde_json::from_str(r#"{"epochs": 1}"#).expect("partial");
        assert_eq!(partial.batch_size, 4);
    }
}
