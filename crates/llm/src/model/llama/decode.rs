//! One generated token on plain f32 slices.
//!
//! Decoding one token through candle's tensor ops costs some fifteen small ops per layer (norms,
//! reshapes, RoPE, attention matmuls, softmax, adds), each allocating its output and several
//! running on candle's thread pool; on this 135M model that was as much time as the matmuls. This
//! path does the same arithmetic (RMSNorm, rotate-half RoPE, attention over the preallocated KV
//! cache with the sliding window, SiLU·up, residual adds) on slices, runs the projections through
//! [`crate::gemv`] with q/k/v and gate/up each as one parallel pass over their shared input, and
//! writes K and V into the cache's tensors in place, so the tensor path (prompts, training) and
//! this one share one cache. LoRA pairs are added as [`Linear::forward`] adds them.

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{CpuStorage, DType, InplaceOp1, Layout, Storage, Tensor};
use rayon::prelude::*;

use super::{Cache, Llama};
use crate::error::{Error, Result};
use crate::lora::{Linear, LoraAdapter, LoraPair, Proj};

impl Llama {
    /// Logits of the token after `token`, appended to `cache`; `None` (nothing changed) when this
    /// path does not apply: another device, gradient-carrying ops, a batch, a weight without a
    /// kernel in [`crate::gemv`], or an adapter tensor that is not f32.
    pub(super) fn decode_one(
        &self,
        token: u32,
        cache: &mut Cache,
        lora: Option<&LoraAdapter>,
    ) -> Result<Option<Vec<f32>>> {
        if !self.one_token_path(cache, lora) {
            return Ok(None);
        }
        // The whole step on one pool thread: its matmuls and attention then split their work
        // with the other workers without a hand-off from the calling thread each time.
        rayon::scope(|_| self.step(token, cache, lora)).map(Some)
    }

    fn step(&self, token: u32, cache: &mut Cache, lora: Option<&LoraAdapter>) -> Result<Vec<f32>> {
        let (nh, nkv, hd) = (
            self.cfg.num_attention_heads,
            self.cfg.n_kv_heads(),
            self.cfg.head_dim(),
        );
        let eps = self.cfg.rms_norm_eps as f32;
        let pos = cache.len;
        let t = pos + 1;
        cache.reserve(self, t)?;
        let cap = cache.capacity;
        let first = match self.cfg.sliding_window {
            Some(w) if t > w => t - w,
            _ => 0,
        };
        let ids = Tensor::new(&[[token]], &self.device)?;
        let mut x: Vec<f32> = self.embed.forward(&ids)?.flatten_all()?.to_vec1()?;
        let d = x.len();
        let ff = self.cfg.intermediate_size;
        let mut h = vec![0f32; d];
        let (mut q, mut k, mut v) = (
            vec![0f32; nh * hd],
            vec![0f32; nkv * hd],
            vec![0f32; nkv * hd],
        );
        let mut attn = vec![0f32; nh * hd];
        let mut out = vec![0f32; d];
        let (mut gate, mut up) = (vec![0f32; ff], vec![0f32; ff]);
        let (cos, sin) = (row(&self.rope.cos, pos)?, row(&self.rope.sin, pos)?);
        for (i, block) in self.layers.iter().enumerate() {
            let pair = |p: Proj| lora.and_then(|a| a.get(i, p));
            with_f32(&block.attn_norm, |w| {
                rms_norm(&x, w, eps, &mut h);
                Ok(())
            })?;
            let a = &block.attn;
            project(
                &mut [
                    (&a.q, pair(Proj::Q), &mut q),
                    (&a.k, pair(Proj::K), &mut k),
                    (&a.v, pair(Proj::V), &mut v),
                ],
                &h,
            )?;
            rope(&mut q, hd, &cos, &sin);
            rope(&mut k, hd, &cos, &sin);
            let (kc, vc) = cache.layers[i].as_ref().ok_or_else(|| {
                Error::Candle(candle_core::Error::Msg("cache not reserved".into()))
            })?;
            kc.inplace_op1(&WriteRow {
                row: &k,
                hd,
                cap,
                pos,
            })?;
            vc.inplace_op1(&WriteRow {
                row: &v,
                hd,
                cap,
                pos,
            })?;
            with_f32(kc, |kc| {
                with_f32(vc, |vc| {
                    attention(
                        &q,
                        kc,
                        vc,
                        &mut attn,
                        Shape {
                            nh,
                            nkv,
                            hd,
                            cap,
                            first,
                            t,
                        },
                    )
                })
            })?;
            project(&mut [(&a.o, pair(Proj::O), &mut out)], &attn)?;
            add(&mut x, &out);
            with_f32(&block.ffn_norm, |w| {
                rms_norm(&x, w, eps, &mut h);
                Ok(())
            })?;
            let m = &block.mlp;
            project(
                &mut [
                    (&m.gate, pair(Proj::Gate), &mut gate),
                    (&m.up, pair(Proj::Up), &mut up),
                ],
                &h,
            )?;
            for (g, u) in gate.iter_mut().zip(&up) {
                *g = *g / (1.0 + (-*g).exp()) * u;
            }
            project(&mut [(&m.down, pair(Proj::Down), &mut out)], &gate)?;
            add(&mut x, &out);
        }
        cache.len = t;
        with_f32(&self.norm, |w| {
            rms_norm(&x, w, eps, &mut h);
            Ok(())
        })?;
        let mut logits = vec![0f32; self.cfg.vocab_size];
        project(&mut [(&self.lm_head, None, &mut logits)], &h)?;
        Ok(logits)
    }

