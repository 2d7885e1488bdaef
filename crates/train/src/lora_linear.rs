//! One adapted projection as a single operation: `y = x Wᵀ + s · (drop(x) Aᵀ) Bᵀ` with W frozen,
//! A (r, in) and B (out, r) trained. Done as candle's composite (dropout, two matmuls, a scale
//! and an add, each with its own backward and gradient accumulation) it runs half a dozen
//! full-size element-wise passes and allocations each way; here the forward is the frozen
//! matmul, two thin matmuls and one in-place add, and the backward forms `∂x` in one buffer.
//! The forward keeps its dropout mask as bits (1/32 of the input) for the backward.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Device, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::ops::{Dropout, Frozen, with_f32};

fn owned(v: Vec<f32>) -> CpuStorage {
    CpuStorage::F32(v)
}

/// `y += s · d`, on all threads.
fn add_scaled(y: &mut [f32], d: &[f32], s: f32) {
    y.par_chunks_mut(1 << 14)
        .zip(d.par_chunks(1 << 14))
        .for_each(|(y, d)| {
            for (y, d) in y.iter_mut().zip(d) {
                *y += s * d;
            }
        });
}

struct LoraLinear {
    w: Frozen,
    /// The frozen product `x Wᵀ` when already known (a recorded one, replayed).
    y: Option<Tensor>,
    out_dim: usize,
    scale: f32,
    dropout: Option<Dropout>,
    /// The dropout mask the forward drew, as bits, for the backward.
    mask: Mutex<Option<Vec<u64>>>,
}

impl LoraLinear {
    fn dims(&self, lx: &Layout, la: &Layout) -> candle_core::Result<(usize, usize, usize)> {
        let (r, k) = la.shape().dims2()?;
        let rows = lx.shape().elem_count() / k.max(1);
        Ok((rows, k, r))
    }
}

impl CustomOp3 for LoraLinear {
    fn name(&self) -> &'static str {
        "lora-linear"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sa: &CpuStorage,
        la: &Layout,
        sb: &CpuStorage,
        lb: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, k, r) = self.dims(lx, la)?;
        let out = self.out_dim;
        let x = crate::ops::cpu_slice(sx, lx)?;
        let mut y = match &self.y {
            Some(y) => with_f32(y, |data| {
                if data.len() != n * out {
                    candle_core::bail!("lora-linear: bad replayed product")
                }
                Ok(data.to_vec())
            })?,
            None => with_f32(&self.w.dense(&Device::Cpu)?, |w| crate::blas::gemm(x, false, w, true, (n, out, k)))?,
        };
        let pair = Pair { a: crate::ops::cpu_slice(sa, la)?, b: crate::ops::cpu_slice(sb, lb)?, r, scale: self.scale };
        let (bits, _) = add_lora_rows(x, k, &mut y, out, &pair, self.dropout.as_ref())?;
        if let (Some(bits), Ok(mut slot)) = (bits, self.mask.lock()) {
            *slot = Some(bits);
        }
        let mut shape = lx.dims().to_vec();
        if let Some(last) = shape.last_mut() {
            *last = out;
        }
        Ok((owned(y), Shape::from(shape)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let out = self.out_dim;
        let (r, k) = a.dims2()?;
        let host = |t: &Tensor| t.flatten_all()?.to_vec1::<f32>();
        let (g, xs, av, bv) = (host(grad)?, host(x)?, host(a)?, host(b)?);
        let bits = self.mask.lock().ok().and_then(|m| m.clone());
        let pair = Pair { a: &av, b: &bv, r, scale: self.scale };
        let back = LoraBack { x: &xs, k, bits: bits.as_deref(), dropout: self.dropout.as_ref(), u: None };
        let (ga, gb, gx) = if x.track_op() {
            let w = host(&self.w.dense(&Device::Cpu)?)?;
            let mut gx = Vec::new();
            let (ga, gb) = back.run(&g, out, &pair, Some((&w, &mut gx)))?;
            (ga, gb, Some(Tensor::from_vec(gx, x.shape(), x.device())?))
        } else {
            let (ga, gb) = back.run(&g, out, &pair, None)?;
            (ga, gb, None)
        };
        Ok((gx, Some(Tensor::from_vec(ga, (r, k), a.device())?), Some(Tensor::from_vec(gb, (out, r), b.device())?)))
    }
}

