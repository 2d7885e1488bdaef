//! Linear layers with optional LoRA, and PEFT-format adapters.
//!
//! The frozen base weight is a candle `QMatMul`: quantised blocks (Q4_1, Q8_0...) or a dense
//! tensor. LoRA is never merged into it: [`Linear::forward`] adds `scale · B(A x)` from whichever
//! adapter the caller passes, so several adapters share one base in memory (LoRA, Hu et al. 2021,
//! arXiv:2106.09685; layout and scaling as in Hugging Face PEFT's `lora/layer.py`).
//!
//! Adapters are in the Hugging Face layout; the model un-permutes GGUF's q/k rows at load, so a
//! PEFT adapter applies as is and one trained here is written as is.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::QMatMul;
use candle_core::{DType, Device, Module, Tensor};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The seven projections LoRA can attach to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proj {
    /// Attention query.
    Q,
    /// Attention key.
    K,
    /// Attention value.
    V,
    /// Attention output.
    O,
    /// MLP gate.
    Gate,
    /// MLP up.
    Up,
    /// MLP down.
    Down,
}

impl Proj {
    /// All projections, in layer order.
    pub const ALL: [Proj; 7] = [
        Proj::Q,
        Proj::K,
        Proj::V,
        Proj::O,
        Proj::Gate,
        Proj::Up,
        Proj::Down,
    ];

