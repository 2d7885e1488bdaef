//! The network as training sees it: the runtime's frozen weights, trainable LoRA pairs, a forward
//! pass made of operations that carry gradients, and the backward pass, optionally recomputing
//! each layer's activations (activation checkpointing).

use std::cell::RefCell;
use std::sync::OnceLock;

use candle_core::{DType, Device, Tensor, Var};
use grimoire_llm::{Llama, LlamaConfig, Proj};

use crate::config::LoraConfig;
use crate::data::Batch;
use crate::error::Result;
use crate::lora_linear::lora_linear;
use crate::ops::{Dropout, Frozen, cross_entropy_rows, frozen_linear, frozen_linear_replay};
use crate::rng::Rng;
use crate::tape::{LayerParams, Products, Shape as TapeShape};

/// Frozen weights are widened to f32 once, at [`Net::new`], when that takes at most this many
/// bytes (SmolLM2-135M: 0.42 GB); larger bases keep their blocks and widen per layer and use.
pub const DENSE_BUDGET: usize = 1536 << 20;

/// What the frozen matmuls of a forward pass do.
enum FrozenMode {
    /// Compute each product.
    Compute,
    /// Compute each product and keep it (the checkpointed forward).
    Record(Vec<Tensor>),
    /// Take each product from an earlier recording of the same layer (its recomputation).
    Replay(std::vec::IntoIter<Tensor>),
}

/// Rows of logits formed at once by the loss.
const CE_CHUNK: usize = 256;

fn proj_index(p: Proj) -> usize {
    Proj::ALL.iter().position(|q| *q == p).unwrap_or(0)
}

/// Trainable LoRA pairs: per layer, per projection, A (r, in) and B (out, r).
#[derive(Debug)]
pub struct Lora {
    /// `pairs[layer][proj]`.
    pub pairs: Vec<[Option<(Var, Var)>; 7]>,
    /// `alpha / r` (or `alpha / √r`).
    pub scale: f64,
    /// Dropout probability on the branch input.
    pub dropout: f32,
}

impl Lora {
    /// PEFT's initialisation: A kaiming-uniform with a = √5 (uniform in ±1/√in), B zero.
    pub fn init(cfg: &LlamaConfig, lora: &LoraConfig, seed: u64, device: &Device) -> Result<Self> {
        let mut pairs = Vec::with_capacity(cfg.num_hidden_layers);
        for layer in 0..cfg.num_hidden_layers {
            let mut row: [Option<(Var, Var)>; 7] = Default::default();
            for t in &lora.targets {
                let p = t.proj();
                let (out_dim, in_dim) = cfg.proj_dims(p);
                let bound = 1.0 / (in_dim as f32).sqrt();
                let mut rng = Rng::new(seed, &[4, layer as u64, proj_index(p) as u64]);
                let a: Vec<f32> = (0..lora.r * in_dim)
                    .map(|_| (rng.next_f32() * 2.0 - 1.0) * bound)
                    .collect();
                let a = Var::from_tensor(&Tensor::from_vec(a, (lora.r, in_dim), device)?)?;
                let b = Var::zeros((out_dim, lora.r), DType::F32, device)?;
                row[proj_index(p)] = Some((a, b));
            }
            pairs.push(row);
        }
        Ok(Lora {
            pairs,
            scale: lora.scale(),
            dropout: lora.dropout as f32,
        })
    }

    /// Trainable copies of a loaded adapter's pairs (to continue training one, or to score it).
    pub fn from_adapter(adapter: &grimoire_llm::LoraAdapter, dropout: f32) -> Result<Self> {
        let mut pairs = Vec::with_capacity(adapter.n_layers());
        let mut scale = None;
        for layer in 0..adapter.n_layers() {
            let mut row: [Option<(Var, Var)>; 7] = Default::default();
            for p in Proj::ALL {
                if let Some(pair) = adapter.get(layer, p) {
                    scale.get_or_insert(pair.scale);
                    row[proj_index(p)] =
                        Some((Var::from_tensor(&pair.a)?, Var::from_tensor(&pair.b)?));
                }
            }
            pairs.push(row);
        }
        Ok(Lora {
            pairs,
            scale: scale.unwrap_or(1.0),
            dropout,
        })
    }

