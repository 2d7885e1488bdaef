//! The llama-family decoder: Llama 2/3, Mistral (sliding-window attention), SmolLM2 (tied
//! embeddings).
//!
//! Touvron et al., "LLaMA" (arXiv:2302.13971); Jiang et al., "Mistral 7B" (arXiv:2310.06825).
//! Reference implementations: Hugging Face `transformers/models/llama/modeling_llama.py` and
//! candle's `candle-transformers/src/models/llama.rs`. Differences from candle's quantized llama:
//! every projection is a [`Linear`] that takes an optional LoRA pair, the forward returns logits for
//! all positions (training) or only the last (generation), the KV cache is preallocated and written
//! in place, and grouped-query attention folds the query heads onto their KV head instead of
//! copying K and V.
//!
//! Weights are in the Hugging Face layout (rotate-half RoPE); the GGUF loader un-permutes q/k.

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{D, DType, Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::lora::{Linear, LoraAdapter, Proj};

mod decode;

/// Hyper-parameters, mirroring the fields of a Hugging Face `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention); defaults to the query heads.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Per-head width; defaults to `hidden_size / num_attention_heads`.
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// RMSNorm epsilon.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// RoPE base frequency.
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Context length the model was trained for.
    #[serde(default = "default_context")]
    pub max_position_embeddings: usize,
    /// Embedding rows.
    pub vocab_size: usize,
    /// Whether the output projection reuses the embedding.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Mistral's sliding attention window, if any.
    #[serde(default)]
    pub sliding_window: Option<usize>,
    /// RoPE frequency scaling (Llama 3.1+ `llama3`, or `linear`).
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
}

/// `rope_scaling` of a Hugging Face config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeScaling {
    /// `llama3` or `linear`.
    #[serde(alias = "type")]
    pub rope_type: String,
    /// Context extension factor.
    pub factor: f64,
    /// Llama 3: wavelengths above `original / low_freq_factor` are scaled fully.
    #[serde(default = "one")]
    pub low_freq_factor: f64,
    /// Llama 3: wavelengths below `original / high_freq_factor` are kept.
    #[serde(default = "four")]
    pub high_freq_factor: f64,
    /// Llama 3: the context the model was pre-trained with.
    #[serde(default = "default_original_context")]
    pub original_max_position_embeddings: usize,
}

fn one() -> f64 {
    1.0
}
fn four() -> f64 {
    4.0
}
fn default_original_context() -> usize {
    8192
}

impl RopeScaling {
    /// Scales one inverse frequency (transformers' `_compute_llama3_parameters`).
    fn apply(&self, inv_freq: f64) -> f64 {
        match self.rope_type.as_str() {
            "linear" => inv_freq / self.factor,
            _ => {
                let original = self.original_max_position_embeddings as f64;
                let low_wavelen = original / self.low_freq_factor;
                let high_wavelen = original / self.high_freq_factor;
                let wavelen = 2.0 * std::f64::consts::PI / inv_freq;
                if wavelen < high_wavelen {
                    inv_freq
                } else if wavelen > low_wavelen {
                    inv_freq / self.factor
                } else {
                    let smooth = (original / wavelen - self.low_freq_factor)
                        / (self.high_freq_factor - self.low_freq_factor);
                    (1.0 - smooth) * inv_freq / self.factor + smooth * inv_freq
                }
            }
        }
    }
}

