//! Custom operations with explicit backward passes.
//!
//! candle 0.11 drops gradients through `QMatMul` and its fused norm / softmax / RoPE kernels
//! (`apply_op1_no_bwd`), and computes the weight gradient of every matmul, frozen or not. The ops
//! here carry gradients to their input only:
//!
//! - [`frozen_linear`]: `x Wᵀ` with W frozen (quantised blocks widened per call, or dense); the
//!   backward is `grad · W`, no weight gradient.
//! - [`cross_entropy_rows`]: the per-row cross-entropy of `h Eᵀ` against targets, computed
//!   `chunk` rows at a time; the gradient with respect to `h` is formed in the same pass, so the
//!   (rows × vocabulary) logits never live longer than one chunk.

use std::sync::{Arc, Mutex};

use candle_core::quantized::k_quants::{BlockQ4_0, BlockQ4_1, BlockQ8_0, GgmlType};
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Shape, Storage, Tensor};
use rayon::prelude::*;

/// A frozen weight (out, in): quantised blocks or a dense f32 tensor.
#[derive(Debug, Clone)]
pub enum Frozen {
    /// GGML blocks, widened to f32 for each use.
    Quantized(Arc<QTensor>),
    /// Dense f32.
    Dense(Tensor),
}

impl Frozen {
    /// From the runtime's matmul.
    pub fn from_qmatmul(w: &QMatMul) -> candle_core::Result<Self> {
        Ok(match w {
            QMatMul::QTensor(q) => Frozen::Quantized(q.clone()),
            QMatMul::Tensor(t) => Frozen::Dense(t.to_dtype(DType::F32)?),
            QMatMul::TensorF16(t) => Frozen::Dense(t.to_dtype(DType::F32)?),
        })
    }

    /// The weight as dense f32 (out, in).
    pub fn dense(&self, device: &Device) -> candle_core::Result<Tensor> {
        match self {
            Frozen::Quantized(q) if device.is_cpu() => match dequantize_par(q)? {
                Some(t) => Ok(t),
                None => q.dequantize(device),
            },
            Frozen::Quantized(q) => q.dequantize(device),
            Frozen::Dense(t) => Ok(t.clone()),
        }
    }

    /// Bytes it takes as dense f32.
    pub fn dense_bytes(&self) -> usize {
        match self {
            Frozen::Quantized(q) => q.shape().elem_count() * 4,
            Frozen::Dense(t) => t.elem_count() * 4,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match self {
            Frozen::Quantized(q) => q.storage_size_in_bytes(),
            Frozen::Dense(t) => t.elem_count() * 4,
        }
    }
}

/// Widens Q4_0 / Q4_1 / Q8_0 blocks on all threads (candle's `dequantize` uses one).
fn dequantize_par(q: &QTensor) -> candle_core::Result<Option<Tensor>> {
    fn widen<T: GgmlType>(bytes: &[u8], n: usize) -> Option<Vec<f32>> {
        // SAFETY: GGML blocks are plain f16/u8/i8 fields, valid for any bit pattern; the
        // alignment is checked by `align_to` (unaligned head or tail bytes fall back).
        let (head, blocks, tail) = unsafe { bytes.align_to::<T>() };
        if !head.is_empty() || !tail.is_empty() || blocks.len() * T::BLCK_SIZE != n {
            return None;
        }
        let mut out = vec![0f32; n];
        const BLOCKS: usize = 512;
        out.par_chunks_mut(T::BLCK_SIZE * BLOCKS)
            .zip(blocks.par_chunks(BLOCKS))
            .for_each(|(o, b)| T::to_float(b, o));
        Some(out)
    }
    let n = q.shape().elem_count();
    let data = q.data()?;
    let out = match q.dtype() {
        GgmlDType::Q4_0 => widen::<BlockQ4_0>(&data, n),
        GgmlDType::Q4_1 => widen::<BlockQ4_1>(&data, n),
        GgmlDType::Q8_0 => widen::<BlockQ8_0>(&data, n),
        _ => None,
    };
    out.map(|v| Tensor::from_vec(v, q.shape(), &Device::Cpu))
        .transpose()
}

pub(crate) fn cpu_slice<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("custom op input must be contiguous"),
    }
}