    /// Every trainable tensor in a fixed order (layer, projection, A then B), with its name in
    /// the PEFT file.
    pub fn named_vars(&self) -> Vec<(String, &Var)> {
        let mut out = Vec::new();
        for (layer, row) in self.pairs.iter().enumerate() {
            for p in Proj::ALL {
                if let Some((a, b)) = &row[proj_index(p)] {
                    let base = format!("base_model.model.model.layers.{layer}.{}", p.hf_path());
                    out.push((format!("{base}.lora_A.weight"), a));
                    out.push((format!("{base}.lora_B.weight"), b));
                }
            }
        }
        out
    }

    /// The vars only, in [`named_vars`](Self::named_vars) order.
    pub fn vars(&self) -> Vec<&Var> {
        self.named_vars().into_iter().map(|(_, v)| v).collect()
    }

    /// Trainable parameter count.
    pub fn n_params(&self) -> usize {
        self.vars().iter().map(|v| v.elem_count()).sum()
    }

    fn tensors(&self, layer: usize, detached: bool) -> [Option<(Tensor, Tensor)>; 7] {
        let mut out: [Option<(Tensor, Tensor)>; 7] = Default::default();
        for (slot, pair) in out.iter_mut().zip(&self.pairs[layer]) {
            *slot = pair.as_ref().map(|(a, b)| {
                if detached {
                    (a.as_tensor().detach(), b.as_tensor().detach())
                } else {
                    (a.as_tensor().clone(), b.as_tensor().clone())
                }
            });
        }
        out
    }

    /// Where layer `layer`'s vars start in [`vars`](Self::vars).
    fn layer_offset(&self, layer: usize) -> usize {
        self.pairs[..layer]
            .iter()
            .map(|r| 2 * r.iter().filter(|p| p.is_some()).count())
            .sum()
    }
}

struct Layer {
    attn_norm: Tensor,
    ffn_norm: Tensor,
    w: [Frozen; 7],
}

/// Which dropout masks a forward pass draws: a pure function of the run's seed and position, so
/// recomputation and resumption draw the same ones.
#[derive(Debug, Clone, Copy)]
pub struct DropoutKey {
    /// Run seed.
    pub seed: u64,
    /// Optimizer step.
    pub step: u64,
    /// Micro-batch within the step.
    pub micro: u64,
}

struct Ctx<'a> {
    cos: Tensor,
    sin: Tensor,
    lora: &'a Lora,
    dropout: Option<DropoutKey>,
    frozen: RefCell<FrozenMode>,
}

/// The frozen network, borrowed from a loaded runtime model.
pub struct Net {
    llama: Llama,
    cfg: LlamaConfig,
    layers: Vec<Layer>,
    head: Frozen,
    head_dense: OnceLock<Tensor>,
}