fn default_eps() -> f64 {
    1e-5
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_context() -> usize {
    4096
}

impl LlamaConfig {
    /// Key/value heads.
    pub fn n_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }
    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }
    /// Output width of each projection, for shape checks: (out, in).
    pub fn proj_dims(&self, proj: Proj) -> (usize, usize) {
        let (d, hd) = (self.hidden_size, self.head_dim());
        match proj {
            Proj::Q => (self.num_attention_heads * hd, d),
            Proj::K | Proj::V => (self.n_kv_heads() * hd, d),
            Proj::O => (d, self.num_attention_heads * hd),
            Proj::Gate | Proj::Up => (self.intermediate_size, d),
            Proj::Down => (d, self.intermediate_size),
        }
    }
    /// Rejects configurations the model cannot run.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let (h, kv) = (self.num_attention_heads, self.n_kv_heads());
        if h == 0 || kv == 0 || h % kv != 0 {
            return Err(format!(
                "{h} attention heads cannot share {kv} key/value heads"
            ));
        }
        if self.head_dim() == 0 || !self.head_dim().is_multiple_of(2) {
            return Err(format!(
                "head dim {} must be even and positive",
                self.head_dim()
            ));
        }
        if let Some(r) = &self.rope_scaling
            && !matches!(r.rope_type.as_str(), "llama3" | "linear" | "default")
        {
            return Err(format!(
                "rope scaling `{}` is not supported (llama3, linear are)",
                r.rope_type
            ));
        }
        if self.hidden_size == 0
            || self.intermediate_size == 0
            || self.num_hidden_layers == 0
            || self.vocab_size == 0
        {
            return Err("a model dimension is zero".into());
        }
        Ok(())
    }
}

/// A stored weight: quantised blocks, or a dense tensor.
#[derive(Debug, Clone)]
pub enum Weight {
    /// GGML blocks, kept quantised.
    Quantized(Arc<QTensor>),
    /// A dense tensor.
    Dense(Tensor),
}

impl Weight {
    fn shape(&self) -> Vec<usize> {
        match self {
            Weight::Quantized(q) => q.shape().dims().to_vec(),
            Weight::Dense(t) => t.dims().to_vec(),
        }
    }
    fn to_dense(&self, device: &Device) -> Result<Tensor> {
        Ok(match self {
            Weight::Quantized(q) => q.dequantize(device)?,
            Weight::Dense(t) => t.to_dtype(DType::F32)?,
        })
    }
    fn to_matmul(&self) -> Result<QMatMul> {
        Ok(match self {
            Weight::Quantized(q) => QMatMul::from_arc(q.clone())?,
            Weight::Dense(t) => QMatMul::Tensor(t.clone()),
        })
    }
}

/// Which weight a loader is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightKey {
    /// Token embedding (vocab, hidden).
    Embed,
    /// Final RMSNorm.
    OutputNorm,
    /// Output projection (absent when tied).
    Output,
    /// RMSNorm before attention in layer i.
    AttnNorm(usize),
    /// RMSNorm before the MLP in layer i.
    FfnNorm(usize),
    /// A projection in layer i.
    Proj(usize, Proj),
    /// Per-frequency RoPE divisors (GGUF `rope_freqs.weight`), optional.
    RopeFreqs,
}

impl WeightKey {
    /// The tensor's name in a GGUF file (llama.cpp's names).
    pub fn gguf_name(self) -> String {
        match self {
            WeightKey::Embed => "token_embd.weight".to_owned(),
            WeightKey::OutputNorm => "output_norm.weight".to_owned(),
            WeightKey::Output => "output.weight".to_owned(),
            WeightKey::RopeFreqs => "rope_freqs.weight".to_owned(),
            WeightKey::AttnNorm(i) => format!("blk.{i}.attn_norm.weight"),
            WeightKey::FfnNorm(i) => format!("blk.{i}.ffn_norm.weight"),
            WeightKey::Proj(i, p) => format!("blk.{i}.{}.weight", p.gguf_name()),
        }
    }
}

/// Where weights come from (a GGUF file, safetensors shards). `Ok(None)` means absent.
pub trait WeightSource {
    /// The weight for `key`, in Hugging Face layout.
    fn load(&mut self, key: WeightKey) -> Result<Option<Weight>>;
    /// The file or folder, for error messages.
    fn path(&self) -> &std::path::Path;
}