/// A contiguous f32 CPU tensor's values, borrowed for `f`.
pub(crate) fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> candle_core::Result<R>) -> candle_core::Result<R> {
    let (s, l) = t.storage_and_layout();
    let Storage::Cpu(s) = &*s else {
        candle_core::bail!("expected a CPU tensor")
    };
    f(cpu_slice(s, l)?)
}

struct FrozenLinear {
    w: Frozen,
    out_dim: usize,
}

impl CustomOp1 for FrozenLinear {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let dims = l.dims();
        let k = *dims.last().unwrap_or(&1);
        let m = l.shape().elem_count() / k.max(1);
        let w = self.w.dense(&Device::Cpu)?;
        let wt = w.t()?;
        let (ws, wl) = wt.storage_and_layout();
        let Storage::Cpu(ws) = &*ws else {
            candle_core::bail!("expected a CPU weight")
        };
        let Some((start, _)) = l.contiguous_offsets() else {
            candle_core::bail!("frozen-linear input must be contiguous")
        };
        let xl = Layout::contiguous_with_offset((m, k), start);
        let out = CpuStorage::F32(crate::blas::matmul(s, &xl, ws, wl, (m, self.out_dim, k))?);
        let mut shape = dims.to_vec();
        if let Some(last) = shape.last_mut() {
            *last = self.out_dim;
        }
        Ok((out, Shape::from(shape)))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let w = self.w.dense(grad.device())?;
        let m = grad.elem_count() / self.out_dim;
        let g = crate::blas::mm2(&grad.contiguous()?.reshape((m, self.out_dim))?, &w)?
            .reshape(arg.shape())?;
        Ok(Some(g))
    }
}

/// `x Wᵀ` for a frozen W of shape (out, in); `x` of shape (..., in). Gradients flow to `x` only.
pub fn frozen_linear(x: &Tensor, w: &Frozen, out_dim: usize) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        let wd = w.dense(x.device())?;
        // On an accelerator the plain matmul is fine; the weight is not a variable, so only the
        // input gradient is used.
        return x.broadcast_matmul(&wd.t()?);
    }
    x.contiguous()?.apply_op1(FrozenLinear {
        w: w.clone(),
        out_dim,
    })
}

/// Replays a recorded `x Wᵀ`: the forward returns `y` (computed earlier from the same `x`, so the
/// recomputation of a checkpointed layer does not redo its frozen matmuls); the backward is
/// `grad · W` as for [`frozen_linear`].
struct FrozenReplay {
    y: Tensor,
    w: Frozen,
    out_dim: usize,
}

impl CustomOp1 for FrozenReplay {
    fn name(&self) -> &'static str {
        "frozen-linear-replay"
    }

    fn cpu_fwd(&self, _s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut shape = l.dims().to_vec();
        if let Some(last) = shape.last_mut() {
            *last = self.out_dim;
        }
        let shape = Shape::from(shape);
        if self.y.shape() != &shape {
            candle_core::bail!(
                "replayed frozen-linear output has shape {:?}, not {shape:?}",
                self.y.shape()
            )
        }
        let (ys, yl) = self.y.storage_and_layout();
        let Storage::Cpu(ys) = &*ys else {
            candle_core::bail!("expected a CPU tensor")
        };
        Ok((CpuStorage::F32(cpu_slice(ys, yl)?.to_vec()), shape))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        FrozenLinear {
            w: self.w.clone(),
            out_dim: self.out_dim,
        }
        .bwd(arg, res, grad)
    }
}