/// A LoRA pair on the CPU: A (r, in) and B (out, r), row-major, and the branch's scale.
pub(crate) struct Pair<'a> {
    pub(crate) a: &'a [f32],
    pub(crate) b: &'a [f32],
    pub(crate) r: usize,
    pub(crate) scale: f32,
}

/// Adds the LoRA branch `s · (drop(x) Aᵀ) Bᵀ` of rows `x` (n, k) to their frozen product `y`
/// (n, out); returns the dropout mask drawn, as bits, when there is dropout, and `s · drop(x) Aᵀ`
/// (n, r), which the backward can use again.
pub(crate) fn add_lora_rows(
    x: &[f32],
    k: usize,
    y: &mut [f32],
    out: usize,
    pair: &Pair<'_>,
    dropout: Option<&Dropout>,
) -> candle_core::Result<(Option<Vec<u64>>, Vec<f32>)> {
    let n = x.len() / k.max(1);
    let r = pair.r;
    let (mut u, bits) = match dropout {
        Some(d) => {
            let (xd, bits) = d.apply_keeping_mask(x);
            (crate::blas::gemm(&xd, false, pair.a, true, (n, r, k))?, Some(bits))
        }
        None => (crate::blas::gemm(x, false, pair.a, true, (n, r, k))?, None),
    };
    for v in &mut u {
        *v *= pair.scale;
    }
    crate::blas::gemm_into(&u, false, pair.b, true, (n, out, r), y, true)?;
    Ok((bits, u))
}

/// `g W` for g (n, out) and a frozen W (out, k): into `buf` (n, k) when it is empty, added to it
/// otherwise.
pub(crate) fn frozen_input_grad(g: &[f32], w: &[f32], (n, k, out): (usize, usize, usize), buf: &mut Vec<f32>) -> candle_core::Result<()> {
    if buf.is_empty() {
        *buf = crate::blas::gemm(g, false, w, false, (n, k, out))?;
        Ok(())
    } else {
        crate::blas::gemm_into(g, false, w, false, (n, k, out), buf, true)
    }
}

/// What the backward of an adapted projection needs from its forward: the rows it read (n, k)
/// and the dropout mask it drew.
pub(crate) struct LoraBack<'a> {
    pub(crate) x: &'a [f32],
    pub(crate) k: usize,
    pub(crate) bits: Option<&'a [u64]>,
    pub(crate) dropout: Option<&'a Dropout>,
    /// The forward's `s · drop(x) Aᵀ` (n, r), when it was kept.
    pub(crate) u: Option<&'a [f32]>,
}

impl LoraBack<'_> {
    /// The gradients of A and B for the output gradient `g` (n, out). With `gx = Some((W, buf))`
    /// also the input gradient `g W + s · drop(g B A)`: into `buf` when it is empty, added to it
    /// otherwise.
    pub(crate) fn run(
        &self,
        g: &[f32],
        out: usize,
        pair: &Pair<'_>,
        gx: Option<(&[f32], &mut Vec<f32>)>,
    ) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
        let (k, r) = (self.k, pair.r);
        let n = self.x.len() / k.max(1);
        // drop(x), from the forward's mask (drawn again when it was not kept).
        let dropped;
        let xd: &[f32] = match (self.dropout, self.bits) {
            (Some(d), Some(bits)) => {
                dropped = d.apply_bits(self.x, bits);
                &dropped
            }
            (Some(d), None) => {
                dropped = d.apply(self.x);
                &dropped
            }
            (None, _) => self.x,
        };
        // su = s · drop(x) Aᵀ (n, r), the forward's or recomputed; v = g B (n, r).
        let recomputed;
        let su: &[f32] = match self.u {
            Some(u) => u,
            None => {
                let mut u = crate::blas::gemm(xd, false, pair.a, true, (n, r, k))?;
                for t in &mut u {
                    *t *= pair.scale;
                }
                recomputed = u;
                &recomputed
            }
        };
        let mut v = crate::blas::gemm(g, false, pair.b, false, (n, r, out))?;
        // ∂B = gᵀ su (out, r); ∂A = s · vᵀ drop(x) (r, in).
        let gb = crate::blas::gemm(g, true, su, false, (out, r, n))?;
        let mut ga = crate::blas::gemm(&v, true, xd, false, (r, k, n))?;
        for t in &mut ga {
            *t *= pair.scale;
        }
        if let Some((w, buf)) = gx {
            frozen_input_grad(g, w, (n, k, out), buf)?;
            for t in &mut v {
                *t *= pair.scale;
            }
            match (self.dropout, self.bits) {
                (None, _) => crate::blas::gemm_into(&v, false, pair.a, false, (n, k, r), buf, true)?,
                (Some(d), bits) => {
                    let va = crate::blas::gemm(&v, false, pair.a, false, (n, k, r))?;
                    match bits {
                        Some(bits) => d.add_bits(&va, bits, buf),
                        None => add_scaled(buf, &d.apply(&va), 1.0),
                    }
                }
            }
        }
        Ok((ga, gb))
    }
}