/// Rotary position embedding tables (Su et al., arXiv:2104.09864), rotate-half convention.
#[derive(Debug, Clone)]
struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    /// `freq_factors`: llama.cpp's `rope_freqs.weight` (Llama 3 scaling baked into a GGUF), which
    /// divides each frequency.
    fn new(
        cfg: &LlamaConfig,
        freq_factors: Option<&[f32]>,
        max_len: usize,
        device: &Device,
    ) -> Result<Self> {
        let hd = cfg.head_dim();
        let inv: Vec<f32> = (0..hd / 2)
            .map(|i| {
                let mut f = 1.0 / cfg.rope_theta.powf(2.0 * i as f64 / hd as f64);
                if let Some(factors) = freq_factors {
                    f /= factors.get(i).copied().unwrap_or(1.0) as f64;
                } else if let Some(scaling) = cfg
                    .rope_scaling
                    .as_ref()
                    .filter(|r| r.rope_type != "default")
                {
                    f = scaling.apply(f);
                }
                f as f32
            })
            .collect();
        let inv = Tensor::from_vec(inv, (1, hd / 2), device)?;
        let t = Tensor::arange(0u32, max_len as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((max_len, 1))?;
        let freqs = t.matmul(&inv)?;
        Ok(Rope {
            cos: freqs.cos()?,
            sin: freqs.sin()?,
        })
    }

    fn apply(&self, x: &Tensor, pos: usize, fast: bool) -> Result<Tensor> {
        let l = x.dim(2)?;
        let cos = self.cos.narrow(0, pos, l)?;
        let sin = self.sin.narrow(0, pos, l)?;
        Ok(if fast {
            candle_nn::rotary_emb::rope(x, &cos, &sin)?
        } else {
            candle_nn::rotary_emb::rope_slow(x, &cos, &sin)?
        })
    }
}

/// Preallocated key/value cache: per layer, K and V of shape (batch, kv heads, capacity, head dim),
/// written in place; capacity grows by doubling up to the context length.
#[derive(Debug, Clone)]
pub struct Cache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
    capacity: usize,
    max_len: usize,
    batch: usize,
}

impl Cache {
    /// An empty cache for `model`, for sequences of up to the model's context.
    pub fn new(model: &Llama, batch: usize) -> Self {
        Cache {
            layers: vec![None; model.cfg.num_hidden_layers],
            len: 0,
            capacity: 0,
            max_len: model.max_len,
            batch,
        }
    }

    /// Positions stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything after the first `len` positions (to reuse a shared prompt prefix).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    fn reserve(&mut self, model: &Llama, needed: usize) -> Result<()> {
        if needed > self.max_len {
            return Err(Error::ContextOverflow {
                tokens: needed,
                context: self.max_len,
            });
        }
        if needed <= self.capacity {
            return Ok(());
        }
        let capacity = needed.max(self.capacity * 2).max(256).min(self.max_len);
        let shape = (
            self.batch,
            model.cfg.n_kv_heads(),
            capacity,
            model.cfg.head_dim(),
        );
        for layer in &mut self.layers {
            let k = Tensor::zeros(shape, DType::F32, &model.device)?;
            let v = Tensor::zeros(shape, DType::F32, &model.device)?;
            if let Some((old_k, old_v)) = layer.take()
                && self.len > 0
            {
                k.slice_set(&old_k.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                v.slice_set(&old_v.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
            }
            *layer = Some((k, v));
        }
        self.capacity = capacity;
        Ok(())
    }
}

/// Causal (and sliding-window) mask for `l` new positions after `pos` cached ones: (l, pos + l).
fn attention_mask(
    l: usize,
    pos: usize,
    window: Option<usize>,
    device: &Device,
) -> Result<Option<Tensor>> {
    let t = pos + l;
    let windowed = window.is_some_and(|w| t > w);
    if l == 1 && !windowed {
        return Ok(None);
    }
    let mut mask = vec![0f32; l * t];
    for i in 0..l {
        for j in 0..t {
            let q = pos + i;
            if j > q || window.is_some_and(|w| q - j >= w) {
                mask[i * t + j] = f32::NEG_INFINITY;
            }
        }
    }
    Ok(Some(Tensor::from_vec(mask, (l, t), device)?))
}

fn rms_norm(x: &Tensor, w: &Tensor, eps: f64, fast: bool) -> Result<Tensor> {
    Ok(if fast {
        candle_nn::ops::rms_norm(x, w, eps as f32)?
    } else {
        candle_nn::ops::rms_norm_slow(x, w, eps as f32)?
    })
}

#[derive(Debug, Clone)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    n_heads: usize,
    n_kv: usize,
    head_dim: usize,
}