/// Like [`frozen_linear`] but returning `y`, an earlier result of `frozen_linear(x, w, out_dim)`
/// for the same `x`, instead of recomputing it. Gradients flow to `x` only.
pub fn frozen_linear_replay(
    x: &Tensor,
    y: Tensor,
    w: &Frozen,
    out_dim: usize,
) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        return frozen_linear(x, w, out_dim);
    }
    let y = y.contiguous()?;
    x.contiguous()?.apply_op1(FrozenReplay {
        y,
        w: w.clone(),
        out_dim,
    })
}

/// Inverted dropout whose mask is a pure function of a seed stream: in chunk
/// `c = i / DROPOUT_CHUNK`, elements 4j to 4j + 3 are dropped when the four 16-bit quarters
/// (lowest first) of the j-th draw of `Rng::new(seed, stream ++ [c])`, over 2¹⁶, are below `p`
/// (see [`Dropout::mask_words`]). The mask is drawn again where it is not kept.
#[derive(Debug, Clone)]
pub struct Dropout {
    /// Probability of dropping an element.
    pub p: f32,
    /// Run seed.
    pub seed: u64,
    /// Stream labels (step, layer, projection...).
    pub stream: Vec<u64>,
}

/// Elements per independently seeded dropout chunk.
pub const DROPOUT_CHUNK: usize = 4096;

impl Dropout {
    /// `x` with the mask applied (dropped elements zero, kept ones scaled by 1/(1-p)).
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        self.apply_keeping_mask(x).0
    }

    /// Like [`apply`](Self::apply), also returning the mask as bits (bit `i % 64` of word
    /// `i / 64` set when element `i` is kept) for [`apply_bits`](Self::apply_bits).
    pub fn apply_keeping_mask(&self, x: &[f32]) -> (Vec<f32>, Vec<u64>) {
        let mut bits = vec![0u64; x.len().div_ceil(64)];
        bits.par_chunks_mut(DROPOUT_CHUNK / 64).enumerate().for_each(|(c, words)| {
            self.mask_words(c, (x.len() - c * DROPOUT_CHUNK).min(DROPOUT_CHUNK), words);
        });
        (self.apply_bits(x, &bits), bits)
    }

    /// The mask of the first `len` elements of chunk `c`, as bits: four elements per draw, one
    /// from each 16-bit quarter.
    fn mask_words(&self, c: usize, len: usize, words: &mut [u64]) {
        let mut stream = self.stream.clone();
        stream.push(c as u64);
        let mut rng = crate::rng::Rng::new(self.seed, &stream);
        // A 16-bit draw d is below p exactly when d as f32 is below p · 2¹⁶ (both exact).
        let below = self.p * 65_536.0;
        for (wi, word) in words.iter_mut().enumerate() {
            let n = len.saturating_sub(wi * 64).min(64);
            let mut w = 0u64;
            for q in 0..n.div_ceil(4) {
                let u = rng.next_u64();
                for j in 0..4 {
                    let d = ((u >> (16 * j)) & 0xFFFF) as f32;
                    w |= u64::from(d >= below) << (4 * q + j);
                }
            }
            // Bits past the end stay clear.
            *word = if n == 64 { w } else { w & ((1u64 << n) - 1) };
        }
    }

    /// `x` with a mask from [`apply_keeping_mask`](Self::apply_keeping_mask) applied: the same
    /// values [`apply`](Self::apply) gives, without drawing.
    pub fn apply_bits(&self, x: &[f32], bits: &[u64]) -> Vec<f32> {
        let mut y = vec![0f32; x.len()];
        self.masked(x, bits, |y, v| *y = v, &mut y);
        y
    }

    /// `out += drop(x)` with a mask from [`apply_keeping_mask`](Self::apply_keeping_mask).
    pub fn add_bits(&self, x: &[f32], bits: &[u64], out: &mut [f32]) {
        self.masked(x, bits, |y, v| *y += v, out);
    }

    /// `f(out[i], x[i] · mask[i] / (1 − p))` for every element, eight at a time: each byte of
    /// the mask picks its eight multipliers from a table, so the loop vectorises.
    fn masked(&self, x: &[f32], bits: &[u64], f: impl Fn(&mut f32, f32) + Sync, out: &mut [f32]) {
        let keep = 1.0 / (1.0 - self.p);
        let mut table = [[0f32; 8]; 256];
        for (byte, row) in table.iter_mut().enumerate() {
            for (j, m) in row.iter_mut().enumerate() {
                *m = if byte >> j & 1 == 1 { keep } else { 0.0 };
            }
        }
        out.par_chunks_mut(DROPOUT_CHUNK)
            .zip(x.par_chunks(DROPOUT_CHUNK))
            .zip(bits.par_chunks(DROPOUT_CHUNK / 64))
            .for_each(|((out, x), bits)| {
                for (w, (out, x)) in bits.iter().zip(out.chunks_mut(64).zip(x.chunks(64))) {
                    for (byte, (out, x)) in w.to_le_bytes().iter().zip(out.chunks_mut(8).zip(x.chunks(8))) {
                        let m = &table[*byte as usize];
                        for ((o, x), m) in out.iter_mut().zip(x).zip(m) {
                            f(o, x * m);
                        }
                    }
                }
            });
    }
}

