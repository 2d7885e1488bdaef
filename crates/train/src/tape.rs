//! The CPU training pass without candle's autograd. A decoder layer's forward keeps what its
//! backward needs (a tape), and the backward calls each operation's gradient directly, summing
//! the contributions to one input in one buffer (sgemm with β = 1 where it can). candle's graph
//! adds every contribution to a zero-filled tensor of its own, copies at each reshape and
//! transpose, and sums the q, k and v input gradients with separate passes (the bench's step went
//! from 9.6 to 8.3 s, its peak from 2.51 to 1.99 GB, without them).
//!
//! The same operations as the graph path ([`crate::fused`], [`crate::lora_linear`]), so both give
//! the same losses and gradients; the graph path stays for other devices and evaluation.

use candle_core::Tensor;
use grimoire_llm::Proj;

use crate::attention::Causal;
use crate::fused::{CausalSoftmax, RopeHeads, rms_norm_rows, rms_norm_rows_bwd, swiglu_rows, swiglu_rows_bwd};
use crate::lora_linear::{LoraBack, Pair, add_lora_rows, frozen_input_grad};
use crate::ops::{Dropout, with_f32};

/// The frozen products of a layer's forward: computed, computed and kept (the checkpointed
/// forward), or taken from such a recording (its recomputation).
pub(crate) enum Products {
    Compute,
    Record(Vec<Vec<f32>>),
    Replay(std::vec::IntoIter<Vec<f32>>),
}

/// One layer's weights as the CPU pass reads them: the norms, the seven frozen projections
/// (dense f32, (out, in)), the LoRA pairs and their dropouts.
pub(crate) struct LayerParams {
    pub(crate) attn_norm: Vec<f32>,
    pub(crate) ffn_norm: Vec<f32>,
    /// Dense (out, in) weights in [`Proj::ALL`] order.
    pub(crate) w: [Tensor; 7],
    /// (A, B) in [`Proj::ALL`] order.
    pub(crate) lora: [Option<(Vec<f32>, Vec<f32>)>; 7],
    pub(crate) dropout: [Option<Dropout>; 7],
    pub(crate) r: usize,
    pub(crate) scale: f32,
    pub(crate) shape: Shape,
}

/// Sizes of a layer's pass.
#[derive(Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) b: usize,
    pub(crate) l: usize,
    pub(crate) heads: usize,
    pub(crate) kv_heads: usize,
    pub(crate) head_dim: usize,
    pub(crate) eps: f32,
    pub(crate) window: Option<usize>,
}

/// What a LoRA branch's forward leaves for its backward: the dropout mask as bits (with dropout)
/// and `s · drop(x) Aᵀ` (empty without a pair).
type Branch = (Option<Vec<u64>>, Vec<f32>);

/// What a layer's backward reads from its forward.
pub(crate) struct Tape {
    x: Vec<f32>,
    h1: Vec<f32>,
    qh: Vec<f32>,
    kh: Vec<f32>,
    vh: Vec<f32>,
    probs: Vec<f32>,
    att: Vec<f32>,
    x2: Vec<f32>,
    h2: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    act: Vec<f32>,
    /// Per projection, in [`Proj::ALL`] order.
    lora: [Branch; 7],
}

/// Rows (b·l, n·hd) → heads (b, n, l, hd).
fn to_heads(x: &[f32], l: usize, n: usize, hd: usize) -> Vec<f32> {
    use rayon::prelude::*;
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(l * hd).enumerate().for_each(|(bh, y)| {
        let (bi, h) = (bh / n, bh % n);
        for t in 0..l {
            y[t * hd..(t + 1) * hd].copy_from_slice(&x[(bi * l + t) * n * hd + h * hd..][..hd]);
        }
    });
    y
}

/// Heads (b, n, l, hd) → rows (b·l, n·hd).
fn from_heads(x: &[f32], l: usize, n: usize, hd: usize) -> Vec<f32> {
    use rayon::prelude::*;
    let mut y = vec![0f32; x.len()];
    y.par_chunks_mut(n * hd).enumerate().for_each(|(row, y)| {
        let (bi, t) = (row / l, row % l);
        for h in 0..n {
            y[h * hd..(h + 1) * hd].copy_from_slice(&x[((bi * n + h) * l + t) * hd..][..hd]);
        }
    });
    y
}