impl Attention {
    fn load(src: &mut dyn WeightSource, cfg: &LlamaConfig, i: usize) -> Result<Self> {
        Ok(Attention {
            q: load_linear(src, cfg, i, Proj::Q)?,
            k: load_linear(src, cfg, i, Proj::K)?,
            v: load_linear(src, cfg, i, Proj::V)?,
            o: load_linear(src, cfg, i, Proj::O)?,
            n_heads: cfg.num_attention_heads,
            n_kv: cfg.n_kv_heads(),
            head_dim: cfg.head_dim(),
        })
    }

    /// One attention step. `lora` looks up the pair for a projection of this layer.
    fn forward(
        &self,
        x: &Tensor,
        ctx: &StepContext<'_>,
        kv: Option<&(Tensor, Tensor)>,
        lora: &LayerLora<'_>,
    ) -> Result<Tensor> {
        let (b, l, _) = x.dims3()?;
        let (nh, nkv, hd) = (self.n_heads, self.n_kv, self.head_dim);
        let heads = |t: Tensor, n: usize| -> Result<Tensor> {
            Ok(t.reshape((b, l, n, hd))?.transpose(1, 2)?.contiguous()?)
        };
        let q = heads(self.q.forward(x, lora.get(Proj::Q))?, nh)?;
        let k = heads(self.k.forward(x, lora.get(Proj::K))?, nkv)?;
        let v = heads(self.v.forward(x, lora.get(Proj::V))?, nkv)?;
        let q = ctx.rope.apply(&q, ctx.pos, ctx.fast)?;
        let k = ctx.rope.apply(&k, ctx.pos, ctx.fast)?;
        let t = ctx.pos + l;
        let (k, v) = match kv {
            Some((kc, vc)) => {
                kc.slice_set(&k, 2, ctx.pos)?;
                vc.slice_set(&v, 2, ctx.pos)?;
                (kc.narrow(2, 0, t)?, vc.narrow(2, 0, t)?)
            }
            None => (k, v),
        };
        // Grouped-query attention without copies: the n_rep query heads of one KV head become
        // n_rep·l rows of one matmul against that head.
        let n_rep = nh / nkv;
        let q = q.reshape((b, nkv, n_rep * l, hd))?;
        let scores = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?;
        let scores = match ctx.mask {
            Some(m) => scores
                .reshape((b, nkv, n_rep, l, t))?
                .broadcast_add(m)?
                .reshape((b, nkv, n_rep * l, t))?,
            None => scores,
        };
        let probs = if ctx.fast {
            candle_nn::ops::softmax_last_dim(&scores)?
        } else {
            candle_nn::ops::softmax(&scores, D::Minus1)?
        };
        let out = probs
            .matmul(&v)?
            .reshape((b, nh, l, hd))?
            .transpose(1, 2)?
            .reshape((b, l, nh * hd))?;
        self.o.forward(&out, lora.get(Proj::O))
    }
}

/// What every layer of one forward step shares.
struct StepContext<'a> {
    pos: usize,
    rope: &'a Rope,
    mask: Option<&'a Tensor>,
    fast: bool,
}

/// The LoRA pairs of one layer, if an adapter is in use.
struct LayerLora<'a> {
    adapter: Option<&'a LoraAdapter>,
    layer: usize,
}

impl LayerLora<'_> {
    fn get(&self, proj: Proj) -> Option<&crate::lora::LoraPair> {
        self.adapter?.get(self.layer, proj)
    }
}

#[derive(Debug, Clone)]
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    fn load(src: &mut dyn WeightSource, cfg: &LlamaConfig, i: usize) -> Result<Self> {
        Ok(Mlp {
            gate: load_linear(src, cfg, i, Proj::Gate)?,
            up: load_linear(src, cfg, i, Proj::Up)?,
            down: load_linear(src, cfg, i, Proj::Down)?,
        })
    }

    fn forward(&self, x: &Tensor, lora: &LayerLora<'_>) -> Result<Tensor> {
        let gate = self.gate.forward(x, lora.get(Proj::Gate))?.silu()?;
        let up = self.up.forward(x, lora.get(Proj::Up))?;
        self.down.forward(&(gate * up)?, lora.get(Proj::Down))
    }
}