    /// The PEFT / Hugging Face module name (`q_proj`...).
    pub fn hf_name(self) -> &'static str {
        match self {
            Proj::Q => "q_proj",
            Proj::K => "k_proj",
            Proj::V => "v_proj",
            Proj::O => "o_proj",
            Proj::Gate => "gate_proj",
            Proj::Up => "up_proj",
            Proj::Down => "down_proj",
        }
    }

    /// The module path under a decoder layer (`self_attn.q_proj`...).
    pub fn hf_path(self) -> &'static str {
        match self {
            Proj::Q => "self_attn.q_proj",
            Proj::K => "self_attn.k_proj",
            Proj::V => "self_attn.v_proj",
            Proj::O => "self_attn.o_proj",
            Proj::Gate => "mlp.gate_proj",
            Proj::Up => "mlp.up_proj",
            Proj::Down => "mlp.down_proj",
        }
    }

    /// llama.cpp's tensor name under `blk.N.` (`attn_q`...).
    pub fn gguf_name(self) -> &'static str {
        match self {
            Proj::Q => "attn_q",
            Proj::K => "attn_k",
            Proj::V => "attn_v",
            Proj::O => "attn_output",
            Proj::Gate => "ffn_gate",
            Proj::Up => "ffn_up",
            Proj::Down => "ffn_down",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Rows from which a quantised weight is widened to f32 for one matmul.
const DEQUANTIZE_MIN_ROWS: usize = 2;
/// Largest weight widened that way (keeps the temporary under 64 MB).
const DEQUANTIZE_MAX_ELEMS: usize = 16 << 20;

/// A frozen linear layer `y = x Wᵀ`, W of shape (out, in).
#[derive(Debug, Clone)]
pub struct Linear {
    weight: QMatMul,
    in_dim: usize,
    out_dim: usize,
}

impl Linear {
    /// Wraps a base weight of shape (out, in).
    pub fn new(weight: QMatMul, out_dim: usize, in_dim: usize) -> Self {
        Linear {
            weight,
            in_dim,
            out_dim,
        }
    }

    /// The frozen base weight (quantised or dense).
    pub fn base(&self) -> &QMatMul {
        &self.weight
    }

    /// (out, in).
    pub fn dims(&self) -> (usize, usize) {
        (self.out_dim, self.in_dim)
    }

    /// `x Wᵀ`, plus `scale · (x Aᵀ) Bᵀ` when a LoRA pair is given.
    pub fn forward(&self, x: &Tensor, lora: Option<&LoraPair>) -> Result<Tensor> {
        let rows = x.elem_count() / self.in_dim.max(1);
        let y = match &self.weight {
            // For many rows at once (a prompt), widening the blocks and using the f32 GEMM is
            // several times faster on CPU than candle's per-row quantised dot products; the
            // widened copy is dropped right after. Generation (one row) keeps the quantised path.
            QMatMul::QTensor(q)
                if rows >= DEQUANTIZE_MIN_ROWS
                    && self.in_dim * self.out_dim <= DEQUANTIZE_MAX_ELEMS
                    && x.device().is_cpu() =>
            {
                let w = q.dequantize(x.device())?;
                x.broadcast_matmul(&w.t()?)?
            }
            // One row (a generated token): rayon instead of candle's spinning barrier pool.
            QMatMul::QTensor(q)
                if rows == 1 && x.device().is_cpu() && x.dtype() == candle_core::DType::F32 =>
            {
                let xs: Vec<f32> = x.flatten_all()?.to_vec1()?;
                match crate::gemv::try_gemv(q, &xs)? {
                    Some(out) => {
                        let mut shape = x.dims().to_vec();
                        if let Some(last) = shape.last_mut() {
                            *last = self.out_dim;
                        }
                        Tensor::from_vec(out, shape, x.device())?
                    }
                    None => self.weight.forward(x)?,
                }
            }
            w => w.forward(x)?,
        };
        match lora {
            None => Ok(y),
            Some(l) => {
                let delta = x.broadcast_matmul(&l.a.t()?)?.broadcast_matmul(&l.b.t()?)?;
                Ok((y + (delta * l.scale)?)?)
            }
        }
    }
}

/// One LoRA pair: A (r, in), B (out, r), applied as `scale · B A`.
#[derive(Debug, Clone)]
pub struct LoraPair {
    /// Down projection, shape (r, in).
    pub a: Tensor,
    /// Up projection, shape (out, r).
    pub b: Tensor,
    /// `alpha / r`, or `alpha / sqrt(r)` with rsLoRA.
    pub scale: f64,
}

/// A LoRA adapter: per layer, per projection, an optional pair.
#[derive(Debug, Clone)]
pub struct LoraAdapter {
    layers: Vec<[Option<LoraPair>; 7]>,
    /// The settings it was made with.
    pub config: AdapterConfig,
}

/// The subset of PEFT's `adapter_config.json` that inference needs.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct AdapterConfig {
    /// Rank.
    pub r: usize,
    /// Scaling numerator.
    pub lora_alpha: f64,
    /// Scale by `alpha / sqrt(r)` instead of `alpha / r`.
    #[serde(default)]
    pub use_rslora: bool,
    /// Per-module rank overrides.
    #[serde(default)]
    pub rank_pattern: HashMap<String, usize>,
    /// Per-module alpha overrides.
    #[serde(default)]
    pub alpha_pattern: HashMap<String, f64>,
    /// The base model the adapter was trained on, as PEFT records it.
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    /// Always "LORA" for adapters this runtime reads.
    #[serde(default)]
    pub peft_type: Option<String>,
}

impl LoraAdapter {
    /// An adapter with no pairs yet, for `n_layers` layers.
    pub fn empty(n_layers: usize, config: AdapterConfig) -> Self {
        LoraAdapter {
            layers: (0..n_layers).map(|_| Default::default()).collect(),
            config,
        }
    }

    /// The pair on `proj` of layer `layer`, if any.
    pub fn get(&self, layer: usize, proj: Proj) -> Option<&LoraPair> {
        self.layers.get(layer)?[proj.index()].as_ref()
    }

    /// Sets the pair on `proj` of layer `layer`.
    pub fn set(&mut self, layer: usize, proj: Proj, pair: LoraPair) {
        if let Some(l) = self.layers.get_mut(layer) {
            l[proj.index()] = Some(pair);
        }
    }