impl CustomOp1 for Dropout {
    fn name(&self) -> &'static str {
        "train-dropout"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        Ok((
            CpuStorage::F32(self.apply(cpu_slice(s, l)?)),
            l.shape().clone(),
        ))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let g = grad.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        Ok(Some(Tensor::from_vec(
            self.apply(&g),
            arg.shape(),
            arg.device(),
        )?))
    }
}

/// Inverted dropout with probability `p` and a mask drawn from `(seed, stream)` (see
/// [`Dropout`]); on CPU the mask is drawn in the forward and again in the backward, never held.
pub fn dropout(x: &Tensor, p: f32, seed: u64, stream: &[u64]) -> candle_core::Result<Tensor> {
    let op = Dropout {
        p,
        seed,
        stream: stream.to_vec(),
    };
    if !x.device().is_cpu() {
        let ones = vec![1f32; x.elem_count()];
        let m = op.apply(&ones);
        return x * Tensor::from_vec(m, x.shape(), x.device())?;
    }
    x.contiguous()?.apply_op1(op)
}

struct CrossEntropy {
    w: Tensor,
    targets: Vec<u32>,
    chunk: usize,
    want_grad: bool,
    grad: Mutex<Option<Tensor>>,
}

impl CustomOp1 for CrossEntropy {
    fn name(&self) -> &'static str {
        "chunked-cross-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, d) = l.shape().dims2()?;
        let h = Tensor::from_slice(cpu_slice(s, l)?, (n, d), &Device::Cpu)?;
        let vocab = self.w.dim(0)?;
        let mut losses = vec![0f32; n];
        let mut grads = Vec::new();
        let wt = self.w.t()?;
        for start in (0..n).step_by(self.chunk.max(1)) {
            let rows = self.chunk.min(n - start);
            let logits = crate::blas::mm2(&h.narrow(0, start, rows)?, &wt)?;
            let mut data = into_vec(logits)?;
            let targets = &self.targets[start..start + rows];
            let want_grad = self.want_grad;
            losses[start..start + rows]
                .par_iter_mut()
                .zip(data.par_chunks_mut(vocab))
                .zip(targets.par_iter())
                .for_each(|((loss, row), &target)| {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let picked = row[target as usize];
                    // One pass of exponentials, kept in the row for the gradient.
                    let mut sum = 0f64;
                    for part in row.chunks_mut(256) {
                        for v in part.iter_mut() {
                            *v = crate::math::exp(*v - max);
                        }
                        sum += crate::math::sum(part) as f64;
                    }
                    let lse = max as f64 + sum.ln();
                    *loss = (lse - picked as f64) as f32;
                    if want_grad {
                        let inv = (1.0 / sum) as f32;
                        for v in row.iter_mut() {
                            *v *= inv;
                        }
                        row[target as usize] -= 1.0;
                    }
                });
            if want_grad {
                let dlogits = Tensor::from_vec(data, (rows, vocab), &Device::Cpu)?;
                grads.push(crate::blas::mm2(&dlogits, &self.w)?);
            }
        }
        if self.want_grad && !grads.is_empty() {
            let g = if grads.len() == 1 {
                grads.remove(0)
            } else {
                Tensor::cat(&grads, 0)?
            };
            if let Ok(mut slot) = self.grad.lock() {
                *slot = Some(g);
            }
        }
        Ok((CpuStorage::F32(losses), Shape::from(n)))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let g = match self.grad.lock() {
            Ok(slot) => slot.clone(),
            Err(_) => None,
        };
        let Some(g) = g else {
            candle_core::bail!("cross-entropy was run without want_grad")
        };
        Ok(Some(g.broadcast_mul(&grad.unsqueeze(1)?)?))
    }
}