    /// Whether [`Llama::forward_last`] of one token with this cache and adapter runs on slices
    /// (CPU, quantised weights with a one-row kernel, f32 adapter tensors, fast ops, batch 1)
    /// rather than through candle's tensor ops. Both give the same tokens.
    pub fn one_token_path(&self, cache: &Cache, lora: Option<&LoraAdapter>) -> bool {
        let on_cpu = |t: &Tensor| t.device().is_cpu() && t.dtype() == DType::F32;
        let pair_ok = |p: Option<&LoraPair>| {
            p.is_none_or(|p| on_cpu(&p.a) && on_cpu(&p.b) && p.a.rank() == 2 && p.b.rank() == 2)
        };
        self.device.is_cpu()
            && self.fast_ops
            && cache.batch == 1
            && quantized(&self.lm_head).is_some_and(crate::gemv::supports)
            && (0..self.layers.len()).all(|i| {
                Proj::ALL.iter().all(|&p| {
                    self.linear(i, p)
                        .and_then(quantized)
                        .is_some_and(crate::gemv::supports)
                        && pair_ok(lora.and_then(|a| a.get(i, p)))
                })
            })
    }
}

fn quantized(linear: &Linear) -> Option<&QTensor> {
    match linear.base() {
        QMatMul::QTensor(q) => Some(q),
        _ => None,
    }
}

/// `out = W x (+ scale · B A x)` for each (linear, LoRA pair, out), the base matmuls in one
/// parallel pass.
fn project(jobs: &mut [(&Linear, Option<&LoraPair>, &mut Vec<f32>)], x: &[f32]) -> Result<()> {
    let ws: Vec<&QTensor> = jobs.iter().filter_map(|(l, _, _)| quantized(l)).collect();
    let mut outs: Vec<&mut [f32]> = jobs.iter_mut().map(|(_, _, o)| o.as_mut_slice()).collect();
    if ws.len() != outs.len() || !crate::gemv::gemv_many(&ws, x, &mut outs)? {
        return Err(candle_core::Error::Msg("no one-row kernel for a projection".into()).into());
    }
    for (_, pair, out) in jobs.iter_mut() {
        if let Some(p) = pair {
            with_f32(&p.a, |a| {
                with_f32(&p.b, |b| {
                    add_lora(a, b, p.scale as f32, x, out);
                    Ok(())
                })
            })?;
        }
    }
    Ok(())
}

/// `out += scale · B (A x)` for A (r, in) and B (out, r), row-major.
fn add_lora(a: &[f32], b: &[f32], scale: f32, x: &[f32], out: &mut [f32]) {
    let ax: Vec<f32> = a.chunks_exact(x.len()).map(|row| dot(row, x)).collect();
    for (o, row) in out.iter_mut().zip(b.chunks_exact(ax.len().max(1))) {
        *o += dot(row, &ax) * scale;
    }
}