impl LayerParams {
    fn dims(&self, p: usize) -> candle_core::Result<(usize, usize)> {
        self.w[p].dims2()
    }

    fn softmax(&self) -> CausalSoftmax {
        let s = &self.shape;
        CausalSoftmax { scale: 1.0 / (s.head_dim as f32).sqrt(), l: s.l, window: s.window }
    }

    /// Each kv head serves `heads / kv_heads` query heads: (b, kv, rep·l, hd) against (b, kv,
    /// l, hd).
    fn causal(&self) -> Causal {
        let s = &self.shape;
        Causal { batches: s.b * s.kv_heads, groups: s.heads / s.kv_heads, l: s.l, hd: s.head_dim }
    }

    fn pair(&self, p: usize) -> Option<Pair<'_>> {
        self.lora[p].as_ref().map(|(a, b)| Pair { a, b, r: self.r, scale: self.scale })
    }

    /// Projection `p` of rows `x`: the frozen product (computed, kept or replayed) plus the LoRA
    /// branch; also what the branch's backward reuses (see [`Branch`]).
    fn proj(&self, p: Proj, x: &[f32], products: &mut Products) -> candle_core::Result<(Vec<f32>, Branch)> {
        let i = proj_index(p);
        let (out, k) = self.dims(i)?;
        let n = x.len() / k;
        let mut y = match products {
            Products::Replay(kept) => kept.next().ok_or_else(|| candle_core::Error::Msg("the recomputation ran more matmuls".into()))?,
            _ => with_f32(&self.w[i], |w| crate::blas::gemm(x, false, w, true, (n, out, k)))?,
        };
        if let Products::Record(kept) = products {
            kept.push(y.clone());
        }
        let kept = match self.pair(i) {
            Some(pair) => add_lora_rows(x, k, &mut y, out, &pair, self.dropout[i].as_ref())?,
            None => (None, Vec::new()),
        };
        Ok((y, kept))
    }

    /// The layer on rows `x` (b·l, d): its output and its tape.
    pub(crate) fn forward(&self, x: Vec<f32>, rope: (&Tensor, &Tensor), products: &mut Products) -> candle_core::Result<(Vec<f32>, Tape)> {
        let s = self.shape;
        let (b, l, hd) = (s.b, s.l, s.head_dim);
        let mut kept: [Branch; 7] = Default::default();
        let h1 = rms_norm_rows(&x, &self.attn_norm, s.eps);
        let (q, m) = self.proj(Proj::Q, &h1, products)?;
        kept[0] = m;
        let (k, m) = self.proj(Proj::K, &h1, products)?;
        kept[1] = m;
        let (v, m) = self.proj(Proj::V, &h1, products)?;
        kept[2] = m;
        let qh = RopeHeads::new(rope.0, rope.1, b, l, s.heads, hd)?.forward(&q);
        let kh = RopeHeads::new(rope.0, rope.1, b, l, s.kv_heads, hd)?.forward(&k);
        let vh = to_heads(&v, l, s.kv_heads, hd);
        drop((q, k, v));
        let causal = self.causal();
        let mut probs = causal.scores(&qh, &kh);
        self.softmax().forward_in_place(&mut probs);
        let atth = causal.mix(&probs, &vh);
        let att = from_heads(&atth, l, s.heads, hd);
        drop(atth);
        let (o, m) = self.proj(Proj::O, &att, products)?;
        kept[3] = m;
        let mut x2 = o;
        for (y, x) in x2.iter_mut().zip(&x) {
            *y += x;
        }
        let h2 = rms_norm_rows(&x2, &self.ffn_norm, s.eps);
        let (gate, m) = self.proj(Proj::Gate, &h2, products)?;
        kept[4] = m;
        let (up, m) = self.proj(Proj::Up, &h2, products)?;
        kept[5] = m;
        let act = swiglu_rows(&gate, &up);
        let (mut y, m) = self.proj(Proj::Down, &act, products)?;
        kept[6] = m;
        for (y, x) in y.iter_mut().zip(&x2) {
            *y += x;
        }
        Ok((y, Tape { x, h1, qh, kh, vh, probs, att, x2, h2, gate, up, act, lora: kept }))
    }

    /// The backward of projection `p` whose input was `x`: its LoRA gradients (when it has a
    /// pair), and when `gx` is given its input gradient, into `gx` when that is empty and added
    /// to it otherwise.
    fn proj_back(
        &self,
        p: Proj,
        x: &[f32],
        g: &[f32],
        kept: &Branch,
        gx: Option<&mut Vec<f32>>,
    ) -> candle_core::Result<Option<(Vec<f32>, Vec<f32>)>> {
        let i = proj_index(p);
        let (out, k) = self.dims(i)?;
        let n = x.len() / k;
        with_f32(&self.w[i], |w| match self.pair(i) {
            Some(pair) => {
                let back = LoraBack { x, k, bits: kept.0.as_deref(), dropout: self.dropout[i].as_ref(), u: Some(&kept.1) };
                Ok(Some(back.run(g, out, &pair, gx.map(|buf| (w, buf)))?))
            }
            None => {
                if let Some(buf) = gx {
                    frozen_input_grad(g, w, (n, k, out), buf)?;
                }
                Ok(None)
            }
        })
    }

    /// The backward of [`forward`](Self::forward) for the output gradient `gy`: the LoRA
    /// gradients in [`Proj::ALL`] order and, when `want_gx`, the input gradient.
    #[allow(clippy::type_complexity)]
    pub(crate) fn backward(
        &self,
        tape: Tape,
        gy: Vec<f32>,
        rope: (&Tensor, &Tensor),
        want_gx: bool,
    ) -> candle_core::Result<(Option<Vec<f32>>, [Option<(Vec<f32>, Vec<f32>)>; 7])> {
        let s = self.shape;
        let (b, l, hd) = (s.b, s.l, s.head_dim);
        let mut grads: [Option<(Vec<f32>, Vec<f32>)>; 7] = Default::default();
        let t = tape;

        // MLP: y = x2 + down(swiglu(gate(h2), up(h2))).
        let mut g_act = Vec::new();
        grads[6] = self.proj_back(Proj::Down, &t.act, &gy, &t.lora[6], Some(&mut g_act))?;
        let (g_gate, g_up) = swiglu_rows_bwd(&t.gate, &t.up, &g_act);
        drop(g_act);
        let mut g_h2 = Vec::new();
        grads[4] = self.proj_back(Proj::Gate, &t.h2, &g_gate, &t.lora[4], Some(&mut g_h2))?;
        grads[5] = self.proj_back(Proj::Up, &t.h2, &g_up, &t.lora[5], Some(&mut g_h2))?;
        drop((g_gate, g_up));
        let mut g_x2 = gy;
        rms_norm_rows_bwd(&t.x2, &self.ffn_norm, s.eps, &g_h2, &mut g_x2, true);
        drop(g_h2);

        // Attention: x2 = x + o(attention(q(h1), k(h1), v(h1))).
        let mut g_att = Vec::new();
        grads[3] = self.proj_back(Proj::O, &t.att, &g_x2, &t.lora[3], Some(&mut g_att))?;
        let g_atth = to_heads(&g_att, l, s.heads, hd);
        drop(g_att);
        let causal = self.causal();
        let (mut g_scores, g_vh) = causal.mix_bwd(&t.probs, &t.vh, &g_atth);
        drop(g_atth);
        self.softmax().backward_in_place(&t.probs, &mut g_scores);
        let (g_qh, g_kh) = causal.scores_bwd(&g_scores, &t.qh, &t.kh);
        drop(g_scores);
        let g_q = RopeHeads::new(rope.0, rope.1, b, l, s.heads, hd)?.backward(&g_qh);
        let g_k = RopeHeads::new(rope.0, rope.1, b, l, s.kv_heads, hd)?.backward(&g_kh);
        let g_v = from_heads(&g_vh, l, s.kv_heads, hd);
        drop((g_qh, g_kh, g_vh));
        let mut g_h1 = Vec::new();
        for (p, g) in [(Proj::Q, &g_q), (Proj::K, &g_k), (Proj::V, &g_v)] {
            let i = proj_index(p);
            let into = want_gx.then_some(&mut g_h1);
            grads[i] = self.proj_back(p, &t.h1, g, &t.lora[i], into)?;
        }
        if !want_gx {
            return Ok((None, grads));
        }
        let mut g_x = g_x2;
        rms_norm_rows_bwd(&t.x, &self.attn_norm, s.eps, &g_h1, &mut g_x, true);
        Ok((Some(g_x), grads))
    }
}

fn proj_index(p: Proj) -> usize {
    Proj::ALL.iter().position(|q| *q == p).unwrap_or(0)
}
