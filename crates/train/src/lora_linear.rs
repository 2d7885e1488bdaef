//! One adapted projection as a single operation: `y = x Wᵀ + s · (drop(x) Aᵀ) Bᵀ` with W frozen,
//! A (r, in) and B (out, r) trained. Done as candle's composite (dropout, two matmuls, a scale
//! and an add, each with its own backward and gradient accumulation) it runs half a dozen
//! full-size element-wise passes and allocations each way; here the forward is the frozen
//! matmul, two thin matmuls and one in-place add, and the backward forms `∂x` in one buffer.
//! The forward keeps its dropout mask as bits (1/32 of the input) for the backward.

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Device, Layout, Shape, Storage, Tensor};
use rayon::prelude::*;

use crate::ops::{Dropout, Frozen};

fn owned(v: Vec<f32>) -> CpuStorage {
    CpuStorage::F32(v)
}

/// Runs `f` on a tensor's CPU storage and layout.
fn with_cpu<R>(
    t: &Tensor,
    f: impl FnOnce(&CpuStorage, &Layout) -> candle_core::Result<R>,
) -> candle_core::Result<R> {
    let (s, l) = t.storage_and_layout();
    let Storage::Cpu(s) = &*s else {
        candle_core::bail!("lora-linear: expected a CPU tensor")
    };
    f(s, l)
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
    /// `x` with this op's dropout applied: from the forward's mask when it has been kept.
    fn drop(&self, x: &[f32]) -> Vec<f32> {
        match (&self.dropout, self.mask.lock().ok().as_deref()) {
            (Some(d), Some(Some(bits))) => d.apply_bits(x, bits),
            (Some(d), _) => d.apply(x),
            (None, _) => x.to_vec(),
        }
    }
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
        let Some((start, _)) = lx.contiguous_offsets() else {
            candle_core::bail!("lora-linear input must be contiguous")
        };
        let xl = Layout::contiguous_with_offset((n, k), start);
        let mut y = match &self.y {
            Some(y) => with_cpu(y, |s, l| {
                let data = s.as_slice::<f32>()?;
                match l.contiguous_offsets() {
                    Some((a, b)) if b - a == n * out => Ok(data[a..b].to_vec()),
                    _ => candle_core::bail!("lora-linear: bad replayed product"),
                }
            })?,
            None => {
                let w = self.w.dense(&Device::Cpu)?;
                let wt = w.t()?;
                with_cpu(&wt, |ws, wl| crate::blas::matmul(sx, &xl, ws, wl, (n, out, k)))?
            }
        };
        let at = la.transpose(0, 1)?;
        let u = match &self.dropout {
            Some(d) => {
                let xs = &sx.as_slice::<f32>()?[start..start + n * k];
                let (xd, bits) = d.apply_keeping_mask(xs);
                if let Ok(mut slot) = self.mask.lock() {
                    *slot = Some(bits);
                }
                let xd = owned(xd);
                crate::blas::matmul(&xd, &Layout::contiguous((n, k)), sa, &at, (n, r, k))?
            }
            None => crate::blas::matmul(sx, &xl, sa, &at, (n, r, k))?,
        };
        let delta = crate::blas::matmul(
            &owned(u),
            &Layout::contiguous((n, r)),
            sb,
            &lb.transpose(0, 1)?,
            (n, out, r),
        )?;
        add_scaled(&mut y, &delta, self.scale);
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
        let n = x.elem_count() / k;
        let g = grad.contiguous()?;
        let x = x.contiguous()?;
        let (g_guard, g_layout) = g.storage_and_layout();
        let Storage::Cpu(gs) = &*g_guard else {
            candle_core::bail!("lora-linear: expected a CPU gradient")
        };
        let gl = Layout::contiguous_with_offset((n, out), g_layout.start_offset());
        // drop(x), from the forward's mask.
        let xd: Vec<f32> = with_cpu(&x, |s, l| {
            let Some((lo, hi)) = l.contiguous_offsets() else {
                candle_core::bail!("lora-linear input must be contiguous")
            };
            Ok(self.drop(&s.as_slice::<f32>()?[lo..hi]))
        })?;
        let xd = owned(xd);
        let xdl = Layout::contiguous((n, k));
        // u = drop(x) Aᵀ (rows, r), recomputed (a thin matmul) rather than held.
        let u = with_cpu(a, |sa, la| {
            crate::blas::matmul(&xd, &xdl, sa, &la.transpose(0, 1)?, (n, r, k))
        })?;
        // v = g B (rows, r).
        let v = with_cpu(b, |sb, lb| crate::blas::matmul(gs, &gl, sb, lb, (n, r, out)))?;
        let (u, v) = (owned(u), owned(v));
        let ul = Layout::contiguous((n, r));
        // ∂B = s · gᵀ u (out, r); ∂A = s · vᵀ drop(x) (r, in).
        let mut gb = crate::blas::matmul(gs, &gl.transpose(0, 1)?, &u, &ul, (out, r, n))?;
        let mut ga = crate::blas::matmul(&v, &ul.transpose(0, 1)?, &xd, &xdl, (r, k, n))?;
        for t in gb.iter_mut().chain(ga.iter_mut()) {
            *t *= self.scale;
        }
        // ∂x = g W + s · drop(v A), when x needs one.
        let gx = if x.track_op() {
            let w = self.w.dense(&Device::Cpu)?;
            let mut gx = with_cpu(&w, |ws, wl| crate::blas::matmul(gs, &gl, ws, wl, (n, k, out)))?;
            let va = with_cpu(a, |sa, la| crate::blas::matmul(&v, &ul, sa, la, (n, k, r)))?;
            let va = match &self.dropout {
                Some(_) => self.drop(&va),
                None => va,
            };
            add_scaled(&mut gx, &va, self.scale);
            Some(Tensor::from_vec(gx, x.shape(), x.device())?)
        } else {
            None
        };
        Ok((
            gx,
            Some(Tensor::from_vec(ga, (r, k), a.device())?),
            Some(Tensor::from_vec(gb, (out, r), b.device())?),
        ))
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