/// Runs `f` on the values of a contiguous f32 tensor on the CPU, without copying.
fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match (&*storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(v)), Some((start, end))) => f(&v[start..end]),
        _ => Err(
            candle_core::Error::Msg("expected a contiguous f32 tensor on the CPU".into()).into(),
        ),
    }
}

fn row(table: &Tensor, pos: usize) -> Result<Vec<f32>> {
    Ok(table.get(pos)?.to_vec1()?)
}

/// candle's RMSNorm (`candle_nn::ops::rms_norm`), one row.
fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let sum2: f32 = x.iter().map(|v| v * v).sum();
    let m = (sum2 / x.len() as f32 + eps).sqrt();
    for ((o, v), w) in out.iter_mut().zip(x).zip(w) {
        *o = v / m * w;
    }
}

/// Rotate-half RoPE on each head of `x`, as candle's `rotary_emb::rope`.
fn rope(x: &mut [f32], hd: usize, cos: &[f32], sin: &[f32]) {
    let half = hd / 2;
    for head in x.chunks_exact_mut(hd) {
        let (a, b) = head.split_at_mut(half);
        for (((a, b), c), s) in a.iter_mut().zip(b).zip(cos).zip(sin) {
            let (x1, x2) = (*a, *b);
            *a = x1 * c - x2 * s;
            *b = x1 * s + x2 * c;
        }
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// Dot product in eight independent lanes (so it vectorises without reassociation).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Sizes of one attention step: heads, KV heads, head width, cache capacity, and the cached
/// positions attended to (`first..t`).
#[derive(Clone, Copy)]
struct Shape {
    nh: usize,
    nkv: usize,
    hd: usize,
    cap: usize,
    first: usize,
    t: usize,
}

/// Softmax attention of each query head over its KV head's cached positions; query heads in
/// parallel. `kc`, `vc`: (KV heads, capacity, head width).
fn attention(q: &[f32], kc: &[f32], vc: &[f32], out: &mut [f32], s: Shape) -> Result<()> {
    let Shape {
        nh,
        nkv,
        hd,
        cap,
        first,
        t,
    } = s;
    if kc.len() < nkv * cap * hd || vc.len() < nkv * cap * hd || q.len() != nh * hd {
        return Err(candle_core::Error::Msg("KV cache shape".into()).into());
    }
    let scale = 1.0 / (hd as f32).sqrt();
    let n_rep = nh / nkv;
    out.par_chunks_mut(hd).enumerate().for_each(|(head, out)| {
        let base = (head / n_rep) * cap * hd;
        let qh = &q[head * hd..(head + 1) * hd];
        let mut scores: Vec<f32> = (first..t)
            .map(|j| dot(qh, &kc[base + j * hd..base + (j + 1) * hd]) * scale)
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        out.fill(0.0);
        for (j, p) in (first..t).zip(&scores) {
            let p = p / sum;
            for (o, v) in out.iter_mut().zip(&vc[base + j * hd..base + (j + 1) * hd]) {
                *o += p * v;
            }
        }
    });
    Ok(())
}

/// Writes one position's K or V (heads × head width) into a cache tensor (1, heads, capacity,
/// head width) in place.
struct WriteRow<'a> {
    row: &'a [f32],
    hd: usize,
    cap: usize,
    pos: usize,
}

impl InplaceOp1 for WriteRow<'_> {
    fn name(&self) -> &'static str {
        "kv-cache-write"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> candle_core::Result<()> {
        let (CpuStorage::F32(data), Some((start, end))) = (storage, layout.contiguous_offsets())
        else {
            candle_core::bail!("the KV cache is not a contiguous f32 tensor");
        };
        let heads = self.row.len() / self.hd.max(1);
        if start + heads * self.cap * self.hd > end || self.pos >= self.cap {
            candle_core::bail!("the KV cache is smaller than its capacity");
        }
        for (h, src) in self.row.chunks_exact(self.hd).enumerate() {
            let at = start + (h * self.cap + self.pos) * self.hd;
            data[at..at + self.hd].copy_from_slice(src);
        }
        Ok(())
    }
}