/// The f32 data of a CPU tensor, copied out.
fn into_vec(t: Tensor) -> candle_core::Result<Vec<f32>> {
    t.flatten_all()?.to_vec1::<f32>()
}

/// Per-row cross-entropy of the logits `h Eᵀ` (h: (n, d), E: (vocab, d) dense f32) against
/// `targets`, `chunk` rows at a time. With `want_grad` the input gradient is formed in the same
/// pass (and the op can be backpropagated); without it the op is evaluation only.
pub fn cross_entropy_rows(
    h: &Tensor,
    e: &Tensor,
    targets: &[u32],
    chunk: usize,
    want_grad: bool,
) -> candle_core::Result<Tensor> {
    if !h.device().is_cpu() {
        let logits = h.matmul(&e.t()?)?;
        let logp = candle_nn::ops::log_softmax(&logits, 1)?;
        let idx = Tensor::new(targets, h.device())?.unsqueeze(1)?;
        return logp.gather(&idx, 1)?.squeeze(1)?.neg();
    }
    let h = h.contiguous()?;
    let op = CrossEntropy {
        w: e.clone(),
        targets: targets.to_vec(),
        chunk,
        want_grad,
        grad: Mutex::new(None),
    };
    if want_grad {
        h.apply_op1(op)
    } else {
        h.apply_op1_no_bwd(&op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drawing, drawing and keeping the mask, and replaying it give the same values, over
    /// lengths that are not whole words, bytes or chunks; `add_bits` adds those values.
    #[test]
    fn dropout_masks_drawn_kept_and_replayed_agree() {
        let d = Dropout { p: 0.3, seed: 5, stream: vec![7, 1] };
        for len in [1, 7, 63, 64, 65, 4095, 4096, 9001] {
            let x: Vec<f32> = (0..len).map(|i| 1.0 + i as f32 * 0.01).collect();
            let drawn = d.apply(&x);
            let (kept, bits) = d.apply_keeping_mask(&x);
            assert_eq!(drawn, kept, "len {len}");
            assert_eq!(d.apply_bits(&x, &bits), drawn, "len {len}");
            let mut out = vec![2.0f32; len];
            d.add_bits(&x, &bits, &mut out);
            assert!(out.iter().zip(&drawn).all(|(o, v)| *o == 2.0 + v), "len {len}");
            let dropped = drawn.iter().filter(|v| **v == 0.0).count() as f64 / len as f64;
            if len > 4000 {
                assert!((dropped - 0.3).abs() < 0.03, "dropped {dropped}");
                let other = Dropout { stream: vec![7, 2], ..d.clone() };
                assert_ne!(other.apply_keeping_mask(&x).1, bits, "another stream, another mask");
            }
            assert_eq!(d.apply_keeping_mask(&x).1, bits, "the same stream, the same mask");
            assert_eq!(bits.iter().map(|w| w.count_ones() as usize).sum::<usize>(), drawn.iter().filter(|v| **v != 0.0).count(), "no bits past the end");
        }
    }
}