#[derive(Debug, Clone)]
struct Block {
    attn_norm: Tensor,
    attn: Attention,
    ffn_norm: Tensor,
    mlp: Mlp,
}

impl Block {
    fn load(
        src: &mut dyn WeightSource,
        cfg: &LlamaConfig,
        i: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Block {
            attn_norm: load_vector(src, cfg, WeightKey::AttnNorm(i), device)?,
            attn: Attention::load(src, cfg, i)?,
            ffn_norm: load_vector(src, cfg, WeightKey::FfnNorm(i), device)?,
            mlp: Mlp::load(src, cfg, i)?,
        })
    }

    fn forward(
        &self,
        x: &Tensor,
        ctx: &StepContext<'_>,
        kv: Option<&(Tensor, Tensor)>,
        lora: &LayerLora<'_>,
        eps: f64,
    ) -> Result<Tensor> {
        let h = rms_norm(x, &self.attn_norm, eps, ctx.fast)?;
        let x = (x + self.attn.forward(&h, ctx, kv, lora)?)?;
        let h = rms_norm(&x, &self.ffn_norm, eps, ctx.fast)?;
        Ok((&x + self.mlp.forward(&h, lora)?)?)
    }
}

/// Token embedding, kept quantised when the file is (rows are dequantised on lookup).
#[derive(Debug, Clone)]
enum Embedding {
    Quantized(Arc<QTensor>),
    Dense(Tensor),
}

impl Embedding {
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Embedding::Quantized(q) => q.embedding(ids)?,
            Embedding::Dense(t) => {
                let (b, l) = ids.dims2()?;
                t.index_select(&ids.flatten_all()?, 0)?
                    .reshape((b, l, t.dim(1)?))?
            }
        })
    }
}

/// A llama-family decoder with its weights.
#[derive(Debug, Clone)]
pub struct Llama {
    cfg: LlamaConfig,
    embed: Embedding,
    layers: Vec<Block>,
    norm: Tensor,
    lm_head: Linear,
    rope: Rope,
    max_len: usize,
    fast_ops: bool,
    device: Device,
}