/// `x Wᵀ + scale · (drop(x) Aᵀ) Bᵀ` for x (rows, in), W (out, in) frozen, A (r, in), B (out, r);
/// `y`, when given, is `x Wᵀ` already computed. Gradients flow to x, A and B.
#[allow(clippy::too_many_arguments)]
pub fn lora_linear(
    x: &Tensor,
    w: &Frozen,
    out_dim: usize,
    y: Option<Tensor>,
    a: &Tensor,
    b: &Tensor,
    scale: f64,
    dropout: Option<Dropout>,
) -> candle_core::Result<Tensor> {
    if !x.device().is_cpu() {
        let y = match y {
            Some(y) => y,
            None => crate::ops::frozen_linear(x, w, out_dim)?,
        };
        let xd = match &dropout {
            Some(d) => crate::ops::dropout(x, d.p, d.seed, &d.stream)?,
            None => x.clone(),
        };
        let delta = xd.matmul(&a.t()?)?.matmul(&(b * scale)?.t()?)?;
        return y + delta;
    }
    let op = LoraLinear {
        w: w.clone(),
        y: y.map(|y| y.contiguous()).transpose()?,
        out_dim,
        scale: scale as f32,
        dropout,
        mask: Mutex::new(None),
    };
    x.contiguous()?
        .apply_op3(&a.contiguous()?, &b.contiguous()?, op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;

    fn rand(shape: &[usize], seed: u64) -> candle_core::Result<Tensor> {
        let n: usize = shape.iter().product();
        let mut rng = crate::rng::Rng::new(seed, &[]);
        let v: Vec<f32> = (0..n).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
        Tensor::from_vec(v, shape, &Device::Cpu)
    }

    fn close(a: &Tensor, b: &Tensor) -> candle_core::Result<f32> {
        (a - b)?.abs()?.max_all()?.to_scalar::<f32>()
    }

    /// The fused op equals the composite (dropout, frozen matmul, two LoRA matmuls, scale, add)
    /// forward and in all three gradients, with dropout on, with and without a replayed product.
    #[test]
    fn equals_the_composite_with_dropout() -> candle_core::Result<()> {
        let (n, k, out, r) = (70, 40, 24, 4);
        let w = Frozen::Dense(rand(&[out, k], 1)?);
        let x = Var::from_tensor(&rand(&[n, k], 2)?)?;
        let a = Var::from_tensor(&rand(&[r, k], 3)?)?;
        let b = Var::from_tensor(&rand(&[out, r], 4)?)?;
        let g = rand(&[n, out], 5)?;
        let d = Dropout {
            p: 0.3,
            seed: 9,
            stream: vec![1, 2],
        };
        let slow = {
            let xd = crate::ops::dropout(x.as_tensor(), d.p, d.seed, &d.stream)?;
            let y = crate::ops::frozen_linear(x.as_tensor(), &w, out)?;
            (y + xd
                .matmul(&a.as_tensor().t()?)?
                .matmul(&b.as_tensor().t()?)?
                .affine(1.5, 0.0)?)?
        };
        let y0 = crate::ops::frozen_linear(&x.as_tensor().detach(), &w, out)?;
        for given in [None, Some(y0)] {
            let fast = lora_linear(
                x.as_tensor(),
                &w,
                out,
                given,
                a.as_tensor(),
                b.as_tensor(),
                1.5,
                Some(d.clone()),
            )?;
            assert!(close(&fast, &slow)? < 1e-5);
            let gs = (&slow * &g)?.sum_all()?.backward()?;
            let gf = (&fast * &g)?.sum_all()?.backward()?;
            for v in [&x, &a, &b] {
                let (Some(s), Some(f)) = (gs.get(v.as_tensor()), gf.get(v.as_tensor())) else {
                    panic!("no gradient")
                };
                assert!(close(s, f)? < 1e-4, "{}", close(s, f)?);
            }
        }
        Ok(())
    }
}