impl Net {
    /// Takes the frozen weights of `llama` (cheap: the tensors are shared).
    pub fn new(llama: &Llama) -> Result<Self> {
        let cfg = llama.config().clone();
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let (attn_norm, ffn_norm) = llama
                .layer_norms(i)
                .ok_or_else(|| crate::Error::Config(format!("layer {i} missing")))?;
            let mut w: Vec<Frozen> = Vec::with_capacity(7);
            for p in Proj::ALL {
                let lin = llama
                    .linear(i, p)
                    .ok_or_else(|| crate::Error::Config(format!("layer {i} missing")))?;
                w.push(Frozen::from_qmatmul(lin.base())?);
            }
            let w: [Frozen; 7] = w
                .try_into()
                .map_err(|_| crate::Error::Config("seven projections expected".into()))?;
            layers.push(Layer {
                attn_norm: attn_norm.clone(),
                ffn_norm: ffn_norm.clone(),
                w,
            });
        }
        let dense_bytes: usize = layers
            .iter()
            .flat_map(|l| l.w.iter())
            .map(Frozen::dense_bytes)
            .sum();
        if dense_bytes <= DENSE_BUDGET {
            for l in &mut layers {
                for w in l.w.iter_mut() {
                    *w = Frozen::Dense(w.dense(llama.device())?);
                }
            }
        }
        Ok(Net {
            head: Frozen::from_qmatmul(llama.lm_head().base())?,
            llama: llama.clone(),
            cfg,
            layers,
            head_dense: OnceLock::new(),
        })
    }

    /// Hyper-parameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.cfg
    }

    /// Bytes of frozen weights held.
    pub fn frozen_bytes(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| l.w.iter())
            .map(Frozen::bytes)
            .sum::<usize>()
            + self.head.bytes()
    }

    fn device(&self) -> &Device {
        self.llama.device()
    }

    fn head(&self) -> Result<&Tensor> {
        if let Some(t) = self.head_dense.get() {
            return Ok(t);
        }
        let t = self.head.dense(self.device())?;
        Ok(self.head_dense.get_or_init(|| t))
    }

    fn ctx<'a>(&self, l: usize, lora: &'a Lora, dropout: Option<DropoutKey>) -> Result<Ctx<'a>> {
        let (cos, sin) = self.llama.rope_tables();
        Ok(Ctx {
            cos: cos.narrow(0, 0, l)?,
            sin: sin.narrow(0, 0, l)?,
            lora,
            dropout: dropout.filter(|_| lora.dropout > 0.0),
            frozen: RefCell::new(FrozenMode::Compute),
        })
    }

    /// One projection of layer `layer` on x (rows, in): frozen part plus the LoRA branch.
    fn proj(
        &self,
        x: &Tensor,
        layer: usize,
        p: Proj,
        lora: &[Option<(Tensor, Tensor)>; 7],
        ctx: &Ctx<'_>,
        weights: &[Frozen; 7],
    ) -> Result<Tensor> {
        let (out_dim, _) = self.cfg.proj_dims(p);
        let w = &weights[proj_index(p)];
        let pair = &lora[proj_index(p)];
        // The frozen product: computed here (without a LoRA pair, or to record it), taken from
        // the recording (replay), or left to the fused LoRA op (`None`).
        let y = {
            let mut mode = ctx.frozen.borrow_mut();
            match &mut *mode {
                FrozenMode::Compute if pair.is_some() => None,
                FrozenMode::Compute => Some(frozen_linear(x, w, out_dim)?),
                FrozenMode::Record(kept) => {
                    let y = frozen_linear(x, w, out_dim)?;
                    kept.push(y.clone());
                    Some(y)
                }
                FrozenMode::Replay(kept) => {
                    let y = kept.next().ok_or_else(|| {
                        crate::Error::Config("the recomputation ran more matmuls".into())
                    })?;
                    if pair.is_some() {
                        Some(y)
                    } else {
                        Some(frozen_linear_replay(x, y, w, out_dim)?)
                    }
                }
            }
        };
        let Some((a, b)) = pair else {
            return y.ok_or_else(|| crate::Error::Config("no frozen product".into()));
        };
        let drop = ctx.dropout.map(|key| Dropout {
            p: ctx.lora.dropout,
            seed: key.seed,
            stream: vec![3, key.step, key.micro, layer as u64, proj_index(p) as u64],
        });
        Ok(lora_linear(x, w, out_dim, y, a, b, ctx.lora.scale, drop)?)
    }

    /// One decoder layer on x (b, l, d).
    fn layer(
        &self,
        x: &Tensor,
        i: usize,
        ctx: &Ctx<'_>,
        detached: bool,
        weights: Option<&[Frozen; 7]>,
    ) -> Result<Tensor> {
        let lora = ctx.lora.tensors(i, detached);
        let weights = weights.unwrap_or(&self.layers[i].w);
        let (b, l, d) = x.dims3()?;
        let cfg = &self.cfg;
        let (nh, nkv, hd) = (cfg.num_attention_heads, cfg.n_kv_heads(), cfg.head_dim());
        let eps = cfg.rms_norm_eps as f32;
        let w = &self.layers[i];

        let h = crate::fused::rms_norm(x, &w.attn_norm, eps)?.reshape((b * l, d))?;
        let heads = |t: Tensor, n: usize| -> Result<Tensor> {
            Ok(t.reshape((b, l, n, hd))?.transpose(1, 2)?.contiguous()?)
        };
        let q = self.proj(&h, i, Proj::Q, &lora, ctx, weights)?;
        let q = crate::fused::rope_heads(&q, b, nh, &ctx.cos, &ctx.sin)?;
        let k = self.proj(&h, i, Proj::K, &lora, ctx, weights)?;
        let k = crate::fused::rope_heads(&k, b, nkv, &ctx.cos, &ctx.sin)?;
        let v = heads(self.proj(&h, i, Proj::V, &lora, ctx, weights)?, nkv)?;
        let n_rep = nh / nkv;
        let q = q.reshape((b, nkv, n_rep * l, hd))?;
        let probs =
            crate::fused::attention_probs(&q, &k, 1.0 / (hd as f64).sqrt(), cfg.sliding_window)?;
        let att = crate::fused::probs_v(&probs, &v)?
            .reshape((b, nh, l, hd))?
            .transpose(1, 2)?
            .reshape((b * l, nh * hd))?;
        let x = (x + self
            .proj(&att, i, Proj::O, &lora, ctx, weights)?
            .reshape((b, l, d))?)?;

        let h = crate::fused::rms_norm(&x, &w.ffn_norm, eps)?.reshape((b * l, d))?;
        let gate = self.proj(&h, i, Proj::Gate, &lora, ctx, weights)?;
        let up = self.proj(&h, i, Proj::Up, &lora, ctx, weights)?;
        let act = crate::fused::swiglu(&gate, &up)?;
        let down = self.proj(&act, i, Proj::Down, &lora, ctx, weights)?;
        Ok((x + down.reshape((b, l, d))?)?)
    }

    fn dense_layer(&self, i: usize) -> Result<[Frozen; 7]> {
        let w = &self.layers[i].w;
        let mut out: Vec<Frozen> = Vec::with_capacity(7);
        for f in w {
            out.push(Frozen::Dense(f.dense(self.device())?));
        }
        out.try_into()
            .map_err(|_| crate::Error::Config("seven projections expected".into()))
    }

    fn head_loss(&self, x: &Tensor, batch: &Batch, want_grad: bool) -> Result<Tensor> {
        let (b, l, d) = x.dims3()?;
        let h = crate::fused::rms_norm(x, self.llama.final_norm(), self.cfg.rms_norm_eps as f32)?
            .reshape((b * l, d))?;
        let rows = Tensor::new(batch.rows.as_slice(), self.device())?;
        let hs = h.index_select(&rows, 0)?;
        Ok(cross_entropy_rows(
            &hs,
            self.head()?,
            &batch.targets,
            CE_CHUNK,
            want_grad,
        )?)
    }

    fn embed(&self, batch: &Batch) -> Result<Tensor> {
        let ids = Tensor::from_vec(batch.ids.clone(), (batch.b, batch.l), self.device())?;
        Ok(self.llama.embed(&ids)?)
    }

    /// Summed cross-entropy of the batch's trained tokens, no gradients.
    pub fn eval_loss(&self, lora: &Lora, batch: &Batch) -> Result<f64> {
        if batch.rows.is_empty() {
            return Ok(0.0);
        }
        let ctx = self.ctx(batch.l, lora, None)?;
        let mut x = self.embed(batch)?;
        for i in 0..self.layers.len() {
            x = self.layer(&x, i, &ctx, true, None)?;
        }
        let ce = self.head_loss(&x, batch, false)?;
        Ok(ce.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?)
    }

    /// Summed cross-entropy of the batch and the gradient of `sum / norm` with respect to every
    /// LoRA tensor, in [`Lora::vars`] order.
    pub fn loss_and_grads(
        &self,
        lora: &Lora,
        batch: &Batch,
        norm: f64,
        dropout: Option<DropoutKey>,
        checkpointing: bool,
    ) -> Result<(f64, Vec<Tensor>)> {
        if self.device().is_cpu() && !batch.rows.is_empty() {
            return self.loss_and_grads_cpu(lora, batch, norm, dropout, checkpointing);
        }
        self.loss_and_grads_graph(lora, batch, norm, dropout, checkpointing)
    }

    /// [`loss_and_grads`](Self::loss_and_grads) through candle's autograd graph, on any device
    /// (the CPU takes the faster tape path; this one checks it).
    pub fn loss_and_grads_graph(
        &self,
        lora: &Lora,
        batch: &Batch,
        norm: f64,
        dropout: Option<DropoutKey>,
        checkpointing: bool,
    ) -> Result<(f64, Vec<Tensor>)> {
        let vars = lora.vars();
        let mut grads: Vec<Option<Tensor>> = vec![None; vars.len()];
        if batch.rows.is_empty() {
            return Ok((0.0, zeros_like(&vars, grads)?));
        }
        let ctx = self.ctx(batch.l, lora, dropout)?;
        let x0 = self.embed(batch)?;
        let n_layers = self.layers.len();
        let loss_sum;
        if !checkpointing {
            let mut x = x0;
            for i in 0..n_layers {
                x = self.layer(&x, i, &ctx, false, None)?;
            }
            let ce = self.head_loss(&x, batch, true)?;
            loss_sum = ce.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
            let store = (ce.sum_all()? / norm)?.backward()?;
            for (g, v) in grads.iter_mut().zip(&vars) {
                *g = store.get(v.as_tensor()).cloned();
            }
        } else {
            // Forward without a graph, keeping only each layer's input.
            // The frozen matmul products are kept too (a few MB a layer), so the recomputation
            // below redoes only the cheap parts.
            let mut xs = Vec::with_capacity(n_layers + 1);
            let mut kept = Vec::with_capacity(n_layers);
            xs.push(x0);
            for i in 0..n_layers {
                *ctx.frozen.borrow_mut() = FrozenMode::Record(Vec::with_capacity(7));
                let y = self.layer(&xs[i], i, &ctx, true, None)?;
                let mode = ctx.frozen.replace(FrozenMode::Compute);
                if let FrozenMode::Record(k) = mode {
                    kept.push(k);
                }
                xs.push(y);
            }
            let (sum, mut g_out) = self.head_backward(&xs[n_layers], batch, norm)?;
            loss_sum = sum;
            for i in (0..n_layers).rev() {
                // Recompute layer i with a graph and push the output gradient through it.
                let input = if i == 0 {
                    None
                } else {
                    Some(Var::from_tensor(&xs[i])?)
                };
                let x_in = input.as_ref().map_or(&xs[0], |v| v.as_tensor());
                // Widen this layer's blocks once for both the recomputation and the backward.
                let dense = self.dense_layer(i)?;
                let products = std::mem::take(&mut kept[i]);
                *ctx.frozen.borrow_mut() = FrozenMode::Replay(products.into_iter());
                let y = self.layer(x_in, i, &ctx, false, Some(&dense))?;
                *ctx.frozen.borrow_mut() = FrozenMode::Compute;
                let store = (y * &g_out)?.sum_all()?.backward()?;
                let off = lora.layer_offset(i);
                let n = 2 * lora.pairs[i].iter().filter(|p| p.is_some()).count();
                for k in off..off + n {
                    grads[k] = store.get(vars[k].as_tensor()).cloned();
                }
                if let Some(v) = &input {
                    g_out = store.get(v.as_tensor()).cloned().ok_or_else(|| {
                        crate::Error::Config(format!("no gradient reached layer {i}"))
                    })?;
                }
            }
        }
        Ok((loss_sum, zeros_like(&vars, grads)?))
    }
}