impl Llama {
    /// Loads every weight from `src`. `max_len` caps the context (and the RoPE table).
    pub fn load(
        cfg: LlamaConfig,
        src: &mut dyn WeightSource,
        max_len: usize,
        device: &Device,
    ) -> Result<Self> {
        cfg.validate().map_err(|problem| Error::Config {
            path: src.path().to_owned(),
            problem,
        })?;
        let embed_w = require(src, WeightKey::Embed)?;
        check_shape(
            src,
            "token embedding",
            &embed_w,
            &[cfg.vocab_size, cfg.hidden_size],
        )?;
        let lm_head = match src.load(WeightKey::Output)? {
            Some(w) => {
                check_shape(
                    src,
                    "output projection",
                    &w,
                    &[cfg.vocab_size, cfg.hidden_size],
                )?;
                Linear::new(w.to_matmul()?, cfg.vocab_size, cfg.hidden_size)
            }
            None => Linear::new(embed_w.to_matmul()?, cfg.vocab_size, cfg.hidden_size),
        };
        let embed = match embed_w {
            Weight::Quantized(q) if q.dtype().block_size() > 1 => Embedding::Quantized(q),
            other => Embedding::Dense(other.to_dense(device)?),
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            layers.push(Block::load(src, &cfg, i, device)?);
        }
        let norm = load_vector(src, &cfg, WeightKey::OutputNorm, device)?;
        let max_len = max_len.min(cfg.max_position_embeddings).max(1);
        let freq_factors = match src.load(WeightKey::RopeFreqs)? {
            Some(w) => Some(w.to_dense(device)?.flatten_all()?.to_vec1::<f32>()?),
            None => None,
        };
        let rope = Rope::new(&cfg, freq_factors.as_deref(), max_len, device)?;
        Ok(Llama {
            cfg,
            embed,
            layers,
            norm,
            lm_head,
            rope,
            max_len,
            fast_ops: true,
            device: device.clone(),
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.cfg
    }

    /// The context length in use.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The frozen projection `proj` of layer `layer`.
    pub fn linear(&self, layer: usize, proj: Proj) -> Option<&Linear> {
        let b = self.layers.get(layer)?;
        Some(match proj {
            Proj::Q => &b.attn.q,
            Proj::K => &b.attn.k,
            Proj::V => &b.attn.v,
            Proj::O => &b.attn.o,
            Proj::Gate => &b.mlp.gate,
            Proj::Up => &b.mlp.up,
            Proj::Down => &b.mlp.down,
        })
    }

    /// The output projection (shared with the embedding when tied).
    pub fn lm_head(&self) -> &Linear {
        &self.lm_head
    }

    /// Token embeddings of `ids` (batch, len) as (batch, len, hidden): the frozen lookup a trainer
    /// starts from.
    pub fn embed(&self, ids: &Tensor) -> Result<Tensor> {
        self.embed.forward(ids)
    }

    /// The token embedding matrix (vocab, hidden) widened to f32 (for merging and exporting).
    pub fn embedding_weight(&self) -> Result<Tensor> {
        Ok(match &self.embed {
            Embedding::Quantized(q) => q.dequantize(&self.device)?,
            Embedding::Dense(t) => t.clone(),
        })
    }

    /// Whether the file had its own output projection (else it is the embedding).
    pub fn has_output_weight(&self) -> bool {
        !self.cfg.tie_word_embeddings
    }

    /// The RMSNorm weights of layer `layer`: (before attention, before the MLP).
    pub fn layer_norms(&self, layer: usize) -> Option<(&Tensor, &Tensor)> {
        let b = self.layers.get(layer)?;
        Some((&b.attn_norm, &b.ffn_norm))
    }

    /// The final RMSNorm weight.
    pub fn final_norm(&self) -> &Tensor {
        &self.norm
    }

    /// The RoPE tables (max_len, head_dim / 2): cos and sin, rotate-half convention.
    pub fn rope_tables(&self) -> (&Tensor, &Tensor) {
        (&self.rope.cos, &self.rope.sin)
    }

    /// Chooses candle's fused norm / softmax / RoPE kernels (fast, default) or plain tensor ops
    /// that carry gradients (the fused ones silently drop them).
    pub fn set_fast_ops(&mut self, fast: bool) {
        self.fast_ops = fast;
    }

    /// Final hidden states (after the last norm), shape (batch, len, hidden), for `ids` of shape
    /// (batch, len). With a cache the positions continue after what it holds and it is extended.
    pub fn forward_hidden(
        &self,
        ids: &Tensor,
        cache: Option<&mut Cache>,
        lora: Option<&LoraAdapter>,
    ) -> Result<Tensor> {
        let (_, l) = ids.dims2()?;
        let pos = cache.as_ref().map_or(0, |c| c.len);
        if pos + l > self.max_len {
            return Err(Error::ContextOverflow {
                tokens: pos + l,
                context: self.max_len,
            });
        }
        let mut cache = cache;
        if let Some(c) = cache.as_deref_mut() {
            c.reserve(self, pos + l)?;
        }
        let mask = attention_mask(l, pos, self.cfg.sliding_window, &self.device)?;
        let ctx = StepContext {
            pos,
            rope: &self.rope,
            mask: mask.as_ref(),
            fast: self.fast_ops,
        };
        let mut x = self.embed.forward(ids)?;
        for (i, block) in self.layers.iter().enumerate() {
            let kv = cache.as_ref().and_then(|c| c.layers[i].as_ref());
            x = block.forward(
                &x,
                &ctx,
                kv,
                &LayerLora {
                    adapter: lora,
                    layer: i,
                },
                self.cfg.rms_norm_eps,
            )?;
        }
        if let Some(c) = cache {
            c.len = pos + l;
        }
        rms_norm(&x, &self.norm, self.cfg.rms_norm_eps, self.fast_ops)
    }

    /// Logits for every position of `ids` (one sequence): shape (len, vocab).
    pub fn forward(
        &self,
        ids: &[u32],
        cache: &mut Cache,
        lora: Option<&LoraAdapter>,
    ) -> Result<Tensor> {
        let ids = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let h = self.forward_hidden(&ids, Some(cache), lora)?;
        Ok(self.lm_head.forward(&h, None)?.squeeze(0)?)
    }

    /// Logits for the last position only (the cheap path for generation): shape (vocab).
    pub fn forward_last(
        &self,
        ids: &[u32],
        cache: &mut Cache,
        lora: Option<&LoraAdapter>,
    ) -> Result<Tensor> {
        if ids.is_empty() {
            return Err(Error::ContextOverflow {
                tokens: 0,
                context: self.max_len,
            });
        }
        if let [token] = ids
            && let Some(logits) = self.decode_one(*token, cache, lora)?
        {
            return Ok(Tensor::from_vec(logits, self.cfg.vocab_size, &self.device)?);
        }
        let ids = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let h = self.forward_hidden(&ids, Some(cache), lora)?;
        let l = h.dim(1)?;
        let last = h.narrow(1, l - 1, 1)?;
        Ok(self.lm_head.forward(&last, None)?.flatten_all()?)
    }
}

fn require(src: &mut dyn WeightSource, key: WeightKey) -> Result<Weight> {
    src.load(key)?.ok_or_else(|| Error::Config {
        path: src.path().to_owned(),
        problem: format!("weight {key:?} is missing"),
    })
}

fn check_shape(src: &dyn WeightSource, what: &str, w: &Weight, expected: &[usize]) -> Result<()> {
    let shape = w.shape();
    if shape != expected {
        return Err(Error::Config {
            path: src.path().to_owned(),
            problem: format!("{what} has shape {shape:?}, the configuration implies {expected:?}"),
        });
    }
    Ok(())
}

fn load_linear(
    src: &mut dyn WeightSource,
    cfg: &LlamaConfig,
    i: usize,
    proj: Proj,
) -> Result<Linear> {
    let w = require(src, WeightKey::Proj(i, proj))?;
    let (out_dim, in_dim) = cfg.proj_dims(proj);
    check_shape(
        src,
        &format!("layer {i} {}", proj.hf_name()),
        &w,
        &[out_dim, in_dim],
    )?;
    Ok(Linear::new(w.to_matmul()?, out_dim, in_dim))
}

fn load_vector(
    src: &mut dyn WeightSource,
    cfg: &LlamaConfig,
    key: WeightKey,
    device: &Device,
) -> Result<Tensor> {
    let w = require(src, key)?;
    check_shape(src, &format!("{key:?}"), &w, &[cfg.hidden_size])?;
    w.to_dense(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_scaling_keeps_high_and_divides_low_frequencies() {
        let r = RopeScaling {
            rope_type: "llama3".into(),
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192,
        };
        assert_eq!(r.apply(1.0), 1.0);
        let low = 2.0 * std::f64::consts::PI / 10_000.0;
        assert!((r.apply(low) - low / 8.0).abs() < 1e-12);
    }

    #[test]
    fn mask_is_causal_and_windowed() -> Result<()> {
        let m = attention_mask(3, 2, Some(3), &Device::Cpu)?.ok_or(Error::EngineStopped)?;
        let rows = m.to_vec2::<f32>()?;
        let allowed: Vec<Vec<bool>> = rows
            .iter()
            .map(|r| r.iter().map(|v| v.is_finite()).collect())
            .collect();
        assert_eq!(allowed[0], [true, true, true, false, false]);
        assert_eq!(allowed[1], [false, true, true, true, false]);
        assert_eq!(allowed[2], [false, false, true, true, true]);
        assert!(attention_mask(1, 7, None, &Device::Cpu)?.is_none());
        Ok(())
    }
}