    /// Number of layers it covers.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// Reads a PEFT adapter folder (`adapter_config.json`, `adapter_model.safetensors`) and checks
    /// every tensor against the base model's shapes, given as `dims(layer, proj) -> (out, in)`.
    pub fn load_peft(
        dir: &Path,
        n_layers: usize,
        dims: impl Fn(usize, Proj) -> (usize, usize),
        device: &Device,
    ) -> Result<Self> {
        let config_path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|source| Error::Io {
            path: config_path.clone(),
            source,
        })?;
        let config: AdapterConfig = serde_json::from_str(&text).map_err(|source| Error::Json {
            path: config_path.clone(),
            source,
        })?;
        if let Some(t) = &config.peft_type
            && t != "LORA"
        {
            return Err(Error::AdapterMismatch {
                path: config_path,
                problem: format!("peft_type {t} is not LORA"),
            });
        }
        let weights_path = dir.join("adapter_model.safetensors");
        if !weights_path.exists() {
            return Err(Error::Io {
                path: weights_path,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "adapter weights not found",
                ),
            });
        }
        let tensors =
            candle_core::safetensors::load(&weights_path, device).map_err(|e| Error::Corrupt {
                path: weights_path.clone(),
                problem: e.to_string(),
            })?;
        let mismatch = |problem: String| Error::AdapterMismatch {
            path: weights_path.clone(),
            problem,
        };
        let mut adapter = LoraAdapter::empty(n_layers, config);
        let mut pairs: HashMap<(usize, Proj), (Option<Tensor>, Option<Tensor>)> = HashMap::new();
        for (name, tensor) in tensors {
            let Some((layer, proj, is_a)) = parse_peft_key(&name) else {
                return Err(mismatch(format!("unexpected tensor `{name}`")));
            };
            if layer >= n_layers {
                return Err(mismatch(format!(
                    "`{name}` is for layer {layer}, the model has {n_layers}"
                )));
            }
            let entry = pairs.entry((layer, proj)).or_default();
            let t = tensor.to_dtype(DType::F32)?;
            if is_a {
                entry.0 = Some(t)
            } else {
                entry.1 = Some(t)
            }
        }
        for ((layer, proj), (a, b)) in pairs {
            let name = format!("layers.{layer}.{}", proj.hf_path());
            let (Some(a), Some(b)) = (a, b) else {
                return Err(mismatch(format!(
                    "{name} has only one of lora_A and lora_B"
                )));
            };
            let (out_dim, in_dim) = dims(layer, proj);
            let (r, a_in) = a.dims2()?;
            let (b_out, b_r) = b.dims2()?;
            if a_in != in_dim || b_out != out_dim || b_r != r {
                return Err(mismatch(format!(
                    "{name}: lora_A {:?} and lora_B {:?} do not fit a ({out_dim}, {in_dim}) weight: the adapter was made for another base model",
                    a.dims(),
                    b.dims()
                )));
            }
            let c = &adapter.config;
            let key = proj.hf_name();
            let rank = c.rank_pattern.get(key).copied().unwrap_or(r);
            let alpha = c.alpha_pattern.get(key).copied().unwrap_or(c.lora_alpha);
            let scale = if c.use_rslora {
                alpha / (rank as f64).sqrt()
            } else {
                alpha / rank as f64
            };
            adapter.set(layer, proj, LoraPair { a, b, scale });
        }
        Ok(adapter)
    }
}

/// `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight` → (3, Q, true).
fn parse_peft_key(name: &str) -> Option<(usize, Proj, bool)> {
    let rest = name.split("layers.").nth(1)?;
    let (layer, rest) = rest.split_once('.')?;
    let layer = layer.parse().ok()?;
    let proj = Proj::ALL
        .into_iter()
        .find(|p| rest.starts_with(p.hf_path()))?;
    let rest = &rest[proj.hf_path().len()..];
    let is_a = if rest.starts_with(".lora_A") {
        true
    } else if rest.starts_with(".lora_B") {
        false
    } else {
        return None;
    };
    Some((layer, proj, is_a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peft_keys_parse() {
        assert_eq!(
            parse_peft_key("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight"),
            Some((3, Proj::Q, true))
        );
        assert_eq!(
            parse_peft_key("base_model.model.model.layers.29.mlp.down_proj.lora_B.weight"),
            Some((29, Proj::Down, false))
        );
        assert_eq!(parse_peft_key("base_model.model.lm_head.weight"), None);
    }
}