impl Net {
    /// The head and the loss over the last layer's output `top`, with their graph: the summed
    /// cross-entropy and the gradient of `sum / norm` with respect to `top`.
    fn head_backward(&self, top: &Tensor, batch: &Batch, norm: f64) -> Result<(f64, Tensor)> {
        let top = Var::from_tensor(top)?;
        let ce = self.head_loss(top.as_tensor(), batch, true)?;
        let loss_sum = ce.to_dtype(DType::F64)?.sum_all()?.to_scalar::<f64>()?;
        let store = (ce.sum_all()? / norm)?.backward()?;
        let g = store
            .get(top.as_tensor())
            .cloned()
            .ok_or_else(|| crate::Error::Config("no gradient reached the last layer".into()))?;
        Ok((loss_sum, g))
    }

    /// Layer `i`'s weights as the CPU pass reads them, for a batch of `b` sequences of `l`.
    fn layer_params(&self, i: usize, lora: &Lora, dropout: Option<DropoutKey>, (b, l): (usize, usize)) -> Result<LayerParams> {
        let cfg = &self.cfg;
        let layer = &self.layers[i];
        let mut w: Vec<Tensor> = Vec::with_capacity(7);
        for f in &layer.w {
            w.push(f.dense(self.device())?);
        }
        let w: [Tensor; 7] = w.try_into().map_err(|_| crate::Error::Config("seven projections expected".into()))?;
        let mut pairs: [Option<(Vec<f32>, Vec<f32>)>; 7] = Default::default();
        let mut drops: [Option<Dropout>; 7] = Default::default();
        let mut r = 0;
        for (j, pair) in lora.pairs[i].iter().enumerate() {
            if let Some((a, bm)) = pair {
                r = a.as_tensor().dim(0)?;
                pairs[j] = Some((a.as_tensor().flatten_all()?.to_vec1()?, bm.as_tensor().flatten_all()?.to_vec1()?));
                drops[j] = dropout.filter(|_| lora.dropout > 0.0).map(|key| Dropout {
                    p: lora.dropout,
                    seed: key.seed,
                    stream: vec![3, key.step, key.micro, i as u64, j as u64],
                });
            }
        }
        let norm = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?) };
        Ok(LayerParams {
            attn_norm: norm(&layer.attn_norm)?,
            ffn_norm: norm(&layer.ffn_norm)?,
            w,
            lora: pairs,
            dropout: drops,
            r,
            scale: lora.scale as f32,
            shape: TapeShape {
                b,
                l,
                heads: cfg.num_attention_heads,
                kv_heads: cfg.n_kv_heads(),
                head_dim: cfg.head_dim(),
                eps: cfg.rms_norm_eps as f32,
                window: cfg.sliding_window,
            },
        })
    }

    /// [`loss_and_grads`](Self::loss_and_grads) on the CPU: each layer's forward keeps a tape
    /// (or, checkpointing, only its input and frozen products, the tape recomputed in the
    /// backward) and the backward runs without candle's graph (see [`crate::tape`]); the head
    /// and the loss keep theirs.
    fn loss_and_grads_cpu(
        &self,
        lora: &Lora,
        batch: &Batch,
        norm: f64,
        dropout: Option<DropoutKey>,
        checkpointing: bool,
    ) -> Result<(f64, Vec<Tensor>)> {
        let vars = lora.vars();
        let mut grads: Vec<Option<Tensor>> = vec![None; vars.len()];
        let (b, l) = (batch.b, batch.l);
        let rope = self.llama.rope_tables();
        let n_layers = self.layers.len();
        let x0 = self.embed(batch)?.to_dtype(DType::F32)?;
        let d = x0.dim(2)?;
        let mut x: Vec<f32> = x0.flatten_all()?.to_vec1()?;
        // Non-checkpointed: every layer's tape. Checkpointed: its input and frozen products.
        let mut tapes = Vec::new();
        let mut kept: Vec<(Vec<f32>, Vec<Vec<f32>>)> = Vec::new();
        for i in 0..n_layers {
            let params = self.layer_params(i, lora, dropout, (b, l))?;
            if checkpointing {
                let mut products = Products::Record(Vec::with_capacity(7));
                let input = x.clone();
                let (y, _) = params.forward(x, rope, &mut products)?;
                if let Products::Record(p) = products {
                    kept.push((input, p));
                }
                x = y;
            } else {
                let (y, tape) = params.forward(x, rope, &mut Products::Compute)?;
                tapes.push(tape);
                x = y;
            }
        }
        let (loss_sum, g_top) = self.head_backward(&Tensor::from_vec(x, (b, l, d), self.device())?, batch, norm)?;
        let mut g: Vec<f32> = g_top.flatten_all()?.to_vec1()?;
        for i in (0..n_layers).rev() {
            let params = self.layer_params(i, lora, dropout, (b, l))?;
            let tape = if checkpointing {
                let (input, products) = kept.pop().ok_or_else(|| crate::Error::Config("no checkpoint".into()))?;
                params.forward(input, rope, &mut Products::Replay(products.into_iter()))?.1
            } else {
                tapes.pop().ok_or_else(|| crate::Error::Config("no tape".into()))?
            };
            let (gx, layer_grads) = params.backward(tape, g, rope, i > 0)?;
            let mut k = lora.layer_offset(i);
            for (j, pair) in layer_grads.into_iter().enumerate() {
                let (Some((ga, gb)), Some((a, bm))) = (pair, &lora.pairs[i][j]) else { continue };
                grads[k] = Some(Tensor::from_vec(ga, a.as_tensor().shape(), self.device())?);
                grads[k + 1] = Some(Tensor::from_vec(gb, bm.as_tensor().shape(), self.device())?);
                k += 2;
            }
            g = gx.unwrap_or_default();
        }
        Ok((loss_sum, zeros_like(&vars, grads)?))
    }
}

fn zeros_like(vars: &[&Var], grads: Vec<Option<Tensor>>) -> Result<Vec<Tensor>> {
    vars.iter()
        .zip(grads)
        .map(|(v, g)| match g {
            Some(g) => Ok(g),
            None => Ok(v.as_tensor().zeros_like()?),
        })
        .collect()
}
